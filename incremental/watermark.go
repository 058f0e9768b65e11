package incremental

import (
	"context"
	"fmt"
	"math"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"

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
	buf, _ := w.pool.Get().(*tsBuffers)
	if buf == nil {
		buf = &tsBuffers{}
	}
	defer w.pool.Put(buf)
	buf.ts, buf.ok = timestampsMicros(rec.Column(w.col), buf.ts, buf.ok)
	// min, max and sum in microseconds over valid rows, then to ms.
	var s EventTimeStats
	lo, hi, sum, n := int64(math.MaxInt64), int64(math.MinInt64), 0.0, int64(0)
	if rec.Column(w.col).NullN() == 0 {
		for _, v := range buf.ts {
			lo, hi = min(lo, v), max(hi, v)
			sum += float64(v)
		}
		n = int64(len(buf.ts))
	} else {
		for i, v := range buf.ts {
			if buf.ok[i] {
				lo, hi = min(lo, v), max(hi, v)
				sum += float64(v)
				n++
			}
		}
	}
	if n > 0 {
		s = EventTimeStats{Count: n, MinMs: floorDiv(lo, 1000), MaxMs: floorDiv(hi, 1000), SumMs: sum / 1000}
	}
	w.mu.Lock()
	w.stats.Merge(s)
	w.mu.Unlock()
	rec.Retain()
	return rec, nil
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
