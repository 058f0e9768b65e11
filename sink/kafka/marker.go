package kafka

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/IBM/sarama"
)

// MarkerVersion is the format version of the marker's metadata ("v").
const MarkerVersion = 1

// markerEntry is the metadata committed with the marker offset. The
// offset itself (batch+1) is what the sink acts on; the metadata lets
// humans and the sink check whose offset it is.
type markerEntry struct {
	V     int   `json:"v"`
	Batch int64 `json:"batch"`
}

// markerMetadata returns the metadata string committed with the marker
// of batchID, e.g. {"v":1,"batch":7}.
func markerMetadata(batchID int64) string {
	b, err := json.Marshal(markerEntry{V: MarkerVersion, Batch: batchID})
	if err != nil {
		panic(err) // two integers always marshal
	}
	return string(b)
}

// MarkerError says the committed offset of a marker group was not written
// by this sink (or by a newer version of it): another client committed
// offsets for the group, or the metadata was damaged.
type MarkerError struct {
	Group    string
	Topic    string
	Offset   int64
	Metadata string
	Reason   string
}

func (e *MarkerError) Error() string {
	return fmt.Sprintf("kafka sink: the exactly-once marker of group %q on %s partition 0 holds offset %d with metadata %q: %s",
		e.Group, e.Topic, e.Offset, e.Metadata, e.Reason)
}

// parseMarker interprets a committed marker offset and its metadata: it
// returns the last committed batch id, or -1 when nothing was committed.
func parseMarker(group, topic string, offset int64, metadata string) (int64, error) {
	if offset < 0 {
		return -1, nil
	}
	bad := func(reason string) error {
		return &MarkerError{Group: group, Topic: topic, Offset: offset, Metadata: metadata, Reason: reason}
	}
	var e markerEntry
	if err := json.Unmarshal([]byte(metadata), &e); err != nil {
		return 0, bad("this sink did not write it (the metadata is not its JSON); another client committed offsets for the group: delete the group's offsets only if no batch of the query may be replayed, or use a new transactional id prefix")
	}
	switch {
	case e.V > MarkerVersion:
		return 0, bad(fmt.Sprintf("it was written by a newer version of the sink (format v%d, this one reads v%d): upgrade", e.V, MarkerVersion))
	case e.V < 1 || offset == 0 || e.Batch != offset-1:
		return 0, bad(fmt.Sprintf("the offset should be the batch id plus one, and the metadata names batch %d (format v%d): another client changed the group's offsets", e.Batch, e.V))
	}
	return e.Batch, nil
}

// readMarker fetches the marker group's committed offset on the marker
// topic's partition 0, asking the brokers for a stable answer: while a
// transaction that commits the offset is open, the brokers answer
// UNSTABLE_OFFSET_COMMIT and readMarker waits, up to the transaction
// timeout, for it to end.
func (s *Sink) readMarker(ctx context.Context) (int64, error) {
	topic := s.cfg.markerTopic
	deadline := time.Now().Add(s.scfg.Producer.Transaction.Timeout + 10*time.Second)
	backoff := 20 * time.Millisecond
	var lastErr error
	for {
		offset, metadata, retry, err := s.fetchMarker(topic)
		if err == nil {
			return parseMarker(s.group, topic, offset, metadata)
		}
		if !retry {
			return 0, err
		}
		lastErr = err
		if time.Now().After(deadline) {
			return 0, s.explain(fmt.Sprintf("reading the marker of group %q on %s partition 0 (gave up after %v)", s.group, topic, s.scfg.Producer.Transaction.Timeout), lastErr)
		}
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return 0, fmt.Errorf("kafka sink: reading the marker of group %q: %w (last answer: %v)", s.group, ctx.Err(), lastErr)
		case <-t.C:
		}
		backoff = min(2*backoff, time.Second)
	}
}

// fetchMarker asks the group's coordinator once. retry says whether err
// is worth another try.
func (s *Sink) fetchMarker(topic string) (offset int64, metadata string, retry bool, err error) {
	coord, err := s.client.Coordinator(s.group)
	if err != nil {
		if errors.Is(err, sarama.ErrGroupAuthorizationFailed) {
			return 0, "", false, s.explain("finding the coordinator of the marker group", err)
		}
		return 0, "", true, err
	}
	req := sarama.NewOffsetFetchRequest(s.scfg.Version, s.group, map[string][]int32{topic: {0}})
	req.RequireStable = true
	resp, err := coord.FetchOffset(req)
	if err != nil {
		_ = s.client.RefreshCoordinator(s.group)
		return 0, "", true, err
	}
	top := resp.Err
	if resp.Version >= 8 {
		if g := resp.GetGroup(s.group); g != nil {
			top = g.Err
		}
	}
	switch top {
	case sarama.ErrNoError:
	case sarama.ErrGroupIDNotFound:
		// Kafka answers an unknown group with offset -1; some
		// brokers say the group does not exist: nothing committed.
		return -1, "", false, nil
	default:
		return 0, "", s.retryable(top), top
	}
	block := resp.GetBlock(topic, 0)
	if block == nil {
		return 0, "", true, fmt.Errorf("the coordinator's answer has no entry for %s partition 0", topic)
	}
	if block.Err != sarama.ErrNoError {
		return 0, "", s.retryable(block.Err), block.Err
	}
	return block.Offset, block.Metadata, false, nil
}

func (s *Sink) retryable(err sarama.KError) bool {
	switch err {
	case sarama.ErrNotCoordinatorForConsumer, sarama.ErrConsumerCoordinatorNotAvailable:
		_ = s.client.RefreshCoordinator(s.group)
		return true
	case sarama.ErrUnstableOffsetCommit, sarama.ErrOffsetsLoadInProgress, sarama.ErrRequestTimedOut:
		return true
	}
	return false
}

// ensureMarkerTopic makes sure partition 0 of the marker topic exists,
// creating the topic (one partition, the brokers' default replication) if
// the brokers did not create it on the metadata request.
func (s *Sink) ensureMarkerTopic() error {
	topic := s.cfg.markerTopic
	if s.knownTopics[topic] {
		return nil
	}
	parts, err := s.client.Partitions(topic)
	if errors.Is(err, sarama.ErrUnknownTopicOrPartition) {
		if err := s.createTopic(topic); err != nil {
			return err
		}
		parts, err = s.client.Partitions(topic)
	}
	if err != nil {
		return s.explain(fmt.Sprintf("marker topic %q", topic), err)
	}
	for _, p := range parts {
		if p == 0 {
			s.knownTopics[topic] = true
			return nil
		}
	}
	return fmt.Errorf("kafka sink: marker topic %q has no partition 0 (partitions %v): choose another topic with WithMarkerTopic", topic, parts)
}

func (s *Sink) createTopic(topic string) error {
	what := fmt.Sprintf("marker topic %q does not exist and creating it failed; create it (one partition) or name an existing topic with WithMarkerTopic (sluice.marker.topic)", topic)
	ctrl, err := s.client.Controller()
	if err != nil {
		return s.explain(what, err)
	}
	req := sarama.NewCreateTopicsRequest(s.scfg.Version, map[string]*sarama.TopicDetail{
		topic: {NumPartitions: 1, ReplicationFactor: -1},
	}, 30*time.Second, false)
	resp, err := ctrl.CreateTopics(req)
	if err != nil {
		return s.explain(what, err)
	}
	if te := resp.TopicErrors[topic]; te != nil && te.Err != sarama.ErrNoError && te.Err != sarama.ErrTopicAlreadyExists {
		return s.explain(what, te)
	}
	return s.client.RefreshMetadata(topic)
}
