package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/benchsuite"
)

// Two workloads of the test binary only: one that succeeds with fixed
// figures and one that fails.
func init() {
	benchsuite.Register(benchsuite.Workload{Name: "zz-cli-ok", Run: func(_ context.Context, cfg benchsuite.Config) (benchsuite.Result, error) {
		if cfg.Dir == "" {
			return benchsuite.Result{}, errors.New("no scratch folder")
		}
		return benchsuite.Result{Workload: "zz-cli-ok", Events: cfg.Events, WallS: 2, EventsPerS: float64(cfg.Events) / 2, Checksum: "abc"}, nil
	}})
	benchsuite.Register(benchsuite.Workload{Name: "zz-cli-fail", Run: func(context.Context, benchsuite.Config) (benchsuite.Result, error) {
		return benchsuite.Result{}, errors.New("zz-cli-fail: broken on purpose")
	}})
}

// issueFields are the JSON fields issue 7 names for `sluice bench --json`.
var issueFields = []string{"workload", "events", "wall_s", "cpu_s", "events_per_s", "events_per_core_s", "peak_rss_bytes", "checksum", "baseline_events_per_s"}

// `sluice bench ysb ysb-json --json` prints one JSON object per workload
// with the issue's fields; both count the same events, so their checksums
// agree.
func TestBenchJSON(t *testing.T) {
	var stdout, stderr bytes.Buffer
	args := []string{"bench", "ysb", "--events", "200000", "ysb-json", "--json", "--dir", t.TempDir()}
	if code := run(context.Background(), args, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	var objs []map[string]any
	sc := bufio.NewScanner(&stdout)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("stdout line %q is not JSON: %v", sc.Text(), err)
		}
		objs = append(objs, m)
	}
	if len(objs) != 2 {
		t.Fatalf("%d JSON lines, want 2:\n%s", len(objs), stdout.String())
	}
	for i, name := range []string{"ysb", "ysb-json"} {
		m := objs[i]
		for _, f := range issueFields {
			if _, ok := m[f]; !ok {
				t.Fatalf("line %d has no field %q: %v", i, f, m)
			}
		}
		if m["workload"] != name || m["events"] != 200000.0 || m["events_per_s"].(float64) <= 0 || m["baseline_events_per_s"].(float64) <= 0 || m["peak_rss_bytes"].(float64) <= 0 {
			t.Fatalf("line %d: %v", i, m)
		}
	}
	if objs[0]["checksum"] != objs[1]["checksum"] || len(objs[0]["checksum"].(string)) != 16 {
		t.Fatalf("checksums %v and %v; want the same 16 hex digits", objs[0]["checksum"], objs[1]["checksum"])
	}
	if !strings.Contains(stderr.String(), "bench: ysb: generated 200000 events") {
		t.Fatalf("stderr has no progress lines: %s", stderr.String())
	}
}

// Without --json the results are one table: a header and a row per
// workload.
func TestBenchTable(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"bench", "ysb", "--events=100000"}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	lines := strings.Split(strings.TrimRight(stdout.String(), "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("table has %d lines, want a header and one row:\n%s", len(lines), stdout.String())
	}
	for _, h := range []string{"workload", "events/s/core", "peak RSS MB", "checksum", "baseline events/s", "ratio"} {
		if !strings.Contains(lines[0], h) {
			t.Fatalf("header %q has no %q", lines[0], h)
		}
	}
	if f := strings.Fields(lines[1]); f[0] != "ysb" || f[1] != "100000" || f[len(f)-1] == "-" {
		t.Fatalf("row %q: want ysb, 100000 events and a ratio", lines[1])
	}
}

// A failed workload makes the exit code 1 and is named on stderr; the
// others still run and print.
func TestBenchFailedWorkload(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"bench", "zz-cli-fail", "zz-cli-ok", "--events", "10"}, &stdout, &stderr)
	if code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	if !strings.Contains(stderr.String(), "workload zz-cli-fail failed: zz-cli-fail: broken on purpose") ||
		!strings.Contains(stderr.String(), "sluice: bench: failed: zz-cli-fail") {
		t.Fatalf("stderr: %s", stderr.String())
	}
	if !strings.Contains(stdout.String(), "zz-cli-ok") || strings.Contains(stdout.String(), "zz-cli-fail") {
		t.Fatalf("stdout: %s", stdout.String())
	}
}

// Unknown names list the registered workloads; no name is a usage error.
func TestBenchUsage(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"bench", "ysb", "nope"}, &stdout, &stderr); code != 1 {
		t.Fatalf("unknown workload: exit %d, want 1", code)
	}
	if !strings.Contains(stderr.String(), `unknown workload "nope"; the workloads are `) || !strings.Contains(stderr.String(), "ysb, ysb-json") || stdout.Len() != 0 {
		t.Fatalf("unknown workload: stdout %q, stderr %q", stdout.String(), stderr.String())
	}
	stderr.Reset()
	if code := run(context.Background(), []string{"bench", "--json"}, &stdout, &stderr); code != 2 {
		t.Fatalf("no workload: exit %d, want 2", code)
	}
	if !strings.Contains(stderr.String(), "name a workload, or all") {
		t.Fatalf("no workload: stderr %q", stderr.String())
	}
	if code := run(context.Background(), []string{"bench", "ysb", "--events", "-5"}, &stdout, &stderr); code != 1 ||
		!strings.Contains(stderr.String(), "--events is -5") {
		t.Fatalf("negative events: exit %d, stderr %q", code, stderr.String())
	}
}

// all is every registered workload, in name order, each once.
func TestBenchAll(t *testing.T) {
	ws, err := benchWorkloads([]string{"zz-cli-ok", "all", "ysb"})
	if err != nil {
		t.Fatal(err)
	}
	names := benchsuite.Names()
	if len(ws) != len(names) || ws[0].Name != "zz-cli-ok" {
		t.Fatalf("got %d workloads starting with %q, want the %d registered, zz-cli-ok first", len(ws), ws[0].Name, len(names))
	}
	seen := map[string]bool{}
	for _, w := range ws {
		if seen[w.Name] {
			t.Fatalf("%s twice", w.Name)
		}
		seen[w.Name] = true
	}
	if !seen["ysb"] || !seen["ysb-json"] || !seen["zz-cli-fail"] {
		t.Fatalf("all gave %v", seen)
	}
}
