package bench

import (
	"context"
	"fmt"
	"runtime"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/objstore"
)

// The windowed-aggregation workloads: event time advances about 1M rows
// per simulated second with up to 50 ms of disorder, in 1M-row records.
// At 10M keys the rows arrive faster (2.5M a second) so that all 20M of
// them fall in one 10 s window: every key is alive in state at once,
// 10M groups.
var (
	windowKeys1k = workload{name: "keys=1k", rows: 10_000_000, keys: 1_000,
		rowsPerSec: 1_000_000, batchRows: 1_000_000, startUs: epochUs, seed: 1}
	windowKeys100k = workload{name: "keys=100k", rows: 10_000_000, keys: 100_000,
		rowsPerSec: 1_000_000, batchRows: 1_000_000, startUs: epochUs, seed: 2}
	windowKeys10M = workload{name: "keys=10M", rows: 20_000_000, keys: 10_000_000,
		rowsPerSec: 2_500_000, batchRows: 1_000_000, startUs: epochUs, cyclicKeys: true, seed: 3}
)

// BenchmarkTumblingWindowAgg runs
//
//	WithWatermark("ts", "5 seconds").
//	GroupBy(Window(Col("ts"), "10 seconds"), Col("key")).Agg(Count(), Sum(Col("value")))
//
// in update mode through the engine with AvailableNow over records
// generated before the timer starts, one 1M-row record per micro-batch
// from a memory source, into a sink that counts rows. The checkpoint is
// in memory (objstore.NewMemory), except keys=1k/dir, which puts it in a
// temporary directory to show the cost of durable state writes.
func BenchmarkTumblingWindowAgg(b *testing.B) {
	for _, c := range []struct {
		w   workload
		dir bool
	}{{windowKeys1k, false}, {windowKeys1k, true}, {windowKeys100k, false}, {windowKeys10M, false}} {
		name := c.w.name
		if c.dir {
			name += "/dir"
		}
		b.Run(name, func(b *testing.B) { benchEngine(b, "tumbling/"+name, c.w, tumbling10s, c.dir) })
	}
}

// BenchmarkTumblingWindowLoop is the limit BenchmarkTumblingWindowAgg is
// measured against: a plain Go loop over the same arrays, a map from
// (window start, key) to count and sum. It never evicts, so its groups
// are every group of the run.
func BenchmarkTumblingWindowLoop(b *testing.B) {
	for _, w := range []workload{windowKeys1k, windowKeys100k, windowKeys10M} {
		b.Run(w.name, func(b *testing.B) { benchLoop(b, "tumbling/"+w.name, w, tumbling10s) })
	}
}

// BenchmarkSlidingWindowAgg is BenchmarkTumblingWindowAgg at 1k keys with
// sliding windows 10 s long starting every 2 s: each row lands in 5.
func BenchmarkSlidingWindowAgg(b *testing.B) {
	b.Run(windowKeys1k.name, func(b *testing.B) {
		benchEngine(b, "sliding/"+windowKeys1k.name, windowKeys1k, sliding10s, false)
	})
}

// BenchmarkSlidingWindowLoop is the loop baseline of
// BenchmarkSlidingWindowAgg.
func BenchmarkSlidingWindowLoop(b *testing.B) {
	b.Run(windowKeys1k.name, func(b *testing.B) {
		benchLoop(b, "sliding/"+windowKeys1k.name, windowKeys1k, sliding10s)
	})
}

// benchEngine runs w through the engine b.N times and reports rows/s,
// rows/s/core, state-bytes/key and groups (peak state rows).
func benchEngine(b *testing.B, name string, w workload, shape windowShape, onDir bool) {
	ctx := context.Background()
	recs := cachedData(w)
	tot, last := timedQueries(b, func() (queryRun, error) {
		var ckpt objstore.Store = objstore.NewMemory()
		if onDir {
			d, err := objstore.NewDir(b.TempDir())
			if err != nil {
				return queryRun{}, err
			}
			ckpt = d
		}
		return runEngine(ctx, recs, shape, ckpt, memory.DefaultAllocator, windowSink(nil))
	}, func(run queryRun) error {
		if run.rows != w.rows || run.dropped != 0 || run.stateRows == 0 {
			return fmt.Errorf("%s: processed %d rows (want %d), dropped %d as late (want 0), %d groups in state", name, run.rows, w.rows, run.dropped, run.stateRows)
		}
		return nil
	})
	b.ReportMetric(float64(last.stateMem)/float64(last.stateRows), "state-bytes/key")
	b.ReportMetric(float64(last.stateRows), "groups")
	where := "in memory (objstore.NewMemory)"
	if onDir {
		where = "in a temporary directory (objstore.NewDir)"
	}
	b.Logf("%s: checkpoint %s; %d rows in %d micro-batches, %d update rows written, peak %d groups in state using %d bytes, %d groups evicted; %.0f rows/s, %.0f rows/s/core",
		name, where, w.rows, last.batches, last.outRows, last.stateRows, last.stateMem, last.removed, tot.rowsPerSec(), tot.rowsPerCore())
	finish(b, name, "engine", tot)
}

// benchLoop runs the loop baseline over w's records b.N times and reports
// rows/s, rows/s/core, bytes/key (the heap the map holds after a GC, per
// group) and groups.
func benchLoop(b *testing.B, name string, w workload, shape windowShape) {
	recs := cachedData(w)
	var groups, heap int64
	tot := timedRuns(b, func() tally {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		var m map[groupKey]*cell
		t := measure(w.rows, func() { m = runLoop(recs, shape) })
		b.StopTimer()
		runtime.GC()
		runtime.ReadMemStats(&after)
		groups, heap = int64(len(m)), int64(after.HeapAlloc)-int64(before.HeapAlloc)
		var counted int64
		for _, c := range m {
			counted += c.count
		}
		if want := w.rows * (shape.sizeUs / shape.slideUs); counted != want {
			b.Fatalf("%s: the loop counted %d row-windows, want %d", name, counted, want)
		}
		runtime.KeepAlive(m)
		return t
	})
	b.ReportMetric(float64(heap)/float64(groups), "bytes/key")
	b.ReportMetric(float64(groups), "groups")
	b.Logf("%s: loop over the same %d rows: %d groups (never evicted), %d bytes of heap; %.0f rows/s, %.0f rows/s/core",
		name, w.rows, groups, heap, tot.rowsPerSec(), tot.rowsPerCore())
	finish(b, name, "loop", tot)
}

// TestWindowAggMatchesLoop checks that the engine's aggregation in the
// benchmarks computes what the loop baseline computes: the last update
// row of every (window, key) group equals the loop's count and sum, on a
// small 1k-key workload long enough for the watermark to close and evict
// windows.
func TestWindowAggMatchesLoop(t *testing.T) {
	w := workload{name: "test/keys=1k", rows: 120_000, keys: 1_000,
		rowsPerSec: 5_000, batchRows: 10_000, startUs: epochUs, seed: 7}
	for _, c := range []struct {
		name  string
		shape windowShape
	}{{"tumbling", tumbling10s}, {"sliding", sliding10s}} {
		t.Run(c.name, func(t *testing.T) {
			mem := checkedAlloc(t)
			recs := generateFor(t, mem, w)
			latest := map[groupKey]cell{}
			out := windowSink(latest)
			run, err := runEngine(context.Background(), recs, c.shape, objstore.NewMemory(), mem, out)
			if err != nil {
				t.Fatal(err)
			}
			if run.rows != w.rows || run.dropped != 0 {
				t.Fatalf("engine processed %d rows, dropped %d as late; want %d and 0", run.rows, run.dropped, w.rows)
			}
			if run.batches < int(w.rows/w.batchRows) {
				t.Errorf("engine ran %d micro-batches, want one per %d-row record (%d)", run.batches, w.batchRows, w.rows/w.batchRows)
			}
			if run.removed == 0 {
				t.Errorf("no group was evicted: the workload should span enough event time for the watermark to close windows")
			}
			want := runLoop(recs, c.shape)
			var counted int64
			for _, v := range want {
				counted += v.count
			}
			if perRow := c.shape.sizeUs / c.shape.slideUs; counted != w.rows*perRow {
				t.Fatalf("the loop counted %d row-windows, want %d rows x %d windows", counted, w.rows, perRow)
			}
			if len(latest) != len(want) {
				t.Errorf("engine wrote %d groups, loop has %d", len(latest), len(want))
			}
			bad := 0
			for k, v := range want {
				got, ok := latest[k]
				if !ok || got != *v {
					if bad++; bad <= 5 {
						t.Errorf("group (window start %d, key %d): engine %+v (present %v), loop %+v", k[0], k[1], got, ok, *v)
					}
				}
			}
			if bad > 0 {
				t.Errorf("%d of %d groups differ", bad, len(want))
			}
		})
	}
}
