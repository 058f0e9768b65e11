package stateful

import (
	"cmp"
	"container/heap"
	"encoding/binary"
	"fmt"
	"slices"
	"time"
)

// Handle is a processor's access to its state and timers. In Init it
// declares state variables (Value, List, Map); in the Handle* calls it is
// set to the key being handled, and state variables and timers read and
// change that key's state. A misuse (state used outside a key's call, a
// value that does not decode) fails the batch with an error when the
// call returns.
type Handle struct {
	r       *Runner
	p       *Partition
	init    bool
	hasKey  bool
	key     Key
	prefix  []byte // uvarint(len(group key)) group key
	nowMs   int64
	wmMs    int64
	kbuf    []byte
	vbuf    []byte
	slots   []slot
	touched []int
	timers  timerCache
	err     error
}

// CurrentProcessingTimeMs is the batch's processing time in milliseconds
// since the Unix epoch (the time the offsets log records for it, so a
// re-run batch sees the same).
func (h *Handle) CurrentProcessingTimeMs() int64 { return h.nowMs }

// CurrentWatermarkMs is the batch's event-time watermark in milliseconds
// since the Unix epoch (0 before any watermark).
func (h *Handle) CurrentWatermarkMs() int64 { return h.wmMs }

// TimeMode is the query's time mode.
func (h *Handle) TimeMode() TimeMode { return h.r.cfg.Mode }

// Key is the key being handled.
func (h *Handle) Key() Key { return h.key }

// RegisterTimer sets a timer for the key at ms (milliseconds since the
// Unix epoch, in the query's time mode); registering it twice keeps one.
// A timer already due when registered during HandleInputRows or
// HandleInitialState fires in the same batch; one registered during
// HandleExpiredTimer fires in the next.
func (h *Handle) RegisterTimer(ms int64) {
	if !h.useKey("RegisterTimer") {
		return
	}
	t := &h.timers
	t.load(h)
	i, found := slices.BinarySearch(t.ms, ms)
	if found {
		return
	}
	t.ms = slices.Insert(t.ms, i, ms)
	t.dirty = true
	heap.Push(&h.p.timers, timerEnt{ms: ms, key: string(h.key.enc)})
}

// DeleteTimer removes the key's timer at ms, if there is one.
func (h *Handle) DeleteTimer(ms int64) {
	if !h.useKey("DeleteTimer") {
		return
	}
	t := &h.timers
	t.load(h)
	if i, found := slices.BinarySearch(t.ms, ms); found {
		t.ms = slices.Delete(t.ms, i, i+1)
		t.dirty = true
	}
}

// ListTimers returns the key's timers in ascending order (a new slice).
func (h *Handle) ListTimers() []int64 {
	if !h.useKey("ListTimers") {
		return nil
	}
	h.timers.load(h)
	return slices.Clone(h.timers.ms)
}

func (h *Handle) setErr(err error) {
	if h.err == nil {
		h.err = err
	}
}

// setKey points the handle at key; the key's cached state starts empty.
func (h *Handle) setKey(key Key) {
	h.key, h.hasKey = key, true
	h.prefix = binary.AppendUvarint(h.prefix[:0], uint64(len(key.enc)))
	h.prefix = append(h.prefix, key.enc...)
	h.timers.reset()
}

// useKey reports whether the handle is set to a key (recording an error
// if not) and has no error.
func (h *Handle) useKey(op string) bool {
	if h.err != nil {
		return false
	}
	if !h.hasKey {
		h.setErr(fmt.Errorf("stateful: %s called outside HandleInputRows, HandleExpiredTimer and HandleInitialState: state and timers belong to the key being handled", op))
		return false
	}
	return true
}

// use is useKey for a state variable, which must be of this query.
func (h *Handle) use(d *stateDesc, op string) bool {
	if h == nil {
		panic(fmt.Sprintf("stateful: %s of state %q with a nil handle; pass the handle the call was given", op, d.name))
	}
	if !h.useKey(op) {
		return false
	}
	if d.id < 0 || d.id >= len(h.r.states) || h.r.states[d.id] != d {
		h.setErr(fmt.Errorf("stateful: %s: state %q was not declared by this query's Init", op, d.name))
		return false
	}
	return true
}

func (h *Handle) storeKey(tag byte, name string) []byte {
	h.kbuf = append(append(append(h.kbuf[:0], h.prefix...), tag), name...)
	return h.kbuf
}

// flush writes the key's changed lists, maps and timers.
func (h *Handle) flush() error {
	for _, id := range h.touched {
		h.slots[id].flush(h)
		h.slots[id].reset()
	}
	h.touched = h.touched[:0]
	t := &h.timers
	if t.dirty {
		k := h.storeKey(tagTimers, "")
		if len(t.ms) == 0 {
			h.p.kv.Delete(k)
		} else {
			h.vbuf = encodeTimers(h.vbuf[:0], t.ms)
			h.p.kv.Put(k, h.vbuf)
		}
		h.p.live += len(t.ms) - t.orig
	}
	t.reset()
	h.hasKey = false
	return h.err
}

// putHeader starts a value: format, flags and the earliest expiry.
func putHeader(dst []byte, ttl bool, exp int64) []byte {
	if !ttl {
		return append(dst, formatV1, 0)
	}
	return binary.LittleEndian.AppendUint64(append(dst, formatV1, flagTTL), uint64(exp))
}

// payload returns what follows a value's header.
func payload(v []byte) ([]byte, bool, error) {
	_, has, err := header(v)
	if err != nil {
		return nil, false, err
	}
	if has {
		return v[10:], true, nil
	}
	return v[2:], false, nil
}

// slot is the cached state of one list or map for the key being handled.
type slot interface {
	flush(h *Handle)
	reset()
}

type timerCache struct {
	loaded, dirty bool
	ms            []int64
	orig          int
}

func (t *timerCache) reset() {
	t.loaded, t.dirty, t.ms, t.orig = false, false, t.ms[:0], 0
}

func (t *timerCache) load(h *Handle) {
	if t.loaded {
		return
	}
	t.loaded = true
	t.ms = t.ms[:0]
	if v, ok := h.p.kv.Get(h.storeKey(tagTimers, "")); ok {
		var err error
		if t.ms, err = decodeTimers(v, t.ms); err != nil {
			h.setErr(fmt.Errorf("stateful: timers: %w", err))
		}
	}
	t.orig = len(t.ms)
}

// StateOption configures a state variable.
type StateOption func(*stateOpts)

type stateOpts struct{ ttl time.Duration }

// WithTTL makes a state variable's entries expire d after their last
// update, in processing time (the batches' processing times), as Spark's
// TTL config: a value d after it was last set, a list element or map
// entry d after it was appended or put. Expired entries read as absent
// and are deleted at the end of the batch in which they expire. d must be
// at least a millisecond.
func WithTTL(d time.Duration) StateOption { return func(o *stateOpts) { o.ttl = d } }

func ttlOf(h *Handle, what, name string, opts []StateOption) int64 {
	var o stateOpts
	for _, f := range opts {
		f(&o)
	}
	if o.ttl == 0 {
		return 0
	}
	if o.ttl < time.Millisecond {
		if h != nil {
			h.setErr(fmt.Errorf("stateful: %s(%q): WithTTL(%s): the TTL must be at least a millisecond", what, name, o.ttl))
		}
		return 0
	}
	return o.ttl.Milliseconds()
}

// ValueState is one value of type T per key.
type ValueState[T any] struct {
	d *stateDesc
	c codec[T]
}

// Value declares a state variable holding one T per key, named name in
// the state store. Call it in Init and keep the result. T is any type
// with a state encoding: booleans, integers, floats, strings, []byte,
// time.Time, and pointers, slices, maps and structs of those.
func Value[T any](h *Handle, name string, opts ...StateOption) *ValueState[T] {
	c, err := codecOf[T]()
	s := &ValueState[T]{c: c}
	if h == nil || h.r == nil {
		panic(fmt.Sprintf("stateful: Value(%q): the handle is nil; declare state in Init with the handle Init is given", name))
	}
	if err != nil {
		h.setErr(fmt.Errorf("stateful: Value(%q): %w", name, err))
	}
	s.d = h.r.declare(h, "Value", name, tagValue, "Value["+c.desc+"]", ttlOf(h, "Value", name, opts))
	return s
}

// Get returns the key's value and whether it has one (an expired value
// has none).
func (s *ValueState[T]) Get(h *Handle) (T, bool) {
	var v T
	if !h.use(s.d, "ValueState.Get") {
		return v, false
	}
	raw, ok := h.p.kv.Get(h.storeKey(tagValue, s.d.name))
	if !ok {
		return v, false
	}
	exp, has, err := header(raw)
	if err != nil {
		h.setErr(fmt.Errorf("stateful: ValueState %q: %w", s.d.name, err))
		return v, false
	}
	if has && exp <= h.nowMs {
		return v, false
	}
	p := raw[2:]
	if has {
		p = raw[10:]
	}
	rest, err := s.c.dec(p, &v)
	if err == nil && len(rest) != 0 {
		err = fmt.Errorf("%d bytes left over", len(rest))
	}
	if err != nil {
		h.setErr(fmt.Errorf("stateful: ValueState %q: decoding a %s: %v; the state was written with another type", s.d.name, s.c.desc, err))
		var zero T
		return zero, false
	}
	return v, true
}

// Exists reports whether the key has a value.
func (s *ValueState[T]) Exists(h *Handle) bool {
	_, ok := s.Get(h)
	return ok
}

// Update sets the key's value (and, with a TTL, its expiry).
func (s *ValueState[T]) Update(h *Handle, v T) {
	if !h.use(s.d, "ValueState.Update") {
		return
	}
	ttl := s.d.ttlMs > 0
	exp := h.nowMs + s.d.ttlMs
	h.vbuf = s.c.enc(putHeader(h.vbuf[:0], ttl, exp), &v)
	k := h.storeKey(tagValue, s.d.name)
	h.p.kv.Put(k, h.vbuf)
	if ttl {
		h.p.indexTTL(k, exp)
	}
}

// Clear removes the key's value.
func (s *ValueState[T]) Clear(h *Handle) {
	if !h.use(s.d, "ValueState.Clear") {
		return
	}
	h.p.kv.Delete(h.storeKey(tagValue, s.d.name))
}

// ListState is a list of T per key.
type ListState[T any] struct {
	d *stateDesc
	c codec[T]
}

// List declares a state variable holding a list of T per key (see Value
// for T). With WithTTL each element expires on its own.
func List[T any](h *Handle, name string, opts ...StateOption) *ListState[T] {
	c, err := codecOf[T]()
	s := &ListState[T]{c: c}
	if h == nil || h.r == nil {
		panic(fmt.Sprintf("stateful: List(%q): the handle is nil; declare state in Init with the handle Init is given", name))
	}
	if err != nil {
		h.setErr(fmt.Errorf("stateful: List(%q): %w", name, err))
	}
	s.d = h.r.declare(h, "List", name, tagList, "List["+c.desc+"]", ttlOf(h, "List", name, opts))
	s.d.sweep = func(val []byte, nowMs int64) ([]byte, int64, bool, error) {
		var lc listCache[T]
		dropped, err := lc.decode(s, val, nowMs)
		if err != nil {
			return nil, 0, false, err
		}
		if len(lc.vals) == 0 {
			return nil, 0, true, nil
		}
		out, minExp := lc.encode(s, nil)
		return out, minExp, dropped, nil
	}
	return s
}

type listCache[T any] struct {
	loaded, dirty bool
	vals          []T
	exps          []int64
	s             *ListState[T]
}

func (c *listCache[T]) reset() {
	c.loaded, c.dirty = false, false
	clear(c.vals)
	c.vals, c.exps = c.vals[:0], c.exps[:0]
}

// decode reads an encoded list, without the elements expired at nowMs,
// and reports whether any were.
func (c *listCache[T]) decode(s *ListState[T], val []byte, nowMs int64) (bool, error) {
	p, ttl, err := payload(val)
	if err != nil {
		return false, err
	}
	n, sz := binary.Uvarint(p)
	if sz <= 0 || n > uint64(len(p)) {
		return false, fmt.Errorf("list %q: %w", s.d.name, errShort)
	}
	p = p[sz:]
	dropped := false
	for i := uint64(0); i < n; i++ {
		exp := int64(0)
		if ttl {
			if len(p) < 8 {
				return false, fmt.Errorf("list %q: %w", s.d.name, errShort)
			}
			exp = int64(binary.LittleEndian.Uint64(p))
			p = p[8:]
		}
		var v T
		if p, err = s.c.dec(p, &v); err != nil {
			return false, fmt.Errorf("list %q: decoding a %s: %v; the state was written with another type", s.d.name, s.c.desc, err)
		}
		if ttl && exp <= nowMs {
			dropped = true
			continue
		}
		c.vals = append(c.vals, v)
		if s.d.ttlMs > 0 {
			if !ttl {
				exp = nowMs + s.d.ttlMs
			}
			c.exps = append(c.exps, exp)
		}
	}
	if len(p) != 0 {
		return false, fmt.Errorf("list %q: %d bytes left over", s.d.name, len(p))
	}
	return dropped, nil
}

// encode writes the list and returns its earliest expiry.
func (c *listCache[T]) encode(s *ListState[T], dst []byte) ([]byte, int64) {
	ttl := s.d.ttlMs > 0
	minExp := int64(0)
	if ttl {
		minExp = slices.Min(c.exps)
	}
	dst = binary.AppendUvarint(putHeader(dst, ttl, minExp), uint64(len(c.vals)))
	for i := range c.vals {
		if ttl {
			dst = binary.LittleEndian.AppendUint64(dst, uint64(c.exps[i]))
		}
		dst = s.c.enc(dst, &c.vals[i])
	}
	return dst, minExp
}

func (c *listCache[T]) flush(h *Handle) {
	if !c.dirty {
		return
	}
	k := h.storeKey(tagList, c.s.d.name)
	if len(c.vals) == 0 {
		h.p.kv.Delete(k)
		return
	}
	var minExp int64
	h.vbuf, minExp = c.encode(c.s, h.vbuf[:0])
	h.p.kv.Put(k, h.vbuf)
	if c.s.d.ttlMs > 0 {
		h.p.indexTTL(k, minExp)
	}
}

// cache returns the key's list, loading it on first use in the call; nil
// after an error.
func (s *ListState[T]) cache(h *Handle, op string) *listCache[T] {
	if !h.use(s.d, op) {
		return nil
	}
	sl := h.slots[s.d.id]
	if sl == nil {
		sl = &listCache[T]{s: s}
		h.slots[s.d.id] = sl
	}
	c := sl.(*listCache[T])
	if c.loaded {
		return c
	}
	c.loaded = true
	h.touched = append(h.touched, s.d.id)
	if raw, ok := h.p.kv.Get(h.storeKey(tagList, s.d.name)); ok {
		if _, err := c.decode(s, raw, h.nowMs); err != nil {
			h.setErr(fmt.Errorf("stateful: %w", err))
			return nil
		}
	}
	return c
}

// Get returns the key's list (a copy), empty when it has none.
func (s *ListState[T]) Get(h *Handle) []T {
	c := s.cache(h, "ListState.Get")
	if c == nil {
		return nil
	}
	return slices.Clone(c.vals)
}

// Len is the length of the key's list.
func (s *ListState[T]) Len(h *Handle) int {
	c := s.cache(h, "ListState.Len")
	if c == nil {
		return 0
	}
	return len(c.vals)
}

// Exists reports whether the key's list has elements.
func (s *ListState[T]) Exists(h *Handle) bool { return s.Len(h) > 0 }

// Append adds vs at the end of the key's list.
func (s *ListState[T]) Append(h *Handle, vs ...T) {
	c := s.cache(h, "ListState.Append")
	if c == nil || len(vs) == 0 {
		return
	}
	c.vals = append(c.vals, vs...)
	if s.d.ttlMs > 0 {
		for range vs {
			c.exps = append(c.exps, h.nowMs+s.d.ttlMs)
		}
	}
	c.dirty = true
}

// Put replaces the key's list with vs (an empty vs clears it).
func (s *ListState[T]) Put(h *Handle, vs []T) {
	c := s.cache(h, "ListState.Put")
	if c == nil {
		return
	}
	clear(c.vals)
	c.vals = append(c.vals[:0], vs...)
	c.exps = c.exps[:0]
	if s.d.ttlMs > 0 {
		for range vs {
			c.exps = append(c.exps, h.nowMs+s.d.ttlMs)
		}
	}
	c.dirty = true
}

// Clear removes the key's list.
func (s *ListState[T]) Clear(h *Handle) { s.Put(h, nil) }

// MapState is a map from K to V per key.
type MapState[K comparable, V any] struct {
	d  *stateDesc
	kc codec[K]
	vc codec[V]
}

// Map declares a state variable holding a map from K to V per key (see
// Value for the types). With WithTTL each entry expires on its own.
// Iteration is in the order of the keys' encodings.
func Map[K comparable, V any](h *Handle, name string, opts ...StateOption) *MapState[K, V] {
	kc, kerr := codecOf[K]()
	vc, verr := codecOf[V]()
	s := &MapState[K, V]{kc: kc, vc: vc}
	if h == nil || h.r == nil {
		panic(fmt.Sprintf("stateful: Map(%q): the handle is nil; declare state in Init with the handle Init is given", name))
	}
	if kerr != nil {
		h.setErr(fmt.Errorf("stateful: Map(%q): key: %w", name, kerr))
	}
	if verr != nil {
		h.setErr(fmt.Errorf("stateful: Map(%q): value: %w", name, verr))
	}
	s.d = h.r.declare(h, "Map", name, tagMap, "Map["+kc.desc+"]"+vc.desc, ttlOf(h, "Map", name, opts))
	s.d.sweep = func(val []byte, nowMs int64) ([]byte, int64, bool, error) {
		mc := mapCache[K, V]{m: map[K]mapEnt[V]{}}
		dropped, err := mc.decode(s, val, nowMs)
		if err != nil {
			return nil, 0, false, err
		}
		if len(mc.m) == 0 {
			return nil, 0, true, nil
		}
		out, minExp := mc.encode(s, nil)
		return out, minExp, dropped, nil
	}
	return s
}

type mapEnt[V any] struct {
	ek  string // the key's encoding
	v   V
	exp int64
}

type mapCache[K comparable, V any] struct {
	loaded, dirty bool
	m             map[K]mapEnt[V]
	s             *MapState[K, V]
}

func (c *mapCache[K, V]) reset() {
	c.loaded, c.dirty = false, false
	clear(c.m)
}

func (c *mapCache[K, V]) decode(s *MapState[K, V], val []byte, nowMs int64) (bool, error) {
	p, ttl, err := payload(val)
	if err != nil {
		return false, err
	}
	n, sz := binary.Uvarint(p)
	if sz <= 0 || n > uint64(len(p)) {
		return false, fmt.Errorf("map %q: %w", s.d.name, errShort)
	}
	p = p[sz:]
	dropped := false
	for i := uint64(0); i < n; i++ {
		exp := int64(0)
		if ttl {
			if len(p) < 8 {
				return false, fmt.Errorf("map %q: %w", s.d.name, errShort)
			}
			exp = int64(binary.LittleEndian.Uint64(p))
			p = p[8:]
		}
		var k K
		var v V
		start := p
		if p, err = s.kc.dec(p, &k); err != nil {
			return false, fmt.Errorf("map %q: decoding a %s key: %v; the state was written with another type", s.d.name, s.kc.desc, err)
		}
		ek := string(start[:len(start)-len(p)])
		if p, err = s.vc.dec(p, &v); err != nil {
			return false, fmt.Errorf("map %q: decoding a %s value: %v; the state was written with another type", s.d.name, s.vc.desc, err)
		}
		if ttl && exp <= nowMs {
			dropped = true
			continue
		}
		if s.d.ttlMs > 0 && !ttl {
			exp = nowMs + s.d.ttlMs
		}
		c.m[k] = mapEnt[V]{ek: ek, v: v, exp: exp}
	}
	if len(p) != 0 {
		return false, fmt.Errorf("map %q: %d bytes left over", s.d.name, len(p))
	}
	return dropped, nil
}

// sorted returns the keys in the order of their encodings.
func (c *mapCache[K, V]) sorted() []K {
	keys := make([]K, 0, len(c.m))
	for k := range c.m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b K) int { return cmp.Compare(c.m[a].ek, c.m[b].ek) })
	return keys
}

func (c *mapCache[K, V]) encode(s *MapState[K, V], dst []byte) ([]byte, int64) {
	ttl := s.d.ttlMs > 0
	minExp := int64(0)
	keys := c.sorted()
	if ttl {
		for i, k := range keys {
			if e := c.m[k].exp; i == 0 || e < minExp {
				minExp = e
			}
		}
	}
	dst = binary.AppendUvarint(putHeader(dst, ttl, minExp), uint64(len(keys)))
	for _, k := range keys {
		e := c.m[k]
		if ttl {
			dst = binary.LittleEndian.AppendUint64(dst, uint64(e.exp))
		}
		dst = append(dst, e.ek...)
		dst = s.vc.enc(dst, &e.v)
	}
	return dst, minExp
}

func (c *mapCache[K, V]) flush(h *Handle) {
	if !c.dirty {
		return
	}
	k := h.storeKey(tagMap, c.s.d.name)
	if len(c.m) == 0 {
		h.p.kv.Delete(k)
		return
	}
	var minExp int64
	h.vbuf, minExp = c.encode(c.s, h.vbuf[:0])
	h.p.kv.Put(k, h.vbuf)
	if c.s.d.ttlMs > 0 {
		h.p.indexTTL(k, minExp)
	}
}

func (s *MapState[K, V]) cache(h *Handle, op string) *mapCache[K, V] {
	if !h.use(s.d, op) {
		return nil
	}
	sl := h.slots[s.d.id]
	if sl == nil {
		sl = &mapCache[K, V]{s: s, m: map[K]mapEnt[V]{}}
		h.slots[s.d.id] = sl
	}
	c := sl.(*mapCache[K, V])
	if c.loaded {
		return c
	}
	c.loaded = true
	h.touched = append(h.touched, s.d.id)
	if raw, ok := h.p.kv.Get(h.storeKey(tagMap, s.d.name)); ok {
		if _, err := c.decode(s, raw, h.nowMs); err != nil {
			h.setErr(fmt.Errorf("stateful: %w", err))
			return nil
		}
	}
	return c
}

// Get returns the value of k in the key's map.
func (s *MapState[K, V]) Get(h *Handle, k K) (V, bool) {
	var zero V
	c := s.cache(h, "MapState.Get")
	if c == nil {
		return zero, false
	}
	e, ok := c.m[k]
	if !ok {
		return zero, false
	}
	return e.v, true
}

// Contains reports whether the key's map has k.
func (s *MapState[K, V]) Contains(h *Handle, k K) bool {
	_, ok := s.Get(h, k)
	return ok
}

// Put sets k to v in the key's map (and, with a TTL, the entry's expiry).
func (s *MapState[K, V]) Put(h *Handle, k K, v V) {
	c := s.cache(h, "MapState.Put")
	if c == nil {
		return
	}
	e, ok := c.m[k]
	if !ok {
		e.ek = string(s.kc.enc(nil, &k))
	}
	e.v = v
	if s.d.ttlMs > 0 {
		e.exp = h.nowMs + s.d.ttlMs
	}
	c.m[k] = e
	c.dirty = true
}

// Remove deletes k from the key's map.
func (s *MapState[K, V]) Remove(h *Handle, k K) {
	c := s.cache(h, "MapState.Remove")
	if c == nil {
		return
	}
	if _, ok := c.m[k]; ok {
		delete(c.m, k)
		c.dirty = true
	}
}

// Len is the number of entries of the key's map.
func (s *MapState[K, V]) Len(h *Handle) int {
	c := s.cache(h, "MapState.Len")
	if c == nil {
		return 0
	}
	return len(c.m)
}

// Exists reports whether the key's map has entries.
func (s *MapState[K, V]) Exists(h *Handle) bool { return s.Len(h) > 0 }

// Keys returns the keys of the key's map in the order of their
// encodings (a new slice).
func (s *MapState[K, V]) Keys(h *Handle) []K {
	c := s.cache(h, "MapState.Keys")
	if c == nil {
		return nil
	}
	return c.sorted()
}

// Iterate calls fn for each entry of the key's map, in the order of the
// keys' encodings, until fn returns false. fn may change the map.
func (s *MapState[K, V]) Iterate(h *Handle, fn func(k K, v V) bool) {
	c := s.cache(h, "MapState.Iterate")
	if c == nil {
		return
	}
	for _, k := range c.sorted() {
		e, ok := c.m[k]
		if !ok {
			continue
		}
		if !fn(k, e.v) {
			return
		}
	}
}

// Clear removes the key's map.
func (s *MapState[K, V]) Clear(h *Handle) {
	c := s.cache(h, "MapState.Clear")
	if c == nil {
		return
	}
	if len(c.m) > 0 {
		clear(c.m)
		c.dirty = true
	} else if _, ok := h.p.kv.Get(h.storeKey(tagMap, s.d.name)); ok {
		c.dirty = true
	}
}
