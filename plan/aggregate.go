package plan

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sluicehq/sluice/agg"
	"github.com/sluicehq/sluice/expr"
)

// AggCall is one aggregate function call of an Aggregate: Func over Args,
// with constant Params (such as approx_percentile's percentage), named
// Alias in the output (or Spark's default name, such as "sum(value)").
type AggCall struct {
	Func   string
	Args   []expr.Expr
	Params []any
	Alias  string
}

// As names the call's output column.
func (c AggCall) As(name string) AggCall { c.Alias = name; return c }

// Name is the output column's name: the alias, or Spark's form such as
// "count(1)" or "sum(value)".
func (c AggCall) Name() string {
	if c.Alias != "" {
		return c.Alias
	}
	return c.display()
}

func (c AggCall) display() string {
	parts := make([]string, 0, len(c.Args)+len(c.Params))
	for _, a := range c.Args {
		parts = append(parts, a.String())
	}
	if len(c.Args) == 0 && strings.EqualFold(c.Func, "count") {
		parts = append(parts, "1")
	}
	for _, p := range c.Params {
		parts = append(parts, fmt.Sprint(p))
	}
	return strings.ToLower(c.Func) + "(" + strings.Join(parts, ", ") + ")"
}

func (c AggCall) String() string {
	if c.Alias != "" {
		return c.display() + " AS " + c.Alias
	}
	return c.display()
}

// Aggregate groups its input's rows by Keys and computes Aggs per group,
// keeping partial results in state across batches. At most one key may be
// an event-time window (expr.Window, expr.SlidingWindowOf,
// expr.SessionWindowOf), which the aggregation expands itself: a sliding
// window puts a row in every window that contains it. Build it with
// NewAggregate.
type Aggregate struct {
	Input Node
	Keys  []expr.Expr
	Aggs  []AggCall

	keys      []*expr.Bound // nil at the window key
	window    *expr.WindowSpec
	windowKey int
	timeCol   *expr.Bound
	gap       *expr.Bound
	args      [][]*expr.Bound
	funcs     []agg.Func
	eventKey  int
	delay     time.Duration
	schema    *arrow.Schema
}

// NewAggregate binds keys and aggregate calls to input's schema. It fails
// when a key or an argument does not bind, when two keys are windows,
// when an aggregate function is unknown or does not accept its argument
// types, or when two output columns would have the same name.
func NewAggregate(input Node, keys []expr.Expr, aggs []AggCall) (*Aggregate, error) {
	if input == nil {
		return nil, errors.New("plan: GroupBy: input is nil")
	}
	if len(aggs) == 0 {
		return nil, errors.New("plan: Agg: no aggregate functions; give at least one, such as dataframe.Count()")
	}
	in := input.Schema()
	a := &Aggregate{Input: input, Keys: append([]expr.Expr(nil), keys...), Aggs: append([]AggCall(nil), aggs...), windowKey: -1, eventKey: -1}
	wms := watermarkColumns(input)
	fields := make([]arrow.Field, 0, len(keys)+len(aggs))
	seen := map[string]bool{}
	addField := func(f arrow.Field, what string) error {
		if seen[f.Name] {
			return fmt.Errorf("plan: GroupBy: two output columns are named %q (the second is %s); give one another name with As", f.Name, what)
		}
		seen[f.Name] = true
		fields = append(fields, f)
		return nil
	}
	a.keys = make([]*expr.Bound, len(keys))
	for i, k := range keys {
		spec, isWindow, err := expr.AsWindow(k)
		if isWindow {
			if err != nil {
				return nil, fmt.Errorf("plan: GroupBy: key %d: %w", i+1, err)
			}
			if a.window != nil {
				return nil, fmt.Errorf("plan: GroupBy: keys %d and %d are both windows; group by one window at a time", a.windowKey+1, i+1)
			}
			tb, err := spec.Time.Bind(in)
			if err != nil {
				return nil, fmt.Errorf("plan: GroupBy: window key %d: %w", i+1, err)
			}
			if _, ok := tb.Field().Type.(*arrow.TimestampType); !ok {
				return nil, fmt.Errorf("plan: GroupBy: window key %d: the time column %s is %s, not a timestamp; CAST it to TIMESTAMP first", i+1, spec.Time, tb.Field().Type)
			}
			if !spec.Gap.IsZero() {
				gb, err := spec.Gap.Bind(in)
				if err != nil {
					return nil, fmt.Errorf("plan: GroupBy: session window gap: %w", err)
				}
				a.gap = gb
			}
			s := spec
			a.window, a.windowKey, a.timeCol = &s, i, tb
			if name, ok := expr.ColumnRef(spec.Time); ok {
				if d, ok := wms[name]; ok {
					a.eventKey, a.delay = i, d
				}
			}
			if err := addField(arrow.Field{Name: spec.Name, Type: expr.WindowType()}, "a window"); err != nil {
				return nil, err
			}
			continue
		}
		b, err := k.Bind(in)
		if err != nil {
			return nil, fmt.Errorf("plan: GroupBy: key %d: %w", i+1, err)
		}
		if err := checkKeyType(b.Field().Type); err != nil {
			return nil, fmt.Errorf("plan: GroupBy: key %d (%s): %w", i+1, k, err)
		}
		a.keys[i] = b
		if name, ok := expr.ColumnRef(k); ok && a.eventKey < 0 {
			if d, ok := wms[name]; ok {
				if _, ts := b.Field().Type.(*arrow.TimestampType); ts {
					a.eventKey, a.delay = i, d
				}
			}
		}
		if err := addField(b.Field(), "key "+k.String()); err != nil {
			return nil, err
		}
	}
	if a.window != nil && a.eventKey >= 0 && a.eventKey != a.windowKey {
		// The window, not the raw column, bounds the groups in event time.
		a.eventKey = a.windowKey
	}
	a.args = make([][]*expr.Bound, len(aggs))
	a.funcs = make([]agg.Func, len(aggs))
	for i, c := range aggs {
		types := make([]arrow.DataType, len(c.Args))
		a.args[i] = make([]*expr.Bound, len(c.Args))
		for j, e := range c.Args {
			b, err := e.Bind(in)
			if err != nil {
				return nil, fmt.Errorf("plan: Agg: %s: %w", c, err)
			}
			a.args[i][j], types[j] = b, b.Field().Type
		}
		f, err := agg.Bind(c.Func, types, c.Params...)
		if err != nil {
			return nil, fmt.Errorf("plan: Agg: %s: %w", c, err)
		}
		a.funcs[i] = f
		if err := addField(arrow.Field{Name: c.Name(), Type: f.ResultType(), Nullable: true}, c.String()); err != nil {
			return nil, err
		}
	}
	a.schema = arrow.NewSchema(fields, nil)
	return a, nil
}

// checkKeyType refuses grouping key types the key encoding cannot hold.
func checkKeyType(t arrow.DataType) error {
	switch t := t.(type) {
	case *arrow.MapType:
		return fmt.Errorf("a map (%s) cannot be a grouping key; group by its keys or values instead", t)
	case *arrow.DictionaryType:
		return checkKeyType(t.ValueType)
	case *arrow.StructType:
		for _, f := range t.Fields() {
			if err := checkKeyType(f.Type); err != nil {
				return err
			}
		}
	case arrow.ListLikeType:
		return checkKeyType(t.Elem())
	case *arrow.Decimal128Type, *arrow.Decimal256Type, arrow.ExtensionType:
		return fmt.Errorf("%s cannot be a grouping key yet; CAST it to STRING or DOUBLE", t)
	}
	return nil
}

// Schema is the keys (a window key as a struct of start and end) followed
// by one column per aggregate call.
func (a *Aggregate) Schema() *arrow.Schema { return a.schema }

// Children is the input.
func (a *Aggregate) Children() []Node { return []Node{a.Input} }

func (a *Aggregate) String() string {
	ks := make([]string, len(a.Keys))
	for i, k := range a.Keys {
		ks[i] = k.String()
	}
	as := make([]string, len(a.Aggs))
	for i, c := range a.Aggs {
		as[i] = c.String()
	}
	return "Aggregate [" + strings.Join(ks, ", ") + "], [" + strings.Join(as, ", ") + "]"
}

// BoundKeys returns the keys bound to the input's schema, nil at the
// window key's position.
func (a *Aggregate) BoundKeys() []*expr.Bound { return append([]*expr.Bound(nil), a.keys...) }

// Window returns the window key's spec and position, or nil and -1. For
// a window, TimeColumn is its bound time column and SessionGap its bound
// per-row gap (nil for a constant gap).
func (a *Aggregate) Window() (*expr.WindowSpec, int) { return a.window, a.windowKey }

// TimeColumn is the window key's time column bound to the input, or nil.
func (a *Aggregate) TimeColumn() *expr.Bound { return a.timeCol }

// SessionGap is a session window's per-row gap bound to the input, or nil.
func (a *Aggregate) SessionGap() *expr.Bound { return a.gap }

// BoundArgs returns each aggregate call's arguments bound to the input.
func (a *Aggregate) BoundArgs() [][]*expr.Bound { return a.args }

// Funcs returns the bound aggregate functions, one per call.
func (a *Aggregate) Funcs() []agg.Func { return append([]agg.Func(nil), a.funcs...) }

// EventTimeKey is the position of the key that a watermark bounds in
// event time (a window of a watermarked column, or that column itself),
// or -1: only then can state be finalized and evicted.
func (a *Aggregate) EventTimeKey() int { return a.eventKey }

// WatermarkDelay is the delay of the watermark on the event-time key.
func (a *Aggregate) WatermarkDelay() time.Duration { return a.delay }

// HasAggregate reports whether n or a node below it is an Aggregate.
func HasAggregate(n Node) bool { return n != nil && findAggregate(n) != nil }

// Stateful is true: an aggregation keeps its groups in the state store.
func (a *Aggregate) Stateful() bool { return true }

// WithChildren rebinds the aggregation over children[0].
func (a *Aggregate) WithChildren(children []Node) (Node, error) {
	if err := oneChild(a, children); err != nil {
		return nil, err
	}
	return NewAggregate(children[0], a.Keys, a.Aggs)
}
