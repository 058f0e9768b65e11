package table_test

import (
	"bytes"
	"context"
	"fmt"
	"net/url"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/sluicehq/sluice/bufpool"
	"github.com/sluicehq/sluice/decode"
	"github.com/sluicehq/sluice/internal/arrowrows"
	"github.com/sluicehq/sluice/internal/testservices"
	"github.com/sluicehq/sluice/objstore"
	_ "github.com/sluicehq/sluice/objstore/s3"
	"github.com/sluicehq/sluice/sink"
	pqsink "github.com/sluicehq/sluice/sink/parquet"
	"github.com/sluicehq/sluice/table"
)

var refSchema = arrow.NewSchema([]arrow.Field{
	{Name: "id", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: "name", Type: arrow.BinaryTypes.String, Nullable: true},
}, nil)

func build(t testing.TB, mem memory.Allocator, rows ...[]any) arrow.RecordBatch {
	t.Helper()
	rec, err := arrowrows.Build(mem, refSchema, rows)
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

// parquetBytes writes rows as one Parquet file.
func parquetBytes(t testing.TB, rows ...[]any) []byte {
	t.Helper()
	rec := build(t, memory.DefaultAllocator, rows...)
	defer rec.Release()
	var buf bytes.Buffer
	w, err := pqarrow.NewFileWriter(refSchema, &buf, nil, pqarrow.DefaultWriterProps())
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// loadRows loads src and returns its rows and version.
func loadRows(t *testing.T, src table.Source) ([][]any, table.Version) {
	t.Helper()
	tbl, v, err := src.Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer tbl.Release()
	if !tbl.Schema().Equal(src.Schema()) {
		t.Fatalf("loaded schema %s, source says %s", tbl.Schema(), src.Schema())
	}
	rows := arrowrows.RowsOf(tbl.Records())
	if int64(len(rows)) != tbl.NumRows() {
		t.Fatalf("NumRows %d, records hold %d", tbl.NumRows(), len(rows))
	}
	return rows, v
}

func changed(t *testing.T, src table.Source, v table.Version) bool {
	t.Helper()
	c, err := src.Changed(context.Background(), v)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestFromRecords(t *testing.T) {
	mem := memory.NewCheckedAllocator(bufpool.NewPoison())
	defer mem.AssertSize(t, 0)
	rec := build(t, mem, []any{int64(1), "a"}, []any{nil, "b"})
	tbl, err := table.FromRecords(refSchema, rec)
	rec.Release()
	if err != nil {
		t.Fatal(err)
	}
	rows, v := loadRows(t, tbl)
	if want := [][]any{{int64(1), "a"}, {nil, "b"}}; !reflect.DeepEqual(rows, want) {
		t.Fatalf("rows %v, want %v", rows, want)
	}
	if changed(t, tbl, v) {
		t.Fatal("an in-memory table changed")
	}
	tbl.Release()

	other := arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int32}}, nil)
	bad := build(t, mem, []any{int64(1), "a"})
	defer bad.Release()
	if _, err := table.FromRecords(other, bad); err == nil || !strings.Contains(err.Error(), "record 0") {
		t.Fatalf("a record of another schema: %v", err)
	}
	if _, err := table.FromRecords(nil); err == nil {
		t.Fatal("a nil schema was accepted")
	}
}

func TestParquetDirectory(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	dir, err := objstore.NewDir(root)
	if err != nil {
		t.Fatal(err)
	}
	mem := memory.NewCheckedAllocator(bufpool.NewPoison())
	defer mem.AssertSize(t, 0)
	put := func(name string, data []byte) {
		t.Helper()
		if err := dir.Put(ctx, name, data); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := table.Parquet(ctx, dir, "ref"); err == nil || !strings.Contains(err.Error(), "WithSchema") {
		t.Fatalf("an empty folder without a schema: %v", err)
	}
	put("ref/b.parquet", parquetBytes(t, []any{int64(2), "two"}))
	put("ref/a.parquet", parquetBytes(t, []any{int64(1), "one"}))
	put("ref/_tmp/x.parquet", parquetBytes(t, []any{int64(9), "hidden"}))
	put("ref/.y.parquet", parquetBytes(t, []any{int64(9), "hidden"}))
	put("ref/notes.txt", []byte("not data"))
	put("other/c.parquet", parquetBytes(t, []any{int64(3), "elsewhere"}))

	src, err := table.Parquet(ctx, dir, "ref", table.WithAllocator(mem))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(src.String(), "Parquet table") || !strings.HasSuffix(src.String(), "/ref") {
		t.Errorf("String %q", src.String())
	}
	rows, v := loadRows(t, src)
	if want := [][]any{{int64(1), "one"}, {int64(2), "two"}}; !reflect.DeepEqual(rows, want) {
		t.Fatalf("rows %v, want %v (files in name order, hidden ones skipped)", rows, want)
	}
	if changed(t, src, v) {
		t.Fatal("changed without a change")
	}
	put("ref/notes.txt", []byte("still not data"))
	if changed(t, src, v) {
		t.Fatal("a file that is not data counted as a change")
	}
	// Rewriting a file in place, with other bytes, is a change.
	time.Sleep(10 * time.Millisecond)
	put("ref/b.parquet", parquetBytes(t, []any{int64(2), "TWO"}, []any{int64(4), "four"}))
	if !changed(t, src, v) {
		t.Fatal("a rewritten file was not seen")
	}
	rows, v = loadRows(t, src)
	if want := [][]any{{int64(1), "one"}, {int64(2), "TWO"}, {int64(4), "four"}}; !reflect.DeepEqual(rows, want) {
		t.Fatalf("after the rewrite: rows %v, want %v", rows, want)
	}
	if err := dir.Delete(ctx, "ref/a.parquet"); err != nil {
		t.Fatal(err)
	}
	if !changed(t, src, v) {
		t.Fatal("a deleted file was not seen")
	}
	// A file of another schema is refused, naming it.
	other := arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.BinaryTypes.String}}, nil)
	var buf bytes.Buffer
	w, _ := pqarrow.NewFileWriter(other, &buf, nil, pqarrow.DefaultWriterProps())
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	put("ref/z.parquet", buf.Bytes())
	if _, _, err := src.Load(ctx); err == nil || !strings.Contains(err.Error(), "z.parquet") {
		t.Fatalf("a file of another schema: %v", err)
	}

	// OpenParquet takes a location.
	byLoc, err := table.OpenParquet(ctx, filepath.Join(root, "other"))
	if err != nil {
		t.Fatal(err)
	}
	if rows, _ := loadRows(t, byLoc); len(rows) != 1 || rows[0][1] != "elsewhere" {
		t.Fatalf("OpenParquet rows %v", rows)
	}
	if _, err := table.Parquet(ctx, dir, "ref", table.WithHeader(true)); err == nil || !strings.Contains(err.Error(), "CSV option") {
		t.Fatalf("a CSV option for Parquet: %v", err)
	}
}

func TestParquetSinkLog(t *testing.T) {
	ctx := context.Background()
	store := objstore.NewMemory()
	mem := memory.NewCheckedAllocator(bufpool.NewPoison())
	defer mem.AssertSize(t, 0)
	s, err := pqsink.New(objstore.Prefixed(store, "ref"))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Open(ctx, sink.OpenInfo{QueryID: "q", Schema: refSchema, OutputMode: "append"}); err != nil {
		t.Fatal(err)
	}
	add := func(id int64, rows ...[]any) {
		rec := build(t, mem, rows...)
		defer rec.Release()
		if err := s.AddBatch(ctx, id, []arrow.RecordBatch{rec}); err != nil {
			t.Fatal(err)
		}
	}
	add(0, []any{int64(1), "one"})
	// A file of a batch that crashed before its commit: never read.
	if err := store.Put(ctx, "ref/part-00000000000000000001-00000.parquet", parquetBytes(t, []any{int64(666), "uncommitted"})); err != nil {
		t.Fatal(err)
	}
	src, err := table.Parquet(ctx, store, "ref", table.WithAllocator(mem))
	if err != nil {
		t.Fatal(err)
	}
	rows, v := loadRows(t, src)
	if want := [][]any{{int64(1), "one"}}; !reflect.DeepEqual(rows, want) {
		t.Fatalf("rows %v, want only the committed %v", rows, want)
	}
	if changed(t, src, v) {
		t.Fatal("changed without a new batch")
	}
	add(1, []any{int64(2), "two"})
	if !changed(t, src, v) {
		t.Fatal("a new committed batch was not seen")
	}
	rows, _ = loadRows(t, src)
	if want := [][]any{{int64(1), "one"}, {int64(2), "two"}}; !reflect.DeepEqual(rows, want) {
		t.Fatalf("rows %v, want %v", rows, want)
	}
}

func TestCSV(t *testing.T) {
	ctx := context.Background()
	store := objstore.NewMemory()
	mem := memory.NewCheckedAllocator(bufpool.NewPoison())
	defer mem.AssertSize(t, 0)
	put := func(name, data string) {
		t.Helper()
		if err := store.Put(ctx, name, []byte(data)); err != nil {
			t.Fatal(err)
		}
	}
	put("ref/1.csv", "id;name\r\n1;one\r\n\r\n2;\"two;\nlines\"\n3;NULL\n")
	put("ref/2.csv", "id;name\n4;four")
	src, err := table.CSV(ctx, store, "ref", refSchema, table.WithHeader(true), table.WithDelimiter(';'), table.WithNullValue("NULL"), table.WithAllocator(mem))
	if err != nil {
		t.Fatal(err)
	}
	rows, v := loadRows(t, src)
	want := [][]any{{int64(1), "one"}, {int64(2), "two;\nlines"}, {int64(3), nil}, {int64(4), "four"}}
	if !reflect.DeepEqual(rows, want) {
		t.Fatalf("rows %q, want %q", rows, want)
	}
	if changed(t, src, v) {
		t.Fatal("changed without a change")
	}
	// Same name, other bytes: a memory store is read and hashed.
	put("ref/2.csv", "id;name\n4;FOUR")
	if !changed(t, src, v) {
		t.Fatal("a rewritten file was not seen")
	}
	byNames, err := table.CSV(ctx, store, "ref", refSchema, table.WithHeader(true), table.WithDelimiter(';'), table.WithChangeByNames())
	if err != nil {
		t.Fatal(err)
	}
	_, v2 := loadRows(t, byNames)
	put("ref/2.csv", "id;name\n4;four")
	if changed(t, byNames, v2) {
		t.Fatal("WithChangeByNames read the files")
	}
	put("ref/3.csv", "id;name\n5;five")
	if !changed(t, byNames, v2) {
		t.Fatal("a new file was not seen")
	}

	put("ref/4.csv", "id;name\n6;six\nseven;7\n")
	_, _, err = src.Load(ctx)
	if err == nil || !strings.Contains(err.Error(), "4.csv") || !strings.Contains(err.Error(), "line 3") {
		t.Fatalf("a malformed line: %v", err)
	}
	lenient, err := table.CSV(ctx, store, "ref", refSchema, table.WithHeader(true), table.WithDelimiter(';'), table.WithDecodeOptions(decode.WithMode(decode.DropMalformed)))
	if err != nil {
		t.Fatal(err)
	}
	if rows, _ := loadRows(t, lenient); len(rows) != 6 {
		t.Fatalf("DropMalformed: %d rows, want 6: %v", len(rows), rows)
	}
	put("ref/4.csv", "ident;name\n6;six\n")
	if _, _, err := src.Load(ctx); err == nil || !strings.Contains(err.Error(), "the header names the columns ident, name") {
		t.Fatalf("a wrong header: %v", err)
	}
}

// TestParquetOnS3 reads a Parquet table from MinIO by location and sees
// a new file.
func TestParquetOnS3(t *testing.T) {
	ctx := context.Background()
	ep := testservices.MinIO(t)
	bucket := testservices.NewBucket(t, ep)
	t.Setenv("AWS_ACCESS_KEY_ID", ep.AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", ep.SecretKey)
	loc := fmt.Sprintf("s3://%s/ref?endpoint=%s&region=%s", bucket, url.QueryEscape(ep.URL()), url.QueryEscape(ep.Region))
	st, err := objstore.Open(ctx, loc)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Put(ctx, "a.parquet", parquetBytes(t, []any{int64(1), "one"})); err != nil {
		t.Fatal(err)
	}
	src, err := table.OpenParquet(ctx, loc)
	if err != nil {
		t.Fatal(err)
	}
	rows, v := loadRows(t, src)
	if want := [][]any{{int64(1), "one"}}; !reflect.DeepEqual(rows, want) {
		t.Fatalf("rows %v, want %v", rows, want)
	}
	if changed(t, src, v) {
		t.Fatal("changed without a change")
	}
	if err := st.Put(ctx, "a.parquet", parquetBytes(t, []any{int64(1), "uno"})); err != nil {
		t.Fatal(err)
	}
	if !changed(t, src, v) {
		t.Fatal("a rewritten object was not seen")
	}
	if rows, _ := loadRows(t, src); rows[0][1] != "uno" {
		t.Fatalf("rows %v", rows)
	}
}
