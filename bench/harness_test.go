package bench

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/dataframe"
	"github.com/sluicehq/sluice/engine"
	"github.com/sluicehq/sluice/objstore"
	"github.com/sluicehq/sluice/sink"
	"github.com/sluicehq/sluice/source"
	memsrc "github.com/sluicehq/sluice/source/memory"
	"github.com/sluicehq/sluice/trigger"
)

// The harness every benchmark of the package shares: CPU and wall time,
// the rows/s and rows/s/core metrics, the b.N loop, the engine runner and
// its sink, and the generation and caching of (ts, key, value) records.

// quiet is the logger the benchmark engines run with.
var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// cpuTime is the user plus system CPU time the process has used, or 0 if
// getrusage fails.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// clock is a start point of wall and CPU time.
type clock struct {
	wall time.Time
	cpu  time.Duration
}

// startClock reads the wall and CPU time now.
func startClock() clock { return clock{wall: time.Now(), cpu: cpuTime()} }

// since returns the rows given with the wall and CPU time since c.
func (c clock) since(rows int64) tally {
	return tally{rows: rows, wall: time.Since(c.wall), cpu: cpuTime() - c.cpu}
}

// tally is rows processed in a wall and a CPU time.
type tally struct {
	rows      int64
	wall, cpu time.Duration
}

// measure runs f and returns rows with the wall and CPU time f took.
func measure(rows int64, f func()) tally {
	c := startClock()
	f()
	return c.since(rows)
}

func (t *tally) add(u tally) {
	t.rows += u.rows
	t.wall += u.wall
	t.cpu += u.cpu
}

// rowsPerSec is rows per second of wall time.
func (t tally) rowsPerSec() float64 { return float64(t.rows) / t.wall.Seconds() }

// rowsPerCore is rows per second of CPU time.
func (t tally) rowsPerCore() float64 { return float64(t.rows) / t.cpu.Seconds() }

// timedRuns calls run b.N times, each after a GC with the benchmark timer
// stopped, with the timer running during run (run may stop it early), and
// returns the sum of the tallies run returns. run measures its own wall
// and CPU time, so it can leave setup out.
func timedRuns(b *testing.B, run func() tally) tally {
	var tot tally
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		runtime.GC()
		b.StartTimer()
		t := run()
		b.StopTimer()
		tot.add(t)
	}
	return tot
}

// timedQueries runs query b.N times under timedRuns, failing b when it
// returns an error or check finds its run wrong, and returns the sum of
// the runs' tallies and the last run.
func timedQueries(b *testing.B, query func() (queryRun, error), check func(queryRun) error) (tally, queryRun) {
	var last queryRun
	tot := timedRuns(b, func() tally {
		run, err := query()
		if err == nil {
			err = check(run)
		}
		if err != nil {
			b.Fatal(err)
		}
		last = run
		return run.tally
	})
	return tot, last
}

// timedLoops runs loop b.N times under timedRuns, timing it as rows rows,
// and fails b when check, called after each run outside the measured time, finds
// its result wrong. It returns the sum of the runs' tallies.
func timedLoops(b *testing.B, rows int64, loop func(), check func() error) tally {
	return timedRuns(b, func() tally {
		t := measure(rows, loop)
		if err := check(); err != nil {
			b.Fatal(err)
		}
		return t
	})
}

// report adds rows/s and rows/s per core of CPU time (when getrusage
// gave one), and zeroes ns/op, which means nothing here.
func report(b *testing.B, t tally) {
	b.ReportMetric(t.rowsPerSec(), "rows/s")
	if t.cpu > 0 {
		b.ReportMetric(t.rowsPerCore(), "rows/s/core")
	}
	b.ReportMetric(0, "ns/op")
}

// finish reports t's rows/s and rows/s/core and records them as kind
// ("engine" or "loop") of workload for the engine/loop ratio.
func finish(b *testing.B, workload, kind string, t tally) {
	report(b, t)
	recordSpeed(b, workload, kind, t.rowsPerSec(), t.rowsPerCore())
}

// speeds pairs engine and loop results by workload, so whichever of a
// pair runs second can log the ratio.
var speeds = map[string]map[string]float64{}

// recordSpeed stores rows/s and rows/s/core of kind ("engine" or "loop")
// on workload and, when the other kind is known, logs engine/loop.
func recordSpeed(b *testing.B, workload, kind string, rowsPerSec, rowsPerCore float64) {
	m := speeds[workload]
	if m == nil {
		m = map[string]float64{}
		speeds[workload] = m
	}
	m[kind+" rows/s"], m[kind+" rows/s/core"] = rowsPerSec, rowsPerCore
	if _, ok := m["engine rows/s"]; !ok {
		return
	}
	if _, ok := m["loop rows/s"]; !ok {
		return
	}
	r, rc := m["engine rows/s"]/m["loop rows/s"], m["engine rows/s/core"]/m["loop rows/s/core"]
	verdict := ""
	if workload == "tumbling/keys=1k" {
		verdict = "; target: at least 0.5, "
		if r >= 0.5 {
			verdict += "met"
		} else {
			verdict += "not met"
		}
	}
	b.Logf("%s: engine/loop = %.3f in rows/s, %.3f in rows/s/core%s", workload, r, rc, verdict)
}

// buildEvents builds rows rows of (timestamp, int64, int64) with schema,
// in records of batchRows rows, taking row i's values from row, called
// once per row in order. The caller owns the records and releases each
// one.
func buildEvents(mem memory.Allocator, schema *arrow.Schema, rows, batchRows int64, row func(i int64) (ts, key, value int64)) []arrow.RecordBatch {
	tsType := schema.Field(0).Type.(*arrow.TimestampType)
	var recs []arrow.RecordBatch
	for start := int64(0); start < rows; start += batchRows {
		n := min(batchRows, rows-start)
		tsb := array.NewTimestampBuilder(mem, tsType)
		kb := array.NewInt64Builder(mem)
		vb := array.NewInt64Builder(mem)
		tsb.Reserve(int(n))
		kb.Reserve(int(n))
		vb.Reserve(int(n))
		for i := start; i < start+n; i++ {
			ts, k, v := row(i)
			tsb.UnsafeAppend(arrow.Timestamp(ts))
			kb.UnsafeAppend(k)
			vb.UnsafeAppend(v)
		}
		cols := []arrow.Array{tsb.NewArray(), kb.NewArray(), vb.NewArray()}
		recs = append(recs, array.NewRecordBatch(schema, cols, n))
		for _, c := range cols {
			c.Release()
		}
		tsb.Release()
		kb.Release()
		vb.Release()
	}
	return recs
}

// eventCols returns the values of rec's (ts, key, value) columns,
// borrowed from rec.
func eventCols(rec arrow.RecordBatch) (ts []arrow.Timestamp, keys, vals []int64) {
	return rec.Column(0).(*array.Timestamp).Values(),
		rec.Column(1).(*array.Int64).Int64Values(),
		rec.Column(2).(*array.Int64).Int64Values()
}

// generator is a workload that can build its records.
type generator interface {
	// cacheKey names the records in dataCache.
	cacheKey() string
	// generate builds the records with mem; the caller owns them.
	generate(mem memory.Allocator) []arrow.RecordBatch
}

// dataCache holds each workload's records, generated once with the Go
// allocator, so an engine benchmark and its loop baseline read the very
// same arrays. The cache owns the records for the life of the test
// binary: callers must not release them.
var dataCache = map[string][]arrow.RecordBatch{}

// cachedData returns g's records from dataCache, generating them on first
// use. The cache owns them: callers must not release them.
func cachedData(g generator) []arrow.RecordBatch {
	if recs, ok := dataCache[g.cacheKey()]; ok {
		return recs
	}
	recs := g.generate(memory.DefaultAllocator)
	dataCache[g.cacheKey()] = recs
	return recs
}

// batchedSource serves a memory source's records one per micro-batch: its
// default read limit is one record's rows, so AvailableNow drains the
// backlog in as many batches as there are records and the watermark
// advances between them, as in a live stream.
type batchedSource struct {
	*memsrc.Source
	rowsPerBatch int64
}

var _ source.RateLimiter = batchedSource{}

func (s batchedSource) DefaultReadLimit() source.ReadLimit { return source.MaxRows(s.rowsPerBatch) }

// newBatchedSource returns a memory source of schema built with mem that
// holds recs (borrowed: the source retains its own references) and serves
// one record per micro-batch. The caller closes it once the query ends.
func newBatchedSource(schema *arrow.Schema, recs []arrow.RecordBatch, mem memory.Allocator) batchedSource {
	src := memsrc.New(schema, memsrc.WithAllocator(mem))
	src.Add(recs...)
	return batchedSource{Source: src, rowsPerBatch: recs[0].NumRows()}
}

// countingSink counts the rows written to it and, when fold is set, hands
// fold every record of each new batch (borrowed, under the sink's lock).
// It skips replayed batch ids, as the sink contract asks.
type countingSink struct {
	mu      sync.Mutex
	started bool
	last    int64
	rows    int64
	fold    func(batchID int64, rec arrow.RecordBatch) error
}

var _ sink.Sink = (*countingSink)(nil)

func (s *countingSink) AddBatch(_ context.Context, batchID int64, recs []arrow.RecordBatch) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started && batchID <= s.last {
		return nil
	}
	s.started, s.last = true, batchID
	for _, rec := range recs {
		s.rows += rec.NumRows()
		if s.fold != nil {
			if err := s.fold(batchID, rec); err != nil {
				return err
			}
		}
	}
	return nil
}

// written is the number of rows written to s.
func (s *countingSink) written() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rows
}

// queryRun is what one run of a query through the engine did.
type queryRun struct {
	tally           // input rows, and the time from Start to the end of Wait
	batches   int   // micro-batches run
	outRows   int64 // rows written to the sink
	stateRows int64 // peak state rows (NumRowsTotal of the first operator)
	stateMem  int64 // MemoryUsedBytes of the batch with the peak
	removed   int64 // state rows evicted by the watermark
	dropped   int64 // rows dropped as late
}

// runQuery writes df to out in mode with AvailableNow, the checkpoint in
// ckpt and the allocator mem, and waits for the query to finish. what
// names the query in errors. The timing covers the query from Start to
// the end of Wait.
func runQuery(ctx context.Context, what string, df *dataframe.DataFrame, out *countingSink, mode string, ckpt objstore.Store, mem memory.Allocator) (queryRun, error) {
	c := startClock()
	q, err := df.WriteStream(out).
		OutputMode(mode).
		Trigger(trigger.AvailableNow()).
		CheckpointStore(ckpt).
		Allocator(mem).
		Engine(engine.New(engine.WithLogger(quiet))).
		Start(ctx)
	if err != nil {
		return queryRun{}, fmt.Errorf("bench: starting the %s: %w", what, err)
	}
	if err := q.Wait(ctx); err != nil {
		return queryRun{}, fmt.Errorf("bench: the %s failed: %w", what, err)
	}
	run := queryRun{tally: c.since(0)}
	progress := q.RecentProgress()
	run.batches = len(progress)
	for _, p := range progress {
		run.rows += p.NumInputRows
		if len(p.StateOperators) == 0 {
			continue
		}
		so := p.StateOperators[0]
		run.removed += so.NumRowsRemoved
		run.dropped += so.NumRowsDroppedByWatermark
		if so.NumRowsTotal >= run.stateRows {
			run.stateRows, run.stateMem = so.NumRowsTotal, so.MemoryUsedBytes
		}
	}
	run.outRows = out.written()
	return run, nil
}

// checkedAlloc returns a checked allocator that must hold no bytes when
// the test ends.
func checkedAlloc(t *testing.T) *memory.CheckedAllocator {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	t.Cleanup(func() { mem.AssertSize(t, 0) })
	return mem
}

// generateFor returns g's records built with mem; they are released when
// the test ends (before a checkedAlloc made earlier checks its bytes).
func generateFor(t *testing.T, mem memory.Allocator, g generator) []arrow.RecordBatch {
	recs := g.generate(mem)
	t.Cleanup(func() {
		for _, r := range recs {
			r.Release()
		}
	})
	return recs
}
