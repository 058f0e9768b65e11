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
		flushSlot(h, h.slots[id])
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
	// flags are whether the slot is loaded and changed in this call.
	flags() *slotFlags
	// desc is the state variable.
	desc() *stateDesc
	// len is the number of elements or entries.
	len() int
	// decode adds the entries of an encoded value, without those expired
	// at nowMs, and reports whether any were.
	decode(val []byte, nowMs int64) (bool, error)
	// encode appends the encoding and returns it with its earliest expiry.
	encode(dst []byte) ([]byte, int64)
	// reset empties the slot for the next key.
	reset()
}

// slotFlags are whether a slot is loaded and changed in this call.
type slotFlags struct{ loaded, dirty bool }

func (f *slotFlags) flags() *slotFlags { return f }

// loadSlot returns the slot of state d for the key being handled, made by
// create on first use and loaded from the store on first use in the call;
// the zero C after an error (recorded on h).
func loadSlot[C slot](h *Handle, d *stateDesc, op string, create func() C) C {
	var zero C
	if !h.use(d, op) {
		return zero
	}
	sl := h.slots[d.id]
	if sl == nil {
		sl = create()
		h.slots[d.id] = sl
	}
	c := sl.(C)
	f := c.flags()
	if f.loaded {
		return c
	}
	f.loaded = true
	h.touched = append(h.touched, d.id)
	if raw, ok := h.p.kv.Get(h.storeKey(d.tag, d.name)); ok {
		if _, err := c.decode(raw, h.nowMs); err != nil {
			h.setErr(fmt.Errorf("stateful: %w", err))
			return zero
		}
	}
	return c
}

// flushSlot writes a changed slot: deleted when empty, else encoded, with
// its earliest expiry indexed when the state has a TTL.
func flushSlot(h *Handle, c slot) {
	if !c.flags().dirty {
		return
	}
	d := c.desc()
	k := h.storeKey(d.tag, d.name)
	if c.len() == 0 {
		h.p.kv.Delete(k)
		return
	}
	var minExp int64
	h.vbuf, minExp = c.encode(h.vbuf[:0])
	h.p.kv.Put(k, h.vbuf)
	if d.ttlMs > 0 {
		h.p.indexTTL(k, minExp)
	}
}

// sweepSlot is the stateDesc.sweep of a list or map: c, empty, decodes
// val without the entries expired at nowMs and encodes what is left.
func sweepSlot(c slot, val []byte, nowMs int64) ([]byte, int64, bool, error) {
	dropped, err := c.decode(val, nowMs)
	if err != nil {
		return nil, 0, false, err
	}
	if c.len() == 0 {
		return nil, 0, true, nil
	}
	out, minExp := c.encode(nil)
	return out, minExp, dropped, nil
}

// decodeEntries reads an encoded list or map (what names it in errors):
// the count, then for each entry its expiry, when the value has them, and
// the entry itself, read by each, which returns the rest. each is given
// the entry's expiry (for one stored without, nowMs plus d's TTL, when d
// has one) and whether it is live at nowMs. decodeEntries reports whether
// any entry had expired.
func decodeEntries(d *stateDesc, what string, val []byte, nowMs int64, each func(p []byte, exp int64, live bool) ([]byte, error)) (bool, error) {
	p, ttl, err := payload(val)
	if err != nil {
		return false, err
	}
	n, p, err := readCount(p)
	if err != nil {
		return false, fmt.Errorf("%s %q: %w", what, d.name, err)
	}
	dropped := false
	for range n {
		exp := int64(0)
		if ttl {
			var b uint64
			if b, p, err = readU64(p); err != nil {
				return false, fmt.Errorf("%s %q: %w", what, d.name, err)
			}
			exp = int64(b)
		}
		live := !ttl || exp > nowMs
		if live && !ttl && d.ttlMs > 0 {
			exp = nowMs + d.ttlMs
		}
		if p, err = each(p, exp, live); err != nil {
			return false, err
		}
		dropped = dropped || !live
	}
	if len(p) != 0 {
		return false, fmt.Errorf("%s %q: %d bytes left over", what, d.name, len(p))
	}
	return dropped, nil
}

// encodeEntries appends a list or map of n entries to dst: the header
// (with the earliest expiry when ttl), the count, then for each entry its
// expiry (exp(i)) when ttl and what put appends for it. It returns the
// encoding and the earliest expiry (0 without ttl).
func encodeEntries(dst []byte, ttl bool, n int, exp func(i int) int64, put func(dst []byte, i int) []byte) ([]byte, int64) {
	minExp := int64(0)
	if ttl {
		for i := range n {
			if e := exp(i); i == 0 || e < minExp {
				minExp = e
			}
		}
	}
	dst = binary.AppendUvarint(putHeader(dst, ttl, minExp), uint64(n))
	for i := range n {
		if ttl {
			dst = binary.LittleEndian.AppendUint64(dst, uint64(exp(i)))
		}
		dst = put(dst, i)
	}
	return dst, minExp
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

// declareState declares a state variable of kind what ("Value", "List"
// or "Map") in a processor's Init: it refuses a nil handle, records on h
// the first of errs that is not nil (the type's codec errors) and a bad
// TTL, and registers the variable with the runner.
func declareState(h *Handle, what, name string, tag byte, typ string, opts []StateOption, errs ...error) *stateDesc {
	if h == nil || h.r == nil {
		panic(fmt.Sprintf("stateful: %s(%q): the handle is nil; declare state in Init with the handle Init is given", what, name))
	}
	for _, err := range errs {
		if err != nil {
			h.setErr(fmt.Errorf("stateful: %s(%q): %w", what, name, err))
		}
	}
	return h.r.declare(h, what, name, tag, typ, ttlOf(h, what, name, opts))
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
	return &ValueState[T]{c: c, d: declareState(h, "Value", name, tagValue, "Value["+c.desc+"]", opts, err)}
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
	s := &ListState[T]{c: c, d: declareState(h, "List", name, tagList, "List["+c.desc+"]", opts, err)}
	s.d.sweep = func(val []byte, nowMs int64) ([]byte, int64, bool, error) {
		return sweepSlot(&listCache[T]{s: s}, val, nowMs)
	}
	return s
}

type listCache[T any] struct {
	slotFlags
	vals []T
	exps []int64
	s    *ListState[T]
}

func (c *listCache[T]) desc() *stateDesc { return c.s.d }
func (c *listCache[T]) len() int         { return len(c.vals) }

func (c *listCache[T]) reset() {
	c.loaded, c.dirty = false, false
	clear(c.vals)
	c.vals, c.exps = c.vals[:0], c.exps[:0]
}

// decode reads an encoded list, without the elements expired at nowMs,
// and reports whether any were.
func (c *listCache[T]) decode(val []byte, nowMs int64) (bool, error) {
	s := c.s
	return decodeEntries(s.d, "list", val, nowMs, func(p []byte, exp int64, live bool) ([]byte, error) {
		var v T
		p, err := s.c.dec(p, &v)
		if err != nil {
			return nil, fmt.Errorf("list %q: decoding a %s: %v; the state was written with another type", s.d.name, s.c.desc, err)
		}
		if live {
			c.vals = append(c.vals, v)
			if s.d.ttlMs > 0 {
				c.exps = append(c.exps, exp)
			}
		}
		return p, nil
	})
}

// encode writes the list and returns its earliest expiry.
func (c *listCache[T]) encode(dst []byte) ([]byte, int64) {
	return encodeEntries(dst, c.s.d.ttlMs > 0, len(c.vals),
		func(i int) int64 { return c.exps[i] },
		func(dst []byte, i int) []byte { return c.s.c.enc(dst, &c.vals[i]) })
}

// stamp gives the last n elements, just added, their expiry when the
// state has a TTL.
func (c *listCache[T]) stamp(h *Handle, n int) {
	if c.s.d.ttlMs > 0 {
		for range n {
			c.exps = append(c.exps, h.nowMs+c.s.d.ttlMs)
		}
	}
}

// cache returns the key's list, loading it on first use in the call; nil
// after an error.
func (s *ListState[T]) cache(h *Handle, op string) *listCache[T] {
	return loadSlot(h, s.d, op, func() *listCache[T] { return &listCache[T]{s: s} })
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
	c.stamp(h, len(vs))
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
	c.stamp(h, len(vs))
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
	if kerr != nil {
		kerr = fmt.Errorf("key: %w", kerr)
	}
	if verr != nil {
		verr = fmt.Errorf("value: %w", verr)
	}
	s := &MapState[K, V]{kc: kc, vc: vc}
	s.d = declareState(h, "Map", name, tagMap, "Map["+kc.desc+"]"+vc.desc, opts, kerr, verr)
	s.d.sweep = func(val []byte, nowMs int64) ([]byte, int64, bool, error) {
		return sweepSlot(s.newCache(), val, nowMs)
	}
	return s
}

type mapEnt[V any] struct {
	ek  string // the key's encoding
	v   V
	exp int64
}

type mapCache[K comparable, V any] struct {
	slotFlags
	m map[K]mapEnt[V]
	s *MapState[K, V]
}

func (s *MapState[K, V]) newCache() *mapCache[K, V] {
	return &mapCache[K, V]{s: s, m: map[K]mapEnt[V]{}}
}

func (c *mapCache[K, V]) desc() *stateDesc { return c.s.d }
func (c *mapCache[K, V]) len() int         { return len(c.m) }

func (c *mapCache[K, V]) reset() {
	c.loaded, c.dirty = false, false
	clear(c.m)
}

func (c *mapCache[K, V]) decode(val []byte, nowMs int64) (bool, error) {
	s := c.s
	return decodeEntries(s.d, "map", val, nowMs, func(p []byte, exp int64, live bool) ([]byte, error) {
		var k K
		var v V
		start := p
		p, err := s.kc.dec(p, &k)
		if err != nil {
			return nil, fmt.Errorf("map %q: decoding a %s key: %v; the state was written with another type", s.d.name, s.kc.desc, err)
		}
		ek := string(start[:len(start)-len(p)])
		if p, err = s.vc.dec(p, &v); err != nil {
			return nil, fmt.Errorf("map %q: decoding a %s value: %v; the state was written with another type", s.d.name, s.vc.desc, err)
		}
		if live {
			c.m[k] = mapEnt[V]{ek: ek, v: v, exp: exp}
		}
		return p, nil
	})
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

func (c *mapCache[K, V]) encode(dst []byte) ([]byte, int64) {
	keys := c.sorted()
	return encodeEntries(dst, c.s.d.ttlMs > 0, len(keys),
		func(i int) int64 { return c.m[keys[i]].exp },
		func(dst []byte, i int) []byte {
			e := c.m[keys[i]]
			return c.s.vc.enc(append(dst, e.ek...), &e.v)
		})
}

func (s *MapState[K, V]) cache(h *Handle, op string) *mapCache[K, V] {
	return loadSlot(h, s.d, op, s.newCache)
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
