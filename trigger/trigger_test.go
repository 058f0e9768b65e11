package trigger

import (
	"testing"
	"time"
)

func TestNextBatchTime(t *testing.T) {
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	cases := []struct {
		interval time.Duration
		start    time.Time
		want     time.Time
	}{
		{time.Second, base, base.Add(time.Second)},
		{time.Second, base.Add(300 * time.Millisecond), base.Add(time.Second)},
		{time.Second, base.Add(999 * time.Millisecond), base.Add(time.Second)},
		{10 * time.Second, base.Add(13 * time.Second), base.Add(20 * time.Second)},
		{100 * time.Millisecond, base.Add(250 * time.Millisecond), base.Add(300 * time.Millisecond)},
		{0, base.Add(7 * time.Millisecond), base.Add(7 * time.Millisecond)},
	}
	for _, c := range cases {
		got := ProcessingTime(c.interval).NextBatchTime(c.start)
		if !got.Equal(c.want) {
			t.Errorf("ProcessingTime(%v).NextBatchTime(%v) = %v, want %v", c.interval, c.start, got, c.want)
		}
	}
}

func TestKinds(t *testing.T) {
	var zero Trigger
	if zero.Kind() != KindProcessingTime || zero.Interval() != 0 || zero.Terminates() {
		t.Fatalf("zero trigger is %v; want ProcessingTime(0)", zero)
	}
	if !Once().Terminates() || !AvailableNow().Terminates() {
		t.Fatal("Once and AvailableNow must terminate")
	}
	if s := ProcessingTime(time.Second).String(); s != "ProcessingTime(1s)" {
		t.Fatalf("String() = %q", s)
	}
	if s := AvailableNow().String(); s != "AvailableNow" {
		t.Fatalf("String() = %q", s)
	}
}

func TestNegativeIntervalPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("ProcessingTime(-1s) did not panic")
		}
	}()
	ProcessingTime(-time.Second)
}
