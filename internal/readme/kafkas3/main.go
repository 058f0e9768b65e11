package main

import (
	"context"
	"os"
	"time"

	"github.com/sluicehq/sluice/dataframe"
	"github.com/sluicehq/sluice/objstore/s3"
	"github.com/sluicehq/sluice/sink/parquet"
	"github.com/sluicehq/sluice/source/kafka"
)

// Kafka topic "events" -> Parquet on S3, checkpoint on S3. Endpoint and
// credentials come from AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, ...; the bucket
// from LAKE_BUCKET.
func main() {
	ctx := context.Background()
	bucket := os.Getenv("LAKE_BUCKET")
	src, err := kafka.New(ctx, kafka.WithBrokers(os.Getenv("KAFKA_BROKERS")), kafka.WithTopics("events"),
		kafka.WithMaxOffsetsPerTrigger(100_000), kafka.WithIsolationLevel(kafka.ReadCommitted))
	if err != nil {
		panic(err)
	}
	out, err := s3.Open(ctx, "s3://"+bucket+"/events")
	if err != nil {
		panic(err)
	}
	pq, err := parquet.New(out)
	if err != nil {
		panic(err)
	}
	q, err := dataframe.ReadStream(src).
		Select(dataframe.Col("value"), dataframe.Col("timestamp")).
		WriteStream(pq).
		Checkpoint("s3://" + bucket + "/_checkpoints/events").
		Start(ctx)
	if err != nil {
		panic(err)
	}
	time.Sleep(3 * time.Second)
	if err := q.Stop(ctx); err != nil {
		panic(err)
	}
}
