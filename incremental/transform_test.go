package incremental_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/bufpool"
	"github.com/sluicehq/sluice/expr"
	"github.com/sluicehq/sluice/incremental"
	"github.com/sluicehq/sluice/internal/arrowrows"
	"github.com/sluicehq/sluice/objstore"
	"github.com/sluicehq/sluice/plan"
	"github.com/sluicehq/sluice/stateful"
)

// twsSchema is the input of the transformWithState tests: an event time,
// a string key (nullable) and a value.
var twsSchema = arrow.NewSchema([]arrow.Field{
	{Name: "ts", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, Nullable: true},
	{Name: "key", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "v", Type: arrow.PrimitiveTypes.Int64},
}, nil)

var twsOut = arrow.NewSchema([]arrow.Field{
	{Name: "key", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "kind", Type: arrow.BinaryTypes.String},
	{Name: "n", Type: arrow.PrimitiveTypes.Int64},
	{Name: "sum", Type: arrow.PrimitiveTypes.Int64},
}, nil)

// countProc keeps a running count and sum per key and emits them after
// each key's rows ("rows"). With gapMs > 0 it also registers a timer
// gapMs after the key's latest event time (event time) or its latest
// batch (processing time), deleting the previous one; the timer emits
// ("timeout") and clears the key.
type countProc struct {
	gapMs int64
	count *stateful.ValueState[int64]
	sum   *stateful.ValueState[int64]
	last  *stateful.ValueState[int64]
}

func (p *countProc) Init(_ context.Context, h *stateful.Handle) error {
	p.count = stateful.Value[int64](h, "count")
	p.sum = stateful.Value[int64](h, "sum")
	p.last = stateful.Value[int64](h, "timer")
	return nil
}

func (p *countProc) HandleInputRows(_ context.Context, key stateful.Key, rows stateful.Rows, h *stateful.Handle, out *stateful.Output) error {
	n, _ := p.count.Get(h)
	s, _ := p.sum.Get(h)
	maxTs := int64(0)
	for i := range rows.Len() {
		n++
		s += rows.Int64("v", i)
		if !rows.IsNull("ts", i) {
			maxTs = max(maxTs, rows.Time("ts", i).UnixMilli())
		}
	}
	p.count.Update(h, n)
	p.sum.Update(h, s)
	if p.gapMs > 0 {
		at := h.CurrentProcessingTimeMs() + p.gapMs
		if h.TimeMode() == stateful.EventTime {
			at = maxTs + p.gapMs
		}
		if prev, ok := p.last.Get(h); ok && prev != at {
			if at < prev {
				at = prev
			}
			h.DeleteTimer(prev)
		}
		h.RegisterTimer(at)
		p.last.Update(h, at)
	}
	return out.Append(key.Value(0), "rows", n, s)
}

func (p *countProc) HandleExpiredTimer(_ context.Context, key stateful.Key, t stateful.ExpiredTimer, h *stateful.Handle, out *stateful.Output) error {
	n, _ := p.count.Get(h)
	s, _ := p.sum.Get(h)
	p.count.Clear(h)
	p.sum.Clear(h)
	p.last.Clear(h)
	if timers := h.ListTimers(); len(timers) != 0 {
		return fmt.Errorf("key %v has timers %v left when its timer at %d fired", key, timers, t.ExpiryMs)
	}
	return out.Append(key.Value(0), "timeout", n, s)
}

// twsPlan builds scan -> [watermark on ts] -> GroupBy(key).TransformWithState.
func twsPlan(t *testing.T, p stateful.Processor, mode stateful.TimeMode, delay time.Duration) plan.Node {
	t.Helper()
	var n plan.Node = plan.NewScan(0, "events", twsSchema)
	if delay >= 0 {
		w, err := plan.NewWatermark(n, "ts", delay, 0)
		if err != nil {
			t.Fatal(err)
		}
		n = w
	}
	tws, err := plan.NewTransformWithState(n, []expr.Expr{expr.Col("key")}, p, twsOut, string(mode), nil)
	if err != nil {
		t.Fatal(err)
	}
	return tws
}

// twsRun drives a transformWithState pipeline batch by batch over a
// checkpoint.
type twsRun struct{ *statePipe }

func newTWSRun(t *testing.T, root plan.Node, ckpt objstore.Store, mem memory.Allocator, parts int, opts ...incremental.BuildOption) *twsRun {
	t.Helper()
	r := &twsRun{openStatePipe(t, root, ckpt, mem, parts, opts...)}
	t.Cleanup(r.close)
	return r
}

// batch runs a batch over one record per element of recs (rows of
// twsSchema, ts in ms) and returns the rows emitted, sorted, or the
// error.
func (r *twsRun) batch(id, wmMs, nowMs int64, recs ...[][]any) ([][]any, error) {
	r.t.Helper()
	ctx := context.Background()
	info := r.info(id, wmMs)
	info.TimestampMs = nowMs
	if err := r.pipe.BeginBatch(ctx, info); err != nil {
		return nil, err
	}
	for _, rows := range recs {
		cells := make([][]any, len(rows))
		for i, row := range rows {
			cells[i] = slices.Clone(row)
			if ms, ok := row[0].(int64); ok {
				cells[i][0] = time.UnixMilli(ms).UTC()
			}
		}
		rec, err := arrowrows.Build(r.mem, twsSchema, cells)
		if err != nil {
			r.t.Fatal(err)
		}
		outs, err := r.pipe.Process(ctx, 0, rec)
		rec.Release()
		if err != nil {
			return nil, err
		}
		if len(outs) != 0 {
			releaseRecs(outs)
			r.t.Fatalf("batch %d: transformWithState returned rows from Process", id)
		}
	}
	end, _, err := r.pipe.EndBatch(ctx, info)
	if err != nil {
		return nil, err
	}
	defer releaseRecs(end)
	got := arrowrows.RowsOf(end)
	arrowrows.SortRows(got)
	return got, nil
}

func (r *twsRun) mustBatch(id, wmMs, nowMs int64, recs ...[][]any) [][]any {
	r.t.Helper()
	got, err := r.batch(id, wmMs, nowMs, recs...)
	if err != nil {
		r.t.Fatalf("batch %d: %v", id, err)
	}
	return got
}

// TestTransformRunningCount runs random batches of random keys (some
// null) through a running count, with a restart that asks for another
// number of partitions, against a reference.
func TestTransformRunningCount(t *testing.T) {
	mem := memory.NewCheckedAllocator(bufpool.NewPoison())
	defer mem.AssertSize(t, 0)
	seed := rand.Uint64()
	rng := rand.New(rand.NewPCG(seed, 1))
	t.Logf("seed %d", seed)
	ckpt := objstore.NewMemory()
	p := &countProc{}
	root := twsPlan(t, p, stateful.ProcessingTime, -1)
	r := newTWSRun(t, root, ckpt, mem, 3)
	if !strings.Contains(r.pipe.Explain(), "TransformWithStateExec TransformWithState [key], *incremental_test.countProc, ProcessingTime") {
		t.Errorf("explain:\n%s", r.pipe.Explain())
	}
	type acc struct{ n, s int64 }
	ref := map[any]*acc{}
	for b := int64(0); b < 12; b++ {
		if b == 6 {
			r.close()
			r = newTWSRun(t, twsPlan(t, &countProc{}, stateful.ProcessingTime, -1), ckpt, mem, 3)
		}
		var recs [][][]any
		touched := map[any]bool{}
		for range 1 + rng.IntN(3) {
			var rows [][]any
			for range rng.IntN(40) {
				var k any = "k" + strconv.Itoa(rng.IntN(30))
				if rng.IntN(10) == 0 {
					k = nil
				}
				v := rng.Int64N(100)
				rows = append(rows, []any{nil, k, v})
				a := ref[k]
				if a == nil {
					a = &acc{}
					ref[k] = a
				}
				a.n++
				a.s += v
				touched[k] = true
			}
			recs = append(recs, rows)
		}
		var want [][]any
		for k := range touched {
			want = append(want, []any{k, "rows", ref[k].n, ref[k].s})
		}
		arrowrows.SortRows(want)
		got := r.mustBatch(b, 0, 1000*b, recs...)
		if (len(got) > 0 || len(want) > 0) && !reflect.DeepEqual(got, want) {
			t.Fatalf("batch %d: got %v\nwant %v", b, got, want)
		}
		ops := r.pipe.StateOperators()
		if len(ops) != 1 || ops[0].OperatorName != "transform-0" || ops[0].NumStatePartitions != 3 || ops[0].NumRowsTotal != int64(2*len(ref)) {
			t.Fatalf("batch %d: state operators %+v, want transform-0 with 3 partitions and %d rows", b, ops, 2*len(ref))
		}
	}
}

// Event-time timers fire in the batch whose watermark reaches them; rows
// at or behind the watermark are late; NeedsNoDataBatch says when a
// timer is due.
func TestTransformEventTimeTimers(t *testing.T) {
	mem := memory.NewCheckedAllocator(bufpool.NewPoison())
	defer mem.AssertSize(t, 0)
	root := twsPlan(t, &countProc{gapMs: 10_000}, stateful.EventTime, 5*time.Second)
	r := newTWSRun(t, root, objstore.NewMemory(), mem, 2, incremental.WithLateRows())
	if !r.pipe.NeedsNoDataBatch(0) {
		t.Error("before the first batch, NeedsNoDataBatch should say a timer may be due")
	}
	got := r.mustBatch(0, 0, 0, [][]any{{int64(1_000), "a", int64(1)}, {int64(3_000), "a", int64(2)}, {int64(2_000), "b", int64(5)}})
	if want := [][]any{{"a", "rows", int64(2), int64(3)}, {"b", "rows", int64(1), int64(5)}}; !reflect.DeepEqual(got, want) {
		t.Fatalf("batch 0: %v", got)
	}
	// Timers: a at 13 000, b at 12 000.
	for _, c := range []struct {
		wm   int64
		want bool
	}{{11_999, false}, {12_000, true}, {20_000, true}} {
		if got := r.pipe.NeedsNoDataBatch(c.wm); got != c.want {
			t.Errorf("NeedsNoDataBatch(%d) = %v, want %v", c.wm, got, c.want)
		}
	}
	if r.pipe.ProcessingTimerDue(1 << 50) {
		t.Error("an event-time query reported a processing-time timer due")
	}
	// Watermark 12 000: b times out; a's row at 12 000 is late, its row
	// at 14 000 moves its timer to 24 000.
	got = r.mustBatch(1, 12_000, 0, [][]any{{int64(12_000), "a", int64(10)}, {int64(14_000), "a", int64(4)}})
	if want := [][]any{{"a", "rows", int64(3), int64(7)}, {"b", "timeout", int64(1), int64(5)}}; !reflect.DeepEqual(got, want) {
		t.Fatalf("batch 1: %v", got)
	}
	late := r.pipe.LateRows()
	if rows := arrowrows.RowsOf(late); len(rows) != 1 || rows[0][2] != int64(10) {
		t.Errorf("late rows %v, want the row of value 10", rows)
	}
	releaseRecs(late)
	if ops := r.pipe.StateOperators(); ops[0].NumRowsDroppedByWatermark != 1 {
		t.Errorf("rows dropped %d, want 1", ops[0].NumRowsDroppedByWatermark)
	}
	if r.pipe.NeedsNoDataBatch(23_999) || !r.pipe.NeedsNoDataBatch(24_000) {
		t.Error("NeedsNoDataBatch around a's timer at 24 000 is wrong")
	}
	got = r.mustBatch(2, 24_000, 0)
	if want := [][]any{{"a", "timeout", int64(3), int64(7)}}; !reflect.DeepEqual(got, want) {
		t.Fatalf("batch 2 (no data): %v", got)
	}
	if r.pipe.NeedsNoDataBatch(1 << 40) {
		t.Error("with no timers left, NeedsNoDataBatch is true")
	}
	if ops := r.pipe.StateOperators(); ops[0].NumRowsTotal != 0 {
		t.Errorf("state rows after every key timed out: %d", ops[0].NumRowsTotal)
	}
}

// Processing-time timers fire in the first batch at or after them, also
// after a restart, and ProcessingTimerDue tells the driver when.
func TestTransformProcessingTimeTimers(t *testing.T) {
	mem := memory.NewCheckedAllocator(bufpool.NewPoison())
	defer mem.AssertSize(t, 0)
	ckpt := objstore.NewMemory()
	root := twsPlan(t, &countProc{gapMs: 5_000}, stateful.ProcessingTime, -1)
	r := newTWSRun(t, root, ckpt, mem, 4)
	r.mustBatch(0, 0, 100_000, [][]any{{nil, "a", int64(1)}, {nil, "b", int64(2)}})
	r.mustBatch(1, 0, 102_000, [][]any{{nil, "b", int64(3)}})
	if r.pipe.ProcessingTimerDue(104_999) || !r.pipe.ProcessingTimerDue(105_000) {
		t.Error("ProcessingTimerDue around a's timer at 105 000 is wrong")
	}
	if r.pipe.NeedsNoDataBatch(1 << 40) {
		t.Error("a processing-time query asked for a no-data batch for the watermark")
	}
	// A restarted query does not know its timers until its first batch.
	r.close()
	r = newTWSRun(t, twsPlan(t, &countProc{gapMs: 5_000}, stateful.ProcessingTime, -1), ckpt, mem, 4)
	if !r.pipe.ProcessingTimerDue(0) {
		t.Error("a restarted query should run a batch to learn its timers")
	}
	got := r.mustBatch(2, 0, 106_000)
	if want := [][]any{{"a", "timeout", int64(1), int64(1)}}; !reflect.DeepEqual(got, want) {
		t.Fatalf("batch 2 at 106 000: %v", got)
	}
	if r.pipe.ProcessingTimerDue(106_999) || !r.pipe.ProcessingTimerDue(107_000) {
		t.Error("ProcessingTimerDue around b's timer at 107 000 is wrong")
	}
	got = r.mustBatch(3, 0, 200_000)
	if want := [][]any{{"b", "timeout", int64(2), int64(5)}}; !reflect.DeepEqual(got, want) {
		t.Fatalf("batch 3: %v", got)
	}
	if r.pipe.ProcessingTimerDue(1 << 50) {
		t.Error("no timers left, but one is due")
	}
}

// A batch whose state commit fails is re-run from the previous version
// with the same result as a run without the failure.
func TestTransformFailedCommitRerun(t *testing.T) {
	mem := memory.NewCheckedAllocator(bufpool.NewPoison())
	defer mem.AssertSize(t, 0)
	batches := [][][]any{
		{{int64(1_000), "a", int64(1)}, {int64(2_000), "b", int64(2)}, {int64(2_500), "c", int64(9)}},
		{{int64(9_000), "a", int64(3)}, {int64(30_000), "c", int64(4)}},
		{{int64(40_000), "b", int64(5)}},
		{{int64(50_000), "d", int64(6)}},
	}
	wms := []int64{0, 0, 25_000, 35_000}
	run := func(faulty bool) [][][]any {
		inner := objstore.NewMemory()
		store := objstore.NewFaulty(inner, 1)
		r := newTWSRun(t, twsPlan(t, &countProc{gapMs: 10_000}, stateful.EventTime, 5*time.Second), store, mem, 2)
		var out [][][]any
		for b, recs := range batches {
			if faulty && b >= 1 {
				store.FailOn(objstore.Rule{Op: objstore.OpPut, Prefix: "state/", Nth: 2})
				if _, err := r.batch(int64(b), wms[b], 0, recs); !errors.Is(err, objstore.ErrInjected) {
					t.Fatalf("batch %d with a failing state write: %v", b, err)
				}
				store.Reset()
			}
			out = append(out, r.mustBatch(int64(b), wms[b], 0, recs))
		}
		return out
	}
	want, got := run(false), run(true)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("with failed commits: %v\nwithout: %v", got, want)
	}
	if len(want[2]) == 0 || want[2][0][1] != "timeout" {
		t.Fatalf("batch 2 should time out a and b: %v", want[2])
	}
}

// Initial state is applied in batch 0, before the input, and not again.
type seedProc struct {
	countProc
}

func (p *seedProc) HandleInitialState(_ context.Context, key stateful.Key, rows stateful.Rows, h *stateful.Handle) error {
	var n, s int64
	for i := range rows.Len() {
		n += rows.Int64("n", i)
		s += rows.Int64("sum", i)
	}
	p.count.Update(h, n)
	p.sum.Update(h, s)
	return nil
}

func TestTransformInitialState(t *testing.T) {
	mem := memory.NewCheckedAllocator(bufpool.NewPoison())
	defer mem.AssertSize(t, 0)
	initSchema := arrow.NewSchema([]arrow.Field{
		{Name: "key", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "n", Type: arrow.PrimitiveTypes.Int64},
		{Name: "sum", Type: arrow.PrimitiveTypes.Int64},
	}, nil)
	initial := &plan.InitialTable{Schema: initSchema, Rows: [][]any{{"a", int64(10), int64(100)}, {"b", int64(1), int64(1)}, {"a", int64(5), int64(50)}, {nil, int64(2), int64(2)}}}
	node, err := plan.NewTransformWithState(plan.NewScan(0, "events", twsSchema), []expr.Expr{expr.Col("key")}, &seedProc{}, twsOut, plan.ProcessingTimeMode, initial)
	if err != nil {
		t.Fatal(err)
	}
	r := newTWSRun(t, node, objstore.NewMemory(), mem, 2)
	got := r.mustBatch(0, 0, 0, [][]any{{nil, "a", int64(1)}, {nil, nil, int64(1)}, {nil, "c", int64(1)}})
	want := [][]any{{nil, "rows", int64(3), int64(3)}, {"a", "rows", int64(16), int64(151)}, {"c", "rows", int64(1), int64(1)}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("batch 0: %v\nwant %v", got, want)
	}
	got = r.mustBatch(1, 0, 0, [][]any{{nil, "b", int64(1)}})
	if want := [][]any{{"b", "rows", int64(2), int64(2)}}; !reflect.DeepEqual(got, want) {
		t.Fatalf("batch 1: %v", got)
	}
	bad := &plan.InitialTable{Schema: arrow.NewSchema([]arrow.Field{{Name: "key", Type: arrow.PrimitiveTypes.Int64}}, nil)}
	if _, err := plan.NewTransformWithState(plan.NewScan(0, "events", twsSchema), []expr.Expr{expr.Col("key")}, &seedProc{}, twsOut, plan.ProcessingTimeMode, bad); err == nil ||
		!strings.Contains(err.Error(), "initial state column 1 (key) is int64, but grouping key 1 (key) is utf8") {
		t.Errorf("initial state of the wrong key type: %v", err)
	}
}

// A processor error fails the batch naming the key; the re-run succeeds
// once the processor does.
type failProc struct {
	countProc
	fail bool
}

func (p *failProc) HandleInputRows(ctx context.Context, key stateful.Key, rows stateful.Rows, h *stateful.Handle, out *stateful.Output) error {
	if p.fail && key.Value(0) == "x" {
		return errors.New("refusing x")
	}
	return p.countProc.HandleInputRows(ctx, key, rows, h, out)
}

func TestTransformProcessorError(t *testing.T) {
	mem := memory.NewCheckedAllocator(bufpool.NewPoison())
	defer mem.AssertSize(t, 0)
	p := &failProc{fail: true}
	r := newTWSRun(t, twsPlan(t, p, stateful.ProcessingTime, -1), objstore.NewMemory(), mem, 1)
	in := [][]any{{nil, "w", int64(1)}, {nil, "x", int64(2)}}
	if _, err := r.batch(0, 0, 0, in); err == nil || !strings.Contains(err.Error(), "HandleInputRows for key [x]: refusing x") {
		t.Fatalf("got %v", err)
	}
	p.fail = false
	got := r.mustBatch(0, 0, 0, in)
	if want := [][]any{{"w", "rows", int64(1), int64(1)}, {"x", "rows", int64(1), int64(2)}}; !reflect.DeepEqual(got, want) {
		t.Fatalf("re-run: %v", got)
	}
}

// The plan's rules: keys, time mode, output modes, watermark.
func TestTransformPlanChecks(t *testing.T) {
	scan := plan.NewScan(0, "events", twsSchema)
	p := &countProc{}
	for _, c := range []struct {
		name string
		keys []expr.Expr
		mode string
		out  *arrow.Schema
		want string
	}{
		{"no keys", nil, plan.EventTimeMode, twsOut, "no grouping keys"},
		{"window key", []expr.Expr{expr.Window(expr.Col("ts"), "10 seconds")}, plan.EventTimeMode, twsOut, "is a window"},
		{"unknown column", []expr.Expr{expr.Col("nope")}, plan.EventTimeMode, twsOut, "nope"},
		{"mode", []expr.Expr{expr.Col("key")}, "Wallclock", twsOut, "stateful.ProcessingTime or stateful.EventTime"},
		{"no output", []expr.Expr{expr.Col("key")}, plan.EventTimeMode, arrow.NewSchema(nil, nil), "output schema has no columns"},
	} {
		if _, err := plan.NewTransformWithState(scan, c.keys, p, c.out, c.mode, nil); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error containing %q", c.name, err, c.want)
		}
	}
	node, err := plan.NewTransformWithState(scan, []expr.Expr{expr.Col("key")}, p, twsOut, plan.EventTimeMode, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := plan.CheckStreaming(node, plan.Append); err == nil || !strings.Contains(err.Error(), "WithWatermark") {
		t.Errorf("event time without a watermark: %v", err)
	}
	wm := twsPlan(t, p, stateful.EventTime, time.Second)
	for mode, ok := range map[plan.OutputMode]bool{plan.Append: true, plan.Update: true, plan.Complete: false} {
		if err := plan.CheckStreaming(wm, mode); (err == nil) != ok {
			t.Errorf("mode %s: %v", mode, err)
		}
	}
	if !plan.IsStateful(wm) {
		t.Error("TransformWithState is not stateful")
	}
	if _, err := incremental.Build(wm, nil); err == nil || !strings.Contains(err.Error(), "needs a state store") {
		t.Errorf("Build without a state provider: %v", err)
	}
}
