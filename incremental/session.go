package incremental

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/agg"
	"github.com/sluicehq/sluice/expr"
	"github.com/sluicehq/sluice/plan"
	"github.com/sluicehq/sluice/state"
)

// SessionAggregate is the streaming aggregation over session windows
// (expr.SessionWindow): per key, rows whose gaps overlap form one session
// [first event, last event + gap), and sessions that a new row bridges
// merge into one, also across batches. The state value of a key is its
// open sessions, each with its start, end and partial aggregates. Two
// sessions [s1, e1) and [s2, e2) with s1 <= s2 merge when s2 <= e1.
type SessionAggregate struct {
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
	keys    []*expr.Bound
	keyOut  []int
	winOut  int
	timeCol *expr.Bound
	gapCol  *expr.Bound
	gapUs   int64
	evicts  bool

	info     BatchInfo
	table    *groupTable // batch-local: encoded keys
	accs     []agg.Accumulator
	sessions []batchSession // by accumulator group
	dropped  int64
	lateOut  []arrow.RecordBatch
	keyBuf   []byte
	ts, gap  []int64
	ok       []bool
	order    []int
	rowKey   []int32
	gids     []int32

	parts   int
	stores  []state.Store
	minEnd  []int64
	known   []bool
	metrics StateOperatorMetrics

	explainParts int
}

type batchSession struct {
	key        int32
	start, end int64
}

func newSessionAggregate(name string, node *plan.Aggregate, o buildOptions, mem memory.Allocator) (*SessionAggregate, error) {
	if o.provider == nil {
		return nil, fmt.Errorf("incremental: %s needs a state store: build the pipeline with WithStateProvider (the engine gives one from the checkpoint)", node)
	}
	win, wpos := node.Window()
	s := &SessionAggregate{
		name: name, node: node, mode: o.mode, mem: mem, provider: o.provider, late: o.lateRows, explainParts: o.parts,
		inSchema: node.Input.Schema(), outSchema: node.Schema(),
		funcs: node.Funcs(), args: node.BoundArgs(), winOut: wpos,
		timeCol: node.TimeColumn(), gapCol: node.SessionGap(), gapUs: win.GapUs,
		table: newGroupTable(-1),
	}
	if s.mode == "" {
		s.mode = plan.Append
	}
	if s.mode == plan.Update {
		return nil, fmt.Errorf("incremental: %s: update output mode cannot retract sessions that later merge; use append or complete", node)
	}
	s.evicts = node.EventTimeKey() >= 0 && s.mode != plan.Complete
	for i, b := range node.BoundKeys() {
		if b != nil {
			s.keys = append(s.keys, b)
			s.keyOut = append(s.keyOut, i)
		}
	}
	for _, f := range s.funcs {
		s.accs = append(s.accs, f.NewAccumulator())
	}
	return s, nil
}

// Schema is the aggregate's output schema.
func (s *SessionAggregate) Schema() *arrow.Schema { return s.outSchema }

// Name is the operator's name in the state store and in progress.
func (s *SessionAggregate) Name() string { return s.name }

func (s *SessionAggregate) String() string {
	return fmt.Sprintf("SessionWindowStateStoreSaveExec %s, mode %s, state %s%s", s.node, s.mode, s.name, partitionsNote(s.explainParts))
}

func (s *SessionAggregate) lateSchema() *arrow.Schema          { return s.inSchema }
func (s *SessionAggregate) stateMetrics() StateOperatorMetrics { return s.metrics }

func (s *SessionAggregate) begin(ctx context.Context, info BatchInfo) error {
	s.abortStores()
	s.info = info
	s.table.Reset()
	for _, acc := range s.accs {
		acc.Reset()
	}
	s.sessions = s.sessions[:0]
	s.dropped = 0
	releaseAll(s.lateOut)
	s.lateOut = nil
	n := DefaultStatePartitions
	if v, ok := info.Conf[state.NumPartitionsConf]; ok {
		p, err := strconv.Atoi(v)
		if err != nil || p < 1 {
			return fmt.Errorf("incremental: setting %s is %q: it must be a positive integer", state.NumPartitionsConf, v)
		}
		n = p
	}
	if s.parts != n {
		s.parts = n
		s.minEnd = make([]int64, n)
		s.known = make([]bool, n)
	}
	return nil
}

// Process folds rec (borrowed) into the batch's sessions; it returns no
// rows.
func (s *SessionAggregate) Process(ctx context.Context, rec arrow.RecordBatch) (arrow.RecordBatch, error) {
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
		arr, err := b.Eval(ctx, rec, s.mem)
		if err != nil {
			return nil, fmt.Errorf("incremental: %s: %w", s.node, err)
		}
		owned = append(owned, arr)
		return arr, nil
	}
	keyArrs := make([]arrow.Array, len(s.keys))
	for i, k := range s.keys {
		arr, err := eval(k)
		if err != nil {
			return nil, err
		}
		keyArrs[i] = arr
	}
	args := make([][]arrow.Array, len(s.args))
	for i, as := range s.args {
		for _, b := range as {
			arr, err := eval(b)
			if err != nil {
				return nil, err
			}
			args[i] = append(args[i], arr)
		}
	}
	tarr, err := eval(s.timeCol)
	if err != nil {
		return nil, err
	}
	s.ts, s.ok = timestampsMicros(tarr, s.ts, s.ok)
	s.gap = resize(s.gap, n)
	if s.gapCol != nil {
		garr, err := eval(s.gapCol)
		if err != nil {
			return nil, err
		}
		if err := gapsMicros(garr, s.gap); err != nil {
			return nil, fmt.Errorf("incremental: %s: session gap %s: %w", s.node, s.gapCol.Expr(), err)
		}
	} else {
		for i := range s.gap {
			s.gap[i] = s.gapUs
		}
	}
	wm := s.info.WatermarkMs * 1000
	s.rowKey = resize(s.rowKey, n)
	s.order = s.order[:0]
	var late []bool
	for i := 0; i < n; i++ {
		if !s.ok[i] || s.gap[i] <= 0 {
			continue
		}
		if s.evicts && s.ts[i]+s.gap[i] <= wm {
			s.dropped++
			if s.late {
				if late == nil {
					late = make([]bool, n)
				}
				late[i] = true
			}
			continue
		}
		s.keyBuf = append(s.keyBuf[:0], 's')
		for c := range s.keys {
			s.keyBuf = appendKeyValue(s.keyBuf, keyArrs[c], i)
		}
		s.rowKey[i] = s.table.findVar(s.keyBuf)
		s.order = append(s.order, i)
	}
	// Sessions within the record: rows of a key in event-time order,
	// merged while they overlap.
	slices.SortFunc(s.order, func(x, y int) int {
		if c := int(s.rowKey[x]) - int(s.rowKey[y]); c != 0 {
			return c
		}
		switch {
		case s.ts[x] < s.ts[y]:
			return -1
		case s.ts[x] > s.ts[y]:
			return 1
		}
		return x - y
	})
	s.gids = resize(s.gids, n)
	for i := range s.gids {
		s.gids[i] = -1
	}
	cur := -1
	for _, i := range s.order {
		k, t, e := s.rowKey[i], s.ts[i], s.ts[i]+s.gap[i]
		if cur >= 0 && s.sessions[cur].key == k && t <= s.sessions[cur].end {
			s.sessions[cur].end = max(s.sessions[cur].end, e)
		} else {
			s.sessions = append(s.sessions, batchSession{key: k, start: t, end: e})
			cur = len(s.sessions) - 1
		}
		s.gids[i] = int32(cur)
	}
	for k, acc := range s.accs {
		if acc.Len() < len(s.sessions) {
			acc.Grow(len(s.sessions))
		}
		if err := acc.Update(args[k], s.gids[:n]); err != nil {
			return nil, fmt.Errorf("incremental: %s: %s: %w", s.node, s.node.Aggs[k], err)
		}
	}
	if late != nil {
		if err := s.keepLate(ctx, rec, late); err != nil {
			return nil, err
		}
	}
	return nil, nil
}

func (s *SessionAggregate) keepLate(ctx context.Context, rec arrow.RecordBatch, late []bool) error {
	a := &Aggregate{mem: s.mem, node: s.node, rowLate: make([]uint8, len(late))}
	for i, l := range late {
		if l {
			a.rowLate[i] = 1
		}
	}
	if err := a.keepLate(ctx, rec); err != nil {
		return err
	}
	s.lateOut = append(s.lateOut, a.lateOut...)
	return nil
}

// gapsMicros converts per-row gaps (interval strings or durations) to
// microseconds; a null gap is 0 (the row is skipped, as Spark skips rows
// whose gap is not positive).
func gapsMicros(arr arrow.Array, out []int64) error {
	switch a := arr.(type) {
	case *array.String:
		last, lastV := "", int64(0)
		for i := range out {
			if a.IsNull(i) {
				out[i] = 0
				continue
			}
			v := a.Value(i)
			if v != last || i == 0 {
				d, err := expr.ParseInterval(v)
				if err != nil {
					return fmt.Errorf("row %d: %w", i, err)
				}
				last, lastV = v, d.Microseconds()
			}
			out[i] = lastV
		}
	case *array.Duration:
		unit := a.DataType().(*arrow.DurationType).Unit
		for i := range out {
			if a.IsNull(i) {
				out[i] = 0
				continue
			}
			v := int64(a.Value(i))
			switch unit {
			case arrow.Second:
				v *= 1_000_000
			case arrow.Millisecond:
				v *= 1000
			case arrow.Nanosecond:
				v /= 1000
			}
			out[i] = v
		}
	default:
		return fmt.Errorf("the gap is %s; give an interval string such as '5 minutes' or a duration", arr.DataType())
	}
	return nil
}

// storedSession is one session of a key's state value.
type storedSession struct {
	start, end int64
	acc        []byte // the accumulators' states, concatenated
	group      int32  // batch accumulator group, or -1 for a stored one
}

func decodeSessions(val []byte, id state.StoreID) ([]storedSession, error) {
	if len(val) == 0 || val[0] != aggStateVersion {
		return nil, fmt.Errorf("state %s holds a value that is not session state version %d; the checkpoint was written by another version or another query", id, aggStateVersion)
	}
	val = val[1:]
	n, sz := binary.Uvarint(val)
	if sz <= 0 {
		return nil, fmt.Errorf("state %s: a session value has a bad session count", id)
	}
	val = val[sz:]
	out := make([]storedSession, 0, n)
	for j := uint64(0); j < n; j++ {
		if len(val) < 16 {
			return nil, fmt.Errorf("state %s: a session value ends inside session %d", id, j)
		}
		st := int64(binary.LittleEndian.Uint64(val))
		en := int64(binary.LittleEndian.Uint64(val[8:]))
		val = val[16:]
		l, sz := binary.Uvarint(val)
		if sz <= 0 || uint64(len(val)-sz) < l {
			return nil, fmt.Errorf("state %s: a session value has a bad length in session %d", id, j)
		}
		out = append(out, storedSession{start: st, end: en, acc: val[sz : sz+int(l)], group: -1})
		val = val[sz+int(l):]
	}
	if len(val) != 0 {
		return nil, fmt.Errorf("state %s: a session value has %d bytes too many", id, len(val))
	}
	return out, nil
}

func encodeSessions(dst []byte, ss []storedSession) []byte {
	dst = append(dst[:0], aggStateVersion)
	dst = binary.AppendUvarint(dst, uint64(len(ss)))
	for _, x := range ss {
		dst = binary.LittleEndian.AppendUint64(dst, uint64(x.start))
		dst = binary.LittleEndian.AppendUint64(dst, uint64(x.end))
		dst = binary.AppendUvarint(dst, uint64(len(x.acc)))
		dst = append(dst, x.acc...)
	}
	return dst
}

func (s *SessionAggregate) openStores(ctx context.Context) error {
	s.stores = make([]state.Store, s.parts)
	err := parallel(s.parts, func(p int) error {
		st, err := s.provider.Open(ctx, state.StoreID{Operator: s.name, Partition: p}, s.info.BatchID-1)
		if err != nil {
			return err
		}
		s.stores[p] = st
		if !s.known[p] {
			m := int64(math.MaxInt64)
			var derr error
			st.Iterate(func(_, v []byte) bool {
				ss, err := decodeSessions(v, st.ID())
				if err != nil {
					derr = err
					return false
				}
				for _, x := range ss {
					m = min(m, x.end)
				}
				return true
			})
			if derr != nil {
				return derr
			}
			s.minEnd[p], s.known[p] = m, true
		}
		return nil
	})
	if err != nil {
		s.abortStores()
		return fmt.Errorf("incremental: %s: opening state: %w", s.name, err)
	}
	return nil
}

func (s *SessionAggregate) abortStores() {
	for _, st := range s.stores {
		if st != nil {
			st.Abort()
		}
	}
	s.stores = nil
}

// end merges the batch's sessions with the stored ones, emits closed
// sessions (append) or all of them (complete), and commits the state.
// The records are owned by the caller.
func (s *SessionAggregate) end(ctx context.Context) (_ []arrow.RecordBatch, err error) {
	if err := s.openStores(ctx); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			s.abortStores()
		}
	}()
	byKey := make([][]int32, s.table.Len())
	for g, x := range s.sessions {
		byKey[x.key] = append(byKey[x.key], int32(g))
	}
	byPart := make([][]int32, s.parts)
	for k := 0; k < s.table.Len(); k++ {
		p := state.PartitionOf(s.table.Key(k), s.parts)
		byPart[p] = append(byPart[p], int32(k))
	}
	outs := make([]arrow.RecordBatch, s.parts)
	defer func() {
		if err != nil {
			releaseAll(outs)
		}
	}()
	wm := s.info.WatermarkMs * 1000
	t0 := time.Now()
	err = parallel(s.parts, func(p int) error {
		st := s.stores[p]
		ob := newSessionOut(s)
		defer ob.release()
		var val []byte
		for _, k := range byPart[p] {
			key := s.table.Key(int(k))
			var items []storedSession
			if old, ok := st.Get(key); ok {
				ss, err := decodeSessions(old, st.ID())
				if err != nil {
					return err
				}
				items = ss
			}
			for _, g := range byKey[k] {
				x := s.sessions[g]
				items = append(items, storedSession{start: x.start, end: x.end, group: g})
			}
			merged, err := ob.merge(items)
			if err != nil {
				return err
			}
			val = encodeSessions(val, merged)
			st.Put(key, val)
			for _, x := range merged {
				s.minEnd[p] = min(s.minEnd[p], x.end)
			}
		}
		switch {
		case s.mode == plan.Complete:
			var ierr error
			st.Iterate(func(k, v []byte) bool {
				ss, err := decodeSessions(v, st.ID())
				if err != nil {
					ierr = err
					return false
				}
				for _, x := range ss {
					if ierr = ob.emit(k, x); ierr != nil {
						return false
					}
				}
				return true
			})
			if ierr != nil {
				return ierr
			}
		case s.evicts && s.minEnd[p] <= wm:
			newMin := int64(math.MaxInt64)
			var ierr error
			var buf []byte
			st.Iterate(func(k, v []byte) bool {
				ss, err := decodeSessions(v, st.ID())
				if err != nil {
					ierr = err
					return false
				}
				keep := ss[:0]
				closed := false
				for _, x := range ss {
					if x.end > wm {
						keep = append(keep, x)
						newMin = min(newMin, x.end)
						continue
					}
					closed = true
					if ierr = ob.emit(k, x); ierr != nil {
						return false
					}
				}
				switch {
				case len(keep) == 0:
					st.Delete(k)
				case closed:
					buf = encodeSessions(buf, keep)
					st.Put(k, buf)
				}
				return true
			})
			if ierr != nil {
				return ierr
			}
			s.minEnd[p] = newMin
		}
		outs[p] = ob.record()
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("incremental: %s: %w", s.name, err)
	}
	updates := time.Since(t0)
	tc := time.Now()
	if err := parallel(s.parts, func(p int) error {
		_, err := s.stores[p].Commit(ctx)
		return err
	}); err != nil {
		return nil, fmt.Errorf("incremental: %s: committing state: %w", s.name, err)
	}
	m := StateOperatorMetrics{OperatorName: s.name, CommitTimeMs: time.Since(tc).Milliseconds(),
		NumRowsDroppedByWatermark: s.dropped, NumStatePartitions: s.parts, AllUpdatesTimeMs: updates.Milliseconds()}
	for _, st := range s.stores {
		sm := st.Metrics()
		m.NumRowsTotal += sm.NumRowsTotal
		m.NumRowsUpdated += sm.NumRowsUpdated
		m.NumRowsRemoved += sm.NumRowsRemoved
		m.MemoryUsedBytes += sm.MemoryUsedBytes
	}
	s.metrics = m
	s.stores = nil
	var recs []arrow.RecordBatch
	for _, r := range outs {
		if r != nil {
			recs = append(recs, r)
		}
	}
	return recs, nil
}

// sessionOut merges and emits one partition's sessions.
type sessionOut struct {
	s       *SessionAggregate
	keyB    []array.Builder
	winB    *array.StructBuilder
	resB    []array.Builder
	scratch []agg.Accumulator
	n       int
}

func newSessionOut(s *SessionAggregate) *sessionOut {
	o := &sessionOut{s: s, winB: array.NewStructBuilder(s.mem, expr.WindowType().(*arrow.StructType))}
	for _, k := range s.keys {
		o.keyB = append(o.keyB, array.NewBuilder(s.mem, k.Field().Type))
	}
	for _, f := range s.funcs {
		o.resB = append(o.resB, array.NewBuilder(s.mem, f.ResultType()))
		o.scratch = append(o.scratch, f.NewAccumulator())
	}
	return o
}

// merge sorts a key's sessions by start and merges the overlapping ones;
// each result carries its merged accumulator state.
func (o *sessionOut) merge(items []storedSession) ([]storedSession, error) {
	slices.SortStableFunc(items, func(x, y storedSession) int {
		switch {
		case x.start < y.start:
			return -1
		case x.start > y.start:
			return 1
		}
		return 0
	})
	var out []storedSession
	for i := 0; i < len(items); {
		j, end := i+1, items[i].end
		for j < len(items) && items[j].start <= end {
			end = max(end, items[j].end)
			j++
		}
		// Merge latest first, so that each state merged in is from
		// earlier input than what the group holds (first/last).
		for _, acc := range o.scratch {
			acc.Reset()
			acc.Grow(1)
		}
		for m := j - 1; m >= i; m-- {
			src := items[m].acc
			if items[m].group >= 0 {
				src = nil
				for _, acc := range o.s.accs {
					src = acc.AppendState(src, int(items[m].group))
				}
			}
			for k, acc := range o.scratch {
				var err error
				if src, err = acc.MergeState(0, src); err != nil {
					return nil, fmt.Errorf("%s: %w", o.s.node.Aggs[k], err)
				}
			}
			if len(src) != 0 {
				return nil, errors.New("a session's aggregate state has bytes too many; the checkpoint was written by another query")
			}
		}
		var st []byte
		for _, acc := range o.scratch {
			st = acc.AppendState(st, 0)
		}
		out = append(out, storedSession{start: items[i].start, end: end, acc: st, group: -1})
		i = j
	}
	return out, nil
}

// emit appends a row for session x of the key k.
func (o *sessionOut) emit(k []byte, x storedSession) error {
	for _, acc := range o.scratch {
		acc.Reset()
		acc.Grow(1)
	}
	src := x.acc
	for i, acc := range o.scratch {
		var err error
		if src, err = acc.MergeState(0, src); err != nil {
			return fmt.Errorf("%s: %w", o.s.node.Aggs[i], err)
		}
	}
	rest := k[1:]
	for c, b := range o.keyB {
		var err error
		if rest, err = decodeKeyValue(b, rest); err != nil {
			return fmt.Errorf("decoding grouping key %s: %w", o.s.keys[c].Expr(), err)
		}
	}
	o.winB.Append(true)
	o.winB.FieldBuilder(0).(*array.TimestampBuilder).Append(arrow.Timestamp(x.start))
	o.winB.FieldBuilder(1).(*array.TimestampBuilder).Append(arrow.Timestamp(x.end))
	for i, acc := range o.scratch {
		acc.Finish(0, o.resB[i])
	}
	o.n++
	return nil
}

func (o *sessionOut) record() arrow.RecordBatch {
	if o.n == 0 {
		return nil
	}
	s := o.s
	cols := make([]arrow.Array, s.outSchema.NumFields())
	cols[s.winOut] = o.winB.NewArray()
	for c, b := range o.keyB {
		cols[s.keyOut[c]] = b.NewArray()
	}
	nk := s.outSchema.NumFields() - len(o.resB)
	for k, b := range o.resB {
		cols[nk+k] = b.NewArray()
	}
	rec := array.NewRecordBatch(s.outSchema, cols, int64(o.n))
	for _, c := range cols {
		c.Release()
	}
	return rec
}

func (o *sessionOut) release() {
	for _, b := range o.keyB {
		b.Release()
	}
	o.winB.Release()
	for _, b := range o.resB {
		b.Release()
	}
}

func (s *SessionAggregate) needsNoDataBatch(watermarkMs int64) bool {
	if !s.evicts {
		return false
	}
	if s.parts == 0 {
		return true
	}
	for p := range s.known {
		if !s.known[p] || s.minEnd[p] <= watermarkMs*1000 {
			return true
		}
	}
	return false
}

func (s *SessionAggregate) takeLate() []arrow.RecordBatch {
	out := s.lateOut
	s.lateOut = nil
	return out
}

func (s *SessionAggregate) purge(ctx context.Context, minVersion int64) error {
	var errs []error
	for p := 0; p < s.parts; p++ {
		if err := s.provider.Purge(ctx, state.StoreID{Operator: s.name, Partition: p}, minVersion); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (s *SessionAggregate) close() {
	s.abortStores()
	releaseAll(s.lateOut)
	s.lateOut = nil
}
