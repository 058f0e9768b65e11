package incremental

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"runtime"
	"strconv"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/compute"
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
	name      string
	node      *plan.Aggregate
	mode      plan.OutputMode
	mem       memory.Allocator
	provider  state.Provider
	late      bool
	inSchema  *arrow.Schema
	outSchema *arrow.Schema

	funcs   []agg.Func
	args    [][]*expr.Bound
	keys    []*expr.Bound // non-window keys, canonical order
	keyOut  []int         // output position of each canonical key
	window  *expr.WindowSpec
	winOut  int
	timeCol *expr.Bound
	rawKey  bool // the first canonical key is the event-time column
	evicts  bool // a watermark bounds the groups in event time
	width   int  // fixed key width including the window prefix, or -1
	prefix  int  // 8 with a tumbling or sliding window, else 0
	cols    []keyColumn

	info    BatchInfo
	table   *groupTable
	accs    []agg.Accumulator
	dropped int64
	lateOut []arrow.RecordBatch
	rowBuf  []byte
	offs    []int
	gids    []int32
	tsBuf   []int64
	tsOK    []bool
	rowLate []uint8 // bit 0: some window late, bit 1: some window open

	parts   int
	stores  []state.Store
	minEnd  []int64
	known   []bool
	metrics StateOperatorMetrics

	explainParts int
}

// newAggregate builds the operator of node, named name in the state
// store.
func newAggregate(name string, node *plan.Aggregate, o buildOptions, mem memory.Allocator) (*Aggregate, error) {
	if o.provider == nil {
		return nil, fmt.Errorf("incremental: %s needs a state store: build the pipeline with WithStateProvider (the engine gives one from the checkpoint)", node)
	}
	a := &Aggregate{
		name: name, node: node, mode: o.mode, mem: mem, provider: o.provider, late: o.lateRows, explainParts: o.parts,
		inSchema: node.Input.Schema(), outSchema: node.Schema(),
		funcs: node.Funcs(), args: node.BoundArgs(), winOut: -1,
	}
	if a.mode == "" {
		a.mode = plan.Update
	}
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
	a.evicts = ev >= 0 && a.mode != plan.Complete
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
	a.table = newGroupTable(a.width)
	for _, f := range a.funcs {
		a.accs = append(a.accs, f.NewAccumulator())
	}
	return a, nil
}

// Schema is the aggregate's output schema.
func (a *Aggregate) Schema() *arrow.Schema { return a.outSchema }

// Name is the operator's name in the state store and in progress.
func (a *Aggregate) Name() string { return a.name }

func (a *Aggregate) String() string {
	return fmt.Sprintf("StatefulAggregateExec %s, mode %s, state %s%s", a.node, a.mode, a.name, partitionsNote(a.explainParts))
}

// begin resets the batch-local tables (dropping what a failed attempt
// left) and records the batch.
func (a *Aggregate) begin(ctx context.Context, info BatchInfo) error {
	a.abortStores()
	a.info = info
	a.table.Reset()
	for _, acc := range a.accs {
		acc.Reset()
	}
	a.dropped = 0
	releaseAll(a.lateOut)
	a.lateOut = nil
	n := DefaultStatePartitions
	if s, ok := info.Conf[state.NumPartitionsConf]; ok {
		v, err := strconv.Atoi(s)
		if err != nil || v < 1 {
			return fmt.Errorf("incremental: setting %s is %q: it must be a positive integer", state.NumPartitionsConf, s)
		}
		n = v
	}
	if a.parts != n {
		a.parts = n
		a.minEnd = make([]int64, n)
		a.known = make([]bool, n)
	}
	return nil
}

// watermarkUs is the batch's watermark in microseconds.
func (a *Aggregate) watermarkUs() int64 { return a.info.WatermarkMs * 1000 }

// Process folds rec (borrowed) into the batch's partial aggregates. It
// returns no rows: the aggregate's rows come at the end of the batch.
func (a *Aggregate) Process(ctx context.Context, rec arrow.RecordBatch) (arrow.RecordBatch, error) {
	n := int(rec.NumRows())
	if n == 0 {
		return nil, nil
	}
	var owned []arrow.Array
	defer func() {
		for _, c := range owned {
			c.Release()
		}
	}()
	eval := func(b *expr.Bound) (arrow.Array, error) {
		arr, err := b.Eval(ctx, rec, a.mem)
		if err != nil {
			return nil, fmt.Errorf("incremental: %s: %w", a.node, err)
		}
		owned = append(owned, arr)
		return arr, nil
	}
	keyArrs := make([]arrow.Array, len(a.keys))
	for i, k := range a.keys {
		arr, err := eval(k)
		if err != nil {
			return nil, err
		}
		keyArrs[i] = arr
	}
	args := make([][]arrow.Array, len(a.args))
	for i, as := range a.args {
		for _, b := range as {
			arr, err := eval(b)
			if err != nil {
				return nil, err
			}
			args[i] = append(args[i], arr)
		}
	}
	if a.timeCol != nil {
		var tarr arrow.Array
		if a.rawKey {
			tarr = keyArrs[0]
		} else {
			arr, err := eval(a.timeCol)
			if err != nil {
				return nil, err
			}
			tarr = arr
		}
		a.tsBuf, a.tsOK = timestampsMicros(tarr, a.tsBuf, a.tsOK)
	}
	if a.late {
		a.rowLate = resize(a.rowLate, n)
		clear(a.rowLate)
	}
	// Encode the non-window keys once; a window's start goes in front.
	a.gids = resize(a.gids, n)
	if a.width >= 0 {
		a.rowBuf = resize(a.rowBuf, n*a.width)
		off := a.prefix
		for c, col := range a.cols {
			col.encodeFixed(keyArrs[c], a.rowBuf, a.width, off)
			off += col.width
		}
	} else {
		a.offs = resize(a.offs, n+1)
		buf := a.rowBuf[:0]
		for i := 0; i < n; i++ {
			a.offs[i] = len(buf)
			for j := 0; j < a.prefix; j++ {
				buf = append(buf, 0)
			}
			for c := range a.cols {
				buf = appendKeyValue(buf, keyArrs[c], i)
			}
		}
		a.offs[n] = len(buf)
		a.rowBuf = buf
	}
	passes := 1
	var size, slide int64
	if a.window != nil {
		size, slide = a.window.SizeUs, a.window.SlideUs
		passes = int((size + slide - 1) / slide)
	}
	wm := a.watermarkUs()
	for j := 0; j < passes; j++ {
		for i := 0; i < n; i++ {
			var key []byte
			if a.width >= 0 {
				key = a.rowBuf[i*a.width : (i+1)*a.width]
			} else {
				key = a.rowBuf[a.offs[i]:a.offs[i+1]]
			}
			if a.window != nil {
				if !a.tsOK[i] {
					a.gids[i] = -1
					continue
				}
				ts := a.tsBuf[i]
				start := expr.WindowStart(ts, slide, a.window.StartUs) - int64(j)*slide
				if start+size <= ts {
					a.gids[i] = -1
					continue
				}
				if a.evicts && start+size <= wm {
					a.gids[i] = -1
					a.dropped++
					if a.late {
						a.rowLate[i] |= 1
					}
					continue
				}
				binary.LittleEndian.PutUint64(key, uint64(start))
			} else if a.evicts && a.tsOK[i] && a.tsBuf[i] <= wm {
				a.gids[i] = -1
				a.dropped++
				if a.late {
					a.rowLate[i] |= 1
				}
				continue
			}
			if a.late {
				a.rowLate[i] |= 2
			}
			if a.width >= 0 {
				a.gids[i] = a.table.findFixed(key)
			} else {
				a.gids[i] = a.table.findVar(key)
			}
		}
		groups := a.table.Len()
		for k, acc := range a.accs {
			if acc.Len() < groups {
				acc.Grow(groups)
			}
			if err := acc.Update(args[k], a.gids[:n]); err != nil {
				return nil, fmt.Errorf("incremental: %s: %s: %w", a.node, a.node.Aggs[k], err)
			}
		}
	}
	if a.late {
		if err := a.keepLate(ctx, rec); err != nil {
			return nil, err
		}
	}
	return nil, nil
}

// keepLate copies the rows of rec that no open window took.
func (a *Aggregate) keepLate(ctx context.Context, rec arrow.RecordBatch) error {
	bld := array.NewBooleanBuilder(a.mem)
	defer bld.Release()
	any := false
	for _, f := range a.rowLate[:rec.NumRows()] {
		l := f == 1
		any = any || l
		bld.Append(l)
	}
	if !any {
		return nil
	}
	mask := bld.NewArray()
	defer mask.Release()
	ectx := compute.WithAllocator(ctx, a.mem)
	out, err := compute.FilterRecordBatch(ectx, rec, mask, compute.DefaultFilterOptions())
	if err != nil {
		return fmt.Errorf("incremental: %s: keeping late rows: %w", a.node, err)
	}
	a.lateOut = append(a.lateOut, out)
	return nil
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
	unit := arr.DataType().(*arrow.TimestampType).Unit
	vals := t.Values()
	for i, v := range vals {
		ok[i] = t.IsValid(i)
		switch unit {
		case arrow.Second:
			ts[i] = int64(v) * 1_000_000
		case arrow.Millisecond:
			ts[i] = int64(v) * 1000
		case arrow.Microsecond:
			ts[i] = int64(v)
		case arrow.Nanosecond:
			ts[i] = floorDiv(int64(v), 1000)
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

// openStores opens every partition at the version before the batch's.
func (a *Aggregate) openStores(ctx context.Context) error {
	a.stores = make([]state.Store, a.parts)
	err := parallel(a.parts, func(p int) error {
		st, err := a.provider.Open(ctx, state.StoreID{Operator: a.name, Partition: p}, a.info.BatchID-1)
		if err != nil {
			return err
		}
		a.stores[p] = st
		if !a.known[p] {
			a.minEnd[p] = math.MaxInt64
			if a.evicts {
				st.Iterate(func(k, _ []byte) bool {
					a.minEnd[p] = min(a.minEnd[p], a.eventBound(k))
					return true
				})
			}
			a.known[p] = true
		}
		return nil
	})
	if err != nil {
		a.abortStores()
		return fmt.Errorf("incremental: %s: opening state: %w", a.name, err)
	}
	return nil
}

func (a *Aggregate) abortStores() {
	for _, st := range a.stores {
		if st != nil {
			st.Abort()
		}
	}
	a.stores = nil
}

// end merges the batch's groups into state, emits the rows of the output
// mode, evicts what the watermark closed and commits the state. The
// records are owned by the caller.
func (a *Aggregate) end(ctx context.Context) (_ []arrow.RecordBatch, err error) {
	if err := a.openStores(ctx); err != nil {
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
	wm := a.watermarkUs()
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
	tc := time.Now()
	err = parallel(a.parts, func(p int) error {
		_, err := a.stores[p].Commit(ctx)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("incremental: %s: committing state: %w", a.name, err)
	}
	m := StateOperatorMetrics{
		OperatorName: a.name, CommitTimeMs: time.Since(tc).Milliseconds(),
		NumRowsDroppedByWatermark: a.dropped, NumStatePartitions: a.parts,
		AllUpdatesTimeMs: (updates - removeDur).Milliseconds(), AllRemovalsTimeMs: removeDur.Milliseconds(),
	}
	for _, st := range a.stores {
		sm := st.Metrics()
		m.NumRowsTotal += sm.NumRowsTotal
		m.NumRowsUpdated += sm.NumRowsUpdated
		m.NumRowsRemoved += sm.NumRowsRemoved
		m.MemoryUsedBytes += sm.MemoryUsedBytes
	}
	m.MemoryUsedBytes += a.table.memoryBytes()
	for _, acc := range a.accs {
		m.MemoryUsedBytes += acc.MemoryBytes()
	}
	a.metrics = m
	a.stores = nil
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
	a       *Aggregate
	keyB    []array.Builder // by canonical key
	winB    *array.StructBuilder
	resB    []array.Builder
	scratch []agg.Accumulator
	n       int
}

func newOutBuilder(a *Aggregate) *outBuilder {
	ob := &outBuilder{a: a}
	for _, k := range a.keys {
		ob.keyB = append(ob.keyB, array.NewBuilder(a.mem, k.Field().Type))
	}
	if a.window != nil {
		ob.winB = array.NewStructBuilder(a.mem, expr.WindowType().(*arrow.StructType))
	}
	for _, f := range a.funcs {
		ob.resB = append(ob.resB, array.NewBuilder(a.mem, f.ResultType()))
	}
	return ob
}

func (ob *outBuilder) appendKey(key []byte) error {
	a := ob.a
	if a.window != nil {
		start := int64(binary.LittleEndian.Uint64(key))
		ob.winB.Append(true)
		ob.winB.FieldBuilder(0).(*array.TimestampBuilder).Append(arrow.Timestamp(start))
		ob.winB.FieldBuilder(1).(*array.TimestampBuilder).Append(arrow.Timestamp(start + a.window.SizeUs))
	}
	rest := key[a.prefix:]
	for c, b := range ob.keyB {
		var err error
		if rest, err = decodeKeyValue(b, rest); err != nil {
			return fmt.Errorf("decoding grouping key %s: %w", a.keys[c].Expr(), err)
		}
	}
	ob.n++
	return nil
}

func (ob *outBuilder) finish(accs []agg.Accumulator, g int) {
	for k, acc := range accs {
		acc.Finish(g, ob.resB[k])
	}
}

// appendStored appends a row for a key and value read from the store.
func (ob *outBuilder) appendStored(key, val []byte, id state.StoreID) error {
	if ob.scratch == nil {
		for _, f := range ob.a.funcs {
			ob.scratch = append(ob.scratch, f.NewAccumulator())
		}
	}
	for _, acc := range ob.scratch {
		acc.Reset()
		acc.Grow(1)
	}
	if err := ob.a.mergeInto(ob.scratch, 0, val, id); err != nil {
		return err
	}
	if err := ob.appendKey(key); err != nil {
		return err
	}
	ob.finish(ob.scratch, 0)
	return nil
}

// record returns the rows built (owned by the caller), nil when none.
func (ob *outBuilder) record() arrow.RecordBatch {
	if ob.n == 0 {
		return nil
	}
	a := ob.a
	cols := make([]arrow.Array, a.outSchema.NumFields())
	if ob.winB != nil {
		cols[a.winOut] = ob.winB.NewArray()
	}
	for c, b := range ob.keyB {
		cols[a.keyOut[c]] = b.NewArray()
	}
	nk := a.outSchema.NumFields() - len(ob.resB)
	for k, b := range ob.resB {
		cols[nk+k] = b.NewArray()
	}
	rec := array.NewRecordBatch(a.outSchema, cols, int64(ob.n))
	for _, c := range cols {
		c.Release()
	}
	return rec
}

func (ob *outBuilder) release() {
	for _, b := range ob.keyB {
		b.Release()
	}
	if ob.winB != nil {
		ob.winB.Release()
	}
	for _, b := range ob.resB {
		b.Release()
	}
}

// needsNoDataBatch reports whether, with the watermark at watermarkMs,
// some group could be emitted or evicted.
func (a *Aggregate) needsNoDataBatch(watermarkMs int64) bool {
	if !a.evicts {
		return false
	}
	if a.parts == 0 {
		return true
	}
	for p := range a.known {
		if !a.known[p] || a.minEnd[p] <= watermarkMs*1000 {
			return true
		}
	}
	return false
}

// takeLate returns the late rows kept this batch, owned by the caller.
func (a *Aggregate) takeLate() []arrow.RecordBatch {
	out := a.lateOut
	a.lateOut = nil
	return out
}

func (a *Aggregate) purge(ctx context.Context, minVersion int64) error {
	var errs []error
	for p := 0; p < a.parts; p++ {
		if err := a.provider.Purge(ctx, state.StoreID{Operator: a.name, Partition: p}, minVersion); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (a *Aggregate) close() {
	a.abortStores()
	releaseAll(a.lateOut)
	a.lateOut = nil
}

// parallel runs fn(0..n-1) on up to GOMAXPROCS goroutines and returns
// the first error.
func parallel(n int, fn func(i int) error) error {
	workers := min(runtime.GOMAXPROCS(0), n)
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
