package agg

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// Go forms of values in tests: int64 for signed, date, time, timestamp and
// duration types; uint64 for unsigned; float64 for floats; bool; string
// for strings and binaries; []any for lists; nil for null.

// buildArray builds an array of dt from Go values; the caller releases it.
func buildArray(t testing.TB, mem memory.Allocator, dt arrow.DataType, vals []any) arrow.Array {
	t.Helper()
	b := array.NewBuilder(mem, dt)
	defer b.Release()
	for _, v := range vals {
		appendGo(t, b, v)
	}
	return b.NewArray()
}

func appendGo(t testing.TB, b array.Builder, v any) {
	t.Helper()
	if v == nil {
		b.AppendNull()
		return
	}
	switch bb := b.(type) {
	case *array.Int8Builder:
		bb.Append(int8(v.(int64)))
	case *array.Int16Builder:
		bb.Append(int16(v.(int64)))
	case *array.Int32Builder:
		bb.Append(int32(v.(int64)))
	case *array.Int64Builder:
		bb.Append(v.(int64))
	case *array.Uint8Builder:
		bb.Append(uint8(v.(uint64)))
	case *array.Uint16Builder:
		bb.Append(uint16(v.(uint64)))
	case *array.Uint32Builder:
		bb.Append(uint32(v.(uint64)))
	case *array.Uint64Builder:
		bb.Append(v.(uint64))
	case *array.Float32Builder:
		bb.Append(float32(v.(float64)))
	case *array.Float64Builder:
		bb.Append(v.(float64))
	case *array.BooleanBuilder:
		bb.Append(v.(bool))
	case *array.StringBuilder:
		bb.Append(v.(string))
	case *array.LargeStringBuilder:
		bb.Append(v.(string))
	case *array.BinaryBuilder:
		bb.AppendString(v.(string))
	case *array.Date32Builder:
		bb.Append(arrow.Date32(v.(int64)))
	case *array.Date64Builder:
		bb.Append(arrow.Date64(v.(int64)))
	case *array.Time32Builder:
		bb.Append(arrow.Time32(v.(int64)))
	case *array.Time64Builder:
		bb.Append(arrow.Time64(v.(int64)))
	case *array.TimestampBuilder:
		bb.Append(arrow.Timestamp(v.(int64)))
	case *array.DurationBuilder:
		bb.Append(arrow.Duration(v.(int64)))
	default:
		t.Fatalf("appendGo: no case for %T", b)
	}
}

// goValue returns row i of arr in its Go form.
func goValue(t testing.TB, arr arrow.Array, i int) any {
	t.Helper()
	if arr.IsNull(i) {
		return nil
	}
	switch a := arr.(type) {
	case *array.Int8:
		return int64(a.Value(i))
	case *array.Int16:
		return int64(a.Value(i))
	case *array.Int32:
		return int64(a.Value(i))
	case *array.Int64:
		return a.Value(i)
	case *array.Uint8:
		return uint64(a.Value(i))
	case *array.Uint16:
		return uint64(a.Value(i))
	case *array.Uint32:
		return uint64(a.Value(i))
	case *array.Uint64:
		return a.Value(i)
	case *array.Float32:
		return float64(a.Value(i))
	case *array.Float64:
		return a.Value(i)
	case *array.Boolean:
		return a.Value(i)
	case *array.String:
		return a.Value(i)
	case *array.LargeString:
		return a.Value(i)
	case *array.Binary:
		return string(a.Value(i))
	case *array.LargeBinary:
		return string(a.Value(i))
	case *array.Date32:
		return int64(a.Value(i))
	case *array.Date64:
		return int64(a.Value(i))
	case *array.Time32:
		return int64(a.Value(i))
	case *array.Time64:
		return int64(a.Value(i))
	case *array.Timestamp:
		return int64(a.Value(i))
	case *array.Duration:
		return int64(a.Value(i))
	case *array.List:
		lo, hi := a.ValueOffsets(i)
		out := []any{}
		for j := lo; j < hi; j++ {
			out = append(out, goValue(t, a.ListValues(), int(j)))
		}
		return out
	}
	t.Fatalf("goValue: no case for %T", arr)
	return nil
}

// finishAll finishes every group of acc into a slice of Go values.
func finishAll(t testing.TB, mem memory.Allocator, f Func, acc Accumulator) []any {
	t.Helper()
	b := array.NewBuilder(mem, f.ResultType())
	defer b.Release()
	for g := range acc.Len() {
		acc.Finish(g, b)
	}
	arr := b.NewArray()
	defer arr.Release()
	if arr.Len() != acc.Len() {
		t.Fatalf("%s: Finish appended %d values for %d groups", f.Name(), arr.Len(), acc.Len())
	}
	out := make([]any, arr.Len())
	for i := range out {
		out[i] = goValue(t, arr, i)
	}
	return out
}

// runOnce aggregates all rows in one accumulator.
func runOnce(t testing.TB, mem memory.Allocator, f Func, args []arrow.Array, gids []int32, ngroups int) []any {
	t.Helper()
	acc := f.NewAccumulator()
	acc.Grow(ngroups)
	if err := acc.Update(args, gids); err != nil {
		t.Fatalf("%s: Update: %v", f.Name(), err)
	}
	return finishAll(t, mem, f, acc)
}

// runChunked simulates a stream: the rows are split into random chunks in
// order; each chunk is aggregated in a fresh (or reset) accumulator, the
// state kept from earlier chunks is merged into it, and its state is
// written back. The last chunk's accumulator gives the result.
func runChunked(t testing.TB, mem memory.Allocator, rng *rand.Rand, f Func, args []arrow.Array, gids []int32, ngroups int) []any {
	t.Helper()
	n := len(gids)
	var cuts []int
	for range rng.IntN(8) {
		cuts = append(cuts, rng.IntN(n+1))
	}
	cuts = append(cuts, n)
	sortInts(cuts)
	state := make([][]byte, ngroups)
	acc := f.NewAccumulator()
	lo := 0
	for _, hi := range cuts {
		if rng.IntN(2) == 0 {
			acc = f.NewAccumulator()
		} else {
			acc.Reset()
			if acc.Len() != 0 {
				t.Fatalf("%s: Len after Reset is %d", f.Name(), acc.Len())
			}
		}
		acc.Grow(ngroups)
		sl := make([]arrow.Array, len(args))
		for i, a := range args {
			sl[i] = array.NewSlice(a, int64(lo), int64(hi))
		}
		err := acc.Update(sl, gids[lo:hi])
		for _, a := range sl {
			a.Release()
		}
		if err != nil {
			t.Fatalf("%s: Update rows [%d, %d): %v", f.Name(), lo, hi, err)
		}
		for g := range ngroups {
			if state[g] != nil {
				// Append a byte after the state to check that MergeState
				// returns the rest.
				rest, err := acc.MergeState(g, append(state[g], 0xEE))
				if err != nil {
					t.Fatalf("%s: MergeState group %d: %v", f.Name(), g, err)
				}
				if len(rest) != 1 || rest[0] != 0xEE {
					t.Fatalf("%s: MergeState group %d left %x, want ee", f.Name(), g, rest)
				}
			}
			st := acc.AppendState([]byte{0xAB}, g)
			if st[0] != 0xAB {
				t.Fatalf("%s: AppendState overwrote dst", f.Name())
			}
			state[g] = st[1:]
		}
		lo = hi
	}
	return finishAll(t, mem, f, acc)
}

func sortInts(s []int) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

// genValue returns a random non-null value of dt in its Go form, with
// about card distinct values; floats are multiples of 1/8 so that sums are
// exact in any order, and specials adds NaN and -0.0.
func genValue(rng *rand.Rand, dt arrow.DataType, card int, specials bool) any {
	switch dt.ID() {
	case arrow.INT8:
		return int64(rng.IntN(min(card, 128)*2) - min(card, 128))
	case arrow.INT16, arrow.INT32, arrow.INT64, arrow.DATE32, arrow.DATE64, arrow.TIMESTAMP, arrow.DURATION:
		return int64(rng.IntN(2*card) - card)
	case arrow.TIME32, arrow.TIME64:
		return int64(rng.IntN(card))
	case arrow.UINT8:
		return uint64(rng.IntN(min(card, 256)))
	case arrow.UINT16, arrow.UINT32, arrow.UINT64:
		return uint64(rng.IntN(card))
	case arrow.FLOAT32, arrow.FLOAT64:
		if specials {
			switch rng.IntN(20) {
			case 0:
				return math.NaN()
			case 1:
				return math.Copysign(0, -1)
			}
		}
		return float64(rng.IntN(2*card)-card) / 8
	case arrow.BOOL:
		return rng.IntN(2) == 1
	}
	if rng.IntN(30) == 0 {
		return ""
	}
	return fmt.Sprintf("v%d", rng.IntN(card))
}

// genInput returns n random rows of dt (nulls with probability nullP) and
// group ids over ngroups (-1 with probability 1/10).
func genInput(rng *rand.Rand, dt arrow.DataType, n, ngroups, card int, nullP float64, specials bool) ([]any, []int32) {
	vals := make([]any, n)
	gids := make([]int32, n)
	for i := range n {
		if rng.Float64() >= nullP {
			vals[i] = genValue(rng, dt, card, specials)
		}
		gids[i] = int32(rng.IntN(ngroups))
		if rng.IntN(10) == 0 {
			gids[i] = -1
		}
	}
	return vals, gids
}

// byGroup splits values by group, in arrival order, skipping gid -1.
func byGroup(vals []any, gids []int32, ngroups int) [][]any {
	out := make([][]any, ngroups)
	for i, g := range gids {
		if g >= 0 {
			out[g] = append(out[g], vals[i])
		}
	}
	return out
}

// sparkLess orders Go values as Spark does: NaN above every float.
func sparkLess(a, b any) bool {
	switch x := a.(type) {
	case int64:
		return x < b.(int64)
	case uint64:
		return x < b.(uint64)
	case float64:
		y := b.(float64)
		if math.IsNaN(x) {
			return false
		}
		return math.IsNaN(y) || x < y
	case bool:
		return !x && b.(bool)
	case string:
		return x < b.(string)
	}
	panic(fmt.Sprintf("sparkLess %T", a))
}

// equalGo compares Go values; floats are equal when both are NaN or they
// differ by at most tol relative to their size.
func equalGo(a, b any, tol float64) bool {
	switch x := a.(type) {
	case nil:
		return b == nil
	case float64:
		y, ok := b.(float64)
		if !ok {
			return false
		}
		if math.IsNaN(x) || math.IsNaN(y) {
			return math.IsNaN(x) && math.IsNaN(y)
		}
		if x == y {
			return true
		}
		return math.Abs(x-y) <= tol*math.Max(1, math.Max(math.Abs(x), math.Abs(y)))
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !equalGo(x[i], y[i], tol) {
				return false
			}
		}
		return true
	}
	return a == b
}

func checkedMem(t *testing.T) *memory.CheckedAllocator {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	t.Cleanup(func() { mem.AssertSize(t, 0) })
	return mem
}

func mustBind(t testing.TB, name string, argTypes []arrow.DataType, params ...any) Func {
	t.Helper()
	f, err := Bind(name, argTypes, params...)
	if err != nil {
		t.Fatalf("Bind(%s, %v, %v): %v", name, argTypes, params, err)
	}
	return f
}
