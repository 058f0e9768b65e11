package kafka

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/IBM/sarama"
	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sluicehq/sluice/objstore"
	"github.com/sluicehq/sluice/source"
)

// Source reads Kafka topics as Arrow records; see the package
// documentation.
type Source struct {
	cfg        config
	saramaConf *sarama.Config
	client     sarama.Client
	fetchVer   int16

	mu       sync.Mutex
	meta     objstore.Store // the checkpoint folder given to Init, or nil
	initial  Offsets        // where the first batch starts, once resolved
	pinned   Offsets        // AvailableNow bound, once prepared
	latest   Offsets        // latest offsets seen by the last LatestOffset
	consumed Offsets        // end of the last committed batch
	closed   bool

	dataLoss       atomic.Int64
	offsetsSkipped atomic.Int64
}

var (
	_ source.Source         = (*Source)(nil)
	_ source.Initializer    = (*Source)(nil)
	_ source.RateLimiter    = (*Source)(nil)
	_ source.AvailableNower = (*Source)(nil)
	_ source.Committer      = (*Source)(nil)
	_ source.Describer      = (*Source)(nil)
)

// New checks the options, connects to the brokers and, for WithTopics,
// checks that every topic exists. It returns an error naming the first bad
// option, the unreachable brokers (after sarama's bounded metadata
// retries), or the missing topics. Close the Source when done.
func New(ctx context.Context, opts ...Option) (*Source, error) {
	cfg := defaultConfig()
	for _, o := range opts {
		o(&cfg)
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	sc := sarama.NewConfig()
	sc.ClientID = cfg.clientID
	sc.Version = sarama.DefaultVersion
	sc.Net.DialTimeout = 10 * time.Second
	sc.Consumer.MaxWaitTime = 500 * time.Millisecond
	for _, f := range cfg.saramaConfig {
		f(sc)
	}
	sc.Metadata.AllowAutoTopicCreation = false
	if cfg.isolation == ReadCommitted {
		sc.Consumer.IsolationLevel = sarama.ReadCommitted
	} else {
		sc.Consumer.IsolationLevel = sarama.ReadUncommitted
	}
	if !sc.Version.IsAtLeast(sarama.V0_11_0_0) {
		return nil, fmt.Errorf("kafka: WithSaramaConfig set Version %s: the source needs 0.11.0.0 or later (record headers, isolation levels)", sc.Version)
	}
	if err := sc.Validate(); err != nil {
		return nil, fmt.Errorf("kafka: invalid sarama configuration: %w", err)
	}
	s := &Source{cfg: cfg, saramaConf: sc, fetchVer: fetchVersion(sc.Version)}

	type result struct {
		c   sarama.Client
		err error
	}
	done := make(chan result, 1)
	go func() {
		c, err := sarama.NewClient(cfg.brokers, sc)
		done <- result{c, err}
	}()
	select {
	case r := <-done:
		if r.err != nil {
			return nil, s.brokerError("connecting", r.err)
		}
		s.client = r.c
	case <-ctx.Done():
		go func() {
			if r := <-done; r.c != nil {
				_ = r.c.Close()
			}
		}()
		return nil, ctx.Err()
	}
	if cfg.topicsSet {
		if _, err := s.partitions(ctx); err != nil {
			_ = s.client.Close()
			return nil, err
		}
	}
	return s, nil
}

// fetchVersion picks the Fetch request version for the configured Kafka
// version, as sarama's consumer does; 0.11 gives 5 (isolation level, log
// start offset, aborted transactions).
func fetchVersion(v sarama.KafkaVersion) int16 {
	switch {
	case v.IsAtLeast(sarama.V2_7_0_0):
		return 12
	case v.IsAtLeast(sarama.V2_3_0_0):
		return 11
	case v.IsAtLeast(sarama.V2_1_0_0):
		return 10
	case v.IsAtLeast(sarama.V2_0_0_0):
		return 8
	case v.IsAtLeast(sarama.V1_1_0_0):
		return 7
	case v.IsAtLeast(sarama.V1_0_0_0):
		return 6
	}
	return 5
}

// Schema returns the Kafka schema; see the package-level Schema.
func (s *Source) Schema() *arrow.Schema { return schema }

// DefaultReadLimit returns WithMaxOffsetsPerTrigger's cap, or
// source.ReadAll.
func (s *Source) DefaultReadLimit() source.ReadLimit {
	if s.cfg.maxOffsets > 0 {
		return source.MaxRows(s.cfg.maxOffsets)
	}
	return source.ReadAll
}

// Description returns "KafkaSource[subscribe=a,b]" or
// "KafkaSource[subscribePattern=re]".
func (s *Source) Description() string { return "KafkaSource[" + s.cfg.subscription() + "]" }

// ConsumerGroup returns the group offsets are committed to, or "".
func (s *Source) ConsumerGroup() string { return s.cfg.group }

// DataLossCount returns how many times, since New, Read found offsets it
// had to read missing from Kafka and skipped them (WithFailOnDataLoss
// false).
func (s *Source) DataLossCount() int64 { return s.dataLoss.Load() }

// Metrics returns the source's metrics, as strings:
//
//	dataLossCount           times data loss was skipped (DataLossCount)
//	offsetsSkipped          offsets skipped by those data losses
//	minOffsetsBehindLatest  over the partitions, the fewest offsets between
//	maxOffsetsBehindLatest  the last committed batch and the latest offsets
//	avgOffsetsBehindLatest  seen by the last LatestOffset (Spark's names;
//	                        present once a batch has been committed)
func (s *Source) Metrics() map[string]string {
	m := map[string]string{
		"dataLossCount":  strconv.FormatInt(s.dataLoss.Load(), 10),
		"offsetsSkipped": strconv.FormatInt(s.offsetsSkipped.Load(), 10),
	}
	s.mu.Lock()
	latest, consumed := s.latest, s.consumed
	s.mu.Unlock()
	if latest == nil || consumed == nil {
		return m
	}
	var lo, hi, sum, n int64
	for tp, l := range latest {
		behind := max(l-consumed[tp], 0) // a partition not yet read is behind by all it holds
		if n == 0 || behind < lo {
			lo = behind
		}
		hi = max(hi, behind)
		sum += behind
		n++
	}
	if n > 0 {
		m["minOffsetsBehindLatest"] = strconv.FormatInt(lo, 10)
		m["maxOffsetsBehindLatest"] = strconv.FormatInt(hi, 10)
		m["avgOffsetsBehindLatest"] = strconv.FormatFloat(float64(sum)/float64(n), 'f', 1, 64)
	}
	return m
}

// initialWhere names the initial offsets object for errors.
func (s *Source) initialWhere(meta objstore.Store) string {
	return strings.TrimSuffix(objstore.Location(meta), "/") + "/" + InitialOffsetsObject
}

// Init remembers meta, the source's checkpoint folder, and reads the
// initial offsets kept there by an earlier run, so that a restart before
// the first commit starts from the same offsets.
func (s *Source) Init(ctx context.Context, meta objstore.Store) error {
	data, err := meta.Get(ctx, InitialOffsetsObject)
	var initial Offsets
	switch {
	case objstore.IsNotExist(err):
	case err != nil:
		return fmt.Errorf("kafka: reading %s: %w", s.initialWhere(meta), err)
	default:
		if initial, err = decodeInitial(data, s.initialWhere(meta)); err != nil {
			return err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.meta = meta
	if initial != nil {
		s.initial = initial
	}
	return nil
}

// initialOffsets returns where the first batch starts: the offsets kept
// in the checkpoint, or else those startingOffsets resolves to now, which
// are then kept in the checkpoint with PutIfAbsent (if another run got
// there first, its offsets win).
func (s *Source) initialOffsets(ctx context.Context) (Offsets, error) {
	s.mu.Lock()
	initial, meta := s.initial, s.meta
	s.mu.Unlock()
	if initial != nil {
		return initial, nil
	}
	resolved, err := s.resolveStartingOffsets(ctx)
	if err != nil {
		return nil, err
	}
	if meta != nil {
		err := meta.PutIfAbsent(ctx, InitialOffsetsObject, encodeInitial(resolved))
		if objstore.IsExist(err) {
			var data []byte
			data, err = meta.Get(ctx, InitialOffsetsObject)
			if err == nil {
				resolved, err = decodeInitial(data, s.initialWhere(meta))
				if err != nil {
					return nil, err
				}
			}
		}
		if err != nil {
			return nil, fmt.Errorf("kafka: keeping the initial offsets in %s: %w", s.initialWhere(meta), err)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.initial == nil {
		s.initial = resolved
	}
	return s.initial, nil
}

// resolveStartingOffsets turns the startingOffsets option into offsets for
// every partition subscribed now.
func (s *Source) resolveStartingOffsets(ctx context.Context) (Offsets, error) {
	tps, err := s.partitions(ctx)
	if err != nil {
		return nil, err
	}
	st := s.cfg.starting
	switch st.kind {
	case startEarliest:
		return s.listOffsets(ctx, tps, func(TopicPartition) int64 { return listEarliest })
	case startLatest:
		return s.listOffsets(ctx, tps, func(TopicPartition) int64 { return listLatest })
	}
	if st.kind == startSpecific || st.kind == startSpecificTimestamps {
		if err := s.checkAllNamed(tps); err != nil {
			return nil, err
		}
	}
	earliest, err := s.listOffsets(ctx, tps, func(TopicPartition) int64 { return listEarliest })
	if err != nil {
		return nil, err
	}
	latest, err := s.listOffsets(ctx, tps, func(TopicPartition) int64 { return listLatest })
	if err != nil {
		return nil, err
	}
	out := make(Offsets, len(tps))
	switch st.kind {
	case startTimestamp, startSpecificTimestamps:
		ms := st.ts.UnixMilli()
		found, err := s.listOffsets(ctx, tps, func(tp TopicPartition) int64 {
			if st.kind == startSpecificTimestamps {
				return s.cfg.parsedStart[tp]
			}
			return ms
		})
		if err != nil {
			return nil, err
		}
		for _, tp := range tps {
			off := found[tp]
			if off < 0 {
				off = latest[tp] // no record at or after the timestamp: start at the end
			}
			out[tp] = min(max(off, earliest[tp]), latest[tp])
		}
	case startSpecific:
		for _, tp := range tps {
			switch off := s.cfg.parsedStart[tp]; {
			case off == listEarliest:
				out[tp] = earliest[tp]
			case off == listLatest:
				out[tp] = latest[tp]
			case off < earliest[tp] || off > latest[tp]:
				msg := fmt.Sprintf("kafka: startingOffsets asks for offset %d of topic %q partition %d, but the partition holds offsets %d to %d",
					off, tp.Topic, tp.Partition, earliest[tp], latest[tp])
				if s.cfg.failOnDataLoss {
					return nil, errors.New(msg + ": fix startingOffsets (-2 is the earliest offset, -1 the latest), or set failOnDataLoss=false (WithFailOnDataLoss(false)) to start at the nearest available offset")
				}
				out[tp] = min(max(off, earliest[tp]), latest[tp])
				s.cfg.logger.Warn(msg+"; starting at the nearest available offset since failOnDataLoss is false",
					"topic", tp.Topic, "partition", tp.Partition, "start", out[tp])
			default:
				out[tp] = off
			}
		}
	}
	return out, nil
}

// checkAllNamed checks that the startingOffsets JSON names exactly the
// subscribed partitions, as Spark requires.
func (s *Source) checkAllNamed(tps []TopicPartition) error {
	have := map[TopicPartition]bool{}
	var missing []string
	for _, tp := range tps {
		have[tp] = true
		if _, ok := s.cfg.parsedStart[tp]; !ok {
			missing = append(missing, tp.String())
		}
	}
	var extra []string
	for _, tp := range s.cfg.parsedStart.Partitions() {
		if !have[tp] {
			extra = append(extra, tp.String())
		}
	}
	if len(missing) == 0 && len(extra) == 0 {
		return nil
	}
	var parts []string
	if len(missing) > 0 {
		parts = append(parts, "it does not name "+strings.Join(missing, ", "))
	}
	if len(extra) > 0 {
		parts = append(parts, "it names "+strings.Join(extra, ", ")+", which do not exist")
	}
	return fmt.Errorf("kafka: startingOffsets %s must name every subscribed partition (%s) and no other, but %s; use -2 for earliest and -1 for latest",
		s.cfg.starting.text, s.cfg.subscription(), strings.Join(parts, " and "))
}

// decodeStart returns the offsets a batch starting at start begins at:
// the initial offsets for nil.
func (s *Source) decodeStart(ctx context.Context, start source.Offset) (Offsets, error) {
	if len(start) == 0 {
		return s.initialOffsets(ctx)
	}
	return ParseOffsets(start)
}

// LatestOffset refreshes the metadata (picking up new partitions and
// topics newly matching a pattern, which start at offset 0), asks every
// partition's leader for its latest offset (the high watermark, or the
// last stable offset under ReadCommitted), caps it at the AvailableNow
// bound if one was prepared, and applies limit across the partitions. It
// never waits for data. With start nil, it first resolves the initial
// offsets (see Init).
func (s *Source) LatestOffset(ctx context.Context, start source.Offset, limit source.ReadLimit) (source.Offset, error) {
	from, err := s.decodeStart(ctx, start)
	if err != nil {
		return nil, err
	}
	tps, err := s.partitions(ctx)
	if err != nil {
		return nil, err
	}
	current := make(map[TopicPartition]bool, len(tps))
	for _, tp := range tps {
		current[tp] = true
	}
	var gone []string
	for _, tp := range from.Partitions() {
		if !current[tp] {
			gone = append(gone, tp.String())
		}
	}
	if len(gone) > 0 {
		msg := fmt.Sprintf("kafka: partitions %s were read by the query but no longer exist (their topic was deleted or stopped matching the pattern)", strings.Join(gone, ", "))
		if s.cfg.failOnDataLoss {
			return nil, errors.New(msg + ": records in them may have been missed; set failOnDataLoss=false (WithFailOnDataLoss(false)) to continue without them")
		}
		s.cfg.logger.Warn(msg+"; continuing without them since failOnDataLoss is false", "source", s.Description())
	}
	latest, err := s.listOffsets(ctx, tps, func(TopicPartition) int64 { return listLatest })
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.latest = latest
	pinned := s.pinned
	s.mu.Unlock()

	end := make(Offsets, len(tps))
	var spans []span
	for i, tp := range tps {
		f, known := from[tp]
		l := latest[tp]
		if known && l < f {
			if s.cfg.failOnDataLoss {
				return nil, fmt.Errorf("kafka: topic %q partition %d: the query has read up to offset %d but the partition now ends at offset %d "+
					"(it was truncated, or the topic was deleted and created again): records may have been lost; "+
					"set failOnDataLoss=false (WithFailOnDataLoss(false)) to continue from offset %d",
					tp.Topic, tp.Partition, f, l, l)
			}
			end[tp] = l // Read warns and skips
			continue
		}
		if pinned != nil {
			p, ok := pinned[tp]
			if !ok {
				if known {
					end[tp] = f
				}
				continue // appeared after PrepareForAvailableNow
			}
			l = max(min(l, p), f)
		}
		if !known {
			if l == 0 {
				continue // a new partition with nothing in it yet
			}
			f = 0
		}
		end[tp] = l
		if l > f {
			spans = append(spans, span{tp: tp, from: f, end: l, order: i})
		}
	}
	if n := limit.MaxRows; len(spans) > 0 && n > 0 {
		if err := s.beginNewPartitions(ctx, spans, from); err != nil {
			return nil, err
		}
		limitSpans(spans, n)
		for _, sp := range spans {
			end[sp.tp] = sp.end
		}
	}
	return end.JSON(), nil
}

// beginNewPartitions moves the start of spans of partitions not in from
// (read from offset 0) to their earliest offset, so that the read limit is
// shared by offsets that exist.
func (s *Source) beginNewPartitions(ctx context.Context, spans []span, from Offsets) error {
	var fresh []TopicPartition
	for _, sp := range spans {
		if _, ok := from[sp.tp]; !ok {
			fresh = append(fresh, sp.tp)
		}
	}
	if len(fresh) == 0 {
		return nil
	}
	earliest, err := s.listOffsets(ctx, fresh, func(TopicPartition) int64 { return listEarliest })
	if err != nil {
		return err
	}
	for i := range spans {
		if e, ok := earliest[spans[i].tp]; ok && e > spans[i].from && e < spans[i].end {
			spans[i].from = e
		}
	}
	return nil
}

// PrepareForAvailableNow pins the latest offset of every partition
// subscribed now: later LatestOffset calls never go beyond them, and
// partitions appearing later are not read.
func (s *Source) PrepareForAvailableNow(ctx context.Context) error {
	tps, err := s.partitions(ctx)
	if err != nil {
		return err
	}
	latest, err := s.listOffsets(ctx, tps, func(TopicPartition) int64 { return listLatest })
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pinned = latest
	return nil
}

// Commit records end as consumed (for Metrics) and, with
// WithConsumerGroup, commits it to the group: for each partition, the
// next offset to read, as Kafka consumers commit. A failure is returned
// (the driver logs it and retries after the next batch); it never affects
// what the query reads.
func (s *Source) Commit(ctx context.Context, end source.Offset) error {
	offs, err := ParseOffsets(end)
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.consumed = offs
	s.mu.Unlock()
	if s.cfg.group == "" || len(offs) == 0 {
		return nil
	}
	return s.retry(ctx, topicsOf(offs.Partitions()), func() error { return s.commitOnce(offs) })
}

func (s *Source) commitOnce(offs Offsets) error {
	coord, err := s.client.Coordinator(s.cfg.group)
	if err != nil {
		return s.brokerError("finding the coordinator of consumer group "+s.cfg.group, err)
	}
	req := sarama.NewOffsetCommitRequest(s.saramaConf, s.cfg.group)
	for tp, off := range offs {
		req.AddBlockWithLeaderEpoch(tp.Topic, tp.Partition, off, -1, 0, "")
	}
	resp, err := coord.CommitOffset(req)
	if err != nil {
		_ = coord.Close()
		_ = s.client.RefreshCoordinator(s.cfg.group)
		return fmt.Errorf("kafka: committing offsets to consumer group %q at broker %s: %w", s.cfg.group, coord.Addr(), err)
	}
	for _, tp := range offs.Partitions() {
		kerr, ok := resp.Errors[tp.Topic][tp.Partition]
		if !ok {
			return fmt.Errorf("kafka: committing offsets to consumer group %q: no answer for %s", s.cfg.group, tp)
		}
		switch {
		case errors.Is(kerr, sarama.ErrNoError):
		case errors.Is(kerr, sarama.ErrNotCoordinatorForConsumer), errors.Is(kerr, sarama.ErrConsumerCoordinatorNotAvailable):
			_ = s.client.RefreshCoordinator(s.cfg.group)
			return fmt.Errorf("kafka: committing offsets to consumer group %q: %w", s.cfg.group, kerr)
		case errors.Is(kerr, sarama.ErrUnknownMemberId), errors.Is(kerr, sarama.ErrIllegalGeneration), errors.Is(kerr, sarama.ErrRebalanceInProgress):
			return fmt.Errorf("kafka: committing offsets to consumer group %q: %w: the group has active members, and Kafka only accepts commits from outside a group while it is empty; "+
				"give the query its own group (WithConsumerGroup, kafka.group.id)", s.cfg.group, kerr)
		default:
			return fmt.Errorf("kafka: committing offset %d of %s to consumer group %q: %w", offs[tp], tp, s.cfg.group, kerr)
		}
	}
	return nil
}

// Close closes the connections to the brokers. It is safe to call more
// than once.
func (s *Source) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	if err := s.client.Close(); err != nil {
		return fmt.Errorf("kafka: closing the client: %w", err)
	}
	return nil
}
