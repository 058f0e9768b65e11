package objstore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"sort"
	"strings"
	"sync"
)

// Store is a flat namespace of immutable-by-convention objects named by
// slash-separated keys ("offsets/00000000000000000012"). All implementations
// (local directory, memory, S3) honour the same contract, checked by the
// conformance suite in objstore/storetest:
//
//   - Get returns the whole object, or an error wrapping fs.ErrNotExist.
//   - Put creates or replaces an object atomically: a reader sees the old
//     object or the new one, never a prefix of it.
//   - PutIfAbsent creates the object only if no object of that name exists;
//     otherwise it returns an error wrapping fs.ErrExist and changes nothing.
//     Of N concurrent PutIfAbsent calls on one name exactly one succeeds.
//   - List returns the names that start with prefix, sorted lexicographically
//     (byte order). Names are full keys, not relative to prefix.
//   - Delete removes an object; deleting a missing object is not an error.
//   - Put and PutIfAbsent do not keep data after they return (callers reuse
//     their buffers), and Get returns a slice the caller may modify.
//
// Names are non-empty, use '/' as separator, and must not start with '/',
// contain "//", "." or ".." segments, or a NUL byte: see ValidateName.
type Store interface {
	Get(ctx context.Context, name string) ([]byte, error)
	Put(ctx context.Context, name string, data []byte) error
	PutIfAbsent(ctx context.Context, name string, data []byte) error
	List(ctx context.Context, prefix string) ([]string, error)
	Delete(ctx context.Context, name string) error
}

// Describer is an optional capability: a Store that can say where it lives
// (for logs and error messages), e.g. "file:///data/ckpt" or "s3://bucket/p".
type Describer interface {
	Location() string
}

// Location returns s's location if it implements Describer, or its Go type.
func Location(s Store) string {
	if d, ok := s.(Describer); ok {
		return d.Location()
	}
	return fmt.Sprintf("%T", s)
}

// ValidateName reports whether name is a valid object name.
func ValidateName(name string) error {
	if name == "" {
		return errors.New("objstore: empty object name")
	}
	if strings.HasPrefix(name, "/") || strings.HasSuffix(name, "/") {
		return fmt.Errorf("objstore: object name %q must not start or end with '/'", name)
	}
	if strings.IndexByte(name, 0) >= 0 {
		return fmt.Errorf("objstore: object name %q contains a NUL byte", name)
	}
	for _, seg := range strings.Split(name, "/") {
		switch seg {
		case "":
			return fmt.Errorf("objstore: object name %q contains an empty segment", name)
		case ".", "..":
			return fmt.Errorf("objstore: object name %q contains a %q segment", name, seg)
		}
	}
	return nil
}

// IsNotExist reports whether err says an object does not exist.
func IsNotExist(err error) bool { return errors.Is(err, fs.ErrNotExist) }

// IsExist reports whether err says an object already exists.
func IsExist(err error) bool { return errors.Is(err, fs.ErrExist) }

// Opener opens a Store for a parsed location URL. Register openers for URL
// schemes with Register; "file" (and plain paths) and "mem" are built in.
type Opener func(ctx context.Context, u *url.URL) (Store, error)

var (
	openersMu sync.RWMutex
	openers   = map[string]Opener{}
)

// Register makes an Opener available to Open for the URL scheme. A later
// registration for the same scheme replaces the earlier one.
func Register(scheme string, o Opener) {
	openersMu.Lock()
	defer openersMu.Unlock()
	openers[strings.ToLower(scheme)] = o
}

// Open opens the Store at location: a local path ("./ckpt", "/data/out"),
// a file URL ("file:///data/out"), a shared in-memory store ("mem://name",
// useful in tests and examples), or any registered scheme such as "s3://".
func Open(ctx context.Context, location string) (Store, error) {
	if location == "" {
		return nil, errors.New("objstore: empty location: give a directory path or a URL such as s3://bucket/prefix")
	}
	if !strings.Contains(location, "://") {
		return NewDir(location)
	}
	u, err := url.Parse(location)
	if err != nil {
		return nil, fmt.Errorf("objstore: bad location %q: %w", location, err)
	}
	scheme := strings.ToLower(u.Scheme)
	openersMu.RLock()
	o, ok := openers[scheme]
	openersMu.RUnlock()
	switch {
	case ok:
		return o(ctx, u)
	case scheme == "file":
		if u.Host != "" && u.Host != "localhost" {
			return nil, fmt.Errorf("objstore: file location %q names host %q: use file:///absolute/path or a plain path", location, u.Host)
		}
		if u.Path == "" {
			return nil, fmt.Errorf("objstore: file location %q has no path: use file:///absolute/path or a plain path", location)
		}
		return NewDir(u.Path)
	case scheme == "mem":
		return SharedMemory(u.Host + u.Path), nil
	}
	known := []string{"file", "mem"}
	openersMu.RLock()
	for k := range openers {
		known = append(known, k)
	}
	openersMu.RUnlock()
	sort.Strings(known)
	return nil, fmt.Errorf("objstore: no store for scheme %q in %q (known: %s; S3 needs the objstore/s3 package imported)",
		u.Scheme, location, strings.Join(known, ", "))
}

// Prefixed returns a Store that stores every name under prefix in s: a
// checkpoint and a sink can share one bucket. prefix must be a valid name.
func Prefixed(s Store, prefix string) Store {
	prefix = strings.Trim(prefix, "/")
	if prefix == "" {
		return s
	}
	return &prefixed{s: s, p: prefix + "/"}
}

type prefixed struct {
	s Store
	p string
}

// Each method validates the name as given, so an error names what the
// caller passed rather than the prefixed key.

func (p *prefixed) Get(ctx context.Context, name string) ([]byte, error) {
	if err := ValidateName(name); err != nil {
		return nil, err
	}
	return p.s.Get(ctx, p.p+name)
}

func (p *prefixed) Put(ctx context.Context, name string, data []byte) error {
	if err := ValidateName(name); err != nil {
		return err
	}
	return p.s.Put(ctx, p.p+name, data)
}

func (p *prefixed) PutIfAbsent(ctx context.Context, name string, data []byte) error {
	if err := ValidateName(name); err != nil {
		return err
	}
	return p.s.PutIfAbsent(ctx, p.p+name, data)
}

func (p *prefixed) Delete(ctx context.Context, name string) error {
	if err := ValidateName(name); err != nil {
		return err
	}
	return p.s.Delete(ctx, p.p+name)
}

func (p *prefixed) List(ctx context.Context, prefix string) ([]string, error) {
	names, err := p.s.List(ctx, p.p+prefix)
	if err != nil {
		return nil, err
	}
	for i, n := range names {
		names[i] = strings.TrimPrefix(n, p.p)
	}
	return names, nil
}

func (p *prefixed) Location() string {
	return strings.TrimSuffix(Location(p.s), "/") + "/" + strings.TrimSuffix(p.p, "/")
}
