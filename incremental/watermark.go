package incremental

import (
	"context"
	"fmt"
	"math"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/sluicehq/sluice/plan"
)

// watermarkOp passes rows through and records the event times it sees,
// from which the driver derives the watermark.
type watermarkOp struct {
	node *plan.Watermark
	col  int

	mu    sync.Mutex // Process may run concurrently in a stateless pipeline
	stats EventTimeStats
	pool  sync.Pool // *tsBuffers
}

type tsBuffers struct {
	ts []int64
	ok []bool
}

func newWatermarkOp(node *plan.Watermark) *watermarkOp {
	return &watermarkOp{node: node, col: node.ColumnIndex()}
}

// Schema is the input's schema.
func (w *watermarkOp) Schema() *arrow.Schema { return w.node.Schema() }

// Process records rec's event times and returns rec itself, retained:
// the caller releases it.
func (w *watermarkOp) Process(_ context.Context, rec arrow.RecordBatch) (arrow.RecordBatch, error) {
	if int(rec.NumCols()) <= w.col {
		return nil, fmt.Errorf("incremental: %s: the record has %d columns", w.node, rec.NumCols())
	}
	s, ok := rawTimeStats(rec.Column(w.col))
	if !ok {
		s = w.bufferedStats(rec.Column(w.col))
	}
	w.mu.Lock()
	w.stats.Merge(s)
	w.mu.Unlock()
	rec.Retain()
	return rec, nil
}

// bufferedStats is the event-time statistics of col by way of
// microseconds, for columns rawTimeStats does not read.
func (w *watermarkOp) bufferedStats(col arrow.Array) EventTimeStats {
	buf, _ := w.pool.Get().(*tsBuffers)
	if buf == nil {
		buf = &tsBuffers{}
	}
	defer w.pool.Put(buf)
	buf.ts, buf.ok = timestampsMicros(col, buf.ts, buf.ok)
	// min, max and sum in microseconds over valid rows, then to ms.
	lo, hi, sum, n := int64(math.MaxInt64), int64(math.MinInt64), 0.0, int64(0)
	for i, v := range buf.ts {
		if buf.ok[i] {
			lo, hi = min(lo, v), max(hi, v)
			sum += float64(v)
			n++
		}
	}
	if n == 0 {
		return EventTimeStats{}
	}
	return EventTimeStats{Count: n, MinMs: floorDiv(lo, 1000), MaxMs: floorDiv(hi, 1000), SumMs: sum / 1000}
}

// rawTimeStats reads the statistics of a timestamp column without nulls
// straight from its values, in their own unit: min and max branch-free,
// the sum as integer offsets from the first value (exact, and no chain of
// float additions). It reports false for other columns, or when the
// offsets could overflow.
func rawTimeStats(col arrow.Array) (EventTimeStats, bool) {
	t, isTS := col.(*array.Timestamp)
	if !isTS || col.NullN() > 0 || col.Len() == 0 {
		return EventTimeStats{}, false
	}
	vals := t.TimestampValues()
	base := int64(vals[0])
	lo, hi, off := base, base, int64(0)
	for _, v := range vals {
		x := int64(v)
		lo, hi = min(lo, x), max(hi, x)
		off += x - base
	}
	n := int64(len(vals))
	// |x - base| <= hi - lo for every row, so the offsets' sum is exact
	// when n * (hi - lo) fits.
	if span := hi - lo; span < 0 || (span > 0 && n > math.MaxInt64/span) {
		return EventTimeStats{}, false
	}
	sum := float64(base)*float64(n) + float64(off)
	var toMs func(int64) int64
	scale := 1.0
	switch t.DataType().(*arrow.TimestampType).Unit {
	case arrow.Second:
		toMs, scale = func(v int64) int64 { return v * 1000 }, 1000
	case arrow.Millisecond:
		toMs = func(v int64) int64 { return v }
	case arrow.Microsecond:
		toMs, scale = func(v int64) int64 { return floorDiv(v, 1000) }, 1e-3
	default:
		toMs, scale = func(v int64) int64 { return floorDiv(v, 1_000_000) }, 1e-6
	}
	return EventTimeStats{Count: n, MinMs: toMs(lo), MaxMs: toMs(hi), SumMs: sum * scale}, true
}

func (w *watermarkOp) spec() WatermarkSpec {
	return WatermarkSpec{Column: w.node.Column, DelayMs: w.node.Delay.Milliseconds(), IdleTimeout: w.node.IdleTimeout}
}

func (w *watermarkOp) take() EventTimeStats {
	w.mu.Lock()
	defer w.mu.Unlock()
	s := w.stats
	w.stats = EventTimeStats{}
	return s
}

func (w *watermarkOp) String() string {
	return "EventTimeWatermarkExec " + w.node.Column + ", " + w.node.Delay.String()
}
