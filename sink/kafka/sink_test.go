package kafka_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/bufpool"
	"github.com/sluicehq/sluice/sink"
	"github.com/sluicehq/sluice/sink/kafka"
)

func TestAtLeastOnceDeliversAllRows(t *testing.T) {
	mem := memory.NewCheckedAllocator(bufpool.NewPoison())
	defer mem.AssertSize(t, 0)
	brokers := kafkaBrokers(t)
	topic := unique(t, "alo")
	s := open(t, brokers, unique(t, "q"), kvSchema, kafka.WithTopic(topic))
	if err := addBatch(t, s, 0, kvRecord(mem, 0, 500), kvRecord(mem, 500, 1000)); err != nil {
		t.Fatal(err)
	}
	if err := addBatch(t, s, 1, kvRecord(mem, 1000, 1500)); err != nil {
		t.Fatal(err)
	}
	if err := addBatch(t, s, 2); err != nil {
		t.Fatalf("a batch without records: %v", err)
	}
	got := readCommitted(t, brokers, topic)
	checkOnce(t, values(got), wantValues(0, 1500), "at-least-once without replays")
	for _, r := range got {
		if want := "k" + strings.TrimPrefix(string(r.Value), "v"); string(r.Key) != want {
			t.Fatalf("record %s has key %q, want %q", r.Value, r.Key, want)
		}
	}
	m := s.Metrics()
	if m["batchId"] != "1" || m["numRecords"] != "500" || m["skippedReplays"] != "0" {
		t.Errorf("Metrics() = %v, want batchId 1, numRecords 500, skippedReplays 0", m)
	}
	if _, ok := m["txnCommitMs"]; ok {
		t.Errorf("Metrics() = %v: txnCommitMs is only for exactly-once", m)
	}
	if got, want := s.Description(), "KafkaSink[topic="+topic+",at-least-once]"; got != want {
		t.Errorf("Description() = %q, want %q", got, want)
	}
}

// At least once means a replayed batch is sent again: the documented
// duplicates.
func TestAtLeastOnceReplaySendsAgain(t *testing.T) {
	mem := memory.NewCheckedAllocator(bufpool.NewPoison())
	defer mem.AssertSize(t, 0)
	brokers := kafkaBrokers(t)
	topic := unique(t, "alo")
	s := open(t, brokers, unique(t, "q"), kvSchema, kafka.WithTopic(topic))
	for range 2 {
		if err := addBatch(t, s, 0, kvRecord(mem, 0, 10)); err != nil {
			t.Fatal(err)
		}
	}
	want := append(wantValues(0, 10), wantValues(0, 10)...)
	got := values(readCommitted(t, brokers, topic))
	if len(got) != len(want) {
		t.Fatalf("read %d records after a replay, want %d (each twice)", len(got), len(want))
	}
	if s.Metrics()["skippedReplays"] != "0" {
		t.Errorf("at-least-once counted a skipped replay: %v", s.Metrics())
	}
}

func TestExactlyOnceWritesEachBatchOnce(t *testing.T) {
	mem := memory.NewCheckedAllocator(bufpool.NewPoison())
	defer mem.AssertSize(t, 0)
	brokers := kafkaBrokers(t)
	topic, query := unique(t, "eos"), unique(t, "q")
	s := open(t, brokers, query, kvSchema, kafka.WithTopic(topic), kafka.WithGuarantee(kafka.ExactlyOnce))
	for b := range 3 {
		if err := addBatch(t, s, int64(b), kvRecord(mem, b*100, b*100+100)); err != nil {
			t.Fatalf("batch %d: %v", b, err)
		}
	}
	// The driver replays the last batch after a crash: a no-op.
	if err := addBatch(t, s, 2, kvRecord(mem, 200, 300)); err != nil {
		t.Fatal(err)
	}
	m := s.Metrics()
	if m["skippedReplays"] != "1" || m["batchId"] != "2" || m["numRecords"] != "100" || m["txnCommitMs"] == "" {
		t.Errorf("Metrics() = %v, want skippedReplays 1, batchId 2, numRecords 100, txnCommitMs", m)
	}
	// A new instance (a restarted query) reads the marker in Open.
	s2 := open(t, brokers, query, kvSchema, kafka.WithTopic(topic), kafka.WithGuarantee(kafka.ExactlyOnce))
	if err := addBatch(t, s2, 2, kvRecord(mem, 200, 300)); err != nil {
		t.Fatal(err)
	}
	if err := addBatch(t, s2, 3, kvRecord(mem, 300, 400)); err != nil {
		t.Fatal(err)
	}
	if got := s2.Metrics()["skippedReplays"]; got != "1" {
		t.Errorf("the restarted sink skipped %s replays, want 1", got)
	}
	checkOnce(t, values(readCommitted(t, brokers, topic)), wantValues(0, 400), "exactly-once with replays")
	if got, want := s.Description(), "KafkaSink[topic="+topic+",exactly-once]"; got != want {
		t.Errorf("Description() = %q, want %q", got, want)
	}
}

var errCrash = errors.New("injected crash")

// (a) A crash before the commit: the transaction stays open until the next
// instance initialises the transactional id, which aborts it; the batch is
// written again, and read_committed consumers see it once.
func TestExactlyOnceCrashBeforeCommit(t *testing.T) {
	mem := memory.NewCheckedAllocator(bufpool.NewPoison())
	defer mem.AssertSize(t, 0)
	brokers := kafkaBrokers(t)
	topic, query := unique(t, "eos"), unique(t, "q")
	opts := []kafka.Option{kafka.WithTopic(topic), kafka.WithGuarantee(kafka.ExactlyOnce)}

	s1 := open(t, brokers, query, kvSchema, opts...)
	if err := addBatch(t, s1, 0, kvRecord(mem, 0, 50)); err != nil {
		t.Fatal(err)
	}
	crashing := open(t, brokers, query, kvSchema, append(opts, kafka.WithTestHooks(kafka.TestHooks{
		BeforeCommit: func(int64) error { return errCrash },
	}))...)
	if err := addBatch(t, crashing, 1, kvRecord(mem, 50, 100)); !errors.Is(err, errCrash) {
		t.Fatalf("AddBatch with a crash before the commit: %v, want the injected crash", err)
	}
	if open := openTransactions(t, brokers, topic); !anyTrue(open) {
		t.Fatalf("after the crash no transaction is open on %s (%v): the test does not exercise the abort", topic, open)
	}
	restarted := open(t, brokers, query, kvSchema, opts...)
	if err := addBatch(t, restarted, 1, kvRecord(mem, 50, 100)); err != nil {
		t.Fatalf("re-running batch 1: %v", err)
	}
	if got := restarted.Metrics()["skippedReplays"]; got != "0" {
		t.Errorf("batch 1 never committed, yet the restarted sink skipped it (skippedReplays %s)", got)
	}
	if open := openTransactions(t, brokers, topic); anyTrue(open) {
		t.Errorf("transactions still open on %s after the restart: %v", topic, open)
	}
	checkOnce(t, values(readCommitted(t, brokers, topic)), wantValues(0, 100), "crash before commit")
}

// (b) A crash after the commit, before AddBatch returns (so before the
// driver writes commits/N): the re-run of the batch is a no-op.
func TestExactlyOnceCrashAfterCommit(t *testing.T) {
	mem := memory.NewCheckedAllocator(bufpool.NewPoison())
	defer mem.AssertSize(t, 0)
	brokers := kafkaBrokers(t)
	topic, query := unique(t, "eos"), unique(t, "q")
	opts := []kafka.Option{kafka.WithTopic(topic), kafka.WithGuarantee(kafka.ExactlyOnce)}

	crashing := open(t, brokers, query, kvSchema, append(opts, kafka.WithTestHooks(kafka.TestHooks{
		AfterCommit: func(b int64) error {
			if b == 1 {
				return errCrash
			}
			return nil
		},
	}))...)
	if err := addBatch(t, crashing, 0, kvRecord(mem, 0, 50)); err != nil {
		t.Fatal(err)
	}
	if err := addBatch(t, crashing, 1, kvRecord(mem, 50, 100)); !errors.Is(err, errCrash) {
		t.Fatalf("AddBatch with a crash after the commit: %v, want the injected crash", err)
	}
	restarted := open(t, brokers, query, kvSchema, opts...)
	if err := addBatch(t, restarted, 1, kvRecord(mem, 50, 100)); err != nil {
		t.Fatalf("re-running batch 1: %v", err)
	}
	if got := restarted.Metrics()["skippedReplays"]; got != "1" {
		t.Errorf("skippedReplays = %s, want 1: batch 1 had committed", got)
	}
	if err := addBatch(t, restarted, 2, kvRecord(mem, 100, 150)); err != nil {
		t.Fatal(err)
	}
	checkOnce(t, values(readCommitted(t, brokers, topic)), wantValues(0, 150), "crash after commit")
}

// (c) A zombie: an old instance that is still about to commit when a new
// instance initialises the same transactional id is fenced; its
// transaction is aborted and it never writes again.
func TestExactlyOnceZombieIsFenced(t *testing.T) {
	mem := memory.NewCheckedAllocator(bufpool.NewPoison())
	defer mem.AssertSize(t, 0)
	brokers := kafkaBrokers(t)
	topic, query := unique(t, "eos"), unique(t, "q")
	opts := []kafka.Option{kafka.WithTopic(topic), kafka.WithGuarantee(kafka.ExactlyOnce)}

	paused, resume := make(chan struct{}), make(chan struct{})
	zombie := open(t, brokers, query, kvSchema, append(opts, kafka.WithTestHooks(kafka.TestHooks{
		BeforeCommit: func(int64) error {
			close(paused)
			<-resume
			return nil
		},
	}))...)
	var wg sync.WaitGroup
	var zombieErr error
	zrec := kvRecord(mem, 0, 100)
	wg.Add(1)
	go func() {
		defer wg.Done()
		zombieErr = zombie.AddBatch(context.Background(), 0, []arrow.RecordBatch{zrec})
	}()
	<-paused // the zombie sent its rows and is about to commit

	live := open(t, brokers, query, kvSchema, opts...)
	if err := addBatch(t, live, 0, kvRecord(mem, 0, 100)); err != nil {
		t.Fatalf("the new instance writing batch 0: %v", err)
	}
	close(resume)
	wg.Wait()
	zrec.Release()
	if !errors.Is(zombieErr, kafka.ErrFenced) {
		t.Fatalf("the zombie's commit returned %v, want an error wrapping ErrFenced", zombieErr)
	}
	if !strings.Contains(zombieErr.Error(), "kafka sink: ") || !strings.Contains(zombieErr.Error(), query) {
		t.Errorf("the fencing error does not name the query: %v", zombieErr)
	}
	// Fenced for good: the zombie does not re-initialise and fence back.
	if err := addBatch(t, zombie, 1, kvRecord(mem, 100, 200)); !errors.Is(err, kafka.ErrFenced) {
		t.Fatalf("the zombie's next batch returned %v, want ErrFenced", err)
	}
	if err := addBatch(t, live, 1, kvRecord(mem, 100, 200)); err != nil {
		t.Fatalf("the live instance after the zombie gave up: %v", err)
	}
	if open := openTransactions(t, brokers, topic); anyTrue(open) {
		t.Errorf("transactions still open on %s: %v", topic, open)
	}
	checkOnce(t, values(readCommitted(t, brokers, topic)), wantValues(0, 200), "zombie fenced")
}

// A commit that reports failure although it took effect: the sink re-reads
// the marker, sees the batch, and does not write it again.
func TestExactlyOnceCommitErrorAfterCommit(t *testing.T) {
	mem := memory.NewCheckedAllocator(bufpool.NewPoison())
	defer mem.AssertSize(t, 0)
	brokers := kafkaBrokers(t)
	topic, query := unique(t, "eos"), unique(t, "q")
	calls := 0
	s := open(t, brokers, query, kvSchema, kafka.WithTopic(topic), kafka.WithGuarantee(kafka.ExactlyOnce),
		kafka.WithTestHooks(kafka.TestHooks{CommitResult: func(b int64, err error) error {
			calls++
			if err == nil && b == 0 {
				return errors.New("injected: connection reset while waiting for EndTxn")
			}
			return err
		}}))
	if err := addBatch(t, s, 0, kvRecord(mem, 0, 40)); err != nil {
		t.Fatalf("a commit that took effect but reported an error: AddBatch = %v, want success after re-reading the marker", err)
	}
	if calls != 1 {
		t.Errorf("CommitTxn ran %d times, want 1: the marker shows the batch committed", calls)
	}
	if got := s.Metrics()["skippedReplays"]; got != "0" {
		t.Errorf("skippedReplays = %s: settling an uncertain commit is not a replay", got)
	}
	if err := addBatch(t, s, 1, kvRecord(mem, 40, 80)); err != nil {
		t.Fatalf("the batch after an uncertain commit: %v", err)
	}
	checkOnce(t, values(readCommitted(t, brokers, topic)), wantValues(0, 80), "uncertain commit that committed")
}

func TestTopicColumnAndNullTopic(t *testing.T) {
	mem := memory.NewCheckedAllocator(bufpool.NewPoison())
	defer mem.AssertSize(t, 0)
	brokers := kafkaBrokers(t)
	t1, t2 := unique(t, "a"), unique(t, "b")
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "topic", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "value", Type: arrow.BinaryTypes.Binary, Nullable: true},
	}, nil)
	s := open(t, brokers, unique(t, "q"), schema)
	if got := s.Description(); got != "KafkaSink[topic column,at-least-once]" {
		t.Errorf("Description() = %q", got)
	}
	rec := buildRecord(t, mem, schema, []any{t1, []byte("x1")}, []any{t2, []byte("x2")}, []any{t1, []byte("x3")})
	if err := addBatch(t, s, 0, rec); err != nil {
		t.Fatal(err)
	}
	if got := values(readCommitted(t, brokers, t1)); strings.Join(got, ",") != "x1,x3" {
		t.Errorf("topic %s holds %v, want x1, x3", t1, got)
	}
	if got := values(readCommitted(t, brokers, t2)); strings.Join(got, ",") != "x2" {
		t.Errorf("topic %s holds %v, want x2", t2, got)
	}
	rec = buildRecord(t, mem, schema, []any{t1, []byte("y1")}, []any{nil, []byte("y2")})
	err := addBatch(t, s, 1, rec)
	if err == nil || !strings.Contains(err.Error(), `row 1 (record 0, row 1) has a null "topic"`) || !strings.Contains(err.Error(), "batch 1") {
		t.Fatalf("a null topic: %v, want an error naming row 1 of batch 1", err)
	}
}

func anyTrue(m map[int32]bool) bool {
	for _, v := range m {
		if v {
			return true
		}
	}
	return false
}

var _ = sink.OpenInfo{}

// The marker may sit on the output topic itself, for principals that may
// not create topics; the sink that crashed before its commit is reused
// (not reopened) and recovers by itself.
func TestExactlyOnceMarkerOnOutputTopic(t *testing.T) {
	mem := memory.NewCheckedAllocator(bufpool.NewPoison())
	defer mem.AssertSize(t, 0)
	brokers := kafkaBrokers(t)
	topic, query := unique(t, "eos"), unique(t, "q")
	crash := true
	s := open(t, brokers, query, kvSchema, kafka.WithTopic(topic), kafka.WithGuarantee(kafka.ExactlyOnce), kafka.WithMarkerTopic(topic),
		kafka.WithTestHooks(kafka.TestHooks{BeforeCommit: func(int64) error {
			if crash {
				crash = false
				return errCrash
			}
			return nil
		}}))
	if err := addBatch(t, s, 0, kvRecord(mem, 0, 30)); !errors.Is(err, errCrash) {
		t.Fatalf("first attempt: %v, want the injected crash", err)
	}
	if err := addBatch(t, s, 0, kvRecord(mem, 0, 30)); err != nil {
		t.Fatalf("retrying batch 0 on the same sink: %v", err)
	}
	if err := addBatch(t, s, 0, kvRecord(mem, 0, 30)); err != nil {
		t.Fatal(err)
	}
	if got := s.Metrics()["skippedReplays"]; got != "1" {
		t.Errorf("skippedReplays = %s, want 1", got)
	}
	s2 := open(t, brokers, query, kvSchema, kafka.WithTopic(topic), kafka.WithGuarantee(kafka.ExactlyOnce), kafka.WithMarkerTopic(topic))
	if err := addBatch(t, s2, 0, kvRecord(mem, 0, 30)); err != nil {
		t.Fatal(err)
	}
	if got := s2.Metrics()["skippedReplays"]; got != "1" {
		t.Errorf("a new instance reading the marker from the output topic skipped %s replays, want 1", got)
	}
	checkOnce(t, values(readCommitted(t, brokers, topic)), wantValues(0, 30), "marker on the output topic")
}
