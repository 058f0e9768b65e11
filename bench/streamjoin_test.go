package bench

import (
	"context"
	"fmt"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/dataframe"
	"github.com/sluicehq/sluice/expr"
	"github.com/sluicehq/sluice/objstore"
)

// The stream-stream join workload: two streams of (ts, key, value) rows,
// 2M rows each in 100k-row records (one record per side per
// micro-batch), 10k rows per second of event time each, int64 keys
// uniform over 100k values, joined inner on the key and a 10 s event-time
// range (lts within 5 s of rts either way) with a 5 s watermark on both
// sides. Each row meets about one row of the other side.

const (
	sjRangeUs = 5_000_000 // lts - rts within [-sjRangeUs, sjRangeUs]
	sjDelayUs = 5_000_000
)

var (
	sjLeft = workload{name: "streamjoin/left", rows: 2_000_000, keys: 100_000,
		rowsPerSec: 10_000, batchRows: 100_000, startUs: epochUs, seed: 11}
	sjRight = workload{name: "streamjoin/right", rows: 2_000_000, keys: 100_000,
		rowsPerSec: 10_000, batchRows: 100_000, startUs: epochUs, seed: 12}
)

// BenchmarkStreamJoin runs the inner stream-stream join through the
// engine (AvailableNow, checkpoint in memory) and reports input rows (both
// sides) per second and per second of CPU.
func BenchmarkStreamJoin(b *testing.B) {
	ctx := context.Background()
	left, right := cachedData(sjLeft), cachedData(sjRight)
	tot, last := timedQueries(b, func() (queryRun, error) {
		return runStreamJoin(ctx, left, right, objstore.NewMemory(), memory.DefaultAllocator)
	}, func(run queryRun) error {
		if want := sjLeft.rows + sjRight.rows; run.rows != want || run.dropped != 0 || run.outRows == 0 {
			return fmt.Errorf("the join read %d rows (want %d), dropped %d as late (want 0) and wrote %d", run.rows, want, run.dropped, run.outRows)
		}
		return nil
	})
	b.ReportMetric(float64(last.outRows), "joined-rows")
	b.ReportMetric(float64(last.stateRows), "peak-state-rows")
	b.Logf("stream-stream join: %d+%d rows in %d micro-batches, %d joined rows, peak %d rows in state (%d bytes of index), %d evicted; %.0f rows/s, %.0f rows/s/core",
		sjLeft.rows, sjRight.rows, last.batches, last.outRows, last.stateRows, last.stateMem, last.removed,
		tot.rowsPerSec(), tot.rowsPerCore())
	finish(b, "streamjoin", "engine", tot)
}

// BenchmarkStreamJoinLoop is the hand-written baseline: the same
// symmetric hash join over the same arrays, a Go map from key to the kept
// rows of each side, eviction by the same watermark, counting the pairs.
func BenchmarkStreamJoinLoop(b *testing.B) {
	left, right := cachedData(sjLeft), cachedData(sjRight)
	var pairs int64
	tot := timedLoops(b, sjLeft.rows+sjRight.rows, func() { pairs = streamJoinLoop(left, right) }, func() error { return nil })
	b.ReportMetric(float64(pairs), "joined-rows")
	b.Logf("loop: %d joined rows; %.0f rows/s, %.0f rows/s/core", pairs, tot.rowsPerSec(), tot.rowsPerCore())
	finish(b, "streamjoin", "loop", tot)
}

// runStreamJoin joins left and right (borrowed: the sources retain their
// own references) through the engine and waits for the query to finish.
// Its stateRows are the peak rows in state and stateMem the bytes of the
// index at the peak.
func runStreamJoin(ctx context.Context, left, right []arrow.RecordBatch, ckpt objstore.Store, mem memory.Allocator) (queryRun, error) {
	ls := newBatchedSource(eventSchema, left, mem)
	defer ls.Close()
	rs := newBatchedSource(eventSchema, right, mem)
	defer rs.Close()
	side := func(src batchedSource, p string) *dataframe.DataFrame {
		return dataframe.ReadStream(src).
			Select(dataframe.Col("ts").As(p+"ts"), dataframe.Col("key").As(p+"k"), dataframe.Col("value").As(p+"v")).
			WithWatermark(p+"ts", "5 seconds")
	}
	um := func(c string) expr.Expr { return expr.Call("unix_micros", dataframe.Col(c)) }
	cond := expr.And(dataframe.Col("lk").Eq(dataframe.Col("rk")),
		um("lts").Between(um("rts").Sub(dataframe.Lit(int64(sjRangeUs))), um("rts").Add(dataframe.Lit(int64(sjRangeUs)))))
	df := side(ls, "l").Join(side(rs, "r"), cond, "inner")
	return runQuery(ctx, "stream-stream join", df, &countingSink{}, "append", ckpt, mem)
}

// sjKept is a row the loop keeps: its event time and value.
type sjKept struct{ ts, value int64 }

// streamJoinLoop joins record i of left with record i of right, batch by
// batch as the engine's micro-batches do: each left row probes the right
// rows kept, then is kept; then each right row probes the left rows kept
// (including this batch's), then is kept. At the end of each batch the
// rows no later row can match (by the watermark the batch ran with) are
// dropped. It returns the number of pairs.
func streamJoinLoop(left, right []arrow.RecordBatch) int64 {
	kept := [2]map[int64][]sjKept{{}, {}}
	var pairs int64
	maxTs := [2]int64{}
	wm := int64(0)
	for b := range left {
		for side, rec := range []arrow.RecordBatch{left[b], right[b]} {
			ts, keys, vals := eventCols(rec)
			mine, other := kept[side], kept[1-side]
			for i, t := range ts {
				t := int64(t)
				if t <= wm {
					continue
				}
				for _, o := range other[keys[i]] {
					if d := t - o.ts; d >= -sjRangeUs && d <= sjRangeUs {
						pairs++
					}
				}
				mine[keys[i]] = append(mine[keys[i]], sjKept{ts: t, value: vals[i]})
				maxTs[side] = max(maxTs[side], t)
			}
		}
		// Evict: a left row once lts <= wm - range, a right row once
		// rts + range <= wm.
		for side := range kept {
			for k, rows := range kept[side] {
				keep := rows[:0]
				for _, r := range rows {
					if r.ts+sjRangeUs > wm {
						keep = append(keep, r)
					}
				}
				if len(keep) == 0 {
					delete(kept[side], k)
				} else {
					kept[side][k] = keep
				}
			}
		}
		// The next batch's watermark: the lower of the sides' greatest
		// event times minus the delay, in whole milliseconds.
		wm = (min(maxTs[0], maxTs[1]) - sjDelayUs) / 1000 * 1000
	}
	return pairs
}

// TestStreamJoinMatchesLoop checks that the engine's join in the
// benchmark writes as many rows as the loop baseline counts, on a smaller
// workload long enough for the watermark to evict rows.
func TestStreamJoinMatchesLoop(t *testing.T) {
	mem := checkedAlloc(t)
	l := workload{name: "test/streamjoin/left", rows: 60_000, keys: 2_000, rowsPerSec: 2_000, batchRows: 5_000, startUs: epochUs, seed: 3}
	r := workload{name: "test/streamjoin/right", rows: 60_000, keys: 2_000, rowsPerSec: 2_000, batchRows: 5_000, startUs: epochUs, seed: 4}
	left, right := generateFor(t, mem, l), generateFor(t, mem, r)
	run, err := runStreamJoin(context.Background(), left, right, objstore.NewMemory(), mem)
	if err != nil {
		t.Fatal(err)
	}
	if run.rows != l.rows+r.rows || run.dropped != 0 {
		t.Fatalf("the engine read %d rows and dropped %d as late; want %d and 0", run.rows, run.dropped, l.rows+r.rows)
	}
	if run.removed == 0 {
		t.Errorf("no row was evicted: the workload should span enough event time for the watermark to evict rows")
	}
	want := streamJoinLoop(left, right)
	if want == 0 || run.outRows != want {
		t.Errorf("the engine wrote %d joined rows, the loop counts %d", run.outRows, want)
	}
}
