package incremental

import "time"

// This file holds the types a Pipeline shares with the micro-batch driver
// that runs it: what the driver tells the plan about a batch, and what the
// plan reports back about event time and state. The driver (package
// microbatch) aliases them, so a Pipeline satisfies its optional
// interfaces directly.

// BatchInfo identifies the batch being run.
type BatchInfo struct {
	// BatchID is the batch's id in the offsets and commit logs.
	BatchID int64
	// WatermarkMs is the event-time watermark the batch runs with, in
	// milliseconds since the Unix epoch (0 before any watermark). Stateful
	// operators drop rows it makes late, and emit and evict the windows it
	// closes.
	WatermarkMs int64
	// EvictWatermarkMs, given to EndBatch, is the watermark the next
	// batch will run with: WatermarkMs advanced by this batch's own event
	// times, known once all its rows went through. Every row it will make
	// late has been seen, so an aggregation emits and evicts the windows
	// it closes in this batch rather than the next one, one batch sooner
	// (the rows a window holds are the same). Zero, or below WatermarkMs,
	// means WatermarkMs.
	EvictWatermarkMs int64
	// TimestampMs is the batch's logged processing time.
	TimestampMs int64
	// Conf holds the query's settings after pinning from the checkpoint
	// (for example state.NumPartitionsConf).
	Conf map[string]string
}

// WatermarkSpec describes one watermark declaration of a plan
// (DataFrame.WithWatermark): the event-time column it watches and how far
// behind the maximum event time the watermark trails.
type WatermarkSpec struct {
	// Column is the event-time column's name.
	Column string
	// DelayMs is the delay: the input's watermark is its maximum event
	// time minus DelayMs.
	DelayMs int64
	// IdleTimeout, when positive, lets the input's watermark advance with
	// processing time once it has received no rows for that long, so
	// windows still close when the stream goes quiet. Zero disables it.
	IdleTimeout time.Duration
}

// EventTimeStats summarises the event times of the rows one watermark
// declaration saw in a batch, in milliseconds since the Unix epoch. Rows
// with a null event time are not counted.
type EventTimeStats struct {
	Count int64
	MinMs int64
	MaxMs int64
	SumMs float64
}

// Add folds one event time into s.
func (s *EventTimeStats) Add(ms int64) {
	if s.Count == 0 || ms < s.MinMs {
		s.MinMs = ms
	}
	if s.Count == 0 || ms > s.MaxMs {
		s.MaxMs = ms
	}
	s.Count++
	s.SumMs += float64(ms)
}

// Merge folds o into s.
func (s *EventTimeStats) Merge(o EventTimeStats) {
	if o.Count == 0 {
		return
	}
	if s.Count == 0 || o.MinMs < s.MinMs {
		s.MinMs = o.MinMs
	}
	if s.Count == 0 || o.MaxMs > s.MaxMs {
		s.MaxMs = o.MaxMs
	}
	s.Count += o.Count
	s.SumMs += o.SumMs
}

// StateOperatorMetrics reports one stateful operator's state after a
// batch, summed over its state partitions, with Spark's field names.
type StateOperatorMetrics struct {
	OperatorName              string `json:"operatorName"`
	NumRowsTotal              int64  `json:"numRowsTotal"`
	NumRowsUpdated            int64  `json:"numRowsUpdated"`
	NumRowsRemoved            int64  `json:"numRowsRemoved"`
	MemoryUsedBytes           int64  `json:"memoryUsedBytes"`
	CommitTimeMs              int64  `json:"commitTimeMs"`
	NumRowsDroppedByWatermark int64  `json:"numRowsDroppedByWatermark"`
	NumStatePartitions        int    `json:"numStateStoreInstances"`
	AllUpdatesTimeMs          int64  `json:"allUpdatesTimeMs"`
	AllRemovalsTimeMs         int64  `json:"allRemovalsTimeMs"`
}
