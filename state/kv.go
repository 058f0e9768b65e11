package state

import (
	"encoding/binary"
	"unsafe"
)

// entryOverhead estimates the bytes each key costs beyond its key and
// value bytes: its map slot (a 16-byte string header and a 24-byte slice
// header), the map's control byte and spare slots, the entry's 8-byte
// change mark and the allocation's rounding. BenchmarkStatePutGet reports
// the measured figure.
const entryOverhead = 72

// markLen is the size of the change mark at the start of every entry
// buffer (see dirtySet).
const markLen = 8

// kv is the working set of one partition: a map from key to one buffer
// holding a change mark, the key bytes and the value bytes. The map's key
// string aliases the key bytes of the buffer, so an entry is a single
// allocation, and a value that fits the buffer is overwritten in place
// without allocating. The key bytes of a buffer never change once it is
// in the map.
type kv struct {
	m map[string][]byte
	// bytes is the sum of the capacities of the entry buffers.
	bytes int64
	// last is the key get found last and lastBuf its entry buffer, as the
	// map holds it: a set of that key (an operator reads a key, merges
	// and writes it back) then needs no second lookup. Every change to
	// the map keeps them true or clears them.
	last    string
	lastBuf []byte
}

func newKV(sizeHint int) *kv {
	return &kv{m: make(map[string][]byte, sizeHint)}
}

// newEntry returns a buffer holding a zero change mark, key, then value,
// and the key as a string aliasing it. The buffer's capacity is its
// allocation's size class, so small growths of the value fit in place.
func newEntry(key, value []byte) ([]byte, string) {
	buf := append([]byte(nil), make([]byte, markLen+len(key)+len(value))...)
	copy(buf[markLen:], key)
	copy(buf[markLen+len(key):], value)
	return buf, keyOf(buf, len(key))
}

// keyOf returns the map key of buf, an entry buffer of a key of length n.
func keyOf(buf []byte, n int) string {
	return unsafe.String(unsafe.SliceData(buf[markLen:]), n)
}

// entryKey and entryValue are the key and value bytes of entry buffer
// buf whose key has length n.
func entryKey(buf []byte, n int) []byte   { return buf[markLen : markLen+n : markLen+n] }
func entryValue(buf []byte, n int) []byte { return buf[markLen+n : len(buf) : len(buf)] }

func (d *kv) get(key []byte) ([]byte, bool) {
	buf, ok := d.m[string(key)]
	if !ok {
		return nil, false
	}
	d.last, d.lastBuf = keyOf(buf, len(key)), buf
	return entryValue(buf, len(key)), true
}

// lookup finds key's entry buffer, from the last get when it was this
// key.
func (d *kv) lookup(key []byte) ([]byte, bool) {
	if d.lastBuf != nil && d.last == string(key) {
		return d.lastBuf, true
	}
	buf, ok := d.m[string(key)]
	return buf, ok
}

// set sets key to value. It returns the key as stored in the map, the
// entry buffer now holding it (its change mark carried over from the one
// it replaces), and whether the key was present before.
func (d *kv) set(key, value []byte) (string, []byte, bool) {
	kl := len(key)
	if buf, ok := d.lookup(key); ok {
		ks := keyOf(buf, kl)
		if cap(buf)-markLen-kl >= len(value) {
			nb := buf[:markLen+kl+len(value)]
			copy(nb[markLen+kl:], value)
			if len(nb) != len(buf) {
				d.m[ks] = nb
			}
			d.last, d.lastBuf = ks, nb
			return ks, nb, true
		}
		d.bytes -= int64(cap(buf))
		nb, nks := newEntry(key, value)
		copy(nb[:markLen], buf[:markLen])
		d.m[nks] = nb
		d.bytes += int64(cap(nb))
		d.last, d.lastBuf = nks, nb
		return nks, nb, true
	}
	nb, ks := newEntry(key, value)
	d.m[ks] = nb
	d.bytes += int64(cap(nb))
	return ks, nb, false
}

// insert adds key with value and reports false, changing nothing, if key
// is already present.
func (d *kv) insert(key, value []byte) bool {
	if _, ok := d.m[string(key)]; ok {
		return false
	}
	nb, ks := newEntry(key, value)
	d.m[ks] = nb
	d.bytes += int64(cap(nb))
	return true
}

// del removes key. It returns the key as it was stored, its entry buffer
// and whether it was present.
func (d *kv) del(key []byte) (string, []byte, bool) {
	buf, ok := d.m[string(key)]
	if !ok {
		return "", nil, false
	}
	ks := keyOf(buf, len(key))
	delete(d.m, ks)
	d.bytes -= int64(cap(buf))
	if d.lastBuf != nil && d.last == ks {
		d.last, d.lastBuf = "", nil
	}
	return ks, buf, true
}

func (d *kv) iterate(fn func(key, value []byte) bool) {
	for k, buf := range d.m {
		if !fn(entryKey(buf, len(k)), entryValue(buf, len(k))) {
			return
		}
	}
}

func (d *kv) memoryBytes() int64 {
	return d.bytes + int64(len(d.m))*entryOverhead
}

// dirtySet is the keys changed since Open, in the order they were first
// changed, each with whether it was present at Open and its entry buffer
// now (or that it was deleted), so that a commit encodes its delta from
// this log without looking each key up again in the working set.
//
// A key's place in the log is kept in its entry's change mark: the
// generation of the Open that changed it (high 32 bits) and its log index
// plus one (low 32 bits). A change to a key whose mark has the current
// generation updates its log entry; any other change appends one. So a
// Put or Delete costs no lookup beyond the working set's own. A key that
// is deleted and then put again within one version gets a new entry
// without a mark, and so a second log entry; the commit keeps the last
// (reinserted says this may have happened).
type dirtySet struct {
	gen uint32
	log []change
	// deletes counts the deletions in the log, and reinserted reports a
	// Put of an absent key after some deletion: only then can a key
	// appear twice in the log.
	deletes    int
	reinserted bool
}

// begin starts the log of a newly opened version. gen distinguishes this
// Open's marks from any earlier one's.
func (d *dirtySet) begin(gen uint32) {
	d.gen = gen
	if len(d.log) > maxReusedDirty {
		d.log = nil // do not hold memory for an unusually large version
	}
	clear(d.log)
	d.log = d.log[:0]
	d.deletes, d.reinserted = 0, false
}

// put records that ks now has entry buffer buf; existed says whether it
// was present before.
func (d *dirtySet) put(ks string, buf []byte, existed bool) {
	if i, ok := d.index(buf); ok {
		d.log[i].buf, d.log[i].deleted = buf, false
		return
	}
	if !existed && d.deletes > 0 {
		d.reinserted = true
	}
	d.append(buf, change{key: ks, buf: buf, existed: existed})
}

// del records that ks, whose entry buffer was buf, was deleted.
func (d *dirtySet) del(ks string, buf []byte) {
	d.deletes++
	if i, ok := d.index(buf); ok {
		d.log[i].buf, d.log[i].deleted = nil, true
		return
	}
	d.append(buf, change{key: ks, deleted: true, existed: true})
}

// index reads buf's change mark: its log index if it was changed since
// this Open.
func (d *dirtySet) index(buf []byte) (int, bool) {
	m := binary.LittleEndian.Uint64(buf)
	if uint32(m>>32) != d.gen || uint32(m) == 0 {
		return 0, false
	}
	return int(uint32(m)) - 1, true
}

// append adds c to the log and marks buf with its index.
func (d *dirtySet) append(buf []byte, c change) {
	d.log = append(d.log, c)
	binary.LittleEndian.PutUint64(buf, uint64(d.gen)<<32|uint64(len(d.log)))
}

func (d *dirtySet) len() int { return len(d.log) }
