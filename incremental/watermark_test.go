package incremental

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/bufpool"
	"github.com/sluicehq/sluice/plan"
)

// A stateless pipeline with a watermark stays safe for concurrent Process
// calls, and its event-time statistics count every row once.
func TestWatermarkConcurrentProcess(t *testing.T) {
	mem := memory.NewCheckedAllocator(bufpool.NewPoison())
	defer mem.AssertSize(t, 0)
	schema := arrow.NewSchema([]arrow.Field{{Name: "ts", Type: &arrow.TimestampType{Unit: arrow.Millisecond, TimeZone: "UTC"}}}, nil)
	wm, err := plan.NewWatermark(plan.NewScan(0, "events", schema), "ts", 5*time.Second, 0)
	if err != nil {
		t.Fatal(err)
	}
	p, err := Build(wm, mem)
	if err != nil {
		t.Fatal(err)
	}
	b := array.NewTimestampBuilder(mem, schema.Field(0).Type.(*arrow.TimestampType))
	for i := 0; i < 1000; i++ {
		b.Append(arrow.Timestamp(i))
	}
	col := b.NewArray()
	b.Release()
	rec := array.NewRecordBatch(schema, []arrow.Array{col}, 1000)
	col.Release()
	defer rec.Release()
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 20; i++ {
				out, err := p.Process(context.Background(), 0, rec)
				if err != nil {
					t.Error(err)
					return
				}
				releaseAll(out)
			}
		}()
	}
	wg.Wait()
	st := p.EventTimeStats()
	if len(st) != 1 || st[0].Count != 8*20*1000 || st[0].MinMs != 0 || st[0].MaxMs != 999 {
		t.Fatalf("stats %+v, want 160000 rows from 0 to 999 ms", st)
	}
	if again := p.EventTimeStats(); again[0].Count != 0 {
		t.Fatalf("stats not reset: %+v", again)
	}
}

// The direct statistics of a timestamp column without nulls equal the
// ones computed by way of microseconds, in every unit, for values on
// both sides of the epoch.
func TestRawTimeStatsMatchBuffered(t *testing.T) {
	mem := memory.NewCheckedAllocator(bufpool.NewPoison())
	defer mem.AssertSize(t, 0)
	w := &watermarkOp{}
	seed := uint64(12345)
	next := func() int64 {
		seed = seed*6364136223846793005 + 1442695040888963407
		return int64(seed>>20) % 5_000_000
	}
	for _, unit := range []arrow.TimeUnit{arrow.Second, arrow.Millisecond, arrow.Microsecond, arrow.Nanosecond} {
		for _, base := range []int64{-1_700_000_000, 0, 1_700_000_000} {
			b := array.NewTimestampBuilder(mem, &arrow.TimestampType{Unit: unit, TimeZone: "UTC"})
			for i := 0; i < 1000; i++ {
				b.Append(arrow.Timestamp(base + next()))
			}
			col := b.NewArray()
			b.Release()
			got, ok := rawTimeStats(col)
			if !ok {
				t.Fatalf("%s from %d: the direct path refused a column without nulls", unit, base)
			}
			want := w.bufferedStats(col)
			col.Release()
			if got.Count != want.Count || got.MinMs != want.MinMs || got.MaxMs != want.MaxMs {
				t.Fatalf("%s from %d: direct %+v, buffered %+v", unit, base, got, want)
			}
			// The buffered path floors nanoseconds to microseconds before
			// summing, up to 1 µs per row below the exact sum.
			if tol := 1e-6*max(1, abs(want.SumMs)) + float64(got.Count)*1e-3; abs(got.SumMs-want.SumMs) > tol {
				t.Fatalf("%s from %d: sum %v, buffered %v", unit, base, got.SumMs, want.SumMs)
			}
		}
	}
	nb := array.NewTimestampBuilder(mem, &arrow.TimestampType{Unit: arrow.Millisecond})
	nb.AppendValues([]arrow.Timestamp{1, 2}, nil)
	nb.AppendNull()
	withNull := nb.NewArray()
	nb.Release()
	defer withNull.Release()
	if _, ok := rawTimeStats(withNull); ok {
		t.Error("the direct path took a column with nulls")
	}
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}
