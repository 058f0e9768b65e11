package plan

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/expr"
)

// Union concatenates the rows of its inputs, matched by column position
// as Spark's union: the output has the first input's column names; each
// column has the common type of the inputs' columns at that position
// (numbers widen: int32 with int64 is int64, an integer with a float is
// float64) and is nullable when any of them is. Build it with NewUnion.
type Union struct {
	Inputs []Node
	schema *arrow.Schema
}

// NewUnion returns the union of inputs, of which there must be at least
// two. It fails when the inputs have different numbers of columns, or
// when the columns at one position have types with no common type,
// naming the columns and their types.
func NewUnion(inputs ...Node) (*Union, error) {
	if len(inputs) < 2 {
		return nil, fmt.Errorf("plan: Union: needs at least 2 inputs, got %d", len(inputs))
	}
	for i, in := range inputs {
		if in == nil {
			return nil, fmt.Errorf("plan: Union: input %d is nil", i+1)
		}
	}
	first := inputs[0].Schema()
	fields := slices.Clone(first.Fields())
	for i, in := range inputs[1:] {
		s := in.Schema()
		if s.NumFields() != first.NumFields() {
			return nil, fmt.Errorf("plan: Union: inputs must have the same number of columns, but input 1 has %d (%s) and input %d has %d (%s); select the same columns on every side",
				first.NumFields(), fieldNames(first), i+2, s.NumFields(), fieldNames(s))
		}
		for c, f := range s.Fields() {
			t, ok := unionType(fields[c].Type, f.Type)
			if !ok {
				return nil, fmt.Errorf("plan: Union: column %d has incompatible types: %s %s in input 1 and %s %s in input %d; cast one side so both have the same type",
					c+1, first.Field(c).Name, first.Field(c).Type, f.Name, f.Type, i+2)
			}
			fields[c].Type = t
			fields[c].Nullable = fields[c].Nullable || f.Nullable
		}
	}
	for c := range fields {
		// Metadata of one input does not describe the others' values.
		fields[c].Metadata = arrow.Metadata{}
	}
	return &Union{Inputs: slices.Clone(inputs), schema: arrow.NewSchema(fields, nil)}, nil
}

// unionType is the type that values of types a and b are both cast to in
// a union, or false when there is none.
func unionType(a, b arrow.DataType) (arrow.DataType, bool) {
	switch {
	case arrow.TypeEqual(a, b):
		return a, true
	case a.ID() == arrow.NULL:
		return b, true
	case b.ID() == arrow.NULL:
		return a, true
	case isSignedInt(a) && isSignedInt(b):
		if bitWidth(a) >= bitWidth(b) {
			return a, true
		}
		return b, true
	case (isSignedInt(a) || isFloat(a)) && (isSignedInt(b) || isFloat(b)):
		return arrow.PrimitiveTypes.Float64, true
	case isText(a) && isText(b):
		return arrow.BinaryTypes.LargeString, true
	case a.ID() == arrow.TIMESTAMP && b.ID() == arrow.TIMESTAMP:
		ta, tb := a.(*arrow.TimestampType), b.(*arrow.TimestampType)
		if ta.TimeZone != tb.TimeZone && ta.TimeZone != "" && tb.TimeZone != "" {
			return nil, false
		}
		out := &arrow.TimestampType{Unit: max(ta.Unit, tb.Unit), TimeZone: ta.TimeZone}
		if out.TimeZone == "" {
			out.TimeZone = tb.TimeZone
		}
		return out, true
	}
	return nil, false
}

func isSignedInt(t arrow.DataType) bool {
	switch t.ID() {
	case arrow.INT8, arrow.INT16, arrow.INT32, arrow.INT64:
		return true
	}
	return false
}

func isFloat(t arrow.DataType) bool { return t.ID() == arrow.FLOAT32 || t.ID() == arrow.FLOAT64 }

func isText(t arrow.DataType) bool { return t.ID() == arrow.STRING || t.ID() == arrow.LARGE_STRING }

func bitWidth(t arrow.DataType) int {
	if fw, ok := t.(arrow.FixedWidthDataType); ok {
		return fw.BitWidth()
	}
	return 0
}

// Schema has the first input's column names and the common types.
func (u *Union) Schema() *arrow.Schema { return u.schema }

// Children are the inputs, in order.
func (u *Union) Children() []Node { return slices.Clone(u.Inputs) }

func (u *Union) String() string { return "Union [" + fieldNames(u.schema) + "]" }

// Generate runs a generator (explode and its variants) over its input:
// each input row becomes zero or more output rows holding the kept input
// columns followed by the generated columns. Build it with NewGenerate,
// which binds the generator.
type Generate struct {
	Input     Node
	Generator expr.Expr
	// Keep are the indices of the input columns kept in the output,
	// ascending.
	Keep   []int
	bound  *expr.Generator
	schema *arrow.Schema
}

// NewGenerate binds generator (see expr.BindGenerator) to input's schema.
// keep lists the input columns to carry into the output (nil keeps them
// all; the order is the input's). It fails when the generator does not
// bind, when keep names a column the input does not have, or when a
// generated column has the name of a kept one.
func NewGenerate(input Node, generator expr.Expr, keep []int) (*Generate, error) {
	if input == nil {
		return nil, errors.New("plan: Generate: input is nil")
	}
	in := input.Schema()
	g, err := expr.BindGenerator(generator, in)
	if err != nil {
		return nil, fmt.Errorf("plan: Generate: %w", err)
	}
	if keep == nil {
		keep = make([]int, in.NumFields())
		for i := range keep {
			keep[i] = i
		}
	} else {
		keep = slices.Clone(keep)
		slices.Sort(keep)
		keep = slices.Compact(keep)
	}
	fields := make([]arrow.Field, 0, len(keep)+len(g.Fields()))
	names := make(map[string]bool, len(keep))
	for _, k := range keep {
		if k < 0 || k >= in.NumFields() {
			return nil, fmt.Errorf("plan: Generate: column index %d is out of range: the input has %d columns (%s)", k, in.NumFields(), fieldNames(in))
		}
		fields = append(fields, in.Field(k))
		names[in.Field(k).Name] = true
	}
	for _, f := range g.Fields() {
		if names[f.Name] {
			return nil, fmt.Errorf("plan: Generate: %s produces a column %q, but the input already has one; name the generated column with As", generator, f.Name)
		}
		fields = append(fields, f)
	}
	return &Generate{Input: input, Generator: generator, Keep: keep, bound: g, schema: arrow.NewSchema(fields, nil)}, nil
}

// Schema is the kept input columns followed by the generated ones.
func (g *Generate) Schema() *arrow.Schema { return g.schema }

// Children is the input.
func (g *Generate) Children() []Node { return []Node{g.Input} }

// Bound returns the generator bound to the input's schema.
func (g *Generate) Bound() *expr.Generator { return g.bound }

func (g *Generate) String() string {
	return "Generate " + g.Generator.String() + ", [" + fieldNames(g.schema) + "]"
}

// MapFunc is a Go function over the record batches of a stream. It
// borrows rec (it must not release it, and must retain it to return it or
// keep it) and returns a record the caller owns, allocated from mem; nil
// or a record of no rows means no output for this input.
type MapFunc func(ctx context.Context, rec arrow.RecordBatch, mem memory.Allocator) (arrow.RecordBatch, error)

// MapBatches applies a Go function to each record batch of its input. Out
// is the schema of the records the function returns, checked on each.
type MapBatches struct {
	Input Node
	Func  MapFunc
	Out   *arrow.Schema
	// Name describes the function in Explain.
	Name string
}

// NewMapBatches returns the node applying fn to input's records, which
// produces records of schema out. name describes fn in Explain ("" shows
// "func").
func NewMapBatches(input Node, out *arrow.Schema, fn MapFunc, name string) (*MapBatches, error) {
	switch {
	case input == nil:
		return nil, errors.New("plan: MapBatches: input is nil")
	case fn == nil:
		return nil, errors.New("plan: MapBatches: the function is nil")
	case out == nil:
		return nil, errors.New("plan: MapBatches: the output schema is nil; give the schema of the records the function returns")
	}
	seen := map[string]bool{}
	for _, f := range out.Fields() {
		if seen[f.Name] {
			return nil, fmt.Errorf("plan: MapBatches: the output schema has two columns named %q; give them distinct names", f.Name)
		}
		seen[f.Name] = true
	}
	if name == "" {
		name = "func"
	}
	return &MapBatches{Input: input, Func: fn, Out: out, Name: name}, nil
}

// Schema is the declared output schema.
func (m *MapBatches) Schema() *arrow.Schema { return m.Out }

// Children is the input.
func (m *MapBatches) Children() []Node { return []Node{m.Input} }

func (m *MapBatches) String() string {
	return "MapBatches " + m.Name + ", [" + fieldNames(m.Out) + "]"
}

// Rebuilder is a node that can be rebuilt over other children of the same
// schemas (WithChildren returns a new node and leaves the receiver
// unchanged). Every node of this package is one; ReindexSources needs it.
type Rebuilder interface {
	Node
	WithChildren(children []Node) (Node, error)
}

// WithChildren returns the scan itself: it has no children.
func (s *Scan) WithChildren(children []Node) (Node, error) {
	if len(children) != 0 {
		return nil, fmt.Errorf("plan: %s has no children, got %d", s, len(children))
	}
	return s, nil
}

// WithChildren rebinds the projection over children[0].
func (p *Project) WithChildren(children []Node) (Node, error) {
	if err := oneChild(p, children); err != nil {
		return nil, err
	}
	return NewProject(children[0], p.Exprs...)
}

// WithChildren rebinds the filter over children[0].
func (f *Filter) WithChildren(children []Node) (Node, error) {
	if err := oneChild(f, children); err != nil {
		return nil, err
	}
	return NewFilter(children[0], f.Cond)
}

// WithChildren returns the union of children.
func (u *Union) WithChildren(children []Node) (Node, error) { return NewUnion(children...) }

// WithChildren rebinds the generator over children[0].
func (g *Generate) WithChildren(children []Node) (Node, error) {
	if err := oneChild(g, children); err != nil {
		return nil, err
	}
	return NewGenerate(children[0], g.Generator, g.Keep)
}

// WithChildren applies the same function to children[0].
func (m *MapBatches) WithChildren(children []Node) (Node, error) {
	if err := oneChild(m, children); err != nil {
		return nil, err
	}
	return NewMapBatches(children[0], m.Out, m.Func, m.Name)
}

func oneChild(n Node, children []Node) error {
	if len(children) != 1 || children[0] == nil {
		return fmt.Errorf("plan: %s takes one input, got %d", n, len(children))
	}
	return nil
}

// ReindexSources returns n with the source index of every Scan replaced
// by index(old): when two DataFrames are combined, the second one's
// sources move behind the first one's. Nodes are rebuilt with
// WithChildren; a node that is not a Rebuilder is an error naming it.
func ReindexSources(n Node, index func(int) int) (Node, error) {
	if s, ok := n.(*Scan); ok {
		return &Scan{Source: index(s.Source), Name: s.Name, Out: s.Out}, nil
	}
	r, ok := n.(Rebuilder)
	if !ok {
		return nil, fmt.Errorf("plan: cannot renumber the sources under %T (%s): it has no WithChildren method", n, n)
	}
	kids := n.Children()
	for i, c := range kids {
		k, err := ReindexSources(c, index)
		if err != nil {
			return nil, err
		}
		kids[i] = k
	}
	return r.WithChildren(kids)
}
