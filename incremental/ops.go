package incremental

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/expr"
	"github.com/sluicehq/sluice/plan"
)

// Generate runs a generator (explode and its variants) over each record:
// every input row becomes zero or more output rows with the kept input
// columns followed by the generated ones.
type Generate struct {
	gen    *expr.Generator
	keep   []int
	schema *arrow.Schema
	mem    memory.Allocator
}

// NewGenerate returns the operator running gen, which must be bound to
// the schema of the records it will process; keep are the indices of the
// input columns carried into the output, and schema is the output schema
// (the kept columns, then gen's fields). Arrays are allocated from mem
// (memory.DefaultAllocator if nil).
func NewGenerate(gen *expr.Generator, keep []int, schema *arrow.Schema, mem memory.Allocator) (*Generate, error) {
	if gen == nil {
		return nil, errors.New("incremental: Generate: generator is nil")
	}
	if schema == nil || schema.NumFields() != len(keep)+len(gen.Fields()) {
		return nil, fmt.Errorf("incremental: Generate: the output schema must have the %d kept columns and the %d generated ones", len(keep), len(gen.Fields()))
	}
	if mem == nil {
		mem = memory.DefaultAllocator
	}
	return &Generate{gen: gen, keep: slices.Clone(keep), schema: schema, mem: mem}, nil
}

// Schema is the kept input columns followed by the generated ones.
func (g *Generate) Schema() *arrow.Schema { return g.schema }

// Process runs the generator over rec (borrowed) and returns a new record
// owned by the caller, or nil when no row is generated. Kept columns are
// gathered with arrow's take kernel, or shared with rec when every input
// row produced exactly one output row.
func (g *Generate) Process(ctx context.Context, rec arrow.RecordBatch) (arrow.RecordBatch, error) {
	if rec.NumRows() == 0 {
		return nil, nil
	}
	parents, generated, err := g.gen.Generate(ctx, rec, g.mem)
	if err != nil {
		return nil, fmt.Errorf("incremental: Generate: %w", err)
	}
	defer parents.Release()
	cols := make([]arrow.Array, 0, g.schema.NumFields())
	defer func() {
		for _, c := range cols {
			c.Release()
		}
		for _, c := range generated {
			c.Release()
		}
	}()
	m := parents.Len()
	if m == 0 {
		return nil, nil
	}
	identity := m == int(rec.NumRows())
	if identity {
		for i, p := range parents.(*array.Int32).Int32Values() {
			if int(p) != i {
				identity = false
				break
			}
		}
	}
	kctx := compute.WithAllocator(ctx, g.mem)
	for _, k := range g.keep {
		col := rec.Column(k)
		if identity {
			col.Retain()
			cols = append(cols, col)
			continue
		}
		taken, err := compute.TakeArray(kctx, col, parents)
		if err != nil {
			return nil, fmt.Errorf("incremental: Generate %s: gathering column %s: %w", g.gen, rec.ColumnName(k), err)
		}
		cols = append(cols, taken)
	}
	for _, c := range generated {
		c.Retain()
		cols = append(cols, c)
	}
	return array.NewRecordBatch(g.schema, cols, int64(m)), nil
}

// String describes the operator with its bound generator.
func (g *Generate) String() string {
	names := make([]string, g.schema.NumFields())
	for i, f := range g.schema.Fields() {
		names[i] = f.Name
	}
	outer := ""
	if g.gen.Outer() {
		outer = " outer"
	}
	return "GenerateExec " + g.gen.String() + outer + ", [" + strings.Join(names, ", ") + "]"
}

// MapBatches applies a Go function to each record.
type MapBatches struct {
	fn     plan.MapFunc
	name   string
	schema *arrow.Schema
	mem    memory.Allocator
}

// NewMapBatches returns the operator applying fn, which must return
// records of schema (column names and types; a non-nullable column must
// hold no nulls). name describes fn. fn allocates from mem
// (memory.DefaultAllocator if nil).
func NewMapBatches(fn plan.MapFunc, name string, schema *arrow.Schema, mem memory.Allocator) (*MapBatches, error) {
	if fn == nil {
		return nil, errors.New("incremental: MapBatches: the function is nil")
	}
	if schema == nil {
		return nil, errors.New("incremental: MapBatches: the output schema is nil")
	}
	if mem == nil {
		mem = memory.DefaultAllocator
	}
	return &MapBatches{fn: fn, name: name, schema: schema, mem: mem}, nil
}

// Schema is the declared output schema.
func (m *MapBatches) Schema() *arrow.Schema { return m.schema }

// Process calls the function on rec (borrowed) and returns its result,
// owned by the caller, or nil when it returned nil or no rows. A result
// whose columns differ from the declared schema is an error, and so is a
// panic in the function (reported with the panic value).
func (m *MapBatches) Process(ctx context.Context, rec arrow.RecordBatch) (out arrow.RecordBatch, err error) {
	if rec.NumRows() == 0 {
		return nil, nil
	}
	defer func() {
		if r := recover(); r != nil {
			out, err = nil, fmt.Errorf("incremental: MapBatches %s: the function panicked: %v", m.name, r)
		}
	}()
	res, err := m.fn(ctx, rec, m.mem)
	if err != nil {
		if res != nil {
			res.Release()
		}
		return nil, fmt.Errorf("incremental: MapBatches %s: %w", m.name, err)
	}
	if res == nil {
		return nil, nil
	}
	if res.NumRows() == 0 {
		res.Release()
		return nil, nil
	}
	if err := checkSchema(res.Schema(), m.schema); err != nil {
		res.Release()
		return nil, fmt.Errorf("incremental: MapBatches %s returned a record that does not match its declared schema: %s; return records of the schema given to MapBatches",
			m.name, strings.Replace(err.Error(), "the source declares", "the schema declares", 1))
	}
	for i, f := range m.schema.Fields() {
		if nulls := res.Column(i).NullN(); !f.Nullable && nulls > 0 {
			res.Release()
			return nil, fmt.Errorf("incremental: MapBatches %s returned %d nulls in column %q, which its schema declares not nullable; declare it nullable or fill the nulls",
				m.name, nulls, f.Name)
		}
	}
	if res.Schema().Equal(m.schema) {
		return res, nil
	}
	defer res.Release()
	return array.NewRecordBatch(m.schema, res.Columns(), res.NumRows()), nil
}

// String describes the operator.
func (m *MapBatches) String() string {
	names := make([]string, m.schema.NumFields())
	for i, f := range m.schema.Fields() {
		names[i] = f.Name
	}
	return "MapBatchesExec " + m.name + ", [" + strings.Join(names, ", ") + "]"
}

// unionInput conforms the records of one input of a union to the union's
// schema: columns are cast to the union's types where they differ, and
// the record is relabelled with the union's names.
type unionInput struct {
	input  int
	casts  []arrow.DataType // nil where the column keeps its type
	schema *arrow.Schema
	mem    memory.Allocator
}

func newUnionInput(input int, in, out *arrow.Schema, mem memory.Allocator) *unionInput {
	u := &unionInput{input: input, casts: make([]arrow.DataType, out.NumFields()), schema: out, mem: mem}
	for i, f := range out.Fields() {
		if !arrow.TypeEqual(in.Field(i).Type, f.Type) {
			u.casts[i] = f.Type
		}
	}
	return u
}

func (u *unionInput) Schema() *arrow.Schema { return u.schema }

// Process returns rec (borrowed) with the union's schema: a new record,
// owned by the caller, sharing the columns that keep their type.
func (u *unionInput) Process(ctx context.Context, rec arrow.RecordBatch) (arrow.RecordBatch, error) {
	cols := make([]arrow.Array, rec.NumCols())
	defer func() {
		for _, c := range cols {
			if c != nil {
				c.Release()
			}
		}
	}()
	kctx := compute.WithAllocator(ctx, u.mem)
	for i, col := range rec.Columns() {
		to := u.casts[i]
		switch {
		case to == nil:
			col.Retain()
			cols[i] = col
		case col.DataType().ID() == arrow.NULL:
			cols[i] = array.MakeArrayOfNull(u.mem, to, col.Len())
		default:
			opts := compute.SafeCastOptions(to)
			// Integers widen to doubles even where large values round,
			// as in Spark.
			opts.AllowFloatTruncate = to.ID() == arrow.FLOAT64
			c, err := compute.CastArray(kctx, col, opts)
			if err != nil {
				return nil, fmt.Errorf("incremental: Union input %d: casting column %q from %s to %s: %w", u.input+1, rec.ColumnName(i), col.DataType(), to, err)
			}
			cols[i] = c
		}
	}
	return array.NewRecordBatch(u.schema, cols, rec.NumRows()), nil
}

func (u *unionInput) String() string {
	var casts []string
	for i, t := range u.casts {
		if t != nil {
			casts = append(casts, fmt.Sprintf("cast(%s as %s)", u.schema.Field(i).Name, t))
		}
	}
	if len(casts) == 0 {
		return fmt.Sprintf("UnionInput %d", u.input+1)
	}
	return fmt.Sprintf("UnionInput %d [%s]", u.input+1, strings.Join(casts, ", "))
}

// branch is one input of a union: its own pipeline (down to its scans),
// the conversion to the union's schema, and the sources it reads.
type branch struct {
	pipe    *Pipeline
	adapt   Operator
	sources map[int]bool
	side    int // for the branches of a join: 0 left, 1 right
}

// buildUnion builds the pipeline of a plan whose chain from the root
// reaches union u: each input of the union becomes a branch pipeline, and
// above (ops, collected root first) run on the records of every branch.
func buildUnion(u *plan.Union, root plan.Node, above []Operator, mem memory.Allocator, o buildOptions) (*Pipeline, error) {
	ops := slices.Clone(above)
	slices.Reverse(ops)
	p := &Pipeline{ops: ops, out: root.Schema(), union: u.Schema()}
	for i, in := range u.Inputs {
		sub, err := build(in, mem, o)
		if err != nil {
			return nil, err
		}
		br := branch{pipe: sub, sources: map[int]bool{}}
		for _, s := range plan.Sources(in) {
			br.sources[s.Source] = true
		}
		if !in.Schema().Equal(u.Schema()) {
			br.adapt = newUnionInput(i, in.Schema(), u.Schema(), mem)
		}
		p.branches = append(p.branches, br)
	}
	return p, nil
}

// processBranches runs rec, read from source sourceIndex, through every
// branch of the union that reads that source (a source read by two
// branches, as in a union of a stream with itself, feeds both), then
// through the operators above the union.
func (p *Pipeline) processBranches(ctx context.Context, sourceIndex int, rec arrow.RecordBatch) (outs []arrow.RecordBatch, err error) {
	defer func() {
		if err != nil {
			for _, r := range outs {
				r.Release()
			}
			outs = nil
		}
	}()
	matched := false
	for _, br := range p.branches {
		if !br.sources[sourceIndex] {
			continue
		}
		matched = true
		recs, err := br.pipe.Process(ctx, sourceIndex, rec)
		if err != nil {
			return outs, err
		}
		for j, r := range recs {
			if br.adapt != nil {
				conformed, err := br.adapt.Process(ctx, r)
				r.Release()
				if err != nil {
					releaseAll(recs[j+1:])
					return outs, err
				}
				r = conformed
			}
			ops := p.ops
			if p.join != nil {
				joined, err := p.join.processSide(ctx, br.side, r)
				r.Release()
				if err != nil {
					releaseAll(recs[j+1:])
					return outs, err
				}
				if joined == nil {
					continue
				}
				r, ops = joined, p.ops[1:]
			}
			out, err := runOps(ctx, ops, r)
			if err != nil {
				releaseAll(recs[j+1:])
				return outs, err
			}
			if out != nil {
				outs = append(outs, out)
			}
		}
	}
	if !matched {
		return nil, fmt.Errorf("incremental: got a record from source %d, but the plan reads only sources %s", sourceIndex, p.sourceList())
	}
	return outs, nil
}

// runOps runs rec (owned; released here) through ops and returns the
// result, owned by the caller, or nil when no rows remain.
func runOps(ctx context.Context, ops []Operator, rec arrow.RecordBatch) (arrow.RecordBatch, error) {
	cur := rec
	for _, op := range ops {
		out, err := op.Process(ctx, cur)
		cur.Release()
		if err != nil {
			return nil, err
		}
		if out == nil {
			return nil, nil
		}
		cur = out
	}
	return cur, nil
}

// releaseAll releases each record of recs; nil entries are skipped.
func releaseAll(recs []arrow.RecordBatch) {
	for _, r := range recs {
		if r != nil {
			r.Release()
		}
	}
}

// sourceList lists the source indices the pipeline reads, ascending.
func (p *Pipeline) sourceList() string {
	set := map[int]bool{}
	p.collectSources(set)
	idx := make([]int, 0, len(set))
	for i := range set {
		idx = append(idx, i)
	}
	slices.Sort(idx)
	parts := make([]string, len(idx))
	for i, s := range idx {
		parts[i] = fmt.Sprint(s)
	}
	return strings.Join(parts, ", ")
}

func (p *Pipeline) collectSources(set map[int]bool) {
	if p.scan != nil {
		set[p.scan.Source] = true
	}
	for _, br := range p.branches {
		br.pipe.collectSources(set)
	}
}

// explainTree is the physical plan as a tree: the scan or the union of
// the branches, then the operators above it.
func (p *Pipeline) explainTree() *explainNode {
	var node *explainNode
	if p.scan != nil {
		name := p.scan.Name
		if name == "" {
			name = "source"
		}
		cols := make([]string, p.scan.Out.NumFields())
		for i, f := range p.scan.Out.Fields() {
			cols[i] = f.Name
		}
		node = &explainNode{label: fmt.Sprintf("ScanExec %s (source %d), [%s]", name, p.scan.Source, strings.Join(cols, ", "))}
	} else if p.join != nil {
		node = &explainNode{label: fmt.Sprint(p.join)}
		for _, br := range p.branches {
			node.kids = append(node.kids, br.pipe.explainTree())
		}
	} else {
		cols := make([]string, p.union.NumFields())
		for i, f := range p.union.Fields() {
			cols[i] = f.Name
		}
		node = &explainNode{label: "UnionExec [" + strings.Join(cols, ", ") + "]"}
		for _, br := range p.branches {
			child := br.pipe.explainTree()
			if br.adapt != nil {
				child = &explainNode{label: fmt.Sprint(br.adapt), kids: []*explainNode{child}}
			}
			node.kids = append(node.kids, child)
		}
	}
	ops := p.ops
	if p.join != nil {
		ops = ops[1:]
	}
	for _, op := range ops {
		node = &explainNode{label: fmt.Sprint(op), kids: []*explainNode{node}}
	}
	return node
}
