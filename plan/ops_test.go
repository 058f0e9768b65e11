package plan_test

import (
	"context"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/expr"
	"github.com/sluicehq/sluice/plan"
)

var ordersSchema = arrow.NewSchema([]arrow.Field{
	{Name: "id", Type: arrow.PrimitiveTypes.Int32},
	{Name: "items", Type: arrow.ListOf(arrow.BinaryTypes.String), Nullable: true},
	{Name: "price", Type: arrow.PrimitiveTypes.Float32},
}, nil)

var refundsSchema = arrow.NewSchema([]arrow.Field{
	{Name: "refund_id", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: "lines", Type: arrow.ListOf(arrow.BinaryTypes.String), Nullable: true},
	{Name: "amount", Type: arrow.PrimitiveTypes.Float64},
}, nil)

func TestUnion(t *testing.T) {
	a := plan.NewScan(0, "orders", ordersSchema)
	b := plan.NewScan(1, "refunds", refundsSchema)
	u, err := plan.NewUnion(a, b)
	if err != nil {
		t.Fatal(err)
	}
	want := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "items", Type: arrow.ListOf(arrow.BinaryTypes.String), Nullable: true},
		{Name: "price", Type: arrow.PrimitiveTypes.Float64},
	}, nil)
	if !u.Schema().Equal(want) {
		t.Errorf("union schema %s, want %s", u.Schema(), want)
	}
	f, err := plan.NewFilter(u, expr.Col("price").Gt(expr.Lit(1)))
	if err != nil {
		t.Fatal(err)
	}
	wantExplain := `== Logical Plan ==
Filter (price > 1)
+- Union [id, items, price]
   :- StreamingRelation orders, [id, items, price]
   +- StreamingRelation refunds, [refund_id, lines, amount]
`
	if got := plan.Explain(f); got != wantExplain {
		t.Errorf("Explain:\n%s\nwant:\n%s", got, wantExplain)
	}
	if err := plan.CheckStreaming(f, plan.Append); err != nil {
		t.Errorf("CheckStreaming: %v", err)
	}
	if srcs := plan.Sources(f); len(srcs) != 2 || srcs[0] != a || srcs[1] != b {
		t.Errorf("Sources = %v", srcs)
	}

	narrow, err := plan.NewProject(b, expr.Col("refund_id"), expr.Col("lines"))
	if err != nil {
		t.Fatal(err)
	}
	strs, err := plan.NewProject(b, expr.Col("refund_id"), expr.Col("amount"), expr.Col("lines"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		inputs []plan.Node
		want   []string
	}{
		{[]plan.Node{a}, []string{"at least 2 inputs, got 1"}},
		{[]plan.Node{a, nil}, []string{"input 2 is nil"}},
		{[]plan.Node{a, narrow}, []string{"input 1 has 3 (id, items, price) and input 2 has 2 (refund_id, lines)"}},
		{[]plan.Node{a, a, strs}, []string{"column 2 has incompatible types", "items list<item: utf8, nullable> in input 1", "amount float64 in input 3"}},
	} {
		_, err := plan.NewUnion(c.inputs...)
		if err == nil {
			t.Errorf("%v: no error", c.inputs)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%v; want %q", err, w)
			}
		}
	}
}

func TestUnionTypes(t *testing.T) {
	tsUTC := &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}
	tsMs := &arrow.TimestampType{Unit: arrow.Millisecond}
	for _, c := range []struct {
		a, b, want arrow.DataType // want nil: incompatible
	}{
		{arrow.PrimitiveTypes.Int8, arrow.PrimitiveTypes.Int16, arrow.PrimitiveTypes.Int16},
		{arrow.PrimitiveTypes.Int64, arrow.PrimitiveTypes.Int32, arrow.PrimitiveTypes.Int64},
		{arrow.PrimitiveTypes.Float32, arrow.PrimitiveTypes.Int64, arrow.PrimitiveTypes.Float64},
		{arrow.PrimitiveTypes.Float32, arrow.PrimitiveTypes.Float32, arrow.PrimitiveTypes.Float32},
		{arrow.BinaryTypes.String, arrow.BinaryTypes.LargeString, arrow.BinaryTypes.LargeString},
		{arrow.Null, arrow.BinaryTypes.String, arrow.BinaryTypes.String},
		{tsUTC, tsMs, tsUTC},
		{arrow.BinaryTypes.String, arrow.PrimitiveTypes.Int64, nil},
		{arrow.PrimitiveTypes.Uint64, arrow.PrimitiveTypes.Int64, nil},
		{arrow.FixedWidthTypes.Boolean, arrow.PrimitiveTypes.Int8, nil},
		{tsUTC, &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "Europe/Oslo"}, nil},
	} {
		l := plan.NewScan(0, "l", arrow.NewSchema([]arrow.Field{{Name: "x", Type: c.a}}, nil))
		r := plan.NewScan(1, "r", arrow.NewSchema([]arrow.Field{{Name: "y", Type: c.b}}, nil))
		u, err := plan.NewUnion(l, r)
		switch {
		case c.want == nil && err == nil:
			t.Errorf("%s with %s: union is %s, want an error", c.a, c.b, u.Schema())
		case c.want != nil && err != nil:
			t.Errorf("%s with %s: %v", c.a, c.b, err)
		case c.want != nil && !arrow.TypeEqual(u.Schema().Field(0).Type, c.want):
			t.Errorf("%s with %s: %s, want %s", c.a, c.b, u.Schema().Field(0).Type, c.want)
		}
	}
}

func TestGenerate(t *testing.T) {
	scan := plan.NewScan(0, "orders", ordersSchema)
	g, err := plan.NewGenerate(scan, expr.PosExplode(expr.Col("items")).AsNames("n", "item"), []int{2, 0, 0})
	if err != nil {
		t.Fatal(err)
	}
	want := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int32},
		{Name: "price", Type: arrow.PrimitiveTypes.Float32},
		{Name: "n", Type: arrow.PrimitiveTypes.Int32},
		{Name: "item", Type: arrow.BinaryTypes.String, Nullable: true},
	}, nil)
	if !g.Schema().Equal(want) {
		t.Errorf("schema %s, want %s", g.Schema(), want)
	}
	if g.Bound() == nil || len(g.Keep) != 2 {
		t.Errorf("bound %v keep %v", g.Bound(), g.Keep)
	}
	p, err := plan.NewProject(g, expr.Col("item"), expr.Col("n").Add(expr.Lit(1)).As("line"))
	if err != nil {
		t.Fatal(err)
	}
	wantExplain := `== Logical Plan ==
Project [item, (n + 1) AS line]
+- Generate posexplode(items) AS (n, item), [id, price, n, item]
   +- StreamingRelation orders, [id, items, price]
`
	if got := plan.Explain(p); got != wantExplain {
		t.Errorf("Explain:\n%s\nwant:\n%s", got, wantExplain)
	}
	if err := plan.CheckStreaming(p, plan.Update); err != nil {
		t.Errorf("CheckStreaming: %v", err)
	}
	all, err := plan.NewGenerate(scan, expr.ExplodeOuter(expr.Col("items")), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := all.Schema().String(); !strings.Contains(got, "id: type=int32") || !strings.Contains(got, "items: type=list") || !strings.Contains(got, "col: type=utf8, nullable") {
		t.Errorf("keep all: %s", got)
	}
	for _, c := range []struct {
		gen  expr.Expr
		keep []int
		want string
	}{
		{expr.Explode(expr.Col("items")).As("id"), nil, `produces a column "id", but the input already has one`},
		{expr.Explode(expr.Col("items")), []int{5}, "column index 5 is out of range: the input has 3 columns (id, items, price)"},
		{expr.Explode(expr.Col("price")), nil, "explode needs an array or a map, but price is float"},
		{expr.Col("items"), nil, "items is not a generator"},
	} {
		if _, err := plan.NewGenerate(scan, c.gen, c.keep); err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "plan: Generate: ") {
			t.Errorf("%s: %v, want %q", c.gen, err, c.want)
		}
	}
	if _, err := plan.NewGenerate(nil, expr.Explode(expr.Col("items")), nil); err == nil {
		t.Error("nil input accepted")
	}
}

func TestMapBatches(t *testing.T) {
	scan := plan.NewScan(0, "orders", ordersSchema)
	out := arrow.NewSchema([]arrow.Field{{Name: "total", Type: arrow.PrimitiveTypes.Float64}}, nil)
	fn := func(ctx context.Context, rec arrow.RecordBatch, mem memory.Allocator) (arrow.RecordBatch, error) {
		return nil, nil
	}
	m, err := plan.NewMapBatches(scan, out, fn, "")
	if err != nil {
		t.Fatal(err)
	}
	if m.Schema() != out || m.String() != "MapBatches func, [total]" {
		t.Errorf("%s %s", m.Schema(), m)
	}
	if err := plan.CheckStreaming(m, plan.Append); err != nil {
		t.Errorf("CheckStreaming: %v", err)
	}
	dup := arrow.NewSchema([]arrow.Field{{Name: "a", Type: arrow.PrimitiveTypes.Int8}, {Name: "a", Type: arrow.PrimitiveTypes.Int8}}, nil)
	for _, c := range []struct {
		in   plan.Node
		out  *arrow.Schema
		fn   plan.MapFunc
		want string
	}{
		{nil, out, fn, "input is nil"},
		{scan, nil, fn, "output schema is nil"},
		{scan, out, nil, "function is nil"},
		{scan, dup, fn, `two columns named "a"`},
	} {
		if _, err := plan.NewMapBatches(c.in, c.out, c.fn, "f"); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v, want %q", err, c.want)
		}
	}
}

func TestReindexSources(t *testing.T) {
	a := plan.NewScan(0, "a", ordersSchema)
	b := plan.NewScan(1, "b", ordersSchema)
	fa, err := plan.NewFilter(a, expr.Col("id").Gt(expr.Lit(0)))
	if err != nil {
		t.Fatal(err)
	}
	u, err := plan.NewUnion(fa, b)
	if err != nil {
		t.Fatal(err)
	}
	g, err := plan.NewGenerate(u, expr.Explode(expr.Col("items")).As("item"), []int{0})
	if err != nil {
		t.Fatal(err)
	}
	m, err := plan.NewMapBatches(g, g.Schema(), func(ctx context.Context, rec arrow.RecordBatch, mem memory.Allocator) (arrow.RecordBatch, error) {
		return nil, nil
	}, "f")
	if err != nil {
		t.Fatal(err)
	}
	p, err := plan.NewProject(m, expr.Col("item"))
	if err != nil {
		t.Fatal(err)
	}
	moved, err := plan.ReindexSources(p, func(i int) int { return i + 3 })
	if err != nil {
		t.Fatal(err)
	}
	srcs := plan.Sources(moved)
	if len(srcs) != 2 || srcs[0].Source != 3 || srcs[1].Source != 4 || srcs[0].Name != "a" {
		t.Errorf("sources after reindexing: %v", srcs)
	}
	if a.Source != 0 || plan.Sources(p)[1].Source != 1 {
		t.Error("ReindexSources changed the original plan")
	}
	if plan.Explain(moved) != plan.Explain(p) || !moved.Schema().Equal(p.Schema()) {
		t.Errorf("reindexed plan differs:\n%s\n%s", plan.Explain(moved), plan.Explain(p))
	}
	if _, err := plan.ReindexSources(twoChildren{a, b}, func(i int) int { return i }); err == nil || !strings.Contains(err.Error(), "no WithChildren method") {
		t.Errorf("foreign node: %v", err)
	}
}
