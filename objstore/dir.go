package objstore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// Dir is a Store kept in a local directory. Object "a/b/c" is the file
// <root>/a/b/c. See the package documentation for how writes are made
// atomic and durable.
//
// A directory cannot hold an object "a" and an object "a/b" at the same
// time (the file "a" would have to be a directory too); Put and PutIfAbsent
// return an error naming the conflict in that case. Object names whose last
// segment starts with '.' and contains ".tmp" are reserved for temporary
// files and rejected.
//
// A Dir is safe for concurrent use by multiple goroutines. Several processes
// may share one directory: PutIfAbsent is atomic across processes.
type Dir struct {
	root    string // absolute and clean
	rootSep string // root with a trailing separator, to cut from walked paths
	loc     string

	// mu orders directory removal (done by Delete while cleaning up empty
	// parents, under the write lock) against every other operation (read
	// lock). While the read lock is held no directory of this Dir disappears,
	// so a directory recorded in synced is still the one that was synced.
	mu sync.RWMutex
	// synced holds the relative paths of directories whose entry in their
	// parent is known to be durable.
	synced sync.Map
}

// NewDir returns a Store kept in the directory root, creating root (and its
// parents) if missing. The returned error names root.
func NewDir(root string) (*Dir, error) {
	if root == "" {
		return nil, errors.New("objstore: empty directory path: give the directory that should hold the objects")
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("objstore: directory %q: %w", root, err)
	}
	if err := mkdirRoot(abs); err != nil {
		return nil, fmt.Errorf("objstore: create directory store at %s: %w", abs, err)
	}
	rootSep := abs
	if !strings.HasSuffix(rootSep, string(filepath.Separator)) {
		rootSep += string(filepath.Separator)
	}
	return &Dir{root: abs, rootSep: rootSep, loc: "file://" + filepath.ToSlash(abs)}, nil
}

// mkdirRoot creates dir and any missing parents, syncing the parent of every
// directory it creates so the new entries survive a crash.
func mkdirRoot(dir string) error {
	var missing []string
	for d := dir; ; {
		fi, err := os.Stat(d)
		if err == nil {
			if !fi.IsDir() {
				return fmt.Errorf("%s exists and is not a directory", d)
			}
			break
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		missing = append(missing, d)
		parent := filepath.Dir(d)
		if parent == d {
			break
		}
		d = parent
	}
	for i := len(missing) - 1; i >= 0; i-- {
		d := missing[i]
		if err := os.Mkdir(d, 0o777); err != nil && !errors.Is(err, fs.ErrExist) {
			return err
		}
		if err := syncDir(filepath.Dir(d)); err != nil {
			return err
		}
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s exists and is not a directory", dir)
	}
	return nil
}

// Location returns "file://" followed by the absolute root directory.
func (d *Dir) Location() string { return d.loc }

// Root returns the absolute root directory.
func (d *Dir) Root() string { return d.root }

// isTempName reports whether a file's base name marks it as a temporary
// file: it starts with '.' and contains ".tmp".
func isTempName(base string) bool {
	return strings.HasPrefix(base, ".") && strings.Contains(base, ".tmp")
}

// maxTempBase bounds how much of an object's base name goes into the name of
// its temporary file, keeping that name within file system limits.
const maxTempBase = 64

func tempName(base string) string {
	if len(base) > maxTempBase {
		base = base[:maxTempBase]
	}
	return "." + base + "." + strconv.FormatUint(rand.Uint64(), 36) + ".tmp"
}

// check validates the context and the name for operation op and returns the
// object's file path, its directory and its base name.
func (d *Dir) check(ctx context.Context, op, name string) (file, dir, base string, err error) {
	if err := ctx.Err(); err != nil {
		return "", "", "", fmt.Errorf("objstore: %s %q in %s: %w", op, name, d.loc, err)
	}
	if err := ValidateName(name); err != nil {
		return "", "", "", fmt.Errorf("%w (%s in %s)", err, op, d.loc)
	}
	base = path.Base(name)
	if isTempName(base) {
		return "", "", "", fmt.Errorf("objstore: %s %q in %s: a directory store reserves names whose last segment starts with '.' and contains \".tmp\" for temporary files: choose another name",
			op, name, d.loc)
	}
	file = filepath.Join(d.root, filepath.FromSlash(name))
	return file, filepath.Dir(file), base, nil
}

func (d *Dir) wrap(op, name string, err error) error {
	return fmt.Errorf("objstore: %s %q in %s: %w", op, name, d.loc, err)
}

func (d *Dir) notExist(name string) error {
	return fmt.Errorf("objstore: object %q not found in %s (%w)", name, d.loc, fs.ErrNotExist)
}

// Get returns the object's bytes, owned by the caller, or an error wrapping
// fs.ErrNotExist if there is no such object.
func (d *Dir) Get(ctx context.Context, name string) ([]byte, error) {
	file, _, _, err := d.check(ctx, "get", name)
	if err != nil {
		return nil, err
	}
	d.mu.RLock()
	defer d.mu.RUnlock()
	data, err := os.ReadFile(file)
	if err != nil {
		if missingFile(err) {
			return nil, d.notExist(name)
		}
		return nil, d.wrap("get", name, err)
	}
	return data, nil
}

// missingFile reports whether a file system error means "no object here":
// nothing at the path, a file where a parent directory should be, or a
// directory (which holds other objects but is not one).
func missingFile(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) || errors.Is(err, syscall.EISDIR)
}

// Put writes the object atomically, replacing any object of that name.
// It writes and syncs a temporary file in the object's directory, renames
// it over the object, and syncs the directory.
func (d *Dir) Put(ctx context.Context, name string, data []byte) error {
	file, dir, base, err := d.check(ctx, "put", name)
	if err != nil {
		return err
	}
	d.mu.RLock()
	defer d.mu.RUnlock()
	tmp, err := d.writeTemp(name, dir, base, data)
	if err != nil {
		return d.wrap("put", name, err)
	}
	if err := os.Rename(tmp, file); err != nil {
		os.Remove(tmp)
		if c := d.conflict(name, file); c != nil {
			return c
		}
		return d.wrap("put", name, err)
	}
	if err := syncDir(dir); err != nil {
		return d.wrap("put", name, err)
	}
	return nil
}

// PutIfAbsent creates the object only if no object of that name exists,
// otherwise it returns an error wrapping fs.ErrExist. It writes and syncs a
// temporary file, hard-links it to the object's name (which fails if the
// name is taken, atomically even across processes), removes the temporary
// name and syncs the directory.
func (d *Dir) PutIfAbsent(ctx context.Context, name string, data []byte) error {
	file, dir, base, err := d.check(ctx, "put-if-absent", name)
	if err != nil {
		return err
	}
	d.mu.RLock()
	defer d.mu.RUnlock()
	tmp, err := d.writeTemp(name, dir, base, data)
	if err != nil {
		return d.wrap("put-if-absent", name, err)
	}
	linkErr := os.Link(tmp, file)
	rmErr := os.Remove(tmp)
	if linkErr != nil {
		if c := d.conflict(name, file); c != nil {
			return c
		}
		if errors.Is(linkErr, fs.ErrExist) {
			return fmt.Errorf("objstore: object %q already exists in %s (%w)", name, d.loc, fs.ErrExist)
		}
		return d.wrap("put-if-absent", name, fmt.Errorf("%w (the file system must support hard links)", linkErr))
	}
	if rmErr != nil && !errors.Is(rmErr, fs.ErrNotExist) {
		return d.wrap("put-if-absent", name, rmErr)
	}
	if err := syncDir(dir); err != nil {
		return d.wrap("put-if-absent", name, err)
	}
	return nil
}

// conflict returns an error if file cannot be an object because a directory
// of that name holds other objects, or nil.
func (d *Dir) conflict(name, file string) error {
	fi, err := os.Lstat(file)
	if err != nil || !fi.IsDir() {
		return nil
	}
	return fmt.Errorf("objstore: cannot store object %q in %s: objects named %q exist, and a directory store cannot hold an object whose name is a directory of other objects: rename one of them",
		name, d.loc, name+"/...")
}

// maxMkdirAttempts bounds retries when another process removes a directory
// between its creation and the creation of a file in it.
const maxMkdirAttempts = 8

// writeTemp creates the object's directory if needed and writes data to a
// new, synced temporary file in it, returning the temporary file's path.
// The caller holds d.mu for reading.
func (d *Dir) writeTemp(name, dir, base string, data []byte) (string, error) {
	relDir := path.Dir(name)
	for attempt := 1; ; attempt++ {
		if err := d.mkdirs(name, relDir); err != nil {
			return "", err
		}
		tmp := filepath.Join(dir, tempName(base))
		f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o666)
		if err != nil {
			if (errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrExist)) && attempt < maxMkdirAttempts {
				// The directory vanished (removed by another process) or
				// the random name was taken: forget what is known about
				// the directory and its parents, and try again.
				for r := relDir; r != "."; r = path.Dir(r) {
					d.synced.Delete(r)
				}
				continue
			}
			return "", err
		}
		_, werr := f.Write(data)
		serr := f.Sync()
		cerr := f.Close()
		if err := errors.Join(werr, serr, cerr); err != nil {
			os.Remove(tmp)
			return "", err
		}
		return tmp, nil
	}
}

// mkdirs makes sure every directory of relDir (a slash-separated path
// relative to the root, "." for the root itself) exists and that its entry
// in its parent is durable. The caller holds d.mu for reading.
func (d *Dir) mkdirs(name, relDir string) error {
	if relDir == "." {
		return nil
	}
	if _, ok := d.synced.Load(relDir); ok {
		return nil
	}
	segs := strings.Split(relDir, "/")
	for i := range segs {
		rel := strings.Join(segs[:i+1], "/")
		if _, ok := d.synced.Load(rel); ok {
			continue
		}
		p := filepath.Join(d.root, filepath.FromSlash(rel))
		err := os.Mkdir(p, 0o777)
		if err != nil && !errors.Is(err, fs.ErrExist) {
			if errors.Is(err, syscall.ENOTDIR) {
				return fmt.Errorf("object %q exists, and a directory store cannot hold objects under a name that is itself an object (needed for %q): rename one of them",
					strings.Join(segs[:i], "/"), name)
			}
			return err
		}
		if errors.Is(err, fs.ErrExist) {
			fi, serr := os.Lstat(p)
			if serr != nil {
				return serr
			}
			if !fi.IsDir() {
				return fmt.Errorf("object %q exists, and a directory store cannot hold objects under a name that is itself an object (needed for %q): rename one of them",
					rel, name)
			}
		}
		// Whether this call created the directory or found it (perhaps just
		// created by a concurrent writer that has not synced yet), sync the
		// parent once so the entry is durable before anything relies on it.
		if err := syncDir(filepath.Dir(p)); err != nil {
			return err
		}
		d.synced.Store(rel, struct{}{})
	}
	return nil
}

// List returns the names of objects starting with prefix, sorted in byte
// order. Temporary files and directories are not objects and are skipped.
func (d *Dir) List(ctx context.Context, prefix string) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("objstore: list %q in %s: %w", prefix, d.loc, err)
	}
	names := []string{}
	// Walk only the deepest directory the prefix fixes. If that part is not
	// a valid name, no valid name can start with prefix.
	start := d.root
	if i := strings.LastIndexByte(prefix, '/'); i >= 0 {
		if ValidateName(prefix[:i]) != nil {
			return names, nil
		}
		start = filepath.Join(d.root, filepath.FromSlash(prefix[:i]))
	}
	d.mu.RLock()
	defer d.mu.RUnlock()
	err := filepath.WalkDir(start, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			if missingFile(err) {
				if p == start {
					return filepath.SkipAll
				}
				return nil
			}
			return err
		}
		if e.IsDir() {
			if err := ctx.Err(); err != nil {
				return err
			}
			if p == start {
				return nil
			}
			rel := filepath.ToSlash(strings.TrimPrefix(p, d.rootSep))
			// Skip subtrees that cannot hold a match: the directory's
			// names all start with rel+"/".
			dirPrefix := rel + "/"
			if !strings.HasPrefix(dirPrefix, prefix) && !strings.HasPrefix(prefix, dirPrefix) {
				return filepath.SkipDir
			}
			return nil
		}
		if !e.Type().IsRegular() || isTempName(e.Name()) {
			return nil
		}
		rel := filepath.ToSlash(strings.TrimPrefix(p, d.rootSep))
		if strings.HasPrefix(rel, prefix) {
			names = append(names, rel)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("objstore: list %q in %s: %w", prefix, d.loc, err)
	}
	sort.Strings(names)
	return names, nil
}

// Delete removes the object if it exists, syncs its directory, then removes
// any parent directories left empty. Deleting a missing object returns nil.
func (d *Dir) Delete(ctx context.Context, name string) error {
	file, dir, _, err := d.check(ctx, "delete", name)
	if err != nil {
		return err
	}
	removed, err := d.deleteFile(name, file, dir)
	if err != nil || !removed {
		return err
	}
	d.removeEmptyParents(name)
	return nil
}

func (d *Dir) deleteFile(name, file, dir string) (bool, error) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	fi, err := os.Lstat(file)
	if err != nil {
		if missingFile(err) {
			return false, nil
		}
		return false, d.wrap("delete", name, err)
	}
	if fi.IsDir() {
		// A directory of other objects, not an object.
		return false, nil
	}
	if err := os.Remove(file); err != nil {
		if missingFile(err) {
			return false, nil
		}
		return false, d.wrap("delete", name, err)
	}
	if err := syncDir(dir); err != nil {
		return false, d.wrap("delete", name, err)
	}
	return true, nil
}

// removeEmptyParents removes the now-empty directories above name, deepest
// first, stopping at the first one that is not empty. It is tidying only:
// failures are ignored, and a directory left behind is harmless.
func (d *Dir) removeEmptyParents(name string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for rel := path.Dir(name); rel != "."; rel = path.Dir(rel) {
		p := filepath.Join(d.root, filepath.FromSlash(rel))
		if err := os.Remove(p); err != nil {
			return
		}
		d.synced.Delete(rel)
	}
}

// syncDir flushes a directory's entries to stable storage. A directory that
// no longer exists has nothing to flush: something removed it, together with
// whatever entry the caller wanted to make durable.
func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return err
	}
	serr := f.Sync()
	cerr := f.Close()
	return errors.Join(serr, cerr)
}
