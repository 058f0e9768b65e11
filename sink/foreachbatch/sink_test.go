package foreachbatch

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/bufpool"
	"github.com/sluicehq/sluice/internal/arrowrows"
)

var schema = arrow.NewSchema([]arrow.Field{{Name: "v", Type: arrow.PrimitiveTypes.Int64}}, nil)

func TestCallsFunctionWithEveryBatch(t *testing.T) {
	mem := memory.NewCheckedAllocator(bufpool.NewPoison())
	defer mem.AssertSize(t, 0)

	type call struct {
		id   int64
		rows [][]any
	}
	var calls []call
	// A function that dedupes on the batch id, as the documentation says.
	written := map[int64]bool{}
	var kept []arrow.RecordBatch
	s := New(func(ctx context.Context, batchID int64, recs []arrow.RecordBatch) error {
		calls = append(calls, call{batchID, arrowrows.RowsOf(recs)})
		if written[batchID] {
			return nil
		}
		written[batchID] = true
		for _, r := range recs {
			r.Retain() // kept after return: must be retained
			kept = append(kept, r)
		}
		return nil
	})
	ctx := context.Background()
	rec, err := arrowrows.Build(mem, schema, [][]any{{1}, {2}})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []int64{0, 0, 1} { // batch 0 is replayed
		batch := []arrow.RecordBatch{rec}
		if id == 1 {
			batch = nil
		}
		if err := s.AddBatch(ctx, id, batch); err != nil {
			t.Fatal(err)
		}
	}
	rec.Release()
	want := []call{{0, [][]any{{int64(1)}, {int64(2)}}}, {0, [][]any{{int64(1)}, {int64(2)}}}, {1, [][]any{}}}
	if !reflect.DeepEqual(calls, want) {
		t.Fatalf("calls = %v, want %v (replays must reach the function)", calls, want)
	}
	if len(kept) != 1 || kept[0].NumRows() != 2 {
		t.Fatalf("the function kept %d records, want the one record of batch 0", len(kept))
	}
	for _, r := range kept {
		r.Release()
	}
	if s.Description() != "ForeachBatchSink" {
		t.Fatalf("Description() = %q", s.Description())
	}
}

type codeErr struct{ code int }

func (e *codeErr) Error() string { return "code" }

func TestErrorsAreWrappedWithBatchID(t *testing.T) {
	cause := &codeErr{503}
	s := New(func(context.Context, int64, []arrow.RecordBatch) error { return cause })
	err := s.AddBatch(context.Background(), 42, nil)
	if err == nil || !strings.HasPrefix(err.Error(), "foreachbatch: batch 42: ") {
		t.Fatalf("error %v, want it prefixed with the batch id", err)
	}
	var ce *codeErr
	if !errors.As(err, &ce) || ce.code != 503 {
		t.Fatalf("errors.As lost the cause: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	s = New(func(ctx context.Context, _ int64, _ []arrow.RecordBatch) error { return ctx.Err() })
	if err := s.AddBatch(ctx, 1, nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("the context did not reach the function: %v", err)
	}
	if err := New(nil).AddBatch(context.Background(), 0, nil); err == nil || !strings.Contains(err.Error(), "foreachbatch: New(nil)") {
		t.Fatalf("nil function: error %v", err)
	}
}
