package s3

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"testing"
	"testing/synctest"
	"time"

	"github.com/minio/minio-go/v7"
)

func storeWithRetries(max int, base time.Duration) *Store {
	s := &Store{cfg: defaultConfig()}
	s.cfg.maxRetries, s.cfg.retryBase = max, base
	return s
}

var slowDown = minio.ErrorResponse{Code: "SlowDown", StatusCode: 503, Message: "Please reduce your request rate."}

func TestRetryBackoffTiming(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := storeWithRetries(4, 100*time.Millisecond)
		calls := 0
		start := time.Now()
		n, err := s.retry(t.Context(), func(context.Context) error { calls++; return slowDown })
		elapsed := time.Since(start)
		if n != 5 || calls != 5 {
			t.Fatalf("retry made %d attempts (%d calls), want 5", n, calls)
		}
		var re *retryError
		if !errors.As(err, &re) || re.attempts != 5 || !errors.Is(err, slowDown) {
			t.Fatalf("retry error = %#v, want a *retryError of 5 attempts wrapping SlowDown", err)
		}
		// Waits of 100, 200, 400 and 800ms, each scaled into [0.5, 1).
		if elapsed < 750*time.Millisecond || elapsed > 1500*time.Millisecond {
			t.Fatalf("retries took %v, want between 750ms and 1.5s", elapsed)
		}
	})
}

func TestRetryStopsOnSuccess(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := storeWithRetries(8, time.Second)
		calls := 0
		n, err := s.retry(t.Context(), func(context.Context) error {
			calls++
			if calls < 3 {
				return &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}
			}
			return nil
		})
		if err != nil || n != 3 {
			t.Fatalf("retry = %d, %v; want success on attempt 3", n, err)
		}
	})
}

func TestRetryNoRetries(t *testing.T) {
	s := storeWithRetries(0, 0)
	calls := 0
	n, err := s.retry(t.Context(), func(context.Context) error { calls++; return slowDown })
	var re *retryError
	if n != 1 || calls != 1 || errors.As(err, &re) || !errors.Is(err, slowDown) {
		t.Fatalf("retry with 0 retries = %d attempts, %d calls, %v; want one attempt and the plain error", n, calls, err)
	}
}

func TestRetryCanceledDuringWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := storeWithRetries(5, time.Minute)
		ctx, cancel := context.WithCancel(t.Context())
		go func() {
			time.Sleep(3 * time.Second)
			cancel()
		}()
		start := time.Now()
		n, err := s.retry(ctx, func(context.Context) error { return slowDown })
		if !errors.Is(err, context.Canceled) || n != 1 {
			t.Fatalf("retry = %d, %v; want context.Canceled after 1 attempt", n, err)
		}
		if d := time.Since(start); d != 3*time.Second {
			t.Fatalf("retry returned %v after the start, want 3s (when the context was canceled)", d)
		}
		// An already canceled context makes no attempt.
		calls := 0
		if n, err := s.retry(ctx, func(context.Context) error { calls++; return nil }); n != 0 || calls != 0 || !errors.Is(err, context.Canceled) {
			t.Fatalf("retry on a canceled context = %d, %v (%d calls); want no attempt", n, err, calls)
		}
	})
}

func TestBackoff(t *testing.T) {
	base := 100 * time.Millisecond
	for n := 1; n <= 12; n++ {
		want := min(base<<(n-1), maxRetryWait)
		for range 50 {
			d := backoff(base, n)
			if d < want/2 || d > want {
				t.Fatalf("backoff(%v, %d) = %v, want within [%v, %v]", base, n, d, want/2, want)
			}
		}
	}
	// A base above the cap is honoured, and not doubled.
	for n := 1; n <= 3; n++ {
		if d := backoff(time.Minute, n); d < 30*time.Second || d > time.Minute {
			t.Fatalf("backoff(1m, %d) = %v, want within [30s, 1m]", n, d)
		}
	}
}

func TestClassify(t *testing.T) {
	ctx := context.Background()
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	cases := []struct {
		name             string
		ctx              context.Context
		err              error
		retry, ambiguous bool
	}{
		{"PreconditionFailed", ctx, minio.ErrorResponse{Code: "PreconditionFailed", StatusCode: 412}, false, false},
		{"ConditionalRequestConflict", ctx, minio.ErrorResponse{Code: "ConditionalRequestConflict", StatusCode: 409}, true, false},
		{"OtherConflict", ctx, minio.ErrorResponse{Code: "BucketNotEmpty", StatusCode: 409}, false, false},
		{"SlowDown", ctx, slowDown, true, true},
		{"InternalError", ctx, minio.ErrorResponse{Code: "InternalError", StatusCode: 500}, true, true},
		{"BadGateway", ctx, minio.ErrorResponse{StatusCode: 502}, true, true},
		{"TooManyRequests", ctx, minio.ErrorResponse{StatusCode: 429}, true, false},
		{"Wrapped503", ctx, fmt.Errorf("put: %w", minio.ErrorResponse{StatusCode: 503}), true, true},
		{"NoSuchKey", ctx, minio.ErrorResponse{Code: "NoSuchKey", StatusCode: 404}, false, false},
		{"NoSuchBucket", ctx, minio.ErrorResponse{Code: "NoSuchBucket", StatusCode: 404}, false, false},
		{"AccessDenied", ctx, minio.ErrorResponse{Code: "AccessDenied", StatusCode: 403}, false, false},
		{"SignatureDoesNotMatch", ctx, minio.ErrorResponse{Code: "SignatureDoesNotMatch", StatusCode: 403}, false, false},
		{"ConnectionRefused", ctx, &url.Error{Op: "Put", URL: "http://x", Err: &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}}, true, true},
		{"RequestTimeout", ctx, &url.Error{Op: "Put", URL: "http://x", Err: context.DeadlineExceeded}, true, true},
		{"UnknownCA", ctx, &url.Error{Op: "Get", URL: "https://x", Err: x509.UnknownAuthorityError{}}, false, false},
		{"HTTPToHTTPS", ctx, &url.Error{Op: "Get", URL: "https://x", Err: errors.New("http: server gave HTTP response to HTTPS client")}, false, false},
		{"Canceled", canceled, &url.Error{Op: "Get", URL: "http://x", Err: context.Canceled}, false, false},
		{"Plain", ctx, errors.New("object name contains unsupported characters"), false, false},
	}
	for _, c := range cases {
		retry, ambiguous := classify(c.ctx, c.err)
		if retry != c.retry || ambiguous != c.ambiguous {
			t.Errorf("%s: classify(%v) = retry %t, ambiguous %t; want %t, %t", c.name, c.err, retry, ambiguous, c.retry, c.ambiguous)
		}
	}
}

func TestListPrefix(t *testing.T) {
	cases := []struct {
		prefix, ask string
		ok          bool
	}{
		{"", "", true},
		{"offsets/", "offsets/", true},
		{"a/b", "a/b", true},
		{"a/..x", "a/..x", true},
		{"a/..", "a/", true},
		{"a/.", "a/", true},
		{"..", "", true},
		{"/", "", false},
		{"/a", "", false},
		{"a//", "", false},
		{"../", "", false},
		{"a/./b", "", false},
		{"a\x00", "", false},
		{"\xff", "", false},
	}
	for _, c := range cases {
		ask, ok := listPrefix(c.prefix)
		if ask != c.ask || ok != c.ok {
			t.Errorf("listPrefix(%q) = %q, %t; want %q, %t", c.prefix, ask, ok, c.ask, c.ok)
		}
	}
}

func TestParseEndpoint(t *testing.T) {
	cases := []struct {
		in, host string
		secure   *bool
		bad      bool
	}{
		{in: "127.0.0.1:9000", host: "127.0.0.1:9000"},
		{in: "s3.amazonaws.com", host: "s3.amazonaws.com"},
		{in: "http://minio:9000", host: "minio:9000", secure: new(false)},
		{in: "https://minio:9000/", host: "minio:9000", secure: new(true)},
		{in: "HTTP://[::1]:9000", host: "[::1]:9000", secure: new(false)},
		{in: "", bad: true},
		{in: "ftp://x", bad: true},
		{in: "http://", bad: true},
		{in: "http://u:p@x", bad: true},
		{in: "http://x/p", bad: true},
		{in: "x:0", bad: true},
		{in: "x:port", bad: true},
	}
	for _, c := range cases {
		host, secure, err := parseEndpoint(c.in)
		if c.bad {
			if err == nil {
				t.Errorf("parseEndpoint(%q) = %q, want an error", c.in, host)
			}
			continue
		}
		if err != nil || host != c.host || (secure == nil) != (c.secure == nil) || (secure != nil && *secure != *c.secure) {
			t.Errorf("parseEndpoint(%q) = %q, %v, %v; want %q, %v", c.in, host, secure, err, c.host, c.secure)
		}
	}
}
