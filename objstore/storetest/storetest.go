package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"github.com/sluicehq/sluice/objstore"
)

// Run runs the conformance suite. newStore is called once per subtest, with
// that subtest's t, and must return an empty store; it may register
// cleanups with t.Cleanup.
func Run(t *testing.T, newStore func(t *testing.T) objstore.Store) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(t *testing.T, s objstore.Store)
	}{
		{"GetMissing", testGetMissing},
		{"PutGet", testPutGet},
		{"EmptyObject", testEmptyObject},
		{"BytesAreCopied", testBytesAreCopied},
		{"PutOverwrite", testPutOverwrite},
		{"PutIfAbsentCreates", testPutIfAbsentCreates},
		{"PutIfAbsentExisting", testPutIfAbsentExisting},
		{"PutIfAbsentConcurrent", testPutIfAbsentConcurrent},
		{"ListSorted", testListSorted},
		{"ListPrefix", testListPrefix},
		{"ListEmpty", testListEmpty},
		{"Delete", testDelete},
		{"DeleteMissing", testDeleteMissing},
		{"InvalidNames", testInvalidNames},
		{"UnusualCharacters", testUnusualCharacters},
		{"LargeObject", testLargeObject},
		{"CanceledContext", testCanceledContext},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t)
			if s == nil {
				t.Fatal("storetest: newStore returned nil")
			}
			tc.fn(t, s)
		})
	}
}

func put(t *testing.T, s objstore.Store, name string, data []byte) {
	t.Helper()
	if err := s.Put(t.Context(), name, data); err != nil {
		t.Fatalf("Put(%q): %v", name, err)
	}
}

func get(t *testing.T, s objstore.Store, name string) []byte {
	t.Helper()
	data, err := s.Get(t.Context(), name)
	if err != nil {
		t.Fatalf("Get(%q): %v", name, err)
	}
	return data
}

func wantContent(t *testing.T, s objstore.Store, name string, want []byte) {
	t.Helper()
	if got := get(t, s, name); !bytes.Equal(got, want) {
		t.Fatalf("Get(%q) = %s, want %s", name, brief(got), brief(want))
	}
}

func wantMissing(t *testing.T, s objstore.Store, name string) {
	t.Helper()
	data, err := s.Get(t.Context(), name)
	if !objstore.IsNotExist(err) {
		t.Fatalf("Get(%q) = %s, %v; want an error wrapping fs.ErrNotExist", name, brief(data), err)
	}
	if objstore.IsExist(err) {
		t.Fatalf("Get(%q) error %v also says the object exists", name, err)
	}
}

func list(t *testing.T, s objstore.Store, prefix string) []string {
	t.Helper()
	names, err := s.List(t.Context(), prefix)
	if err != nil {
		t.Fatalf("List(%q): %v", prefix, err)
	}
	return names
}

func wantList(t *testing.T, s objstore.Store, prefix string, want []string) {
	t.Helper()
	got := list(t, s, prefix)
	if len(got) == 0 && len(want) == 0 {
		return
	}
	if !slices.Equal(got, want) {
		t.Fatalf("List(%q) = %q, want %q", prefix, got, want)
	}
}

// brief formats object bytes for failure messages without flooding them.
func brief(b []byte) string {
	if b == nil {
		return "<nil>"
	}
	if len(b) <= 64 {
		return fmt.Sprintf("%q", b)
	}
	return fmt.Sprintf("%q... (%d bytes)", b[:64], len(b))
}

func testGetMissing(t *testing.T, s objstore.Store) {
	wantMissing(t, s, "missing")
	wantMissing(t, s, "nested/missing/object")
	put(t, s, "present", []byte("x"))
	wantMissing(t, s, "presen")
	wantMissing(t, s, "present2")
}

func testPutGet(t *testing.T, s objstore.Store) {
	objs := map[string][]byte{
		"top":                            []byte("top level"),
		"offsets/00000000000000000000":   []byte("v1\n{\"batch\":0}\n"),
		"state/agg/0/1.delta":            {0, 1, 2, 3, 255},
		"deeply/nested/name/with/levels": []byte("deep"),
	}
	for name, data := range objs {
		put(t, s, name, data)
	}
	for name, data := range objs {
		wantContent(t, s, name, data)
	}
}

func testEmptyObject(t *testing.T, s objstore.Store) {
	put(t, s, "empty", nil)
	if got := get(t, s, "empty"); len(got) != 0 {
		t.Fatalf("Get(empty) = %s, want no bytes", brief(got))
	}
	if err := s.PutIfAbsent(t.Context(), "empty2", []byte{}); err != nil {
		t.Fatalf("PutIfAbsent(empty2): %v", err)
	}
	if got := get(t, s, "empty2"); len(got) != 0 {
		t.Fatalf("Get(empty2) = %s, want no bytes", brief(got))
	}
	wantList(t, s, "", []string{"empty", "empty2"})
}

func testBytesAreCopied(t *testing.T, s objstore.Store) {
	data := []byte("original")
	put(t, s, "a", data)
	data[0] = 'X'
	wantContent(t, s, "a", []byte("original"))

	data2 := []byte("created")
	if err := s.PutIfAbsent(t.Context(), "b", data2); err != nil {
		t.Fatalf("PutIfAbsent(b): %v", err)
	}
	data2[0] = 'X'
	wantContent(t, s, "b", []byte("created"))

	got := get(t, s, "a")
	got[0] = 'Y'
	wantContent(t, s, "a", []byte("original"))
}

func testPutOverwrite(t *testing.T, s objstore.Store) {
	put(t, s, "obj", []byte("a long first version"))
	put(t, s, "obj", []byte("short"))
	wantContent(t, s, "obj", []byte("short"))
	put(t, s, "obj", []byte("third, longer than the second"))
	wantContent(t, s, "obj", []byte("third, longer than the second"))
	wantList(t, s, "", []string{"obj"})
}

func testPutIfAbsentCreates(t *testing.T, s objstore.Store) {
	if err := s.PutIfAbsent(t.Context(), "commits/00000000000000000001", []byte("c1")); err != nil {
		t.Fatalf("PutIfAbsent on a new name: %v", err)
	}
	wantContent(t, s, "commits/00000000000000000001", []byte("c1"))
	wantList(t, s, "", []string{"commits/00000000000000000001"})
}

func testPutIfAbsentExisting(t *testing.T, s objstore.Store) {
	ctx := t.Context()
	if err := s.PutIfAbsent(ctx, "commits/1", []byte("first")); err != nil {
		t.Fatalf("PutIfAbsent(commits/1): %v", err)
	}
	err := s.PutIfAbsent(ctx, "commits/1", []byte("second"))
	if !objstore.IsExist(err) {
		t.Fatalf("second PutIfAbsent(commits/1) = %v, want an error wrapping fs.ErrExist", err)
	}
	if objstore.IsNotExist(err) {
		t.Fatalf("PutIfAbsent error %v also says the object does not exist", err)
	}
	wantContent(t, s, "commits/1", []byte("first"))

	// An object written by Put is just as present.
	put(t, s, "commits/2", []byte("by put"))
	if err := s.PutIfAbsent(ctx, "commits/2", []byte("other")); !objstore.IsExist(err) {
		t.Fatalf("PutIfAbsent over a Put object = %v, want an error wrapping fs.ErrExist", err)
	}
	wantContent(t, s, "commits/2", []byte("by put"))
	wantList(t, s, "", []string{"commits/1", "commits/2"})
}

func testPutIfAbsentConcurrent(t *testing.T, s objstore.Store) {
	const n = 32
	const name = "commits/00000000000000000007"
	ctx := t.Context()
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = s.PutIfAbsent(ctx, name, fmt.Appendf(nil, "writer %02d", i))
		})
	}
	close(start)
	wg.Wait()
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil:
			if winner >= 0 {
				t.Fatalf("writers %d and %d both succeeded", winner, i)
			}
			winner = i
		case !objstore.IsExist(err):
			t.Fatalf("writer %d: %v, want nil or an error wrapping fs.ErrExist", i, err)
		}
	}
	if winner < 0 {
		t.Fatalf("none of %d writers succeeded", n)
	}
	wantContent(t, s, name, fmt.Appendf(nil, "writer %02d", winner))
	wantList(t, s, "commits/", []string{name})
}

// listNames are stored by the listing tests. Byte order puts '-' (0x2d)
// before '/' (0x2f) before '0' (0x30), so "a-c" < "a/b" < "a0": a store
// that sorts per directory level gets this wrong.
var listNames = []string{
	"a-c",
	"a/b",
	"a/c/d",
	"a/c/e",
	"a0",
	"b",
	"offsets/00000000000000000001",
	"offsets/00000000000000000002",
	"offsets/00000000000000000010",
	"offsets/0001x",
	"offsetsX",
}

func putListNames(t *testing.T, s objstore.Store) {
	t.Helper()
	shuffled := slices.Clone(listNames)
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(shuffled), func(i, j int) {
		shuffled[i], shuffled[j] = shuffled[j], shuffled[i]
	})
	for _, n := range shuffled {
		put(t, s, n, []byte(n))
	}
}

func testListSorted(t *testing.T, s objstore.Store) {
	putListNames(t, s)
	got := list(t, s, "")
	if !slices.IsSorted(got) {
		t.Fatalf("List(\"\") = %q is not sorted in byte order", got)
	}
	wantList(t, s, "", listNames)
	// Every listed name can be read back under that exact name.
	for _, n := range got {
		wantContent(t, s, n, []byte(n))
	}
}

func testListPrefix(t *testing.T, s objstore.Store) {
	putListNames(t, s)
	cases := []struct {
		prefix string
		want   []string
	}{
		{"offsets/", []string{"offsets/00000000000000000001", "offsets/00000000000000000002", "offsets/00000000000000000010", "offsets/0001x"}},
		{"offsets/0000", []string{"offsets/00000000000000000001", "offsets/00000000000000000002", "offsets/00000000000000000010"}},
		{"offsets/0000000000000000000", []string{"offsets/00000000000000000001", "offsets/00000000000000000002"}},
		{"offsets/00000000000000000002", []string{"offsets/00000000000000000002"}},
		{"offsets", []string{"offsets/00000000000000000001", "offsets/00000000000000000002", "offsets/00000000000000000010", "offsets/0001x", "offsetsX"}},
		{"off", []string{"offsets/00000000000000000001", "offsets/00000000000000000002", "offsets/00000000000000000010", "offsets/0001x", "offsetsX"}},
		{"a", []string{"a-c", "a/b", "a/c/d", "a/c/e", "a0"}},
		{"a/", []string{"a/b", "a/c/d", "a/c/e"}},
		{"a/c", []string{"a/c/d", "a/c/e"}},
		{"a/c/", []string{"a/c/d", "a/c/e"}},
		{"a/c/e", []string{"a/c/e"}},
		{"b", []string{"b"}},
		{"b/", nil},
		{"a/c/d/", nil},
		{"offsets/1", nil},
		{"zzz", nil},
		{"zzz/", nil},
		{"/", nil},
		{"../", nil},
	}
	for _, c := range cases {
		wantList(t, s, c.prefix, c.want)
	}
}

func testListEmpty(t *testing.T, s objstore.Store) {
	for _, prefix := range []string{"", "nothing/", "nothing"} {
		names, err := s.List(t.Context(), prefix)
		if err != nil {
			t.Fatalf("List(%q) on an empty store: %v, want no error", prefix, err)
		}
		if len(names) != 0 {
			t.Fatalf("List(%q) on an empty store = %q, want nothing", prefix, names)
		}
	}
}

func testDelete(t *testing.T, s objstore.Store) {
	ctx := t.Context()
	put(t, s, "dir/one", []byte("1"))
	put(t, s, "dir/two", []byte("2"))
	if err := s.Delete(ctx, "dir/one"); err != nil {
		t.Fatalf("Delete(dir/one): %v", err)
	}
	wantMissing(t, s, "dir/one")
	wantContent(t, s, "dir/two", []byte("2"))
	wantList(t, s, "", []string{"dir/two"})

	if err := s.Delete(ctx, "dir/two"); err != nil {
		t.Fatalf("Delete(dir/two): %v", err)
	}
	wantMissing(t, s, "dir/two")
	wantList(t, s, "", nil)

	// A deleted name can be created again.
	if err := s.PutIfAbsent(ctx, "dir/one", []byte("again")); err != nil {
		t.Fatalf("PutIfAbsent after Delete: %v", err)
	}
	wantContent(t, s, "dir/one", []byte("again"))
}

func testDeleteMissing(t *testing.T, s objstore.Store) {
	ctx := t.Context()
	if err := s.Delete(ctx, "never/existed"); err != nil {
		t.Fatalf("Delete of a missing object: %v, want nil", err)
	}
	put(t, s, "x", []byte("x"))
	for i := range 2 {
		if err := s.Delete(ctx, "x"); err != nil {
			t.Fatalf("Delete(x) #%d: %v, want nil", i+1, err)
		}
	}
	wantMissing(t, s, "x")
}

func testInvalidNames(t *testing.T, s objstore.Store) {
	ctx := t.Context()
	bad := []string{"", "/a", "a/", "a//b", "../x", "x/..", "a/../b", "./a", "a/./b", ".", "..", "a\x00b"}
	for _, name := range bad {
		if data, err := s.Get(ctx, name); err == nil || objstore.IsNotExist(err) {
			t.Errorf("Get(%q) = %s, %v; want an invalid-name error", name, brief(data), err)
		}
		if err := s.Put(ctx, name, []byte("x")); err == nil || objstore.IsExist(err) {
			t.Errorf("Put(%q) = %v; want an invalid-name error", name, err)
		}
		if err := s.PutIfAbsent(ctx, name, []byte("x")); err == nil || objstore.IsExist(err) {
			t.Errorf("PutIfAbsent(%q) = %v; want an invalid-name error", name, err)
		}
		if err := s.Delete(ctx, name); err == nil {
			t.Errorf("Delete(%q) = nil; want an invalid-name error", name)
		}
	}
	wantList(t, s, "", nil)
}

func testUnusualCharacters(t *testing.T, s objstore.Store) {
	names := []string{
		"dt=2024-01-01/part-00000-of-00002.parquet",
		"with space/and more spaces",
		"plus+equals=percent%20tilde~",
		"unicode/ключ/名前",
		"quote'and\"double",
		"question?hash#amp&",
	}
	for _, n := range names {
		put(t, s, n, []byte(n))
	}
	for _, n := range names {
		wantContent(t, s, n, []byte(n))
	}
	want := slices.Sorted(slices.Values(names))
	wantList(t, s, "", want)
	wantList(t, s, "unicode/ключ/", []string{"unicode/ключ/名前"})
	wantList(t, s, "with space/", []string{"with space/and more spaces"})
}

func testLargeObject(t *testing.T, s objstore.Store) {
	const size = 8 << 20
	data := make([]byte, size)
	r := rand.New(rand.NewPCG(7, 11))
	for i := 0; i < size; i += 8 {
		v := r.Uint64()
		for j := range 8 {
			data[i+j] = byte(v >> (8 * j))
		}
	}
	put(t, s, "large/put", data)
	if err := s.PutIfAbsent(t.Context(), "large/create", data); err != nil {
		t.Fatalf("PutIfAbsent of %d bytes: %v", size, err)
	}
	for _, name := range []string{"large/put", "large/create"} {
		got := get(t, s, name)
		if len(got) != size {
			t.Fatalf("Get(%q) returned %d bytes, want %d", name, len(got), size)
		}
		if !bytes.Equal(got, data) {
			t.Fatalf("Get(%q) returned different bytes than were stored", name)
		}
	}
}

func testCanceledContext(t *testing.T, s objstore.Store) {
	put(t, s, "existing", []byte("x"))
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	check := func(op string, err error) {
		t.Helper()
		if !errors.Is(err, context.Canceled) {
			t.Errorf("%s with a canceled context = %v, want an error wrapping context.Canceled", op, err)
		}
	}
	_, err := s.Get(ctx, "existing")
	check("Get", err)
	check("Put", s.Put(ctx, "new-put", []byte("x")))
	check("PutIfAbsent", s.PutIfAbsent(ctx, "new-create", []byte("x")))
	_, err = s.List(ctx, "")
	check("List", err)
	check("Delete", s.Delete(ctx, "existing"))

	// The canceled calls changed nothing.
	wantContent(t, s, "existing", []byte("x"))
	wantMissing(t, s, "new-put")
	wantMissing(t, s, "new-create")
	wantList(t, s, "", []string{"existing"})
}
