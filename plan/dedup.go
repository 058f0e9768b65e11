package plan

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
)

// Dedup drops the rows of its input whose key (the values of Columns)
// was seen before, keeping the first row of each key, as Spark's
// dropDuplicates and dropDuplicatesWithinWatermark. Build it with
// NewDedup.
//
// Without WithinWatermark, a key is remembered in state for good, unless
// a watermarked event-time column is among Columns: then rows whose event
// time is at or below the watermark are dropped as late, and keys whose
// event time the watermark has passed are forgotten (no later row of
// that key can be on time).
//
// WithinWatermark needs a watermark on the input (any column; the key
// usually leaves the event time out, since the duplicates of a row may
// carry other event times): a key is remembered until the watermark
// passes its first row's event time plus the watermark's delay, and rows
// behind the watermark are dropped as late.
type Dedup struct {
	Input           Node
	Columns         []string
	WithinWatermark bool

	keys     []int
	eventCol int // input column giving the event time, or -1
	delay    time.Duration
}

// NewDedup returns the deduplication of input by cols (no columns: every
// column). It fails when a column is unknown (the error lists the
// input's columns) or has a type that cannot be a key. A repeated column
// counts once. WithinWatermark without a watermark on the input is
// refused by CheckStreaming, when the query starts.
func NewDedup(input Node, cols []string, within bool) (*Dedup, error) {
	op := "DropDuplicates"
	if within {
		op = "DropDuplicatesWithinWatermark"
	}
	if input == nil {
		return nil, fmt.Errorf("plan: %s: input is nil", op)
	}
	s := input.Schema()
	if len(cols) == 0 {
		cols = make([]string, s.NumFields())
		for i, f := range s.Fields() {
			cols[i] = f.Name
		}
	}
	d := &Dedup{Input: input, WithinWatermark: within, eventCol: -1}
	for _, c := range cols {
		idx := s.FieldIndices(c)
		if len(idx) == 0 {
			return nil, fmt.Errorf("plan: %s: no column %q; the columns are %s", op, c, fieldNames(s))
		}
		if slices.Contains(d.keys, idx[0]) {
			continue
		}
		if err := dedupKeyType(s.Field(idx[0]).Type); err != nil {
			return nil, fmt.Errorf("plan: %s: column %q: %w", op, c, err)
		}
		d.keys = append(d.keys, idx[0])
		d.Columns = append(d.Columns, c)
	}
	wms := watermarkColumns(input)
	if within {
		// The input's event-time column: the first watermarked column in
		// schema order.
		for i, f := range s.Fields() {
			if dl, ok := wms[f.Name]; ok {
				if _, ts := f.Type.(*arrow.TimestampType); ts {
					d.eventCol, d.delay = i, dl
					break
				}
			}
		}
		return d, nil
	}
	for _, k := range d.keys {
		f := s.Field(k)
		if dl, ok := wms[f.Name]; ok {
			if _, ts := f.Type.(*arrow.TimestampType); ts {
				d.eventCol, d.delay = k, dl
				break
			}
		}
	}
	return d, nil
}

// dedupKeyType refuses column types the key encoding cannot hold.
func dedupKeyType(t arrow.DataType) error {
	switch t := t.(type) {
	case *arrow.StructType:
		for _, f := range t.Fields() {
			if err := dedupKeyType(f.Type); err != nil {
				return err
			}
		}
		return nil
	case *arrow.ListType:
		return dedupKeyType(t.Elem())
	case *arrow.LargeListType:
		return dedupKeyType(t.Elem())
	case *arrow.FixedSizeListType:
		return dedupKeyType(t.Elem())
	case *arrow.MapType:
		return fmt.Errorf("a map (%s) cannot be a deduplication key; leave the column out of the key columns", t)
	case *arrow.DictionaryType:
		return fmt.Errorf("a dictionary-encoded column (%s) cannot be a deduplication key yet; CAST it to %s first", t, t.ValueType)
	}
	switch t.ID() {
	case arrow.BOOL, arrow.INT8, arrow.INT16, arrow.INT32, arrow.INT64,
		arrow.UINT8, arrow.UINT16, arrow.UINT32, arrow.UINT64,
		arrow.FLOAT16, arrow.FLOAT32, arrow.FLOAT64,
		arrow.DATE32, arrow.DATE64, arrow.TIME32, arrow.TIME64, arrow.TIMESTAMP, arrow.DURATION,
		arrow.STRING, arrow.LARGE_STRING, arrow.BINARY, arrow.LARGE_BINARY:
		return nil
	}
	return fmt.Errorf("%s cannot be a deduplication key yet; CAST it to STRING or leave the column out of the key columns", t)
}

// Schema is the input's schema.
func (d *Dedup) Schema() *arrow.Schema { return d.Input.Schema() }

// Children is the input.
func (d *Dedup) Children() []Node { return []Node{d.Input} }

func (d *Dedup) String() string {
	name := "Deduplicate"
	if d.WithinWatermark {
		name = "DeduplicateWithinWatermark"
	}
	return name + " [" + strings.Join(d.Columns, ", ") + "]"
}

// KeyColumns returns the positions in the input of the key columns, in
// Columns order.
func (d *Dedup) KeyColumns() []int { return slices.Clone(d.keys) }

// EventTime returns the position in the input of the column whose event
// time bounds the state, and its watermark delay, or -1: for
// DropDuplicates a watermarked timestamp column among the key columns,
// for DropDuplicatesWithinWatermark the input's watermarked column.
func (d *Dedup) EventTime() (column int, delay time.Duration) { return d.eventCol, d.delay }

// Stateful is true: the keys seen are kept in the state store.
func (d *Dedup) Stateful() bool { return true }

// CheckStreaming refuses DropDuplicatesWithinWatermark without a
// watermark on its input, and deduplication of an aggregation's rows in
// complete mode. Complete mode without any aggregation is refused by
// CheckStreaming itself.
func (d *Dedup) CheckStreaming(mode OutputMode) error {
	if d.WithinWatermark && d.eventCol < 0 {
		return fmt.Errorf("plan: CheckStreaming: DropDuplicatesWithinWatermark(%s) needs a watermark on its input: "+
			"call WithWatermark(column, delay) on an event-time column of the stream before it (the key usually leaves that column out); "+
			"or use DropDuplicates, which keeps every key forever", strings.Join(d.Columns, ", "))
	}
	if mode == Complete {
		if a := findAggregate(d.Input); a != nil {
			return fmt.Errorf("plan: CheckStreaming: Complete output mode not supported with a deduplication of an aggregation's rows (%s over %s): "+
				"complete mode rewrites the whole result table every batch, so every row after the first batch would be a duplicate; "+
				"deduplicate before GroupBy, or use update output mode", d, a)
		}
	}
	return nil
}

// WithChildren deduplicates children[0] by the same columns.
func (d *Dedup) WithChildren(children []Node) (Node, error) {
	if err := oneChild(d, children); err != nil {
		return nil, err
	}
	return NewDedup(children[0], d.Columns, d.WithinWatermark)
}
