package state

import (
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
	"unsafe"

	"github.com/sluicehq/sluice/objstore"
)

// MemoryProvider is the default Provider: it keeps the working set of each
// partition in memory and writes every version to the checkpoint as a
// delta object, plus a snapshot every few versions.
//
// Open of a partition whose working set is at the requested version (the
// common case: batch N opens the version batch N-1 committed) costs
// nothing. Otherwise, after a restart, an Abort with changes, a failed
// Commit, or a re-run of a batch whose version was already written, Open
// rebuilds the version from the newest snapshot at or below it and the
// deltas after that snapshot.
type MemoryProvider struct {
	checkpoint objstore.Store
	opts       options

	mu     sync.Mutex
	closed bool
	parts  map[StoreID]*partition
}

// partition is the working set of one StoreID.
type partition struct {
	mu sync.Mutex
	// data is the working set at version; nil when not loaded.
	data    *kv
	version int64
	// dirty is the keys changed since Open. It is kept between versions
	// to reuse its memory; gen counts the Opens, stamping the change
	// marks of each.
	dirty *dirtySet
	gen   uint32
	// orphans are objects above version found when data was loaded: the
	// next Commit replaces or deletes them.
	orphans []object
	// open reports whether a Store holds the partition.
	open bool
}

var (
	_ Provider = (*MemoryProvider)(nil)
	_ Store    = (*memStore)(nil)
)

// NewMemoryProvider returns a MemoryProvider writing state objects into
// checkpoint, the query's checkpoint store (objects go under "state/").
func NewMemoryProvider(checkpoint objstore.Store, opts ...Option) (*MemoryProvider, error) {
	if checkpoint == nil {
		return nil, errors.New("state: NewMemoryProvider: nil checkpoint store")
	}
	o := defaultOptions()
	for _, opt := range opts {
		opt(&o)
	}
	if err := o.validate(); err != nil {
		return nil, err
	}
	return &MemoryProvider{checkpoint: checkpoint, opts: o, parts: make(map[StoreID]*partition)}, nil
}

// Open returns the state of id at version. See Provider.Open.
func (p *MemoryProvider) Open(ctx context.Context, id StoreID, version int64) (Store, error) {
	if err := id.validate(); err != nil {
		return nil, err
	}
	if version < EmptyVersion {
		return nil, fmt.Errorf("state: Open of %s at version %d: versions start at %d (EmptyVersion, the state before the first commit)", id, version, EmptyVersion)
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, fmt.Errorf("state: Open of %s: the provider is closed", id)
	}
	part := p.parts[id]
	if part == nil {
		part = &partition{}
		p.parts[id] = part
	}
	p.mu.Unlock()

	part.mu.Lock()
	defer part.mu.Unlock()
	if p.isClosed() {
		return nil, fmt.Errorf("state: Open of %s: the provider is closed", id)
	}
	if part.open {
		return nil, fmt.Errorf("state: Open of %s at version %d: the partition is already open: commit or abort the open store first", id, version)
	}
	if part.data == nil || part.version != version {
		part.data, part.orphans = nil, nil
		objs, err := listObjects(ctx, p.checkpoint, id)
		if err != nil {
			return nil, err
		}
		plan, err := planRecovery(p.checkpoint, id, objs, version)
		if err != nil {
			return nil, err
		}
		data, err := load(ctx, p.checkpoint, plan)
		if err != nil {
			return nil, err
		}
		part.data, part.version, part.orphans = data, version, plan.orphans
	}
	if part.dirty == nil {
		part.dirty = &dirtySet{}
	}
	if part.gen++; part.gen == 0 {
		part.gen = 1
	}
	part.dirty.begin(part.gen)
	part.open = true
	return &memStore{prov: p, part: part, id: id, version: version, data: part.data, dirty: part.dirty}, nil
}

// Purge deletes the objects of id that recovery of versions at or above
// minVersionToRetain does not need: with S the newest snapshot at or below
// minVersionToRetain, the snapshots before S and the deltas up to and
// including S's version. Without such a snapshot nothing is deleted.
// Objects are deleted oldest first.
func (p *MemoryProvider) Purge(ctx context.Context, id StoreID, minVersionToRetain int64) error {
	if err := id.validate(); err != nil {
		return err
	}
	p.mu.Lock()
	closed := p.closed
	p.mu.Unlock()
	if closed {
		return fmt.Errorf("state: Purge of %s: the provider is closed", id)
	}
	return purge(ctx, p.checkpoint, id, minVersionToRetain)
}

// Close drops every working set that no Store holds. Stores still open can
// be aborted; their Commit fails. Close never fails and may be called more
// than once.
func (p *MemoryProvider) Close() error {
	p.mu.Lock()
	parts := p.parts
	p.closed, p.parts = true, nil
	p.mu.Unlock()
	for _, part := range parts {
		part.mu.Lock()
		if !part.open {
			part.data, part.dirty, part.orphans = nil, nil, nil
		}
		part.mu.Unlock()
	}
	return nil
}

func (p *MemoryProvider) isClosed() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.closed
}

// Store states.
const (
	storeOpen = iota
	storeCommitted
	storeAborted
)

// memStore is a Store of a MemoryProvider. While open it owns its
// partition's working set.
type memStore struct {
	prov    *MemoryProvider
	part    *partition
	id      StoreID
	version int64
	data    *kv
	dirty   *dirtySet
	state   int
	// wrote reports that a Commit attempt may have written objects.
	wrote   bool
	metrics Metrics
}

func (s *memStore) ID() StoreID    { return s.id }
func (s *memStore) Version() int64 { return s.version }

func (s *memStore) mustBeOpen(method string) {
	switch s.state {
	case storeCommitted:
		panic(fmt.Sprintf("state: %s on %s after Commit: open the next version to read or change it", method, s.id))
	case storeAborted:
		panic(fmt.Sprintf("state: %s on %s after Abort: open it again to read or change it", method, s.id))
	}
}

func (s *memStore) Get(key []byte) ([]byte, bool) {
	s.mustBeOpen("Get")
	return s.data.get(key)
}

func (s *memStore) Put(key, value []byte) {
	s.mustBeOpen("Put")
	ks, buf, existed := s.data.set(key, value)
	s.dirty.put(ks, buf, existed)
}

func (s *memStore) Delete(key []byte) {
	s.mustBeOpen("Delete")
	ks, buf, existed := s.data.del(key)
	if !existed {
		return
	}
	s.dirty.del(ks, buf)
}

func (s *memStore) Iterate(fn func(key, value []byte) bool) {
	s.mustBeOpen("Iterate")
	s.data.iterate(fn)
}

func (s *memStore) Len() int {
	if s.state != storeOpen {
		return int(s.metrics.NumRowsTotal)
	}
	return len(s.data.m)
}

func (s *memStore) MemoryBytes() int64 {
	if s.state != storeOpen {
		return s.metrics.MemoryUsedBytes
	}
	return s.data.memoryBytes() + int64(s.dirty.len())*dirtyOverhead
}

// maxReusedDirty is the largest set of changed keys whose map is kept for
// the next version.
const maxReusedDirty = 4096

// dirtyOverhead estimates the bytes of one entry of the dirty set: its
// map slot and its log entry.
const dirtyOverhead = 64

func (s *memStore) Metrics() Metrics {
	if s.state != storeOpen {
		return s.metrics
	}
	m := Metrics{NumRowsTotal: int64(len(s.data.m)), MemoryUsedBytes: s.MemoryBytes()}
	for _, c := range s.changes() {
		if !c.deleted {
			m.NumRowsUpdated++
		} else if c.existed {
			m.NumRowsRemoved++
		}
	}
	return m
}

// changes returns the version's changes, each key once: the log itself,
// or, when a deleted key may have been put again, the log with each such
// key's entries folded into one (presence at Open from its first entry,
// its state now from its last). Keys added and deleted since Open are
// included, marked deleted and not existed.
func (s *memStore) changes() []change {
	log := s.dirty.log
	if !s.dirty.reinserted {
		return log
	}
	first := make(map[string]int, len(log))
	out := make([]change, 0, len(log))
	for _, c := range log {
		if i, ok := first[c.key]; ok {
			out[i].buf, out[i].deleted = c.buf, c.deleted
			continue
		}
		first[c.key] = len(out)
		out = append(out, c)
	}
	return out
}

// snapshotDue reports whether version gets a snapshot.
func (o options) snapshotDue(version int64) bool {
	return version > 0 && version%int64(o.snapshotInterval) == 0
}

func (s *memStore) Commit(ctx context.Context) (int64, error) {
	switch s.state {
	case storeCommitted:
		return 0, fmt.Errorf("state: Commit of %s: version %d is already committed", s.id, s.version)
	case storeAborted:
		return 0, fmt.Errorf("state: Commit of %s: the store was aborted", s.id)
	}
	if s.prov.isClosed() {
		return 0, fmt.Errorf("state: Commit of %s: the provider is closed: abort the store", s.id)
	}
	start := time.Now()
	ckpt, opts := s.prov.checkpoint, s.prov.opts
	next := s.version + 1
	deltaName := DeltaName(s.id, next)
	snapshot := opts.snapshotDue(next)
	snapshotName := SnapshotName(s.id, next)
	s.wrote = true

	// Objects above the opened version belong to batches that were never
	// committed. Those this commit does not overwrite must go, so that a
	// stale snapshot of version next, or any later object, is never read.
	s.part.mu.Lock()
	orphans := s.part.orphans
	s.part.mu.Unlock()
	for _, o := range orphans {
		if o.name == deltaName || (snapshot && o.name == snapshotName) {
			continue
		}
		if err := ckpt.Delete(ctx, o.name); err != nil {
			return 0, fmt.Errorf("state: Commit of %s version %d: deleting %s, left by a batch that was never committed, from %s: %w",
				s.id, next, o.name, objstore.Location(ckpt), err)
		}
	}

	delta, metrics := s.encodeDelta(opts.compression, next)
	if err := ckpt.Put(ctx, deltaName, delta); err != nil {
		return 0, fmt.Errorf("state: Commit of %s version %d: writing %s to %s: %w", s.id, next, deltaName, objstore.Location(ckpt), err)
	}
	metrics.BytesWritten = int64(len(delta))
	if snapshot {
		snap := s.encodeSnapshot(opts.compression, next)
		if err := ckpt.Put(ctx, snapshotName, snap); err != nil {
			return 0, fmt.Errorf("state: Commit of %s version %d: writing %s to %s: %w", s.id, next, snapshotName, objstore.Location(ckpt), err)
		}
		metrics.BytesWritten += int64(len(snap))
		metrics.SnapshotWritten = true
	}
	metrics.CommitDuration = time.Since(start)

	s.part.mu.Lock()
	s.part.version = next
	s.part.orphans = nil
	s.part.open = false
	// The log lets go of the entries it holds (deleted ones included).
	s.dirty.begin(s.dirty.gen)
	s.part.mu.Unlock()
	s.version, s.metrics, s.state = next, metrics, storeCommitted
	s.data = nil
	return next, nil
}

// change is one key of a delta: the key, its entry buffer or that it was
// deleted, and whether it was present when the store was opened (a key
// added and deleted since is left out of the delta).
type change struct {
	key     string
	buf     []byte
	deleted bool
	existed bool
}

// encodeDelta encodes the changes since Open, keys in byte order, and
// returns the delta with the version's metrics.
func (s *memStore) encodeDelta(codec Compression, version int64) ([]byte, Metrics) {
	m := Metrics{NumRowsTotal: int64(len(s.data.m)), MemoryUsedBytes: s.MemoryBytes()}
	changes := s.changes()
	kept := make([]int32, 0, len(changes))
	size := 0
	for i, c := range changes {
		switch {
		case !c.deleted:
			m.NumRowsUpdated++
			size += len(c.buf) + 3
		case c.existed:
			m.NumRowsRemoved++
			size += len(c.key) + 2
		default:
			continue
		}
		kept = append(kept, int32(i))
	}
	order := byteOrder(len(kept), func(i int) string { return changes[kept[i]].key })
	enc := newEncoder(kindDelta, codec, version, size)
	for _, i := range order {
		c := changes[kept[i]]
		if c.deleted {
			enc.tombstone(unsafe.Slice(unsafe.StringData(c.key), len(c.key)))
		} else {
			enc.put(entryKey(c.buf, len(c.key)), entryValue(c.buf, len(c.key)))
		}
	}
	return enc.finish(), m
}

// encodeSnapshot encodes the whole working set, keys in byte order.
func (s *memStore) encodeSnapshot(codec Compression, version int64) []byte {
	keys := make([]string, 0, len(s.data.m))
	for k := range s.data.m {
		keys = append(keys, k)
	}
	order := byteOrder(len(keys), func(i int) string { return keys[i] })
	enc := newEncoder(kindSnapshot, codec, version, int(s.data.bytes)+len(keys)*4)
	for _, i := range order {
		k := keys[i]
		buf := s.data.m[k]
		enc.put(entryKey(buf, len(k)), entryValue(buf, len(k)))
	}
	return enc.finish()
}

func (s *memStore) Abort() {
	if s.state != storeOpen {
		return
	}
	s.metrics = s.Metrics()
	closed := s.prov.isClosed()
	s.part.mu.Lock()
	if s.dirty.len() > 0 || s.wrote || closed {
		// The working set holds the aborted changes, and objects of the
		// next version may exist: rebuild from the checkpoint at the
		// next Open.
		s.part.data, s.part.dirty, s.part.orphans = nil, nil, nil
	}
	s.part.open = false
	s.part.mu.Unlock()
	s.state, s.data, s.dirty = storeAborted, nil, nil
}

// sortEntry is one key in byteOrder's sort: its first 16 bytes as two
// big-endian words (zero-padded), which order as the bytes do, and its
// index.
type sortEntry struct {
	w0, w1 uint64
	i      int32
}

// byteOrder returns the indices 0..n-1 ordered by the byte order of
// key(i). Keys are compared by their first 16 bytes as two integers, and
// in full only when those are equal, so the sort mostly compares words
// rather than calling a string comparison.
func byteOrder(n int, key func(i int) string) []int32 {
	es := make([]sortEntry, n)
	for i := range es {
		k := key(i)
		es[i] = sortEntry{w0: prefixWord(k), i: int32(i)}
		if len(k) > 8 {
			es[i].w1 = prefixWord(k[8:])
		}
	}
	slices.SortFunc(es, func(a, b sortEntry) int {
		if a.w0 != b.w0 {
			return cmp.Compare(a.w0, b.w0)
		}
		if a.w1 != b.w1 {
			return cmp.Compare(a.w1, b.w1)
		}
		return strings.Compare(key(int(a.i)), key(int(b.i)))
	})
	order := make([]int32, n)
	for j, e := range es {
		order[j] = e.i
	}
	return order
}

// prefixWord is the first 8 bytes of s as a big-endian integer, padded
// with zero bytes when s is shorter: two keys whose words differ order as
// their bytes do.
func prefixWord(s string) uint64 {
	if len(s) >= 8 {
		return binary.BigEndian.Uint64(unsafe.Slice(unsafe.StringData(s), 8))
	}
	var buf [8]byte
	copy(buf[:], s)
	return binary.BigEndian.Uint64(buf[:])
}
