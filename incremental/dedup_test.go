package incremental_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/incremental"
	"github.com/sluicehq/sluice/internal/arrowrows"
	"github.com/sluicehq/sluice/objstore"
	"github.com/sluicehq/sluice/plan"
	"github.com/sluicehq/sluice/state"
)

// dedupSchema is the input of the deduplication tests: an event time in
// µs, a string key and a value.
var dedupSchema = arrow.NewSchema([]arrow.Field{
	{Name: "ts", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, Nullable: true},
	{Name: "key", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "v", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
}, nil)

const dsec = int64(time.Second / time.Microsecond)

// dedupPlan builds scan -> [watermark on ts with delay] -> dedup(cols).
func dedupPlan(t *testing.T, delay time.Duration, within bool, cols ...string) plan.Node {
	t.Helper()
	var n plan.Node = plan.NewScan(0, "events", dedupSchema)
	if delay >= 0 {
		w, err := plan.NewWatermark(n, "ts", delay, 0)
		if err != nil {
			t.Fatal(err)
		}
		n = w
	}
	d, err := plan.NewDedup(n, cols, within)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// dedupRun drives a deduplication pipeline batch by batch over a
// checkpoint.
type dedupRun struct {
	*statePipe
	ckpt objstore.Store
}

// newDedupRun builds root over a new state provider on ckpt. Its cleanup
// closes the pipeline and the provider.
func newDedupRun(t *testing.T, root plan.Node, ckpt objstore.Store, mem memory.Allocator, parts int, opts ...incremental.BuildOption) *dedupRun {
	t.Helper()
	r := &dedupRun{statePipe: openStatePipe(t, root, ckpt, mem, parts, opts...), ckpt: ckpt}
	t.Cleanup(r.close)
	return r
}

// batch runs batch id with watermark wmMs over one record per element of
// recs (each rows of dedupSchema, ts as µs) and returns the rows output,
// ts as µs.
func (r *dedupRun) batch(id, wmMs int64, recs ...[][]any) [][]any {
	r.t.Helper()
	ctx := context.Background()
	info := r.info(id, wmMs)
	if err := r.pipe.BeginBatch(ctx, info); err != nil {
		r.t.Fatalf("batch %d: BeginBatch: %v", id, err)
	}
	var out [][]any
	for _, rows := range recs {
		out = append(out, r.process(rows)...)
	}
	end, _, err := r.pipe.EndBatch(ctx, info)
	if err != nil {
		r.t.Fatalf("batch %d: EndBatch: %v", id, err)
	}
	if len(end) != 0 {
		releaseRecs(end)
		r.t.Fatalf("batch %d: deduplication emitted %d records at the end of the batch, want none", id, len(end))
	}
	return out
}

// process runs one record of rows through the pipeline and returns the
// rows output, ts as µs.
func (r *dedupRun) process(rows [][]any) [][]any {
	r.t.Helper()
	rec, err := arrowrows.Build(r.mem, dedupSchema, rows)
	if err != nil {
		r.t.Fatal(err)
	}
	defer rec.Release()
	outs, err := r.pipe.Process(context.Background(), 0, rec)
	if err != nil {
		r.t.Fatal(err)
	}
	defer releaseRecs(outs)
	got := arrowrows.RowsOf(outs)
	for _, row := range got {
		if ts, ok := row[0].(time.Time); ok {
			row[0] = ts.UnixMicro()
		}
	}
	return got
}

// metrics returns the operator's state metrics after the last batch.
func (r *dedupRun) metrics() incremental.StateOperatorMetrics {
	r.t.Helper()
	ops := r.pipe.StateOperators()
	if len(ops) != 1 {
		r.t.Fatalf("%d state operators, want 1", len(ops))
	}
	return ops[0]
}

func ev(sec int64, key any, v int64) []any { return []any{sec * dsec, key, v} }

func sameRows(t *testing.T, what string, got, want [][]any) {
	t.Helper()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("%s:\n got %v\nwant %v", what, got, want)
	}
}

// TestDedupFirstRowWins: without a watermark, the first row of a key is
// kept, later rows of the key in the same record, in a later record of
// the batch and in later batches are dropped; a null key is a key; the
// state keeps every key.
func TestDedupFirstRowWins(t *testing.T) {
	mem := checked(t)
	r := newDedupRun(t, dedupPlan(t, -1, false, "key"), objstore.NewMemory(), mem, 3)
	got := r.batch(0, 0,
		[][]any{ev(5, "a", 1), ev(1, "b", 2), ev(9, "a", 3), ev(2, nil, 4)},
		[][]any{ev(1, nil, 5), ev(0, "c", 6), ev(3, "b", 7)})
	sameRows(t, "batch 0", got, [][]any{ev(5, "a", 1), ev(1, "b", 2), ev(2, nil, 4), ev(0, "c", 6)})
	if m := r.metrics(); m.NumRowsTotal != 4 || m.NumRowsUpdated != 4 || m.OperatorName != "dedup-0" || m.NumStatePartitions != 3 {
		t.Errorf("after batch 0: %+v; want dedup-0 with 4 keys, 4 updated, 3 partitions", m)
	}
	got = r.batch(1, 0, [][]any{ev(100, "b", 8), ev(100, "d", 9), ev(1, "d", 10), ev(0, "a", 11)})
	sameRows(t, "batch 1", got, [][]any{ev(100, "d", 9)})
	if m := r.metrics(); m.NumRowsTotal != 5 || m.NumRowsUpdated != 1 || m.NumRowsRemoved != 0 {
		t.Errorf("after batch 1: %+v; want 5 keys, 1 updated", m)
	}
	// A watermark far ahead changes nothing: without an event-time
	// column among the keys nothing is late and nothing expires.
	if r.pipe.NeedsNoDataBatch(math.MaxInt32) {
		t.Error("NeedsNoDataBatch is true for a deduplication that never evicts")
	}
	got = r.batch(2, 1_000_000, [][]any{ev(0, "e", 12), ev(0, "a", 13)})
	sameRows(t, "batch 2", got, [][]any{ev(0, "e", 12)})
	if m := r.metrics(); m.NumRowsTotal != 6 || m.NumRowsDroppedByWatermark != 0 {
		t.Errorf("after batch 2: %+v; want 6 keys, none dropped", m)
	}
}

// TestDedupAllNewReturnsInput: a record whose rows all have new keys is
// passed on as it is, one with no new key gives nothing.
func TestDedupAllNewReturnsInput(t *testing.T) {
	mem := checked(t)
	r := newDedupRun(t, dedupPlan(t, -1, false, "key", "v"), objstore.NewMemory(), mem, 2)
	ctx := context.Background()
	if err := r.pipe.BeginBatch(ctx, r.info(0, 0)); err != nil {
		t.Fatal(err)
	}
	rec, err := arrowrows.Build(mem, dedupSchema, [][]any{ev(1, "a", 1), ev(1, "a", 2), ev(1, "b", 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Release()
	outs, err := r.pipe.Process(ctx, 0, rec)
	if err != nil {
		t.Fatal(err)
	}
	if len(outs) != 1 || outs[0].Columns()[0] != rec.Columns()[0] {
		t.Errorf("a record of new keys came out as %d records, not as itself", len(outs))
	}
	releaseRecs(outs)
	outs, err = r.pipe.Process(ctx, 0, rec)
	if err != nil {
		t.Fatal(err)
	}
	if len(outs) != 0 {
		t.Errorf("a record of keys seen came out as %d records, want none", len(outs))
		releaseRecs(outs)
	}
	if _, _, err := r.pipe.EndBatch(ctx, r.info(0, 0)); err != nil {
		t.Fatal(err)
	}
}

// TestDedupEventTimeKey: with the watermarked column among the keys,
// rows at or behind the watermark are dropped as late (counted, and
// kept for LateRows), and keys whose event time the watermark reached
// are evicted at the end of the batch, in a no-data batch too.
func TestDedupEventTimeKey(t *testing.T) {
	mem := checked(t)
	r := newDedupRun(t, dedupPlan(t, 5*time.Second, false, "key", "ts"), objstore.NewMemory(), mem, 2, incremental.WithLateRows())
	got := r.batch(0, 0, [][]any{ev(10, "a", 1), ev(10, "a", 2), ev(11, "a", 3), ev(20, "b", 4), {nil, "c", int64(5)}, {nil, "c", int64(6)}})
	sameRows(t, "batch 0", got, [][]any{ev(10, "a", 1), ev(11, "a", 3), ev(20, "b", 4), {nil, "c", int64(5)}})
	if m := r.metrics(); m.NumRowsTotal != 4 {
		t.Errorf("after batch 0: %d keys, want 4", m.NumRowsTotal)
	}
	if r.pipe.NeedsNoDataBatch(9_999) {
		t.Error("NeedsNoDataBatch(9.999 s) is true, but no key is at or below it")
	}
	if !r.pipe.NeedsNoDataBatch(10_000) {
		t.Error("NeedsNoDataBatch(10 s) is false, but key (a, 10 s) expires there")
	}
	// Watermark 10.5 s: (a, 10) is late, and evicted; (a, 11) is a
	// duplicate; the null time never expires.
	got = r.batch(1, 10_500, [][]any{ev(10, "a", 7), ev(11, "a", 8), ev(12, "a", 9), {nil, "c", int64(10)}, ev(3, "z", 11)})
	sameRows(t, "batch 1", got, [][]any{ev(12, "a", 9)})
	m := r.metrics()
	if m.NumRowsDroppedByWatermark != 2 || m.NumRowsTotal != 4 || m.NumRowsRemoved != 1 {
		t.Errorf("after batch 1: %+v; want 2 late rows, 1 key evicted, 4 kept", m)
	}
	late := r.pipe.LateRows()
	lateRows := arrowrows.RowsOf(late)
	releaseRecs(late)
	for _, row := range lateRows {
		row[0] = row[0].(time.Time).UnixMicro()
	}
	sameRows(t, "late rows", lateRows, [][]any{ev(10, "a", 7), ev(3, "z", 11)})
	if !r.pipe.NeedsNoDataBatch(20_000) {
		t.Error("NeedsNoDataBatch(20 s) is false, but keys at 11, 12 and 20 s expire there")
	}
	r.batch(2, 20_000)
	if m := r.metrics(); m.NumRowsTotal != 1 || m.NumRowsRemoved != 3 {
		t.Errorf("after the no-data batch 2 at 20 s: %+v; want only the null-time key left", m)
	}
	if r.pipe.NeedsNoDataBatch(1 << 40) {
		t.Error("NeedsNoDataBatch is true with only a key of null event time left")
	}
}

// TestDedupWithinWatermark: a key is a duplicate while its entry lives,
// until the watermark reaches the first row's event time plus the delay;
// then the next row of the key is kept again.
func TestDedupWithinWatermark(t *testing.T) {
	mem := checked(t)
	r := newDedupRun(t, dedupPlan(t, 10*time.Second, true, "key"), objstore.NewMemory(), mem, 2)
	got := r.batch(0, 0, [][]any{ev(5, "a", 1), ev(3, "a", 2), ev(30, "b", 3)})
	sameRows(t, "batch 0", got, [][]any{ev(5, "a", 1), ev(30, "b", 3)})
	// a expires at 15 s, b at 40 s.
	got = r.batch(1, 14_000, [][]any{ev(20, "a", 4), ev(14, "c", 5), ev(15, "c", 6)})
	sameRows(t, "batch 1", got, [][]any{ev(15, "c", 6)})
	if m := r.metrics(); m.NumRowsDroppedByWatermark != 1 || m.NumRowsTotal != 3 {
		t.Errorf("after batch 1: %+v; want 1 late row, 3 keys", m)
	}
	if r.pipe.NeedsNoDataBatch(14_999) || !r.pipe.NeedsNoDataBatch(15_000) {
		t.Error("NeedsNoDataBatch should turn true at 15 s, when key a expires")
	}
	r.batch(2, 15_000)
	if m := r.metrics(); m.NumRowsTotal != 2 || m.NumRowsRemoved != 1 {
		t.Errorf("after batch 2 at 15 s: %+v; want key a evicted", m)
	}
	got = r.batch(3, 15_000, [][]any{ev(20, "a", 7), ev(21, "a", 8)})
	sameRows(t, "batch 3", got, [][]any{ev(20, "a", 7)})
}

// TestDedupStateSurvivesRestart: a new pipeline and state provider on
// the same checkpoint continue where the last committed batch left off,
// and a batch that failed before its end runs again with the same
// result.
func TestDedupStateSurvivesRestart(t *testing.T) {
	mem := checked(t)
	ckpt := objstore.NewMemory()
	root := dedupPlan(t, 10*time.Second, true, "key")
	r := newDedupRun(t, root, ckpt, mem, 4)
	r.batch(0, 0, [][]any{ev(5, "a", 1), ev(6, "b", 2)})
	// Batch 1 fails after processing: its changes must not count.
	if err := r.pipe.BeginBatch(context.Background(), r.info(1, 0)); err != nil {
		t.Fatal(err)
	}
	sameRows(t, "batch 1, first attempt", r.process([][]any{ev(7, "c", 3), ev(8, "a", 4)}), [][]any{ev(7, "c", 3)})
	r.close()

	r2 := newDedupRun(t, root, ckpt, mem, 4)
	got := r2.batch(1, 0, [][]any{ev(7, "c", 3), ev(8, "a", 4)})
	sameRows(t, "batch 1 after a restart", got, [][]any{ev(7, "c", 3)})
	// And a retry in the same process after a failed attempt.
	if err := r2.pipe.BeginBatch(context.Background(), r2.info(2, 0)); err != nil {
		t.Fatal(err)
	}
	r2.process([][]any{ev(9, "d", 5)})
	got = r2.batch(2, 0, [][]any{ev(9, "d", 5), ev(9, "b", 6)})
	sameRows(t, "batch 2 retried", got, [][]any{ev(9, "d", 5)})
	if m := r2.metrics(); m.NumRowsTotal != 4 {
		t.Errorf("after batch 2: %d keys, want 4 (a, b, c, d)", m.NumRowsTotal)
	}
}

// TestDedupMatchesReference deduplicates random rows of every column
// type the key encoding has (fixed and variable width, nulls, -0.0 and
// NaN) by random column sets, over random records and batches, and
// compares with a map of the rows' printed keys.
func TestDedupMatchesReference(t *testing.T) {
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "i", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "b", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
		{Name: "f", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "s", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "p", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
		{Name: "n", Type: arrow.PrimitiveTypes.Int64},
	}, nil)
	floats := []float64{0, math.Copysign(0, -1), 1.5, math.NaN(), -2}
	words := []string{"", "x", "yy", "a long word"}
	seed := *seedFlag
	if seed == 0 {
		seed = rand.Uint64()
	}
	t.Logf("seed %d (rerun with -seed)", seed)
	rng := rand.New(rand.NewPCG(seed, 0xdedb))
	colSets := [][]string{{"i"}, {"s"}, {"i", "b", "p"}, {"f", "s"}, {"f"}, nil}
	for _, cols := range colSets {
		name := strings.Join(cols, ",")
		if cols == nil {
			name = "all"
		}
		t.Run(name, func(t *testing.T) {
			mem := checked(t)
			d, err := plan.NewDedup(plan.NewScan(0, "rows", schema), cols, false)
			if err != nil {
				t.Fatal(err)
			}
			keyIdx := d.KeyColumns()
			parts := 1 + rng.IntN(5)
			prov, err := state.NewMemoryProvider(objstore.NewMemory())
			if err != nil {
				t.Fatal(err)
			}
			defer prov.Close()
			pipe, err := incremental.Build(d, mem, incremental.WithStateProvider(prov))
			if err != nil {
				t.Fatal(err)
			}
			defer pipe.Close()
			seen := map[string]bool{}
			n := int64(0)
			for b := int64(0); b < 6; b++ {
				info := incremental.BatchInfo{BatchID: b, Conf: map[string]string{state.NumPartitionsConf: strconv.Itoa(parts)}}
				if err := pipe.BeginBatch(context.Background(), info); err != nil {
					t.Fatal(err)
				}
				for range 1 + rng.IntN(4) {
					rows := make([][]any, rng.IntN(5000))
					var want [][]any
					for i := range rows {
						pick := func(v any) any {
							if rng.IntN(8) == 0 {
								return nil
							}
							return v
						}
						n++
						rows[i] = []any{pick(rng.Int64N(30)), pick(int64(rng.IntN(3))), pick(floats[rng.IntN(len(floats))]),
							pick(words[rng.IntN(len(words))]), pick(rng.IntN(2) == 0), n}
						var k strings.Builder
						for _, c := range keyIdx {
							v := rows[i][c]
							if f, ok := v.(float64); ok && (f == 0 || f != f) {
								v = math.Abs(f) // -0.0 is 0.0; NaN is NaN
							}
							fmt.Fprintf(&k, "%#v|", v)
						}
						if !seen[k.String()] {
							seen[k.String()] = true
							want = append(want, rows[i])
						}
					}
					rec, err := arrowrows.Build(mem, schema, rows)
					if err != nil {
						t.Fatal(err)
					}
					outs, err := pipe.Process(context.Background(), 0, rec)
					rec.Release()
					if err != nil {
						t.Fatal(err)
					}
					got := arrowrows.RowsOf(outs)
					releaseRecs(outs)
					gotN, wantN := make([]int64, len(got)), make([]int64, len(want))
					for i, r := range got {
						gotN[i] = r[5].(int64)
					}
					for i, r := range want {
						wantN[i] = r[5].(int64)
					}
					if !slices.Equal(gotN, wantN) {
						t.Fatalf("batch %d: kept %d rows, want %d (first rows of new keys); first kept %v, want %v", b, len(gotN), len(wantN), gotN[:min(5, len(gotN))], wantN[:min(5, len(wantN))])
					}
				}
				if _, _, err := pipe.EndBatch(context.Background(), info); err != nil {
					t.Fatal(err)
				}
				if m := pipe.StateOperators()[0]; m.NumRowsTotal != int64(len(seen)) {
					t.Fatalf("batch %d: %d keys in state, want %d", b, m.NumRowsTotal, len(seen))
				}
			}
		})
	}
}

// TestDedupBelowUnion: deduplication may sit below a union, since it
// emits its rows as it processes them; each side keeps its own state.
func TestDedupBelowUnion(t *testing.T) {
	mem := checked(t)
	left, err := plan.NewDedup(plan.NewScan(0, "left", dedupSchema), []string{"key"}, false)
	if err != nil {
		t.Fatal(err)
	}
	right, err := plan.NewDedup(plan.NewScan(1, "right", dedupSchema), []string{"key"}, false)
	if err != nil {
		t.Fatal(err)
	}
	u, err := plan.NewUnion(left, right)
	if err != nil {
		t.Fatal(err)
	}
	prov, err := state.NewMemoryProvider(objstore.NewMemory())
	if err != nil {
		t.Fatal(err)
	}
	defer prov.Close()
	pipe, err := incremental.Build(u, mem, incremental.WithStateProvider(prov))
	if err != nil {
		t.Fatal(err)
	}
	defer pipe.Close()
	if ex := pipe.Explain(); !strings.Contains(ex, "StreamingDeduplicateExec [key], kept forever, state dedup-0") || !strings.Contains(ex, "state dedup-1") {
		t.Errorf("Explain does not show both deduplications with their state:\n%s", ex)
	}
	info := incremental.BatchInfo{BatchID: 0, Conf: map[string]string{state.NumPartitionsConf: "2"}}
	if err := pipe.BeginBatch(context.Background(), info); err != nil {
		t.Fatal(err)
	}
	var got [][]any
	for _, in := range []struct {
		src  int
		rows [][]any
	}{{0, [][]any{ev(1, "a", 1), ev(1, "a", 2)}}, {1, [][]any{ev(1, "a", 3), ev(1, "b", 4)}}, {0, [][]any{ev(1, "b", 5)}}, {1, [][]any{ev(1, "b", 6)}}} {
		rec, err := arrowrows.Build(mem, dedupSchema, in.rows)
		if err != nil {
			t.Fatal(err)
		}
		outs, err := pipe.Process(context.Background(), in.src, rec)
		rec.Release()
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range arrowrows.RowsOf(outs) {
			got = append(got, []any{r[1], r[2]})
		}
		releaseRecs(outs)
	}
	if _, _, err := pipe.EndBatch(context.Background(), info); err != nil {
		t.Fatal(err)
	}
	sameRows(t, "union of two deduplications", got, [][]any{{"a", int64(1)}, {"a", int64(3)}, {"b", int64(4)}, {"b", int64(5)}})
	if ops := pipe.StateOperators(); len(ops) != 2 || ops[0].NumRowsTotal != 2 || ops[1].NumRowsTotal != 2 {
		t.Errorf("state operators %+v; want dedup-0 and dedup-1 with 2 keys each", ops)
	}
}

// TestDedupPlanErrors: unknown columns list the available ones, key
// types without an encoding are refused, and the streaming checks say
// what to change.
func TestDedupPlanErrors(t *testing.T) {
	scan := plan.NewScan(0, "events", dedupSchema)
	if _, err := plan.NewDedup(scan, []string{"key", "nope"}, false); err == nil ||
		!strings.Contains(err.Error(), `no column "nope"`) || !strings.Contains(err.Error(), "ts, key, v") {
		t.Errorf("unknown column: %v; want an error naming it and listing ts, key, v", err)
	}
	mapSchema := arrow.NewSchema([]arrow.Field{{Name: "m", Type: arrow.MapOf(arrow.BinaryTypes.String, arrow.PrimitiveTypes.Int64)}}, nil)
	if _, err := plan.NewDedup(plan.NewScan(0, "maps", mapSchema), nil, true); err == nil || !strings.Contains(err.Error(), "DropDuplicatesWithinWatermark: column \"m\": a map") {
		t.Errorf("map column: %v; want a refusal naming the column", err)
	}
	d, err := plan.NewDedup(scan, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(d.Columns, ","); got != "ts,key,v" || d.String() != "Deduplicate [ts, key, v]" {
		t.Errorf("no columns: Columns %q (%s), want every column", got, d)
	}
	if col, _ := d.EventTime(); col != -1 {
		t.Errorf("without a watermark, EventTime is column %d, want -1", col)
	}
	within, err := plan.NewDedup(scan, []string{"key"}, true)
	if err != nil {
		t.Fatal(err)
	}
	err = plan.CheckStreaming(within, plan.Append)
	if err == nil || !strings.Contains(err.Error(), "WithWatermark") {
		t.Errorf("within watermark without a watermark: CheckStreaming gave %v; want a message naming WithWatermark", err)
	}
	prov, err := state.NewMemoryProvider(objstore.NewMemory())
	if err != nil {
		t.Fatal(err)
	}
	defer prov.Close()
	if _, err := incremental.Build(within, nil, incremental.WithStateProvider(prov)); err == nil || !strings.Contains(err.Error(), "WithWatermark") {
		t.Errorf("Build of a within-watermark deduplication without a watermark: %v", err)
	}
	if _, err := incremental.Build(d, nil); err == nil || !strings.Contains(err.Error(), "WithStateProvider") {
		t.Errorf("Build without a state provider: %v", err)
	}
	if err := plan.CheckStreaming(d, plan.Complete); err == nil || !strings.Contains(err.Error(), "Complete output mode not supported") {
		t.Errorf("complete mode without aggregation: %v", err)
	}
	for _, mode := range []plan.OutputMode{plan.Append, plan.Update} {
		if err := plan.CheckStreaming(d, mode); err != nil {
			t.Errorf("%s mode: %v", mode, err)
		}
	}
	if !plan.IsStateful(d) {
		t.Error("a deduplication is not stateful")
	}
	moved, err := plan.ReindexSources(d, func(i int) int { return i + 2 })
	if err != nil {
		t.Fatal(err)
	}
	if s := plan.Sources(moved); len(s) != 1 || s[0].Source != 2 || moved.(*plan.Dedup).String() != d.String() {
		t.Errorf("ReindexSources: %v", plan.Explain(moved))
	}
}
