package incremental

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"runtime"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/agg"
	"github.com/sluicehq/sluice/expr"
	"github.com/sluicehq/sluice/plan"
	"github.com/sluicehq/sluice/state"
)

// DefaultStatePartitions is the number of state partitions a stateful
// query uses when its configuration does not say (state.NumPartitionsConf).
const DefaultStatePartitions = 8

// aggStateVersion is the first byte of every aggregate state value.
const aggStateVersion = 1

// Aggregate is the streaming hash aggregation: each batch it folds its
// input rows into per-group partial aggregates (keys encoded to fixed
// width where the key types allow, a flat open-addressing table, one
// tight loop per aggregate function), merges them into the state store at
// the end of the batch, and emits rows as the output mode says.
type Aggregate struct {
	stateTable
	keys    []*expr.Bound // non-window keys, canonical order
	keyOut  []int         // output position of each canonical key
	window  *expr.WindowSpec
	winOut  int
	timeCol *expr.Bound
	rawKey  bool // the first canonical key is the event-time column
	width   int  // fixed key width including the window prefix, or -1
	prefix  int  // 8 with a tumbling or sliding window, else 0
	cols    []keyColumn

	work    aggWork // the serial path's scratch over the batch's groups
	lateRow []bool
	// partialOK: every function merges in any order and late rows go
	// nowhere, so chunks may be folded into partials on several
	// goroutines (partials.go).
	partialOK bool
	// evictMs is the watermark end evicts with (BatchInfo.
	// EvictWatermarkMs), when above the batch's own.
	evictMs int64
	// free holds emptied partials for reuse. It is a plain list rather
	// than a sync.Pool, which a garbage collection empties: a partial's
	// scratch is megabytes, and reallocating it after every collection
	// showed in profiles as page faults and zeroing.
	freeMu sync.Mutex
	free   []*aggWork
}

// aggWork is where fold puts a record's rows: the batch's group table
// and accumulators (the serial path), or a chunk's own partial ones.
type aggWork struct {
	table   *groupTable
	accs    []agg.Accumulator
	rowBuf  []byte
	offs    []int
	gids    []int32
	tsBuf   []int64
	tsOK    []bool
	rowLate []uint8 // bit 0: some window late, bit 1: some window open
	dropped int64
	state   []byte // merge scratch
}

// newAggregate builds the operator of node, named name in the state
// store.
func newAggregate(name string, node *plan.Aggregate, o buildOptions, mem memory.Allocator) (*Aggregate, error) {
	if o.provider == nil {
		return nil, fmt.Errorf("incremental: %s needs a state store: build the pipeline with WithStateProvider (the engine gives one from the checkpoint)", node)
	}
	a := &Aggregate{winOut: -1}
	win, wpos := node.Window()
	if win != nil && win.Kind == expr.SessionWindow {
		return nil, fmt.Errorf("incremental: %s: session windows are run by the session operator", node)
	}
	a.window, a.winOut, a.timeCol = win, wpos, node.TimeColumn()
	ev := node.EventTimeKey()
	bound := node.BoundKeys()
	if ev >= 0 && win == nil {
		a.rawKey = true
		a.keys = append(a.keys, bound[ev])
		a.keyOut = append(a.keyOut, ev)
		a.timeCol = bound[ev]
	}
	for i, b := range bound {
		if b == nil || (a.rawKey && i == ev) {
			continue
		}
		a.keys = append(a.keys, b)
		a.keyOut = append(a.keyOut, i)
	}
	if win != nil {
		a.prefix = 8
	}
	a.width = a.prefix
	for _, k := range a.keys {
		c := newKeyColumn(k.Field().Type)
		a.cols = append(a.cols, c)
		if a.width >= 0 && c.width > 0 {
			a.width += c.width
		} else {
			a.width = -1
		}
	}
	a.stateTable = newStateTable(name, node, o, mem, a.width)
	if a.mode == "" {
		a.mode = plan.Update
	}
	a.evicts = ev >= 0 && a.mode != plan.Complete
	a.work = aggWork{table: a.table, accs: a.accs}
	a.partialOK = !o.lateRows && partialSafe(a.funcs, a.args)
	return a, nil
}

func (a *Aggregate) String() string {
	return fmt.Sprintf("StatefulAggregateExec %s, mode %s, state %s%s", a.node, a.mode, a.name, partitionsNote(a.explainParts))
}

// watermarkUs is the batch's watermark in microseconds.
func (a *Aggregate) watermarkUs() int64 { return a.info.WatermarkMs * 1000 }

// evictWith sets the watermark the coming end emits and evicts with.
func (a *Aggregate) evictWith(watermarkMs int64) { a.evictMs = watermarkMs }

// Process folds rec (borrowed) into the batch's partial aggregates. It
// returns no rows: the aggregate's rows come at the end of the batch.
func (a *Aggregate) Process(ctx context.Context, rec arrow.RecordBatch) (arrow.RecordBatch, error) {
	if rec.NumRows() == 0 {
		return nil, nil
	}
	w := &a.work
	if err := a.fold(ctx, rec, w); err != nil {
		return nil, err
	}
	a.dropped += w.dropped
	w.dropped = 0
	if a.late {
		if err := a.keepLate(ctx, rec); err != nil {
			return nil, err
		}
	}
	return nil, nil
}

// fold folds the rows of rec (borrowed) into w's groups, counting late
// rows in w.dropped and, when late rows are kept, marking them in
// w.rowLate. It reads only the operator's settings and the batch's
// watermark, so folds into distinct works may run at once.
func (a *Aggregate) fold(ctx context.Context, rec arrow.RecordBatch, w *aggWork) error {
	n := int(rec.NumRows())
	var timeExpr *expr.Bound
	if a.timeCol != nil && !a.rawKey {
		timeExpr = a.timeCol
	}
	in, err := evalAggInputs(ctx, rec, a.mem, a.node, a.keys, a.args, timeExpr)
	if err != nil {
		return err
	}
	defer in.release()
	keyArrs, args := in.keys, in.args
	if a.timeCol != nil {
		tarr := in.extra[0]
		if a.rawKey {
			tarr = keyArrs[0]
		}
		w.tsBuf, w.tsOK = timestampsMicros(tarr, w.tsBuf, w.tsOK)
	}
	if a.late {
		w.rowLate = resize(w.rowLate, n)
		clear(w.rowLate)
	}
	// Encode the non-window keys once; a window's start goes in front.
	w.gids = resize(w.gids, n)
	if a.width >= 0 {
		w.rowBuf = resize(w.rowBuf, n*a.width)
		off := a.prefix
		for c, col := range a.cols {
			col.encodeFixed(keyArrs[c], w.rowBuf, a.width, off)
			off += col.width
		}
	} else {
		w.offs = resize(w.offs, n+1)
		buf := w.rowBuf[:0]
		for i := 0; i < n; i++ {
			w.offs[i] = len(buf)
			for j := 0; j < a.prefix; j++ {
				buf = append(buf, 0)
			}
			for c := range a.cols {
				buf = appendKeyValue(buf, keyArrs[c], i)
			}
		}
		w.offs[n] = len(buf)
		w.rowBuf = buf
	}
	passes := 1
	var size, slide int64
	if a.window != nil {
		size, slide = a.window.SizeUs, a.window.SlideUs
		passes = int((size + slide - 1) / slide)
	}
	wm := a.watermarkUs()
	for j := 0; j < passes; j++ {
		// Rows come nearly in event-time order: the last slide interval
		// found is reused while rows fall in it, sparing the divisions.
		curLo, curHi := int64(1), int64(0)
		for i := 0; i < n; i++ {
			var key []byte
			if a.width >= 0 {
				key = w.rowBuf[i*a.width : (i+1)*a.width]
			} else {
				key = w.rowBuf[w.offs[i]:w.offs[i+1]]
			}
			if a.window != nil {
				if !w.tsOK[i] {
					w.gids[i] = -1
					continue
				}
				ts := w.tsBuf[i]
				if ts < curLo || ts >= curHi {
					curLo = expr.WindowStart(ts, slide, a.window.StartUs)
					curHi = curLo + slide
				}
				start := curLo - int64(j)*slide
				if start+size <= ts {
					w.gids[i] = -1
					continue
				}
				if a.evicts && start+size <= wm {
					w.gids[i] = -1
					w.dropped++
					if a.late {
						w.rowLate[i] |= 1
					}
					continue
				}
				binary.LittleEndian.PutUint64(key, uint64(start))
			} else if a.evicts && w.tsOK[i] && w.tsBuf[i] <= wm {
				w.gids[i] = -1
				w.dropped++
				if a.late {
					w.rowLate[i] |= 1
				}
				continue
			}
			if a.late {
				w.rowLate[i] |= 2
			}
			if a.width >= 0 {
				w.gids[i] = w.table.findFixed(key)
			} else {
				w.gids[i] = w.table.findVar(key)
			}
		}
		groups := w.table.Len()
		for k, acc := range w.accs {
			if acc.Len() < groups {
				acc.Grow(groups)
			}
			if err := acc.Update(args[k], w.gids[:n]); err != nil {
				return fmt.Errorf("incremental: %s: %s: %w", a.node, a.node.Aggs[k], err)
			}
		}
	}
	return nil
}

// keepLate keeps the rows of rec that no open window took.
func (a *Aggregate) keepLate(ctx context.Context, rec arrow.RecordBatch) error {
	n := int(rec.NumRows())
	a.lateRow = resize(a.lateRow, n)
	any := false
	for i, f := range a.work.rowLate[:n] {
		a.lateRow[i] = f == 1
		any = any || f == 1
	}
	if !any {
		return nil
	}
	return a.stateTable.keepLate(ctx, a.mem, rec, a.lateRow)
}

// timestampsMicros converts a timestamp array to microseconds, reusing
// the buffers.
func timestampsMicros(arr arrow.Array, ts []int64, ok []bool) ([]int64, []bool) {
	n := arr.Len()
	ts, ok = resize(ts, n), resize(ok, n)
	t, isTS := arr.(*array.Timestamp)
	if !isTS {
		for i := range ok {
			ok[i] = false
		}
		return ts, ok
	}
	vals := t.Values()
	switch arr.DataType().(*arrow.TimestampType).Unit {
	case arrow.Second:
		for i, v := range vals {
			ts[i] = int64(v) * 1_000_000
		}
	case arrow.Millisecond:
		for i, v := range vals {
			ts[i] = int64(v) * 1000
		}
	case arrow.Microsecond:
		for i, v := range vals {
			ts[i] = int64(v)
		}
	case arrow.Nanosecond:
		for i, v := range vals {
			ts[i] = floorDiv(int64(v), 1000)
		}
	}
	if arr.NullN() == 0 {
		for i := range ok {
			ok[i] = true
		}
	} else {
		for i := range ok {
			ok[i] = t.IsValid(i)
		}
	}
	return ts, ok
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

func resize[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n, n+n/4)
	}
	return s[:n]
}

// eventBound returns the event time (µs) below which the watermark
// finalizes key: its window's end, or its event-time value.
func (a *Aggregate) eventBound(key []byte) int64 {
	if a.window != nil {
		return int64(binary.LittleEndian.Uint64(key)) + a.window.SizeUs
	}
	if key[0] == 0 {
		return math.MaxInt64
	}
	v := int64(binary.LittleEndian.Uint64(key[1:]))
	switch a.keys[0].Field().Type.(*arrow.TimestampType).Unit {
	case arrow.Second:
		return v * 1_000_000
	case arrow.Millisecond:
		return v * 1000
	case arrow.Nanosecond:
		return floorDiv(v, 1000)
	}
	return v
}

// end merges the batch's groups into state, emits the rows of the output
// mode, evicts what the watermark closed and commits the state. The
// records are owned by the caller.
func (a *Aggregate) end(ctx context.Context) (_ []arrow.RecordBatch, err error) {
	if err := a.openStores(ctx, a.info.BatchID-1, func(k, _ []byte, _ state.StoreID) (int64, error) { return a.eventBound(k), nil }); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			a.abortStores()
		}
	}()
	byPart := make([][]int32, a.parts)
	for g := 0; g < a.table.Len(); g++ {
		p := state.PartitionOf(a.table.Key(g), a.parts)
		byPart[p] = append(byPart[p], int32(g))
	}
	outs := make([]arrow.RecordBatch, a.parts)
	defer func() {
		if err != nil {
			releaseAll(outs)
		}
	}()
	// Late rows were dropped with the batch's watermark; closed groups
	// go with the next batch's, already known (evictWith).
	wm := max(a.watermarkUs(), a.evictMs*1000)
	a.evictMs = 0
	t0 := time.Now()
	var updMu sync.Mutex
	var removeDur time.Duration
	err = parallel(a.parts, func(p int) error {
		st := a.stores[p]
		ob := newOutBuilder(a)
		defer ob.release()
		var val []byte
		for _, g := range byPart[p] {
			key := a.table.Key(int(g))
			if old, ok := st.Get(key); ok {
				if err := a.mergeInto(a.accs, int(g), old, st.ID()); err != nil {
					return err
				}
			}
			val = append(val[:0], aggStateVersion)
			for _, acc := range a.accs {
				val = acc.AppendState(val, int(g))
			}
			st.Put(key, val)
			if a.evicts {
				a.minEnd[p] = min(a.minEnd[p], a.eventBound(key))
			}
			if a.mode == plan.Update {
				if err := ob.appendKey(key); err != nil {
					return err
				}
				ob.finish(a.accs, int(g))
			}
		}
		if a.mode == plan.Complete {
			var ierr error
			st.Iterate(func(k, v []byte) bool {
				ierr = ob.appendStored(k, v, st.ID())
				return ierr == nil
			})
			if ierr != nil {
				return ierr
			}
		}
		if a.evicts && a.minEnd[p] <= wm {
			tr := time.Now()
			newMin := int64(math.MaxInt64)
			var ierr error
			st.Iterate(func(k, v []byte) bool {
				e := a.eventBound(k)
				if e > wm {
					newMin = min(newMin, e)
					return true
				}
				if a.mode == plan.Append {
					if ierr = ob.appendStored(k, v, st.ID()); ierr != nil {
						return false
					}
				}
				st.Delete(k)
				return true
			})
			if ierr != nil {
				return ierr
			}
			a.minEnd[p] = newMin
			updMu.Lock()
			removeDur += time.Since(tr)
			updMu.Unlock()
		}
		outs[p] = ob.record()
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("incremental: %s: %w", a.name, err)
	}
	updates := time.Since(t0)
	m := StateOperatorMetrics{
		AllUpdatesTimeMs: (updates - removeDur).Milliseconds(), AllRemovalsTimeMs: removeDur.Milliseconds(),
		MemoryUsedBytes: a.table.memoryBytes(),
	}
	for _, acc := range a.accs {
		m.MemoryUsedBytes += acc.MemoryBytes()
	}
	if err := a.commitStores(ctx, m); err != nil {
		return nil, err
	}
	var recs []arrow.RecordBatch
	for _, r := range outs {
		if r != nil && r.NumRows() > 0 {
			recs = append(recs, r)
		} else if r != nil {
			r.Release()
		}
	}
	return recs, nil
}

// mergeInto merges a stored value into group g of accs.
func (a *Aggregate) mergeInto(accs []agg.Accumulator, g int, val []byte, id state.StoreID) error {
	if len(val) == 0 || val[0] != aggStateVersion {
		return fmt.Errorf("state %s holds a value that is not aggregate state version %d (first byte %v); the checkpoint was written by another version or another query", id, aggStateVersion, head(val))
	}
	rest := val[1:]
	for k, acc := range accs {
		var err error
		if rest, err = acc.MergeState(g, rest); err != nil {
			return fmt.Errorf("state %s: %s: %w", id, a.node.Aggs[k], err)
		}
	}
	if len(rest) != 0 {
		return fmt.Errorf("state %s: an aggregate value has %d bytes too many; the checkpoint was written by another query", id, len(rest))
	}
	return nil
}

func head(b []byte) any {
	if len(b) == 0 {
		return "none"
	}
	return b[0]
}

// outBuilder builds one partition's output rows.
type outBuilder struct {
	rowBuilders
	a *Aggregate
}

func newOutBuilder(a *Aggregate) *outBuilder {
	return &outBuilder{rowBuilders: newRowBuilders(&a.stateTable, a.keys, a.keyOut, a.window != nil, a.winOut), a: a}
}

func (ob *outBuilder) appendKey(key []byte) error {
	a := ob.a
	if a.window != nil {
		start := int64(binary.LittleEndian.Uint64(key))
		ob.appendWindow(start, start+a.window.SizeUs)
	}
	return ob.appendKeys(key[a.prefix:], a.keys)
}

// appendStored appends a row for a key and value read from the store.
func (ob *outBuilder) appendStored(key, val []byte, id state.StoreID) error {
	ob.resetScratch()
	if err := ob.a.mergeInto(ob.scratch, 0, val, id); err != nil {
		return err
	}
	if err := ob.appendKey(key); err != nil {
		return err
	}
	ob.finish(ob.scratch, 0)
	return nil
}

// parallel runs fn(0..n-1) on up to GOMAXPROCS goroutines and returns
// the first error.
func parallel(n int, fn func(i int) error) error {
	return parallelWith(runtime.GOMAXPROCS(0), n, fn)
}

// parallelIO is parallel for work that mostly waits on storage (writing
// and syncing state objects): every item gets its own goroutine, up to
// 16 at a time, whatever the number of cores.
func parallelIO(n int, fn func(i int) error) error {
	return parallelWith(16, n, fn)
}

func parallelWith(limit, n int, fn func(i int) error) error {
	workers := min(limit, n)
	if workers <= 1 {
		for i := 0; i < n; i++ {
			if err := fn(i); err != nil {
				return err
			}
		}
		return nil
	}
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		next int
		errs = make([]error, n)
	)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				i := next
				next++
				mu.Unlock()
				if i >= n {
					return
				}
				errs[i] = fn(i)
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
