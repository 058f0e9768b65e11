// Package trigger defines when a streaming query runs its micro-batches:
// ProcessingTime(d) at every multiple of d (zero: back to back), Once (one
// batch, then stop) and AvailableNow (drain what is available at start,
// honouring rate limits, then stop).
//
// A Trigger is a value; the driver in package microbatch interprets it.
// NextBatchTime holds the alignment rule so it can be tested on its own.
package trigger
