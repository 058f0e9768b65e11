package dataframe_test

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/bufpool"
	"github.com/sluicehq/sluice/dataframe"
	"github.com/sluicehq/sluice/engine"
	"github.com/sluicehq/sluice/objstore"
	memsink "github.com/sluicehq/sluice/sink/memory"
	"github.com/sluicehq/sluice/source"
	memsrc "github.com/sluicehq/sluice/source/memory"
	"github.com/sluicehq/sluice/wal"
)

// This file holds the harness of the event-time tests: generated rows, a
// query run over a fault-injecting checkpoint with crashes and restarts,
// the batches read back from the checkpoint's offsets log, and reference
// computations (plain maps and loops) to compare the sink's rows with.

// etSec is one second in microseconds, the unit of the tests' event times.
const etSec = int64(time.Second / time.Microsecond)

// etRow is one input row: an event time in microseconds since the Unix
// epoch, a key number (0 for a null key) and a value (null when null is
// set).
type etRow struct {
	ts    int64
	key   int64
	value int64
	null  bool
}

// etSchema returns the input schema: ts, key (a string "k007", or the
// number itself with intKeys) and value.
func etSchema(intKeys bool) *arrow.Schema {
	kt := arrow.DataType(arrow.BinaryTypes.String)
	if intKeys {
		kt = arrow.PrimitiveTypes.Int64
	}
	return arrow.NewSchema([]arrow.Field{
		{Name: "ts", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}},
		{Name: "key", Type: kt, Nullable: true},
		{Name: "value", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	}, nil)
}

func etKeyName(k int64) string {
	if k == 0 {
		return "null"
	}
	return fmt.Sprintf("k%03d", k)
}

// goValues is r as a row for memsrc.AddRows.
func (r etRow) goValues(intKeys bool) []any {
	var key any = etKeyName(r.key)
	switch {
	case r.key == 0:
		key = nil
	case intKeys:
		key = r.key
	}
	var v any = r.value
	if r.null {
		v = nil
	}
	return []any{time.UnixMicro(r.ts).UTC(), key, v}
}

// etValues is goValues of each row.
func etValues(intKeys bool, rows []etRow) [][]any {
	vals := make([][]any, len(rows))
	for i, r := range rows {
		vals[i] = r.goValues(intKeys)
	}
	return vals
}

// etFixture is a checked allocator, a memory source of etSchema(intKeys)
// built with it, and a memory sink. When the test ends the sink is
// released, the source closed and the allocator checked for bytes left.
type etFixture struct {
	t       *testing.T
	intKeys bool
	mem     *memory.CheckedAllocator
	src     *memsrc.Source
	out     *memsink.Sink
}

func newETFixture(t *testing.T, intKeys bool) *etFixture {
	f := &etFixture{t: t, intKeys: intKeys, mem: memory.NewCheckedAllocator(bufpool.NewPoison()), out: memsink.New()}
	t.Cleanup(func() { f.mem.AssertSize(t, 0) })
	f.src = memsrc.New(etSchema(intKeys), memsrc.WithAllocator(f.mem))
	t.Cleanup(func() { f.src.Close() })
	t.Cleanup(f.out.Release)
	return f
}

// add adds rows to the source as one record.
func (f *etFixture) add(rows ...etRow) {
	f.t.Helper()
	if _, err := f.src.AddRows(etValues(f.intKeys, rows)...); err != nil {
		f.t.Fatal(err)
	}
}

// quietEngine is an engine that logs nothing.
func quietEngine() *engine.Engine {
	return engine.New(engine.WithLogger(slog.New(slog.DiscardHandler)))
}

func (r etRow) String() string {
	v := strconv.FormatInt(r.value, 10)
	if r.null {
		v = "null"
	}
	return fmt.Sprintf("(%s %s %s)", etTime(r.ts), etKeyName(r.key), v)
}

// etTime prints an event time in microseconds.
func etTime(us int64) string { return time.UnixMicro(us).UTC().Format("15:04:05.000000") }

// etKey turns a key cell back into its number (0 for null).
func etKey(cell any) (int64, error) {
	switch k := cell.(type) {
	case nil:
		return 0, nil
	case int64:
		return k, nil
	case string:
		if n, err := strconv.ParseInt(strings.TrimPrefix(k, "k"), 10, 64); err == nil && strings.HasPrefix(k, "k") {
			return n, nil
		}
	}
	return 0, fmt.Errorf("key cell %#v is neither an int64 nor a string k<number>", cell)
}

// etLateRow turns a row of the late-data sink back into an etRow.
func etLateRow(cells []any) (etRow, error) {
	if len(cells) != 3 {
		return etRow{}, fmt.Errorf("late row %v has %d cells, want 3 (ts, key, value)", cells, len(cells))
	}
	ts, ok := cells[0].(time.Time)
	if !ok {
		return etRow{}, fmt.Errorf("late row %v: ts is %T, want time.Time", cells, cells[0])
	}
	k, err := etKey(cells[1])
	if err != nil {
		return etRow{}, fmt.Errorf("late row %v: %w", cells, err)
	}
	r := etRow{ts: ts.UnixMicro(), key: k}
	switch v := cells[2].(type) {
	case nil:
		r.null = true
	case int64:
		r.value = v
	default:
		return etRow{}, fmt.Errorf("late row %v: value is %T, want int64 or nil", cells, cells[2])
	}
	return r, nil
}

// etAcc is the reference aggregate of a group: count(*), and the count,
// sum, min and max of the non-null values (avg is sum/n).
type etAcc struct {
	count, n, sum, min, max int64
}

func (a *etAcc) add(r etRow) {
	a.count++
	if r.null {
		return
	}
	if a.n == 0 || r.value < a.min {
		a.min = r.value
	}
	if a.n == 0 || r.value > a.max {
		a.max = r.value
	}
	a.n++
	a.sum += r.value
}

func (a *etAcc) merge(b etAcc) {
	a.count += b.count
	if b.n == 0 {
		return
	}
	if a.n == 0 || b.min < a.min {
		a.min = b.min
	}
	if a.n == 0 || b.max > a.max {
		a.max = b.max
	}
	a.n += b.n
	a.sum += b.sum
}

func (a etAcc) String() string {
	if a.n == 0 {
		return fmt.Sprintf("count=%d sum=null min=null max=null avg=null", a.count)
	}
	return fmt.Sprintf("count=%d sum=%d min=%d max=%d avg=%g", a.count, a.sum, a.min, a.max, float64(a.sum)/float64(a.n))
}

// etAggs are the aggregates of every event-time query of the tests, in
// the order etOut reads them.
func etAggs() []dataframe.AggExpr {
	v := dataframe.Col("value")
	return []dataframe.AggExpr{dataframe.Count(), dataframe.Sum(v), dataframe.Min(v), dataframe.Max(v), dataframe.Avg(v)}
}

// etGroup is a window (or session) and a key; times in microseconds.
type etGroup struct{ start, end, key int64 }

func (g etGroup) String() string {
	return fmt.Sprintf("[%s, %s) %s", etTime(g.start), etTime(g.end), etKeyName(g.key))
}

// etOut is one output row of an aggregation: window, key, count, sum,
// min, max, avg.
type etOut struct {
	g     etGroup
	cells []any
}

// etParseOut reads an output row.
func etParseOut(row []any) (etOut, error) {
	if len(row) != 7 {
		return etOut{}, fmt.Errorf("output row %v has %d cells, want 7 (window, key, count, sum, min, max, avg)", row, len(row))
	}
	ws, ok := row[0].(string)
	if !ok {
		return etOut{}, fmt.Errorf("output row %v: window cell is %T, want the struct's JSON text", row, row[0])
	}
	var w struct{ Start, End string }
	if err := json.Unmarshal([]byte(ws), &w); err != nil {
		return etOut{}, fmt.Errorf("output row %v: window %q: %w", row, ws, err)
	}
	start, err := time.Parse(time.RFC3339Nano, w.Start)
	if err != nil {
		return etOut{}, fmt.Errorf("output row %v: window start: %w", row, err)
	}
	end, err := time.Parse(time.RFC3339Nano, w.End)
	if err != nil {
		return etOut{}, fmt.Errorf("output row %v: window end: %w", row, err)
	}
	k, err := etKey(row[1])
	if err != nil {
		return etOut{}, fmt.Errorf("output row %v: %w", row, err)
	}
	return etOut{g: etGroup{start: start.UnixMicro(), end: end.UnixMicro(), key: k}, cells: row[2:]}, nil
}

// mismatch compares the aggregate cells with the reference; "" when they
// agree.
func (o etOut) mismatch(want etAcc) string {
	got := fmt.Sprint(o.cells)
	if c, ok := o.cells[0].(int64); !ok || c != want.count {
		return fmt.Sprintf("got %s, want %s", got, want)
	}
	if want.n == 0 {
		for _, c := range o.cells[1:] {
			if c != nil {
				return fmt.Sprintf("got %s, want %s", got, want)
			}
		}
		return ""
	}
	for i, w := range []int64{want.sum, want.min, want.max} {
		if c, ok := o.cells[1+i].(int64); !ok || c != w {
			return fmt.Sprintf("got %s, want %s", got, want)
		}
	}
	avg, ok := o.cells[4].(float64)
	wantAvg := float64(want.sum) / float64(want.n)
	if !ok || math.Abs(avg-wantAvg) > 1e-9*math.Max(1, math.Abs(wantAvg)) {
		return fmt.Sprintf("got %s, want %s", got, want)
	}
	return ""
}

// etKeepSource is the memory source as the queries see it. The engine
// closes a query's sources when it stops, and a memory source's Close
// releases its records; keeping them lets a restarted query re-run a
// batch that was logged but not committed, as a replayable source
// would. The test closes the real source at the end.
type etKeepSource struct{ *memsrc.Source }

func (etKeepSource) Close() error { return nil }

// etBatch is a batch as the checkpoint logged it: its id, watermark and
// the rows (indices into the harness's rows) it read.
type etBatch struct {
	id   int64
	wmMs int64
	// nextWmMs is the watermark the batch's commit gives the next batch:
	// an aggregation emits and evicts the windows it closes already at
	// the end of this batch.
	nextWmMs int64
	rows     []int
}

// etConfig configures an etHarness.
type etConfig struct {
	mode    string
	intKeys bool
	parts   int
	retain  int
	late    bool
	// faults is the probability, at each step without a pending fault
	// rule, of adding one; restarts the probability of a clean restart
	// after a step.
	faults, restarts float64
	// build adds the query's operators to the source's DataFrame.
	build func(df *dataframe.DataFrame) *dataframe.DataFrame
	// delayUs is the delay of build's watermark, in µs.
	delayUs int64
}

// etHarness runs a query over a memory source and sink with its
// checkpoint on a Faulty store, replaces the query with a new one (new
// plan, new state provider) after every failure and at random clean
// restarts, and reads the offsets log back as the batches go. The first
// query starts at the first process call, unless start is called.
type etHarness struct {
	t     *testing.T
	ctx   context.Context
	cfg   etConfig
	rng   *rand.Rand
	mem   *memory.CheckedAllocator
	src   *memsrc.Source
	out   *memsink.Sink
	late  *memsink.Sink
	inner *objstore.Memory
	store *objstore.Faulty
	eng   *engine.Engine
	q     *engine.Query

	rows    []etRow
	records [][]int // the rows of each record added, in order

	mu       sync.Mutex
	progress []engine.Progress

	offsets map[int64]wal.OffsetEntry
	commits map[int64]wal.CommitEntry

	rulePending bool
	ruleSteps   int
	injected    int
	rules       []string
	crashes     int
	restarts    int
}

// newETHarness returns a harness whose random choices (chunk sizes,
// faults, restarts) come from seed. Its cleanup stops the query, releases
// the sinks and the source and checks that the allocator is back at zero.
func newETHarness(t *testing.T, seed uint64, cfg etConfig) *etHarness {
	t.Helper()
	if cfg.parts == 0 {
		cfg.parts = 2
	}
	h := &etHarness{
		t: t, ctx: context.Background(), cfg: cfg,
		rng:     rand.New(rand.NewPCG(seed, 0xe7e7)),
		mem:     memory.NewCheckedAllocator(bufpool.NewPoison()),
		out:     memsink.New(),
		inner:   objstore.NewMemory(),
		offsets: map[int64]wal.OffsetEntry{},
		commits: map[int64]wal.CommitEntry{},
	}
	h.src = memsrc.New(etSchema(cfg.intKeys), memsrc.WithAllocator(h.mem))
	h.store = objstore.NewFaulty(h.inner, int64(seed))
	if cfg.late {
		h.late = memsink.New()
	}
	h.eng = engine.New(
		engine.WithLogger(slog.New(slog.DiscardHandler)),
		engine.WithListener(engine.ListenerFuncs{Progress: func(p engine.Progress) {
			h.mu.Lock()
			h.progress = append(h.progress, p)
			h.mu.Unlock()
		}}),
	)
	t.Cleanup(h.cleanup)
	return h
}

// start builds a new DataFrame and query on the same source, sink and
// checkpoint. A restarted query asks for a random number of state
// partitions: the number the checkpoint pinned at its first batch must
// win.
func (h *etHarness) start() {
	h.t.Helper()
	parts := h.cfg.parts
	if h.q != nil {
		parts = 1 + h.rng.IntN(5)
	}
	df := h.cfg.build(dataframe.ReadStream(etKeepSource{h.src}))
	w := df.WriteStream(h.out).OutputMode(h.cfg.mode).CheckpointStore(h.store).Allocator(h.mem).
		Engine(h.eng).StatePartitions(parts).QueryName("eventtime")
	if h.cfg.retain > 0 {
		w = w.MinBatchesToRetain(h.cfg.retain)
	}
	if h.late != nil {
		w = w.LateRows(h.late)
	}
	q, err := w.Start(h.ctx)
	if err != nil {
		h.t.Fatalf("starting the query (after %d crashes, %d restarts): %v", h.crashes, h.restarts, err)
	}
	h.q = q
}

// add adds rows as one record and returns their indices.
func (h *etHarness) add(rows ...etRow) {
	h.t.Helper()
	idx := make([]int, len(rows))
	for i, r := range rows {
		idx[i] = len(h.rows)
		h.rows = append(h.rows, r)
	}
	if _, err := h.src.AddRows(etValues(h.cfg.intKeys, rows)...); err != nil {
		h.t.Fatal(err)
	}
	h.records = append(h.records, idx)
}

var etOps = []objstore.Op{objstore.OpPut, objstore.OpPutIfAbsent, objstore.OpGet, objstore.OpList, objstore.OpDelete}
var etPrefixes = []string{wal.OffsetsDir + "/", wal.CommitsDir + "/", "state/"}

// maybeFault adds a one-shot fault rule with the configured probability
// when none is pending.
func (h *etHarness) maybeFault() {
	if h.rulePending || h.cfg.faults == 0 || h.rng.Float64() >= h.cfg.faults {
		return
	}
	r := objstore.Rule{Nth: 1 + h.rng.IntN(4), After: h.rng.IntN(2) == 0}
	for {
		r.Op, r.Prefix = etOps[h.rng.IntN(len(etOps))], etPrefixes[h.rng.IntN(len(etPrefixes))]
		// The logs are written with PutIfAbsent, state objects with Put:
		// pick a rule that can fire.
		if wal := r.Prefix != "state/"; !(wal && r.Op == objstore.OpPut) && !(!wal && r.Op == objstore.OpPutIfAbsent) {
			break
		}
	}
	if r.Op == objstore.OpGet || r.Op == objstore.OpList {
		r.Nth = 1 + h.rng.IntN(2)
	}
	h.store.FailOn(r)
	h.rulePending = true
	h.ruleSteps = 0
	h.injected = h.store.Injected()
	h.rules = append(h.rules, fmt.Sprintf("%v %s #%d after=%v", r.Op, r.Prefix, r.Nth, r.After))
	if r.Op == objstore.OpGet || r.Op == objstore.OpList {
		// Reads happen when a query recovers: start a new one.
		h.restart()
	}
}

// process runs everything added so far, replacing the query after each
// failure, which must be an injected one. The first call starts the first
// query.
func (h *etHarness) process() {
	h.t.Helper()
	if h.q == nil {
		h.start()
	}
	for attempt := 0; ; attempt++ {
		err := h.q.ProcessAllAvailable(h.ctx)
		if err == nil {
			break
		}
		if attempt == 10 {
			h.t.Fatalf("the query keeps failing after %d restarts: %v", attempt, err)
		}
		h.crash(err)
	}
	if h.rulePending {
		h.ruleSteps++
		// A rule that fired on a call whose failure the query tolerates
		// (a purge, retried later), or that did not fire for a while,
		// makes room for another.
		if h.store.Injected() > h.injected || h.ruleSteps > 3 {
			h.store.Reset()
			h.rulePending = false
		}
	}
	h.readLog()
	if h.cfg.restarts > 0 && h.rng.Float64() < h.cfg.restarts {
		h.restart()
	}
	h.maybeFault()
}

// crash handles a failed query: it must have failed by an injected fault;
// a new query takes over.
func (h *etHarness) crash(err error) {
	h.t.Helper()
	stopErr := h.q.Stop(h.ctx)
	if !errors.Is(err, objstore.ErrInjected) {
		h.t.Fatalf("the query failed with an error that was not injected (rules so far: %v): %v", h.rules, err)
	}
	if stopErr == nil || !errors.Is(stopErr, objstore.ErrInjected) {
		h.t.Fatalf("Stop after the failure %v returned %v, want the failure", err, stopErr)
	}
	h.store.Reset()
	h.rulePending = false
	h.crashes++
	h.start()
}

// restart stops the query cleanly and starts a new one.
func (h *etHarness) restart() {
	h.t.Helper()
	if err := h.q.Stop(h.ctx); err != nil {
		if !errors.Is(err, objstore.ErrInjected) {
			h.t.Fatalf("stopping the query: %v", err)
		}
		h.store.Reset()
		h.rulePending = false
		h.crashes++
	}
	h.restarts++
	h.start()
}

// readLog reads the offsets and commits written since the last call from
// the store under the fault injector (entries are immutable once
// written; the log keeps only the last batches when MinBatchesToRetain
// is small, so they are read as they appear).
func (h *etHarness) readLog() {
	h.t.Helper()
	offsets, commits := wal.NewOffsetLog(h.inner), wal.NewCommitLog(h.inner)
	ids, err := offsets.BatchIDs(h.ctx)
	if err != nil {
		h.t.Fatal(err)
	}
	for _, id := range ids {
		if _, ok := h.offsets[id]; ok {
			continue
		}
		e, err := offsets.Get(h.ctx, id)
		if err != nil {
			h.t.Fatal(err)
		}
		h.offsets[id] = e
	}
	ids, err = commits.BatchIDs(h.ctx)
	if err != nil {
		h.t.Fatal(err)
	}
	for _, id := range ids {
		if _, ok := h.commits[id]; ok {
			continue
		}
		e, err := commits.Get(h.ctx, id)
		if err != nil {
			h.t.Fatal(err)
		}
		h.commits[id] = e
	}
}

// stop removes the fault rules, stops the last query cleanly and reads
// the log a last time. A fault that hit the query after its last run (a
// new query recovers on its own goroutine) makes a new query finish the
// work first.
func (h *etHarness) stop() {
	h.t.Helper()
	h.store.Reset()
	h.rulePending = false
	if err := h.q.Stop(h.ctx); err != nil {
		if !errors.Is(err, objstore.ErrInjected) {
			h.t.Fatalf("stopping the query: %v", err)
		}
		h.crashes++
		h.start()
		if err := h.q.ProcessAllAvailable(h.ctx); err != nil {
			h.t.Fatalf("after a failure, a new query without faults failed: %v", err)
		}
		if err := h.q.Stop(h.ctx); err != nil {
			h.t.Fatalf("stopping the query: %v", err)
		}
	}
	h.readLog()
}

// finish adds a row far ahead of the others (by ahead, µs), so that the
// watermark passes every other window and a no-data batch closes them,
// runs it and stops the query.
func (h *etHarness) finish(ahead int64) {
	h.t.Helper()
	h.add(etRow{ts: etMaxTs(h.rows) + ahead, key: 1, value: 7})
	h.process()
	h.stop()
}

// batches returns the batches the checkpoint logged, checking that they
// are numbered from 0 without a gap, each committed, and that together
// they read every record added, each once.
func (h *etHarness) batches() []etBatch {
	h.t.Helper()
	ids := make([]int64, 0, len(h.offsets))
	for id := range h.offsets {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	var out []etBatch
	prev := int64(0)
	for i, id := range ids {
		if id != int64(i) {
			h.t.Fatalf("the offsets log has batches %v: batch %d is missing", ids, i)
		}
		c, committed := h.commits[id]
		if !committed {
			h.t.Fatalf("batch %d is logged in offsets but not committed", id)
		}
		e := h.offsets[id]
		if len(e.Offsets) != 1 {
			h.t.Fatalf("offsets/%d has %d source offsets, want 1", id, len(e.Offsets))
		}
		end, err := source.ParseCounterOffset("memory", "batch", e.Offsets[0])
		if err != nil {
			h.t.Fatal(err)
		}
		if end < prev || end > int64(len(h.records)) {
			h.t.Fatalf("offsets/%d ends at record %d, after batch %d ended at %d, with %d records added", id, end, id-1, prev, len(h.records))
		}
		b := etBatch{id: id, wmMs: e.BatchWatermarkMs, nextWmMs: c.NextBatchWatermarkMs}
		for _, rec := range h.records[prev:end] {
			b.rows = append(b.rows, rec...)
		}
		prev = end
		out = append(out, b)
	}
	if prev != int64(len(h.records)) {
		h.t.Fatalf("the batches read %d of the %d records added", prev, len(h.records))
	}
	return out
}

// checkWatermarks checks the watermark each batch ran with: 0 until a
// batch has seen rows, then the greatest event time (in ms) of the rows
// of the batches before it minus the delay, and never below 0.
func (h *etHarness) checkWatermarks(batches []etBatch) {
	h.t.Helper()
	maxMs, seen := int64(0), false
	for _, b := range batches {
		want := int64(0)
		if seen {
			want = max(maxMs-h.cfg.delayUs/1000, 0)
		}
		if b.wmMs != want {
			h.t.Errorf("batch %d ran with watermark %d ms; want %d: the greatest event time of the batches before it, %d ms, minus the delay of %d ms",
				b.id, b.wmMs, want, maxMs, h.cfg.delayUs/1000)
		}
		for _, i := range b.rows {
			ms := h.rows[i].ts / 1000 // event times are not negative
			if !seen || ms > maxMs {
				maxMs, seen = ms, true
			}
		}
	}
}

// outBatches returns the sink's batches as parsed rows.
func (h *etHarness) outBatches() [][]etOut {
	h.t.Helper()
	var out [][]etOut
	for _, b := range h.out.Batches() {
		var rows []etOut
		for _, r := range b.Rows {
			o, err := etParseOut(r)
			if err != nil {
				h.t.Fatal(err)
			}
			rows = append(rows, o)
		}
		out = append(out, rows)
	}
	return out
}

// lateRows returns the rows of the late-data sink.
func (h *etHarness) lateRows() []etRow {
	h.t.Helper()
	var out []etRow
	for _, cells := range h.late.Rows() {
		r, err := etLateRow(cells)
		if err != nil {
			h.t.Fatal(err)
		}
		out = append(out, r)
	}
	return out
}

// progressByBatch returns the progress reports of every query, by batch
// id, failing the test if a batch was reported twice.
func (h *etHarness) progressByBatch() map[int64]engine.Progress {
	h.t.Helper()
	h.mu.Lock()
	defer h.mu.Unlock()
	out := map[int64]engine.Progress{}
	for _, p := range h.progress {
		if _, dup := out[p.BatchID]; dup {
			h.t.Errorf("batch %d has two progress reports", p.BatchID)
		}
		out[p.BatchID] = p
	}
	return out
}

// checkProgress compares each batch's progress with the logged batch:
// input rows, watermark, and rows dropped by the watermark (dropped, by
// batch id).
func (h *etHarness) checkProgress(batches []etBatch, dropped map[int64]int64) {
	h.t.Helper()
	reports := h.progressByBatch()
	for _, b := range batches {
		p, ok := reports[b.id]
		if !ok {
			// A batch whose commit was written but reported as failed
			// is never re-run, so it has no report.
			continue
		}
		if p.NumInputRows != int64(len(b.rows)) {
			h.t.Errorf("batch %d: progress numInputRows %d, want %d", b.id, p.NumInputRows, len(b.rows))
		}
		wantWm := time.UnixMilli(b.wmMs).UTC().Format("2006-01-02T15:04:05.000Z")
		if p.EventTime["watermark"] != wantWm {
			h.t.Errorf("batch %d: progress eventTime.watermark %q, want %q (offsets log)", b.id, p.EventTime["watermark"], wantWm)
		}
		if len(p.StateOperators) != 1 {
			h.t.Errorf("batch %d: progress has %d state operators, want 1", b.id, len(p.StateOperators))
			continue
		}
		if got := p.StateOperators[0].NumRowsDroppedByWatermark; got != dropped[b.id] {
			h.t.Errorf("batch %d (watermark %s): numRowsDroppedByWatermark %d, want %d", b.id, wantWm, got, dropped[b.id])
		}
	}
	if len(reports) < len(batches)-h.crashes {
		h.t.Errorf("%d progress reports for %d batches and %d crashes", len(reports), len(batches), h.crashes)
	}
}

// cleanup stops the query if it still runs, releases the sinks and the
// source, and checks that the allocator is back at zero.
func (h *etHarness) cleanup() {
	if h.q != nil && h.q.IsActive() {
		_ = h.q.Stop(h.ctx)
	}
	h.out.Release()
	if h.late != nil {
		h.late.Release()
	}
	h.src.Close()
	h.mem.AssertSize(h.t, 0)
}

// etWindowStarts returns the starts of the windows of size and slide
// (microseconds) that hold ts, latest first.
func etWindowStarts(ts, size, slide int64) []int64 {
	last := ts - ((ts%slide)+slide)%slide
	var out []int64
	for s := last; s+size > ts; s -= slide {
		out = append(out, s)
	}
	return out
}

// etWindowRef is the reference result of a windowed aggregation.
type etWindowRef struct {
	groups map[etGroup]*etAcc
	// late are the rows every window of which was late.
	late []etRow
	// dropped counts, per batch, the (row, window) pairs dropped.
	dropped map[int64]int64
}

// etWindowReference aggregates the rows batch by batch; with dropLate, a
// row's window is dropped when its end is at or below the batch's
// watermark.
func etWindowReference(rows []etRow, batches []etBatch, size, slide int64, dropLate bool) etWindowRef {
	ref := etWindowRef{groups: map[etGroup]*etAcc{}, dropped: map[int64]int64{}}
	for _, b := range batches {
		wm := b.wmMs * 1000
		for _, i := range b.rows {
			r := rows[i]
			kept := false
			for _, s := range etWindowStarts(r.ts, size, slide) {
				if dropLate && s+size <= wm {
					ref.dropped[b.id]++
					continue
				}
				kept = true
				g := etGroup{start: s, end: s + size, key: r.key}
				a := ref.groups[g]
				if a == nil {
					a = &etAcc{}
					ref.groups[g] = a
				}
				a.add(r)
			}
			if !kept {
				ref.late = append(ref.late, r)
			}
		}
	}
	return ref
}

// etSession is a session of the reference computation.
type etSession struct {
	g   etGroup
	acc etAcc
}

// etSessionRef is the reference result of a session aggregation.
type etSessionRef struct {
	// emitted are the sessions closed by the watermark (append).
	emitted []etSession
	// open are the sessions still open at the end, by key.
	open    map[int64][]etSession
	late    []etRow
	dropped map[int64]int64
}

// etSessionReference runs the batches through per-key sessions of the
// given gap: with evict, a row is late when ts+gap is at or below the
// batch's watermark, and at the end of each batch the sessions that end at
// or below it are emitted and forgotten.
func etSessionReference(rows []etRow, batches []etBatch, gap int64, evict bool) etSessionRef {
	ref := etSessionRef{open: map[int64][]etSession{}, dropped: map[int64]int64{}}
	for _, b := range batches {
		wm := b.wmMs * 1000
		for _, i := range b.rows {
			r := rows[i]
			if evict && r.ts+gap <= wm {
				ref.dropped[b.id]++
				ref.late = append(ref.late, r)
				continue
			}
			s := etSession{g: etGroup{start: r.ts, end: r.ts + gap, key: r.key}}
			s.acc.add(r)
			ref.open[r.key] = append(ref.open[r.key], s)
		}
		for k, ss := range ref.open {
			slices.SortStableFunc(ss, func(x, y etSession) int { return int(x.g.start - y.g.start) })
			var merged []etSession
			for _, s := range ss {
				if n := len(merged); n > 0 && s.g.start <= merged[n-1].g.end {
					merged[n-1].g.end = max(merged[n-1].g.end, s.g.end)
					merged[n-1].acc.merge(s.acc)
					continue
				}
				merged = append(merged, s)
			}
			if evict {
				keep := merged[:0]
				for _, s := range merged {
					if s.g.end <= wm {
						ref.emitted = append(ref.emitted, s)
					} else {
						keep = append(keep, s)
					}
				}
				merged = keep
			}
			if len(merged) == 0 {
				delete(ref.open, k)
			} else {
				ref.open[k] = merged
			}
		}
	}
	return ref
}

// etCompareGroups compares rows written (each group once) with the
// reference groups and reports every difference (up to a limit).
func etCompareGroups(t *testing.T, what string, got map[etGroup]etOut, want map[etGroup]etAcc) {
	t.Helper()
	var problems []string
	for g, w := range want {
		o, ok := got[g]
		if !ok {
			problems = append(problems, fmt.Sprintf("missing %s: want %s", g, w))
			continue
		}
		if m := o.mismatch(w); m != "" {
			problems = append(problems, fmt.Sprintf("%s: %s", g, m))
		}
	}
	for g, o := range got {
		if _, ok := want[g]; !ok {
			problems = append(problems, fmt.Sprintf("unexpected %s: %v", g, o.cells))
		}
	}
	if len(problems) > 0 {
		slices.Sort(problems)
		if len(problems) > 15 {
			problems = append(problems[:15], fmt.Sprintf("... and %d more", len(problems)-15))
		}
		t.Errorf("%s: %d groups expected, %d written; differences:\n%s", what, len(want), len(got), strings.Join(problems, "\n"))
	}
}

// etCompareRows compares two multisets of rows.
func etCompareRows(t *testing.T, what string, got, want []etRow) {
	t.Helper()
	count := map[etRow]int{}
	for _, r := range want {
		count[r]++
	}
	for _, r := range got {
		count[r]--
	}
	var problems []string
	for r, n := range count {
		switch {
		case n > 0:
			problems = append(problems, fmt.Sprintf("missing %v x%d", r, n))
		case n < 0:
			problems = append(problems, fmt.Sprintf("unexpected %v x%d", r, -n))
		}
	}
	if len(problems) > 0 {
		slices.Sort(problems)
		if len(problems) > 15 {
			problems = append(problems[:15], fmt.Sprintf("... and %d more", len(problems)-15))
		}
		t.Errorf("%s: %d rows expected, %d got; differences:\n%s", what, len(want), len(got), strings.Join(problems, "\n"))
	}
}

// etUnique indexes rows by group, reporting a group written twice.
func etUnique(t *testing.T, what string, rows []etOut) map[etGroup]etOut {
	t.Helper()
	out := map[etGroup]etOut{}
	for _, o := range rows {
		if prev, dup := out[o.g]; dup {
			t.Errorf("%s: %s written twice: %v and %v", what, o.g, prev.cells, o.cells)
		}
		out[o.g] = o
	}
	return out
}

// etGenConfig shapes generated rows.
type etGenConfig struct {
	n             int
	keys          int64
	step          int64   // mean event-time step between rows, µs
	jitter, ahead int64   // rows land in [t-jitter, t+ahead)
	veryLate      float64 // probability of a row far behind the watermark
	lateBy        int64   // such a row is at least this far behind t
	nulls         float64 // probability of a null value
	nullKeys      float64 // probability of a null key
}

// etGenerate makes rows whose event times increase on average, out of
// order, with some rows far behind. Event times start at 1000 s.
func etGenerate(rng *rand.Rand, c etGenConfig) []etRow {
	rows := make([]etRow, c.n)
	t := 1000 * etSec
	for i := range rows {
		t += rng.Int64N(2 * c.step)
		ts := t - c.jitter + rng.Int64N(c.jitter+c.ahead)
		if rng.Float64() < c.veryLate {
			ts = t - c.lateBy - rng.Int64N(3*c.lateBy)
		}
		rows[i] = etRow{ts: max(ts, 0), key: 1 + rng.Int64N(c.keys), value: rng.Int64N(2001) - 1000}
		if rng.Float64() < c.nullKeys {
			rows[i].key = 0
		}
		if rng.Float64() < c.nulls {
			rows[i].value, rows[i].null = 0, true
		}
	}
	return rows
}

// feed adds rows in random chunks of 1 to maxChunk rows, one record per
// chunk (sometimes two records before a run), running the query after
// each.
func (h *etHarness) feed(rows []etRow, maxChunk int) {
	h.t.Helper()
	for len(rows) > 0 {
		n := min(len(rows), 1+h.rng.IntN(maxChunk))
		h.add(rows[:n]...)
		rows = rows[n:]
		if len(rows) > 0 && h.rng.IntN(5) == 0 {
			continue
		}
		h.process()
	}
}

// maxTs returns the greatest event time of the rows.
func etMaxTs(rows []etRow) int64 {
	m := int64(0)
	for _, r := range rows {
		m = max(m, r.ts)
	}
	return m
}

// etChildEnv names the test a child process of the test binary runs.
const etChildEnv = "SLUICE_EVENTTIME_TEST_CHILD"

// etIsolate runs the calling top-level test in a child process of the
// test binary, unless this process is that child, and reports whether
// the caller is the parent (which then returns). The tests that inject
// faults run this way: a fault that makes the engine panic on one of its
// goroutines then fails that test alone, with the panic in its message,
// instead of ending the whole test binary. Subtest patterns of -run are
// passed on.
func etIsolate(t *testing.T) (parent bool) {
	t.Helper()
	if os.Getenv(etChildEnv) == t.Name() {
		return false
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatalf("finding the test binary to run %s in a child process: %v", t.Name(), err)
	}
	run := "^" + regexp.QuoteMeta(t.Name()) + "$"
	if f := flag.Lookup("test.run"); f != nil {
		if _, sub, ok := strings.Cut(f.Value.String(), "/"); ok {
			run += "/" + sub
		}
	}
	args := []string{"-test.run=" + run, "-test.count=1"}
	if testing.Verbose() {
		args = append(args, "-test.v")
	}
	cmd := exec.CommandContext(t.Context(), exe, args...)
	cmd.Env = append(os.Environ(), etChildEnv+"="+t.Name())
	out, err := cmd.CombinedOutput()
	if err != nil {
		const keep = 12000
		if len(out) > keep {
			out = append([]byte("...\n"), out[len(out)-keep:]...)
		}
		t.Fatalf("%s failed in its child process (%v):\n%s", t.Name(), err, out)
	}
	if testing.Verbose() {
		t.Logf("child process:\n%s", out)
	}
	return true
}
