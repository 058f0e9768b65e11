package microbatch_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand"
	"testing"

	"github.com/sluicehq/sluice/objstore"
	"github.com/sluicehq/sluice/trigger"
)

// The crash matrix of DESIGN.md: a failure at each step of batch 1, then a
// restart. The committed Parquet output must hold every row exactly once.
func TestCrashMatrix(t *testing.T) {
	cases := []struct {
		name string
		rule objstore.Rule
	}{
		{"before offsets log", objstore.Rule{Op: objstore.OpPutIfAbsent, Prefix: "ckpt/offsets/", Nth: 1}},
		{"after offsets log", objstore.Rule{Op: objstore.OpPutIfAbsent, Prefix: "ckpt/offsets/", Nth: 1, After: true}},
		{"recovery read", objstore.Rule{Op: objstore.OpGet, Prefix: "ckpt/offsets/", Nth: 1}},
		{"sink data file write", objstore.Rule{Op: objstore.OpPut, Prefix: "out/part-", Nth: 1}},
		{"sink log write", objstore.Rule{Op: objstore.OpPutIfAbsent, Prefix: "out/_sluice_log/", Nth: 1}},
		{"after sink log", objstore.Rule{Op: objstore.OpPutIfAbsent, Prefix: "out/_sluice_log/", Nth: 1, After: true}},
		{"before commit", objstore.Rule{Op: objstore.OpPutIfAbsent, Prefix: "ckpt/commits/", Nth: 1}},
		{"after commit", objstore.Rule{Op: objstore.OpPutIfAbsent, Prefix: "ckpt/commits/", Nth: 1, After: true}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			e := newEnv(t, 1)
			addRange(e.src, e.mem, 0, 100)
			if err := e.run(ctx, trigger.Once()); err != nil {
				t.Fatalf("batch 0: %v", err)
			}
			addRange(e.src, e.mem, 100, 250)
			e.faulty.FailOn(tc.rule)
			err := e.run(ctx, trigger.Once())
			if !errors.Is(err, objstore.ErrInjected) {
				t.Fatalf("batch 1 with fault %+v: got %v, want the injected error", tc.rule, err)
			}
			e.faulty.Reset()
			// Restart: finishes batch 1 if it was left unfinished, then
			// runs one more batch with the new rows.
			addRange(e.src, e.mem, 250, 300)
			if err := e.run(ctx, trigger.AvailableNow()); err != nil {
				t.Fatalf("restart: %v", err)
			}
			checkExactlyOnce(t, e.committedIDs(ctx), 300, tc.name)
		})
	}
}

// Many seeds of add data / run / fault / restart; every run either
// commits or fails with an injected fault, and at the end the committed
// output is exactly the rows added.
func TestRandomizedCrashRestart(t *testing.T) {
	seeds := 40
	if testing.Short() {
		seeds = 8
	}
	for seed := int64(1); seed <= int64(seeds); seed++ {
		ctx := context.Background()
		rng := rand.New(rand.NewSource(seed))
		e := newEnv(t, seed)
		var next int64
		for round := 0; round < 12; round++ {
			for k := rng.Intn(3); k > 0; k-- {
				n := int64(1 + rng.Intn(40))
				addRange(e.src, e.mem, next, next+n)
				next += n
			}
			e.faulty.Reset()
			if rng.Intn(3) > 0 {
				ops := []objstore.Op{objstore.OpGet, objstore.OpPut, objstore.OpPutIfAbsent, objstore.OpList, objstore.OpAny}
				e.faulty.FailOn(objstore.Rule{
					Op:    ops[rng.Intn(len(ops))],
					Nth:   1 + rng.Intn(6),
					After: rng.Intn(2) == 0,
				})
			}
			trig := trigger.Once()
			if rng.Intn(2) == 0 {
				trig = trigger.AvailableNow()
			}
			if err := e.run(ctx, trig); err != nil && !errors.Is(err, objstore.ErrInjected) {
				t.Fatalf("seed %d round %d: unexpected error: %v", seed, round, err)
			}
		}
		e.faulty.Reset()
		if err := e.run(ctx, trigger.AvailableNow()); err != nil {
			t.Fatalf("seed %d: final run: %v", seed, err)
		}
		ids := e.committedIDs(ctx)
		checkExactlyOnce(t, ids, next, fmt.Sprintf("seed %d", seed))
	}
}
