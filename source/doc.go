// Package source defines the contract every streaming input of Sluice
// implements: a replayable sequence of Arrow record batches addressed by
// offsets that the source chooses (JSON text).
//
// The driver asks a source for its latest offset (bounded by a ReadLimit),
// logs the range in the checkpoint's offsets log before reading it, and
// reads (start, end] as record batches. Because the same offsets must give
// the same rows after a restart, the driver can re-run an unfinished batch
// and the output stays exactly-once.
//
// Optional capabilities, discovered by type assertion as in
// database/sql/driver: Initializer (a private folder in the checkpoint),
// Committer (data up to an offset may be discarded), RateLimiter (a default
// per-batch cap), AvailableNower (pin the backlog for Trigger.AvailableNow)
// and Describer (a name for progress reports).
//
// Implementations: source/memory (tests), source/rate (generated rows).
package source
