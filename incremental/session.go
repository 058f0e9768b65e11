package incremental

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

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
	stateTable
	keys    []*expr.Bound
	keyOut  []int
	winOut  int
	timeCol *expr.Bound
	gapCol  *expr.Bound
	gapUs   int64

	sessions []batchSession // by accumulator group
	keyBuf   []byte
	ts, gap  []int64
	ok       []bool
	order    []int
	rowKey   []int32
	gids     []int32
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
		stateTable: newStateTable(name, node, o, mem, -1),
		winOut:     wpos, timeCol: node.TimeColumn(), gapCol: node.SessionGap(), gapUs: win.GapUs,
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
	return s, nil
}

func (s *SessionAggregate) String() string {
	return fmt.Sprintf("SessionWindowStateStoreSaveExec %s, mode %s, state %s%s", s.node, s.mode, s.name, partitionsNote(s.explainParts))
}

func (s *SessionAggregate) begin(ctx context.Context, info BatchInfo) error {
	s.sessions = s.sessions[:0]
	return s.stateTable.begin(ctx, info)
}

// Process folds rec (borrowed) into the batch's sessions; it returns no
// rows.
func (s *SessionAggregate) Process(ctx context.Context, rec arrow.RecordBatch) (arrow.RecordBatch, error) {
	n := int(rec.NumRows())
	if n == 0 {
		return nil, nil
	}
	in, err := evalAggInputs(ctx, rec, s.mem, s.node, s.keys, s.args, s.timeCol, s.gapCol)
	if err != nil {
		return nil, err
	}
	defer in.release()
	keyArrs, args := in.keys, in.args
	s.ts, s.ok = timestampsMicros(in.extra[0], s.ts, s.ok)
	s.gap = resize(s.gap, n)
	if s.gapCol != nil {
		if err := gapsMicros(in.extra[1], s.gap); err != nil {
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
		if err := s.keepLate(ctx, s.mem, rec, late); err != nil {
			return nil, err
		}
	}
	return nil, nil
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

// sessionsBound is the earliest end of a stored key's sessions.
func sessionsBound(_, val []byte, id state.StoreID) (int64, error) {
	ss, err := decodeSessions(val, id)
	if err != nil {
		return 0, err
	}
	m := int64(math.MaxInt64)
	for _, x := range ss {
		m = min(m, x.end)
	}
	return m, nil
}

// end merges the batch's sessions with the stored ones, emits closed
// sessions (append) or all of them (complete), and commits the state.
// The records are owned by the caller.
func (s *SessionAggregate) end(ctx context.Context) (_ []arrow.RecordBatch, err error) {
	if err := s.openStores(ctx, s.info.BatchID-1, sessionsBound); err != nil {
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
	m := StateOperatorMetrics{AllUpdatesTimeMs: time.Since(t0).Milliseconds(), MemoryUsedBytes: s.table.memoryBytes()}
	for _, acc := range s.accs {
		m.MemoryUsedBytes += acc.MemoryBytes()
	}
	if err := s.commitStores(ctx, m); err != nil {
		return nil, err
	}
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
	rowBuilders
	s *SessionAggregate
}

func newSessionOut(s *SessionAggregate) *sessionOut {
	return &sessionOut{rowBuilders: newRowBuilders(&s.stateTable, s.keys, s.keyOut, true, s.winOut), s: s}
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
		o.resetScratch()
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
	o.resetScratch()
	src := x.acc
	for i, acc := range o.scratch {
		var err error
		if src, err = acc.MergeState(0, src); err != nil {
			return fmt.Errorf("%s: %w", o.s.node.Aggs[i], err)
		}
	}
	if err := o.appendKeys(k[1:], o.s.keys); err != nil {
		return err
	}
	o.appendWindow(x.start, x.end)
	o.finish(o.scratch, 0)
	return nil
}
