package readme

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/sluicehq/sluice/internal/testservices"
	"github.com/sluicehq/sluice/objstore"
	s3store "github.com/sluicehq/sluice/objstore/s3"
	"github.com/sluicehq/sluice/sink/parquet"
)

// examples maps each ```go block of the README, in order, to the program
// it must equal.
var examples = []string{"example", "windows", "kafkas3"}

func TestReadmeExamplesMatch(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	blocks := bytes.Split(readme, []byte("```go\n"))[1:]
	if len(blocks) != len(examples) {
		t.Fatalf("README has %d ```go blocks, want %d (one per program in %v)", len(blocks), len(examples), examples)
	}
	for i, blk := range blocks {
		blk = blk[:bytes.Index(blk, []byte("```"))]
		file, err := os.ReadFile(filepath.Join(examples[i], "main.go"))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(blk, file) {
			t.Fatalf("README's Go block %d differs from internal/readme/%s/main.go: keep them identical", i+1, examples[i])
		}
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

// The event-time example prints each 2-second window once, with all of
// its 2,000 rows (1,000 a second) for the windows the history covers.
func TestReadmeWindowsExampleRuns(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "windows")
	if out, err := exec.Command("go", "build", "-o", bin, "./windows").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	run := exec.CommandContext(ctx, bin)
	run.Dir = dir
	out, err := run.CombinedOutput()
	if err != nil {
		t.Fatalf("running the README's event-time example: %v\n%s", err, out)
	}
	if !bytes.Contains(out, []byte("|window")) || bytes.Count(out, []byte("|2000  |")) < 3 {
		t.Fatalf("the event-time example did not print at least three full windows of 2000 events:\n%s", out)
	}
}

// The Kafka -> Parquet on S3 example runs against the test servers.
func TestReadmeKafkaS3ExampleRuns(t *testing.T) {
	ep := testservices.MinIO(t)
	brokers := testservices.Kafka(t)
	bucket := testservices.NewBucket(t, ep)
	cfg := sarama.NewConfig()
	cfg.Producer.Return.Successes = true
	p, err := sarama.NewSyncProducer(brokers, cfg)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 50; i++ {
		if _, _, err := p.SendMessage(&sarama.ProducerMessage{Topic: "events", Value: sarama.StringEncoder("e")}); err != nil {
			t.Fatal(err)
		}
	}
	p.Close()
	dir := t.TempDir()
	bin := filepath.Join(dir, "kafkas3")
	if out, err := exec.Command("go", "build", "-o", bin, "./kafkas3").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	run := exec.CommandContext(ctx, bin)
	run.Env = append(os.Environ(),
		"AWS_ENDPOINT_URL="+ep.URL(), "AWS_ACCESS_KEY_ID="+ep.AccessKey, "AWS_SECRET_ACCESS_KEY="+ep.SecretKey,
		"AWS_REGION="+ep.Region, "LAKE_BUCKET="+bucket, "KAFKA_BROKERS="+brokers[0])
	if out, err := run.CombinedOutput(); err != nil {
		t.Fatalf("running the README's Kafka example: %v\n%s", err, out)
	}
	st, err := s3store.Open(ctx, "s3://"+bucket+"/events", s3store.WithEndpoint(ep.Endpoint),
		s3store.WithCredentials(ep.AccessKey, ep.SecretKey, ""), s3store.WithRegion(ep.Region), s3store.WithSecure(ep.Secure))
	if err != nil {
		t.Fatal(err)
	}
	files, err := parquet.CommittedFiles(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("the README's Kafka example committed no Parquet files")
	}
}
