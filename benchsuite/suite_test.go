package benchsuite

import (
	"runtime"
	"testing"
)

// Measure reports the peak memory of what it measures, not of the
// process's earlier work.
func TestMeasurePeakRSSIsPerRun(t *testing.T) {
	var keep []byte
	big, err := Measure(func() error {
		keep = make([]byte, 200<<20)
		for i := 0; i < len(keep); i += 4096 {
			keep[i] = 1
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	runtime.KeepAlive(keep)
	keep = nil
	small, err := Measure(func() error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	if big.PeakRSS < 200<<20 {
		t.Errorf("a 200 MB run reported a peak of %d MB", big.PeakRSS>>20)
	}
	if small.PeakRSS >= big.PeakRSS-100<<20 {
		t.Errorf("an empty run after it reported %d MB, the 200 MB run %d MB: the peak was not reset", small.PeakRSS>>20, big.PeakRSS>>20)
	}
}
