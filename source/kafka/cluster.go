package kafka

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/IBM/sarama"
)

// Special timestamps of a Kafka ListOffsets request.
const (
	listLatest   int64 = -1
	listEarliest int64 = -2
)

// errTopicGone marks an error about a topic that no longer exists.
var errTopicGone = errors.New("topic does not exist")

// topicGoneError names the topics that do not exist.
type topicGoneError struct {
	topics  []string
	brokers []string
}

func (e *topicGoneError) Error() string {
	q := make([]string, len(e.topics))
	for i, t := range e.topics {
		q[i] = fmt.Sprintf("%q", t)
	}
	noun := "topic " + q[0] + " does not"
	if len(q) > 1 {
		noun = "topics " + strings.Join(q, ", ") + " do not"
	}
	return fmt.Sprintf("kafka: %s exist on brokers %s (missing at start, or deleted while the query ran): "+
		"create the topic or fix the subscription; a query cannot continue without a topic it subscribes to",
		noun, strings.Join(e.brokers, ","))
}

func (e *topicGoneError) Is(target error) bool { return target == errTopicGone }

// retriable reports whether err is transient: a moved leader, a broker
// restarting, a dropped connection.
func retriable(err error) bool {
	var t transient
	if errors.As(err, &t) {
		return true
	}
	var kerr sarama.KError
	if errors.As(err, &kerr) {
		switch kerr {
		case sarama.ErrNotLeaderForPartition, sarama.ErrLeaderNotAvailable, sarama.ErrReplicaNotAvailable,
			sarama.ErrRequestTimedOut, sarama.ErrNetworkException, sarama.ErrNotEnoughReplicas,
			sarama.ErrKafkaStorageError, sarama.ErrFencedLeaderEpoch, sarama.ErrUnknownLeaderEpoch,
			sarama.ErrOffsetNotAvailable, sarama.ErrBrokerNotAvailable, sarama.ErrNotCoordinatorForConsumer,
			sarama.ErrConsumerCoordinatorNotAvailable, sarama.ErrOffsetsLoadInProgress, sarama.ErrRebalanceInProgress:
			return true
		}
		return false
	}
	if errors.Is(err, sarama.ErrNotConnected) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) || errors.Is(err, errIncomplete) {
		return true
	}
	var nerr net.Error
	return errors.As(err, &nerr)
}

// errIncomplete is a response that lacks a partition it was asked about.
var errIncomplete = errors.New("response has no answer for the partition")

// sleepCtx waits d or until ctx is done.
func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// retry runs f until it succeeds, fails for good, or has been retried
// cfg.maxRetries times; before each retry it backs off and refreshes the
// metadata of topics (all topics for none).
func (s *Source) retry(ctx context.Context, topics []string, f func() error) error {
	return retryLoop(ctx, s.cfg.maxRetries, s.cfg.retryBackoff, func() { _ = s.client.RefreshMetadata(topics...) }, f)
}

// retryLoop runs f, and while it fails with a retriable error, waits
// (backoff, doubling up to a second), calls refresh and runs it again, at
// most retries more times. It returns f's last error, or ctx's.
func retryLoop(ctx context.Context, retries int, backoff time.Duration, refresh func(), f func() error) error {
	for attempt := 0; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		err := f()
		if err == nil || !retriable(err) || attempt >= retries {
			return err
		}
		if err := sleepCtx(ctx, backoff); err != nil {
			return err
		}
		backoff = min(2*backoff, time.Second)
		refresh()
	}
}

// brokerError wraps a failure to talk to the cluster with the bootstrap
// addresses and what to check.
func (s *Source) brokerError(what string, err error) error {
	if errors.Is(err, sarama.ErrOutOfBrokers) || errors.Is(err, sarama.ErrNotConnected) || isNetErr(err) {
		return fmt.Errorf("kafka: %s: cannot reach the brokers %s: %w; check that they run and that WithBrokers (kafka.bootstrap.servers) names them",
			what, strings.Join(s.cfg.brokers, ","), err)
	}
	return fmt.Errorf("kafka: %s: %w", what, err)
}

func isNetErr(err error) bool {
	var nerr net.Error
	return errors.As(err, &nerr) || errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET)
}

// partitions refreshes the metadata and returns the subscribed partitions
// in (topic, partition) order. Subscribed topics that do not exist are an
// error; a pattern may match none.
func (s *Source) partitions(ctx context.Context) ([]TopicPartition, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var topics []string
	if s.cfg.patternSet {
		if err := s.client.RefreshMetadata(); err != nil {
			return nil, s.brokerError("refreshing metadata", err)
		}
		all, err := s.client.Topics()
		if err != nil {
			return nil, s.brokerError("listing topics", err)
		}
		for _, t := range all {
			if !strings.HasPrefix(t, "__") && s.cfg.compiledPattern.MatchString(t) {
				topics = append(topics, t)
			}
		}
	} else {
		topics = s.cfg.topics
		if err := s.client.RefreshMetadata(topics...); err != nil {
			if !errors.Is(err, sarama.ErrUnknownTopicOrPartition) {
				return nil, s.brokerError("refreshing metadata of "+strings.Join(topics, ","), err)
			}
			known, kerr := s.client.Topics()
			if kerr != nil {
				return nil, s.brokerError("listing topics", kerr)
			}
			have := map[string]bool{}
			for _, t := range known {
				have[t] = true
			}
			var missing []string
			for _, t := range topics {
				if !have[t] {
					missing = append(missing, t)
				}
			}
			if len(missing) == 0 {
				return nil, s.brokerError("refreshing metadata of "+strings.Join(topics, ","), err)
			}
			return nil, &topicGoneError{topics: missing, brokers: s.cfg.brokers}
		}
	}
	sort.Strings(topics)
	var tps []TopicPartition
	for _, t := range topics {
		ps, err := s.client.Partitions(t)
		if err != nil {
			if errors.Is(err, sarama.ErrUnknownTopicOrPartition) && !s.cfg.patternSet {
				return nil, &topicGoneError{topics: []string{t}, brokers: s.cfg.brokers}
			}
			if errors.Is(err, sarama.ErrUnknownTopicOrPartition) {
				continue // deleted between listing and now
			}
			return nil, s.brokerError("listing the partitions of topic "+t, err)
		}
		for _, p := range ps {
			tps = append(tps, TopicPartition{t, p})
		}
	}
	sortTPs(tps)
	return tps, nil
}

func topicsOf(tps []TopicPartition) []string {
	var out []string
	seen := map[string]bool{}
	for _, tp := range tps {
		if !seen[tp.Topic] {
			seen[tp.Topic] = true
			out = append(out, tp.Topic)
		}
	}
	return out
}

// listOffsets asks each partition's leader for the offset of query(tp): a
// timestamp in milliseconds, listEarliest or listLatest (the high
// watermark, or the last stable offset under ReadCommitted). A timestamp
// with no record at or after it gives -1.
func (s *Source) listOffsets(ctx context.Context, tps []TopicPartition, query func(TopicPartition) int64) (Offsets, error) {
	out := make(Offsets, len(tps))
	remaining := tps
	err := s.retry(ctx, topicsOf(tps), func() error {
		byBroker := map[*sarama.Broker][]TopicPartition{}
		for _, tp := range remaining {
			b, err := s.client.Leader(tp.Topic, tp.Partition)
			if err != nil {
				return s.leaderError(tp, err)
			}
			byBroker[b] = append(byBroker[b], tp)
		}
		var (
			mu      sync.Mutex
			wg      sync.WaitGroup
			failed  []TopicPartition
			lastErr error
		)
		for b, list := range byBroker {
			wg.Add(1)
			go func() {
				defer wg.Done()
				got, err := s.listOffsetsAt(b, list, query)
				mu.Lock()
				defer mu.Unlock()
				for tp, off := range got {
					out[tp] = off
				}
				if err != nil {
					for _, tp := range list {
						if _, ok := got[tp]; !ok {
							failed = append(failed, tp)
						}
					}
					if lastErr == nil || !retriable(err) {
						lastErr = err
					}
				}
			}()
		}
		wg.Wait()
		sortTPs(failed)
		remaining = failed
		return lastErr
	})
	if err != nil {
		var gone *topicGoneError
		if errors.As(err, &gone) {
			return nil, err
		}
		return nil, s.brokerError("listing offsets", err)
	}
	return out, nil
}

// leaderError turns a failed leader lookup into the error to return: a
// topicGoneError if the topic no longer exists.
func (s *Source) leaderError(tp TopicPartition, err error) error {
	if errors.Is(err, sarama.ErrUnknownTopicOrPartition) {
		if known, kerr := s.client.Topics(); kerr == nil {
			for _, t := range known {
				if t == tp.Topic {
					return fmt.Errorf("finding the leader of %s: %w", tp, err)
				}
			}
		}
		return &topicGoneError{topics: []string{tp.Topic}, brokers: s.cfg.brokers}
	}
	return fmt.Errorf("finding the leader of %s: %w", tp, err)
}

// listOffsetsAt sends one ListOffsets request to b for tps. It returns the
// offsets it got and an error for the partitions it did not.
func (s *Source) listOffsetsAt(b *sarama.Broker, tps []TopicPartition, query func(TopicPartition) int64) (Offsets, error) {
	req := sarama.NewOffsetRequest(s.saramaConf.Version)
	// Version 2 added the isolation level: sarama's GetOffset leaves it
	// out, so the last stable offset needs a request built here.
	req.Version = max(req.Version, 2)
	if s.cfg.isolation == ReadCommitted {
		req.IsolationLevel = sarama.ReadCommitted
	}
	for _, tp := range tps {
		req.AddBlock(tp.Topic, tp.Partition, query(tp), 1)
	}
	resp, err := b.GetAvailableOffsets(req)
	if err != nil {
		_ = b.Close() // the next Leader call reopens it
		return nil, fmt.Errorf("listing offsets at broker %s: %w", b.Addr(), err)
	}
	if s.cfg.isolation == ReadCommitted && resp.Version < 2 {
		return nil, fmt.Errorf("broker %s answered ListOffsets version %d, which has no isolation level: read_committed needs Kafka 0.11 or later", b.Addr(), resp.Version)
	}
	got := make(Offsets, len(tps))
	var firstErr error
	for _, tp := range tps {
		block := resp.GetBlock(tp.Topic, tp.Partition)
		var err error
		switch {
		case block == nil:
			err = fmt.Errorf("listing offsets of %s at broker %s: %w", tp, b.Addr(), errIncomplete)
		case !errors.Is(block.Err, sarama.ErrNoError):
			err = fmt.Errorf("listing offsets of %s at broker %s: %w", tp, b.Addr(), block.Err)
			if errors.Is(block.Err, sarama.ErrUnknownTopicOrPartition) {
				err = s.leaderError(tp, block.Err)
			}
		case resp.Version == 0:
			if len(block.Offsets) == 0 {
				got[tp] = -1
			} else {
				got[tp] = block.Offsets[0]
			}
		default:
			got[tp] = block.Offset
		}
		if err != nil && (firstErr == nil || !retriable(err)) {
			firstErr = err
		}
	}
	return got, firstErr
}
