package incremental_test

import (
	"context"
	"math/rand/v2"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/expr"
	"github.com/sluicehq/sluice/incremental"
	"github.com/sluicehq/sluice/plan"
)

const (
	benchRows  = 1 << 20
	benchChunk = 1 << 16
)

var benchSchema = arrow.NewSchema([]arrow.Field{
	{Name: "timestamp", Type: arrow.FixedWidthTypes.Timestamp_us},
	{Name: "value", Type: arrow.PrimitiveTypes.Int64},
}, nil)

// benchRecords is 1M rows of (timestamp, value) in 64K-row records, as a
// rate source would deliver them; values are uniform in [0, 1000).
func benchRecords(mem memory.Allocator) []arrow.RecordBatch {
	r := rand.New(rand.NewPCG(1, 1))
	var recs []arrow.RecordBatch
	for start := 0; start < benchRows; start += benchChunk {
		b := array.NewRecordBuilder(mem, benchSchema)
		ts := b.Field(0).(*array.TimestampBuilder)
		vs := b.Field(1).(*array.Int64Builder)
		for i := start; i < start+benchChunk; i++ {
			ts.Append(arrow.Timestamp(1_700_000_000_000_000 + int64(i)*1000))
			vs.Append(r.Int64N(1000))
		}
		recs = append(recs, b.NewRecordBatch())
		b.Release()
	}
	return recs
}

// BenchmarkFilterProject runs
//
//	Where(value > 250 AND value < 750).Select(timestamp, value * 7 + 3 AS reading)
//
// over 1M rows through the Pipeline, beside a hand-written Go loop doing
// the same work over the same arrays (the limit): both report rows/s.
func BenchmarkFilterProject(b *testing.B) {
	mem := memory.NewGoAllocator()
	recs := benchRecords(mem)
	defer func() {
		for _, r := range recs {
			r.Release()
		}
	}()
	ctx := context.Background()

	b.Run("pipeline", func(b *testing.B) {
		scan := plan.NewScan(0, "bench", benchSchema)
		f, err := plan.NewFilter(scan, expr.Col("value").Gt(expr.Lit(250)).And(expr.Col("value").Lt(expr.Lit(750))))
		if err != nil {
			b.Fatal(err)
		}
		proj, err := plan.NewProject(f, expr.Col("timestamp"), expr.Col("value").Mul(expr.Lit(7)).Add(expr.Lit(3)).As("reading"))
		if err != nil {
			b.Fatal(err)
		}
		p, err := incremental.Build(proj, mem)
		if err != nil {
			b.Fatal(err)
		}
		b.ResetTimer()
		var kept int64
		for i := 0; i < b.N; i++ {
			kept = 0
			for _, rec := range recs {
				outs, err := p.Process(ctx, 0, rec)
				if err != nil {
					b.Fatal(err)
				}
				for _, o := range outs {
					kept += o.NumRows()
					o.Release()
				}
			}
		}
		b.ReportMetric(float64(benchRows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		b.ReportMetric(float64(kept), "rows-out")
	})

	b.Run("handloop", func(b *testing.B) {
		ts := make([]arrow.Timestamp, 0, benchChunk)
		reading := make([]int64, 0, benchChunk)
		b.ResetTimer()
		var kept int64
		for i := 0; i < b.N; i++ {
			kept = 0
			for _, rec := range recs {
				tsIn := rec.Column(0).(*array.Timestamp).Values()
				vIn := rec.Column(1).(*array.Int64).Values()
				ts, reading = ts[:0], reading[:0]
				for j, v := range vIn {
					if v > 250 && v < 750 {
						ts = append(ts, tsIn[j])
						reading = append(reading, v*7+3)
					}
				}
				kept += int64(len(reading))
			}
		}
		b.ReportMetric(float64(benchRows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		b.ReportMetric(float64(kept), "rows-out")
	})
}
