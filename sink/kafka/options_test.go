package kafka_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/sink/kafka"
)

func TestNewValidatesOptions(t *testing.T) {
	b := kafka.WithBrokers("localhost:9092")
	tests := []struct {
		name string
		opts []kafka.Option
		want string
	}{
		{"no brokers", nil, "kafka sink: no brokers: give WithBrokers"},
		{"broker without port", []kafka.Option{kafka.WithBrokers("localhost")}, `kafka sink: broker 0, "localhost", is not host:port`},
		{"bad topic", []kafka.Option{b, kafka.WithTopic("a b")}, `kafka sink: WithTopic: topic name "a b" contains ' '`},
		{"long topic", []kafka.Option{b, kafka.WithTopic(strings.Repeat("x", 250))}, "Kafka allows at most 249"},
		{"dot topic", []kafka.Option{b, kafka.WithTopic("..")}, `topic name ".." is not allowed`},
		{"bad guarantee", []kafka.Option{b, kafka.WithGuarantee(kafka.Guarantee(7))}, "kafka sink: WithGuarantee(Guarantee(7)): use AtLeastOnce or ExactlyOnce"},
		{"no marker topic", []kafka.Option{b, kafka.WithMarkerTopic("")}, "kafka sink: WithMarkerTopic: the topic name is empty"},
		{"zero flush timeout", []kafka.Option{b, kafka.WithFlushTimeout(0)}, "kafka sink: WithFlushTimeout(0s): give a positive duration"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := kafka.New(tt.opts...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("New = %v, want an error containing %q", err, tt.want)
			}
		})
	}
	if _, err := kafka.New(b, kafka.WithTopic("ok.topic_1-2"), kafka.WithClientID("c"), kafka.WithTransactionalIDPrefix("")); err != nil {
		t.Fatalf("valid options: %v", err)
	}
}

func TestParseOptions(t *testing.T) {
	opts, err := kafka.ParseOptions(map[string]string{
		"kafka.bootstrap.servers":        " b1:9092, b2:9092 ,",
		"TOPIC":                          "events",
		"sluice.guarantee":               "Exactly_Once",
		"kafka.client.id":                "job-7",
		"sluice.transactional.id.prefix": "team-a-",
		"sluice.marker.topic":            "markers",
		"sluice.flush.timeout":           "90s",
	})
	if err != nil {
		t.Fatal(err)
	}
	s, err := kafka.New(opts...)
	if err != nil {
		t.Fatalf("New(ParseOptions(...)): %v", err)
	}
	if got := s.Description(); got != "KafkaSink[topic=events,exactly-once]" {
		t.Errorf("Description() = %q", got)
	}

	bad := []struct {
		opts map[string]string
		want string
	}{
		{map[string]string{"kafka.acks": "all"}, `kafka sink: unknown option "kafka.acks": the options are kafka.bootstrap.servers, kafka.client.id, sluice.flush.timeout, sluice.guarantee, sluice.marker.topic, sluice.transactional.id.prefix, topic; producer settings other than these are set in Go with WithSaramaConfig`},
		{map[string]string{"sluice.guarantee": "twice"}, `kafka sink: option sluice.guarantee: kafka sink: unknown guarantee "twice": use at-least-once or exactly-once`},
		{map[string]string{"sluice.flush.timeout": "soon"}, `kafka sink: option sluice.flush.timeout = "soon" is not a positive duration`},
		{map[string]string{"kafka.bootstrap.servers": " , "}, "kafka sink: option kafka.bootstrap.servers is empty"},
	}
	for _, b := range bad {
		if _, err := kafka.ParseOptions(b.opts); err == nil || err.Error() != b.want && !strings.Contains(err.Error(), b.want) {
			t.Errorf("ParseOptions(%v) = %v, want %q", b.opts, err, b.want)
		}
	}
	// Without brokers, New says which option is missing.
	opts, err = kafka.ParseOptions(map[string]string{"topic": "t"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kafka.New(opts...); err == nil || !strings.Contains(err.Error(), "kafka.bootstrap.servers") {
		t.Errorf("New without brokers = %v, want the option named", err)
	}
}

func TestGuaranteeNames(t *testing.T) {
	for _, g := range []kafka.Guarantee{kafka.AtLeastOnce, kafka.ExactlyOnce} {
		back, err := kafka.ParseGuarantee(strings.ToUpper(g.String()))
		if err != nil || back != g {
			t.Errorf("ParseGuarantee(%q) = %v, %v", g.String(), back, err)
		}
	}
	if _, err := kafka.ParseGuarantee("at-most-once"); err == nil {
		t.Error("ParseGuarantee accepted at-most-once")
	}
}

func TestParseMarker(t *testing.T) {
	tests := []struct {
		offset   int64
		metadata string
		want     int64
		err      string
	}{
		{-1, "", -1, ""},
		{8, `{"v":1,"batch":7}`, 7, ""},
		{1, `{"v":1,"batch":0}`, 0, ""},
		{8, `{"v":1,"batch":7,"later":"field"}`, 7, ""},
		{8, "", 0, "this sink did not write it"},
		{8, "consumer-app", 0, "this sink did not write it"},
		{9, `{"v":1,"batch":7}`, 0, "another client changed the group's offsets"},
		{8, `{"v":2,"batch":7}`, 0, "written by a newer version of the sink (format v2"},
		{8, `{"batch":7}`, 0, "another client changed"},
	}
	for _, tt := range tests {
		got, err := kafka.ParseMarker("g", "m", tt.offset, tt.metadata)
		if tt.err == "" {
			if err != nil || got != tt.want {
				t.Errorf("ParseMarker(%d, %q) = %d, %v, want %d", tt.offset, tt.metadata, got, err, tt.want)
			}
			continue
		}
		var me *kafka.MarkerError
		if !errors.As(err, &me) || !strings.Contains(err.Error(), tt.err) || !strings.Contains(err.Error(), `group "g" on m partition 0`) {
			t.Errorf("ParseMarker(%d, %q) = %v, want a MarkerError containing %q", tt.offset, tt.metadata, err, tt.err)
		}
	}
}
