package kafka_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"regexp"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/sluicehq/sluice/internal/testservices"
)

// brokers returns the addresses of the test Kafka-protocol cluster.
func brokers(t testing.TB) []string {
	t.Helper()
	return testservices.Kafka(t)
}

func saramaConfig() *sarama.Config {
	c := sarama.NewConfig()
	c.ClientID = "sluice-kafkasrc-test"
	c.Producer.Return.Successes = true
	c.Producer.RequiredAcks = sarama.WaitForAll
	c.Producer.Partitioner = sarama.NewManualPartitioner
	c.Metadata.AllowAutoTopicCreation = false
	return c
}

func admin(t testing.TB) sarama.ClusterAdmin {
	t.Helper()
	a, err := sarama.NewClusterAdmin(brokers(t), saramaConfig())
	if err != nil {
		t.Fatalf("cluster admin: %v", err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

var unsafeTopicChars = regexp.MustCompile(`[^a-zA-Z0-9._-]+`)

// topicName returns a name unique to this test run.
func topicName(t testing.TB, suffix string) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	name := unsafeTopicChars.ReplaceAllString(t.Name(), "_")
	return fmt.Sprintf("kafkasrc.%s.%s%s", name, hex.EncodeToString(b[:]), suffix)
}

// createTopic creates a topic with n partitions, deleted when the test
// ends.
func createTopic(t testing.TB, name string, partitions int32) string {
	t.Helper()
	a := admin(t)
	if err := a.CreateTopic(name, &sarama.TopicDetail{NumPartitions: partitions, ReplicationFactor: 1}, false); err != nil {
		t.Fatalf("creating topic %s: %v", name, err)
	}
	t.Cleanup(func() { _ = a.DeleteTopic(name) })
	return name
}

// msg is a record to produce.
type msg struct {
	partition int32
	key       []byte
	value     []byte
	headers   []sarama.RecordHeader
	ts        time.Time
}

// produce writes msgs in order with a new producer (so it sees new
// partitions) and returns their offsets.
func produce(t testing.TB, topic string, msgs ...msg) []int64 {
	t.Helper()
	p, err := sarama.NewSyncProducer(brokers(t), saramaConfig())
	if err != nil {
		t.Fatalf("producer: %v", err)
	}
	defer p.Close()
	return send(t, p, topic, msgs...)
}

func send(t testing.TB, p sarama.SyncProducer, topic string, msgs ...msg) []int64 {
	t.Helper()
	pms := make([]*sarama.ProducerMessage, len(msgs))
	for i, m := range msgs {
		pm := &sarama.ProducerMessage{Topic: topic, Partition: m.partition, Headers: m.headers, Timestamp: m.ts}
		if m.key != nil {
			pm.Key = sarama.ByteEncoder(m.key)
		}
		if m.value != nil {
			pm.Value = sarama.ByteEncoder(m.value)
		}
		pms[i] = pm
	}
	if err := p.SendMessages(pms); err != nil {
		t.Fatalf("producing to %s: %v", topic, err)
	}
	out := make([]int64, len(pms))
	for i, pm := range pms {
		out[i] = pm.Offset
	}
	return out
}

// values returns n messages to partition p with values prefix0, prefix1...
func values(p int32, prefix string, n int) []msg {
	out := make([]msg, n)
	for i := range out {
		out[i] = msg{partition: p, value: []byte(fmt.Sprintf("%s%d", prefix, i))}
	}
	return out
}

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}
