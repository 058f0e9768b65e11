package microbatch

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/expr"
	"github.com/sluicehq/sluice/incremental"
	"github.com/sluicehq/sluice/objstore"
	"github.com/sluicehq/sluice/sink"
	"github.com/sluicehq/sluice/source"
	"github.com/sluicehq/sluice/trigger"
	"github.com/sluicehq/sluice/wal"
)

// Plan is the incremental plan a driver runs over each batch. The
// incremental package's Pipeline implements it.
type Plan interface {
	// OutputSchema is the schema of every record Process returns.
	OutputSchema() *arrow.Schema
	// Process runs the plan over one record read from source
	// sourceIndex. rec is borrowed; the returned records are owned by the
	// caller, who releases them.
	Process(ctx context.Context, sourceIndex int, rec arrow.RecordBatch) ([]arrow.RecordBatch, error)
	// NeedsNoDataBatch reports whether a batch with no new input should
	// run because, with the watermark at watermarkMs, a stateful operator
	// can emit final results or evict state.
	NeedsNoDataBatch(watermarkMs int64) bool
}

// BatchObserver is an optional capability of a Plan: BeginBatch is called
// before the first Process of a batch and EndBatch after the last, so that
// stateful operators can load and write the state versions of a batch.
// EndBatch returns records to append to the batch output (owned by the
// caller) and the state versions written, recorded in the commit log.
type BatchObserver interface {
	BeginBatch(ctx context.Context, info BatchInfo) error
	EndBatch(ctx context.Context, info BatchInfo) ([]arrow.RecordBatch, map[string]int64, error)
}

// ConcurrentPlan is an optional capability of a Plan: ConcurrentProcess
// reports whether Process may be called from several goroutines at once
// (a plan without stateful operators). The driver then runs a batch's
// records on up to GOMAXPROCS goroutines, keeping their outputs in order.
type ConcurrentPlan interface {
	ConcurrentProcess() bool
}

// TimerPlan is an optional capability of a Plan whose stateful operators
// keep processing-time timers: ProcessingTimerDue reports whether a timer
// is due at nowMs, so that a batch runs (with no new data if need be) to
// fire it.
type TimerPlan interface {
	ProcessingTimerDue(nowMs int64) bool
}

// BatchMetricser is an optional capability of a Plan: BatchMetrics
// returns counters of the work done since its last call (for example
// malformed records dropped while parsing) and resets them. The driver
// calls it before a batch, dropping what a failed attempt counted, and
// after it, reporting the counts in Progress.Metrics.
type BatchMetricser interface {
	BatchMetrics() map[string]int64
}

// WatermarkPlan is an optional capability of a Plan with event-time
// watermark declarations (DataFrame.WithWatermark). Watermarks returns the
// declarations in a fixed order, of a fixed length for the life of the
// plan. EventTimeStats returns, one per declaration in the same order, the
// statistics of the event times of the rows the plan has seen since its
// last call, and resets them. The driver calls it before a batch,
// discarding what a failed attempt counted, and after the batch's EndBatch,
// and from the statistics computes the watermark of the next batch (see
// the package documentation).
type WatermarkPlan interface {
	Watermarks() []incremental.WatermarkSpec
	EventTimeStats() []incremental.EventTimeStats
}

// LateRowser is an optional capability of a Plan whose stateful operators
// drop rows as late. After a batch's EndBatch the driver calls LateRows
// for the rows the batch dropped (owned by the caller: the driver
// releases them after handing them to Config.LateSink), all of schema
// LateSchema. A plan without an operator that drops late rows returns a
// nil LateSchema. The driver calls LateRows only when Config.LateSink is
// set, and Config.LateSink requires the plan to be a LateRowser with a
// LateSchema.
type LateRowser interface {
	LateRows() []arrow.RecordBatch
	LateSchema() *arrow.Schema
}

// StateReporter is an optional capability of a Plan with stateful
// operators: StateOperators returns each operator's state metrics after
// the last batch, reported in Progress.StateOperators.
type StateReporter interface {
	StateOperators() []incremental.StateOperatorMetrics
}

// StatePurger is an optional capability of a Plan with state: PurgeState
// deletes the state no longer needed to recover state versions at or
// after minVersion. The driver calls it when it purges old log entries,
// with the oldest batch id it keeps; a failure is logged as a warning and
// retried at the next purge.
type StatePurger interface {
	PurgeState(ctx context.Context, minVersion int64) error
}

// BatchInfo identifies the batch being run: its id, the watermark and
// processing time logged in its offsets entry, and the pinned settings.
type BatchInfo = incremental.BatchInfo

// ErrConcurrentRun is returned when another driver writes to the same
// checkpoint: two queries must never share one.
var ErrConcurrentRun = errors.New("microbatch: another query is running on this checkpoint")

// Config configures a Driver. Sources, Plan, Sink and Checkpoint are
// required.
type Config struct {
	// Name is the query's name, reported in progress (may be empty).
	Name string
	// RunID identifies this run of the query; it changes at each start.
	RunID string
	// Sources are read in order; Plan.Process gets their index.
	Sources []source.Source
	// Plan is run over each batch.
	Plan Plan
	// Sink receives each batch's output.
	Sink sink.Sink
	// Checkpoint holds the query's logs and state.
	Checkpoint objstore.Store
	// Trigger says when batches run; the zero value runs them back to back.
	Trigger trigger.Trigger
	// OutputMode is given to the sink ("append", "update", "complete").
	OutputMode string
	// Allocator allocates every record of the query; default memory.DefaultAllocator.
	Allocator memory.Allocator
	// Logger receives structured logs; default slog.Default().
	Logger *slog.Logger
	// MinBatchesToRetain is how many batches of log to keep (default 100).
	MinBatchesToRetain int
	// IdlePoll is how long a ProcessingTime(0) query waits after finding no
	// new data before it asks the sources again (default 10ms).
	IdlePoll time.Duration
	// Conf holds settings pinned into the offsets log: on restart, the
	// values logged by the first run win over these.
	Conf map[string]string
	// OnProgress is called after every batch with its progress.
	OnProgress func(Progress)
	// LateSink, when set, receives each batch's rows that the plan's
	// stateful operators dropped as late (LateRowser), with the batch's
	// id, before Sink receives the batch's output; like Sink it must be
	// idempotent per batch id. The plan must be a LateRowser. The driver
	// opens it (sink.Opener, with the plan's LateSchema and output mode
	// "append") when it opens Sink; like Sink, it is closed by its owner
	// (sink.Closer) after Run returns.
	LateSink sink.Sink
}

func (c *Config) validate() error {
	switch {
	case len(c.Sources) == 0:
		return errors.New("microbatch: Config.Sources is empty: a query needs at least one source")
	case c.Plan == nil:
		return errors.New("microbatch: Config.Plan is nil")
	case c.Sink == nil:
		return errors.New("microbatch: Config.Sink is nil: give the query a sink")
	case c.Checkpoint == nil:
		return errors.New("microbatch: Config.Checkpoint is nil: give the query a checkpoint location")
	case c.MinBatchesToRetain < 0:
		return fmt.Errorf("microbatch: Config.MinBatchesToRetain is %d: must be positive (or 0 for the default %d)", c.MinBatchesToRetain, wal.DefaultMinBatchesToRetain)
	}
	for i, s := range c.Sources {
		if s == nil {
			return fmt.Errorf("microbatch: Config.Sources[%d] is nil", i)
		}
	}
	if c.LateSink != nil {
		if lr, ok := c.Plan.(LateRowser); !ok || lr.LateSchema() == nil {
			return fmt.Errorf("microbatch: Config.LateSink is set (%s) but the plan (%T) has no stateful operator that drops late rows: remove the late-data sink, or add a watermark and a stateful operator to the query",
				describeSink(c.LateSink), c.Plan)
		}
	}
	return nil
}

// Driver runs a streaming query as a sequence of micro-batches, one at a
// time, as DESIGN.md's loop: recover, construct the next batch, log its
// offsets, run it, hand it to the sink, commit.
type Driver struct {
	cfg     Config
	mem     memory.Allocator
	log     *slog.Logger
	offsets *wal.Log[wal.OffsetEntry]
	commits *wal.Log[wal.CommitEntry]
	queryID string

	// purges tracks the background purge of old logs and state; purging
	// is set while one runs.
	purges  sync.WaitGroup
	purging atomic.Bool

	// Loop state, touched only by the loop goroutine.
	nextBatch   int64
	committed   []source.Offset // end offsets of the last committed batch
	watermarkMs int64           // the next batch's watermark, from the last commit
	lastBatchWm int64           // the watermark the last committed batch ran with
	wm          *watermarks
	pending     *wal.OffsetEntry // logged, not committed: re-run first
	limits      []source.ReadLimit
	fixedEnd    []source.Offset // AvailableNow targets for sources without the capability
	lastTrigger time.Time
	description []string

	mu        sync.Mutex
	stopping  bool
	wake      chan struct{}
	idleSeq   uint64 // count of "found no new data" events
	batchSeq  uint64 // count of batches committed
	idleCond  *sync.Cond
	terminal  error
	finished  bool
	lastBatch int64
}

// New checks cfg and returns a Driver; nothing is read or written until Run.
func New(cfg Config) (*Driver, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	d := &Driver{
		cfg:       cfg,
		mem:       cfg.Allocator,
		log:       cfg.Logger,
		offsets:   wal.NewOffsetLog(cfg.Checkpoint),
		commits:   wal.NewCommitLog(cfg.Checkpoint),
		wake:      make(chan struct{}, 1),
		lastBatch: -1,
	}
	if d.mem == nil {
		d.mem = memory.DefaultAllocator
	}
	if d.log == nil {
		d.log = slog.Default()
	}
	if d.cfg.MinBatchesToRetain == 0 {
		d.cfg.MinBatchesToRetain = wal.DefaultMinBatchesToRetain
	}
	if d.cfg.IdlePoll <= 0 {
		d.cfg.IdlePoll = 10 * time.Millisecond
	}
	d.idleCond = sync.NewCond(&d.mu)
	var specs []incremental.WatermarkSpec
	if wp, ok := cfg.Plan.(WatermarkPlan); ok {
		specs = append(specs, wp.Watermarks()...)
	}
	d.wm = newWatermarks(specs)
	return d, nil
}

// Init reads (or creates) the checkpoint metadata and returns the query's
// stable id. Run calls it if the caller has not.
func (d *Driver) Init(ctx context.Context) (string, error) {
	if d.queryID != "" {
		return d.queryID, nil
	}
	md, created, err := wal.LoadOrCreateMetadata(ctx, d.cfg.Checkpoint)
	if err != nil {
		return "", fmt.Errorf("microbatch: checkpoint %s: %w", objstore.Location(d.cfg.Checkpoint), err)
	}
	d.queryID = md.ID
	d.log = d.log.With("query", d.cfg.Name, "id", md.ID, "runId", d.cfg.RunID)
	if created {
		d.log.Info("created checkpoint", "location", objstore.Location(d.cfg.Checkpoint))
	}
	return md.ID, nil
}

// Stop asks the loop to stop after the batch in progress; it does not wait.
func (d *Driver) Stop() {
	d.mu.Lock()
	d.stopping = true
	d.mu.Unlock()
	d.poke()
}

func (d *Driver) poke() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

func (d *Driver) isStopping() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.stopping
}

func (d *Driver) setLastBatch(id int64) {
	d.mu.Lock()
	d.lastBatch = id
	d.mu.Unlock()
}

// LastBatchID returns the id of the last committed batch, or -1.
func (d *Driver) LastBatchID() int64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.lastBatch
}

// AwaitIdle blocks until the loop, after this call, has looked for new
// data and found none (so everything available at the call has been
// processed), the loop has finished, or ctx is done. It wakes a loop that
// is waiting for its trigger so the answer comes promptly.
func (d *Driver) AwaitIdle(ctx context.Context) error {
	d.mu.Lock()
	// The next check that finds no data must start after this call: wait
	// for two idle events if a check may be in flight.
	target := d.idleSeq + 2
	d.mu.Unlock()
	d.poke()
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-ctx.Done():
			d.mu.Lock()
			d.idleCond.Broadcast()
			d.mu.Unlock()
		case <-done:
		}
	}()
	d.mu.Lock()
	defer d.mu.Unlock()
	for d.idleSeq < target && !d.finished && ctx.Err() == nil {
		d.idleCond.Wait()
		if d.idleSeq < target {
			d.mu.Unlock()
			d.poke()
			d.mu.Lock()
		}
	}
	if d.finished && d.terminal != nil {
		return d.terminal
	}
	return ctx.Err()
}

func (d *Driver) noteIdle() {
	d.mu.Lock()
	d.idleSeq++
	d.idleCond.Broadcast()
	d.mu.Unlock()
}

// Run runs the loop until the trigger says to stop (Once, AvailableNow),
// Stop is called, ctx is canceled, or a batch fails. It returns nil on a
// clean stop. A batch in progress when Stop is called is finished first;
// canceling ctx abandons it (it is re-run on restart).
func (d *Driver) Run(ctx context.Context) (err error) {
	defer func() {
		d.purges.Wait()
		d.mu.Lock()
		d.finished = true
		d.terminal = err
		d.idleCond.Broadcast()
		d.mu.Unlock()
	}()
	if _, err := d.Init(ctx); err != nil {
		return err
	}
	if err := d.open(ctx); err != nil {
		return err
	}
	d.wm.start(time.Now())
	if err := d.recover(ctx); err != nil {
		return err
	}
	if err := d.wm.setPolicy(d.cfg.Conf); err != nil {
		return err
	}
	if d.cfg.Trigger.Kind() == trigger.KindAvailableNow {
		if err := d.prepareAvailableNow(ctx); err != nil {
			return err
		}
	}
	for {
		if d.isStopping() {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		start := time.Now()
		rerun := d.pending != nil
		ran, err := d.runOneTrigger(ctx, start)
		if err != nil {
			return err
		}
		switch d.cfg.Trigger.Kind() {
		case trigger.KindOnce:
			// Once runs one new batch; re-running a batch left
			// unfinished by an earlier run does not count as it.
			if ran && rerun {
				continue
			}
			return nil
		case trigger.KindAvailableNow:
			if !ran {
				return nil
			}
			continue
		}
		var wait time.Duration
		if iv := d.cfg.Trigger.Interval(); iv > 0 {
			wait = time.Until(d.cfg.Trigger.NextBatchTime(start))
		} else if !ran {
			wait = d.cfg.IdlePoll
		}
		if wait > 0 {
			if err := d.sleep(ctx, wait); err != nil {
				return err
			}
		}
	}
}

// sleep waits for the trigger, returning early when woken (Stop,
// AwaitIdle) or with ctx's error when it is canceled.
func (d *Driver) sleep(ctx context.Context, wait time.Duration) error {
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-t.C:
	case <-d.wake:
	case <-ctx.Done():
		return ctx.Err()
	}
	return nil
}

func (d *Driver) open(ctx context.Context) error {
	d.description = make([]string, len(d.cfg.Sources))
	d.limits = make([]source.ReadLimit, len(d.cfg.Sources))
	for i, s := range d.cfg.Sources {
		d.description[i] = describeSource(s)
		if in, ok := s.(source.Initializer); ok {
			meta := objstore.Prefixed(d.cfg.Checkpoint, "sources/"+strconv.Itoa(i))
			if err := in.Init(ctx, meta); err != nil {
				return fmt.Errorf("microbatch: initializing source %d (%s): %w", i, d.description[i], err)
			}
		}
		if rl, ok := s.(source.RateLimiter); ok && d.cfg.Trigger.Kind() != trigger.KindOnce {
			d.limits[i] = rl.DefaultReadLimit()
		}
	}
	if o, ok := d.cfg.Sink.(sink.Opener); ok {
		info := sink.OpenInfo{QueryID: d.queryID, Schema: d.cfg.Plan.OutputSchema(), OutputMode: d.cfg.OutputMode}
		if err := o.Open(ctx, info); err != nil {
			return fmt.Errorf("microbatch: opening sink %s: %w", describeSink(d.cfg.Sink), err)
		}
	}
	if o, ok := d.cfg.LateSink.(sink.Opener); ok {
		info := sink.OpenInfo{QueryID: d.queryID, Schema: d.cfg.Plan.(LateRowser).LateSchema(), OutputMode: "append"}
		if err := o.Open(ctx, info); err != nil {
			return fmt.Errorf("microbatch: opening late-data sink %s: %w", describeSink(d.cfg.LateSink), err)
		}
	}
	return nil
}

// recover reads the logs and sets where the loop resumes: the rule of
// DESIGN.md. With offsets N and commits M: M == N continues at N+1;
// M == N-1 re-runs N with exactly the logged offsets.
func (d *Driver) recover(ctx context.Context) error {
	n, off, okOff, err := d.offsets.Latest(ctx)
	if err != nil {
		return fmt.Errorf("microbatch: recovering from %s: %w", objstore.Location(d.cfg.Checkpoint), err)
	}
	m, com, okCom, err := d.commits.Latest(ctx)
	if err != nil {
		return fmt.Errorf("microbatch: recovering from %s: %w", objstore.Location(d.cfg.Checkpoint), err)
	}
	d.committed = make([]source.Offset, len(d.cfg.Sources))
	if !okOff {
		if okCom {
			return fmt.Errorf("microbatch: checkpoint %s has commits up to batch %d but no offsets log: it is damaged; restore it or start from a new checkpoint", objstore.Location(d.cfg.Checkpoint), m)
		}
		d.nextBatch = 0
		d.pinConf(nil)
		return nil
	}
	if err := d.checkSourceCount(n, off); err != nil {
		return err
	}
	d.pinConf(off.Conf)
	switch {
	case okCom && m == n:
		copy(d.committed, off.Offsets)
		d.nextBatch = n + 1
		d.watermarkMs = com.NextBatchWatermarkMs
		d.lastBatchWm = off.BatchWatermarkMs
		d.wm.restore(com.InputWatermarksMs, d.log, d.commits.Name(m))
		d.setLastBatch(n)
	case (okCom && m == n-1) || (!okCom && n == 0):
		if n > 0 {
			prev, err := d.offsets.Get(ctx, n-1)
			if err != nil {
				return fmt.Errorf("microbatch: recovering batch %d: reading the offsets of batch %d: %w", n, n-1, err)
			}
			if err := d.checkSourceCount(n-1, prev); err != nil {
				return err
			}
			copy(d.committed, prev.Offsets)
			d.watermarkMs = com.NextBatchWatermarkMs
			d.lastBatchWm = prev.BatchWatermarkMs
			d.wm.restore(com.InputWatermarksMs, d.log, d.commits.Name(m))
			d.setLastBatch(n - 1)
		}
		d.nextBatch = n
		pending := off
		d.pending = &pending
		d.log.Info("resuming an unfinished batch", "batch", n)
	default:
		last := "none"
		if okCom {
			last = strconv.FormatInt(m, 10)
		}
		return fmt.Errorf("microbatch: checkpoint %s is inconsistent: latest offsets batch %d, latest commit %s (a commit may only trail by one): restore the checkpoint or start a new one",
			objstore.Location(d.cfg.Checkpoint), n, last)
	}
	for i, s := range d.cfg.Sources {
		if c, ok := s.(source.Committer); ok && d.committed[i] != nil {
			if err := c.Commit(ctx, d.committed[i]); err != nil {
				return fmt.Errorf("microbatch: committing offsets to source %d (%s): %w", i, d.description[i], err)
			}
		}
	}
	return nil
}

func (d *Driver) checkSourceCount(n int64, e wal.OffsetEntry) error {
	if len(e.Offsets) != len(d.cfg.Sources) {
		return fmt.Errorf("microbatch: %s logs %d source offsets but the query has %d sources: a checkpoint cannot be reused after adding or removing sources; use a new checkpoint",
			d.offsets.Name(n), len(e.Offsets), len(d.cfg.Sources))
	}
	return nil
}

// pinConf merges logged settings over the configured ones: the first run's
// values win, as the checkpoint's state was laid out with them.
func (d *Driver) pinConf(logged map[string]string) {
	conf := make(map[string]string, len(d.cfg.Conf)+len(logged))
	for k, v := range d.cfg.Conf {
		conf[k] = v
	}
	for k, v := range logged {
		if cur, ok := conf[k]; ok && cur != v {
			d.log.Warn("checkpoint pins a setting; the configured value is ignored", "setting", k, "checkpoint", v, "configured", cur)
		}
		conf[k] = v
	}
	d.cfg.Conf = conf
}

// Conf returns the settings in force (after pinning from the checkpoint).
func (d *Driver) Conf() map[string]string { return d.cfg.Conf }

func (d *Driver) prepareAvailableNow(ctx context.Context) error {
	d.fixedEnd = make([]source.Offset, len(d.cfg.Sources))
	for i, s := range d.cfg.Sources {
		if p, ok := s.(source.AvailableNower); ok {
			if err := p.PrepareForAvailableNow(ctx); err != nil {
				return fmt.Errorf("microbatch: preparing source %d (%s) for AvailableNow: %w", i, d.description[i], err)
			}
			continue
		}
		start := d.committed[i]
		if d.pending != nil {
			start = d.pending.Offsets[i]
		}
		end, err := d.cfg.Sources[i].LatestOffset(ctx, start, source.ReadAll)
		if err != nil {
			return fmt.Errorf("microbatch: source %d (%s): latest offset: %w", i, d.description[i], err)
		}
		d.fixedEnd[i] = end
	}
	return nil
}

// runOneTrigger re-runs a pending batch or constructs and runs the next
// one. It reports whether a batch ran.
func (d *Driver) runOneTrigger(ctx context.Context, start time.Time) (bool, error) {
	durations := map[string]int64{}
	var entry wal.OffsetEntry
	var latest []source.Offset
	if d.pending != nil {
		entry = *d.pending
		latest = entry.Offsets
	} else {
		t0 := time.Now()
		var ok bool
		var err error
		entry, latest, ok, err = d.constructNextBatch(ctx, start)
		durations[DurLatestOffset] = ms(time.Since(t0))
		if err != nil {
			return false, err
		}
		if !ok {
			d.noteIdle()
			return false, nil
		}
		t1 := time.Now()
		if err := d.offsets.Add(ctx, d.nextBatch, entry); err != nil {
			if errors.Is(err, fs.ErrExist) {
				return false, fmt.Errorf("%w: %s was written by another driver while this one was about to write it; stop the other query or give this one its own checkpoint (%s)",
					ErrConcurrentRun, d.offsets.Name(d.nextBatch), objstore.Location(d.cfg.Checkpoint))
			}
			return false, fmt.Errorf("microbatch: logging offsets of batch %d: %w", d.nextBatch, err)
		}
		durations[DurWALCommit] = ms(time.Since(t1))
	}
	if err := d.runBatch(ctx, start, entry, latest, durations); err != nil {
		return false, err
	}
	return true, nil
}

// constructNextBatch asks every source for its latest offset and decides
// whether a batch should run: when any source has new data, or when the
// batch's watermark is above the one the last committed batch ran with and
// the plan needs a no-data batch for it. The batch's watermark is the one
// the last commit set, or higher when idle inputs advance it at now.
func (d *Driver) constructNextBatch(ctx context.Context, now time.Time) (wal.OffsetEntry, []source.Offset, bool, error) {
	ends := make([]source.Offset, len(d.cfg.Sources))
	hasData := false
	for i, s := range d.cfg.Sources {
		var end source.Offset
		var err error
		switch {
		case d.fixedEnd != nil && d.fixedEnd[i] != nil:
			end = d.fixedEnd[i]
		case d.fixedEnd != nil && d.fixedEnd[i] == nil && !isAvailableNower(s):
			end = d.committed[i]
		default:
			end, err = s.LatestOffset(ctx, d.committed[i], d.limits[i])
			if err != nil {
				return wal.OffsetEntry{}, nil, false, fmt.Errorf("microbatch: source %d (%s): latest offset after %s: %w", i, d.description[i], offsetString(d.committed[i]), err)
			}
		}
		end = compact(end)
		ends[i] = end
		if !sameOffset(end, d.committed[i]) {
			hasData = true
		}
	}
	batchWm := max(d.watermarkMs, d.wm.atTime(now))
	if !hasData && (batchWm <= d.lastBatchWm || !d.cfg.Plan.NeedsNoDataBatch(batchWm)) && !d.timerDue(now) {
		return wal.OffsetEntry{}, nil, false, nil
	}
	entry := wal.OffsetEntry{
		BatchWatermarkMs: batchWm,
		BatchTimestampMs: now.UnixMilli(),
		Conf:             d.cfg.Conf,
		Offsets:          ends,
	}
	return entry, ends, true, nil
}

// StagedPlan is an optional capability of a Plan with stateful
// operators: when Staged, ProcessFirstStage (the stateless operators
// below the first stateful one) may run on several goroutines at once and
// ProcessSecondStage takes its results one at a time, in record order.
type StagedPlan interface {
	Staged() bool
	ProcessFirstStage(ctx context.Context, sourceIndex int, rec arrow.RecordBatch) (*incremental.StageOutput, error)
	ProcessSecondStage(ctx context.Context, in *incremental.StageOutput) ([]arrow.RecordBatch, error)
}

// chunkRows is the size records are cut to so that the stateless part of
// a plan can run on several goroutines.
const chunkRows = 1 << 17

// processAll runs the plan over recs (owned: all are released) read from
// source i and returns the outputs in record order. A plan whose Process
// allows it (ConcurrentPlan), or whose stateless first stage does
// (StagedPlan), gets the records, cut into chunks of chunkRows, on up to
// GOMAXPROCS goroutines; a staged plan's second stage then takes the
// results one by one in order, so stateful operators see rows in the
// order a serial run would.
func (d *Driver) processAll(ctx context.Context, i int, recs []arrow.RecordBatch) ([]arrow.RecordBatch, error) {
	// first runs a chunk's first stage; second, for a staged plan, takes
	// its output in chunk order.
	first := func(rec arrow.RecordBatch) (*incremental.StageOutput, []arrow.RecordBatch, error) {
		out, err := d.cfg.Plan.Process(ctx, i, rec)
		return nil, out, err
	}
	var second func(*incremental.StageOutput) ([]arrow.RecordBatch, error)
	parallel := false
	if cp, ok := d.cfg.Plan.(ConcurrentPlan); ok && cp.ConcurrentProcess() {
		parallel = true
	} else if sp, ok := d.cfg.Plan.(StagedPlan); ok && sp.Staged() {
		parallel = true
		first = func(rec arrow.RecordBatch) (*incremental.StageOutput, []arrow.RecordBatch, error) {
			st, err := sp.ProcessFirstStage(ctx, i, rec)
			return st, nil, err
		}
		second = func(st *incremental.StageOutput) ([]arrow.RecordBatch, error) { return sp.ProcessSecondStage(ctx, st) }
	}
	workers := runtime.GOMAXPROCS(0)
	if !parallel || workers < 2 {
		var out []arrow.RecordBatch
		for j, rec := range recs {
			res, err := d.cfg.Plan.Process(ctx, i, rec)
			rec.Release()
			if err != nil {
				for _, r := range recs[j+1:] {
					r.Release()
				}
				return out, err
			}
			out = append(out, res...)
		}
		return out, nil
	}
	recs = cutRecords(recs)
	results := make([][]arrow.RecordBatch, len(recs))
	staged := make([]*incremental.StageOutput, len(recs))
	errs := make([]error, len(recs))
	// done[j] is closed when chunk j's first stage has finished: the
	// second stage takes the chunks in order as they complete, so it runs
	// beside the workers still on later chunks.
	done := make([]chan struct{}, len(recs))
	for j := range done {
		done[j] = make(chan struct{})
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < min(workers, len(recs)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				j := int(next.Add(1)) - 1
				if j >= len(recs) {
					return
				}
				staged[j], results[j], errs[j] = first(recs[j])
				recs[j].Release()
				close(done[j])
			}
		}()
	}
	var out []arrow.RecordBatch
	var firstErr error
	for j := range recs {
		<-done[j]
		if errs[j] != nil && firstErr == nil {
			firstErr = errs[j]
		}
		out = append(out, results[j]...)
		results[j] = nil
		if staged[j] == nil {
			continue
		}
		if firstErr != nil {
			staged[j].Release()
			continue
		}
		res, err := second(staged[j])
		out = append(out, res...)
		if err != nil {
			firstErr = err
		}
		staged[j] = nil
	}
	wg.Wait()
	return out, firstErr
}

// cutRecords cuts records longer than chunkRows into slices of at most
// chunkRows rows (zero-copy), releasing the originals.
func cutRecords(recs []arrow.RecordBatch) []arrow.RecordBatch {
	var out []arrow.RecordBatch
	for _, rec := range recs {
		n := rec.NumRows()
		if n <= chunkRows {
			out = append(out, rec)
			continue
		}
		for lo := int64(0); lo < n; lo += chunkRows {
			out = append(out, rec.NewSlice(lo, min(lo+chunkRows, n)))
		}
		rec.Release()
	}
	return out
}

// timerDue reports whether the plan has a processing-time timer due at
// now, which calls for a no-data batch.
func (d *Driver) timerDue(now time.Time) bool {
	t, ok := d.cfg.Plan.(TimerPlan)
	return ok && t.ProcessingTimerDue(now.UnixMilli())
}

func isAvailableNower(s source.Source) bool {
	_, ok := s.(source.AvailableNower)
	return ok
}

// runBatch reads each source's (committed, end], runs the plan, hands the
// output to the sink and writes the commit: steps 3 to 5 of the loop.
func (d *Driver) runBatch(ctx context.Context, start time.Time, entry wal.OffsetEntry, ends []source.Offset, durations map[string]int64) error {
	batchID := d.nextBatch
	info := BatchInfo{BatchID: batchID, WatermarkMs: entry.BatchWatermarkMs, TimestampMs: entry.BatchTimestampMs, Conf: d.cfg.Conf}
	// Expressions such as current_timestamp see the logged batch time, so
	// a re-run of the batch computes the same values.
	ctx = expr.WithBatchTime(ctx, entry.BatchTimestampMs*1000)
	obs, _ := d.cfg.Plan.(BatchObserver)
	metricser, _ := d.cfg.Plan.(BatchMetricser)
	wmPlan, _ := d.cfg.Plan.(WatermarkPlan)
	// Drop what a failed attempt counted.
	if metricser != nil {
		metricser.BatchMetrics()
	}
	if wmPlan != nil {
		wmPlan.EventTimeStats()
	}
	if obs != nil {
		if err := obs.BeginBatch(ctx, info); err != nil {
			return fmt.Errorf("microbatch: batch %d: %w", batchID, err)
		}
	}
	var out, late []arrow.RecordBatch
	defer func() {
		for _, r := range out {
			r.Release()
		}
		for _, r := range late {
			r.Release()
		}
	}()
	rowsPerSource := make([]int64, len(d.cfg.Sources))
	var getBatch, process time.Duration
	for i, s := range d.cfg.Sources {
		if sameOffset(ends[i], d.committed[i]) {
			continue
		}
		t0 := time.Now()
		recs, err := s.Read(ctx, d.committed[i], ends[i], d.mem)
		getBatch += time.Since(t0)
		if err != nil {
			return fmt.Errorf("microbatch: batch %d: reading source %d (%s) from %s to %s: %w",
				batchID, i, d.description[i], offsetString(d.committed[i]), offsetString(ends[i]), err)
		}
		t1 := time.Now()
		for _, rec := range recs {
			rowsPerSource[i] += rec.NumRows()
		}
		res, err := d.processAll(ctx, i, recs)
		out = append(out, res...)
		if err != nil {
			return fmt.Errorf("microbatch: batch %d: source %d (%s): %w", batchID, i, d.description[i], err)
		}
		process += time.Since(t1)
	}
	// Every row has gone through the watermark operators, so the
	// watermark the next batch will run with is known now: the stateful
	// operators may close what it closes at the end of this batch.
	var stats []incremental.EventTimeStats
	if wmPlan != nil {
		stats = wmPlan.EventTimeStats()
	}
	seen, err := d.wm.observe(stats, start)
	if err != nil {
		return fmt.Errorf("microbatch: batch %d: %w", batchID, err)
	}
	// The watermark never goes back: not below the one this batch ran
	// with (which idle inputs may have advanced), nor below the last one.
	nextWm := max(entry.BatchWatermarkMs, d.watermarkMs, seen.globalMs)
	var stateVersions map[string]int64
	if obs != nil {
		info.EvictWatermarkMs = nextWm
		extra, versions, err := obs.EndBatch(ctx, info)
		out = append(out, extra...)
		if err != nil {
			return fmt.Errorf("microbatch: batch %d: %w", batchID, err)
		}
		stateVersions = versions
	}
	durations[DurGetBatch] = ms(getBatch)
	t2 := time.Now()
	if d.cfg.LateSink != nil {
		late = d.cfg.Plan.(LateRowser).LateRows()
		if err := d.cfg.LateSink.AddBatch(ctx, batchID, late); err != nil {
			return fmt.Errorf("microbatch: batch %d: late-data sink %s: %w", batchID, describeSink(d.cfg.LateSink), err)
		}
	}
	if err := d.cfg.Sink.AddBatch(ctx, batchID, out); err != nil {
		return fmt.Errorf("microbatch: batch %d: sink %s: %w", batchID, describeSink(d.cfg.Sink), err)
	}
	durations[DurAddBatch] = ms(time.Since(t2) + process)
	var outRows int64
	for _, r := range out {
		outRows += r.NumRows()
	}

	t3 := time.Now()
	commit := wal.CommitEntry{NextBatchWatermarkMs: nextWm, StateVersions: stateVersions, InputWatermarksMs: seen.inputMs}
	if err := d.commits.Add(ctx, batchID, commit); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("%w: %s was written by another driver; stop the other query or give this one its own checkpoint (%s)",
				ErrConcurrentRun, d.commits.Name(batchID), objstore.Location(d.cfg.Checkpoint))
		}
		return fmt.Errorf("microbatch: committing batch %d: %w", batchID, err)
	}
	prevCommitted := d.committed
	d.committed = ends
	d.pending = nil
	d.nextBatch = batchID + 1
	d.watermarkMs = nextWm
	d.lastBatchWm = entry.BatchWatermarkMs
	d.wm.apply(seen)
	for i, s := range d.cfg.Sources {
		if c, ok := s.(source.Committer); ok && !sameOffset(ends[i], prevCommitted[i]) {
			if err := c.Commit(ctx, ends[i]); err != nil {
				d.log.Warn("source commit failed; it will be retried after the next batch", "source", d.description[i], "err", err)
			}
		}
	}
	if batchID > 0 && batchID%10 == 0 && d.purging.CompareAndSwap(false, true) {
		// Old log entries and state go in the background: a purge
		// deletes many objects and must not hold up the next batch. One
		// runs at a time; Run waits for it before returning.
		d.purges.Add(1)
		go func() {
			defer d.purges.Done()
			defer d.purging.Store(false)
			d.purge(ctx, batchID)
		}()
	}
	durations[DurCommitOffsets] = ms(time.Since(t3))
	elapsed := time.Since(start)
	durations[DurTriggerExecution] = ms(elapsed)

	d.mu.Lock()
	d.lastBatch = batchID
	d.batchSeq++
	d.mu.Unlock()

	r := batchReport{
		start: start, batchID: batchID, entry: entry, from: prevCommitted, to: ends,
		rows: rowsPerSource, outRows: outRows, durations: durations, elapsed: elapsed,
		eventTime: seen.stats, stateOps: []StateOperator{},
	}
	if metricser != nil {
		r.metrics = metricser.BatchMetrics()
	}
	if sr, ok := d.cfg.Plan.(StateReporter); ok {
		if ops := sr.StateOperators(); len(ops) > 0 {
			r.stateOps = ops
		}
	}
	d.report(r)
	return nil
}

// purge deletes log entries and state older than the batches to retain.
// Failures are logged: the next purge retries.
func (d *Driver) purge(ctx context.Context, batchID int64) {
	if err := wal.PurgeOld(ctx, d.offsets, d.commits, batchID, d.cfg.MinBatchesToRetain); err != nil {
		d.log.Warn("purging old log entries failed; will retry later", "err", err)
	}
	sp, ok := d.cfg.Plan.(StatePurger)
	if !ok {
		return
	}
	if minVersion := batchID - int64(d.cfg.MinBatchesToRetain) + 1; minVersion > 0 {
		if err := sp.PurgeState(ctx, minVersion); err != nil {
			d.log.Warn("purging old state failed; will retry later", "minVersion", minVersion, "err", err)
		}
	}
}

// batchReport is what report needs to know about a committed batch.
type batchReport struct {
	start     time.Time
	batchID   int64
	entry     wal.OffsetEntry
	from, to  []source.Offset
	rows      []int64
	outRows   int64
	durations map[string]int64
	elapsed   time.Duration
	metrics   map[string]int64
	eventTime incremental.EventTimeStats
	stateOps  []StateOperator
}

func (d *Driver) report(b batchReport) {
	var total int64
	for _, r := range b.rows {
		total += r
	}
	sinceLast := time.Duration(0)
	if !d.lastTrigger.IsZero() {
		sinceLast = b.start.Sub(d.lastTrigger)
	}
	d.lastTrigger = b.start
	p := Progress{
		ID:                     d.queryID,
		RunID:                  d.cfg.RunID,
		Name:                   d.cfg.Name,
		Timestamp:              timestampString(b.start),
		BatchID:                b.batchID,
		BatchDuration:          ms(b.elapsed),
		NumInputRows:           total,
		InputRowsPerSecond:     rate(total, sinceLast),
		ProcessedRowsPerSecond: rate(total, b.elapsed),
		DurationMs:             b.durations,
		StateOperators:         b.stateOps,
		Sink: SinkProgress{
			Description:   describeSink(d.cfg.Sink),
			NumOutputRows: b.outRows,
		},
	}
	if b.entry.BatchWatermarkMs > 0 || len(d.wm.specs) > 0 {
		p.EventTime = map[string]string{"watermark": timestampString(time.UnixMilli(b.entry.BatchWatermarkMs))}
	}
	if et := b.eventTime; et.Count > 0 {
		p.EventTime["min"] = timestampString(time.UnixMilli(et.MinMs))
		p.EventTime["max"] = timestampString(time.UnixMilli(et.MaxMs))
		p.EventTime["avg"] = timestampString(time.UnixMilli(int64(et.SumMs / float64(et.Count))))
	}
	if len(b.metrics) > 0 {
		p.Metrics = b.metrics
	}
	if m, ok := d.cfg.Sink.(sink.Metricser); ok {
		p.Sink.Metrics = m.Metrics()
	}
	for i := range d.cfg.Sources {
		p.Sources = append(p.Sources, SourceProgress{
			Description:            d.description[i],
			StartOffset:            nullIfEmpty(b.from[i]),
			EndOffset:              nullIfEmpty(b.to[i]),
			LatestOffset:           nullIfEmpty(b.to[i]),
			NumInputRows:           b.rows[i],
			InputRowsPerSecond:     rate(b.rows[i], sinceLast),
			ProcessedRowsPerSecond: rate(b.rows[i], b.elapsed),
		})
	}
	d.log.Debug("batch committed", "batch", b.batchID, "rows", total, "watermarkMs", b.entry.BatchWatermarkMs, "durationMs", ms(b.elapsed))
	if d.cfg.OnProgress != nil {
		d.cfg.OnProgress(p)
	}
}

func ms(d time.Duration) int64 { return d.Milliseconds() }

func nullIfEmpty(o source.Offset) json.RawMessage {
	if len(o) == 0 {
		return json.RawMessage("null")
	}
	return json.RawMessage(o)
}

func offsetString(o source.Offset) string {
	if len(o) == 0 {
		return "the beginning"
	}
	return string(o)
}

// compact normalises an offset's JSON so byte comparison is meaningful.
func compact(o source.Offset) source.Offset {
	if len(o) == 0 {
		return nil
	}
	var b bytes.Buffer
	if err := json.Compact(&b, o); err != nil {
		return o
	}
	return source.Offset(b.Bytes())
}

func sameOffset(a, b source.Offset) bool {
	return bytes.Equal(compact(a), compact(b))
}

func describeSource(s source.Source) string {
	if d, ok := s.(source.Describer); ok {
		return d.Description()
	}
	return fmt.Sprintf("%T", s)
}

func describeSink(s sink.Sink) string {
	if d, ok := s.(sink.Describer); ok {
		return d.Description()
	}
	return fmt.Sprintf("%T", s)
}
