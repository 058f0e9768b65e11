package bench

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/dataframe"
	"github.com/sluicehq/sluice/engine"
	"github.com/sluicehq/sluice/objstore"
	"github.com/sluicehq/sluice/sink"
	memsrc "github.com/sluicehq/sluice/source/memory"
	"github.com/sluicehq/sluice/stateful"
	"github.com/sluicehq/sluice/trigger"
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

// countSink keeps the latest count of each key and counts the rows
// written, skipping replayed batches.
type countSink struct {
	mu      sync.Mutex
	started bool
	last    int64
	rows    int64
	latest  map[int64]int64
}

var _ sink.Sink = (*countSink)(nil)

func (s *countSink) AddBatch(_ context.Context, batchID int64, recs []arrow.RecordBatch) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started && batchID <= s.last {
		return nil
	}
	s.started, s.last = true, batchID
	for _, rec := range recs {
		s.rows += rec.NumRows()
		if s.latest == nil {
			continue
		}
		keys, ok1 := rec.Column(0).(*array.Int64)
		counts, ok2 := rec.Column(1).(*array.Int64)
		if !ok1 || !ok2 {
			return fmt.Errorf("bench: count sink: batch %d has schema %v, want int64 key and count", batchID, rec.Schema())
		}
		for i := range int(rec.NumRows()) {
			s.latest[keys.Value(i)] = counts.Value(i)
		}
	}
	return nil
}

// twsRun is what one engine run of the running count did.
type twsRun struct {
	rows, outRows, stateRows, stateBytes int64
	batches                              int
	wall, cpu                            time.Duration
}

// runTransform runs GroupBy(key).TransformWithState(running count) in
// update mode over recs (borrowed), one record per batch, AvailableNow.
func runTransform(ctx context.Context, recs []arrow.RecordBatch, mem memory.Allocator, out *countSink) (twsRun, error) {
	src := memsrc.New(eventSchema, memsrc.WithAllocator(mem))
	defer src.Close()
	src.Add(recs...)
	cpu0, t0 := cpuTime(), time.Now()
	q, err := dataframe.ReadStream(batchedSource{Source: src, rowsPerBatch: recs[0].NumRows()}).
		GroupBy(dataframe.Col("key")).
		TransformWithState(&runningCount{}, twsCountOut, stateful.ProcessingTime).
		WriteStream(out).
		OutputMode("update").
		Trigger(trigger.AvailableNow()).
		CheckpointStore(objstore.NewMemory()).
		Allocator(mem).
		Engine(engine.New(engine.WithLogger(quiet))).
		Start(ctx)
	if err != nil {
		return twsRun{}, fmt.Errorf("bench: starting the running count: %w", err)
	}
	if err := q.Wait(ctx); err != nil {
		return twsRun{}, fmt.Errorf("bench: running count failed: %w", err)
	}
	run := twsRun{wall: time.Since(t0), cpu: cpuTime() - cpu0}
	for _, p := range q.RecentProgress() {
		run.batches++
		run.rows += p.NumInputRows
		if len(p.StateOperators) > 0 && p.StateOperators[0].NumRowsTotal >= run.stateRows {
			run.stateRows, run.stateBytes = p.StateOperators[0].NumRowsTotal, p.StateOperators[0].MemoryUsedBytes
		}
	}
	out.mu.Lock()
	run.outRows = out.rows
	out.mu.Unlock()
	return run, nil
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
		var tot twsRun
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			runtime.GC()
			b.StartTimer()
			run, err := runTransform(ctx, recs, memory.DefaultAllocator, &countSink{})
			b.StopTimer()
			if err != nil {
				b.Fatal(err)
			}
			if run.rows != w.rows || run.stateRows == 0 {
				b.Fatalf("processed %d rows (want %d), %d keys in state", run.rows, w.rows, run.stateRows)
			}
			tot.rows += run.rows
			tot.wall += run.wall
			tot.cpu += run.cpu
			tot.batches, tot.outRows, tot.stateRows, tot.stateBytes = run.batches, run.outRows, run.stateRows, run.stateBytes
		}
		report(b, tot.rows, tot.wall, tot.cpu)
		b.ReportMetric(float64(tot.stateRows), "keys")
		b.ReportMetric(float64(tot.stateBytes)/float64(tot.stateRows), "state-bytes/key")
		recordSpeed(b, "transform/"+w.name, "engine", float64(tot.rows)/tot.wall.Seconds(), float64(tot.rows)/tot.cpu.Seconds())
	})
}

// BenchmarkTransformWithStateLoop is the limit BenchmarkTransformWithState
// is measured against: countLoop over the same arrays.
func BenchmarkTransformWithStateLoop(b *testing.B) {
	w := twsKeys100k
	b.Run(w.name, func(b *testing.B) {
		recs := cachedData(w)
		var wall, cpu time.Duration
		var rows int64
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			runtime.GC()
			b.StartTimer()
			cpu0, t0 := cpuTime(), time.Now()
			m, _ := countLoop(recs)
			wall += time.Since(t0)
			cpu += cpuTime() - cpu0
			b.StopTimer()
			if int64(len(m)) > w.keys || len(m) == 0 {
				b.Fatalf("the loop counted %d keys of %d", len(m), w.keys)
			}
			rows += w.rows
		}
		report(b, rows, wall, cpu)
		recordSpeed(b, "transform/"+w.name, "loop", float64(rows)/wall.Seconds(), float64(rows)/cpu.Seconds())
	})
}

// TestTransformWithStateMatchesLoop: on a small workload the engine's
// final count of every key and its number of rows written equal the
// loop's.
func TestTransformWithStateMatchesLoop(t *testing.T) {
	w := workload{name: "tws-small", rows: 60_000, keys: 2_000, rowsPerSec: 10_000, batchRows: 10_000, startUs: epochUs, seed: 9}
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	recs := w.generate(mem)
	defer func() {
		for _, r := range recs {
			r.Release()
		}
	}()
	out := &countSink{latest: map[int64]int64{}}
	run, err := runTransform(context.Background(), recs, mem, out)
	if err != nil {
		t.Fatal(err)
	}
	want, wantRows := countLoop(recs)
	if run.rows != w.rows || run.outRows != wantRows || len(out.latest) != len(want) {
		t.Fatalf("engine: %d rows in, %d out, %d keys; loop: %d out, %d keys", run.rows, run.outRows, len(out.latest), wantRows, len(want))
	}
	for k, c := range want {
		if out.latest[k] != c {
			t.Fatalf("key %d: engine counted %d, loop %d", k, out.latest[k], c)
		}
	}
	if run.stateRows != int64(len(want)) {
		t.Errorf("state holds %d rows, want one per key (%d)", run.stateRows, len(want))
	}
}
