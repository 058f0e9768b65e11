package incremental_test

import (
	"context"
	"errors"
	"flag"
	"math"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/bufpool"
	"github.com/sluicehq/sluice/expr"
	"github.com/sluicehq/sluice/incremental"
	"github.com/sluicehq/sluice/plan"
)

var seedFlag = flag.Uint64("seed", 0, "seed of the randomized tests (0: a fresh one)")

func checked(t testing.TB) *memory.CheckedAllocator {
	mem := memory.NewCheckedAllocator(bufpool.NewPoison())
	t.Cleanup(func() { mem.AssertSize(t, 0) })
	return mem
}

var testSchema = arrow.NewSchema([]arrow.Field{
	{Name: "a", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: "b", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
	{Name: "f", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	{Name: "s", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "p", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
}, nil)

// row is one row of testSchema; nil fields are null.
type row struct {
	a *int64
	b *int32
	f *float64
	s *string
	p *bool
}

func ptr[T any](v T) *T { return &v }

func randomRows(r *rand.Rand, n int) []row {
	words := []string{"x", "y", "zz", ""}
	rows := make([]row, n)
	for i := range rows {
		maybe := func() bool { return r.IntN(5) != 0 }
		if maybe() {
			rows[i].a = ptr(r.Int64N(21) - 10)
		}
		if maybe() {
			rows[i].b = ptr(int32(r.IntN(21) - 10))
		}
		if maybe() {
			rows[i].f = ptr(r.Float64())
		}
		if maybe() {
			rows[i].s = ptr(words[r.IntN(len(words))])
		}
		if maybe() {
			rows[i].p = ptr(r.IntN(2) == 0)
		}
	}
	return rows
}

// recordOf builds a testSchema record from rows; the caller releases it.
func recordOf(mem memory.Allocator, rows []row) arrow.RecordBatch {
	b := array.NewRecordBuilder(mem, testSchema)
	defer b.Release()
	ab := b.Field(0).(*array.Int64Builder)
	bb := b.Field(1).(*array.Int32Builder)
	fb := b.Field(2).(*array.Float64Builder)
	sb := b.Field(3).(*array.StringBuilder)
	pb := b.Field(4).(*array.BooleanBuilder)
	for _, r := range rows {
		appendOpt(ab.Append, ab.AppendNull, r.a)
		appendOpt(bb.Append, bb.AppendNull, r.b)
		appendOpt(fb.Append, fb.AppendNull, r.f)
		appendOpt(sb.Append, sb.AppendNull, r.s)
		appendOpt(pb.Append, pb.AppendNull, r.p)
	}
	return b.NewRecordBatch()
}

func appendOpt[T any](app func(T), null func(), v *T) {
	if v == nil {
		null()
		return
	}
	app(*v)
}

// rowsOf reads a testSchema record back.
func rowsOf(t *testing.T, rec arrow.RecordBatch) []row {
	t.Helper()
	a := rec.Column(0).(*array.Int64)
	b := rec.Column(1).(*array.Int32)
	f := rec.Column(2).(*array.Float64)
	s := rec.Column(3).(*array.String)
	p := rec.Column(4).(*array.Boolean)
	out := make([]row, rec.NumRows())
	for i := range out {
		if a.IsValid(i) {
			out[i].a = ptr(a.Value(i))
		}
		if b.IsValid(i) {
			out[i].b = ptr(b.Value(i))
		}
		if f.IsValid(i) {
			out[i].f = ptr(f.Value(i))
		}
		if s.IsValid(i) {
			out[i].s = ptr(strings.Clone(s.Value(i))) // a view of a buffer the caller releases
		}
		if p.IsValid(i) {
			out[i].p = ptr(p.Value(i))
		}
	}
	return out
}

func eqPtr[T comparable](x, y *T) bool {
	if x == nil || y == nil {
		return x == nil && y == nil
	}
	return *x == *y
}

func sameRow(x, y row) bool {
	return eqPtr(x.a, y.a) && eqPtr(x.b, y.b) && eqPtr(x.f, y.f) && eqPtr(x.s, y.s) && eqPtr(x.p, y.p)
}

// tri is a three-valued boolean for the reference: nil is null.
type tri = *bool

func and3(x, y tri) tri {
	if (x != nil && !*x) || (y != nil && !*y) {
		return ptr(false)
	}
	if x == nil || y == nil {
		return nil
	}
	return ptr(true)
}

func or3(x, y tri) tri {
	if (x != nil && *x) || (y != nil && *y) {
		return ptr(true)
	}
	if x == nil || y == nil {
		return nil
	}
	return ptr(false)
}

func not3(x tri) tri {
	if x == nil {
		return nil
	}
	return ptr(!*x)
}

func cmp3[T int64 | float64 | string](x, y *T, f func(T, T) bool) tri {
	if x == nil || y == nil {
		return nil
	}
	return ptr(f(*x, *y))
}

func gt[T int64 | float64 | string](x, y T) bool { return x > y }
func le[T int64 | float64 | string](x, y T) bool { return x <= y }
func eq[T int64 | float64 | string](x, y T) bool { return x == y }

func widen(b *int32) *int64 {
	if b == nil {
		return nil
	}
	return ptr(int64(*b))
}

func toF(a *int64) *float64 {
	if a == nil {
		return nil
	}
	return ptr(float64(*a))
}

// filterCases pairs conditions with a row-at-a-time reference of their
// three-valued result.
var filterCases = []struct {
	cond expr.Expr
	ref  func(r row) tri
}{
	{expr.Col("a").Gt(expr.Lit(0)), func(r row) tri { return cmp3(r.a, ptr(int64(0)), gt) }},
	{expr.Col("a").Gt(expr.Lit(0)).And(expr.Col("p")), func(r row) tri { return and3(cmp3(r.a, ptr(int64(0)), gt), r.p) }},
	{expr.Col("a").Gt(expr.Lit(0)).Or(expr.Col("s").Eq(expr.Lit("x"))), func(r row) tri {
		return or3(cmp3(r.a, ptr(int64(0)), gt), cmp3(r.s, ptr("x"), eq))
	}},
	{expr.Not(expr.Col("p").Or(expr.Col("f").Lt(expr.Lit(0.5)))), func(r row) tri {
		return not3(or3(r.p, cmp3(ptr(0.5), r.f, gt)))
	}},
	{expr.Col("a").IsNull().Or(expr.Col("b").Le(expr.Col("a"))), func(r row) tri {
		return or3(ptr(r.a == nil), cmp3(widen(r.b), r.a, le))
	}},
	{expr.Col("a").Add(expr.Col("b")).Mul(expr.Lit(2)).Gt(expr.Col("f")), func(r row) tri {
		wa, wb := r.a, widen(r.b)
		if wa == nil || wb == nil {
			return nil
		}
		return cmp3(toF(ptr((*wa+*wb)*2)), r.f, gt)
	}},
	{expr.Col("p").And(expr.Lit(nil)), func(r row) tri { return and3(r.p, nil) }},
	{expr.Col("p").Or(expr.Lit(nil)), func(r row) tri { return or3(r.p, nil) }},
	{expr.And(expr.Col("p").IsNotNull(), expr.Col("p").NotEq(expr.Lit(false)), expr.Col("s").IsNotNull()), func(r row) tri {
		return and3(and3(ptr(r.p != nil), not3(eqBool(r.p, false))), ptr(r.s != nil))
	}},
	{expr.Lit(1).Lt(expr.Lit(2)), func(row) tri { return ptr(true) }},
	{expr.Col("f").Div(expr.Col("b")).Ge(expr.Lit(0)), func(r row) tri {
		if r.f == nil || r.b == nil || *r.b == 0 {
			return nil // zero divisors are filtered out of this case's data
		}
		return ptr(*r.f/float64(*r.b) >= 0)
	}},
}

func eqBool(x *bool, v bool) tri {
	if x == nil {
		return nil
	}
	return ptr(*x == v)
}

func TestFilterMatchesReference(t *testing.T) {
	seed := *seedFlag
	if seed == 0 {
		seed = rand.Uint64()
	}
	t.Logf("seed %d (rerun with -seed=%d)", seed, seed)
	r := rand.New(rand.NewPCG(seed, 11))
	mem := checked(t)
	ctx := context.Background()
	scan := plan.NewScan(0, "test", testSchema)
	for ci, c := range filterCases {
		f, err := plan.NewFilter(scan, c.cond)
		if err != nil {
			t.Fatalf("case %d: %v", ci, err)
		}
		p, err := incremental.Build(f, mem)
		if err != nil {
			t.Fatal(err)
		}
		for round := 0; round < 5; round++ {
			rows := randomRows(r, 50+r.IntN(300))
			if strings.Contains(c.cond.String(), "/ b") {
				for i := range rows {
					if rows[i].b != nil && *rows[i].b == 0 {
						rows[i].b = nil
					}
				}
			}
			full := recordOf(mem, rows)
			// A slice at an odd offset exercises bitmap offsets.
			off := r.IntN(9)
			rec := full.NewSlice(int64(off), full.NumRows())
			full.Release()
			in := rows[off:]
			var want []row
			for _, row := range in {
				if v := c.ref(row); v != nil && *v {
					want = append(want, row)
				}
			}
			outs, err := p.Process(ctx, 0, rec)
			if err != nil {
				t.Fatalf("%s: %v", c.cond, err)
			}
			var got []row
			for _, o := range outs {
				if !o.Schema().Equal(p.OutputSchema()) {
					t.Errorf("%s: output schema %s, want %s", c.cond, o.Schema(), p.OutputSchema())
				}
				got = append(got, rowsOf(t, o)...)
				o.Release()
			}
			if len(got) != len(want) {
				t.Fatalf("%s (offset %d): %d rows pass, want %d", c.cond, off, len(got), len(want))
			}
			for i := range got {
				if !sameRow(got[i], want[i]) {
					t.Fatalf("%s: row %d is %+v, want %+v", c.cond, i, got[i], want[i])
				}
			}
			rec.Release()
		}
	}
}

func TestProjectionWithArithmeticAndAlias(t *testing.T) {
	mem := checked(t)
	scan := plan.NewScan(0, "test", testSchema)
	f, err := plan.NewFilter(scan, expr.Col("a").IsNotNull())
	if err != nil {
		t.Fatal(err)
	}
	proj, err := plan.NewProject(f,
		expr.Col("a"),
		expr.Col("a").Mul(expr.Lit(7)).Add(expr.Lit(3)).As("reading"),
		expr.Col("a").Div(expr.Lit(2)),
		expr.Col("b").Add(expr.Lit(1)).As("b1"),
		expr.Col("b").Sub(expr.Col("a")).As("d"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := incremental.Build(proj, mem)
	if err != nil {
		t.Fatal(err)
	}
	wantSchema := arrow.NewSchema([]arrow.Field{
		{Name: "a", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "reading", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "(a / 2)", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "b1", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
		{Name: "d", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	}, nil)
	if !p.OutputSchema().Equal(wantSchema) {
		t.Fatalf("output schema %s, want %s", p.OutputSchema(), wantSchema)
	}
	rec := recordOf(mem, []row{
		{a: ptr(int64(1)), b: ptr(int32(10))},
		{a: nil, b: ptr(int32(5))},
		{a: ptr(int64(-4)), b: nil},
		{a: ptr(int64(5)), b: ptr(int32(math.MaxInt32 - 1))},
	})
	defer rec.Release()
	outs, err := p.Process(context.Background(), 0, rec)
	if err != nil {
		t.Fatal(err)
	}
	if len(outs) != 1 {
		t.Fatalf("%d records, want 1", len(outs))
	}
	out := outs[0]
	defer out.Release()
	if out.NumRows() != 3 {
		t.Fatalf("%d rows, want 3", out.NumRows())
	}
	reading := out.Column(1).(*array.Int64)
	half := out.Column(2).(*array.Float64)
	b1 := out.Column(3).(*array.Int32)
	d := out.Column(4).(*array.Int64)
	wantReading := []int64{10, -25, 38}
	wantHalf := []float64{0.5, -2, 2.5}
	for i := 0; i < 3; i++ {
		if reading.Value(i) != wantReading[i] || half.Value(i) != wantHalf[i] {
			t.Errorf("row %d: reading %d, a/2 %v; want %d, %v", i, reading.Value(i), half.Value(i), wantReading[i], wantHalf[i])
		}
	}
	if b1.Value(0) != 11 || !b1.IsNull(1) || b1.Value(2) != math.MaxInt32 {
		t.Errorf("b1 = %v, want [11 null %d]", b1, math.MaxInt32)
	}
	if d.Value(0) != 9 || !d.IsNull(1) || d.Value(2) != math.MaxInt32-6 {
		t.Errorf("d = %v", d)
	}
}

func TestEvaluationErrors(t *testing.T) {
	mem := checked(t)
	scan := plan.NewScan(0, "test", testSchema)
	proj, err := plan.NewProject(scan, expr.Col("a").Mul(expr.Lit(int64(math.MaxInt64/3))).As("big"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := incremental.Build(proj, mem)
	if err != nil {
		t.Fatal(err)
	}
	rec := recordOf(mem, []row{{a: ptr(int64(2))}, {a: ptr(int64(4))}})
	defer rec.Release()
	_, err = p.Process(context.Background(), 0, rec)
	want := "incremental: Project: expr: integer overflow in (a * 3074457345618258602) at row 1: 4 * 3074457345618258602 = 12297829382473034408 does not fit in int64"
	if err == nil || !strings.Contains(err.Error(), want) || !errors.Is(err, expr.ErrOverflow) {
		t.Errorf("overflow: got %v, want %q", err, want)
	}

	// Mistakes in the query are caught when the plan is built, naming the
	// expression.
	_, err = plan.NewFilter(scan, expr.Col("aa").Gt(expr.Lit(1)))
	want = `plan: Filter: expr: unknown column "aa" in (aa > 1); did you mean "a"? available columns: a, b, f, s, p`
	if err == nil || err.Error() != want {
		t.Errorf("unknown column: got %v, want %q", err, want)
	}
	_, err = plan.NewFilter(scan, expr.Col("s").Lt(expr.Col("a")))
	want = "plan: Filter: expr: type mismatch in (s < a): cannot compare s (utf8) with a (int64); cast one side so both have the same type"
	if err == nil || err.Error() != want {
		t.Errorf("type error: got %v, want %q", err, want)
	}
}

func TestFastPaths(t *testing.T) {
	mem := checked(t)
	scan := plan.NewScan(0, "test", testSchema)
	build := func(cond expr.Expr) *incremental.Pipeline {
		f, err := plan.NewFilter(scan, cond)
		if err != nil {
			t.Fatal(err)
		}
		p, err := incremental.Build(f, mem)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	rec := recordOf(mem, []row{{a: ptr(int64(1))}, {a: ptr(int64(2))}, {a: ptr(int64(3))}})
	defer rec.Release()
	ctx := context.Background()

	before := mem.CurrentAlloc()
	outs, err := build(expr.Col("a").Gt(expr.Lit(0))).Process(ctx, 0, rec)
	if err != nil {
		t.Fatal(err)
	}
	if len(outs) != 1 || outs[0] != rec {
		t.Fatalf("all rows pass: got %v, want the input record itself", outs)
	}
	outs[0].Release()
	if mem.CurrentAlloc() != before {
		t.Errorf("all rows pass: %d bytes still allocated", mem.CurrentAlloc()-before)
	}

	for _, cond := range []expr.Expr{expr.Col("a").Gt(expr.Lit(5)), expr.Col("f").Gt(expr.Lit(0.0)), expr.Lit(false)} {
		outs, err = build(cond).Process(ctx, 0, rec)
		if err != nil || len(outs) != 0 {
			t.Fatalf("no row passes %s: got %v, %v; want no records", cond, outs, err)
		}
	}

	outs, err = build(expr.Col("a").NotEq(expr.Lit(2))).Process(ctx, 0, rec)
	if err != nil {
		t.Fatal(err)
	}
	if len(outs) != 1 || outs[0] == rec || outs[0].NumRows() != 2 {
		t.Fatalf("some rows pass: got %v", outs)
	}
	outs[0].Release()

	empty := recordOf(mem, nil)
	defer empty.Release()
	outs, err = build(expr.Lit(true)).Process(ctx, 0, empty)
	if err != nil || len(outs) != 0 {
		t.Errorf("empty input: got %v, %v; want no records", outs, err)
	}
}

// foreign is a plan node the incremental package has no operator for.
type foreign struct{ in plan.Node }

func (f foreign) Schema() *arrow.Schema { return f.in.Schema() }
func (f foreign) Children() []plan.Node { return []plan.Node{f.in} }
func (f foreign) String() string        { return "Foreign" }

func TestBuildAndInputErrors(t *testing.T) {
	mem := checked(t)
	scan := plan.NewScan(2, "events", testSchema)
	if _, err := incremental.Build(foreign{scan}, mem); err == nil || !strings.Contains(err.Error(), "no physical operator for plan node incremental_test.foreign (Foreign)") {
		t.Errorf("unknown node: %v", err)
	}
	if _, err := incremental.Build(&plan.Project{Input: scan, Exprs: []expr.Expr{expr.Col("a")}}, mem); err == nil || !strings.Contains(err.Error(), "not built with plan.NewProject") {
		t.Errorf("unbound project: %v", err)
	}
	if _, err := incremental.Build(&plan.Filter{Input: scan, Cond: expr.Col("p")}, mem); err == nil || !strings.Contains(err.Error(), "not built with plan.NewFilter") {
		t.Errorf("unbound filter: %v", err)
	}
	p, err := incremental.Build(scan, mem)
	if err != nil {
		t.Fatal(err)
	}
	rec := recordOf(mem, []row{{a: ptr(int64(1))}})
	defer rec.Release()
	ctx := context.Background()
	if _, err := p.Process(ctx, 0, rec); err == nil || !strings.Contains(err.Error(), "got a record from source 0, but the plan reads only source 2 (events)") {
		t.Errorf("wrong source: %v", err)
	}
	other := array.NewRecordBatch(arrow.NewSchema([]arrow.Field{
		{Name: "a", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "b", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "f", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "s", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "p", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
	}, nil), []arrow.Array{rec.Column(0), rec.Column(0), rec.Column(2), rec.Column(3), rec.Column(4)}, 1)
	defer other.Release()
	if _, err := p.Process(ctx, 2, other); err == nil || !strings.Contains(err.Error(), `column 1 is "b" int64, the source declares "b" int32`) {
		t.Errorf("schema mismatch: %v", err)
	}
	if _, err := p.Process(ctx, 2, nil); err == nil || !strings.Contains(err.Error(), "record from source 2 is nil") {
		t.Errorf("nil record: %v", err)
	}
	// A scan alone passes records through unchanged.
	outs, err := p.Process(ctx, 2, rec)
	if err != nil || len(outs) != 1 || outs[0] != rec {
		t.Fatalf("scan only: %v, %v", outs, err)
	}
	outs[0].Release()
	if p.Stateful() || p.NeedsNoDataBatch(math.MaxInt64) {
		t.Error("a stateless pipeline reports state")
	}
}

func TestExplain(t *testing.T) {
	scan := plan.NewScan(0, "rate", testSchema)
	f, err := plan.NewFilter(scan, expr.Col("b").Gt(expr.Col("a")))
	if err != nil {
		t.Fatal(err)
	}
	proj, err := plan.NewProject(f, expr.Col("a"), expr.Col("b").Mul(expr.Lit(2).Add(expr.Lit(3))).As("x"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := incremental.Build(proj, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := `== Physical Plan ==
ProjectExec [a, (b * 5) AS x]
+- FilterExec (cast(b as bigint) > a)
   +- ScanExec rate (source 0), [a, b, f, s, p]
`
	if got := p.Explain(); got != want {
		t.Errorf("Explain:\n%s\nwant:\n%s", got, want)
	}
}

func TestConcurrentProcess(t *testing.T) {
	mem := checked(t)
	scan := plan.NewScan(0, "test", testSchema)
	f, err := plan.NewFilter(scan, expr.Col("a").Gt(expr.Lit(0)).Or(expr.Col("p")))
	if err != nil {
		t.Fatal(err)
	}
	proj, err := plan.NewProject(f, expr.Col("a").Add(expr.Col("b")).As("ab"), expr.Col("s"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := incremental.Build(proj, mem)
	if err != nil {
		t.Fatal(err)
	}
	rec := recordOf(mem, randomRows(rand.New(rand.NewPCG(1, 2)), 1000))
	defer rec.Release()
	want, err := p.Process(context.Background(), 0, rec)
	if err != nil {
		t.Fatal(err)
	}
	defer want[0].Release()
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 20; i++ {
				got, err := p.Process(context.Background(), 0, rec)
				if err != nil {
					t.Error(err)
					return
				}
				if !array.RecordEqual(got[0], want[0]) {
					t.Error("concurrent Process gave a different result")
				}
				got[0].Release()
			}
		}()
	}
	wg.Wait()
}

// A null condition drops its row even when the value bit under the null
// is set, as kernels may leave it.
func TestFilterDropsNullsWhoseValueBitIsSet(t *testing.T) {
	mem := checked(t)
	schema := arrow.NewSchema([]arrow.Field{{Name: "p", Type: arrow.FixedWidthTypes.Boolean, Nullable: true}}, nil)
	values := memory.NewResizableBuffer(mem)
	values.Resize(1)
	values.Bytes()[0] = 0b1111 // every row true...
	validity := memory.NewResizableBuffer(mem)
	validity.Resize(1)
	validity.Bytes()[0] = 0b1011 // ...but row 2 null
	data := array.NewData(arrow.FixedWidthTypes.Boolean, 4, []*memory.Buffer{validity, values}, nil, 1, 0)
	values.Release()
	validity.Release()
	col := array.MakeFromData(data)
	data.Release()
	rec := array.NewRecordBatch(schema, []arrow.Array{col}, 4)
	col.Release()
	defer rec.Release()

	f, err := plan.NewFilter(plan.NewScan(0, "p", schema), expr.Col("p"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := incremental.Build(f, mem)
	if err != nil {
		t.Fatal(err)
	}
	outs, err := p.Process(context.Background(), 0, rec)
	if err != nil {
		t.Fatal(err)
	}
	if len(outs) != 1 || outs[0].NumRows() != 3 || outs[0].Column(0).NullN() != 0 {
		t.Fatalf("got %v, want the 3 non-null rows", outs)
	}
	outs[0].Release()
}
