package kafka_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"sort"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/microbatch"
	"github.com/sluicehq/sluice/objstore"
	memsink "github.com/sluicehq/sluice/sink/memory"
	"github.com/sluicehq/sluice/source"
	"github.com/sluicehq/sluice/source/kafka"
	"github.com/sluicehq/sluice/trigger"
)

// identity is a plan that passes records through.
type identity struct{}

func (identity) OutputSchema() *arrow.Schema { return kafka.Schema() }
func (identity) Process(_ context.Context, _ int, rec arrow.RecordBatch) ([]arrow.RecordBatch, error) {
	rec.Retain()
	return []arrow.RecordBatch{rec}, nil
}
func (identity) NeedsNoDataBatch(int64) bool { return false }

// query runs one AvailableNow query over a new Source on checkpoint until
// it stops, and returns Run's error.
func query(t *testing.T, checkpoint objstore.Store, out *memsink.Sink, mem memory.Allocator, opts ...kafka.Option) error {
	t.Helper()
	src := newSource(t, opts...)
	d, err := microbatch.New(microbatch.Config{
		Name:       "kafka-test",
		Sources:    []source.Source{src},
		Plan:       identity{},
		Sink:       out,
		Checkpoint: checkpoint,
		Trigger:    trigger.AvailableNow(),
		OutputMode: "append",
		Allocator:  mem,
		Logger:     slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	return d.Run(testCtx(t))
}

// sinkKeys returns "partition@offset=value" for every row the sink holds,
// in order.
func sinkKeys(out *memsink.Sink) []string {
	var keys []string
	for _, r := range out.Rows() {
		keys = append(keys, fmt.Sprintf("%d@%d=%s", r[3], r[4], r[1]))
	}
	return keys
}

// TestQueryExactlyOnceAcrossRestart runs the source in the micro-batch
// driver with a memory sink: a crash between a batch reaching the sink and
// its commit, a restart that re-runs that batch, and a later restart with
// new data deliver every record exactly once.
func TestQueryExactlyOnceAcrossRestart(t *testing.T) {
	topic := createTopic(t, topicName(t, ""), 3)
	produce(t, topic, append(append(values(0, "a", 30), values(1, "b", 15)...), values(2, "c", 5)...)...)
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	t.Cleanup(func() { mem.AssertSize(t, 0) })
	out := memsink.New()
	t.Cleanup(out.Release)
	checkpoint := objstore.NewFaulty(objstore.NewMemory(), 1)
	checkpoint.FailOn(objstore.Rule{Op: objstore.OpPutIfAbsent, Prefix: "commits/00000000000000000002"})
	group := topicName(t, "-group")
	opts := []kafka.Option{kafka.WithTopics(topic), kafka.WithMaxOffsetsPerTrigger(10), kafka.WithConsumerGroup(group)}

	err := query(t, checkpoint, out, mem, opts...)
	if !errors.Is(err, objstore.ErrInjected) {
		t.Fatalf("the first run returned %v, want the injected commit failure", err)
	}
	if got := out.BatchIDs(); !reflect.DeepEqual(got, []int64{0, 1, 2}) {
		t.Fatalf("before the crash the sink got batches %v, want [0 1 2]", got)
	}
	if err := query(t, checkpoint, out, mem, opts...); err != nil {
		t.Fatalf("the restart: %v", err)
	}
	if out.Replays() != 1 {
		t.Errorf("the sink saw %d replays, want 1 (batch 2, re-run with its logged offsets)", out.Replays())
	}
	produce(t, topic, append(values(1, "late", 12), values(2, "late", 8)...)...)
	if err := query(t, checkpoint, out, mem, opts...); err != nil {
		t.Fatalf("the second restart: %v", err)
	}

	var want []string
	for p, n := range map[int32]int{0: 30, 1: 15, 2: 5} {
		for i := 0; i < n; i++ {
			want = append(want, fmt.Sprintf("%d@%d=%c%d", p, i, "abc"[p], i))
		}
	}
	for p, n := range map[int32]int{1: 12, 2: 8} {
		base := map[int32]int{1: 15, 2: 5}[p]
		for i := 0; i < n; i++ {
			want = append(want, fmt.Sprintf("%d@%d=late%d", p, base+i, i))
		}
	}
	got := sinkKeys(out)
	sort.Strings(got)
	sort.Strings(want)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("the sink holds %d rows, want each of the %d records exactly once:\n got %v\nwant %v", len(got), len(want), got, want)
	}
	for _, b := range out.Batches() {
		if n := len(b.Rows); n > 10 {
			t.Errorf("batch %d has %d rows, more than maxOffsetsPerTrigger", b.ID, n)
		}
	}
	// The group saw the last batch's end offsets.
	resp, err := admin(t).ListConsumerGroupOffsets(group, map[string][]int32{topic: {0, 1, 2}})
	if err != nil {
		t.Fatal(err)
	}
	for p, want := range map[int32]int64{0: 30, 1: 27, 2: 13} {
		if b := resp.GetBlock(topic, p); b == nil || b.Offset != want {
			t.Errorf("group offset of partition %d: %+v, want %d", p, b, want)
		}
	}
}

// TestQueryLatestRestartBeforeFirstCommit: with startingOffsets latest, a
// crash before batch 0 commits must not move the start on restart, or
// records written in between would be skipped (or the re-run batch would
// end before its start).
func TestQueryLatestRestartBeforeFirstCommit(t *testing.T) {
	topic := createTopic(t, topicName(t, ""), 1)
	produce(t, topic, values(0, "old", 5)...)
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	t.Cleanup(func() { mem.AssertSize(t, 0) })
	out := memsink.New()
	t.Cleanup(out.Release)
	checkpoint := objstore.NewFaulty(objstore.NewMemory(), 1)
	checkpoint.FailOn(objstore.Rule{Op: objstore.OpPutIfAbsent, Prefix: "commits/00000000000000000000"})
	opts := []kafka.Option{kafka.WithTopics(topic), kafka.WithStartingOffsets(kafka.Latest)}
	if err := query(t, checkpoint, out, mem, opts...); !errors.Is(err, objstore.ErrInjected) {
		t.Fatalf("the first run returned %v, want the injected commit failure", err)
	}
	produce(t, topic, values(0, "new", 3)...)
	if err := query(t, checkpoint, out, mem, opts...); err != nil {
		t.Fatalf("the restart: %v", err)
	}
	if got, want := sinkKeys(out), []string{"0@5=new0", "0@6=new1", "0@7=new2"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("the sink holds %v, want %v", got, want)
	}
	data, err := checkpoint.Get(testCtx(t), "sources/0/"+kafka.InitialOffsetsObject)
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("v1\n{%q:{\"0\":5}}\n", topic); string(data) != want {
		t.Errorf("sources/0/initial-offsets = %q, want %q", data, want)
	}
}
