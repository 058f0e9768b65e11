// Package bufpool is a memory.Allocator for Arrow buffers that keeps freed
// buffers and hands them out again, so that a streaming query, which
// allocates and releases about the same buffers every micro-batch, stops
// asking the Go runtime (and the kernel) for fresh memory once it has run
// a few batches: no page faults, no zeroing by the runtime, less garbage
// for the collector.
//
// # Contract
//
// Buffers are grouped in power-of-two size classes from 64 bytes to
// 64 MiB; a larger request goes straight to the Go heap and is left to the
// garbage collector when freed. Allocate returns zeroed memory, as
// memory.GoAllocator does, whether the buffer is new or reused. Free keeps
// a buffer for reuse while the pool holds less than its limit (New's
// argument, in bytes), and drops it otherwise. The pool is safe for
// concurrent use.
//
// The pool relies on the Arrow rule that a buffer is not touched after its
// last Release: with memory.GoAllocator a use after release goes
// unnoticed, with a pool it reads another array's data. Every operator of
// this project releases what it allocates exactly once, which the tests
// check with memory.CheckedAllocator; code that hands buffers to the pool
// must keep to the same rule. It is therefore opt-in: give it to a query
// with WriteStream(...).Allocator(bufpool.New(limit)).
package bufpool
