package incremental

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/plan"
)

// This file holds how a Pipeline runs its stateful operators: where they
// are, their names in the state store, the batch hooks the driver calls,
// and the registry through which operators defined in other files of this
// package build themselves from their plan nodes.

// batchBeginner is an operator that must prepare before a batch's first
// record (a stream-static join reloading its table, for example).
type batchBeginner interface {
	begin(ctx context.Context, info BatchInfo) error
}

// sideJoiner is a stateful operator with two inputs: the branches of its
// pipeline are its sides (0 left, 1 right). processSide borrows rec and
// returns the rows it joins now, owned by the caller, or nil.
type sideJoiner interface {
	statefulOp
	processSide(ctx context.Context, side int, rec arrow.RecordBatch) (arrow.RecordBatch, error)
}

// unaryBuild builds the operator of a one-input plan node and returns it
// with the node's input.
type unaryBuild func(n plan.Node, o buildOptions, mem memory.Allocator) (Operator, plan.Node, error)

// binaryBuild builds a two-input operator and returns it with its inputs.
type binaryBuild func(n plan.Node, o buildOptions, mem memory.Allocator) (j sideJoiner, left, right plan.Node, err error)

var (
	registryMu sync.RWMutex
	unaries    = map[reflect.Type]unaryBuild{}
	binaries   = map[reflect.Type]binaryBuild{}
)

// registerUnary makes Build use b for plan nodes of node's type (node is
// a typed nil, such as (*plan.Dedup)(nil)). Called from init functions.
func registerUnary(node plan.Node, b unaryBuild) {
	registryMu.Lock()
	defer registryMu.Unlock()
	unaries[reflect.TypeOf(node)] = b
}

// registerBinary makes Build use b for two-input plan nodes of node's type.
func registerBinary(node plan.Node, b binaryBuild) {
	registryMu.Lock()
	defer registryMu.Unlock()
	binaries[reflect.TypeOf(node)] = b
}

func lookupUnary(n plan.Node) (unaryBuild, bool) {
	registryMu.RLock()
	defer registryMu.RUnlock()
	b, ok := unaries[reflect.TypeOf(n)]
	return b, ok
}

func lookupBinary(n plan.Node) (binaryBuild, bool) {
	registryMu.RLock()
	defer registryMu.RUnlock()
	b, ok := binaries[reflect.TypeOf(n)]
	return b, ok
}

// buildJoin builds the pipeline of a plan whose chain from the root
// reaches the two-input node n: its inputs become the branches (sides 0
// and 1), the join is ops[0], and above (collected root first) runs on
// what it emits.
func buildJoin(n plan.Node, b binaryBuild, root plan.Node, above []Operator, mem memory.Allocator, o buildOptions) (*Pipeline, error) {
	j, left, right, err := b(n, o, mem)
	if err != nil {
		return nil, err
	}
	ops := slices.Clone(above)
	slices.Reverse(ops)
	ops = append([]Operator{j}, ops...)
	p := &Pipeline{ops: ops, out: root.Schema(), join: j}
	for side, in := range []plan.Node{left, right} {
		sub, err := build(in, mem, o)
		if err != nil {
			return nil, err
		}
		br := branch{pipe: sub, sources: map[int]bool{}, side: side}
		for _, s := range plan.Sources(in) {
			br.sources[s.Source] = true
		}
		p.branches = append(p.branches, br)
	}
	p.locateStateful()
	return p, nil
}

// locateStateful finds the stateful operators among p.ops, once the
// operators are in place, and narrows each filter directly below a
// projection to the columns the projection reads.
func (p *Pipeline) locateStateful() {
	for i := 0; i+1 < len(p.ops); i++ {
		f, isFilter := p.ops[i].(*Filter)
		pr, isProject := p.ops[i+1].(*Project)
		if !isFilter || !isProject {
			continue
		}
		var cols []int
		for _, e := range pr.exprs {
			cols = append(cols, e.Columns()...)
		}
		f.readOnly(cols)
	}
	p.stateful = p.stateful[:0]
	for i, op := range p.ops {
		if _, ok := op.(statefulOp); ok {
			p.stateful = append(p.stateful, i)
		}
	}
}

// allStateful returns the stateful operators of p and its branches,
// bottom-up (branches first, in order).
func (p *Pipeline) allStateful() []statefulOp {
	var out []statefulOp
	for _, br := range p.branches {
		out = append(out, br.pipe.allStateful()...)
	}
	for _, i := range p.stateful {
		out = append(out, p.ops[i].(statefulOp))
	}
	return out
}

// nameStateful gives each stateful operator its state-store name, its
// kind and its position bottom-up ("aggregate-0", "dedup-0",
// "aggregate-1"), and lets only the top one keep late rows. Stateful
// operators below a union or join must emit their rows as they process
// them (as deduplication does), since a branch has nothing above it at
// the end of a batch.
func (p *Pipeline) nameStateful(o buildOptions) error {
	all := p.allStateful()
	for i, s := range all {
		kind := s.Name()
		if k := strings.LastIndexByte(kind, '-'); k > 0 {
			if _, err := strconv.Atoi(kind[k+1:]); err == nil {
				kind = kind[:k]
			}
		}
		s.setName(kind + "-" + strconv.Itoa(i))
		s.keepLateRows(o.lateRows && i == len(all)-1)
	}
	for _, br := range p.branches {
		for _, s := range br.pipe.allStateful() {
			if _, emits := s.(interface{ emitsWhileProcessing() }); !emits {
				return fmt.Errorf("incremental: Build: %s below a union or join is not supported; move it above", s)
			}
		}
	}
	return nil
}

// BeginBatch prepares the operators for a batch, discarding what a failed
// attempt of it left. The micro-batch driver calls it before the batch's
// first Process.
func (p *Pipeline) BeginBatch(ctx context.Context, info BatchInfo) error {
	for _, br := range p.branches {
		if err := br.pipe.BeginBatch(ctx, info); err != nil {
			return err
		}
	}
	for _, op := range p.ops {
		if b, ok := op.(batchBeginner); ok {
			if err := b.begin(ctx, info); err != nil {
				return err
			}
		}
	}
	return nil
}

// earlyEvicter is a stateful operator that can emit and evict with the
// next batch's watermark at the end of this one (BatchInfo.
// EvictWatermarkMs).
type earlyEvicter interface {
	evictWith(watermarkMs int64)
}

// EndBatch finishes a batch: each stateful operator, bottom-up, commits
// its state as version info.BatchID and emits its rows, which run through
// the operators above it (and so into the next stateful operator). It
// returns the rows that reach the top, owned by the caller, and the state
// versions written.
func (p *Pipeline) EndBatch(ctx context.Context, info BatchInfo) (_ []arrow.RecordBatch, _ map[string]int64, err error) {
	versions := map[string]int64{}
	var outs []arrow.RecordBatch
	defer func() {
		if err != nil {
			releaseAll(outs)
		}
	}()
	for _, br := range p.branches {
		recs, v, err := br.pipe.EndBatch(ctx, info)
		if err != nil {
			return nil, nil, err
		}
		if len(recs) > 0 {
			releaseAll(recs)
			return nil, nil, fmt.Errorf("incremental: a stateful operator below a union or join emitted rows at the end of a batch")
		}
		for k, x := range v {
			versions[k] = x
		}
	}
	for _, at := range p.stateful {
		s := p.ops[at].(statefulOp)
		if e, ok := s.(earlyEvicter); ok {
			e.evictWith(info.EvictWatermarkMs)
		}
		recs, err := s.end(ctx)
		if err != nil {
			return nil, nil, err
		}
		versions[s.Name()] = info.BatchID
		for i, r := range recs {
			out, err := runOps(ctx, p.ops[at+1:], r) // consumes r
			if err != nil {
				releaseAll(recs[i+1:])
				return nil, nil, err
			}
			if out != nil {
				outs = append(outs, out)
			}
		}
	}
	if len(versions) == 0 {
		versions = nil
	}
	return outs, versions, nil
}

// Watermarks describes the plan's watermark declarations in plan order.
func (p *Pipeline) Watermarks() []WatermarkSpec {
	out := make([]WatermarkSpec, len(p.wms))
	for i, w := range p.wms {
		out[i] = w.spec()
	}
	return out
}

// EventTimeStats returns, per watermark declaration, the event times seen
// since the last call, and resets them.
func (p *Pipeline) EventTimeStats() []EventTimeStats {
	out := make([]EventTimeStats, len(p.wms))
	for i, w := range p.wms {
		out[i] = w.take()
	}
	return out
}

// top is the top-most stateful operator, the one whose late rows
// LateRows returns, or nil.
func (p *Pipeline) top() statefulOp {
	all := p.allStateful()
	if len(all) == 0 {
		return nil
	}
	return all[len(all)-1]
}

// LateRows returns the rows the top stateful operator dropped as late in
// the last batch (only when built WithLateRows); the caller releases
// them.
func (p *Pipeline) LateRows() []arrow.RecordBatch {
	if t := p.top(); t != nil {
		return t.takeLate()
	}
	return nil
}

// LateSchema is the schema of LateRows' records: the top stateful
// operator's input. It is nil for a plan without one.
func (p *Pipeline) LateSchema() *arrow.Schema {
	if t := p.top(); t != nil {
		return t.lateSchema()
	}
	return nil
}

// StateOperators reports each stateful operator's state after the last
// batch, in name order.
func (p *Pipeline) StateOperators() []StateOperatorMetrics {
	var out []StateOperatorMetrics
	for _, s := range p.allStateful() {
		out = append(out, s.stateMetrics())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].OperatorName < out[j].OperatorName })
	return out
}

// PurgeState deletes state that recovery of versions >= minVersion does
// not need.
func (p *Pipeline) PurgeState(ctx context.Context, minVersion int64) error {
	for _, s := range p.allStateful() {
		if err := s.purge(ctx, minVersion); err != nil {
			return fmt.Errorf("incremental: purging state of %s: %w", s.Name(), err)
		}
	}
	return nil
}

// Close gives back what the stateful operators hold (open state stores,
// kept late rows). The state provider belongs to the caller.
func (p *Pipeline) Close() error {
	for _, s := range p.allStateful() {
		s.close()
	}
	return nil
}

func (p *Pipeline) collectWatermarks(out *[]*watermarkOp) {
	for _, br := range p.branches {
		br.pipe.collectWatermarks(out)
	}
	for _, op := range p.ops {
		if w, ok := op.(*watermarkOp); ok {
			*out = append(*out, w)
		}
	}
}

// ProcessingTimerDue reports whether a stateful operator has a
// processing-time timer due at nowMs (milliseconds since the epoch), so
// that the driver runs a batch to fire it even without new data.
func (p *Pipeline) ProcessingTimerDue(nowMs int64) bool {
	for _, s := range p.allStateful() {
		if t, ok := s.(interface{ processingTimerDue(nowMs int64) bool }); ok && t.processingTimerDue(nowMs) {
			return true
		}
	}
	return false
}

// ConcurrentProcess reports whether Process may run on several goroutines
// at once: true for a plan without stateful operators.
func (p *Pipeline) ConcurrentProcess() bool { return len(p.allStateful()) == 0 }
