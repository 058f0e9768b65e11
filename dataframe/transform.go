package dataframe

import (
	"errors"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sluicehq/sluice/internal/arrowrows"
	"github.com/sluicehq/sluice/plan"
	"github.com/sluicehq/sluice/stateful"
)

// TransformOption configures TransformWithState.
type TransformOption func(*transformConfig)

type transformConfig struct {
	initial *plan.InitialTable
	err     error
}

// WithInitialState gives the processor initial state: rows of Go values
// of schema, whose first columns are the grouping keys (of the keys'
// types). In the query's first batch, before any input, the processor's
// HandleInitialState (it must implement stateful.InitialStateHandler)
// runs once per key with that key's rows. A query restarted from its
// checkpoint does not apply it again.
func WithInitialState(schema *arrow.Schema, rows [][]any) TransformOption {
	return func(c *transformConfig) {
		c.initial = &plan.InitialTable{Schema: schema, Rows: rows}
	}
}

// WithInitialStateRecord is WithInitialState with the rows of rec, read
// at once: rec is borrowed and may be released when this returns.
func WithInitialStateRecord(rec arrow.RecordBatch) TransformOption {
	if rec == nil {
		return func(c *transformConfig) { c.err = errors.New("the initial state record is nil") }
	}
	t := &plan.InitialTable{Schema: rec.Schema(), Rows: arrowrows.Rows(rec)}
	return func(c *transformConfig) { c.initial = t }
}

// TransformWithState runs p over the rows of each key, with per-key
// state (stateful.Value, List, Map, with optional TTL) and timers in the
// given time mode, as Spark's transformWithState. The result has
// outSchema: the rows p emits. Output modes append and update are
// supported; in stateful.EventTime mode the input needs a watermark
// (WithWatermark before GroupBy), its late rows are dropped, and timers
// fire when the watermark passes them. Processing-time timers fire in the
// first batch at or after their time: the driver runs a batch without
// new data when one is due.
func (g *GroupedData) TransformWithState(p stateful.Processor, outSchema *arrow.Schema, mode stateful.TimeMode, opts ...TransformOption) *DataFrame {
	return g.df.derive("GroupBy.TransformWithState", func() (plan.Node, error) {
		var c transformConfig
		for _, o := range opts {
			o(&c)
		}
		if c.err != nil {
			return nil, c.err
		}
		if p == nil {
			return nil, errors.New("the processor is nil")
		}
		if err := mode.Validate(); err != nil {
			return nil, err
		}
		if _, ok := p.(stateful.InitialStateHandler); c.initial != nil && !ok {
			return nil, fmt.Errorf("initial state was given, but the processor %T has no HandleInitialState method; implement stateful.InitialStateHandler", p)
		}
		return plan.NewTransformWithState(g.df.node, g.keys, p, outSchema, string(mode), c.initial)
	})
}
