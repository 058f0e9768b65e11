package kafka_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/bufpool"
	"github.com/sluicehq/sluice/sink"
	"github.com/sluicehq/sluice/sink/kafka"
)

// newCluster starts an in-process kfake cluster for tests that need a
// broker configured in a particular way (no topic auto-creation, ACLs,
// injected faults).
func newCluster(t *testing.T, opts ...kfake.Opt) *kfake.Cluster {
	t.Helper()
	c, err := kfake.NewCluster(append([]kfake.Opt{kfake.NumBrokers(1)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func openErr(brokers []string, opts ...kafka.Option) error {
	s, err := kafka.New(append([]kafka.Option{kafka.WithBrokers(brokers...)}, opts...)...)
	if err != nil {
		return err
	}
	err = s.Open(context.Background(), sink.OpenInfo{QueryID: "q1", Schema: kvSchema})
	_ = s.Close()
	return err
}

func TestUnreachableBrokers(t *testing.T) {
	err := openErr([]string{"127.0.0.1:1", "127.0.0.1:2"}, kafka.WithTopic("t"), fastFail)
	want := "kafka sink: cannot reach any broker of 127.0.0.1:1,127.0.0.1:2 after 4 attempts"
	if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "kafka.bootstrap.servers") {
		t.Fatalf("Open = %v, want an error containing %q and naming the option", err, want)
	}
}

func TestTopicMissingWithoutAutoCreation(t *testing.T) {
	mem := memory.NewCheckedAllocator(bufpool.NewPoison())
	defer mem.AssertSize(t, 0)
	c := newCluster(t, kfake.SeedTopics(1, "present"))
	brokers := c.ListenAddrs()

	err := openErr(brokers, kafka.WithTopic("absent"), fastFail)
	if err == nil || !strings.Contains(err.Error(), `kafka sink: topic "absent" (the topic given by WithTopic)`) ||
		!strings.Contains(err.Error(), "does not exist and the brokers did not create it") {
		t.Fatalf("Open with a missing topic = %v", err)
	}

	// With a topic column, the first row sent to a missing topic is named.
	s := open(t, brokers, "q", topicSchema, fastFail)
	err = addBatch(t, s, 0, buildRecord(t, mem, topicSchema, []any{"present", "a"}, []any{"absent", "b"}))
	if err == nil || !strings.Contains(err.Error(), `topic "absent" (first used by row 1 (record 0, row 1))`) {
		t.Fatalf("AddBatch to a missing topic = %v", err)
	}
	if err := addBatch(t, s, 1, buildRecord(t, mem, topicSchema, []any{"present", "a"})); err != nil {
		t.Fatalf("AddBatch to an existing topic: %v", err)
	}

	// Exactly-once creates its marker topic itself when the brokers do not.
	eos := open(t, brokers, "q2", kvSchema, kafka.WithTopic("present"), kafka.WithGuarantee(kafka.ExactlyOnce))
	if err := addBatch(t, eos, 0, kvRecord(mem, 0, 3)); err != nil {
		t.Fatalf("exactly-once on brokers that do not create topics: %v", err)
	}
	if c.TopicInfo(kafka.DefaultMarkerTopic) == nil {
		t.Errorf("the marker topic %s was not created", kafka.DefaultMarkerTopic)
	}
}

func saslPlain(user, pass string) kafka.Option {
	return kafka.WithSaramaConfig(func(c *sarama.Config) {
		c.Net.SASL.Enable = true
		c.Net.SASL.Mechanism = sarama.SASLTypePlaintext
		c.Net.SASL.User = user
		c.Net.SASL.Password = pass
		c.Metadata.Retry.Backoff = time.Millisecond
		c.Producer.Transaction.Retry.Backoff = time.Millisecond
	})
}

func allow(res kmsg.ACLResourceType, name string, op kmsg.ACLOperation) kfake.ACL {
	return kfake.ACL{Resource: res, Name: name, Pattern: kmsg.ACLResourcePatternTypeLiteral, Operation: op, Allow: true}
}

func TestAuthorizationFailures(t *testing.T) {
	topicACLs := []kfake.ACL{
		allow(kmsg.ACLResourceTypeTopic, "events", kmsg.ACLOperationWrite),
		allow(kmsg.ACLResourceTypeTopic, "events", kmsg.ACLOperationDescribe),
		allow(kmsg.ACLResourceTypeCluster, "kafka-cluster", kmsg.ACLOperationIdempotentWrite),
		allow(kmsg.ACLResourceTypeTopic, kafka.DefaultMarkerTopic, kmsg.ACLOperationAll),
	}
	c := newCluster(t,
		kfake.EnableSASL(), kfake.EnableACLs(),
		kfake.Superuser("PLAIN", "admin", "admin"),
		kfake.SeedTopics(1, "events", "secret", kafka.DefaultMarkerTopic),
		kfake.User("PLAIN", "writer", "pw", topicACLs...),
		kfake.User("PLAIN", "txn", "pw", append(topicACLs,
			allow(kmsg.ACLResourceTypeTransactionalId, "sluice-q1", kmsg.ACLOperationWrite))...),
	)
	brokers := c.ListenAddrs()

	err := openErr(brokers, kafka.WithTopic("secret"), saslPlain("writer", "pw"))
	if err == nil || !strings.Contains(err.Error(), `kafka sink: topic "secret"`) ||
		!strings.Contains(err.Error(), "not authorized for the topic: grant it WRITE and DESCRIBE") {
		t.Errorf("a topic the principal may not use: %v", err)
	}
	if err := openErr(brokers, kafka.WithTopic("events"), saslPlain("writer", "pw")); err != nil {
		t.Errorf("at-least-once with WRITE on the topic: %v", err)
	}
	err = openErr(brokers, kafka.WithTopic("events"), kafka.WithGuarantee(kafka.ExactlyOnce), saslPlain("writer", "pw"))
	if err == nil || !strings.Contains(err.Error(), `kafka sink: initialising transactional id "sluice-q1"`) ||
		!strings.Contains(err.Error(), `grant it WRITE and DESCRIBE on that transactional id (or a prefixed ACL on "sluice-")`) {
		t.Errorf("exactly-once without the transactional id ACL: %v", err)
	}
	err = openErr(brokers, kafka.WithTopic("events"), kafka.WithGuarantee(kafka.ExactlyOnce), saslPlain("txn", "pw"))
	if err == nil || !strings.Contains(err.Error(), `group "sluice-sink-q1"`) || !strings.Contains(err.Error(), "grant it READ on the group") {
		t.Errorf("exactly-once without the group ACL: %v", err)
	}
	err = openErr(brokers, kafka.WithTopic("events"), kafka.WithGuarantee(kafka.ExactlyOnce), kafka.WithMarkerTopic("secret"), saslPlain("txn", "pw"))
	if err == nil || !strings.Contains(err.Error(), `kafka sink: marker topic "secret"`) || !strings.Contains(err.Error(), "not authorized for the topic") {
		t.Errorf("exactly-once with a marker topic the principal may not use: %v", err)
	}
	// kfake drops the connection of a failed login: that reads as no
	// broker answering, with SASL among the things to check.
	err = openErr(brokers, kafka.WithTopic("events"), saslPlain("writer", "wrong"))
	if err == nil || !strings.HasPrefix(err.Error(), "kafka sink: cannot reach any broker") || !strings.Contains(err.Error(), "SASL") {
		t.Errorf("wrong password: %v", err)
	}
}

// A commit the brokers refuse (so it did not happen) is settled and the
// batch's transaction runs again; read_committed consumers see it once.
func TestExactlyOnceRetriesAFailedCommit(t *testing.T) {
	mem := memory.NewCheckedAllocator(bufpool.NewPoison())
	defer mem.AssertSize(t, 0)
	c := newCluster(t, kfake.AllowAutoTopicCreation(), kfake.DefaultNumPartitions(2))
	brokers := c.ListenAddrs()
	endTxns := 0
	c.ControlKey(kmsg.EndTxn.Int16(), func(req kmsg.Request) (kmsg.Response, error, bool) {
		endTxns++
		if endTxns > 1 {
			c.DropControl()
			return nil, nil, false
		}
		c.KeepControl()
		resp := req.ResponseKind().(*kmsg.EndTxnResponse)
		resp.ErrorCode = kerr.InvalidTxnState.Code
		return resp, nil, true
	})
	s := open(t, brokers, "q", kvSchema, kafka.WithTopic("out"), kafka.WithGuarantee(kafka.ExactlyOnce))
	if err := addBatch(t, s, 0, kvRecord(mem, 0, 20)); err != nil {
		t.Fatalf("AddBatch after a refused commit: %v", err)
	}
	if endTxns != 2 {
		t.Errorf("EndTxn sent %d times, want 2 (refused, then the retry)", endTxns)
	}
	checkOnce(t, values(readCommitted(t, brokers, "out")), wantValues(0, 20), "refused commit retried")
	if m := s.Metrics(); m["skippedReplays"] != "0" || m["batchId"] != "0" {
		t.Errorf("Metrics() = %v", m)
	}
}

// A commit refused every time fails the batch after a bounded number of
// attempts, with the brokers' reason.
func TestExactlyOnceGivesUpAfterAttempts(t *testing.T) {
	mem := memory.NewCheckedAllocator(bufpool.NewPoison())
	defer mem.AssertSize(t, 0)
	c := newCluster(t, kfake.AllowAutoTopicCreation())
	c.ControlKey(kmsg.EndTxn.Int16(), func(req kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		resp := req.ResponseKind().(*kmsg.EndTxnResponse)
		if req.(*kmsg.EndTxnRequest).Commit {
			resp.ErrorCode = kerr.InvalidTxnState.Code
			return resp, nil, true
		}
		return nil, nil, false
	})
	s := open(t, c.ListenAddrs(), "q", kvSchema, kafka.WithTopic("out"), kafka.WithGuarantee(kafka.ExactlyOnce))
	err := addBatch(t, s, 5, kvRecord(mem, 0, 3))
	if err == nil || !strings.Contains(err.Error(), "kafka sink: batch 5: the transaction did not commit in 3 attempts") ||
		!errors.Is(err, sarama.ErrInvalidTxnState) {
		t.Fatalf("AddBatch with every commit refused = %v", err)
	}
}

// A batch the brokers do not acknowledge within the flush timeout fails
// with the timeout; the sink recovers for the next attempt, and for
// exactly-once the timed-out transaction never becomes visible.
func TestFlushTimeout(t *testing.T) {
	for _, g := range []kafka.Guarantee{kafka.AtLeastOnce, kafka.ExactlyOnce} {
		t.Run(g.String(), func(t *testing.T) {
			mem := memory.NewCheckedAllocator(bufpool.NewPoison())
			defer mem.AssertSize(t, 0)
			c := newCluster(t, kfake.AllowAutoTopicCreation(), kfake.DefaultNumPartitions(1))
			brokers := c.ListenAddrs()
			s := open(t, brokers, "q", kvSchema, kafka.WithTopic("out"), kafka.WithGuarantee(g), kafka.WithFlushTimeout(50*time.Millisecond))
			slow := true
			c.ControlKey(kmsg.Produce.Int16(), func(kmsg.Request) (kmsg.Response, error, bool) {
				if slow {
					slow = false
					// A broker that takes longer than the flush timeout.
					c.SleepControl(func() { time.Sleep(300 * time.Millisecond) })
				}
				c.DropControl()
				return nil, nil, false
			})
			err := addBatch(t, s, 0, kvRecord(mem, 0, 10))
			if err == nil || !strings.Contains(err.Error(), "kafka sink: batch 0: only 0 of 10 records were acknowledged within the flush timeout of 50ms") {
				t.Fatalf("AddBatch with a slow broker = %v", err)
			}
			if err := addBatch(t, s, 0, kvRecord(mem, 0, 10)); err != nil {
				t.Fatalf("retrying the batch: %v", err)
			}
			got := values(readCommitted(t, brokers, "out"))
			if g == kafka.ExactlyOnce {
				checkOnce(t, got, wantValues(0, 10), "flush timeout, exactly-once")
			} else if len(got) != 20 {
				// The slow request was written after all, then the retry.
				t.Errorf("at-least-once read %d records, want 20 (the slow attempt and the retry)", len(got))
			}
		})
	}
}

func TestCanceledContext(t *testing.T) {
	mem := memory.NewCheckedAllocator(bufpool.NewPoison())
	defer mem.AssertSize(t, 0)
	c := newCluster(t, kfake.AllowAutoTopicCreation())
	s := open(t, c.ListenAddrs(), "q", kvSchema, kafka.WithTopic("out"))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	rec := kvRecord(mem, 0, 1000)
	defer rec.Release()
	err := s.AddBatch(ctx, 0, []arrow.RecordBatch{rec})
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "kafka sink: batch 0") {
		t.Fatalf("AddBatch with a canceled context = %v", err)
	}
}
