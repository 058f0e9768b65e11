package agg

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

var (
	i64 = arrow.PrimitiveTypes.Int64
	f64 = arrow.PrimitiveTypes.Float64
	str = arrow.BinaryTypes.String
)

func TestNames(t *testing.T) {
	names := Names()
	if !slices.IsSorted(names) {
		t.Fatalf("Names() not sorted: %v", names)
	}
	for _, want := range []string{"approx_count_distinct", "approx_percentile", "avg", "collect_list", "collect_set",
		"count", "count_if", "first", "last", "max", "mean", "min", "percentile_approx", "stddev", "stddev_pop",
		"stddev_samp", "sum", "var_pop", "var_samp", "variance"} {
		if _, ok := slices.BinarySearch(names, want); !ok {
			t.Errorf("Names() lacks %q", want)
		}
	}
}

func TestBindErrors(t *testing.T) {
	dec := &arrow.Decimal128Type{Precision: 10, Scale: 2}
	cases := []struct {
		name   string
		args   []arrow.DataType
		params []any
		want   []string
	}{
		{"median", []arrow.DataType{i64}, nil, []string{"unknown aggregate function", `"median"`, "approx_percentile"}},
		{"sum", nil, nil, []string{"agg: sum takes 1 argument, got 0"}},
		{"sum", []arrow.DataType{i64, i64}, nil, []string{"sum takes 1 argument, got 2"}},
		{"count", []arrow.DataType{i64, i64}, nil, []string{"count takes 0 arguments (count(*)) or 1, got 2"}},
		{"sum", []arrow.DataType{str}, nil, []string{"agg: sum: argument 1 has type utf8", "accepted:", "float64"}},
		{"avg", []arrow.DataType{arrow.FixedWidthTypes.Boolean}, nil, []string{"avg: argument 1 has type bool"}},
		{"SUM", []arrow.DataType{dec}, nil, []string{"sum: argument 1 has type decimal", "CAST it to DOUBLE"}},
		{"min", []arrow.DataType{dec}, nil, []string{"min: argument 1", "CAST it to DOUBLE"}},
		{"count_if", []arrow.DataType{i64}, nil, []string{"count_if: argument 1 has type int64; accepted: boolean"}},
		{"min", []arrow.DataType{arrow.ListOf(i64)}, nil, []string{"min: argument 1 has type list", "accepted:", "timestamp"}},
		{"sum", []arrow.DataType{i64}, []any{1}, []string{"sum takes no parameters"}},
		{"first", []arrow.DataType{i64}, []any{"yes"}, []string{"first: parameter ignoreNulls must be a bool"}},
		{"last", []arrow.DataType{i64}, []any{true, true}, []string{"last takes at most 1 parameter"}},
		{"approx_count_distinct", []arrow.DataType{i64}, []any{0.0}, []string{"rsd", "(0, 1)"}},
		{"approx_count_distinct", []arrow.DataType{i64}, []any{"x"}, []string{"rsd"}},
		{"approx_percentile", []arrow.DataType{i64}, nil, []string{"approx_percentile takes a percentage"}},
		{"approx_percentile", []arrow.DataType{i64}, []any{1.5}, []string{"percentage must be a float64 in [0, 1]", "1.5"}},
		{"approx_percentile", []arrow.DataType{i64}, []any{[]float64{}}, []string{"non-empty"}},
		{"approx_percentile", []arrow.DataType{i64}, []any{[]float64{0.5, -0.1}}, []string{"percentage must be"}},
		{"approx_percentile", []arrow.DataType{i64}, []any{0.5, 0}, []string{"accuracy must be in [1,"}},
		{"approx_percentile", []arrow.DataType{i64}, []any{0.5, "10"}, []string{"accuracy must be an int"}},
		{"percentile_approx", []arrow.DataType{str}, []any{0.5}, []string{"percentile_approx: argument 1 has type utf8", "date32"}},
		{"collect_list", []arrow.DataType{nil}, nil, []string{"collect_list: argument 1 has no type"}},
	}
	for _, c := range cases {
		_, err := Bind(c.name, c.args, c.params...)
		if err == nil {
			t.Errorf("Bind(%s, %v, %v) succeeded, want an error", c.name, c.args, c.params)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("Bind(%s, %v, %v) = %q, want it to contain %q", c.name, c.args, c.params, err, w)
			}
		}
	}
}

func TestResultTypes(t *testing.T) {
	ts := &arrow.TimestampType{Unit: arrow.Nanosecond, TimeZone: "UTC"}
	cases := []struct {
		name   string
		arg    arrow.DataType
		params []any
		want   arrow.DataType
	}{
		{"sum", arrow.PrimitiveTypes.Uint32, nil, i64},
		{"sum", arrow.PrimitiveTypes.Float32, nil, f64},
		{"avg", arrow.PrimitiveTypes.Int8, nil, f64},
		{"min", ts, nil, ts},
		{"max", str, nil, str},
		{"first", arrow.FixedWidthTypes.Boolean, []any{true}, arrow.FixedWidthTypes.Boolean},
		{"stddev_pop", arrow.PrimitiveTypes.Uint64, nil, f64},
		{"approx_count_distinct", str, nil, i64},
		{"approx_percentile", ts, []any{0.5}, ts},
		{"approx_percentile", f64, []any{[]float64{0.5}}, arrow.ListOf(f64)},
		{"collect_set", arrow.FixedWidthTypes.Date32, nil, arrow.ListOf(arrow.FixedWidthTypes.Date32)},
	}
	for _, c := range cases {
		f := mustBind(t, c.name, []arrow.DataType{c.arg}, c.params...)
		if !arrow.TypeEqual(f.ResultType(), c.want) || f.Name() != c.name {
			t.Errorf("%s(%s): name %q result %s, want %s", c.name, c.arg, f.Name(), f.ResultType(), c.want)
		}
	}
}

func TestSumOverflow(t *testing.T) {
	mem := checkedMem(t)
	cases := []struct {
		dt   arrow.DataType
		vals []any
		gids []int32
		fail bool
	}{
		{i64, []any{int64(math.MaxInt64), int64(1)}, []int32{0, 0}, true},
		{i64, []any{int64(math.MinInt64), int64(-1)}, []int32{0, 0}, true},
		{i64, []any{int64(math.MaxInt64), nil, int64(1)}, []int32{0, 0, 1}, false},
		{i64, []any{int64(math.MaxInt64), int64(1)}, []int32{0, -1}, false},
		{arrow.PrimitiveTypes.Uint64, []any{uint64(1) << 63}, []int32{0}, true},
		{arrow.PrimitiveTypes.Uint64, []any{uint64(math.MaxInt64), nil, uint64(1)}, []int32{0, 0, 0}, true},
		{arrow.PrimitiveTypes.Uint64, []any{uint64(math.MaxInt64)}, []int32{0}, false},
	}
	for i, c := range cases {
		arr := buildArray(t, mem, c.dt, c.vals)
		f := mustBind(t, "sum", []arrow.DataType{c.dt})
		acc := f.NewAccumulator()
		acc.Grow(2)
		err := acc.Update([]arrow.Array{arr}, c.gids)
		arr.Release()
		if c.fail != (err != nil) {
			t.Errorf("case %d: Update error %v, want failure %v", i, err, c.fail)
			continue
		}
		if err != nil && (!errors.Is(err, ErrOverflow) || !strings.Contains(err.Error(), "agg: sum: ") || !strings.Contains(err.Error(), "CAST")) {
			t.Errorf("case %d: error %q should wrap ErrOverflow, name sum and say to CAST", i, err)
		}
	}

	// Overflow while merging partial sums.
	f := mustBind(t, "sum", []arrow.DataType{i64})
	a, b := f.NewAccumulator(), f.NewAccumulator()
	a.Grow(1)
	b.Grow(1)
	big := buildArray(t, mem, i64, []any{int64(math.MaxInt64 - 1)})
	defer big.Release()
	two := buildArray(t, mem, i64, []any{int64(2)})
	defer two.Release()
	if err := a.Update([]arrow.Array{big}, []int32{0}); err != nil {
		t.Fatal(err)
	}
	if err := b.Update([]arrow.Array{two}, []int32{0}); err != nil {
		t.Fatal(err)
	}
	before := b.AppendState(nil, 0)
	if _, err := b.MergeState(0, a.AppendState(nil, 0)); !errors.Is(err, ErrOverflow) {
		t.Fatalf("merging sums past MaxInt64: error %v, want ErrOverflow", err)
	}
	if after := b.AppendState(nil, 0); !bytes.Equal(before, after) {
		t.Fatalf("a failed merge changed the group: %x -> %x", before, after)
	}
}

func TestNaNOrdering(t *testing.T) {
	mem := checkedMem(t)
	nan := math.NaN()
	cases := []struct {
		vals     []any
		min, max any
	}{
		{[]any{1.0, nan, 3.0, nil}, 1.0, nan},
		{[]any{nan, math.Inf(1), math.Inf(-1)}, math.Inf(-1), nan},
		{[]any{nan}, nan, nan},
		{[]any{nil, nil}, nil, nil},
		{[]any{2.0, -7.5}, -7.5, 2.0},
	}
	for _, dt := range []arrow.DataType{f64, arrow.PrimitiveTypes.Float32} {
		for i, c := range cases {
			arr := buildArray(t, mem, dt, c.vals)
			gids := make([]int32, len(c.vals))
			for _, name := range []string{"min", "max"} {
				f := mustBind(t, name, []arrow.DataType{dt})
				want := c.min
				if name == "max" {
					want = c.max
				}
				rng := rand.New(rand.NewPCG(uint64(i), 0))
				for _, got := range [][]any{runOnce(t, mem, f, []arrow.Array{arr}, gids, 1), runChunked(t, mem, rng, f, []arrow.Array{arr}, gids, 1)} {
					if !equalGo(got[0], want, 0) {
						t.Errorf("%s(%s %v) = %v, want %v", name, dt, c.vals, got[0], want)
					}
				}
			}
			arr.Release()
		}
	}
}

func TestFirstLastNulls(t *testing.T) {
	mem := checkedMem(t)
	vals := []any{nil, int64(1), int64(2), nil, nil, nil}
	gids := []int32{0, 0, 0, 0, 1, -1}
	arr := buildArray(t, mem, i64, vals)
	defer arr.Release()
	cases := []struct {
		name   string
		ignore bool
		want   []any
	}{
		{"first", false, []any{nil, nil, nil}},
		{"first", true, []any{int64(1), nil, nil}},
		{"last", false, []any{nil, nil, nil}},
		{"last", true, []any{int64(2), nil, nil}},
	}
	for _, c := range cases {
		f := mustBind(t, c.name, []arrow.DataType{i64}, c.ignore)
		got := runOnce(t, mem, f, []arrow.Array{arr}, gids, 3)
		if !equalGo(got, c.want, 0) {
			t.Errorf("%s(ignoreNulls=%v) = %v, want %v", c.name, c.ignore, got, c.want)
		}
	}
	// Merges: src arrived earlier. first keeps src's value, last the
	// group's; with ignoreNulls an empty side never wins.
	for _, c := range []struct {
		name         string
		ignore       bool
		early, later []any
		want         any
	}{
		{"first", false, []any{int64(5)}, []any{int64(6)}, int64(5)},
		{"first", false, []any{nil}, []any{int64(6)}, nil},
		{"first", true, []any{nil}, []any{int64(6)}, int64(6)},
		{"first", true, []any{}, []any{int64(6)}, int64(6)},
		{"last", false, []any{int64(5)}, []any{int64(6)}, int64(6)},
		{"last", false, []any{int64(5)}, []any{nil}, nil},
		{"last", true, []any{int64(5)}, []any{nil}, int64(5)},
		{"last", false, []any{int64(5)}, []any{}, int64(5)},
	} {
		f := mustBind(t, c.name, []arrow.DataType{i64}, c.ignore)
		early, later := f.NewAccumulator(), f.NewAccumulator()
		early.Grow(1)
		later.Grow(1)
		for _, x := range []struct {
			acc  Accumulator
			vals []any
		}{{early, c.early}, {later, c.later}} {
			arr := buildArray(t, mem, i64, x.vals)
			if err := x.acc.Update([]arrow.Array{arr}, make([]int32, len(x.vals))); err != nil {
				t.Fatal(err)
			}
			arr.Release()
		}
		if _, err := later.MergeState(0, early.AppendState(nil, 0)); err != nil {
			t.Fatal(err)
		}
		if got := finishAll(t, mem, f, later); !equalGo(got[0], c.want, 0) {
			t.Errorf("%s(ignoreNulls=%v): early %v, later %v: got %v, want %v", c.name, c.ignore, c.early, c.later, got[0], c.want)
		}
	}
}

// boundCase is a bound function and its argument type (nil for count(*)).
type boundCase struct {
	f   Func
	arg arrow.DataType
}

// allFuncs binds one function of each kind for state tests.
func allFuncs(t testing.TB) []boundCase {
	ts := &arrow.TimestampType{Unit: arrow.Millisecond}
	var fs []boundCase
	add := func(name string, arg arrow.DataType, params ...any) {
		var args []arrow.DataType
		if arg != nil {
			args = []arrow.DataType{arg}
		}
		fs = append(fs, boundCase{mustBind(t, name, args, params...), arg})
	}
	add("count", nil)
	add("count", str)
	add("count_if", arrow.FixedWidthTypes.Boolean)
	add("sum", i64)
	add("sum", arrow.PrimitiveTypes.Float32)
	add("avg", arrow.PrimitiveTypes.Int16)
	add("min", arrow.PrimitiveTypes.Uint16)
	add("max", str)
	add("min", arrow.FixedWidthTypes.Boolean)
	add("max", f64)
	add("first", ts)
	add("last", arrow.BinaryTypes.Binary, true)
	add("var_samp", f64)
	add("stddev_pop", arrow.PrimitiveTypes.Int32)
	add("approx_count_distinct", i64)
	add("approx_count_distinct", str, 0.3)
	add("approx_percentile", f64, []float64{0.25, 0.5}, 8)
	add("approx_percentile", ts, 0.5)
	add("collect_list", arrow.PrimitiveTypes.Int8)
	add("collect_set", str)
	return fs
}

// inputFor returns random input for c: its arguments, group ids and a
// function releasing the arguments.
func inputFor(t testing.TB, mem memory.Allocator, rng *rand.Rand, c boundCase, n, ngroups, card int) ([]arrow.Array, []int32, func()) {
	t.Helper()
	if c.arg == nil {
		_, gids := genInput(rng, i64, n, ngroups, card, 0, false)
		return nil, gids, func() {}
	}
	vals, gids := genInput(rng, c.arg, n, ngroups, card, 0.2, true)
	arr := buildArray(t, mem, c.arg, vals)
	return []arrow.Array{arr}, gids, arr.Release
}

func TestMalformedStates(t *testing.T) {
	mem := checkedMem(t)
	rng := rand.New(rand.NewPCG(3, 3))
	for _, c := range allFuncs(t) {
		f := c.f
		args, gids, release := inputFor(t, mem, rng, c, 400, 3, 40)
		acc := f.NewAccumulator()
		acc.Grow(3)
		if err := acc.Update(args, gids); err != nil {
			t.Fatal(err)
		}
		release()
		fresh := f.NewAccumulator()
		fresh.Grow(1)
		for g := range 3 {
			state := acc.AppendState(nil, g)
			if _, err := fresh.MergeState(0, state); err != nil {
				t.Fatalf("%s: a valid state failed to merge: %v", f.Name(), err)
			}
			before := fresh.AppendState(nil, 0)
			for cut := range len(state) {
				_, err := fresh.MergeState(0, state[:cut])
				if err == nil {
					t.Fatalf("%s (%T): state %x truncated to %d bytes merged without error", f.Name(), acc, state, cut)
				}
				if !errors.Is(err, ErrCorruptState) || !strings.Contains(err.Error(), "agg: "+f.Name()+": ") || !strings.Contains(err.Error(), "group 0") {
					t.Fatalf("%s: error %q should wrap ErrCorruptState and name the function and group", f.Name(), err)
				}
				if after := fresh.AppendState(nil, 0); !bytes.Equal(before, after) {
					t.Fatalf("%s: a failed merge changed the group: %x -> %x", f.Name(), before, after)
				}
			}
		}
	}
}

func TestMalformedStateBytes(t *testing.T) {
	cases := []struct {
		f     Func
		state []byte
		want  string
	}{
		{mustBind(t, "min", []arrow.DataType{i64}), []byte{7}, "null flag"},
		{mustBind(t, "min", []arrow.DataType{arrow.PrimitiveTypes.Int8}), []byte{1, 0x80, 0x02}, "malformed for int8"},
		{mustBind(t, "max", []arrow.DataType{arrow.FixedWidthTypes.Boolean}), []byte{1, 2}, "malformed for bool"},
		{mustBind(t, "first", []arrow.DataType{i64}), []byte{3}, "slot byte"},
		{mustBind(t, "approx_count_distinct", []arrow.DataType{i64}), []byte{10, 0, 0}, "precision is 10, want 9"},
		{mustBind(t, "approx_count_distinct", []arrow.DataType{i64}), []byte{9, 2}, "mode byte"},
		{mustBind(t, "approx_count_distinct", []arrow.DataType{i64}), append([]byte{9, 1}, bytes.Repeat([]byte{60}, 512)...), "above the maximum 56"},
		{mustBind(t, "approx_count_distinct", []arrow.DataType{i64}), []byte{9, 0, 1, 0}, "sparse entry 1 of 1"},
		{mustBind(t, "approx_percentile", []arrow.DataType{i64}, 0.5), []byte{70}, "level count"},
		{mustBind(t, "collect_list", []arrow.DataType{str}), []byte{1, 5, 'a'}, "value 1 of 1"},
		{mustBind(t, "count", nil), []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, "overflows"},
	}
	for _, c := range cases {
		acc := c.f.NewAccumulator()
		acc.Grow(1)
		if c.f.Name() == "count" {
			if _, err := acc.MergeState(0, []byte{1}); err != nil {
				t.Fatal(err)
			}
		}
		_, err := acc.MergeState(0, c.state)
		if !errors.Is(err, ErrCorruptState) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: MergeState(%x) = %v, want ErrCorruptState mentioning %q", c.f.Name(), c.state, err, c.want)
		}
	}
}

func TestEmptyGroupsAndSkippedRows(t *testing.T) {
	mem := checkedMem(t)
	want := map[string]any{
		"count": int64(0), "count_if": int64(0), "sum": nil, "avg": nil, "min": nil, "max": nil,
		"first": nil, "last": nil, "var_samp": nil, "stddev_pop": nil, "approx_count_distinct": int64(0),
		"approx_percentile": nil, "collect_list": []any{}, "collect_set": []any{},
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, c := range allFuncs(t) {
		f := c.f
		args, gids, release := inputFor(t, mem, rng, c, 50, 1, 10)
		for i := range gids {
			gids[i] = -1
		}
		acc := f.NewAccumulator()
		acc.Grow(2)
		if err := acc.Update(args, gids); err != nil {
			t.Fatal(err)
		}
		release()
		got := finishAll(t, mem, f, acc)
		for g, v := range got {
			if !equalGo(v, want[f.Name()], 0) {
				t.Errorf("%s: empty group %d = %v, want %v", f.Name(), g, v, want[f.Name()])
			}
		}
		// An empty group's state merges into a group as a no-op.
		other := f.NewAccumulator()
		other.Grow(1)
		if _, err := other.MergeState(0, acc.AppendState(nil, 0)); err != nil {
			t.Fatalf("%s: merging an empty state: %v", f.Name(), err)
		}
		if !bytes.Equal(other.AppendState(nil, 0), acc.AppendState(nil, 1)) {
			t.Errorf("%s: an empty state merged into an empty group is not empty", f.Name())
		}
	}
}

func TestUpdateRowCountMismatch(t *testing.T) {
	mem := checkedMem(t)
	arr := buildArray(t, mem, i64, []any{int64(1), int64(2)})
	defer arr.Release()
	acc := mustBind(t, "sum", []arrow.DataType{i64}).NewAccumulator()
	acc.Grow(1)
	err := acc.Update([]arrow.Array{arr}, []int32{0})
	if err == nil || !strings.Contains(err.Error(), "agg: sum: Update argument 1 has 2 rows but there are 1 group ids") {
		t.Fatalf("Update with too few group ids: %v", err)
	}
	if err := acc.Update(nil, []int32{0}); err == nil || !strings.Contains(err.Error(), "got 0 arguments, want 1") {
		t.Fatalf("Update without arguments: %v", err)
	}
}

func TestResetReuse(t *testing.T) {
	mem := checkedMem(t)
	rng := rand.New(rand.NewPCG(9, 9))
	for _, c := range allFuncs(t) {
		f := c.f
		acc := f.NewAccumulator()
		acc.Grow(5)
		args, gids, release := inputFor(t, mem, rng, c, 300, 5, 30)
		if err := acc.Update(args, gids); err != nil {
			t.Fatal(err)
		}
		release()
		if acc.MemoryBytes() <= 0 {
			t.Errorf("%s: MemoryBytes %d after Update", f.Name(), acc.MemoryBytes())
		}
		acc.Reset()
		if acc.Len() != 0 {
			t.Fatalf("%s: Len %d after Reset", f.Name(), acc.Len())
		}
		acc.Grow(3)
		args, gids, release = inputFor(t, mem, rng, c, 200, 3, 30)
		if err := acc.Update(args, gids); err != nil {
			t.Fatal(err)
		}
		got := finishAll(t, mem, f, acc)
		fresh := f.NewAccumulator()
		fresh.Grow(3)
		if err := fresh.Update(args, gids); err != nil {
			t.Fatal(err)
		}
		release()
		want := finishAll(t, mem, f, fresh)
		if !equalGo(got, want, 0) {
			t.Errorf("%s: after Reset got %v, a fresh accumulator gives %v", f.Name(), got, want)
		}
		for g := range 3 {
			if !bytes.Equal(acc.AppendState(nil, g), fresh.AppendState(nil, g)) {
				t.Errorf("%s: group %d's state after Reset differs from a fresh accumulator's", f.Name(), g)
			}
		}
	}
}

// TestNoBorrowing overwrites the input's bytes after Update: kept strings
// must have been copied.
func TestNoBorrowing(t *testing.T) {
	mem := checkedMem(t)
	for _, name := range []string{"min", "max", "first", "last", "collect_list", "collect_set"} {
		for _, dt := range []arrow.DataType{str, arrow.BinaryTypes.LargeBinary} {
			vals := []any{"pear", "apple", "zebra", "mango"}
			arr := buildArray(t, mem, dt, vals)
			f := mustBind(t, name, []arrow.DataType{dt})
			acc := f.NewAccumulator()
			acc.Grow(1)
			if err := acc.Update([]arrow.Array{arr}, make([]int32, len(vals))); err != nil {
				t.Fatal(err)
			}
			data := arr.Data().Buffers()[2].Bytes()
			for i := range data {
				data[i] = 'X'
			}
			arr.Release()
			got := finishAll(t, mem, f, acc)
			if s := fmt.Sprint(got[0]); strings.Contains(s, "X") {
				t.Errorf("%s(%s) = %v: it kept a reference to the input", name, dt, got[0])
			}
		}
	}
}
