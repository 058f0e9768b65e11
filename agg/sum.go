package agg

import (
	"fmt"
	"math"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
)

// sumInt implements sum over integers into int64, failing on overflow.
// State: 0x00 for no non-null input, else 0x01 and the sum as a zigzag
// varint.
type sumInt[T numeric] struct {
	c       *codec[T]
	sums    []int64
	seen    []bool
	scratch []T
}

func (a *sumInt[T]) Len() int { return len(a.sums) }
func (a *sumInt[T]) Grow(n int) {
	a.sums = grow(a.sums, n)
	a.seen = grow(a.seen, n)
}
func (a *sumInt[T]) Reset() {
	a.sums = a.sums[:0]
	a.seen = a.seen[:0]
}
func (a *sumInt[T]) MemoryBytes() int64 {
	return sliceBytes(a.sums) + sliceBytes(a.seen) + sliceBytes(a.scratch)
}

func (a *sumInt[T]) overflow(g int, sum int64, v T) error {
	return fmt.Errorf("agg: %s: integer overflow in group %d adding %v to %d; CAST the argument to DOUBLE to sum it as a float: %w",
		a.c.name, g, v, sum, ErrOverflow)
}

func (a *sumInt[T]) Update(args []arrow.Array, gids []int32) error {
	if err := checkRows(a.c.name, args, 1, gids); err != nil {
		return err
	}
	vals := numValues(args[0], &a.scratch)
	vals = vals[:len(gids)]
	bm, off := validity(args[0])
	sums, seen := a.sums, a.seen
	if bm == nil {
		for i, g := range gids {
			if g < 0 {
				continue
			}
			v := vals[i]
			x := int64(v)
			s := sums[g]
			r := s + x
			// The second test catches uint64 values above MaxInt64.
			if (s^r)&(x^r) < 0 || (x < 0 && v > 0) {
				return a.overflow(int(g), s, v)
			}
			sums[g] = r
			seen[g] = true
		}
		return nil
	}
	for i, g := range gids {
		if g < 0 || !bitutil.BitIsSet(bm, off+i) {
			continue
		}
		v := vals[i]
		x := int64(v)
		s := sums[g]
		r := s + x
		if (s^r)&(x^r) < 0 || (x < 0 && v > 0) {
			return a.overflow(int(g), s, v)
		}
		sums[g] = r
		seen[g] = true
	}
	return nil
}

func (a *sumInt[T]) AppendState(dst []byte, g int) []byte {
	if !a.seen[g] {
		return append(dst, 0)
	}
	dst = append(dst, 1)
	return appendVarint(dst, a.sums[g])
}

func (a *sumInt[T]) MergeState(g int, src []byte) ([]byte, error) {
	flag, rest, ok := readByte(src)
	if !ok || flag > 1 {
		return src, corrupt(a.c.name, g, "the null flag is missing or not 0 or 1")
	}
	if flag == 0 {
		return rest, nil
	}
	x, rest, ok := readVarint(rest)
	if !ok {
		return src, corrupt(a.c.name, g, "the sum is not a varint")
	}
	s := a.sums[g]
	r := s + x
	if (s^r)&(x^r) < 0 {
		return src, fmt.Errorf("agg: %s: integer overflow in group %d merging partial sum %d into %d; CAST the argument to DOUBLE to sum it as a float: %w",
			a.c.name, g, x, s, ErrOverflow)
	}
	a.sums[g] = r
	a.seen[g] = true
	return rest, nil
}

func (a *sumInt[T]) Finish(g int, b array.Builder) {
	ib := b.(*array.Int64Builder)
	if !a.seen[g] {
		ib.AppendNull()
		return
	}
	ib.Append(a.sums[g])
}

// sumFloat implements sum over floats into float64. State: 0x00 for no
// non-null input, else 0x01 and the sum as a little-endian IEEE 754
// binary64.
type sumFloat[T numeric] struct {
	c       *codec[T]
	sums    []float64
	seen    []bool
	scratch []T
}

func (a *sumFloat[T]) Len() int { return len(a.sums) }
func (a *sumFloat[T]) Grow(n int) {
	a.sums = grow(a.sums, n)
	a.seen = grow(a.seen, n)
}
func (a *sumFloat[T]) Reset() {
	a.sums = a.sums[:0]
	a.seen = a.seen[:0]
}
func (a *sumFloat[T]) MemoryBytes() int64 {
	return sliceBytes(a.sums) + sliceBytes(a.seen) + sliceBytes(a.scratch)
}

func (a *sumFloat[T]) Update(args []arrow.Array, gids []int32) error {
	if err := checkRows(a.c.name, args, 1, gids); err != nil {
		return err
	}
	vals := numValues(args[0], &a.scratch)
	vals = vals[:len(gids)]
	bm, off := validity(args[0])
	sums, seen := a.sums, a.seen
	if bm == nil {
		for i, g := range gids {
			if g >= 0 {
				sums[g] += float64(vals[i])
				seen[g] = true
			}
		}
		return nil
	}
	for i, g := range gids {
		if g >= 0 && bitutil.BitIsSet(bm, off+i) {
			sums[g] += float64(vals[i])
			seen[g] = true
		}
	}
	return nil
}

func (a *sumFloat[T]) AppendState(dst []byte, g int) []byte {
	if !a.seen[g] {
		return append(dst, 0)
	}
	return appendFloat64(append(dst, 1), a.sums[g])
}

func (a *sumFloat[T]) MergeState(g int, src []byte) ([]byte, error) {
	flag, rest, ok := readByte(src)
	if !ok || flag > 1 {
		return src, corrupt(a.c.name, g, "the null flag is missing or not 0 or 1")
	}
	if flag == 0 {
		return rest, nil
	}
	x, rest, ok := readFloat64(rest)
	if !ok {
		return src, corrupt(a.c.name, g, "the sum has fewer than 8 bytes")
	}
	a.sums[g] += x
	a.seen[g] = true
	return rest, nil
}

func (a *sumFloat[T]) Finish(g int, b array.Builder) {
	fb := b.(*array.Float64Builder)
	if !a.seen[g] {
		fb.AppendNull()
		return
	}
	fb.Append(a.sums[g])
}

// avgAcc implements avg: a float64 sum and a count. State: the count as a
// uvarint, then, when it is not zero, the sum as a little-endian binary64.
type avgAcc[T numeric] struct {
	c       *codec[T]
	sums    []float64
	counts  []int64
	scratch []T
}

func (a *avgAcc[T]) Len() int { return len(a.sums) }
func (a *avgAcc[T]) Grow(n int) {
	a.sums = grow(a.sums, n)
	a.counts = grow(a.counts, n)
}
func (a *avgAcc[T]) Reset() {
	a.sums = a.sums[:0]
	a.counts = a.counts[:0]
}
func (a *avgAcc[T]) MemoryBytes() int64 {
	return sliceBytes(a.sums) + sliceBytes(a.counts) + sliceBytes(a.scratch)
}

func (a *avgAcc[T]) Update(args []arrow.Array, gids []int32) error {
	if err := checkRows(a.c.name, args, 1, gids); err != nil {
		return err
	}
	vals := numValues(args[0], &a.scratch)
	vals = vals[:len(gids)]
	bm, off := validity(args[0])
	sums, counts := a.sums, a.counts
	if bm == nil {
		for i, g := range gids {
			if g >= 0 {
				sums[g] += float64(vals[i])
				counts[g]++
			}
		}
		return nil
	}
	for i, g := range gids {
		if g >= 0 && bitutil.BitIsSet(bm, off+i) {
			sums[g] += float64(vals[i])
			counts[g]++
		}
	}
	return nil
}

func (a *avgAcc[T]) AppendState(dst []byte, g int) []byte {
	dst = appendUvarint(dst, uint64(a.counts[g]))
	if a.counts[g] == 0 {
		return dst
	}
	return appendFloat64(dst, a.sums[g])
}

func (a *avgAcc[T]) MergeState(g int, src []byte) ([]byte, error) {
	n, rest, ok := readUvarint(src)
	if !ok || n > math.MaxInt64-uint64(a.counts[g]) {
		return src, corrupt(a.c.name, g, "the count is not a uvarint in the int64 range")
	}
	if n == 0 {
		return rest, nil
	}
	s, rest, ok := readFloat64(rest)
	if !ok {
		return src, corrupt(a.c.name, g, "the sum has fewer than 8 bytes")
	}
	a.counts[g] += int64(n)
	a.sums[g] += s
	return rest, nil
}

func (a *avgAcc[T]) Finish(g int, b array.Builder) {
	fb := b.(*array.Float64Builder)
	if a.counts[g] == 0 {
		fb.AppendNull()
		return
	}
	fb.Append(a.sums[g] / float64(a.counts[g]))
}
