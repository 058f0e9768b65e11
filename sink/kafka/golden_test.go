package kafka_test

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/sink/kafka"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// TestGoldenMarkerMetadata pins the metadata committed with the marker
// offset, and checks that the format page shows it.
func TestGoldenMarkerMetadata(t *testing.T) {
	got := kafka.MarkerMetadata(7)
	golden := filepath.Join("testdata", "marker-metadata-v1.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("marker metadata differs from %s:\n got %s\nwant %s", golden, got, want)
	}
	if b, err := kafka.ParseMarker("g", "t", 8, string(want)); err != nil || b != 7 {
		t.Errorf("the golden metadata parses as batch %d, %v; want 7", b, err)
	}
	page, err := os.ReadFile(filepath.Join("..", "..", "docs", "format", "kafka-sink.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(page), string(want)) {
		t.Errorf("docs/format/kafka-sink.md does not show the golden metadata %s", want)
	}
}
