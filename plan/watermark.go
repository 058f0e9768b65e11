package plan

import (
	"errors"
	"fmt"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sluicehq/sluice/expr"
)

// Watermark declares Column as the event time of its input's rows and
// that rows may arrive up to Delay late (DataFrame.WithWatermark). It
// passes rows through unchanged; the driver tracks the maximum event time
// it sees and derives the watermark from it, and stateful operators above
// it drop rows the watermark makes late and finalize the windows it
// closes. Build it with NewWatermark.
type Watermark struct {
	Input  Node
	Column string
	Delay  time.Duration
	// IdleTimeout, when positive, advances this input's watermark with
	// processing time once no rows have arrived for that long.
	IdleTimeout time.Duration
	index       int
}

// NewWatermark declares column of input as its event time with the given
// delay. The column must be a timestamp; delay must not be negative.
func NewWatermark(input Node, column string, delay, idleTimeout time.Duration) (*Watermark, error) {
	if input == nil {
		return nil, errors.New("plan: WithWatermark: input is nil")
	}
	s := input.Schema()
	idx := s.FieldIndices(column)
	if len(idx) == 0 {
		return nil, fmt.Errorf("plan: WithWatermark: no column %q; the columns are %s", column, fieldNames(s))
	}
	f := s.Field(idx[0])
	if _, ok := f.Type.(*arrow.TimestampType); !ok {
		return nil, fmt.Errorf("plan: WithWatermark: column %q is %s, not a timestamp; convert it first, for example with a Select of CAST(%s AS TIMESTAMP)", column, f.Type, column)
	}
	if delay < 0 {
		return nil, fmt.Errorf("plan: WithWatermark(%q, %s): the delay must not be negative", column, delay)
	}
	if idleTimeout < 0 {
		return nil, fmt.Errorf("plan: WithWatermark(%q): the idle timeout %s must not be negative", column, idleTimeout)
	}
	return &Watermark{Input: input, Column: column, Delay: delay, IdleTimeout: idleTimeout, index: idx[0]}, nil
}

// Schema is the input's schema.
func (w *Watermark) Schema() *arrow.Schema { return w.Input.Schema() }

// Children is the input.
func (w *Watermark) Children() []Node { return []Node{w.Input} }

// ColumnIndex is the position of the event-time column in the schema.
func (w *Watermark) ColumnIndex() int { return w.index }

func (w *Watermark) String() string {
	s := fmt.Sprintf("EventTimeWatermark %s, %s", w.Column, w.Delay)
	if w.IdleTimeout > 0 {
		s += fmt.Sprintf(", idle after %s", w.IdleTimeout)
	}
	return s
}

// watermarkColumns returns the event-time columns of n's schema that a
// Watermark node at or below n declares, with their delays (the smallest
// when several declare one column). A column keeps its watermark through
// operators that pass it on, and through a Project that selects or renames
// it (Select(Col("ts").As("event_time"))); a computed column has none.
func watermarkColumns(n Node) map[string]time.Duration {
	out := map[string]time.Duration{}
	add := func(name string, d time.Duration) {
		if old, seen := out[name]; !seen || d < old {
			out[name] = d
		}
	}
	switch m := n.(type) {
	case *Watermark:
		for name, d := range watermarkColumns(m.Input) {
			add(name, d)
		}
		add(m.Column, m.Delay)
		return out
	case *Project:
		in := watermarkColumns(m.Input)
		for _, e := range m.Exprs {
			if name, ok := expr.ColumnRef(e); ok {
				if d, ok := in[name]; ok {
					add(e.Name(), d)
				}
			}
		}
		return out
	}
	schema := n.Schema()
	for _, c := range n.Children() {
		for name, d := range watermarkColumns(c) {
			if len(schema.FieldIndices(name)) > 0 {
				add(name, d)
			}
		}
	}
	return out
}

// WithChildren redeclares the watermark over children[0].
func (w *Watermark) WithChildren(children []Node) (Node, error) {
	if err := oneChild(w, children); err != nil {
		return nil, err
	}
	return NewWatermark(children[0], w.Column, w.Delay, w.IdleTimeout)
}
