package agg

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
)

func TestHLLPrecision(t *testing.T) {
	for _, c := range []struct {
		rsd  float64
		want uint8
	}{{0.05, 9}, {0.01, 14}, {0.5, 4}, {0.9, 4}, {0.001, 16}, {0.02, 12}} {
		if got := hllPrecision(c.rsd); got != c.want {
			t.Errorf("hllPrecision(%v) = %d, want %d", c.rsd, got, c.want)
		}
	}
}

func TestApproxCountDistinctAccuracy(t *testing.T) {
	types := []arrow.DataType{arrow.PrimitiveTypes.Int64, arrow.BinaryTypes.String, arrow.PrimitiveTypes.Float64, arrow.PrimitiveTypes.Int32}
	for _, rsd := range []float64{0.05, 0.01} {
		p := hllPrecision(rsd)
		se := 1.04 / math.Sqrt(float64(int(1)<<p))
		for ti, dt := range types {
			for _, d := range []int{1, 10, 50, 100, 1000, 10000, 100000} {
				if d == 100000 && ti > 1 {
					continue
				}
				t.Run(fmt.Sprintf("rsd=%v/%s/d=%d", rsd, dt, d), func(t *testing.T) {
					mem := checkedMem(t)
					rng := rand.New(rand.NewPCG(uint64(d), uint64(ti)))
					// Each distinct value appears one to three times, in
					// random order, with some nulls; group 1 gets every row
					// and group 0 none.
					var vals []any
					for i := range d {
						var v any
						switch dt.ID() {
						case arrow.STRING:
							v = fmt.Sprintf("key-%d", i)
						case arrow.FLOAT64:
							v = float64(i) * 0.5
						default:
							v = int64(i*7 + 3)
						}
						for range 1 + rng.IntN(3) {
							vals = append(vals, v)
						}
						if rng.IntN(20) == 0 {
							vals = append(vals, nil)
						}
					}
					rng.Shuffle(len(vals), func(i, j int) { vals[i], vals[j] = vals[j], vals[i] })
					gids := make([]int32, len(vals))
					for i := range gids {
						gids[i] = 1
					}
					arr := buildArray(t, mem, dt, vals)
					defer arr.Release()
					f := mustBind(t, "approx_count_distinct", []arrow.DataType{dt}, rsd)
					once := runOnce(t, mem, f, []arrow.Array{arr}, gids, 2)
					chunked := runChunked(t, mem, rng, f, []arrow.Array{arr}, gids, 2)
					if once[0] != int64(0) || chunked[0] != int64(0) {
						t.Fatalf("empty group: once %v chunked %v, want 0", once[0], chunked[0])
					}
					if once[1] != chunked[1] {
						t.Fatalf("once %v != chunked %v: the sketch should not depend on how input is split", once[1], chunked[1])
					}
					est := float64(once[1].(int64))
					relErr := math.Abs(est-float64(d)) / float64(d)
					bound := 3 * se
					if d <= 100 {
						bound = 0.02
					}
					if relErr > bound {
						t.Fatalf("estimate %v for %d distinct values: relative error %.4f above %.4f", est, d, relErr, bound)
					}
				})
			}
		}
	}
}

// TestApproxCountDistinctCanonical checks that -0.0 and 0.0 count once,
// as do NaNs with different payloads.
func TestApproxCountDistinctCanonical(t *testing.T) {
	mem := checkedMem(t)
	vals := []any{0.0, math.Copysign(0, -1), math.NaN(), math.Float64frombits(0x7ff8000000000001), 1.0, nil}
	arr := buildArray(t, mem, arrow.PrimitiveTypes.Float64, vals)
	defer arr.Release()
	f := mustBind(t, "approx_count_distinct", []arrow.DataType{arrow.PrimitiveTypes.Float64})
	got := runOnce(t, mem, f, []arrow.Array{arr}, make([]int32, len(vals)), 1)
	if got[0] != int64(3) {
		t.Fatalf("approx_count_distinct(0, -0, NaN, NaN', 1, null) = %v, want 3", got[0])
	}
}

// rankError returns how far v's ranks in sorted lie from rank r (1-based),
// or -1 when v is not in sorted.
func rankError(sorted []any, v any, r int) int {
	lo := 1 + countPrefix(sorted, func(x any) bool { return sparkLess(x, v) })
	hi := countPrefix(sorted, func(x any) bool { return !sparkLess(v, x) })
	switch {
	case hi < lo:
		return -1 // v does not occur
	case r < lo:
		return lo - r
	case r > hi:
		return r - hi
	}
	return 0
}

// countPrefix counts the prefix of sorted for which pred holds.
func countPrefix(sorted []any, pred func(any) bool) int {
	n := 0
	for n < len(sorted) && pred(sorted[n]) {
		n++
	}
	return n
}

func TestApproxPercentileRankError(t *testing.T) {
	pcts := []float64{0, 0.001, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 1}
	types := []arrow.DataType{arrow.PrimitiveTypes.Float64, arrow.PrimitiveTypes.Int64,
		&arrow.TimestampType{Unit: arrow.Millisecond}, arrow.PrimitiveTypes.Int16, arrow.FixedWidthTypes.Date32}
	worst := 0.0
	for ti, dt := range types {
		for _, n := range []int{1, 500, 5000, 60000} {
			for _, accuracy := range []int{10, 100, DefaultPercentileAccuracy} {
				t.Run(fmt.Sprintf("%s/n=%d/accuracy=%d", dt, n, accuracy), func(t *testing.T) {
					mem := checkedMem(t)
					rng := rand.New(rand.NewPCG(uint64(n), uint64(ti*100+accuracy)))
					card := 1000000
					if dt.ID() == arrow.INT16 {
						card = 20000
					}
					vals := make([]any, n)
					for i := range vals {
						vals[i] = genValue(rng, dt, card, dt.ID() == arrow.FLOAT64)
						if rng.IntN(50) == 0 {
							vals[i] = nil
						}
					}
					// Half the rows arrive sorted, which is the hard case
					// for compactors.
					slices.SortFunc(vals[:n/2], func(a, b any) int {
						switch {
						case a == nil || b == nil:
							return 0
						case sparkLess(a, b):
							return -1
						case sparkLess(b, a):
							return 1
						}
						return 0
					})
					gids := make([]int32, n)
					arr := buildArray(t, mem, dt, vals)
					defer arr.Release()
					f := mustBind(t, "percentile_approx", []arrow.DataType{dt}, pcts, accuracy)
					if !arrow.TypeEqual(f.ResultType(), arrow.ListOf(dt)) {
						t.Fatalf("result type %s, want list<%s>", f.ResultType(), dt)
					}
					var sorted []any
					for _, v := range vals {
						if v != nil {
							sorted = append(sorted, v)
						}
					}
					slices.SortStableFunc(sorted, func(a, b any) int {
						switch {
						case sparkLess(a, b):
							return -1
						case sparkLess(b, a):
							return 1
						}
						return 0
					})
					m := len(sorted)
					once := runOnce(t, mem, f, []arrow.Array{arr}, gids, 1)
					chunked := runChunked(t, mem, rng, f, []arrow.Array{arr}, gids, 1)
					for _, got := range [][]any{once, chunked} {
						if m == 0 {
							if got[0] != nil {
								t.Fatalf("no values: got %v, want null", got[0])
							}
							continue
						}
						res := got[0].([]any)
						for i, p := range pcts {
							r := max(int(math.Ceil(p*float64(m))), 1)
							e := rankError(sorted, res[i], r)
							if e < 0 {
								t.Fatalf("p=%v: %v did not occur in the input", p, res[i])
							}
							// The documented bound plus one rank of slack.
							if float64(e) > float64(m)/float64(accuracy)+1 {
								t.Fatalf("p=%v: got %v with rank error %d, above n/accuracy = %.1f", p, res[i], e, float64(m)/float64(accuracy))
							}
							worst = max(worst, float64(e)*float64(accuracy)/float64(m))
							if m < 2*accuracy && e != 0 {
								t.Fatalf("p=%v: %d values stay in level 0, so the answer should be exact; rank error %d", p, m, e)
							}
						}
					}
				})
			}
		}
	}
	t.Logf("worst rank error: %.3f n/accuracy", worst)
}

func TestApproxPercentileScalar(t *testing.T) {
	mem := checkedMem(t)
	vals := []any{int64(1), int64(2), int64(3), int64(4), int64(5), int64(6), int64(7), int64(8), int64(9), int64(10), nil}
	arr := buildArray(t, mem, arrow.PrimitiveTypes.Int64, vals)
	defer arr.Release()
	for _, c := range []struct {
		p    float64
		want int64
	}{{0, 1}, {0.5, 5}, {0.51, 6}, {0.95, 10}, {1, 10}, {0.1, 1}, {0.11, 2}} {
		f := mustBind(t, "approx_percentile", []arrow.DataType{arrow.PrimitiveTypes.Int64}, c.p)
		if !arrow.TypeEqual(f.ResultType(), arrow.PrimitiveTypes.Int64) {
			t.Fatalf("result type %s, want int64", f.ResultType())
		}
		got := runOnce(t, mem, f, []arrow.Array{arr}, []int32{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, -1}[:len(vals)], 2)
		if got[0] != c.want || got[1] != nil {
			t.Errorf("approx_percentile(1..10, %v) = %v (empty group %v), want %d and null", c.p, got[0], got[1], c.want)
		}
	}
}
