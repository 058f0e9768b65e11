package agg

import (
	"math/rand/v2"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

const (
	benchRows   = 1 << 20
	benchGroups = 1000
)

// benchInput is 1M int64 rows (no nulls) spread over 1k groups.
func benchInput(b *testing.B) (*array.Int64, []int32) {
	rng := rand.New(rand.NewPCG(1, 1))
	bld := array.NewInt64Builder(memory.NewGoAllocator())
	defer bld.Release()
	gids := make([]int32, benchRows)
	for i := range benchRows {
		bld.Append(rng.Int64N(1 << 20))
		gids[i] = int32(rng.IntN(benchGroups))
	}
	return bld.NewInt64Array(), gids
}

func reportRows(b *testing.B) {
	b.ReportMetric(float64(b.N)*benchRows/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkUpdate measures Update over 1M rows into 1k groups, beside a
// hand-written loop doing the same work (the limit).
func BenchmarkUpdate(b *testing.B) {
	vals, gids := benchInput(b)
	defer vals.Release()
	args := []arrow.Array{vals}
	for _, c := range []struct {
		name   string
		fn     string
		noArgs bool
	}{
		{"sum_int64", "sum", false},
		{"count_star", "count", true},
		{"min_int64", "min", false},
		{"avg_int64", "avg", false},
	} {
		b.Run(c.name, func(b *testing.B) {
			var f Func
			var in []arrow.Array
			if c.noArgs {
				f = mustBind(b, c.fn, nil)
			} else {
				f = mustBind(b, c.fn, []arrow.DataType{arrow.PrimitiveTypes.Int64})
				in = args
			}
			acc := f.NewAccumulator()
			acc.Grow(benchGroups)
			b.ResetTimer()
			for b.Loop() {
				if err := acc.Update(in, gids); err != nil {
					b.Fatal(err)
				}
			}
			reportRows(b)
		})
	}
	b.Run("handwritten_sum_int64", func(b *testing.B) {
		sums := make([]int64, benchGroups)
		seen := make([]bool, benchGroups)
		raw := vals.Int64Values()
		for b.Loop() {
			for i, g := range gids {
				sums[g] += raw[i]
				seen[g] = true
			}
		}
		reportRows(b)
	})
	b.Run("handwritten_count_star", func(b *testing.B) {
		counts := make([]int64, benchGroups)
		for b.Loop() {
			for _, g := range gids {
				counts[g]++
			}
		}
		reportRows(b)
	})
}
