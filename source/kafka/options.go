package kafka

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/IBM/sarama"
)

// Option configures a Source.
type Option func(*config)

// IsolationLevel says which records of transactional producers a source
// sees.
type IsolationLevel int

const (
	// ReadUncommitted reads every record up to the high watermark,
	// including those of open and aborted transactions (Kafka's default).
	ReadUncommitted IsolationLevel = iota
	// ReadCommitted reads up to the last stable offset and skips records
	// of aborted transactions.
	ReadCommitted
)

// String returns "read_uncommitted" or "read_committed", Kafka's names.
func (l IsolationLevel) String() string {
	switch l {
	case ReadUncommitted:
		return "read_uncommitted"
	case ReadCommitted:
		return "read_committed"
	}
	return "IsolationLevel(" + strconv.Itoa(int(l)) + ")"
}

type startKind int

const (
	startEarliest startKind = iota
	startLatest
	startSpecific
	startTimestamp
	startSpecificTimestamps
)

// StartingOffsets says where a query on a new checkpoint starts reading.
// It only matters for the first batch: afterwards the checkpoint's offsets
// rule. Partitions that appear later (new partitions, topics newly
// matching a pattern) are always read from their beginning.
type StartingOffsets struct {
	kind startKind
	text string // the JSON of SpecificOffsets and SpecificTimestamps
	ts   time.Time
}

// Earliest starts at the first offset still in each partition (the
// default).
var Earliest = StartingOffsets{kind: startEarliest}

// Latest starts after the last record of each partition when the query
// first asks for offsets: only records written afterwards are read.
var Latest = StartingOffsets{kind: startLatest}

// SpecificOffsets starts at the offsets of a JSON object in Spark's format,
// {"topic":{"0":23,"1":-2}}, where -2 means the earliest and -1 the latest
// offset of the partition. As in Spark, it must name every partition of
// every subscribed topic. A malformed JSON is reported by New.
func SpecificOffsets(json string) StartingOffsets {
	return StartingOffsets{kind: startSpecific, text: json}
}

// ByTimestamp starts every partition at the first record whose timestamp
// is at or after t; a partition with no such record starts at its latest
// offset.
func ByTimestamp(t time.Time) StartingOffsets {
	return StartingOffsets{kind: startTimestamp, ts: t}
}

// SpecificTimestamps is ByTimestamp per partition, with a JSON object of
// milliseconds since the Unix epoch in Spark's startingOffsetsByTimestamp
// format: {"topic":{"0":1767225600000,"1":1767225600000}}. It must name
// every partition of every subscribed topic.
func SpecificTimestamps(json string) StartingOffsets {
	return StartingOffsets{kind: startSpecificTimestamps, text: json}
}

// String returns the option as Spark would spell it: "earliest", "latest",
// the JSON, or "timestamp=<ms>".
func (s StartingOffsets) String() string {
	switch s.kind {
	case startEarliest:
		return "earliest"
	case startLatest:
		return "latest"
	case startTimestamp:
		return "timestamp=" + strconv.FormatInt(s.ts.UnixMilli(), 10)
	}
	return s.text
}

type config struct {
	brokers         []string
	topics          []string
	pattern         string
	patternSet      bool
	topicsSet       bool
	starting        StartingOffsets
	maxOffsets      int64
	failOnDataLoss  bool
	isolation       IsolationLevel
	group           string
	clientID        string
	saramaConfig    []func(*sarama.Config)
	logger          *slog.Logger
	parsedStart     Offsets // SpecificOffsets or SpecificTimestamps, parsed by validate
	compiledPattern *regexp.Regexp
	maxRetries      int
	retryBackoff    time.Duration
	maxRecordRows   int
	groupPrefix     string // from groupIdPrefix; validate derives group
}

// WithBrokers sets the bootstrap brokers, "host:port" each (Spark's
// kafka.bootstrap.servers). Required.
func WithBrokers(addrs ...string) Option {
	return func(c *config) { c.brokers = append(c.brokers, addrs...) }
}

// WithTopics subscribes to the named topics (Spark's subscribe). Give
// either WithTopics or WithTopicPattern.
func WithTopics(names ...string) Option {
	return func(c *config) { c.topics, c.topicsSet = append(c.topics, names...), true }
}

// WithTopicPattern subscribes to every topic whose whole name matches the
// regular expression (Spark's subscribePattern; Go RE2 syntax). Topics
// created later that match are picked up by the next batch, from their
// beginning. Topics whose names start with "__" (Kafka's internal topics)
// are never matched.
func WithTopicPattern(expr string) Option {
	return func(c *config) { c.pattern, c.patternSet = expr, true }
}

// WithStartingOffsets sets where a new checkpoint starts: Earliest (the
// default), Latest, SpecificOffsets, ByTimestamp or SpecificTimestamps.
func WithStartingOffsets(s StartingOffsets) Option {
	return func(c *config) { c.starting = s }
}

// WithMaxOffsetsPerTrigger caps the offsets one batch reads, over all
// partitions (Spark's maxOffsetsPerTrigger). The cap is split across the
// partitions with new data in proportion to each one's backlog; 0 (the
// default) means no cap. It is the source's default read limit
// (source.RateLimiter). Read holds a whole batch in memory, so a query
// starting on a large backlog should set a cap.
func WithMaxOffsetsPerTrigger(n int64) Option {
	return func(c *config) { c.maxOffsets = n }
}

// WithFailOnDataLoss says what to do when offsets a batch must read are no
// longer in Kafka (deleted by retention, DeleteRecords, or truncation):
// true (the default) fails the query; false skips them with a warning and
// counts them (see DataLossCount).
func WithFailOnDataLoss(fail bool) Option {
	return func(c *config) { c.failOnDataLoss = fail }
}

// WithIsolationLevel sets ReadUncommitted (the default) or ReadCommitted.
func WithIsolationLevel(l IsolationLevel) Option {
	return func(c *config) { c.isolation = l }
}

// WithConsumerGroup commits each batch's end offsets to the consumer group
// id after the batch is committed, so that lag tools see the query's
// progress. The source never joins the group: Kafka accepts the commits
// while the group has no active members. The group's offsets are only
// informative; the checkpoint decides where a query resumes.
func WithConsumerGroup(id string) Option {
	return func(c *config) { c.group = id }
}

// WithClientID sets the Kafka client id the brokers see (default
// "sluice").
func WithClientID(id string) Option {
	return func(c *config) { c.clientID = id }
}

// WithSaramaConfig lets f change the sarama configuration after the
// source's defaults are set and before the client is created: TLS, SASL,
// timeouts, Consumer.Fetch.Default (the bytes fetched per partition and
// request, default 1 MiB) and so on. The source then forces
// Metadata.AllowAutoTopicCreation to false, since reading must not create
// topics.
func WithSaramaConfig(f func(*sarama.Config)) Option {
	return func(c *config) { c.saramaConfig = append(c.saramaConfig, f) }
}

// WithLogger sets the logger for warnings such as skipped data; the
// default is slog.Default().
func WithLogger(l *slog.Logger) Option {
	return func(c *config) { c.logger = l }
}

// WithRetries sets how many times a request that failed for a transient
// reason (a leader moved, a broker is unreachable) is retried, and the
// first backoff, which doubles up to one second. The defaults are 5 and
// 100ms.
func WithRetries(n int, backoff time.Duration) Option {
	return func(c *config) { c.maxRetries, c.retryBackoff = n, backoff }
}

// WithMaxRecordRows sets the most rows Read puts in one Arrow record
// (default MaxRecordRows).
func WithMaxRecordRows(n int) Option {
	return func(c *config) { c.maxRecordRows = n }
}

func defaultConfig() config {
	return config{
		starting:       Earliest,
		failOnDataLoss: true,
		clientID:       "sluice",
		logger:         slog.Default(),
		maxRetries:     5,
		retryBackoff:   100 * time.Millisecond,
		maxRecordRows:  MaxRecordRows,
	}
}

func (c *config) validate() error {
	if len(c.brokers) == 0 {
		return errors.New("kafka: no brokers: give WithBrokers(\"host:port\", ...) (kafka.bootstrap.servers)")
	}
	for _, b := range c.brokers {
		if strings.TrimSpace(b) == "" || !strings.Contains(b, ":") {
			return fmt.Errorf("kafka: WithBrokers: %q is not a broker address: want host:port", b)
		}
	}
	switch {
	case c.topicsSet && c.patternSet:
		return errors.New("kafka: both WithTopics and WithTopicPattern given (subscribe and subscribePattern): give exactly one")
	case !c.topicsSet && !c.patternSet:
		return errors.New("kafka: no subscription: give WithTopics (subscribe) or WithTopicPattern (subscribePattern)")
	case c.topicsSet:
		if len(c.topics) == 0 {
			return errors.New("kafka: WithTopics() names no topic")
		}
		seen := map[string]bool{}
		for _, t := range c.topics {
			if t == "" {
				return fmt.Errorf("kafka: WithTopics(%q): a topic name is empty", strings.Join(c.topics, ", "))
			}
			if seen[t] {
				return fmt.Errorf("kafka: WithTopics: topic %q is named twice", t)
			}
			seen[t] = true
		}
	default:
		if c.pattern == "" {
			return errors.New("kafka: WithTopicPattern(\"\"): the pattern is empty")
		}
		re, err := regexp.Compile("^(?:" + c.pattern + ")$")
		if err != nil {
			return fmt.Errorf("kafka: WithTopicPattern(%q): not a regular expression: %w", c.pattern, err)
		}
		c.compiledPattern = re
	}
	if c.maxOffsets < 0 {
		return fmt.Errorf("kafka: WithMaxOffsetsPerTrigger(%d): must be >= 0 (0 means no cap)", c.maxOffsets)
	}
	if c.isolation != ReadUncommitted && c.isolation != ReadCommitted {
		return fmt.Errorf("kafka: WithIsolationLevel(%d): want ReadUncommitted or ReadCommitted", int(c.isolation))
	}
	if c.logger == nil {
		return errors.New("kafka: WithLogger(nil): give a logger, or leave the option out to use slog.Default()")
	}
	if c.maxRetries < 0 || c.retryBackoff < 0 {
		return fmt.Errorf("kafka: WithRetries(%d, %v): both must be >= 0", c.maxRetries, c.retryBackoff)
	}
	if c.maxRecordRows <= 0 {
		return fmt.Errorf("kafka: WithMaxRecordRows(%d): must be > 0", c.maxRecordRows)
	}
	switch c.starting.kind {
	case startSpecific:
		o, err := parseOffsetsJSON([]byte(c.starting.text), -2)
		if err != nil {
			return fmt.Errorf("kafka: startingOffsets %s: %w; want {\"topic\":{\"0\":23,\"1\":-2}} with -2 for earliest and -1 for latest", c.starting.text, err)
		}
		c.parsedStart = o
	case startSpecificTimestamps:
		o, err := parseOffsetsJSON([]byte(c.starting.text), 0)
		if err != nil {
			return fmt.Errorf("kafka: startingOffsetsByTimestamp %s: %w; want {\"topic\":{\"0\":1767225600000}} in milliseconds since the epoch", c.starting.text, err)
		}
		c.parsedStart = o
	case startTimestamp:
		if c.starting.ts.IsZero() {
			return errors.New("kafka: ByTimestamp(time.Time{}): the zero time is not a start time")
		}
	}
	if c.group == "" && c.groupPrefix != "" {
		c.group = c.groupPrefix + "-" + subscriptionHash(c)
	}
	if c.parsedStart != nil && c.topicsSet {
		for tp := range c.parsedStart {
			found := false
			for _, t := range c.topics {
				found = found || t == tp.Topic
			}
			if !found {
				return fmt.Errorf("kafka: startingOffsets names topic %q, which is not subscribed (subscribe=%s)", tp.Topic, strings.Join(c.topics, ","))
			}
		}
	}
	return nil
}

// subscription returns "subscribe=a,b" or "subscribePattern=re".
func (c *config) subscription() string {
	if c.patternSet {
		return "subscribePattern=" + c.pattern
	}
	return "subscribe=" + strings.Join(c.topics, ",")
}

// ParseOptions maps Spark's Kafka source option names to Options, for the
// SQL layer. Names are case-insensitive. Supported:
//
//	kafka.bootstrap.servers     comma-separated host:port list
//	subscribe                   comma-separated topics
//	subscribePattern            regular expression
//	startingOffsets             earliest, latest or {"topic":{"0":23}}
//	startingOffsetsByTimestamp  {"topic":{"0":1767225600000}}
//	startingTimestamp           milliseconds since the epoch, for every partition
//	maxOffsetsPerTrigger        integer
//	failOnDataLoss              true or false
//	kafka.isolation.level       read_uncommitted or read_committed
//	kafka.group.id              consumer group to commit offsets to
//	groupIdPrefix               commit to the group "<prefix>-<hash of the subscription>"
//	kafka.client.id             client id
//
// As in Spark, startingTimestamp wins over startingOffsetsByTimestamp,
// which wins over startingOffsets. Any other name is an error naming it:
// sarama settings without a Spark name are set with WithSaramaConfig.
func ParseOptions(opts map[string]string) ([]Option, error) {
	lower := make(map[string]string, len(opts))
	keys := make([]string, 0, len(opts))
	for k, v := range opts {
		lk := strings.ToLower(strings.TrimSpace(k))
		if _, dup := lower[lk]; dup {
			return nil, fmt.Errorf("kafka: option %q is given twice (names are case-insensitive)", k)
		}
		lower[lk] = v
		keys = append(keys, lk)
	}
	sort.Strings(keys)
	var out []Option
	var start *StartingOffsets
	startRank := 0
	setStart := func(rank int, s StartingOffsets) {
		if rank > startRank {
			start, startRank = &s, rank
		}
	}
	for _, k := range keys {
		v := strings.TrimSpace(lower[k])
		switch k {
		case "kafka.bootstrap.servers":
			out = append(out, WithBrokers(splitList(v)...))
		case "subscribe":
			out = append(out, WithTopics(splitList(v)...))
		case "subscribepattern":
			out = append(out, WithTopicPattern(v))
		case "startingoffsets":
			switch strings.ToLower(v) {
			case "earliest":
				setStart(1, Earliest)
			case "latest":
				setStart(1, Latest)
			default:
				setStart(1, SpecificOffsets(v))
			}
		case "startingoffsetsbytimestamp":
			setStart(2, SpecificTimestamps(v))
		case "startingtimestamp":
			ms, err := strconv.ParseInt(v, 10, 64)
			if err != nil || ms < 0 {
				return nil, fmt.Errorf("kafka: option startingTimestamp=%q: want milliseconds since the Unix epoch", v)
			}
			setStart(3, ByTimestamp(time.UnixMilli(ms)))
		case "maxoffsetspertrigger":
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n <= 0 {
				return nil, fmt.Errorf("kafka: option maxOffsetsPerTrigger=%q: want a positive integer", v)
			}
			out = append(out, WithMaxOffsetsPerTrigger(n))
		case "failondataloss":
			b, err := strconv.ParseBool(v)
			if err != nil {
				return nil, fmt.Errorf("kafka: option failOnDataLoss=%q: want true or false", v)
			}
			out = append(out, WithFailOnDataLoss(b))
		case "kafka.isolation.level":
			switch strings.ToLower(v) {
			case "read_uncommitted":
				out = append(out, WithIsolationLevel(ReadUncommitted))
			case "read_committed":
				out = append(out, WithIsolationLevel(ReadCommitted))
			default:
				return nil, fmt.Errorf("kafka: option kafka.isolation.level=%q: want read_uncommitted or read_committed", v)
			}
		case "kafka.group.id":
			if v == "" {
				return nil, errors.New("kafka: option kafka.group.id is empty")
			}
			out = append(out, WithConsumerGroup(v))
		case "groupidprefix":
			if _, ok := lower["kafka.group.id"]; ok {
				continue // as in Spark, kafka.group.id wins
			}
			if v == "" {
				return nil, errors.New("kafka: option groupIdPrefix is empty")
			}
			out = append(out, func(c *config) { c.groupPrefix = v })
		case "kafka.client.id":
			out = append(out, WithClientID(v))
		default:
			return nil, fmt.Errorf("kafka: unknown option %q: supported are kafka.bootstrap.servers, subscribe, subscribePattern, startingOffsets, "+
				"startingOffsetsByTimestamp, startingTimestamp, maxOffsetsPerTrigger, failOnDataLoss, kafka.isolation.level, kafka.group.id, "+
				"groupIdPrefix and kafka.client.id (other client settings go through WithSaramaConfig)", k)
		}
	}
	if start != nil {
		out = append(out, WithStartingOffsets(*start))
	}
	return out, nil
}

// subscriptionHash is 16 hex digits of the SHA-256 of the subscription, so
// that groupIdPrefix gives a query the same group at every start.
func subscriptionHash(c *config) string {
	sum := sha256.Sum256([]byte(c.subscription()))
	return hex.EncodeToString(sum[:8])
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}
