package microbatch_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/microbatch"
	"github.com/sluicehq/sluice/objstore"
	memsink "github.com/sluicehq/sluice/sink/memory"
	"github.com/sluicehq/sluice/source"
	"github.com/sluicehq/sluice/trigger"
	"github.com/sluicehq/sluice/wal"
)

func TestResumeAfterCleanRuns(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, 1)
	var total int64
	for i := 0; i < 5; i++ {
		addRange(e.src, e.mem, total, total+int64(10*(i+1)))
		total += int64(10 * (i + 1))
		if err := e.run(ctx, trigger.Once()); err != nil {
			t.Fatal(err)
		}
	}
	// A run with nothing new commits nothing.
	if err := e.run(ctx, trigger.AvailableNow()); err != nil {
		t.Fatal(err)
	}
	ids, err := wal.NewCommitLog(e.checkpoint()).BatchIDs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) != 5 || ids[4] != 4 {
		t.Fatalf("commits %v, want batches 0..4", ids)
	}
	checkExactlyOnce(t, e.committedIDs(ctx), total, "resume")
}

// A corrupt or truncated offsets/N stops the query with an error naming the
// object, and the object is left as it was.
func TestCorruptOffsetsLog(t *testing.T) {
	for _, tc := range []struct{ name, content string }{
		{"truncated", "v1\n{\"batchWatermarkMs\":0,\"batchTim"},
		{"garbage", "\x00\x01\x02 not a log entry"},
		{"newer version", "v9\n{}\n-\n"},
		{"empty", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			e := newEnv(t, 1)
			addRange(e.src, e.mem, 0, 10)
			if err := e.run(ctx, trigger.Once()); err != nil {
				t.Fatal(err)
			}
			name := "offsets/00000000000000000001"
			if err := e.checkpoint().Put(ctx, name, []byte(tc.content)); err != nil {
				t.Fatal(err)
			}
			addRange(e.src, e.mem, 10, 20)
			err := e.run(ctx, trigger.Once())
			var ce *wal.CorruptionError
			if !errors.As(err, &ce) {
				t.Fatalf("got %v, want a *wal.CorruptionError", err)
			}
			if !strings.Contains(err.Error(), name) {
				t.Fatalf("error %q does not name the object %s", err, name)
			}
			got, gerr := e.checkpoint().Get(ctx, name)
			if gerr != nil || string(got) != tc.content {
				t.Fatalf("the corrupt object was changed: %q, %v", got, gerr)
			}
		})
	}
}

// A second driver that writes the next batch's offsets first fences this
// one out: it stops with ErrConcurrentRun instead of running a batch twice.
func TestSecondDriverIsFenced(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, 1)
	addRange(e.src, e.mem, 0, 10)
	if err := e.run(ctx, trigger.Once()); err != nil {
		t.Fatal(err)
	}
	// The other driver logs batch 1 between our recovery and our write.
	other := wal.NewOffsetLog(e.checkpoint())
	hooked := &hookStore{Store: e.checkpoint(), before: func(name string) {
		if name == "offsets/00000000000000000001" {
			if err := other.Add(ctx, 1, wal.OffsetEntry{Offsets: []source.Offset{source.Offset(`{"batch":9}`)}}); err != nil {
				t.Errorf("other driver: %v", err)
			}
		}
	}}
	addRange(e.src, e.mem, 10, 20)
	d, err := microbatch.New(microbatch.Config{
		Sources: []source.Source{e.src}, Plan: identity{testSchema}, Sink: memsink.New(),
		Checkpoint: hooked, Trigger: trigger.Once(), Allocator: e.mem,
	})
	if err != nil {
		t.Fatal(err)
	}
	err = d.Run(ctx)
	if !errors.Is(err, microbatch.ErrConcurrentRun) {
		t.Fatalf("got %v, want ErrConcurrentRun", err)
	}
	if !strings.Contains(err.Error(), "offsets/00000000000000000001") {
		t.Fatalf("error %q does not name the contested object", err)
	}
}

// hookStore calls before ahead of every PutIfAbsent.
type hookStore struct {
	objstore.Store
	before func(name string)
}

func (h *hookStore) PutIfAbsent(ctx context.Context, name string, data []byte) error {
	h.before(name)
	return h.Store.PutIfAbsent(ctx, name, data)
}

func TestConfigValidation(t *testing.T) {
	_, err := microbatch.New(microbatch.Config{})
	if err == nil || !strings.Contains(err.Error(), "Sources") {
		t.Fatalf("got %v, want an error naming Sources", err)
	}
}
