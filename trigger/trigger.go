package trigger

import (
	"fmt"
	"time"
)

// Kind says which trigger a query runs with.
type Kind int

const (
	// KindProcessingTime starts a batch at every multiple of the interval.
	KindProcessingTime Kind = iota
	// KindOnce runs one batch of everything available, then stops.
	KindOnce
	// KindAvailableNow drains everything available at start, in as many
	// batches as the sources' rate limits require, then stops.
	KindAvailableNow
)

func (k Kind) String() string {
	switch k {
	case KindProcessingTime:
		return "ProcessingTime"
	case KindOnce:
		return "Once"
	case KindAvailableNow:
		return "AvailableNow"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Trigger says when a query runs its micro-batches. The zero Trigger is
// ProcessingTime(0): batches back to back, as fast as possible.
type Trigger struct {
	kind     Kind
	interval time.Duration
}

// ProcessingTime runs a batch at every multiple of interval since the Unix
// epoch (so queries with the same interval fire together). If a batch takes
// longer than the interval, the next one starts at the next multiple after
// it ends; intervals are skipped, never queued. Zero means as fast as
// possible. It panics if interval is negative.
func ProcessingTime(interval time.Duration) Trigger {
	if interval < 0 {
		panic(fmt.Sprintf("trigger: negative ProcessingTime interval %v", interval))
	}
	return Trigger{kind: KindProcessingTime, interval: interval}
}

// Once runs a single batch over everything available at start, ignoring
// rate limits, then stops. Prefer AvailableNow, which honours them.
func Once() Trigger { return Trigger{kind: KindOnce} }

// AvailableNow processes everything available when the query starts, in
// several batches if sources limit rows per batch, then stops.
func AvailableNow() Trigger { return Trigger{kind: KindAvailableNow} }

// Kind returns the trigger's kind.
func (t Trigger) Kind() Kind { return t.kind }

// Interval returns the ProcessingTime interval (0 for the other kinds).
func (t Trigger) Interval() time.Duration { return t.interval }

// Terminates reports whether the query stops by itself when done.
func (t Trigger) Terminates() bool { return t.kind != KindProcessingTime }

func (t Trigger) String() string {
	if t.kind == KindProcessingTime {
		return fmt.Sprintf("ProcessingTime(%v)", t.interval)
	}
	return t.kind.String()
}

// NextBatchTime returns when the batch after one that started at start
// should begin, for a ProcessingTime trigger: the first multiple of the
// interval (counted from the Unix epoch) strictly after start. With a zero
// interval it returns start.
func (t Trigger) NextBatchTime(start time.Time) time.Time {
	if t.interval <= 0 {
		return start
	}
	n := start.UnixNano()
	iv := int64(t.interval)
	next := (n/iv + 1) * iv
	return time.Unix(0, next)
}
