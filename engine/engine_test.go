package engine_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/bufpool"
	"github.com/sluicehq/sluice/engine"
	"github.com/sluicehq/sluice/objstore"
	"github.com/sluicehq/sluice/sink"
	memsink "github.com/sluicehq/sluice/sink/memory"
	"github.com/sluicehq/sluice/source"
	memsrc "github.com/sluicehq/sluice/source/memory"
	"github.com/sluicehq/sluice/trigger"
)

var schema = arrow.NewSchema([]arrow.Field{{Name: "v", Type: arrow.PrimitiveTypes.Int64}}, nil)

// slowIdentity passes records through, sleeping per record (fake time
// under synctest) to model a batch that takes a while.
type slowIdentity struct{ delay time.Duration }

func (slowIdentity) OutputSchema() *arrow.Schema { return schema }
func (p slowIdentity) Process(_ context.Context, _ int, rec arrow.RecordBatch) ([]arrow.RecordBatch, error) {
	time.Sleep(p.delay)
	rec.Retain()
	return []arrow.RecordBatch{rec}, nil
}
func (slowIdentity) NeedsNoDataBatch(int64) bool { return false }

func addValues(src *memsrc.Source, mem memory.Allocator, vals ...int64) {
	b := array.NewInt64Builder(mem)
	defer b.Release()
	b.AppendValues(vals, nil)
	col := b.NewArray()
	defer col.Release()
	rec := array.NewRecordBatch(schema, []arrow.Array{col}, int64(len(vals)))
	defer rec.Release()
	src.Add(rec)
}

type fixture struct {
	mem  *memory.CheckedAllocator
	src  *memsrc.Source
	sink *memsink.Sink
	ckpt objstore.Store
}

func newFixture(t *testing.T) *fixture {
	f := &fixture{
		mem:  memory.NewCheckedAllocator(bufpool.NewPoison()),
		sink: memsink.New(),
		ckpt: objstore.NewMemory(),
	}
	f.src = memsrc.New(schema)
	t.Cleanup(func() {
		f.sink.Release()
		f.src.Close()
		f.mem.AssertSize(t, 0)
	})
	return f
}

func (f *fixture) spec(tr trigger.Trigger, delay time.Duration) engine.Spec {
	return engine.Spec{
		Name:       "q",
		Sources:    []source.Source{f.src},
		Plan:       slowIdentity{delay},
		Sink:       f.sink,
		Checkpoint: f.ckpt,
		Trigger:    tr,
		Allocator:  f.mem,
	}
}

// ProcessingTime batches start on multiples of the interval; a batch that
// overruns pushes the next to the following multiple, skipping, not
// queueing, the missed ones. Stop leaves no goroutine behind (synctest
// fails the test if one is still running or blocked).
func TestProcessingTimeAlignment(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t)
		eng := engine.New()
		ctx := context.Background()
		// Start half way through a second.
		time.Sleep(500 * time.Millisecond)
		var mu sync.Mutex
		var starts []time.Time
		eng.AddListener(engine.ListenerFuncs{Progress: func(p engine.Progress) {
			ts, err := time.Parse("2006-01-02T15:04:05.000Z", p.Timestamp)
			if err != nil {
				t.Errorf("progress timestamp %q: %v", p.Timestamp, err)
			}
			mu.Lock()
			starts = append(starts, ts)
			mu.Unlock()
		}})
		q, err := eng.Start(ctx, f.spec(trigger.ProcessingTime(time.Second), 0))
		if err != nil {
			t.Fatal(err)
		}
		t0 := time.Now()
		for i := 0; i < 3; i++ {
			addValues(f.src, f.mem, int64(i))
			time.Sleep(time.Second)
		}
		if err := q.Stop(ctx); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		defer mu.Unlock()
		if len(starts) < 3 {
			t.Fatalf("%d batches ran, want 3: %v", len(starts), starts)
		}
		for i, s := range starts {
			if s.Before(t0) || s.Sub(t0) > 3*time.Second {
				t.Fatalf("batch %d started at %v, outside the run from %v", i, s, t0)
			}
		}
		// The first batch runs at start (t0, which is x.5s); later ones on
		// whole seconds.
		for i, s := range starts[1:] {
			if s.Nanosecond() != 0 {
				t.Fatalf("batch %d started at %v, not on a whole second", i+1, s)
			}
		}
		if got := len(f.sink.Rows()); got != 3 {
			t.Fatalf("sink has %d rows, want 3", got)
		}
	})
}

func TestProcessingTimeOverrunSkips(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t)
		ctx := context.Background()
		addValues(f.src, f.mem, 1)
		q, err := engine.New().Start(ctx, f.spec(trigger.ProcessingTime(time.Second), 2500*time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		t0 := time.Now()
		time.Sleep(2600 * time.Millisecond)
		addValues(f.src, f.mem, 2)
		time.Sleep(3 * time.Second)
		if err := q.Stop(ctx); err != nil {
			t.Fatal(err)
		}
		ps := q.RecentProgress()
		if len(ps) != 2 {
			t.Fatalf("%d batches, want 2", len(ps))
		}
		second, _ := time.Parse("2006-01-02T15:04:05.000Z", ps[1].Timestamp)
		// Batch 0 ran from t0 to t0+2.5s; the next multiple of 1s is t0+3s.
		if want := t0.Add(3 * time.Second); !second.Equal(want) {
			t.Fatalf("second batch started at %v, want %v", second, want)
		}
	})
}

// Stop lets the batch in progress finish; a restart resumes after it.
func TestStopFinishesBatchAndRestartResumes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t)
		ctx := context.Background()
		eng := engine.New()
		addValues(f.src, f.mem, 1, 2, 3)
		q, err := eng.Start(ctx, f.spec(trigger.ProcessingTime(0), time.Second))
		if err != nil {
			t.Fatal(err)
		}
		id := q.ID()
		time.Sleep(500 * time.Millisecond) // in the middle of batch 0
		if err := q.Stop(ctx); err != nil {
			t.Fatal(err)
		}
		if q.LastBatchID() != 0 || len(f.sink.Rows()) != 3 {
			t.Fatalf("after Stop: last batch %d, %d rows; want batch 0 finished with 3 rows", q.LastBatchID(), len(f.sink.Rows()))
		}
		addValues(f.src, f.mem, 4)
		q2, err := eng.Start(ctx, f.spec(trigger.AvailableNow(), 0))
		if err != nil {
			t.Fatal(err)
		}
		if err := q2.Wait(ctx); err != nil {
			t.Fatal(err)
		}
		if q2.ID() != id || q2.RunID() == q.RunID() {
			t.Fatalf("restart: id %s run %s; want id %s and a new run id", q2.ID(), q2.RunID(), id)
		}
		if q2.LastBatchID() != 1 || len(f.sink.Rows()) != 4 {
			t.Fatalf("after restart: last batch %d, %d rows; want batch 1, 4 rows", q2.LastBatchID(), len(f.sink.Rows()))
		}
	})
}

func TestProcessAllAvailable(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t)
		ctx := context.Background()
		q, err := engine.New().Start(ctx, f.spec(trigger.ProcessingTime(10*time.Second), 0))
		if err != nil {
			t.Fatal(err)
		}
		for round := 1; round <= 3; round++ {
			addValues(f.src, f.mem, int64(round))
			if err := q.ProcessAllAvailable(ctx); err != nil {
				t.Fatal(err)
			}
			if got := len(f.sink.Rows()); got != round {
				t.Fatalf("round %d: %d rows after ProcessAllAvailable", round, got)
			}
		}
		if err := q.Stop(ctx); err != nil {
			t.Fatal(err)
		}
	})
}

func TestSecondQueryOnCheckpointFails(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t)
		ctx := context.Background()
		eng := engine.New()
		q, err := eng.Start(ctx, f.spec(trigger.ProcessingTime(time.Second), 0))
		if err != nil {
			t.Fatal(err)
		}
		_, err = eng.Start(ctx, f.spec(trigger.ProcessingTime(time.Second), 0))
		if !errors.Is(err, engine.ErrAlreadyActive) || !strings.Contains(err.Error(), "stop it first") {
			t.Fatalf("second start: %v, want ErrAlreadyActive with advice", err)
		}
		if err := q.Stop(ctx); err != nil {
			t.Fatal(err)
		}
		// After the first stops, the checkpoint is free again.
		q2, err := eng.Start(ctx, f.spec(trigger.Once(), 0))
		if err != nil {
			t.Fatal(err)
		}
		if err := q2.Wait(ctx); err != nil {
			t.Fatal(err)
		}
	})
}

// Progress carries Spark's field names, and listeners see started,
// progress and terminated in order.
func TestProgressAndListeners(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t)
		ctx := context.Background()
		var events []string
		eng := engine.New(engine.WithListener(engine.ListenerFuncs{
			Started:    func(engine.QueryStartedEvent) { events = append(events, "started") },
			Progress:   func(engine.Progress) { events = append(events, "progress") },
			Terminated: func(e engine.QueryTerminatedEvent) { events = append(events, "terminated") },
		}))
		addValues(f.src, f.mem, 1, 2, 3, 4)
		q, err := eng.Start(ctx, f.spec(trigger.AvailableNow(), 0))
		if err != nil {
			t.Fatal(err)
		}
		if err := q.Wait(ctx); err != nil {
			t.Fatal(err)
		}
		if strings.Join(events, ",") != "started,progress,terminated" {
			t.Fatalf("events %v", events)
		}
		p := q.LastProgress()
		if p == nil || p.NumInputRows != 4 || p.BatchID != 0 || p.Sink.NumOutputRows != 4 {
			t.Fatalf("progress %+v", p)
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(p.JSON()), &m); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"id", "runId", "name", "timestamp", "batchId", "batchDuration", "numInputRows",
			"inputRowsPerSecond", "processedRowsPerSecond", "durationMs", "sources", "sink"} {
			if _, ok := m[k]; !ok {
				t.Errorf("progress JSON lacks %q: %s", k, p.JSON())
			}
		}
		d := m["durationMs"].(map[string]any)
		for _, k := range []string{"latestOffset", "walCommit", "getBatch", "addBatch", "commitOffsets", "triggerExecution"} {
			if _, ok := d[k]; !ok {
				t.Errorf("durationMs lacks %q", k)
			}
		}
		src := m["sources"].([]any)[0].(map[string]any)
		if src["endOffset"] == nil || src["numInputRows"].(float64) != 4 {
			t.Errorf("source progress %v", src)
		}
	})
}

// A failing sink terminates the query; Wait returns the error, which names
// the batch.
type failingSink struct{}

func (failingSink) AddBatch(context.Context, int64, []arrow.RecordBatch) error {
	return errors.New("disk full")
}

var _ sink.Sink = failingSink{}

func TestFailureTerminates(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t)
		ctx := context.Background()
		spec := f.spec(trigger.ProcessingTime(0), 0)
		spec.Sink = failingSink{}
		addValues(f.src, f.mem, 1)
		q, err := engine.New().Start(ctx, spec)
		if err != nil {
			t.Fatal(err)
		}
		err = q.Wait(ctx)
		if err == nil || !strings.Contains(err.Error(), "disk full") || !strings.Contains(err.Error(), "batch 0") {
			t.Fatalf("Wait: %v", err)
		}
		if q.IsActive() {
			t.Fatal("query still active after failure")
		}
	})
}
