package s3

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// Option configures Open.
type Option func(*config)

// Defaults.
const (
	// DefaultEndpoint is used when neither an option, the location nor the
	// environment names one.
	DefaultEndpoint = "s3.amazonaws.com"
	// DefaultMultipartThreshold is the size above which Put uploads in
	// parts of this size.
	DefaultMultipartThreshold = 64 << 20
	// DefaultMaxRetries is how many times an operation is retried after a
	// transient failure, and DefaultRetryBase the first wait; each further
	// wait doubles, up to maxRetryWait.
	DefaultMaxRetries = 8
	DefaultRetryBase  = 100 * time.Millisecond

	// minPartSize and maxPartSize are S3's limits on a part (and so on the
	// multipart threshold, which is also the part size).
	minPartSize = 5 << 20
	maxPartSize = 5 << 30
	// maxRetryWait caps one wait between attempts.
	maxRetryWait = 5 * time.Second
	// defaultListPageSize is S3's largest page of a listing.
	defaultListPageSize = 1000
)

type config struct {
	errs []error // invalid option arguments, each naming its option

	endpoint           string // host[:port]; empty until resolved
	secure             *bool  // nil: from the endpoint's scheme, else true
	region             string
	regionSet          bool
	access, secret     string
	session            string
	credentialsSet     bool
	insecureSkipVerify bool
	multipartThreshold int64
	maxRetries         int
	retryBase          time.Duration
	singleWriter       bool
	transport          http.RoundTripper
	listPageSize       int
}

func defaultConfig() config {
	return config{
		multipartThreshold: DefaultMultipartThreshold,
		maxRetries:         DefaultMaxRetries,
		retryBase:          DefaultRetryBase,
		listPageSize:       defaultListPageSize,
	}
}

func (c *config) fail(format string, args ...any) {
	c.errs = append(c.errs, fmt.Errorf("s3: "+format, args...))
}

// WithEndpoint sets the S3 endpoint as host[:port], or as a URL
// "http://host:port" or "https://host:port" whose scheme also sets TLS
// (unless WithSecure says otherwise). The default is the endpoint in the
// location's ?endpoint= parameter, then AWS_ENDPOINT_URL_S3, then
// AWS_ENDPOINT_URL, then s3.amazonaws.com.
func WithEndpoint(endpoint string) Option {
	return func(c *config) {
		host, secure, err := parseEndpoint(endpoint)
		if err != nil {
			c.fail("WithEndpoint(%q): %v", endpoint, err)
			return
		}
		c.endpoint = host
		if secure != nil && c.secure == nil {
			c.secure = secure
		}
	}
}

// WithRegion sets the bucket's region, e.g. "eu-west-1". The default is the
// location's ?region= parameter, then AWS_REGION, then AWS_DEFAULT_REGION;
// without any, the region is looked up from the bucket.
func WithRegion(region string) Option {
	return func(c *config) {
		if strings.TrimSpace(region) == "" {
			c.fail("WithRegion(%q): the region is empty: give one such as us-east-1, or leave the option out", region)
			return
		}
		c.region, c.regionSet = region, true
	}
}

// WithCredentials sets static credentials; session is the session token of
// temporary credentials, or empty. The default is AWS_ACCESS_KEY_ID,
// AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN, then the shared AWS
// credentials file, then the instance's IAM role.
func WithCredentials(access, secret, session string) Option {
	return func(c *config) {
		if access == "" || secret == "" {
			c.fail("WithCredentials: the access key and the secret key must both be given (access key empty: %t, secret key empty: %t)", access == "", secret == "")
			return
		}
		c.access, c.secret, c.session, c.credentialsSet = access, secret, session, true
	}
}

// WithSecure chooses TLS (https) or plain http. The default is true,
// unless the endpoint was given as an http:// URL.
func WithSecure(secure bool) Option {
	return func(c *config) { c.secure = &secure }
}

// WithInsecureSkipVerify accepts any TLS certificate from the endpoint.
// Use it only for test servers with self-signed certificates.
func WithInsecureSkipVerify() Option {
	return func(c *config) { c.insecureSkipVerify = true }
}

// WithMultipartThreshold sets the size above which Put uploads an object
// in parts, and the part size (default 64 MiB). It must be between 5 MiB
// and 5 GiB, S3's limits on a part. PutIfAbsent always uploads in one
// request, because the condition applies to a single PUT.
func WithMultipartThreshold(bytes int64) Option {
	return func(c *config) {
		if bytes < minPartSize || bytes > maxPartSize {
			c.fail("WithMultipartThreshold(%d): the threshold is also the part size, which S3 requires to be between %d (5 MiB) and %d (5 GiB) bytes", bytes, minPartSize, int64(maxPartSize))
			return
		}
		c.multipartThreshold = bytes
	}
}

// WithRetries sets the retry policy for transient failures: at most max
// retries after the first attempt (0 disables retries), waiting base
// before the first retry and doubling the wait each time, up to 5s (or
// base, if larger) per wait, each scaled by a random factor in [0.5, 1).
// The default is 8 retries from 100ms.
func WithRetries(max int, base time.Duration) Option {
	return func(c *config) {
		if max < 0 {
			c.fail("WithRetries(%d, %v): the number of retries must be 0 or more", max, base)
			return
		}
		if base <= 0 && max > 0 {
			c.fail("WithRetries(%d, %v): the base wait must be positive", max, base)
			return
		}
		if base > time.Minute {
			c.fail("WithRetries(%d, %v): the base wait must be at most a minute", max, base)
			return
		}
		c.maxRetries, c.retryBase = max, base
	}
}

// WithSingleWriter skips the conditional-write probe of Open (see the
// package documentation): use it for stores that ignore If-None-Match,
// and only if a single writer ever uses the location at a time. The
// location parameter ?singleWriter=true does the same.
func WithSingleWriter() Option {
	return func(c *config) { c.singleWriter = true }
}

// WithHTTPTransport sets the HTTP transport of the client, e.g. to add
// tracing or a proxy. The default is a transport with connection,
// TLS-handshake and response-header timeouts.
func WithHTTPTransport(rt http.RoundTripper) Option {
	return func(c *config) {
		if rt == nil {
			c.fail("WithHTTPTransport(nil): give an http.RoundTripper, or leave the option out for the default")
			return
		}
		c.transport = rt
	}
}

// withListPageSize sets how many names one List request asks for.
func withListPageSize(n int) Option {
	return func(c *config) {
		if n < 1 || n > defaultListPageSize {
			c.fail("list page size %d: must be between 1 and %d", n, defaultListPageSize)
			return
		}
		c.listPageSize = n
	}
}

// parseEndpoint accepts "host", "host:port", or an http(s) URL of one; it
// returns host[:port] and, for a URL, whether it asked for TLS.
func parseEndpoint(s string) (host string, secure *bool, err error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", nil, errors.New("the endpoint is empty: give host:port or http(s)://host:port")
	}
	if !strings.Contains(s, "://") {
		s = "//" + s
	}
	u, err := url.Parse(s)
	if err != nil {
		return "", nil, fmt.Errorf("not a host:port or URL: %v", err)
	}
	switch strings.ToLower(u.Scheme) {
	case "":
	case "http":
		secure = new(false)
	case "https":
		secure = new(true)
	default:
		return "", nil, fmt.Errorf("scheme %q: use http or https", u.Scheme)
	}
	if u.Host == "" {
		return "", nil, errors.New("no host: give host:port or http(s)://host:port")
	}
	if u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return "", nil, errors.New("only a scheme, host and port are allowed (no user, path or query)")
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return "", nil, fmt.Errorf("port %q is not a number from 1 to 65535", p)
		}
	}
	return u.Host, secure, nil
}

// resolve fills what the options left unset from the location's query
// parameters, then the environment, then the defaults, and checks the
// whole.
func (c *config) resolve(query url.Values) error {
	for key := range query {
		switch key {
		case "endpoint", "region", "singleWriter":
		case "accessKey", "secretKey", "sessionToken", "access_key", "secret_key", "session_token", "aws_access_key_id", "aws_secret_access_key":
			c.fail("location parameter %q: credentials do not belong in a location (it appears in logs and progress reports): use AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY or WithCredentials", key)
		default:
			c.fail("unknown location parameter %q: the known ones are endpoint, region and singleWriter", key)
		}
	}
	// The location's endpoint is checked even when an option overrides it.
	if v := query.Get("endpoint"); v != "" {
		if _, _, err := parseEndpoint(v); err != nil {
			c.fail("location parameter endpoint=%q: %v", v, err)
		}
	}
	if c.endpoint == "" {
		for _, src := range []struct{ name, v string }{
			{"location parameter endpoint", query.Get("endpoint")},
			{"AWS_ENDPOINT_URL_S3", os.Getenv("AWS_ENDPOINT_URL_S3")},
			{"AWS_ENDPOINT_URL", os.Getenv("AWS_ENDPOINT_URL")},
		} {
			if src.v == "" {
				continue
			}
			host, secure, err := parseEndpoint(src.v)
			if err != nil {
				if src.name != "location parameter endpoint" { // reported above
					c.fail("%s=%q: %v", src.name, src.v, err)
				}
				break
			}
			c.endpoint = host
			if c.secure == nil {
				c.secure = secure
			}
			break
		}
		if c.endpoint == "" {
			c.endpoint = DefaultEndpoint
		}
	}
	if c.secure == nil {
		c.secure = new(true)
	}
	if !c.regionSet {
		for _, v := range []string{query.Get("region"), os.Getenv("AWS_REGION"), os.Getenv("AWS_DEFAULT_REGION")} {
			if v != "" {
				c.region = v
				break
			}
		}
	}
	if v := query.Get("singleWriter"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			c.fail("location parameter singleWriter=%q: use true or false", v)
		} else if b {
			c.singleWriter = true
		}
	}
	if !c.credentialsSet {
		c.access, c.secret, c.session = os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY"), os.Getenv("AWS_SESSION_TOKEN")
		if (c.access == "") != (c.secret == "") {
			c.fail("only one of AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY is set: set both, or neither to use the shared credentials file or an IAM role")
		}
	}
	if c.insecureSkipVerify && c.transport != nil {
		c.fail("WithInsecureSkipVerify cannot change the transport given by WithHTTPTransport: set InsecureSkipVerify in that transport's TLS configuration")
	}
	if c.insecureSkipVerify && !*c.secure {
		c.fail("WithInsecureSkipVerify with plain http (endpoint %s): certificates are only checked with TLS; drop the option or use https", c.endpoint)
	}
	return errors.Join(c.errs...)
}
