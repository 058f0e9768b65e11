package readme

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/sluicehq/sluice/objstore"
	"github.com/sluicehq/sluice/sink/parquet"
)

func TestReadmeExampleMatches(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	start := bytes.Index(readme, []byte("```go\n"))
	if start < 0 {
		t.Fatal("README has no ```go block")
	}
	block := readme[start+len("```go\n"):]
	block = block[:bytes.Index(block, []byte("```"))]
	file, err := os.ReadFile(filepath.Join("example", "main.go"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(block, file) {
		t.Fatal("the README's Go example differs from internal/readme/example/main.go: keep them identical")
	}
}

func TestReadmeExampleRuns(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "example")
	build := exec.Command("go", "build", "-o", bin, "./example")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	run := exec.CommandContext(ctx, bin)
	run.Dir = dir
	if out, err := run.CombinedOutput(); err != nil {
		t.Fatalf("running the README example: %v\n%s", err, out)
	}
	store, err := objstore.NewDir(filepath.Join(dir, "out", "data"))
	if err != nil {
		t.Fatal(err)
	}
	files, err := parquet.CommittedFiles(ctx, store)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("the README example committed no Parquet files")
	}
}
