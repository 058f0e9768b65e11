package bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/dataframe"
	"github.com/sluicehq/sluice/objstore"
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

// cacheKey names the workload's records in dataCache.
func (w dedupWorkload) cacheKey() string { return "dedup/" + w.name }

// generate builds the workload's records with mem. The caller owns the
// records and releases each one.
func (w dedupWorkload) generate(mem memory.Allocator) []arrow.RecordBatch {
	r := rand.New(rand.NewPCG(w.seed, 0xdeda))
	keys := make([]int64, w.rows)
	for i := range keys {
		keys[i] = int64(i) % w.keys
	}
	r.Shuffle(len(keys), func(i, j int) { keys[i], keys[j] = keys[j], keys[i] })
	return buildEvents(mem, eventSchema, w.rows, w.batchRows, func(i int64) (ts, key, value int64) {
		return epochUs + i, keys[i], i
	})
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

// runDedupEngine runs ReadStream(...).DropDuplicates("key") in append
// mode over recs (borrowed), one record per micro-batch, with
// AvailableNow, into out, and waits for it to finish. Its stateRows are
// the peak keys in state. The timing covers the query from Start to the
// end of Wait.
func runDedupEngine(ctx context.Context, recs []arrow.RecordBatch, mem memory.Allocator, out *countingSink) (queryRun, error) {
	src := newBatchedSource(eventSchema, recs, mem)
	defer src.Close()
	df := dataframe.ReadStream(src).DropDuplicates("key")
	return runQuery(ctx, "deduplication", df, out, "append", objstore.NewMemory(), mem)
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
		recs := cachedData(w)
		tot, last := timedQueries(b, func() (queryRun, error) {
			return runDedupEngine(ctx, recs, memory.DefaultAllocator, keptSink(nil))
		}, func(run queryRun) error {
			if run.rows != w.rows || run.outRows != w.keys || run.stateRows != w.keys {
				return fmt.Errorf("processed %d rows (want %d), wrote %d (want %d, one per key), %d keys in state (want %d)",
					run.rows, w.rows, run.outRows, w.keys, run.stateRows, w.keys)
			}
			return nil
		})
		b.ReportMetric(float64(last.stateMem)/float64(last.stateRows), "state-bytes/key")
		b.Logf("dedup/%s: %d rows in %d micro-batches, %d kept, %d keys in state using %d bytes; %.0f rows/s, %.0f rows/s/core",
			w.name, w.rows, last.batches, w.keys, last.stateRows, last.stateMem, tot.rowsPerSec(), tot.rowsPerCore())
		finish(b, "dedup/"+w.name, "engine", tot)
	})
}

// BenchmarkDedupLoop is the limit BenchmarkDedup is measured against: a
// map[int64]struct{} of the keys seen, over the same arrays, counting the
// first row of each key.
func BenchmarkDedupLoop(b *testing.B) {
	w := dedup1M
	b.Run(w.name, func(b *testing.B) {
		recs := cachedData(w)
		var seen map[int64]struct{}
		var kept int64
		tot := timedLoops(b, w.rows, func() { seen, kept = dedupLoop(recs) }, func() error {
			if kept != w.keys || int64(len(seen)) != w.keys {
				return fmt.Errorf("the loop kept %d rows and saw %d keys, want %d", kept, len(seen), w.keys)
			}
			return nil
		})
		b.Logf("dedup/%s: loop over the same %d rows: %d keys; %.0f rows/s, %.0f rows/s/core",
			w.name, w.rows, w.keys, tot.rowsPerSec(), tot.rowsPerCore())
		finish(b, "dedup/"+w.name, "loop", tot)
	})
}

// TestDedupMatchesLoop checks that the deduplication the benchmark runs
// keeps what the loop keeps: the first row of each key, on a small
// workload of 20 records whose keys repeat within and across them.
func TestDedupMatchesLoop(t *testing.T) {
	w := dedupWorkload{name: "test", rows: 200_000, keys: 30_000, batchRows: 10_000, seed: 5}
	mem := checkedAlloc(t)
	recs := generateFor(t, mem, w)
	engineFirst := map[int64]int64{}
	out := keptSink(engineFirst)
	run, err := runDedupEngine(context.Background(), recs, mem, out)
	if err != nil {
		t.Fatal(err)
	}
	_, kept := dedupLoop(recs)
	first := map[int64]int64{} // key -> value (row number) of its first row
	for _, rec := range recs {
		_, keys, vals := eventCols(rec)
		for i, k := range keys {
			if _, ok := first[k]; !ok {
				first[k] = vals[i]
			}
		}
	}
	if run.rows != w.rows || run.outRows != kept || run.stateRows != w.keys || run.batches < int(w.rows/w.batchRows) {
		t.Fatalf("engine: %d rows in %d batches, wrote %d, %d keys in state; loop kept %d of %d rows, %d keys",
			run.rows, run.batches, run.outRows, run.stateRows, kept, w.rows, w.keys)
	}
	if len(engineFirst) != len(first) {
		t.Fatalf("engine wrote %d distinct keys, want %d", len(engineFirst), len(first))
	}
	for k, v := range first {
		if got, ok := engineFirst[k]; !ok || got != v {
			t.Fatalf("key %d: engine kept row %d (present %v), the first is row %d", k, got, ok, v)
		}
	}
}

// keptSink returns a sink that counts the rows written to it and, when
// first is not nil, records in first the value of each key's row,
// failing on a key written twice.
func keptSink(first map[int64]int64) *countingSink {
	out := &countingSink{}
	if first != nil {
		out.fold = func(_ int64, rec arrow.RecordBatch) error {
			_, keys, vals := eventCols(rec)
			for i, k := range keys {
				if _, dup := first[k]; dup {
					return fmt.Errorf("bench: key %d written twice", k)
				}
				first[k] = vals[i]
			}
			return nil
		}
	}
	return out
}
