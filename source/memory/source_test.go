package memory

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/bufpool"
	"github.com/sluicehq/sluice/internal/arrowrows"
	"github.com/sluicehq/sluice/source"
)

var schema = arrow.NewSchema([]arrow.Field{
	{Name: "id", Type: arrow.PrimitiveTypes.Int64},
	{Name: "name", Type: arrow.BinaryTypes.String, Nullable: true},
}, nil)

// rangeRecord builds a record of ids [from, to) named "n<id>".
func rangeRecord(t *testing.T, mem memory.Allocator, from, to int64) arrow.RecordBatch {
	t.Helper()
	var rows [][]any
	for i := from; i < to; i++ {
		rows = append(rows, []any{i, fmt.Sprintf("n%d", i)})
	}
	rec, err := arrowrows.Build(mem, schema, rows)
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

// readRows reads (start, end] and returns the rows, releasing the records.
func readRows(t *testing.T, s *Source, start, end source.Offset) [][]any {
	t.Helper()
	recs, err := s.Read(context.Background(), start, end, memory.DefaultAllocator)
	if err != nil {
		t.Fatal(err)
	}
	rows := arrowrows.RowsOf(recs)
	for _, r := range recs {
		r.Release()
	}
	return rows
}

func latest(t *testing.T, s *Source, start source.Offset, limit source.ReadLimit) string {
	t.Helper()
	off, err := s.LatestOffset(context.Background(), start, limit)
	if err != nil {
		t.Fatal(err)
	}
	return string(off)
}

func TestAddReadOwnership(t *testing.T) {
	mem := memory.NewCheckedAllocator(bufpool.NewPoison())
	defer mem.AssertSize(t, 0)
	s := New(schema, WithAllocator(mem))

	// Nothing new: the start itself, so a driver sees no data.
	if got := latest(t, s, nil, source.ReadAll); got != "" {
		t.Fatalf("empty source: LatestOffset = %s, want the nil start", got)
	}
	rec := rangeRecord(t, mem, 0, 3)
	if off := s.Add(rec); string(off) != `{"batch":1}` {
		t.Fatalf("Add returned %s, want {\"batch\":1}", off)
	}
	rec.Release() // the source keeps its own reference
	off, err := s.AddRows([]any{int64(3), nil}, []any{4, "four"})
	if err != nil {
		t.Fatal(err)
	}
	if string(off) != `{"batch":2}` {
		t.Fatalf("AddRows returned %s, want {\"batch\":2}", off)
	}

	end := latest(t, s, nil, source.ReadAll)
	if end != `{"batch":2}` {
		t.Fatalf("LatestOffset = %s, want {\"batch\":2}", end)
	}
	want := [][]any{{int64(0), "n0"}, {int64(1), "n1"}, {int64(2), "n2"}, {int64(3), nil}, {int64(4), "four"}}
	if got := readRows(t, s, nil, source.Offset(end)); !reflect.DeepEqual(got, want) {
		t.Fatalf("Read(nil, %s) = %v, want %v", end, got, want)
	}
	// The same range again gives the same rows; a sub-range gives its part.
	if got := readRows(t, s, nil, source.Offset(end)); !reflect.DeepEqual(got, want) {
		t.Fatalf("second Read = %v, want %v", got, want)
	}
	if got := readRows(t, s, source.Offset(`{"batch":1}`), source.Offset(end)); !reflect.DeepEqual(got, want[3:]) {
		t.Fatalf("Read(1, 2) = %v, want %v", got, want[3:])
	}
	if got := readRows(t, s, source.Offset(end), source.Offset(end)); len(got) != 0 {
		t.Fatalf("Read of an empty range = %v, want nothing", got)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestLatestOffsetReadLimit(t *testing.T) {
	mem := memory.NewCheckedAllocator(bufpool.NewPoison())
	defer mem.AssertSize(t, 0)
	s := New(schema)
	defer s.Close()
	// Records of 3, 5, 1 and 10 rows.
	var from int64
	for _, n := range []int64{3, 5, 1, 10} {
		rec := rangeRecord(t, mem, from, from+n)
		s.Add(rec)
		rec.Release()
		from += n
	}
	for _, tc := range []struct {
		start string
		limit int64
		want  string
	}{
		{"", 0, `{"batch":4}`},
		{"", 100, `{"batch":4}`},
		{"", 8, `{"batch":2}`},            // 3+5 fits exactly
		{"", 7, `{"batch":1}`},            // 3 fits, 3+5 does not
		{"", 2, `{"batch":1}`},            // the first record alone is over the cap: it still goes
		{`{"batch":1}`, 6, `{"batch":3}`}, // 5+1
		{`{"batch":3}`, 1, `{"batch":4}`}, // 10 rows alone
		{`{"batch":4}`, 1, `{"batch":4}`}, // nothing new
	} {
		var start source.Offset
		if tc.start != "" {
			start = source.Offset(tc.start)
		}
		if got := latest(t, s, start, source.MaxRows(tc.limit)); got != tc.want {
			t.Errorf("LatestOffset(%s, MaxRows(%d)) = %s, want %s", tc.start, tc.limit, got, tc.want)
		}
	}
}

func TestAvailableNowCap(t *testing.T) {
	mem := memory.NewCheckedAllocator(bufpool.NewPoison())
	defer mem.AssertSize(t, 0)
	s := New(schema, WithAllocator(mem))
	defer s.Close()
	for i := range int64(2) {
		if _, err := s.AddRows([]any{i, nil}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.PrepareForAvailableNow(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddRows([]any{int64(2), nil}); err != nil {
		t.Fatal(err)
	}
	if got := latest(t, s, nil, source.ReadAll); got != `{"batch":2}` {
		t.Fatalf("after PrepareForAvailableNow: LatestOffset = %s, want {\"batch\":2}", got)
	}
	if got := latest(t, s, source.Offset(`{"batch":2}`), source.ReadAll); got != `{"batch":2}` {
		t.Fatalf("at the cap: LatestOffset = %s, want no new data", got)
	}
	// The record added after the cap is still readable by offset.
	if got := readRows(t, s, source.Offset(`{"batch":2}`), source.Offset(`{"batch":3}`)); !reflect.DeepEqual(got, [][]any{{int64(2), nil}}) {
		t.Fatalf("Read past the cap = %v", got)
	}
}

func TestSchemaMismatch(t *testing.T) {
	mem := memory.NewCheckedAllocator(bufpool.NewPoison())
	defer mem.AssertSize(t, 0)
	s := New(schema, WithAllocator(mem))
	defer s.Close()

	other := arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int32}}, nil)
	rec, err := arrowrows.Build(mem, other, [][]any{{1}})
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Release()
	func() {
		defer func() {
			r := recover()
			msg, _ := r.(string)
			if !strings.HasPrefix(msg, "memory: Add: record 0 has schema") || !strings.Contains(msg, "int32") {
				t.Fatalf("Add of a mismatched record: recovered %v, want a panic naming the schemas", r)
			}
		}()
		s.Add(rec)
	}()

	if _, err := s.AddRows([]any{"x", "y"}); err == nil || !strings.Contains(err.Error(), `memory: AddRows: arrowrows: row 0 field "id"`) {
		t.Fatalf("AddRows of a string id: error %v, want one naming the row and field", err)
	}
	if got := latest(t, s, nil, source.ReadAll); got != "" {
		t.Fatalf("failed adds changed the offset to %s", got)
	}
}

func TestBadOffsets(t *testing.T) {
	s := New(schema)
	defer s.Close()
	ctx := context.Background()
	for _, off := range []string{`{"row":1}`, `{"batch":-1}`, `[1]`, `{}`} {
		if _, err := s.LatestOffset(ctx, source.Offset(off), source.ReadAll); err == nil || !strings.Contains(err.Error(), "memory: bad offset") {
			t.Errorf("LatestOffset(%s): error %v, want a bad offset error", off, err)
		}
	}
	if _, err := s.LatestOffset(ctx, source.Offset(`{"batch":3}`), source.ReadAll); err == nil || !strings.Contains(err.Error(), "beyond the 0 records") {
		t.Errorf("LatestOffset beyond the records: error %v", err)
	}
	if _, err := s.Read(ctx, nil, source.Offset(`{"batch":1}`), memory.DefaultAllocator); err == nil || !strings.Contains(err.Error(), "beyond the 0 records") {
		t.Errorf("Read beyond the records: error %v", err)
	}
	if _, err := s.Read(ctx, source.Offset(`{"batch":1}`), nil, memory.DefaultAllocator); err == nil || !strings.Contains(err.Error(), "before start offset") {
		t.Errorf("Read with end before start: error %v", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.Read(cctx, nil, nil, memory.DefaultAllocator); err != context.Canceled {
		t.Errorf("Read with a canceled context: error %v", err)
	}
}

func TestCloseThenAddMore(t *testing.T) {
	mem := memory.NewCheckedAllocator(bufpool.NewPoison())
	defer mem.AssertSize(t, 0)
	s := New(schema, WithAllocator(mem))
	if _, err := s.AddRows([]any{int64(1), "a"}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	mem.AssertSize(t, 0) // Close released the record
	off, err := s.AddRows([]any{int64(2), "b"})
	if err != nil {
		t.Fatal(err)
	}
	if string(off) != `{"batch":2}` {
		t.Fatalf("offsets restarted after Close: %s", off)
	}
	if got := readRows(t, s, source.Offset(`{"batch":1}`), off); !reflect.DeepEqual(got, [][]any{{int64(2), "b"}}) {
		t.Fatalf("Read after Close = %v", got)
	}
	if _, err := s.Read(context.Background(), nil, off, mem); err == nil || !strings.Contains(err.Error(), "record 0 was released by Close") {
		t.Fatalf("Read of a released record: error %v", err)
	}
	s.Close()
}

func TestConcurrentAddAndRead(t *testing.T) {
	mem := memory.NewCheckedAllocator(bufpool.NewPoison())
	defer mem.AssertSize(t, 0)
	s := New(schema, WithAllocator(mem))
	defer s.Close()
	const n = 200
	var wg sync.WaitGroup
	done := make(chan struct{})
	wg.Go(func() {
		defer close(done)
		for i := range int64(n) {
			if _, err := s.AddRows([]any{i, nil}); err != nil {
				t.Error(err)
				return
			}
		}
	})
	ctx := context.Background()
	var start source.Offset
	var got []int64
	for len(got) < n {
		finished := false // whether the writer was done before LatestOffset
		select {
		case <-done:
			finished = true
		default:
		}
		end, err := s.LatestOffset(ctx, start, source.MaxRows(7))
		if err != nil {
			t.Fatal(err)
		}
		if finished && string(end) == string(start) {
			t.Fatalf("the writer finished but only %d of %d rows were read", len(got), n)
		}
		recs, err := s.Read(ctx, start, end, mem)
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) > 7 {
			t.Fatalf("a batch of %d one-row records exceeds MaxRows(7)", len(recs))
		}
		for _, row := range arrowrows.RowsOf(recs) {
			got = append(got, row[0].(int64))
		}
		for _, r := range recs {
			r.Release()
		}
		start = end
	}
	wg.Wait()
	for i, v := range got {
		if v != int64(i) {
			t.Fatalf("row %d has id %d: rows lost, repeated or reordered", i, v)
		}
	}
}

func TestDescription(t *testing.T) {
	if got := New(schema).Description(); got != "MemorySource[id,name]" {
		t.Fatalf("Description() = %q", got)
	}
}
