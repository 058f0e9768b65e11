package bench

import (
	"context"
	"fmt"
	"hash/maphash"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/dataframe"
	"github.com/sluicehq/sluice/objstore"
	"github.com/sluicehq/sluice/table"
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
	span := w.tableRows + w.tableRows/100
	d.stream = buildEvents(mem, sjEventSchema, w.streamRows, w.batchRows, func(i int64) (ts, key, value int64) {
		return epochUs + i, r.Int64N(span), r.Int64N(valueRange)
	})
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

// staticJoinSink returns a sink that counts the rows written to it and,
// when sum is not nil, folds their ad_id, value and campaign into sum
// (all but sum.rows, which is the sink's row count).
func staticJoinSink(sum *sjSum) *countingSink {
	out := &countingSink{}
	if sum != nil {
		out.fold = func(_ int64, rec arrow.RecordBatch) error {
			_, ids, vals := eventCols(rec)
			camp := rec.Column(3).(*array.String)
			for i := range ids {
				sum.ids += ids[i]
				sum.values += vals[i]
				sum.campaigns += maphash.String(sjSeed, camp.Value(i))
			}
			return nil
		}
	}
	return out
}

// runStaticJoinEngine runs the join over d through the engine with
// AvailableNow, one stream record per micro-batch, into out, and waits for
// it to finish. The timing covers the query from Start to the end of Wait
// (the table is loaded and built in the first batch, inside the timing).
func runStaticJoinEngine(ctx context.Context, d sjData, out *countingSink) (queryRun, error) {
	tbl, err := table.FromRecords(sjAdSchema, d.table)
	if err != nil {
		return queryRun{}, err
	}
	defer tbl.Release()
	src := newBatchedSource(sjEventSchema, d.stream, memory.DefaultAllocator)
	defer src.Close()
	df := dataframe.ReadStream(src).JoinStatic(tbl, []string{"ad_id"}, "inner")
	return runQuery(ctx, "stream-static join", df, out, "append", objstore.NewMemory(), memory.DefaultAllocator)
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
		ts, keys, vals := eventCols(rec)
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
	tot, last := timedQueries(b, func() (queryRun, error) {
		return runStaticJoinEngine(ctx, d, staticJoinSink(nil))
	}, func(run queryRun) error {
		if run.rows != sjBench.streamRows {
			return fmt.Errorf("the join read %d stream rows, want %d", run.rows, sjBench.streamRows)
		}
		if run.outRows < sjBench.streamRows*95/100 || run.outRows > sjBench.streamRows {
			return fmt.Errorf("the join wrote %d rows for %d stream rows, want about 99%%", run.outRows, sjBench.streamRows)
		}
		return nil
	})
	b.Logf("%s: %d micro-batches; %.0f rows/s, %.0f rows/s/core", sjBench.name, last.batches, tot.rowsPerSec(), tot.rowsPerCore())
	finish(b, "staticjoin/"+sjBench.name, "engine", tot)
}

// BenchmarkStaticJoinLoop is the limit BenchmarkStaticJoin is measured
// against: a map[int64]int32 from ad_id to table row and a gather loop
// over the same arrays.
func BenchmarkStaticJoinLoop(b *testing.B) {
	d := sjGenerate(sjBench)
	var out sjSum
	tot := timedLoops(b, sjBench.streamRows, func() { out = staticJoinLoop(d, false) }, func() error {
		if out.rows < sjBench.streamRows*95/100 {
			return fmt.Errorf("the loop joined %d rows for %d stream rows, want about 99%%", out.rows, sjBench.streamRows)
		}
		return nil
	})
	b.Logf("%s: loop; %.0f rows/s, %.0f rows/s/core", sjBench.name, tot.rowsPerSec(), tot.rowsPerCore())
	finish(b, "staticjoin/"+sjBench.name, "loop", tot)
}

// TestStaticJoinMatchesLoop checks that the engine's join in the
// benchmark writes what the loop baseline computes, on a small workload.
func TestStaticJoinMatchesLoop(t *testing.T) {
	w := sjWorkload{name: "test", tableRows: 20_000, streamRows: 100_000, batchRows: 10_000, seed: 3}
	d := sjGenerate(w)
	var got sjSum
	run, err := runStaticJoinEngine(context.Background(), d, staticJoinSink(&got))
	if err != nil {
		t.Fatal(err)
	}
	got.rows = run.outRows
	want := staticJoinLoop(d, true)
	if got != want {
		t.Fatalf("engine wrote %+v, the loop computed %+v", got, want)
	}
	if want.rows < w.streamRows*95/100 {
		t.Fatalf("only %d of %d rows matched", want.rows, w.streamRows)
	}
}
