package wal

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/sluicehq/sluice/objstore"
)

var uuidV4 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestLoadOrCreateMetadata(t *testing.T) {
	for sname, store := range stores(t) {
		t.Run(sname, func(t *testing.T) {
			ctx := context.Background()
			md, created, err := LoadOrCreateMetadata(ctx, store)
			if err != nil || !created {
				t.Fatalf("first call: %#v, %v, %v; want a new id", md, created, err)
			}
			if !uuidV4.MatchString(md.ID) {
				t.Fatalf("id %q is not a version 4 UUID", md.ID)
			}
			raw, err := store.Get(ctx, "metadata")
			if err != nil || string(raw) != `{"id":"`+md.ID+"\"}\n" {
				t.Fatalf("stored %q, %v", raw, err)
			}
			again, created, err := LoadOrCreateMetadata(ctx, store)
			if err != nil || created || again != md {
				t.Fatalf("second call: %#v, %v, %v; want %#v, not created", again, created, err, md)
			}
			other, _, err := LoadOrCreateMetadata(ctx, objstore.NewMemory())
			if err != nil || other.ID == md.ID {
				t.Fatalf("two checkpoints got the id %q (%v)", md.ID, err)
			}
		})
	}
}

// Of concurrent creators one creates the metadata; all see the same id.
func TestLoadOrCreateMetadataConcurrent(t *testing.T) {
	for sname, store := range stores(t) {
		t.Run(sname, func(t *testing.T) {
			ctx := context.Background()
			const callers = 8
			ids := make([]string, callers)
			created := make([]bool, callers)
			errs := make([]error, callers)
			var wg sync.WaitGroup
			for i := range callers {
				wg.Go(func() {
					var md Metadata
					md, created[i], errs[i] = LoadOrCreateMetadata(ctx, store)
					ids[i] = md.ID
				})
			}
			wg.Wait()
			n := 0
			for i := range callers {
				if errs[i] != nil {
					t.Fatalf("caller %d: %v", i, errs[i])
				}
				if ids[i] != ids[0] {
					t.Fatalf("callers saw different ids: %q", ids)
				}
				if created[i] {
					n++
				}
			}
			if n != 1 {
				t.Fatalf("%d callers created the metadata, want 1", n)
			}
		})
	}
}

// A creator that loses the race reads the winner's metadata.
func TestLoadOrCreateMetadataLosesRace(t *testing.T) {
	ctx := context.Background()
	inner := objstore.NewMemory()
	const theirs = `{"id":"6ba7b810-9dad-41d1-80b4-00c04fd430c8"}`
	store := &raceStore{Store: inner, before: func() {
		if err := inner.PutIfAbsent(ctx, "metadata", []byte(theirs)); err != nil {
			t.Error(err)
		}
	}}
	md, created, err := LoadOrCreateMetadata(ctx, store)
	if err != nil || created || md.ID != "6ba7b810-9dad-41d1-80b4-00c04fd430c8" {
		t.Fatalf("got %#v, %v, %v; want the other creator's id, not created", md, created, err)
	}
}

// raceStore runs before just before the first PutIfAbsent.
type raceStore struct {
	objstore.Store
	before func()
	once   sync.Once
}

func (s *raceStore) PutIfAbsent(ctx context.Context, name string, data []byte) error {
	s.once.Do(s.before)
	return s.Store.PutIfAbsent(ctx, name, data)
}

func TestMetadataCorruptions(t *testing.T) {
	for _, tc := range []corruption{
		{"empty", "", "empty object"},
		{"whitespace", " \n", "empty object"},
		{"truncated", `{"id":"0f8f`, "not valid JSON"},
		{"array", `["0f8fad5b-d9cb-469f-a165-70867728950e"]`, "not a JSON object"},
		{"null", "null", "not a JSON object"},
		{"no id", `{}`, `no "id"`},
		{"empty id", `{"id":""}`, `empty "id"`},
		{"id not a string", `{"id":17}`, "not valid JSON"},
		{"newer version", `{"id":"x","version":2}`, "newer Sluice"},
		{"bad version", `{"id":"x","version":"one"}`, "not a format version"},
		{"version zero", `{"id":"x","version":0}`, "not a format version"},
		{"binary garbage", "\x1f\x8b\x08\x00", "not a JSON object"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			store := objstore.NewMemory()
			if err := store.Put(ctx, "metadata", []byte(tc.content)); err != nil {
				t.Fatal(err)
			}
			_, created, err := LoadOrCreateMetadata(ctx, store)
			var ce *CorruptionError
			if !errors.As(err, &ce) || ce.Object != "metadata" || created {
				t.Fatalf("got %v (created %v), want a *CorruptionError naming metadata", err, created)
			}
			if !strings.HasPrefix(err.Error(), "wal: corrupt metadata: ") || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not start with \"wal: corrupt metadata: \" and contain %q", err, tc.want)
			}
			if raw, _ := store.Get(ctx, "metadata"); string(raw) != tc.content {
				t.Fatalf("the corrupt metadata was replaced by %q", raw)
			}
		})
	}
}

func TestMetadataDecodeLenient(t *testing.T) {
	for _, content := range []string{
		`{"id":"abc"}`,
		"\t{\"id\":\"abc\"}\r\n",
		`{"id":"abc","version":1}`,
		`{"id":"abc","createdBy":"a later release"}`,
	} {
		md, err := decodeMetadata([]byte(content))
		if err != nil || md.ID != "abc" {
			t.Fatalf("%q: %#v, %v; want id abc", content, md, err)
		}
	}
}

// A failure to read the metadata is reported and nothing is created.
func TestMetadataStoreFailure(t *testing.T) {
	ctx := context.Background()
	faulty := objstore.NewFaulty(objstore.NewMemory(), 1)
	faulty.FailOn(objstore.Rule{Op: objstore.OpGet, Times: -1})
	_, created, err := LoadOrCreateMetadata(ctx, faulty)
	if !errors.Is(err, objstore.ErrInjected) || created || !strings.HasPrefix(err.Error(), "wal: ") {
		t.Fatalf("got %v (created %v), want the store's error", err, created)
	}
	if names, _ := faulty.Inner().List(ctx, ""); len(names) != 0 {
		t.Fatalf("created %v after a failed read", names)
	}
	if _, _, err := LoadOrCreateMetadata(ctx, nil); err == nil {
		t.Fatal("a nil store was accepted")
	}
}
