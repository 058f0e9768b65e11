package integration

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/dataframe"
	"github.com/sluicehq/sluice/engine"
	"github.com/sluicehq/sluice/internal/testservices"
	"github.com/sluicehq/sluice/objstore"
	s3store "github.com/sluicehq/sluice/objstore/s3"
	kafkasink "github.com/sluicehq/sluice/sink/kafka"
	"github.com/sluicehq/sluice/sink/parquet"
	kafkasrc "github.com/sluicehq/sluice/source/kafka"
	"github.com/sluicehq/sluice/trigger"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// uniqueName returns a topic or prefix name unique to this test and run.
func uniqueName(t testing.TB, kind string) string {
	n := strings.NewReplacer("/", "-", "_", "-").Replace(strings.ToLower(t.Name()))
	if len(n) > 40 {
		n = n[:40]
	}
	return fmt.Sprintf("%s-%s-%d", kind, n, time.Now().UnixNano()%1_000_000_000)
}

func createTopic(t testing.TB, brokers []string, topic string, partitions int32) {
	t.Helper()
	admin, err := sarama.NewClusterAdmin(brokers, sarama.NewConfig())
	if err != nil {
		t.Fatalf("kafka admin: %v", err)
	}
	defer admin.Close()
	if err := admin.CreateTopic(topic, &sarama.TopicDetail{NumPartitions: partitions, ReplicationFactor: 1}, false); err != nil {
		t.Fatalf("creating topic %s: %v", topic, err)
	}
}

// produceIDs writes ids [from, to) to topic as values "<id>", keyed by id.
func produceIDs(t testing.TB, brokers []string, topic string, from, to int) {
	t.Helper()
	cfg := sarama.NewConfig()
	cfg.Producer.Return.Successes = true
	cfg.Producer.RequiredAcks = sarama.WaitForAll
	p, err := sarama.NewSyncProducer(brokers, cfg)
	if err != nil {
		t.Fatalf("producer: %v", err)
	}
	defer p.Close()
	msgs := make([]*sarama.ProducerMessage, 0, to-from)
	for i := from; i < to; i++ {
		msgs = append(msgs, &sarama.ProducerMessage{
			Topic: topic,
			Key:   sarama.StringEncoder(strconv.Itoa(i)),
			Value: sarama.StringEncoder(strconv.Itoa(i)),
		})
	}
	if len(msgs) == 0 {
		return
	}
	if err := p.SendMessages(msgs); err != nil {
		t.Fatalf("producing %d records to %s: %v", len(msgs), topic, err)
	}
}

// openS3 opens s3://bucket/prefix on the test MinIO with generous retries,
// so a restarting server is waited for.
func openS3(ctx context.Context, t testing.TB, ep testservices.S3Endpoint, bucket, prefix string) *s3store.Store {
	t.Helper()
	st, err := s3store.Open(ctx, "s3://"+bucket+"/"+prefix,
		s3store.WithEndpoint(ep.Endpoint),
		s3store.WithCredentials(ep.AccessKey, ep.SecretKey, ""),
		s3store.WithRegion(ep.Region),
		s3store.WithSecure(ep.Secure),
		s3store.WithRetries(40, 100*time.Millisecond),
	)
	if err != nil {
		t.Fatalf("opening s3://%s/%s: %v", bucket, prefix, err)
	}
	return st
}

// kafkaToParquet starts the job under test: Kafka -> filter/project ->
// Parquet, checkpoint and output in store (under "ckpt" and "out").
func kafkaToParquet(ctx context.Context, brokers []string, topic string, store objstore.Store, tr trigger.Trigger, maxOffsets int64, mem memory.Allocator) (*engine.Query, error) {
	src, err := kafkasrc.New(ctx,
		kafkasrc.WithBrokers(brokers...),
		kafkasrc.WithTopics(topic),
		kafkasrc.WithMaxOffsetsPerTrigger(maxOffsets),
		kafkasrc.WithLogger(quiet),
	)
	if err != nil {
		return nil, err
	}
	pq, err := parquet.New(objstore.Prefixed(store, "out"), parquet.WithAllocator(mem))
	if err != nil {
		src.Close()
		return nil, err
	}
	q, err := dataframe.ReadStream(src).
		Where(dataframe.Col("offset").Ge(dataframe.Lit(int64(0)))).
		Select(dataframe.Col("value"), dataframe.Col("partition"), dataframe.Col("offset")).
		WriteStream(pq).
		QueryName("kafka-to-parquet").
		Trigger(tr).
		CheckpointStore(objstore.Prefixed(store, "ckpt")).
		Allocator(mem).
		Engine(engine.New(engine.WithLogger(quiet))).
		Start(ctx)
	if err != nil {
		src.Close()
	}
	return q, err
}

// kafkaToKafka starts Kafka -> project -> Kafka exactly-once.
func kafkaToKafka(ctx context.Context, brokers []string, in, out string, store objstore.Store, tr trigger.Trigger, maxOffsets int64) (*engine.Query, error) {
	src, err := kafkasrc.New(ctx,
		kafkasrc.WithBrokers(brokers...),
		kafkasrc.WithTopics(in),
		kafkasrc.WithMaxOffsetsPerTrigger(maxOffsets),
		kafkasrc.WithLogger(quiet),
	)
	if err != nil {
		return nil, err
	}
	snk, err := kafkasink.New(kafkasink.WithBrokers(brokers...), kafkasink.WithTopic(out), kafkasink.WithGuarantee(kafkasink.ExactlyOnce))
	if err != nil {
		src.Close()
		return nil, err
	}
	q, err := dataframe.ReadStream(src).
		Select(dataframe.Col("key"), dataframe.Col("value")).
		WriteStream(snk).
		QueryName("kafka-to-kafka").
		Trigger(tr).
		CheckpointStore(store).
		Engine(engine.New(engine.WithLogger(quiet))).
		Start(ctx)
	if err != nil {
		src.Close()
	}
	return q, err
}

// committedParquetIDs reads the committed Parquet output through the sink
// log and returns the ids it holds, sorted.
func committedParquetIDs(ctx context.Context, t testing.TB, store objstore.Store) []int {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	recs, err := parquet.ReadCommitted(ctx, objstore.Prefixed(store, "out"), mem)
	if err != nil {
		t.Fatalf("reading committed Parquet: %v", err)
	}
	var ids []int
	for _, r := range recs {
		col := r.Column(r.Schema().FieldIndices("value")[0]).(*array.Binary)
		for i := 0; i < col.Len(); i++ {
			id, err := strconv.Atoi(string(col.Value(i)))
			if err != nil {
				t.Fatalf("output value %q is not an id", col.Value(i))
			}
			ids = append(ids, id)
		}
		r.Release()
	}
	sort.Ints(ids)
	return ids
}

// readCommittedIDs reads topic with isolation read_committed until idle
// and returns the ids seen, sorted (duplicates kept).
func readCommittedIDs(t testing.TB, brokers []string, topic string, want int) []int {
	t.Helper()
	cfg := sarama.NewConfig()
	cfg.Consumer.IsolationLevel = sarama.ReadCommitted
	cfg.Consumer.Offsets.Initial = sarama.OffsetOldest
	c, err := sarama.NewConsumer(brokers, cfg)
	if err != nil {
		t.Fatalf("consumer: %v", err)
	}
	defer c.Close()
	parts, err := c.Partitions(topic)
	if err != nil {
		t.Fatalf("partitions of %s: %v", topic, err)
	}
	msgs := make(chan int, 1024)
	for _, p := range parts {
		pc, err := c.ConsumePartition(topic, p, sarama.OffsetOldest)
		if err != nil {
			t.Fatalf("consuming %s/%d: %v", topic, p, err)
		}
		defer pc.Close()
		go func() {
			for m := range pc.Messages() {
				id, err := strconv.Atoi(string(m.Value))
				if err != nil {
					id = -1
				}
				msgs <- id
			}
		}()
	}
	var ids []int
	idle := time.NewTimer(5 * time.Second)
	defer idle.Stop()
	for {
		select {
		case id := <-msgs:
			ids = append(ids, id)
			if len(ids) >= want {
				// Keep listening briefly for duplicates.
				idle.Reset(time.Second)
			}
		case <-idle.C:
			sort.Ints(ids)
			return ids
		}
	}
}

// checkIDs fails unless ids are exactly 0..n-1, each once.
func checkIDs(t testing.TB, ids []int, n int, what string) {
	t.Helper()
	count := make([]int, n)
	var bad, dup, missing []int
	for _, id := range ids {
		if id < 0 || id >= n {
			bad = append(bad, id)
			continue
		}
		count[id]++
		if count[id] == 2 {
			dup = append(dup, id)
		}
	}
	for i, c := range count {
		if c == 0 {
			missing = append(missing, i)
		}
	}
	if len(bad)+len(dup)+len(missing) > 0 {
		t.Fatalf("%s: %d rows for %d ids: %d missing (e.g. %v), %d duplicated (e.g. %v), %d unexpected (e.g. %v)",
			what, len(ids), n, len(missing), first(missing), len(dup), first(dup), len(bad), first(bad))
	}
}

func first(v []int) []int {
	if len(v) > 8 {
		return v[:8]
	}
	return v
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil {
		return v
	}
	return def
}
