package bench

import (
	"context"
	"fmt"
	"math/rand/v2"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/dataframe"
	"github.com/sluicehq/sluice/expr"
	"github.com/sluicehq/sluice/objstore"
)

// eventSchema is the schema of the windowed-aggregation workloads.
var eventSchema = arrow.NewSchema([]arrow.Field{
	{Name: "ts", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}},
	{Name: "key", Type: arrow.PrimitiveTypes.Int64},
	{Name: "value", Type: arrow.PrimitiveTypes.Int64},
}, nil)

const (
	// epochUs is 2023-11-14T22:13:20Z, a multiple of ten seconds, plus
	// half a second so the first rows do not straddle a window boundary.
	epochUs = 1_700_000_000_000_000 + 500_000
	// jitterUs bounds the disorder: a row's time is up to 50 ms before
	// its place in the sequence, far inside the 5 s watermark delay, so
	// no row is late.
	jitterUs = 50_000
	// valueRange bounds the values summed: uniform in [0, valueRange).
	valueRange = 1000
)

// workload describes a stream of (ts, key, value) rows whose event time
// advances rowsPerSec rows per simulated second, in records of batchRows
// rows.
type workload struct {
	name       string
	rows       int64
	keys       int64
	rowsPerSec int64
	batchRows  int64
	startUs    int64 // event time of row 0 (before jitter)
	cyclicKeys bool  // key = i % keys (every key present); else uniform random
	seed       uint64
}

// cacheKey names the workload's records in dataCache.
func (w workload) cacheKey() string { return "events/" + w.name }

// generate builds the workload's records with mem. The caller owns the
// records and releases each one.
func (w workload) generate(mem memory.Allocator) []arrow.RecordBatch {
	r := rand.New(rand.NewPCG(w.seed, 0x5eed))
	return buildEvents(mem, eventSchema, w.rows, w.batchRows, func(i int64) (ts, key, value int64) {
		ts = w.startUs + i*1_000_000/w.rowsPerSec - r.Int64N(jitterUs)
		if w.cyclicKeys {
			key = i % w.keys
		} else {
			key = r.Int64N(w.keys)
		}
		return ts, key, r.Int64N(valueRange)
	})
}

// windowShape is an event-time window: tumbling when slide equals size.
type windowShape struct {
	size, slide string
	sizeUs      int64
	slideUs     int64
}

var (
	tumbling10s = windowShape{size: "10 seconds", slide: "10 seconds", sizeUs: 10_000_000, slideUs: 10_000_000}
	sliding10s  = windowShape{size: "10 seconds", slide: "2 seconds", sizeUs: 10_000_000, slideUs: 2_000_000}
)

// groupBy is the window column of the grouping.
func (s windowShape) groupBy() expr.Expr {
	if s.slideUs == s.sizeUs {
		return dataframe.Window(dataframe.Col("ts"), s.size)
	}
	return dataframe.SlidingWindow(dataframe.Col("ts"), s.size, s.slide)
}

// cell is one group's aggregates: count(*) and sum(value).
type cell struct{ count, sum int64 }

// groupKey is (window start in µs, key).
type groupKey = [2]int64

// tumblingLoop is the hand-written baseline of the tumbling aggregation:
// for every row, the start of its window and a map lookup keyed by
// (window start, key). The times are after the epoch, so % is the floor
// modulo Spark's window formula needs.
func tumblingLoop(recs []arrow.RecordBatch, sizeUs int64) map[groupKey]*cell {
	m := make(map[groupKey]*cell)
	for _, rec := range recs {
		ts, keys, vals := eventCols(rec)
		for i, t := range ts {
			t := int64(t)
			addToGroup(m, groupKey{t - t%sizeUs, keys[i]}, vals[i])
		}
	}
	return m
}

// slidingLoop is the hand-written baseline of the sliding aggregation:
// every row lands in each of the size/slide windows that contain it.
func slidingLoop(recs []arrow.RecordBatch, sizeUs, slideUs int64) map[groupKey]*cell {
	m := make(map[groupKey]*cell)
	for _, rec := range recs {
		ts, keys, vals := eventCols(rec)
		for i, t := range ts {
			t := int64(t)
			last := t - t%slideUs
			for start := last; start > t-sizeUs; start -= slideUs {
				addToGroup(m, groupKey{start, keys[i]}, vals[i])
			}
		}
	}
	return m
}

// addToGroup counts one row of value v in group k of m.
func addToGroup(m map[groupKey]*cell, k groupKey, v int64) {
	c := m[k]
	if c == nil {
		c = &cell{}
		m[k] = c
	}
	c.count++
	c.sum += v
}

// runLoop runs the baseline for shape.
func runLoop(recs []arrow.RecordBatch, shape windowShape) map[groupKey]*cell {
	if shape.slideUs == shape.sizeUs {
		return tumblingLoop(recs, shape.sizeUs)
	}
	return slidingLoop(recs, shape.sizeUs, shape.slideUs)
}

// windowSink returns a sink that counts the rows written to it and, when
// latest is not nil, keeps in latest the newest aggregates of each
// (window start, key) group from the update-mode rows, so the final row
// of every group can be compared with the loop.
func windowSink(latest map[groupKey]cell) *countingSink {
	out := &countingSink{}
	if latest != nil {
		out.fold = func(batchID int64, rec arrow.RecordBatch) error { return collectWindows(latest, batchID, rec) }
	}
	return out
}

// collectWindows reads the window start, key, count and sum of every row
// of rec (borrowed) into latest.
func collectWindows(latest map[groupKey]cell, batchID int64, rec arrow.RecordBatch) error {
	col := func(name string) (arrow.Array, error) {
		idx := rec.Schema().FieldIndices(name)
		if len(idx) != 1 {
			return nil, fmt.Errorf("bench: result sink: batch %d has no single column %q (schema %v); name the aggregates count and sum", batchID, name, rec.Schema())
		}
		return rec.Column(idx[0]), nil
	}
	var cols [4]arrow.Array
	for i, name := range []string{"window", "key", "count", "sum"} {
		c, err := col(name)
		if err != nil {
			return err
		}
		cols[i] = c
	}
	win, ok := cols[0].(*array.Struct)
	if !ok {
		return fmt.Errorf("bench: result sink: batch %d: column window is %v, want a struct of start and end", batchID, cols[0].DataType())
	}
	starts, ok1 := win.Field(0).(*array.Timestamp)
	keys, ok2 := cols[1].(*array.Int64)
	counts, ok3 := cols[2].(*array.Int64)
	sums, ok4 := cols[3].(*array.Int64)
	if !ok1 || !ok2 || !ok3 || !ok4 {
		return fmt.Errorf("bench: result sink: batch %d has schema %v, want window.start timestamp and int64 key, count and sum", batchID, rec.Schema())
	}
	for i := 0; i < int(rec.NumRows()); i++ {
		if starts.IsNull(i) || keys.IsNull(i) || counts.IsNull(i) || sums.IsNull(i) {
			return fmt.Errorf("bench: result sink: batch %d row %d has a null; every group has rows with values", batchID, i)
		}
		latest[groupKey{int64(starts.Value(i)), keys.Value(i)}] = cell{counts.Value(i), sums.Value(i)}
	}
	return nil
}

// runEngine runs WithWatermark("ts", "5 seconds").GroupBy(window, key)
// .Agg(count, sum) in update mode over recs (borrowed: the source retains
// and releases its own references), one record per micro-batch, with
// AvailableNow, and waits for the query to finish. Its stateRows are the
// peak groups in state. The timing covers the query from Start to the end
// of Wait.
func runEngine(ctx context.Context, recs []arrow.RecordBatch, shape windowShape, ckpt objstore.Store, mem memory.Allocator, out *countingSink) (queryRun, error) {
	src := newBatchedSource(eventSchema, recs, mem)
	defer src.Close()
	df := dataframe.ReadStream(src).
		WithWatermark("ts", "5 seconds").
		GroupBy(shape.groupBy(), dataframe.Col("key")).
		Agg(dataframe.Count().As("count"), dataframe.Sum(dataframe.Col("value")).As("sum"))
	return runQuery(ctx, "windowed aggregation", df, out, "update", ckpt, mem)
}
