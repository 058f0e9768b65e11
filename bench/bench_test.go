package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/sluicehq/sluice/dataframe"
	"github.com/sluicehq/sluice/engine"
	"github.com/sluicehq/sluice/objstore"
	pqsink "github.com/sluicehq/sluice/sink/parquet"
	"github.com/sluicehq/sluice/source"
	"github.com/sluicehq/sluice/source/rate"
	"github.com/sluicehq/sluice/trigger"
)

// tickSource offers one new row per batch, up to max batches: every batch
// has data, and the work per batch is as small as it gets.
type tickSource struct {
	schema *arrow.Schema
	max    int64
}

func (s *tickSource) Schema() *arrow.Schema { return s.schema }
func (s *tickSource) Close() error          { return nil }

func parseN(o source.Offset) int64 {
	if o == nil {
		return 0
	}
	var v struct{ N int64 }
	_ = json.Unmarshal(o, &v)
	return v.N
}

func (s *tickSource) LatestOffset(_ context.Context, start source.Offset, _ source.ReadLimit) (source.Offset, error) {
	n := parseN(start)
	if n < s.max {
		n++
	}
	return source.Offset(fmt.Sprintf(`{"N":%d}`, n)), nil
}

func (s *tickSource) Read(_ context.Context, start, end source.Offset, mem memory.Allocator) ([]arrow.RecordBatch, error) {
	b := array.NewInt64Builder(mem)
	defer b.Release()
	for i := parseN(start); i < parseN(end); i++ {
		b.Append(i)
	}
	col := b.NewArray()
	defer col.Release()
	return []arrow.RecordBatch{array.NewRecordBatch(s.schema, []arrow.Array{col}, int64(col.Len()))}, nil
}

// BenchmarkLoopOverhead measures the fixed cost of one micro-batch on a
// local directory: latest offset, offsets log, a one-row batch filtered to
// nothing, the Parquet sink's log entry (no data file), and the commit.
func BenchmarkLoopOverhead(b *testing.B) {
	ctx := context.Background()
	dir := b.TempDir()
	schema := arrow.NewSchema([]arrow.Field{{Name: "v", Type: arrow.PrimitiveTypes.Int64}}, nil)
	src := &tickSource{schema: schema, max: int64(b.N)}
	out, err := objstore.NewDir(dir + "/out")
	if err != nil {
		b.Fatal(err)
	}
	pq, err := pqsink.New(out)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	t0 := time.Now()
	q, err := dataframe.ReadStream(src).
		Where(dataframe.Col("v").Lt(dataframe.Lit(int64(0)))).
		WriteStream(pq).
		Trigger(trigger.ProcessingTime(0)).
		Checkpoint(dir + "/ckpt").
		Engine(engine.New(engine.WithLogger(quiet))).
		Start(ctx)
	if err != nil {
		b.Fatal(err)
	}
	for q.LastBatchID() < int64(b.N)-1 && q.IsActive() {
		time.Sleep(time.Millisecond)
	}
	wall := time.Since(t0)
	b.StopTimer()
	if err := q.Stop(ctx); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(wall.Microseconds())/1000/float64(b.N), "ms/batch")
	b.ReportMetric(0, "ns/op")
}

const rateRows = 4_000_000

// BenchmarkRateToParquet: the rate source -> project (value*7+3) and
// filter -> Parquet files on a local directory, AvailableNow over a fixed
// backlog of rateRows rows in 1M-row batches.
func BenchmarkRateToParquet(b *testing.B) {
	for _, c := range []pqsink.Compression{pqsink.Snappy, pqsink.None} {
		b.Run(c.String(), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				runRateToParquet(b, c)
			}
		})
	}
}

func runRateToParquet(b *testing.B, c pqsink.Compression) {
	dir := b.TempDir()
	out, err := objstore.NewDir(dir + "/out")
	if err != nil {
		b.Fatal(err)
	}
	ckpt, err := objstore.NewDir(dir + "/ckpt")
	if err != nil {
		b.Fatal(err)
	}
	runRateToParquetOn(b, c, ckpt, out)
}

func runRateToParquetOn(b *testing.B, c pqsink.Compression, ckpt, out objstore.Store) {
	ctx := context.Background()
	const rps = 1_000_000
	src, err := rate.New(
		rate.WithRowsPerSecond(rps),
		rate.WithStartTime(time.Now().Add(-rateRows/rps*time.Second)),
		rate.WithMaxRowsPerTrigger(1_000_000),
	)
	if err != nil {
		b.Fatal(err)
	}
	pq, err := pqsink.New(out, pqsink.WithCompression(c))
	if err != nil {
		b.Fatal(err)
	}
	c0 := startClock()
	q, err := dataframe.ReadStream(src).
		Select(dataframe.Col("timestamp"), dataframe.Col("value"),
			dataframe.Col("value").Mul(dataframe.Lit(int64(7))).Add(dataframe.Lit(int64(3))).As("reading")).
		Where(dataframe.Col("reading").Gt(dataframe.Lit(int64(100)))).
		WriteStream(pq).
		Trigger(trigger.AvailableNow()).
		CheckpointStore(ckpt).
		Engine(engine.New(engine.WithLogger(quiet))).
		Start(ctx)
	if err != nil {
		b.Fatal(err)
	}
	if err := q.Wait(ctx); err != nil {
		b.Fatal(err)
	}
	t := c0.since(0)
	for _, p := range q.RecentProgress() {
		t.rows += p.NumInputRows
	}
	if t.rows < rateRows {
		b.Fatalf("processed %d rows, want >= %d", t.rows, rateRows)
	}
	report(b, t)
}

// BenchmarkRateToParquetBaseline is the hand-written limit: the same rows
// built with Arrow builders, the same projection and filter in a plain Go
// loop, written with pqarrow into buffers and files, no engine.
func BenchmarkRateToParquetBaseline(b *testing.B) {
	for _, c := range []struct {
		name  string
		codec compress.Compression
	}{{"snappy", compress.Codecs.Snappy}, {"none", compress.Codecs.Uncompressed}} {
		b.Run(c.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				runBaseline(b, c.codec)
			}
		})
	}
}

func runBaseline(b *testing.B, codec compress.Compression) {
	dir := b.TempDir()
	store, err := objstore.NewDir(dir)
	if err != nil {
		b.Fatal(err)
	}
	mem := memory.DefaultAllocator
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "timestamp", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}},
		{Name: "value", Type: arrow.PrimitiveTypes.Int64},
		{Name: "reading", Type: arrow.PrimitiveTypes.Int64},
	}, nil)
	c0 := startClock()
	start := time.Now().UnixMicro()
	const batch = 1_000_000
	for off := int64(0); off < rateRows; off += batch {
		tsb := array.NewTimestampBuilder(mem, schema.Field(0).Type.(*arrow.TimestampType))
		vb := array.NewInt64Builder(mem)
		rb := array.NewInt64Builder(mem)
		tsb.Reserve(batch)
		vb.Reserve(batch)
		rb.Reserve(batch)
		for i := off; i < off+batch; i++ {
			r := i*7 + 3
			if r <= 100 {
				continue
			}
			tsb.UnsafeAppend(arrow.Timestamp(start + i))
			vb.UnsafeAppend(i)
			rb.UnsafeAppend(r)
		}
		cols := []arrow.Array{tsb.NewArray(), vb.NewArray(), rb.NewArray()}
		rec := array.NewRecordBatch(schema, cols, int64(cols[0].Len()))
		var buf bytes.Buffer
		w, err := pqarrow.NewFileWriter(schema, &buf, parquet.NewWriterProperties(parquet.WithCompression(codec)), pqarrow.DefaultWriterProps())
		if err != nil {
			b.Fatal(err)
		}
		if err := w.Write(rec); err != nil {
			b.Fatal(err)
		}
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
		if err := store.Put(context.Background(), fmt.Sprintf("part-%d.parquet", off/batch), buf.Bytes()); err != nil {
			b.Fatal(err)
		}
		rec.Release()
		for _, c := range cols {
			c.Release()
		}
		tsb.Release()
		vb.Release()
		rb.Release()
	}
	report(b, c0.since(rateRows))
}
