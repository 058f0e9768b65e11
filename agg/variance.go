package agg

import (
	"math"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
)

// varianceAcc implements var_samp, var_pop, stddev_samp and stddev_pop
// with Welford's running mean and sum of squared deviations per group,
// merged with Chan et al.'s parallel formula. State: the count as a
// uvarint, then, when it is not zero, the mean and M2 as little-endian
// binary64.
type varianceAcc[T numeric] struct {
	c       *codec[T]
	kind    int
	counts  []int64
	means   []float64
	m2s     []float64
	scratch []T
}

func (a *varianceAcc[T]) Len() int { return len(a.counts) }
func (a *varianceAcc[T]) Grow(n int) {
	a.counts = grow(a.counts, n)
	a.means = grow(a.means, n)
	a.m2s = grow(a.m2s, n)
}
func (a *varianceAcc[T]) Reset() {
	a.counts = a.counts[:0]
	a.means = a.means[:0]
	a.m2s = a.m2s[:0]
}
func (a *varianceAcc[T]) MemoryBytes() int64 {
	return sliceBytes(a.counts) + sliceBytes(a.means) + sliceBytes(a.m2s) + sliceBytes(a.scratch)
}

func (a *varianceAcc[T]) Update(args []arrow.Array, gids []int32) error {
	if err := checkRows(a.c.name, args, 1, gids); err != nil {
		return err
	}
	vals := numValues(args[0], &a.scratch)
	vals = vals[:len(gids)]
	bm, off := validity(args[0])
	counts, means, m2s := a.counts, a.means, a.m2s
	for i, g := range gids {
		if g < 0 || (bm != nil && !bitutil.BitIsSet(bm, off+i)) {
			continue
		}
		x := float64(vals[i])
		n := counts[g] + 1
		counts[g] = n
		d := x - means[g]
		mean := means[g] + d/float64(n)
		means[g] = mean
		m2s[g] += d * (x - mean)
	}
	return nil
}

func (a *varianceAcc[T]) AppendState(dst []byte, g int) []byte {
	dst = appendUvarint(dst, uint64(a.counts[g]))
	if a.counts[g] == 0 {
		return dst
	}
	return appendFloat64(appendFloat64(dst, a.means[g]), a.m2s[g])
}

func (a *varianceAcc[T]) MergeState(g int, src []byte) ([]byte, error) {
	nb, rest, ok := readUvarint(src)
	if !ok || nb > math.MaxInt64-uint64(a.counts[g]) {
		return src, corrupt(a.c.name, g, "the count is not a uvarint in the int64 range")
	}
	if nb == 0 {
		return rest, nil
	}
	mb, rest, ok := readFloat64(rest)
	if !ok {
		return src, corrupt(a.c.name, g, "the mean has fewer than 8 bytes")
	}
	m2b, rest, ok := readFloat64(rest)
	if !ok {
		return src, corrupt(a.c.name, g, "M2 has fewer than 8 bytes")
	}
	na := a.counts[g]
	if na == 0 {
		a.counts[g], a.means[g], a.m2s[g] = int64(nb), mb, m2b
		return rest, nil
	}
	n := na + int64(nb)
	fa, fb, fn := float64(na), float64(nb), float64(n)
	d := mb - a.means[g]
	a.means[g] += d * fb / fn
	a.m2s[g] += m2b + d*d*fa*fb/fn
	a.counts[g] = n
	return rest, nil
}

func (a *varianceAcc[T]) Finish(g int, b array.Builder) {
	fb := b.(*array.Float64Builder)
	n := a.counts[g]
	var v float64
	switch {
	case a.kind&varSamp != 0:
		if n < 2 {
			fb.AppendNull()
			return
		}
		v = a.m2s[g] / float64(n-1)
	default:
		if n == 0 {
			fb.AppendNull()
			return
		}
		v = a.m2s[g] / float64(n)
	}
	if v < 0 {
		// Rounding can leave M2 a hair below zero for constant input.
		v = 0
	}
	if a.kind&varSqrt != 0 {
		v = math.Sqrt(v)
	}
	fb.Append(v)
}
