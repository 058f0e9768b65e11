package dataframe_test

import (
	"context"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sluicehq/sluice/dataframe"
	"github.com/sluicehq/sluice/engine"
	"github.com/sluicehq/sluice/objstore"
	memsink "github.com/sluicehq/sluice/sink/memory"
	memsrc "github.com/sluicehq/sluice/source/memory"
	"github.com/sluicehq/sluice/trigger"
)

// TestEventTimeIdleWatermark: with WithIdleTimeout, an append-mode window
// is written once the stream has been quiet long enough for the
// watermark, advanced with processing time, to pass its end, without any
// further input; without the option nothing is written after the same
// (fake) time.
func TestEventTimeIdleWatermark(t *testing.T) {
	for _, idle := range []bool{true, false} {
		name := "withIdleTimeout"
		if !idle {
			name = "withoutIdleTimeout"
		}
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ctx := context.Background()
				f := newETFixture(t, false)
				src, out := f.src, f.out
				var opts []dataframe.WatermarkOption
				if idle {
					opts = append(opts, dataframe.WithIdleTimeout(time.Second))
				}
				df := dataframe.ReadStream(src).WithWatermark("ts", "5 seconds", opts...).
					GroupBy(dataframe.Window(dataframe.Col("ts"), "10 seconds"), dataframe.Col("key")).Agg(etAggs()...)
				s := etSec
				// The watermark after this batch is 1012 - 5 = 1007 s:
				// [1000, 1010) closes 3 s after the input went idle and
				// [1010, 1020) 13 s after.
				f.add(etRow{ts: 1001 * s, key: 1, value: 1}, etRow{ts: 1003 * s, key: 1, value: 2}, etRow{ts: 1012 * s, key: 2, value: 3})
				q, err := df.WriteStream(out).OutputMode("append").CheckpointStore(objstore.NewMemory()).
					Allocator(f.mem).Engine(quietEngine()).
					Trigger(trigger.ProcessingTime(100 * time.Millisecond)).Start(ctx)
				if err != nil {
					t.Fatal(err)
				}
				defer q.Stop(ctx)
				written := func() map[etGroup]etOut {
					t.Helper()
					synctest.Wait()
					got := map[etGroup]etOut{}
					for _, r := range out.Rows() {
						o, err := etParseOut(r)
						if err != nil {
							t.Fatal(err)
						}
						got[o.g] = o
					}
					return got
				}
				first := etGroup{start: 1000 * s, end: 1010 * s, key: 1}
				second := etGroup{start: 1010 * s, end: 1020 * s, key: 2}

				time.Sleep(2500 * time.Millisecond)
				if got := written(); len(got) != 0 || q.LastBatchID() != 0 {
					t.Fatalf("after 2.5 s, batches up to %d ran and wrote %v; want only the data batch, writing nothing", q.LastBatchID(), got)
				}
				time.Sleep(2500 * time.Millisecond)
				got := written()
				if idle {
					etCompareGroups(t, "after 5 s", got, map[etGroup]etAcc{first: {count: 2, n: 2, sum: 3, min: 1, max: 2}})
				} else if len(got) != 0 {
					t.Fatalf("without an idle timeout, windows were written after 5 s: %v", got)
				}
				time.Sleep(10 * time.Second)
				got = written()
				if idle {
					etCompareGroups(t, "after 15 s", got, map[etGroup]etAcc{
						first:  {count: 2, n: 2, sum: 3, min: 1, max: 2},
						second: {count: 1, n: 1, sum: 3, min: 3, max: 3},
					})
					if p := q.LastProgress(); p == nil || p.NumInputRows != 0 || p.EventTime["watermark"] < "1970-01-01T00:17:00.000Z" {
						t.Errorf("the last batch should be a no-data batch with a watermark of at least 1020 s; progress %+v", p)
					}
				} else if len(got) != 0 || q.LastBatchID() != 0 {
					t.Fatalf("without an idle timeout, batches up to %d ran and wrote %v after 15 s; want no batch after the data batch", q.LastBatchID(), got)
				}
				// A row behind the watermark the idle time advanced (about
				// 1022 s with the timeout, 1007 s without) is late; one
				// ahead of it is not.
				behind := etRow{ts: 1015 * s, key: 3, value: 4}
				if _, err := src.AddRows(behind.goValues(false), etRow{ts: 1030 * s, key: 3, value: 5}.goValues(false)); err != nil {
					t.Fatal(err)
				}
				time.Sleep(150 * time.Millisecond)
				synctest.Wait()
				var dropped, read int64
				for _, p := range q.RecentProgress() {
					read += p.NumInputRows
					dropped += p.StateOperators[0].NumRowsDroppedByWatermark
				}
				wantDropped := int64(0)
				if idle {
					wantDropped = 1
				}
				if read != 5 || dropped != wantDropped {
					t.Errorf("after two more rows, %d rows read and %d dropped as late; want 5 and %d", read, dropped, wantDropped)
				}
				if err := q.Stop(ctx); err != nil {
					t.Fatal(err)
				}
			})
		})
	}
}

// TestEventTimeUnsupportedAtStart: combinations that cannot work fail at
// Start, before anything is written to the checkpoint, with a message
// that says what to do.
func TestEventTimeUnsupportedAtStart(t *testing.T) {
	src := memsrc.New(etSchema(false))
	defer src.Close()
	ts, key := dataframe.Col("ts"), dataframe.Col("key")
	base := dataframe.ReadStream(src)
	cases := []struct {
		name  string
		df    *dataframe.DataFrame
		mode  string
		late  bool
		wants []string
	}{
		{
			name: "append aggregation without watermark",
			df:   base.GroupBy(dataframe.Window(ts, "10 seconds"), key).Agg(dataframe.Count()),
			mode: "append", wants: []string{"Append", "watermark", "WithWatermark", "update or complete"},
		},
		{
			name: "complete without aggregation",
			df:   base.WithWatermark("ts", "5 seconds").Where(dataframe.Col("value").Gt(dataframe.Lit(int64(0)))),
			mode: "complete", wants: []string{"Complete", "no streaming aggregations", "append or update"},
		},
		{
			name: "update with a session window",
			df:   base.WithWatermark("ts", "5 seconds").GroupBy(dataframe.SessionWindow(ts, "5 seconds"), key).Agg(dataframe.Count()),
			mode: "update", wants: []string{"Update", "session window", "append"},
		},
		{
			name: "late rows without aggregation",
			df:   base.WithWatermark("ts", "5 seconds").Select(ts, key),
			mode: "append", late: true, wants: []string{"LateRows", "no aggregation", "remove LateRows"},
		},
		{
			name: "two aggregations",
			df: base.WithWatermark("ts", "5 seconds").GroupBy(dataframe.Window(ts, "10 seconds"), key).
				Agg(dataframe.Count().As("n")).GroupBy(dataframe.Col("n")).Agg(dataframe.Count()),
			mode: "complete", wants: []string{"multiple streaming aggregations", "aggregate once"},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			store := objstore.NewMemory()
			out := memsink.New()
			defer out.Release()
			w := c.df.WriteStream(out).OutputMode(c.mode).CheckpointStore(store).Engine(engine.New())
			if c.late {
				late := memsink.New()
				defer late.Release()
				w = w.LateRows(late)
			}
			q, err := w.Start(context.Background())
			if err == nil {
				q.Stop(context.Background())
				t.Fatalf("Start succeeded; want an error mentioning %q", c.wants)
			}
			for _, want := range c.wants {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("the error does not mention %q: %v", want, err)
				}
			}
			if !strings.HasPrefix(err.Error(), "dataframe: ") {
				t.Errorf("the error is not prefixed by its package: %v", err)
			}
			if names, err := store.List(context.Background(), ""); err != nil || len(names) != 0 {
				t.Errorf("the failed Start wrote %v to the checkpoint (err %v)", names, err)
			}
		})
	}
}

// TestEventTimeNoBatchBeforeData: a query started on a memory source to
// which nothing was added runs no batch (the source contract: a latest
// offset equal to the start means no new data), and logs nothing; then
// rows are aggregated as usual.
func TestEventTimeNoBatchBeforeData(t *testing.T) {
	h := newETHarness(t, 1, etConfig{mode: "append", delayUs: 5 * etSec, build: func(df *dataframe.DataFrame) *dataframe.DataFrame {
		return df.WithWatermark("ts", "5 seconds").GroupBy(dataframe.Window(dataframe.Col("ts"), "10 seconds"), dataframe.Col("key")).Agg(etAggs()...)
	}})
	h.start()
	h.process()
	if id := h.q.LastBatchID(); id != -1 {
		b := h.offsets[0]
		t.Errorf("with no rows added, batches up to %d ran (offsets/0 logs source offset %s); want none", id, b.Offsets)
	}
	h.add(etRow{ts: 1 * etSec, key: 1, value: 1})
	h.process()
	h.finish(30 * etSec)
	etCheckWindows(t, h, 10*etSec, 10*etSec)
}

// TestEventTimeLastBatchIDDuringRecovery: Query.LastBatchID may be called
// at any time, also while a restarted query is recovering from its
// checkpoint, and then says which batch was committed last. (The race
// detector checks the first part: run with -race.)
func TestEventTimeLastBatchIDDuringRecovery(t *testing.T) {
	h := newETHarness(t, 1, etConfig{mode: "update", delayUs: 5 * etSec, build: func(df *dataframe.DataFrame) *dataframe.DataFrame {
		return df.WithWatermark("ts", "5 seconds").GroupBy(dataframe.Window(dataframe.Col("ts"), "10 seconds"), dataframe.Col("key")).Agg(etAggs()...)
	}})
	h.add(etRow{ts: etSec, key: 1, value: 1})
	h.process()
	for range 20 {
		h.restart()
		if id := h.q.LastBatchID(); id != -1 && id != 0 {
			t.Fatalf("right after a restart, LastBatchID is %d; want 0 (the last batch committed) or -1 (not recovered yet)", id)
		}
		h.process()
		if id := h.q.LastBatchID(); id != 0 {
			t.Fatalf("after a restart with nothing new, LastBatchID is %d, want 0", id)
		}
	}
	h.stop()
}
