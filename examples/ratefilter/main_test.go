package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// The example runs briefly and prints at least one batch table.
func TestRateFilterRuns(t *testing.T) {
	var out bytes.Buffer
	args := []string{"-duration", "1500ms", "-trigger", "200ms", "-rows-per-second", "50", "-checkpoint", t.TempDir()}
	if err := run(context.Background(), args, &out); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	s := out.String()
	if !strings.Contains(s, "Batch: ") || !strings.Contains(s, "|reading") || !strings.Contains(s, "stopped after batch") {
		t.Fatalf("unexpected output:\n%s", s)
	}
}
