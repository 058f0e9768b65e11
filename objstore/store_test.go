package objstore_test

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/objstore"
	"github.com/sluicehq/sluice/objstore/storetest"
)

func TestConformanceDir(t *testing.T) {
	storetest.Run(t, func(t *testing.T) objstore.Store {
		d, err := objstore.NewDir(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		return d
	})
}

func TestConformanceMemory(t *testing.T) {
	storetest.Run(t, func(t *testing.T) objstore.Store { return objstore.NewMemory() })
}

func TestConformancePrefixedMemory(t *testing.T) {
	storetest.Run(t, func(t *testing.T) objstore.Store {
		return objstore.Prefixed(objstore.NewMemory(), "a/b")
	})
}

func TestConformancePrefixedDir(t *testing.T) {
	storetest.Run(t, func(t *testing.T) objstore.Store {
		d, err := objstore.NewDir(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		return objstore.Prefixed(d, "ckpt/q1")
	})
}

func TestConformanceFaultyNoRules(t *testing.T) {
	storetest.Run(t, func(t *testing.T) objstore.Store {
		return objstore.NewFaulty(objstore.NewMemory(), 1)
	})
}

func TestConformanceOpenMem(t *testing.T) {
	storetest.Run(t, func(t *testing.T) objstore.Store {
		s, err := objstore.Open(t.Context(), "mem://x")
		if err != nil {
			t.Fatal(err)
		}
		// The store is shared by name: empty it for this subtest.
		emptyStore(t, s)
		t.Cleanup(func() { emptyStore(t, s) })
		return s
	})
}

func TestConformanceOpenPath(t *testing.T) {
	storetest.Run(t, func(t *testing.T) objstore.Store {
		s, err := objstore.Open(t.Context(), t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := s.(*objstore.Dir); !ok {
			t.Fatalf("Open(path) returned %T, want *objstore.Dir", s)
		}
		return s
	})
}

func TestOpenLocations(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()

	s1, err := objstore.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := s1.Put(ctx, "k", []byte("v")); err != nil {
		t.Fatal(err)
	}
	loc := objstore.Location(s1)
	if loc != "file://"+dir {
		t.Fatalf("Location = %q, want %q", loc, "file://"+dir)
	}
	for _, l := range []string{loc, "file://localhost" + dir} {
		s2, err := objstore.Open(ctx, l)
		if err != nil {
			t.Fatalf("Open(%q): %v", l, err)
		}
		if got, err := s2.Get(ctx, "k"); err != nil || string(got) != "v" {
			t.Fatalf("Open(%q).Get(k) = %q, %v; want the object written through the path", l, got, err)
		}
	}

	m1, err := objstore.Open(ctx, "mem://shared-one")
	if err != nil {
		t.Fatal(err)
	}
	m2, err := objstore.Open(ctx, "mem://shared-one")
	if err != nil {
		t.Fatal(err)
	}
	if m1 != m2 || m1 != objstore.SharedMemory("shared-one") {
		t.Fatal("Open of the same mem:// location twice gave different stores")
	}
	if m3, _ := objstore.Open(ctx, "mem://shared-two"); m3 == m1 {
		t.Fatal("different mem:// names gave the same store")
	}
	if got := objstore.Location(m1); got != "mem://shared-one" {
		t.Fatalf("Location = %q, want mem://shared-one", got)
	}

	for _, bad := range []struct{ loc, want string }{
		{"", "empty location"},
		{"nosuch://bucket/p", `no store for scheme "nosuch"`},
		{"file://otherhost/data", `names host "otherhost"`},
		{"file://", "has no path"},
	} {
		_, err := objstore.Open(ctx, bad.loc)
		if err == nil || !strings.Contains(err.Error(), bad.want) || !strings.HasPrefix(err.Error(), "objstore: ") {
			t.Errorf("Open(%q) = %v, want an objstore error containing %q", bad.loc, err, bad.want)
		}
	}
}

func TestOpenRegisteredScheme(t *testing.T) {
	inner := objstore.NewMemory()
	var host string
	objstore.Register("Testscheme", func(ctx context.Context, u *url.URL) (objstore.Store, error) {
		host = u.Host
		return inner, nil
	})
	s, err := objstore.Open(t.Context(), "testscheme://bucket/prefix")
	if err != nil {
		t.Fatal(err)
	}
	if s != objstore.Store(inner) || host != "bucket" {
		t.Fatalf("Open used the wrong opener: store %v, host %q", s, host)
	}
}

func TestPrefixed(t *testing.T) {
	ctx := t.Context()
	inner := objstore.SharedMemory("prefixed-test")
	t.Cleanup(func() { emptyStore(t, inner) })
	p := objstore.Prefixed(inner, "/ckpt/q1/")
	if err := p.Put(ctx, "offsets/1", []byte("o1")); err != nil {
		t.Fatal(err)
	}
	if err := inner.Put(ctx, "ckpt/q2/offsets/1", []byte("other query")); err != nil {
		t.Fatal(err)
	}
	got, err := inner.Get(ctx, "ckpt/q1/offsets/1")
	if err != nil || string(got) != "o1" {
		t.Fatalf("inner Get = %q, %v; want the object under the prefix", got, err)
	}
	names, err := p.List(ctx, "")
	if err != nil || len(names) != 1 || names[0] != "offsets/1" {
		t.Fatalf("Prefixed List = %q, %v; want [offsets/1]", names, err)
	}
	if loc := objstore.Location(p); loc != "mem://prefixed-test/ckpt/q1" {
		t.Fatalf("Location = %q", loc)
	}
	// The error names the name the caller gave, not the prefixed key.
	_, err = p.Get(ctx, "../x")
	if err == nil || !strings.Contains(err.Error(), `"../x"`) || strings.Contains(err.Error(), "ckpt/q1/../x") {
		t.Fatalf("Get(../x) error = %v, want one naming \"../x\"", err)
	}
	if objstore.Prefixed(inner, "") != objstore.Store(inner) {
		t.Fatal("Prefixed with an empty prefix should return the store itself")
	}
}

func TestValidateName(t *testing.T) {
	for _, ok := range []string{"a", "a/b", "offsets/0001", ".hidden", "a/.b", "a..b", "x/...", "dt=1/p-0.parquet"} {
		if err := objstore.ValidateName(ok); err != nil {
			t.Errorf("ValidateName(%q) = %v, want nil", ok, err)
		}
	}
	for _, bad := range []string{"", "/a", "a/", "a//b", "..", "../x", "a/./b", "a\x00"} {
		err := objstore.ValidateName(bad)
		if err == nil || !strings.HasPrefix(err.Error(), "objstore: ") {
			t.Errorf("ValidateName(%q) = %v, want an objstore error", bad, err)
		}
	}
}
