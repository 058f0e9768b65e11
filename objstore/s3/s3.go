package s3

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/minio/minio-go/v7/pkg/s3utils"

	"github.com/sluicehq/sluice/objstore"
)

func init() {
	objstore.Register("s3", func(ctx context.Context, u *url.URL) (objstore.Store, error) {
		return open(ctx, u)
	})
}

// ProbeDir is the folder, under the store's prefix, where Open's probe
// writes its objects. List never returns names in it.
const ProbeDir = "_sluice_probe"

// Store is an objstore.Store over an S3 bucket and key prefix. It is safe
// for concurrent use.
type Store struct {
	client   *minio.Client
	bucket   string
	prefix   string // "" or ending in '/'
	location string // s3://bucket[/prefix]
	endpoint string // scheme://host[:port], for messages
	cfg      config
}

var (
	_ objstore.Store     = (*Store)(nil)
	_ objstore.Describer = (*Store)(nil)
)

// Open opens the store at location "s3://bucket/prefix" (the prefix may be
// empty). The location may carry the parameters ?endpoint=host:port (or an
// http(s):// URL), &region=... and &singleWriter=true; options take
// precedence over them, and they over the environment (see the package
// documentation). Open checks that the bucket is reachable with the
// credentials, then probes that the store honours conditional writes
// unless WithSingleWriter is given.
func Open(ctx context.Context, location string, opts ...Option) (*Store, error) {
	u, err := url.Parse(location)
	if err != nil {
		return nil, fmt.Errorf("s3: bad location %q: %v: use s3://bucket/prefix", location, err)
	}
	return open(ctx, u, opts...)
}

func open(ctx context.Context, u *url.URL, opts ...Option) (*Store, error) {
	if !strings.EqualFold(u.Scheme, "s3") {
		return nil, fmt.Errorf("s3: location %q has scheme %q: use s3://bucket/prefix", u.Redacted(), u.Scheme)
	}
	if u.User != nil {
		return nil, fmt.Errorf("s3: location %q holds user information: give credentials with AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY or WithCredentials, never in the location", u.Redacted())
	}
	bucket := u.Host
	if bucket == "" {
		return nil, fmt.Errorf("s3: location %q names no bucket: use s3://bucket/prefix", u.String())
	}
	if err := s3utils.CheckValidBucketNameStrict(bucket); err != nil {
		return nil, fmt.Errorf("s3: location %q: bucket name %q is invalid: %v", u.String(), bucket, err)
	}
	prefix := strings.Trim(u.Path, "/")
	if prefix != "" {
		if err := objstore.ValidateName(prefix); err != nil {
			return nil, fmt.Errorf("s3: location %q: bad prefix: %w", u.String(), err)
		}
	}
	cfg := defaultConfig()
	for _, o := range opts {
		o(&cfg)
	}
	if err := cfg.resolve(u.Query()); err != nil {
		return nil, err
	}
	s := &Store{bucket: bucket, cfg: cfg, location: "s3://" + bucket}
	if prefix != "" {
		s.prefix = prefix + "/"
		s.location += "/" + prefix
	}
	scheme := "https://"
	if !*cfg.secure {
		scheme = "http://"
	}
	s.endpoint = scheme + cfg.endpoint

	transport := cfg.transport
	if transport == nil {
		t, err := defaultTransport(*cfg.secure, cfg.insecureSkipVerify)
		if err != nil {
			return nil, fmt.Errorf("s3: HTTP transport for %s: %w", s.endpoint, err)
		}
		transport = t
	}
	var err error
	s.client, err = minio.New(cfg.endpoint, &minio.Options{
		Creds:     credentialsFor(cfg),
		Secure:    *cfg.secure,
		Region:    cfg.region,
		Transport: transport,
		// The Store retries by its own policy (see retry.go); retries
		// inside the client would multiply with it.
		MaxRetries: 1,
	})
	if err != nil {
		return nil, fmt.Errorf("s3: client for %s: %w", s.endpoint, err)
	}
	if err := s.checkBucket(ctx); err != nil {
		return nil, err
	}
	if !cfg.singleWriter {
		if err := s.probe(ctx); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// credentialsFor returns static credentials if the options or the
// environment gave them, else the shared file and IAM chain.
func credentialsFor(cfg config) *credentials.Credentials {
	if cfg.access != "" {
		return credentials.NewStaticV4(cfg.access, cfg.secret, cfg.session)
	}
	return credentials.NewChainCredentials([]credentials.Provider{
		&credentials.FileAWSCredentials{},
		&credentials.IAM{},
	})
}

// defaultTransport is minio-go's default transport with a shorter
// connection timeout, so an unreachable endpoint fails an attempt quickly.
func defaultTransport(secure, skipVerify bool) (*http.Transport, error) {
	t, err := minio.DefaultTransport(secure)
	if err != nil {
		return nil, err
	}
	t.DialContext = (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	if skipVerify {
		if t.TLSClientConfig == nil {
			t.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
		}
		t.TLSClientConfig.InsecureSkipVerify = true
	}
	return t, nil
}

// Location returns "s3://bucket/prefix" ("s3://bucket" without a prefix).
func (s *Store) Location() string { return s.location }

func (s *Store) key(name string) string { return s.prefix + name }

// url names an object in messages.
func (s *Store) url(name string) string { return s.location + "/" + name }

// checkBucket lists at most one name under the prefix: it fails if the
// endpoint is unreachable, the credentials are rejected or the bucket is
// missing, with a message for each.
func (s *Store) checkBucket(ctx context.Context) error {
	_, err := s.retry(ctx, func(ctx context.Context) error {
		for obj := range s.client.ListObjectsIter(ctx, s.bucket, minio.ListObjectsOptions{
			Prefix: s.prefix, Recursive: true, MaxKeys: 1, FetchOwner: new(false),
		}) {
			return obj.Err
		}
		return ctx.Err()
	})
	if err != nil {
		return s.opError("open", s.location, err)
	}
	return nil
}

// probe checks that the store refuses a second create of an object.
func (s *Store) probe(ctx context.Context) error {
	var rnd [12]byte
	_, _ = rand.Read(rnd[:])
	name := ProbeDir + "/" + hex.EncodeToString(rnd[:])
	if err := s.PutIfAbsent(ctx, name, []byte("first")); err != nil {
		return fmt.Errorf("s3: probe of conditional writes at %s: the first create failed: %w", s.location, err)
	}
	err := s.PutIfAbsent(ctx, name, []byte("second"))
	// Clean up even if ctx ended meanwhile, within a bound.
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	if derr := s.Delete(dctx, name); derr != nil && err == nil {
		err = derr
	}
	switch {
	case err == nil:
		return fmt.Errorf("s3: %s (endpoint %s) accepted a second create of %s: it ignores conditional writes (If-None-Match: *), "+
			"which Sluice's exactly-once commit protocol needs so that two drivers can never both commit a batch. "+
			"If only one query ever writes to this location at a time, open it with WithSingleWriter() or ?singleWriter=true; "+
			"a second writer could then commit the same batch twice or overwrite another's log entries, duplicating or losing output",
			s.location, s.endpoint, s.url(name))
	case objstore.IsExist(err):
		return nil
	default:
		return fmt.Errorf("s3: probe of conditional writes at %s: %w", s.location, err)
	}
}

// Get returns the whole object. A missing object gives an error wrapping
// fs.ErrNotExist.
func (s *Store) Get(ctx context.Context, name string) ([]byte, error) {
	if err := objstore.ValidateName(name); err != nil {
		return nil, err
	}
	var data []byte
	_, err := s.retry(ctx, func(ctx context.Context) error {
		var err error
		data, err = s.get(ctx, s.key(name))
		return err
	})
	if err != nil {
		return nil, s.opError("get", s.url(name), err)
	}
	return data, nil
}

func (s *Store) get(ctx context.Context, key string) ([]byte, error) {
	body, info, _, err := minio.Core{Client: s.client}.GetObject(ctx, s.bucket, key, minio.GetObjectOptions{})
	if err != nil {
		return nil, err
	}
	defer body.Close()
	var buf bytes.Buffer
	if info.Size > 0 {
		buf.Grow(int(info.Size))
	}
	if _, err := buf.ReadFrom(body); err != nil {
		return nil, err
	}
	if info.Size >= 0 && int64(buf.Len()) != info.Size {
		return nil, fmt.Errorf("read %d bytes of %d: %w", buf.Len(), info.Size, io.ErrUnexpectedEOF)
	}
	return buf.Bytes(), nil
}

// Put creates or replaces the object. Objects larger than the multipart
// threshold are uploaded in parts; the object appears when the last part
// is in.
func (s *Store) Put(ctx context.Context, name string, data []byte) error {
	if err := objstore.ValidateName(name); err != nil {
		return err
	}
	_, err := s.retry(ctx, func(ctx context.Context) error {
		_, err := s.client.PutObject(ctx, s.bucket, s.key(name), bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{
			PartSize:    uint64(s.cfg.multipartThreshold),
			ContentType: "application/octet-stream",
		})
		return err
	})
	if err != nil {
		return s.opError("put", s.url(name), err)
	}
	return nil
}

// PutIfAbsent creates the object with a single conditional PUT
// (If-None-Match: *). If the object exists it returns an error wrapping
// fs.ErrExist. After an attempt whose outcome is unknown (the connection
// failed, or a 5xx), a retry that meets an existing object compares the
// object with data: if they are identical, the earlier attempt is taken to
// have succeeded and PutIfAbsent returns nil.
func (s *Store) PutIfAbsent(ctx context.Context, name string, data []byte) error {
	if err := objstore.ValidateName(name); err != nil {
		return err
	}
	key := s.key(name)
	opts := minio.PutObjectOptions{ContentType: "application/octet-stream", DisableMultipart: true}
	opts.SetMatchETagExcept("*")
	unsure := false // an earlier attempt may have written the object
	_, err := s.retry(ctx, func(ctx context.Context) error {
		_, err := s.client.PutObject(ctx, s.bucket, key, bytes.NewReader(data), int64(len(data)), opts)
		if err == nil {
			return nil
		}
		if isPreconditionFailed(err) {
			if unsure {
				got, gerr := s.get(ctx, key)
				if gerr != nil {
					return fmt.Errorf("the object exists after an attempt with an unknown outcome, and reading it back failed: %w", gerr)
				}
				if bytes.Equal(got, data) {
					return nil
				}
			}
			return errExists
		}
		if _, ambiguous := classify(ctx, err); ambiguous {
			unsure = true
		}
		return err
	})
	if err != nil {
		return s.opError("create", s.url(name), err)
	}
	return nil
}

// errExists marks a refused create; opError turns it into fs.ErrExist.
var errExists = errors.New("object already exists")

// List returns the names under the store's prefix that start with prefix,
// sorted in byte order. Names in ProbeDir are left out.
func (s *Store) List(ctx context.Context, prefix string) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, s.opError("list", s.location+"/"+prefix+"*", err)
	}
	ask, ok := listPrefix(prefix)
	if !ok {
		return nil, nil // no valid name starts with prefix
	}
	var names []string
	after := ""
	_, err := s.retry(ctx, func(ctx context.Context) error {
		// A retry resumes after the last name received.
		for obj := range s.client.ListObjectsIter(ctx, s.bucket, minio.ListObjectsOptions{
			Prefix:     s.prefix + ask,
			Recursive:  true,
			MaxKeys:    s.cfg.listPageSize,
			StartAfter: after,
			FetchOwner: new(false),
		}) {
			if obj.Err != nil {
				return obj.Err
			}
			after = obj.Key
			name := strings.TrimPrefix(obj.Key, s.prefix)
			if strings.HasPrefix(name, prefix) && !strings.HasPrefix(name, ProbeDir+"/") {
				names = append(names, name)
			}
		}
		// The listing stops silently when ctx ends.
		return ctx.Err()
	})
	if err != nil {
		return nil, s.opError("list", s.location+"/"+prefix+"*", err)
	}
	slices.Sort(names)
	return names, nil
}

// listPrefix returns the prefix to ask the server for the names starting
// with prefix, or false if no valid object name (see
// objstore.ValidateName) can start with it. Servers refuse prefixes with
// "." or ".." segments, so a prefix ending in one is cut back to its last
// '/' and the listing filtered.
func listPrefix(prefix string) (string, bool) {
	if !utf8.ValidString(prefix) || strings.IndexByte(prefix, 0) >= 0 {
		return "", false
	}
	segs := strings.Split(prefix, "/")
	for _, seg := range segs[:len(segs)-1] { // complete segments
		if seg == "" || seg == "." || seg == ".." {
			return "", false
		}
	}
	if lastSeg := segs[len(segs)-1]; lastSeg == "." || lastSeg == ".." {
		return prefix[:len(prefix)-len(lastSeg)], true
	}
	return prefix, true
}

// Delete removes the object; a missing object is not an error.
func (s *Store) Delete(ctx context.Context, name string) error {
	if err := objstore.ValidateName(name); err != nil {
		return err
	}
	_, err := s.retry(ctx, func(ctx context.Context) error {
		err := s.client.RemoveObject(ctx, s.bucket, s.key(name), minio.RemoveObjectOptions{})
		if err != nil && minioCode(err) == "NoSuchKey" {
			return nil
		}
		return err
	})
	if err != nil {
		return s.opError("delete", s.url(name), err)
	}
	return nil
}

// opError wraps err from operation op on what (an object URL or the store
// location) with the package prefix and, for errors a user can act on, a
// hint; missing objects wrap fs.ErrNotExist and refused creates
// fs.ErrExist.
func (s *Store) opError(op, what string, err error) error {
	if errors.Is(err, errExists) {
		return fmt.Errorf("s3: %s %s: %w", op, what, fs.ErrExist)
	}
	var re *retryError
	attempts := ""
	if errors.As(err, &re) {
		attempts = fmt.Sprintf(" (gave up after %d attempts in %v)", re.attempts, re.elapsed.Round(time.Millisecond))
		err = re.err
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("s3: %s %s: %w", op, what, err)
	}
	code := minioCode(err)
	switch code {
	case "NoSuchKey":
		return fmt.Errorf("s3: %s %s: %w", op, what, fs.ErrNotExist)
	case "NoSuchBucket":
		return fmt.Errorf("s3: %s %s: bucket %q does not exist at %s: create it first (for example: mc mb, or aws s3 mb s3://%s), or fix the location",
			op, what, s.bucket, s.endpoint, s.bucket)
	case "InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidToken", "ExpiredToken", "TokenRefreshRequired":
		return fmt.Errorf("s3: %s %s: %s rejected the credentials (%s: %v): check AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN, or WithCredentials",
			op, what, s.endpoint, code, err)
	case "AccessDenied":
		return fmt.Errorf("s3: %s %s: access denied by %s (%v): the credentials need s3:GetObject, s3:PutObject, s3:DeleteObject and s3:ListBucket on bucket %q",
			op, what, s.endpoint, err, s.bucket)
	case "":
		if isNetworkError(err) {
			return fmt.Errorf("s3: %s %s: cannot reach the endpoint %s%s: %w: check the endpoint (WithEndpoint, ?endpoint=, AWS_ENDPOINT_URL) and that the server is up",
				op, what, s.endpoint, attempts, err)
		}
	}
	return fmt.Errorf("s3: %s %s at %s%s: %w", op, what, s.endpoint, attempts, err)
}
