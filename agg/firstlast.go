package agg

import (
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
)

// first/last slot states.
const (
	flEmpty = 0 // no row yet (or, with ignoreNulls, no non-null row)
	flNull  = 1 // the chosen row is null
	flValue = 2 // the chosen row has a value
)

// firstLast implements first and last: the value of the earliest or the
// latest row in arrival order, optionally ignoring nulls. State: one byte
// (0 no row, 1 a null row, 2 a value) followed, for 2, by the value.
type firstLast[V any] struct {
	c           *codec[V]
	last        bool
	ignoreNulls bool
	vals        []V
	st          []uint8
	// mark[g] == call when group g was set in the current Update of last,
	// which walks rows backwards so that each group is set (and a kept
	// string copied) at most once per call.
	mark    []uint32
	call    uint32
	scratch []V
}

func (a *firstLast[V]) Len() int { return len(a.st) }
func (a *firstLast[V]) Grow(n int) {
	a.vals = grow(a.vals, n)
	a.st = grow(a.st, n)
	if a.last {
		a.mark = grow(a.mark, n)
	}
}
func (a *firstLast[V]) Reset() {
	clear(a.vals)
	a.vals = a.vals[:0]
	a.st = a.st[:0]
	a.mark = a.mark[:0]
	a.call = 0
}
func (a *firstLast[V]) MemoryBytes() int64 {
	n := sliceBytes(a.vals) + sliceBytes(a.st) + sliceBytes(a.mark) + sliceBytes(a.scratch)
	for _, v := range a.vals {
		n += int64(a.c.heap(v))
	}
	return n
}

func (a *firstLast[V]) Update(args []arrow.Array, gids []int32) error {
	if err := checkRows(a.c.name, args, 1, gids); err != nil {
		return err
	}
	vals := a.c.load(args[0], &a.scratch)
	vals = vals[:len(gids)]
	bm, off := validity(args[0])
	vs, st := a.vals, a.st
	var zero V
	if !a.last {
		for i, g := range gids {
			if g < 0 || st[g] != flEmpty {
				continue
			}
			if bm == nil || bitutil.BitIsSet(bm, off+i) {
				vs[g] = a.c.own(vals[i])
				st[g] = flValue
			} else if !a.ignoreNulls {
				vs[g] = zero
				st[g] = flNull
			}
		}
		return nil
	}
	a.call++
	if a.call == 0 {
		clear(a.mark)
		a.call = 1
	}
	call, mark := a.call, a.mark
	for i := len(gids) - 1; i >= 0; i-- {
		g := gids[i]
		if g < 0 || mark[g] == call {
			continue
		}
		if bm == nil || bitutil.BitIsSet(bm, off+i) {
			vs[g] = a.c.own(vals[i])
			st[g] = flValue
			mark[g] = call
		} else if !a.ignoreNulls {
			vs[g] = zero
			st[g] = flNull
			mark[g] = call
		}
	}
	return nil
}

func (a *firstLast[V]) AppendState(dst []byte, g int) []byte {
	dst = append(dst, a.st[g])
	if a.st[g] == flValue {
		dst = a.c.enc(dst, a.vals[g])
	}
	return dst
}

func (a *firstLast[V]) MergeState(g int, src []byte) ([]byte, error) {
	s, rest, ok := readByte(src)
	if !ok || s > flValue {
		return src, corrupt(a.c.name, g, "the slot byte is missing or not 0, 1 or 2")
	}
	var v V
	if s == flValue {
		v, rest, ok = a.c.dec(rest)
		if !ok {
			return src, corrupt(a.c.name, g, "the value is malformed for "+a.c.typ.String())
		}
	}
	if s == flEmpty {
		return rest, nil
	}
	// src arrived earlier: first takes it whenever it holds a row; last
	// takes it only when g holds none.
	if !a.last || a.st[g] == flEmpty {
		a.vals[g] = v
		a.st[g] = s
	}
	return rest, nil
}

func (a *firstLast[V]) Finish(g int, b array.Builder) {
	if a.st[g] != flValue {
		b.AppendNull()
		return
	}
	a.c.app(b, a.vals[g])
}
