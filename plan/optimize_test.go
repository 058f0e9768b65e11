package plan

import (
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sluicehq/sluice/expr"
)

// A Project over a Filter gets a narrow projection of the columns both
// read inserted below the Filter; the result's schema is unchanged.
func TestOptimizePrunesColumnsBelowFilter(t *testing.T) {
	s := arrow.NewSchema([]arrow.Field{
		{Name: "a", Type: arrow.PrimitiveTypes.Int64}, {Name: "b", Type: arrow.BinaryTypes.String},
		{Name: "c", Type: arrow.BinaryTypes.String}, {Name: "d", Type: arrow.PrimitiveTypes.Float64},
	}, nil)
	scan := NewScan(0, "src", s)
	f, err := NewFilter(scan, expr.Col("b").Eq(expr.Lit("view")))
	if err != nil {
		t.Fatal(err)
	}
	p, err := NewProject(f, expr.Col("a"), expr.Col("d").Mul(expr.Lit(2.0)).As("dd"))
	if err != nil {
		t.Fatal(err)
	}
	got := Optimize(p)
	if !got.Schema().Equal(p.Schema()) {
		t.Fatalf("schema changed: %s -> %s", p.Schema(), got.Schema())
	}
	want := "Project [a, (d * 2.0) AS dd]\n+- Filter (b = view)\n   +- Project [a, b, d]\n      +- StreamingRelation src, [a, b, c, d]\n"
	if ex := Explain(got); !strings.HasSuffix(ex, want) {
		t.Errorf("optimized plan:\n%s\nwant:\n%s", ex, want)
	}
	// Applying it again changes nothing; a filter that needs every column
	// is left alone.
	if again := Explain(Optimize(got)); again != Explain(got) {
		t.Errorf("a second Optimize changed the plan:\n%s", again)
	}
	all, _ := NewProject(f, expr.Col("a"), expr.Col("c"), expr.Col("d"))
	if Optimize(all) != Node(all) {
		t.Error("a projection needing every column was rewritten")
	}
}
