package s3

import (
	"context"
	"crypto/x509"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"time"

	"github.com/minio/minio-go/v7"
)

// retryError is the last error of an operation that ran out of retries.
type retryError struct {
	err      error
	attempts int
	elapsed  time.Duration
}

func (e *retryError) Error() string { return e.err.Error() }
func (e *retryError) Unwrap() error { return e.err }

// retry runs op until it succeeds, fails with an error that is not
// transient, ctx ends, or the retries run out. It returns the number of
// attempts. See backoff for the waits between attempts.
func (s *Store) retry(ctx context.Context, op func(ctx context.Context) error) (int, error) {
	start := time.Now()
	for attempt := 1; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return attempt - 1, err
		}
		err := op(ctx)
		if err == nil {
			return attempt, nil
		}
		if cerr := ctx.Err(); cerr != nil {
			return attempt, cerr
		}
		if retry, _ := classify(ctx, err); !retry {
			return attempt, err
		}
		if attempt > s.cfg.maxRetries {
			if s.cfg.maxRetries == 0 {
				return attempt, err
			}
			return attempt, &retryError{err: err, attempts: attempt, elapsed: time.Since(start)}
		}
		t := time.NewTimer(backoff(s.cfg.retryBase, attempt))
		select {
		case <-ctx.Done():
			t.Stop()
			return attempt, ctx.Err()
		case <-t.C:
		}
	}
}

// backoff returns the wait before retry n (n >= 1): base·2^(n-1), capped
// at maxRetryWait (or base if larger), scaled into [0.5, 1).
func backoff(base time.Duration, n int) time.Duration {
	limit := max(maxRetryWait, base)
	d := base
	for i := 1; i < n && d < limit; i++ {
		d *= 2
	}
	d = min(d, limit)
	return d/2 + time.Duration(rand.Int64N(int64(d/2)+1))
}

// retryableCodes are S3 error codes of transient conditions.
var retryableCodes = map[string]bool{
	"ConditionalRequestConflict": true, // a concurrent conditional write is in progress
	"RequestTimeout":             true,
	"InternalError":              true,
	"ServiceUnavailable":         true,
	"SlowDown":                   true,
	"SlowDownRead":               true,
	"SlowDownWrite":              true,
	"Throttling":                 true,
	"ThrottlingException":        true,
	"RequestLimitExceeded":       true,
	"RequestThrottled":           true,
	"XMinioServerNotInitialized": true, // MinIO is starting
}

// classify says whether err is transient (retry) and whether the request
// may have taken effect although it failed (ambiguous): a lost connection
// or a server error can hide a completed write.
func classify(ctx context.Context, err error) (retry, ambiguous bool) {
	if err == nil || ctx.Err() != nil {
		return false, false
	}
	var er minio.ErrorResponse
	if errors.As(err, &er) && (er.Code != "" || er.StatusCode != 0) {
		switch {
		case er.StatusCode == http.StatusPreconditionFailed:
			return false, false
		case er.Code == "ConditionalRequestConflict":
			return true, false
		case retryableCodes[er.Code]:
			return true, er.StatusCode >= 500 || er.StatusCode == 0 || er.Code == "RequestTimeout"
		}
		switch er.StatusCode {
		case http.StatusRequestTimeout, http.StatusInternalServerError, http.StatusBadGateway,
			http.StatusServiceUnavailable, http.StatusGatewayTimeout:
			return true, true
		case http.StatusTooManyRequests:
			return true, false
		}
		return false, false
	}
	if isNetworkError(err) {
		return true, true
	}
	return false, false
}

// isNetworkError reports whether err is a failure to reach the server or a
// connection that broke, excluding TLS and protocol misconfigurations,
// which a retry does not fix.
func isNetworkError(err error) bool {
	var (
		unknownCA x509.UnknownAuthorityError
		hostErr   x509.HostnameError
		certErr   x509.CertificateInvalidError
	)
	if errors.As(err, &unknownCA) || errors.As(err, &hostErr) || errors.As(err, &certErr) {
		return false
	}
	msg := err.Error()
	if strings.Contains(msg, "server gave HTTP response to HTTPS client") || strings.Contains(msg, "first record does not look like a TLS handshake") {
		return false
	}
	if errors.Is(err, context.DeadlineExceeded) { // a per-request timeout; the caller's ctx is live
		return true
	}
	var (
		netErr net.Error
		urlErr *url.Error
		opErr  *net.OpError
	)
	return errors.As(err, &netErr) || errors.As(err, &urlErr) || errors.As(err, &opErr) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

func isPreconditionFailed(err error) bool {
	var er minio.ErrorResponse
	return errors.As(err, &er) && (er.StatusCode == http.StatusPreconditionFailed || er.Code == "PreconditionFailed")
}

// minioCode returns the S3 error code of err, or "".
func minioCode(err error) string {
	var er minio.ErrorResponse
	if errors.As(err, &er) {
		return er.Code
	}
	return ""
}
