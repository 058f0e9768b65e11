package bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/dataframe"
	"github.com/sluicehq/sluice/engine"
	"github.com/sluicehq/sluice/expr"
	"github.com/sluicehq/sluice/objstore"
	"github.com/sluicehq/sluice/sink"
	"github.com/sluicehq/sluice/source"
	memsrc "github.com/sluicehq/sluice/source/memory"
	"github.com/sluicehq/sluice/trigger"
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

// generate builds the workload's records with mem. The caller owns the
// records and releases each one.
func (w workload) generate(mem memory.Allocator) []arrow.RecordBatch {
	r := rand.New(rand.NewPCG(w.seed, 0x5eed))
	tsType := eventSchema.Field(0).Type.(*arrow.TimestampType)
	var recs []arrow.RecordBatch
	for start := int64(0); start < w.rows; start += w.batchRows {
		n := min(w.batchRows, w.rows-start)
		tsb := array.NewTimestampBuilder(mem, tsType)
		kb := array.NewInt64Builder(mem)
		vb := array.NewInt64Builder(mem)
		tsb.Reserve(int(n))
		kb.Reserve(int(n))
		vb.Reserve(int(n))
		for i := start; i < start+n; i++ {
			tsb.UnsafeAppend(arrow.Timestamp(w.startUs + i*1_000_000/w.rowsPerSec - r.Int64N(jitterUs)))
			if w.cyclicKeys {
				kb.UnsafeAppend(i % w.keys)
			} else {
				kb.UnsafeAppend(r.Int64N(w.keys))
			}
			vb.UnsafeAppend(r.Int64N(valueRange))
		}
		cols := []arrow.Array{tsb.NewArray(), kb.NewArray(), vb.NewArray()}
		recs = append(recs, array.NewRecordBatch(eventSchema, cols, n))
		for _, c := range cols {
			c.Release()
		}
		tsb.Release()
		kb.Release()
		vb.Release()
	}
	return recs
}

// dataCache holds each workload's records, generated once with the Go
// allocator, so the engine benchmark and its loop baseline read the very
// same arrays. The cache owns the records for the life of the test
// binary: callers must not release them.
var dataCache = map[string][]arrow.RecordBatch{}

// cachedData returns w's records from dataCache, generating them on first
// use. The cache owns them: callers must not release them.
func cachedData(w workload) []arrow.RecordBatch {
	if recs, ok := dataCache[w.name]; ok {
		return recs
	}
	recs := w.generate(memory.DefaultAllocator)
	dataCache[w.name] = recs
	return recs
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
		ts := rec.Column(0).(*array.Timestamp).Values()
		keys := rec.Column(1).(*array.Int64).Int64Values()
		vals := rec.Column(2).(*array.Int64).Int64Values()
		for i, t := range ts {
			t := int64(t)
			k := groupKey{t - t%sizeUs, keys[i]}
			c := m[k]
			if c == nil {
				c = &cell{}
				m[k] = c
			}
			c.count++
			c.sum += vals[i]
		}
	}
	return m
}

// slidingLoop is the hand-written baseline of the sliding aggregation:
// every row lands in each of the size/slide windows that contain it.
func slidingLoop(recs []arrow.RecordBatch, sizeUs, slideUs int64) map[groupKey]*cell {
	m := make(map[groupKey]*cell)
	for _, rec := range recs {
		ts := rec.Column(0).(*array.Timestamp).Values()
		keys := rec.Column(1).(*array.Int64).Int64Values()
		vals := rec.Column(2).(*array.Int64).Int64Values()
		for i, t := range ts {
			t := int64(t)
			last := t - t%slideUs
			for start := last; start > t-sizeUs; start -= slideUs {
				k := groupKey{start, keys[i]}
				c := m[k]
				if c == nil {
					c = &cell{}
					m[k] = c
				}
				c.count++
				c.sum += vals[i]
			}
		}
	}
	return m
}

// runLoop runs the baseline for shape.
func runLoop(recs []arrow.RecordBatch, shape windowShape) map[groupKey]*cell {
	if shape.slideUs == shape.sizeUs {
		return tumblingLoop(recs, shape.sizeUs)
	}
	return slidingLoop(recs, shape.sizeUs, shape.slideUs)
}

// batchedSource serves a memory source's records one per micro-batch: its
// default read limit is one record's rows, so AvailableNow drains the
// backlog in as many batches as there are records and the watermark
// advances between them, as in a live stream.
type batchedSource struct {
	*memsrc.Source
	rowsPerBatch int64
}

var _ source.RateLimiter = batchedSource{}

func (s batchedSource) DefaultReadLimit() source.ReadLimit { return source.MaxRows(s.rowsPerBatch) }

// resultSink counts the rows written to it and, when latest is not nil,
// keeps the newest aggregates of each (window start, key) group from the
// update-mode rows, so the final row of every group can be compared with
// the loop. It skips replayed batch ids, as the sink contract asks.
type resultSink struct {
	mu      sync.Mutex
	started bool
	last    int64
	rows    int64
	latest  map[groupKey]cell
}

var _ sink.Sink = (*resultSink)(nil)

func (s *resultSink) AddBatch(_ context.Context, batchID int64, recs []arrow.RecordBatch) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started && batchID <= s.last {
		return nil
	}
	s.started, s.last = true, batchID
	for _, rec := range recs {
		s.rows += rec.NumRows()
		if s.latest != nil {
			if err := s.collect(batchID, rec); err != nil {
				return err
			}
		}
	}
	return nil
}

// collect reads the window start, key, count and sum of every row of rec
// (borrowed) into s.latest.
func (s *resultSink) collect(batchID int64, rec arrow.RecordBatch) error {
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
		s.latest[groupKey{int64(starts.Value(i)), keys.Value(i)}] = cell{counts.Value(i), sums.Value(i)}
	}
	return nil
}

// engineRun is what one run of the windowed aggregation through the
// engine did.
type engineRun struct {
	rows       int64 // input rows processed
	batches    int   // micro-batches run
	outRows    int64 // rows written to the sink
	groups     int64 // peak state rows (NumRowsTotal)
	stateBytes int64 // MemoryUsedBytes of the batch with the peak
	removed    int64 // state rows evicted by the watermark
	dropped    int64 // rows dropped as late
	wall, cpu  time.Duration
}

// runEngine runs WithWatermark("ts", "5 seconds").GroupBy(window, key)
// .Agg(count, sum) in update mode over recs (borrowed: the source retains
// and releases its own references), one record per micro-batch, with
// AvailableNow, and waits for the query to finish. The timing covers the
// query from Start to the end of Wait.
func runEngine(ctx context.Context, recs []arrow.RecordBatch, shape windowShape, ckpt objstore.Store, mem memory.Allocator, out *resultSink) (engineRun, error) {
	src := memsrc.New(eventSchema, memsrc.WithAllocator(mem))
	defer src.Close()
	src.Add(recs...)
	cpu0, t0 := cpuTime(), time.Now()
	q, err := dataframe.ReadStream(batchedSource{Source: src, rowsPerBatch: recs[0].NumRows()}).
		WithWatermark("ts", "5 seconds").
		GroupBy(shape.groupBy(), dataframe.Col("key")).
		Agg(dataframe.Count().As("count"), dataframe.Sum(dataframe.Col("value")).As("sum")).
		WriteStream(out).
		OutputMode("update").
		Trigger(trigger.AvailableNow()).
		CheckpointStore(ckpt).
		Allocator(mem).
		Engine(engine.New(engine.WithLogger(quiet))).
		Start(ctx)
	if err != nil {
		return engineRun{}, fmt.Errorf("bench: starting the windowed aggregation: %w", err)
	}
	if err := q.Wait(ctx); err != nil {
		return engineRun{}, fmt.Errorf("bench: windowed aggregation failed: %w", err)
	}
	run := engineRun{wall: time.Since(t0), cpu: cpuTime() - cpu0}
	progress := q.RecentProgress()
	run.batches = len(progress)
	for _, p := range progress {
		run.rows += p.NumInputRows
		if len(p.StateOperators) == 0 {
			continue
		}
		so := p.StateOperators[0]
		run.removed += so.NumRowsRemoved
		run.dropped += so.NumRowsDroppedByWatermark
		if so.NumRowsTotal >= run.groups {
			run.groups, run.stateBytes = so.NumRowsTotal, so.MemoryUsedBytes
		}
	}
	out.mu.Lock()
	run.outRows = out.rows
	out.mu.Unlock()
	return run, nil
}

// speeds pairs engine and loop results by workload, so whichever of a
// pair runs second can log the ratio.
var speeds = map[string]map[string]float64{}

// recordSpeed stores rows/s and rows/s/core of kind ("engine" or "loop")
// on workload and, when the other kind is known, logs engine/loop.
func recordSpeed(b *testing.B, workload, kind string, rowsPerSec, rowsPerCore float64) {
	m := speeds[workload]
	if m == nil {
		m = map[string]float64{}
		speeds[workload] = m
	}
	m[kind+" rows/s"], m[kind+" rows/s/core"] = rowsPerSec, rowsPerCore
	if _, ok := m["engine rows/s"]; !ok {
		return
	}
	if _, ok := m["loop rows/s"]; !ok {
		return
	}
	r, rc := m["engine rows/s"]/m["loop rows/s"], m["engine rows/s/core"]/m["loop rows/s/core"]
	verdict := ""
	if workload == "tumbling/keys=1k" {
		verdict = "; target: at least 0.5, "
		if r >= 0.5 {
			verdict += "met"
		} else {
			verdict += "not met"
		}
	}
	b.Logf("%s: engine/loop = %.3f in rows/s, %.3f in rows/s/core%s", workload, r, rc, verdict)
}
