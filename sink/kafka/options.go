package kafka

import (
	"fmt"
	"net"
	"sort"
	"strings"
	"time"

	"github.com/IBM/sarama"
)

// Guarantee is the delivery guarantee of a Sink.
type Guarantee int

// The delivery guarantees.
const (
	// AtLeastOnce sends every row of a batch with an idempotent producer
	// and waits for every acknowledgement. A batch replayed after a crash
	// is sent again, so consumers may see its rows twice. The default, as
	// in Spark's Kafka sink.
	AtLeastOnce Guarantee = iota
	// ExactlyOnce writes each batch in one Kafka transaction that also
	// commits a marker saying the batch is done; read_committed consumers
	// see every row once. See the package documentation.
	ExactlyOnce
)

// String returns "at-least-once" or "exactly-once", the names
// ParseGuarantee accepts.
func (g Guarantee) String() string {
	switch g {
	case AtLeastOnce:
		return "at-least-once"
	case ExactlyOnce:
		return "exactly-once"
	}
	return fmt.Sprintf("Guarantee(%d)", int(g))
}

func (g Guarantee) valid() bool { return g == AtLeastOnce || g == ExactlyOnce }

// ParseGuarantee parses "at-least-once" or "exactly-once" (in any case,
// with '-' or '_').
func ParseGuarantee(s string) (Guarantee, error) {
	switch strings.ReplaceAll(strings.ToLower(strings.TrimSpace(s)), "_", "-") {
	case "at-least-once":
		return AtLeastOnce, nil
	case "exactly-once":
		return ExactlyOnce, nil
	}
	return 0, fmt.Errorf("kafka sink: unknown guarantee %q: use at-least-once or exactly-once", s)
}

// Defaults of the options.
const (
	// DefaultTransactionalIDPrefix starts the transactional id (and the
	// marker group) of an exactly-once sink.
	DefaultTransactionalIDPrefix = "sluice-"
	// DefaultMarkerTopic is the topic whose partition 0 anchors the
	// committed-batch marker of exactly-once sinks.
	DefaultMarkerTopic = "__sluice_sink_markers"
	// DefaultClientID is the client id the sink's Kafka client announces.
	DefaultClientID = "sluice"
	// DefaultFlushTimeout bounds how long AddBatch waits for the brokers
	// to acknowledge a batch.
	DefaultFlushTimeout = time.Minute
)

// Option configures a Sink.
type Option func(*config)

type config struct {
	brokers      []string
	topic        string
	guarantee    Guarantee
	txnPrefix    string
	markerTopic  string
	clientID     string
	flushTimeout time.Duration
	sarama       []func(*sarama.Config)
	hooks        testHooks
}

func defaultConfig() config {
	return config{
		guarantee:    AtLeastOnce,
		txnPrefix:    DefaultTransactionalIDPrefix,
		markerTopic:  DefaultMarkerTopic,
		clientID:     DefaultClientID,
		flushTimeout: DefaultFlushTimeout,
	}
}

// WithBrokers sets the bootstrap brokers, as host:port (Spark's
// kafka.bootstrap.servers). Required.
func WithBrokers(addrs ...string) Option {
	return func(c *config) { c.brokers = append(c.brokers, addrs...) }
}

// WithTopic writes every row to topic. Without it the schema needs a
// "topic" string column naming each row's topic; with it, a topic column
// is ignored (as Spark's "topic" option overrides the column).
func WithTopic(name string) Option {
	return func(c *config) { c.topic = name }
}

// WithGuarantee sets the delivery guarantee (default AtLeastOnce).
func WithGuarantee(g Guarantee) Option {
	return func(c *config) { c.guarantee = g }
}

// WithTransactionalIDPrefix sets the prefix of the transactional id of an
// exactly-once sink, prefix+queryID, and of its marker group,
// prefix+"sink-"+queryID (default "sluice-"). Keep it stable across
// restarts of a query: a new prefix loses the marker (the last batch may
// be written twice) and does not fence a producer of the old one.
func WithTransactionalIDPrefix(prefix string) Option {
	return func(c *config) { c.txnPrefix = prefix }
}

// WithMarkerTopic sets the topic whose partition 0 anchors the marker of
// an exactly-once sink (default DefaultMarkerTopic). Open creates it with
// one partition if it is missing; point this at an existing topic, such as
// the output topic, when the sink may not create topics. No records are
// written to it. Keep it stable across restarts, like the prefix.
func WithMarkerTopic(name string) Option {
	return func(c *config) { c.markerTopic = name }
}

// WithClientID sets the client id announced to the brokers (default
// "sluice"), as seen in broker logs and quotas.
func WithClientID(id string) Option {
	return func(c *config) { c.clientID = id }
}

// WithFlushTimeout bounds how long AddBatch waits for the brokers to
// acknowledge the rows of a batch (default one minute). When it passes,
// AddBatch fails; an exactly-once batch's transaction is then aborted. The
// transaction timeout given to the brokers defaults to this plus one
// minute.
func WithFlushTimeout(d time.Duration) Option {
	return func(c *config) { c.flushTimeout = d }
}

// WithSaramaConfig lets fn adjust the sarama configuration (TLS, SASL,
// compression, batching, versions, timeouts) before the sink applies the
// settings its guarantee depends on, which win: Producer.Idempotent,
// RequiredAcks WaitForAll, Net.MaxOpenRequests 1, Return.Successes and
// Errors, and the transactional id. A partitioner set here is used for
// rows without an explicit partition; the default is murmur2 on the key,
// the partitioner of the Java client and therefore of Spark.
func WithSaramaConfig(fn func(*sarama.Config)) Option {
	return func(c *config) {
		if fn != nil {
			c.sarama = append(c.sarama, fn)
		}
	}
}

func (c *config) validate() error {
	if len(c.brokers) == 0 {
		return fmt.Errorf("kafka sink: no brokers: give WithBrokers(\"host:9092\", ...) (option kafka.bootstrap.servers)")
	}
	for i, b := range c.brokers {
		host, port, err := net.SplitHostPort(b)
		if err != nil || host == "" || port == "" {
			return fmt.Errorf("kafka sink: broker %d, %q, is not host:port: give addresses such as \"localhost:9092\"", i, b)
		}
	}
	if c.topic != "" {
		if err := validTopic(c.topic); err != nil {
			return fmt.Errorf("kafka sink: WithTopic: %w", err)
		}
	}
	if !c.guarantee.valid() {
		return fmt.Errorf("kafka sink: WithGuarantee(%v): use AtLeastOnce or ExactlyOnce", c.guarantee)
	}
	if err := validTopic(c.markerTopic); err != nil {
		return fmt.Errorf("kafka sink: WithMarkerTopic: %w", err)
	}
	if c.flushTimeout <= 0 {
		return fmt.Errorf("kafka sink: WithFlushTimeout(%v): give a positive duration, e.g. time.Minute", c.flushTimeout)
	}
	return nil
}

// validTopic checks a topic name as Kafka does: 1 to 249 characters of
// ASCII letters, digits, '.', '_' and '-', and not "." or "..".
func validTopic(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("the topic name is empty")
	case name == "." || name == "..":
		return fmt.Errorf("topic name %q is not allowed", name)
	case len(name) > 249:
		return fmt.Errorf("topic name %q is %d characters long: Kafka allows at most 249", name, len(name))
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return fmt.Errorf("topic name %q contains %q: use ASCII letters, digits, '.', '_' and '-'", name, r)
		}
	}
	return nil
}

// The keys ParseOptions accepts, with what each sets.
var optionKeys = map[string]string{
	"kafka.bootstrap.servers":        "comma-separated host:port brokers (WithBrokers)",
	"topic":                          "the topic of every row (WithTopic)",
	"sluice.guarantee":               "at-least-once or exactly-once (WithGuarantee)",
	"kafka.client.id":                "client id (WithClientID)",
	"sluice.transactional.id.prefix": "transactional id prefix (WithTransactionalIDPrefix)",
	"sluice.marker.topic":            "marker topic of exactly-once (WithMarkerTopic)",
	"sluice.flush.timeout":           "a Go duration such as 30s (WithFlushTimeout)",
}

// ParseOptions turns the options of a StreamSQL WITH clause or a Spark-style
// option map into Options. Keys are case-insensitive, as in Spark:
//
//	kafka.bootstrap.servers         comma-separated host:port list
//	topic                           the topic of every row
//	sluice.guarantee                at-least-once (default) or exactly-once
//	kafka.client.id                 client id
//	sluice.transactional.id.prefix  prefix of the transactional id
//	sluice.marker.topic             marker topic of exactly-once
//	sluice.flush.timeout            a Go duration, e.g. 30s
//
// Other keys are an error naming the key: Java producer settings
// ("kafka.acks", ...) have no sarama equivalent by name; set them in Go
// with WithSaramaConfig.
func ParseOptions(opts map[string]string) ([]Option, error) {
	keys := make([]string, 0, len(opts))
	for k := range opts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out []Option
	for _, k := range keys {
		v := strings.TrimSpace(opts[k])
		switch strings.ToLower(strings.TrimSpace(k)) {
		case "kafka.bootstrap.servers":
			var addrs []string
			for _, a := range strings.Split(v, ",") {
				if a = strings.TrimSpace(a); a != "" {
					addrs = append(addrs, a)
				}
			}
			if len(addrs) == 0 {
				return nil, fmt.Errorf("kafka sink: option %s is empty: give a comma-separated list of host:port brokers", k)
			}
			out = append(out, WithBrokers(addrs...))
		case "topic":
			out = append(out, WithTopic(v))
		case "sluice.guarantee":
			g, err := ParseGuarantee(v)
			if err != nil {
				return nil, fmt.Errorf("kafka sink: option %s: %w", k, err)
			}
			out = append(out, WithGuarantee(g))
		case "kafka.client.id":
			out = append(out, WithClientID(v))
		case "sluice.transactional.id.prefix":
			out = append(out, WithTransactionalIDPrefix(v))
		case "sluice.marker.topic":
			out = append(out, WithMarkerTopic(v))
		case "sluice.flush.timeout":
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				return nil, fmt.Errorf("kafka sink: option %s = %q is not a positive duration: write e.g. 30s or 2m", k, v)
			}
			out = append(out, WithFlushTimeout(d))
		default:
			known := make([]string, 0, len(optionKeys))
			for name := range optionKeys {
				known = append(known, name)
			}
			sort.Strings(known)
			hint := ""
			if strings.HasPrefix(strings.ToLower(k), "kafka.") {
				hint = "; producer settings other than these are set in Go with WithSaramaConfig"
			}
			return nil, fmt.Errorf("kafka sink: unknown option %q: the options are %s%s", k, strings.Join(known, ", "), hint)
		}
	}
	return out, nil
}
