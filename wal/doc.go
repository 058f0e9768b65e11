// Package wal implements the write-ahead logs of a streaming query's
// checkpoint: the offsets log, written before a batch runs, and the commits
// log, written after its output reached the sink, plus the checkpoint's
// metadata object. The generic Log also serves other per-batch logs, such
// as a file sink's log of the files each batch wrote.
//
// # Checkpoint layout
//
// A checkpoint is a set of objects in an objstore.Store:
//
//	metadata                        {"id":"<uuid v4>"}: the query's id (Metadata)
//	offsets/<batch id>              what batch N reads: offsets, watermark, pinned settings (OffsetEntry)
//	commits/<batch id>              batch N is done: next watermark, state versions, input watermarks (CommitEntry)
//	state/<operator>/<partition>/   state store deltas and snapshots, owned by package state
//	sources/<index>/                private metadata of source <index>, owned by that source
//
// A batch id is a non-negative int64 written zero-padded to 20 digits
// ("offsets/00000000000000000007"), so that names sort in batch order. The
// formats of metadata, offsets/ and commits/ are specified in
// docs/format/metadata.md, docs/format/offsets-log.md and
// docs/format/commits-log.md; in short, a log entry is a version line "v1"
// followed by one-line JSON (and, in the offsets log, one line per source:
// its offset as one-line JSON, or "-" when it has none yet). Every object
// ends with a newline when written; readers accept it missing.
//
// # Writing
//
// Every log entry is created once with PutIfAbsent and never rewritten.
// Log.Add of an existing entry changes nothing and fails with an error
// matching ErrBatchExists (and fs.ErrExist): for the offsets log this means
// another query owns the checkpoint, and the caller must stop. Purge and
// PurgeOld delete old entries, oldest first.
//
// # Recovery
//
// On start a driver reads the latest offsets entry N and the latest commit
// entry M (Log.Latest):
//
//   - no offsets entry (and no commit): a new query; the first batch is 0.
//   - M == N: batch N finished; the next batch is N+1, starting from the
//     offsets of entry N, with the watermark of commit N; the watermark of
//     each input (CommitEntry.InputWatermarksMs) is restored from it too.
//   - M == N-1, or no commit and N == 0: batch N was logged but did not
//     finish; re-run it with exactly the offsets, watermark, timestamp and
//     settings logged in offsets/N (starting from the offsets of entry N-1),
//     then commit it.
//   - anything else: the checkpoint is inconsistent; refuse to run.
//
// # Reading and errors
//
// Readers refuse what they do not understand rather than guess. An object
// that exists but cannot be decoded (empty, truncated, bad JSON, an unknown
// version line, an object in a log directory whose name is not a batch id)
// gives a *CorruptionError naming the object and, where it applies, the
// line; a version newer than FormatVersion gives a *CorruptionError saying
// the checkpoint was written by a newer Sluice. A missing entry gives an
// error wrapping fs.ErrNotExist. Errors start with "wal: ". Decoders never
// panic, whatever the bytes.
//
// A Log keeps no state between calls; it is safe for concurrent use when
// its store is.
package wal
