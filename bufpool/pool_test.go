package bufpool

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// A reused buffer comes back zeroed, with its class's capacity, and the
// pool's held bytes follow what was freed and taken.
func TestReuseIsZeroedAndCounted(t *testing.T) {
	p := New(1 << 20)
	b := p.Allocate(100)
	if len(b) != 100 || cap(b) != 100 {
		t.Fatalf("Allocate(100): len %d cap %d, want 100 and 100 (as the Go allocator)", len(b), cap(b))
	}
	for i := range b {
		b[i] = 0xff
	}
	p.Free(b)
	if p.Held() != 128 {
		t.Fatalf("held %d after freeing 128 bytes", p.Held())
	}
	c := p.Allocate(120)
	if &c[:1][0] != &b[:1][0] {
		t.Error("a freed buffer of the same class was not reused")
	}
	for i, v := range c {
		if v != 0 {
			t.Fatalf("reused buffer byte %d is %#x, want 0", i, v)
		}
	}
	if p.Held() != 0 {
		t.Fatalf("held %d after taking the buffer back", p.Held())
	}
	if d := p.Allocate(0); len(d) != 0 {
		t.Fatalf("Allocate(0): len %d", len(d))
	}
}

// The pool keeps no more than its limit; buffers outside the classes go
// to the garbage collector.
func TestLimitAndOddBuffers(t *testing.T) {
	p := New(1000)
	var bufs [][]byte
	for range 10 {
		bufs = append(bufs, p.Allocate(256))
	}
	for _, b := range bufs {
		p.Free(b)
	}
	if p.Held() != 768 {
		t.Fatalf("held %d with a limit of 1000 and 256-byte buffers, want 768", p.Held())
	}
	p.Free(nil)
	big := p.Allocate(1 << 27)
	if len(big) != 1<<27 {
		t.Fatalf("a request above the largest class got %d bytes", len(big))
	}
	p.Free(big)
	if p.Held() != 768 {
		t.Fatalf("held %d after freeing buffers outside the classes, want 768", p.Held())
	}
}

// Reallocate stays in place within the capacity (which is the length
// asked for, as with the Go allocator), zeroing new bytes, and otherwise
// moves the bytes to a new buffer and keeps the old one.
func TestReallocate(t *testing.T) {
	p := New(1 << 20)
	b := p.Allocate(10)
	copy(b, "0123456789")
	b = p.Reallocate(8, b[:5])
	if len(b) != 8 || string(b[:5]) != "01234" || b[5] != 0 || b[7] != 0 {
		t.Fatalf("grown in place: %q", b)
	}
	b = p.Reallocate(20, b)
	if string(b[:5]) != "01234" || b[5] != 0 || b[19] != 0 {
		t.Fatalf("moved: %q", b)
	}
	b = p.Reallocate(1000, b)
	if len(b) != 1000 || cap(b) != 1000 || string(b[:5]) != "01234" || b[999] != 0 {
		t.Fatalf("moved: len %d cap %d %q", len(b), cap(b), b[:5])
	}
	if p.Held() != 128 {
		t.Fatalf("the two old 64-byte buffers were not kept: held %d", p.Held())
	}
}

// Arrow builders and arrays over the pool give the same values as over
// the Go allocator, round after round of reuse, with concurrent users,
// and a checked allocator above the pool sees everything released.
func TestArrowOverPoolConcurrently(t *testing.T) {
	p := New(64 << 20)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mem := memory.NewCheckedAllocator(p)
			defer mem.AssertSize(t, 0)
			for round := range 50 {
				ib := array.NewInt64Builder(mem)
				sb := array.NewStringBuilder(mem)
				n := 1000 + 37*round + w
				for i := range n {
					if i%7 == 0 {
						ib.AppendNull()
						sb.AppendNull()
						continue
					}
					ib.Append(int64(i * w))
					sb.Append("v" + string(rune('a'+i%26)))
				}
				ia, sa := ib.NewInt64Array(), sb.NewStringArray()
				ib.Release()
				sb.Release()
				for i := range n {
					if (i%7 == 0) != ia.IsNull(i) || (i%7 == 0) != sa.IsNull(i) {
						t.Errorf("worker %d round %d row %d: null mismatch", w, round, i)
						return
					}
					if i%7 != 0 && (ia.Value(i) != int64(i*w) || sa.Value(i) != "v"+string(rune('a'+i%26))) {
						t.Errorf("worker %d round %d row %d: %d %q", w, round, i, ia.Value(i), sa.Value(i))
						return
					}
				}
				// Arrow's take kernel sizes its writes by the capacity
				// of what the allocator returns.
				ib2 := array.NewInt32Builder(mem)
				for i := n - 1; i >= 0; i -= 3 {
					ib2.Append(int32(i))
				}
				idx := ib2.NewArray()
				ib2.Release()
				taken, err := compute.TakeArray(compute.WithAllocator(context.Background(), mem), sa, idx)
				if err != nil {
					t.Error(err)
					return
				}
				ts := taken.(*array.String)
				for j := 0; j < ts.Len(); j++ {
					i := n - 1 - 3*j
					if ts.IsNull(j) != sa.IsNull(i) || (!ts.IsNull(j) && ts.Value(j) != sa.Value(i)) {
						t.Errorf("worker %d round %d: take row %d differs from row %d", w, round, j, i)
						return
					}
				}
				taken.Release()
				idx.Release()
				ia.Release()
				sa.Release()
			}
		}()
	}
	wg.Wait()
	if p.Held() == 0 {
		t.Error("nothing was kept for reuse")
	}
}

// The poisoning allocator overwrites what is freed, so a value read
// after its array's release is garbage.
func TestPoisonOverwritesFreed(t *testing.T) {
	mem := memory.NewCheckedAllocator(NewPoison())
	b := array.NewStringBuilder(mem)
	b.Append("view")
	arr := b.NewStringArray()
	b.Release()
	view := arr.Value(0) // a view of the array's buffer
	kept := strings.Clone(arr.Value(0))
	arr.Release()
	mem.AssertSize(t, 0)
	if view == "view" {
		t.Error("a view of a released buffer still reads the old value")
	}
	if kept != "view" {
		t.Errorf("a copy taken before the release reads %q", kept)
	}
	grown := NewPoison().Reallocate(100, make([]byte, 10, 10))
	if len(grown) != 100 {
		t.Errorf("Reallocate gave %d bytes, want 100", len(grown))
	}
}
