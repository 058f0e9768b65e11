package parquet

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/objstore"
	"github.com/sluicehq/sluice/sink"
)

// newSink creates and opens a sink for schema, failing the test on error.
func newSink(t testing.TB, store objstore.Store, schema *arrow.Schema, opts ...Option) *Sink {
	t.Helper()
	s, err := New(store, opts...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if err := s.Open(context.Background(), sink.OpenInfo{QueryID: "q", Schema: schema, OutputMode: "append"}); err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

// rowStrings renders every row of recs as "v1|v2|...", in order.
func rowStrings(recs []arrow.RecordBatch) []string {
	var rows []string
	for _, r := range recs {
		for i := 0; i < int(r.NumRows()); i++ {
			var sb strings.Builder
			for c, col := range r.Columns() {
				if c > 0 {
					sb.WriteByte('|')
				}
				if col.IsNull(i) {
					sb.WriteString("<null>")
				} else {
					sb.WriteString(col.ValueStr(i))
				}
			}
			rows = append(rows, sb.String())
		}
	}
	return rows
}

func sortedRows(recs []arrow.RecordBatch) []string {
	rows := rowStrings(recs)
	slices.Sort(rows)
	return rows
}

func releaseAll(recs []arrow.RecordBatch) {
	for _, r := range recs {
		r.Release()
	}
}

func readAll(t testing.TB, store objstore.Store, mem memory.Allocator) []arrow.RecordBatch {
	t.Helper()
	recs, err := ReadCommitted(context.Background(), store, mem)
	if err != nil {
		t.Fatalf("ReadCommitted: %v", err)
	}
	return recs
}

func totalRows(recs []arrow.RecordBatch) int64 {
	var n int64
	for _, r := range recs {
		n += r.NumRows()
	}
	return n
}

// eventSchema is a small schema for partitioning tests.
var eventSchema = arrow.NewSchema([]arrow.Field{
	{Name: "id", Type: arrow.PrimitiveTypes.Int64},
	{Name: "city", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "day", Type: arrow.FixedWidthTypes.Date32, Nullable: true},
	{Name: "n", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
	{Name: "amount", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
}, nil)

// eventRecord returns rows [from, to) of a deterministic event stream;
// cities cycle through values that need escaping, an empty string and a
// null. The caller releases the record.
func eventRecord(mem memory.Allocator, from, to int) arrow.RecordBatch {
	cities := []string{"Amsterdam", "a/b", "x=y", "50%", "", "", "Zürich"}
	b := array.NewRecordBuilder(mem, eventSchema)
	defer b.Release()
	for i := from; i < to; i++ {
		b.Field(0).(*array.Int64Builder).Append(int64(i))
		c := cities[i%len(cities)]
		if i%len(cities) == 5 {
			b.Field(1).AppendNull()
		} else {
			b.Field(1).(*array.StringBuilder).Append(c)
		}
		if i%11 == 10 {
			b.Field(2).AppendNull()
		} else {
			b.Field(2).(*array.Date32Builder).Append(arrow.Date32(20454 + i%3)) // 2026-01-01..03
		}
		if i%13 == 12 {
			b.Field(3).AppendNull()
		} else {
			b.Field(3).(*array.Int32Builder).Append(int32(i%4 - 1))
		}
		b.Field(4).(*array.Float64Builder).Append(float64(i) * 0.5)
	}
	return b.NewRecordBatch()
}

// expectRows renders the rows of recs with empty strings shown as null, as
// a partition column reads back.
func expectRows(recs []arrow.RecordBatch, emptyIsNull bool) []string {
	rows := sortedRows(recs)
	if !emptyIsNull {
		return rows
	}
	out := make([]string, len(rows))
	for i, r := range rows {
		parts := strings.Split(r, "|")
		if parts[1] == "" {
			parts[1] = "<null>"
		}
		out[i] = strings.Join(parts, "|")
	}
	slices.Sort(out)
	return out
}

func mustList(t testing.TB, store objstore.Store, prefix string) []string {
	t.Helper()
	names, err := store.List(context.Background(), prefix)
	if err != nil {
		t.Fatalf("List(%q): %v", prefix, err)
	}
	return names
}

func dataFiles(t testing.TB, store objstore.Store) []string {
	var out []string
	for _, n := range mustList(t, store, "") {
		if !strings.HasPrefix(n, LogDir+"/") {
			out = append(out, n)
		}
	}
	return out
}

func filePaths(files []FileEntry) []string {
	out := make([]string, len(files))
	for i, f := range files {
		out[i] = f.Path
	}
	return out
}

func fmtFiles(files []FileEntry) string {
	var sb strings.Builder
	for _, f := range files {
		fmt.Fprintf(&sb, "%s rows=%d\n", f.Path, f.Rows)
	}
	return sb.String()
}
