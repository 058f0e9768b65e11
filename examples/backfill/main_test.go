package main

import (
	"bytes"
	"context"
	"regexp"
	"strconv"
	"testing"
)

// The example drains its backlog in several batches and stops by itself;
// a second run over the same folders resumes instead of starting over.
func TestBackfillRuns(t *testing.T) {
	dir := t.TempDir()
	var out bytes.Buffer
	args := []string{"-out", dir, "-backlog", "10s", "-rows-per-second", "100", "-max-rows-per-trigger", "300"}
	if err := run(context.Background(), args, &out); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	m := regexp.MustCompile(`caught up: (\d+) rows in (\d+) batches`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("unexpected output: %s", out.String())
	}
	rows, _ := strconv.Atoi(m[1])
	batches, _ := strconv.Atoi(m[2])
	if rows < 1000 || batches < 4 {
		t.Fatalf("first run processed %d rows in %d batches; want >= 1000 rows in >= 4 batches", rows, batches)
	}
	out.Reset()
	if err := run(context.Background(), args, &out); err != nil {
		t.Fatalf("second run: %v", err)
	}
	m = regexp.MustCompile(`caught up: (\d+) rows`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("unexpected output: %s", out.String())
	}
	if again, _ := strconv.Atoi(m[1]); again >= rows {
		t.Fatalf("second run processed %d rows, first %d: it should resume, not start over", again, rows)
	}
}
