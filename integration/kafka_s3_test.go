package integration

import (
	"context"
	"errors"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/internal/testservices"
	"github.com/sluicehq/sluice/objstore"
	"github.com/sluicehq/sluice/trigger"
	"github.com/sluicehq/sluice/wal"
)

// Kafka -> filter/project -> Parquet on MinIO, checkpoint on MinIO: many
// runs, each with a fault injected at a random store operation (before or
// after it takes effect), then a clean run. The committed Parquet rows must
// be exactly the produced records.
func TestKafkaToParquetOnMinIOWithFaults(t *testing.T) {
	ctx := context.Background()
	brokers := testservices.Kafka(t)
	ep := testservices.MinIO(t)
	bucket := testservices.NewBucket(t, ep)
	topic := uniqueName(t, "in")
	createTopic(t, brokers, topic, 4)
	seed := time.Now().UnixNano()
	if s := os.Getenv("SLUICE_SEED"); s != "" {
		fmt.Sscan(s, &seed)
	}
	t.Logf("seed %d (rerun with SLUICE_SEED=%d)", seed, seed)
	rng := rand.New(rand.NewSource(seed))
	store := objstore.NewFaulty(openS3(ctx, t, ep, bucket, "faults"), seed)
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())

	produced := 0
	rounds := envInt("SLUICE_ROUNDS", 12)
	injected := 0
	for round := 0; round < rounds; round++ {
		n := 50 + rng.Intn(400)
		produceIDs(t, brokers, topic, produced, produced+n)
		produced += n
		store.Reset()
		ops := []objstore.Op{objstore.OpGet, objstore.OpPut, objstore.OpPutIfAbsent, objstore.OpList, objstore.OpAny}
		store.FailOn(objstore.Rule{Op: ops[rng.Intn(len(ops))], Nth: 1 + rng.Intn(12), After: rng.Intn(2) == 0})
		q, err := kafkaToParquet(ctx, brokers, topic, store, trigger.AvailableNow(), int64(40+rng.Intn(200)), mem)
		if err == nil {
			err = q.Wait(ctx)
		}
		switch {
		case err == nil:
		case errors.Is(err, objstore.ErrInjected):
			injected++
		default:
			t.Fatalf("seed %d round %d: unexpected error: %v", seed, round, err)
		}
	}
	store.Reset()
	q, err := kafkaToParquet(ctx, brokers, topic, store, trigger.AvailableNow(), 0, mem)
	if err != nil {
		t.Fatal(err)
	}
	if err := q.Wait(ctx); err != nil {
		t.Fatalf("final run: %v", err)
	}
	mem.AssertSize(t, 0)
	if injected == 0 {
		t.Fatalf("seed %d: no fault fired in %d rounds: the test exercised nothing", seed, rounds)
	}
	checkIDs(t, committedParquetIDs(ctx, t, store), produced, fmt.Sprintf("seed %d, %d faults", seed, injected))
}

// The helper process: runs one job until it is killed. The parent test
// sets SLUICE_HELPER_JOB and the job's parameters.
func TestHelperJob(t *testing.T) {
	job := os.Getenv("SLUICE_HELPER_JOB")
	if job == "" {
		return // not a helper process: nothing to do
	}
	ctx := context.Background()
	brokers := testservices.Kafka(t)
	ep := testservices.MinIO(t)
	store := openS3(ctx, t, ep, os.Getenv("SLUICE_HELPER_BUCKET"), os.Getenv("SLUICE_HELPER_PREFIX"))
	var q interface{ Wait(context.Context) error }
	var err error
	switch job {
	case "parquet":
		q, err = kafkaToParquet(ctx, brokers, os.Getenv("SLUICE_HELPER_TOPIC"), store, trigger.ProcessingTime(20*time.Millisecond), 150, memory.DefaultAllocator)
	case "kafka":
		q, err = kafkaToKafka(ctx, brokers, os.Getenv("SLUICE_HELPER_TOPIC"), os.Getenv("SLUICE_HELPER_OUT"), store, trigger.ProcessingTime(20*time.Millisecond), 150)
	default:
		t.Fatalf("unknown helper job %q", job)
	}
	if err != nil {
		t.Fatalf("helper job %s: %v", job, err)
	}
	t.Fatalf("helper job %s ended, it should run until killed: %v", job, q.Wait(ctx))
}

// startHelper runs the job in a child process (this test binary).
func startHelper(t *testing.T, env ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperJob$", "-test.count=1")
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout = os.Stderr
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting the helper process: %v", err)
	}
	return cmd
}

// killLoop produces more records and SIGKILLs a running job at random
// moments, rounds times; it returns how many ids were produced.
func killLoop(t *testing.T, rng *rand.Rand, brokers []string, topic string, rounds int, env ...string) int {
	produced := 0
	for round := 0; round < rounds; round++ {
		n := 100 + rng.Intn(500)
		produceIDs(t, brokers, topic, produced, produced+n)
		produced += n
		cmd := startHelper(t, env...)
		time.Sleep(time.Duration(300+rng.Intn(2500)) * time.Millisecond)
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatalf("killing the job: %v", err)
		}
		err := cmd.Wait()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
			t.Fatalf("round %d: the job exited by itself before the kill (%v): see its output above", round, err)
		}
	}
	return produced
}

// Kafka -> Parquet on MinIO in a separate process, killed with SIGKILL at
// random moments; then a clean catch-up run. Nothing lost, nothing doubled.
func TestKafkaToParquetProcessKill(t *testing.T) {
	ctx := context.Background()
	brokers := testservices.Kafka(t)
	ep := testservices.MinIO(t)
	bucket := testservices.NewBucket(t, ep)
	topic := uniqueName(t, "in")
	createTopic(t, brokers, topic, 3)
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewSource(seed))
	produced := killLoop(t, rng, brokers, topic, envInt("SLUICE_KILL_ROUNDS", 5),
		"SLUICE_HELPER_JOB=parquet", "SLUICE_HELPER_BUCKET="+bucket, "SLUICE_HELPER_PREFIX=kill", "SLUICE_HELPER_TOPIC="+topic)
	store := openS3(ctx, t, ep, bucket, "kill")
	requireCommits(ctx, t, objstore.Prefixed(store, "ckpt"))
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	q, err := kafkaToParquet(ctx, brokers, topic, store, trigger.AvailableNow(), 0, mem)
	if err != nil {
		t.Fatal(err)
	}
	if err := q.Wait(ctx); err != nil {
		t.Fatalf("catch-up run: %v", err)
	}
	mem.AssertSize(t, 0)
	checkIDs(t, committedParquetIDs(ctx, t, store), produced, fmt.Sprintf("seed %d after kills", seed))
}

// Kafka -> Kafka exactly-once in a separate process killed at random
// moments (some land around the transaction commit); plus faults injected
// exactly between the transaction commit and the checkpoint's commit log.
// A read_committed consumer sees every record once.
func TestKafkaToKafkaExactlyOnceWithCrashes(t *testing.T) {
	ctx := context.Background()
	brokers := testservices.Kafka(t)
	ep := testservices.MinIO(t)
	bucket := testservices.NewBucket(t, ep)
	in, out := uniqueName(t, "in"), uniqueName(t, "out")
	createTopic(t, brokers, in, 3)
	createTopic(t, brokers, out, 2)
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewSource(seed))
	produced := killLoop(t, rng, brokers, in, envInt("SLUICE_KILL_ROUNDS", 4),
		"SLUICE_HELPER_JOB=kafka", "SLUICE_HELPER_BUCKET="+bucket, "SLUICE_HELPER_PREFIX=eos", "SLUICE_HELPER_TOPIC="+in, "SLUICE_HELPER_OUT="+out)

	// Crash after the sink's transaction committed, before commits/N:
	// the re-run must find the batch in the sink's marker and skip it.
	store := objstore.NewFaulty(openS3(ctx, t, ep, bucket, "eos"), seed)
	requireCommits(ctx, t, store)
	for i := 0; i < 3; i++ {
		produceIDs(t, brokers, in, produced, produced+200)
		produced += 200
		store.Reset()
		store.FailOn(objstore.Rule{Op: objstore.OpPutIfAbsent, Prefix: "commits/", After: true})
		q, err := kafkaToKafka(ctx, brokers, in, out, store, trigger.AvailableNow(), 0)
		if err != nil {
			t.Fatal(err)
		}
		if err := q.Wait(ctx); !errors.Is(err, objstore.ErrInjected) {
			t.Fatalf("run %d: %v, want the injected fault after the commit", i, err)
		}
	}
	store.Reset()
	q, err := kafkaToKafka(ctx, brokers, in, out, store, trigger.AvailableNow(), 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := q.Wait(ctx); err != nil {
		t.Fatalf("final run: %v", err)
	}
	checkIDs(t, readCommittedIDs(t, brokers, out, produced), produced, fmt.Sprintf("seed %d, read_committed", seed))
}

// MinIO is restarted while a query writes its checkpoint and Parquet files
// to it: the store retries, the query continues, nothing is lost.
func TestMinIORestartDuringQuery(t *testing.T) {
	ctx := context.Background()
	brokers := testservices.Kafka(t)
	ep := testservices.MinIO(t)
	bucket := testservices.NewBucket(t, ep)
	topic := uniqueName(t, "in")
	createTopic(t, brokers, topic, 2)
	store := openS3(ctx, t, ep, bucket, "restart")
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	q, err := kafkaToParquet(ctx, brokers, topic, store, trigger.ProcessingTime(50*time.Millisecond), 100, mem)
	if err != nil {
		t.Fatal(err)
	}
	produceIDs(t, brokers, topic, 0, 500)
	wait, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	if err := q.ProcessAllAvailable(wait); err != nil {
		t.Fatal(err)
	}
	before := q.LastBatchID()
	produceIDs(t, brokers, topic, 500, 1500)
	testservices.RestartMinIO(t)
	produceIDs(t, brokers, topic, 1500, 2000)
	if err := q.ProcessAllAvailable(wait); err != nil {
		t.Fatalf("after the MinIO restart: %v", err)
	}
	if !q.IsActive() || q.LastBatchID() <= before {
		t.Fatalf("query active %v, last batch %d (before restart %d): it should have continued", q.IsActive(), q.LastBatchID(), before)
	}
	if err := q.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	mem.AssertSize(t, 0)
	checkIDs(t, committedParquetIDs(ctx, t, store), 2000, "across a MinIO restart")
}

// requireCommits fails unless the killed jobs committed at least one batch
// to the checkpoint: otherwise the kills tested nothing.
func requireCommits(ctx context.Context, t *testing.T, ckpt objstore.Store) {
	t.Helper()
	ids, err := wal.NewCommitLog(ckpt).BatchIDs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) == 0 {
		t.Fatal("the killed jobs committed no batch: they were killed before doing any work")
	}
	t.Logf("the killed jobs committed batches up to %d", ids[len(ids)-1])
}
