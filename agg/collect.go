package agg

import (
	"fmt"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
)

// setIndexMin is the list length above which collect_set indexes a group's
// values in a map instead of scanning them.
const setIndexMin = 16

// collectAcc implements collect_list and collect_set (distinct). Nulls are
// skipped. A list keeps arrival order; a set keeps the order of first
// occurrence, and values are equal when their keys are (for floats the
// canonical bits, so -0.0 equals 0.0 and NaN equals NaN). State: the
// number of values as a uvarint, then the values in order.
type collectAcc[V any, K comparable] struct {
	c        *codec[V]
	distinct bool
	key      func(V) K
	lists    [][]V
	sets     []map[K]struct{} // distinct only; nil while a list is short
	scratch  []V
}

func (a *collectAcc[V, K]) Len() int { return len(a.lists) }
func (a *collectAcc[V, K]) Grow(n int) {
	a.lists = grow(a.lists, n)
	if a.distinct {
		a.sets = grow(a.sets, n)
	}
}
func (a *collectAcc[V, K]) Reset() {
	clear(a.lists)
	a.lists = a.lists[:0]
	clear(a.sets)
	a.sets = a.sets[:0]
}
func (a *collectAcc[V, K]) MemoryBytes() int64 {
	n := sliceBytes(a.lists) + sliceBytes(a.sets) + sliceBytes(a.scratch)
	var k K
	for _, l := range a.lists {
		n += sliceBytes(l)
		for _, v := range l {
			n += int64(a.c.heap(v))
		}
	}
	for _, s := range a.sets {
		// A map entry: the key, a hash byte and bucket overhead.
		n += int64(len(s)) * (int64(unsafe.Sizeof(k)) + 8)
	}
	return n
}

// contains reports whether group g's set holds a value with v's key.
func (a *collectAcc[V, K]) contains(g int, v V) bool {
	k := a.key(v)
	if s := a.sets[g]; s != nil {
		_, ok := s[k]
		return ok
	}
	for _, x := range a.lists[g] {
		if a.key(x) == k {
			return true
		}
	}
	return false
}

// add appends v (already owned) to group g, indexing it for a set.
func (a *collectAcc[V, K]) add(g int, v V) {
	a.lists[g] = append(a.lists[g], v)
	if !a.distinct {
		return
	}
	if s := a.sets[g]; s != nil {
		s[a.key(v)] = struct{}{}
		return
	}
	if len(a.lists[g]) > setIndexMin {
		s := make(map[K]struct{}, 2*len(a.lists[g]))
		for _, x := range a.lists[g] {
			s[a.key(x)] = struct{}{}
		}
		a.sets[g] = s
	}
}

func (a *collectAcc[V, K]) Update(args []arrow.Array, gids []int32) error {
	if err := checkRows(a.c.name, args, 1, gids); err != nil {
		return err
	}
	vals := a.c.load(args[0], &a.scratch)
	vals = vals[:len(gids)]
	bm, off := validity(args[0])
	for i, g := range gids {
		if g < 0 || (bm != nil && !bitutil.BitIsSet(bm, off+i)) {
			continue
		}
		v := vals[i]
		if a.distinct && a.contains(int(g), v) {
			continue
		}
		a.add(int(g), a.c.own(v))
	}
	return nil
}

func (a *collectAcc[V, K]) AppendState(dst []byte, g int) []byte {
	l := a.lists[g]
	dst = appendUvarint(dst, uint64(len(l)))
	for _, v := range l {
		dst = a.c.enc(dst, v)
	}
	return dst
}

func (a *collectAcc[V, K]) MergeState(g int, src []byte) ([]byte, error) {
	n, rest, ok := readUvarint(src)
	// Every value takes at least one byte.
	if !ok || n > uint64(len(rest)) {
		return src, corrupt(a.c.name, g, "the value count is not a uvarint or exceeds the bytes that follow")
	}
	old := a.lists[g]
	vals := make([]V, 0, int(n)+len(old))
	for i := range int(n) {
		var v V
		v, rest, ok = a.c.dec(rest)
		if !ok {
			return src, corrupt(a.c.name, g, fmt.Sprintf("value %d of %d is malformed for %s", i+1, n, a.c.typ))
		}
		vals = append(vals, v)
	}
	// src arrived earlier, so its values come first.
	a.lists[g] = vals[:0]
	if a.distinct {
		a.sets[g] = nil
		for _, v := range vals {
			if !a.contains(g, v) {
				a.add(g, v)
			}
		}
		for _, v := range old {
			if !a.contains(g, v) {
				a.add(g, v)
			}
		}
		return rest, nil
	}
	a.lists[g] = append(vals, old...)
	return rest, nil
}

func (a *collectAcc[V, K]) Finish(g int, b array.Builder) {
	lb := b.(*array.ListBuilder)
	lb.Append(true)
	vb := lb.ValueBuilder()
	for _, v := range a.lists[g] {
		a.c.app(vb, v)
	}
}
