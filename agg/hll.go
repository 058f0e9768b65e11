package agg

import (
	"fmt"
	"math"
	"math/bits"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
)

// HyperLogLog constants. A sparse entry keeps the top hllSparseP bits of a
// hash (its fine index) and the rank of the remaining bits, as in
// HyperLogLog++; a group stays sparse while it has at most m/4 distinct
// fine indexes (m = 2^p registers), which costs no more memory than the
// dense registers, and is counted by linear counting over 2^25 buckets,
// which is exact in practice for such small sets.
const (
	hllSparseP    = 25
	hllRhoBits    = 6
	hllModeSparse = 0
	hllModeDense  = 1
)

// hllGroup is one group's sketch: sparse entries until the group has more
// than the sparse limit of distinct fine indexes, then dense registers.
type hllGroup struct {
	// sparse holds entries idx'<<6 | rho'; sparse[:sorted] is sorted with
	// one entry per fine index, the rest is an unsorted tail.
	sparse []uint32
	sorted int
	dense  []uint8 // 2^p registers once dense, else nil
}

// hllAcc implements approx_count_distinct.
type hllAcc[V any] struct {
	c       *codec[V]
	p       uint8
	limit   int // the most sparse entries a normalized group keeps
	groups  []hllGroup
	scratch []V
}

func newHLL[V any](c *codec[V], p uint8) *hllAcc[V] {
	return &hllAcc[V]{c: c, p: p, limit: max(1<<p/4, 8)}
}

func (a *hllAcc[V]) Len() int   { return len(a.groups) }
func (a *hllAcc[V]) Grow(n int) { a.groups = grow(a.groups, n) }
func (a *hllAcc[V]) Reset() {
	clear(a.groups)
	a.groups = a.groups[:0]
}
func (a *hllAcc[V]) MemoryBytes() int64 {
	n := sliceBytes(a.groups) + sliceBytes(a.scratch)
	for i := range a.groups {
		n += sliceBytes(a.groups[i].sparse) + sliceBytes(a.groups[i].dense)
	}
	return n
}

// sparseEntry encodes a hash as a sparse entry.
func sparseEntry(h uint64) uint32 {
	idx := uint32(h >> (64 - hllSparseP))
	rho := uint32(bits.LeadingZeros64(h<<hllSparseP|1<<(hllSparseP-1))) + 1
	return idx<<hllRhoBits | rho
}

// denseOf maps a sparse entry to its dense register index and value for
// precision p.
func denseOf(e uint32, p uint8) (idx uint32, rho uint8) {
	fine := e >> hllRhoBits
	shift := hllSparseP - uint32(p)
	idx = fine >> shift
	rest := fine & (1<<shift - 1)
	if rest != 0 {
		return idx, uint8(bits.LeadingZeros32(rest)-int(32-shift)) + 1
	}
	return idx, uint8(shift + e&(1<<hllRhoBits-1))
}

// addHash folds a hash into group g.
func (a *hllAcc[V]) addHash(g *hllGroup, h uint64) {
	if g.dense != nil {
		p := a.p
		idx := h >> (64 - p)
		rho := uint8(bits.LeadingZeros64(h<<p|1<<(p-1))) + 1
		if rho > g.dense[idx] {
			g.dense[idx] = rho
		}
		return
	}
	g.sparse = append(g.sparse, sparseEntry(h))
	if len(g.sparse)-g.sorted > a.limit {
		a.normalize(g)
	}
}

// normalize sorts and deduplicates g's sparse entries and makes g dense
// when it has more than the limit. Afterwards g's representation depends
// only on the set of hashes it has seen.
func (a *hllAcc[V]) normalize(g *hllGroup) {
	if g.dense != nil || g.sorted == len(g.sparse) {
		return
	}
	slices.Sort(g.sparse)
	// Keep one entry per fine index: the last, with the highest rank.
	out := g.sparse[:0]
	for i, e := range g.sparse {
		if i+1 < len(g.sparse) && g.sparse[i+1]>>hllRhoBits == e>>hllRhoBits {
			continue
		}
		out = append(out, e)
	}
	g.sparse = out
	g.sorted = len(out)
	if len(out) > a.limit {
		a.toDense(g)
	}
}

func (a *hllAcc[V]) toDense(g *hllGroup) {
	d := make([]uint8, 1<<a.p)
	for _, e := range g.sparse {
		idx, rho := denseOf(e, a.p)
		if rho > d[idx] {
			d[idx] = rho
		}
	}
	g.dense = d
	g.sparse = nil
	g.sorted = 0
}

func (a *hllAcc[V]) Update(args []arrow.Array, gids []int32) error {
	if err := checkRows(a.c.name, args, 1, gids); err != nil {
		return err
	}
	vals := a.c.load(args[0], &a.scratch)
	vals = vals[:len(gids)]
	bm, off := validity(args[0])
	hash := a.c.hash
	for i, g := range gids {
		if g < 0 || (bm != nil && !bitutil.BitIsSet(bm, off+i)) {
			continue
		}
		a.addHash(&a.groups[g], hash(vals[i]))
	}
	return nil
}

func (a *hllAcc[V]) AppendState(dst []byte, g int) []byte {
	grp := &a.groups[g]
	a.normalize(grp)
	dst = append(dst, a.p)
	if grp.dense != nil {
		dst = append(dst, hllModeDense)
		return append(dst, grp.dense...)
	}
	dst = append(dst, hllModeSparse)
	dst = appendUvarint(dst, uint64(len(grp.sparse)))
	prev := uint32(0)
	for _, e := range grp.sparse {
		dst = appendUvarint(dst, uint64(e-prev))
		prev = e
	}
	return dst
}

func (a *hllAcc[V]) MergeState(g int, src []byte) ([]byte, error) {
	p, rest, ok := readByte(src)
	if !ok {
		return src, corrupt(a.c.name, g, "the precision byte is missing")
	}
	if p != a.p {
		return src, corrupt(a.c.name, g, fmt.Sprintf("the precision is %d, want %d (a different rsd)", p, a.p))
	}
	mode, rest, ok := readByte(rest)
	if !ok || mode > hllModeDense {
		return src, corrupt(a.c.name, g, "the mode byte is missing or not 0 (sparse) or 1 (dense)")
	}
	grp := &a.groups[g]
	if mode == hllModeDense {
		m := 1 << a.p
		if len(rest) < m {
			return src, corrupt(a.c.name, g, fmt.Sprintf("the dense registers have %d bytes, want %d", len(rest), m))
		}
		regs := rest[:m]
		maxRho := uint8(65 - a.p)
		for _, r := range regs {
			if r > maxRho {
				return src, corrupt(a.c.name, g, fmt.Sprintf("a register holds %d, above the maximum %d", r, maxRho))
			}
		}
		a.normalize(grp)
		if grp.dense == nil {
			a.toDense(grp)
		}
		for i, r := range regs {
			if r > grp.dense[i] {
				grp.dense[i] = r
			}
		}
		return rest[m:], nil
	}
	n, rest, ok := readUvarint(rest)
	if !ok || n > uint64(len(rest)) {
		return src, corrupt(a.c.name, g, "the sparse entry count is not a uvarint or exceeds the bytes that follow")
	}
	// Decode fully before changing the group, so that an error leaves it
	// unchanged.
	entries := make([]uint32, 0, n)
	prev := uint64(0)
	for i := range n {
		d, r, ok := readUvarint(rest)
		rest = r
		e := prev + d
		if !ok || (i > 0 && d == 0) || e >= 1<<(hllSparseP+hllRhoBits) || e&(1<<hllRhoBits-1) == 0 ||
			e&(1<<hllRhoBits-1) > 64-hllSparseP+1 {
			return src, corrupt(a.c.name, g, fmt.Sprintf("sparse entry %d of %d is malformed", i+1, n))
		}
		entries = append(entries, uint32(e))
		prev = e
	}
	if grp.dense != nil {
		for _, e := range entries {
			idx, rho := denseOf(e, a.p)
			if rho > grp.dense[idx] {
				grp.dense[idx] = rho
			}
		}
		return rest, nil
	}
	grp.sparse = append(grp.sparse, entries...)
	grp.sorted = 0
	a.normalize(grp)
	return rest, nil
}

// estimate returns the group's cardinality estimate.
func (a *hllAcc[V]) estimate(g *hllGroup) float64 {
	if g.dense == nil {
		// Linear counting over the 2^25 fine buckets.
		k := float64(len(g.sparse))
		mp := float64(1 << hllSparseP)
		return mp * math.Log(mp/(mp-k))
	}
	return ertlEstimate(g.dense, a.p)
}

// ertlEstimate is the improved raw estimator of O. Ertl, "New cardinality
// estimation algorithms for HyperLogLog sketches" (2017): unbiased across
// the whole range, with no empirical bias tables.
func ertlEstimate(regs []uint8, p uint8) float64 {
	q := 64 - int(p)
	m := float64(len(regs))
	var hist [66]int
	for _, r := range regs {
		hist[r]++
	}
	z := m * hllTau(1-float64(hist[q+1])/m)
	for k := q; k >= 1; k-- {
		z += float64(hist[k])
		z *= 0.5
	}
	z += m * hllSigma(float64(hist[0])/m)
	return m * m / (2 * math.Ln2 * z)
}

func hllSigma(x float64) float64 {
	if x == 1 {
		return math.Inf(1)
	}
	y, z := 1.0, x
	for {
		x *= x
		prev := z
		z += x * y
		y += y
		if z == prev {
			return z
		}
	}
}

func hllTau(x float64) float64 {
	if x == 0 || x == 1 {
		return 0
	}
	y, z := 1.0, 1-x
	for {
		x = math.Sqrt(x)
		prev := z
		y *= 0.5
		z -= (1 - x) * (1 - x) * y
		if z == prev {
			return z / 3
		}
	}
}

func (a *hllAcc[V]) Finish(g int, b array.Builder) {
	grp := &a.groups[g]
	a.normalize(grp)
	b.(*array.Int64Builder).Append(int64(math.Round(a.estimate(grp))))
}
