package parquet

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/float16"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/file"

	"github.com/sluicehq/sluice/bufpool"
	"github.com/sluicehq/sluice/objstore"
	"github.com/sluicehq/sluice/sink"
)

var allTypesSchema = arrow.NewSchema([]arrow.Field{
	{Name: "b", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
	{Name: "i8", Type: arrow.PrimitiveTypes.Int8, Nullable: true},
	{Name: "i16", Type: arrow.PrimitiveTypes.Int16, Nullable: true},
	{Name: "i32", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
	{Name: "i64", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: "u8", Type: arrow.PrimitiveTypes.Uint8, Nullable: true},
	{Name: "u16", Type: arrow.PrimitiveTypes.Uint16, Nullable: true},
	{Name: "u32", Type: arrow.PrimitiveTypes.Uint32, Nullable: true},
	{Name: "u64", Type: arrow.PrimitiveTypes.Uint64, Nullable: true},
	{Name: "f16", Type: arrow.FixedWidthTypes.Float16, Nullable: true},
	{Name: "f32", Type: arrow.PrimitiveTypes.Float32, Nullable: true},
	{Name: "f64", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	{Name: "s", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "ls", Type: arrow.BinaryTypes.LargeString, Nullable: true},
	{Name: "bin", Type: arrow.BinaryTypes.Binary, Nullable: true},
	{Name: "d32", Type: arrow.FixedWidthTypes.Date32, Nullable: true},
	{Name: "t32", Type: arrow.FixedWidthTypes.Time32ms, Nullable: true},
	{Name: "t64", Type: arrow.FixedWidthTypes.Time64us, Nullable: true},
	{Name: "ts_ms", Type: &arrow.TimestampType{Unit: arrow.Millisecond}, Nullable: true},
	{Name: "ts_us", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, Nullable: true},
	{Name: "ts_ns", Type: &arrow.TimestampType{Unit: arrow.Nanosecond, TimeZone: "UTC"}, Nullable: true},
	{Name: "req", Type: arrow.PrimitiveTypes.Int64, Nullable: false},
}, nil)

// allTypesRecord returns n rows with a null in every nullable column on
// every fourth row, starting at seed. The caller releases it.
func allTypesRecord(mem memory.Allocator, seed, n int) arrow.RecordBatch {
	b := array.NewRecordBuilder(mem, allTypesSchema)
	defer b.Release()
	base := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for k := 0; k < n; k++ {
		i := seed + k
		b.Field(len(b.Fields()) - 1).(*array.Int64Builder).Append(int64(i))
		if i%4 == 3 {
			for c := 0; c < len(b.Fields())-1; c++ {
				b.Field(c).AppendNull()
			}
			continue
		}
		ts := base.Add(time.Duration(i) * 1234567 * time.Nanosecond)
		b.Field(0).(*array.BooleanBuilder).Append(i%3 == 0)
		b.Field(1).(*array.Int8Builder).Append(int8(i%256 - 128))
		b.Field(2).(*array.Int16Builder).Append(int16(-i * 7))
		b.Field(3).(*array.Int32Builder).Append(int32(i * -1000003))
		b.Field(4).(*array.Int64Builder).Append(int64(i) * -1e12)
		b.Field(5).(*array.Uint8Builder).Append(uint8(i))
		b.Field(6).(*array.Uint16Builder).Append(uint16(60000 + i))
		b.Field(7).(*array.Uint32Builder).Append(uint32(4e9) + uint32(i))
		b.Field(8).(*array.Uint64Builder).Append(uint64(1<<63) + uint64(i))
		b.Field(9).(*array.Float16Builder).Append(float16.New(float32(i) / 8))
		b.Field(10).(*array.Float32Builder).Append(float32(i) / 3)
		b.Field(11).(*array.Float64Builder).Append(float64(i) / 7)
		b.Field(12).(*array.StringBuilder).Append(fmt.Sprintf("s-%d-é", i))
		b.Field(13).(*array.LargeStringBuilder).Append(strings.Repeat("L", i%5))
		b.Field(14).(*array.BinaryBuilder).Append([]byte{byte(i), 0, byte(i >> 8)})
		b.Field(15).(*array.Date32Builder).Append(arrow.Date32FromTime(ts))
		b.Field(16).(*array.Time32Builder).Append(arrow.Time32(i * 1000 % 86400000))
		b.Field(17).(*array.Time64Builder).Append(arrow.Time64(int64(i) * 1_000_001))
		b.Field(18).(*array.TimestampBuilder).Append(arrow.Timestamp(ts.UnixMilli()))
		b.Field(19).(*array.TimestampBuilder).Append(arrow.Timestamp(ts.UnixMicro()))
		b.Field(20).(*array.TimestampBuilder).Append(arrow.Timestamp(ts.UnixNano()))
	}
	return b.NewRecordBatch()
}

func TestRoundTripAllTypes(t *testing.T) {
	mem := memory.NewCheckedAllocator(bufpool.NewPoison())
	defer mem.AssertSize(t, 0)
	ctx := context.Background()
	store := objstore.NewMemory()
	s := newSink(t, store, allTypesSchema, WithAllocator(mem))

	in := []arrow.RecordBatch{allTypesRecord(mem, 0, 37), allTypesRecord(mem, 37, 0), allTypesRecord(mem, 37, 100)}
	defer releaseAll(in)
	if err := s.AddBatch(ctx, 0, in); err != nil {
		t.Fatalf("AddBatch: %v", err)
	}
	files, err := CommittedFiles(ctx, store)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"part-00000000000000000000-00000.snappy.parquet"}
	if got := filePaths(files); !slices.Equal(got, want) {
		t.Fatalf("files = %v, want %v", got, want)
	}
	if files[0].Rows != 137 {
		t.Errorf("file rows = %d, want 137", files[0].Rows)
	}

	out := readAll(t, store, mem)
	defer releaseAll(out)
	if len(out) == 0 {
		t.Fatal("ReadCommitted returned no records")
	}
	for _, r := range out {
		if !r.Schema().Equal(allTypesSchema) {
			t.Fatalf("read schema\n%s\nwant\n%s", r.Schema(), allTypesSchema)
		}
	}
	tin := array.NewTableFromRecords(allTypesSchema, in)
	defer tin.Release()
	tout := array.NewTableFromRecords(allTypesSchema, out)
	defer tout.Release()
	if tin.NumRows() != tout.NumRows() {
		t.Fatalf("read %d rows, wrote %d", tout.NumRows(), tin.NumRows())
	}
	for c := 0; c < int(tin.NumCols()); c++ {
		if !array.ChunkedEqual(tin.Column(c).Data(), tout.Column(c).Data()) {
			t.Errorf("column %s differs after the round trip", allTypesSchema.Field(c).Name)
		}
	}
	if got, want := rowStrings(out), rowStrings(in); !slices.Equal(got, want) {
		t.Errorf("rows differ:\n got %v\nwant %v", got[:3], want[:3])
	}
}

func TestPartitionByOneColumn(t *testing.T) {
	mem := memory.NewCheckedAllocator(bufpool.NewPoison())
	defer mem.AssertSize(t, 0)
	ctx := context.Background()
	store := objstore.NewMemory()
	s := newSink(t, store, eventSchema, WithPartitionBy("city"), WithAllocator(mem))

	in := []arrow.RecordBatch{eventRecord(mem, 0, 50), eventRecord(mem, 50, 51), eventRecord(mem, 51, 140)}
	defer releaseAll(in)
	if err := s.AddBatch(ctx, 7, in); err != nil {
		t.Fatalf("AddBatch: %v", err)
	}
	files, err := CommittedFiles(ctx, store)
	if err != nil {
		t.Fatal(err)
	}
	// Folders sorted by name; part numbers count across the batch.
	want := []string{
		"city=50%25/part-00000000000000000007-00000.snappy.parquet",
		"city=Amsterdam/part-00000000000000000007-00001.snappy.parquet",
		"city=Zürich/part-00000000000000000007-00002.snappy.parquet",
		"city=__HIVE_DEFAULT_PARTITION__/part-00000000000000000007-00003.snappy.parquet",
		"city=a%2Fb/part-00000000000000000007-00004.snappy.parquet",
		"city=x%3Dy/part-00000000000000000007-00005.snappy.parquet",
	}
	if got := filePaths(files); !slices.Equal(got, want) {
		t.Fatalf("files:\n%s\nwant %v", fmtFiles(files), want)
	}
	if got := dataFiles(t, store); !slices.Equal(got, sortedCopy(want)) {
		t.Errorf("store holds %v, want exactly the logged files", got)
	}
	// Null and empty strings share the default partition: 2 of every 7 rows.
	if files[3].Rows != 40 {
		t.Errorf("default partition holds %d rows, want 40", files[3].Rows)
	}

	out := readAll(t, store, mem)
	defer releaseAll(out)
	for _, r := range out {
		if !r.Schema().Equal(eventSchema) {
			t.Fatalf("read schema %s, want %s", r.Schema(), eventSchema)
		}
	}
	if got, want := sortedRows(out), expectRows(in, true); !slices.Equal(got, want) {
		t.Errorf("rows differ: got %d rows, want %d\n got %v\nwant %v", len(got), len(want), got[:5], want[:5])
	}
}

func sortedCopy(s []string) []string {
	c := slices.Clone(s)
	slices.Sort(c)
	return c
}

func TestPartitionByTwoColumns(t *testing.T) {
	mem := memory.NewCheckedAllocator(bufpool.NewPoison())
	defer mem.AssertSize(t, 0)
	ctx := context.Background()
	store := objstore.NewMemory()
	s := newSink(t, store, eventSchema, WithPartitionBy("day", "n"), WithAllocator(mem))

	in := []arrow.RecordBatch{eventRecord(mem, 0, 100), eventRecord(mem, 100, 300)}
	defer releaseAll(in)
	if err := s.AddBatch(ctx, 1, in); err != nil {
		t.Fatalf("AddBatch: %v", err)
	}
	files, err := CommittedFiles(ctx, store)
	if err != nil {
		t.Fatal(err)
	}
	// 4 days (3 dates and null) times 5 values of n (-1..2 and null).
	if len(files) != 20 {
		t.Fatalf("got %d files, want 20:\n%s", len(files), fmtFiles(files))
	}
	for i, f := range files {
		want := fmt.Sprintf("-%05d.snappy.parquet", i)
		if !strings.HasSuffix(f.Path, want) {
			t.Errorf("file %d is %s, want part number %d", i, f.Path, i)
		}
		if i > 0 && files[i-1].Path > f.Path {
			t.Errorf("files not in folder order: %s before %s", files[i-1].Path, f.Path)
		}
	}
	for _, want := range []string{
		"day=2026-01-01/n=-1/part-00000000000000000001-00000.snappy.parquet",
		"day=2026-01-03/n=__HIVE_DEFAULT_PARTITION__/part-00000000000000000001-00014.snappy.parquet",
		"day=__HIVE_DEFAULT_PARTITION__/n=2/part-00000000000000000001-00018.snappy.parquet",
	} {
		if !slices.Contains(filePaths(files), want) {
			t.Errorf("missing %s in\n%s", want, fmtFiles(files))
		}
	}
	out := readAll(t, store, mem)
	defer releaseAll(out)
	for _, r := range out {
		if !r.Schema().Equal(eventSchema) {
			t.Fatalf("read schema %s, want %s", r.Schema(), eventSchema)
		}
	}
	if got, want := sortedRows(out), expectRows(in, false); !slices.Equal(got, want) {
		t.Errorf("rows differ: got %d rows, want %d", len(got), len(want))
	}
}

func TestCompression(t *testing.T) {
	for _, tc := range []struct {
		c     Compression
		codec compress.Compression
	}{
		{Snappy, compress.Codecs.Snappy},
		{Zstd, compress.Codecs.Zstd},
		{None, compress.Codecs.Uncompressed},
	} {
		t.Run(tc.c.String(), func(t *testing.T) {
			mem := memory.NewCheckedAllocator(bufpool.NewPoison())
			defer mem.AssertSize(t, 0)
			ctx := context.Background()
			store := objstore.NewMemory()
			s := newSink(t, store, eventSchema, WithCompression(tc.c), WithAllocator(mem))
			rec := eventRecord(mem, 0, 500)
			defer rec.Release()
			if err := s.AddBatch(ctx, 3, []arrow.RecordBatch{rec}); err != nil {
				t.Fatal(err)
			}
			files, err := CommittedFiles(ctx, store)
			if err != nil {
				t.Fatal(err)
			}
			want := "part-00000000000000000003-00000." + tc.c.String() + ".parquet"
			if len(files) != 1 || files[0].Path != want {
				t.Fatalf("files = %v, want [%s]", filePaths(files), want)
			}
			data, err := store.Get(ctx, want)
			if err != nil {
				t.Fatal(err)
			}
			rdr, err := file.NewParquetReader(bytes.NewReader(data))
			if err != nil {
				t.Fatal(err)
			}
			defer rdr.Close()
			md := rdr.MetaData()
			if md.NumRows != 500 {
				t.Errorf("footer says %d rows, want 500", md.NumRows)
			}
			for rg := 0; rg < md.NumRowGroups(); rg++ {
				for c := 0; c < md.Schema.NumColumns(); c++ {
					cc, err := md.RowGroup(rg).ColumnChunk(c)
					if err != nil {
						t.Fatal(err)
					}
					if cc.Compression() != tc.codec {
						t.Errorf("row group %d column %d codec %v, want %v", rg, c, cc.Compression(), tc.codec)
					}
				}
			}
			out := readAll(t, store, mem)
			defer releaseAll(out)
			if got, want := rowStrings(out), rowStrings([]arrow.RecordBatch{rec}); !slices.Equal(got, want) {
				t.Errorf("rows differ after %s round trip", tc.c)
			}
		})
	}
}

func TestFileRolling(t *testing.T) {
	mem := memory.NewCheckedAllocator(bufpool.NewPoison())
	defer mem.AssertSize(t, 0)
	ctx := context.Background()
	store := objstore.NewMemory()
	const target = 4 << 10
	s := newSink(t, store, eventSchema, WithCompression(None), WithRowGroupRows(200), WithTargetFileSize(target), WithAllocator(mem))
	in := []arrow.RecordBatch{eventRecord(mem, 0, 3000), eventRecord(mem, 3000, 5000)}
	defer releaseAll(in)
	if err := s.AddBatch(ctx, 2, in); err != nil {
		t.Fatal(err)
	}
	files, err := CommittedFiles(ctx, store)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 3 {
		t.Fatalf("got %d files, want several with a %d-byte target:\n%s", len(files), target, fmtFiles(files))
	}
	var rows int64
	for i, f := range files {
		if want := FileName(2, i, None); f.Path != want {
			t.Errorf("file %d is %s, want %s", i, f.Path, want)
		}
		rows += f.Rows
		if i < len(files)-1 && f.Size < target {
			t.Errorf("%s has %d bytes: rolled before reaching the %d-byte target", f.Path, f.Size, target)
		}
		if f.Size > 4*target {
			t.Errorf("%s has %d bytes, far above the %d-byte target", f.Path, f.Size, target)
		}
	}
	if rows != 5000 {
		t.Errorf("files hold %d rows, want 5000", rows)
	}
	out := readAll(t, store, mem)
	defer releaseAll(out)
	if got, want := rowStrings(out), rowStrings(in); !slices.Equal(got, want) {
		t.Errorf("rows differ: got %d, want %d", len(got), len(want))
	}
	m := s.Metrics()
	if m["numFiles"] != fmt.Sprint(len(files)) || m["numRows"] != "5000" || m["batchId"] != "2" {
		t.Errorf("Metrics = %v, want %d files, 5000 rows, batch 2", m, len(files))
	}
}

func TestReplayOfCommittedBatchWritesNothing(t *testing.T) {
	mem := memory.NewCheckedAllocator(bufpool.NewPoison())
	defer mem.AssertSize(t, 0)
	ctx := context.Background()
	store := objstore.NewFaulty(objstore.NewMemory(), 1)
	s := newSink(t, store, eventSchema, WithPartitionBy("city"), WithAllocator(mem))
	rec := eventRecord(mem, 0, 70)
	defer rec.Release()
	if err := s.AddBatch(ctx, 0, []arrow.RecordBatch{rec}); err != nil {
		t.Fatal(err)
	}
	puts, creates := store.Calls(objstore.OpPut), store.Calls(objstore.OpPutIfAbsent)
	if puts != 6 || creates != 1 {
		t.Fatalf("first attempt: %d puts, %d creates; want 6 files and 1 log entry", puts, creates)
	}
	before := mustList(t, store, "")

	// A new sink instance, as after a restart, and the same one again.
	s2 := newSink(t, store, eventSchema, WithPartitionBy("city"), WithAllocator(mem))
	for _, sk := range []*Sink{s, s2} {
		if err := sk.AddBatch(ctx, 0, []arrow.RecordBatch{rec}); err != nil {
			t.Fatalf("replay: %v", err)
		}
		if m := sk.Metrics(); m["skippedReplays"] != "1" {
			t.Errorf("skippedReplays = %q, want 1", m["skippedReplays"])
		}
	}
	if p, c, d := store.Calls(objstore.OpPut)-puts, store.Calls(objstore.OpPutIfAbsent)-creates, store.Calls(objstore.OpDelete); p != 0 || c != 0 || d != 0 {
		t.Errorf("replays wrote: %d puts, %d creates, %d deletes; want none", p, c, d)
	}
	if after := mustList(t, store, ""); !slices.Equal(before, after) {
		t.Errorf("store changed by replay:\n%v\n%v", before, after)
	}
	out := readAll(t, store, mem)
	defer releaseAll(out)
	if totalRows(out) != 70 {
		t.Errorf("read %d rows, want 70 exactly once", totalRows(out))
	}
}

func TestCrashMidBatchThenRetry(t *testing.T) {
	mem := memory.NewCheckedAllocator(bufpool.NewPoison())
	defer mem.AssertSize(t, 0)
	ctx := context.Background()
	inner := objstore.NewMemory()
	store := objstore.NewFaulty(inner, 7)
	opts := []Option{WithCompression(None), WithRowGroupRows(100), WithTargetFileSize(2 << 10), WithAllocator(mem)}
	in := []arrow.RecordBatch{eventRecord(mem, 0, 1000)}
	defer releaseAll(in)

	// Batch 0 commits; batch 1 crashes when storing its second part.
	s := newSink(t, store, eventSchema, opts...)
	if err := s.AddBatch(ctx, 0, in); err != nil {
		t.Fatal(err)
	}
	store.FailOn(objstore.Rule{Op: objstore.OpPut, Prefix: "part-00000000000000000001-", Nth: 2})
	err := s.AddBatch(ctx, 1, in)
	if !errors.Is(err, objstore.ErrInjected) {
		t.Fatalf("AddBatch with failing put = %v, want the injected failure", err)
	}
	if !strings.Contains(err.Error(), "parquet: batch 1") || !strings.Contains(err.Error(), "part-00000000000000000001-00001") {
		t.Errorf("error %q does not name the batch and file", err)
	}
	committed, err := CommittedFiles(ctx, store)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range committed {
		if strings.HasPrefix(f.Path, "part-00000000000000000001-") {
			t.Fatalf("batch 1 is committed after a failed attempt: %s", f.Path)
		}
	}
	if !slices.Contains(dataFiles(t, store), FileName(1, 0, None)) {
		t.Fatal("the crashed attempt left no orphan part 0: the test does not exercise orphans")
	}
	out := readAll(t, store, mem)
	if totalRows(out) != 1000 {
		t.Errorf("after the crash, readers see %d rows, want batch 0's 1000", totalRows(out))
	}
	releaseAll(out)

	// Restart: a new sink retries batch 1 with the same rows.
	s2 := newSink(t, store, eventSchema, opts...)
	if err := s2.AddBatch(ctx, 1, in); err != nil {
		t.Fatalf("retry: %v", err)
	}
	entries, err := CommittedBatches(ctx, store)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 2 || entries[1].BatchID != 1 {
		t.Fatalf("log holds %d entries, want batches 0 and 1", len(entries))
	}
	var rows int64
	for i, f := range entries[1].Files {
		if f.Path != FileName(1, i, None) {
			t.Errorf("batch 1 file %d is %s", i, f.Path)
		}
		rows += f.Rows
	}
	if rows != 1000 {
		t.Errorf("batch 1 logs %d rows, want 1000", rows)
	}
	if len(entries[1].Files) != len(entries[0].Files) {
		t.Errorf("batch 1 has %d files, batch 0 %d: same rows must give the same parts", len(entries[1].Files), len(entries[0].Files))
	}
	var logged []string
	for _, e := range entries {
		logged = append(logged, filePaths(e.Files)...)
	}
	if got := dataFiles(t, store); !slices.Equal(got, sortedCopy(logged)) {
		t.Errorf("store holds %v, log lists %v", got, logged)
	}
	out = readAll(t, store, mem)
	defer releaseAll(out)
	want := append(rowStrings(in), rowStrings(in)...)
	if got := rowStrings(out); !slices.Equal(got, want) {
		t.Errorf("read %d rows, want each of 2x1000 once", len(got))
	}
}

func TestCommitFoundAlreadyDoneIsSuccess(t *testing.T) {
	mem := memory.NewCheckedAllocator(bufpool.NewPoison())
	defer mem.AssertSize(t, 0)
	ctx := context.Background()
	store := objstore.NewFaulty(objstore.NewMemory(), 3)
	s := newSink(t, store, eventSchema, WithAllocator(mem))
	rec := eventRecord(mem, 0, 10)
	defer rec.Release()
	// The entry is created, but the writer hears "already exists", as when
	// another attempt committed the same batch first.
	store.FailOn(objstore.Rule{Op: objstore.OpPutIfAbsent, Prefix: LogDir + "/", After: true, Err: fs.ErrExist})
	if err := s.AddBatch(ctx, 4, []arrow.RecordBatch{rec}); err != nil {
		t.Fatalf("AddBatch = %v, want success when the entry already exists", err)
	}
	if store.Injected() != 1 {
		t.Fatalf("injected %d failures, want 1", store.Injected())
	}
	files, err := CommittedFiles(ctx, store)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 1 || files[0].Rows != 10 {
		t.Errorf("committed %v, want one file of 10 rows", files)
	}

	// A failure of the commit itself is reported.
	store.FailOn(objstore.Rule{Op: objstore.OpPutIfAbsent, Prefix: LogDir + "/"})
	err = s.AddBatch(ctx, 5, []arrow.RecordBatch{rec})
	if !errors.Is(err, objstore.ErrInjected) || !strings.Contains(err.Error(), "committing") {
		t.Errorf("AddBatch with a failing commit = %v, want a commit error", err)
	}
}

func TestDeterministicNamesAndBytes(t *testing.T) {
	mem := memory.NewCheckedAllocator(bufpool.NewPoison())
	defer mem.AssertSize(t, 0)
	ctx := context.Background()
	in := []arrow.RecordBatch{eventRecord(mem, 0, 400), eventRecord(mem, 400, 900)}
	defer releaseAll(in)
	var stores []objstore.Store
	for range 2 {
		st := objstore.NewMemory()
		s := newSink(t, st, eventSchema, WithPartitionBy("day"), WithRowGroupRows(64), WithTargetFileSize(1500), WithAllocator(mem))
		if err := s.AddBatch(ctx, 12, in); err != nil {
			t.Fatal(err)
		}
		stores = append(stores, st)
	}
	a, b := mustList(t, stores[0], ""), mustList(t, stores[1], "")
	if !slices.Equal(a, b) {
		t.Fatalf("names differ:\n%v\n%v", a, b)
	}
	if len(a) < 5 {
		t.Fatalf("only %d objects: the test needs several partitions and parts", len(a))
	}
	for _, name := range a {
		da, err := stores[0].Get(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		db, err := stores[1].Get(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(da, db) {
			t.Errorf("%s differs between two writes of the same batch", name)
		}
	}
}

func TestOrphanFilesAreNotRead(t *testing.T) {
	mem := memory.NewCheckedAllocator(bufpool.NewPoison())
	defer mem.AssertSize(t, 0)
	ctx := context.Background()
	store := objstore.NewMemory()
	s := newSink(t, store, eventSchema, WithAllocator(mem))
	rec := eventRecord(mem, 0, 25)
	defer rec.Release()
	if err := s.AddBatch(ctx, 0, []arrow.RecordBatch{rec}); err != nil {
		t.Fatal(err)
	}
	good, err := store.Get(ctx, FileName(0, 0, Snappy))
	if err != nil {
		t.Fatal(err)
	}
	// Leftovers of crashed attempts: a valid file of an uncommitted batch
	// and an extra part of a committed one.
	for _, n := range []string{FileName(1, 0, Snappy), FileName(0, 1, Snappy)} {
		if err := store.Put(ctx, n, good); err != nil {
			t.Fatal(err)
		}
	}
	out := readAll(t, store, mem)
	defer releaseAll(out)
	if totalRows(out) != 25 {
		t.Errorf("read %d rows, want the 25 committed ones", totalRows(out))
	}
}

func TestEmptyBatchIsLogged(t *testing.T) {
	mem := memory.NewCheckedAllocator(bufpool.NewPoison())
	defer mem.AssertSize(t, 0)
	ctx := context.Background()
	store := objstore.NewMemory()
	s := newSink(t, store, eventSchema, WithPartitionBy("city"), WithAllocator(mem))
	empty := eventRecord(mem, 0, 0)
	defer empty.Release()
	if err := s.AddBatch(ctx, 0, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.AddBatch(ctx, 1, []arrow.RecordBatch{empty}); err != nil {
		t.Fatal(err)
	}
	entries, err := CommittedBatches(ctx, store)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 2 {
		t.Fatalf("log holds %d entries, want 2", len(entries))
	}
	for i, e := range entries {
		if e.BatchID != int64(i) || len(e.Files) != 0 || len(e.Schema) != eventSchema.NumFields() {
			t.Errorf("entry %d = %+v, want batch %d with no files and the schema", i, e, i)
		}
	}
	if got := dataFiles(t, store); len(got) != 0 {
		t.Errorf("empty batches wrote %v", got)
	}
	if m := s.Metrics(); m["numFiles"] != "0" || m["numRows"] != "0" || m["batchId"] != "1" {
		t.Errorf("Metrics = %v", m)
	}
}

func TestOpenValidation(t *testing.T) {
	ctx := context.Background()
	open := func(schema *arrow.Schema, opts ...Option) error {
		s, err := New(objstore.NewMemory(), opts...)
		if err != nil {
			return err
		}
		return s.Open(ctx, sink.OpenInfo{Schema: schema})
	}
	for _, tc := range []struct {
		name   string
		schema *arrow.Schema
		opts   []Option
		want   []string
	}{
		{"unknown column", eventSchema, []Option{WithPartitionBy("town")}, []string{`"town"`, "id, city, day, n, amount"}},
		{"float column", eventSchema, []Option{WithPartitionBy("amount")}, []string{`"amount"`, "float64", "date32"}},
		{"all columns", arrow.NewSchema([]arrow.Field{{Name: "k", Type: arrow.BinaryTypes.String}}, nil), []Option{WithPartitionBy("k")}, []string{"at least one column"}},
		{"nil schema", nil, nil, []string{"Schema is nil"}},
		{"unwritable type", arrow.NewSchema([]arrow.Field{{Name: "x", Type: arrow.Null}}, nil), nil, []string{"cannot be written as Parquet"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := open(tc.schema, tc.opts...)
			if err == nil {
				t.Fatal("Open succeeded, want an error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			if !strings.HasPrefix(err.Error(), "parquet: ") {
				t.Errorf("error %q lacks the package prefix", err)
			}
		})
	}
}

func TestOptionValidation(t *testing.T) {
	for _, tc := range []struct {
		opt  Option
		want string
	}{
		{WithPartitionBy("a", ""), "WithPartitionBy"},
		{WithPartitionBy("a", "a"), `"a" is listed twice`},
		{WithCompression(Compression(9)), "WithCompression"},
		{WithTargetFileSize(0), "WithTargetFileSize(0)"},
		{WithRowGroupRows(-1), "WithRowGroupRows(-1)"},
		{WithAllocator(nil), "WithAllocator(nil)"},
	} {
		_, err := New(objstore.NewMemory(), tc.opt)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New = %v, want an error naming %s", err, tc.want)
		}
	}
	if _, err := New(nil); err == nil {
		t.Error("New(nil) succeeded")
	}
}

func TestAddBatchErrors(t *testing.T) {
	mem := memory.NewCheckedAllocator(bufpool.NewPoison())
	defer mem.AssertSize(t, 0)
	ctx := context.Background()
	store := objstore.NewMemory()
	s := newSink(t, store, eventSchema, WithAllocator(mem))
	other := allTypesRecord(mem, 0, 3)
	defer other.Release()
	if err := s.AddBatch(ctx, 0, []arrow.RecordBatch{other}); err == nil || !strings.Contains(err.Error(), "schema") {
		t.Errorf("AddBatch with a foreign schema = %v, want a schema error", err)
	}
	if err := s.AddBatch(ctx, -1, nil); err == nil || !strings.Contains(err.Error(), "negative") {
		t.Errorf("AddBatch(-1) = %v", err)
	}
	if got := mustList(t, store, ""); len(got) != 0 {
		t.Errorf("failed batches wrote %v", got)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	rec := eventRecord(mem, 0, 5)
	defer rec.Release()
	if err := s.AddBatch(cctx, 0, []arrow.RecordBatch{rec}); !errors.Is(err, context.Canceled) {
		t.Errorf("AddBatch with a cancelled context = %v, want context.Canceled", err)
	}
}

func TestSinkWithoutOpenUsesRecordSchema(t *testing.T) {
	mem := memory.NewCheckedAllocator(bufpool.NewPoison())
	defer mem.AssertSize(t, 0)
	ctx := context.Background()
	store := objstore.NewMemory()
	s, err := New(store, WithPartitionBy("day"), WithAllocator(mem))
	if err != nil {
		t.Fatal(err)
	}
	rec := eventRecord(mem, 0, 30)
	defer rec.Release()
	if err := s.AddBatch(ctx, 0, []arrow.RecordBatch{rec}); err != nil {
		t.Fatal(err)
	}
	out := readAll(t, store, mem)
	defer releaseAll(out)
	if got, want := sortedRows(out), sortedRows([]arrow.RecordBatch{rec}); !slices.Equal(got, want) {
		t.Errorf("rows differ")
	}
}

func TestDescriptionAndMetrics(t *testing.T) {
	store := objstore.NewMemory()
	s, err := New(store, WithPartitionBy("day", "n"), WithCompression(Zstd))
	if err != nil {
		t.Fatal(err)
	}
	d := s.Description()
	for _, w := range []string{"parquet", "zstd", "day,n", objstore.Location(store)} {
		if !strings.Contains(d, w) {
			t.Errorf("Description %q lacks %q", d, w)
		}
	}
	if m := s.Metrics(); len(m) != 1 || m["skippedReplays"] != "0" {
		t.Errorf("Metrics before any batch = %v", m)
	}
}

func TestParseCompression(t *testing.T) {
	for in, want := range map[string]Compression{"snappy": Snappy, "ZSTD": Zstd, " none ": None, "uncompressed": None} {
		got, err := ParseCompression(in)
		if err != nil || got != want {
			t.Errorf("ParseCompression(%q) = %v, %v; want %v", in, got, err, want)
		}
		if again, err := ParseCompression(got.String()); err != nil || again != got {
			t.Errorf("ParseCompression(%q.String()) = %v, %v", in, again, err)
		}
	}
	if _, err := ParseCompression("gzip"); err == nil || !strings.Contains(err.Error(), "snappy, zstd or none") {
		t.Errorf("ParseCompression(gzip) = %v, want an error listing the codecs", err)
	}
}

func TestEscapePartitionValue(t *testing.T) {
	for in, want := range map[string]string{
		"plain":           "plain",
		"":                DefaultPartition,
		"a/b":             "a%2Fb",
		"k=v":             "k%3Dv",
		"100%":            "100%25",
		"tab\there":       "tab%09here",
		`q"#'*:?\{[]^`:    "q%22%23%27%2A%3A%3F%5C%7B%5B%5D%5E",
		"del\x7f":         "del%7F",
		"space ok, ünï":   "space ok, ünï",
		"..":              "..",
		"2026-01-01 10:0": "2026-01-01 10%3A0",
	} {
		if got := EscapePartitionValue(in); got != want {
			t.Errorf("EscapePartitionValue(%q) = %q, want %q", in, got, want)
		}
		if in != "" {
			if back := UnescapePartitionValue(want); back != in {
				t.Errorf("UnescapePartitionValue(%q) = %q, want %q", want, back, in)
			}
		}
	}
	var all []byte
	for b := 1; b < 256; b++ {
		all = append(all, byte(b))
	}
	esc := EscapePartitionValue(string(all))
	if strings.ContainsAny(esc, "/=\x00\n") {
		t.Errorf("escaped value %q still holds a separator", esc)
	}
	if back := UnescapePartitionValue(esc); back != string(all) {
		t.Errorf("round trip of all bytes failed")
	}
	if got := UnescapePartitionValue("50%zz%4"); got != "50%zz%4" {
		t.Errorf("UnescapePartitionValue kept bad escapes as %q", got)
	}
}

func TestReadCommittedDetectsDamage(t *testing.T) {
	mem := memory.NewCheckedAllocator(bufpool.NewPoison())
	defer mem.AssertSize(t, 0)
	ctx := context.Background()
	store := objstore.NewMemory()
	s := newSink(t, store, eventSchema, WithAllocator(mem))
	rec := eventRecord(mem, 0, 25)
	defer rec.Release()
	for id := range int64(2) {
		if err := s.AddBatch(ctx, id, []arrow.RecordBatch{rec}); err != nil {
			t.Fatal(err)
		}
	}
	name := FileName(1, 0, Snappy)
	if err := store.Put(ctx, name, []byte("PAR1 truncated")); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadCommitted(ctx, store, mem); err == nil || !strings.Contains(err.Error(), name) {
		t.Errorf("ReadCommitted over an overwritten file = %v, want an error naming %s", err, name)
	}
	if err := store.Delete(ctx, name); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadCommitted(ctx, store, mem); err == nil || !strings.Contains(err.Error(), "deleted") {
		t.Errorf("ReadCommitted over a deleted file = %v, want an error saying it was deleted", err)
	}
}

func TestPartitionedAllTypes(t *testing.T) {
	mem := memory.NewCheckedAllocator(bufpool.NewPoison())
	defer mem.AssertSize(t, 0)
	ctx := context.Background()
	store := objstore.NewMemory()
	// Partitioning by a bool with nulls splits every record, so every
	// column type goes through the take kernel.
	s := newSink(t, store, allTypesSchema, WithPartitionBy("b"), WithAllocator(mem))
	in := []arrow.RecordBatch{allTypesRecord(mem, 0, 300), allTypesRecord(mem, 300, 300)}
	defer releaseAll(in)
	if err := s.AddBatch(ctx, 0, in); err != nil {
		t.Fatal(err)
	}
	files, err := CommittedFiles(ctx, store)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"b=__HIVE_DEFAULT_PARTITION__/part-00000000000000000000-00000.snappy.parquet",
		"b=false/part-00000000000000000000-00001.snappy.parquet",
		"b=true/part-00000000000000000000-00002.snappy.parquet",
	}
	if got := filePaths(files); !slices.Equal(got, want) {
		t.Fatalf("files = %v, want %v", got, want)
	}
	out := readAll(t, store, mem)
	defer releaseAll(out)
	if got, want := sortedRows(out), sortedRows(in); !slices.Equal(got, want) {
		t.Errorf("rows differ: got %d, want %d", len(got), len(want))
	}
}

func TestMetricsDuringAddBatch(t *testing.T) {
	mem := memory.NewCheckedAllocator(bufpool.NewPoison())
	defer mem.AssertSize(t, 0)
	ctx := context.Background()
	s := newSink(t, objstore.NewMemory(), eventSchema, WithPartitionBy("city"), WithAllocator(mem))
	rec := eventRecord(mem, 0, 100)
	defer rec.Release()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for id := range int64(20) {
			if err := s.AddBatch(ctx, id, []arrow.RecordBatch{rec}); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	for {
		select {
		case <-done:
			if m := s.Metrics(); m["batchId"] != "19" || m["numRows"] != "100" {
				t.Errorf("Metrics after 20 batches = %v", m)
			}
			return
		default:
			_ = s.Metrics()
			_ = s.Description()
		}
	}
}
