package state

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluicehq/sluice/objstore"
)

func newTestProvider(t testing.TB, ckpt objstore.Store, opts ...Option) *MemoryProvider {
	t.Helper()
	p, err := NewMemoryProvider(ckpt, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func open(t testing.TB, p Provider, id StoreID, version int64) Store {
	t.Helper()
	s, err := p.Open(context.Background(), id, version)
	if err != nil {
		t.Fatalf("Open(%v, %d): %v", id, version, err)
	}
	return s
}

func commit(t testing.TB, s Store) int64 {
	t.Helper()
	v, err := s.Commit(context.Background())
	if err != nil {
		t.Fatalf("Commit of %v: %v", s.ID(), err)
	}
	return v
}

// commitVersions commits versions 0 to n-1 of id, starting from the
// empty state, letting change make each version's changes.
func commitVersions(t testing.TB, p Provider, id StoreID, n int, change func(v int64, s Store)) {
	t.Helper()
	for v := int64(0); v < int64(n); v++ {
		s := open(t, p, id, v-1)
		change(v, s)
		if got := commit(t, s); got != v {
			t.Fatalf("Commit of %v wrote version %d, want %d", id, got, v)
		}
	}
}

// contents returns every key and value of s.
func contents(s Store) map[string]string {
	m := make(map[string]string, s.Len())
	s.Iterate(func(k, v []byte) bool {
		m[string(k)] = string(v)
		return true
	})
	return m
}

func checkContents(t testing.TB, what string, got, want map[string]string) {
	t.Helper()
	if maps.Equal(got, want) {
		return
	}
	var diffs []string
	for k, w := range want {
		if g, ok := got[k]; !ok {
			diffs = append(diffs, fmt.Sprintf("%q missing (want %q)", k, w))
		} else if g != w {
			diffs = append(diffs, fmt.Sprintf("%q = %q, want %q", k, g, w))
		}
	}
	for k, g := range got {
		if _, ok := want[k]; !ok {
			diffs = append(diffs, fmt.Sprintf("%q = %q, want absent", k, g))
		}
	}
	slices.Sort(diffs)
	if len(diffs) > 10 {
		diffs = append(diffs[:10], "...")
	}
	t.Fatalf("%s: %d keys, want %d:\n%s", what, len(got), len(want), strings.Join(diffs, "\n"))
}

type storeKind struct {
	name string
	new  func(t *testing.T) objstore.Store
}

var storeKinds = []storeKind{
	{"memory", func(t *testing.T) objstore.Store { return objstore.NewMemory() }},
	{"dir", func(t *testing.T) objstore.Store {
		d, err := objstore.NewDir(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		return d
	}},
}

// Random operations over many versions, checked against a reference map
// after each operation; then every version is recovered from the
// checkpoint by a new provider.
func TestRandomOperationsAgainstReference(t *testing.T) {
	for _, sk := range storeKinds {
		for _, codec := range []Compression{CompressionNone, CompressionSnappy} {
			t.Run(sk.name+"/"+codec.String(), func(t *testing.T) {
				seed := time.Now().UnixNano()
				t.Logf("seed %d", seed)
				rng := rand.New(rand.NewPCG(uint64(seed), 7))
				ctx := context.Background()
				ckpt := sk.new(t)
				prov := newTestProvider(t, ckpt, WithSnapshotInterval(4), WithCompression(codec))
				id := StoreID{Operator: "agg-1", Partition: 5}
				const numVersions = 30
				var versions []map[string]string
				cur := map[string]string{}
				for v := int64(0); v < numVersions; v++ {
					if rng.IntN(5) == 0 {
						// A batch that fails: random changes, then Abort.
						s := open(t, prov, id, v-1)
						randomOps(t, rng, s, maps.Clone(cur), 20)
						s.Abort()
					}
					s := open(t, prov, id, v-1)
					checkContents(t, fmt.Sprintf("version %d at Open", v-1), contents(s), cur)
					before := maps.Clone(cur)
					put := randomOps(t, rng, s, cur, rng.IntN(80))
					var updated, removed int64
					for k := range put {
						if _, ok := cur[k]; ok {
							updated++
						}
					}
					for k := range before {
						if _, ok := cur[k]; !ok {
							removed++
						}
					}
					m := s.Metrics()
					if m.NumRowsTotal != int64(len(cur)) || m.NumRowsUpdated != updated || m.NumRowsRemoved != removed {
						t.Fatalf("version %d: metrics %+v, want total %d updated %d removed %d", v, m, len(cur), updated, removed)
					}
					if got := commit(t, s); got != v {
						t.Fatalf("Commit wrote version %d, want %d", got, v)
					}
					versions = append(versions, maps.Clone(cur))
				}

				fresh := newTestProvider(t, ckpt)
				s := open(t, fresh, id, EmptyVersion)
				checkContents(t, "EmptyVersion", contents(s), map[string]string{})
				s.Abort()
				for v, want := range versions {
					s := open(t, fresh, id, int64(v))
					checkContents(t, fmt.Sprintf("recovered version %d", v), contents(s), want)
					if s.Len() != len(want) {
						t.Fatalf("version %d: Len %d, want %d", v, s.Len(), len(want))
					}
					s.Abort()
					got := map[string]string{}
					err := ReadVersion(ctx, ckpt, id, int64(v), func(k, val []byte) bool {
						got[string(k)] = string(val)
						return true
					})
					if err != nil {
						t.Fatal(err)
					}
					checkContents(t, fmt.Sprintf("ReadVersion %d", v), got, want)
				}
			})
		}
	}
}

// randomOps applies n random operations to s and ref, checking Get and
// Len against ref after each. It returns the keys it put.
func randomOps(t *testing.T, rng *rand.Rand, s Store, ref map[string]string, n int) map[string]bool {
	t.Helper()
	put := map[string]bool{}
	for range n {
		key := fmt.Sprintf("key-%03d", rng.IntN(120))
		if rng.IntN(20) == 0 {
			key = ""
		}
		switch op := rng.IntN(10); {
		case op < 5:
			size := rng.IntN(12)
			if rng.IntN(10) == 0 {
				size = 100 + rng.IntN(400)
			}
			val := make([]byte, size)
			for i := range val {
				val[i] = byte(rng.IntN(256))
			}
			s.Put([]byte(key), val)
			ref[key] = string(val)
			put[key] = true
		case op < 8:
			s.Delete([]byte(key))
			delete(ref, key)
		default:
			got, ok := s.Get([]byte(key))
			want, wantOK := ref[key]
			if ok != wantOK || string(got) != want {
				t.Fatalf("Get(%q) = %q, %v; want %q, %v", key, got, ok, want, wantOK)
			}
		}
		if s.Len() != len(ref) {
			t.Fatalf("Len = %d, want %d", s.Len(), len(ref))
		}
	}
	return put
}

// A batch wrote version v+1 and failed before its commit entry: the re-run
// opens v again and commits different changes, which win.
func TestRerunAfterUncommittedVersion(t *testing.T) {
	ctx := context.Background()
	id := StoreID{Operator: "agg", Partition: 0}
	ckpt := objstore.NewMemory()
	prov := newTestProvider(t, ckpt)
	commitVersions(t, prov, id, 3, func(v int64, s Store) { s.Put(fmt.Appendf(nil, "k%d", v), []byte("v")) })
	want := map[string]string{"k0": "v", "k1": "v", "k2": "v"}

	s := open(t, prov, id, 2)
	s.Put([]byte("x"), []byte("A"))
	s.Delete([]byte("k0"))
	commit(t, s)

	// The same provider re-runs the batch: it must not reuse version 3.
	s = open(t, prov, id, 2)
	checkContents(t, "version 2 re-opened after version 3 was written", contents(s), want)
	s.Put([]byte("x"), []byte("B"))
	s.Put([]byte("y"), []byte("B"))
	if v := commit(t, s); v != 3 {
		t.Fatalf("re-run committed version %d, want 3", v)
	}

	s = open(t, newTestProvider(t, ckpt), id, 3)
	checkContents(t, "version 3 after the re-run", contents(s), map[string]string{"k0": "v", "k1": "v", "k2": "v", "x": "B", "y": "B"})
	s.Abort()

	// A re-run in a new provider, as after a restart.
	s = open(t, newTestProvider(t, ckpt), id, 2)
	s.Put([]byte("z"), []byte("C"))
	commit(t, s)
	got := map[string]string{}
	if err := ReadVersion(ctx, ckpt, id, 3, func(k, v []byte) bool { got[string(k)] = string(v); return true }); err != nil {
		t.Fatal(err)
	}
	checkContents(t, "version 3 after a second re-run", got, map[string]string{"k0": "v", "k1": "v", "k2": "v", "z": "C"})
}

// A Commit whose write fails leaves the store open: Commit may be retried,
// or the store aborted, after which Open rebuilds the version from the
// checkpoint.
func TestCommitFailure(t *testing.T) {
	ctx := context.Background()
	id := StoreID{Operator: "agg", Partition: 0}
	faulty := objstore.NewFaulty(objstore.NewMemory(), 1)
	prov := newTestProvider(t, faulty)
	commitVersions(t, prov, id, 2, func(v int64, s Store) { s.Put(fmt.Appendf(nil, "k%d", v), []byte("v")) })

	// The write reaches the store but the caller sees a failure.
	faulty.FailOn(objstore.Rule{Op: objstore.OpPut, After: true})
	s := open(t, prov, id, 1)
	s.Put([]byte("x"), []byte("A"))
	if _, err := s.Commit(ctx); !errors.Is(err, objstore.ErrInjected) || !strings.Contains(err.Error(), DeltaName(id, 2)) {
		t.Fatalf("Commit: got %v, want the injected failure naming %s", err, DeltaName(id, 2))
	}
	if _, ok := s.Get([]byte("x")); !ok {
		t.Fatal("after a failed Commit the store lost its changes")
	}
	s.Abort()
	s = open(t, prov, id, 1)
	checkContents(t, "version 1 after an aborted Commit", contents(s), map[string]string{"k0": "v", "k1": "v"})
	s.Put([]byte("x"), []byte("B"))

	// A write that fails before reaching the store, then a retry.
	faulty.FailOn(objstore.Rule{Op: objstore.OpPut})
	if _, err := s.Commit(ctx); !errors.Is(err, objstore.ErrInjected) {
		t.Fatalf("Commit: got %v, want the injected failure", err)
	}
	if v := commit(t, s); v != 2 {
		t.Fatalf("retried Commit wrote version %d, want 2", v)
	}
	s = open(t, newTestProvider(t, faulty), id, 2)
	checkContents(t, "version 2", contents(s), map[string]string{"k0": "v", "k1": "v", "x": "B"})
}

// A batch wrote version 5 with a snapshot and was never committed; the
// query restarts with a snapshot interval that does not make 5 a snapshot
// version. The stale snapshot must not be read for version 5.
func TestStaleSnapshotOfUncommittedVersion(t *testing.T) {
	ctx := context.Background()
	id := StoreID{Operator: "agg", Partition: 3}
	ckpt := objstore.NewMemory()
	prov := newTestProvider(t, ckpt, WithSnapshotInterval(5))
	commitVersions(t, prov, id, 5, func(v int64, s Store) { s.Put(fmt.Appendf(nil, "k%d", v), []byte("v")) })
	s := open(t, prov, id, 4)
	s.Put([]byte("x"), []byte("A"))
	s.Put([]byte("only-in-A"), []byte("A"))
	commit(t, s)
	if !s.Metrics().SnapshotWritten {
		t.Fatal("version 5 has no snapshot with interval 5")
	}
	// A leftover of an even later attempt.
	if err := ckpt.Put(ctx, DeltaName(id, 6), []byte("garbage")); err != nil {
		t.Fatal(err)
	}

	restarted := newTestProvider(t, ckpt, WithSnapshotInterval(7))
	s = open(t, restarted, id, 4)
	s.Put([]byte("x"), []byte("B"))
	commit(t, s)
	if s.Metrics().SnapshotWritten {
		t.Fatal("version 5 has a snapshot with interval 7")
	}
	for _, name := range []string{SnapshotName(id, 5), DeltaName(id, 6)} {
		if _, err := ckpt.Get(ctx, name); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("%s left by the uncommitted batch still exists (Get: %v)", name, err)
		}
	}
	s = open(t, newTestProvider(t, ckpt), id, 5)
	checkContents(t, "version 5", contents(s), map[string]string{"k0": "v", "k1": "v", "k2": "v", "k3": "v", "k4": "v", "x": "B"})
}

// Objects above the opened version are never read, even when damaged, and
// the next Commit replaces or deletes them.
func TestOrphanObjectsIgnored(t *testing.T) {
	ctx := context.Background()
	id := StoreID{Operator: "dedup", Partition: 1}
	ckpt := objstore.NewMemory()
	commitVersions(t, newTestProvider(t, ckpt), id, 4, func(v int64, s Store) { s.Put(fmt.Appendf(nil, "k%d", v), []byte("v")) })
	orphans := []string{DeltaName(id, 4), SnapshotName(id, 4), DeltaName(id, 6), SnapshotName(id, 10)}
	for _, name := range orphans {
		if err := ckpt.Put(ctx, name, []byte("v1\nnot a state object")); err != nil {
			t.Fatal(err)
		}
	}
	prov := newTestProvider(t, ckpt)
	s := open(t, prov, id, 3)
	checkContents(t, "version 3", contents(s), map[string]string{"k0": "v", "k1": "v", "k2": "v", "k3": "v"})
	s.Put([]byte("k4"), []byte("v"))
	commit(t, s)
	for _, name := range orphans[1:] {
		if _, err := ckpt.Get(ctx, name); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("orphan %s still exists after Commit (Get: %v)", name, err)
		}
	}
	s = open(t, newTestProvider(t, ckpt), id, 4)
	checkContents(t, "version 4", contents(s), map[string]string{"k0": "v", "k1": "v", "k2": "v", "k3": "v", "k4": "v"})

	// Opening the empty version leaves objects alone until a Commit.
	s.Abort()
	s = open(t, newTestProvider(t, ckpt), id, EmptyVersion)
	if s.Len() != 0 {
		t.Fatalf("EmptyVersion has %d keys", s.Len())
	}
	s.Abort()
	if _, err := ckpt.Get(ctx, DeltaName(id, 0)); err != nil {
		t.Fatalf("Open of EmptyVersion and Abort deleted state: %v", err)
	}
}

func listNames(t *testing.T, ckpt objstore.Store, id StoreID) []string {
	t.Helper()
	names, err := ckpt.List(context.Background(), PartitionDir(id)+"/")
	if err != nil {
		t.Fatal(err)
	}
	for i, n := range names {
		names[i] = strings.TrimPrefix(n, PartitionDir(id)+"/")
	}
	return names
}

func TestPurge(t *testing.T) {
	ctx := context.Background()
	id := StoreID{Operator: "agg", Partition: 0}
	ckpt := objstore.NewMemory()
	prov := newTestProvider(t, ckpt, WithSnapshotInterval(10))
	var versions []map[string]string
	cur := map[string]string{}
	commitVersions(t, prov, id, 26, func(v int64, s Store) {
		k := fmt.Sprintf("k%d", v%7)
		if v%3 == 0 {
			s.Delete([]byte(k))
			delete(cur, k)
		} else {
			s.Put([]byte(k), fmt.Appendf(nil, "%d", v))
			cur[k] = fmt.Sprint(v)
		}
		versions = append(versions, maps.Clone(cur))
	})

	// No snapshot at or below 5: recovery of 5 needs every delta.
	before := listNames(t, ckpt, id)
	if err := prov.Purge(ctx, id, 5); err != nil {
		t.Fatal(err)
	}
	if after := listNames(t, ckpt, id); !slices.Equal(after, before) {
		t.Fatalf("Purge(5) deleted %d objects, want none", len(before)-len(after))
	}

	if err := prov.Purge(ctx, id, 17); err != nil {
		t.Fatal(err)
	}
	var want []string
	for v := int64(10); v <= 25; v++ {
		if v > 10 {
			want = append(want, fmt.Sprintf("%020d.delta", v))
		}
		if v%10 == 0 {
			want = append(want, fmt.Sprintf("%020d.snapshot", v))
		}
	}
	if got := listNames(t, ckpt, id); !slices.Equal(got, want) {
		t.Fatalf("after Purge(17):\n got %q\nwant %q", got, want)
	}
	fresh := newTestProvider(t, ckpt)
	for v := int64(10); v <= 25; v++ {
		s := open(t, fresh, id, v)
		checkContents(t, fmt.Sprintf("version %d after Purge(17)", v), contents(s), versions[v])
		s.Abort()
	}
	if _, err := fresh.Open(ctx, id, 9); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Open of purged version 9: got %v, want an error wrapping fs.ErrNotExist", err)
	}

	if err := prov.Purge(ctx, id, 25); err != nil {
		t.Fatal(err)
	}
	if got := listNames(t, ckpt, id); got[0] != fmt.Sprintf("%020d.snapshot", 20) || len(got) != 6 {
		t.Fatalf("after Purge(25): %q, want snapshot 20 and deltas 21 to 25", got)
	}
	s := open(t, newTestProvider(t, ckpt), id, 20)
	checkContents(t, "version 20, the oldest retained", contents(s), versions[20])
}

func TestMissingDelta(t *testing.T) {
	ctx := context.Background()
	id := StoreID{Operator: "agg", Partition: 4}
	ckpt := objstore.NewMemory()
	commitVersions(t, newTestProvider(t, ckpt), id, 6, func(v int64, s Store) { s.Put([]byte("k"), fmt.Appendf(nil, "%d", v)) })
	if err := ckpt.Delete(ctx, DeltaName(id, 3)); err != nil {
		t.Fatal(err)
	}
	_, err := newTestProvider(t, ckpt).Open(ctx, id, 5)
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), DeltaName(id, 3)) {
		t.Fatalf("Open: got %v, want an error wrapping fs.ErrNotExist naming %s", err, DeltaName(id, 3))
	}
	// Versions below the gap still recover.
	s := open(t, newTestProvider(t, ckpt), id, 2)
	if v, _ := s.Get([]byte("k")); string(v) != "2" {
		t.Fatalf("version 2: k = %q, want 2", v)
	}
	if _, err := newTestProvider(t, objstore.NewMemory()).Open(ctx, id, 0); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Open of version 0 with no objects: got %v, want fs.ErrNotExist", err)
	}
}

// Open of the version the working set holds reads nothing from the
// checkpoint.
func TestOpenAtWorkingVersionIsFree(t *testing.T) {
	id := StoreID{Operator: "agg", Partition: 0}
	faulty := objstore.NewFaulty(objstore.NewMemory(), 1)
	prov := newTestProvider(t, faulty, WithSnapshotInterval(3))
	commitVersions(t, prov, id, 2, func(v int64, s Store) { s.Put([]byte("k"), []byte("v")) })
	reads := faulty.Calls(objstore.OpGet) + faulty.Calls(objstore.OpList)
	for v := int64(1); v < 8; v++ {
		s := open(t, prov, id, v)
		s.Put(fmt.Appendf(nil, "k%d", v), []byte("v"))
		commit(t, s)
	}
	// Aborting without changes keeps the working set too.
	open(t, prov, id, 8).Abort()
	open(t, prov, id, 8).Abort()
	if got := faulty.Calls(objstore.OpGet) + faulty.Calls(objstore.OpList); got != reads {
		t.Fatalf("Open at the working version read the checkpoint %d times", got-reads)
	}
	// One Put per version, two at the snapshot versions 3 and 6.
	if got := faulty.Calls(objstore.OpPut); got != 2+7+2 {
		t.Fatalf("%d Puts for 9 versions, want 11", got)
	}
}

// Different partitions are opened, changed and committed in parallel.
func TestConcurrentPartitions(t *testing.T) {
	ctx := context.Background()
	ckpt := objstore.NewMemory()
	prov := newTestProvider(t, ckpt, WithSnapshotInterval(4))
	const parts, versions = 8, 20
	want := make([]map[string]string, parts)
	var wg sync.WaitGroup
	errs := make(chan error, parts)
	for p := range parts {
		wg.Go(func() {
			id := StoreID{Operator: "agg", Partition: p}
			ref := map[string]string{}
			for v := int64(0); v < versions; v++ {
				s, err := prov.Open(ctx, id, v-1)
				if err != nil {
					errs <- err
					return
				}
				for i := range 50 {
					k := fmt.Sprintf("p%d-k%d", p, (int(v)*7+i)%60)
					if i%5 == 0 {
						s.Delete([]byte(k))
						delete(ref, k)
					} else {
						s.Put([]byte(k), fmt.Appendf(nil, "%d-%d", v, i))
						ref[k] = fmt.Sprintf("%d-%d", v, i)
					}
				}
				if _, err := s.Commit(ctx); err != nil {
					errs <- err
					return
				}
			}
			want[p] = ref
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	fresh := newTestProvider(t, ckpt)
	got := make([]map[string]string, parts)
	for p := range parts {
		wg.Go(func() {
			s, err := fresh.Open(ctx, StoreID{Operator: "agg", Partition: p}, versions-1)
			if err != nil {
				t.Error(err)
				return
			}
			got[p] = contents(s)
			s.Abort()
		})
	}
	wg.Wait()
	for p := range parts {
		checkContents(t, fmt.Sprintf("partition %d", p), got[p], want[p])
	}
}

func TestMetrics(t *testing.T) {
	id := StoreID{Operator: "agg", Partition: 0}
	prov := newTestProvider(t, objstore.NewMemory(), WithSnapshotInterval(1))
	s := open(t, prov, id, EmptyVersion)
	for _, k := range []string{"a", "b", "c"} {
		s.Put([]byte(k), []byte("1"))
	}
	s.Put([]byte("a"), []byte("2"))
	commit(t, s)
	m := s.Metrics()
	if m.NumRowsTotal != 3 || m.NumRowsUpdated != 3 || m.NumRowsRemoved != 0 || m.BytesWritten == 0 || m.SnapshotWritten || m.MemoryUsedBytes <= 0 {
		t.Fatalf("version 0 metrics: %+v", m)
	}
	s = open(t, prov, id, 0)
	s.Put([]byte("a"), []byte("3"))
	s.Delete([]byte("b"))
	s.Put([]byte("d"), []byte("1"))
	s.Delete([]byte("d"))
	s.Delete([]byte("absent"))
	commit(t, s)
	m = s.Metrics()
	if m.NumRowsTotal != 2 || m.NumRowsUpdated != 1 || m.NumRowsRemoved != 1 || !m.SnapshotWritten || s.Len() != 2 {
		t.Fatalf("version 1 metrics: %+v", m)
	}
	if s.Version() != 1 {
		t.Fatalf("Version after Commit = %d, want 1", s.Version())
	}
	// The delta holds exactly the changed keys: a put of a and a
	// tombstone of b (d was created and deleted within the version).
	data, err := prov.checkpoint.Get(context.Background(), DeltaName(id, 1))
	if err != nil {
		t.Fatal(err)
	}
	_, recs, err := decodeAll(data)
	if err != nil {
		t.Fatal(err)
	}
	if want := []record{{opPut, "a", "3"}, {opTombstone, "b", ""}}; !slices.Equal(recs, want) {
		t.Fatalf("delta of version 1 = %q, want %q", recs, want)
	}
}

func TestValuesInPlaceAndMemory(t *testing.T) {
	prov := newTestProvider(t, objstore.NewMemory())
	s := open(t, prov, StoreID{Operator: "agg", Partition: 0}, EmptyVersion)
	empty := s.MemoryBytes()
	s.Put([]byte("k"), []byte("12345678"))
	one := s.MemoryBytes()
	if one <= empty {
		t.Fatalf("MemoryBytes did not grow with a key: %d then %d", empty, one)
	}
	s.Put([]byte("k"), []byte("abcdefgh"))
	if v, _ := s.Get([]byte("k")); string(v) != "abcdefgh" {
		t.Fatalf("Get after an in-place update = %q", v)
	}
	if s.MemoryBytes() != one {
		t.Fatalf("an in-place update changed MemoryBytes from %d to %d", one, s.MemoryBytes())
	}
	long := strings.Repeat("x", 1000)
	s.Put([]byte("k"), []byte(long))
	if v, _ := s.Get([]byte("k")); string(v) != long {
		t.Fatalf("Get after growing the value = %q", v)
	}
	if s.MemoryBytes() < one+900 {
		t.Fatalf("MemoryBytes %d does not count a 1000-byte value", s.MemoryBytes())
	}
	s.Put([]byte("k"), []byte("ab"))
	if v, _ := s.Get([]byte("k")); string(v) != "ab" || cap(v) != 2 {
		t.Fatalf("Get after shrinking the value = %q (cap %d)", v, cap(v))
	}
	// Values given to Put are copied.
	buf := []byte("value")
	s.Put([]byte("j"), buf)
	buf[0] = 'X'
	if v, _ := s.Get([]byte("j")); string(v) != "value" {
		t.Fatalf("Put kept the caller's buffer: %q", v)
	}
	s.Delete([]byte("k"))
	s.Delete([]byte("j"))
	// What remains is the record of the two changed keys.
	if s.Len() != 0 || s.MemoryBytes() != empty+2*dirtyOverhead {
		t.Fatalf("after deleting every key: Len %d, MemoryBytes %d (want 0, %d)", s.Len(), s.MemoryBytes(), empty+2*dirtyOverhead)
	}
}

func TestIterateDeletes(t *testing.T) {
	id := StoreID{Operator: "agg", Partition: 0}
	ckpt := objstore.NewMemory()
	prov := newTestProvider(t, ckpt)
	s := open(t, prov, id, EmptyVersion)
	for i := range 100 {
		s.Put(fmt.Appendf(nil, "%03d", i), []byte{byte(i)})
	}
	commit(t, s)
	s = open(t, prov, id, 0)
	want := map[string]string{}
	s.Iterate(func(k, v []byte) bool {
		if v[0]%2 == 0 {
			s.Delete(k)
		} else {
			s.Put(k, []byte{v[0], 'x'})
			want[string(k)] = string([]byte{v[0], 'x'})
		}
		return true
	})
	checkContents(t, "after deleting while iterating", contents(s), want)
	n := 0
	s.Iterate(func(k, v []byte) bool { n++; return n < 3 })
	if n != 3 {
		t.Fatalf("Iterate went on after fn returned false: %d calls", n)
	}
	commit(t, s)
	s = open(t, newTestProvider(t, ckpt), id, 1)
	checkContents(t, "recovered", contents(s), want)
}

func TestMisuse(t *testing.T) {
	ctx := context.Background()
	id := StoreID{Operator: "agg", Partition: 0}
	prov := newTestProvider(t, objstore.NewMemory())
	s := open(t, prov, id, EmptyVersion)
	if _, err := prov.Open(ctx, id, EmptyVersion); err == nil || !strings.Contains(err.Error(), "already open") {
		t.Fatalf("second Open: got %v, want an already-open error", err)
	}
	commit(t, s)
	if _, err := s.Commit(ctx); err == nil || !strings.Contains(err.Error(), "already committed") {
		t.Fatalf("second Commit: got %v", err)
	}
	s.Abort() // does nothing after Commit
	for name, f := range map[string]func(){
		"Get":     func() { s.Get([]byte("k")) },
		"Put":     func() { s.Put([]byte("k"), nil) },
		"Delete":  func() { s.Delete([]byte("k")) },
		"Iterate": func() { s.Iterate(func(k, v []byte) bool { return true }) },
	} {
		func() {
			defer func() {
				if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), "after Commit") {
					t.Errorf("%s after Commit: recovered %v, want a panic saying so", name, r)
				}
			}()
			f()
		}()
	}
	for _, bad := range []StoreID{{"", 0}, {"a/b", 0}, {"..", 0}, {".", 1}, {"agg", -1}, {"a\x00", 0}} {
		if _, err := prov.Open(ctx, bad, EmptyVersion); err == nil || !strings.HasPrefix(err.Error(), "state: ") {
			t.Errorf("Open(%q, %d): got %v, want an error", bad.Operator, bad.Partition, err)
		}
	}
	if _, err := prov.Open(ctx, id, -2); err == nil || !strings.Contains(err.Error(), "versions start at -1") {
		t.Fatalf("Open at version -2: got %v", err)
	}

	s = open(t, prov, id, 0)
	s.Put([]byte("k"), []byte("v"))
	prov.Close()
	if _, err := s.Commit(ctx); err == nil || !strings.Contains(err.Error(), "closed") {
		t.Fatalf("Commit after Close: got %v", err)
	}
	s.Abort()
	if _, err := prov.Open(ctx, id, 0); err == nil || !strings.Contains(err.Error(), "closed") {
		t.Fatalf("Open after Close: got %v", err)
	}
	if err := prov.Purge(ctx, id, 0); err == nil || !strings.Contains(err.Error(), "closed") {
		t.Fatalf("Purge after Close: got %v", err)
	}
	if err := prov.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestOptions(t *testing.T) {
	ckpt := objstore.NewMemory()
	for _, tc := range []struct {
		opt  Option
		want string
	}{
		{WithSnapshotInterval(0), "WithSnapshotInterval(0)"},
		{WithSnapshotInterval(-3), "WithSnapshotInterval(-3)"},
		{WithCompression(7), "WithCompression(7)"},
	} {
		if _, err := NewMemoryProvider(ckpt, tc.opt); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("got %v, want an error naming %s", err, tc.want)
		}
	}
	if _, err := NewMemoryProvider(nil); err == nil {
		t.Error("NewMemoryProvider(nil): no error")
	}
}

func TestPartitionOf(t *testing.T) {
	// XXH64 with seed 0 of "" is 0xef46db3751d8e999 and of "a" is
	// 0xd24ec4f1a98c6e5b: the partition function is pinned to them.
	for _, tc := range []struct {
		key  string
		n    int
		want int
	}{
		{"", 1, 0},
		{"", 7, int(uint64(0xef46db3751d8e999) % 7)},
		{"", 200, int(uint64(0xef46db3751d8e999) % 200)},
		{"a", 200, int(uint64(0xd24ec4f1a98c6e5b) % 200)},
		{"a", 16, int(uint64(0xd24ec4f1a98c6e5b) % 16)},
	} {
		if got := PartitionOf([]byte(tc.key), tc.n); got != tc.want {
			t.Errorf("PartitionOf(%q, %d) = %d, want %d", tc.key, tc.n, got, tc.want)
		}
	}
	counts := make([]int, 16)
	for i := range 16000 {
		counts[PartitionOf(fmt.Appendf(nil, "user-%d", i), 16)]++
	}
	for p, c := range counts {
		if c < 800 || c > 1200 {
			t.Errorf("partition %d got %d of 16000 keys, want about 1000", p, c)
		}
	}
	defer func() {
		if r := recover(); r == nil {
			t.Error("PartitionOf with 0 partitions did not panic")
		}
	}()
	PartitionOf([]byte("k"), 0)
}

// Batches fail at random points: store operations fail (before or after
// reaching the store), committed versions are lost because the batch
// failed after Commit, and the query restarts with a different snapshot
// interval. Each re-run makes different changes, as a batch may when it
// is not deterministic. Every version the test trusts (one whose batch
// "committed") must recover to what that attempt wrote.
func TestRandomFailuresAndRestarts(t *testing.T) {
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(uint64(seed), 11))
	ctx := context.Background()
	faulty := objstore.NewFaulty(objstore.NewMemory(), seed)
	id := StoreID{Operator: "agg", Partition: 0}
	newProv := func() *MemoryProvider {
		return newTestProvider(t, faulty, WithSnapshotInterval(2+rng.IntN(4)), WithCompression(Compression(rng.IntN(2))))
	}
	prov := newProv()
	var trusted []map[string]string
	cur := map[string]string{}
	failures := 0
	for v := int64(0); v < 150; {
		if rng.IntN(6) == 0 {
			prov.Close()
			prov = newProv()
		}
		if rng.IntN(3) == 0 {
			faulty.FailOn(objstore.Rule{Op: objstore.OpAny, Prefix: Dir + "/", Nth: 1 + rng.IntN(4), After: rng.IntN(2) == 0})
		}
		s, err := prov.Open(ctx, id, v-1)
		if err != nil {
			if !errors.Is(err, objstore.ErrInjected) {
				t.Fatalf("Open at version %d: %v", v-1, err)
			}
			failures++
			faulty.Reset()
			continue
		}
		checkContents(t, fmt.Sprintf("version %d at Open", v-1), contents(s), cur)
		next := maps.Clone(cur)
		randomOps(t, rng, s, next, rng.IntN(40))
		got, err := s.Commit(ctx)
		faulty.Reset()
		if err != nil {
			if !errors.Is(err, objstore.ErrInjected) {
				t.Fatalf("Commit of version %d: %v", v, err)
			}
			failures++
			s.Abort()
			continue
		}
		if got != v {
			t.Fatalf("Commit wrote version %d, want %d", got, v)
		}
		if rng.IntN(5) == 0 {
			continue // the batch failed after Commit: version v is not trusted
		}
		trusted = append(trusted, next)
		cur = next
		v++
	}
	t.Logf("%d injected failures", failures)
	fresh := newTestProvider(t, faulty)
	for v, want := range trusted {
		s := open(t, fresh, id, int64(v))
		checkContents(t, fmt.Sprintf("recovered version %d", v), contents(s), want)
		s.Abort()
	}
}

// A Put right after a Get of the same key reuses what the Get found; a
// Delete, a growing value or another key in between must not leave it
// pointing at a stale entry.
func TestGetThenChangeSameKey(t *testing.T) {
	ckpt := objstore.NewMemory()
	prov := newTestProvider(t, ckpt)
	id := StoreID{Operator: "agg", Partition: 0}
	s := open(t, prov, id, EmptyVersion)
	k, other := []byte("key"), []byte("other")
	s.Put(k, []byte("v1"))
	s.Put(other, []byte("o"))
	if v, ok := s.Get(k); !ok || string(v) != "v1" {
		t.Fatalf("Get = %q, %v", v, ok)
	}
	s.Delete(k)
	s.Put(k, []byte("v2"))
	if v, ok := s.Get(k); !ok || string(v) != "v2" || s.Len() != 2 {
		t.Fatalf("after Get, Delete, Put: Get = %q, %v, Len %d; want v2, 2 keys", v, ok, s.Len())
	}
	s.Put(k, []byte("a much longer value than the entry had room for"))
	s.Put(other, []byte("o2"))
	s.Put(k, []byte("v3"))
	if v, _ := s.Get(k); string(v) != "v3" {
		t.Fatalf("Get = %q, want v3", v)
	}
	if v, _ := s.Get(other); string(v) != "o2" {
		t.Fatalf("Get(other) = %q, want o2", v)
	}
	s.Get(k)
	s.Delete(k)
	if _, ok := s.Get(k); ok || s.Len() != 1 {
		t.Fatalf("after Get, Delete: key present %v, Len %d", ok, s.Len())
	}
	s.Put(k, []byte("v4"))
	v := commit(t, s)
	s = open(t, newTestProvider(t, ckpt), id, v)
	if got, ok := s.Get(k); !ok || string(got) != "v4" || s.Len() != 2 {
		t.Fatalf("recovered: Get = %q, %v, Len %d; want v4, 2 keys", got, ok, s.Len())
	}
	s.Abort()
}
