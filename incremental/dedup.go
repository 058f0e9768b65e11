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

	"github.com/sluicehq/sluice/plan"
	"github.com/sluicehq/sluice/state"
)

// dedupStateVersion is the first byte of every deduplication state value.
const dedupStateVersion = 1

// dedupParallelRows is the number of rows of a record from which its
// partitions are deduplicated in parallel.
const dedupParallelRows = 4096

func init() {
	registerUnary((*plan.Dedup)(nil), func(n plan.Node, o buildOptions, mem memory.Allocator) (Operator, plan.Node, error) {
		node := n.(*plan.Dedup)
		op, err := newDedup("dedup", node, o, mem)
		if err != nil {
			return nil, nil, err
		}
		return op, node.Input, nil
	})
}

// Dedup is the streaming deduplication (plan.Dedup): it passes on the
// first row of each key and drops the others, in the batch and in every
// later batch, remembering the keys seen in the state store. Unlike an
// aggregation it emits rows as it processes them, so it may sit below a
// union or a join; it opens its state partitions when the batch begins
// and commits them at the end, after evicting the keys the watermark
// expired.
//
// A record's key columns are encoded at once (to a fixed width when the
// types allow) and its rows split by state partition; then, per
// partition (the partitions of a large record in parallel), each key is
// looked up in the partition's batch-local set and, the first time the
// batch sees it, in the partition's store. The rows kept are taken with
// arrow's filter kernel.
type Dedup struct {
	stateParts
	node     *plan.Dedup
	mem      memory.Allocator
	schema   *arrow.Schema
	keys     []int // input columns of the key
	cols     []keyColumn
	width    int   // fixed key width, or -1
	eventCol int   // input column of the event time, or -1
	delayUs  int64 // added to the event time to give a key's bound
	info     BatchInfo
	seen     []batchKeys // per partition: the keys the batch has seen

	rowKeys  rowKeys
	keyArrs  []arrow.Array
	ts       []int64
	tsOK     []bool
	keep     []bool
	lateMask []bool
	byPart   [][]int32 // rows on time, by partition
	updates  time.Duration
}

// newDedup builds the operator of node, named name in the state store.
func newDedup(name string, node *plan.Dedup, o buildOptions, mem memory.Allocator) (*Dedup, error) {
	if o.provider == nil {
		return nil, fmt.Errorf("incremental: %s needs a state store: build the pipeline with WithStateProvider (the engine gives one from the checkpoint)", node)
	}
	if mem == nil {
		mem = memory.DefaultAllocator
	}
	in := node.Input.Schema()
	d := &Dedup{
		stateParts: newStateParts(name, o, in),
		node:       node, mem: mem, schema: node.Schema(), keys: node.KeyColumns(),
	}
	if len(d.keys) == 0 {
		return nil, fmt.Errorf("incremental: %s has no key columns: build it with plan.NewDedup", node)
	}
	col, delay := node.EventTime()
	if node.WithinWatermark && col < 0 {
		return nil, fmt.Errorf("incremental: %s needs a watermark on its input: call WithWatermark before DropDuplicatesWithinWatermark", node)
	}
	d.eventCol, d.evicts = col, col >= 0
	if node.WithinWatermark {
		d.delayUs = delay.Microseconds()
	}
	d.width = 0
	for _, k := range d.keys {
		c := newKeyColumn(in.Field(k).Type)
		d.cols = append(d.cols, c)
		if d.width >= 0 && c.width > 0 {
			d.width += c.width
		} else {
			d.width = -1
		}
	}
	return d, nil
}

// Schema is the input's schema.
func (d *Dedup) Schema() *arrow.Schema { return d.schema }

func (d *Dedup) String() string {
	names := make([]string, len(d.keys))
	for i, k := range d.keys {
		names[i] = d.inSchema.Field(k).Name
	}
	kind := "StreamingDeduplicateExec"
	bound := ""
	switch {
	case d.node.WithinWatermark:
		kind = "StreamingDeduplicateWithinWatermarkExec"
		bound = fmt.Sprintf(", expires at %s + %s", d.inSchema.Field(d.eventCol).Name, time.Duration(d.delayUs)*time.Microsecond)
	case d.eventCol >= 0:
		bound = ", evicted by the watermark on " + d.inSchema.Field(d.eventCol).Name
	default:
		bound = ", kept forever"
	}
	return fmt.Sprintf("%s [%s]%s, state %s%s", kind, strings.Join(names, ", "), bound, d.name, partitionsNote(d.explainParts))
}

// emitsWhileProcessing marks the operator as one that may sit below a
// union or a join: its rows come out of Process, none at the end.
func (d *Dedup) emitsWhileProcessing() {}

// begin drops what a failed attempt left and opens every state
// partition at the version before the batch.
func (d *Dedup) begin(ctx context.Context, info BatchInfo) error {
	d.info = info
	d.updates = 0
	if err := d.configure(info); err != nil {
		return err
	}
	if len(d.byPart) != d.parts {
		d.byPart = make([][]int32, d.parts)
		d.seen = make([]batchKeys, d.parts)
		for p := range d.seen {
			d.seen[p] = newBatchKeys(d.width)
		}
	}
	for p := range d.seen {
		d.seen[p].reset()
	}
	return d.openStores(ctx, info.BatchID-1, func(_, v []byte, id state.StoreID) (int64, error) { return dedupBound(v, id) })
}

// dedupBound reads the event-time bound (µs) of a stored value: the key
// is forgotten once the watermark reaches it.
func dedupBound(v []byte, id state.StoreID) (int64, error) {
	if len(v) != 9 || v[0] != dedupStateVersion {
		return 0, fmt.Errorf("state %s holds a value that is not deduplication state version %d with an event-time bound (%d bytes, first byte %v); the checkpoint was written by another version or another query",
			id, dedupStateVersion, len(v), head(v))
	}
	return int64(binary.LittleEndian.Uint64(v[1:])), nil
}

// key returns row i's encoded key, in d.rowKeys.
func (d *Dedup) key(i int) []byte { return d.rowKeys.key(i) }

// encode writes the keys of rec's rows to d.rowKeys.
func (d *Dedup) encode(rec arrow.RecordBatch) {
	d.keyArrs = d.keyArrs[:0]
	for _, k := range d.keys {
		d.keyArrs = append(d.keyArrs, rec.Column(k))
	}
	d.rowKeys.encode(d.cols, d.width, d.keyArrs, int(rec.NumRows()))
}

// rowKeys are the encoded keys of a record's rows (see keyColumn): with
// a fixed width, row i's key is the width bytes at i*width of buf;
// otherwise it is buf[offs[i]:offs[i+1]]. The buffers are reused from
// record to record.
type rowKeys struct {
	width int
	buf   []byte
	offs  []int
}

// encode writes the keys of n rows, key column c from arrs[c] (borrowed)
// encoded as cols[c], with width the fixed key width or -1.
func (k *rowKeys) encode(cols []keyColumn, width int, arrs []arrow.Array, n int) {
	k.width = width
	if width >= 0 {
		k.buf = resize(k.buf, n*width)
		off := 0
		for c, col := range cols {
			col.encodeFixed(arrs[c], k.buf, width, off)
			off += col.width
		}
		return
	}
	k.offs = resize(k.offs, n+1)
	buf := k.buf[:0]
	for i := 0; i < n; i++ {
		k.offs[i] = len(buf)
		for _, a := range arrs {
			buf = appendKeyValue(buf, a, i)
		}
	}
	k.offs[n] = len(buf)
	k.buf = buf
}

// key returns row i's key, in k's buffer.
func (k *rowKeys) key(i int) []byte {
	if k.width >= 0 {
		return k.buf[i*k.width : (i+1)*k.width]
	}
	return k.buf[k.offs[i]:k.offs[i+1]]
}

// Process returns the rows of rec (borrowed) whose key neither an earlier
// row of the batch nor the state holds, and remembers their keys: rec
// itself (retained) when every row is new, a filtered copy when some
// are, nil when none is. The result is owned by the caller. Rows behind
// the watermark are dropped as late.
func (d *Dedup) Process(ctx context.Context, rec arrow.RecordBatch) (arrow.RecordBatch, error) {
	n := int(rec.NumRows())
	if n == 0 {
		return nil, nil
	}
	if d.stores == nil {
		return nil, fmt.Errorf("incremental: %s: a record came before the batch began; call Pipeline.BeginBatch first", d.name)
	}
	t0 := time.Now()
	d.encode(rec)
	if d.eventCol >= 0 {
		d.ts, d.tsOK = timestampsMicros(rec.Column(d.eventCol), d.ts, d.tsOK)
	}
	d.keep = resize(d.keep, n)
	clear(d.keep)
	for p := range d.byPart {
		d.byPart[p] = d.byPart[p][:0]
	}
	wm := d.info.WatermarkMs * 1000
	anyLate := false
	for i := 0; i < n; i++ {
		if d.evicts && d.tsOK[i] && d.ts[i] <= wm {
			d.dropped++
			if d.late {
				if !anyLate {
					d.lateMask = resize(d.lateMask, n)
					clear(d.lateMask)
				}
				d.lateMask[i] = true
			}
			anyLate = true
			continue
		}
		p := state.PartitionOf(d.key(i), d.parts)
		d.byPart[p] = append(d.byPart[p], int32(i))
	}
	// Per partition, in row order: a key the batch has seen is a
	// duplicate; else the state decides, and a new key is stored.
	lookup := func(p int) error {
		st, seen := d.stores[p], &d.seen[p]
		var val [9]byte
		val[0] = dedupStateVersion
		for _, i := range d.byPart[p] {
			key := d.key(int(i))
			if !seen.add(key) {
				continue
			}
			if _, ok := st.Get(key); ok {
				continue
			}
			d.keep[i] = true
			if !d.evicts {
				st.Put(key, val[:1])
				continue
			}
			b := int64(math.MaxInt64)
			if d.tsOK[i] {
				b = d.ts[i] + d.delayUs
			}
			binary.LittleEndian.PutUint64(val[1:], uint64(b))
			st.Put(key, val[:])
			d.minEnd[p] = min(d.minEnd[p], b)
		}
		return nil
	}
	if n >= dedupParallelRows {
		_ = parallel(d.parts, lookup)
	} else {
		for p := range d.byPart {
			_ = lookup(p)
		}
	}
	kept := 0
	for _, k := range d.keep[:n] {
		if k {
			kept++
		}
	}
	d.updates += time.Since(t0)
	if anyLate && d.late {
		if err := d.keepLate(ctx, d.mem, rec, d.lateMask[:n]); err != nil {
			return nil, err
		}
	}
	switch kept {
	case 0:
		return nil, nil
	case n:
		rec.Retain()
		return rec, nil
	}
	bld := array.NewBooleanBuilder(d.mem)
	defer bld.Release()
	bld.AppendValues(d.keep[:n], nil)
	mask := bld.NewArray()
	defer mask.Release()
	out, err := compute.FilterRecordBatch(compute.WithAllocator(ctx, d.mem), rec, mask, compute.DefaultFilterOptions())
	if err != nil {
		return nil, fmt.Errorf("incremental: %s: taking the first rows of their keys: %w", d.name, err)
	}
	return out, nil
}

// end evicts the keys whose event-time bound the batch's watermark
// reached and commits every partition as version BatchID. It emits no
// rows: they came out of Process.
func (d *Dedup) end(ctx context.Context) (_ []arrow.RecordBatch, err error) {
	if d.stores == nil {
		return nil, fmt.Errorf("incremental: %s: the batch ended without beginning; call Pipeline.BeginBatch first", d.name)
	}
	defer func() {
		if err != nil {
			d.abortStores()
		}
	}()
	tr := time.Now()
	if d.evicts {
		wm := d.info.WatermarkMs * 1000
		err := parallel(d.parts, func(p int) error {
			if d.minEnd[p] > wm {
				return nil
			}
			st := d.stores[p]
			newMin := int64(math.MaxInt64)
			var berr error
			st.Iterate(func(k, v []byte) bool {
				b, err := dedupBound(v, st.ID())
				if err != nil {
					berr = err
					return false
				}
				if b <= wm {
					st.Delete(k)
				} else {
					newMin = min(newMin, b)
				}
				return true
			})
			if berr != nil {
				return berr
			}
			d.minEnd[p] = newMin
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("incremental: %s: evicting state: %w", d.name, err)
		}
	}
	m := StateOperatorMetrics{
		AllUpdatesTimeMs: d.updates.Milliseconds(), AllRemovalsTimeMs: time.Since(tr).Milliseconds(),
	}
	for p := range d.seen {
		m.MemoryUsedBytes += d.seen[p].memoryBytes()
	}
	if err := d.commitStores(ctx, m); err != nil {
		return nil, err
	}
	return nil, nil
}

// batchKeys is the set of keys one partition has seen in the batch. Keys
// of a fixed width live in an open-addressing table whose slots hold a
// tag (the hash with its low bit set; 0 is an empty slot) followed by the
// key's bytes packed in words, so a lookup touches one slot; keys of
// variable width use a Go map.
type batchKeys struct {
	width int // key bytes, or -1
	words int // words per slot: the tag and the key
	slots []uint64
	mask  uint64 // slots-1, in slot units
	n     int
	probe []uint64 // the key being looked up, packed
	vmap  map[string]struct{}
}

func newBatchKeys(width int) batchKeys {
	if width < 0 {
		return batchKeys{width: -1, vmap: map[string]struct{}{}}
	}
	b := batchKeys{width: width, words: 1 + (width+7)/8}
	b.probe = make([]uint64, b.words-1)
	b.grow(1024)
	return b
}

func (b *batchKeys) grow(nslots int) {
	old := b.slots
	b.slots = make([]uint64, nslots*b.words)
	b.mask = uint64(nslots - 1)
	w := b.words
	for s := 0; s < len(old); s += w {
		tag := old[s]
		if tag == 0 {
			continue
		}
		i := (tag >> 8) & b.mask
		for b.slots[int(i)*w] != 0 {
			i = (i + 1) & b.mask
		}
		copy(b.slots[int(i)*w:int(i)*w+w], old[s:s+w])
	}
}

// find returns the index of the empty slot for tag, or of the slot
// holding tag and the key in b.probe.
func (b *batchKeys) find(tag uint64) int {
	w := b.words
	for i := (tag >> 8) & b.mask; ; i = (i + 1) & b.mask {
		at := int(i) * w
		t := b.slots[at]
		if t == 0 {
			return at
		}
		if t == tag && b.sameKey(at+1) {
			return at
		}
	}
}

func (b *batchKeys) sameKey(at int) bool {
	for j, v := range b.probe {
		if b.slots[at+j] != v {
			return false
		}
	}
	return true
}

// add adds key and reports whether it was new.
func (b *batchKeys) add(key []byte) bool {
	if b.width < 0 {
		if _, ok := b.vmap[string(key)]; ok {
			return false
		}
		b.vmap[string(key)] = struct{}{}
		return true
	}
	k := key
	for j := range b.probe {
		if len(k) >= 8 {
			b.probe[j] = binary.LittleEndian.Uint64(k)
			k = k[8:]
			continue
		}
		var tail uint64
		for i, c := range k {
			tail |= uint64(c) << (8 * i)
		}
		b.probe[j], k = tail, nil
	}
	tag := hashKey(key) | 1
	at := b.find(tag)
	if b.slots[at] != 0 {
		return false
	}
	b.slots[at] = tag
	copy(b.slots[at+1:at+b.words], b.probe)
	b.n++
	if uint64(b.n)*2 > b.mask+1 {
		b.grow(2 * int(b.mask+1))
	}
	return true
}

// reset empties the set, keeping its memory.
func (b *batchKeys) reset() {
	if b.width < 0 {
		clear(b.vmap)
		return
	}
	if b.n > 0 {
		clear(b.slots)
		b.n = 0
	}
}

// memoryBytes estimates the set's memory.
func (b *batchKeys) memoryBytes() int64 {
	if b.width < 0 {
		var n int64
		for k := range b.vmap {
			n += int64(len(k)) + 48
		}
		return n
	}
	return int64(8 * cap(b.slots))
}
