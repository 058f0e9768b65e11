package console

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/bufpool"
	"github.com/sluicehq/sluice/internal/arrowrows"
	"github.com/sluicehq/sluice/sink"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

var rateSchema = arrow.NewSchema([]arrow.Field{
	{Name: "timestamp", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}},
	{Name: "value", Type: arrow.PrimitiveTypes.Int64},
}, nil)

var mixedSchema = arrow.NewSchema([]arrow.Field{
	{Name: "id", Type: arrow.PrimitiveTypes.Int64},
	{Name: "a_rather_long_column_name", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "price", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	{Name: "ok", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
}, nil)

func build(t *testing.T, mem memory.Allocator, schema *arrow.Schema, rows [][]any) arrow.RecordBatch {
	t.Helper()
	rec, err := arrowrows.Build(mem, schema, rows)
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

func addBatch(t *testing.T, s *Sink, id int64, recs ...arrow.RecordBatch) {
	t.Helper()
	if err := s.AddBatch(context.Background(), id, recs); err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		r.Release()
	}
}

func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("output differs from %s:\n--- got ---\n%s\n--- want ---\n%s", path, got, want)
	}
}

// The rate source's rows in two records, more than the rows shown; a
// replay; an empty batch; a small batch.
func TestGoldenRate(t *testing.T) {
	mem := memory.NewCheckedAllocator(bufpool.NewPoison())
	defer mem.AssertSize(t, 0)
	var out bytes.Buffer
	s := New(&out)
	if err := s.Open(context.Background(), sink.OpenInfo{Schema: rateSchema, OutputMode: "append"}); err != nil {
		t.Fatal(err)
	}
	var rows [][]any
	for i := range int64(25) {
		rows = append(rows, []any{t0.Add(time.Duration(i) * time.Second), i})
	}
	addBatch(t, s, 3, build(t, mem, rateSchema, rows[:15]), build(t, mem, rateSchema, rows[15:]))
	n := out.Len()
	addBatch(t, s, 3, build(t, mem, rateSchema, rows[:1])) // replay: skipped
	addBatch(t, s, 2, build(t, mem, rateSchema, rows[:1])) // older: skipped
	if out.Len() != n {
		t.Fatalf("a replayed batch was printed:\n%s", out.Bytes()[n:])
	}
	addBatch(t, s, 4)
	addBatch(t, s, 5, build(t, mem, rateSchema, rows[:1]))
	checkGolden(t, "rate.golden", out.Bytes())
}

// Truncation, nulls, escapes, a wide column name and multi-byte text.
func TestGoldenMixed(t *testing.T) {
	mem := memory.NewCheckedAllocator(bufpool.NewPoison())
	defer mem.AssertSize(t, 0)
	rows := [][]any{
		{1, "short", 9.5, true},
		{2, "exactly twenty chars", nil, false},
		{3, "twenty-one characters", 1e21, nil},
		{4, "line one\nline two", -0.25, true},
		{5, "héllo wörld, ünïcode, cut", 0.1, true},
		{6, nil, 3.0, false},
	}
	var out bytes.Buffer
	addBatch(t, New(&out, WithNumRows(5)), 0, build(t, mem, mixedSchema, rows))
	addBatch(t, New(&out, WithTruncate(0), WithNumRows(1)), 1, build(t, mem, mixedSchema, rows[2:4]))
	addBatch(t, New(&out, WithTruncate(3)), 2, build(t, mem, mixedSchema, rows[:2]))
	// No Open and no records: nothing to take columns from.
	addBatch(t, New(&out), 3)
	checkGolden(t, "mixed.golden", out.Bytes())
}

func TestSpecExample(t *testing.T) {
	mem := memory.NewCheckedAllocator(bufpool.NewPoison())
	defer mem.AssertSize(t, 0)
	var out bytes.Buffer
	addBatch(t, New(&out, WithNumRows(1)), 3, build(t, mem, rateSchema, [][]any{{t0, 0}, {t0.Add(time.Second), 1}}))
	want := `-------------------------------------------
Batch: 3
-------------------------------------------
+-------------------+-----+
|timestamp          |value|
+-------------------+-----+
|2026-01-01 00:00:00|0    |
+-------------------+-----+
only showing top 1 row

`
	if out.String() != want {
		t.Fatalf("got\n%s\nwant\n%s", out.String(), want)
	}
}

func TestBadOptions(t *testing.T) {
	for _, tc := range []struct {
		s    *Sink
		want string
	}{
		{New(&bytes.Buffer{}, WithNumRows(0)), "console: WithNumRows(0)"},
		{New(&bytes.Buffer{}, WithTruncate(-1)), "console: WithTruncate(-1)"},
		{New(nil), "console: New(nil writer)"},
	} {
		if err := tc.s.Open(context.Background(), sink.OpenInfo{}); err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("Open: error %v, want one starting %q", err, tc.want)
		}
		if err := tc.s.AddBatch(context.Background(), 0, nil); err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("AddBatch: error %v, want one starting %q", err, tc.want)
		}
	}
}

type failingWriter struct{ err error }

func (w failingWriter) Write([]byte) (int, error) { return 0, w.err }

func TestWriteErrorIsReportedAndRetried(t *testing.T) {
	boom := errors.New("broken pipe")
	w := &switchWriter{w: failingWriter{boom}}
	s := New(w)
	err := s.AddBatch(context.Background(), 7, nil)
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), "console: printing batch 7") {
		t.Fatalf("AddBatch on a failing writer: error %v", err)
	}
	// The failed batch was not printed, so its retry prints it.
	var out bytes.Buffer
	w.w = &out
	if err := s.AddBatch(context.Background(), 7, nil); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "Batch: 7") {
		t.Fatalf("retry of batch 7 printed %q", out.String())
	}
	if s.Description() != "ConsoleSink" {
		t.Fatalf("Description() = %q", s.Description())
	}
}

type switchWriter struct {
	w interface{ Write([]byte) (int, error) }
}

func (s *switchWriter) Write(p []byte) (int, error) { return s.w.Write(p) }
