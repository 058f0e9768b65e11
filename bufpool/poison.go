package bufpool

import "github.com/apache/arrow-go/v18/arrow/memory"

// NewPoison returns an allocator for tests: Go memory, as
// memory.GoAllocator gives, except that every freed buffer is overwritten
// with 0xa5 bytes and never handed out again. Code that reads a buffer
// after its last Release, which goes unnoticed with the Go allocator and
// reads another array's data with a pool, then reads garbage and fails
// its test. Wrap it in memory.NewCheckedAllocator to catch leaks too.
func NewPoison() memory.Allocator { return &poison{} }

type poison struct{ memory.GoAllocator }

// Free overwrites b, all of its capacity.
func (p *poison) Free(b []byte) {
	b = b[:cap(b)]
	for i := range b {
		b[i] = 0xa5
	}
}

// Reallocate grows b in place within its capacity, or moves it to a new
// buffer and poisons the old one.
func (p *poison) Reallocate(size int, b []byte) []byte {
	if size <= cap(b) {
		return b[:size]
	}
	nb := p.Allocate(size)
	copy(nb, b)
	p.Free(b)
	return nb
}
