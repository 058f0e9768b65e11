package kafka

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/IBM/sarama"
	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sluicehq/sluice/sink"
)

// maxCommitAttempts bounds how often AddBatch runs the transaction of one
// batch when commits fail without saying whether they took effect.
const maxCommitAttempts = 3

// testHooks let tests stop a sink at the points where a crash matters.
type testHooks struct {
	// beforeCommit, if it returns an error, makes AddBatch return it with
	// the transaction open and the producer untouched: a crash before the
	// commit.
	beforeCommit func(batchID int64) error
	// commitResult replaces the result of CommitTxn after it ran.
	commitResult func(batchID int64, err error) error
	// afterCommit, if it returns an error, makes AddBatch return it after
	// the transaction committed: a crash before the driver logs commits/N.
	afterCommit func(batchID int64) error
}

// Sink writes the rows of each micro-batch to Kafka, one record per row,
// at least once or exactly once: see the package documentation. Open must
// be called before AddBatch. Open, AddBatch and Close are serialized;
// Metrics and Description may be called at any time.
type Sink struct {
	cfg config

	mu          sync.Mutex // serializes Open, AddBatch and Close
	layout      layout
	queryID     string
	txnID       string
	group       string
	scfg        *sarama.Config
	client      sarama.Client
	producer    sarama.AsyncProducer
	knownTopics map[string]bool
	marker      int64 // last batch id the marker says is committed, -1 for none
	markerKnown bool  // marker was read since the producer was initialised
	fenced      error // set once fenced: every later AddBatch fails with it

	mmu     sync.Mutex // guards the metrics below
	last    batchMetrics
	skipped int64
}

type batchMetrics struct {
	batchID  int64
	records  int64
	bytes    int64
	commitMs int64
	valid    bool
}

var (
	_ sink.Sink      = (*Sink)(nil)
	_ sink.Opener    = (*Sink)(nil)
	_ sink.Closer    = (*Sink)(nil)
	_ sink.Describer = (*Sink)(nil)
	_ sink.Metricser = (*Sink)(nil)
)

// New checks the options and returns a Sink. It does not connect: Open
// does, once the query id and schema are known.
func New(opts ...Option) (*Sink, error) {
	cfg := defaultConfig()
	for _, o := range opts {
		o(&cfg)
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return &Sink{cfg: cfg, marker: -1}, nil
}

// Description names the sink in progress reports, e.g.
// "KafkaSink[topic=events,exactly-once]" or, when each row names its
// topic, "KafkaSink[topic column,at-least-once]".
func (s *Sink) Description() string {
	t := "topic column"
	if s.cfg.topic != "" {
		t = "topic=" + s.cfg.topic
	}
	return "KafkaSink[" + t + "," + s.cfg.guarantee.String() + "]"
}

// Metrics reports the last batch written ("batchId", "numRecords",
// "numBytes" of keys, values and headers, and for exactly-once
// "txnCommitMs", the duration of its commit) and the number of replayed
// batches skipped since the sink was created ("skippedReplays").
func (s *Sink) Metrics() map[string]string {
	s.mmu.Lock()
	defer s.mmu.Unlock()
	m := map[string]string{"skippedReplays": strconv.FormatInt(s.skipped, 10)}
	if s.last.valid {
		m["batchId"] = strconv.FormatInt(s.last.batchID, 10)
		m["numRecords"] = strconv.FormatInt(s.last.records, 10)
		m["numBytes"] = strconv.FormatInt(s.last.bytes, 10)
		if s.cfg.guarantee == ExactlyOnce {
			m["txnCommitMs"] = strconv.FormatInt(s.last.commitMs, 10)
		}
	}
	return m
}

// Open checks the schema (see the package documentation for the columns),
// connects to the brokers and checks that a fixed topic exists. For
// exactly-once it also makes sure the marker topic exists, initialises the
// transactional producer of the query, which fences any older producer of
// the same query and aborts its open transaction, and reads the marker.
// Open may be called again after Close.
func (s *Sink) Open(ctx context.Context, info sink.OpenInfo) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("kafka sink: Open: %w", err)
	}
	if info.Schema == nil {
		return errors.New("kafka sink: Open: OpenInfo.Schema is nil: the sink needs the schema of the rows it will write")
	}
	l, err := resolveLayout(info.Schema, s.cfg.topic)
	if err != nil {
		return err
	}
	if s.cfg.guarantee == ExactlyOnce && info.QueryID == "" {
		return errors.New("kafka sink: Open: OpenInfo.QueryID is empty: exactly-once derives its transactional id from the query id, which must be stable across restarts")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.closeLocked(); err != nil {
		return err
	}
	s.layout = l
	s.queryID = info.QueryID
	s.txnID = s.cfg.txnPrefix + info.QueryID
	s.group = s.cfg.txnPrefix + "sink-" + info.QueryID
	s.fenced = nil
	s.marker, s.markerKnown = -1, false
	s.knownTopics = map[string]bool{}
	if s.scfg, err = s.saramaConfig(); err != nil {
		return err
	}
	client, err := sarama.NewClient(s.cfg.brokers, s.scfg)
	if err != nil {
		return s.unreachable(err)
	}
	s.client = client
	if err := s.open(ctx); err != nil {
		_ = s.closeLocked()
		return err
	}
	return nil
}

func (s *Sink) open(ctx context.Context) error {
	if s.cfg.topic != "" {
		if err := s.checkTopic(s.cfg.topic, "the topic given by WithTopic"); err != nil {
			return err
		}
	}
	if s.cfg.guarantee == ExactlyOnce {
		if err := s.ensureMarkerTopic(); err != nil {
			return err
		}
	}
	if err := s.ensureProducer(); err != nil {
		return err
	}
	if s.cfg.guarantee == ExactlyOnce {
		m, err := s.readMarker(ctx)
		if err != nil {
			return err
		}
		s.marker, s.markerKnown = m, true
	}
	return nil
}

func (s *Sink) unreachable(err error) error {
	if errors.Is(err, sarama.ErrOutOfBrokers) {
		return fmt.Errorf("kafka sink: cannot reach any broker of %s after %d attempts: %w; check WithBrokers (kafka.bootstrap.servers), that the brokers are up and reachable from here, and TLS/SASL settings",
			strings.Join(s.cfg.brokers, ","), s.scfg.Metadata.Retry.Max+1, err)
	}
	return s.explain("connecting to "+strings.Join(s.cfg.brokers, ","), err)
}

// saramaConfig builds the client configuration: the sink's defaults, then
// the user's adjustments, then what the guarantee requires.
func (s *Sink) saramaConfig() (*sarama.Config, error) {
	c := sarama.NewConfig()
	c.ClientID = s.cfg.clientID
	c.Producer.Partitioner = sarama.NewMurmur2Partitioner
	c.Producer.Transaction.Timeout = s.cfg.flushTimeout + time.Minute
	c.Producer.Retry.Max = 5
	for _, fn := range s.cfg.sarama {
		fn(c)
	}
	base := c.Producer.Partitioner
	if base == nil {
		base = sarama.NewMurmur2Partitioner
	}
	c.Producer.Partitioner = func(topic string) sarama.Partitioner {
		return &partitioner{topic: topic, base: base(topic)}
	}
	c.Producer.Return.Successes = true
	c.Producer.Return.Errors = true
	c.Producer.Idempotent = true
	c.Producer.RequiredAcks = sarama.WaitForAll
	c.Net.MaxOpenRequests = 1
	if c.Producer.Retry.Max < 1 {
		c.Producer.Retry.Max = 1
	}
	c.Producer.Transaction.ID = ""
	if s.cfg.guarantee == ExactlyOnce {
		c.Producer.Transaction.ID = s.txnID
		if !c.Version.IsAtLeast(sarama.V2_5_0_0) {
			return nil, fmt.Errorf("kafka sink: exactly-once needs Kafka 2.5 or later (stable offset fetches, KIP-447), but the sarama config says Version %s: set a later Version in WithSaramaConfig", c.Version)
		}
	} else if !c.Version.IsAtLeast(sarama.V0_11_0_0) {
		return nil, fmt.Errorf("kafka sink: the idempotent producer needs Kafka 0.11 or later, but the sarama config says Version %s: set a later Version in WithSaramaConfig", c.Version)
	}
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("kafka sink: the sarama configuration is invalid after WithSaramaConfig: %w", err)
	}
	return c, nil
}

// ensureProducer starts a producer if there is none. For exactly-once
// that initialises the transactional id: the brokers fence older
// producers of the id and end their open transaction, so the marker must
// be read again.
func (s *Sink) ensureProducer() error {
	if s.producer != nil {
		return nil
	}
	p, err := sarama.NewAsyncProducerFromClient(s.client)
	if err != nil {
		if s.cfg.guarantee == ExactlyOnce {
			return s.explain(fmt.Sprintf("initialising transactional id %q", s.txnID), err)
		}
		return s.explain("starting the idempotent producer", err)
	}
	s.producer = p
	s.markerKnown = false
	return nil
}

// dropProducer closes the producer, waiting for anything in flight, so
// that the next batch starts a new one.
func (s *Sink) dropProducer() {
	if s.producer == nil {
		return
	}
	_ = s.producer.Close() // failures of in-flight records were reported already
	s.producer = nil
	s.markerKnown = false
}

// checkTopic makes sure topic exists (the brokers may create it on the
// metadata request when they auto-create topics).
func (s *Sink) checkTopic(topic, usedBy string) error {
	if s.knownTopics[topic] {
		return nil
	}
	parts, err := s.client.Partitions(topic)
	if err == nil && len(parts) == 0 {
		err = sarama.ErrUnknownTopicOrPartition
	}
	if err != nil {
		return s.explain(fmt.Sprintf("topic %q (%s)", topic, usedBy), err)
	}
	s.knownTopics[topic] = true
	return nil
}

// Close closes the producer and the connections. It is safe to call more
// than once; Open may be called again afterwards.
func (s *Sink) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closeLocked()
}

func (s *Sink) closeLocked() error {
	var errs []error
	if s.producer != nil {
		if err := s.producer.Close(); err != nil {
			errs = append(errs, err)
		}
		s.producer = nil
	}
	if s.client != nil {
		if err := s.client.Close(); err != nil && !errors.Is(err, sarama.ErrClosedClient) {
			errs = append(errs, err)
		}
		s.client = nil
	}
	s.markerKnown = false
	if len(errs) > 0 {
		return fmt.Errorf("kafka sink: closing: %w", errors.Join(errs...))
	}
	return nil
}

// AddBatch writes the rows of batch batchID, one Kafka record per row.
//
// At least once: it sends every row and returns when the brokers have
// acknowledged all of them; a replay sends them again.
//
// Exactly once: if the marker says batchID (or a later batch) committed,
// it writes nothing (a replay after a crash, counted in skippedReplays).
// Otherwise it writes the rows and the marker for batchID in one
// transaction and commits it. When a commit fails without saying whether
// it took effect, it re-initialises the producer (which settles the
// transaction), re-reads the marker, and runs the batch again only if it
// did not commit.
//
// records are borrowed, not released, and not referenced after AddBatch
// returns. A batch without rows writes nothing.
func (s *Sink) AddBatch(ctx context.Context, batchID int64, records []arrow.RecordBatch) error {
	if batchID < 0 {
		return fmt.Errorf("kafka sink: AddBatch: batch id %d is negative: batch ids start at 0", batchID)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.client == nil {
		return fmt.Errorf("kafka sink: AddBatch(%d) on a sink that is not open: call Open first (the query driver does), and not after Close", batchID)
	}
	if s.fenced != nil {
		return s.fenced
	}
	for i, r := range records {
		if l, err := resolveLayout(r.Schema(), s.cfg.topic); err != nil || l != s.layout {
			return fmt.Errorf("kafka sink: batch %d: record %d has schema %s, not the schema given to Open: every record must have the query's output schema", batchID, i, r.Schema())
		}
	}
	if s.cfg.guarantee == ExactlyOnce && s.producer != nil && s.markerKnown && batchID <= s.marker {
		// A replay of a committed batch: skip before encoding it.
		s.mmu.Lock()
		s.skipped++
		s.mmu.Unlock()
		return nil
	}
	b, err := encode(records, s.layout, s.cfg.topic)
	if err != nil {
		return fmt.Errorf("%w (batch %d)", err, batchID)
	}
	if s.cfg.guarantee == ExactlyOnce {
		return s.addExactlyOnce(ctx, batchID, b)
	}
	return s.addAtLeastOnce(ctx, batchID, b)
}

func (s *Sink) checkTopics(b *encodedBatch) error {
	for t, info := range b.topics {
		if err := s.checkTopic(t, "first used by "+info.first.String()); err != nil {
			return err
		}
	}
	return nil
}

func (s *Sink) addAtLeastOnce(ctx context.Context, batchID int64, b *encodedBatch) error {
	if len(b.msgs) == 0 {
		return nil
	}
	if err := s.checkTopics(b); err != nil {
		return err
	}
	if err := s.ensureProducer(); err != nil {
		return err
	}
	if err := s.send(ctx, batchID, b); err != nil {
		s.dropProducer()
		return err
	}
	s.record(batchID, b, 0)
	return nil
}

func (s *Sink) addExactlyOnce(ctx context.Context, batchID int64, b *encodedBatch) error {
	if err := s.checkTopics(b); err != nil {
		return err
	}
	var lastErr error
	for attempt := 1; attempt <= maxCommitAttempts; attempt++ {
		if s.producer != nil && s.producer.TxnStatus()&sarama.ProducerTxnFlagReady == 0 {
			// An earlier AddBatch returned with a transaction open
			// (its caller gave up on it): start over with a new
			// producer, whose initialisation aborts it.
			s.dropProducer()
		}
		if err := s.ensureProducer(); err != nil {
			return s.fence(err)
		}
		if !s.markerKnown {
			m, err := s.readMarker(ctx)
			if err != nil {
				return err
			}
			s.marker, s.markerKnown = m, true
		}
		if batchID <= s.marker {
			if attempt == 1 {
				s.mmu.Lock()
				s.skipped++
				s.mmu.Unlock()
			}
			// else: the uncertain commit of the previous attempt did
			// take effect.
			return nil
		}
		if len(b.msgs) == 0 {
			return nil
		}
		err := s.runTxn(ctx, batchID, b)
		var unc *uncertainCommit
		if !errors.As(err, &unc) {
			return err
		}
		// The commit may or may not have happened. Re-initialising the
		// transactional id settles it (the brokers finish a commit in
		// progress or abort), and the next attempt reads the marker.
		lastErr = unc.err
		s.dropProducer()
	}
	return s.explain(fmt.Sprintf("batch %d: the transaction did not commit in %d attempts (the marker says the last committed batch is %d)", batchID, maxCommitAttempts, s.marker), lastErr)
}

// uncertainCommit is a CommitTxn failure that may have committed.
type uncertainCommit struct{ err error }

func (u *uncertainCommit) Error() string { return u.err.Error() }

// fence records a fencing error: the sink stops writing for good.
func (s *Sink) fence(err error) error {
	if !errors.Is(err, ErrFenced) && !isFenced(err) {
		return err
	}
	if !errors.Is(err, ErrFenced) {
		err = s.explain("writing", err)
	}
	s.fenced = err
	s.dropProducer()
	return err
}

// runTxn writes b and the marker for batchID in one transaction.
func (s *Sink) runTxn(ctx context.Context, batchID int64, b *encodedBatch) error {
	p := s.producer
	if err := p.BeginTxn(); err != nil {
		s.dropProducer()
		return s.fence(s.explain(fmt.Sprintf("batch %d: beginning the transaction", batchID), err))
	}
	if err := s.send(ctx, batchID, b); err != nil {
		s.abort()
		return s.fence(err)
	}
	meta := markerMetadata(batchID)
	offsets := map[string][]*sarama.PartitionOffsetMetadata{
		s.cfg.markerTopic: {{Partition: 0, Offset: batchID + 1, Metadata: &meta}},
	}
	if err := p.AddOffsetsToTxn(offsets, s.group); err != nil {
		s.abort()
		return s.fence(s.explain(fmt.Sprintf("batch %d: adding the marker to the transaction", batchID), err))
	}
	if h := s.cfg.hooks.beforeCommit; h != nil {
		if err := h(batchID); err != nil {
			return err
		}
	}
	start := time.Now()
	err := p.CommitTxn()
	if h := s.cfg.hooks.commitResult; h != nil {
		err = h(batchID, err)
	}
	if err != nil {
		if isFenced(err) {
			return s.fence(s.explain(fmt.Sprintf("batch %d: committing", batchID), err))
		}
		return &uncertainCommit{err: err}
	}
	s.marker = batchID
	s.record(batchID, b, time.Since(start).Milliseconds())
	if h := s.cfg.hooks.afterCommit; h != nil {
		if err := h(batchID); err != nil {
			return err
		}
	}
	return nil
}

// abort ends the open transaction without committing; if that fails the
// producer is dropped, and initialising the next one aborts the
// transaction on the brokers.
func (s *Sink) abort() {
	if s.producer == nil {
		return
	}
	if err := s.producer.AbortTxn(); err != nil {
		s.dropProducer()
	}
}

func (s *Sink) record(batchID int64, b *encodedBatch, commitMs int64) {
	s.mmu.Lock()
	s.last = batchMetrics{batchID: batchID, records: int64(len(b.msgs)), bytes: b.bytes, commitMs: commitMs, valid: true}
	s.mmu.Unlock()
}

// send gives every message of b to the producer and waits until each is
// acknowledged or failed, returning the first failure. If ctx ends or the
// flush timeout passes first, it drops the producer, which waits for what
// is in flight: no message refers to the batch's buffers after send
// returns.
func (s *Sink) send(ctx context.Context, batchID int64, b *encodedBatch) error {
	p := s.producer
	timer := time.NewTimer(s.cfg.flushTimeout)
	defer timer.Stop()
	n := len(b.msgs)
	sent, done, failed := 0, 0, 0
	var first *sarama.ProducerError
	var stopped error
	for done < sent || (sent < n && first == nil) {
		var in chan<- *sarama.ProducerMessage
		var next *sarama.ProducerMessage
		if sent < n && first == nil {
			in, next = p.Input(), &b.msgs[sent]
		}
		select {
		case in <- next:
			sent++
		case <-p.Successes():
			done++
		case e := <-p.Errors():
			done++
			failed++
			if first == nil {
				first = e
			}
		case <-ctx.Done():
			stopped = fmt.Errorf("kafka sink: batch %d: %w with %d of %d records acknowledged", batchID, ctx.Err(), done-failed, n)
		case <-timer.C:
			stopped = fmt.Errorf("kafka sink: batch %d: only %d of %d records were acknowledged within the flush timeout of %v: the brokers are slow or unreachable; raise WithFlushTimeout (sluice.flush.timeout) if batches are large",
				batchID, done-failed, n, s.cfg.flushTimeout)
		}
		if stopped != nil {
			s.dropProducer()
			return stopped
		}
	}
	if first != nil {
		return s.produceError(batchID, first, failed, n)
	}
	return nil
}

func (s *Sink) produceError(batchID int64, e *sarama.ProducerError, failed, n int) error {
	where := "a record"
	if ref, ok := e.Msg.Metadata.(*rowRef); ok {
		where = ref.String()
	}
	others := ""
	if failed > 1 {
		others = fmt.Sprintf(" (and %d more of the %d records)", failed-1, n)
	}
	var pe *partitionRangeError
	if errors.As(e.Err, &pe) {
		return fmt.Errorf("kafka sink: batch %d: %s%s: %w", batchID, where, others, e.Err)
	}
	return s.explain(fmt.Sprintf("batch %d: writing %s to topic %q%s", batchID, where, e.Msg.Topic, others), e.Err)
}

// partitioner honours the partition column and leaves other rows to base.
type partitioner struct {
	topic string
	base  sarama.Partitioner
}

type partitionRangeError struct {
	topic     string
	partition int32
	count     int32
}

func (e *partitionRangeError) Error() string {
	return fmt.Sprintf("%q is %d, but topic %q has %d partitions (0 to %d): fix the partition column, or add partitions", ColPartition, e.partition, e.topic, e.count, e.count-1)
}

func (p *partitioner) Partition(m *sarama.ProducerMessage, n int32) (int32, error) {
	if ref, ok := m.Metadata.(*rowRef); ok && ref.explicit {
		if m.Partition >= n {
			return -1, &partitionRangeError{topic: p.topic, partition: m.Partition, count: n}
		}
		return m.Partition, nil
	}
	return p.base.Partition(m, n)
}

func (p *partitioner) RequiresConsistency() bool { return p.base.RequiresConsistency() }

func (p *partitioner) MessageRequiresConsistency(m *sarama.ProducerMessage) bool {
	if ref, ok := m.Metadata.(*rowRef); ok && ref.explicit {
		return true
	}
	if d, ok := p.base.(sarama.DynamicConsistencyPartitioner); ok {
		return d.MessageRequiresConsistency(m)
	}
	return p.base.RequiresConsistency()
}
