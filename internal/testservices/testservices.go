package testservices

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// S3Endpoint says how to reach an S3-compatible server.
type S3Endpoint struct {
	Endpoint  string // host:port, no scheme
	AccessKey string
	SecretKey string
	Region    string
	Secure    bool // use https
}

// URL returns the endpoint with its scheme, e.g. "http://127.0.0.1:19000".
func (e S3Endpoint) URL() string {
	if e.Secure {
		return "https://" + e.Endpoint
	}
	return "http://" + e.Endpoint
}

// Provider names.
const (
	ProviderDocker = "docker"
	ProviderLocal  = "local"
)

// providerEnv forces a provider when set to "docker" or "local".
const providerEnv = "SLUICE_TEST_PROVIDER"

var (
	providerOnce sync.Once
	providerName string
	providerErr  error
)

// Provider returns the provider that serves this test process: "docker" if
// a Docker engine answered the health check (or SLUICE_TEST_PROVIDER=docker),
// otherwise "local". The choice is made once per process.
func Provider() string {
	p, _ := chooseProvider()
	return p
}

func chooseProvider() (string, error) {
	providerOnce.Do(func() {
		switch v := strings.ToLower(strings.TrimSpace(os.Getenv(providerEnv))); v {
		case ProviderDocker, ProviderLocal:
			providerName = v
		case "":
			if dockerHealthy(2 * time.Second) {
				providerName = ProviderDocker
			} else {
				providerName = ProviderLocal
			}
		default:
			providerName = ProviderLocal
			providerErr = fmt.Errorf("testservices: %s=%q: use %q or %q, or unset it to probe Docker",
				providerEnv, v, ProviderDocker, ProviderLocal)
		}
	})
	return providerName, providerErr
}

// MinIO returns the endpoint of a running MinIO server, starting one if
// needed (see the package documentation). It fails t if no server can be
// provided.
func MinIO(t testing.TB) S3Endpoint {
	t.Helper()
	p, err := chooseProvider()
	if err != nil {
		t.Fatal(err)
	}
	var ep S3Endpoint
	if p == ProviderDocker {
		ep, err = dockerMinIO()
	} else {
		ep, err = localMinIO()
	}
	if err != nil {
		t.Fatalf("testservices: no MinIO server (provider %s): %v", p, err)
	}
	return ep
}

// Kafka returns the addresses (host:port) of the brokers of a running
// Kafka-protocol cluster, starting one if needed. The local provider has
// three brokers, the docker provider one. It fails t if no cluster can be
// provided.
func Kafka(t testing.TB) []string {
	t.Helper()
	p, err := chooseProvider()
	if err != nil {
		t.Fatal(err)
	}
	var brokers []string
	if p == ProviderDocker {
		brokers, err = dockerKafka()
	} else {
		brokers, err = localKafka()
	}
	if err != nil {
		t.Fatalf("testservices: no Kafka brokers (provider %s): %v", p, err)
	}
	return brokers
}

// RestartMinIO stops the MinIO server and starts it again with the same
// data, then waits until it is ready: objects written before the restart
// are still there and the endpoint is unchanged. Requests in flight during
// the restart fail or stall, which is the point. With the local provider
// the server is shared by every test package running at the time, so tests
// that call RestartMinIO should not run in parallel with other S3 tests
// that cannot tolerate an outage.
func RestartMinIO(t testing.TB) {
	t.Helper()
	p, err := chooseProvider()
	if err != nil {
		t.Fatal(err)
	}
	if p == ProviderDocker {
		err = dockerRestartMinIO()
	} else {
		err = localRestartMinIO()
	}
	if err != nil {
		t.Fatalf("testservices: restart MinIO (provider %s): %v", p, err)
	}
}

// NewClient returns a minio-go client for ep. It fails t on a bad endpoint.
func NewClient(t testing.TB, ep S3Endpoint) *minio.Client {
	t.Helper()
	c, err := minio.New(ep.Endpoint, &minio.Options{
		Creds:  credentials.NewStaticV4(ep.AccessKey, ep.SecretKey, ""),
		Secure: ep.Secure,
		Region: ep.Region,
	})
	if err != nil {
		t.Fatalf("testservices: S3 client for %s: %v", ep.Endpoint, err)
	}
	return c
}

// NewBucket creates a new, uniquely named, empty bucket on ep and returns
// its name. At the end of the test the bucket's objects and the bucket are
// deleted; a failure to do so fails the test.
func NewBucket(t testing.TB, ep S3Endpoint) string {
	t.Helper()
	c := NewClient(t, ep)
	name := bucketName(t.Name())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := makeBucket(ctx, c, name, ep.Region); err != nil {
		t.Fatalf("testservices: create bucket %q on %s: %v", name, ep.Endpoint, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if err := removeBucket(ctx, c, name); err != nil {
			t.Errorf("testservices: remove bucket %q on %s: %v", name, ep.Endpoint, err)
		}
	})
	return name
}

// removeBucket deletes every object (and incomplete upload) in bucket, then
// the bucket.
func removeBucket(ctx context.Context, c *minio.Client, bucket string) error {
	objects := c.ListObjects(ctx, bucket, minio.ListObjectsOptions{Recursive: true})
	for rerr := range c.RemoveObjects(ctx, bucket, objects, minio.RemoveObjectsOptions{}) {
		if rerr.Err != nil {
			return fmt.Errorf("remove object %q: %w", rerr.ObjectName, rerr.Err)
		}
	}
	for u := range c.ListIncompleteUploads(ctx, bucket, "", true) {
		if u.Err != nil {
			return fmt.Errorf("list incomplete uploads: %w", u.Err)
		}
		if err := c.RemoveIncompleteUpload(ctx, bucket, u.Key); err != nil {
			return fmt.Errorf("abort upload of %q: %w", u.Key, err)
		}
	}
	return c.RemoveBucket(ctx, bucket)
}

// bucketName derives a valid S3 bucket name (3-63 characters of [a-z0-9-],
// starting and ending with a letter or digit) from a test name, made unique
// by a random suffix.
func bucketName(testName string) string {
	var b strings.Builder
	b.WriteString("sluice-")
	dash := true
	for _, r := range strings.ToLower(testName) {
		if b.Len() >= 40 {
			break
		}
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
			dash = false
		} else if !dash {
			b.WriteByte('-')
			dash = true
		}
	}
	if !dash {
		b.WriteByte('-')
	}
	var rnd [6]byte
	_, _ = rand.Read(rnd[:])
	b.WriteString(hex.EncodeToString(rnd[:]))
	return b.String()
}

// makeBucket creates bucket name, retrying while the server answers that
// it is busy: a MinIO server just started, or on a disk saturated by
// other work, refuses writes for a moment with "Resource requested is
// unwritable, please reduce your request rate" (SlowDown) rather than
// waiting.
func makeBucket(ctx context.Context, c *minio.Client, name, region string) error {
	delay := 100 * time.Millisecond
	for {
		err := c.MakeBucket(ctx, name, minio.MakeBucketOptions{Region: region})
		if err == nil {
			return nil
		}
		code := minio.ToErrorResponse(err).Code
		if code != "SlowDown" && code != "SlowDownWrite" && code != "XMinioServerNotInitialized" {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (the server was still busy when the wait ended)", err)
		case <-time.After(delay):
		}
		delay = min(2*delay, 2*time.Second)
	}
}
