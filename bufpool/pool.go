package bufpool

import (
	"math/bits"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow/memory"
)

const (
	minClass = 6  // 64 bytes
	maxClass = 26 // 64 MiB
)

// Pool is a memory.Allocator that reuses freed buffers (see the package
// documentation). Use New.
type Pool struct {
	limit   int64
	held    atomic.Int64
	classes [maxClass + 1]freeList
}

type freeList struct {
	mu   sync.Mutex
	bufs [][]byte
}

var _ memory.Allocator = (*Pool)(nil)

// New returns a pool that keeps at most limit bytes of freed buffers.
func New(limit int64) *Pool { return &Pool{limit: limit} }

// classOf is the size class of a request of size bytes, or -1 when it is
// larger than the largest class.
func classOf(size int) int {
	if size <= 1<<minClass {
		return minClass
	}
	c := bits.Len(uint(size - 1))
	if c > maxClass {
		return -1
	}
	return c
}

// Allocate returns size zeroed bytes. As with memory.GoAllocator, the
// slice's capacity is its length (Arrow's builders size their writes by
// capacity); the memory behind it is its size class, which Free recovers.
func (p *Pool) Allocate(size int) []byte {
	c := classOf(size)
	if c < 0 || size == 0 {
		return make([]byte, size)
	}
	l := &p.classes[c]
	l.mu.Lock()
	if n := len(l.bufs); n > 0 {
		b := l.bufs[n-1]
		l.bufs[n-1] = nil
		l.bufs = l.bufs[:n-1]
		l.mu.Unlock()
		p.held.Add(-int64(cap(b)))
		b = b[:size:size]
		clear(b)
		return b
	}
	l.mu.Unlock()
	return make([]byte, size, 1<<c)[:size:size]
}

// Reallocate returns b resized to size: in place when size is within b's
// capacity, else a new buffer holding b's bytes (b is freed). Bytes past
// b's old length are zero.
func (p *Pool) Reallocate(size int, b []byte) []byte {
	if size <= cap(b) {
		old := len(b)
		b = b[:size]
		if size > old {
			clear(b[old:])
		}
		return b
	}
	nb := p.Allocate(size)
	copy(nb, b)
	p.Free(b)
	return nb
}

// Free keeps b, a slice Allocate or Reallocate returned, for reuse unless
// the pool is full; buffers above the largest class go to the garbage
// collector.
func (p *Pool) Free(b []byte) {
	if cap(b) == 0 {
		return
	}
	c := classOf(cap(b))
	if c < 0 {
		return
	}
	size := int64(1) << c
	if p.held.Add(size) > p.limit {
		p.held.Add(-size)
		return
	}
	// The allocation behind b is its whole size class.
	full := unsafe.Slice(unsafe.SliceData(b), size)
	l := &p.classes[c]
	l.mu.Lock()
	l.bufs = append(l.bufs, full[:0])
	l.mu.Unlock()
}

// Held is the bytes of freed buffers the pool keeps.
func (p *Pool) Held() int64 { return p.held.Load() }
