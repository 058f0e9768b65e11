package expr

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/arrow/scalar"
)

const sec = int64(1_000_000) // microseconds

// span is a window's [start, end) in microseconds; null marks a null window.
type span struct {
	start, end int64
	null       bool
}

// evalWindows binds e to rec's schema, evaluates it and reads the window
// structs back.
func evalWindows(t *testing.T, mem memory.Allocator, e Expr, rec arrow.RecordBatch) []span {
	t.Helper()
	b, err := e.Bind(rec.Schema())
	if err != nil {
		t.Fatalf("Bind(%s): %v", e, err)
	}
	if !arrow.TypeEqual(b.Field().Type, WindowType()) {
		t.Fatalf("Bind(%s) type %s, want %s", e, b.Field().Type, WindowType())
	}
	arr, err := b.Eval(context.Background(), rec, mem)
	if err != nil {
		t.Fatalf("Eval(%s): %v", e, err)
	}
	defer arr.Release()
	if !arrow.TypeEqual(arr.DataType(), WindowType()) {
		t.Fatalf("Eval(%s) type %s, want %s", e, arr.DataType(), WindowType())
	}
	st := arr.(*array.Struct)
	starts, ends := st.Field(0).(*array.Timestamp), st.Field(1).(*array.Timestamp)
	out := make([]span, st.Len())
	for i := range out {
		if st.IsNull(i) {
			if !starts.IsNull(i) || !ends.IsNull(i) {
				t.Errorf("row %d: the window is null but its fields are not", i)
			}
			out[i].null = true
			continue
		}
		out[i] = span{start: int64(starts.Value(i)), end: int64(ends.Value(i))}
	}
	return out
}

func tsType(unit arrow.TimeUnit) arrow.DataType {
	return &arrow.TimestampType{Unit: unit, TimeZone: "UTC"}
}

func tsCol(name string, unit arrow.TimeUnit, vals ...any) column {
	for i, v := range vals {
		switch n := v.(type) {
		case int64:
			vals[i] = arrow.Timestamp(n)
		case int:
			vals[i] = arrow.Timestamp(n)
		}
	}
	return column{name, tsType(unit), vals}
}

func sameSpans(a, b []span) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestWindowTumbling(t *testing.T) {
	mem := checked(t)
	cases := []struct {
		name string
		col  column
		e    Expr
		want []span
	}{
		{
			name: "microseconds",
			col:  tsCol("ts", arrow.Microsecond, 0, 9*sec+999_999, 10*sec, 25*sec, nil, 1),
			e:    Window(Col("ts"), "10 seconds"),
			want: []span{{0, 10 * sec, false}, {0, 10 * sec, false}, {10 * sec, 20 * sec, false}, {20 * sec, 30 * sec, false}, {null: true}, {0, 10 * sec, false}},
		},
		{
			name: "negative times floor to the window below",
			col:  tsCol("ts", arrow.Microsecond, int64(-1), -10*sec, -10*sec-1, -25*sec),
			e:    Window(Col("ts"), "10 seconds"),
			want: []span{{-10 * sec, 0, false}, {-10 * sec, 0, false}, {-20 * sec, -10 * sec, false}, {-30 * sec, -20 * sec, false}},
		},
		{
			name: "seconds",
			col:  tsCol("ts", arrow.Second, int64(59), int64(60), int64(-1), nil),
			e:    Window(Col("ts"), "1 minute"),
			want: []span{{0, 60 * sec, false}, {60 * sec, 120 * sec, false}, {-60 * sec, 0, false}, {null: true}},
		},
		{
			name: "milliseconds",
			col:  tsCol("ts", arrow.Millisecond, int64(1_499), int64(1_500), int64(-1)),
			e:    Window(Col("ts"), "500 milliseconds"),
			want: []span{{1_000_000, 1_500_000, false}, {1_500_000, 2_000_000, false}, {-500_000, 0, false}},
		},
		{
			name: "nanoseconds round down to microseconds",
			col:  tsCol("ts", arrow.Nanosecond, int64(999), int64(-1), int64(10_000_000_000)),
			e:    Window(Col("ts"), "10s"),
			want: []span{{0, 10 * sec, false}, {-10 * sec, 0, false}, {10 * sec, 20 * sec, false}},
		},
		{
			name: "start time offset",
			col:  tsCol("ts", arrow.Microsecond, int64(0), 4*sec, 5*sec, 14*sec, 15*sec, -6*sec),
			e:    Call("window", Col("ts"), Lit("10 seconds"), Lit("10 seconds"), Lit("5 seconds")),
			want: []span{{-5 * sec, 5 * sec, false}, {-5 * sec, 5 * sec, false}, {5 * sec, 15 * sec, false}, {5 * sec, 15 * sec, false}, {15 * sec, 25 * sec, false}, {-15 * sec, -5 * sec, false}},
		},
		{
			name: "negative start time offset",
			col:  tsCol("ts", arrow.Microsecond, int64(0), 7*sec, 8*sec, -3*sec),
			e:    Call("window", Col("ts"), Lit("10 seconds"), Lit("10 seconds"), Lit("-2 seconds")),
			want: []span{{-2 * sec, 8 * sec, false}, {-2 * sec, 8 * sec, false}, {8 * sec, 18 * sec, false}, {-12 * sec, -2 * sec, false}},
		},
		{
			name: "slide equal to size is tumbling",
			col:  tsCol("ts", arrow.Microsecond, 61*sec),
			e:    SlidingWindowOf(Col("ts"), "1 minute", "60 seconds"),
			want: []span{{60 * sec, 120 * sec, false}},
		},
		{
			name: "no time zone label",
			col:  column{"ts", &arrow.TimestampType{Unit: arrow.Microsecond}, []any{arrow.Timestamp(3 * sec)}},
			e:    Window(Col("ts"), "2 seconds"),
			want: []span{{2 * sec, 4 * sec, false}},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rec := record(t, mem, c.col)
			defer rec.Release()
			if got := evalWindows(t, mem, c.e, rec); !sameSpans(got, c.want) {
				t.Errorf("%s = %v, want %v", c.e, got, c.want)
			}
		})
	}
}

func TestWindowSlicedAndConstant(t *testing.T) {
	mem := checked(t)
	rec := record(t, mem, tsCol("ts", arrow.Millisecond, nil, int64(12_000), nil, int64(-3_000), int64(7_000)))
	defer rec.Release()
	sliced := rec.NewSlice(1, 5)
	defer sliced.Release()
	got := evalWindows(t, mem, Window(Col("ts"), "5 seconds"), sliced)
	want := []span{{10 * sec, 15 * sec, false}, {null: true}, {-5 * sec, 0, false}, {5 * sec, 10 * sec, false}}
	if !sameSpans(got, want) {
		t.Errorf("on a slice: %v, want %v", got, want)
	}

	// A constant time is folded at Bind and repeated per row.
	at := time.Unix(125, 0).UTC()
	got = evalWindows(t, mem, Window(Lit(at), "1 minute"), rec)
	for i, s := range got {
		if s != (span{120 * sec, 180 * sec, false}) {
			t.Errorf("constant row %d: %v", i, s)
		}
	}
	got = evalWindows(t, mem, Window(Lit(nil), "1 minute"), rec)
	for i, s := range got {
		if !s.null {
			t.Errorf("window of NULL row %d: %v, want null", i, s)
		}
	}

	// Fields of the window read as timestamps.
	vals := eval(t, mem, Window(Col("ts"), "5 seconds").Field("end"), rec)
	if !sameValues(vals, []any{nil, arrow.Timestamp(15 * sec), nil, arrow.Timestamp(0), arrow.Timestamp(10 * sec)}) {
		t.Errorf("window(...).end = %v", vals)
	}
}

func TestWindowOutOfRange(t *testing.T) {
	mem := checked(t)
	rec := record(t, mem, tsCol("ts", arrow.Second, int64(1), int64(math.MaxInt64/2)))
	defer rec.Release()
	b, err := Window(Col("ts"), "1 second").Bind(rec.Schema())
	if err != nil {
		t.Fatal(err)
	}
	_, err = b.Eval(context.Background(), rec, mem)
	if err == nil || !strings.Contains(err.Error(), "row 1") || !strings.Contains(err.Error(), "out of the range") {
		t.Errorf("Eval of a time beyond microseconds: %v, want an out-of-range error naming row 1", err)
	}
	rec2 := record(t, mem, tsCol("ts", arrow.Microsecond, int64(math.MaxInt64-5)))
	defer rec2.Release()
	b, err = Window(Col("ts"), "1 hour").Bind(rec2.Schema())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Eval(context.Background(), rec2, mem); err == nil || !strings.Contains(err.Error(), "row 0") {
		t.Errorf("Eval of a window ending past the last timestamp: %v, want an error naming row 0", err)
	}
}

func TestWindowStart(t *testing.T) {
	cases := []struct{ ts, slide, start, want int64 }{
		{0, 10, 0, 0},
		{9, 10, 0, 0},
		{10, 10, 0, 10},
		{-1, 10, 0, -10},
		{-10, 10, 0, -10},
		{-11, 10, 0, -20},
		{7, 10, 3, 3},
		{2, 10, 3, -7},
		{2, 10, -3, -3},
		{-4, 10, -3, -13},
		{math.MaxInt64, 10, 0, math.MaxInt64 - 7},
		{math.MinInt64 + 20, 10, 0, math.MinInt64 + 18},
	}
	for _, c := range cases {
		if got := WindowStart(c.ts, c.slide, c.start); got != c.want {
			t.Errorf("WindowStart(%d, %d, %d) = %d, want %d", c.ts, c.slide, c.start, got, c.want)
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 10000 {
		slide := r.Int64N(1_000_000) + 1
		start := r.Int64N(2*slide-1) - (slide - 1)
		ts := r.Int64N(1<<50) - 1<<49
		got := WindowStart(ts, slide, start)
		if got > ts || got <= ts-slide || floorMod(got-start, slide) != 0 {
			t.Fatalf("WindowStart(%d, %d, %d) = %d: not the latest window start at or before the time", ts, slide, start, got)
		}
	}
}

func TestWindowBindErrors(t *testing.T) {
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "ts", Type: tsType(arrow.Microsecond), Nullable: true},
		{Name: "s", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "n", Type: arrow.PrimitiveTypes.Int64},
	}, nil)
	cases := []struct {
		e    Expr
		want string
	}{
		{SlidingWindowOf(Col("ts"), "10 seconds", "2 seconds"),
			"expr: window(ts, '10 seconds', '2 seconds') puts a row in several windows, so it can only be a grouping key: use it in GroupBy(...)"},
		{SlidingWindowOf(Col("ts"), "10 seconds", "2 seconds").Field("start"),
			"use it in GroupBy(...), not inside window(ts, 10 seconds, 2 seconds).start"},
		{SessionWindowOf(Col("ts"), "5 minutes"),
			"expr: session_window(ts, '5 minutes') finds its windows across rows"},
		{SessionWindowOf(Col("ts"), "5 minutes"), "it can only be a grouping key: use it in GroupBy(...)"},
		{SessionWindowExpr(Col("ts"), Col("s")), "it can only be a grouping key"},
		{SessionWindowExpr(Col("ts"), Col("n")), "the gap duration n is bigint; give an interval string"},
		{SessionWindowOf(Col("s"), "5 minutes"), "the time column s is string, not a timestamp; convert it with CAST(s AS TIMESTAMP)"},
		{Window(Col("s"), "10 seconds"), "the time column s is string, not a timestamp; convert it with CAST(s AS TIMESTAMP)"},
		{Window(Col("n"), "10 seconds"), "CAST(n AS TIMESTAMP)"},
		{Window(Col("nope"), "10 seconds"), "unknown column"},
		{Window(Col("ts"), "1 month"), "window(ts, '1 month'): the window duration: interval \"1 month\": months have no fixed length"},
		{Window(Col("ts"), "0 seconds"), "the window duration must be positive, but is 0s"},
		{Window(Col("ts"), "-1 second"), "the window duration must be positive, but is -1s"},
		{Window(Col("ts"), "500 nanoseconds"), "the window duration 500ns is not a whole number of microseconds"},
		{SlidingWindowOf(Col("ts"), "10 seconds", "20 seconds"), "the slide duration 20s is longer than the window duration 10s"},
		{SlidingWindowOf(Col("ts"), "10 seconds", "0 seconds"), "the slide duration must be positive"},
		{SlidingWindowOf(Col("ts"), "10 seconds", "ten"), "the slide duration: interval \"ten\""},
		{Call("window", Col("ts"), Lit("10 seconds"), Lit("5 seconds"), Lit("5 seconds")), "the start time 5s must be shorter than the slide duration 5s (in either direction); 0s gives the same windows"},
		{Call("window", Col("ts"), Lit("10 seconds"), Lit("5 seconds"), Lit("-7 seconds")), "the start time -7s must be shorter than the slide duration 5s (in either direction); 3s gives the same windows"},
		{Call("window", Col("ts"), Col("s")), "the window duration must be a constant interval string such as '10 seconds', but is the expression s"},
		{Call("window", Col("ts"), Lit(10)), "the window duration must be an interval string such as '10 seconds', but is bigint 10"},
		{Call("window", Col("ts"), Lit(nil)), "the window duration is NULL"},
		{Call("window", Col("ts")), "window takes 2 to 4 arguments, got 1"},
		{Call("session_window", Col("ts"), Lit("1 minute"), Lit("1 minute")), "session_window takes 2 arguments, got 3"},
		{SessionWindowOf(Col("ts"), "0 minutes"), "the gap duration must be positive, but is 0s"},
		{SessionWindowOf(Col("ts"), "1 year"), "the gap duration: interval \"1 year\""},
		{SessionWindowExpr(Col("ts"), Lit(nil)), "the gap duration is NULL"},
		{Call("window", Col("ts"), Expr{}), "argument 2 is the zero Expr"},
		{WindowTime(Col("ts")), "window_time needs a window column (a struct of timestamps start and end"},
		{WindowTime(Struct(Col("ts").As("start"), Col("n").As("end"))), "window_time needs a window column"},
		{WindowTime(Struct(Col("ts").As("begin"), Col("ts").As("end"))), "window_time needs a window column"},
	}
	for _, c := range cases {
		_, err := c.e.Bind(schema)
		if err == nil {
			t.Errorf("Bind(%s) succeeded, want an error containing %q", c.e, c.want)
			continue
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("Bind(%s) error:\n  %v\nwant it to contain:\n  %s", c.e, err, c.want)
		}
		if !strings.HasPrefix(err.Error(), "expr: ") {
			t.Errorf("Bind(%s) error %q lacks the package prefix", c.e, err)
		}
	}
	_, err := Window(Col("s"), "1 minute").Bind(schema)
	if !errors.Is(err, ErrType) {
		t.Errorf("a string time column: %v, want ErrType", err)
	}
}

func TestWindowTime(t *testing.T) {
	mem := checked(t)
	rec := record(t, mem, tsCol("ts", arrow.Microsecond, int64(3*sec), nil, int64(-1)))
	defer rec.Release()
	got := eval(t, mem, WindowTime(Window(Col("ts"), "10 seconds")), rec)
	want := []any{arrow.Timestamp(10*sec - 1), nil, arrow.Timestamp(-1)}
	if !sameValues(got, want) {
		t.Errorf("window_time(window(ts, 10 seconds)) = %v, want %v", got, want)
	}
	b, err := WindowTime(Window(Col("ts"), "10 seconds")).Bind(rec.Schema())
	if err != nil {
		t.Fatal(err)
	}
	if f := b.Field(); !arrow.TypeEqual(f.Type, timestampUTC) || f.Name != "window_time(window(ts, 10 seconds))" {
		t.Errorf("window_time field %v, want timestamp[us, UTC] named window_time(window(ts, 10 seconds))", f)
	}

	// A window column of another unit, as read from a file: the struct
	// null or the end null gives null.
	stType := arrow.StructOf(
		arrow.Field{Name: "start", Type: tsType(arrow.Millisecond), Nullable: true},
		arrow.Field{Name: "end", Type: tsType(arrow.Millisecond), Nullable: true},
	)
	sb := array.NewStructBuilder(mem, stType)
	defer sb.Release()
	starts, ends := sb.FieldBuilder(0).(*array.TimestampBuilder), sb.FieldBuilder(1).(*array.TimestampBuilder)
	for _, row := range []struct {
		null       bool
		start, end any
	}{{false, 0, 5_000}, {true, nil, nil}, {false, 0, nil}, {false, -10_000, -5_000}} {
		if row.null {
			sb.AppendNull()
			continue
		}
		sb.Append(true)
		starts.Append(arrow.Timestamp(row.start.(int)))
		if row.end == nil {
			ends.AppendNull()
		} else {
			ends.Append(arrow.Timestamp(row.end.(int)))
		}
	}
	arr := sb.NewArray()
	defer arr.Release()
	wrec := array.NewRecordBatch(arrow.NewSchema([]arrow.Field{{Name: "w", Type: stType, Nullable: true}}, nil), []arrow.Array{arr}, int64(arr.Len()))
	defer wrec.Release()
	got = eval(t, mem, WindowTime(Col("w")), wrec)
	want = []any{arrow.Timestamp(5*sec - 1), nil, nil, arrow.Timestamp(-5*sec - 1)}
	if !sameValues(got, want) {
		t.Errorf("window_time(w) with milliseconds = %v, want %v", got, want)
	}
}

func TestWindowNames(t *testing.T) {
	cases := []struct {
		e    Expr
		want string
	}{
		{Window(Col("ts"), "10 seconds"), "window"},
		{Call("WINDOW", Col("ts"), Lit("10 seconds")), "window"},
		{SlidingWindowOf(Col("ts"), "10 seconds", "5 seconds"), "window"},
		{SessionWindowOf(Col("ts"), "5 minutes"), "session_window"},
		{SessionWindowExpr(Col("ts"), Col("gap")), "session_window"},
		{Window(Col("ts"), "10 seconds").As("w"), "w"},
		{WindowTime(Window(Col("ts"), "10 seconds")), "window_time(window(ts, 10 seconds))"},
		{Call("lower", Col("s")), "lower(s)"},
	}
	for _, c := range cases {
		if got := c.e.Name(); got != c.want {
			t.Errorf("%s.Name() = %q, want %q", c.e, got, c.want)
		}
	}
	schema := arrow.NewSchema([]arrow.Field{{Name: "ts", Type: tsType(arrow.Millisecond)}}, nil)
	b, err := Window(Col("ts"), "1 minute").Bind(schema)
	if err != nil {
		t.Fatal(err)
	}
	if f := b.Field(); f.Name != "window" || f.Nullable || !arrow.TypeEqual(f.Type, WindowType()) {
		t.Errorf("bound window field %v, want a non-nullable struct named window", f)
	}
	st := WindowType().(*arrow.StructType)
	if st.NumFields() != 2 || st.Field(0).Name != "start" || st.Field(1).Name != "end" ||
		!arrow.TypeEqual(st.Field(0).Type, tsType(arrow.Microsecond)) || !arrow.TypeEqual(st.Field(1).Type, tsType(arrow.Microsecond)) {
		t.Errorf("WindowType() = %s", st)
	}
}

func TestAsWindow(t *testing.T) {
	minute := 60 * sec
	cases := []struct {
		e    Expr
		want WindowSpec
	}{
		{Window(Col("ts"), "10 minutes"),
			WindowSpec{Kind: TumblingWindow, SizeUs: 10 * minute, SlideUs: 10 * minute, Name: "window"}},
		{SlidingWindowOf(Col("ts"), "10 minutes", "10 minutes").As("w"),
			WindowSpec{Kind: TumblingWindow, SizeUs: 10 * minute, SlideUs: 10 * minute, Name: "w"}},
		{SlidingWindowOf(Col("ts"), "10 minutes", "5 minutes"),
			WindowSpec{Kind: SlidingWindow, SizeUs: 10 * minute, SlideUs: 5 * minute, Name: "window"}},
		{Call("window", Col("ts"), Lit("INTERVAL '10' MINUTE"), Lit("1m"), Lit("-30 seconds")).As("inner").As("outer"),
			WindowSpec{Kind: SlidingWindow, SizeUs: 10 * minute, SlideUs: minute, StartUs: -30 * sec, Name: "outer"}},
		{SessionWindowOf(Col("ts"), "5 minutes"),
			WindowSpec{Kind: SessionWindow, GapUs: 5 * minute, Name: "session_window"}},
		{SessionWindowExpr(Col("ts"), Lit(scalar.NewDurationScalar(2500, &arrow.DurationType{Unit: arrow.Millisecond}))).As("s"),
			WindowSpec{Kind: SessionWindow, GapUs: 2500 * 1000, Name: "s"}},
	}
	for _, c := range cases {
		got, ok, err := AsWindow(c.e)
		if !ok || err != nil {
			t.Errorf("AsWindow(%s) = ok %v, err %v; want a window", c.e, ok, err)
			continue
		}
		if got.Time.String() != "ts" || !got.Gap.IsZero() {
			t.Errorf("AsWindow(%s): time %s, gap %s; want ts and no gap expression", c.e, got.Time, got.Gap)
		}
		got.Time = Expr{}
		if got != c.want {
			t.Errorf("AsWindow(%s) = %+v, want %+v", c.e, got, c.want)
		}
	}

	// A per-row gap.
	got, ok, err := AsWindow(SessionWindowExpr(Col("ts"), Call("concat", Col("g"), Lit(" seconds"))))
	if !ok || err != nil || got.Kind != SessionWindow || got.GapUs != 0 || got.Gap.String() != "concat(g,  seconds)" || got.Name != "session_window" {
		t.Errorf("AsWindow with a gap expression = %+v, %v, %v", got, ok, err)
	}

	// Not windows.
	for _, e := range []Expr{Col("window"), Col("ts").As("window"), Call("lower", Col("s")), WindowTime(Col("w")), Window(Col("ts"), "1 minute").Field("start"), {}} {
		if _, ok, err := AsWindow(e); ok || err != nil {
			t.Errorf("AsWindow(%s) = ok %v, err %v; want not a window", e, ok, err)
		}
	}

	// Bad arguments: ok with an error naming the argument.
	for _, c := range []struct {
		e    Expr
		want string
	}{
		{Window(Col("ts"), "1 year"), "the window duration: interval \"1 year\""},
		{SlidingWindowOf(Col("ts"), "1 minute", "2 minutes").As("w"), "the slide duration 2m0s is longer than the window duration 1m0s"},
		{Call("window", Col("ts"), Lit("1 minute"), Lit("1 minute"), Lit("1 minute")), "the start time 1m0s must be shorter than the slide duration"},
		{SessionWindowOf(Col("ts"), "-1 second"), "the gap duration must be positive"},
		{Call("window", Col("ts")), "window takes 2 to 4 arguments, got 1"},
		{Window(Col("ts"), "1 minute").As(""), "empty alias"},
		{Window(Col("ts"), "1 minute").As("").As("w"), "empty alias"},
	} {
		_, ok, err := AsWindow(c.e)
		if !ok || err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("AsWindow(%s) = ok %v, err %v; want ok and an error containing %q", c.e, ok, err, c.want)
		}
	}
}

func TestWindowKindString(t *testing.T) {
	for k, want := range map[WindowKind]string{TumblingWindow: "tumbling", SlidingWindow: "sliding", SessionWindow: "session", 0: "WindowKind(0)"} {
		if k.String() != want {
			t.Errorf("WindowKind(%d).String() = %q, want %q", int(k), k.String(), want)
		}
	}
}
