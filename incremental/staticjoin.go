package incremental

import (
	"context"
	"encoding/binary"
	"fmt"
	"log/slog"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/expr"
	"github.com/sluicehq/sluice/plan"
	"github.com/sluicehq/sluice/table"
)

// This file holds the stream-static join: a broadcast hash join of each
// record of the stream (the probe side) with a static table (the build
// side). The table is loaded at the first batch and reloaded at the start
// of a batch as the plan says; it keeps no state in the state store.
//
// The build side is the table's key columns encoded as grouping keys
// (keys.go) in a groupTable, each group's rows stored contiguously in the
// table's output columns (a CSR layout: group g's rows are
// [start[g], start[g+1]), in table order). Probing encodes a record's keys
// the same way, looks each up and writes index vectors for the stream and
// table sides, which compute.Take gathers.

func init() {
	registerUnary((*plan.StaticJoin)(nil), func(n plan.Node, o buildOptions, mem memory.Allocator) (Operator, plan.Node, error) {
		j := n.(*plan.StaticJoin)
		op, err := newStaticJoin(j, mem, o.logger)
		if err != nil {
			return nil, nil, err
		}
		return op, j.Input, nil
	})
}

// probeChunk is the number of rows one goroutine looks up at a time.
const probeChunk = 1 << 16

// buildAlloc allocates the build side: Go memory, freed by the garbage
// collector, so that the loaded table is released as soon as it is built
// and nothing is left to release when the query ends.
var buildAlloc = memory.NewGoAllocator()

// StaticJoin is the physical stream-static join. Process is safe for
// concurrent use within a batch; begin must not run concurrently with it.
type StaticJoin struct {
	node     *plan.StaticJoin
	src      table.Source
	mem      memory.Allocator
	keys     []*expr.Bound
	rightIdx []int
	cols     []int // table columns in the output
	extra    *expr.Bound
	kind     plan.JoinType
	log      *slog.Logger

	built    *buildSide
	loadedAt int64
	version  table.Version

	scratch sync.Pool // of *probeScratch
}

// buildSide is a loaded table ready to probe.
type buildSide struct {
	rows   int
	width  int // fixed key width, or -1
	keyCol []keyColumn
	groups *groupTable
	inline *inlineTable // for fixed-width keys of up to 16 bytes, or nil
	dense  *denseIndex  // for one integer key over a compact range, or nil
	start  []int32      // group g's rows are [start[g], start[g+1])
	cols   []arrow.Array
}

// inlineTable is the probe index of fixed-width keys of up to 16 bytes:
// open addressing over slots that hold the key's bytes themselves, so a
// lookup touches one slot rather than the group table's slot, hash and
// key arrays.
type inlineTable struct {
	slots []inlineSlot
	mask  uint64
}

type inlineSlot struct {
	k0, k1 uint64
	g1     int32 // group + 1; 0 is an empty slot
}

// keyWords reads a key of up to 16 bytes as two words, zero-padded.
func keyWords(key []byte) (uint64, uint64) {
	var buf [16]byte
	copy(buf[:], key)
	return binary.LittleEndian.Uint64(buf[:8]), binary.LittleEndian.Uint64(buf[8:])
}

func newInlineTable(t *groupTable) *inlineTable {
	n := 16
	for n < 2*t.Len() {
		n *= 2
	}
	it := &inlineTable{slots: make([]inlineSlot, n), mask: uint64(n - 1)}
	for g := 0; g < t.Len(); g++ {
		k0, k1 := keyWords(t.Key(g))
		s := t.hashes[g] & it.mask
		for it.slots[s].g1 != 0 {
			s = (s + 1) & it.mask
		}
		it.slots[s] = inlineSlot{k0: k0, k1: k1, g1: int32(g + 1)}
	}
	return it
}

// lookup returns the group of key, or -1.
func (it *inlineTable) lookup(key []byte) int32 {
	k0, k1 := keyWords(key)
	for s := hashKey(key) & it.mask; ; s = (s + 1) & it.mask {
		sl := &it.slots[s]
		if sl.g1 == 0 {
			return -1
		}
		if sl.k0 == k0 && sl.k1 == k1 {
			return sl.g1 - 1
		}
	}
}

type probeScratch struct {
	keys   []byte
	valid  []bool
	group  []int32
	left   []int32
	right  []int32
	rnull  []byte // validity of right, for left outer rows without a match
	nullAt []int
	key    []byte
}

func newStaticJoin(n *plan.StaticJoin, mem memory.Allocator, logger *slog.Logger) (*StaticJoin, error) {
	if logger == nil {
		logger = slog.Default()
	}
	src, ok := n.Table.(table.Source)
	if !ok {
		return nil, fmt.Errorf("incremental: Build: %s: the static table %s (%T) is not a table.Source; build it with package table", n, n.Table, n.Table)
	}
	if mem == nil {
		mem = memory.DefaultAllocator
	}
	j := &StaticJoin{
		node: n, src: src, mem: mem, keys: n.BoundLeftKeys(), rightIdx: n.RightKeyIndices(), cols: n.TableColumns(),
		extra: n.BoundExtra(), kind: n.Type, log: logger, loadedAt: -1,
	}
	j.scratch.New = func() any { return new(probeScratch) }
	return j, nil
}

// Schema is the join's output schema.
func (j *StaticJoin) Schema() *arrow.Schema { return j.node.Schema() }

// String describes the operator for Explain.
func (j *StaticJoin) String() string {
	return "BroadcastHashJoinExec " + j.node.String()[len("StaticJoin "):]
}

// begin loads the table at the first batch, and reloads it when the
// plan's ReloadEvery batches have passed since the last load or, with
// ReloadOnChange, when the source says it changed.
func (j *StaticJoin) begin(ctx context.Context, info BatchInfo) error {
	reason := ""
	switch {
	case j.built == nil:
		reason = "first batch"
	case j.node.ReloadEvery > 0 && info.BatchID-j.loadedAt >= int64(j.node.ReloadEvery):
		reason = fmt.Sprintf("%d batches since the last load", info.BatchID-j.loadedAt)
	case j.node.ReloadOnChange && info.BatchID != j.loadedAt:
		changed, err := j.src.Changed(ctx, j.version)
		if err != nil {
			return fmt.Errorf("incremental: %s: checking the table for changes: %w", j.node, err)
		}
		if changed {
			reason = "the table changed"
		}
	}
	if reason == "" {
		return nil
	}
	t, v, err := j.src.Load(ctx)
	if err != nil {
		return fmt.Errorf("incremental: %s: loading the table at batch %d: %w", j.node, info.BatchID, err)
	}
	defer t.Release()
	b, err := j.build(ctx, t)
	if err != nil {
		return err
	}
	j.built, j.loadedAt, j.version = b, info.BatchID, v
	j.log.Info("static join loaded its table", "batch", info.BatchID, "table", j.src.String(), "version", v.String(),
		"rows", b.rows, "keys", b.groups.Len(), "reason", reason)
	return nil
}

// build turns t (borrowed) into a buildSide in Go memory.
func (j *StaticJoin) build(ctx context.Context, t *table.Table) (*buildSide, error) {
	ts := t.Schema()
	b := &buildSide{width: 0}
	for _, c := range j.rightIdx {
		kc := newKeyColumn(ts.Field(c).Type)
		b.keyCol = append(b.keyCol, kc)
		if kc.width < 0 || b.width < 0 {
			b.width = -1
		} else {
			b.width += kc.width
		}
	}
	b.groups = newGroupTable(b.width)
	var rowGroup []int32
	var sc probeScratch
	for _, rec := range t.Records() {
		n := int(rec.NumRows())
		keys := make([]arrow.Array, len(j.rightIdx))
		for k, c := range j.rightIdx {
			keys[k] = rec.Column(c)
		}
		b.encode(&sc, keys, n)
		for i := 0; i < n; i++ {
			g := int32(-1)
			if sc.valid[i] {
				if b.width >= 0 {
					g = b.groups.findFixed(sc.keys[i*b.width : (i+1)*b.width])
				} else {
					sc.key = b.appendKey(sc.key[:0], keys, i)
					g = b.groups.findVar(sc.key)
				}
			}
			rowGroup = append(rowGroup, g)
		}
		b.rows += n
	}
	if b.width > 0 && b.width <= 16 {
		b.inline = newInlineTable(b.groups)
	}
	if len(j.rightIdx) == 1 {
		b.dense = newDenseIndex(t.Records(), j.rightIdx[0], rowGroup, b.groups.Len())
	}
	// Counting sort of the rows by group, stable so that each group's
	// rows keep the table's order. Rows with a null key are dropped.
	ng := b.groups.Len()
	b.start = make([]int32, ng+1)
	for _, g := range rowGroup {
		if g >= 0 {
			b.start[g+1]++
		}
	}
	for g := 0; g < ng; g++ {
		b.start[g+1] += b.start[g]
	}
	next := append([]int32(nil), b.start[:ng]...)
	perm := make([]int32, b.start[ng])
	for row, g := range rowGroup {
		if g >= 0 {
			perm[next[g]] = int32(row)
			next[g]++
		}
	}
	idx := int32Array(perm, nil, 0)
	defer idx.Release()
	gctx := compute.WithAllocator(ctx, buildAlloc)
	for _, c := range j.cols {
		chunks := make([]arrow.Array, 0, len(t.Records()))
		for _, rec := range t.Records() {
			chunks = append(chunks, rec.Column(c))
		}
		var whole arrow.Array
		var err error
		if len(chunks) == 0 {
			whole = array.MakeArrayOfNull(buildAlloc, ts.Field(c).Type, 0)
		} else if whole, err = array.Concatenate(chunks, buildAlloc); err != nil {
			return nil, fmt.Errorf("incremental: %s: building the table's column %q: %w", j.node, ts.Field(c).Name, err)
		}
		sorted, err := compute.TakeArray(gctx, whole, idx)
		whole.Release()
		if err != nil {
			return nil, fmt.Errorf("incremental: %s: building the table's column %q: %w", j.node, ts.Field(c).Name, err)
		}
		b.cols = append(b.cols, sorted)
	}
	return b, nil
}

// encode fills sc.valid (no key column null) and, for fixed-width keys,
// sc.keys with the encoded keys of the n rows of keys.
func (b *buildSide) encode(sc *probeScratch, keys []arrow.Array, n int) {
	sc.valid = grow(sc.valid, n)
	for i := range sc.valid {
		sc.valid[i] = true
	}
	for _, k := range keys {
		if k.NullN() == 0 {
			continue
		}
		for i := 0; i < n; i++ {
			if k.IsNull(i) {
				sc.valid[i] = false
			}
		}
	}
	if b.width < 0 {
		return
	}
	sc.keys = grow(sc.keys, n*b.width)
	off := 0
	for k, c := range b.keyCol {
		c.encodeFixed(keys[k], sc.keys, b.width, off)
		off += c.width
	}
}

// appendKey appends row i's variable-width key.
func (b *buildSide) appendKey(dst []byte, keys []arrow.Array, i int) []byte {
	for _, k := range keys {
		dst = appendKeyValue(dst, k, i)
	}
	return dst
}

// lookupFixed returns the group of a fixed-width key, or -1.
func lookupFixed(t *groupTable, key []byte) int32 {
	h := hashKey(key)
	w := t.width
	for s := h & t.mask; ; s = (s + 1) & t.mask {
		g := t.slots[s]
		if g < 0 {
			return -1
		}
		if t.hashes[g] == h && keysEqual(t.keys[int(g)*w:int(g)*w+w], key) {
			return g
		}
	}
}

func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

// int32Array wraps vals (and a validity bitmap, or nil) as an Int32 array
// without copying; the caller releases it and keeps vals unchanged until
// then.
func int32Array(vals []int32, valid []byte, nulls int) arrow.Array {
	var vb *memory.Buffer
	if valid != nil {
		vb = memory.NewBufferBytes(valid)
	}
	data := array.NewData(arrow.PrimitiveTypes.Int32, len(vals), []*memory.Buffer{vb, memory.NewBufferBytes(arrow.Int32Traits.CastToBytes(vals))}, nil, nulls, 0)
	defer data.Release()
	return array.MakeFromData(data)
}

// Process joins rec (borrowed) with the table. The result is owned by the
// caller; it is nil when no row is produced.
func (j *StaticJoin) Process(ctx context.Context, rec arrow.RecordBatch) (arrow.RecordBatch, error) {
	n := int(rec.NumRows())
	if n == 0 {
		return nil, nil
	}
	b := j.built
	if b == nil {
		return nil, fmt.Errorf("incremental: %s: Process before the first batch began; the driver must call BeginBatch", j.node)
	}
	keys := make([]arrow.Array, len(j.keys))
	defer func() {
		for _, k := range keys {
			if k != nil {
				k.Release()
			}
		}
	}()
	for i, k := range j.keys {
		arr, err := k.Eval(ctx, rec, j.mem)
		if err != nil {
			return nil, fmt.Errorf("incremental: %s: join key: %w", j.node, err)
		}
		keys[i] = arr
	}
	sc := j.scratch.Get().(*probeScratch)
	defer j.scratch.Put(sc)
	b.probe(sc, keys, n)
	if j.extra != nil {
		return j.withExtra(ctx, rec, sc, n)
	}
	switch j.kind {
	case plan.LeftSemiJoin, plan.LeftAntiJoin:
		return j.selectRows(ctx, rec, sc.group, n, j.kind == plan.LeftSemiJoin)
	}
	j.pairs(sc, n, j.kind == plan.LeftOuterJoin, nil)
	return j.gather(ctx, rec, sc, n, j.Schema())
}

// probe sets sc.group[i] to the group of stream row i's key, or -1 when
// it is null or not in the table.
func (b *buildSide) probe(sc *probeScratch, keys []arrow.Array, n int) {
	if b.dense != nil {
		sc.group = grow(sc.group, n)
		if b.dense.probe(keys[0], sc.group) {
			return
		}
	}
	b.encode(sc, keys, n)
	sc.group = grow(sc.group, n)
	if b.width >= 0 {
		// Fixed-width keys are looked up in chunks on all cores: the
		// tables are read-only and each chunk writes its own groups.
		w := b.width
		chunks := (n + probeChunk - 1) / probeChunk
		_ = parallel(chunks, func(c int) error {
			lo, hi := c*probeChunk, min((c+1)*probeChunk, n)
			for i := lo; i < hi; i++ {
				g := int32(-1)
				if sc.valid[i] {
					if b.inline != nil {
						g = b.inline.lookup(sc.keys[i*w : i*w+w])
					} else {
						g = lookupFixed(b.groups, sc.keys[i*w:i*w+w])
					}
				}
				sc.group[i] = g
			}
			return nil
		})
		return
	}
	for i := 0; i < n; i++ {
		g := int32(-1)
		if sc.valid[i] {
			sc.key = b.appendKey(sc.key[:0], keys, i)
			if v, ok := b.groups.vmap[string(sc.key)]; ok {
				g = v
			}
		}
		sc.group[i] = g
	}
}

// pairs writes the index vectors sc.left (stream rows) and sc.right
// (table rows) of every match, in stream then table order; with outer, a
// stream row without a match gets one pair with a null table row
// (sc.rnull is then the validity bitmap of sc.right, else empty). keep,
// when not nil, says per candidate pair (in the order pairs writes them
// without keep) whether it holds.
func (j *StaticJoin) pairs(sc *probeScratch, n int, outer bool, keep []bool) {
	b := j.built
	sc.left, sc.right, sc.nullAt = sc.left[:0], sc.right[:0], sc.nullAt[:0]
	c := 0
	for i := 0; i < n; i++ {
		g := sc.group[i]
		matched := false
		if g >= 0 {
			for r := b.start[g]; r < b.start[g+1]; r++ {
				if keep != nil {
					ok := keep[c]
					c++
					if !ok {
						continue
					}
				}
				sc.left = append(sc.left, int32(i))
				sc.right = append(sc.right, r)
				matched = true
			}
		}
		if outer && !matched {
			sc.nullAt = append(sc.nullAt, len(sc.left))
			sc.left = append(sc.left, int32(i))
			sc.right = append(sc.right, 0)
		}
	}
	sc.rnull = sc.rnull[:0]
	if len(sc.nullAt) == 0 {
		return
	}
	sc.rnull = grow(sc.rnull, int(bitutil.BytesForBits(int64(len(sc.left)))))
	bitutil.SetBitsTo(sc.rnull, 0, int64(len(sc.left)), true)
	for _, k := range sc.nullAt {
		bitutil.ClearBit(sc.rnull, k)
	}
}

// identity reports whether idx is 0, 1, ..., n-1.
func identity(idx []int32, n int) bool {
	if len(idx) != n {
		return false
	}
	for i, v := range idx {
		if v != int32(i) {
			return false
		}
	}
	return true
}

// gather builds the record of schema (the stream's columns then the
// table's output columns) from the pairs in sc. The caller owns it; it is
// nil when there are no pairs.
func (j *StaticJoin) gather(ctx context.Context, rec arrow.RecordBatch, sc *probeScratch, n int, schema *arrow.Schema) (_ arrow.RecordBatch, err error) {
	m := len(sc.left)
	if m == 0 {
		return nil, nil
	}
	cols := make([]arrow.Array, 0, schema.NumFields())
	defer func() {
		for _, c := range cols {
			c.Release()
		}
	}()
	tctx := compute.WithAllocator(ctx, j.mem)
	if identity(sc.left, n) {
		for _, c := range rec.Columns() {
			c.Retain()
			cols = append(cols, c)
		}
	} else {
		idx := int32Array(sc.left, nil, 0)
		defer idx.Release()
		for _, c := range rec.Columns() {
			out, err := compute.TakeArray(tctx, c, idx)
			if err != nil {
				return nil, fmt.Errorf("incremental: %s: gathering stream rows: %w", j.node, err)
			}
			cols = append(cols, out)
		}
	}
	var valid []byte
	if len(sc.rnull) > 0 {
		valid = sc.rnull
	}
	idx := int32Array(sc.right, valid, len(sc.nullAt))
	defer idx.Release()
	for _, c := range j.built.cols {
		out, err := compute.TakeArray(tctx, c, idx)
		if err != nil {
			return nil, fmt.Errorf("incremental: %s: gathering table rows: %w", j.node, err)
		}
		cols = append(cols, out)
	}
	return array.NewRecordBatch(schema, cols, int64(m)), nil
}

// selectRows returns the rows of rec (borrowed) whose group is >= 0 (keep
// true) or < 0 (keep false), owned by the caller, or nil when none is.
func (j *StaticJoin) selectRows(ctx context.Context, rec arrow.RecordBatch, group []int32, n int, keep bool) (arrow.RecordBatch, error) {
	sc := j.scratch.Get().(*probeScratch)
	defer j.scratch.Put(sc)
	sc.left = sc.left[:0]
	for i := 0; i < n; i++ {
		if (group[i] >= 0) == keep {
			sc.left = append(sc.left, int32(i))
		}
	}
	switch len(sc.left) {
	case 0:
		return nil, nil
	case n:
		cols := rec.Columns()
		return array.NewRecordBatch(j.Schema(), cols, int64(n)), nil
	}
	idx := int32Array(sc.left, nil, 0)
	defer idx.Release()
	tctx := compute.WithAllocator(ctx, j.mem)
	cols := make([]arrow.Array, 0, rec.NumCols())
	defer func() {
		for _, c := range cols {
			c.Release()
		}
	}()
	for _, c := range rec.Columns() {
		out, err := compute.TakeArray(tctx, c, idx)
		if err != nil {
			return nil, fmt.Errorf("incremental: %s: selecting stream rows: %w", j.node, err)
		}
		cols = append(cols, out)
	}
	return array.NewRecordBatch(j.Schema(), cols, int64(len(sc.left))), nil
}

// withExtra joins rec (borrowed) with the extra condition: the candidate
// pairs (equal keys) are gathered into joined rows, the condition is
// evaluated over them, and the pairs that hold make the output, which the
// caller owns (nil when no row is produced).
func (j *StaticJoin) withExtra(ctx context.Context, rec arrow.RecordBatch, sc *probeScratch, n int) (arrow.RecordBatch, error) {
	j.pairs(sc, n, false, nil)
	joinedSchema := j.node.JoinedSchema()
	joined, err := j.gather(ctx, rec, sc, n, joinedSchema)
	if err != nil {
		return nil, err
	}
	keep := make([]bool, len(sc.left))
	kept := 0
	if joined != nil {
		mask, err := j.extra.Eval(ctx, joined, j.mem)
		if err != nil {
			joined.Release()
			return nil, fmt.Errorf("incremental: %s: condition: %w", j.node, err)
		}
		bm := mask.(*array.Boolean)
		for i := range keep {
			keep[i] = bm.IsValid(i) && bm.Value(i)
			if keep[i] {
				kept++
			}
		}
		mask.Release()
	}
	switch j.kind {
	case plan.InnerJoin:
		if kept == len(keep) {
			return joined, nil
		}
		joined.Release()
		j.pairs(sc, n, false, keep)
		return j.gather(ctx, rec, sc, n, j.Schema())
	case plan.LeftOuterJoin:
		if joined != nil {
			joined.Release()
		}
		j.pairs(sc, n, true, keep)
		return j.gather(ctx, rec, sc, n, j.Schema())
	}
	if joined != nil {
		joined.Release()
	}
	// Semi and anti: a stream row matches when one of its pairs holds.
	for i := 0; i < n; i++ {
		sc.group[i] = -1
	}
	for p, l := range sc.left {
		if keep[p] {
			sc.group[l] = 0
		}
	}
	return j.selectRows(ctx, rec, sc.group, n, j.kind == plan.LeftSemiJoin)
}
