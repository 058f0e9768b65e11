package kafka_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/internal/arrowrows"
	"github.com/sluicehq/sluice/internal/testservices"
	"github.com/sluicehq/sluice/sink"
	"github.com/sluicehq/sluice/sink/kafka"
)

// kvSchema is the simplest output: a string key and a string value.
var kvSchema = arrow.NewSchema([]arrow.Field{
	{Name: "key", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "value", Type: arrow.BinaryTypes.String, Nullable: true},
}, nil)

// kvRecord builds rows [from, to) with key "k<i>" and value "v<i>"; the
// caller releases it.
func kvRecord(mem memory.Allocator, from, to int) arrow.RecordBatch {
	b := array.NewRecordBuilder(mem, kvSchema)
	defer b.Release()
	for i := from; i < to; i++ {
		b.Field(0).(*array.StringBuilder).Append(fmt.Sprintf("k%d", i))
		b.Field(1).(*array.StringBuilder).Append(fmt.Sprintf("v%d", i))
	}
	return b.NewRecordBatch()
}

// unique returns a name unique to this test and run, usable as a topic or
// query id.
func unique(t testing.TB, what string) string {
	var r [4]byte
	if _, err := rand.Read(r[:]); err != nil {
		t.Fatal(err)
	}
	name := regexp.MustCompile(`[^a-zA-Z0-9]+`).ReplaceAllString(t.Name(), "-")
	if len(name) > 60 {
		name = name[:60]
	}
	return fmt.Sprintf("%s-%s-%s", what, strings.ToLower(name), hex.EncodeToString(r[:]))
}

// open creates and opens a sink on the test brokers; Close runs at cleanup.
func open(t testing.TB, brokers []string, queryID string, schema *arrow.Schema, opts ...kafka.Option) *kafka.Sink {
	t.Helper()
	s, err := kafka.New(append([]kafka.Option{kafka.WithBrokers(brokers...)}, opts...)...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if err := s.Open(context.Background(), sink.OpenInfo{QueryID: queryID, Schema: schema, OutputMode: "append"}); err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// addBatch calls AddBatch with the records and releases them.
func addBatch(t testing.TB, s *kafka.Sink, batchID int64, recs ...arrow.RecordBatch) error {
	t.Helper()
	defer func() {
		for _, r := range recs {
			r.Release()
		}
	}()
	return s.AddBatch(context.Background(), batchID, recs)
}

// record is a Kafka record as a read_committed consumer sees it.
type record struct {
	Topic     string
	Partition int32
	Offset    int64
	Key       []byte // nil: no key
	Value     []byte // nil: tombstone
	Headers   []sarama.RecordHeader
}

const sentinel = "__end_of_test_data__"

func clientConfig() *sarama.Config {
	c := sarama.NewConfig()
	c.ClientID = "sluice-test-reader"
	c.Consumer.IsolationLevel = sarama.ReadCommitted
	c.Consumer.Return.Errors = true
	c.Consumer.MaxWaitTime = 20 * time.Millisecond
	c.Metadata.Retry.Backoff = 20 * time.Millisecond
	c.Producer.Return.Successes = true
	c.Producer.RequiredAcks = sarama.WaitForAll
	c.Producer.Partitioner = sarama.NewManualPartitioner
	return c
}

// readCommitted returns every record of topic that a read_committed
// consumer sees, in partition and offset order. To know where the data
// ends it first appends a sentinel record to each partition (outside any
// transaction) and reads up to it: the sentinel becomes visible only once
// every transaction before it has ended, so the read sees exactly the
// committed records written before the call. Sentinels are left out.
func readCommitted(t testing.TB, brokers []string, topic string) []record {
	t.Helper()
	client, err := sarama.NewClient(brokers, clientConfig())
	if err != nil {
		t.Fatalf("reader: %v", err)
	}
	defer client.Close()
	parts, err := client.Partitions(topic)
	if err != nil {
		t.Fatalf("reader: partitions of %q: %v", topic, err)
	}
	prod, err := sarama.NewSyncProducerFromClient(client)
	if err != nil {
		t.Fatalf("reader: %v", err)
	}
	defer prod.Close()
	cons, err := sarama.NewConsumerFromClient(client)
	if err != nil {
		t.Fatalf("reader: %v", err)
	}
	defer cons.Close()
	var out []record
	for _, p := range parts {
		_, end, err := prod.SendMessage(&sarama.ProducerMessage{Topic: topic, Partition: p, Value: sarama.StringEncoder(sentinel)})
		if err != nil {
			t.Fatalf("reader: writing the sentinel to %s/%d: %v", topic, p, err)
		}
		pc, err := cons.ConsumePartition(topic, p, sarama.OffsetOldest)
		if err != nil {
			t.Fatalf("reader: consuming %s/%d: %v", topic, p, err)
		}
		timeout := time.NewTimer(30 * time.Second)
	read:
		for {
			select {
			case m := <-pc.Messages():
				if m.Offset == end {
					break read
				}
				if string(m.Value) == sentinel {
					continue
				}
				r := record{Topic: m.Topic, Partition: m.Partition, Offset: m.Offset, Key: m.Key, Value: m.Value}
				for _, h := range m.Headers {
					r.Headers = append(r.Headers, *h)
				}
				out = append(out, r)
			case e := <-pc.Errors():
				t.Fatalf("reader: %s/%d: %v", topic, p, e)
			case <-timeout.C:
				t.Fatalf("reader: the sentinel at %s/%d offset %d did not arrive within 30s: a transaction before it is still open", topic, p, end)
			}
		}
		timeout.Stop()
		pc.Close()
	}
	return out
}

// openTransactions reports, per partition of topic, whether the last
// stable offset (ListOffsets with isolation read_committed) trails the
// high watermark: a transaction is open there. sarama's GetOffset ignores
// the isolation level, hence the hand-built request.
func openTransactions(t testing.TB, brokers []string, topic string) map[int32]bool {
	t.Helper()
	client, err := sarama.NewClient(brokers, clientConfig())
	if err != nil {
		t.Fatalf("offsets: %v", err)
	}
	defer client.Close()
	parts, err := client.Partitions(topic)
	if err != nil {
		t.Fatalf("offsets: partitions of %q: %v", topic, err)
	}
	out := map[int32]bool{}
	for _, p := range parts {
		leader, err := client.Leader(topic, p)
		if err != nil {
			t.Fatalf("offsets: leader of %s/%d: %v", topic, p, err)
		}
		list := func(iso sarama.IsolationLevel) int64 {
			req := sarama.NewOffsetRequest(client.Config().Version)
			req.IsolationLevel = iso
			req.AddBlock(topic, p, sarama.OffsetNewest, 1)
			resp, err := leader.GetAvailableOffsets(req)
			if err != nil {
				t.Fatalf("offsets: ListOffsets %s/%d: %v", topic, p, err)
			}
			blk := resp.GetBlock(topic, p)
			if blk == nil || blk.Err != sarama.ErrNoError {
				t.Fatalf("offsets: ListOffsets %s/%d: %+v", topic, p, blk)
			}
			return blk.Offset
		}
		if req := sarama.NewOffsetRequest(client.Config().Version); req.Version < 2 {
			t.Fatalf("offsets: ListOffsets version %d has no isolation level", req.Version)
		}
		out[p] = list(sarama.ReadCommitted) < list(sarama.ReadUncommitted)
	}
	return out
}

// values returns the values of recs as strings, sorted.
func values(recs []record) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = string(r.Value)
	}
	sort.Strings(out)
	return out
}

// wantValues returns "v<i>" for i in [from, to), sorted as values sorts.
func wantValues(from, to int) []string {
	var out []string
	for i := from; i < to; i++ {
		out = append(out, fmt.Sprintf("v%d", i))
	}
	sort.Strings(out)
	return out
}

// checkOnce fails unless got holds each value of want exactly once and
// nothing else.
func checkOnce(t testing.TB, got, want []string, context string) {
	t.Helper()
	count := map[string]int{}
	for _, v := range got {
		count[v]++
	}
	var missing, dup []string
	for _, v := range want {
		switch count[v] {
		case 0:
			missing = append(missing, v)
		case 1:
		default:
			dup = append(dup, v)
		}
		delete(count, v)
	}
	var extra []string
	for v := range count {
		extra = append(extra, v)
	}
	if len(missing) > 0 || len(dup) > 0 || len(extra) > 0 || len(got) != len(want) {
		t.Fatalf("%s: read %d records, want %d; missing %v; duplicated %v; unexpected %v",
			context, len(got), len(want), head(missing), head(dup), head(extra))
	}
}

func head(v []string) []string {
	if len(v) > 8 {
		return append(v[:8:8], "...")
	}
	return v
}

func headersEqual(a, b []sarama.RecordHeader) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !bytes.Equal(a[i].Key, b[i].Key) || !bytes.Equal(a[i].Value, b[i].Value) {
			return false
		}
	}
	return true
}

// kafkaBrokers returns the test cluster's brokers.
func kafkaBrokers(t testing.TB) []string {
	t.Helper()
	return testservices.Kafka(t)
}

// buildRecord builds a record of schema from rows (see arrowrows.Build);
// the caller releases it.
func buildRecord(t testing.TB, mem memory.Allocator, schema *arrow.Schema, rows ...[]any) arrow.RecordBatch {
	t.Helper()
	rec, err := arrowrows.Build(mem, schema, rows)
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

var topicSchema = arrow.NewSchema([]arrow.Field{
	{Name: "topic", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "value", Type: arrow.BinaryTypes.String, Nullable: true},
}, nil)
