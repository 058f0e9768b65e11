package incremental

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/expr"
	"github.com/sluicehq/sluice/plan"
	"github.com/sluicehq/sluice/state"
)

// Pipeline is the physical form of a logical plan: the operators each
// source's records run through, in order. It implements the plan contract
// of the micro-batch driver (OutputSchema, Process, NeedsNoDataBatch). A
// Pipeline of stateless operators is safe for concurrent Process calls.
type Pipeline struct {
	scan *plan.Scan
	ops  []Operator // from the scan (or the union) up to the root
	out  *arrow.Schema
	// branches are the inputs of a union (scan is then nil); union is
	// its schema. See ops.go.
	branches []branch
	union    *arrow.Schema

	// stateful are the positions in ops of the operators that keep
	// state, bottom-up; the operators above each run over what it emits
	// at the end of a batch.
	stateful []int
	// join, when set, is ops[0] and the branches are its two sides.
	join sideJoiner
	// wms are the watermark declarations, this pipeline's then its
	// branches', in plan order.
	wms []*watermarkOp
}

// BuildOption configures Build.
type BuildOption func(*buildOptions)

type buildOptions struct {
	provider state.Provider
	mode     plan.OutputMode
	lateRows bool
	parts    int
	logger   *slog.Logger
}

// WithLogger gives operators that log (a stream-static join reporting its
// table loads) the query's logger; slog.Default() otherwise.
func WithLogger(l *slog.Logger) BuildOption {
	return func(o *buildOptions) { o.logger = l }
}

// WithStatePartitions tells stateful operators the number of state
// partitions the query is configured with, for Explain; the number a
// batch uses comes from its BatchInfo.Conf (pinned in the checkpoint).
func WithStatePartitions(n int) BuildOption {
	return func(o *buildOptions) { o.parts = n }
}

// WithStateProvider gives stateful operators their state store. A plan
// with an aggregation needs one.
func WithStateProvider(p state.Provider) BuildOption {
	return func(o *buildOptions) { o.provider = p }
}

// WithOutputMode sets the output mode stateful operators emit for
// (default update).
func WithOutputMode(m plan.OutputMode) BuildOption {
	return func(o *buildOptions) { o.mode = m }
}

// WithLateRows makes stateful operators keep the rows they drop as late,
// for LateRows, instead of only counting them.
func WithLateRows() BuildOption {
	return func(o *buildOptions) { o.lateRows = true }
}

// Build turns root into a Pipeline whose operators allocate from mem
// (memory.DefaultAllocator if nil). The plan is made of Scan, Project,
// Filter, Generate, MapBatches, Parse and Union nodes, each built by the plan
// package's constructors; any other node is refused with an error naming
// it. Each input of a Union becomes a branch: a source's records run
// through the branches that read it, then through the operators above the
// union.
func Build(root plan.Node, mem memory.Allocator, opts ...BuildOption) (*Pipeline, error) {
	var o buildOptions
	for _, opt := range opts {
		opt(&o)
	}
	p, err := build(root, mem, o)
	if err != nil {
		return nil, err
	}
	p.collectWatermarks(&p.wms)
	if err := p.nameStateful(o); err != nil {
		return nil, err
	}
	return p, nil
}

func build(root plan.Node, mem memory.Allocator, o buildOptions) (*Pipeline, error) {
	if root == nil {
		return nil, errors.New("incremental: Build: plan is nil")
	}
	if mem == nil {
		mem = memory.DefaultAllocator
	}
	var ops []Operator
	n := root
	for {
		switch node := n.(type) {
		case *plan.Scan:
			if node.Out == nil {
				return nil, fmt.Errorf("incremental: Build: %s has no schema", node)
			}
			// ops were collected from the root down; run them upward.
			for i, j := 0, len(ops)-1; i < j; i, j = i+1, j-1 {
				ops[i], ops[j] = ops[j], ops[i]
			}
			p := &Pipeline{scan: node, ops: ops, out: root.Schema()}
			p.locateStateful()
			return p, nil
		case *plan.Project:
			bound := node.Bound()
			if len(bound) == 0 || bound[0] == nil {
				return nil, fmt.Errorf("incremental: Build: %s was not built with plan.NewProject, so its expressions are not bound", node)
			}
			op, err := NewProject(bound, mem)
			if err != nil {
				return nil, err
			}
			ops = append(ops, op)
			n = node.Input
		case *plan.Filter:
			if node.Bound() == nil {
				return nil, fmt.Errorf("incremental: Build: %s was not built with plan.NewFilter, so its condition is not bound", node)
			}
			op, err := NewFilter(node.Bound(), node.Schema(), mem)
			if err != nil {
				return nil, err
			}
			ops = append(ops, op)
			n = node.Input
		case *plan.Generate:
			if node.Bound() == nil {
				return nil, fmt.Errorf("incremental: Build: %s was not built with plan.NewGenerate, so its generator is not bound", node)
			}
			op, err := NewGenerate(node.Bound(), node.Keep, node.Schema(), mem)
			if err != nil {
				return nil, err
			}
			ops = append(ops, op)
			n = node.Input
		case *plan.MapBatches:
			op, err := NewMapBatches(node.Func, node.Name, node.Schema(), mem)
			if err != nil {
				return nil, err
			}
			ops = append(ops, op)
			n = node.Input
		case *plan.Parse:
			if node.Decoder() == nil {
				return nil, fmt.Errorf("incremental: Build: %s was not built with plan.NewParse, so it has no decoder", node)
			}
			op, err := NewParse(node.Decoder(), node.ColumnIndex(), node.Schema(), node.String(), mem)
			if err != nil {
				return nil, err
			}
			ops = append(ops, op)
			n = node.Input
		case nil:
			return nil, errors.New("incremental: Build: a plan node has a nil input")
		case *plan.Watermark:
			ops = append(ops, newWatermarkOp(node))
			n = node.Input
		case *plan.Aggregate:
			w, _ := node.Window()
			var op Operator
			var err error
			if w != nil && w.Kind == expr.SessionWindow {
				op, err = newSessionAggregate("aggregate", node, o, mem)
			} else {
				op, err = newAggregate("aggregate", node, o, mem)
			}
			if err != nil {
				return nil, err
			}
			for _, prev := range ops {
				if _, dup := prev.(*Aggregate); dup {
					return nil, fmt.Errorf("incremental: Build: %s: only one streaming aggregation per query", node)
				}
				if _, dup := prev.(*SessionAggregate); dup {
					return nil, fmt.Errorf("incremental: Build: %s: only one streaming aggregation per query", node)
				}
			}
			ops = append(ops, op)
			n = node.Input
		case *plan.Union:
			p, err := buildUnion(node, root, ops, mem, o)
			if err != nil {
				return nil, err
			}
			p.locateStateful()
			return p, nil
		default:
			if b, ok := lookupUnary(n); ok {
				op, input, err := b(n, o, mem)
				if err != nil {
					return nil, err
				}
				ops = append(ops, op)
				n = input
				continue
			}
			if b, ok := lookupBinary(n); ok {
				return buildJoin(n, b, root, ops, mem, o)
			}
			return nil, fmt.Errorf("incremental: Build: no physical operator for plan node %T (%s)", n, n)
		}
	}
}

// OutputSchema is the schema of every record Process returns.
func (p *Pipeline) OutputSchema() *arrow.Schema { return p.out }

// Process runs rec, a record read from source sourceIndex, through the
// operators. rec is borrowed; the returned records are owned by the
// caller, who releases them. No records are returned when every row was
// filtered out. rec must have the scan's schema (column names and types;
// metadata may differ).
func (p *Pipeline) Process(ctx context.Context, sourceIndex int, rec arrow.RecordBatch) ([]arrow.RecordBatch, error) {
	if p.branches != nil {
		return p.processBranches(ctx, sourceIndex, rec)
	}
	return p.processOps(ctx, sourceIndex, rec, p.ops)
}

// processOps checks rec (borrowed) against the scan and runs it through
// ops; the result is owned by the caller.
func (p *Pipeline) processOps(ctx context.Context, sourceIndex int, rec arrow.RecordBatch, ops []Operator) ([]arrow.RecordBatch, error) {
	if sourceIndex != p.scan.Source {
		return nil, fmt.Errorf("incremental: got a record from source %d, but the plan reads only source %d (%s)",
			sourceIndex, p.scan.Source, p.scan.Name)
	}
	if rec == nil {
		return nil, fmt.Errorf("incremental: Process: record from source %d is nil", sourceIndex)
	}
	if err := checkSchema(rec.Schema(), p.scan.Out); err != nil {
		return nil, fmt.Errorf("incremental: record from source %d (%s) does not match the source's schema: %w; a source must produce records of the schema it declares",
			sourceIndex, p.scan.Name, err)
	}
	if rec.NumRows() == 0 {
		return nil, nil
	}
	cur, owned := rec, false
	if !rec.Schema().Equal(p.scan.Out) {
		// Same columns, other metadata: relabel so outputs carry the
		// plan's schema.
		cur, owned = array.NewRecordBatch(p.scan.Out, rec.Columns(), rec.NumRows()), true
	}
	for _, op := range ops {
		out, err := op.Process(ctx, cur)
		if owned {
			cur.Release()
		}
		if err != nil {
			return nil, err
		}
		if out == nil {
			return nil, nil
		}
		cur, owned = out, true
	}
	if !owned {
		cur.Retain()
	}
	return []arrow.RecordBatch{cur}, nil
}

// Staged reports whether the pipeline splits into a stateless first
// stage, safe for concurrent use, and a second stage from its first
// stateful operator on: a single-source pipeline whose stateful operator
// has operators below it.
func (p *Pipeline) Staged() bool {
	return p.branches == nil && len(p.stateful) > 0 && p.stateful[0] > 0
}

// StageOutput is what ProcessFirstStage hands to ProcessSecondStage: the
// records the stateless operators produced or, when the first stateful
// operator is an aggregation that folds chunks on their own
// (partials.go), the chunk's partial aggregates. Whoever holds one either
// passes it to ProcessSecondStage, which consumes it, or calls Release.
type StageOutput struct {
	recs    []arrow.RecordBatch
	partial *aggWork
	owner   *Aggregate
}

// Release drops what o holds; a nil o is fine.
func (o *StageOutput) Release() {
	if o == nil {
		return
	}
	releaseAll(o.recs)
	o.recs = nil
	if o.partial != nil {
		o.owner.dropPartial(o.partial)
		o.partial = nil
	}
}

// ProcessFirstStage runs rec (borrowed), read from source sourceIndex,
// through the operators below the first stateful one, and folds the
// result into a partial aggregate when that operator allows it. It may be
// called from several goroutines at once; the results, owned by the
// caller, go to ProcessSecondStage in the order of their records.
func (p *Pipeline) ProcessFirstStage(ctx context.Context, sourceIndex int, rec arrow.RecordBatch) (*StageOutput, error) {
	recs, err := p.processOps(ctx, sourceIndex, rec, p.ops[:p.stateful[0]])
	if err != nil {
		return nil, err
	}
	out := &StageOutput{recs: recs}
	if a, ok := p.ops[p.stateful[0]].(*Aggregate); ok && a.foldsPartials() {
		w, err := a.partial(ctx, recs)
		releaseAll(recs)
		out.recs = nil
		if err != nil {
			return nil, err
		}
		out.partial, out.owner = w, a
	}
	return out, nil
}

// ProcessSecondStage runs a first-stage result (consumed) through the
// rest of the pipeline, one result at a time in record order; the
// returned records are owned by the caller.
func (p *Pipeline) ProcessSecondStage(ctx context.Context, in *StageOutput) ([]arrow.RecordBatch, error) {
	if in.partial != nil {
		w := in.partial
		in.partial = nil
		// An aggregation emits nothing while it folds, so nothing goes
		// to the operators above it until the batch ends.
		return nil, in.owner.mergePartial(w)
	}
	recs := in.recs
	in.recs = nil
	var out []arrow.RecordBatch
	for i, rec := range recs {
		res, err := runOps(ctx, p.ops[p.stateful[0]:], rec)
		if err != nil {
			releaseAll(recs[i+1:])
			releaseAll(out)
			return nil, err
		}
		if res != nil {
			out = append(out, res)
		}
	}
	return out, nil
}

func checkSchema(got, want *arrow.Schema) error {
	if got.NumFields() != want.NumFields() {
		return fmt.Errorf("it has %d columns (%s), the source declares %d (%s)",
			got.NumFields(), columnList(got), want.NumFields(), columnList(want))
	}
	for i, w := range want.Fields() {
		g := got.Field(i)
		if g.Name != w.Name || !arrow.TypeEqual(g.Type, w.Type) {
			return fmt.Errorf("column %d is %q %s, the source declares %q %s", i, g.Name, g.Type, w.Name, w.Type)
		}
	}
	return nil
}

func columnList(s *arrow.Schema) string {
	parts := make([]string, s.NumFields())
	for i, f := range s.Fields() {
		parts[i] = f.Name + " " + f.Type.String()
	}
	return strings.Join(parts, ", ")
}

// Stateful reports whether an operator keeps state across batches (an
// aggregation).
func (p *Pipeline) Stateful() bool { return len(p.allStateful()) > 0 }

// NeedsNoDataBatch is the hook the driver calls when no source has new
// data: it reports whether a batch should still run because, with the
// watermark at watermarkMs, a stateful operator could emit final results
// or evict state.
func (p *Pipeline) NeedsNoDataBatch(watermarkMs int64) bool {
	for _, s := range p.allStateful() {
		if s.needsNoDataBatch(watermarkMs) {
			return true
		}
	}
	return false
}

// Explain prints the physical plan, operators with their bound
// expressions (implicit casts and folded constants visible):
//
//	== Physical Plan ==
//	ProjectExec [timestamp, (value * 5) AS reading]
//	+- FilterExec (value > 0)
//	   +- ScanExec rate (source 0), [timestamp, value]
func (p *Pipeline) Explain() string {
	var sb strings.Builder
	sb.WriteString("== Physical Plan ==\n")
	plan.TreeString(&sb, p.explainTree(), func(n *explainNode) string { return n.label })
	return sb.String()
}

type explainNode struct {
	label string
	kids  []*explainNode
}

func (n *explainNode) Children() []*explainNode { return n.kids }
