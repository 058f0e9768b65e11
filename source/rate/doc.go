// Package rate is a Source that generates rows at a fixed rate, like Spark's
// rate source: for load tests, demos and examples that need an endless,
// replayable input without any external system.
//
// # Rows
//
// The schema is
//
//	timestamp  timestamp[us, tz=UTC]  not null
//	value      int64                  not null
//
// Row i (counting from 0) has value i and timestamp
//
//	start + floor(i * 1e6 / rowsPerSecond) microseconds
//
// computed in integer arithmetic, so a row is a pure function of its
// number, the start time and the rate: the same (start, end] gives the same
// rows in every run. Read builds records of at most 65536 rows directly with
// Arrow builders, with the allocator it is given.
//
// # Offsets and pacing
//
// The offset is JSON {"row":N}: rows [0, N) have been offered. At time now,
// rows [0, floor((now - start) * rowsPerSecond)) are due, and LatestOffset
// returns the smaller of that and start plus the read limit, never less
// than start. WithMaxRowsPerTrigger sets the read limit the driver uses when
// the query gives none (see source.RateLimiter).
//
// # Start time and checkpoints
//
// With a checkpoint, Init keeps the start time and the rate in the object
// "rate-start" of the source's checkpoint folder, as JSON
// {"startTimeMs":1767225600000,"rowsPerSecond":10}. The first run creates it
// with PutIfAbsent (the start is WithStartTime's, or the time of Init) and
// every later run reads it back, so the start time of a checkpoint never
// moves and replayed batches get identical timestamps. For the same reason
// the rate of an existing checkpoint cannot change: Init refuses a
// different WithRowsPerSecond with an error (start a new checkpoint to
// change the rate). WithStartTime matters only when the checkpoint has no
// start yet: starting an hour ago makes the first batches catch up with an
// hour of rows (a backfill). Without a checkpoint (no Init), the start is
// WithStartTime, or else the time of the first call. Start times are kept
// to the millisecond.
//
// # Capabilities
//
// Source implements source.Initializer, source.RateLimiter,
// source.AvailableNower (PrepareForAvailableNow caps LatestOffset at the
// rows due at that moment) and source.Describer
// ("RateSource[rowsPerSecond=10]"). All methods are safe for concurrent use.
package rate
