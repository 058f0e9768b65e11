package testservices

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/twmb/franz-go/pkg/kgo"
)

func TestParseEnv(t *testing.T) {
	env, err := parseEnv([]byte("# comment\n\nSLUICE_S3_ENDPOINT=http://127.0.0.1:19000\nexport SLUICE_S3_ACCESS_KEY='ak'\n" +
		"SLUICE_S3_SECRET_KEY=\"sk\"\nSLUICE_KAFKA_BROKERS=a:1, b:2,\n"))
	if err != nil {
		t.Fatal(err)
	}
	ep, err := env.minio()
	if err != nil {
		t.Fatal(err)
	}
	want := S3Endpoint{Endpoint: "127.0.0.1:19000", AccessKey: "ak", SecretKey: "sk", Region: "us-east-1"}
	if ep != want {
		t.Fatalf("minio() = %+v, want %+v", ep, want)
	}
	brokers, err := env.kafka()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(brokers, ";") != "a:1;b:2" {
		t.Fatalf("kafka() = %q, want [a:1 b:2]", brokers)
	}

	env, err = parseEnv([]byte("SLUICE_S3_ENDPOINT=https://s3.example:443\nSLUICE_S3_ACCESS_KEY=a\nSLUICE_S3_SECRET_KEY=b\nSLUICE_S3_REGION=eu-west-1\n"))
	if err != nil {
		t.Fatal(err)
	}
	if ep, err := env.minio(); err != nil || !ep.Secure || ep.Endpoint != "s3.example:443" || ep.Region != "eu-west-1" {
		t.Fatalf("minio() = %+v, %v; want a secure s3.example:443 in eu-west-1", ep, err)
	}
	if _, err := env.kafka(); err == nil {
		t.Fatal("kafka() without SLUICE_KAFKA_BROKERS succeeded")
	}
	if _, err := (localEnv{}).minio(); err == nil {
		t.Fatal("minio() on an empty env succeeded")
	}
	if _, err := parseEnv([]byte("no equals sign\n")); err == nil || !strings.Contains(err.Error(), "line 1") {
		t.Fatalf("parseEnv(bad line) error = %v, want one naming line 1", err)
	}
}

func TestFindRoot(t *testing.T) {
	dir := t.TempDir()
	deep := filepath.Join(dir, "a", "b", "c")
	if err := os.MkdirAll(deep, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := findRoot(deep)
	if err != nil || got != dir {
		t.Fatalf("findRoot(%s) = %q, %v; want %q", deep, got, err, dir)
	}
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, servicesScript)); err != nil {
		t.Fatalf("repository root %s has no %s: %v", root, servicesScript, err)
	}
}

func TestBucketName(t *testing.T) {
	valid := regexp.MustCompile(`^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$`)
	seen := map[string]bool{}
	for _, name := range []string{"TestX", "TestStore/PutIfAbsentConcurrent#01", strings.Repeat("Long_Name/", 20), "---", ""} {
		b := bucketName(name)
		if !valid.MatchString(b) || strings.Contains(b, "--") {
			t.Errorf("bucketName(%q) = %q, not a valid bucket name", name, b)
		}
		if seen[b] {
			t.Errorf("bucketName(%q) = %q twice", name, b)
		}
		seen[b] = true
	}
}

func TestLock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lock")
	unlock, err := lockFileExclusive(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	// A second holder (another open file description, as in another
	// process) must wait.
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	if _, err := lockFileExclusive(ctx, path); err == nil {
		t.Fatal("second lockFileExclusive succeeded while the lock was held")
	}
	unlock()
	unlock2, err := lockFileExclusive(t.Context(), path)
	if err != nil {
		t.Fatalf("lock after unlock: %v", err)
	}
	unlock2()
}

func TestProvider(t *testing.T) {
	p := Provider()
	if p != ProviderDocker && p != ProviderLocal {
		t.Fatalf("Provider() = %q", p)
	}
	t.Logf("provider: %s", p)
}

func TestMinIOAndBucket(t *testing.T) {
	ep := MinIO(t)
	if ep.Endpoint == "" || ep.AccessKey == "" || ep.SecretKey == "" {
		t.Fatalf("MinIO() = %+v, incomplete", ep)
	}
	c := NewClient(t, ep)
	var bucket string
	t.Run("bucket", func(t *testing.T) {
		bucket = NewBucket(t, ep)
		ok, err := c.BucketExists(t.Context(), bucket)
		if err != nil || !ok {
			t.Fatalf("BucketExists(%q) = %v, %v after NewBucket", bucket, ok, err)
		}
		data := []byte("hello")
		if _, err := c.PutObject(t.Context(), bucket, "a/b", bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{}); err != nil {
			t.Fatal(err)
		}
	})
	// The subtest's cleanup removed the bucket and its object.
	ok, err := c.BucketExists(t.Context(), bucket)
	if err != nil || ok {
		t.Fatalf("BucketExists(%q) = %v, %v after the test ended; want false", bucket, ok, err)
	}
}

func TestKafka(t *testing.T) {
	brokers := Kafka(t)
	if len(brokers) == 0 {
		t.Fatal("Kafka() returned no brokers")
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := cl.Ping(ctx); err != nil {
		t.Fatalf("ping Kafka at %v: %v", brokers, err)
	}
}

// TestLocalLifecycle runs a private set of local servers (its own state
// directory and ports, beside the shared ones) through start, reuse,
// restart with data kept, and recovery after the server died.
func TestLocalLifecycle(t *testing.T) {
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	ports := make([]string, 5)
	for i := range ports {
		ports[i] = strconv.Itoa(freeTestPort(t))
	}
	t.Setenv(servicesDirEnv, dir)
	t.Setenv("SLUICE_MINIO_PORT", ports[0])
	t.Setenv("SLUICE_MINIO_CONSOLE_PORT", ports[1])
	t.Setenv("SLUICE_KAFKA_PORTS", strings.Join(ports[2:], ","))
	t.Cleanup(func() {
		if err := runScript(root, "down"); err != nil {
			t.Errorf("stop the private servers: %v", err)
		}
	})

	ep, err := localMinIO()
	if err != nil {
		t.Fatal(err)
	}
	if ep.Endpoint != "127.0.0.1:"+ports[0] {
		t.Fatalf("MinIO endpoint = %q, want 127.0.0.1:%s", ep.Endpoint, ports[0])
	}
	brokers, err := localKafka()
	if err != nil {
		t.Fatal(err)
	}
	if want := "127.0.0.1:" + strings.Join(ports[2:], ",127.0.0.1:"); strings.Join(brokers, ",") != want {
		t.Fatalf("brokers = %v, want %s", brokers, want)
	}
	pid := readPID(t, dir)

	// Reuse: a second call finds the running server.
	if ep2, err := localMinIO(); err != nil || ep2 != ep {
		t.Fatalf("second localMinIO() = %+v, %v; want %+v", ep2, err, ep)
	}
	if p := readPID(t, dir); p != pid {
		t.Fatalf("MinIO pid changed from %d to %d on reuse", pid, p)
	}

	// Restart keeps the data and the address.
	bucket := NewBucket(t, ep)
	c := NewClient(t, ep)
	data := []byte("survives a restart")
	if _, err := c.PutObject(t.Context(), bucket, "x", bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := localRestartMinIO(); err != nil {
		t.Fatal(err)
	}
	if p := readPID(t, dir); p == pid {
		t.Fatalf("MinIO pid still %d after restart", p)
	}
	obj, err := c.GetObject(t.Context(), bucket, "x", minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(obj)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("object after restart = %q, %v; want %q", got, err, data)
	}

	// Recovery: the server died; the next call starts a fresh one.
	pid = readPID(t, dir)
	proc, err := os.FindProcess(pid)
	if err != nil {
		t.Fatal(err)
	}
	if err := proc.Kill(); err != nil {
		t.Fatal(err)
	}
	waitGone(t, pid)
	if minioReady(ep) == nil {
		t.Fatal("MinIO still answers after it was killed")
	}
	ep2, err := localMinIO()
	if err != nil {
		t.Fatalf("localMinIO() after the server died: %v", err)
	}
	if err := minioReady(ep2); err != nil {
		t.Fatalf("restarted MinIO not ready: %v", err)
	}
	// A fresh server starts empty; recreate the bucket so that NewBucket's
	// cleanup finds it.
	if err := c.MakeBucket(t.Context(), bucket, minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
}

func freeTestPort(t *testing.T) int {
	t.Helper()
	p, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func readPID(t *testing.T, dir string) int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "minio.pid"))
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatalf("minio.pid: %v", err)
	}
	return pid
}

// waitGone waits until process pid has exited (it is not our child: the
// script started it in the background).
func waitGone(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if err := syscall.Kill(pid, 0); err != nil {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("process %d still alive 10s after SIGKILL", pid)
}
