package stateful

import (
	"cmp"
	"container/heap"
	"context"
	"encoding/binary"
	"fmt"
	"slices"
)

// KV is one state partition as the runner sees it: a key-value store
// that copies the keys and values it is given (state.Store is one). Get's
// value belongs to the store and is valid until the key's next Put or
// Delete.
type KV interface {
	Get(key []byte) ([]byte, bool)
	Put(key, value []byte)
	Delete(key []byte)
	Iterate(fn func(key, value []byte) bool)
}

// Store keys: uvarint(len(groupKey)) groupKey tag name. The tags:
const (
	tagValue  = 'v'
	tagList   = 'l'
	tagMap    = 'm'
	tagTimers = 't'
)

// Value headers: a format byte, a flags byte, then (flagTTL) the
// earliest expiry of the entry in milliseconds, little-endian.
const (
	formatV1 = 1
	flagTTL  = 1
)

const invalidVersion = -1 << 62

// Config configures a Runner.
type Config struct {
	// Mode is the clock of the timers.
	Mode TimeMode
	// InitialState says that the query has initial state: the processor
	// must implement InitialStateHandler.
	InitialState bool
}

// Runner runs one query's Processor over the state partitions of its
// operator. It is for the engine (the incremental package); users write
// a Processor.
type Runner struct {
	proc   Processor
	cfg    Config
	states []*stateDesc
	byName map[string]*stateDesc
	parts  []*Partition
}

// stateDesc is a declared state variable.
type stateDesc struct {
	id    int
	name  string
	tag   byte
	ttlMs int64
	typ   string
	// sweep drops a list's or map's expired elements from an encoded
	// value; it returns the new value (nil when nothing is left), its
	// earliest remaining expiry and whether anything was dropped.
	sweep func(val []byte, nowMs int64) (out []byte, minExp int64, changed bool, err error)
}

// NewRunner checks cfg and runs p.Init, which declares the state
// variables.
func NewRunner(ctx context.Context, p Processor, cfg Config) (*Runner, error) {
	if p == nil {
		return nil, fmt.Errorf("stateful: the processor is nil")
	}
	if err := cfg.Mode.Validate(); err != nil {
		return nil, err
	}
	if _, ok := p.(InitialStateHandler); cfg.InitialState && !ok {
		return nil, fmt.Errorf("stateful: initial state was given, but the processor %T has no HandleInitialState method; implement stateful.InitialStateHandler", p)
	}
	r := &Runner{proc: p, cfg: cfg, byName: map[string]*stateDesc{}}
	h := &Handle{r: r, init: true}
	if err := p.Init(ctx, h); err != nil {
		return nil, fmt.Errorf("stateful: %T.Init: %w", p, err)
	}
	if h.err != nil {
		return nil, h.err
	}
	h.init = false
	return r, nil
}

// declare registers a state variable in Init.
func (r *Runner) declare(h *Handle, what, name string, tag byte, typ string, ttlMs int64) *stateDesc {
	if h == nil || h.r == nil {
		panic(fmt.Sprintf("stateful: %s(%q): the handle is nil; declare state in Init with the handle Init is given", what, name))
	}
	if !h.init {
		h.setErr(fmt.Errorf("stateful: %s(%q) called outside Init; declare every state variable in Init and keep it in the processor", what, name))
		return &stateDesc{id: -1, name: name, tag: tag}
	}
	if name == "" {
		h.setErr(fmt.Errorf("stateful: %s: the state name is empty; name each state variable", what))
		return &stateDesc{id: -1, tag: tag}
	}
	if prev, dup := r.byName[name]; dup {
		h.setErr(fmt.Errorf("stateful: %s(%q): a state variable of that name is already declared (%s); give each one its own name", what, name, prev.typ))
		return &stateDesc{id: -1, name: name, tag: tag}
	}
	d := &stateDesc{id: len(r.states), name: name, tag: tag, typ: typ, ttlMs: ttlMs}
	r.states = append(r.states, d)
	r.byName[name] = d
	return d
}

// SetPartitions sets the number of state partitions; a new number
// forgets every partition's indexes.
func (r *Runner) SetPartitions(n int) {
	if len(r.parts) == n {
		return
	}
	r.parts = make([]*Partition, n)
	for i := range r.parts {
		p := &Partition{r: r, validAt: invalidVersion, ttlIdx: map[string]int64{}}
		p.h = Handle{r: r, p: p, slots: make([]slot, len(r.states))}
		r.parts[i] = p
	}
}

// Partition returns partition i (SetPartitions first).
func (r *Runner) Partition(i int) *Partition { return r.parts[i] }

// Partition runs the processor over one state partition. Its timer and
// TTL indexes are kept in memory between batches and rebuilt from the
// store whenever they may not match the version opened (after a restart
// or a failed batch). One goroutine uses a Partition at a time.
type Partition struct {
	r       *Runner
	h       Handle
	kv      KV
	validAt int64 // the store version the indexes reflect
	timers  timerHeap
	live    int // timers in the store
	ttl     ttlHeap
	ttlIdx  map[string]int64 // store key -> expiry of its live ttl entry
	nowMs   int64
	wmMs    int64
	expired int64
	fired   int64
}

// Begin prepares the partition for a batch over kv, opened at version,
// that runs at processing time nowMs with watermark watermarkMs.
func (p *Partition) Begin(kv KV, version, nowMs, watermarkMs int64) error {
	p.kv, p.nowMs, p.wmMs = kv, nowMs, watermarkMs
	p.expired, p.fired = 0, 0
	h := &p.h
	h.err, h.hasKey = nil, false
	h.nowMs, h.wmMs = nowMs, watermarkMs
	for _, s := range h.slots {
		if s != nil {
			s.reset()
		}
	}
	h.touched = h.touched[:0]
	h.timers.reset()
	if p.validAt != version {
		if err := p.rebuild(); err != nil {
			return err
		}
	}
	p.validAt = invalidVersion // changes from here on until Committed
	return nil
}

// Committed records that the batch's changes were committed as version:
// the indexes match it.
func (p *Partition) Committed(version int64) {
	p.validAt = version
	p.kv = nil
}

// Abort forgets the indexes: the next Begin rebuilds them.
func (p *Partition) Abort() {
	p.validAt = invalidVersion
	p.kv = nil
}

// parseKey splits a store key into group key, tag and name.
func parseKey(k []byte) (gk []byte, tag byte, name []byte, ok bool) {
	n, sz := binary.Uvarint(k)
	if sz <= 0 || uint64(len(k)-sz) < n+1 {
		return nil, 0, nil, false
	}
	end := sz + int(n)
	return k[sz:end], k[end], k[end+1:], true
}

// rebuild reads the timers and the expiries of the partition's entries.
func (p *Partition) rebuild() error {
	p.timers = p.timers[:0]
	p.ttl = p.ttl[:0]
	clear(p.ttlIdx)
	p.live = 0
	var err error
	p.kv.Iterate(func(k, v []byte) bool {
		gk, tag, _, ok := parseKey(k)
		if !ok {
			err = fmt.Errorf("stateful: state key %x is not a transformWithState key; the checkpoint belongs to another query", k)
			return false
		}
		switch tag {
		case tagTimers:
			var ms []int64
			if ms, err = decodeTimers(v, nil); err != nil {
				err = fmt.Errorf("stateful: timers of key %x: %w", gk, err)
				return false
			}
			for _, t := range ms {
				p.timers = append(p.timers, timerEnt{ms: t, key: string(gk)})
			}
			p.live += len(ms)
		case tagValue, tagList, tagMap:
			exp, has, herr := header(v)
			if herr != nil {
				err = fmt.Errorf("stateful: state key %x: %w", k, herr)
				return false
			}
			if has {
				s := string(k)
				p.ttl = append(p.ttl, ttlEnt{exp: exp, key: s})
				p.ttlIdx[s] = exp
			}
		}
		return true
	})
	if err != nil {
		return err
	}
	heap.Init(&p.timers)
	heap.Init(&p.ttl)
	return nil
}

// header reads a value's header: its earliest expiry, if it has one.
func header(v []byte) (exp int64, hasTTL bool, err error) {
	if len(v) < 2 || v[0] != formatV1 {
		return 0, false, fmt.Errorf("the value is not in state format %d (it starts %x); the checkpoint was written by another version or query", formatV1, v[:min(len(v), 2)])
	}
	if v[1]&flagTTL == 0 {
		return 0, false, nil
	}
	if len(v) < 10 {
		return 0, false, errShort
	}
	return int64(binary.LittleEndian.Uint64(v[2:])), true, nil
}

// HandleInitialState runs the processor's HandleInitialState for key.
func (p *Partition) HandleInitialState(ctx context.Context, key Key, rows Rows) error {
	ih := p.r.proc.(InitialStateHandler)
	p.h.setKey(key)
	return p.call("HandleInitialState", key, func() error { return ih.HandleInitialState(ctx, key, rows, &p.h) })
}

// HandleInputRows runs the processor over key's rows of the batch.
func (p *Partition) HandleInputRows(ctx context.Context, key Key, rows Rows, out *Output) error {
	p.h.setKey(key)
	return p.call("HandleInputRows", key, func() error { return p.r.proc.HandleInputRows(ctx, key, rows, &p.h, out) })
}

// call runs fn for key (the handle set to it), turns a panic into an
// error, and writes the key's changed lists, maps and timers.
func (p *Partition) call(what string, key Key, fn func() error) (err error) {
	h := &p.h
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("stateful: %T.%s for key %s panicked: %v", p.r.proc, what, key, r)
		}
		h.hasKey = false
	}()
	if err := fn(); err != nil {
		return fmt.Errorf("stateful: %T.%s for key %s: %w", p.r.proc, what, key, err)
	}
	if h.err != nil {
		return fmt.Errorf("stateful: %T.%s for key %s: %w", p.r.proc, what, key, h.err)
	}
	return h.flush()
}

// DueTimer is a timer due in this batch, as DueTimers lists them.
type DueTimer struct {
	Ms  int64
	Key string // the encoded group key
}

// DueTimers removes from the index and returns, in time order (then key
// order), the timers due in this batch: at or before the batch's
// processing time (ProcessingTime) or watermark (EventTime). Some may
// have been deleted since they were indexed: FireTimer skips those.
func (p *Partition) DueTimers() []DueTimer {
	limit := p.nowMs
	if p.r.cfg.Mode == EventTime {
		limit = p.wmMs
	}
	var out []DueTimer
	for len(p.timers) > 0 && p.timers[0].ms <= limit {
		e := heap.Pop(&p.timers).(timerEnt)
		if n := len(out); n > 0 && out[n-1].Ms == e.ms && out[n-1].Key == e.key {
			continue
		}
		out = append(out, DueTimer{Ms: e.ms, Key: e.key})
	}
	return out
}

// FireTimer runs HandleExpiredTimer for the timer of key at ms, unless it
// was deleted; the timer is deleted before the call.
func (p *Partition) FireTimer(ctx context.Context, key Key, ms int64, out *Output) error {
	h := &p.h
	h.setKey(key)
	h.timers.load(h)
	if h.err != nil {
		h.hasKey = false
		return fmt.Errorf("stateful: timers of key %s: %w", key, h.err)
	}
	i, found := slices.BinarySearch(h.timers.ms, ms)
	if !found {
		h.hasKey = false
		h.timers.reset()
		return nil
	}
	h.timers.ms = slices.Delete(h.timers.ms, i, i+1)
	h.timers.dirty = true
	p.fired++
	return p.call("HandleExpiredTimer", key, func() error {
		return p.r.proc.HandleExpiredTimer(ctx, key, ExpiredTimer{ExpiryMs: ms}, h, out)
	})
}

// ExpireState deletes what TTL has expired at the batch's processing
// time: values, and list and map elements.
func (p *Partition) ExpireState() error {
	for len(p.ttl) > 0 && p.ttl[0].exp <= p.nowMs {
		e := heap.Pop(&p.ttl).(ttlEnt)
		if idx, ok := p.ttlIdx[e.key]; !ok || idx != e.exp {
			continue // superseded by an earlier entry
		}
		delete(p.ttlIdx, e.key)
		k := []byte(e.key)
		v, ok := p.kv.Get(k)
		if !ok {
			continue
		}
		exp, has, err := header(v)
		if err != nil {
			return fmt.Errorf("stateful: state key %x: %w", k, err)
		}
		if !has {
			continue
		}
		if exp > p.nowMs {
			p.indexTTL(k, exp)
			continue
		}
		_, tag, name, _ := parseKey(k)
		if tag == tagValue {
			p.kv.Delete(k)
			p.expired++
			continue
		}
		d := p.r.byName[string(name)]
		if d == nil || d.sweep == nil {
			continue // a state no longer declared: left as it is
		}
		nv, minExp, _, err := d.sweep(v, p.nowMs)
		if err != nil {
			return fmt.Errorf("stateful: state %q: %w", d.name, err)
		}
		p.expired++
		if nv == nil {
			p.kv.Delete(k)
			continue
		}
		p.kv.Put(k, nv)
		p.indexTTL(k, minExp)
	}
	return nil
}

// indexTTL notes that the entry at store key k expires at exp.
func (p *Partition) indexTTL(k []byte, exp int64) {
	if idx, ok := p.ttlIdx[string(k)]; ok && idx <= exp {
		return // that entry pops first and looks again
	}
	s := string(k)
	p.ttlIdx[s] = exp
	heap.Push(&p.ttl, ttlEnt{exp: exp, key: s})
}

// End finishes the partition's batch: the timer index is compacted when
// deleted timers crowd it, and deleted timers at its top are dropped.
func (p *Partition) End() error {
	if len(p.timers) > 2*p.live+1024 {
		return p.rebuild()
	}
	// Drop deleted timers from the top, so that NextTimer is exact.
	var k []byte
	var ms []int64
	for len(p.timers) > 0 {
		top := p.timers[0]
		k = binary.AppendUvarint(k[:0], uint64(len(top.key)))
		k = append(append(k, top.key...), tagTimers)
		if v, ok := p.kv.Get(k); ok {
			var err error
			if ms, err = decodeTimers(v, ms[:0]); err != nil {
				return fmt.Errorf("stateful: timers of key %x: %w", top.key, err)
			}
			if _, found := slices.BinarySearch(ms, top.ms); found {
				return nil
			}
		}
		heap.Pop(&p.timers)
	}
	return nil
}

// NextTimer returns the earliest timer after End, or false when there
// is none.
func (p *Partition) NextTimer() (int64, bool) {
	if len(p.timers) == 0 {
		return 0, false
	}
	return p.timers[0].ms, true
}

// Counts returns the timers fired and the values and elements expired
// by TTL in the batch.
func (p *Partition) Counts() (fired, expired int64) { return p.fired, p.expired }

type timerEnt struct {
	ms  int64
	key string
}

type timerHeap []timerEnt

func (h timerHeap) Len() int { return len(h) }
func (h timerHeap) Less(i, j int) bool {
	if h[i].ms != h[j].ms {
		return h[i].ms < h[j].ms
	}
	return h[i].key < h[j].key
}
func (h timerHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *timerHeap) Push(x any)   { *h = append(*h, x.(timerEnt)) }
func (h *timerHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	*h = old[:len(old)-1]
	return e
}

type ttlEnt struct {
	exp int64
	key string
}

type ttlHeap []ttlEnt

func (h ttlHeap) Len() int { return len(h) }
func (h ttlHeap) Less(i, j int) bool {
	if c := cmp.Compare(h[i].exp, h[j].exp); c != 0 {
		return c < 0
	}
	return h[i].key < h[j].key
}
func (h ttlHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *ttlHeap) Push(x any)   { *h = append(*h, x.(ttlEnt)) }
func (h *ttlHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	*h = old[:len(old)-1]
	return e
}

// decodeTimers reads a key's timer list (format byte, uvarint count,
// ascending int64 milliseconds) into dst.
func decodeTimers(v []byte, dst []int64) ([]int64, error) {
	if len(v) < 1 || v[0] != formatV1 {
		return nil, fmt.Errorf("the timer list is not in state format %d", formatV1)
	}
	n, sz := binary.Uvarint(v[1:])
	if sz <= 0 || uint64(len(v)-1-sz) != 8*n {
		return nil, fmt.Errorf("the timer list has a bad length")
	}
	rest := v[1+sz:]
	for i := uint64(0); i < n; i++ {
		dst = append(dst, int64(binary.LittleEndian.Uint64(rest[8*i:])))
	}
	return dst, nil
}

func encodeTimers(dst []byte, ms []int64) []byte {
	dst = binary.AppendUvarint(append(dst, formatV1), uint64(len(ms)))
	for _, t := range ms {
		dst = binary.LittleEndian.AppendUint64(dst, uint64(t))
	}
	return dst
}
