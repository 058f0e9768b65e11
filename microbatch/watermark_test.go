package microbatch_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/bufpool"
	"github.com/sluicehq/sluice/incremental"
	"github.com/sluicehq/sluice/microbatch"
	"github.com/sluicehq/sluice/objstore"
	"github.com/sluicehq/sluice/sink"
	memsink "github.com/sluicehq/sluice/sink/memory"
	"github.com/sluicehq/sluice/source"
	memsrc "github.com/sluicehq/sluice/source/memory"
	"github.com/sluicehq/sluice/trigger"
	"github.com/sluicehq/sluice/wal"
)

// tsSchema is the schema of the event-time tests: one event-time column in
// milliseconds since the Unix epoch.
var tsSchema = arrow.NewSchema([]arrow.Field{{Name: "ts", Type: arrow.PrimitiveTypes.Int64}}, nil)

// wmPlan is a fake plan with one watermark declaration per source: source
// i's "ts" column feeds declaration i. Rows with an event time below the
// batch's watermark are dropped as late (kept for LateRows); the others
// pass through.
type wmPlan struct {
	mem   memory.Allocator
	specs []incremental.WatermarkSpec
	// needs answers NeedsNoDataBatch (nil: never).
	needs func(p *wmPlan, wm int64) bool
	// stateOps is returned by StateOperators.
	stateOps []incremental.StateOperatorMetrics
	// purgeErr is returned by the first PurgeState.
	purgeErr error

	mu      sync.Mutex
	stats   []incremental.EventTimeStats
	infos   []microbatch.BatchInfo // every BeginBatch
	asked   []int64                // every NeedsNoDataBatch watermark
	purged  []int64                // every PurgeState minVersion
	current microbatch.BatchInfo
	late    []int64
}

func newWMPlan(mem memory.Allocator, specs ...incremental.WatermarkSpec) *wmPlan {
	return &wmPlan{mem: mem, specs: specs, stats: make([]incremental.EventTimeStats, len(specs))}
}

func (p *wmPlan) OutputSchema() *arrow.Schema { return tsSchema }

func (p *wmPlan) Process(_ context.Context, i int, rec arrow.RecordBatch) ([]arrow.RecordBatch, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	col := rec.Column(0).(*array.Int64)
	b := array.NewInt64Builder(p.mem)
	defer b.Release()
	for j := 0; j < col.Len(); j++ {
		ts := col.Value(j)
		p.stats[i].Add(ts)
		if ts < p.current.WatermarkMs {
			p.late = append(p.late, ts)
			continue
		}
		b.Append(ts)
	}
	arr := b.NewArray()
	defer arr.Release()
	return []arrow.RecordBatch{array.NewRecordBatch(tsSchema, []arrow.Array{arr}, int64(arr.Len()))}, nil
}

func (p *wmPlan) NeedsNoDataBatch(wm int64) bool {
	p.mu.Lock()
	p.asked = append(p.asked, wm)
	p.mu.Unlock()
	return p.needs != nil && p.needs(p, wm)
}

func (p *wmPlan) BeginBatch(_ context.Context, info microbatch.BatchInfo) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.current = info
	p.infos = append(p.infos, info)
	p.late = nil
	return nil
}

func (p *wmPlan) EndBatch(context.Context, microbatch.BatchInfo) ([]arrow.RecordBatch, map[string]int64, error) {
	return nil, map[string]int64{"agg": p.current.BatchID + 1}, nil
}

func (p *wmPlan) Watermarks() []incremental.WatermarkSpec { return p.specs }

func (p *wmPlan) EventTimeStats() []incremental.EventTimeStats {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.stats
	p.stats = make([]incremental.EventTimeStats, len(p.specs))
	return s
}

func (p *wmPlan) StateOperators() []incremental.StateOperatorMetrics { return p.stateOps }

func (p *wmPlan) PurgeState(_ context.Context, minVersion int64) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.purged = append(p.purged, minVersion)
	if len(p.purged) == 1 {
		return p.purgeErr
	}
	return nil
}

// batchInfos returns a copy of the BeginBatch infos.
func (p *wmPlan) batchInfos() []microbatch.BatchInfo {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]microbatch.BatchInfo(nil), p.infos...)
}

// ranWithAtLeast reports whether a batch ran with a watermark >= wm.
func (p *wmPlan) ranWithAtLeast(wm int64) bool {
	for _, in := range p.infos {
		if in.WatermarkMs >= wm {
			return true
		}
	}
	return false
}

// lateWMPlan is a wmPlan that hands its late rows to the driver.
type lateWMPlan struct{ *wmPlan }

func (p lateWMPlan) LateSchema() *arrow.Schema { return tsSchema }

// LateRows returns the batch's late rows as one record (none when there are
// none); the caller releases it.
func (p lateWMPlan) LateRows() []arrow.RecordBatch {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.late) == 0 {
		return nil
	}
	b := array.NewInt64Builder(p.mem)
	defer b.Release()
	b.AppendValues(p.late, nil)
	arr := b.NewArray()
	defer arr.Release()
	p.late = nil
	return []arrow.RecordBatch{array.NewRecordBatch(tsSchema, []arrow.Array{arr}, int64(arr.Len()))}
}

// wmEnv is a checkpoint, sources of event times and sinks that outlive the
// drivers run over them, as durable ones would.
type wmEnv struct {
	t        *testing.T
	mem      *memory.CheckedAllocator
	faulty   *objstore.Faulty
	srcs     []*memsrc.Source
	out      *memsink.Sink
	lateOut  *openRecorder
	progress []microbatch.Progress
}

func newWMEnv(t *testing.T, sources int) *wmEnv {
	mem := memory.NewCheckedAllocator(bufpool.NewPoison())
	e := &wmEnv{t: t, mem: mem, faulty: objstore.NewFaulty(objstore.NewMemory(), 1), out: memsink.New(), lateOut: &openRecorder{Sink: memsink.New()}}
	for range sources {
		e.srcs = append(e.srcs, memsrc.New(tsSchema, memsrc.WithAllocator(mem)))
	}
	t.Cleanup(func() {
		for _, s := range e.srcs {
			s.Close()
		}
		e.out.Release()
		e.lateOut.Release()
		mem.AssertSize(t, 0)
	})
	return e
}

func (e *wmEnv) checkpoint() objstore.Store { return e.faulty }

// add adds one record of event times to source i.
func (e *wmEnv) add(i int, ts ...int64) {
	e.t.Helper()
	rows := make([][]any, len(ts))
	for j, v := range ts {
		rows[j] = []any{v}
	}
	if _, err := e.srcs[i].AddRows(rows...); err != nil {
		e.t.Fatal(err)
	}
}

// config returns a driver configuration over the environment.
func (e *wmEnv) config(plan microbatch.Plan, trig trigger.Trigger) microbatch.Config {
	srcs := make([]source.Source, len(e.srcs))
	for i, s := range e.srcs {
		srcs[i] = s
	}
	return microbatch.Config{
		Name: "wm", Sources: srcs, Plan: plan, Sink: e.out, Checkpoint: e.checkpoint(),
		Trigger: trig, Allocator: e.mem, OutputMode: "append",
		OnProgress: func(p microbatch.Progress) { e.progress = append(e.progress, p) },
	}
}

// run runs a fresh driver (a restart) with cfg until it stops.
func (e *wmEnv) run(cfg microbatch.Config) error {
	d, err := microbatch.New(cfg)
	if err != nil {
		return err
	}
	return d.Run(context.Background())
}

func (e *wmEnv) mustRun(cfg microbatch.Config) {
	e.t.Helper()
	if err := e.run(cfg); err != nil {
		e.t.Fatal(err)
	}
}

func (e *wmEnv) offsets(n int64) wal.OffsetEntry {
	e.t.Helper()
	o, err := wal.NewOffsetLog(e.checkpoint()).Get(context.Background(), n)
	if err != nil {
		e.t.Fatal(err)
	}
	return o
}

func (e *wmEnv) commit(n int64) wal.CommitEntry {
	e.t.Helper()
	c, err := wal.NewCommitLog(e.checkpoint()).Get(context.Background(), n)
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

func (e *wmEnv) commitIDs() []int64 {
	e.t.Helper()
	ids, err := wal.NewCommitLog(e.checkpoint()).BatchIDs(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	return ids
}

// checkBatch checks the watermark batch n ran with (offsets log), the next
// watermark and the per-input watermarks it committed.
func (e *wmEnv) checkBatch(n, ranWith, next int64, inputs []int64) {
	e.t.Helper()
	if got := e.offsets(n).BatchWatermarkMs; got != ranWith {
		e.t.Errorf("offsets/%d: batchWatermarkMs %d, want %d", n, got, ranWith)
	}
	c := e.commit(n)
	if c.NextBatchWatermarkMs != next {
		e.t.Errorf("commits/%d: nextBatchWatermarkMs %d, want %d", n, c.NextBatchWatermarkMs, next)
	}
	if !reflect.DeepEqual(c.InputWatermarksMs, inputs) {
		e.t.Errorf("commits/%d: inputWatermarksMs %v, want %v", n, c.InputWatermarksMs, inputs)
	}
}

// openRecorder is a sink that records what it was opened with.
type openRecorder struct {
	*memsink.Sink
	infos []sink.OpenInfo
}

func (o *openRecorder) Open(ctx context.Context, info sink.OpenInfo) error {
	o.infos = append(o.infos, info)
	return o.Sink.Open(ctx, info)
}

func delay(ms int64) incremental.WatermarkSpec {
	return incremental.WatermarkSpec{Column: "ts", DelayMs: ms}
}

func rowsOf(ts ...int64) [][]any {
	rows := [][]any{}
	for _, v := range ts {
		rows = append(rows, []any{v})
	}
	return rows
}

// The watermark follows the largest event time minus the delay, is logged
// as the batch's in offsets/N and as the next one's in commits/N, reaches
// the plan in BatchInfo, and never goes back.
func TestWatermarkAdvancesAndIsLogged(t *testing.T) {
	e := newWMEnv(t, 1)
	plan := newWMPlan(e.mem, delay(1000))
	cfg := e.config(plan, trigger.Once())

	e.add(0, 5000, 10000)
	e.mustRun(cfg)
	e.checkBatch(0, 0, 9000, []int64{9000})

	e.add(0, 20000)
	e.mustRun(cfg)
	e.checkBatch(1, 9000, 19000, []int64{19000})

	// Event times going back lower nothing.
	e.add(0, 3000, 4000)
	e.mustRun(cfg)
	e.checkBatch(2, 19000, 19000, []int64{19000})

	var got []int64
	for _, in := range plan.batchInfos() {
		got = append(got, in.WatermarkMs)
		if in.Conf[microbatch.WatermarkPolicyConf] != microbatch.WatermarkPolicyMin {
			t.Errorf("batch %d: BatchInfo.Conf %v does not hold the pinned policy", in.BatchID, in.Conf)
		}
		if in.TimestampMs == 0 {
			t.Errorf("batch %d: BatchInfo.TimestampMs is 0", in.BatchID)
		}
	}
	if want := []int64{0, 9000, 19000}; !reflect.DeepEqual(got, want) {
		t.Fatalf("the plan ran with watermarks %v, want %v", got, want)
	}
	if c := e.offsets(0).Conf[microbatch.WatermarkPolicyConf]; c != "min" {
		t.Fatalf("offsets/0 pins %s = %q, want the default min", microbatch.WatermarkPolicyConf, c)
	}

	// Progress: Spark's eventTime map.
	if len(e.progress) != 3 {
		t.Fatalf("%d progress reports, want 3", len(e.progress))
	}
	want0 := map[string]string{
		"watermark": "1970-01-01T00:00:00.000Z",
		"min":       "1970-01-01T00:00:05.000Z",
		"max":       "1970-01-01T00:00:10.000Z",
		"avg":       "1970-01-01T00:00:07.500Z",
	}
	if !reflect.DeepEqual(e.progress[0].EventTime, want0) {
		t.Errorf("batch 0 eventTime %v, want %v", e.progress[0].EventTime, want0)
	}
	want2 := map[string]string{
		"watermark": "1970-01-01T00:00:19.000Z",
		"min":       "1970-01-01T00:00:03.000Z",
		"max":       "1970-01-01T00:00:04.000Z",
		"avg":       "1970-01-01T00:00:03.500Z",
	}
	if !reflect.DeepEqual(e.progress[2].EventTime, want2) {
		t.Errorf("batch 2 eventTime %v, want %v", e.progress[2].EventTime, want2)
	}
	// The rows below the watermark were dropped by the plan.
	if rows := e.out.Batches()[2].Rows; len(rows) != 0 {
		t.Errorf("batch 2 output %v, want no rows (all late)", rows)
	}
}

// A batch logged but not committed is re-run with the watermark logged in
// its offsets entry, not a recomputed one.
func TestWatermarkRerunUsesLoggedValue(t *testing.T) {
	e := newWMEnv(t, 1)
	plan := newWMPlan(e.mem, delay(1000))
	cfg := e.config(plan, trigger.Once())
	e.add(0, 10000)
	e.mustRun(cfg)

	e.add(0, 30000)
	e.faulty.FailOn(objstore.Rule{Op: objstore.OpPutIfAbsent, Prefix: "commits/", Nth: 1})
	if err := e.run(cfg); !errors.Is(err, objstore.ErrInjected) {
		t.Fatalf("batch 1 with a failing commit: got %v, want the injected error", err)
	}
	e.faulty.Reset()
	logged := e.offsets(1)
	if logged.BatchWatermarkMs != 9000 {
		t.Fatalf("offsets/1 logs watermark %d, want 9000", logged.BatchWatermarkMs)
	}
	// Make the logged value one the driver would not compute now, so the
	// re-run shows which one it uses.
	logged.BatchWatermarkMs = 7777
	ctx := context.Background()
	if err := e.checkpoint().Delete(ctx, "offsets/00000000000000000001"); err != nil {
		t.Fatal(err)
	}
	if err := wal.NewOffsetLog(e.checkpoint()).Add(ctx, 1, logged); err != nil {
		t.Fatal(err)
	}

	e.mustRun(cfg)
	infos := plan.batchInfos()
	last := infos[len(infos)-1]
	if last.BatchID != 1 || last.WatermarkMs != 7777 {
		t.Fatalf("the re-run ran as %+v, want batch 1 with the logged watermark 7777", last)
	}
	e.checkBatch(1, 7777, 29000, []int64{29000})
	if ids := e.commitIDs(); !reflect.DeepEqual(ids, []int64{0, 1}) {
		t.Fatalf("commits %v, want [0 1]: Once re-runs the pending batch and then runs no new one without data", ids)
	}
	if got := e.out.Rows(); !reflect.DeepEqual(got, rowsOf(10000, 30000)) {
		t.Fatalf("output %v, want each row once", got)
	}
}

// Several inputs combine with the pinned policy; an input that has seen
// no rows does not hold the watermark back.
func TestWatermarkPolicy(t *testing.T) {
	for _, tc := range []struct {
		policy  string // configured at the first run ("" for none)
		restart string // configured at later runs
		next    []int64
	}{
		{"", "", []int64{10000, 10000, 15000}},
		{"min", "max", []int64{10000, 10000, 15000}},
		{"max", "min", []int64{10000, 12000, 20000}},
		{"MAX", "", []int64{10000, 12000, 20000}},
	} {
		t.Run(tc.policy+"-then-"+tc.restart, func(t *testing.T) {
			e := newWMEnv(t, 2)
			plan := newWMPlan(e.mem, delay(0), delay(0))
			cfg := e.config(plan, trigger.Once())
			if tc.policy != "" {
				cfg.Conf = map[string]string{microbatch.WatermarkPolicyConf: tc.policy}
			}
			// Batch 0: only input 0 has rows.
			e.add(0, 10000)
			e.mustRun(cfg)
			e.checkBatch(0, 0, tc.next[0], []int64{10000, wal.NoWatermark})

			cfg = e.config(plan, trigger.Once())
			if tc.restart != "" {
				cfg.Conf = map[string]string{microbatch.WatermarkPolicyConf: tc.restart}
			}
			e.add(0, 12000)
			e.add(1, 4000)
			e.mustRun(cfg)
			e.checkBatch(1, tc.next[0], tc.next[1], []int64{12000, 4000})

			e.add(0, 15000)
			e.add(1, 20000)
			e.mustRun(cfg)
			e.checkBatch(2, tc.next[1], tc.next[2], []int64{15000, 20000})

			want := tc.policy
			if want == "" {
				want = "min"
			}
			for n := range int64(3) {
				if got := e.offsets(n).Conf[microbatch.WatermarkPolicyConf]; got != want {
					t.Errorf("offsets/%d pins %q, want %q (the first run's)", n, got, want)
				}
			}
		})
	}
}

func TestWatermarkPolicyUnknown(t *testing.T) {
	e := newWMEnv(t, 1)
	cfg := e.config(newWMPlan(e.mem, delay(0)), trigger.Once())
	cfg.Conf = map[string]string{microbatch.WatermarkPolicyConf: "avg"}
	e.add(0, 1)
	err := e.run(cfg)
	if err == nil {
		t.Fatal("Run accepted an unknown watermark policy")
	}
	for _, want := range []string{microbatch.WatermarkPolicyConf, `"avg"`, `"min"`, `"max"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %s", err, want)
		}
	}
	if ids := e.commitIDs(); len(ids) != 0 {
		t.Fatalf("a batch ran with a bad setting: commits %v", ids)
	}
}

// Per-input watermarks are restored from the last commit on restart;
// commits written before they were logged load as "no input watermark".
func TestInputWatermarksSurviveRestart(t *testing.T) {
	for _, tc := range []struct {
		name     string
		rewrite  string // replaces commits/0 when set
		next     int64
		inputs   []int64
		restored bool
	}{
		{name: "restored", next: 4000, inputs: []int64{19000, 4000}},
		{name: "old commit without the field", rewrite: "v1\n{\"nextBatchWatermarkMs\":4000,\"stateVersions\":{\"agg\":1}}\n",
			next: 19000, inputs: []int64{19000, wal.NoWatermark}},
		{name: "declarations changed", rewrite: "v1\n{\"nextBatchWatermarkMs\":4000,\"inputWatermarksMs\":[9000,4000,1]}\n",
			next: 19000, inputs: []int64{19000, wal.NoWatermark}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newWMEnv(t, 2)
			plan := newWMPlan(e.mem, delay(1000), delay(1000))
			e.add(0, 10000)
			e.add(1, 5000)
			e.mustRun(e.config(plan, trigger.Once()))
			e.checkBatch(0, 0, 4000, []int64{9000, 4000})
			if tc.rewrite != "" {
				if err := e.checkpoint().Put(context.Background(), "commits/00000000000000000000", []byte(tc.rewrite)); err != nil {
					t.Fatal(err)
				}
			}
			// Only input 0 has new rows: input 1's restored watermark holds
			// the minimum back, unless there is none to restore.
			e.add(0, 20000)
			e.mustRun(e.config(newWMPlan(e.mem, delay(1000), delay(1000)), trigger.Once()))
			e.checkBatch(1, 4000, tc.next, tc.inputs)
		})
	}
}

// A batch without new data runs when the watermark moved past the one the
// last batch ran with and the plan says it can emit or evict; never twice
// for the same watermark.
func TestNoDataBatch(t *testing.T) {
	for _, tc := range []struct {
		name    string
		needs   bool
		commits []int64
	}{
		{"plan needs it", true, []int64{0, 1}},
		{"plan does not need it", false, []int64{0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newWMEnv(t, 1)
			plan := newWMPlan(e.mem, delay(1000))
			plan.needs = func(p *wmPlan, _ int64) bool {
				if len(p.infos) > 3 {
					t.Errorf("no-data batches keep running: %d batches", len(p.infos))
					return false
				}
				return tc.needs
			}
			e.add(0, 10000)
			e.mustRun(e.config(plan, trigger.AvailableNow()))
			if got := e.commitIDs(); !reflect.DeepEqual(got, tc.commits) {
				t.Fatalf("commits %v, want %v", got, tc.commits)
			}
			if len(plan.asked) == 0 || plan.asked[0] != 9000 {
				t.Fatalf("NeedsNoDataBatch asked with %v, want 9000 first", plan.asked)
			}
			if tc.needs {
				e.checkBatch(1, 9000, 9000, []int64{9000})
				if o0, o1 := e.offsets(0), e.offsets(1); !reflect.DeepEqual(o0.Offsets, o1.Offsets) {
					t.Fatalf("the no-data batch moved the offsets: %s -> %s", o0.Offsets, o1.Offsets)
				}
				if p := e.progress[1]; p.NumInputRows != 0 || p.EventTime["watermark"] != "1970-01-01T00:00:09.000Z" || p.EventTime["max"] != "" {
					t.Fatalf("no-data batch progress: rows %d, eventTime %v", p.NumInputRows, p.EventTime)
				}
			}
			// A restart does not run another batch for the same watermark.
			e.mustRun(e.config(plan, trigger.AvailableNow()))
			if got := e.commitIDs(); !reflect.DeepEqual(got, tc.commits) {
				t.Fatalf("after a restart: commits %v, want %v", got, tc.commits)
			}
		})
	}
}

// An input declared with an idle timeout lets the watermark advance with
// processing time once it stops receiving rows, so a no-data batch emits
// results without new data; a restarted driver counts idleness from its
// start. Without the timeout the watermark stays.
func TestIdleTimeout(t *testing.T) {
	for _, idle := range []time.Duration{10 * time.Second, 0} {
		t.Run("idle="+idle.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				e := newWMEnv(t, 1)
				spec := incremental.WatermarkSpec{Column: "ts", DelayMs: 1000, IdleTimeout: idle}
				base := time.Now().UnixMilli()
				target := base + 30000
				var mu sync.Mutex
				newPlan := func() *wmPlan {
					p := newWMPlan(e.mem, spec)
					p.needs = func(p *wmPlan, wm int64) bool {
						return wm >= target && !p.ranWithAtLeast(target)
					}
					return p
				}
				start := func(p *wmPlan) (*microbatch.Driver, chan error) {
					cfg := e.config(p, trigger.ProcessingTime(time.Second))
					cfg.OnProgress = func(pr microbatch.Progress) {
						mu.Lock()
						e.progress = append(e.progress, pr)
						mu.Unlock()
					}
					d, err := microbatch.New(cfg)
					if err != nil {
						t.Fatal(err)
					}
					errc := make(chan error, 1)
					go func() { errc <- d.Run(t.Context()) }()
					return d, errc
				}
				stop := func(d *microbatch.Driver, errc chan error) {
					d.Stop()
					if err := <-errc; err != nil {
						t.Fatal(err)
					}
				}

				// First run: one batch of data, then it stops.
				e.add(0, base+5000)
				p1 := newPlan()
				d, errc := start(p1)
				time.Sleep(2 * time.Second)
				synctest.Wait()
				stop(d, errc)
				if ids := e.commitIDs(); !reflect.DeepEqual(ids, []int64{0}) {
					t.Fatalf("first run committed %v, want [0]", ids)
				}
				e.checkBatch(0, 0, base+4000, []int64{base + 4000})

				// Long after, a restart: the input is not idle at once.
				time.Sleep(100 * time.Second)
				p2 := newPlan()
				d, errc = start(p2)
				time.Sleep(25*time.Second + 500*time.Millisecond)
				synctest.Wait()
				if ids := e.commitIDs(); len(ids) != 1 {
					t.Fatalf("the restarted driver ran batches %v before the input was idle long enough", ids[1:])
				}
				time.Sleep(30 * time.Second)
				synctest.Wait()
				stop(d, errc)

				if idle == 0 {
					if ids := e.commitIDs(); len(ids) != 1 {
						t.Fatalf("without an idle timeout batches %v ran without data", ids[1:])
					}
					for _, wm := range p2.asked {
						if wm != base+4000 {
							t.Fatalf("without an idle timeout the watermark moved to %d (from %d)", wm, base+4000)
						}
					}
					return
				}
				// 26s after the restart the idle input's watermark reaches
				// base+4000+26000: the trigger at that second runs one
				// no-data batch with it, and no more.
				if ids := e.commitIDs(); !reflect.DeepEqual(ids, []int64{0, 1}) {
					t.Fatalf("commits %v, want [0 1]: one no-data batch", ids)
				}
				e.checkBatch(1, target, target, []int64{base + 4000})
				infos := p2.batchInfos()
				if len(infos) != 1 || infos[0].WatermarkMs != target {
					t.Fatalf("the restarted plan ran %+v, want one batch with watermark %d", infos, target)
				}
				mu.Lock()
				last := e.progress[len(e.progress)-1]
				mu.Unlock()
				if last.BatchID != 1 || last.NumInputRows != 0 {
					t.Fatalf("last progress: batch %d with %d rows, want the no-data batch 1", last.BatchID, last.NumInputRows)
				}
			})
		})
	}
}

// The late-data sink receives each batch's late rows under the batch's id,
// before the main sink; a re-run of the batch hands them over again and
// the idempotent sink keeps them once.
func TestLateSink(t *testing.T) {
	e := newWMEnv(t, 1)
	plan := lateWMPlan{newWMPlan(e.mem, delay(1000))}
	cfg := e.config(plan, trigger.Once())
	cfg.LateSink = e.lateOut

	e.add(0, 10000, 20000)
	e.mustRun(cfg)
	e.add(0, 5000, 25000, 18000)
	e.faulty.FailOn(objstore.Rule{Op: objstore.OpPutIfAbsent, Prefix: "commits/", Nth: 1})
	if err := e.run(cfg); !errors.Is(err, objstore.ErrInjected) {
		t.Fatalf("batch 1 with a failing commit: got %v, want the injected error", err)
	}
	e.faulty.Reset()
	e.mustRun(cfg)

	want := []memsink.Batch{{ID: 0, Rows: rowsOf()}, {ID: 1, Rows: rowsOf(5000, 18000)}}
	if got := e.lateOut.Batches(); !reflect.DeepEqual(got, want) {
		t.Fatalf("late sink holds %v, want %v", got, want)
	}
	if r := e.lateOut.Replays(); r != 1 {
		t.Fatalf("late sink saw %d replays, want 1 (the re-run of batch 1)", r)
	}
	if got := e.out.Rows(); !reflect.DeepEqual(got, rowsOf(10000, 20000, 25000)) {
		t.Fatalf("main sink holds %v, want the rows that were not late", got)
	}
	if len(e.lateOut.infos) != 3 {
		t.Fatalf("late sink opened %d times, want once per run (3)", len(e.lateOut.infos))
	}
	if info := e.lateOut.infos[0]; !info.Schema.Equal(tsSchema) || info.OutputMode != "append" || info.QueryID == "" {
		t.Fatalf("late sink opened with %+v, want the late schema, append mode and the query id", info)
	}
}

// A late sink the driver cannot feed is refused, and errors of the late
// sink name it.
func TestLateSinkErrors(t *testing.T) {
	e := newWMEnv(t, 1)
	cfg := e.config(newWMPlan(e.mem, delay(0)), trigger.Once())
	cfg.LateSink = memsink.New()
	if _, err := microbatch.New(cfg); err == nil || !strings.Contains(err.Error(), "drops late rows") || !strings.Contains(err.Error(), "LateSink") {
		t.Fatalf("New with a late sink and a plan that is not a LateRowser: got %v", err)
	}

	cfg.Plan = noLateSchema{lateWMPlan{newWMPlan(e.mem, delay(0))}}
	if _, err := microbatch.New(cfg); err == nil || !strings.Contains(err.Error(), "drops late rows") {
		t.Fatalf("New with a late sink and a plan without a late schema: got %v", err)
	}

	cfg = e.config(lateWMPlan{newWMPlan(e.mem, delay(0))}, trigger.Once())
	cfg.LateSink = failingSink{}
	e.add(0, 1)
	err := e.run(cfg)
	if err == nil || !strings.Contains(err.Error(), "late-data sink") || !strings.Contains(err.Error(), "failingSink") {
		t.Fatalf("got %v, want an error naming the late-data sink", err)
	}
	if len(e.out.BatchIDs()) != 0 {
		t.Fatalf("the main sink got batches %v although the late sink failed first", e.out.BatchIDs())
	}
}

// noLateSchema is a LateRowser without an operator that drops late rows.
type noLateSchema struct{ lateWMPlan }

func (noLateSchema) LateSchema() *arrow.Schema { return nil }

type failingSink struct{}

func (failingSink) AddBatch(context.Context, int64, []arrow.RecordBatch) error {
	return errors.New("disk full")
}
func (failingSink) Description() string { return "failingSink" }

// Progress.StateOperators reports the plan's state metrics ([] without
// state); PurgeState is called with the oldest batch kept, and a failure
// only warns.
func TestStateOperatorsAndPurge(t *testing.T) {
	e := newWMEnv(t, 1)
	plan := newWMPlan(e.mem, delay(0))
	plan.stateOps = []incremental.StateOperatorMetrics{{OperatorName: "stateStoreSave", NumRowsTotal: 7, NumRowsUpdated: 2, NumStatePartitions: 4}}
	plan.purgeErr = errors.New("store unreachable")
	var logs bytes.Buffer
	cfg := e.config(plan, trigger.Once())
	cfg.MinBatchesToRetain = 3
	cfg.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	for i := range int64(21) {
		e.add(0, i)
		e.mustRun(cfg)
	}
	if want := []int64{8, 18}; !reflect.DeepEqual(plan.purged, want) {
		t.Fatalf("PurgeState calls %v, want %v (batch id - 3 + 1 at batches 10 and 20)", plan.purged, want)
	}
	if !strings.Contains(logs.String(), "purging old state failed") || !strings.Contains(logs.String(), "store unreachable") {
		t.Fatalf("a failed state purge was not logged as a warning:\n%s", logs.String())
	}
	if got := e.progress[20].StateOperators; !reflect.DeepEqual(got, plan.stateOps) {
		t.Fatalf("progress stateOperators %+v, want %+v", got, plan.stateOps)
	}
	if js := e.progress[20].JSON(); !strings.Contains(js, `"numStateStoreInstances":4`) {
		t.Fatalf("progress JSON lacks the state metrics: %s", js)
	}

	// The default retention keeps 100 batches: nothing to purge at batch 10.
	e2 := newWMEnv(t, 1)
	plan2 := newWMPlan(e2.mem, delay(0))
	cfg2 := e2.config(plan2, trigger.Once())
	for i := range int64(11) {
		e2.add(0, i)
		e2.mustRun(cfg2)
	}
	if len(plan2.purged) != 0 {
		t.Fatalf("PurgeState called with %v while fewer than 100 batches exist", plan2.purged)
	}
	if ops := e2.progress[10].StateOperators; ops == nil || len(ops) != 0 {
		t.Fatalf("stateOperators %#v, want an empty list for a plan that reports none", ops)
	}
	if js := e2.progress[10].JSON(); !strings.Contains(js, `"stateOperators":[]`) {
		t.Fatalf("progress JSON %s lacks \"stateOperators\":[]", js)
	}
}

// timerPlan has a processing-time timer due once, at dueMs.
type timerPlan struct {
	*wmPlan
	dueMs int64
	fired bool
}

func (p *timerPlan) ProcessingTimerDue(nowMs int64) bool { return !p.fired && nowMs >= p.dueMs }

func (p *timerPlan) BeginBatch(ctx context.Context, info microbatch.BatchInfo) error {
	if info.TimestampMs >= p.dueMs {
		p.fired = true
	}
	return p.wmPlan.BeginBatch(ctx, info)
}

// A plan with a processing-time timer due gets a no-data batch to fire
// it, once, and none before it is due.
func TestProcessingTimerNoDataBatch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newWMEnv(t, 1)
		plan := &timerPlan{wmPlan: newWMPlan(e.mem, delay(1000)), dueMs: time.Now().Add(5 * time.Second).UnixMilli()}
		e.add(0, 1000)
		cfg := e.config(plan, trigger.ProcessingTime(time.Second))
		d, err := microbatch.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- d.Run(ctx) }()
		time.Sleep(3500 * time.Millisecond)
		if got := e.commitIDs(); !reflect.DeepEqual(got, []int64{0}) {
			t.Errorf("before the timer is due: commits %v, want [0]", got)
		}
		time.Sleep(5 * time.Second)
		if got := e.commitIDs(); !reflect.DeepEqual(got, []int64{0, 1}) {
			t.Errorf("after the timer is due: commits %v, want [0 1]", got)
		}
		d.Stop()
		cancel()
		<-done
	})
}

// echoPlan passes records through; with concurrent set it lets the driver
// run Process on several goroutines and records how many overlapped.
type echoPlan struct {
	concurrent bool
	mu         sync.Mutex
	running    int
	maxRunning int
}

func (p *echoPlan) OutputSchema() *arrow.Schema { return tsSchema }
func (p *echoPlan) NeedsNoDataBatch(int64) bool { return false }
func (p *echoPlan) ConcurrentProcess() bool     { return p.concurrent }
func (p *echoPlan) Process(_ context.Context, _ int, rec arrow.RecordBatch) ([]arrow.RecordBatch, error) {
	p.mu.Lock()
	p.running++
	p.maxRunning = max(p.maxRunning, p.running)
	p.mu.Unlock()
	time.Sleep(time.Millisecond) // long enough for the other worker to start
	p.mu.Lock()
	p.running--
	p.mu.Unlock()
	rec.Retain()
	return []arrow.RecordBatch{rec}, nil
}

// A plan that allows it gets a batch's records on several goroutines,
// and the output keeps the records' order.
func TestConcurrentProcessKeepsOrder(t *testing.T) {
	for _, concurrent := range []bool{false, true} {
		e := newWMEnv(t, 1)
		var want []int64
		for r := 0; r < 16; r++ {
			rows := make([]int64, 50)
			for i := range rows {
				rows[i] = int64(r*50 + i)
			}
			want = append(want, rows...)
			e.add(0, rows...)
		}
		plan := &echoPlan{concurrent: concurrent}
		e.mustRun(e.config(plan, trigger.AvailableNow()))
		var got []int64
		for _, row := range e.out.Rows() {
			got = append(got, row[0].(int64))
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("concurrent=%v: output out of order or incomplete (%d rows)", concurrent, len(got))
		}
		if !concurrent && plan.maxRunning != 1 {
			t.Errorf("a plan that does not allow it ran Process %d at a time", plan.maxRunning)
		}
		if concurrent && runtime.GOMAXPROCS(0) > 1 && plan.maxRunning < 2 {
			t.Errorf("a concurrent plan never ran two records at once")
		}
	}
}
