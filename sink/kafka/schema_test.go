package kafka_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sluicehq/sluice/sink"
	"github.com/sluicehq/sluice/sink/kafka"
)

// fastFail shortens sarama's metadata retries for tests of unreachable
// brokers.
var fastFail = kafka.WithSaramaConfig(func(c *sarama.Config) { c.Metadata.Retry.Backoff = time.Millisecond })

func schemaOf(fields ...arrow.Field) *arrow.Schema { return arrow.NewSchema(fields, nil) }

func field(name string, t arrow.DataType) arrow.Field {
	return arrow.Field{Name: name, Type: t, Nullable: true}
}

// Open checks the schema before it connects: these run without brokers.
func TestOpenValidatesSchema(t *testing.T) {
	str, bin := arrow.BinaryTypes.String, arrow.BinaryTypes.Binary
	goodHeaders := arrow.ListOf(arrow.StructOf(field("key", str), field("value", bin)))
	tests := []struct {
		name   string
		schema *arrow.Schema
		topic  string
		want   string
	}{
		{"no value", schemaOf(field("key", str), field("v", str)), "t",
			`kafka sink: the schema has no "value" column (columns: key, v): add one of type binary, large_binary, binary_view, utf8, large_utf8 or utf8_view`},
		{"value int", schemaOf(field("value", arrow.PrimitiveTypes.Int64)), "t",
			`kafka sink: column "value" has type int64: use binary, large_binary, binary_view, utf8, large_utf8 or utf8_view`},
		{"key bool", schemaOf(field("value", bin), field("key", arrow.FixedWidthTypes.Boolean)), "t",
			`kafka sink: column "key" has type bool: use binary`},
		{"no topic", schemaOf(field("value", bin)), "",
			`kafka sink: no topic to write to: the schema has no "topic" column (columns: value) and WithTopic (option "topic") is not set`},
		{"topic binary", schemaOf(field("value", bin), field("topic", bin)), "",
			`kafka sink: column "topic" has type binary: use utf8, large_utf8 or utf8_view`},
		{"partition int64", schemaOf(field("value", bin), field("partition", arrow.PrimitiveTypes.Int64)), "t",
			`kafka sink: column "partition" has type int64: use int32`},
		{"headers map", schemaOf(field("value", bin), field("headers", arrow.MapOf(str, bin))), "t",
			`kafka sink: column "headers" has type map<utf8, binary, items_nullable>: use list<struct<key: utf8, value: binary>>`},
		{"headers without value", schemaOf(field("value", bin), field("headers", arrow.ListOf(arrow.StructOf(field("key", str))))), "t",
			`kafka sink: column "headers" has type list<item: struct<key: utf8 nullable>, nullable>: use list<struct<key: utf8, value: binary>>`},
		{"headers int key", schemaOf(field("value", bin), field("headers", arrow.ListOf(arrow.StructOf(field("key", arrow.PrimitiveTypes.Int32), field("value", bin))))), "t",
			`kafka sink: column "headers" has type`},
		{"duplicate value", schemaOf(field("value", bin), field("value", str)), "t",
			`kafka sink: column "value" appears 2 times in the schema`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := []kafka.Option{kafka.WithBrokers("127.0.0.1:1")}
			if tt.topic != "" {
				opts = append(opts, kafka.WithTopic(tt.topic))
			}
			s, err := kafka.New(opts...)
			if err != nil {
				t.Fatal(err)
			}
			err = s.Open(context.Background(), sink.OpenInfo{QueryID: "q", Schema: tt.schema})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Open = %v\nwant an error containing %s", err, tt.want)
			}
		})
	}
	// The accepted variants pass the schema check and fail only on the
	// unreachable broker.
	ok := []*arrow.Schema{
		schemaOf(field("value", bin)),
		schemaOf(field("value", str), field("key", arrow.BinaryTypes.LargeString)),
		schemaOf(field("value", arrow.BinaryTypes.LargeBinary), field("key", arrow.BinaryTypes.BinaryView)),
		schemaOf(field("value", arrow.BinaryTypes.StringView), field("headers", goodHeaders), field("partition", arrow.PrimitiveTypes.Int32), field("other", arrow.PrimitiveTypes.Float64)),
		schemaOf(field("value", bin), field("headers", arrow.LargeListOf(arrow.StructOf(field("value", str), field("key", arrow.BinaryTypes.LargeString))))),
		schemaOf(field("value", bin), field("topic", arrow.PrimitiveTypes.Int64)), // ignored: WithTopic wins
	}
	for i, schema := range ok {
		s, err := kafka.New(kafka.WithBrokers("127.0.0.1:1"), kafka.WithTopic("t"), fastFail)
		if err != nil {
			t.Fatal(err)
		}
		err = s.Open(context.Background(), sink.OpenInfo{QueryID: "q", Schema: schema})
		if err == nil || !strings.Contains(err.Error(), "cannot reach any broker") {
			t.Errorf("schema %d (%s): Open = %v, want only the unreachable broker", i, schema, err)
		}
	}
}

func TestOpenNeedsSchemaAndQueryID(t *testing.T) {
	s, err := kafka.New(kafka.WithBrokers("127.0.0.1:1"), kafka.WithTopic("t"), kafka.WithGuarantee(kafka.ExactlyOnce))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Open(context.Background(), sink.OpenInfo{QueryID: "q"}); err == nil || !strings.Contains(err.Error(), "Schema is nil") {
		t.Errorf("Open without a schema = %v", err)
	}
	err = s.Open(context.Background(), sink.OpenInfo{Schema: schemaOf(field("value", arrow.BinaryTypes.Binary))})
	if err == nil || !strings.Contains(err.Error(), "QueryID is empty") {
		t.Errorf("exactly-once Open without a query id = %v", err)
	}
	if err := s.AddBatch(context.Background(), 0, nil); err == nil || !strings.Contains(err.Error(), "not open: call Open first") {
		t.Errorf("AddBatch before Open = %v", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("Close of a sink never opened: %v", err)
	}
}
