package incremental

import (
	"context"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
)

// statefulOp is an operator that keeps state across batches: it absorbs
// rows in Process (returning none) and produces its rows at the end of
// the batch.
type statefulOp interface {
	Operator
	Name() string
	begin(ctx context.Context, info BatchInfo) error
	end(ctx context.Context) ([]arrow.RecordBatch, error)
	needsNoDataBatch(watermarkMs int64) bool
	takeLate() []arrow.RecordBatch
	lateSchema() *arrow.Schema
	stateMetrics() StateOperatorMetrics
	purge(ctx context.Context, minVersion int64) error
	close()
}

func (a *Aggregate) lateSchema() *arrow.Schema          { return a.inSchema }
func (a *Aggregate) stateMetrics() StateOperatorMetrics { return a.metrics }

// locateAggregate finds the stateful operator among p.ops.
func (p *Pipeline) locateAggregate() {
	for i, op := range p.ops {
		if s, ok := op.(statefulOp); ok {
			p.agg, p.aggAt = s, i
		}
	}
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

// BeginBatch prepares the stateful operator for a batch, discarding what
// a failed attempt of it left. The micro-batch driver calls it before the
// batch's first Process.
func (p *Pipeline) BeginBatch(ctx context.Context, info BatchInfo) error {
	if p.agg == nil {
		return nil
	}
	return p.agg.begin(ctx, info)
}

// EndBatch finishes a batch: the stateful operator merges the batch into
// its state, commits it as version info.BatchID, and returns its rows (run
// through the operators above it) with the state versions written. The
// records are owned by the caller.
func (p *Pipeline) EndBatch(ctx context.Context, info BatchInfo) ([]arrow.RecordBatch, map[string]int64, error) {
	if p.agg == nil {
		return nil, nil, nil
	}
	recs, err := p.agg.end(ctx)
	if err != nil {
		return nil, nil, err
	}
	above := p.ops[p.aggAt+1:]
	var outs []arrow.RecordBatch
	for i, r := range recs {
		out, err := runOps(ctx, above, r) // consumes r
		if err != nil {
			releaseAll(recs[i+1:])
			releaseAll(outs)
			return nil, nil, err
		}
		if out != nil {
			outs = append(outs, out)
		}
	}
	return outs, map[string]int64{p.agg.Name(): info.BatchID}, nil
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

// LateRows returns the rows the stateful operator dropped as late in the
// last batch (only when built WithLateRows); the caller releases them.
func (p *Pipeline) LateRows() []arrow.RecordBatch {
	if p.agg == nil {
		return nil
	}
	return p.agg.takeLate()
}

// LateSchema is the schema of LateRows' records: the stateful operator's
// input. It is nil for a plan without one.
func (p *Pipeline) LateSchema() *arrow.Schema {
	if p.agg == nil {
		return nil
	}
	return p.agg.lateSchema()
}

// StateOperators reports the stateful operator's state after the last
// batch.
func (p *Pipeline) StateOperators() []StateOperatorMetrics {
	if p.agg == nil {
		return nil
	}
	return []StateOperatorMetrics{p.agg.stateMetrics()}
}

// PurgeState deletes state that recovery of versions >= minVersion does
// not need.
func (p *Pipeline) PurgeState(ctx context.Context, minVersion int64) error {
	if p.agg == nil {
		return nil
	}
	if err := p.agg.purge(ctx, minVersion); err != nil {
		return fmt.Errorf("incremental: purging state of %s: %w", p.agg.Name(), err)
	}
	return nil
}

// Close gives back what the stateful operator holds (open state stores,
// kept late rows). The state provider belongs to the caller.
func (p *Pipeline) Close() error {
	if p.agg != nil {
		p.agg.close()
	}
	return nil
}

func partitionsNote(n int) string {
	if n <= 0 {
		n = DefaultStatePartitions
	}
	return fmt.Sprintf(" (%d partitions)", n)
}
