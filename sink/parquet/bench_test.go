package parquet

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/objstore"
)

var benchSchema = arrow.NewSchema([]arrow.Field{
	{Name: "ts", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}},
	{Name: "value", Type: arrow.PrimitiveTypes.Int64},
	{Name: "key", Type: arrow.BinaryTypes.String},
}, nil)

// benchRecords returns rows rows in records of 64Ki rows; the caller
// releases them.
func benchRecords(mem memory.Allocator, rows int) []arrow.RecordBatch {
	const per = 1 << 16
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixMicro()
	var out []arrow.RecordBatch
	for from := 0; from < rows; from += per {
		b := array.NewRecordBuilder(mem, benchSchema)
		n := min(per, rows-from)
		ts := b.Field(0).(*array.TimestampBuilder)
		val := b.Field(1).(*array.Int64Builder)
		key := b.Field(2).(*array.StringBuilder)
		for i := from; i < from+n; i++ {
			ts.Append(arrow.Timestamp(start + int64(i)*1000))
			val.Append(int64(i*7919) % 100003)
			key.Append(fmt.Sprintf("user-%d", i%5000))
		}
		out = append(out, b.NewRecordBatch())
		b.Release()
	}
	return out
}

func BenchmarkParquetWrite(b *testing.B) {
	const rows = 1_000_000
	mem := memory.NewGoAllocator()
	recs := benchRecords(mem, rows)
	defer releaseAll(recs)
	for _, c := range []Compression{Snappy, None} {
		b.Run(c.String(), func(b *testing.B) {
			store, err := objstore.NewDir(b.TempDir())
			if err != nil {
				b.Fatal(err)
			}
			s, err := New(store, WithCompression(c))
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			var id int64
			for b.Loop() {
				if err := s.AddBatch(ctx, id, recs); err != nil {
					b.Fatal(err)
				}
				id++
			}
			b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}
