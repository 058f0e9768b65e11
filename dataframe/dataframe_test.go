package dataframe_test

import (
	"context"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/bufpool"
	"github.com/sluicehq/sluice/dataframe"
	"github.com/sluicehq/sluice/engine"
	"github.com/sluicehq/sluice/internal/arrowrows"
	"github.com/sluicehq/sluice/objstore"
	memsink "github.com/sluicehq/sluice/sink/memory"
	memsrc "github.com/sluicehq/sluice/source/memory"
	"github.com/sluicehq/sluice/trigger"
)

var schema = arrow.NewSchema([]arrow.Field{
	{Name: "id", Type: arrow.PrimitiveTypes.Int64},
	{Name: "city", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "temp", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
}, nil)

func TestSelectWhereEndToEnd(t *testing.T) {
	mem := memory.NewCheckedAllocator(bufpool.NewPoison())
	defer mem.AssertSize(t, 0)
	src := memsrc.New(schema, memsrc.WithAllocator(mem))
	defer src.Close()
	out := memsink.New()
	defer out.Release()
	ctx := context.Background()
	if _, err := src.AddRows(
		[]any{int64(1), "oslo", 3.5},
		[]any{int64(2), "rome", 21.0},
		[]any{int64(3), nil, 30.0},
		[]any{int64(4), "rome", nil},
		[]any{int64(5), "lima", 18.5},
	); err != nil {
		t.Fatal(err)
	}
	// Warm and known: temp > 15 AND city IS NOT NULL; null temps drop out.
	df := dataframe.ReadStream(src).
		Where(dataframe.Col("temp").Gt(dataframe.Lit(15)).And(dataframe.Col("city").IsNotNull())).
		Select(dataframe.Col("city"), dataframe.Col("temp").Mul(dataframe.Lit(2.0)).As("double"))
	if got := df.Schema().String(); !strings.Contains(got, "double: type=float64") {
		t.Fatalf("schema %s", got)
	}
	q, err := df.WriteStream(out).Trigger(trigger.AvailableNow()).
		CheckpointStore(objstore.NewMemory()).Allocator(mem).
		Engine(engine.New()).QueryName("warm").Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := q.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	rows := out.Rows()
	arrowrows.SortRows(rows)
	want := [][]any{{"lima", 37.0}, {"rome", 42.0}}
	if len(rows) != len(want) {
		t.Fatalf("rows %v, want %v", rows, want)
	}
	for i := range want {
		for j := range want[i] {
			if rows[i][j] != want[i][j] {
				t.Fatalf("rows %v, want %v", rows, want)
			}
		}
	}
	if !strings.Contains(q.Explain(), "Filter") || !strings.Contains(q.Explain(), "Project") {
		t.Fatalf("explain lacks the operators:\n%s", q.Explain())
	}
}

// Mistakes are kept along the chain and reported by Start, naming the
// operation and the available columns.
func TestErrorsSurfaceAtStart(t *testing.T) {
	src := memsrc.New(schema)
	defer src.Close()
	ctx := context.Background()
	df := dataframe.ReadStream(src).Where(dataframe.Col("tmp").Gt(dataframe.Lit(1))).Select(dataframe.Col("id"))
	if df.Err() == nil || !strings.Contains(df.Explain(), "tmp") {
		t.Fatalf("Err %v, Explain %q", df.Err(), df.Explain())
	}
	_, err := df.WriteStream(memsink.New()).Checkpoint("mem://x").Start(ctx)
	if err == nil || !strings.Contains(err.Error(), "Where") || !strings.Contains(err.Error(), "temp") {
		t.Fatalf("Start: %v; want an error naming Where and suggesting temp", err)
	}

	good := dataframe.ReadStream(src).Select(dataframe.Col("id"))
	if _, err := good.WriteStream(memsink.New()).Start(ctx); err == nil || !strings.Contains(err.Error(), "Checkpoint") {
		t.Fatalf("no checkpoint: %v", err)
	}
	if _, err := good.WriteStream(memsink.New()).Checkpoint("mem://y").OutputMode("complete").Start(ctx); err == nil ||
		!strings.Contains(err.Error(), "Complete output mode not supported") {
		t.Fatalf("complete mode: %v", err)
	}
	if _, err := good.WriteStream(memsink.New()).Checkpoint("mem://y").OutputMode("sideways").Start(ctx); err == nil ||
		!strings.Contains(err.Error(), "sideways") {
		t.Fatalf("bad mode: %v", err)
	}
	if _, err := good.WriteStream(nil).Checkpoint("mem://y").Start(ctx); err == nil {
		t.Fatal("nil sink accepted")
	}
	if _, err := good.WriteStream(memsink.New()).Checkpoint("nope://y").Start(ctx); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Fatalf("bad checkpoint scheme: %v", err)
	}
}
