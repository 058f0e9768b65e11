package wal

import "github.com/sluicehq/sluice/objstore"

// CommitsDir is the directory of the commits log in a checkpoint.
const CommitsDir = "commits"

// CommitEntry is one entry of the commits log, written after a batch's
// output reached the sink: the batch is done.
type CommitEntry struct {
	// NextBatchWatermarkMs is the watermark the next batch runs with, in
	// milliseconds since the Unix epoch.
	NextBatchWatermarkMs int64 `json:"nextBatchWatermarkMs"`
	// StateVersions maps each stateful operator to the state version the
	// batch wrote.
	StateVersions map[string]int64 `json:"stateVersions,omitempty"`
}

// NewCommitLog returns the commits log of the checkpoint in store: objects
// "commits/<batch id>" holding "v1" and the entry as one-line JSON (see
// docs/format/commits-log.md).
func NewCommitLog(store objstore.Store) *Log[CommitEntry] {
	return NewLog[CommitEntry](store, CommitsDir, JSONCodec[CommitEntry]{})
}
