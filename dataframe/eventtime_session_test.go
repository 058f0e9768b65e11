package dataframe_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/sluicehq/sluice/dataframe"
)

// etSessions groups by a session window of gap (an interval string) and
// the key.
func etSessions(delay, gap string) func(df *dataframe.DataFrame) *dataframe.DataFrame {
	return func(df *dataframe.DataFrame) *dataframe.DataFrame {
		return df.WithWatermark("ts", delay).
			GroupBy(dataframe.SessionWindow(dataframe.Col("ts"), gap), dataframe.Col("key")).
			Agg(etAggs()...)
	}
}

// etCheckSessions checks what a session aggregation (gap in µs) wrote
// against the reference over the batches logged: in append mode every
// session the watermark closed, once, and nothing else; in complete mode
// the last batch holds every session over every row.
func etCheckSessions(t *testing.T, h *etHarness, gap int64) etSessionRef {
	t.Helper()
	batches := h.batches()
	ref := etSessionReference(h.rows, batches, gap, h.cfg.mode != "complete")
	t.Logf("%d rows, %d batches, %d crashes (%v), %d restarts, %d sessions emitted, %d open, %d late rows",
		len(h.rows), len(batches), h.crashes, h.rules, h.restarts, len(ref.emitted), len(ref.open), len(ref.late))
	want := map[etGroup]etAcc{}
	var got []etOut
	switch h.cfg.mode {
	case "append":
		for _, s := range ref.emitted {
			want[s.g] = s.acc
		}
		for _, b := range h.outBatches() {
			got = append(got, b...)
		}
		if len(want) == 0 {
			t.Errorf("the watermark closed no session")
		}
	case "complete":
		for _, ss := range ref.open {
			for _, s := range ss {
				want[s.g] = s.acc
			}
		}
		out := h.outBatches()
		if len(out) != 1 {
			t.Fatalf("a complete-mode memory sink holds %d batches, want the last one", len(out))
		}
		got = out[0]
	default:
		t.Fatalf("no session check for mode %q", h.cfg.mode)
	}
	etCompareGroups(t, h.cfg.mode+" sessions", etUnique(t, h.cfg.mode+" sessions", got), want)
	if h.late != nil {
		etCompareRows(t, "late-data sink", h.lateRows(), ref.late)
	}
	h.checkProgress(batches, ref.dropped)
	h.checkWatermarks(batches)
	return ref
}

// TestEventTimeSessionsAcrossBatches: rows of batch 0 form two sessions
// of a key, a row of batch 1 bridges them (touching the second: sessions
// [s1, e1) and [s2, e2) merge when s2 <= e1), a row of batch 2 extends the
// result, and the watermark then closes one session covering the rows of
// all three batches.
func TestEventTimeSessionsAcrossBatches(t *testing.T) {
	s := etSec
	h := newETHarness(t, 1, etConfig{mode: "append", late: true, delayUs: 10 * etSec, build: etSessions("10 seconds", "5 seconds")})
	// Key 1: [10, 16) and [20, 25); key 2: [12, 17).
	h.add(etRow{ts: 10 * s, key: 1, value: 1}, etRow{ts: 11 * s, key: 1, value: 2}, etRow{ts: 20 * s, key: 1, value: 3}, etRow{ts: 12 * s, key: 2, value: 100})
	h.process()
	// [15, 20) overlaps [10, 16) and touches [20, 25).
	h.add(etRow{ts: 15 * s, key: 1, value: 4})
	h.process()
	if rows := h.out.Rows(); len(rows) != 0 {
		t.Fatalf("sessions were written before the watermark passed them: %v", rows)
	}
	// Extends the session to [10, 29).
	h.add(etRow{ts: 24 * s, key: 1, value: 5})
	h.process()
	// Far ahead: the watermark becomes 90 s and closes both sessions.
	h.add(etRow{ts: 100 * s, key: 3, value: 0})
	h.process()
	h.stop()
	got := etUnique(t, "sessions", h.outBatches()[len(h.outBatches())-1])
	want := map[etGroup]etAcc{
		{start: 10 * s, end: 29 * s, key: 1}: {count: 5, n: 5, sum: 15, min: 1, max: 5},
		{start: 12 * s, end: 17 * s, key: 2}: {count: 1, n: 1, sum: 100, min: 100, max: 100},
	}
	etCompareGroups(t, "sessions closed by the last batch", got, want)
	etCheckSessions(t, h, 5*s)
}

// TestEventTimeSessionProperty compares session windows over random
// out-of-order rows, split into random batches with crashes and
// restarts, with a reference computation over the logged batches, in
// append and complete mode.
func TestEventTimeSessionProperty(t *testing.T) {
	if etIsolate(t) {
		return
	}
	for seed := uint64(1); seed <= 12; seed++ {
		rng := rand.New(rand.NewPCG(seed, 0x5e55))
		delay, delayUs := "5 seconds", 5*etSec
		if seed%2 == 0 {
			delay, delayUs = "10 seconds", 10*etSec
		}
		gap := 5 * etSec
		keys := 2 + rng.Int64N(6)
		rows := etGenerate(rng, etGenConfig{
			n: 150 + rng.IntN(150), keys: keys, step: 400_000 + rng.Int64N(400_000),
			jitter: 2 * gap, ahead: gap, veryLate: 0.05, lateBy: delayUs + 2*gap, nulls: 0.03, nullKeys: 0.02,
		})
		intKeys, parts := seed%3 == 0, 1+rng.IntN(3)
		for mi, mode := range []string{"append", "complete"} {
			t.Run(fmt.Sprintf("seed=%d/%s", seed, mode), func(t *testing.T) {
				h := newETHarness(t, seed*2+uint64(mi), etConfig{
					mode: mode, intKeys: intKeys, parts: parts, late: seed%2 == 1, delayUs: delayUs,
					faults: 0.25, restarts: 0.08, build: etSessions(delay, "5 seconds"),
				})
				h.feed(rows, 25)
				h.finish(delayUs + 3*gap)
				etCheckSessions(t, h, gap)
			})
		}
	}
}
