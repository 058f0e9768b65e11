package kafka_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/bufpool"
	"github.com/sluicehq/sluice/microbatch"
	"github.com/sluicehq/sluice/objstore"
	"github.com/sluicehq/sluice/sink/kafka"
	"github.com/sluicehq/sluice/source"
	memsrc "github.com/sluicehq/sluice/source/memory"
	"github.com/sluicehq/sluice/trigger"
)

var eventSchema = arrow.NewSchema([]arrow.Field{
	{Name: "id", Type: arrow.PrimitiveTypes.Int64},
	{Name: "key", Type: arrow.BinaryTypes.String},
	{Name: "value", Type: arrow.BinaryTypes.String},
}, nil)

// identity is a stateless plan that passes records through.
type identity struct{ schema *arrow.Schema }

func (p identity) OutputSchema() *arrow.Schema { return p.schema }
func (p identity) Process(_ context.Context, _ int, rec arrow.RecordBatch) ([]arrow.RecordBatch, error) {
	rec.Retain()
	return []arrow.RecordBatch{rec}, nil
}
func (identity) NeedsNoDataBatch(int64) bool { return false }

func eventRecord(mem memory.Allocator, from, to int) arrow.RecordBatch {
	b := array.NewRecordBuilder(mem, eventSchema)
	defer b.Release()
	for i := from; i < to; i++ {
		b.Field(0).(*array.Int64Builder).Append(int64(i))
		b.Field(1).(*array.StringBuilder).Append(fmt.Sprintf("k%d", i%7))
		b.Field(2).(*array.StringBuilder).Append(fmt.Sprintf("v%d", i))
	}
	return b.NewRecordBatch()
}

// TestDriverExactlyOnceAcrossCrashes runs a query from a memory source into
// an exactly-once Kafka sink through the micro-batch driver, crashing it at
// each point that matters and restarting it (a new driver and a new sink
// over the same checkpoint, as a new process would): a read_committed
// consumer sees every row exactly once.
func TestDriverExactlyOnceAcrossCrashes(t *testing.T) {
	mem := memory.NewCheckedAllocator(bufpool.NewPoison())
	defer mem.AssertSize(t, 0)
	ctx := context.Background()
	brokers := kafkaBrokers(t)
	topic := unique(t, "driver")
	src := memsrc.New(eventSchema)
	defer src.Close()
	ckpt := objstore.NewFaulty(objstore.NewMemory(), 1)

	add := func(from, to int) {
		rec := eventRecord(mem, from, to)
		src.Add(rec)
		rec.Release()
	}
	run := func(hooks kafka.TestHooks) (map[string]string, error) {
		t.Helper()
		s, err := kafka.New(kafka.WithBrokers(brokers...), kafka.WithTopic(topic),
			kafka.WithGuarantee(kafka.ExactlyOnce), kafka.WithTestHooks(hooks))
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		d, err := microbatch.New(microbatch.Config{
			Name:       "kafka-e2e",
			Sources:    []source.Source{src},
			Plan:       identity{eventSchema},
			Sink:       s,
			Checkpoint: ckpt,
			Trigger:    trigger.AvailableNow(),
			Allocator:  mem,
			Logger:     slog.New(slog.DiscardHandler),
		})
		if err != nil {
			t.Fatal(err)
		}
		err = d.Run(ctx)
		return s.Metrics(), err
	}
	mustRun := func(step string, wantSkipped string) {
		t.Helper()
		m, err := run(kafka.TestHooks{})
		if err != nil {
			t.Fatalf("%s: restart: %v", step, err)
		}
		if m["skippedReplays"] != wantSkipped {
			t.Fatalf("%s: the restarted sink skipped %s replays, want %s", step, m["skippedReplays"], wantSkipped)
		}
	}
	mustFail := func(step string, hooks kafka.TestHooks, want error) {
		t.Helper()
		if _, err := run(hooks); !errors.Is(err, want) {
			t.Fatalf("%s: Run = %v, want %v", step, err, want)
		}
	}

	// Batch 0: no failure.
	add(0, 100)
	mustRun("clean run", "0")

	// Batch 1: the sink committed, then writing commits/1 failed (the
	// driver crashed between AddBatch and the commit log). On restart the
	// driver re-runs batch 1 and the sink skips it.
	add(100, 200)
	ckpt.FailOn(objstore.Rule{Op: objstore.OpPutIfAbsent, Prefix: "commits/"})
	mustFail("commit log write fails", kafka.TestHooks{}, objstore.ErrInjected)
	mustRun("after the failed commit log write", "1")

	// Batch 2: commits/2 became durable but the driver saw an error. The
	// restart continues after batch 2 without replaying it.
	add(200, 300)
	ckpt.FailOn(objstore.Rule{Op: objstore.OpPutIfAbsent, Prefix: "commits/", After: true})
	mustFail("commit log write lost its answer", kafka.TestHooks{}, objstore.ErrInjected)
	mustRun("after the durable commit", "0")

	// Batch 3: the process died inside the sink before the Kafka commit.
	// The restarted sink's producer aborts the open transaction and the
	// batch is written again.
	add(300, 400)
	mustFail("crash before the Kafka commit", kafka.TestHooks{BeforeCommit: func(int64) error { return errCrash }}, errCrash)
	mustRun("after the crash before the Kafka commit", "0")

	// Batch 4: the process died after the Kafka commit, before AddBatch
	// returned.
	add(400, 500)
	mustFail("crash after the Kafka commit", kafka.TestHooks{AfterCommit: func(int64) error { return errCrash }}, errCrash)
	mustRun("after the crash after the Kafka commit", "1")

	// Batch 5: the commit log write fails twice in a row, so the sink
	// sees the replay twice before the driver gets past it.
	add(500, 700)
	ckpt.FailOn(objstore.Rule{Op: objstore.OpPutIfAbsent, Prefix: "commits/", Times: 2})
	mustFail("commit log write fails", kafka.TestHooks{}, objstore.ErrInjected)
	if m, err := run(kafka.TestHooks{}); !errors.Is(err, objstore.ErrInjected) || m["skippedReplays"] != "1" {
		t.Fatalf("restart with the commit log still failing: Run = %v, skippedReplays %s; want the injected failure and 1", err, m["skippedReplays"])
	}
	mustRun("after two failed commit log writes", "1")

	checkOnce(t, values(readCommitted(t, brokers, topic)), wantValues(0, 700), "driver with crashes")
	if open := openTransactions(t, brokers, topic); anyTrue(open) {
		t.Errorf("transactions left open on %s: %v", topic, open)
	}
}
