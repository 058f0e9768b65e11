package parquet

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/bufpool"
	"github.com/sluicehq/sluice/objstore"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// TestGoldenLogEntry pins the sink log entry format: the bytes the sink
// writes for a small partitioned batch. File sizes depend on the Parquet
// encoder; after an intended change, regenerate with go test -update.
func TestGoldenLogEntry(t *testing.T) {
	mem := memory.NewCheckedAllocator(bufpool.NewPoison())
	defer mem.AssertSize(t, 0)
	ctx := context.Background()
	store := objstore.NewMemory()
	s := newSink(t, store, eventSchema, WithPartitionBy("day"), WithAllocator(mem))
	rec := eventRecord(mem, 0, 12)
	defer rec.Release()
	if err := s.AddBatch(ctx, 7, []arrow.RecordBatch{rec}); err != nil {
		t.Fatal(err)
	}
	name := LogDir + "/00000000000000000007"
	got, err := store.Get(ctx, name)
	if err != nil {
		t.Fatalf("the log entry is not at %s: %v", name, err)
	}
	golden := filepath.Join("testdata", "log-entry-v1.golden")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("log entry differs from %s:\n got %s\nwant %s", golden, got, want)
	}

	// The golden entry decodes to what it says.
	entries, err := CommittedBatches(ctx, store)
	if err != nil {
		t.Fatal(err)
	}
	e := entries[0]
	if e.BatchID != 7 || !slices.Equal(e.PartitionBy, []string{"day"}) || len(e.Files) != 4 || len(e.Schema) != 5 {
		t.Fatalf("decoded entry %+v", e)
	}
	for _, f := range e.Files {
		data, err := store.Get(ctx, f.Path)
		if err != nil || int64(len(data)) != f.Size {
			t.Errorf("%s: logged size %d, stored %d bytes (%v)", f.Path, f.Size, len(data), err)
		}
	}
	if e.Schema[2] != (SchemaField{Name: "day", Type: "date32", Nullable: true}) {
		t.Errorf("schema field 2 = %+v", e.Schema[2])
	}
}

// TestNewerLogVersionIsRefused checks that readers refuse entries of a
// format version they do not know, rather than misreading them.
func TestNewerLogVersionIsRefused(t *testing.T) {
	ctx := context.Background()
	store := objstore.NewMemory()
	entry := "v2\n{\"batchId\":0,\"files\":[]}\n"
	if err := store.Put(ctx, LogDir+"/00000000000000000000", []byte(entry)); err != nil {
		t.Fatal(err)
	}
	_, err := CommittedFiles(ctx, store)
	if err == nil || !strings.Contains(err.Error(), "v2") {
		t.Errorf("CommittedFiles over a v2 entry = %v, want an error naming the version", err)
	}
	s, err := New(store)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.AddBatch(ctx, 0, nil); err == nil {
		t.Error("AddBatch over an unreadable entry succeeded; it must not overwrite or skip it silently")
	}
}

// TestFormatPageShowsGolden keeps the example in the format page equal to
// the golden entry.
func TestFormatPageShowsGolden(t *testing.T) {
	page, err := os.ReadFile(filepath.Join("..", "..", "docs", "format", "parquet-sink.md"))
	if err != nil {
		t.Fatal(err)
	}
	golden, err := os.ReadFile(filepath.Join("testdata", "log-entry-v1.golden"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(page, append([]byte("```\n"), golden...)) {
		t.Errorf("docs/format/parquet-sink.md does not show testdata/log-entry-v1.golden verbatim; copy it into the page")
	}
}
