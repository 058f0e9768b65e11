package objstore_test

import (
	"context"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/objstore"
)

func TestMemoryPrivateStoresAreDistinct(t *testing.T) {
	ctx := t.Context()
	a, b := objstore.NewMemory(), objstore.NewMemory()
	if err := a.Put(ctx, "k", []byte("a")); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Get(ctx, "k"); !objstore.IsNotExist(err) {
		t.Fatalf("private stores share objects: %v", err)
	}
	if a.Location() == b.Location() || !strings.HasPrefix(a.Location(), "mem://") {
		t.Fatalf("locations %q and %q", a.Location(), b.Location())
	}
}

func TestMemoryErrorsNameObjectAndStore(t *testing.T) {
	ctx := t.Context()
	m := objstore.SharedMemory("errors-test")
	t.Cleanup(func() { emptyStore(t, m) })
	_, err := m.Get(ctx, "commits/9")
	if err == nil || !strings.Contains(err.Error(), `"commits/9"`) || !strings.Contains(err.Error(), "mem://errors-test") {
		t.Fatalf("Get error = %v", err)
	}
	if err := m.PutIfAbsent(ctx, "x", nil); err != nil {
		t.Fatal(err)
	}
	err = m.PutIfAbsent(ctx, "x", nil)
	if !objstore.IsExist(err) || !strings.Contains(err.Error(), "mem://errors-test") {
		t.Fatalf("PutIfAbsent error = %v", err)
	}
}

// emptyStore deletes every object of a shared store, so a test can run
// again in the same process (go test -count).
func emptyStore(t *testing.T, s objstore.Store) {
	t.Helper()
	ctx := context.Background()
	names, err := s.List(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if err := s.Delete(ctx, n); err != nil {
			t.Fatal(err)
		}
	}
}
