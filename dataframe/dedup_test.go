package dataframe_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/bufpool"
	"github.com/sluicehq/sluice/dataframe"
	"github.com/sluicehq/sluice/objstore"
	memsink "github.com/sluicehq/sluice/sink/memory"
	memsrc "github.com/sluicehq/sluice/source/memory"
)

// dedupVariant is one way of deduplicating the event-time tests' rows
// (ts, key, value), with what the reference computation needs to know.
type dedupVariant struct {
	name string
	// delay is the watermark's delay on ts ("" for no watermark).
	delay   string
	delayUs int64
	build   func(df *dataframe.DataFrame) *dataframe.DataFrame
	// key is the deduplication key of a row.
	key func(r etRow) any
	// bounded: rows at or below the watermark are late, and a key is
	// forgotten once the watermark reaches its bound.
	bounded bool
	bound   func(r etRow) int64
}

func dedupVariants() []dedupVariant {
	type keyTs struct{ key, ts int64 }
	return []dedupVariant{
		{
			name:  "key/no-watermark",
			build: func(df *dataframe.DataFrame) *dataframe.DataFrame { return df.DropDuplicates("key") },
			key:   func(r etRow) any { return r.key },
		},
		{
			// The watermarked column is not a key: nothing is late and
			// every key is kept forever.
			name: "key/watermark-not-a-key", delay: "5 seconds", delayUs: 5 * etSec,
			build: func(df *dataframe.DataFrame) *dataframe.DataFrame {
				return df.WithWatermark("ts", "5 seconds").DropDuplicates("key")
			},
			key: func(r etRow) any { return r.key },
		},
		{
			name: "key,ts/watermark", delay: "4 seconds", delayUs: 4 * etSec,
			build: func(df *dataframe.DataFrame) *dataframe.DataFrame {
				return df.WithWatermark("ts", "4 seconds").DropDuplicates("key", "ts")
			},
			key:     func(r etRow) any { return keyTs{r.key, r.ts} },
			bounded: true, bound: func(r etRow) int64 { return r.ts },
		},
		{
			name: "all-columns/watermark", delay: "6 seconds", delayUs: 6 * etSec,
			build: func(df *dataframe.DataFrame) *dataframe.DataFrame {
				return df.WithWatermark("ts", "6 seconds").DropDuplicates()
			},
			key:     func(r etRow) any { return r },
			bounded: true, bound: func(r etRow) int64 { return r.ts },
		},
		{
			name: "within-watermark/key", delay: "5 seconds", delayUs: 5 * etSec,
			build: func(df *dataframe.DataFrame) *dataframe.DataFrame {
				return df.WithWatermark("ts", "5 seconds").DropDuplicatesWithinWatermark("key")
			},
			key:     func(r etRow) any { return r.key },
			bounded: true, bound: func(r etRow) int64 { return r.ts + 5*etSec },
		},
	}
}

// dedupRef is the reference result of a deduplication over the logged
// batches.
type dedupRef struct {
	out     map[int64][]etRow // rows kept, by batch id
	late    []etRow
	dropped map[int64]int64
	keys    map[int64]int64 // keys in state after each batch
}

// dedupReference runs the batches through a map of key to bound: a row
// at or below the batch's watermark is late (bounded variants), a row
// whose key is in the map is a duplicate, any other is kept and its key
// added; at the end of each batch the keys whose bound the watermark
// reached are removed.
func dedupReference(v dedupVariant, rows []etRow, batches []etBatch) dedupRef {
	ref := dedupRef{out: map[int64][]etRow{}, dropped: map[int64]int64{}, keys: map[int64]int64{}}
	seen := map[any]int64{}
	for _, b := range batches {
		wm := b.wmMs * 1000
		for _, i := range b.rows {
			r := rows[i]
			if v.bounded && r.ts <= wm {
				ref.dropped[b.id]++
				ref.late = append(ref.late, r)
				continue
			}
			k := v.key(r)
			if _, dup := seen[k]; dup {
				continue
			}
			bound := int64(0)
			if v.bounded {
				bound = v.bound(r)
			}
			seen[k] = bound
			ref.out[b.id] = append(ref.out[b.id], r)
		}
		if v.bounded {
			for k, bound := range seen {
				if bound <= wm {
					delete(seen, k)
				}
			}
		}
		ref.keys[b.id] = int64(len(seen))
	}
	return ref
}

// dedupRows makes rows for deduplication: out-of-order event times in
// whole seconds over few keys, and many repeats of an earlier row's key
// and time (sometimes of the whole row) so that every variant meets
// duplicates, within a batch and across batches.
func dedupRows(rng *rand.Rand, delayUs int64) []etRow {
	rows := etGenerate(rng, etGenConfig{
		n: 150 + rng.IntN(200), keys: 2 + rng.Int64N(12), step: 300_000,
		jitter: 4 * etSec, ahead: 2 * etSec, veryLate: 0.05, lateBy: delayUs + 3*etSec, nulls: 0.03, nullKeys: 0.04,
	})
	for i := range rows {
		rows[i].ts -= rows[i].ts % etSec
		if i > 0 && rng.IntN(4) == 0 {
			prev := rows[max(0, i-1-rng.IntN(40))]
			rows[i].key, rows[i].ts = prev.key, prev.ts
			if rng.IntN(2) == 0 {
				rows[i].value, rows[i].null = prev.value, prev.null
			}
		}
	}
	return rows
}

// dedupCheck compares what the query wrote, batch by batch, with the
// reference over the logged batches, and checks the late rows, the
// progress (rows dropped as late, keys in state) and the watermarks.
func dedupCheck(t *testing.T, h *etHarness, v dedupVariant) dedupRef {
	t.Helper()
	batches := h.batches()
	ref := dedupReference(v, h.rows, batches)
	kept := 0
	for _, rs := range ref.out {
		kept += len(rs)
	}
	t.Logf("%d rows, %d batches, %d crashes (%v), %d restarts, %d rows kept, %d late, %d keys at the end",
		len(h.rows), len(batches), h.crashes, h.rules, h.restarts, kept, len(ref.late), ref.keys[batches[len(batches)-1].id])
	got := map[int64][]etRow{}
	for _, b := range h.out.Batches() {
		for _, cells := range b.Rows {
			r, err := etLateRow(cells)
			if err != nil {
				t.Fatal(err)
			}
			got[b.ID] = append(got[b.ID], r)
		}
	}
	for _, b := range batches {
		etCompareRows(t, fmt.Sprintf("batch %d (watermark %s)", b.id, etTime(b.wmMs*1000)), got[b.id], ref.out[b.id])
		delete(got, b.id)
	}
	for id, rs := range got {
		t.Errorf("the sink has rows of batch %d, which the offsets log does not have: %v", id, rs)
	}
	if h.late != nil {
		etCompareRows(t, "late-data sink", h.lateRows(), ref.late)
	}
	reports := h.progressByBatch()
	for _, b := range batches {
		p, ok := reports[b.id]
		if !ok {
			continue // its commit was written, but the query failed before reporting
		}
		if len(p.StateOperators) != 1 || p.StateOperators[0].OperatorName != "dedup-0" {
			t.Errorf("batch %d: state operators %+v, want dedup-0 alone", b.id, p.StateOperators)
			continue
		}
		so := p.StateOperators[0]
		if so.NumRowsDroppedByWatermark != ref.dropped[b.id] {
			t.Errorf("batch %d: numRowsDroppedByWatermark %d, want %d", b.id, so.NumRowsDroppedByWatermark, ref.dropped[b.id])
		}
		if so.NumRowsTotal != ref.keys[b.id] {
			t.Errorf("batch %d (watermark %s): numRowsTotal %d, want %d keys in state", b.id, etTime(b.wmMs*1000), so.NumRowsTotal, ref.keys[b.id])
		}
	}
	if len(reports) < len(batches)-h.crashes {
		t.Errorf("%d progress reports for %d batches and %d crashes", len(reports), len(batches), h.crashes)
	}
	if v.delay != "" {
		h.checkWatermarks(batches)
	} else {
		for _, b := range batches {
			if b.wmMs != 0 {
				t.Errorf("batch %d ran with watermark %d ms without a watermark declared", b.id, b.wmMs)
			}
		}
	}
	return ref
}

// TestDedupProperty is the main property of deduplication: for random
// out-of-order rows with many duplicates, split into random batches, with
// crashes injected into the checkpoint and clean restarts, each batch
// writes exactly the rows a map-based reference over the logged batches
// and watermarks keeps (the first row of each key, not late, whose key is
// not remembered), rows behind the watermark are counted and sent to the
// late-data sink, and progress reports the keys the reference remembers
// after each batch, so eviction is seen.
func TestDedupProperty(t *testing.T) {
	if etIsolate(t) {
		return
	}
	for seed := uint64(1); seed <= 8; seed++ {
		for vi, v := range dedupVariants() {
			t.Run(fmt.Sprintf("seed=%d/%s", seed, v.name), func(t *testing.T) {
				rng := rand.New(rand.NewPCG(seed, uint64(vi)))
				rows := dedupRows(rng, max(v.delayUs, 4*etSec))
				h := newETHarness(t, seed*10+uint64(vi), etConfig{
					mode: "append", intKeys: (seed+uint64(vi))%2 == 0, parts: 1 + rng.IntN(4), late: seed%3 != 0,
					retain: 10 * int(seed%2), delayUs: v.delayUs, faults: 0.2, restarts: 0.08, build: v.build,
				})
				h.feed(rows, 25)
				h.finish(v.delayUs + 30*etSec)
				ref := dedupCheck(t, h, v)
				if v.bounded {
					if len(ref.late) == 0 {
						t.Error("no row was late: the data should have some")
					}
					last := h.batches()[len(h.batches())-1]
					if ref.keys[last.id] >= int64(len(h.rows))/4 {
						t.Errorf("%d keys left after the last batch of %d rows: eviction should have removed most", ref.keys[last.id], len(h.rows))
					}
				}
			})
		}
	}
}

// TestDedupEvictionInProgress follows a within-watermark deduplication
// batch by batch: numRowsTotal grows with new keys, and falls when the
// watermark passes the first rows' event time plus the delay, in a
// batch with data and in a no-data batch.
func TestDedupEvictionInProgress(t *testing.T) {
	v := dedupVariants()[4]
	h := newETHarness(t, 1, etConfig{mode: "append", late: true, delayUs: v.delayUs, build: v.build})
	s := etSec
	// Batch 0 (watermark 0): keys 1, 2, 3 expire at 15, 16, 17 s.
	h.add(etRow{ts: 10 * s, key: 1, value: 1}, etRow{ts: 11 * s, key: 2, value: 2}, etRow{ts: 12 * s, key: 3, value: 3}, etRow{ts: 12 * s, key: 1, value: 4})
	h.process()
	// Batch 1 (watermark 7 s): a duplicate of key 2 at another time, a
	// new key 4 at 21 s (expires at 26 s), a late row. The next
	// watermark, 16 s, expires keys 1 and 2: a no-data batch 2 evicts
	// them.
	h.add(etRow{ts: 14 * s, key: 2, value: 5}, etRow{ts: 21 * s, key: 4, value: 6}, etRow{ts: 6 * s, key: 5, value: 7})
	h.process()
	// Batch 3 (watermark 16 s): key 1 is new again (expires at 22 s), key
	// 3 (expiring at 17 s) is still a duplicate.
	h.add(etRow{ts: 17 * s, key: 1, value: 8}, etRow{ts: 17 * s, key: 3, value: 9})
	h.process()
	// Batch 4 (watermark 16 s): key 6; the next watermark, 40 s, expires
	// every other key in a no-data batch 5.
	h.add(etRow{ts: 45 * s, key: 6, value: 10})
	h.process()
	h.stop()
	ref := dedupCheck(t, h, v)
	var totals, removed []int64
	reports := h.progressByBatch()
	for _, b := range h.batches() {
		so := reports[b.id].StateOperators[0]
		totals, removed = append(totals, so.NumRowsTotal), append(removed, so.NumRowsRemoved)
	}
	if want := []int64{3, 4, 2, 3, 4, 1}; !slices.Equal(totals, want) {
		t.Errorf("numRowsTotal by batch %v, want %v", totals, want)
	}
	if want := []int64{0, 0, 2, 0, 0, 3}; !slices.Equal(removed, want) {
		t.Errorf("numRowsRemoved by batch %v, want %v", removed, want)
	}
	if got := h.out.Rows(); len(got) != 6 {
		t.Errorf("%d rows written, want 6 (keys 1, 2, 3, 4, then 1 again and 6)", len(got))
	}
	if len(ref.late) != 1 {
		t.Errorf("%d late rows, want 1", len(ref.late))
	}
}

// TestDedupStartRefusals: the plans deduplication cannot run are
// refused at Start, with messages that say what to change.
func TestDedupStartRefusals(t *testing.T) {
	schema := etSchema(false)
	cases := []struct {
		name, mode string
		build      func(df *dataframe.DataFrame) *dataframe.DataFrame
		want       []string
	}{
		{"within without watermark", "append", func(df *dataframe.DataFrame) *dataframe.DataFrame {
			return df.DropDuplicatesWithinWatermark("key")
		}, []string{"DropDuplicatesWithinWatermark(key) needs a watermark", "WithWatermark"}},
		{"within, watermark projected away", "append", func(df *dataframe.DataFrame) *dataframe.DataFrame {
			return df.WithWatermark("ts", "5 seconds").SelectColumns("key", "value").DropDuplicatesWithinWatermark("key")
		}, []string{"WithWatermark"}},
		{"complete without aggregation", "complete", func(df *dataframe.DataFrame) *dataframe.DataFrame {
			return df.DropDuplicates("key")
		}, []string{"Complete output mode not supported", "use append or update"}},
		{"complete over an aggregation", "complete", func(df *dataframe.DataFrame) *dataframe.DataFrame {
			return df.GroupBy(dataframe.Col("key")).Count().DropDuplicates("count")
		}, []string{"Complete output mode not supported with a deduplication of an aggregation's rows", "deduplicate before GroupBy"}},
		{"unknown column", "append", func(df *dataframe.DataFrame) *dataframe.DataFrame {
			return df.DropDuplicates("key", "kee")
		}, []string{`DropDuplicates: plan: DropDuplicates: no column "kee"; the columns are ts, key, value`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(bufpool.NewPoison())
			defer mem.AssertSize(t, 0)
			src := memsrc.New(schema, memsrc.WithAllocator(mem))
			defer src.Close()
			out := memsink.New()
			defer out.Release()
			q, err := c.build(dataframe.ReadStream(src)).WriteStream(out).OutputMode(c.mode).
				CheckpointStore(objstore.NewMemory()).Allocator(mem).Start(context.Background())
			if err == nil {
				q.Stop(context.Background())
				t.Fatalf("Start succeeded; want an error with %q", c.want)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Start: %v\nwant it to contain %q", err, w)
				}
			}
		})
	}
}

// TestDedupThenAggregate runs a deduplication below an aggregation
// (two stateful operators, dedup-0 and aggregate-1) in update mode: the
// counts are of distinct (key, value) pairs, across batches.
func TestDedupThenAggregate(t *testing.T) {
	h := newETHarness(t, 1, etConfig{mode: "update", intKeys: true, build: func(df *dataframe.DataFrame) *dataframe.DataFrame {
		return df.DropDuplicates("key", "value").GroupBy(dataframe.Col("key")).Count()
	}})
	s := etSec
	h.add(etRow{ts: s, key: 1, value: 1}, etRow{ts: s, key: 1, value: 1}, etRow{ts: s, key: 1, value: 2}, etRow{ts: s, key: 2, value: 1})
	h.process()
	h.add(etRow{ts: s, key: 1, value: 2}, etRow{ts: s, key: 1, value: 3}, etRow{ts: s, key: 2, value: 1})
	h.process()
	h.stop()
	counts := map[int64]int64{}
	for _, r := range h.out.Rows() {
		counts[r[0].(int64)] = r[1].(int64)
	}
	if counts[1] != 3 || counts[2] != 1 || len(counts) != 2 {
		t.Errorf("last counts by key %v, want 1: 3 and 2: 1", counts)
	}
	var names []string
	for _, so := range h.q.LastProgress().StateOperators {
		names = append(names, so.OperatorName)
	}
	if !slices.Equal(names, []string{"aggregate-1", "dedup-0"}) {
		t.Errorf("state operators %v, want aggregate-1 and dedup-0", names)
	}
}

// TestDedupUnionOfDeduplicated unions two deduplicated streams: each
// side remembers its own keys, so a key can come once from each side.
func TestDedupUnionOfDeduplicated(t *testing.T) {
	mem := memory.NewCheckedAllocator(bufpool.NewPoison())
	defer mem.AssertSize(t, 0)
	schema := etSchema(true)
	a, b := memsrc.New(schema, memsrc.WithAllocator(mem)), memsrc.New(schema, memsrc.WithAllocator(mem))
	defer a.Close()
	defer b.Close()
	out := memsink.New()
	defer out.Release()
	df := dataframe.ReadStream(a).DropDuplicates("key").Union(dataframe.ReadStream(b).DropDuplicates("key"))
	q, err := df.WriteStream(out).CheckpointStore(objstore.NewMemory()).Allocator(mem).Start(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []struct {
		src *memsrc.Source
		key int64
	}{{a, 1}, {a, 1}, {b, 1}, {b, 2}, {a, 2}, {b, 2}} {
		if _, err := r.src.AddRows(etRow{ts: etSec, key: r.key, value: r.key}.goValues(true)); err != nil {
			t.Fatal(err)
		}
		if err := q.ProcessAllAvailable(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if err := q.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	var keys []int64
	for _, r := range out.Rows() {
		keys = append(keys, r[1].(int64))
	}
	slices.Sort(keys)
	if !slices.Equal(keys, []int64{1, 1, 2, 2}) {
		t.Errorf("keys written %v, want 1 and 2 from each side", keys)
	}
}
