package memory

import (
	"context"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/bufpool"
	"github.com/sluicehq/sluice/internal/arrowrows"
	"github.com/sluicehq/sluice/sink"
)

var schema = arrow.NewSchema([]arrow.Field{{Name: "v", Type: arrow.PrimitiveTypes.Int64}}, nil)

// add delivers a batch of one record per value list, as the driver does:
// the records are borrowed and released by the caller right after.
func add(t *testing.T, s *Sink, mem memory.Allocator, id int64, recs ...[]int64) {
	t.Helper()
	var batch []arrow.RecordBatch
	for _, vals := range recs {
		var rows [][]any
		for _, v := range vals {
			rows = append(rows, []any{v})
		}
		rec, err := arrowrows.Build(mem, schema, rows)
		if err != nil {
			t.Fatal(err)
		}
		batch = append(batch, rec)
	}
	if err := s.AddBatch(context.Background(), id, batch); err != nil {
		t.Fatal(err)
	}
	for _, r := range batch {
		r.Release()
	}
}

func rowsOf(vals ...int64) [][]any {
	rows := [][]any{}
	for _, v := range vals {
		rows = append(rows, []any{v})
	}
	return rows
}

func TestAppendAndReplay(t *testing.T) {
	mem := memory.NewCheckedAllocator(bufpool.NewPoison())
	defer mem.AssertSize(t, 0)
	s := New()
	if err := s.Open(context.Background(), sink.OpenInfo{Schema: schema, OutputMode: "append"}); err != nil {
		t.Fatal(err)
	}
	add(t, s, mem, 0, []int64{1, 2}, []int64{3})
	add(t, s, mem, 1) // a no-data batch
	add(t, s, mem, 2, []int64{4})
	add(t, s, mem, 2, []int64{4})    // replay of the last batch
	add(t, s, mem, 0, []int64{1, 2}) // replay of an older one

	if got, want := s.Rows(), rowsOf(1, 2, 3, 4); !reflect.DeepEqual(got, want) {
		t.Fatalf("Rows() = %v, want %v", got, want)
	}
	if got, want := s.BatchIDs(), []int64{0, 1, 2}; !reflect.DeepEqual(got, want) {
		t.Fatalf("BatchIDs() = %v, want %v", got, want)
	}
	if got := s.Replays(); got != 2 {
		t.Fatalf("Replays() = %d, want 2", got)
	}
	want := []Batch{{0, rowsOf(1, 2, 3)}, {1, rowsOf()}, {2, rowsOf(4)}}
	if got := s.Batches(); !reflect.DeepEqual(got, want) {
		t.Fatalf("Batches() = %v, want %v", got, want)
	}
	if s.Description() != "MemorySink" {
		t.Fatalf("Description() = %q", s.Description())
	}

	s.Release()
	mem.AssertSize(t, 0)
	if got := s.Rows(); len(got) != 0 {
		t.Fatalf("Rows() after Release = %v", got)
	}
	add(t, s, mem, 2, []int64{9}) // still a replay after Release
	if s.Replays() != 3 || len(s.Rows()) != 0 {
		t.Fatalf("after Release a replay was kept: replays %d, rows %v", s.Replays(), s.Rows())
	}
	add(t, s, mem, 3, []int64{5})
	if got, want := s.Rows(), rowsOf(5); !reflect.DeepEqual(got, want) {
		t.Fatalf("Rows() after a new batch = %v, want %v", got, want)
	}
	s.Release()
}

func TestCompleteModeReplaces(t *testing.T) {
	mem := memory.NewCheckedAllocator(bufpool.NewPoison())
	defer mem.AssertSize(t, 0)
	s := New()
	defer s.Release()
	if err := s.Open(context.Background(), sink.OpenInfo{OutputMode: "complete"}); err != nil {
		t.Fatal(err)
	}
	add(t, s, mem, 0, []int64{1})
	add(t, s, mem, 1, []int64{1, 2}, []int64{3})
	if got, want := s.Rows(), rowsOf(1, 2, 3); !reflect.DeepEqual(got, want) {
		t.Fatalf("Rows() = %v, want the latest batch %v", got, want)
	}
	if got := s.Batches(); len(got) != 1 || got[0].ID != 1 {
		t.Fatalf("Batches() = %v, want batch 1 only", got)
	}
	if got, want := s.BatchIDs(), []int64{0, 1}; !reflect.DeepEqual(got, want) {
		t.Fatalf("BatchIDs() = %v, want %v", got, want)
	}
	add(t, s, mem, 1, []int64{7}) // replay: must not replace
	add(t, s, mem, 2)             // an empty result replaces too
	if got := s.Rows(); len(got) != 0 {
		t.Fatalf("Rows() after an empty complete batch = %v", got)
	}
}

func TestOpenRejectsUnknownMode(t *testing.T) {
	err := New().Open(context.Background(), sink.OpenInfo{OutputMode: "upsert"})
	if err == nil || !strings.Contains(err.Error(), `memory: Open: unknown output mode "upsert"`) {
		t.Fatalf("Open(upsert): error %v", err)
	}
}

func TestConcurrentReaders(t *testing.T) {
	mem := memory.NewCheckedAllocator(bufpool.NewPoison())
	defer mem.AssertSize(t, 0)
	s := New()
	defer s.Release()
	const n = 100
	done := make(chan struct{})
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() {
			last := 0
			for {
				select {
				case <-done:
					return
				default:
				}
				rows := s.Rows()
				ids := s.BatchIDs()
				_ = s.Batches()
				if len(rows) < last {
					t.Errorf("rows went from %d to %d", last, len(rows))
					return
				}
				if len(ids) < len(rows) {
					t.Errorf("%d rows but only %d batch ids: a partial view", len(rows), len(ids))
					return
				}
				last = len(rows)
			}
		})
	}
	func() {
		defer close(done)
		for i := range int64(n) {
			add(t, s, mem, i, []int64{i})
		}
	}()
	wg.Wait()
	if got := len(s.Rows()); got != n {
		t.Fatalf("%d rows, want %d", got, n)
	}
}
