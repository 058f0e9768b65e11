package bench

import (
	"context"
	"fmt"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/dataframe"
	"github.com/sluicehq/sluice/objstore"
	"github.com/sluicehq/sluice/stateful"
)

// twsKeys100k is the transformWithState workload: 5M rows over 100k
// random keys, in 10 batches of 500k rows.
var twsKeys100k = workload{
	name: "keys=100k/rows=5M", rows: 5_000_000, keys: 100_000, rowsPerSec: 100_000, batchRows: 500_000,
	startUs: epochUs, seed: 6,
}

// twsCountOut is the running count's output: key and count.
var twsCountOut = arrow.NewSchema([]arrow.Field{
	{Name: "key", Type: arrow.PrimitiveTypes.Int64},
	{Name: "count", Type: arrow.PrimitiveTypes.Int64},
}, nil)

// runningCount keeps a count per key in a ValueState[int64] and emits
// (key, count) after each key's rows, through the output's builders.
type runningCount struct {
	count *stateful.ValueState[int64]
}

func (p *runningCount) Init(_ context.Context, h *stateful.Handle) error {
	p.count = stateful.Value[int64](h, "count")
	return nil
}

func (p *runningCount) HandleInputRows(_ context.Context, key stateful.Key, rows stateful.Rows, h *stateful.Handle, out *stateful.Output) error {
	n, _ := p.count.Get(h)
	n += int64(rows.Len())
	p.count.Update(h, n)
	out.Builder(0).(*array.Int64Builder).Append(key.Value(0).(int64))
	out.Builder(1).(*array.Int64Builder).Append(n)
	return out.EndRow()
}

func (p *runningCount) HandleExpiredTimer(context.Context, stateful.Key, stateful.ExpiredTimer, *stateful.Handle, *stateful.Output) error {
	return nil
}

// countSink returns a sink that counts the rows written to it and, when
// latest is not nil, keeps in latest the newest count of each key.
func countSink(latest map[int64]int64) *countingSink {
	out := &countingSink{}
	if latest != nil {
		out.fold = func(batchID int64, rec arrow.RecordBatch) error {
			keys, ok1 := rec.Column(0).(*array.Int64)
			counts, ok2 := rec.Column(1).(*array.Int64)
			if !ok1 || !ok2 {
				return fmt.Errorf("bench: count sink: batch %d has schema %v, want int64 key and count", batchID, rec.Schema())
			}
			for i := range int(rec.NumRows()) {
				latest[keys.Value(i)] = counts.Value(i)
			}
			return nil
		}
	}
	return out
}

// runTransform runs GroupBy(key).TransformWithState(running count) in
// update mode over recs (borrowed), one record per batch, AvailableNow.
// Its stateRows are the peak keys in state.
func runTransform(ctx context.Context, recs []arrow.RecordBatch, mem memory.Allocator, out *countingSink) (queryRun, error) {
	src := newBatchedSource(eventSchema, recs, mem)
	defer src.Close()
	df := dataframe.ReadStream(src).
		GroupBy(dataframe.Col("key")).
		TransformWithState(&runningCount{}, twsCountOut, stateful.ProcessingTime)
	return runQuery(ctx, "running count", df, out, "update", objstore.NewMemory(), mem)
}

// countLoop is the hand-written baseline: a map from key to count, and
// per batch the (key, count) rows of the keys the batch touched.
func countLoop(recs []arrow.RecordBatch) (map[int64]int64, int64) {
	type entry struct{ count, batch int64 }
	m := map[int64]*entry{}
	var outKeys, outCounts []int64
	var outRows int64
	for b, rec := range recs {
		outKeys, outCounts = outKeys[:0], outCounts[:0]
		var touched []*entry
		var touchedKeys []int64
		for _, k := range rec.Column(1).(*array.Int64).Int64Values() {
			e := m[k]
			if e == nil {
				e = &entry{batch: -1}
				m[k] = e
			}
			e.count++
			if e.batch != int64(b) {
				e.batch = int64(b)
				touched = append(touched, e)
				touchedKeys = append(touchedKeys, k)
			}
		}
		for i, e := range touched {
			outKeys = append(outKeys, touchedKeys[i])
			outCounts = append(outCounts, e.count)
		}
		outRows += int64(len(outKeys))
	}
	counts := make(map[int64]int64, len(m))
	for k, e := range m {
		counts[k] = e.count
	}
	return counts, outRows
}

// BenchmarkTransformWithState runs the running count through the engine:
// rows/s and rows/s/core (CPU time), peak state rows and bytes per key.
func BenchmarkTransformWithState(b *testing.B) {
	w := twsKeys100k
	b.Run(w.name, func(b *testing.B) {
		ctx := context.Background()
		recs := cachedData(w)
		tot, last := timedQueries(b, func() (queryRun, error) {
			return runTransform(ctx, recs, memory.DefaultAllocator, countSink(nil))
		}, func(run queryRun) error {
			if run.rows != w.rows || run.stateRows == 0 {
				return fmt.Errorf("processed %d rows (want %d), %d keys in state", run.rows, w.rows, run.stateRows)
			}
			return nil
		})
		b.ReportMetric(float64(last.stateRows), "keys")
		b.ReportMetric(float64(last.stateMem)/float64(last.stateRows), "state-bytes/key")
		finish(b, "transform/"+w.name, "engine", tot)
	})
}

// BenchmarkTransformWithStateLoop is the limit BenchmarkTransformWithState
// is measured against: countLoop over the same arrays.
func BenchmarkTransformWithStateLoop(b *testing.B) {
	w := twsKeys100k
	b.Run(w.name, func(b *testing.B) {
		recs := cachedData(w)
		var m map[int64]int64
		tot := timedLoops(b, w.rows, func() { m, _ = countLoop(recs) }, func() error {
			if int64(len(m)) > w.keys || len(m) == 0 {
				return fmt.Errorf("the loop counted %d keys of %d", len(m), w.keys)
			}
			return nil
		})
		finish(b, "transform/"+w.name, "loop", tot)
	})
}

// TestTransformWithStateMatchesLoop: on a small workload the engine's
// final count of every key and its number of rows written equal the
// loop's.
func TestTransformWithStateMatchesLoop(t *testing.T) {
	w := workload{name: "tws-small", rows: 60_000, keys: 2_000, rowsPerSec: 10_000, batchRows: 10_000, startUs: epochUs, seed: 9}
	mem := checkedAlloc(t)
	recs := generateFor(t, mem, w)
	latest := map[int64]int64{}
	out := countSink(latest)
	run, err := runTransform(context.Background(), recs, mem, out)
	if err != nil {
		t.Fatal(err)
	}
	want, wantRows := countLoop(recs)
	if run.rows != w.rows || run.outRows != wantRows || len(latest) != len(want) {
		t.Fatalf("engine: %d rows in, %d out, %d keys; loop: %d out, %d keys", run.rows, run.outRows, len(latest), wantRows, len(want))
	}
	for k, c := range want {
		if latest[k] != c {
			t.Fatalf("key %d: engine counted %d, loop %d", k, latest[k], c)
		}
	}
	if run.stateRows != int64(len(want)) {
		t.Errorf("state holds %d rows, want one per key (%d)", run.stateRows, len(want))
	}
}
