package incremental

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/expr"
	"github.com/sluicehq/sluice/plan"
	"github.com/sluicehq/sluice/state"
)

// This file holds the stream-stream join (Spark's symmetric hash join).
// Both sides live in one state store per partition (the format is
// specified in docs/format/join-state.md):
//
//	key:   side (0 left, 1 right) | encoded join key | batch id (8 bytes,
//	       big-endian) | ordinal of the row in its side's input of that
//	       batch (4 bytes, big-endian)
//	value: version (1) | flags (bit 0 matched, bit 1 event time valid) |
//	       event time (µs, int64 little-endian) | the row's columns, each
//	       encoded as a grouping key is (keys.go)
//
// A key's partition is state.PartitionOf of the encoded join key, so the
// rows of both sides with one join key share a partition. Each partition
// also has an in-memory index, join key -> rows of each side with their
// event times and flags, rebuilt from the store whenever the store is
// opened at a version the index does not hold (a restart, a retried
// batch).

func init() {
	registerBinary((*plan.StreamJoin)(nil), func(n plan.Node, o buildOptions, mem memory.Allocator) (sideJoiner, plan.Node, plan.Node, error) {
		node := n.(*plan.StreamJoin)
		j, err := newStreamJoin("join", node, o, mem)
		if err != nil {
			return nil, nil, nil, err
		}
		return j, node.Left, node.Right, nil
	})
}

const (
	joinStateVersion = 1
	joinValueHeader  = 10 // version, flags, event time
	joinRowIDLen     = 12 // batch id, ordinal

	joinMatched = 1 << 0
	joinTimeOK  = 1 << 1

	entryLive = 1 << 2
)

const noIndex = math.MinInt64

// StreamJoin is the operator of a plan.StreamJoin. Each record of a side
// probes the other side's rows (those of earlier batches and those of
// this batch already processed), its matches are written at once, and it
// is then added to its own side's state. At the end of the batch the
// watermark and the condition's event-time range evict the rows no
// future row can match; an outer join writes those of its outer side
// that never matched, with nulls for the other side.
type StreamJoin struct {
	stateParts
	node     *plan.StreamJoin
	typ      plan.JoinType
	mem      memory.Allocator
	sides    [2]*arrow.Schema
	keyCols  [2][]int
	kcols    []keyColumn
	width    int // fixed width of an encoded join key, or -1
	hasRange bool
	rng      plan.JoinTimeRange
	timeCol  [2]int
	evict    [2]bool // the side's rows are evicted by the watermark
	lateIn   [2]bool // the side's late rows are dropped
	outer    [2]bool // the side's unmatched rows are written with nulls
	residual *expr.Bound
	pairOut  *arrow.Schema // late rows: both sides, all nullable

	info       BatchInfo
	idx        []*joinIndex
	idxVersion int64
	ord        [2]uint32

	// per processSide scratch, indexed by input row
	rowKeys rowKeys
	ts      []int64
	tsOK    []bool
	rowGrp  []int32
	matched []bool
	byPart  [][]int32
}

// joinEntry is one kept row in the in-memory index.
type joinEntry struct {
	next  int32 // next row of the same key and side, or -1
	group int32
	flags uint8
	ord   uint32
	batch int64
	ts    int64
}

// joinIndex is one partition's index: join keys to dense groups, and per
// group and side a chain of rows.
type joinIndex struct {
	table *groupTable
	heads [2][]int32
	ents  [2][]joinEntry
	dead  [2]int
}

func newJoinIndex(width int) *joinIndex { return &joinIndex{table: newGroupTable(width)} }

func (ix *joinIndex) group(key []byte) int32 {
	var g int32
	if ix.table.width >= 0 {
		g = ix.table.findFixed(key)
	} else {
		g = ix.table.findVar(key)
	}
	for int(g) >= len(ix.heads[0]) {
		ix.heads[0] = append(ix.heads[0], -1)
		ix.heads[1] = append(ix.heads[1], -1)
	}
	return g
}

func (ix *joinIndex) add(side int, g int32, e joinEntry) {
	e.group, e.next, e.flags = g, ix.heads[side][g], e.flags|entryLive
	ix.heads[side][g] = int32(len(ix.ents[side]))
	ix.ents[side] = append(ix.ents[side], e)
}

func (ix *joinIndex) kill(side int, e int32) {
	ix.ents[side][e].flags &^= entryLive
	ix.dead[side]++
}

// compact drops dead rows and keys without rows once they are most of
// the index.
func (ix *joinIndex) compact() {
	dead, total := ix.dead[0]+ix.dead[1], len(ix.ents[0])+len(ix.ents[1])
	if dead < 4096 || dead*2 < total {
		return
	}
	old := ix.table
	nx := newJoinIndex(old.width)
	for side := 0; side < 2; side++ {
		for _, e := range ix.ents[side] {
			if e.flags&entryLive != 0 {
				nx.add(side, nx.group(old.Key(int(e.group))), e)
			}
		}
	}
	*ix = *nx
}

func (ix *joinIndex) memoryBytes() int64 {
	n := ix.table.memoryBytes() + int64(4*(cap(ix.heads[0])+cap(ix.heads[1])))
	return n + int64(32*(cap(ix.ents[0])+cap(ix.ents[1])))
}

func newStreamJoin(name string, node *plan.StreamJoin, o buildOptions, mem memory.Allocator) (*StreamJoin, error) {
	if o.provider == nil {
		return nil, fmt.Errorf("incremental: %s needs a state store: build the pipeline with WithStateProvider (the engine gives one from the checkpoint)", node)
	}
	if node.Bound() == nil {
		return nil, fmt.Errorf("incremental: Build: %s was not built with plan.NewStreamJoin, so its condition is not bound", node)
	}
	if mem == nil {
		mem = memory.DefaultAllocator
	}
	j := &StreamJoin{node: node, typ: node.Type, mem: mem, width: 0, timeCol: [2]int{-1, -1}, idxVersion: noIndex}
	j.sides = [2]*arrow.Schema{node.Left.Schema(), node.Right.Schema()}
	for _, k := range node.Keys() {
		j.keyCols[0] = append(j.keyCols[0], k.Left)
		j.keyCols[1] = append(j.keyCols[1], k.Right)
		c := newKeyColumn(j.sides[0].Field(k.Left).Type)
		j.kcols = append(j.kcols, c)
		if j.width >= 0 && c.width > 0 {
			j.width += c.width
		} else {
			j.width = -1
		}
	}
	if r, ok := node.TimeRange(); ok {
		j.hasRange, j.rng = true, r
		j.timeCol = [2]int{r.LeftColumn, r.RightColumn}
		for side := 0; side < 2; side++ {
			j.evict[side] = r.Evicts(side)
		}
		// A side's eviction trusts that the other side's rows at or
		// below the watermark are dropped.
		j.lateIn = [2]bool{j.evict[1], j.evict[0]}
	}
	for side := 0; side < 2; side++ {
		j.outer[side] = plan.JoinOuter(j.typ, side)
	}
	if node.Residual() {
		j.residual = node.Bound()
	}
	fields := make([]arrow.Field, 0, node.PairSchema().NumFields())
	for _, f := range node.PairSchema().Fields() {
		f.Nullable = true
		fields = append(fields, f)
	}
	j.pairOut = arrow.NewSchema(fields, nil)
	j.stateParts = newStateParts(name, o, j.pairOut)
	j.evicts = j.evict[0] || j.evict[1]
	return j, nil
}

// Schema is the join's output schema.
func (j *StreamJoin) Schema() *arrow.Schema { return j.node.Schema() }

func (j *StreamJoin) String() string {
	var parts []string
	for i := range j.keyCols[0] {
		parts = append(parts, j.sides[0].Field(j.keyCols[0][i]).Name+" = "+j.sides[1].Field(j.keyCols[1][i]).Name)
	}
	s := fmt.Sprintf("StreamingSymmetricHashJoinExec %s, keys [%s]", j.typ, strings.Join(parts, ", "))
	if j.hasRange {
		s += fmt.Sprintf(", %s - %s in [%s, %s]", j.sides[0].Field(j.timeCol[0]).Name, j.sides[1].Field(j.timeCol[1]).Name, boundString(j.rng.Lo), boundString(j.rng.Hi))
	}
	if j.residual != nil {
		s += ", condition " + j.residual.String()
	}
	return s + ", state " + j.name + partitionsNote(j.explainParts)
}

func boundString(us int64) string {
	switch us {
	case math.MinInt64:
		return "-inf"
	case math.MaxInt64:
		return "+inf"
	}
	return (time.Duration(us) * time.Microsecond).String()
}

// Process is not used: a pipeline gives a join its rows by side.
func (j *StreamJoin) Process(context.Context, arrow.RecordBatch) (arrow.RecordBatch, error) {
	return nil, fmt.Errorf("incremental: %s: a join takes its rows through its pipeline's two branches; build it with Build", j.node)
}

// begin drops what a failed attempt left, opens every state partition at
// the batch's id minus one and rebuilds the in-memory indexes when they
// do not hold that version.
func (j *StreamJoin) begin(ctx context.Context, info BatchInfo) error {
	j.info = info
	j.ord = [2]uint32{}
	if err := j.configure(info); err != nil {
		return err
	}
	if len(j.idx) != j.parts {
		j.idx = make([]*joinIndex, j.parts)
		j.idxVersion = noIndex
	}
	for p := range j.known {
		j.known[p] = true // the indexes give the bounds
	}
	if err := j.openStores(ctx, info.BatchID-1, nil); err != nil {
		return err
	}
	if j.idxVersion != info.BatchID-1 {
		if err := parallel(j.parts, j.rebuild); err != nil {
			j.abortStores()
			return fmt.Errorf("incremental: %s: %w", j.name, err)
		}
	}
	j.idxVersion = noIndex // changed by the batch until it commits
	return nil
}

// rebuild reads partition p's index and event-time bound from its store.
func (j *StreamJoin) rebuild(p int) error {
	st := j.stores[p]
	ix := newJoinIndex(j.width)
	lo := int64(math.MaxInt64)
	var err error
	st.Iterate(func(k, v []byte) bool {
		if len(k) < 1+joinRowIDLen || k[0] > 1 || len(v) < joinValueHeader || v[0] != joinStateVersion {
			err = fmt.Errorf("state %s holds a key %x or value that is not join state version %d; the checkpoint was written by another version or another query", st.ID(), k, joinStateVersion)
			return false
		}
		side := int(k[0])
		id := k[len(k)-joinRowIDLen:]
		e := joinEntry{
			flags: v[1] & joinMatched, ts: int64(binary.LittleEndian.Uint64(v[2:])),
			batch: int64(binary.BigEndian.Uint64(id)), ord: binary.BigEndian.Uint32(id[8:]),
		}
		ix.add(side, ix.group(k[1:len(k)-joinRowIDLen]), e)
		if j.evict[side] {
			lo = min(lo, j.bound(side, e.ts))
		}
		return true
	})
	if err != nil {
		return err
	}
	j.idx[p], j.minEnd[p], j.known[p] = ix, lo, true
	return nil
}

// bound is the watermark (µs) at which a row of side with event time ts
// can no longer match: ts - Lo for a left row, ts + Hi for a right one.
func (j *StreamJoin) bound(side int, ts int64) int64 {
	if side == 0 {
		if j.rng.Lo < 0 {
			return satAddInt(ts, -j.rng.Lo)
		}
		return ts - j.rng.Lo
	}
	return satAddInt(ts, j.rng.Hi)
}

func satAddInt(a, b int64) int64 {
	s := a + b
	if b > 0 && s < a {
		return math.MaxInt64
	}
	if b < 0 && s > a {
		return math.MinInt64
	}
	return s
}

// rowKey appends the state key of a row to dst.
func rowKey(dst []byte, side int, key []byte, batch int64, ord uint32) []byte {
	dst = append(dst, byte(side))
	dst = append(dst, key...)
	dst = binary.BigEndian.AppendUint64(dst, uint64(batch))
	return binary.BigEndian.AppendUint32(dst, ord)
}

// key returns the encoded join key of input row i.
func (j *StreamJoin) key(i int) []byte { return j.rowKeys.key(i) }

// processSide joins rec (borrowed), a record of side, with the other
// side's rows and adds its rows to its side's state. The joined rows are
// returned, owned by the caller, or nil.
func (j *StreamJoin) processSide(ctx context.Context, side int, rec arrow.RecordBatch) (_ arrow.RecordBatch, err error) {
	n := int(rec.NumRows())
	if n == 0 {
		return nil, nil
	}
	if j.stores == nil {
		return nil, fmt.Errorf("incremental: %s: a record arrived outside a batch (BeginBatch was not called)", j.name)
	}
	// Encode the join keys; a row with a null key matches nothing.
	keys := make([]arrow.Array, len(j.keyCols[side]))
	for c, col := range j.keyCols[side] {
		keys[c] = rec.Column(col)
	}
	j.rowKeys.encode(j.kcols, j.width, keys, n)
	if j.hasRange {
		j.ts, j.tsOK = timestampsMicros(rec.Column(j.timeCol[side]), j.ts, j.tsOK)
	}
	wm := j.info.WatermarkMs * 1000
	j.rowGrp, j.matched = resize(j.rowGrp, n), resize(j.matched, n)
	if len(j.byPart) != j.parts {
		j.byPart = make([][]int32, j.parts)
	}
	for p := range j.byPart {
		j.byPart[p] = j.byPart[p][:0]
	}
	var late, never []bool
	for i := 0; i < n; i++ {
		j.matched[i] = false
		if j.hasRange && j.lateIn[side] && j.tsOK[i] && j.ts[i] <= wm {
			j.dropped++
			if late == nil {
				late = make([]bool, n)
			}
			late[i] = true
			continue
		}
		nullKey := false
		for _, k := range keys {
			if k.IsNull(i) {
				nullKey = true
				break
			}
		}
		if nullKey || (j.hasRange && !j.tsOK[i]) {
			if j.outer[side] {
				if never == nil {
					never = make([]bool, n)
				}
				never[i] = true
			}
			continue
		}
		p := state.PartitionOf(j.key(i), j.parts)
		j.byPart[p] = append(j.byPart[p], int32(i))
	}
	if late != nil && j.late {
		if err := j.keepLateJoin(ctx, side, rec, late); err != nil {
			return nil, err
		}
	}
	outs := make([]arrow.RecordBatch, j.parts+1)
	defer func() { releaseAll(outs) }()
	err = parallel(j.parts, func(p int) error {
		if len(j.byPart[p]) == 0 {
			return nil
		}
		out, err := j.processPart(ctx, p, side, rec)
		outs[p] = out
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("incremental: %s: %w", j.name, err)
	}
	if never != nil {
		idx := make([]int32, 0, n)
		for i, ok := range never {
			if ok {
				idx = append(idx, int32(i))
			}
		}
		cols, err := takeColumns(ctx, j.mem, rec, idx)
		if err != nil {
			return nil, fmt.Errorf("incremental: %s: %w", j.name, err)
		}
		outs[j.parts] = j.padded(side, cols, len(idx))
	}
	j.ord[side] += uint32(n)
	return concatRecords(j.mem, j.node.Schema(), outs)
}

// processPart probes partition p with the rows of rec in it, writes their
// matches and adds them to the state of side.
func (j *StreamJoin) processPart(ctx context.Context, p, side int, rec arrow.RecordBatch) (arrow.RecordBatch, error) {
	ix, st := j.idx[p], j.stores[p]
	other := 1 - side
	semi := j.typ == plan.LeftSemiJoin
	// Probe: candidate pairs (input row, other side's entry) whose keys
	// are equal and whose event times are within the range.
	var inIdx, ents []int32
	lo, hi := j.rng.Lo, j.rng.Hi
	for _, i := range j.byPart[p] {
		g := ix.group(j.key(int(i)))
		j.rowGrp[i] = g
		var t int64
		if j.hasRange {
			t = j.ts[i]
		}
		for e := ix.heads[other][g]; e >= 0; {
			en := &ix.ents[other][e]
			cur := e
			e = en.next
			if en.flags&entryLive == 0 {
				continue
			}
			if j.hasRange {
				d := t - en.ts
				if side == 1 {
					d = en.ts - t
				}
				if d < lo || d > hi {
					continue
				}
			}
			inIdx = append(inIdx, i)
			ents = append(ents, cur)
			if semi && side == 0 && j.residual == nil {
				break // one match is enough to write the left row
			}
		}
	}
	var out arrow.RecordBatch
	if len(inIdx) > 0 {
		var err error
		if out, err = j.matchPairs(ctx, ix, st, side, rec, inIdx, ents); err != nil {
			return nil, err
		}
	}
	// Add the rows to their side's state.
	var kb, val []byte
	for _, i := range j.byPart[p] {
		if semi && side == 0 && j.matched[i] {
			continue // written; no later right row may write it again
		}
		flags := uint8(0)
		if j.matched[i] {
			flags |= joinMatched
		}
		ts := int64(0)
		if j.hasRange {
			flags |= joinTimeOK
			ts = j.ts[i]
		}
		ord := j.ord[side] + uint32(i)
		g := j.rowGrp[i]
		val = append(val[:0], joinStateVersion, flags)
		val = binary.LittleEndian.AppendUint64(val, uint64(ts))
		for c := 0; c < int(rec.NumCols()); c++ {
			val = appendKeyValue(val, rec.Column(c), int(i))
		}
		kb = rowKey(kb[:0], side, j.key(int(i)), j.info.BatchID, ord)
		st.Put(kb, val)
		ix.add(side, g, joinEntry{flags: flags & joinMatched, ord: ord, batch: j.info.BatchID, ts: ts})
		if j.evict[side] {
			j.minEnd[p] = min(j.minEnd[p], j.bound(side, ts))
		}
	}
	return out, nil
}

// matchPairs evaluates the candidate pairs, records which rows matched
// and returns the joined rows (owned by the caller) or nil.
func (j *StreamJoin) matchPairs(ctx context.Context, ix *joinIndex, st state.Store, side int, rec arrow.RecordBatch, inIdx, ents []int32) (_ arrow.RecordBatch, err error) {
	other := 1 - side
	semi := j.typ == plan.LeftSemiJoin
	np := len(inIdx)
	needOther := !semi || side == 1 || j.residual != nil
	var otherCols, thisCols []arrow.Array
	defer func() {
		releaseArrays(otherCols)
		releaseArrays(thisCols)
	}()
	var kb []byte
	entKey := func(e *joinEntry) []byte {
		kb = rowKey(kb[:0], other, ix.table.Key(int(e.group)), e.batch, e.ord)
		return kb
	}
	if needOther {
		bs := newBuilders(j.mem, j.sides[other])
		defer releaseBuilders(bs)
		for _, e := range ents {
			en := &ix.ents[other][e]
			v, ok := st.Get(entKey(en))
			if !ok {
				return nil, fmt.Errorf("state %s has no row %x that its index holds; the state store lost a row", st.ID(), kb)
			}
			if err := decodeRow(bs, v[joinValueHeader:]); err != nil {
				return nil, fmt.Errorf("state %s: row %x: %w", st.ID(), kb, err)
			}
		}
		otherCols = finishBuilders(bs)
	}
	pass := make([]bool, np)
	for k := range pass {
		pass[k] = true
	}
	if j.residual != nil || !semi {
		if thisCols, err = takeColumns(ctx, j.mem, rec, inIdx); err != nil {
			return nil, err
		}
	}
	if j.residual != nil {
		pair := j.pairRecord(j.node.PairSchema(), side, thisCols, otherCols, np)
		mask, err := j.residual.Eval(ctx, pair, j.mem)
		pair.Release()
		if err != nil {
			return nil, fmt.Errorf("evaluating the join condition: %w", err)
		}
		b := mask.(*array.Boolean)
		for k := range pass {
			pass[k] = b.IsValid(k) && b.Value(k)
		}
		mask.Release()
	}
	// Bookkeeping: matched input rows, matched kept rows.
	var keep []int32 // passing pairs
	for k, ok := range pass {
		if !ok {
			continue
		}
		keep = append(keep, int32(k))
		j.matched[inIdx[k]] = true
	}
	if len(keep) == 0 {
		return nil, nil
	}
	if semi {
		if side == 0 {
			// Each matched left row once, from the input.
			var rows []int32
			for _, k := range keep {
				if len(rows) == 0 || rows[len(rows)-1] != inIdx[k] {
					rows = append(rows, inIdx[k])
				}
			}
			cols, err := takeColumns(ctx, j.mem, rec, rows)
			if err != nil {
				return nil, err
			}
			defer releaseArrays(cols)
			return array.NewRecordBatch(j.node.Schema(), cols, int64(len(rows))), nil
		}
		// Each kept left row a right row matches, once; it leaves the
		// state so that no later right row writes it again.
		var sel []int32
		for _, k := range keep {
			en := &ix.ents[other][ents[k]]
			if en.flags&entryLive == 0 {
				continue
			}
			sel = append(sel, int32(k))
			st.Delete(entKey(en))
			ix.kill(other, ents[k])
		}
		cols, err := takeArrays(ctx, j.mem, otherCols, sel)
		if err != nil {
			return nil, err
		}
		defer releaseArrays(cols)
		return array.NewRecordBatch(j.node.Schema(), cols, int64(len(sel))), nil
	}
	if j.outer[other] {
		var val []byte
		for _, k := range keep {
			en := &ix.ents[other][ents[k]]
			if en.flags&joinMatched != 0 {
				continue
			}
			en.flags |= joinMatched
			key := entKey(en)
			v, _ := st.Get(key)
			val = append(val[:0], v...)
			val[1] |= joinMatched
			st.Put(key, val)
		}
	}
	if len(keep) < np {
		a, err := takeArrays(ctx, j.mem, thisCols, keep)
		if err != nil {
			return nil, err
		}
		b, err := takeArrays(ctx, j.mem, otherCols, keep)
		if err != nil {
			releaseArrays(a)
			return nil, err
		}
		releaseArrays(thisCols)
		releaseArrays(otherCols)
		thisCols, otherCols = a, b
	}
	return j.pairRecord(j.node.Schema(), side, thisCols, otherCols, len(keep)), nil
}

// pairRecord puts the columns of side and of the other side in left,
// right order under schema; the record is owned by the caller and the
// arrays stay the caller's.
func (j *StreamJoin) pairRecord(schema *arrow.Schema, side int, this, other []arrow.Array, n int) arrow.RecordBatch {
	cols := make([]arrow.Array, 0, len(this)+len(other))
	if side == 0 {
		cols = append(append(cols, this...), other...)
	} else {
		cols = append(append(cols, other...), this...)
	}
	return array.NewRecordBatch(schema, cols, int64(n))
}

// padded returns the rows of side (cols, n rows; released here) with
// nulls for the other side's columns, owned by the caller.
func (j *StreamJoin) padded(side int, cols []arrow.Array, n int) arrow.RecordBatch {
	nulls := make([]arrow.Array, j.sides[1-side].NumFields())
	for c, f := range j.sides[1-side].Fields() {
		nulls[c] = array.MakeArrayOfNull(j.mem, f.Type, n)
	}
	rec := j.pairRecord(j.node.Schema(), side, cols, nulls, n)
	releaseArrays(cols)
	releaseArrays(nulls)
	return rec
}

// keepLateJoin keeps the rows of rec marked late, with nulls for the other
// side's columns, for LateRows.
func (j *StreamJoin) keepLateJoin(ctx context.Context, side int, rec arrow.RecordBatch, late []bool) error {
	var idx []int32
	for i, l := range late {
		if l {
			idx = append(idx, int32(i))
		}
	}
	cols, err := takeColumns(ctx, j.mem, rec, idx)
	if err != nil {
		return fmt.Errorf("incremental: %s: keeping late rows: %w", j.name, err)
	}
	nulls := make([]arrow.Array, j.sides[1-side].NumFields())
	for c, f := range j.sides[1-side].Fields() {
		nulls[c] = array.MakeArrayOfNull(j.mem, f.Type, len(idx))
	}
	j.lateOut = append(j.lateOut, j.pairRecord(j.pairOut, side, cols, nulls, len(idx)))
	releaseArrays(cols)
	releaseArrays(nulls)
	return nil
}

// end evicts the rows the batch's watermark has put out of reach of any
// future row, writes those of an outer side that never matched, and
// commits the state. The records are owned by the caller.
func (j *StreamJoin) end(ctx context.Context) (_ []arrow.RecordBatch, err error) {
	if j.stores == nil {
		return nil, fmt.Errorf("incremental: %s: end of a batch that did not begin", j.name)
	}
	defer func() {
		if err != nil {
			j.abortStores()
		}
	}()
	wm := j.info.WatermarkMs * 1000
	outs := make([]arrow.RecordBatch, 2*j.parts)
	defer func() {
		if err != nil {
			releaseAll(outs)
		}
	}()
	t0 := time.Now()
	err = parallel(j.parts, func(p int) error {
		defer j.idx[p].compact()
		if !j.evicts || j.minEnd[p] > wm {
			return nil
		}
		ix, st := j.idx[p], j.stores[p]
		newMin := int64(math.MaxInt64)
		var kb []byte
		for side := 0; side < 2; side++ {
			if !j.evict[side] {
				continue
			}
			var bs []array.Builder
			rows := 0
			for e := range ix.ents[side] {
				en := &ix.ents[side][e]
				if en.flags&entryLive == 0 {
					continue
				}
				if b := j.bound(side, en.ts); b > wm {
					newMin = min(newMin, b)
					continue
				}
				kb = rowKey(kb[:0], side, ix.table.Key(int(en.group)), en.batch, en.ord)
				if j.outer[side] && en.flags&joinMatched == 0 {
					v, ok := st.Get(kb)
					if !ok {
						releaseBuilders(bs)
						return fmt.Errorf("state %s has no row %x that its index holds; the state store lost a row", st.ID(), kb)
					}
					if bs == nil {
						bs = newBuilders(j.mem, j.sides[side])
					}
					if err := decodeRow(bs, v[joinValueHeader:]); err != nil {
						releaseBuilders(bs)
						return fmt.Errorf("state %s: row %x: %w", st.ID(), kb, err)
					}
					rows++
				}
				st.Delete(kb)
				ix.kill(side, int32(e))
			}
			if bs != nil {
				cols := finishBuilders(bs)
				releaseBuilders(bs)
				outs[2*p+side] = j.padded(side, cols, rows)
			}
		}
		j.minEnd[p] = newMin
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("incremental: %s: %w", j.name, err)
	}
	removals := time.Since(t0)
	m := StateOperatorMetrics{AllRemovalsTimeMs: removals.Milliseconds()}
	for _, ix := range j.idx {
		m.MemoryUsedBytes += ix.memoryBytes()
	}
	if err := j.commitStores(ctx, m); err != nil {
		return nil, err
	}
	j.idxVersion = j.info.BatchID
	var recs []arrow.RecordBatch
	for _, r := range outs {
		if r != nil {
			recs = append(recs, r)
		}
	}
	return recs, nil
}

// newBuilders returns one builder per field of s.
func newBuilders(mem memory.Allocator, s *arrow.Schema) []array.Builder {
	bs := make([]array.Builder, s.NumFields())
	for i, f := range s.Fields() {
		bs[i] = array.NewBuilder(mem, f.Type)
	}
	return bs
}

func releaseBuilders(bs []array.Builder) {
	for _, b := range bs {
		b.Release()
	}
}

// finishBuilders returns the builders' arrays, owned by the caller.
func finishBuilders(bs []array.Builder) []arrow.Array {
	out := make([]arrow.Array, len(bs))
	for i, b := range bs {
		out[i] = b.NewArray()
	}
	return out
}

func releaseArrays(as []arrow.Array) {
	for _, a := range as {
		if a != nil {
			a.Release()
		}
	}
}

// decodeRow appends the encoded columns of a kept row to bs.
func decodeRow(bs []array.Builder, v []byte) error {
	for _, b := range bs {
		var err error
		if v, err = decodeKeyValue(b, v); err != nil {
			return err
		}
	}
	if len(v) != 0 {
		return fmt.Errorf("%d bytes after the last column", len(v))
	}
	return nil
}

// takeColumns returns rec's columns at rows idx, owned by the caller.
func takeColumns(ctx context.Context, mem memory.Allocator, rec arrow.RecordBatch, idx []int32) ([]arrow.Array, error) {
	return takeArrays(ctx, mem, rec.Columns(), idx)
}

// takeArrays returns arrs (borrowed) at rows idx, owned by the caller.
func takeArrays(ctx context.Context, mem memory.Allocator, arrs []arrow.Array, idx []int32) ([]arrow.Array, error) {
	ib := array.NewInt32Builder(mem)
	ib.AppendValues(idx, nil)
	ia := ib.NewArray()
	ib.Release()
	defer ia.Release()
	ctx = compute.WithAllocator(ctx, mem)
	out := make([]arrow.Array, len(arrs))
	for c, a := range arrs {
		t, err := compute.TakeArray(ctx, a, ia)
		if err != nil {
			releaseArrays(out)
			return nil, fmt.Errorf("taking rows: %w", err)
		}
		out[c] = t
	}
	return out, nil
}

// concatRecords returns the non-nil records of recs (borrowed) as one
// record of schema, owned by the caller, or nil when there are no rows.
func concatRecords(mem memory.Allocator, schema *arrow.Schema, recs []arrow.RecordBatch) (arrow.RecordBatch, error) {
	var some []arrow.RecordBatch
	for _, r := range recs {
		if r != nil && r.NumRows() > 0 {
			some = append(some, r)
		}
	}
	switch len(some) {
	case 0:
		return nil, nil
	case 1:
		some[0].Retain()
		return some[0], nil
	}
	cols := make([]arrow.Array, schema.NumFields())
	var rows int64
	for _, r := range some {
		rows += r.NumRows()
	}
	for c := range cols {
		parts := make([]arrow.Array, len(some))
		for i, r := range some {
			parts[i] = r.Column(c)
		}
		a, err := array.Concatenate(parts, mem)
		if err != nil {
			releaseArrays(cols)
			return nil, fmt.Errorf("incremental: joining the output of state partitions: %w", err)
		}
		cols[c] = a
	}
	defer releaseArrays(cols)
	return array.NewRecordBatch(schema, cols, rows), nil
}
