package stateful_test

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/bufpool"
	"github.com/sluicehq/sluice/internal/arrowrows"
	"github.com/sluicehq/sluice/stateful"
)

// memKV is a state partition in a map; it copies keys and values as a
// state store does.
type memKV map[string][]byte

func (m memKV) Get(k []byte) ([]byte, bool) { v, ok := m[string(k)]; return v, ok }
func (m memKV) Put(k, v []byte)             { m[string(k)] = bytes.Clone(v) }
func (m memKV) Delete(k []byte)             { delete(m, string(k)) }
func (m memKV) Iterate(fn func(k, v []byte) bool) {
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if !fn([]byte(k), m[k]) {
			return
		}
	}
}

// funcProc is a processor made of functions; nil ones do nothing.
type funcProc struct {
	init  func(h *stateful.Handle) error
	rows  func(key stateful.Key, rows stateful.Rows, h *stateful.Handle, out *stateful.Output) error
	timer func(key stateful.Key, t stateful.ExpiredTimer, h *stateful.Handle, out *stateful.Output) error
}

func (p *funcProc) Init(_ context.Context, h *stateful.Handle) error {
	if p.init == nil {
		return nil
	}
	return p.init(h)
}

func (p *funcProc) HandleInputRows(_ context.Context, key stateful.Key, rows stateful.Rows, h *stateful.Handle, out *stateful.Output) error {
	if p.rows == nil {
		return nil
	}
	return p.rows(key, rows, h, out)
}

func (p *funcProc) HandleExpiredTimer(_ context.Context, key stateful.Key, t stateful.ExpiredTimer, h *stateful.Handle, out *stateful.Output) error {
	if p.timer == nil {
		return nil
	}
	return p.timer(key, t, h, out)
}

var (
	inSchema  = arrow.NewSchema([]arrow.Field{{Name: "k", Type: arrow.BinaryTypes.String}, {Name: "v", Type: arrow.PrimitiveTypes.Int64, Nullable: true}}, nil)
	outSchema = arrow.NewSchema([]arrow.Field{{Name: "k", Type: arrow.BinaryTypes.String}, {Name: "n", Type: arrow.PrimitiveTypes.Int64, Nullable: true}}, nil)
)

// env runs a processor over one partition of a memKV.
type env struct {
	t       *testing.T
	mem     *memory.CheckedAllocator
	kv      memKV
	r       *stateful.Runner
	p       *stateful.Partition
	version int64
	out     *array.RecordBuilder
	o       *stateful.Output
}

func newEnv(t *testing.T, proc stateful.Processor, mode stateful.TimeMode) *env {
	t.Helper()
	r, err := stateful.NewRunner(context.Background(), proc, stateful.Config{Mode: mode})
	if err != nil {
		t.Fatal(err)
	}
	r.SetPartitions(1)
	mem := memory.NewCheckedAllocator(bufpool.NewPoison())
	e := &env{t: t, mem: mem, kv: memKV{}, r: r, p: r.Partition(0), version: -1}
	t.Cleanup(func() { mem.AssertSize(t, 0) })
	return e
}

// begin starts a batch at processing time now and watermark wm.
func (e *env) begin(now, wm int64) {
	e.t.Helper()
	if err := e.p.Begin(e.kv, e.version, now, wm); err != nil {
		e.t.Fatal(err)
	}
	e.out = array.NewRecordBuilder(e.mem, outSchema)
	e.o = stateful.NewOutput(e.out)
}

// key builds the Key of k (its arrays released at the test's end).
func (e *env) key(k string) stateful.Key {
	b := array.NewStringBuilder(e.mem)
	b.Append(k)
	arr := b.NewArray()
	b.Release()
	e.t.Cleanup(arr.Release)
	return stateful.NewKey([]byte(k), []arrow.Array{arr}, 0)
}

// rows handles rows (k, v) of one key.
func (e *env) rows(k string, vs ...int64) error {
	e.t.Helper()
	cells := make([][]any, len(vs))
	pos := make([]int32, len(vs))
	zero := make([]int32, len(vs))
	for i, v := range vs {
		cells[i] = []any{k, v}
		pos[i] = int32(i)
	}
	rec, err := arrowrows.Build(e.mem, inSchema, cells)
	if err != nil {
		e.t.Fatal(err)
	}
	defer rec.Release()
	return e.p.HandleInputRows(context.Background(), e.key(k), stateful.NewRows(inSchema, []arrow.RecordBatch{rec}, zero, pos, pos), e.o)
}

// fire fires the due timers and returns them as "key@ms".
func (e *env) fire() []string {
	e.t.Helper()
	var got []string
	for _, d := range e.p.DueTimers() {
		got = append(got, fmt.Sprintf("%s@%d", d.Key, d.Ms))
		if err := e.p.FireTimer(context.Background(), e.key(d.Key), d.Ms, e.o); err != nil {
			e.t.Fatal(err)
		}
	}
	return got
}

// commit ends the batch and returns the rows emitted.
func (e *env) commit() [][]any {
	e.t.Helper()
	if err := e.p.ExpireState(); err != nil {
		e.t.Fatal(err)
	}
	if err := e.p.End(); err != nil {
		e.t.Fatal(err)
	}
	e.version++
	e.p.Committed(e.version)
	rec := e.out.NewRecordBatch()
	defer rec.Release()
	e.out.Release()
	return arrowrows.Rows(rec)
}

type profile struct {
	Name   string
	Tags   []string
	Seen   time.Time
	Score  *float64
	Attrs  map[string]int32
	Small  int8
	U      uint16
	F      float32
	On     bool
	Raw    []byte
	Nested struct{ A, B int }
	Skip   int `sluice:"-"`
	hidden int
}

// Values of every supported kind survive the store: value, list and map
// state, across batches.
func TestValueListMapRoundTrip(t *testing.T) {
	var (
		prof  *stateful.ValueState[profile]
		count *stateful.ValueState[int64]
		list  *stateful.ListState[int64]
		names *stateful.MapState[string, []byte]
		score = 2.5
		want  = profile{
			Name: "ada", Tags: []string{"a", "", "c"}, Seen: time.UnixMicro(1_700_000_000_123_456).UTC(), Score: &score,
			Attrs: map[string]int32{"x": -1, "y": 7}, Small: -3, U: 65535, F: 1.5, On: true, Raw: []byte{0, 1, 2},
			Nested: struct{ A, B int }{4, -5},
		}
		checks []string
	)
	proc := &funcProc{
		init: func(h *stateful.Handle) error {
			prof = stateful.Value[profile](h, "profile")
			count = stateful.Value[int64](h, "count")
			list = stateful.List[int64](h, "list")
			names = stateful.Map[string, []byte](h, "names")
			return nil
		},
		rows: func(key stateful.Key, rows stateful.Rows, h *stateful.Handle, out *stateful.Output) error {
			n, _ := count.Get(h)
			n += int64(rows.Len())
			count.Update(h, n)
			for i := range rows.Len() {
				list.Append(h, rows.Int64("v", i))
				names.Put(h, fmt.Sprint(rows.Int64("v", i)), []byte(key.Value(0).(string)))
			}
			if key.Value(0) == "a" {
				if got, ok := prof.Get(h); ok {
					if !reflect.DeepEqual(got, want) {
						checks = append(checks, fmt.Sprintf("profile %+v, want %+v", got, want))
					}
				} else {
					w := want
					w.Skip, w.hidden = 9, 9
					prof.Update(h, w)
				}
			}
			return out.Append(key.Value(0), n)
		},
	}
	e := newEnv(t, proc, stateful.ProcessingTime)
	e.begin(1000, 0)
	if err := e.rows("a", 1, 2); err != nil {
		t.Fatal(err)
	}
	if err := e.rows("b", 3); err != nil {
		t.Fatal(err)
	}
	if got := e.commit(); !reflect.DeepEqual(got, [][]any{{"a", int64(2)}, {"b", int64(1)}}) {
		t.Fatalf("batch 0 emitted %v", got)
	}
	e.begin(2000, 0)
	if err := e.rows("a", 4); err != nil {
		t.Fatal(err)
	}
	var gotList []int64
	var gotKeys []string
	var gotMap map[string]string
	proc.rows = func(key stateful.Key, rows stateful.Rows, h *stateful.Handle, out *stateful.Output) error {
		gotList = list.Get(h)
		gotKeys = names.Keys(h)
		gotMap = map[string]string{}
		names.Iterate(h, func(k string, v []byte) bool { gotMap[k] = string(v); return true })
		if v, ok := names.Get(h, "3"); ok || v != nil {
			checks = append(checks, fmt.Sprintf("key a's map has 3 -> %q", v))
		}
		return nil
	}
	if err := e.rows("a"); err != nil {
		t.Fatal(err)
	}
	e.commit()
	if len(checks) > 0 {
		t.Fatal(strings.Join(checks, "\n"))
	}
	if !reflect.DeepEqual(gotList, []int64{1, 2, 4}) {
		t.Errorf("list of a: %v, want [1 2 4]", gotList)
	}
	if !reflect.DeepEqual(gotKeys, []string{"1", "2", "4"}) || !reflect.DeepEqual(gotMap, map[string]string{"1": "a", "2": "a", "4": "a"}) {
		t.Errorf("map of a: keys %v, entries %v", gotKeys, gotMap)
	}
	// Another runner (a restarted query) reads the same state; the
	// profile was stored without its skipped fields.
	proc.rows = func(key stateful.Key, rows stateful.Rows, h *stateful.Handle, out *stateful.Output) error {
		got, ok := prof.Get(h)
		if !ok || !reflect.DeepEqual(got, want) {
			checks = append(checks, fmt.Sprintf("after a restart: profile %+v %v, want %+v", got, ok, want))
		}
		list.Clear(h)
		names.Remove(h, "1")
		count.Clear(h)
		return nil
	}
	e2 := newEnv(t, proc, stateful.ProcessingTime)
	e2.kv, e2.version = e.kv, e.version
	e2.begin(3000, 0)
	if err := e2.rows("a"); err != nil {
		t.Fatal(err)
	}
	e2.commit()
	if len(checks) > 0 {
		t.Fatal(strings.Join(checks, "\n"))
	}
	var keys []string
	for k := range e2.kv {
		keys = append(keys, fmt.Sprintf("%q", k))
	}
	slices.Sort(keys)
	if len(e2.kv) != 5 { // a: profile, names; b: count, list, names
		t.Errorf("after clearing a's list and count, the store has %d keys %v, want 5", len(e2.kv), keys)
	}
	if _, ok := e2.kv["\x01alist"]; ok {
		t.Errorf("a's cleared list is still stored: %v", keys)
	}
}

// Equal values encode to equal bytes: a map's entries are sorted.
func TestEncodingDeterministic(t *testing.T) {
	var st *stateful.ValueState[map[string]int64]
	var vals []map[string]int64
	proc := &funcProc{
		init: func(h *stateful.Handle) error { st = stateful.Value[map[string]int64](h, "m"); return nil },
		rows: func(key stateful.Key, rows stateful.Rows, h *stateful.Handle, out *stateful.Output) error {
			st.Update(h, vals[rows.Int64("v", 0)])
			return nil
		},
	}
	e := newEnv(t, proc, stateful.ProcessingTime)
	vals = append(vals, map[string]int64{})
	for i := range 50 {
		vals[0][fmt.Sprint(i)] = int64(i)
	}
	vals = append(vals, maps.Clone(vals[0]))
	e.begin(0, 0)
	if err := e.rows("x", 0); err != nil {
		t.Fatal(err)
	}
	if err := e.rows("y", 1); err != nil {
		t.Fatal(err)
	}
	e.commit()
	if a, b := e.kv["\x01xvm"], e.kv["\x01yvm"]; !bytes.Equal(a, b) || len(a) == 0 {
		t.Errorf("one map encoded as %x and %x", a, b)
	}
}

// TTL: values, list elements and map entries expire TTL after their last
// update, read as absent from then on and are deleted from the store.
func TestTTL(t *testing.T) {
	var (
		v *stateful.ValueState[string]
		l *stateful.ListState[int64]
		m *stateful.MapState[int64, string]
	)
	type seen struct {
		v     string
		vok   bool
		l     []int64
		mKeys []int64
	}
	var got seen
	var write func(h *stateful.Handle)
	proc := &funcProc{
		init: func(h *stateful.Handle) error {
			v = stateful.Value[string](h, "v", stateful.WithTTL(10*time.Second))
			l = stateful.List[int64](h, "l", stateful.WithTTL(10*time.Second))
			m = stateful.Map[int64, string](h, "m", stateful.WithTTL(10*time.Second))
			return nil
		},
		rows: func(key stateful.Key, rows stateful.Rows, h *stateful.Handle, out *stateful.Output) error {
			got.v, got.vok = v.Get(h)
			got.l = l.Get(h)
			got.mKeys = m.Keys(h)
			if write != nil {
				write(h)
			}
			return nil
		},
	}
	e := newEnv(t, proc, stateful.ProcessingTime)
	batch := func(now int64, w func(h *stateful.Handle)) seen {
		t.Helper()
		write = w
		e.begin(now, 0)
		if err := e.rows("k"); err != nil {
			t.Fatal(err)
		}
		e.commit()
		return got
	}
	batch(1_000, func(h *stateful.Handle) {
		v.Update(h, "first")
		l.Append(h, 1, 2)
		m.Put(h, 1, "one")
	})
	batch(5_000, func(h *stateful.Handle) {
		l.Append(h, 3)
		m.Put(h, 2, "two")
	})
	if s := batch(10_999, nil); s.v != "first" || !reflect.DeepEqual(s.l, []int64{1, 2, 3}) || !reflect.DeepEqual(s.mKeys, []int64{1, 2}) {
		t.Errorf("just before the first expiry: %+v", s)
	}
	// At 11 000 the value and the entries of 1 000 expire.
	if s := batch(11_000, nil); s.vok || !reflect.DeepEqual(s.l, []int64{3}) || !reflect.DeepEqual(s.mKeys, []int64{2}) {
		t.Errorf("at the first expiry: %+v; want no value, list [3], map keys [2]", s)
	}
	if _, ok := e.kv["\x01kvv"]; ok {
		t.Error("the expired value is still stored after the batch")
	}
	// Updating the map entry pushes its expiry back.
	batch(12_000, func(h *stateful.Handle) { m.Put(h, 2, "two again") })
	if s := batch(20_000, nil); !reflect.DeepEqual(s.mKeys, []int64{2}) || len(s.l) != 0 {
		t.Errorf("at 20 000: %+v; want list empty, map keys [2]", s)
	}
	if _, ok := e.kv["\x01kll"]; ok {
		t.Error("the list whose elements all expired is still stored")
	}
	batch(22_000, nil)
	if len(e.kv) != 0 {
		t.Errorf("after every entry expired the store holds %d keys: %v", len(e.kv), slices.Collect(maps.Keys(e.kv)))
	}
	// A restarted query (new runner, rebuilt index) expires from the store too.
	batch(30_000, func(h *stateful.Handle) { v.Update(h, "again") })
	e2 := newEnv(t, proc, stateful.ProcessingTime)
	e2.kv, e2.version = e.kv, e.version
	e2.begin(40_000, 0)
	e2.commit()
	if len(e2.kv) != 0 {
		t.Errorf("a restarted query did not expire the value: %d keys", len(e2.kv))
	}
}

// Timers: registered, listed, deleted, fired in time order and only when
// due, deleted before their handler runs; a failed batch's changes to the
// index are forgotten.
func TestTimers(t *testing.T) {
	var listed []int64
	var fired []string
	proc := &funcProc{
		rows: func(key stateful.Key, rows stateful.Rows, h *stateful.Handle, out *stateful.Output) error {
			for i := range rows.Len() {
				v := rows.Int64("v", i)
				if v < 0 {
					h.DeleteTimer(-v)
				} else {
					h.RegisterTimer(v)
				}
			}
			listed = h.ListTimers()
			return nil
		},
		timer: func(key stateful.Key, t stateful.ExpiredTimer, h *stateful.Handle, out *stateful.Output) error {
			fired = append(fired, fmt.Sprintf("%s@%d:%v", key.Value(0), t.ExpiryMs, h.ListTimers()))
			if t.ExpiryMs == 150 {
				h.RegisterTimer(160) // due, but fires in the next batch
			}
			return out.Append(key.Value(0), t.ExpiryMs)
		},
	}
	e := newEnv(t, proc, stateful.EventTime)
	e.begin(0, 0)
	for _, c := range []struct {
		k  string
		vs []int64
	}{{"a", []int64{300, 100, 100, 200}}, {"b", []int64{100, 250}}, {"c", []int64{400, -400}}} {
		if err := e.rows(c.k, c.vs...); err != nil {
			t.Fatal(err)
		}
	}
	if !reflect.DeepEqual(listed, []int64(nil)) && len(listed) != 0 {
		t.Errorf("c's timers after register and delete: %v", listed)
	}
	if got := e.fire(); got != nil {
		t.Errorf("with the watermark at 0 timers fired: %v", got)
	}
	e.commit()
	if ms, ok := e.p.NextTimer(); !ok || ms != 100 {
		t.Errorf("next timer %d %v, want 100", ms, ok)
	}
	// A batch that fails after firing: the store is rolled back, the
	// index must be rebuilt.
	saved := maps.Clone(e.kv)
	e.begin(0, 250)
	if got := e.fire(); len(got) != 4 {
		t.Errorf("watermark 250: fired %v", got)
	}
	e.out.Release()
	e.p.Abort()
	e.kv = saved
	fired = nil
	e.begin(0, 250)
	if err := e.rows("b", 150); err != nil {
		t.Fatal(err)
	}
	got := e.fire()
	rows := e.commit()
	want := []string{"a@100", "b@100", "b@150", "a@200", "b@250"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("watermark 250 after a failed attempt: due %v, want %v", got, want)
	}
	if wantFired := []string{"a@100:[200 300]", "b@100:[150 250]", "b@150:[250]", "a@200:[300]", "b@250:[160]"}; !reflect.DeepEqual(fired, wantFired) {
		t.Errorf("handlers saw %v, want %v", fired, wantFired)
	}
	if len(rows) != 5 {
		t.Errorf("emitted %v, want 5 rows", rows)
	}
	fired = nil
	e.begin(0, 1000)
	if got := e.fire(); !reflect.DeepEqual(got, []string{"b@160", "a@300"}) {
		t.Errorf("watermark 1000: %v, want [b@160 a@300]", got)
	}
	e.commit()
	if _, ok := e.p.NextTimer(); ok || len(e.kv) != 0 {
		t.Errorf("after every timer fired: next timer %v, store %v", ok, e.kv)
	}
}

// Processing-time timers follow the batch's processing time.
func TestProcessingTimeTimers(t *testing.T) {
	proc := &funcProc{
		rows: func(key stateful.Key, rows stateful.Rows, h *stateful.Handle, out *stateful.Output) error {
			h.RegisterTimer(h.CurrentProcessingTimeMs() + 500)
			return nil
		},
		timer: func(key stateful.Key, t stateful.ExpiredTimer, h *stateful.Handle, out *stateful.Output) error {
			return out.Append(key.Value(0), h.CurrentProcessingTimeMs()-t.ExpiryMs)
		},
	}
	e := newEnv(t, proc, stateful.ProcessingTime)
	e.begin(1000, 99999)
	if err := e.rows("a", 0); err != nil {
		t.Fatal(err)
	}
	if got := e.fire(); got != nil {
		t.Errorf("fired at once: %v", got)
	}
	e.commit()
	e.begin(1499, 0)
	if got := e.fire(); got != nil {
		t.Errorf("fired before due: %v", got)
	}
	e.commit()
	e.begin(1700, 0)
	got := e.fire()
	rows := e.commit()
	if !reflect.DeepEqual(got, []string{"a@1500"}) || !reflect.DeepEqual(rows, [][]any{{"a", int64(200)}}) {
		t.Errorf("at 1700: fired %v, emitted %v", got, rows)
	}
}

// Misuse is refused with errors that say what to do.
func TestErrors(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name string
		init func(h *stateful.Handle) error
		want string
	}{
		{"duplicate", func(h *stateful.Handle) error {
			stateful.Value[int64](h, "x")
			stateful.List[int64](h, "x")
			return nil
		}, "already declared"},
		{"empty name", func(h *stateful.Handle) error { stateful.Value[int64](h, ""); return nil }, "name is empty"},
		{"unsupported type", func(h *stateful.Handle) error { stateful.Value[chan int](h, "c"); return nil }, "no state encoding"},
		{"unsupported field", func(h *stateful.Handle) error {
			stateful.Map[string, struct{ F func() }](h, "f")
			return nil
		}, ".F is of Go type func()"},
		{"short ttl", func(h *stateful.Handle) error {
			stateful.Value[int64](h, "t", stateful.WithTTL(time.Microsecond))
			return nil
		}, "at least a millisecond"},
		{"state in Init", func(h *stateful.Handle) error {
			s := stateful.Value[int64](h, "s")
			s.Update(h, 1)
			return nil
		}, "outside HandleInputRows"},
		{"timer in Init", func(h *stateful.Handle) error { h.RegisterTimer(5); return nil }, "outside HandleInputRows"},
		{"init error", func(h *stateful.Handle) error { return fmt.Errorf("boom") }, "Init: boom"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := stateful.NewRunner(ctx, &funcProc{init: c.init}, stateful.Config{Mode: stateful.ProcessingTime})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want an error containing %q", err, c.want)
			}
		})
	}
	if _, err := stateful.NewRunner(ctx, &funcProc{}, stateful.Config{Mode: "Wallclock"}); err == nil || !strings.Contains(err.Error(), "stateful.ProcessingTime") {
		t.Errorf("unknown mode: %v", err)
	}
	if _, err := stateful.NewRunner(ctx, &funcProc{}, stateful.Config{Mode: stateful.EventTime, InitialState: true}); err == nil || !strings.Contains(err.Error(), "InitialStateHandler") {
		t.Errorf("initial state without a handler: %v", err)
	}
	// In a key's call: a panic, a wrong column type, a value of another
	// type, a declaration outside Init.
	var st *stateful.ValueState[int64]
	var late *stateful.ValueState[int64]
	for _, c := range []struct {
		name string
		rows func(key stateful.Key, rows stateful.Rows, h *stateful.Handle, out *stateful.Output) error
		want string
	}{
		{"panic", func(stateful.Key, stateful.Rows, *stateful.Handle, *stateful.Output) error { panic("oops") }, "for key [k] panicked: oops"},
		{"column type", func(_ stateful.Key, rows stateful.Rows, _ *stateful.Handle, _ *stateful.Output) error {
			rows.Str("v", 0)
			return nil
		}, `column "v" is int64, not a string`},
		{"no column", func(_ stateful.Key, rows stateful.Rows, _ *stateful.Handle, _ *stateful.Output) error {
			rows.Int64("w", 0)
			return nil
		}, `no column "w"; the columns are k, v`},
		{"bad value", func(_ stateful.Key, _ stateful.Rows, h *stateful.Handle, _ *stateful.Output) error {
			st.Get(h)
			return nil
		}, `ValueState "s": decoding a int64`},
		{"declare late", func(_ stateful.Key, _ stateful.Rows, h *stateful.Handle, _ *stateful.Output) error {
			late = stateful.Value[int64](h, "late")
			return nil
		}, "called outside Init"},
		{"output", func(_ stateful.Key, _ stateful.Rows, _ *stateful.Handle, out *stateful.Output) error {
			return out.Append("k", "not a number")
		}, "column 1 (n): cannot store string not a number: want an integer"},
	} {
		t.Run(c.name, func(t *testing.T) {
			proc := &funcProc{
				init: func(h *stateful.Handle) error {
					st = stateful.Value[int64](h, "s")
					return nil
				},
				rows: c.rows,
			}
			e := newEnv(t, proc, stateful.ProcessingTime)
			e.begin(0, 0)
			defer e.out.Release()
			if c.name == "bad value" {
				// A string stored under s's name.
				e.kv["\x01kvs"] = append([]byte{1, 0}, "0123456789"...)
			}
			err := e.rows("k", 1)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want an error containing %q", err, c.want)
			}
			if e.o.Len() != 0 {
				t.Errorf("a failed Append emitted a row")
			}
		})
	}
	_ = late
}

// TestStoreLayoutGolden pins the store layout of
// docs/format/transform-state.md: keys and values byte for byte.
func TestStoreLayoutGolden(t *testing.T) {
	var (
		v  *stateful.ValueState[int64]
		vt *stateful.ValueState[string]
		l  *stateful.ListState[int16]
		m  *stateful.MapState[string, bool]
	)
	proc := &funcProc{
		init: func(h *stateful.Handle) error {
			v = stateful.Value[int64](h, "n")
			vt = stateful.Value[string](h, "s", stateful.WithTTL(time.Second))
			l = stateful.List[int16](h, "l")
			m = stateful.Map[string, bool](h, "m", stateful.WithTTL(2*time.Second))
			return nil
		},
		rows: func(key stateful.Key, rows stateful.Rows, h *stateful.Handle, out *stateful.Output) error {
			v.Update(h, 5)
			vt.Update(h, "hi")
			l.Append(h, 1, -2)
			m.Put(h, "b", true)
			m.Put(h, "a", false)
			h.RegisterTimer(300)
			h.RegisterTimer(100)
			return nil
		},
	}
	e := newEnv(t, proc, stateful.EventTime)
	e.begin(1000, 0)
	if err := e.rows("k"); err != nil {
		t.Fatal(err)
	}
	e.commit()
	want := map[string]string{
		"\x01kvn": "0100" + "0500000000000000",
		"\x01kvs": "0101" + "d007000000000000" + "02" + "6869",
		"\x01kll": "0100" + "02" + "0100" + "feff",
		"\x01kmm": "0101" + "b80b000000000000" + "02" + "b80b000000000000" + "0161" + "00" + "b80b000000000000" + "0162" + "01",
		"\x01kt":  "01" + "02" + "6400000000000000" + "2c01000000000000",
	}
	got := map[string]string{}
	for k, val := range e.kv {
		got[k] = fmt.Sprintf("%x", val)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("store:\n got %q\nwant %q", got, want)
	}
}

// TestOutputAppend: Append converts Go values as the doc says, refuses a
// nested column's value (naming Builder) and a value that does not fit,
// and appends nothing for a refused row.
func TestOutputAppend(t *testing.T) {
	mem := memory.NewCheckedAllocator(bufpool.NewPoison())
	defer mem.AssertSize(t, 0)
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "k", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "n", Type: arrow.PrimitiveTypes.Int8, Nullable: true},
		{Name: "f", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "ts", Type: &arrow.TimestampType{Unit: arrow.Millisecond, TimeZone: "UTC"}, Nullable: true},
		{Name: "l", Type: arrow.ListOf(arrow.PrimitiveTypes.Int64), Nullable: true},
	}, nil)
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	out := stateful.NewOutput(b)
	ts := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	if err := out.Append("a", int64(-5), uint8(2), ts, nil); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		vals []any
		want string
	}{
		{[]any{"b", 1, 1.5, ts, "[1]"}, "column 4 (l): a list<item: int64, nullable> column takes its values through Output.Builder"},
		{[]any{"b", 300, 1.5, ts, nil}, "column 1 (n): 300: value out of range"},
		{[]any{"b", 1, "x", ts, nil}, "column 2 (f): cannot store string x"},
		{[]any{"b", 1}, "2 values for 5 columns"},
	} {
		err := out.Append(c.vals...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Append(%v): %v, want an error containing %q", c.vals, err, c.want)
		}
	}
	if out.Len() != 1 {
		t.Fatalf("Len is %d after one good row, want 1", out.Len())
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	got := arrowrows.Rows(rec)
	want := [][]any{{"a", int64(-5), 2.0, ts, nil}}
	if len(got) != 1 || len(got[0]) != 5 || got[0][0] != want[0][0] || got[0][1] != want[0][1] || got[0][2] != want[0][2] ||
		!got[0][3].(time.Time).Equal(ts) || got[0][4] != nil {
		t.Fatalf("rows %v, want %v (the refused rows append nothing)", got, want)
	}
}
