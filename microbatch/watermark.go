package microbatch

import (
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/sluicehq/sluice/incremental"
	"github.com/sluicehq/sluice/wal"
)

// WatermarkPolicyConf is the setting that says how the watermarks of a
// plan's several event-time watermark declarations combine into the
// query's watermark: "min" (the default: the slowest input holds the
// watermark back, so no input's rows are dropped as late because another
// input is ahead) or "max" (the fastest input drives it). It is pinned in
// the offsets log like every Config.Conf setting: the value of a
// checkpoint's first run stays in force.
const WatermarkPolicyConf = "sluice.watermark.multiplePolicy"

// The values of WatermarkPolicyConf.
const (
	WatermarkPolicyMin = "min"
	WatermarkPolicyMax = "max"
)

// watermarks tracks the event-time watermark of each watermark declaration
// of the plan (one "input" per declaration) and combines them. It is
// touched only by the loop goroutine.
type watermarks struct {
	specs []incremental.WatermarkSpec
	// useMax combines the inputs with max instead of min.
	useMax bool
	// inputMs[i] is input i's watermark, wal.NoWatermark before it has
	// seen a row; it never decreases and is never negative otherwise.
	inputMs []int64
	// lastDataAt[i] is the processing time of the last batch in which
	// input i saw rows (or the driver's start), for idle timeouts.
	lastDataAt []time.Time
}

func newWatermarks(specs []incremental.WatermarkSpec) *watermarks {
	w := &watermarks{
		specs:      specs,
		inputMs:    make([]int64, len(specs)),
		lastDataAt: make([]time.Time, len(specs)),
	}
	for i := range w.inputMs {
		w.inputMs[i] = wal.NoWatermark
	}
	return w
}

// setPolicy applies the WatermarkPolicyConf value in conf, writing the
// default into conf when it is absent so that it gets pinned.
func (w *watermarks) setPolicy(conf map[string]string) error {
	v, ok := conf[WatermarkPolicyConf]
	if !ok {
		conf[WatermarkPolicyConf] = WatermarkPolicyMin
		v = WatermarkPolicyMin
	}
	switch strings.ToLower(strings.TrimSpace(v)) {
	case WatermarkPolicyMin:
		w.useMax = false
	case WatermarkPolicyMax:
		w.useMax = true
	default:
		return fmt.Errorf("microbatch: setting %s is %q: want %q or %q; fix the query's configuration (a checkpoint keeps the value of its first run)",
			WatermarkPolicyConf, v, WatermarkPolicyMin, WatermarkPolicyMax)
	}
	return nil
}

// start sets every input's last data time to now, so that a (re)started
// driver does not consider its inputs idle at once.
func (w *watermarks) start(now time.Time) {
	for i := range w.lastDataAt {
		w.lastDataAt[i] = now
	}
}

// restore sets the inputs' watermarks from a commit entry. A nil logged
// (an entry written before the field existed, or by a plan without
// declarations) means no input has a watermark; a length that differs
// from the plan's declarations (the query changed) is ignored with a
// warning.
func (w *watermarks) restore(logged []int64, log *slog.Logger, object string) {
	switch {
	case logged == nil:
		return
	case len(logged) != len(w.specs):
		log.Warn("the checkpoint's per-input watermarks do not match the plan's watermark declarations; they are ignored and the query's watermark is kept",
			"object", object, "logged", len(logged), "declarations", len(w.specs))
		return
	}
	for i, v := range logged {
		if v < 0 {
			v = wal.NoWatermark
		}
		w.inputMs[i] = v
	}
}

// combine returns the policy's combination of the inputs that have a
// watermark, with input i's value given by value(i); ok is false when no
// input has one (inputs that never saw data do not hold the watermark
// back).
func (w *watermarks) combine(inputMs []int64, value func(i int) int64) (ms int64, ok bool) {
	for i, v := range inputMs {
		if v == wal.NoWatermark {
			continue
		}
		v = value(i)
		switch {
		case !ok:
			ms, ok = v, true
		case w.useMax && v > ms:
			ms = v
		case !w.useMax && v < ms:
			ms = v
		}
	}
	return ms, ok
}

// atTime returns the combined watermark at processing time now, with the
// watermark of each input that has been idle for its declaration's
// IdleTimeout advanced by the time since its last data (event time is
// assumed to keep pace with processing time). It returns 0 when no input
// has a watermark.
func (w *watermarks) atTime(now time.Time) int64 {
	ms, _ := w.combine(w.inputMs, func(i int) int64 {
		v := w.inputMs[i]
		if to := w.specs[i].IdleTimeout; to > 0 {
			if idle := now.Sub(w.lastDataAt[i]); idle >= to {
				v += idle.Milliseconds()
			}
		}
		return v
	})
	return max(ms, 0)
}

// observed is what a batch's event-time statistics make of the inputs'
// watermarks; apply installs it once the batch is committed.
type observed struct {
	inputMs []int64
	hasData []bool
	at      time.Time
	// globalMs is the combined watermark of inputMs (0 for none).
	globalMs int64
	// stats merges the statistics of every declaration, for progress.
	stats incremental.EventTimeStats
}

// observe folds a batch's statistics (one per declaration) into a copy of
// the inputs' watermarks. at is the batch's processing start time.
func (w *watermarks) observe(stats []incremental.EventTimeStats, at time.Time) (observed, error) {
	if len(stats) != len(w.specs) {
		return observed{}, fmt.Errorf("the plan returned %d event-time statistics for its %d watermark declarations: EventTimeStats must return one per declaration of Watermarks, in the same order",
			len(stats), len(w.specs))
	}
	o := observed{inputMs: append([]int64(nil), w.inputMs...), hasData: make([]bool, len(stats)), at: at}
	for i, s := range stats {
		if s.Count <= 0 {
			continue
		}
		o.hasData[i] = true
		o.stats.Merge(s)
		o.inputMs[i] = max(o.inputMs[i], s.MaxMs-w.specs[i].DelayMs, 0)
	}
	g, _ := w.combine(o.inputMs, func(i int) int64 { return o.inputMs[i] })
	o.globalMs = max(g, 0)
	return o, nil
}

// apply installs what observe computed.
func (w *watermarks) apply(o observed) {
	copy(w.inputMs, o.inputMs)
	for i, seen := range o.hasData {
		if seen {
			w.lastDataAt[i] = o.at
		}
	}
}
