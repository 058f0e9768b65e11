package incremental

import (
	"context"
	"math/rand/v2"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/bufpool"
	"github.com/sluicehq/sluice/expr"
)

// randomArray builds n random values of typ with about one null in
// five, then slices off the first off rows. The caller releases it.
func randomArray(t *testing.T, mem memory.Allocator, rng *rand.Rand, typ arrow.DataType, n, off int) arrow.Array {
	t.Helper()
	b := array.NewBuilder(mem, typ)
	defer b.Release()
	for i := 0; i < n+off; i++ {
		if rng.IntN(5) == 0 {
			b.AppendNull()
			continue
		}
		v := rng.Int64N(2000) - 1000
		switch bb := b.(type) {
		case *array.Int8Builder:
			bb.Append(int8(v))
		case *array.Int16Builder:
			bb.Append(int16(v))
		case *array.Int32Builder:
			bb.Append(int32(v))
		case *array.Int64Builder:
			bb.Append(v)
		case *array.Float64Builder:
			bb.Append(float64(v) / 3)
		case *array.TimestampBuilder:
			bb.Append(arrow.Timestamp(v))
		case *array.BooleanBuilder:
			bb.Append(v%2 == 0)
		case *array.StringBuilder:
			bb.Append(string(rune('a' + v%26 + 26)))
		default:
			t.Fatalf("no random values for %s", typ)
		}
	}
	full := b.NewArray()
	defer full.Release()
	return array.NewSlice(full, int64(off), int64(off+n))
}

// TestTakeColumnMatchesTakeKernel checks the hand-written gather against
// Arrow's take kernel over every width, with nulls and slice offsets.
func TestTakeColumnMatchesTakeKernel(t *testing.T) {
	mem := memory.NewCheckedAllocator(bufpool.NewPoison())
	defer mem.AssertSize(t, 0)
	rng := rand.New(rand.NewPCG(1, 2))
	ctx := context.Background()
	types := []arrow.DataType{arrow.PrimitiveTypes.Int8, arrow.PrimitiveTypes.Int16, arrow.PrimitiveTypes.Int32,
		arrow.PrimitiveTypes.Int64, arrow.PrimitiveTypes.Float64, &arrow.TimestampType{Unit: arrow.Millisecond, TimeZone: "UTC"},
		arrow.FixedWidthTypes.Boolean, arrow.BinaryTypes.String}
	for _, typ := range types {
		for _, n := range []int{0, 1, 63, 64, 65, 1000} {
			for _, off := range []int{0, 3} {
				arr := randomArray(t, mem, rng, typ, n, off)
				var idx []int32
				for i := 0; i < n; i++ {
					if rng.IntN(3) > 0 {
						idx = append(idx, int32(i))
					}
				}
				if n > 2 {
					idx = append(idx, int32(n-1), 0) // out of order, repeated
				}
				got, err := takeColumn(ctx, mem, arr, idx)
				if err != nil {
					t.Fatal(err)
				}
				ia := int32Array(idx, nil, 0)
				want, err := compute.TakeArray(compute.WithAllocator(ctx, mem), arr, ia)
				ia.Release()
				if err != nil {
					t.Fatal(err)
				}
				if !array.Equal(got, want) {
					t.Fatalf("%s n=%d off=%d: takeColumn gave %v, the take kernel %v", typ, n, off, got, want)
				}
				if got.NullN() != want.NullN() {
					t.Fatalf("%s n=%d off=%d: %d nulls, want %d", typ, n, off, got.NullN(), want.NullN())
				}
				got.Release()
				want.Release()
				arr.Release()
			}
		}
	}
}

// TestSelectionMatchesMask checks the selection vector of random masks,
// with nulls and offsets, against a row-by-row reading.
func TestSelectionMatchesMask(t *testing.T) {
	mem := memory.NewCheckedAllocator(bufpool.NewPoison())
	defer mem.AssertSize(t, 0)
	rng := rand.New(rand.NewPCG(5, 6))
	for _, n := range []int{0, 1, 64, 130, 1000} {
		for _, off := range []int{0, 5, 8} {
			mask := randomArray(t, mem, rng, arrow.FixedWidthTypes.Boolean, n, off).(*array.Boolean)
			got := selection(mask, nil)
			var want []int32
			for i := 0; i < mask.Len(); i++ {
				if mask.IsValid(i) && mask.Value(i) {
					want = append(want, int32(i))
				}
			}
			if len(got) != len(want) {
				t.Fatalf("n=%d off=%d: %d rows selected, want %d", n, off, len(got), len(want))
			}
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("n=%d off=%d: selection[%d] = %d, want %d", n, off, i, got[i], want[i])
				}
			}
			mask.Release()
		}
	}
}

// TestDenseIndexProbe checks the dense join index against a map, with
// null, missing and out-of-range keys, over int32 and int64 probes.
func TestDenseIndexProbe(t *testing.T) {
	mem := memory.NewCheckedAllocator(bufpool.NewPoison())
	defer mem.AssertSize(t, 0)
	rng := rand.New(rand.NewPCG(7, 8))
	bb := array.NewInt64Builder(mem)
	var rowGroup []int32
	groupOf := map[int64]int32{}
	for i := 0; i < 300; i++ {
		if i%17 == 0 {
			bb.AppendNull()
			rowGroup = append(rowGroup, -1)
			continue
		}
		v := 100 + rng.Int64N(500)
		g, ok := groupOf[v]
		if !ok {
			g = int32(len(groupOf))
			groupOf[v] = g
		}
		bb.Append(v)
		rowGroup = append(rowGroup, g)
	}
	col := bb.NewArray()
	bb.Release()
	sc := arrow.NewSchema([]arrow.Field{{Name: "k", Type: arrow.PrimitiveTypes.Int64, Nullable: true}}, nil)
	rec := array.NewRecordBatch(sc, []arrow.Array{col}, int64(col.Len()))
	col.Release()
	defer rec.Release()
	d := newDenseIndex([]arrow.RecordBatch{rec}, 0, rowGroup, len(groupOf))
	if d == nil {
		t.Fatal("no dense index over 500 values in [100, 600)")
	}
	for _, typ := range []arrow.DataType{arrow.PrimitiveTypes.Int64, arrow.PrimitiveTypes.Int32, arrow.PrimitiveTypes.Int16} {
		pb := array.NewBuilder(mem, typ)
		var keys []*int64
		for i := 0; i < 2000; i++ {
			if i%13 == 0 {
				pb.AppendNull()
				keys = append(keys, nil)
				continue
			}
			v := rng.Int64N(800) - 50
			switch b := pb.(type) {
			case *array.Int64Builder:
				b.Append(v)
			case *array.Int32Builder:
				b.Append(int32(v))
			case *array.Int16Builder:
				b.Append(int16(v))
			}
			keys = append(keys, &v)
		}
		probe := pb.NewArray()
		pb.Release()
		group := make([]int32, probe.Len())
		if !d.probe(probe, group) {
			t.Fatalf("%s: the dense index refused an integer probe", typ)
		}
		for i, k := range keys {
			want := int32(-1)
			if k != nil {
				if g, ok := groupOf[*k]; ok {
					want = g
				}
			}
			if group[i] != want {
				t.Fatalf("%s: row %d (key %v): group %d, want %d", typ, i, k, group[i], want)
			}
		}
		probe.Release()
	}
	if newDenseIndex([]arrow.RecordBatch{rec}, 0, rowGroup, 1) == nil {
		t.Log("a span of 500 over one group stays within 16*1+1024 slots")
	}
	wide := array.NewInt64Builder(mem)
	wide.AppendValues([]int64{0, 1 << 40}, nil)
	wcol := wide.NewArray()
	wide.Release()
	wrec := array.NewRecordBatch(sc, []arrow.Array{wcol}, 2)
	wcol.Release()
	defer wrec.Release()
	if newDenseIndex([]arrow.RecordBatch{wrec}, 0, []int32{0, 1}, 2) != nil {
		t.Error("a dense index over a span of 2^40 was built; it must be refused")
	}
}

// TestFilterNarrowedByProject checks that a filter below a projection
// gathers only the projected columns and that the projection's output is
// the same as with every column gathered.
func TestFilterNarrowedByProject(t *testing.T) {
	mem := memory.NewCheckedAllocator(bufpool.NewPoison())
	defer mem.AssertSize(t, 0)
	rng := rand.New(rand.NewPCG(9, 10))
	ctx := context.Background()
	a := randomArray(t, mem, rng, arrow.PrimitiveTypes.Int64, 500, 2)
	s := randomArray(t, mem, rng, arrow.BinaryTypes.String, 500, 1)
	ts := randomArray(t, mem, rng, &arrow.TimestampType{Unit: arrow.Millisecond, TimeZone: "UTC"}, 500, 0)
	sc := arrow.NewSchema([]arrow.Field{{Name: "a", Type: a.DataType(), Nullable: true},
		{Name: "s", Type: s.DataType(), Nullable: true}, {Name: "t", Type: ts.DataType(), Nullable: true}}, nil)
	rec := array.NewRecordBatch(sc, []arrow.Array{a, s, ts}, 500)
	a.Release()
	s.Release()
	ts.Release()
	defer rec.Release()
	cond, err := expr.Col("s").Lt(expr.Lit("m")).Bind(sc)
	if err != nil {
		t.Fatal(err)
	}
	var proj []*expr.Bound
	for _, e := range []expr.Expr{expr.Col("t"), expr.Col("a").Add(expr.Lit(int64(1))).As("a1")} {
		b, err := e.Bind(sc)
		if err != nil {
			t.Fatal(err)
		}
		proj = append(proj, b)
	}
	run := func(narrow bool) arrow.RecordBatch {
		f, err := NewFilter(cond, sc, mem)
		if err != nil {
			t.Fatal(err)
		}
		p, err := NewProject(proj, mem)
		if err != nil {
			t.Fatal(err)
		}
		pl := &Pipeline{ops: []Operator{f, p}}
		if narrow {
			pl.locateStateful()
			if f.keep == nil || f.keep[1] || !f.keep[0] || !f.keep[2] {
				t.Fatalf("the filter keeps %v; want a and t only", f.keep)
			}
		}
		mid, err := f.Process(ctx, rec)
		if err != nil {
			t.Fatal(err)
		}
		defer mid.Release()
		if narrow && mid.Column(1).DataType().ID() != arrow.NULL {
			t.Fatalf("the narrowed filter gathered column s (%s)", mid.Column(1).DataType())
		}
		out, err := p.Process(ctx, mid)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	want, got := run(false), run(true)
	defer want.Release()
	defer got.Release()
	if want.NumRows() == 0 || want.NumRows() == 500 {
		t.Fatalf("the filter kept %d of 500 rows; the test needs some of each", want.NumRows())
	}
	if !array.RecordEqual(want, got) {
		t.Fatalf("narrowed filter then project gave\n%v\nwant\n%v", got, want)
	}
}
