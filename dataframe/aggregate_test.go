package dataframe_test

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/bufpool"
	"github.com/sluicehq/sluice/dataframe"
	"github.com/sluicehq/sluice/engine"
	"github.com/sluicehq/sluice/expr"
	"github.com/sluicehq/sluice/internal/arrowrows"
	"github.com/sluicehq/sluice/objstore"
	memsink "github.com/sluicehq/sluice/sink/memory"
	memsrc "github.com/sluicehq/sluice/source/memory"
	"github.com/sluicehq/sluice/trigger"
)

var eventSchema = arrow.NewSchema([]arrow.Field{
	{Name: "ts", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}},
	{Name: "key", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "value", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
}, nil)

func at(sec float64) time.Time {
	return time.Unix(0, 0).UTC().Add(time.Duration(sec * float64(time.Second)))
}

// TestWindowedCountModes runs a tumbling-window count and sum in each
// output mode over three batches and checks every row written.
func TestWindowedCountModes(t *testing.T) {
	batches := [][][]any{
		{{at(1), "a", int64(1)}, {at(2), "b", int64(2)}, {at(11), "a", int64(3)}},
		{{at(3), "a", int64(4)}, {at(25), "b", int64(5)}},
		{{at(4), "a", int64(100)}, {at(40), "a", int64(6)}}, // at(4) is late: the watermark is 20s
	}
	w := func(start, end int, rest string) string {
		return fmt.Sprintf(`[{"end":"1970-01-01T00:00:%02dZ","start":"1970-01-01T00:00:%02dZ"} %s]`, end, start, rest)
	}
	// The watermark after batch 2 is 25-5 = 20s, so at(4) in batch 3 is
	// late for append and update; after batch 3 it is 35s, which closes
	// [20, 30) in a no-data batch.
	want := map[string][]string{
		"append":   {w(0, 10, "a 2 5"), w(0, 10, "b 1 2"), w(10, 20, "a 1 3"), w(20, 30, "b 1 5")},
		"update":   {w(0, 10, "a 1 1"), w(0, 10, "a 2 5"), w(0, 10, "b 1 2"), w(10, 20, "a 1 3"), w(20, 30, "b 1 5"), w(40, 50, "a 1 6")},
		"complete": {w(0, 10, "a 3 105"), w(0, 10, "b 1 2"), w(10, 20, "a 1 3"), w(20, 30, "b 1 5"), w(40, 50, "a 1 6")},
	}
	for _, mode := range []string{"append", "update", "complete"} {
		t.Run(mode, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(bufpool.NewPoison())
			defer mem.AssertSize(t, 0)
			src := memsrc.New(eventSchema, memsrc.WithAllocator(mem))
			defer src.Close()
			out := memsink.New()
			defer out.Release()
			ctx := context.Background()
			df := dataframe.ReadStream(src).WithWatermark("ts", "5 seconds").
				GroupBy(dataframe.Window(dataframe.Col("ts"), "10 seconds"), dataframe.Col("key")).
				Agg(dataframe.Count().As("n"), dataframe.Sum(dataframe.Col("value")).As("total"))
			q, err := df.WriteStream(out).OutputMode(mode).CheckpointStore(objstore.NewMemory()).
				Allocator(mem).Engine(engine.New()).StatePartitions(3).Start(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if ex := q.Explain(); !strings.Contains(ex, "StatefulAggregateExec") || !strings.Contains(ex, "(3 partitions)") || !strings.Contains(ex, "EventTimeWatermark") {
				t.Errorf("Explain does not show the stateful operator with its partitions and the watermark:\n%s", ex)
			}
			var dropped int64
			for _, b := range batches {
				if _, err := src.AddRows(b...); err != nil {
					t.Fatal(err)
				}
				if err := q.ProcessAllAvailable(ctx); err != nil {
					t.Fatal(err)
				}
			}
			for _, p := range q.RecentProgress() {
				if len(p.StateOperators) == 1 {
					dropped += p.StateOperators[0].NumRowsDroppedByWatermark
				}
			}
			if err := q.Stop(ctx); err != nil {
				t.Fatal(err)
			}
			rows := out.Rows()
			arrowrows.SortRows(rows)
			var got []string
			for _, r := range rows {
				got = append(got, fmt.Sprintf("%v", r))
			}
			if strings.Join(got, "\n") != strings.Join(want[mode], "\n") {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want[mode], "\n"))
			}
			if mode != "complete" && dropped != 1 {
				t.Errorf("dropped %d rows, want 1", dropped)
			}
		})
	}
}

// runAgg runs df's aggregation over batches of rows in mode and returns
// the rows written, sorted and printed.
func runAgg(t *testing.T, mode string, build func(*dataframe.DataFrame) *dataframe.DataFrame, batches ...[][]any) []string {
	t.Helper()
	mem := memory.NewCheckedAllocator(bufpool.NewPoison())
	defer mem.AssertSize(t, 0)
	src := memsrc.New(eventSchema, memsrc.WithAllocator(mem))
	defer src.Close()
	out := memsink.New()
	defer out.Release()
	ctx := context.Background()
	q, err := build(dataframe.ReadStream(src)).WriteStream(out).OutputMode(mode).
		CheckpointStore(objstore.NewMemory()).Allocator(mem).Engine(engine.New()).StatePartitions(2).Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range batches {
		if _, err := src.AddRows(b...); err != nil {
			t.Fatal(err)
		}
		if err := q.ProcessAllAvailable(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if err := q.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	rows := out.Rows()
	arrowrows.SortRows(rows)
	var got []string
	for _, r := range rows {
		got = append(got, fmt.Sprintf("%v", r))
	}
	return got
}

func win(start, end int, rest string) string {
	return fmt.Sprintf(`[{"end":"1970-01-01T00:00:%02dZ","start":"1970-01-01T00:00:%02dZ"} %s]`, end, start, rest)
}

// TestSlidingWindowCount puts each row in every window that holds it.
func TestSlidingWindowCount(t *testing.T) {
	got := runAgg(t, "complete", func(df *dataframe.DataFrame) *dataframe.DataFrame {
		return df.GroupBy(dataframe.SlidingWindow(dataframe.Col("ts"), "10 seconds", "5 seconds")).Agg(dataframe.Count())
	}, [][]any{{at(1), "a", int64(1)}, {at(7), "a", int64(1)}}, [][]any{{at(12), "b", int64(1)}})
	want := []string{
		`[{"end":"1970-01-01T00:00:05Z","start":"1969-12-31T23:59:55Z"} 1]`,
		win(0, 10, "2"), win(5, 15, "2"), win(10, 20, "1"),
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestSessionWindowMergesAcrossBatches bridges two sessions of a key with
// a row of a later batch.
func TestSessionWindowMergesAcrossBatches(t *testing.T) {
	got := runAgg(t, "append", func(df *dataframe.DataFrame) *dataframe.DataFrame {
		return df.WithWatermark("ts", "10 seconds").
			GroupBy(dataframe.SessionWindow(dataframe.Col("ts"), "5 seconds"), dataframe.Col("key")).
			Agg(dataframe.Count(), dataframe.Sum(dataframe.Col("value")))
	},
		[][]any{{at(1), "a", int64(1)}, {at(10), "a", int64(2)}, {at(2), "b", int64(3)}},
		[][]any{{at(5), "a", int64(4)}},
		[][]any{{at(40), "z", int64(0)}},
	)
	want := []string{win(2, 7, "b 1 3"), win(1, 15, "a 3 7")}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestUnionOfWatermarkedStreams aggregates the union of two streams, each
// with its own watermark: with the default min policy the slower stream
// holds the watermark back, with max the faster one drives it.
func TestUnionOfWatermarkedStreams(t *testing.T) {
	for _, policy := range []string{"min", "max"} {
		t.Run(policy, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(bufpool.NewPoison())
			defer mem.AssertSize(t, 0)
			fast := memsrc.New(eventSchema, memsrc.WithAllocator(mem))
			defer fast.Close()
			slow := memsrc.New(eventSchema, memsrc.WithAllocator(mem))
			defer slow.Close()
			out := memsink.New()
			defer out.Release()
			ctx := context.Background()
			df := dataframe.ReadStream(fast).WithWatermark("ts", "0 seconds").
				Union(dataframe.ReadStream(slow).WithWatermark("ts", "0 seconds")).
				GroupBy(dataframe.Window(dataframe.Col("ts"), "10 seconds")).Agg(dataframe.Count())
			// Both streams' rows are there before the query starts, and
			// AvailableNow reads them in one batch: a stream whose rows
			// came a batch later would find the watermark already moved.
			if _, err := fast.AddRows([]any{at(1), "f", int64(1)}, []any{at(35), "f", int64(1)}); err != nil {
				t.Fatal(err)
			}
			if _, err := slow.AddRows([]any{at(2), "s", int64(1)}, []any{at(12), "s", int64(1)}); err != nil {
				t.Fatal(err)
			}
			q, err := df.WriteStream(out).OutputMode("append").CheckpointStore(objstore.NewMemory()).Trigger(trigger.AvailableNow()).
				Allocator(mem).Engine(engine.New()).Option("sluice.watermark.multiplePolicy", policy).Start(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if err := q.Wait(ctx); err != nil {
				t.Fatal(err)
			}
			wm := q.LastProgress().EventTime["watermark"]
			var got []string
			for _, r := range out.Rows() {
				got = append(got, fmt.Sprintf("%v", r))
			}
			sort.Strings(got)
			// min: watermark 12s closes [0,10) only; max: 35s closes
			// [0,10) and [10,20).
			want := []string{win(0, 10, "2")}
			if policy == "max" {
				want = append(want, win(10, 20, "1"))
			}
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("watermark %s: got\n%s\nwant\n%s", wm, strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
		})
	}
}

// TestSessionWindowGapPerRow gives key "x" a 1-second gap and the others
// 5 seconds, so x's rows 3 seconds apart make two sessions.
func TestSessionWindowGapPerRow(t *testing.T) {
	got := runAgg(t, "complete", func(df *dataframe.DataFrame) *dataframe.DataFrame {
		gap := expr.If(dataframe.Col("key").Eq(dataframe.Lit("x")), dataframe.Lit("1 second"), dataframe.Lit("5 seconds"))
		return df.GroupBy(dataframe.SessionWindowGap(dataframe.Col("ts"), gap), dataframe.Col("key")).Agg(dataframe.Count())
	}, [][]any{{at(1), "x", int64(1)}, {at(4), "x", int64(1)}, {at(1), "y", int64(1)}, {at(4), "y", int64(1)}})
	want := []string{win(1, 2, "x 1"), win(4, 5, "x 1"), win(1, 9, "y 2")}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestStreamJoinIntervalRange joins two streams on a key and an
// event-time range written with intervals; the unmatched left row comes
// out with nulls once both watermarks have passed its range.
func TestStreamJoinIntervalRange(t *testing.T) {
	mem := memory.NewCheckedAllocator(bufpool.NewPoison())
	defer mem.AssertSize(t, 0)
	ls := memsrc.New(eventSchema, memsrc.WithAllocator(mem))
	defer ls.Close()
	rs := memsrc.New(eventSchema, memsrc.WithAllocator(mem))
	defer rs.Close()
	out := memsink.New()
	defer out.Release()
	ctx := context.Background()
	left := dataframe.ReadStream(ls).WithWatermark("ts", "2 seconds").
		Select(dataframe.Col("ts").As("lts"), dataframe.Col("key").As("lk"), dataframe.Col("value").As("lv"))
	right := dataframe.ReadStream(rs).WithWatermark("ts", "2 seconds").
		Select(dataframe.Col("ts").As("rts"), dataframe.Col("key").As("rk"), dataframe.Col("value").As("rv"))
	cond := expr.And(dataframe.Col("lk").Eq(dataframe.Col("rk")),
		dataframe.Col("rts").Between(dataframe.Col("lts").Sub(expr.Interval("3 seconds")), dataframe.Col("lts").Add(expr.Interval("3 seconds"))))
	q, err := left.Join(right, cond, "left_outer").WriteStream(out).OutputMode("append").
		CheckpointStore(objstore.NewMemory()).Allocator(mem).Engine(engine.New()).Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	step := func(src *memsrc.Source, rows ...[]any) {
		t.Helper()
		if _, err := src.AddRows(rows...); err != nil {
			t.Fatal(err)
		}
		if err := q.ProcessAllAvailable(ctx); err != nil {
			t.Fatal(err)
		}
	}
	step(ls, []any{at(1), "a", int64(1)}, []any{at(2), "b", int64(2)})
	step(rs, []any{at(3), "a", int64(-1)}, []any{at(9), "b", int64(-2)}) // b at 9 is out of b's range
	step(ls, []any{at(60), "z", int64(0)})
	step(rs, []any{at(60), "y", int64(0)})
	if err := q.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range out.Rows() {
		got = append(got, fmt.Sprintf("%v %v %v %v", r[1], r[2], r[4], r[5]))
	}
	sort.Strings(got)
	want := []string{"a 1 a -1", "b 2 <nil> <nil>"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("joined rows (lk lv rk rv) %v, want %v", got, want)
	}
}

// TestFirstLastKeepArrivalOrder: the stateless part of a stateful plan
// runs on several goroutines, but the aggregation still sees the rows in
// arrival order, so first and last are the first and last rows added.
func TestFirstLastKeepArrivalOrder(t *testing.T) {
	mem := memory.NewCheckedAllocator(bufpool.NewPoison())
	defer mem.AssertSize(t, 0)
	src := memsrc.New(eventSchema, memsrc.WithAllocator(mem))
	defer src.Close()
	out := memsink.New()
	defer out.Release()
	for i := 0; i < 40; i++ {
		if _, err := src.AddRows([]any{at(float64(i)), "k", int64(i)}, []any{at(float64(i)), "k", int64(i)}); err != nil {
			t.Fatal(err)
		}
	}
	ctx := context.Background()
	q, err := dataframe.ReadStream(src).Where(dataframe.Col("value").Ge(dataframe.Lit(int64(0)))).
		GroupBy(dataframe.Col("key")).Agg(dataframe.First(dataframe.Col("value")), dataframe.Last(dataframe.Col("value")), dataframe.CollectList(dataframe.Col("value"))).
		WriteStream(out).OutputMode("complete").CheckpointStore(objstore.NewMemory()).Trigger(trigger.AvailableNow()).
		Allocator(mem).Engine(engine.New()).Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := q.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	rows := out.Rows()
	if len(rows) != 1 || rows[0][1] != int64(0) || rows[0][2] != int64(39) {
		t.Fatalf("first/last: %v, want first 0 and last 39", rows)
	}
	list := fmt.Sprint(rows[0][3])
	var want []string
	for i := 0; i < 40; i++ {
		want = append(want, fmt.Sprint(i), fmt.Sprint(i))
	}
	if list != "["+strings.Join(want, ",")+"]" {
		t.Fatalf("collect_list %s, not in arrival order", list)
	}
}
