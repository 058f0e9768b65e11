package kafka

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func configOf(t *testing.T, opts ...Option) (config, error) {
	t.Helper()
	c := defaultConfig()
	for _, o := range opts {
		o(&c)
	}
	return c, c.validate()
}

func TestBadOptions(t *testing.T) {
	b := WithBrokers("127.0.0.1:9092")
	for _, c := range []struct {
		name string
		opts []Option
		want string
	}{
		{"no brokers", []Option{WithTopics("t")}, "no brokers"},
		{"broker without port", []Option{WithBrokers("localhost"), WithTopics("t")}, `"localhost"`},
		{"no subscription", []Option{b}, "no subscription"},
		{"both subscriptions", []Option{b, WithTopics("t"), WithTopicPattern("t.*")}, "exactly one"},
		{"empty topic list", []Option{b, WithTopics()}, "names no topic"},
		{"empty topic", []Option{b, WithTopics("a", "")}, "empty"},
		{"duplicate topic", []Option{b, WithTopics("a", "a")}, "twice"},
		{"empty pattern", []Option{b, WithTopicPattern("")}, "empty"},
		{"bad pattern", []Option{b, WithTopicPattern("a(")}, "not a regular expression"},
		{"negative max offsets", []Option{b, WithTopics("t"), WithMaxOffsetsPerTrigger(-1)}, "WithMaxOffsetsPerTrigger(-1)"},
		{"bad isolation", []Option{b, WithTopics("t"), WithIsolationLevel(7)}, "WithIsolationLevel(7)"},
		{"nil logger", []Option{b, WithTopics("t"), WithLogger(nil)}, "WithLogger(nil)"},
		{"bad retries", []Option{b, WithTopics("t"), WithRetries(-1, 0)}, "WithRetries"},
		{"bad record rows", []Option{b, WithTopics("t"), WithMaxRecordRows(0)}, "WithMaxRecordRows(0)"},
		{"bad offsets JSON", []Option{b, WithTopics("t"), WithStartingOffsets(SpecificOffsets(`{"t":{"0":x}}`))}, "startingOffsets"},
		{"offset below -2", []Option{b, WithTopics("t"), WithStartingOffsets(SpecificOffsets(`{"t":{"0":-3}}`))}, "below -2"},
		{"offsets of another topic", []Option{b, WithTopics("t"), WithStartingOffsets(SpecificOffsets(`{"u":{"0":1}}`))}, `topic "u"`},
		{"negative timestamp", []Option{b, WithTopics("t"), WithStartingOffsets(SpecificTimestamps(`{"t":{"0":-1}}`))}, "startingOffsetsByTimestamp"},
		{"zero time", []Option{b, WithTopics("t"), WithStartingOffsets(ByTimestamp(time.Time{}))}, "zero time"},
	} {
		_, err := configOf(t, c.opts...)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "kafka: ") {
			t.Errorf("%s: validate() = %v, want an error containing %q", c.name, err, c.want)
		}
	}
	c, err := configOf(t, b, WithTopicPattern("orders|clicks"))
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]bool{"orders": true, "clicks": true, "orders2": false, "xorders": false} {
		if got := c.compiledPattern.MatchString(name); got != want {
			t.Errorf("pattern orders|clicks matches %q: %v, want %v (the whole name must match)", name, got, want)
		}
	}
}

func TestParseOptions(t *testing.T) {
	opts, err := ParseOptions(map[string]string{
		"kafka.bootstrap.servers": "a:1, b:2",
		"Subscribe":               "x,y",
		"startingOffsets":         `{"x":{"0":-2},"y":{"0":5}}`,
		"maxOffsetsPerTrigger":    "1000",
		"failOnDataLoss":          "false",
		"kafka.isolation.level":   "read_committed",
		"kafka.group.id":          "g1",
		"groupIdPrefix":           "ignored",
		"kafka.client.id":         "cid",
	})
	if err != nil {
		t.Fatal(err)
	}
	c, err := configOf(t, opts...)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c.brokers, []string{"a:1", "b:2"}) || !reflect.DeepEqual(c.topics, []string{"x", "y"}) ||
		c.maxOffsets != 1000 || c.failOnDataLoss || c.isolation != ReadCommitted || c.group != "g1" || c.clientID != "cid" {
		t.Fatalf("ParseOptions gave %+v", c)
	}
	if c.starting.kind != startSpecific || c.parsedStart[TopicPartition{"y", 0}] != 5 {
		t.Fatalf("startingOffsets: got %v %v", c.starting, c.parsedStart)
	}

	// startingTimestamp wins over startingOffsetsByTimestamp, which wins
	// over startingOffsets.
	opts, err = ParseOptions(map[string]string{
		"kafka.bootstrap.servers":    "a:1",
		"subscribePattern":           "x.*",
		"startingOffsets":            "latest",
		"startingOffsetsByTimestamp": `{"x":{"0":5}}`,
		"startingTimestamp":          "1767225600000",
		"groupIdPrefix":              "lag",
	})
	if err != nil {
		t.Fatal(err)
	}
	c, err = configOf(t, opts...)
	if err != nil {
		t.Fatal(err)
	}
	if c.starting.kind != startTimestamp || c.starting.ts.UnixMilli() != 1767225600000 {
		t.Errorf("starting = %v, want the timestamp", c.starting)
	}
	if !strings.HasPrefix(c.group, "lag-") || len(c.group) != len("lag-")+16 {
		t.Errorf("groupIdPrefix gave group %q, want lag-<16 hex digits>", c.group)
	}
	c2, _ := configOf(t, opts...)
	if c2.group != c.group {
		t.Errorf("groupIdPrefix is not stable: %q then %q", c.group, c2.group)
	}
	opts, _ = ParseOptions(map[string]string{"kafka.bootstrap.servers": "a:1", "subscribePattern": "y.*", "groupIdPrefix": "lag"})
	if c3, _ := configOf(t, opts...); c3.group == c.group {
		t.Errorf("groupIdPrefix gives the same group %q to different subscriptions", c.group)
	}
	opts, _ = ParseOptions(map[string]string{"kafka.bootstrap.servers": "a:1", "subscribe": "x", "startingOffsets": "LATEST"})
	if c4, _ := configOf(t, opts...); c4.starting.kind != startLatest {
		t.Errorf("startingOffsets=LATEST gave %v", c4.starting)
	}

	for _, c := range []struct {
		opts map[string]string
		want string
	}{
		{map[string]string{"kafka.security.protocol": "SSL"}, "kafka.security.protocol"},
		{map[string]string{"includeHeaders": "true"}, "includeheaders"},
		{map[string]string{"maxOffsetsPerTrigger": "ten"}, "maxOffsetsPerTrigger"},
		{map[string]string{"maxOffsetsPerTrigger": "0"}, "maxOffsetsPerTrigger"},
		{map[string]string{"failOnDataLoss": "maybe"}, "failOnDataLoss"},
		{map[string]string{"kafka.isolation.level": "serializable"}, "kafka.isolation.level"},
		{map[string]string{"startingTimestamp": "yesterday"}, "startingTimestamp"},
		{map[string]string{"kafka.group.id": ""}, "kafka.group.id"},
		{map[string]string{"groupIdPrefix": ""}, "groupIdPrefix"},
		{map[string]string{"subscribe": "a", "SUBSCRIBE": "b"}, "twice"},
	} {
		_, err := ParseOptions(c.opts)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ParseOptions(%v) = %v, want an error containing %q", c.opts, err, c.want)
		}
	}
}
