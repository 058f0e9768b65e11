package incremental

import (
	"context"
	"fmt"
	"runtime"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sluicehq/sluice/agg"
	"github.com/sluicehq/sluice/expr"
)

// This file holds the two-phase form of the streaming aggregation, as
// Spark plans a partial aggregate before its shuffle: when a pipeline is
// staged, each chunk of a batch is folded into a partial group table of
// its own on the goroutine that ran the chunk's stateless operators, and
// the driver's ordered second stage only merges those partials (a few
// groups per chunk where keys repeat) into the batch's groups. The
// per-row work (key encoding, hashing, updates) thus runs on every core.
//
// It applies when the merge order cannot show in the result: every
// aggregate function is one whose merge is exact and commutative (count,
// count_if, min, max, approx_count_distinct, and sum and avg of
// integers), and late rows are not kept for a late-data sink (which needs
// the rows in order). first, last, collect_list, collect_set, the
// variance family, approx_percentile and float sums keep the serial path,
// so their results do not depend on how a batch was cut.

// partialSafe reports whether every function of funcs (with its bound
// arguments args) merges exactly in any order.
func partialSafe(funcs []agg.Func, args [][]*expr.Bound) bool {
	for k, f := range funcs {
		switch f.Name() {
		case "count", "count_if", "min", "max", "approx_count_distinct":
		case "sum", "avg", "mean":
			for _, a := range args[k] {
				if !isIntegerType(a.Field().Type) {
					return false
				}
			}
		default:
			return false
		}
	}
	return true
}

func isIntegerType(t arrow.DataType) bool {
	switch t.ID() {
	case arrow.INT8, arrow.INT16, arrow.INT32, arrow.INT64, arrow.UINT8, arrow.UINT16, arrow.UINT32, arrow.UINT64:
		return true
	}
	return false
}

// foldsPartials reports whether chunks may be folded into partials now.
func (a *Aggregate) foldsPartials() bool { return a.partialOK && !a.late }

// partial folds the records recs (borrowed) into a partial of their own
// and returns it; the caller hands it to mergePartial, or to
// dropPartial. Safe for concurrent use within a batch.
func (a *Aggregate) partial(ctx context.Context, recs []arrow.RecordBatch) (*aggWork, error) {
	var w *aggWork
	a.freeMu.Lock()
	if k := len(a.free); k > 0 {
		w, a.free = a.free[k-1], a.free[:k-1]
	}
	a.freeMu.Unlock()
	if w == nil {
		w = &aggWork{table: newGroupTable(a.width)}
		for _, f := range a.funcs {
			w.accs = append(w.accs, f.NewAccumulator())
		}
	}
	for _, rec := range recs {
		if rec.NumRows() == 0 {
			continue
		}
		if err := a.fold(ctx, rec, w); err != nil {
			a.dropPartial(w)
			return nil, err
		}
	}
	return w, nil
}

// dropPartial empties w and keeps it for reuse.
func (a *Aggregate) dropPartial(w *aggWork) {
	w.table.Reset()
	for _, acc := range w.accs {
		acc.Reset()
	}
	w.dropped = 0
	a.freeMu.Lock()
	defer a.freeMu.Unlock()
	if len(a.free) < 2*runtime.GOMAXPROCS(0)+2 {
		a.free = append(a.free, w)
	}
}

// mergePartial merges w's groups into the batch's groups and counts its
// late rows; w is then dropped. Partials are merged one at a time.
func (a *Aggregate) mergePartial(w *aggWork) error {
	defer a.dropPartial(w)
	a.dropped += w.dropped
	for g := 0; g < w.table.Len(); g++ {
		key := w.table.Key(g)
		var to int32
		if a.width >= 0 {
			to = a.table.findFixed(key)
		} else {
			to = a.table.findVar(key)
		}
		for k, acc := range a.accs {
			if acc.Len() <= int(to) {
				acc.Grow(a.table.Len())
			}
			w.state = w.accs[k].AppendState(w.state[:0], g)
			if _, err := acc.MergeState(int(to), w.state); err != nil {
				return fmt.Errorf("incremental: %s: merging a chunk's %s: %w", a.node, a.node.Aggs[k], err)
			}
		}
	}
	return nil
}
