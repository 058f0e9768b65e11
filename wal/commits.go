package wal

import "github.com/sluicehq/sluice/objstore"

// CommitsDir is the directory of the commits log in a checkpoint.
const CommitsDir = "commits"

// NoWatermark is the value of an InputWatermarksMs element for an input
// that has no watermark yet (it has seen no rows with an event time).
const NoWatermark int64 = -1

// CommitEntry is one entry of the commits log, written after a batch's
// output reached the sink: the batch is done.
type CommitEntry struct {
	// NextBatchWatermarkMs is the watermark the next batch runs with, in
	// milliseconds since the Unix epoch.
	NextBatchWatermarkMs int64 `json:"nextBatchWatermarkMs"`
	// StateVersions maps each stateful operator to the state version the
	// batch wrote.
	StateVersions map[string]int64 `json:"stateVersions,omitempty"`
	// InputWatermarksMs holds, after this batch, the watermark of each
	// event-time watermark declaration of the plan, in the plan's order,
	// in milliseconds since the Unix epoch; NoWatermark (-1) for a
	// declaration that has no watermark yet. The driver combines them into
	// NextBatchWatermarkMs and restores them on restart, so that a
	// restarted query combines the same values. Absent (nil) in entries of
	// queries without watermark declarations and in entries written
	// before the field existed: every input then has no watermark yet.
	InputWatermarksMs []int64 `json:"inputWatermarksMs,omitempty"`
}

// NewCommitLog returns the commits log of the checkpoint in store: objects
// "commits/<batch id>" holding "v1" and the entry as one-line JSON (see
// docs/format/commits-log.md).
func NewCommitLog(store objstore.Store) *Log[CommitEntry] {
	return NewLog[CommitEntry](store, CommitsDir, JSONCodec[CommitEntry]{})
}
