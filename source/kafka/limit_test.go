package kafka

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"
)

func mkSpans(sizes ...int64) []span {
	out := make([]span, len(sizes))
	for i, n := range sizes {
		out[i] = span{tp: TopicPartition{"t", int32(i)}, from: 100, end: 100 + n, order: i}
	}
	return out
}

func assigned(spans []span) []int64 {
	out := make([]int64, len(spans))
	for i, s := range spans {
		out[i] = s.end - s.from
	}
	return out
}

func equalInts(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestLimitSpansExamples(t *testing.T) {
	for _, c := range []struct {
		name  string
		sizes []int64
		limit int64
		want  []int64
	}{
		{"under the limit reads all", []int64{3, 4}, 10, []int64{3, 4}},
		{"exactly the limit reads all", []int64{3, 7}, 10, []int64{3, 7}},
		// one each, then 97 split over backlogs 999, 9, 0 of 1008:
		// 96.13 and 0.87 round down to 96 and 0; the one left over goes to
		// the larger remainder (0.87).
		{"skewed", []int64{1000, 10, 1}, 100, []int64{97, 2, 1}},
		{"proportional", []int64{300, 100}, 40, []int64{30, 10}},
		{"equal backlogs share equally, leftovers to the first", []int64{10, 10, 10}, 10, []int64{4, 3, 3}},
		{"limit below the partitions: largest backlogs first", []int64{5, 50, 50, 1}, 2, []int64{0, 1, 1, 0}},
		{"limit equal to the partitions: one each", []int64{5, 50, 1}, 3, []int64{1, 1, 1}},
		{"huge backlogs do not overflow", []int64{math.MaxInt64 - 200, math.MaxInt64 - 200}, math.MaxInt64 - 1,
			[]int64{math.MaxInt64 / 2, math.MaxInt64 / 2}},
	} {
		t.Run(c.name, func(t *testing.T) {
			spans := mkSpans(c.sizes...)
			limitSpans(spans, c.limit)
			if got := assigned(spans); !equalInts(got, c.want) {
				t.Fatalf("limitSpans(%v, %d) = %v, want %v", c.sizes, c.limit, got, c.want)
			}
		})
	}
}

// TestLimitSpansProperties checks, over random inputs, that the shares sum
// to min(limit, total), stay within each backlog, give every partition one
// offset when the limit allows, are within one of the exact proportional
// share, and do not depend on the order of the input.
func TestLimitSpansProperties(t *testing.T) {
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	for iter := 0; iter < 2000; iter++ {
		n := 1 + rng.IntN(12)
		sizes := make([]int64, n)
		var total int64
		for i := range sizes {
			switch rng.IntN(3) {
			case 0:
				sizes[i] = 1 + rng.Int64N(3)
			case 1:
				sizes[i] = 1 + rng.Int64N(1000)
			default:
				sizes[i] = 1 + rng.Int64N(1_000_000)
			}
			total += sizes[i]
		}
		limit := 1 + rng.Int64N(total+10)
		spans := mkSpans(sizes...)
		limitSpans(spans, limit)
		got := assigned(spans)
		var sum int64
		for i, g := range got {
			sum += g
			if g < 0 || g > sizes[i] {
				t.Fatalf("sizes %v limit %d: share %d of partition %d is outside [0, %d]", sizes, limit, g, i, sizes[i])
			}
			if limit >= int64(n) && g < 1 {
				t.Fatalf("sizes %v limit %d: partition %d with data got nothing", sizes, limit, i)
			}
		}
		if want := min(limit, total); sum != want {
			t.Fatalf("sizes %v limit %d: shares %v sum to %d, want %d", sizes, limit, got, sum, want)
		}
		if total > limit && limit >= int64(n) {
			// exact share 1 + (limit-n)*(size-1)/(total-n), within one
			rest := big.NewRat(limit-int64(n), total-int64(n))
			for i, g := range got {
				exact := new(big.Rat).Mul(rest, big.NewRat(sizes[i]-1, 1))
				exact.Add(exact, big.NewRat(1, 1))
				diff := new(big.Rat).Sub(big.NewRat(g, 1), exact)
				if diff.Abs(diff).Cmp(big.NewRat(1, 1)) >= 0 {
					t.Fatalf("sizes %v limit %d: share %d of partition %d is not within one of %s", sizes, limit, g, i, exact.FloatString(3))
				}
			}
		}
		// The same spans in another order get the same shares.
		shuffled := mkSpans(sizes...)
		rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		limitSpans(shuffled, limit)
		for _, sp := range shuffled {
			if g := sp.end - sp.from; g != got[sp.order] {
				t.Fatalf("sizes %v limit %d: partition %d got %d in one order and %d in another", sizes, limit, sp.order, got[sp.order], g)
			}
		}
	}
}
