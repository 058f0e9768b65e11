package bench

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/testservices"
	"github.com/sluicehq/sluice/objstore"
	s3store "github.com/sluicehq/sluice/objstore/s3"
	pqsink "github.com/sluicehq/sluice/sink/parquet"
)

// BenchmarkRateToParquetS3 is BenchmarkRateToParquet with the checkpoint
// and the Parquet files on MinIO (the local test server), snappy.
func BenchmarkRateToParquetS3(b *testing.B) {
	ep := testservices.MinIO(b)
	bucket := testservices.NewBucket(b, ep)
	for i := 0; i < b.N; i++ {
		st, err := s3store.Open(context.Background(), fmt.Sprintf("s3://%s/run%d", bucket, i),
			s3store.WithEndpoint(ep.Endpoint), s3store.WithCredentials(ep.AccessKey, ep.SecretKey, ""),
			s3store.WithRegion(ep.Region), s3store.WithSecure(ep.Secure), s3store.WithRetries(10, 100*time.Millisecond))
		if err != nil {
			b.Fatal(err)
		}
		runRateToParquetOn(b, pqsink.Snappy, objstore.Prefixed(st, "ckpt"), objstore.Prefixed(st, "out"))
	}
}
