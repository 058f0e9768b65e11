package plan

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sluicehq/sluice/expr"
)

// Time modes of TransformWithState (the values of stateful.TimeMode).
const (
	ProcessingTimeMode = "ProcessingTime"
	EventTimeMode      = "EventTime"
)

// InitialTable is the initial state of a TransformWithState: rows of
// Go values (as internal/arrowrows builds them) of Schema, whose first
// columns are the grouping keys, of the keys' types.
type InitialTable struct {
	Schema *arrow.Schema
	Rows   [][]any
}

// TransformWithState groups its input by Keys and runs a user's
// processor (a stateful.Processor; this package cannot name the type, as
// the stateful package is of its level) over each key's rows, with
// per-key state and timers of TimeMode ("ProcessingTime" or
// "EventTime"). Its rows are what the processor emits, of OutSchema.
// Build it with NewTransformWithState.
type TransformWithState struct {
	Input     Node
	Keys      []expr.Expr
	Processor any
	OutSchema *arrow.Schema
	TimeMode  string
	// Initial, when not nil, is applied in the query's first batch.
	Initial *InitialTable

	keys     []*expr.Bound
	eventCol *expr.Bound
}

// NewTransformWithState binds keys to input's schema and checks the
// rest: at least one key, none a window or of a type keys cannot have, a
// processor, an output schema with columns, a known time mode, and
// initial rows whose first columns are the keys.
func NewTransformWithState(input Node, keys []expr.Expr, processor any, outSchema *arrow.Schema, timeMode string, initial *InitialTable) (*TransformWithState, error) {
	if input == nil {
		return nil, errors.New("plan: TransformWithState: input is nil")
	}
	if len(keys) == 0 {
		return nil, errors.New("plan: TransformWithState: no grouping keys; group by at least one column, such as GroupBy(Col(\"user\"))")
	}
	if processor == nil {
		return nil, errors.New("plan: TransformWithState: the processor is nil")
	}
	if outSchema == nil || outSchema.NumFields() == 0 {
		return nil, errors.New("plan: TransformWithState: the output schema has no columns; declare the columns the processor emits")
	}
	switch timeMode {
	case ProcessingTimeMode, EventTimeMode:
	default:
		return nil, fmt.Errorf("plan: TransformWithState: time mode %q is not known; use stateful.ProcessingTime or stateful.EventTime", timeMode)
	}
	in := input.Schema()
	t := &TransformWithState{Input: input, Keys: slices.Clone(keys), Processor: processor, OutSchema: outSchema, TimeMode: timeMode, Initial: initial}
	for i, k := range keys {
		if _, isWindow, _ := expr.AsWindow(k); isWindow {
			return nil, fmt.Errorf("plan: TransformWithState: key %d (%s) is a window; group by columns, and keep windows in the processor's state", i+1, k)
		}
		b, err := k.Bind(in)
		if err != nil {
			return nil, fmt.Errorf("plan: TransformWithState: key %d: %w", i+1, err)
		}
		if err := checkKeyType(b.Field().Type); err != nil {
			return nil, fmt.Errorf("plan: TransformWithState: key %d (%s): %w", i+1, k, err)
		}
		t.keys = append(t.keys, b)
	}
	if initial != nil {
		if err := t.checkInitial(); err != nil {
			return nil, err
		}
	}
	wms := watermarkColumns(input)
	names := make([]string, 0, len(wms))
	for n := range wms {
		names = append(names, n)
	}
	slices.Sort(names)
	if len(names) > 0 {
		b, err := expr.Col(names[0]).Bind(in)
		if err != nil {
			return nil, fmt.Errorf("plan: TransformWithState: watermark column: %w", err)
		}
		t.eventCol = b
	}
	return t, nil
}

func (t *TransformWithState) checkInitial() error {
	s := t.Initial.Schema
	if s == nil {
		return errors.New("plan: TransformWithState: the initial state has no schema")
	}
	if s.NumFields() < len(t.keys) {
		return fmt.Errorf("plan: TransformWithState: the initial state has %d columns (%s); its first %d must be the grouping keys", s.NumFields(), fieldNames(s), len(t.keys))
	}
	for i, k := range t.keys {
		if got := s.Field(i).Type; !arrow.TypeEqual(got, k.Field().Type) {
			return fmt.Errorf("plan: TransformWithState: initial state column %d (%s) is %s, but grouping key %d (%s) is %s; the initial state's first columns are the keys, of the same types",
				i+1, s.Field(i).Name, got, i+1, t.Keys[i], k.Field().Type)
		}
	}
	for r, row := range t.Initial.Rows {
		if len(row) != s.NumFields() {
			return fmt.Errorf("plan: TransformWithState: initial state row %d has %d values for %d columns (%s)", r+1, len(row), s.NumFields(), fieldNames(s))
		}
	}
	return nil
}

// Schema is the output schema the processor emits.
func (t *TransformWithState) Schema() *arrow.Schema { return t.OutSchema }

// Children is the input.
func (t *TransformWithState) Children() []Node { return []Node{t.Input} }

func (t *TransformWithState) String() string {
	ks := make([]string, len(t.Keys))
	for i, k := range t.Keys {
		ks[i] = k.String()
	}
	s := fmt.Sprintf("TransformWithState [%s], %T, %s, [%s]", strings.Join(ks, ", "), t.Processor, t.TimeMode, fieldNames(t.OutSchema))
	if t.Initial != nil {
		s += fmt.Sprintf(", initial state of %d rows", len(t.Initial.Rows))
	}
	return s
}

// BoundKeys returns the grouping keys bound to the input.
func (t *TransformWithState) BoundKeys() []*expr.Bound { return slices.Clone(t.keys) }

// EventTimeColumn is the input's watermarked column (the first by name
// when there are several), bound to the input, or nil.
func (t *TransformWithState) EventTimeColumn() *expr.Bound { return t.eventCol }

// Stateful is true: the processor's state and timers live in the state
// store.
func (t *TransformWithState) Stateful() bool { return true }

// WithChildren rebuilds the node over children[0].
func (t *TransformWithState) WithChildren(children []Node) (Node, error) {
	if err := oneChild(t, children); err != nil {
		return nil, err
	}
	return NewTransformWithState(children[0], t.Keys, t.Processor, t.OutSchema, t.TimeMode, t.Initial)
}

// CheckStreaming allows append and update output (the processor's rows
// are written as it emits them) and, in event time, needs a watermark on
// the input.
func (t *TransformWithState) CheckStreaming(mode OutputMode) error {
	if mode == Complete {
		return errors.New("plan: CheckStreaming: TransformWithState supports append and update output modes, not complete: the processor emits rows as it goes, with no result table to rewrite; use append or update")
	}
	if t.TimeMode == EventTimeMode && t.eventCol == nil {
		return errors.New("plan: CheckStreaming: TransformWithState in EventTime mode needs a watermark on its input: call WithWatermark on the event-time column before GroupBy, or use stateful.ProcessingTime")
	}
	return nil
}
