package plan

import (
	"errors"
	"fmt"
	"strings"

	"github.com/sluicehq/sluice/expr"
)

// OutputMode is how each batch's results are written to the sink, as in
// Spark Structured Streaming.
type OutputMode string

const (
	// Append writes only rows that will never change again.
	Append OutputMode = "append"
	// Update writes the rows that changed in the batch.
	Update OutputMode = "update"
	// Complete rewrites the whole result table every batch; it needs an
	// aggregation so that the table stays bounded.
	Complete OutputMode = "complete"
)

// ParseOutputMode reads an output mode name, ignoring case and
// surrounding space.
func ParseOutputMode(s string) (OutputMode, error) {
	m := OutputMode(strings.ToLower(strings.TrimSpace(s)))
	if err := m.validate(); err != nil {
		return "", err
	}
	return m, nil
}

func (m OutputMode) validate() error {
	switch m {
	case Append, Update, Complete:
		return nil
	}
	return fmt.Errorf("plan: unknown output mode %q: use append, update or complete", string(m))
}

// String is the mode's name.
func (m OutputMode) String() string { return string(m) }

// CheckStreaming reports whether plan n can run as a streaming query in
// mode, with Spark's rules and messages that say what to change:
//   - at most one Aggregate, not below a Union, with no WithWatermark above it;
//   - Complete needs an Aggregate (the result table must stay bounded);
//   - Append with an Aggregate needs a watermark on its event-time key (a
//     window of the watermarked column, or the column itself), since a
//     group is written once, when the watermark has passed it;
//   - Update cannot use a session window: a session merged into another
//     cannot be taken back from the sink.
//
// A node type this package does not know is an error.
func CheckStreaming(n Node, mode OutputMode) error {
	if n == nil {
		return errors.New("plan: CheckStreaming: plan is nil")
	}
	if err := mode.validate(); err != nil {
		return err
	}
	var aggs []*Aggregate
	err := Walk(n, func(m Node) error {
		switch m := m.(type) {
		case *Scan, *Project, *Filter, *Generate, *MapBatches, *Parse:
			return nil
		case *Aggregate:
			aggs = append(aggs, m)
			return nil
		case *Union:
			for _, in := range m.Inputs {
				if below := findAggregate(in); below != nil {
					return fmt.Errorf("plan: CheckStreaming: an aggregation below a union is not supported (%s); union the streams first and aggregate the union", below)
				}
			}
			return nil
		case *Watermark:
			if below := findAggregate(m.Input); below != nil {
				return fmt.Errorf("plan: CheckStreaming: WithWatermark(%q) comes after an aggregation; declare the watermark on the input, before GroupBy", m.Column)
			}
			return nil
		case StreamingChecker:
			return m.CheckStreaming(mode)
		}
		return fmt.Errorf("plan: CheckStreaming: unknown plan node %T (%s); build plans from this package's nodes", m, m)
	})
	if err != nil {
		return err
	}
	if len(aggs) > 1 {
		return errors.New("plan: CheckStreaming: multiple streaming aggregations are not supported; aggregate once per query, or write the first aggregation to a sink and read it as a new stream")
	}
	if len(aggs) == 0 {
		if mode == Complete && !completeCapable(n) {
			return errors.New("plan: Complete output mode not supported when there are no streaming aggregations on streaming DataFrames/Datasets; use append or update output mode")
		}
		return nil
	}
	a := aggs[0]
	w, _ := a.Window()
	switch mode {
	case Append:
		if a.EventTimeKey() < 0 {
			return errors.New("plan: Append output mode not supported when there are streaming aggregations on streaming DataFrames/DataSets without watermark: " +
				"append writes a group once, when the watermark has passed it, so add WithWatermark on the event-time column and group by a window of it (or by the column itself); " +
				"or use update or complete output mode")
		}
	case Update:
		if w != nil && w.Kind == expr.SessionWindow {
			return errors.New("plan: Update output mode not supported with a session window: a session merged into a later one cannot be retracted from the sink; use append (with a watermark) or complete output mode")
		}
	}
	return nil
}

// StreamingChecker is a plan node (defined beside the others, such as a
// join or deduplication) with rules of its own for streaming queries:
// CheckStreaming says whether the node can run in mode, with a message
// saying what to change.
type StreamingChecker interface {
	Node
	CheckStreaming(mode OutputMode) error
}

// StatefulNode is a plan node whose operator keeps state across batches
// in the state store (aggregation, deduplication, stream-stream joins,
// arbitrary stateful processing).
type StatefulNode interface {
	Node
	Stateful() bool
}

// IsStateful reports whether n or a node below it keeps state across
// batches, so that the query needs a state store.
func IsStateful(n Node) bool {
	found := false
	_ = Walk(n, func(m Node) error {
		if s, ok := m.(StatefulNode); ok && s.Stateful() {
			found = true
		}
		return nil
	})
	return found
}

// completeCapable reports whether a node at or below n emits whole
// result tables, as arbitrary stateful processing may.
func completeCapable(n Node) bool {
	found := false
	_ = Walk(n, func(m Node) error {
		if c, ok := m.(interface{ CompleteCapable() bool }); ok && c.CompleteCapable() {
			found = true
		}
		return nil
	})
	return found
}

// findAggregate returns the first Aggregate at or below n, or nil.
func findAggregate(n Node) *Aggregate {
	var found *Aggregate
	_ = Walk(n, func(m Node) error {
		if a, ok := m.(*Aggregate); ok && found == nil {
			found = a
		}
		return nil
	})
	return found
}
