package objstore_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"sync"
	"testing"

	"github.com/sluicehq/sluice/objstore"
)

func wantInjected(t *testing.T, err error, op objstore.Op, name string, after bool) {
	t.Helper()
	if !errors.Is(err, objstore.ErrInjected) {
		t.Fatalf("err = %v, want an injected failure", err)
	}
	var ie *objstore.InjectedError
	if !errors.As(err, &ie) {
		t.Fatalf("err = %T, want *objstore.InjectedError", err)
	}
	if ie.Op != op || ie.Name != name || ie.After != after {
		t.Fatalf("injected %+v, want op %v name %q after %v", ie, op, name, after)
	}
}

func TestFaultyNth(t *testing.T) {
	ctx := t.Context()
	f := objstore.NewFaulty(objstore.NewMemory(), 1)
	f.FailOn(objstore.Rule{Op: objstore.OpPutIfAbsent, Prefix: "commits/", Nth: 2})

	if err := f.PutIfAbsent(ctx, "commits/0", []byte("0")); err != nil {
		t.Fatalf("first matching call: %v", err)
	}
	// Calls that do not match the rule do not count toward Nth.
	if err := f.PutIfAbsent(ctx, "offsets/1", []byte("o")); err != nil {
		t.Fatal(err)
	}
	if err := f.Put(ctx, "commits/x", []byte("o")); err != nil {
		t.Fatal(err)
	}
	err := f.PutIfAbsent(ctx, "commits/1", []byte("1"))
	wantInjected(t, err, objstore.OpPutIfAbsent, "commits/1", false)
	if _, err := f.Get(ctx, "commits/1"); !objstore.IsNotExist(err) {
		t.Fatalf("a failure before the call must not write: Get = %v", err)
	}
	// One-shot: the next matching call succeeds.
	if err := f.PutIfAbsent(ctx, "commits/1", []byte("1")); err != nil {
		t.Fatalf("call after a one-shot rule fired: %v", err)
	}
	if f.Calls(objstore.OpPutIfAbsent) != 4 || f.Calls(objstore.OpPut) != 1 || f.Calls(objstore.OpAny) != 6 {
		t.Fatalf("Calls = %d put-if-absent, %d put, %d any; want 4, 1, 6",
			f.Calls(objstore.OpPutIfAbsent), f.Calls(objstore.OpPut), f.Calls(objstore.OpAny))
	}
	if f.Injected() != 1 {
		t.Fatalf("Injected = %d, want 1", f.Injected())
	}
}

func TestFaultyTimes(t *testing.T) {
	ctx := t.Context()
	f := objstore.NewFaulty(objstore.NewMemory(), 1)
	f.FailOn(objstore.Rule{Op: objstore.OpGet, Nth: 2, Times: 2})
	if err := f.Put(ctx, "k", []byte("v")); err != nil {
		t.Fatal(err)
	}
	var pattern []bool
	for range 5 {
		_, err := f.Get(ctx, "k")
		pattern = append(pattern, err != nil)
	}
	if fmt.Sprint(pattern) != "[false true true false false]" {
		t.Fatalf("failures = %v, want the 2nd and 3rd calls to fail", pattern)
	}

	f.FailOn(objstore.Rule{Op: objstore.OpDelete, Times: -1})
	for i := range 10 {
		if err := f.Delete(ctx, "k"); !errors.Is(err, objstore.ErrInjected) {
			t.Fatalf("persistent rule, call %d: %v", i, err)
		}
	}
	if _, err := f.Get(ctx, "k"); err != nil {
		t.Fatalf("deletes failed before reaching the store, so k must remain: %v", err)
	}
}

func TestFaultyAfter(t *testing.T) {
	ctx := t.Context()
	inner := objstore.NewMemory()
	f := objstore.NewFaulty(inner, 1)
	f.FailOn(objstore.Rule{Op: objstore.OpPutIfAbsent, Prefix: "commits/", After: true})
	f.FailOn(objstore.Rule{Op: objstore.OpPut, After: true})
	f.FailOn(objstore.Rule{Op: objstore.OpDelete, After: true})

	err := f.PutIfAbsent(ctx, "commits/5", []byte("c5"))
	wantInjected(t, err, objstore.OpPutIfAbsent, "commits/5", true)
	// The write happened: a restarted driver finds it.
	if got, err := inner.Get(ctx, "commits/5"); err != nil || string(got) != "c5" {
		t.Fatalf("after a crash-after failure the object should exist: %q, %v", got, err)
	}
	if err := f.PutIfAbsent(ctx, "commits/5", []byte("again")); !objstore.IsExist(err) {
		t.Fatalf("retry = %v, want exists", err)
	}

	wantInjected(t, f.Put(ctx, "p", []byte("p")), objstore.OpPut, "p", true)
	if got, err := inner.Get(ctx, "p"); err != nil || string(got) != "p" {
		t.Fatalf("Put after-failure did not write: %q, %v", got, err)
	}
	wantInjected(t, f.Delete(ctx, "p"), objstore.OpDelete, "p", true)
	if _, err := inner.Get(ctx, "p"); !objstore.IsNotExist(err) {
		t.Fatalf("Delete after-failure did not delete: %v", err)
	}
}

func TestFaultyGetAndList(t *testing.T) {
	ctx := t.Context()
	f := objstore.NewFaulty(objstore.NewMemory(), 1)
	if err := f.Put(ctx, "offsets/1", []byte("o")); err != nil {
		t.Fatal(err)
	}
	f.FailOn(objstore.Rule{Op: objstore.OpGet, After: true})
	f.FailOn(objstore.Rule{Op: objstore.OpList, Prefix: "offsets/"})
	data, err := f.Get(ctx, "offsets/1")
	wantInjected(t, err, objstore.OpGet, "offsets/1", true)
	if data != nil {
		t.Fatalf("failed Get returned data %q", data)
	}
	// List("") does not start with the rule's prefix: it is not matched.
	if names, err := f.List(ctx, ""); err != nil || len(names) != 1 {
		t.Fatalf("List(\"\") = %q, %v", names, err)
	}
	names, err := f.List(ctx, "offsets/")
	wantInjected(t, err, objstore.OpList, "offsets/", false)
	if names != nil {
		t.Fatalf("failed List returned %q", names)
	}
}

func TestFaultyOpAnyAndCause(t *testing.T) {
	ctx := t.Context()
	f := objstore.NewFaulty(objstore.NewMemory(), 1)
	cause := errors.New("disk on fire")
	f.FailOn(objstore.Rule{Op: objstore.OpAny, Prefix: "state/", Times: 3, Err: cause})
	errs := []error{
		f.Put(ctx, "state/a", nil),
		f.PutIfAbsent(ctx, "state/b", nil),
		f.Delete(ctx, "state/c"),
		f.Put(ctx, "state/d", nil),
	}
	for i, err := range errs[:3] {
		if !errors.Is(err, objstore.ErrInjected) || !errors.Is(err, cause) {
			t.Fatalf("call %d: %v, want an injected failure wrapping the cause", i, err)
		}
		if !strings.Contains(err.Error(), "disk on fire") || !strings.HasPrefix(err.Error(), "objstore: injected failure before") {
			t.Fatalf("message %q", err)
		}
	}
	if errs[3] != nil {
		t.Fatalf("fourth call: %v, want success after Times failures", errs[3])
	}

	// A rule can fake an existing object.
	f.FailOn(objstore.Rule{Op: objstore.OpPutIfAbsent, Err: fs.ErrExist})
	if err := f.PutIfAbsent(ctx, "x", nil); !objstore.IsExist(err) {
		t.Fatalf("faked exists = %v", err)
	}
}

func randomPattern(seed int64, n int) string {
	ctx := context.Background()
	f := objstore.NewFaulty(objstore.NewMemory(), seed)
	f.FailRandomly(objstore.OpPut, "data/", 0.5)
	var b strings.Builder
	for i := range n {
		// Calls outside the prefix draw nothing and never fail.
		if err := f.Put(ctx, "meta", nil); err != nil {
			return "unexpected failure: " + err.Error()
		}
		if err := f.Put(ctx, fmt.Sprintf("data/%d", i), nil); err != nil {
			b.WriteByte('x')
		} else {
			b.WriteByte('.')
		}
	}
	return b.String()
}

func TestFaultyRandomIsSeeded(t *testing.T) {
	const n = 200
	a1, a2, b := randomPattern(42, n), randomPattern(42, n), randomPattern(43, n)
	if a1 != a2 {
		t.Fatalf("same seed, different failures:\n%s\n%s", a1, a2)
	}
	if a1 == b {
		t.Fatalf("seeds 42 and 43 gave the same %d-call failure pattern", n)
	}
	for _, p := range []string{a1, b} {
		fails := strings.Count(p, "x")
		if fails < n/4 || fails > 3*n/4 {
			t.Fatalf("%d of %d calls failed at probability 0.5: %s", fails, n, p)
		}
	}
}

func TestFaultyReset(t *testing.T) {
	ctx := t.Context()
	f := objstore.NewFaulty(objstore.NewMemory(), 1)
	f.FailRandomly(objstore.OpAny, "", 1)
	if err := f.Put(ctx, "a", nil); !errors.Is(err, objstore.ErrInjected) {
		t.Fatalf("probability 1: %v", err)
	}
	f.Reset()
	if err := f.Put(ctx, "a", nil); err != nil {
		t.Fatalf("after Reset: %v", err)
	}
	if f.Calls(objstore.OpPut) != 2 {
		t.Fatalf("Reset cleared call counts: %d", f.Calls(objstore.OpPut))
	}
}

func TestFaultyInvalidRulePanics(t *testing.T) {
	f := objstore.NewFaulty(objstore.NewMemory(), 1)
	for _, r := range []objstore.Rule{
		{},
		{Op: objstore.OpGet, Nth: -1},
		{Op: objstore.OpGet, Times: -2},
		{Op: objstore.OpGet, Probability: 1.5},
	} {
		func() {
			defer func() {
				v := recover()
				err, ok := v.(error)
				if !ok || !strings.HasPrefix(err.Error(), "objstore: fault rule") {
					t.Errorf("FailOn(%+v) panicked with %v, want an objstore fault rule error", r, v)
				}
			}()
			f.FailOn(r)
		}()
	}
}

func TestFaultyConcurrent(t *testing.T) {
	ctx := t.Context()
	f := objstore.NewFaulty(objstore.NewMemory(), 9)
	f.FailRandomly(objstore.OpAny, "", 0.3)
	var mu sync.Mutex
	failures := 0
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := range 100 {
				name := fmt.Sprintf("w%d/%d", w, i)
				errs := []error{f.Put(ctx, name, nil), f.Delete(ctx, name)}
				_, err := f.List(ctx, "w")
				errs = append(errs, err)
				for _, err := range errs {
					if err != nil {
						if !errors.Is(err, objstore.ErrInjected) {
							t.Errorf("unexpected error: %v", err)
						}
						mu.Lock()
						failures++
						mu.Unlock()
					}
				}
			}
		})
	}
	wg.Wait()
	if f.Calls(objstore.OpAny) != 8*100*3 {
		t.Fatalf("Calls(OpAny) = %d, want %d", f.Calls(objstore.OpAny), 8*100*3)
	}
	if failures != f.Injected() || failures == 0 {
		t.Fatalf("saw %d failures, Injected = %d", failures, f.Injected())
	}
}

func TestFaultyLocation(t *testing.T) {
	f := objstore.NewFaulty(objstore.SharedMemory("faulty-loc"), 1)
	if got := objstore.Location(f); got != "faulty(mem://faulty-loc)" {
		t.Fatalf("Location = %q", got)
	}
	if f.Inner() != objstore.Store(objstore.SharedMemory("faulty-loc")) {
		t.Fatal("Inner returned a different store")
	}
	if objstore.OpPutIfAbsent.String() != "put-if-absent" || objstore.Op(0).String() != "Op(0)" {
		t.Fatal("Op.String")
	}
}
