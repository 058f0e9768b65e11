package state

import "unsafe"

// entryOverhead estimates the bytes each key costs beyond its key and
// value bytes: its map slot (a 16-byte string header and a 24-byte slice
// header), the map's control byte and spare slots, and the allocation's
// rounding. BenchmarkStatePutGet reports the measured figure.
const entryOverhead = 64

// kv is the working set of one partition: a map from key to one buffer
// holding the key bytes followed by the value bytes. The map's key string
// aliases the start of the buffer, so an entry is a single allocation, and
// a value that fits the buffer is overwritten in place without allocating.
// The key bytes of a buffer never change once it is in the map.
type kv struct {
	m map[string][]byte
	// bytes is the sum of the capacities of the entry buffers.
	bytes int64
}

func newKV(sizeHint int) *kv {
	return &kv{m: make(map[string][]byte, sizeHint)}
}

// newEntry returns a buffer holding key then value, and the key as a
// string aliasing it. The buffer's capacity is its allocation's size
// class, so small growths of the value fit in place.
func newEntry(key, value []byte) ([]byte, string) {
	buf := append([]byte(nil), make([]byte, len(key)+len(value))...)
	copy(buf, key)
	copy(buf[len(key):], value)
	return buf, unsafe.String(unsafe.SliceData(buf), len(key))
}

// keyOf returns the map key of buf, an entry buffer of a key of length n.
func keyOf(buf []byte, n int) string {
	return unsafe.String(unsafe.SliceData(buf), n)
}

func (d *kv) get(key []byte) ([]byte, bool) {
	buf, ok := d.m[string(key)]
	if !ok {
		return nil, false
	}
	return buf[len(key):len(buf):len(buf)], true
}

// set sets key to value. It returns the key as stored in the map, the
// entry buffer now holding it (key bytes then value bytes), and whether
// the key was present before.
func (d *kv) set(key, value []byte) (string, []byte, bool) {
	kl := len(key)
	if buf, ok := d.m[string(key)]; ok {
		ks := keyOf(buf, kl)
		if cap(buf)-kl >= len(value) {
			nb := buf[:kl+len(value)]
			copy(nb[kl:], value)
			if len(nb) != len(buf) {
				d.m[ks] = nb
			}
			return ks, nb, true
		}
		d.bytes -= int64(cap(buf))
		nb, nks := newEntry(key, value)
		d.m[nks] = nb
		d.bytes += int64(cap(nb))
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

// del removes key. It returns the key as it was stored and whether it
// was present.
func (d *kv) del(key []byte) (string, bool) {
	buf, ok := d.m[string(key)]
	if !ok {
		return "", false
	}
	ks := keyOf(buf, len(key))
	delete(d.m, ks)
	d.bytes -= int64(cap(buf))
	return ks, true
}

func (d *kv) iterate(fn func(key, value []byte) bool) {
	for k, buf := range d.m {
		if !fn(buf[:len(k):len(k)], buf[len(k):len(buf):len(buf)]) {
			return
		}
	}
}

func (d *kv) memoryBytes() int64 {
	return d.bytes + int64(len(d.m))*entryOverhead
}

// dirtySet is the keys changed since Open, in the order they were first
// changed, each with whether it was present at Open and its entry buffer
// now (or deleted), so that a commit encodes its delta from this
// list without looking each key up again in the working set.
type dirtySet struct {
	idx map[string]int32
	log []change
}

func newDirtySet() *dirtySet { return &dirtySet{idx: make(map[string]int32)} }

// mark records that ks now has entry buffer buf, or was deleted; existed
// says whether it was present before this change, which matters only for
// its first change since Open. (An empty key with an empty value has an
// empty buffer, so deletion is a flag of its own.)
func (d *dirtySet) mark(ks string, buf []byte, deleted, existed bool) {
	if i, ok := d.idx[ks]; ok {
		d.log[i].buf, d.log[i].deleted = buf, deleted
		return
	}
	d.idx[ks] = int32(len(d.log))
	d.log = append(d.log, change{key: ks, buf: buf, deleted: deleted, existed: existed})
}

func (d *dirtySet) len() int { return len(d.log) }

// reset empties the set for the next version, keeping its memory unless
// it grew past maxReusedDirty keys.
func (d *dirtySet) reset() {
	if len(d.log) > maxReusedDirty {
		d.idx, d.log = make(map[string]int32), nil
		return
	}
	clear(d.idx)
	clear(d.log)
	d.log = d.log[:0]
}
