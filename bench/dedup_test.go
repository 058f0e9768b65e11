package bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/dataframe"
	"github.com/sluicehq/sluice/engine"
	"github.com/sluicehq/sluice/objstore"
	memsrc "github.com/sluicehq/sluice/source/memory"
	"github.com/sluicehq/sluice/trigger"
)

// dedupWorkload is a stream of (ts, key, value) rows in which each of
// keys distinct int64 keys appears rows/keys times, in random order, in
// records of batchRows rows.
type dedupWorkload struct {
	name      string
	rows      int64
	keys      int64
	batchRows int64
	seed      uint64
}

// dedup1M: 5M rows over 1M distinct keys, so 80% of the rows are
// duplicates, in 1M-row records (one per micro-batch). Keys repeat within
// a batch and across batches.
var dedup1M = dedupWorkload{name: "keys=1M", rows: 5_000_000, keys: 1_000_000, batchRows: 1_000_000, seed: 11}

// generate builds the workload's records with mem. The caller owns the
// records and releases each one.
func (w dedupWorkload) generate(mem memory.Allocator) []arrow.RecordBatch {
	r := rand.New(rand.NewPCG(w.seed, 0xdeda))
	keys := make([]int64, w.rows)
	for i := range keys {
		keys[i] = int64(i) % w.keys
	}
	r.Shuffle(len(keys), func(i, j int) { keys[i], keys[j] = keys[j], keys[i] })
	tsType := eventSchema.Field(0).Type.(*arrow.TimestampType)
	var recs []arrow.RecordBatch
	for start := int64(0); start < w.rows; start += w.batchRows {
		n := min(w.batchRows, w.rows-start)
		tsb := array.NewTimestampBuilder(mem, tsType)
		kb := array.NewInt64Builder(mem)
		vb := array.NewInt64Builder(mem)
		tsb.Reserve(int(n))
		vb.Reserve(int(n))
		for i := start; i < start+n; i++ {
			tsb.UnsafeAppend(arrow.Timestamp(epochUs + i))
			vb.UnsafeAppend(i)
		}
		kb.AppendValues(keys[start:start+n], nil)
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

var dedupCache = map[string][]arrow.RecordBatch{}

// cachedDedupData returns w's records, generated once with the Go
// allocator; the cache owns them: callers must not release them.
func cachedDedupData(w dedupWorkload) []arrow.RecordBatch {
	if recs, ok := dedupCache[w.name]; ok {
		return recs
	}
	recs := w.generate(memory.DefaultAllocator)
	dedupCache[w.name] = recs
	return recs
}

// dedupLoop is the hand-written baseline: a map of the keys seen, and
// the positions of the first row of each key (the rows a deduplication
// keeps), over the same arrays.
func dedupLoop(recs []arrow.RecordBatch) (seen map[int64]struct{}, kept int64) {
	seen = make(map[int64]struct{})
	for _, rec := range recs {
		keys := rec.Column(1).(*array.Int64).Int64Values()
		for _, k := range keys {
			if _, dup := seen[k]; dup {
				continue
			}
			seen[k] = struct{}{}
			kept++
		}
	}
	return seen, kept
}

// dedupRun is what one run of DropDuplicates("key") through the engine
// did.
type dedupRun struct {
	rows, outRows, keys, stateBytes int64
	batches                         int
	wall, cpu                       time.Duration
}

// runDedupEngine runs ReadStream(...).DropDuplicates("key") in append
// mode over recs (borrowed), one record per micro-batch, with
// AvailableNow, into out, and waits for it to finish. The timing covers
// the query from Start to the end of Wait.
func runDedupEngine(ctx context.Context, recs []arrow.RecordBatch, mem memory.Allocator, out *keptSink) (dedupRun, error) {
	src := memsrc.New(eventSchema, memsrc.WithAllocator(mem))
	defer src.Close()
	src.Add(recs...)
	cpu0, t0 := cpuTime(), time.Now()
	q, err := dataframe.ReadStream(batchedSource{Source: src, rowsPerBatch: recs[0].NumRows()}).
		DropDuplicates("key").
		WriteStream(out).
		Trigger(trigger.AvailableNow()).
		CheckpointStore(objstore.NewMemory()).
		Allocator(mem).
		Engine(engine.New(engine.WithLogger(quiet))).
		Start(ctx)
	if err != nil {
		return dedupRun{}, fmt.Errorf("bench: starting the deduplication: %w", err)
	}
	if err := q.Wait(ctx); err != nil {
		return dedupRun{}, fmt.Errorf("bench: deduplication failed: %w", err)
	}
	run := dedupRun{wall: time.Since(t0), cpu: cpuTime() - cpu0}
	progress := q.RecentProgress()
	run.batches = len(progress)
	for _, p := range progress {
		run.rows += p.NumInputRows
		if len(p.StateOperators) == 1 && p.StateOperators[0].NumRowsTotal >= run.keys {
			run.keys, run.stateBytes = p.StateOperators[0].NumRowsTotal, p.StateOperators[0].MemoryUsedBytes
		}
	}
	out.mu.Lock()
	run.outRows = out.rows
	out.mu.Unlock()
	return run, nil
}

// BenchmarkDedup runs ReadStream(...).DropDuplicates("key") over 5M rows
// with 1M distinct int64 keys (80% duplicates) through the engine with
// AvailableNow, one 1M-row record per micro-batch from a memory source,
// into a sink that counts rows, with the checkpoint in memory. Without a
// watermark every key stays in state: 1M keys at the end.
func BenchmarkDedup(b *testing.B) {
	w := dedup1M
	b.Run(w.name, func(b *testing.B) {
		ctx := context.Background()
		recs := cachedDedupData(w)
		var tot dedupRun
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			runtime.GC()
			b.StartTimer()
			run, err := runDedupEngine(ctx, recs, memory.DefaultAllocator, &keptSink{})
			b.StopTimer()
			if err != nil {
				b.Fatal(err)
			}
			if run.rows != w.rows || run.outRows != w.keys || run.keys != w.keys {
				b.Fatalf("processed %d rows (want %d), wrote %d (want %d, one per key), %d keys in state (want %d)",
					run.rows, w.rows, run.outRows, w.keys, run.keys, w.keys)
			}
			tot.rows += run.rows
			tot.wall += run.wall
			tot.cpu += run.cpu
			tot.batches, tot.keys, tot.stateBytes = run.batches, run.keys, run.stateBytes
		}
		report(b, tot.rows, tot.wall, tot.cpu)
		b.ReportMetric(float64(tot.stateBytes)/float64(tot.keys), "state-bytes/key")
		b.Logf("dedup/%s: %d rows in %d micro-batches, %d kept, %d keys in state using %d bytes; %.0f rows/s, %.0f rows/s/core",
			w.name, w.rows, tot.batches, w.keys, tot.keys, tot.stateBytes, float64(tot.rows)/tot.wall.Seconds(), float64(tot.rows)/tot.cpu.Seconds())
		recordSpeed(b, "dedup/"+w.name, "engine", float64(tot.rows)/tot.wall.Seconds(), float64(tot.rows)/tot.cpu.Seconds())
	})
}

// BenchmarkDedupLoop is the limit BenchmarkDedup is measured against: a
// map[int64]struct{} of the keys seen, over the same arrays, counting the
// first row of each key.
func BenchmarkDedupLoop(b *testing.B) {
	w := dedup1M
	b.Run(w.name, func(b *testing.B) {
		recs := cachedDedupData(w)
		var rows int64
		var wall, cpu time.Duration
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			runtime.GC()
			b.StartTimer()
			cpu0, t0 := cpuTime(), time.Now()
			seen, kept := dedupLoop(recs)
			wall += time.Since(t0)
			cpu += cpuTime() - cpu0
			b.StopTimer()
			if kept != w.keys || int64(len(seen)) != w.keys {
				b.Fatalf("the loop kept %d rows and saw %d keys, want %d", kept, len(seen), w.keys)
			}
			rows += w.rows
		}
		report(b, rows, wall, cpu)
		b.Logf("dedup/%s: loop over the same %d rows: %d keys; %.0f rows/s, %.0f rows/s/core",
			w.name, w.rows, w.keys, float64(rows)/wall.Seconds(), float64(rows)/cpu.Seconds())
		recordSpeed(b, "dedup/"+w.name, "loop", float64(rows)/wall.Seconds(), float64(rows)/cpu.Seconds())
	})
}

// TestDedupMatchesLoop checks that the deduplication the benchmark runs
// keeps what the loop keeps: the first row of each key, on a small
// workload of 20 records whose keys repeat within and across them.
func TestDedupMatchesLoop(t *testing.T) {
	w := dedupWorkload{name: "test", rows: 200_000, keys: 30_000, batchRows: 10_000, seed: 5}
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	recs := w.generate(mem)
	defer func() {
		for _, r := range recs {
			r.Release()
		}
	}()
	out := &keptSink{first: map[int64]int64{}}
	run, err := runDedupEngine(context.Background(), recs, mem, out)
	if err != nil {
		t.Fatal(err)
	}
	_, kept := dedupLoop(recs)
	first := map[int64]int64{} // key -> value (row number) of its first row
	for _, rec := range recs {
		keys := rec.Column(1).(*array.Int64).Int64Values()
		vals := rec.Column(2).(*array.Int64).Int64Values()
		for i, k := range keys {
			if _, ok := first[k]; !ok {
				first[k] = vals[i]
			}
		}
	}
	if run.rows != w.rows || run.outRows != kept || run.keys != w.keys || run.batches < int(w.rows/w.batchRows) {
		t.Fatalf("engine: %d rows in %d batches, wrote %d, %d keys in state; loop kept %d of %d rows, %d keys",
			run.rows, run.batches, run.outRows, run.keys, kept, w.rows, w.keys)
	}
	if len(out.first) != len(first) {
		t.Fatalf("engine wrote %d distinct keys, want %d", len(out.first), len(first))
	}
	for k, v := range first {
		if got, ok := out.first[k]; !ok || got != v {
			t.Fatalf("key %d: engine kept row %d (present %v), the first is row %d", k, got, ok, v)
		}
	}
}

// keptSink is a resultSink that, when first is not nil, also records
// the value of each key's row, failing on a key written twice.
type keptSink struct {
	resultSink
	first map[int64]int64
}

func (s *keptSink) AddBatch(ctx context.Context, batchID int64, recs []arrow.RecordBatch) error {
	s.mu.Lock()
	replay := s.started && batchID <= s.last
	s.mu.Unlock()
	if replay || s.first == nil {
		return s.resultSink.AddBatch(ctx, batchID, recs)
	}
	for _, rec := range recs {
		keys := rec.Column(1).(*array.Int64).Int64Values()
		vals := rec.Column(2).(*array.Int64).Int64Values()
		for i, k := range keys {
			if _, dup := s.first[k]; dup {
				return fmt.Errorf("bench: key %d written twice", k)
			}
			s.first[k] = vals[i]
		}
	}
	return s.resultSink.AddBatch(ctx, batchID, recs)
}
