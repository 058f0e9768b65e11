package dataframe_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/sluicehq/sluice/dataframe"
	"github.com/sluicehq/sluice/objstore"
)

// etWindowCase is one seed's windowed aggregation: the window, the
// watermark delay and the rows.
type etWindowCase struct {
	size, slide int64 // µs; slide == size for tumbling windows
	delay       string
	delayUs     int64
	intKeys     bool
	late        bool
	parts       int
	retain      int
	rows        []etRow
}

func etNewWindowCase(seed uint64) etWindowCase {
	rng := rand.New(rand.NewPCG(seed, 0xda7a))
	c := etWindowCase{size: 10 * etSec, slide: 10 * etSec, intKeys: seed%2 == 0, late: seed%3 != 0, parts: 1 + rng.IntN(4)}
	switch seed % 8 {
	case 3:
		c.slide = 2 * etSec
	case 7:
		c.slide = 3 * etSec
	}
	switch rng.IntN(3) {
	case 0:
		c.delay, c.delayUs = "5 seconds", 5*etSec
	case 1:
		c.delay, c.delayUs = "10 seconds", 10*etSec
	default:
		c.delay, c.delayUs = "20s", 20*etSec
	}
	if rng.IntN(3) == 0 {
		c.retain = 10
	}
	c.rows = etGenerate(rng, etGenConfig{
		n: 150 + rng.IntN(250), keys: 1 + rng.Int64N(20), step: 300_000,
		jitter: 2 * c.size, ahead: c.size, veryLate: 0.06, lateBy: c.delayUs + 2*c.size, nulls: 0.03, nullKeys: 0.02,
	})
	return c
}

func (c etWindowCase) window() string {
	if c.slide == c.size {
		return "tumbling"
	}
	return "sliding"
}

// TestEventTimeWindowProperty is the main property of event-time
// aggregation: for random out-of-order rows split into random batches,
// with crashes injected into the checkpoint (a new query, with a new
// plan and state provider, takes over after each) and clean restarts,
// what a windowed aggregation writes is what a plain computation over the
// same batches and watermarks (read back from the offsets log) gives:
//
//   - append: each window whose end is at or below the last batch's
//     watermark, once, with its final value, and nothing else;
//   - update: every group, last written with its final value, and nothing
//     else;
//   - complete: the last batch holds every group over every row.
//
// Rows whose windows all ended at or below their batch's watermark are
// dropped (append, update), counted per batch in progress, and with
// LateRows written to the late-data sink, each once.
func TestEventTimeWindowProperty(t *testing.T) {
	if etIsolate(t) {
		return
	}
	for seed := uint64(1); seed <= 30; seed++ {
		c := etNewWindowCase(seed)
		for mi, mode := range []string{"append", "update", "complete"} {
			name := fmt.Sprintf("seed=%d/%s/%s", seed, c.window(), mode)
			t.Run(name, func(t *testing.T) {
				etRunWindowCase(t, seed*3+uint64(mi), c, mode, 0.25, 0.08)
			})
		}
	}
}

// etRunWindowCase runs c in mode with the given fault and restart
// probabilities and checks the sink against the reference.
func etRunWindowCase(t *testing.T, seed uint64, c etWindowCase, mode string, faults, restarts float64) *etHarness {
	t.Helper()
	size, slide := fmt.Sprintf("%d seconds", c.size/etSec), fmt.Sprintf("%d seconds", c.slide/etSec)
	h := newETHarness(t, seed, etConfig{
		mode: mode, intKeys: c.intKeys, parts: c.parts, retain: c.retain, late: c.late, delayUs: c.delayUs,
		faults: faults, restarts: restarts,
		build: func(df *dataframe.DataFrame) *dataframe.DataFrame {
			w := dataframe.SlidingWindow(dataframe.Col("ts"), size, slide)
			if c.slide == c.size {
				w = dataframe.Window(dataframe.Col("ts"), size)
			}
			return df.WithWatermark("ts", c.delay).GroupBy(w, dataframe.Col("key")).Agg(etAggs()...)
		},
	})
	h.feed(c.rows, 30)
	h.finish(c.delayUs + 3*c.size)
	etCheckWindows(t, h, c.size, c.slide)
	return h
}

// etCheckWindows checks what a windowed aggregation wrote against the
// reference over the batches logged, as the output mode says, and
// returns the reference.
func etCheckWindows(t *testing.T, h *etHarness, size, slide int64) etWindowRef {
	t.Helper()
	mode := h.cfg.mode
	batches := h.batches()
	ref := etWindowReference(h.rows, batches, size, slide, mode != "complete")
	last := batches[len(batches)-1]
	t.Logf("%d rows, %d batches, %d crashes (%v), %d restarts, last watermark %s, %d groups, %d late rows",
		len(h.rows), len(batches), h.crashes, h.rules, h.restarts, etTime(last.wmMs*1000), len(ref.groups), len(ref.late))

	out := h.outBatches()
	want := map[etGroup]etAcc{}
	switch mode {
	case "append":
		var all []etOut
		for _, b := range out {
			all = append(all, b...)
		}
		// The last batch emits what its commit's watermark closes.
		for g, a := range ref.groups {
			if g.end <= last.nextWmMs*1000 {
				want[g] = *a
			}
		}
		etCompareGroups(t, "append output", etUnique(t, "append output", all), want)
		if len(want) == 0 {
			t.Errorf("the final watermark %s closed no window", etTime(last.nextWmMs*1000))
		}
	case "update":
		lastWritten := map[etGroup]etOut{}
		for i, b := range out {
			for g, o := range etUnique(t, fmt.Sprintf("update batch %d", i), b) {
				lastWritten[g] = o
			}
		}
		for g, a := range ref.groups {
			want[g] = *a
		}
		etCompareGroups(t, "update output (last write of each group)", lastWritten, want)
	case "complete":
		if len(out) != 1 {
			t.Fatalf("a complete-mode memory sink holds %d batches, want the last one", len(out))
		}
		for g, a := range ref.groups {
			want[g] = *a
		}
		etCompareGroups(t, "complete output (last batch)", etUnique(t, "complete output", out[0]), want)
	}
	if h.late != nil {
		etCompareRows(t, "late-data sink", h.lateRows(), ref.late)
	}
	h.checkProgress(batches, ref.dropped)
	h.checkWatermarks(batches)
	return ref
}

// TestEventTimeLateRows checks that rows behind the watermark are
// dropped, counted in progress and, with LateRows, written to the
// late-data sink, each once: in a fixed case, then for random data split
// into random batches with restarts.
func TestEventTimeLateRows(t *testing.T) {
	for _, mode := range []string{"append", "update"} {
		t.Run("fixed/"+mode, func(t *testing.T) {
			h := newETHarness(t, 1, etConfig{mode: mode, late: true, delayUs: 5 * etSec, build: func(df *dataframe.DataFrame) *dataframe.DataFrame {
				return df.WithWatermark("ts", "5 seconds").GroupBy(dataframe.Window(dataframe.Col("ts"), "10 seconds"), dataframe.Col("key")).Agg(etAggs()...)
			}})
			s := etSec
			// The watermark is 0 for batch 0, 7 s for batch 1 (12 - 5)
			// and 20 s for batch 2 (25 - 5).
			h.add(etRow{ts: 1 * s, key: 1, value: 1}, etRow{ts: 12 * s, key: 1, value: 2})
			h.process()
			h.add(etRow{ts: 3 * s, key: 1, value: 3}, etRow{ts: 25 * s, key: 2, value: 4})
			h.process()
			late := []etRow{{ts: 5 * s, key: 1, value: 5}, {ts: 9*s + 999_999, key: 2, value: 6}, {ts: 15 * s, key: 3, null: true}}
			h.add(late[0], late[1], etRow{ts: 20 * s, key: 3, value: 7}, late[2])
			h.process()
			h.stop()
			var dropped int64
			for _, p := range h.progressByBatch() {
				dropped += p.StateOperators[0].NumRowsDroppedByWatermark
			}
			if dropped != 3 {
				t.Errorf("numRowsDroppedByWatermark adds up to %d, want 3", dropped)
			}
			etCompareRows(t, "late-data sink", h.lateRows(), late)
			etCheckWindows(t, h, 10*etSec, 10*etSec)
		})
	}
	for seed := uint64(1); seed <= 6; seed++ {
		c := etNewWindowCase(seed)
		c.slide, c.late = c.size, true
		for _, mode := range []string{"append", "update"} {
			t.Run(fmt.Sprintf("seed=%d/%s", seed, mode), func(t *testing.T) {
				h := etRunWindowCase(t, seed, c, mode, 0, 0.1)
				batches := h.batches()
				ref := etWindowReference(h.rows, batches, c.size, c.slide, true)
				reports := h.progressByBatch()
				if len(reports) != len(batches) {
					t.Errorf("%d progress reports for %d batches", len(reports), len(batches))
				}
				var dropped int64
				for _, p := range reports {
					dropped += p.StateOperators[0].NumRowsDroppedByWatermark
				}
				if dropped != int64(len(ref.late)) || len(ref.late) == 0 {
					t.Errorf("numRowsDroppedByWatermark adds up to %d over the batches, want %d late rows (and some)", dropped, len(ref.late))
				}
			})
		}
	}
}

// TestEventTimeStateWriteFailure fails the first write of a state object
// in a batch that leaves some state partitions without output rows: the
// batch must fail with the injected error, and a new query must finish
// it with the right results.
func TestEventTimeStateWriteFailure(t *testing.T) {
	if etIsolate(t) {
		return
	}
	builds := map[string]func(df *dataframe.DataFrame) *dataframe.DataFrame{
		"window": func(df *dataframe.DataFrame) *dataframe.DataFrame {
			return df.WithWatermark("ts", "5 seconds").GroupBy(dataframe.Window(dataframe.Col("ts"), "10 seconds"), dataframe.Col("key")).Agg(etAggs()...)
		},
		"session": func(df *dataframe.DataFrame) *dataframe.DataFrame {
			return df.WithWatermark("ts", "5 seconds").GroupBy(dataframe.SessionWindow(dataframe.Col("ts"), "5 seconds"), dataframe.Col("key")).Agg(etAggs()...)
		},
	}
	for _, kind := range []string{"window", "session"} {
		for _, mode := range []string{"append", "update", "complete"} {
			if kind == "session" && mode == "update" {
				continue
			}
			for _, after := range []bool{false, true} {
				t.Run(fmt.Sprintf("%s/%s/after=%v", kind, mode, after), func(t *testing.T) {
					h := newETHarness(t, 1, etConfig{mode: mode, parts: 4, late: mode != "complete", delayUs: 5 * etSec, build: builds[kind]})
					s := etSec
					h.add(etRow{ts: 1 * s, key: 1, value: 1})
					h.process()
					h.store.FailOn(objstore.Rule{Op: objstore.OpPut, Prefix: "state/", After: after})
					h.rulePending, h.injected = true, h.store.Injected()
					h.add(etRow{ts: 2 * s, key: 1, value: 2}, etRow{ts: 30 * s, key: 2, value: 3})
					h.process()
					if h.crashes != 1 {
						t.Errorf("%d crashes, want 1 (the state write failure)", h.crashes)
					}
					h.finish(60 * s)
					if kind == "window" {
						etCheckWindows(t, h, 10*s, 10*s)
					} else {
						etCheckSessions(t, h, 5*s)
					}
				})
			}
		}
	}
}
