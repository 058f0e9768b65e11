package s3_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/sluicehq/sluice/internal/testservices"
	"github.com/sluicehq/sluice/objstore"
	"github.com/sluicehq/sluice/objstore/s3"
	"github.com/sluicehq/sluice/objstore/storetest"
)

// credOpts returns the options that reach ep.
func credOpts(ep testservices.S3Endpoint) []s3.Option {
	return []s3.Option{
		s3.WithEndpoint(ep.Endpoint),
		s3.WithSecure(ep.Secure),
		s3.WithRegion(ep.Region),
		s3.WithCredentials(ep.AccessKey, ep.SecretKey, ""),
	}
}

// openStore opens a store at s3://<fresh bucket>/<prefix> on the test MinIO.
func openStore(t testing.TB, prefix string, opts ...s3.Option) (*s3.Store, testservices.S3Endpoint, string) {
	t.Helper()
	ep := testservices.MinIO(t)
	bucket := testservices.NewBucket(t, ep)
	loc := "s3://" + bucket
	if prefix != "" {
		loc += "/" + prefix
	}
	s, err := s3.Open(context.Background(), loc, append(credOpts(ep), opts...)...)
	if err != nil {
		t.Fatalf("Open(%s): %v", loc, err)
	}
	return s, ep, bucket
}

func TestConformance(t *testing.T) {
	for _, prefix := range []string{"", "ckpt/q1"} {
		t.Run("prefix="+prefix, func(t *testing.T) {
			storetest.Run(t, func(t *testing.T) objstore.Store {
				s, _, _ := openStore(t, prefix)
				return s
			})
		})
	}
}

func TestLocation(t *testing.T) {
	s, _, bucket := openStore(t, "a/b")
	if got, want := s.Location(), "s3://"+bucket+"/a/b"; got != want {
		t.Fatalf("Location() = %q, want %q", got, want)
	}
	if got, want := objstore.Location(s), "s3://"+bucket+"/a/b"; got != want {
		t.Fatalf("objstore.Location = %q, want %q", got, want)
	}
	root, _, bucket := openStore(t, "")
	if got, want := root.Location(), "s3://"+bucket; got != want {
		t.Fatalf("Location() = %q, want %q", got, want)
	}
}

// TestPrefixIsolation checks that a store sees only its prefix, and that
// objects land under it in the bucket.
func TestPrefixIsolation(t *testing.T) {
	ep := testservices.MinIO(t)
	bucket := testservices.NewBucket(t, ep)
	ctx := t.Context()
	a, err := s3.Open(ctx, "s3://"+bucket+"/p", credOpts(ep)...)
	if err != nil {
		t.Fatal(err)
	}
	b, err := s3.Open(ctx, "s3://"+bucket+"/p2", credOpts(ep)...)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Put(ctx, "x", []byte("a")); err != nil {
		t.Fatal(err)
	}
	if err := b.Put(ctx, "x", []byte("b")); err != nil {
		t.Fatal(err)
	}
	if names, err := a.List(ctx, ""); err != nil || strings.Join(names, ",") != "x" {
		t.Fatalf("a.List = %q, %v; want [x]", names, err)
	}
	c := testservices.NewClient(t, ep)
	var keys []string
	for obj := range c.ListObjectsIter(ctx, bucket, minio.ListObjectsOptions{Recursive: true}) {
		if obj.Err != nil {
			t.Fatal(obj.Err)
		}
		keys = append(keys, obj.Key)
	}
	if strings.Join(keys, ",") != "p/x,p2/x" {
		t.Fatalf("bucket keys = %q, want [p/x p2/x] (and no probe objects left)", keys)
	}
}

func TestMultipart(t *testing.T) {
	const threshold = 5 << 20
	s, ep, bucket := openStore(t, "mp", s3.WithMultipartThreshold(threshold))
	ctx := t.Context()
	data := make([]byte, 2*threshold+12345)
	for i := range data {
		data[i] = byte(i * 7 / 5)
	}
	if err := s.Put(ctx, "big", data); err != nil {
		t.Fatal(err)
	}
	small := data[:threshold]
	if err := s.Put(ctx, "small", small); err != nil {
		t.Fatal(err)
	}
	c := testservices.NewClient(t, ep)
	for name, parts := range map[string]string{"big": "-3", "small": ""} {
		info, err := c.StatObject(ctx, bucket, "mp/"+name, minio.StatObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		// A multipart object's ETag ends in -<number of parts>.
		_, suffix, multipart := strings.Cut(info.ETag, "-")
		if parts == "" && multipart {
			t.Errorf("%s (%d bytes, at the threshold) has ETag %q: uploaded in parts", name, info.Size, info.ETag)
		}
		if parts != "" && "-"+suffix != parts {
			t.Errorf("%s (%d bytes) has ETag %q, want a multipart ETag ending in %s", name, info.Size, info.ETag, parts)
		}
	}
	got, err := s.Get(ctx, "big")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, data) {
		t.Fatalf("Get(big) returned %d bytes that differ from the %d written", len(got), len(data))
	}
	// PutIfAbsent uploads in one request whatever the size.
	if err := s.PutIfAbsent(ctx, "big-create", data); err != nil {
		t.Fatal(err)
	}
	if err := s.PutIfAbsent(ctx, "big-create", data); !objstore.IsExist(err) {
		t.Fatalf("second PutIfAbsent(big-create) = %v, want fs.ErrExist", err)
	}
}

// putMany writes n small objects named fmt.Sprintf(format, i) in parallel.
func putMany(t *testing.T, s objstore.Store, format string, n int) []string {
	t.Helper()
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf(format, i)
	}
	var wg sync.WaitGroup
	errs := make(chan error, n)
	sem := make(chan struct{}, 16)
	for _, name := range names {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			if err := s.Put(t.Context(), name, []byte(name)); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	return names
}

func TestListPagination(t *testing.T) {
	t.Run("ServerPages", func(t *testing.T) {
		// More than one page of S3's largest size (1000).
		s, _, _ := openStore(t, "pages")
		want := putMany(t, s, "obj/%05d", 1100)
		got, err := s.List(t.Context(), "obj/")
		if err != nil {
			t.Fatal(err)
		}
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Fatalf("List returned %d names (first %q, last %q), want %d", len(got), first(got), last(got), len(want))
		}
	})
	t.Run("SmallPages", func(t *testing.T) {
		s, _, _ := openStore(t, "pages", s3.WithListPageSize(4))
		want := putMany(t, s, "o/%03d", 45)
		putMany(t, s, "other/%d", 3)
		got, err := s.List(t.Context(), "o/")
		if err != nil {
			t.Fatal(err)
		}
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Fatalf("List(o/) = %q, want %q", got, want)
		}
	})
}

func first(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

func last(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[len(s)-1]
}

func TestMissingBucket(t *testing.T) {
	ep := testservices.MinIO(t)
	bucket := "sluice-missing-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	_, err := s3.Open(t.Context(), "s3://"+bucket+"/x", credOpts(ep)...)
	if err == nil {
		t.Fatalf("Open of missing bucket %s succeeded", bucket)
	}
	for _, want := range []string{"s3: ", bucket, ep.Endpoint, "does not exist", "create it"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
}

func TestBadCredentials(t *testing.T) {
	ep := testservices.MinIO(t)
	bucket := testservices.NewBucket(t, ep)
	for _, tc := range []struct {
		name, access, secret, code string
	}{
		{"WrongSecret", ep.AccessKey, ep.SecretKey + "-wrong", "SignatureDoesNotMatch"},
		{"UnknownAccessKey", "no-such-user", "whatever-secret", "InvalidAccessKeyId"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s3.Open(t.Context(), "s3://"+bucket,
				s3.WithEndpoint(ep.Endpoint), s3.WithSecure(ep.Secure), s3.WithRegion(ep.Region),
				s3.WithCredentials(tc.access, tc.secret, ""), s3.WithRetries(2, time.Millisecond))
			if err == nil {
				t.Fatal("Open with bad credentials succeeded")
			}
			for _, want := range []string{"rejected the credentials", tc.code, "AWS_ACCESS_KEY_ID"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
			}
		})
	}
}

func TestUnreachableEndpoint(t *testing.T) {
	// A loopback port that was free a moment ago: nothing listens there.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	start := time.Now()
	_, err = s3.Open(t.Context(), "s3://bktucket/prefix",
		s3.WithEndpoint("http://"+addr), s3.WithRegion("us-east-1"),
		s3.WithCredentials("a", "b", ""), s3.WithRetries(2, time.Millisecond))
	if err == nil {
		t.Fatalf("Open on %s succeeded", addr)
	}
	for _, want := range []string{"s3: ", addr, "cannot reach", "3 attempts"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("Open took %v to give up with 2 retries", d)
	}
}

// ignoreConditions is an HTTP transport in front of a store that honours
// conditional writes, making it behave like one that does not: before
// forwarding a request with If-None-Match it deletes the target object, so
// the condition always holds and the write always lands. (Removing the
// header instead would break the request's signature, which covers it.)
type ignoreConditions struct {
	next   http.RoundTripper
	client *minio.Client
	bucket string
	hits   atomic.Int32
}

func (ic *ignoreConditions) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method == http.MethodPut && req.Header.Get("If-None-Match") != "" {
		ic.hits.Add(1)
		key := strings.TrimPrefix(req.URL.Path, "/"+ic.bucket+"/")
		if err := ic.client.RemoveObject(req.Context(), ic.bucket, key, minio.RemoveObjectOptions{}); err != nil {
			return nil, err
		}
	}
	return ic.next.RoundTrip(req)
}

func TestProbeRefusesStoreWithoutConditionalWrites(t *testing.T) {
	ep := testservices.MinIO(t)
	bucket := testservices.NewBucket(t, ep)
	ic := &ignoreConditions{next: http.DefaultTransport, client: testservices.NewClient(t, ep), bucket: bucket}
	loc := "s3://" + bucket + "/ckpt"
	_, err := s3.Open(t.Context(), loc, append(credOpts(ep), s3.WithHTTPTransport(ic))...)
	if err == nil {
		t.Fatal("Open succeeded on a store that ignores If-None-Match")
	}
	if ic.hits.Load() < 2 {
		t.Fatalf("the probe sent %d conditional writes, want 2", ic.hits.Load())
	}
	for _, want := range []string{"s3: ", loc, "If-None-Match", "exactly-once", "WithSingleWriter()", "singleWriter=true", "twice"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
	// The probe cleans up after itself.
	for obj := range ic.client.ListObjectsIter(t.Context(), bucket, minio.ListObjectsOptions{Recursive: true}) {
		t.Errorf("object %q left in the bucket by the probe (err %v)", obj.Key, obj.Err)
	}

	// The opt-in skips the probe; the store then works without the guarantee.
	for _, o := range []struct {
		loc  string
		opts []s3.Option
	}{
		{loc, []s3.Option{s3.WithSingleWriter()}},
		{loc + "?singleWriter=true", nil},
	} {
		hits := ic.hits.Load()
		s, err := s3.Open(t.Context(), o.loc, append(append(credOpts(ep), s3.WithHTTPTransport(ic)), o.opts...)...)
		if err != nil {
			t.Fatalf("Open(%s) single writer: %v", o.loc, err)
		}
		if ic.hits.Load() != hits {
			t.Fatalf("Open(%s) single writer still probed", o.loc)
		}
		if err := s.PutIfAbsent(t.Context(), "offsets/0", []byte("x")); err != nil {
			t.Fatal(err)
		}
	}
}

func TestOpenViaObjstoreWithEnv(t *testing.T) {
	ep := testservices.MinIO(t)
	bucket := testservices.NewBucket(t, ep)
	t.Setenv("AWS_ENDPOINT_URL_S3", "")
	t.Setenv("AWS_ENDPOINT_URL", ep.URL())
	t.Setenv("AWS_REGION", ep.Region)
	t.Setenv("AWS_ACCESS_KEY_ID", ep.AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", ep.SecretKey)
	t.Setenv("AWS_SESSION_TOKEN", "")
	ctx := t.Context()

	st, err := objstore.Open(ctx, "s3://"+bucket+"/env/prefix")
	if err != nil {
		t.Fatal(err)
	}
	s, ok := st.(*s3.Store)
	if !ok {
		t.Fatalf("objstore.Open returned %T, want *s3.Store", st)
	}
	if got, want := s.Location(), "s3://"+bucket+"/env/prefix"; got != want {
		t.Fatalf("Location() = %q, want %q", got, want)
	}
	if err := s.Put(ctx, "a", []byte("via env")); err != nil {
		t.Fatal(err)
	}

	// AWS_ENDPOINT_URL_S3 wins over AWS_ENDPOINT_URL.
	t.Setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1")
	t.Setenv("AWS_ENDPOINT_URL_S3", ep.URL())
	st, err = objstore.Open(ctx, "s3://"+bucket+"/env/prefix")
	if err != nil {
		t.Fatal(err)
	}
	if got, err := st.Get(ctx, "a"); err != nil || string(got) != "via env" {
		t.Fatalf("Get(a) = %q, %v; want \"via env\"", got, err)
	}

	// The location's parameters win over the environment.
	t.Setenv("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:1")
	t.Setenv("AWS_REGION", "")
	st, err = objstore.Open(ctx, "s3://"+bucket+"/env/prefix?endpoint="+ep.URL()+"&region="+ep.Region)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := st.Get(ctx, "a"); err != nil || string(got) != "via env" {
		t.Fatalf("Get(a) = %q, %v; want \"via env\"", got, err)
	}
}

func TestInvalidOptions(t *testing.T) {
	t.Setenv("AWS_ENDPOINT_URL_S3", "")
	t.Setenv("AWS_ENDPOINT_URL", "")
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "")
	// Valid options that would fail fast should Open ever get to the network.
	ok := []s3.Option{s3.WithEndpoint("127.0.0.1:1"), s3.WithCredentials("a", "b", ""), s3.WithRetries(0, 0), s3.WithRegion("us-east-1")}
	cases := []struct {
		loc  string
		opts []s3.Option
		want string
	}{
		{"s3://bkt", []s3.Option{s3.WithMultipartThreshold(1 << 20)}, "WithMultipartThreshold(1048576)"},
		{"s3://bkt", []s3.Option{s3.WithMultipartThreshold(6 << 30)}, "WithMultipartThreshold"},
		{"s3://bkt", []s3.Option{s3.WithRetries(-1, time.Second)}, "WithRetries(-1, 1s)"},
		{"s3://bkt", []s3.Option{s3.WithRetries(3, 0)}, "WithRetries(3, 0s)"},
		{"s3://bkt", []s3.Option{s3.WithEndpoint("")}, "WithEndpoint(\"\")"},
		{"s3://bkt", []s3.Option{s3.WithEndpoint("ftp://host:1")}, "WithEndpoint(\"ftp://host:1\")"},
		{"s3://bkt", []s3.Option{s3.WithEndpoint("http://host:1/path")}, "no user, path or query"},
		{"s3://bkt", []s3.Option{s3.WithEndpoint("host:99999")}, "port"},
		{"s3://bkt", []s3.Option{s3.WithRegion(" ")}, "WithRegion"},
		{"s3://bkt", []s3.Option{s3.WithCredentials("", "x", "")}, "WithCredentials"},
		{"s3://bkt", []s3.Option{s3.WithHTTPTransport(nil)}, "WithHTTPTransport(nil)"},
		{"s3://bkt", []s3.Option{s3.WithInsecureSkipVerify(), s3.WithSecure(false)}, "WithInsecureSkipVerify"},
		{"s3://bkt", []s3.Option{s3.WithInsecureSkipVerify(), s3.WithHTTPTransport(http.DefaultTransport)}, "WithInsecureSkipVerify"},
		{"s3://bkt?foo=1", nil, "unknown location parameter \"foo\""},
		{"s3://bkt?accessKey=1", nil, "credentials do not belong in a location"},
		{"s3://bkt?singleWriter=maybe", nil, "singleWriter=\"maybe\""},
		{"s3://bkt?endpoint=gopher://x", nil, "location parameter endpoint=\"gopher://x\""},
		{"s3:///prefix", nil, "names no bucket"},
		{"s3://Bad_Bucket/x", nil, "bucket name \"Bad_Bucket\" is invalid"},
		{"s3://bkt/a//c", nil, "bad prefix"},
		{"s3://ab/x", nil, "bucket name \"ab\" is invalid"},
		{"s3://user:pw@b/x", nil, "never in the location"},
		{"file:///x", nil, "use s3://bucket/prefix"},
	}
	for _, c := range cases {
		_, err := s3.Open(t.Context(), c.loc, append(append([]s3.Option{}, ok...), c.opts...)...)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "s3: ") {
			t.Errorf("Open(%q, %d options) = %v; want an error containing %q", c.loc, len(c.opts), err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), "pw") {
			t.Errorf("error %q shows the password from the location", err)
		}
	}
	t.Setenv("AWS_ENDPOINT_URL", "gopher://x")
	if _, err := s3.Open(t.Context(), "s3://bkt", s3.WithCredentials("a", "b", "")); err == nil || !strings.Contains(err.Error(), "AWS_ENDPOINT_URL") {
		t.Errorf("Open with a bad AWS_ENDPOINT_URL = %v; want an error naming it", err)
	}
	t.Setenv("AWS_ENDPOINT_URL", "")
	t.Setenv("AWS_ACCESS_KEY_ID", "only-the-id")
	if _, err := s3.Open(t.Context(), "s3://bkt", s3.WithEndpoint("127.0.0.1:1")); err == nil || !strings.Contains(err.Error(), "AWS_SECRET_ACCESS_KEY") {
		t.Errorf("Open with only AWS_ACCESS_KEY_ID = %v; want an error naming AWS_SECRET_ACCESS_KEY", err)
	}
}

// faultyTransport fails chosen requests of one method, either before the
// server sees them (respond with a status, or a connection error) or after
// (the server applied the request, the client gets a connection error).
type faultyTransport struct {
	next     http.RoundTripper
	method   string
	mu       sync.Mutex
	failures []fault // consumed in order by matching requests
	seen     int
}

type fault int

const (
	faultSlowDown  fault = iota + 1 // 503 SlowDown, request not forwarded
	faultRefused                    // connection error, request not forwarded
	faultLostReply                  // request forwarded and applied, reply lost
)

func (f *faultyTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	var ft fault
	f.mu.Lock()
	if req.Method == f.method && len(f.failures) > 0 {
		ft, f.failures = f.failures[0], f.failures[1:]
		f.seen++
	}
	f.mu.Unlock()
	switch ft {
	case faultSlowDown:
		body := `<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>`
		return &http.Response{
			StatusCode: http.StatusServiceUnavailable, Status: "503 Service Unavailable",
			Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
			Header:        http.Header{"Content-Type": {"application/xml"}},
			Body:          io.NopCloser(strings.NewReader(body)),
			ContentLength: int64(len(body)), Request: req,
		}, nil
	case faultRefused:
		return nil, &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused (injected)")}
	case faultLostReply:
		resp, err := f.next.RoundTrip(req)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		return nil, &net.OpError{Op: "read", Net: "tcp", Err: errors.New("connection reset by peer (injected)")}
	}
	return f.next.RoundTrip(req)
}

func (f *faultyTransport) inject(faults ...fault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failures = append(f.failures, faults...)
}

func TestRetries(t *testing.T) {
	ep := testservices.MinIO(t)
	newStore := func(t *testing.T, maxRetries int) (*s3.Store, *faultyTransport) {
		bucket := testservices.NewBucket(t, ep)
		ft := &faultyTransport{next: http.DefaultTransport, method: http.MethodPut}
		s, err := s3.Open(t.Context(), "s3://"+bucket+"/r",
			append(credOpts(ep), s3.WithHTTPTransport(ft), s3.WithRetries(maxRetries, time.Millisecond))...)
		if err != nil {
			t.Fatal(err)
		}
		return s, ft
	}
	t.Run("TransientThenSuccess", func(t *testing.T) {
		s, ft := newStore(t, 3)
		ft.inject(faultSlowDown, faultRefused, faultSlowDown)
		if err := s.Put(t.Context(), "a", []byte("x")); err != nil {
			t.Fatalf("Put after 3 transient failures with 3 retries: %v", err)
		}
		if got, err := s.Get(t.Context(), "a"); err != nil || string(got) != "x" {
			t.Fatalf("Get(a) = %q, %v", got, err)
		}
	})
	t.Run("GivesUp", func(t *testing.T) {
		s, ft := newStore(t, 2)
		ft.inject(faultSlowDown, faultSlowDown, faultSlowDown, faultSlowDown)
		err := s.Put(t.Context(), "a", []byte("x"))
		if err == nil || !strings.Contains(err.Error(), "gave up after 3 attempts") || !strings.Contains(err.Error(), "SlowDown") && !strings.Contains(err.Error(), "reduce your request rate") {
			t.Fatalf("Put with 4 failures and 2 retries = %v; want it to give up after 3 attempts", err)
		}
		if ft.seen != 3 {
			t.Fatalf("%d PUT attempts, want 3", ft.seen)
		}
	})
	t.Run("PutIfAbsentLostReply", func(t *testing.T) {
		// The first create lands but its reply is lost; the retry meets
		// the object, finds the same bytes, and reports success.
		s, ft := newStore(t, 3)
		ft.inject(faultLostReply)
		if err := s.PutIfAbsent(t.Context(), "commits/1", []byte("mine")); err != nil {
			t.Fatalf("PutIfAbsent whose first reply was lost: %v", err)
		}
		if ft.seen != 1 {
			t.Fatalf("fault not used (%d)", ft.seen)
		}
		// A lost reply for a create that differs from what is stored is a
		// real conflict.
		ft.inject(faultRefused)
		if err := s.PutIfAbsent(t.Context(), "commits/1", []byte("other")); !objstore.IsExist(err) {
			t.Fatalf("PutIfAbsent over different content after a failed attempt = %v, want fs.ErrExist", err)
		}
		// Without an uncertain attempt, identical content is still a conflict.
		if err := s.PutIfAbsent(t.Context(), "commits/1", []byte("mine")); !objstore.IsExist(err) {
			t.Fatalf("clean PutIfAbsent over identical content = %v, want fs.ErrExist", err)
		}
	})
}
