package plan_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sluicehq/sluice/expr"
	"github.com/sluicehq/sluice/plan"
)

var rateSchema = arrow.NewSchema([]arrow.Field{
	{Name: "timestamp", Type: arrow.FixedWidthTypes.Timestamp_us},
	{Name: "value", Type: arrow.PrimitiveTypes.Int64},
}, nil)

func build(t *testing.T) (*plan.Scan, *plan.Filter, *plan.Project) {
	t.Helper()
	scan := plan.NewScan(0, "rate", rateSchema)
	filter, err := plan.NewFilter(scan, expr.Col("value").Ge(expr.Lit(0)))
	if err != nil {
		t.Fatal(err)
	}
	project, err := plan.NewProject(filter, expr.Col("timestamp"), expr.Col("value"),
		expr.Col("value").Mul(expr.Lit(5)).As("reading"), expr.Col("value").Div(expr.Lit(2)))
	if err != nil {
		t.Fatal(err)
	}
	return scan, filter, project
}

func TestExplainAndSchemas(t *testing.T) {
	scan, filter, project := build(t)
	want := `== Logical Plan ==
Project [timestamp, value, (value * 5) AS reading, (value / 2)]
+- Filter (value >= 0)
   +- StreamingRelation rate, [timestamp, value]
`
	if got := plan.Explain(project); got != want {
		t.Errorf("Explain:\n%s\nwant:\n%s", got, want)
	}
	if !filter.Schema().Equal(rateSchema) {
		t.Errorf("filter schema %s, want its input's", filter.Schema())
	}
	got := project.Schema()
	wantFields := []arrow.Field{
		{Name: "timestamp", Type: arrow.FixedWidthTypes.Timestamp_us},
		{Name: "value", Type: arrow.PrimitiveTypes.Int64},
		{Name: "reading", Type: arrow.PrimitiveTypes.Int64},
		{Name: "(value / 2)", Type: arrow.PrimitiveTypes.Float64},
	}
	if !got.Equal(arrow.NewSchema(wantFields, nil)) {
		t.Errorf("project schema %s, want %v", got, wantFields)
	}
	if n := len(project.Bound()); n != 4 {
		t.Errorf("project has %d bound expressions, want 4", n)
	}
	if !filter.Bound().IsBoolean() {
		t.Error("filter condition is not boolean")
	}
	if srcs := plan.Sources(project); len(srcs) != 1 || srcs[0] != scan {
		t.Errorf("Sources = %v, want the one scan", srcs)
	}
	if s := plan.NewScan(3, "", rateSchema).String(); s != "StreamingRelation source 3, [timestamp, value]" {
		t.Errorf("unnamed scan: %q", s)
	}
}

func TestConstructorErrors(t *testing.T) {
	scan := plan.NewScan(0, "rate", rateSchema)
	cases := []struct {
		name string
		err  func() error
		want string
	}{
		{"unknown column", func() error {
			_, err := plan.NewProject(scan, expr.Col("vaule"))
			return err
		}, `plan: Project: expr: unknown column "vaule"; did you mean "value"? available columns: timestamp, value`},
		{"duplicate names", func() error {
			_, err := plan.NewProject(scan, expr.Col("value"), expr.Col("timestamp").As("value"))
			return err
		}, `plan: Project: expressions 1 (value) and 2 (timestamp AS value) both produce a column named "value"`},
		{"no expressions", func() error {
			_, err := plan.NewProject(scan)
			return err
		}, "plan: Project: no expressions"},
		{"nil input", func() error {
			_, err := plan.NewFilter(nil, expr.Lit(true))
			return err
		}, "plan: Filter: input is nil"},
		{"non-boolean condition", func() error {
			_, err := plan.NewFilter(scan, expr.Col("value").Add(expr.Lit(1)))
			return err
		}, "plan: Filter: the condition (value + 1) is int64, not boolean"},
		{"type error", func() error {
			_, err := plan.NewFilter(scan, expr.Col("timestamp").Gt(expr.Lit(true)))
			return err
		}, "plan: Filter: expr: type mismatch in (timestamp > true)"},
	}
	for _, c := range cases {
		err := c.err()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want an error containing %q", c.name, err, c.want)
		}
	}
	_, err := plan.NewProject(scan, expr.Col("nope"))
	if !errors.Is(err, expr.ErrUnknownColumn) {
		t.Errorf("unknown column error %v does not wrap expr.ErrUnknownColumn", err)
	}
}

func TestOutputModes(t *testing.T) {
	for in, want := range map[string]plan.OutputMode{"append": plan.Append, " Update ": plan.Update, "COMPLETE": plan.Complete} {
		got, err := plan.ParseOutputMode(in)
		if err != nil || got != want {
			t.Errorf("ParseOutputMode(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := plan.ParseOutputMode("upsert"); err == nil || !strings.Contains(err.Error(), `plan: unknown output mode "upsert": use append, update or complete`) {
		t.Errorf("ParseOutputMode(upsert): %v", err)
	}
	_, _, project := build(t)
	for _, m := range []plan.OutputMode{plan.Append, plan.Update} {
		if err := plan.CheckStreaming(project, m); err != nil {
			t.Errorf("CheckStreaming(%s): %v", m, err)
		}
	}
	err := plan.CheckStreaming(project, plan.Complete)
	if err == nil || !strings.Contains(err.Error(), "Complete output mode not supported when there are no streaming aggregations on streaming DataFrames/Datasets") {
		t.Errorf("CheckStreaming(complete): %v", err)
	}
	if err := plan.CheckStreaming(project, "upsert"); err == nil {
		t.Error("CheckStreaming accepted an unknown mode")
	}
	if err := plan.CheckStreaming(foreign{project}, plan.Append); err == nil || !strings.Contains(err.Error(), "unknown plan node plan_test.foreign") {
		t.Errorf("CheckStreaming(foreign node): %v", err)
	}
}

// foreign is a node type the plan package does not know.
type foreign struct{ in plan.Node }

func (f foreign) Schema() *arrow.Schema { return f.in.Schema() }
func (f foreign) Children() []plan.Node { return []plan.Node{f.in} }
func (f foreign) String() string        { return "Foreign" }

func TestTreeStringSiblings(t *testing.T) {
	a := plan.NewScan(0, "a", rateSchema)
	b := plan.NewScan(1, "b", rateSchema)
	u := twoChildren{a, b}
	f, err := plan.NewFilter(u, expr.Col("value").Gt(expr.Lit(1)))
	if err != nil {
		t.Fatal(err)
	}
	want := `== Logical Plan ==
Filter (value > 1)
+- Two
   :- StreamingRelation a, [timestamp, value]
   +- StreamingRelation b, [timestamp, value]
`
	if got := plan.Explain(f); got != want {
		t.Errorf("Explain:\n%s\nwant:\n%s", got, want)
	}
	if srcs := plan.Sources(f); len(srcs) != 2 || srcs[0] != a || srcs[1] != b {
		t.Errorf("Sources = %v, want a then b", srcs)
	}
}

type twoChildren struct{ l, r plan.Node }

func (u twoChildren) Schema() *arrow.Schema { return u.l.Schema() }
func (u twoChildren) Children() []plan.Node { return []plan.Node{u.l, u.r} }
func (u twoChildren) String() string        { return "Two" }
