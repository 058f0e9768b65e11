package wal

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/sluicehq/sluice/objstore"
)

// stores returns a fresh memory store and a fresh directory store.
func stores(t *testing.T) map[string]objstore.Store {
	t.Helper()
	dir, err := objstore.NewDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return map[string]objstore.Store{"memory": objstore.NewMemory(), "dir": dir}
}

func offsetsAt(id int64) OffsetEntry {
	return OffsetEntry{BatchTimestampMs: 1000 + id, Offsets: []json.RawMessage{json.RawMessage(fmt.Sprintf(`{"row":%d}`, id))}}
}

func TestName(t *testing.T) {
	store := objstore.NewMemory()
	for _, tc := range []struct {
		got, want string
	}{
		{NewOffsetLog(store).Name(7), "offsets/00000000000000000007"},
		{NewCommitLog(store).Name(0), "commits/00000000000000000000"},
		{NewCommitLog(store).Name(1<<63 - 1), "commits/09223372036854775807"},
		{NewLog(store, "sink/_log", JSONCodec[int]{}).Name(12), "sink/_log/00000000000000000012"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}

func TestAddGet(t *testing.T) {
	for sname, store := range stores(t) {
		t.Run(sname, func(t *testing.T) {
			ctx := context.Background()
			l := NewOffsetLog(store)
			if err := l.Add(ctx, 4, goldenOffsets); err != nil {
				t.Fatal(err)
			}
			got, err := l.Get(ctx, 4)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, goldenOffsets) {
				t.Fatalf("got %#v, want %#v", got, goldenOffsets)
			}
			raw, err := store.Get(ctx, "offsets/00000000000000000004")
			if err != nil {
				t.Fatal(err)
			}
			if want, _ := (offsetCodec{}).Encode(goldenOffsets); string(raw) != string(want) {
				t.Fatalf("stored %q, want %q", raw, want)
			}
		})
	}
}

func TestAddTwice(t *testing.T) {
	for sname, store := range stores(t) {
		t.Run(sname, func(t *testing.T) {
			ctx := context.Background()
			l := NewCommitLog(store)
			first := CommitEntry{NextBatchWatermarkMs: 1}
			if err := l.Add(ctx, 2, first); err != nil {
				t.Fatal(err)
			}
			before, err := store.Get(ctx, l.Name(2))
			if err != nil {
				t.Fatal(err)
			}
			err = l.Add(ctx, 2, CommitEntry{NextBatchWatermarkMs: 2})
			if !errors.Is(err, ErrBatchExists) || !errors.Is(err, fs.ErrExist) {
				t.Fatalf("second Add: got %v, want an error matching ErrBatchExists and fs.ErrExist", err)
			}
			if !strings.HasPrefix(err.Error(), "wal: ") || !strings.Contains(err.Error(), l.Name(2)) {
				t.Fatalf("error %q does not start with \"wal: \" and name %s", err, l.Name(2))
			}
			after, err := store.Get(ctx, l.Name(2))
			if err != nil || string(after) != string(before) {
				t.Fatalf("the first entry changed: %q -> %q (%v)", before, after, err)
			}
			got, err := l.Get(ctx, 2)
			if err != nil || !reflect.DeepEqual(got, first) {
				t.Fatalf("Get: %#v, %v; want %#v", got, err, first)
			}
		})
	}
}

func TestErrBatchExistsMatchesErrExist(t *testing.T) {
	if !errors.Is(ErrBatchExists, fs.ErrExist) {
		t.Fatal("ErrBatchExists does not match fs.ErrExist")
	}
	if errors.Is(fs.ErrExist, ErrBatchExists) {
		t.Fatal("fs.ErrExist matches ErrBatchExists: a store's own conflict is not a logged batch")
	}
}

func TestGetMissing(t *testing.T) {
	l := NewOffsetLog(objstore.NewMemory())
	_, err := l.Get(context.Background(), 9)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("got %v, want an error wrapping fs.ErrNotExist", err)
	}
	var ce *CorruptionError
	if errors.As(err, &ce) {
		t.Fatalf("a missing entry is not corrupt: %v", err)
	}
	if !strings.HasPrefix(err.Error(), "wal: ") || !strings.Contains(err.Error(), l.Name(9)) {
		t.Fatalf("error %q does not start with \"wal: \" and name the object", err)
	}
}

func TestLatest(t *testing.T) {
	ctx := context.Background()
	l := NewOffsetLog(objstore.NewMemory())
	id, e, ok, err := l.Latest(ctx)
	if err != nil || ok || id != 0 || !reflect.DeepEqual(e, OffsetEntry{}) {
		t.Fatalf("Latest of an empty log: %d, %#v, %v, %v; want 0, zero, false, nil", id, e, ok, err)
	}
	for _, id := range []int64{3, 11, 9, 10} {
		if err := l.Add(ctx, id, offsetsAt(id)); err != nil {
			t.Fatal(err)
		}
	}
	id, e, ok, err = l.Latest(ctx)
	if err != nil || !ok || id != 11 || !reflect.DeepEqual(e, offsetsAt(11)) {
		t.Fatalf("Latest: %d, %#v, %v, %v; want 11, its entry, true, nil", id, e, ok, err)
	}
}

// Zero padding keeps batch 10 after batch 9 in a store's byte order, and
// BatchIDs returns ids in numeric order.
func TestBatchIDsOrder(t *testing.T) {
	for sname, store := range stores(t) {
		t.Run(sname, func(t *testing.T) {
			ctx := context.Background()
			l := NewCommitLog(store)
			var want []int64
			for _, id := range []int64{10, 2, 9, 0, 100, 11, 1} {
				if err := l.Add(ctx, id, CommitEntry{NextBatchWatermarkMs: id}); err != nil {
					t.Fatal(err)
				}
				want = append(want, id)
			}
			slices.Sort(want)
			got, err := l.BatchIDs(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, want) {
				t.Fatalf("BatchIDs = %v, want %v", got, want)
			}
			names, err := store.List(ctx, "commits/")
			if err != nil {
				t.Fatal(err)
			}
			for i, id := range want {
				if names[i] != l.Name(id) {
					t.Fatalf("store order %v does not follow batch order %v", names, want)
				}
			}
			empty, err := NewOffsetLog(store).BatchIDs(ctx)
			if err != nil || len(empty) != 0 {
				t.Fatalf("BatchIDs of an empty log: %v, %v", empty, err)
			}
		})
	}
}

// An object in a log directory that is not named by a batch id is reported,
// not skipped; a log whose name is a prefix of another's is not confused.
func TestBatchIDsStrayObjects(t *testing.T) {
	ctx := context.Background()
	for _, stray := range []string{
		"offsets/7",
		"offsets/00000000000000000007.json",
		"offsets/0000000000000000000x",
		"offsets/99999999999999999999",
		"offsets/-0000000000000000001",
		"offsets/sub/00000000000000000001",
	} {
		t.Run(stray, func(t *testing.T) {
			store := objstore.NewMemory()
			l := NewOffsetLog(store)
			if err := l.Add(ctx, 1, offsetsAt(1)); err != nil {
				t.Fatal(err)
			}
			if err := store.Put(ctx, stray, []byte("v1\n"+header+"\n")); err != nil {
				t.Fatal(err)
			}
			_, err := l.BatchIDs(ctx)
			var ce *CorruptionError
			if !errors.As(err, &ce) || ce.Object != stray {
				t.Fatalf("got %v, want a *CorruptionError naming %s", err, stray)
			}
			if !strings.Contains(err.Error(), "move or delete") {
				t.Fatalf("error %q does not say what to do", err)
			}
			if _, _, _, err := l.Latest(ctx); !errors.As(err, &ce) {
				t.Fatalf("Latest: got %v, want a *CorruptionError", err)
			}
			if err := l.Purge(ctx, 5); !errors.As(err, &ce) {
				t.Fatalf("Purge: got %v, want a *CorruptionError", err)
			}
		})
	}
	store := objstore.NewMemory()
	if err := store.Put(ctx, "offsets-old/00000000000000000001", []byte("x")); err != nil {
		t.Fatal(err)
	}
	if ids, err := NewOffsetLog(store).BatchIDs(ctx); err != nil || len(ids) != 0 {
		t.Fatalf("a sibling directory leaked into the log: %v, %v", ids, err)
	}
}

func TestBadArguments(t *testing.T) {
	ctx := context.Background()
	store := objstore.NewMemory()
	l := NewCommitLog(store)
	if err := l.Add(ctx, -1, CommitEntry{}); err == nil || !strings.Contains(err.Error(), "-1") {
		t.Fatalf("Add(-1): got %v, want an error naming the batch id", err)
	}
	if _, err := l.Get(ctx, -1); err == nil || errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Get(-1): got %v, want an argument error", err)
	}
	if err := PurgeOld(ctx, NewOffsetLog(store), l, -1, 0); err == nil {
		t.Fatal("PurgeOld with a negative latest batch id succeeded")
	}
	for _, dir := range []string{"", "/offsets", "offsets/", "a//b", "a/../b"} {
		bad := NewLog(store, dir, JSONCodec[int]{})
		errs := []error{bad.Add(ctx, 0, 1), bad.Purge(ctx, 1)}
		_, err := bad.Get(ctx, 0)
		errs = append(errs, err)
		_, err = bad.BatchIDs(ctx)
		errs = append(errs, err)
		_, _, _, err = bad.Latest(ctx)
		errs = append(errs, err)
		for _, err := range errs {
			if err == nil || !strings.Contains(err.Error(), "wal: log directory") {
				t.Fatalf("log directory %q: got %v, want an error about the directory", dir, err)
			}
		}
	}
	if err := NewLog[int](nil, "x", JSONCodec[int]{}).Add(ctx, 0, 1); err == nil || !strings.Contains(err.Error(), "no store") {
		t.Fatalf("nil store: got %v", err)
	}
	if err := NewLog[int](store, "x", nil).Add(ctx, 0, 1); err == nil || !strings.Contains(err.Error(), "no codec") {
		t.Fatalf("nil codec: got %v", err)
	}
	if names, _ := store.List(ctx, ""); len(names) != 0 {
		t.Fatalf("refused calls wrote %v", names)
	}
}

func TestPurge(t *testing.T) {
	ctx := context.Background()
	l := NewCommitLog(objstore.NewMemory())
	for id := int64(0); id < 12; id++ {
		if err := l.Add(ctx, id, CommitEntry{NextBatchWatermarkMs: id}); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		before int64
		want   []int64
	}{
		{-5, []int64{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}},
		{0, []int64{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}},
		{3, []int64{3, 4, 5, 6, 7, 8, 9, 10, 11}},
		{10, []int64{10, 11}},
		{100, []int64{}},
	} {
		if err := l.Purge(ctx, tc.before); err != nil {
			t.Fatal(err)
		}
		got, err := l.BatchIDs(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, tc.want) {
			t.Fatalf("after Purge(%d): %v, want %v", tc.before, got, tc.want)
		}
	}
}

func TestPurgeOld(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name       string
		latest     int64
		retain     int
		wantOldest int64 // the oldest batch left in both logs
	}{
		{"keep last 3", 9, 3, 7},
		{"keep last 1", 9, 1, 9},
		{"retain more than exist", 9, 50, 0},
		{"retain exactly all", 9, 10, 0},
		{"default keeps 100", 149, 0, 50},
		{"negative means default", 149, -3, 50},
		{"default with fewer", 99, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			store := objstore.NewMemory()
			offsets, commits := NewOffsetLog(store), NewCommitLog(store)
			for id := int64(0); id <= tc.latest; id++ {
				if err := offsets.Add(ctx, id, offsetsAt(id)); err != nil {
					t.Fatal(err)
				}
				if err := commits.Add(ctx, id, CommitEntry{NextBatchWatermarkMs: id}); err != nil {
					t.Fatal(err)
				}
			}
			// The next batch is logged but not committed.
			if err := offsets.Add(ctx, tc.latest+1, offsetsAt(tc.latest+1)); err != nil {
				t.Fatal(err)
			}
			if err := PurgeOld(ctx, offsets, commits, tc.latest, tc.retain); err != nil {
				t.Fatal(err)
			}
			var want []int64
			for id := tc.wantOldest; id <= tc.latest; id++ {
				want = append(want, id)
			}
			if got, err := commits.BatchIDs(ctx); err != nil || !slices.Equal(got, want) {
				t.Fatalf("commits left: %v, %v; want %v", got, err, want)
			}
			want = append(want, tc.latest+1)
			if got, err := offsets.BatchIDs(ctx); err != nil || !slices.Equal(got, want) {
				t.Fatalf("offsets left: %v, %v; want %v", got, err, want)
			}
		})
	}
	// Nil logs are skipped.
	l := NewCommitLog(objstore.NewMemory())
	for id := int64(0); id < 3; id++ {
		if err := l.Add(ctx, id, CommitEntry{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := PurgeOld(ctx, nil, l, 2, 1); err != nil {
		t.Fatal(err)
	}
	if got, _ := l.BatchIDs(ctx); !slices.Equal(got, []int64{2}) {
		t.Fatalf("with a nil offsets log, commits left: %v, want [2]", got)
	}
}

// Purge deletes oldest first: a failure part way leaves a contiguous run of
// the newest entries, and a retry finishes the job.
func TestPurgeInterrupted(t *testing.T) {
	ctx := context.Background()
	faulty := objstore.NewFaulty(objstore.NewMemory(), 1)
	l := NewCommitLog(faulty)
	for id := int64(0); id < 6; id++ {
		if err := l.Add(ctx, id, CommitEntry{}); err != nil {
			t.Fatal(err)
		}
	}
	faulty.FailOn(objstore.Rule{Op: objstore.OpDelete, Nth: 3})
	err := l.Purge(ctx, 5)
	if !errors.Is(err, objstore.ErrInjected) || !strings.HasPrefix(err.Error(), "wal: ") {
		t.Fatalf("got %v, want the store's error, prefixed with \"wal: \"", err)
	}
	if got, _ := l.BatchIDs(ctx); !slices.Equal(got, []int64{2, 3, 4, 5}) {
		t.Fatalf("after an interrupted Purge: %v, want [2 3 4 5]", got)
	}
	if err := l.Purge(ctx, 5); err != nil {
		t.Fatal(err)
	}
	if got, _ := l.BatchIDs(ctx); !slices.Equal(got, []int64{5}) {
		t.Fatalf("after the retry: %v, want [5]", got)
	}
}

// A store failure in Add is passed on and is not mistaken for a conflict.
func TestAddStoreFailure(t *testing.T) {
	ctx := context.Background()
	faulty := objstore.NewFaulty(objstore.NewMemory(), 1)
	faulty.FailOn(objstore.Rule{Op: objstore.OpPutIfAbsent})
	l := NewOffsetLog(faulty)
	err := l.Add(ctx, 0, offsetsAt(0))
	if !errors.Is(err, objstore.ErrInjected) || errors.Is(err, ErrBatchExists) || !strings.Contains(err.Error(), l.Name(0)) {
		t.Fatalf("got %v, want the store's error naming the object, not ErrBatchExists", err)
	}
	if err := l.Add(ctx, 0, offsetsAt(0)); err != nil {
		t.Fatalf("retry after a failed write: %v", err)
	}
}

// Of concurrent Adds of one batch exactly one wins, and its entry is the
// one stored.
func TestConcurrentAdd(t *testing.T) {
	for sname, store := range stores(t) {
		t.Run(sname, func(t *testing.T) {
			ctx := context.Background()
			const writers = 8
			errs := make([]error, writers)
			var wg sync.WaitGroup
			for w := range writers {
				wg.Go(func() {
					errs[w] = NewOffsetLog(store).Add(ctx, 5, offsetsAt(int64(w)))
				})
			}
			wg.Wait()
			winner := -1
			for w, err := range errs {
				switch {
				case err == nil && winner >= 0:
					t.Fatalf("writers %d and %d both won", winner, w)
				case err == nil:
					winner = w
				case !errors.Is(err, ErrBatchExists):
					t.Fatalf("writer %d: got %v, want ErrBatchExists", w, err)
				}
			}
			if winner < 0 {
				t.Fatal("no writer won")
			}
			got, err := NewOffsetLog(store).Get(ctx, 5)
			if err != nil || !reflect.DeepEqual(got, offsetsAt(int64(winner))) {
				t.Fatalf("stored %#v (%v), want the winner's entry %#v", got, err, offsetsAt(int64(winner)))
			}
		})
	}
}

// A custom codec's plain decoding error is wrapped in a CorruptionError.
type failingCodec struct{}

func (failingCodec) Encode(s string) ([]byte, error) { return []byte(s), nil }
func (failingCodec) Decode(b []byte) (string, error) {
	return "", errors.New("not the expected format")
}

func TestCustomCodecError(t *testing.T) {
	ctx := context.Background()
	l := NewLog[string](objstore.NewMemory(), "custom", failingCodec{})
	if err := l.Add(ctx, 1, "x"); err != nil {
		t.Fatal(err)
	}
	_, err := l.Get(ctx, 1)
	var ce *CorruptionError
	if !errors.As(err, &ce) || ce.Object != "custom/00000000000000000001" || !strings.Contains(err.Error(), "not the expected format") {
		t.Fatalf("got %v, want a *CorruptionError naming the object and wrapping the codec's error", err)
	}
}
