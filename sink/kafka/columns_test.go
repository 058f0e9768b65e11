package kafka_test

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/IBM/sarama"
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/bufpool"
	"github.com/sluicehq/sluice/sink/kafka"
)

var headerType = arrow.ListOf(arrow.StructOf(
	arrow.Field{Name: "key", Type: arrow.BinaryTypes.String},
	arrow.Field{Name: "value", Type: arrow.BinaryTypes.Binary, Nullable: true},
))

var fullSchema = arrow.NewSchema([]arrow.Field{
	{Name: "id", Type: arrow.PrimitiveTypes.Int64},
	{Name: "key", Type: arrow.BinaryTypes.Binary, Nullable: true},
	{Name: "value", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "partition", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
	{Name: "headers", Type: headerType, Nullable: true},
}, nil)

type hdr struct {
	key   string
	value []byte // nil: null
}

type fullRow struct {
	key       []byte // nil: null
	value     *string
	partition *int32
	headers   []hdr // nil: null list
}

func ptr[T any](v T) *T { return &v }

// fullRecord builds a record of fullSchema; the caller releases it.
func fullRecord(mem memory.Allocator, rows []fullRow) arrow.RecordBatch {
	b := array.NewRecordBuilder(mem, fullSchema)
	defer b.Release()
	ids := b.Field(0).(*array.Int64Builder)
	keys := b.Field(1).(*array.BinaryBuilder)
	vals := b.Field(2).(*array.StringBuilder)
	parts := b.Field(3).(*array.Int32Builder)
	hl := b.Field(4).(*array.ListBuilder)
	hs := hl.ValueBuilder().(*array.StructBuilder)
	hk := hs.FieldBuilder(0).(*array.StringBuilder)
	hv := hs.FieldBuilder(1).(*array.BinaryBuilder)
	for i, r := range rows {
		ids.Append(int64(i))
		if r.key == nil {
			keys.AppendNull()
		} else {
			keys.Append(r.key)
		}
		if r.value == nil {
			vals.AppendNull()
		} else {
			vals.Append(*r.value)
		}
		if r.partition == nil {
			parts.AppendNull()
		} else {
			parts.Append(*r.partition)
		}
		if r.headers == nil {
			hl.AppendNull()
			continue
		}
		hl.Append(true)
		for _, h := range r.headers {
			hs.Append(true)
			hk.Append(h.key)
			if h.value == nil {
				hv.AppendNull()
			} else {
				hv.Append(h.value)
			}
		}
	}
	return b.NewRecordBatch()
}

// createTopic creates topic with n partitions.
func createTopic(t testing.TB, brokers []string, topic string, n int32) {
	t.Helper()
	admin, err := sarama.NewClusterAdmin(brokers, clientConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if err := admin.CreateTopic(topic, &sarama.TopicDetail{NumPartitions: n, ReplicationFactor: 1}, false); err != nil {
		t.Fatalf("creating topic %s: %v", topic, err)
	}
}

func murmur2Partition(t testing.TB, key []byte, n int32) int32 {
	t.Helper()
	p, err := sarama.NewMurmur2Partitioner("x").Partition(&sarama.ProducerMessage{Key: sarama.ByteEncoder(key)}, n)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// Keys, values, explicit partitions and headers arrive as the rows say,
// nulls and empty values kept apart, under both guarantees.
func TestColumnsHonoured(t *testing.T) {
	for _, g := range []kafka.Guarantee{kafka.AtLeastOnce, kafka.ExactlyOnce} {
		t.Run(g.String(), func(t *testing.T) {
			mem := memory.NewCheckedAllocator(bufpool.NewPoison())
			defer mem.AssertSize(t, 0)
			brokers := kafkaBrokers(t)
			topic := unique(t, "cols")
			createTopic(t, brokers, topic, 3)
			rows := []fullRow{
				{key: []byte("a"), value: ptr("v0"), partition: ptr(int32(2)), headers: []hdr{{"h1", []byte("x")}, {"h2", []byte{}}}},
				{key: nil, value: ptr("v1"), partition: ptr(int32(0))},
				{key: []byte("c"), value: nil, partition: ptr(int32(1)), headers: []hdr{}},
				{key: []byte{}, value: ptr(""), headers: []hdr{{"h3", nil}}},
				{key: []byte("routed-by-key"), value: ptr("v4")},
			}
			s := open(t, brokers, unique(t, "q"), fullSchema, kafka.WithTopic(topic), kafka.WithGuarantee(g))
			if err := addBatch(t, s, 0, fullRecord(mem, rows)); err != nil {
				t.Fatal(err)
			}
			got := readCommitted(t, brokers, topic)
			if len(got) != len(rows) {
				t.Fatalf("read %d records, want %d", len(got), len(rows))
			}
			// Identify records by key (row 1 has none).
			byKey := map[string]record{}
			for _, r := range got {
				k := "<null>"
				if r.Key != nil {
					k = string(r.Key)
				}
				byKey[k] = r
			}
			for i, want := range rows {
				k := "<null>"
				if want.key != nil {
					k = string(want.key)
				}
				r, ok := byKey[k]
				if !ok {
					t.Fatalf("row %d (key %s) was not written", i, k)
				}
				if (r.Key == nil) != (want.key == nil) || !bytes.Equal(r.Key, want.key) {
					t.Errorf("row %d: key %q (nil %v), want %q (nil %v)", i, r.Key, r.Key == nil, want.key, want.key == nil)
				}
				switch {
				case want.value == nil && r.Value != nil:
					t.Errorf("row %d: value %q, want a tombstone (null)", i, r.Value)
				case want.value != nil && (r.Value == nil || string(r.Value) != *want.value):
					t.Errorf("row %d: value %q (nil %v), want %q", i, r.Value, r.Value == nil, *want.value)
				}
				wantPart := int32(-1)
				if want.partition != nil {
					wantPart = *want.partition
				} else if want.key != nil {
					wantPart = murmur2Partition(t, want.key, 3)
				}
				if r.Partition != wantPart {
					t.Errorf("row %d: partition %d, want %d", i, r.Partition, wantPart)
				}
				var wantH []sarama.RecordHeader
				for _, h := range want.headers {
					wantH = append(wantH, sarama.RecordHeader{Key: []byte(h.key), Value: h.value})
				}
				if !headersEqual(r.Headers, wantH) {
					t.Errorf("row %d: headers %v, want %v", i, r.Headers, wantH)
				}
				for j, h := range want.headers {
					if j < len(r.Headers) && (h.value == nil) != (r.Headers[j].Value == nil) {
						t.Errorf("row %d header %d: null %v, want null %v", i, j, r.Headers[j].Value == nil, h.value == nil)
					}
				}
			}
		})
	}
}

func TestPartitionOutOfRange(t *testing.T) {
	mem := memory.NewCheckedAllocator(bufpool.NewPoison())
	defer mem.AssertSize(t, 0)
	brokers := kafkaBrokers(t)
	topic := unique(t, "parts")
	createTopic(t, brokers, topic, 2)
	s := open(t, brokers, unique(t, "q"), fullSchema, kafka.WithTopic(topic))
	rows := []fullRow{{value: ptr("ok"), partition: ptr(int32(1))}, {value: ptr("bad"), partition: ptr(int32(7))}}
	err := addBatch(t, s, 3, fullRecord(mem, rows))
	want := fmt.Sprintf(`kafka sink: batch 3: row 1 (record 0, row 1): "partition" is 7, but topic %q has 2 partitions`, topic)
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("AddBatch = %v, want an error containing %s", err, want)
	}
	err = addBatch(t, s, 4, fullRecord(mem, []fullRow{{value: ptr("neg"), partition: ptr(int32(-2))}}))
	if err == nil || !strings.Contains(err.Error(), `row 0 (record 0, row 0) has "partition" -2`) {
		t.Fatalf("AddBatch with a negative partition = %v", err)
	}
	// The sink still works after a failed batch.
	if err := addBatch(t, s, 5, fullRecord(mem, []fullRow{{value: ptr("after"), partition: ptr(int32(0))}})); err != nil {
		t.Fatalf("the batch after a failure: %v", err)
	}
	got := values(readCommitted(t, brokers, topic))
	if strings.Join(got, ",") != "after,ok" {
		// "ok" went out before the failing row was found: at least once
		// writes what the brokers accepted.
		t.Errorf("topic holds %v, want after, ok", got)
	}
}
