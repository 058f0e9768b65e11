package s3_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/objstore"
	"github.com/sluicehq/sluice/sink"
	"github.com/sluicehq/sluice/sink/parquet"
	"github.com/sluicehq/sluice/wal"
)

// TestCheckpointLogsOnS3 runs the offsets and commits logs of a checkpoint
// on S3, unchanged.
func TestCheckpointLogsOnS3(t *testing.T) {
	s, _, _ := openStore(t, "ckpt/q1")
	ctx := t.Context()
	offsets, commits := wal.NewOffsetLog(s), wal.NewCommitLog(s)
	for id := int64(0); id < 3; id++ {
		e := wal.OffsetEntry{
			BatchWatermarkMs: 1000 * id,
			BatchTimestampMs: 1_700_000_000_000 + id,
			Offsets:          []json.RawMessage{json.RawMessage(fmt.Sprintf(`{"p0":%d}`, 10*id))},
		}
		if err := offsets.Add(ctx, id, e); err != nil {
			t.Fatal(err)
		}
		if err := commits.Add(ctx, id, wal.CommitEntry{NextBatchWatermarkMs: 1000 * (id + 1)}); err != nil {
			t.Fatal(err)
		}
	}
	// A second driver logging the same batch is refused.
	err := offsets.Add(ctx, 2, wal.OffsetEntry{})
	if !errors.Is(err, wal.ErrBatchExists) || !objstore.IsExist(err) {
		t.Fatalf("second Add of batch 2 = %v, want ErrBatchExists", err)
	}
	id, e, ok, err := offsets.Latest(ctx)
	if err != nil || !ok || id != 2 || string(e.Offsets[0]) != `{"p0":20}` || e.BatchWatermarkMs != 2000 {
		t.Fatalf("offsets.Latest = %d, %+v, %t, %v; want batch 2 with offset {\"p0\":20}", id, e, ok, err)
	}
	ids, err := commits.BatchIDs(ctx)
	if err != nil || !slices.Equal(ids, []int64{0, 1, 2}) {
		t.Fatalf("commits.BatchIDs = %v, %v; want [0 1 2]", ids, err)
	}
	if err := offsets.Purge(ctx, 2); err != nil {
		t.Fatal(err)
	}
	if ids, err := offsets.BatchIDs(ctx); err != nil || !slices.Equal(ids, []int64{2}) {
		t.Fatalf("offsets.BatchIDs after Purge(2) = %v, %v; want [2]", ids, err)
	}
}

// TestParquetSinkOnS3 writes batches with the Parquet sink on S3, replays
// one as a restarted query would, and reads the committed rows back.
func TestParquetSinkOnS3(t *testing.T) {
	s, _, _ := openStore(t, "out/events")
	ctx := t.Context()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)

	schema := arrow.NewSchema([]arrow.Field{
		{Name: "day", Type: arrow.BinaryTypes.String},
		{Name: "id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "word", Type: arrow.BinaryTypes.String, Nullable: true},
	}, nil)
	// record returns rows [from, to); the caller releases it.
	record := func(from, to int) arrow.RecordBatch {
		b := array.NewRecordBuilder(mem, schema)
		defer b.Release()
		for i := from; i < to; i++ {
			b.Field(0).(*array.StringBuilder).Append(fmt.Sprintf("2026-01-0%d", 1+i%2))
			b.Field(1).(*array.Int64Builder).Append(int64(i))
			if i%5 == 4 {
				b.Field(2).AppendNull()
			} else {
				b.Field(2).(*array.StringBuilder).Append(fmt.Sprintf("w%d", i))
			}
		}
		return b.NewRecordBatch()
	}

	sk, err := parquet.New(s, parquet.WithPartitionBy("day"), parquet.WithAllocator(mem))
	if err != nil {
		t.Fatal(err)
	}
	if err := sk.Open(ctx, sink.OpenInfo{QueryID: "q", Schema: schema, OutputMode: "append"}); err != nil {
		t.Fatal(err)
	}
	var want []string
	for batch := range 3 {
		recs := []arrow.RecordBatch{record(batch*10, batch*10+6), record(batch*10+6, batch*10+10)}
		if err := sk.AddBatch(ctx, int64(batch), recs); err != nil {
			t.Fatal(err)
		}
		if batch == 1 { // a replay after a crash is a no-op
			if err := sk.AddBatch(ctx, int64(batch), recs); err != nil {
				t.Fatalf("replay of batch 1: %v", err)
			}
		}
		for _, r := range recs {
			want = append(want, rows(r)...)
			r.Release()
		}
	}

	batches, err := parquet.CommittedBatches(ctx, s)
	if err != nil || len(batches) != 3 {
		t.Fatalf("CommittedBatches = %d entries, %v; want 3", len(batches), err)
	}
	got, err := parquet.ReadCommitted(ctx, s, mem)
	if err != nil {
		t.Fatal(err)
	}
	var gotRows []string
	for _, r := range got {
		if !r.Schema().Equal(schema) {
			t.Errorf("read schema %s, want %s", r.Schema(), schema)
		}
		gotRows = append(gotRows, rows(r)...)
		r.Release()
	}
	slices.Sort(want)
	slices.Sort(gotRows)
	if !slices.Equal(gotRows, want) {
		t.Fatalf("read back %d rows %q, want %d rows %q", len(gotRows), gotRows, len(want), want)
	}
}

// rows renders each row of r as "v1|v2|...".
func rows(r arrow.RecordBatch) []string {
	out := make([]string, r.NumRows())
	for i := range out {
		for c, col := range r.Columns() {
			if c > 0 {
				out[i] += "|"
			}
			out[i] += col.ValueStr(i)
		}
	}
	return out
}
