package agg

import (
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
)

// minMax implements min and max over fixed-width types and booleans.
// Floats order NaN above every other value, as Spark does. State: 0x00
// for no non-null input, else 0x01 and the value (see the value encodings
// in docs/format/aggregate-state.md).
type minMax[T numeric] struct {
	c       *codec[T]
	isMax   bool
	vals    []T
	seen    []bool
	scratch []T
}

func (a *minMax[T]) Len() int { return len(a.vals) }
func (a *minMax[T]) Grow(n int) {
	a.vals = grow(a.vals, n)
	a.seen = grow(a.seen, n)
}
func (a *minMax[T]) Reset() {
	a.vals = a.vals[:0]
	a.seen = a.seen[:0]
}
func (a *minMax[T]) MemoryBytes() int64 {
	return sliceBytes(a.vals) + sliceBytes(a.seen) + sliceBytes(a.scratch)
}

// greater reports whether v is above cur in Spark's order (NaN greatest).
func greater[T numeric](v, cur T) bool { return v > cur || (v != v && cur == cur) }

// less reports whether v is below cur in Spark's order (NaN greatest).
func less[T numeric](v, cur T) bool { return v < cur || (cur != cur && v == v) }

func (a *minMax[T]) Update(args []arrow.Array, gids []int32) error {
	if err := checkRows(a.c.name, args, 1, gids); err != nil {
		return err
	}
	vals := numValues(args[0], &a.scratch)
	vals = vals[:len(gids)]
	bm, off := validity(args[0])
	dst, seen := a.vals, a.seen
	switch {
	case a.isMax && bm == nil:
		for i, g := range gids {
			if g < 0 {
				continue
			}
			if v := vals[i]; !seen[g] || greater(v, dst[g]) {
				dst[g] = v
				seen[g] = true
			}
		}
	case a.isMax:
		for i, g := range gids {
			if g < 0 || !bitutil.BitIsSet(bm, off+i) {
				continue
			}
			if v := vals[i]; !seen[g] || greater(v, dst[g]) {
				dst[g] = v
				seen[g] = true
			}
		}
	case bm == nil:
		for i, g := range gids {
			if g < 0 {
				continue
			}
			if v := vals[i]; !seen[g] || less(v, dst[g]) {
				dst[g] = v
				seen[g] = true
			}
		}
	default:
		for i, g := range gids {
			if g < 0 || !bitutil.BitIsSet(bm, off+i) {
				continue
			}
			if v := vals[i]; !seen[g] || less(v, dst[g]) {
				dst[g] = v
				seen[g] = true
			}
		}
	}
	return nil
}

func (a *minMax[T]) AppendState(dst []byte, g int) []byte {
	if !a.seen[g] {
		return append(dst, 0)
	}
	return a.c.enc(append(dst, 1), a.vals[g])
}

func (a *minMax[T]) MergeState(g int, src []byte) ([]byte, error) {
	flag, rest, ok := readByte(src)
	if !ok || flag > 1 {
		return src, corrupt(a.c.name, g, "the null flag is missing or not 0 or 1")
	}
	if flag == 0 {
		return rest, nil
	}
	v, rest, ok := a.c.dec(rest)
	if !ok {
		return src, corrupt(a.c.name, g, "the value is malformed for "+a.c.typ.String())
	}
	// src arrived earlier: on a tie its value is the one kept.
	if !a.seen[g] || (a.isMax && !less(v, a.vals[g])) || (!a.isMax && !greater(v, a.vals[g])) {
		a.vals[g] = v
		a.seen[g] = true
	}
	return rest, nil
}

func (a *minMax[T]) Finish(g int, b array.Builder) {
	if !a.seen[g] {
		b.AppendNull()
		return
	}
	a.c.app(b, a.vals[g])
}

// minMaxBytes implements min and max over strings and binaries, ordered
// bytewise. A kept value is copied, so it does not borrow the input.
// State: as minMax, the value as a uvarint length and the bytes.
type minMaxBytes struct {
	c       *codec[string]
	isMax   bool
	vals    []string
	seen    []bool
	scratch []string
}

func (a *minMaxBytes) Len() int { return len(a.vals) }
func (a *minMaxBytes) Grow(n int) {
	a.vals = grow(a.vals, n)
	a.seen = grow(a.seen, n)
}
func (a *minMaxBytes) Reset() {
	clear(a.vals)
	a.vals = a.vals[:0]
	a.seen = a.seen[:0]
}
func (a *minMaxBytes) MemoryBytes() int64 {
	n := sliceBytes(a.vals) + sliceBytes(a.seen) + sliceBytes(a.scratch)
	for _, v := range a.vals {
		n += int64(len(v))
	}
	return n
}

func (a *minMaxBytes) Update(args []arrow.Array, gids []int32) error {
	if err := checkRows(a.c.name, args, 1, gids); err != nil {
		return err
	}
	vals := bytesValues(args[0], &a.scratch)
	vals = vals[:len(gids)]
	bm, off := validity(args[0])
	dst, seen := a.vals, a.seen
	// First find each group's extreme among borrowed values, then copy
	// only the winners, so that a group copies at most once per call.
	touched := false
	for i, g := range gids {
		if g < 0 || (bm != nil && !bitutil.BitIsSet(bm, off+i)) {
			continue
		}
		v := vals[i]
		if !seen[g] || (a.isMax && v > dst[g]) || (!a.isMax && v < dst[g]) {
			dst[g] = v
			seen[g] = true
			touched = true
		}
	}
	if !touched {
		return nil
	}
	// Winners borrowed from this call are exactly the values that alias
	// the scratch strings; copy every value set in this call.
	for i, g := range gids {
		if g < 0 {
			continue
		}
		if seen[g] && sameString(dst[g], vals[i]) {
			dst[g] = a.c.own(dst[g])
		}
	}
	return nil
}

// sameString reports whether a and b share their backing memory.
func sameString(a, b string) bool {
	if len(a) != len(b) || len(a) == 0 {
		return false
	}
	return unsafeStringData(a) == unsafeStringData(b)
}

func (a *minMaxBytes) AppendState(dst []byte, g int) []byte {
	if !a.seen[g] {
		return append(dst, 0)
	}
	return a.c.enc(append(dst, 1), a.vals[g])
}

func (a *minMaxBytes) MergeState(g int, src []byte) ([]byte, error) {
	flag, rest, ok := readByte(src)
	if !ok || flag > 1 {
		return src, corrupt(a.c.name, g, "the null flag is missing or not 0 or 1")
	}
	if flag == 0 {
		return rest, nil
	}
	v, rest, ok := a.c.dec(rest)
	if !ok {
		return src, corrupt(a.c.name, g, "the value's length runs past the end of the state")
	}
	if !a.seen[g] || (a.isMax && v >= a.vals[g]) || (!a.isMax && v <= a.vals[g]) {
		a.vals[g] = v
		a.seen[g] = true
	}
	return rest, nil
}

func (a *minMaxBytes) Finish(g int, b array.Builder) {
	if !a.seen[g] {
		b.AppendNull()
		return
	}
	a.c.app(b, a.vals[g])
}
