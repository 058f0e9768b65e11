package plan

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sluicehq/sluice/expr"
)

// Node is a logical plan node. Nodes are immutable once built.
type Node interface {
	// Schema is the schema of the rows the node produces.
	Schema() *arrow.Schema
	// Children are the node's inputs, in order; a leaf has none.
	Children() []Node
	// String describes the node alone (not its children), one line.
	String() string
}

// Scan reads one source of the query: Source is its index in the query's
// list of sources, Name describes it, Out is its schema.
type Scan struct {
	Source int
	Name   string
	Out    *arrow.Schema
}

// NewScan returns the scan of source index, which produces schema.
func NewScan(index int, name string, schema *arrow.Schema) *Scan {
	return &Scan{Source: index, Name: name, Out: schema}
}

// Schema is the source's schema.
func (s *Scan) Schema() *arrow.Schema { return s.Out }

// Children is empty: a scan is a leaf.
func (s *Scan) Children() []Node { return nil }

func (s *Scan) String() string {
	name := s.Name
	if name == "" {
		name = "source " + strconv.Itoa(s.Source)
	}
	return "StreamingRelation " + name + ", [" + fieldNames(s.Out) + "]"
}

func fieldNames(s *arrow.Schema) string {
	if s == nil {
		return ""
	}
	names := make([]string, s.NumFields())
	for i, f := range s.Fields() {
		names[i] = f.Name
	}
	return strings.Join(names, ", ")
}

// Project computes one output column per expression. Build it with
// NewProject, which binds the expressions.
type Project struct {
	Input  Node
	Exprs  []expr.Expr
	bound  []*expr.Bound
	schema *arrow.Schema
}

// NewProject binds exprs to input's schema. It fails when input is nil,
// when there are no expressions, when an expression does not bind (the
// error names it), or when two output columns would have the same name.
func NewProject(input Node, exprs ...expr.Expr) (*Project, error) {
	if input == nil {
		return nil, errors.New("plan: Project: input is nil")
	}
	if len(exprs) == 0 {
		return nil, errors.New("plan: Project: no expressions; select at least one column")
	}
	in := input.Schema()
	bound := make([]*expr.Bound, len(exprs))
	fields := make([]arrow.Field, len(exprs))
	seen := make(map[string]int, len(exprs))
	for i, e := range exprs {
		b, err := e.Bind(in)
		if err != nil {
			return nil, fmt.Errorf("plan: Project: %w", err)
		}
		f := b.Field()
		if j, dup := seen[f.Name]; dup {
			return nil, fmt.Errorf("plan: Project: expressions %d (%s) and %d (%s) both produce a column named %q; give one of them another name with As",
				j+1, exprs[j], i+1, e, f.Name)
		}
		seen[f.Name] = i
		bound[i], fields[i] = b, f
	}
	return &Project{
		Input:  input,
		Exprs:  append([]expr.Expr(nil), exprs...),
		bound:  bound,
		schema: arrow.NewSchema(fields, nil),
	}, nil
}

// Schema has one field per expression, named by expr.Expr.Name.
func (p *Project) Schema() *arrow.Schema { return p.schema }

// Children is the input.
func (p *Project) Children() []Node { return []Node{p.Input} }

// Bound returns the expressions bound to the input's schema, in order.
// The slice is the caller's; the Bound values are shared and immutable.
func (p *Project) Bound() []*expr.Bound { return append([]*expr.Bound(nil), p.bound...) }

func (p *Project) String() string {
	parts := make([]string, len(p.Exprs))
	for i, e := range p.Exprs {
		parts[i] = e.String()
	}
	return "Project [" + strings.Join(parts, ", ") + "]"
}

// Filter keeps the input rows for which Cond is true; a null condition
// drops the row, as in SQL. Build it with NewFilter, which binds Cond.
type Filter struct {
	Input Node
	Cond  expr.Expr
	bound *expr.Bound
}

// NewFilter binds cond to input's schema. It fails when input is nil,
// when cond does not bind (the error names it), or when cond is not a
// boolean.
func NewFilter(input Node, cond expr.Expr) (*Filter, error) {
	if input == nil {
		return nil, errors.New("plan: Filter: input is nil")
	}
	b, err := cond.Bind(input.Schema())
	if err != nil {
		return nil, fmt.Errorf("plan: Filter: %w", err)
	}
	if !b.IsBoolean() {
		return nil, fmt.Errorf("plan: Filter: the condition %s is %s, not boolean; compare it with something, for example %s",
			cond, b.Field().Type, cond.Gt(expr.Lit(0)))
	}
	return &Filter{Input: input, Cond: cond, bound: b}, nil
}

// Schema is the input's schema.
func (f *Filter) Schema() *arrow.Schema { return f.Input.Schema() }

// Children is the input.
func (f *Filter) Children() []Node { return []Node{f.Input} }

// Bound returns the condition bound to the input's schema.
func (f *Filter) Bound() *expr.Bound { return f.bound }

func (f *Filter) String() string { return "Filter " + f.Cond.String() }

// Walk calls fn on n and then on its descendants, depth first, children
// in order. It stops at the first error and returns it.
func Walk(n Node, fn func(Node) error) error {
	if err := fn(n); err != nil {
		return err
	}
	for _, c := range n.Children() {
		if err := Walk(c, fn); err != nil {
			return err
		}
	}
	return nil
}

// Sources returns the scans of the plan, depth first, children in order.
func Sources(n Node) []*Scan {
	var out []*Scan
	_ = Walk(n, func(n Node) error {
		if s, ok := n.(*Scan); ok {
			out = append(out, s)
		}
		return nil
	})
	return out
}

// Explain prints the plan as Spark prints a logical plan:
//
//	== Logical Plan ==
//	Project [timestamp, (value * 5) AS reading]
//	+- Filter (value > 0)
//	   +- StreamingRelation rate, [timestamp, value]
func Explain(n Node) string {
	var sb strings.Builder
	sb.WriteString("== Logical Plan ==\n")
	if n == nil {
		sb.WriteString("<empty plan>\n")
		return sb.String()
	}
	TreeString(&sb, n, func(n Node) string { return n.String() })
	return sb.String()
}

// TreeNode is what TreeString prints: anything with ordered children.
type TreeNode[T any] interface {
	Children() []T
}

// TreeString writes root and its descendants to sb, one line each,
// children under their parent with Spark's "+- " and ":- " markers.
// label gives each node's line.
func TreeString[T TreeNode[T]](sb *strings.Builder, root T, label func(T) string) {
	var walk func(n T, prefix string)
	walk = func(n T, prefix string) {
		kids := n.Children()
		for i, c := range kids {
			last := i == len(kids)-1
			marker, indent := ":- ", ":  "
			if last {
				marker, indent = "+- ", "   "
			}
			sb.WriteString(prefix + marker + label(c) + "\n")
			walk(c, prefix+indent)
		}
	}
	sb.WriteString(label(root) + "\n")
	walk(root, "")
}
