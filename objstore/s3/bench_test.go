package s3_test

import (
	"fmt"
	"testing"
)

// BenchmarkS3PutIfAbsent measures creating small log-entry-sized objects
// (one conditional PUT each) on the test MinIO.
func BenchmarkS3PutIfAbsent(b *testing.B) {
	s, _, _ := openStore(b, "bench")
	data := []byte("v1\n{\"batchWatermarkMs\":0,\"batchTimestampMs\":1700000000000}\n{\"p0\":12345}\n")
	b.SetBytes(int64(len(data)))
	i := 0
	for b.Loop() {
		if err := s.PutIfAbsent(b.Context(), fmt.Sprintf("offsets/%020d", i), data); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkS3Put1MiB measures replacing a 1 MiB object on the test MinIO.
func BenchmarkS3Put1MiB(b *testing.B) {
	s, _, _ := openStore(b, "bench")
	data := make([]byte, 1<<20)
	for i := range data {
		data[i] = byte(i * 31)
	}
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if err := s.Put(b.Context(), "part-00000.parquet", data); err != nil {
			b.Fatal(err)
		}
	}
}
