package bench

import (
	"context"
	"fmt"
	"hash/maphash"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/dataframe"
	"github.com/sluicehq/sluice/engine"
	"github.com/sluicehq/sluice/objstore"
	"github.com/sluicehq/sluice/sink"
	memsrc "github.com/sluicehq/sluice/source/memory"
	"github.com/sluicehq/sluice/table"
	"github.com/sluicehq/sluice/trigger"
)

// The stream-static join workload: a stream of (ts, ad_id, value) rows
// joined on ad_id with a static table of (ad_id, campaign) rows, one row
// per ad id, inner join. Stream ad ids are uniform over a range 1% wider
// than the table's, so about 99% of the rows match.

var (
	sjAdSchema = arrow.NewSchema([]arrow.Field{
		{Name: "ad_id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "campaign", Type: arrow.BinaryTypes.String},
	}, nil)
	sjEventSchema = arrow.NewSchema([]arrow.Field{
		{Name: "ts", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}},
		{Name: "ad_id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "value", Type: arrow.PrimitiveTypes.Int64},
	}, nil)
)

// sjWorkload sizes the join.
type sjWorkload struct {
	name       string
	tableRows  int64
	streamRows int64
	batchRows  int64
	seed       uint64
}

var sjBench = sjWorkload{name: "table=1M/stream=10M", tableRows: 1_000_000, streamRows: 10_000_000, batchRows: 1_000_000, seed: 11}

// sjData is a workload's table and stream records, built once with the Go
// allocator and shared by the engine benchmark and its loop baseline;
// callers must not release them.
type sjData struct {
	table  arrow.RecordBatch
	stream []arrow.RecordBatch
}

var sjCache = map[string]sjData{}

func sjGenerate(w sjWorkload) sjData {
	if d, ok := sjCache[w.name]; ok {
		return d
	}
	mem := memory.DefaultAllocator
	ib := array.NewInt64Builder(mem)
	sb := array.NewStringBuilder(mem)
	for i := int64(0); i < w.tableRows; i++ {
		ib.Append(i)
		sb.Append(fmt.Sprintf("campaign-%06d", i%100_000))
	}
	cols := []arrow.Array{ib.NewArray(), sb.NewArray()}
	d := sjData{table: array.NewRecordBatch(sjAdSchema, cols, w.tableRows)}
	for _, c := range cols {
		c.Release()
	}
	ib.Release()
	sb.Release()
	r := rand.New(rand.NewPCG(w.seed, 0x5eed))
	tsType := sjEventSchema.Field(0).Type.(*arrow.TimestampType)
	span := w.tableRows + w.tableRows/100
	for start := int64(0); start < w.streamRows; start += w.batchRows {
		n := min(w.batchRows, w.streamRows-start)
		tb, kb, vb := array.NewTimestampBuilder(mem, tsType), array.NewInt64Builder(mem), array.NewInt64Builder(mem)
		tb.Reserve(int(n))
		kb.Reserve(int(n))
		vb.Reserve(int(n))
		for i := start; i < start+n; i++ {
			tb.UnsafeAppend(arrow.Timestamp(epochUs + i))
			kb.UnsafeAppend(r.Int64N(span))
			vb.UnsafeAppend(r.Int64N(valueRange))
		}
		cols := []arrow.Array{tb.NewArray(), kb.NewArray(), vb.NewArray()}
		d.stream = append(d.stream, array.NewRecordBatch(sjEventSchema, cols, n))
		for _, c := range cols {
			c.Release()
		}
		tb.Release()
		kb.Release()
		vb.Release()
	}
	sjCache[w.name] = d
	return d
}

// sjSum summarizes join output: its rows, the sum of ad_id and value, and
// a hash sum over the campaigns, so the engine and the loop can be
// compared.
type sjSum struct {
	rows, ids, values int64
	campaigns         uint64
}

var sjSeed = maphash.MakeSeed()

// sjSink summarizes the rows written to it (when sum is set) or only
// counts them; it skips replayed batch ids.
type sjSink struct {
	mu      sync.Mutex
	started bool
	last    int64
	sum     bool
	out     sjSum
}

var _ sink.Sink = (*sjSink)(nil)

func (s *sjSink) AddBatch(_ context.Context, batchID int64, recs []arrow.RecordBatch) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started && batchID <= s.last {
		return nil
	}
	s.started, s.last = true, batchID
	for _, rec := range recs {
		s.out.rows += rec.NumRows()
		if !s.sum {
			continue
		}
		ids := rec.Column(1).(*array.Int64).Int64Values()
		vals := rec.Column(2).(*array.Int64).Int64Values()
		camp := rec.Column(3).(*array.String)
		for i := range ids {
			s.out.ids += ids[i]
			s.out.values += vals[i]
			s.out.campaigns += maphash.String(sjSeed, camp.Value(i))
		}
	}
	return nil
}

// runStaticJoinEngine runs the join over d through the engine with
// AvailableNow, one stream record per micro-batch, and returns what the
// sink saw with the wall and CPU time from Start to the end of Wait (the
// table is loaded and built in the first batch, inside the timing).
func runStaticJoinEngine(ctx context.Context, d sjData, out *sjSink) (wall, cpu time.Duration, batches int, err error) {
	tbl, err := table.FromRecords(sjAdSchema, d.table)
	if err != nil {
		return 0, 0, 0, err
	}
	defer tbl.Release()
	src := memsrc.New(sjEventSchema)
	defer src.Close()
	src.Add(d.stream...)
	cpu0, t0 := cpuTime(), time.Now()
	q, err := dataframe.ReadStream(batchedSource{Source: src, rowsPerBatch: d.stream[0].NumRows()}).
		JoinStatic(tbl, []string{"ad_id"}, "inner").
		WriteStream(out).
		OutputMode("append").
		Trigger(trigger.AvailableNow()).
		CheckpointStore(objstore.NewMemory()).
		Engine(engine.New(engine.WithLogger(quiet))).
		Start(ctx)
	if err != nil {
		return 0, 0, 0, fmt.Errorf("bench: starting the stream-static join: %w", err)
	}
	if err := q.Wait(ctx); err != nil {
		return 0, 0, 0, fmt.Errorf("bench: the stream-static join failed: %w", err)
	}
	return time.Since(t0), cpuTime() - cpu0, len(q.RecentProgress()), nil
}

// staticJoinLoop is the hand-written baseline: a map from ad_id to table
// row, and per stream record a loop that looks each row up and gathers
// the matching rows' ts, ad_id, value and campaign into new columns
// (plain slices, the campaign as bytes and offsets), as the join's output
// needs. summarize folds each output record into the returned sjSum.
func staticJoinLoop(d sjData, summarize bool) sjSum {
	ids := d.table.Column(0).(*array.Int64).Int64Values()
	camp := d.table.Column(1).(*array.String)
	m := make(map[int64]int32, len(ids))
	for i, id := range ids {
		m[id] = int32(i)
	}
	var out sjSum
	// The output columns are reused from record to record.
	var (
		ots   []arrow.Timestamp
		oids  []int64
		ovals []int64
		offs  []int32
		data  []byte
	)
	for _, rec := range d.stream {
		ts := rec.Column(0).(*array.Timestamp).Values()
		keys := rec.Column(1).(*array.Int64).Int64Values()
		vals := rec.Column(2).(*array.Int64).Int64Values()
		ots, oids, ovals, offs, data = ots[:0], oids[:0], ovals[:0], append(offs[:0], 0), data[:0]
		for i, k := range keys {
			r, ok := m[k]
			if !ok {
				continue
			}
			ots = append(ots, ts[i])
			oids = append(oids, k)
			ovals = append(ovals, vals[i])
			data = append(data, camp.Value(int(r))...)
			offs = append(offs, int32(len(data)))
		}
		out.rows += int64(len(oids))
		if summarize {
			for i := range oids {
				out.ids += oids[i]
				out.values += ovals[i]
				out.campaigns += maphash.Bytes(sjSeed, data[offs[i]:offs[i+1]])
			}
		}
		runtime.KeepAlive(ots)
	}
	return out
}

// BenchmarkStaticJoin joins a 10M-row stream, in 1M-row micro-batches,
// with a 1M-row static table (int64 key, string column) through the
// engine: JoinStatic(table, ["ad_id"], "inner"), about 99% of the rows
// matching. Reports rows/s and rows/s per core of CPU time.
func BenchmarkStaticJoin(b *testing.B) {
	ctx := context.Background()
	d := sjGenerate(sjBench)
	var rows int64
	var wall, cpu time.Duration
	var batches int
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		runtime.GC()
		b.StartTimer()
		out := &sjSink{}
		w, c, n, err := runStaticJoinEngine(ctx, d, out)
		b.StopTimer()
		if err != nil {
			b.Fatal(err)
		}
		if out.out.rows < sjBench.streamRows*95/100 || out.out.rows > sjBench.streamRows {
			b.Fatalf("the join wrote %d rows for %d stream rows, want about 99%%", out.out.rows, sjBench.streamRows)
		}
		rows += sjBench.streamRows
		wall += w
		cpu += c
		batches = n
	}
	report(b, rows, wall, cpu)
	b.Logf("%s: %d micro-batches; %.0f rows/s, %.0f rows/s/core", sjBench.name, batches, float64(rows)/wall.Seconds(), float64(rows)/cpu.Seconds())
	recordSpeed(b, "staticjoin/"+sjBench.name, "engine", float64(rows)/wall.Seconds(), float64(rows)/cpu.Seconds())
}

// BenchmarkStaticJoinLoop is the limit BenchmarkStaticJoin is measured
// against: a map[int64]int32 from ad_id to table row and a gather loop
// over the same arrays.
func BenchmarkStaticJoinLoop(b *testing.B) {
	d := sjGenerate(sjBench)
	var rows int64
	var wall, cpu time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		runtime.GC()
		b.StartTimer()
		cpu0, t0 := cpuTime(), time.Now()
		out := staticJoinLoop(d, false)
		wall += time.Since(t0)
		cpu += cpuTime() - cpu0
		if out.rows < sjBench.streamRows*95/100 {
			b.Fatalf("the loop joined %d rows for %d stream rows, want about 99%%", out.rows, sjBench.streamRows)
		}
		rows += sjBench.streamRows
	}
	report(b, rows, wall, cpu)
	b.Logf("%s: loop; %.0f rows/s, %.0f rows/s/core", sjBench.name, float64(rows)/wall.Seconds(), float64(rows)/cpu.Seconds())
	recordSpeed(b, "staticjoin/"+sjBench.name, "loop", float64(rows)/wall.Seconds(), float64(rows)/cpu.Seconds())
}

// TestStaticJoinMatchesLoop checks that the engine's join in the
// benchmark writes what the loop baseline computes, on a small workload.
func TestStaticJoinMatchesLoop(t *testing.T) {
	w := sjWorkload{name: "test", tableRows: 20_000, streamRows: 100_000, batchRows: 10_000, seed: 3}
	d := sjGenerate(w)
	out := &sjSink{sum: true}
	if _, _, _, err := runStaticJoinEngine(context.Background(), d, out); err != nil {
		t.Fatal(err)
	}
	want := staticJoinLoop(d, true)
	if out.out != want {
		t.Fatalf("engine wrote %+v, the loop computed %+v", out.out, want)
	}
	if want.rows < w.streamRows*95/100 {
		t.Fatalf("only %d of %d rows matched", want.rows, w.streamRows)
	}
}
