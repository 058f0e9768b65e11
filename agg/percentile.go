package agg

import (
	"fmt"
	"math"
	"slices"
	"sort"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
)

// percentileCapacity is the number of values a level of the sketch holds
// before it is compacted, for an accuracy.
func percentileCapacity(accuracy int) int {
	k := 2 * accuracy
	return max(k, 8)
}

// maxPercentileLevels bounds the levels of a sketch: level h holds values
// of weight 2^h, and a count of 2^63 needs fewer.
const maxPercentileLevels = 63

// pctGroup is one group's quantile sketch: a stack of compactors. Level h
// holds values of weight 2^h; level 0 is in arrival order. When a level
// reaches k values it is sorted and every other value (starting at offset
// 0 or 1, alternating per level) is promoted to the next level with twice
// the weight; an odd value out stays.
type pctGroup[T numeric] struct {
	levels [][]T
	parity uint64 // bit h: the offset of level h's next compaction
}

// percentileAcc implements approx_percentile with a deterministic
// mergeable compactor sketch; see docs/format/aggregate-state.md for the
// error bound.
type percentileAcc[T numeric] struct {
	c       *codec[T]
	k       int
	pcts    []float64
	list    bool
	groups  []pctGroup[T]
	scratch []T
}

func (a *percentileAcc[T]) Len() int   { return len(a.groups) }
func (a *percentileAcc[T]) Grow(n int) { a.groups = grow(a.groups, n) }
func (a *percentileAcc[T]) Reset() {
	clear(a.groups)
	a.groups = a.groups[:0]
}
func (a *percentileAcc[T]) MemoryBytes() int64 {
	n := sliceBytes(a.groups) + sliceBytes(a.scratch)
	for i := range a.groups {
		n += sliceBytes(a.groups[i].levels)
		for _, l := range a.groups[i].levels {
			n += sliceBytes(l)
		}
	}
	return n
}

// compress compacts every level that holds k or more values.
func (a *percentileAcc[T]) compress(g *pctGroup[T]) {
	for h := 0; h < len(g.levels); h++ {
		if len(g.levels[h]) >= a.k && h < maxPercentileLevels {
			a.compact(g, h)
		}
	}
}

func (a *percentileAcc[T]) compact(g *pctGroup[T], h int) {
	lv := g.levels[h]
	slices.SortFunc(lv, cmpNum[T])
	pairs := lv
	odd := len(lv)%2 == 1
	var hold T
	if odd {
		hold = lv[len(lv)-1]
		pairs = lv[:len(lv)-1]
	}
	if h+1 == len(g.levels) {
		g.levels = append(g.levels, make([]T, 0, a.k))
	}
	up := g.levels[h+1]
	for i := int(g.parity >> h & 1); i < len(pairs); i += 2 {
		up = append(up, pairs[i])
	}
	g.levels[h+1] = up
	g.parity ^= 1 << h
	lv = lv[:0]
	if odd {
		lv = append(lv, hold)
	}
	g.levels[h] = lv
}

func (a *percentileAcc[T]) Update(args []arrow.Array, gids []int32) error {
	if err := checkRows(a.c.name, args, 1, gids); err != nil {
		return err
	}
	vals := numValues(args[0], &a.scratch)
	vals = vals[:len(gids)]
	bm, off := validity(args[0])
	for i, g := range gids {
		if g < 0 || (bm != nil && !bitutil.BitIsSet(bm, off+i)) {
			continue
		}
		grp := &a.groups[g]
		if len(grp.levels) == 0 {
			grp.levels = append(grp.levels, nil)
		}
		grp.levels[0] = append(grp.levels[0], vals[i])
		if len(grp.levels[0]) >= a.k {
			a.compress(grp)
		}
	}
	return nil
}

func (a *percentileAcc[T]) AppendState(dst []byte, g int) []byte {
	grp := &a.groups[g]
	dst = appendUvarint(dst, uint64(len(grp.levels)))
	for h, lv := range grp.levels {
		dst = appendUvarint(dst, uint64(len(lv))<<1|grp.parity>>h&1)
		for _, v := range lv {
			dst = a.c.enc(dst, v)
		}
	}
	return dst
}

func (a *percentileAcc[T]) MergeState(g int, src []byte) ([]byte, error) {
	nl, rest, ok := readUvarint(src)
	if !ok || nl > maxPercentileLevels+1 {
		return src, corrupt(a.c.name, g, "the level count is not a uvarint of at most 64")
	}
	levels := make([][]T, nl)
	var parity uint64
	for h := range int(nl) {
		var hdr uint64
		hdr, rest, ok = readUvarint(rest)
		n := hdr >> 1
		if !ok || n > uint64(len(rest)) {
			return src, corrupt(a.c.name, g, fmt.Sprintf("level %d's value count is not a uvarint or exceeds the bytes that follow", h))
		}
		parity |= (hdr & 1) << h
		lv := make([]T, 0, n)
		for i := range n {
			var v T
			v, rest, ok = a.c.dec(rest)
			if !ok {
				return src, corrupt(a.c.name, g, fmt.Sprintf("value %d of level %d is malformed for %s", i+1, h, a.c.typ))
			}
			lv = append(lv, v)
		}
		levels[h] = lv
	}
	// src arrived earlier: its values go first in each level.
	grp := &a.groups[g]
	for h, lv := range grp.levels {
		if h < len(levels) {
			levels[h] = append(levels[h], lv...)
		} else {
			levels = append(levels, lv)
		}
	}
	grp.levels = levels
	grp.parity ^= parity
	a.compress(grp)
	return rest, nil
}

// weighted is a value of the sketch with its weight.
type weighted[T numeric] struct {
	v T
	w int64
}

func (a *percentileAcc[T]) Finish(g int, b array.Builder) {
	grp := &a.groups[g]
	var n int
	for _, lv := range grp.levels {
		n += len(lv)
	}
	if n == 0 {
		b.AppendNull()
		return
	}
	items := make([]weighted[T], 0, n)
	for h, lv := range grp.levels {
		for _, v := range lv {
			items = append(items, weighted[T]{v, 1 << h})
		}
	}
	slices.SortFunc(items, func(x, y weighted[T]) int { return cmpNum(x.v, y.v) })
	cum := make([]int64, len(items))
	var total int64
	for i, it := range items {
		total += it.w
		cum[i] = total
	}
	at := func(p float64) T {
		r := min(max(int64(math.Ceil(p*float64(total))), 1), total)
		return items[sort.Search(len(cum), func(i int) bool { return cum[i] >= r })].v
	}
	if !a.list {
		a.c.app(b, at(a.pcts[0]))
		return
	}
	lb := b.(*array.ListBuilder)
	lb.Append(true)
	vb := lb.ValueBuilder()
	for _, p := range a.pcts {
		a.c.app(vb, at(p))
	}
}
