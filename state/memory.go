package state

import (
	"context"
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
	// dirty maps each key changed since Open to whether it was present
	// at Open. It is kept between versions to reuse its memory.
	dirty map[string]bool
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
		part.dirty = make(map[string]bool)
	}
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
	dirty   map[string]bool
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
	ks, existed := s.data.set(key, value)
	if _, seen := s.dirty[ks]; !seen {
		s.dirty[ks] = existed
	}
}

func (s *memStore) Delete(key []byte) {
	s.mustBeOpen("Delete")
	ks, existed := s.data.del(key)
	if !existed {
		return
	}
	if _, seen := s.dirty[ks]; !seen {
		s.dirty[ks] = true
	}
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
	return s.data.memoryBytes() + int64(len(s.dirty))*dirtyOverhead
}

// maxReusedDirty is the largest set of changed keys whose map is kept for
// the next version.
const maxReusedDirty = 4096

// dirtyOverhead estimates the bytes of one entry of the dirty set.
const dirtyOverhead = 32

func (s *memStore) Metrics() Metrics {
	if s.state != storeOpen {
		return s.metrics
	}
	m := Metrics{NumRowsTotal: int64(len(s.data.m)), MemoryUsedBytes: s.MemoryBytes()}
	for k, existed := range s.dirty {
		if _, ok := s.data.m[k]; ok {
			m.NumRowsUpdated++
		} else if existed {
			m.NumRowsRemoved++
		}
	}
	return m
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
	if len(s.dirty) <= maxReusedDirty {
		clear(s.dirty)
	} else {
		// A cleared map keeps its size: do not hold memory for every
		// key of an unusually large version.
		s.part.dirty = nil
	}
	s.part.mu.Unlock()
	s.version, s.metrics, s.state = next, metrics, storeCommitted
	s.data = nil
	return next, nil
}

// change is one record of a delta: a key and its entry buffer, or a
// tombstone.
type change struct {
	key       string
	buf       []byte
	tombstone bool
}

// encodeDelta encodes the changes since Open, keys in byte order, and
// returns the delta with the version's metrics.
func (s *memStore) encodeDelta(codec Compression, version int64) ([]byte, Metrics) {
	m := Metrics{NumRowsTotal: int64(len(s.data.m)), MemoryUsedBytes: s.MemoryBytes()}
	changes := make([]change, 0, len(s.dirty))
	size := 0
	for k, existed := range s.dirty {
		buf, ok := s.data.m[k]
		switch {
		case ok:
			m.NumRowsUpdated++
			size += len(buf) + 3
		case existed:
			m.NumRowsRemoved++
			size += len(k) + 2
		default:
			continue
		}
		changes = append(changes, change{key: k, buf: buf, tombstone: !ok})
	}
	slices.SortFunc(changes, func(a, b change) int { return strings.Compare(a.key, b.key) })
	enc := newEncoder(kindDelta, codec, version, size)
	for _, c := range changes {
		if c.tombstone {
			enc.tombstone(unsafe.Slice(unsafe.StringData(c.key), len(c.key)))
		} else {
			enc.put(c.buf[:len(c.key)], c.buf[len(c.key):])
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
	slices.Sort(keys)
	enc := newEncoder(kindSnapshot, codec, version, int(s.data.bytes)+len(keys)*4)
	for _, k := range keys {
		buf := s.data.m[k]
		enc.put(buf[:len(k)], buf[len(k):])
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
	if len(s.dirty) > 0 || s.wrote || closed {
		// The working set holds the aborted changes, and objects of the
		// next version may exist: rebuild from the checkpoint at the
		// next Open.
		s.part.data, s.part.dirty, s.part.orphans = nil, nil, nil
	}
	s.part.open = false
	s.part.mu.Unlock()
	s.state, s.data, s.dirty = storeAborted, nil, nil
}
