package benchsuite

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"text/tabwriter"
	"time"
)

// Config is what a workload run gets.
type Config struct {
	// Events is how many input events to generate (the workload's
	// default when 0).
	Events int64
	// Dir is a scratch directory for checkpoints and output.
	Dir string
	// Logf receives progress lines (may be nil).
	Logf func(format string, args ...any)
}

// Result is one workload run, with the fields `sluice bench --json`
// prints.
type Result struct {
	Workload       string  `json:"workload"`
	Events         int64   `json:"events"`
	WallS          float64 `json:"wall_s"`
	CPUS           float64 `json:"cpu_s"`
	EventsPerS     float64 `json:"events_per_s"`
	EventsPerCoreS float64 `json:"events_per_core_s"`
	PeakRSSBytes   int64   `json:"peak_rss_bytes"`
	Checksum       string  `json:"checksum"`
	// BaselineEventsPerS is the hand-written loop's rate over the same
	// data, 0 when the workload has none.
	BaselineEventsPerS float64 `json:"baseline_events_per_s"`
	// Extra holds workload-specific figures (latency percentiles, the
	// generator's rate alone, ...).
	Extra map[string]float64 `json:"extra,omitempty"`
}

// Workload is a named benchmark.
type Workload struct {
	Name          string
	Description   string
	DefaultEvents int64
	// Run runs the workload and returns its result; Measure fills the
	// timing fields of what it times.
	Run func(ctx context.Context, cfg Config) (Result, error)
}

var (
	mu        sync.Mutex
	workloads = map[string]Workload{}
)

// Register adds w; a duplicate name panics (a programming error).
func Register(w Workload) {
	mu.Lock()
	defer mu.Unlock()
	if _, dup := workloads[w.Name]; dup {
		panic("benchsuite: workload " + w.Name + " registered twice")
	}
	workloads[w.Name] = w
}

// Lookup returns the workload called name.
func Lookup(name string) (Workload, bool) {
	mu.Lock()
	defer mu.Unlock()
	w, ok := workloads[name]
	return w, ok
}

// Names lists the registered workloads, sorted.
func Names() []string {
	mu.Lock()
	defer mu.Unlock()
	out := make([]string, 0, len(workloads))
	for n := range workloads {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Timing is what Measure records.
type Timing struct {
	Wall time.Duration
	CPU  time.Duration
	// PeakRSS is the process's peak resident set size so far, in bytes.
	PeakRSS int64
}

// Measure runs fn and returns its wall and CPU time (user + system of the
// whole process) and the peak RSS while it ran: on Linux the peak is reset
// before fn (/proc/self/clear_refs), so workloads run one after another in
// one process each report their own; elsewhere it is the process's peak.
func Measure(fn func() error) (Timing, error) {
	resetPeakRSS()
	c0 := cpuTime()
	t0 := time.Now()
	err := fn()
	wall := time.Since(t0)
	cpu := cpuTime() - c0
	return Timing{Wall: wall, CPU: cpu, PeakRSS: peakRSS()}, err
}

// Fill sets r's timing fields from t for events events.
func (r *Result) Fill(events int64, t Timing) {
	r.Events = events
	r.WallS = t.Wall.Seconds()
	r.CPUS = t.CPU.Seconds()
	if r.WallS > 0 {
		r.EventsPerS = float64(events) / r.WallS
	}
	if r.CPUS > 0 {
		r.EventsPerCoreS = float64(events) / r.CPUS
	}
	r.PeakRSSBytes = t.PeakRSS
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// resetPeakRSS returns freed memory to the system and resets the kernel's record of the process's peak RSS
// (Linux 4.0 and later); failures are ignored.
func resetPeakRSS() {
	debug.FreeOSMemory() // give back what earlier work left, so RSS falls first
	_ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
}

func peakRSS() int64 {
	if b, err := os.ReadFile("/proc/self/status"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
				f := strings.Fields(rest)
				if len(f) >= 1 {
					if kb, err := strconv.ParseInt(f[0], 10, 64); err == nil {
						return kb * 1024
					}
				}
			}
		}
	}
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Maxrss * 1024 // kilobytes on Linux
}

// WriteTable prints results as one aligned table.
func WriteTable(w io.Writer, rs []Result) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "workload\tevents\twall s\tCPU s\tevents/s\tevents/s/core\tpeak RSS MB\tchecksum\tbaseline events/s\tratio\t")
	for _, r := range rs {
		base, ratio := "-", "-"
		if r.BaselineEventsPerS > 0 {
			base = fmt.Sprintf("%.3gM", r.BaselineEventsPerS/1e6)
			ratio = fmt.Sprintf("%.2f", r.EventsPerS/r.BaselineEventsPerS)
		}
		fmt.Fprintf(tw, "%s\t%d\t%.2f\t%.2f\t%.3gM\t%.3gM\t%d\t%s\t%s\t%s\t\n", r.Workload, r.Events, r.WallS, r.CPUS,
			r.EventsPerS/1e6, r.EventsPerCoreS/1e6, r.PeakRSSBytes>>20, r.Checksum, base, ratio)
	}
	return tw.Flush()
}

// WriteJSON prints one JSON object per result, one per line.
func WriteJSON(w io.Writer, rs []Result) error {
	enc := json.NewEncoder(w)
	for _, r := range rs {
		if err := enc.Encode(r); err != nil {
			return err
		}
	}
	return nil
}
