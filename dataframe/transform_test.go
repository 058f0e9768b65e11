package dataframe_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sluicehq/sluice/dataframe"
	"github.com/sluicehq/sluice/internal/arrowrows"
	"github.com/sluicehq/sluice/objstore"
	memsink "github.com/sluicehq/sluice/sink/memory"
	memsrc "github.com/sluicehq/sluice/source/memory"
	"github.com/sluicehq/sluice/stateful"
	"github.com/sluicehq/sluice/trigger"
)

// twsOut is the output of the test processors: the key, what happened
// ("rows" or "timeout"), the key's row count and the sum of its non-null
// values.
var twsOut = arrow.NewSchema([]arrow.Field{
	{Name: "key", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "kind", Type: arrow.BinaryTypes.String},
	{Name: "n", Type: arrow.PrimitiveTypes.Int64},
	{Name: "sum", Type: arrow.PrimitiveTypes.Int64},
}, nil)

// inactivity is the processor of the tests: a per-key count and sum
// (a struct in one ValueState), the values seen (ListState) and their
// multiplicities (MapState); a timer gapMs after the key's latest event
// time (event time) or latest batch (processing time) replaces the
// previous one. After each key's rows it emits "rows"; its timer emits
// "timeout", after checking the list and map against the count, and
// clears the key.
type inactivity struct {
	gapMs  int64
	acc    *stateful.ValueState[twsAcc]
	values *stateful.ListState[int64]
	counts *stateful.MapState[int64, int32]
	seeded bool
}

type twsAcc struct {
	N, Sum int64
	Timer  *int64
}

func (p *inactivity) Init(_ context.Context, h *stateful.Handle) error {
	p.acc = stateful.Value[twsAcc](h, "acc")
	p.values = stateful.List[int64](h, "values")
	p.counts = stateful.Map[int64, int32](h, "counts")
	return nil
}

func (p *inactivity) HandleInputRows(_ context.Context, key stateful.Key, rows stateful.Rows, h *stateful.Handle, out *stateful.Output) error {
	a, _ := p.acc.Get(h)
	maxMs := int64(0)
	for i := range rows.Len() {
		a.N++
		if !rows.IsNull("value", i) {
			v := rows.Int64("value", i)
			a.Sum += v
			p.values.Append(h, v)
			c, _ := p.counts.Get(h, v)
			p.counts.Put(h, v, c+1)
		}
		maxMs = max(maxMs, rows.Time("ts", i).UnixMilli())
	}
	at := h.CurrentProcessingTimeMs() + p.gapMs
	if h.TimeMode() == stateful.EventTime {
		at = maxMs + p.gapMs
	}
	if a.Timer != nil && *a.Timer != at {
		at = max(at, *a.Timer)
		h.DeleteTimer(*a.Timer)
	}
	h.RegisterTimer(at)
	a.Timer = &at
	p.acc.Update(h, a)
	return out.Append(key.Value(0), "rows", a.N, a.Sum)
}

func (p *inactivity) HandleExpiredTimer(_ context.Context, key stateful.Key, t stateful.ExpiredTimer, h *stateful.Handle, out *stateful.Output) error {
	a, ok := p.acc.Get(h)
	if !ok || a.Timer == nil || *a.Timer != t.ExpiryMs {
		return fmt.Errorf("key %v: timer %d fired, state %+v %v", key, t.ExpiryMs, a, ok)
	}
	vals := p.values.Get(h)
	var sum, n int64
	for _, v := range vals {
		sum += v
	}
	p.counts.Iterate(h, func(v int64, c int32) bool { n += int64(c); return true })
	if sum != a.Sum || n != int64(len(vals)) {
		return fmt.Errorf("key %v: list %v (sum %d) and map (%d values) disagree with the sum %d", key, vals, sum, n, a.Sum)
	}
	p.acc.Clear(h)
	p.values.Clear(h)
	p.counts.Clear(h)
	return out.Append(key.Value(0), "timeout", a.N, a.Sum)
}

// seeded is inactivity with initial state: rows (key, n, sum).
type seeded struct{ inactivity }

func (p *seeded) HandleInitialState(_ context.Context, key stateful.Key, rows stateful.Rows, h *stateful.Handle) error {
	a, _ := p.acc.Get(h)
	for i := range rows.Len() {
		a.N += rows.Int64("n", i)
		a.Sum += rows.Int64("sum", i)
	}
	p.acc.Update(h, a)
	return nil
}

// twsRow is an output row: key number (0 null), kind, n, sum.
type twsRow struct {
	key     int64
	kind    string
	n, sum  int64
	batchID int64
}

func twsParse(t *testing.T, id int64, rows [][]any) []twsRow {
	t.Helper()
	var out []twsRow
	for _, r := range rows {
		k, err := etKey(r[0])
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, twsRow{key: k, kind: r[1].(string), n: r[2].(int64), sum: r[3].(int64), batchID: id})
	}
	slices.SortFunc(out, func(a, b twsRow) int {
		if c := strings.Compare(a.kind, b.kind); c != 0 {
			return c
		}
		return int(a.key - b.key)
	})
	return out
}

// twsReference runs the batches through the processor's rules: rows at
// or behind the watermark are late; a key's timer is its greatest event
// time plus the gap; timers at or behind the batch's watermark fire after
// the batch's rows.
func twsReference(rows []etRow, batches []etBatch, gapMs int64) (map[int64][]twsRow, map[int64]int64) {
	type acc struct{ n, sum, timer int64 }
	keys := map[int64]*acc{}
	out := map[int64][]twsRow{}
	dropped := map[int64]int64{}
	for _, b := range batches {
		wmUs := b.wmMs * 1000
		batchMax := map[int64]int64{}
		for _, i := range b.rows {
			r := rows[i]
			if r.ts <= wmUs {
				dropped[b.id]++
				continue
			}
			a := keys[r.key]
			if a == nil {
				a = &acc{}
				keys[r.key] = a
			}
			a.n++
			if !r.null {
				a.sum += r.value
			}
			batchMax[r.key] = max(batchMax[r.key], r.ts/1000)
		}
		var rs []twsRow
		for k, m := range batchMax {
			a := keys[k]
			a.timer = max(a.timer, m+gapMs)
			rs = append(rs, twsRow{key: k, kind: "rows", n: a.n, sum: a.sum, batchID: b.id})
		}
		for k, a := range keys {
			if a.timer <= b.wmMs {
				rs = append(rs, twsRow{key: k, kind: "timeout", n: a.n, sum: a.sum, batchID: b.id})
				delete(keys, k)
			}
		}
		slices.SortFunc(rs, func(a, b twsRow) int {
			if c := strings.Compare(a.kind, b.kind); c != 0 {
				return c
			}
			return int(a.key - b.key)
		})
		out[b.id] = rs
	}
	return out, dropped
}

// TestTransformWithStateInactivity: per-key inactivity timeouts in event
// time over random out-of-order input, random batch splits, injected
// checkpoint faults and restarts, batch by batch against a reference run
// over the logged batches and watermarks.
func TestTransformWithStateInactivity(t *testing.T) {
	if etIsolate(t) {
		return
	}
	for seed := uint64(1); seed <= 8; seed++ {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 0x7a5))
			delay, delayUs := "5 seconds", 5*etSec
			gapMs := int64(1000 * (3 + rng.IntN(5)))
			rows := etGenerate(rng, etGenConfig{
				n: 150 + rng.IntN(150), keys: 2 + rng.Int64N(8), step: 300_000 + rng.Int64N(500_000),
				jitter: 3 * etSec, ahead: etSec, veryLate: 0.05, lateBy: delayUs + etSec, nulls: 0.05, nullKeys: 0.03,
			})
			// Whole seconds: timers and watermarks often meet exactly.
			for i := range rows {
				rows[i].ts -= rows[i].ts % etSec
			}
			mode := "append"
			if seed%2 == 0 {
				mode = "update"
			}
			h := newETHarness(t, seed, etConfig{
				mode: mode, parts: 1 + rng.IntN(4), delayUs: delayUs, faults: 0.25, restarts: 0.1,
				build: func(df *dataframe.DataFrame) *dataframe.DataFrame {
					return df.WithWatermark("ts", delay).GroupBy(dataframe.Col("key")).
						TransformWithState(&inactivity{gapMs: gapMs}, twsOut, stateful.EventTime)
				},
			})
			h.feed(rows, 20)
			h.finish(delayUs + 2*gapMs*1000)
			batches := h.batches()
			h.checkWatermarks(batches)
			want, dropped := twsReference(h.rows, batches, gapMs)
			got := map[int64][]twsRow{}
			for _, b := range h.out.Batches() {
				got[b.ID] = twsParse(t, b.ID, b.Rows)
			}
			timeouts := 0
			for _, b := range batches {
				if !reflect.DeepEqual(got[b.id], want[b.id]) {
					t.Errorf("batch %d (watermark %d ms, %d rows): got %v\nwant %v", b.id, b.wmMs, len(b.rows), got[b.id], want[b.id])
				}
				for _, r := range want[b.id] {
					if r.kind == "timeout" {
						timeouts++
					}
				}
			}
			if timeouts == 0 {
				t.Error("no key ever timed out: the test checks nothing about timers")
			}
			h.checkProgress(batches, dropped)
			t.Logf("%d batches, %d crashes, %d restarts, %d timeouts", len(batches), h.crashes, h.restarts, timeouts)
		})
	}
}

// TestTransformWithStateProcessingTimers: processing-time timers fire in
// batches the driver runs without new data once they are due, and none
// runs while nothing is due.
func TestTransformWithStateProcessingTimers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		f := newETFixture(t, false)
		src, out, add := f.src, f.out, f.add
		s := etSec
		add(etRow{ts: 1000 * s, key: 1, value: 1}, etRow{ts: 1000 * s, key: 2, value: 2})
		q, err := dataframe.ReadStream(src).GroupBy(dataframe.Col("key")).
			TransformWithState(&inactivity{gapMs: 3000}, twsOut, stateful.ProcessingTime).
			WriteStream(out).OutputMode("update").CheckpointStore(objstore.NewMemory()).Allocator(f.mem).
			Engine(quietEngine()).
			Trigger(trigger.ProcessingTime(time.Second)).Start(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer q.Stop(ctx)
		kinds := func() []string {
			t.Helper()
			synctest.Wait()
			var got []string
			for _, r := range out.Rows() {
				got = append(got, fmt.Sprintf("%v:%v:%v", r[0], r[1], r[2]))
			}
			slices.Sort(got)
			return got
		}
		// Timers at 3 s; at 1.5 s key 2 gets a row, moving its timer to
		// 5 s (the row's batch runs at 2 s).
		time.Sleep(1500 * time.Millisecond)
		add(etRow{ts: 1001 * s, key: 2, value: 5})
		time.Sleep(1000 * time.Millisecond)
		if got, want := kinds(), []string{"k001:rows:1", "k002:rows:1", "k002:rows:2"}; !reflect.DeepEqual(got, want) {
			t.Fatalf("at 2.5 s: %v, want %v", got, want)
		}
		time.Sleep(1000 * time.Millisecond)
		if got, want := kinds(), []string{"k001:rows:1", "k001:timeout:1", "k002:rows:1", "k002:rows:2"}; !reflect.DeepEqual(got, want) {
			t.Fatalf("at 3.5 s: %v, want %v", got, want)
		}
		if p := q.LastProgress(); p == nil || p.NumInputRows != 0 {
			t.Errorf("the timer's batch should have no input: %+v", p)
		}
		time.Sleep(2000 * time.Millisecond)
		if got, want := kinds(), []string{"k001:rows:1", "k001:timeout:1", "k002:rows:1", "k002:rows:2", "k002:timeout:2"}; !reflect.DeepEqual(got, want) {
			t.Fatalf("at 5.5 s: %v, want %v", got, want)
		}
		last := q.LastBatchID()
		time.Sleep(10 * time.Second)
		synctest.Wait()
		if q.LastBatchID() != last {
			t.Errorf("with no timer due, batches %d to %d ran", last+1, q.LastBatchID())
		}
		if err := q.Stop(ctx); err != nil {
			t.Fatal(err)
		}
	})
}

// TestTransformWithStateInitialState: initial state is applied in the
// first batch, once; a restart from the checkpoint does not apply it
// again.
func TestTransformWithStateInitialState(t *testing.T) {
	ctx := context.Background()
	f := newETFixture(t, false)
	mem, src, out := f.mem, f.src, f.out
	ckpt := objstore.NewMemory()
	initSchema := arrow.NewSchema([]arrow.Field{
		{Name: "key", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "n", Type: arrow.PrimitiveTypes.Int64},
		{Name: "sum", Type: arrow.PrimitiveTypes.Int64},
	}, nil)
	initRec, err := arrowrows.Build(mem, initSchema, [][]any{{"k001", int64(10), int64(100)}, {"k001", int64(1), int64(1)}, {"k003", int64(7), int64(7)}})
	if err != nil {
		t.Fatal(err)
	}
	opt := dataframe.WithInitialStateRecord(initRec)
	initRec.Release()
	run := func(rows ...etRow) {
		t.Helper()
		f.add(rows...)
		q, err := dataframe.ReadStream(etKeepSource{src}).GroupBy(dataframe.Col("key")).
			TransformWithState(&seeded{inactivity{gapMs: 1 << 40}}, twsOut, stateful.ProcessingTime, opt).
			WriteStream(out).CheckpointStore(ckpt).Allocator(mem).
			Engine(quietEngine()).Start(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := q.ProcessAllAvailable(ctx); err != nil {
			t.Fatal(err)
		}
		if err := q.Stop(ctx); err != nil {
			t.Fatal(err)
		}
	}
	run(etRow{ts: 1, key: 1, value: 5}, etRow{ts: 1, key: 2, value: 5})
	run(etRow{ts: 1, key: 3, value: 1})
	var got []string
	for _, r := range out.Rows() {
		got = append(got, fmt.Sprintf("%v:%v:%v", r[0], r[2], r[3]))
	}
	slices.Sort(got)
	if want := []string{"k001:12:106", "k002:1:5", "k003:8:8"}; !reflect.DeepEqual(got, want) {
		t.Errorf("rows %v, want %v", got, want)
	}
}

// TestTransformWithStateRefusedAtStart: what cannot work fails at Start
// with a message saying what to do.
func TestTransformWithStateRefusedAtStart(t *testing.T) {
	src := memsrc.New(etSchema(false))
	defer src.Close()
	base := dataframe.ReadStream(src)
	key := dataframe.Col("key")
	initSchema := arrow.NewSchema([]arrow.Field{{Name: "key", Type: arrow.PrimitiveTypes.Int64}}, nil)
	cases := []struct {
		name, mode string
		df         *dataframe.DataFrame
		want       string
	}{
		{"complete", "complete", base.WithWatermark("ts", "1 second").GroupBy(key).TransformWithState(&inactivity{}, twsOut, stateful.EventTime), "not complete"},
		{"no watermark", "append", base.GroupBy(key).TransformWithState(&inactivity{}, twsOut, stateful.EventTime), "EventTime mode needs a watermark on its input: call WithWatermark"},
		{"nil processor", "append", base.GroupBy(key).TransformWithState(nil, twsOut, stateful.ProcessingTime), "processor is nil"},
		{"time mode", "append", base.GroupBy(key).TransformWithState(&inactivity{}, twsOut, "Wallclock"), "use stateful.ProcessingTime or stateful.EventTime"},
		{"no handler", "append", base.GroupBy(key).TransformWithState(&inactivity{}, twsOut, stateful.ProcessingTime,
			dataframe.WithInitialState(initSchema, nil)), "implement stateful.InitialStateHandler"},
		{"initial key type", "append", base.GroupBy(key).TransformWithState(&seeded{}, twsOut, stateful.ProcessingTime,
			dataframe.WithInitialState(initSchema, nil)), "initial state column 1 (key) is int64, but grouping key 1 (key) is utf8"},
		{"no keys", "append", base.GroupBy().TransformWithState(&inactivity{}, twsOut, stateful.ProcessingTime), "no grouping keys"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ckpt := objstore.NewMemory()
			q, err := c.df.WriteStream(memsink.New()).OutputMode(c.mode).CheckpointStore(ckpt).Start(context.Background())
			if err == nil {
				q.Stop(context.Background())
				t.Fatalf("Start succeeded, want an error containing %q", c.want)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want an error containing %q", err, c.want)
			}
			if names, _ := ckpt.List(context.Background(), ""); len(names) != 0 {
				t.Errorf("a refused query wrote %v to its checkpoint", names)
			}
		})
	}
}
