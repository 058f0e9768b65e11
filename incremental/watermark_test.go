package incremental

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/plan"
)

// A stateless pipeline with a watermark stays safe for concurrent Process
// calls, and its event-time statistics count every row once.
func TestWatermarkConcurrentProcess(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
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
