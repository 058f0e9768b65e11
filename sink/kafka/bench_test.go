package kafka_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/sink/kafka"
)

const benchRows = 100_000

var benchSchema = arrow.NewSchema([]arrow.Field{
	{Name: "key", Type: arrow.BinaryTypes.Binary},
	{Name: "value", Type: arrow.BinaryTypes.Binary},
}, nil)

// benchRecord builds benchRows rows with 8-byte keys and 100-byte values;
// the caller releases it.
func benchRecord(mem memory.Allocator) arrow.RecordBatch {
	b := array.NewRecordBuilder(mem, benchSchema)
	defer b.Release()
	keys := b.Field(0).(*array.BinaryBuilder)
	vals := b.Field(1).(*array.BinaryBuilder)
	keys.Reserve(benchRows)
	vals.Reserve(benchRows)
	val := bytes.Repeat([]byte("x"), 100)
	key := make([]byte, 8)
	for i := range benchRows {
		for j := range key {
			key[j] = byte(i >> (8 * j))
		}
		keys.Append(key)
		vals.Append(val)
	}
	return b.NewRecordBatch()
}

func benchmarkSink(b *testing.B, g kafka.Guarantee) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(b, 0)
	brokers := kafkaBrokers(b)
	s := open(b, brokers, unique(b, "q"), benchSchema, kafka.WithTopic(unique(b, "bench")), kafka.WithGuarantee(g))
	rec := benchRecord(mem)
	defer rec.Release()
	recs := []arrow.RecordBatch{rec}
	ctx := context.Background()
	var batch int64
	b.SetBytes(benchRows * 108)
	b.ResetTimer()
	for b.Loop() {
		if err := s.AddBatch(ctx, batch, recs); err != nil {
			b.Fatal(err)
		}
		batch++
	}
	b.ReportMetric(float64(batch*benchRows)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkKafkaSinkAtLeastOnce writes batches of 100k records with
// 100-byte values through the idempotent producer.
func BenchmarkKafkaSinkAtLeastOnce(b *testing.B) { benchmarkSink(b, kafka.AtLeastOnce) }

// BenchmarkKafkaSinkExactlyOnce writes the same batches, one transaction
// each.
func BenchmarkKafkaSinkExactlyOnce(b *testing.B) { benchmarkSink(b, kafka.ExactlyOnce) }
