package objstore_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/sluicehq/sluice/objstore"
)

func newDir(t testing.TB) (*objstore.Dir, string) {
	t.Helper()
	root := t.TempDir()
	d, err := objstore.NewDir(root)
	if err != nil {
		t.Fatal(err)
	}
	return d, root
}

// tempFiles returns the temporary files left anywhere under root.
func tempFiles(t *testing.T, root string) []string {
	t.Helper()
	var found []string
	err := filepath.WalkDir(root, func(p string, e os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !e.IsDir() && strings.HasPrefix(e.Name(), ".") && strings.Contains(e.Name(), ".tmp") {
			found = append(found, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}

func TestDirLayout(t *testing.T) {
	ctx := t.Context()
	d, root := newDir(t)
	if err := d.Put(ctx, "offsets/00000000000000000003", []byte("v1\n{}")); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(root, "offsets", "00000000000000000003"))
	if err != nil || string(got) != "v1\n{}" {
		t.Fatalf("object file = %q, %v; want it at <root>/offsets/00000000000000000003", got, err)
	}
	if d.Root() != root {
		t.Fatalf("Root = %q, want %q", d.Root(), root)
	}
}

func TestNewDirCreatesRoot(t *testing.T) {
	root := filepath.Join(t.TempDir(), "x", "y", "ckpt")
	d, err := objstore.NewDir(root)
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(root); err != nil || !fi.IsDir() {
		t.Fatalf("root not created: %v", err)
	}
	if err := d.Put(t.Context(), "a", []byte("a")); err != nil {
		t.Fatal(err)
	}
}

func TestNewDirErrors(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, []byte("x"), 0o666); err != nil {
		t.Fatal(err)
	}
	for _, root := range []string{"", file, filepath.Join(file, "sub")} {
		_, err := objstore.NewDir(root)
		if err == nil || !strings.HasPrefix(err.Error(), "objstore: ") {
			t.Errorf("NewDir(%q) = %v, want an objstore error", root, err)
		}
	}
}

func TestDirNoTempFilesLeft(t *testing.T) {
	ctx := t.Context()
	d, root := newDir(t)
	for i := range 5 {
		if err := d.Put(ctx, "p/obj", fmt.Appendf(nil, "v%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := d.PutIfAbsent(ctx, "c/obj", []byte("first")); err != nil {
		t.Fatal(err)
	}
	if err := d.PutIfAbsent(ctx, "c/obj", []byte("second")); !objstore.IsExist(err) {
		t.Fatalf("PutIfAbsent on existing = %v", err)
	}
	if left := tempFiles(t, root); len(left) != 0 {
		t.Fatalf("temporary files left behind: %q", left)
	}
}

// A crash after the temporary file is written but before it is linked or
// renamed leaves only the temporary file: no object is visible, and the
// name can still be created.
func TestDirCrashBeforeLinkLeavesNoObject(t *testing.T) {
	ctx := t.Context()
	d, root := newDir(t)
	if err := d.Put(ctx, "commits/00000000000000000000", []byte("c0")); err != nil {
		t.Fatal(err)
	}
	stray := []string{
		filepath.Join(root, "commits", ".00000000000000000001.k3j2h1.tmp"),
		filepath.Join(root, ".metadata.x.tmp"),
	}
	for _, p := range stray {
		if err := os.WriteFile(p, []byte("partial"), 0o666); err != nil {
			t.Fatal(err)
		}
	}
	names, err := d.List(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(names) != 1 || names[0] != "commits/00000000000000000000" {
		t.Fatalf("List = %q, want only the committed object", names)
	}
	if _, err := d.Get(ctx, "commits/00000000000000000001"); !objstore.IsNotExist(err) {
		t.Fatalf("Get of the interrupted object = %v, want not-exist", err)
	}
	if err := d.PutIfAbsent(ctx, "commits/00000000000000000001", []byte("c1")); err != nil {
		t.Fatalf("PutIfAbsent after an interrupted write: %v", err)
	}
	got, err := d.Get(ctx, "commits/00000000000000000001")
	if err != nil || string(got) != "c1" {
		t.Fatalf("Get = %q, %v; want c1", got, err)
	}
}

func TestDirReservedNames(t *testing.T) {
	ctx := t.Context()
	d, _ := newDir(t)
	for _, name := range []string{".x.tmp", "a/.b.tmp", "a/.c.tmp.json"} {
		err := d.Put(ctx, name, []byte("x"))
		if err == nil || !strings.Contains(err.Error(), "reserves names") {
			t.Errorf("Put(%q) = %v, want a reserved-name error", name, err)
		}
		if err := d.PutIfAbsent(ctx, name, []byte("x")); err == nil {
			t.Errorf("PutIfAbsent(%q) = nil, want a reserved-name error", name)
		}
	}
	// A dot file that is not a temporary-file name is an ordinary object.
	if err := d.Put(ctx, "a/.hidden", []byte("h")); err != nil {
		t.Fatal(err)
	}
	names, err := d.List(ctx, "a/")
	if err != nil || len(names) != 1 || names[0] != "a/.hidden" {
		t.Fatalf("List(a/) = %q, %v; want [a/.hidden]", names, err)
	}
}

// Readers running alongside a writer see complete versions only.
func TestDirNoPartialObjectVisible(t *testing.T) {
	ctx := t.Context()
	d, _ := newDir(t)
	const size = 256 << 10
	const versions = 20
	var wg sync.WaitGroup
	done := make(chan struct{})
	wg.Go(func() {
		defer close(done)
		for v := 1; v <= versions; v++ {
			if err := d.Put(ctx, "obj", bytes.Repeat([]byte{byte(v)}, size)); err != nil {
				t.Errorf("Put version %d: %v", v, err)
				return
			}
		}
	})
	for range 2 {
		wg.Go(func() {
			seen := 0
			for {
				select {
				case <-done:
					return
				default:
				}
				data, err := d.Get(ctx, "obj")
				if objstore.IsNotExist(err) {
					continue
				}
				if err != nil {
					t.Errorf("Get: %v", err)
					return
				}
				if len(data) != size {
					t.Errorf("Get returned %d bytes, want %d", len(data), size)
					return
				}
				if bytes.Count(data, data[:1]) != size {
					t.Errorf("Get returned a mix of versions")
					return
				}
				if int(data[0]) < seen {
					t.Errorf("version went back from %d to %d", seen, data[0])
					return
				}
				seen = int(data[0])
			}
		})
	}
	wg.Wait()
	got, err := d.Get(ctx, "obj")
	if err != nil || len(got) != size || got[0] != versions {
		t.Fatalf("final Get: %d bytes, %v", len(got), err)
	}
}

func TestDirObjectAndDirectoryConflict(t *testing.T) {
	ctx := t.Context()
	d, root := newDir(t)
	if err := d.Put(ctx, "a/b", []byte("ab")); err != nil {
		t.Fatal(err)
	}
	for _, put := range []func() error{
		func() error { return d.Put(ctx, "a", []byte("a")) },
		func() error { return d.PutIfAbsent(ctx, "a", []byte("a")) },
	} {
		err := put()
		if err == nil || objstore.IsExist(err) || !strings.Contains(err.Error(), "cannot hold") {
			t.Fatalf("storing \"a\" beside \"a/b\" = %v, want a conflict error", err)
		}
	}
	if _, err := d.Get(ctx, "a"); !objstore.IsNotExist(err) {
		t.Fatalf("Get of a directory name = %v, want not-exist", err)
	}
	if err := d.Delete(ctx, "a"); err != nil {
		t.Fatalf("Delete of a directory name = %v, want nil", err)
	}
	if got, err := d.Get(ctx, "a/b"); err != nil || string(got) != "ab" {
		t.Fatalf("a/b damaged: %q, %v", got, err)
	}

	if err := d.Put(ctx, "f", []byte("f")); err != nil {
		t.Fatal(err)
	}
	err := d.Put(ctx, "f/g", []byte("fg"))
	if err == nil || !strings.Contains(err.Error(), `object "f" exists`) {
		t.Fatalf("Put(f/g) beside f = %v, want a conflict error naming f", err)
	}
	if _, err := d.Get(ctx, "f/g"); !objstore.IsNotExist(err) {
		t.Fatalf("Get(f/g) under an object = %v, want not-exist", err)
	}
	if err := d.Delete(ctx, "f/g"); err != nil {
		t.Fatalf("Delete(f/g) under an object = %v, want nil", err)
	}

	// Deleting the last object under a directory removes the directory, so
	// its name can become an object.
	if err := d.Delete(ctx, "a/b"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "a")); !os.IsNotExist(err) {
		t.Fatalf("empty directory a left behind: %v", err)
	}
	if err := d.PutIfAbsent(ctx, "a", []byte("a")); err != nil {
		t.Fatalf("PutIfAbsent(a) after deleting a/b: %v", err)
	}
}

// Deletes that empty directories race with writes into them.
func TestDirConcurrentPutDelete(t *testing.T) {
	ctx := t.Context()
	d, _ := newDir(t)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range 50 {
				name := fmt.Sprintf("x/y/%d-%d", w, i)
				if err := d.PutIfAbsent(ctx, name, []byte(name)); err != nil {
					t.Errorf("PutIfAbsent(%s): %v", name, err)
					return
				}
				if err := d.Delete(ctx, name); err != nil {
					t.Errorf("Delete(%s): %v", name, err)
					return
				}
			}
			if err := d.Put(ctx, fmt.Sprintf("x/y/last-%d", w), []byte("l")); err != nil {
				t.Errorf("Put: %v", err)
			}
		})
	}
	wg.Wait()
	names, err := d.List(ctx, "x/")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"x/y/last-0", "x/y/last-1", "x/y/last-2", "x/y/last-3"}
	if fmt.Sprint(names) != fmt.Sprint(want) {
		t.Fatalf("List = %q, want %q", names, want)
	}
}

func TestDirErrorsNameObjectAndRoot(t *testing.T) {
	ctx := t.Context()
	d, root := newDir(t)
	_, err := d.Get(ctx, "offsets/7")
	if err == nil || !strings.HasPrefix(err.Error(), "objstore: ") ||
		!strings.Contains(err.Error(), `"offsets/7"`) || !strings.Contains(err.Error(), root) {
		t.Fatalf("Get error = %v, want it to name the object and %s", err, root)
	}
	if err := d.PutIfAbsent(ctx, "c", nil); err != nil {
		t.Fatal(err)
	}
	err = d.PutIfAbsent(ctx, "c", nil)
	if !objstore.IsExist(err) || !strings.Contains(err.Error(), `"c"`) || !strings.Contains(err.Error(), root) {
		t.Fatalf("PutIfAbsent error = %v, want it to name the object and %s", err, root)
	}
	err = d.Put(ctx, "a//b", nil)
	if err == nil || !strings.Contains(err.Error(), root) {
		t.Fatalf("invalid-name error = %v, want it to name %s", err, root)
	}
}

func BenchmarkDirPutIfAbsent(b *testing.B) {
	d, _ := newDir(b)
	ctx := b.Context()
	data := bytes.Repeat([]byte("x"), 1024)
	b.SetBytes(int64(len(data)))
	i := 0
	for b.Loop() {
		if err := d.PutIfAbsent(ctx, fmt.Sprintf("commits/%020d", i), data); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
