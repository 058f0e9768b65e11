package dataframe_test

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/dataframe"
	"github.com/sluicehq/sluice/state"
	"github.com/sluicehq/sluice/wal"
)

// etTumbling groups by a tumbling 10-second window and the key, with a
// watermark delay of 5 seconds.
func etTumbling(df *dataframe.DataFrame) *dataframe.DataFrame {
	return df.WithWatermark("ts", "5 seconds").
		GroupBy(dataframe.Window(dataframe.Col("ts"), "10 seconds"), dataframe.Col("key")).Agg(etAggs()...)
}

// etPartObjects are the versions of a state partition's deltas and
// snapshots in the checkpoint.
type etPartObjects struct{ deltas, snapshots []int64 }

// stateObjects lists the state objects of the checkpoint by
// "<operator>/<partition>".
func (h *etHarness) stateObjects() map[string]*etPartObjects {
	h.t.Helper()
	names, err := h.inner.List(h.ctx, state.Dir+"/")
	if err != nil {
		h.t.Fatal(err)
	}
	out := map[string]*etPartObjects{}
	for _, name := range names {
		parts := strings.Split(name, "/")
		if len(parts) != 4 {
			h.t.Fatalf("state object %q is not state/<operator>/<partition>/<version>.<kind>", name)
		}
		base, kind, _ := strings.Cut(parts[3], ".")
		v, err := strconv.ParseInt(base, 10, 64)
		if err != nil {
			h.t.Fatalf("state object %q: %v", name, err)
		}
		dir := parts[1] + "/" + parts[2]
		p := out[dir]
		if p == nil {
			p = &etPartObjects{}
			out[dir] = p
		}
		switch kind {
		case "delta":
			p.deltas = append(p.deltas, v)
		case "snapshot":
			p.snapshots = append(p.snapshots, v)
		default:
			h.t.Fatalf("state object %q is neither a delta nor a snapshot", name)
		}
	}
	return out
}

func etRange(from, to, step int64) []int64 {
	var out []int64
	for v := from; v <= to; v += step {
		out = append(out, v)
	}
	return out
}

// etSteadyRows makes n rows a chunk's worth apart: event times rising by
// about 0.4 s a row with a little disorder, over 6 keys.
func etSteadyRows(rng *rand.Rand, from int64, n int) []etRow {
	rows := make([]etRow, n)
	for i := range rows {
		ts := from + int64(i)*400_000 + rng.Int64N(3*etSec)
		rows[i] = etRow{ts: ts, key: 1 + rng.Int64N(6), value: rng.Int64N(100)}
	}
	return rows
}

// TestEventTimeStatePurgeAndRecovery runs 40 and more batches of a
// windowed aggregation with MinBatchesToRetain(5) and two state
// partitions, checks that the state objects and log entries that recovery
// of the retained versions no longer needs are gone and the others are
// there, then continues on a new query (new state provider, rebuilt from
// the checkpoint) and compares everything written with the reference.
// Without purging (the default retention), a new query every few batches
// rebuilds its state from the checkpoint and the results stay right.
func TestEventTimeStatePurgeAndRecovery(t *testing.T) {
	for _, retain := range []int{5, 0} {
		t.Run(fmt.Sprintf("retain=%d", retain), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(retain), 7))
			h := newETHarness(t, 1, etConfig{mode: "update", parts: 2, retain: retain, delayUs: 5 * etSec, build: etTumbling})
			next := 1000 * etSec
			step := func() {
				h.add(etSteadyRows(rng, next, 8)...)
				next += 8 * 400_000
				h.process()
			}
			for i := 0; ; i++ {
				step()
				if h.q.LastBatchID() >= 40 {
					break
				}
				if retain == 0 && i%4 == 3 {
					h.restart()
				}
			}
			h.stop()
			last := h.q.LastBatchID()
			objs := h.stateObjects()
			if len(objs) != 2 {
				t.Fatalf("state has partitions %v, want 2 of one operator", slices.Sorted(maps.Keys(objs)))
			}
			// The driver purged at the last multiple of 10, keeping the
			// state that recovers versions from purgedAt-retain+1 on:
			// from the newest snapshot at or below that version.
			keepFrom, oldestSnapshot := int64(0), int64(state.DefaultSnapshotInterval)
			if retain > 0 {
				purgedAt := last - last%10
				minVersion := purgedAt - int64(retain) + 1
				keepFrom = minVersion - minVersion%int64(state.DefaultSnapshotInterval)
				oldestSnapshot = keepFrom
				ids, err := wal.NewOffsetLog(h.inner).BatchIDs(h.ctx)
				if err != nil {
					t.Fatal(err)
				}
				if want := etRange(minVersion, last, 1); !slices.Equal(ids, want) {
					t.Errorf("offsets log holds batches %v, want %v (purged at batch %d, keeping %d)", ids, want, purgedAt, retain)
				}
			} else {
				keepFrom = -1
			}
			wantDeltas := etRange(keepFrom+1, last, 1)
			wantSnapshots := etRange(oldestSnapshot, last, int64(state.DefaultSnapshotInterval))
			for dir, p := range objs {
				if !slices.Equal(p.deltas, wantDeltas) {
					t.Errorf("state/%s holds deltas %v, want %v (last version %d, retaining %d batches)", dir, p.deltas, wantDeltas, last, retain)
				}
				if !slices.Equal(p.snapshots, wantSnapshots) {
					t.Errorf("state/%s holds snapshots %v, want %v (last version %d, retaining %d batches)", dir, p.snapshots, wantSnapshots, last, retain)
				}
			}
			// A new query recovers the state from what is left.
			h.start()
			for range 10 {
				step()
			}
			h.finish(30 * etSec)
			etCheckWindows(t, h, 10*etSec, 10*etSec)
		})
	}
}

// TestEventTimeProgress checks the state operator metrics and the event
// time of each batch's progress in a fixed case.
func TestEventTimeProgress(t *testing.T) {
	h := newETHarness(t, 1, etConfig{mode: "update", parts: 3, delayUs: 5 * etSec, build: etTumbling})
	s := etSec
	// Batch 0 (watermark 0): groups [0,10) k1, [0,10) k2, [10,20) k1.
	h.add(etRow{ts: 1 * s, key: 1, value: 1}, etRow{ts: 2 * s, key: 2, value: 2}, etRow{ts: 3 * s, key: 1, value: 3}, etRow{ts: 12 * s, key: 1, value: 4})
	h.process()
	// Batch 1 (watermark 7 s) adds [20,30) k3 and, at its end, evicts
	// with the watermark its own rows give the next batch (20 s) the
	// three groups ending by 20 s, so no no-data batch is needed.
	h.add(etRow{ts: 25 * s, key: 3, value: 5})
	h.process()
	h.stop()
	type want struct {
		rows                    int64
		total, updated, removed int64
		watermark, min, max     string
	}
	wants := []want{
		{4, 3, 3, 0, "1970-01-01T00:00:00.000Z", "1970-01-01T00:00:01.000Z", "1970-01-01T00:00:12.000Z"},
		{1, 1, 1, 3, "1970-01-01T00:00:07.000Z", "1970-01-01T00:00:25.000Z", "1970-01-01T00:00:25.000Z"},
	}
	reports := h.progressByBatch()
	if len(reports) != len(wants) {
		t.Fatalf("%d batches ran, want %d: %v", len(reports), len(wants), reports)
	}
	for id, w := range wants {
		p := reports[int64(id)]
		if p.NumInputRows != w.rows {
			t.Errorf("batch %d: numInputRows %d, want %d", id, p.NumInputRows, w.rows)
		}
		if len(p.StateOperators) != 1 {
			t.Errorf("batch %d: %d state operators, want 1", id, len(p.StateOperators))
			continue
		}
		op := p.StateOperators[0]
		if op.NumRowsTotal != w.total || op.NumRowsUpdated != w.updated || op.NumRowsRemoved != w.removed {
			t.Errorf("batch %d: state rows total/updated/removed %d/%d/%d, want %d/%d/%d",
				id, op.NumRowsTotal, op.NumRowsUpdated, op.NumRowsRemoved, w.total, w.updated, w.removed)
		}
		if op.MemoryUsedBytes <= 0 {
			t.Errorf("batch %d: memoryUsedBytes %d, want > 0 with %d rows in state", id, op.MemoryUsedBytes, op.NumRowsTotal)
		}
		if op.NumStatePartitions != 3 || op.OperatorName == "" || op.NumRowsDroppedByWatermark != 0 {
			t.Errorf("batch %d: state operator %+v, want a named operator with 3 partitions and no rows dropped", id, op)
		}
		et := p.EventTime
		if et["watermark"] != w.watermark || et["min"] != w.min || et["max"] != w.max {
			t.Errorf("batch %d: eventTime %v, want watermark %s, min %q, max %q", id, et, w.watermark, w.min, w.max)
		}
	}
	// Update mode writes the groups each batch changed.
	out := h.outBatches()
	counts := []int{}
	for _, b := range out {
		counts = append(counts, len(b))
	}
	if !slices.Equal(counts, []int{3, 1}) {
		t.Errorf("update mode wrote %v rows per batch, want [3 1]", counts)
	}
	etCheckWindows(t, h, 10*s, 10*s)
}
