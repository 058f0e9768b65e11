package agg

import (
	"bytes"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// TestConcurrentDistinctGroups runs MergeState, AppendState and Finish on
// distinct groups from several goroutines (run it with -race) and checks
// the results against doing the same on one goroutine.
func TestConcurrentDistinctGroups(t *testing.T) {
	const ngroups, workers = 64, 4
	mem := checkedMem(t)
	rng := rand.New(rand.NewPCG(5, 5))
	for _, c := range allFuncs(t) {
		f := c.f
		// Earlier state for every group, then the current batch.
		early := f.NewAccumulator()
		early.Grow(ngroups)
		args, gids, release := inputFor(t, mem, rng, c, 3000, ngroups, 500)
		if err := early.Update(args, gids); err != nil {
			t.Fatal(err)
		}
		release()
		states := make([][]byte, ngroups)
		for g := range states {
			states[g] = early.AppendState(nil, g)
		}
		args, gids, release = inputFor(t, mem, rng, c, 3000, ngroups, 500)
		run := func(concurrent bool) ([][]byte, [][]any) {
			acc := f.NewAccumulator()
			acc.Grow(ngroups)
			if err := acc.Update(args, gids); err != nil {
				t.Fatal(err)
			}
			out := make([][]byte, ngroups)
			res := make([][]any, workers)
			var wg sync.WaitGroup
			errs := make(chan error, workers)
			for w := range workers {
				work := func() {
					b := array.NewBuilder(mem, f.ResultType())
					defer b.Release()
					for g := w; g < ngroups; g += workers {
						if _, err := acc.MergeState(g, states[g]); err != nil {
							errs <- err
							return
						}
						out[g] = acc.AppendState(nil, g)
						acc.Finish(g, b)
					}
					arr := b.NewArray()
					defer arr.Release()
					for i := range arr.Len() {
						res[w] = append(res[w], goValue(t, arr, i))
					}
				}
				if concurrent {
					wg.Go(work)
				} else {
					work()
				}
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatalf("%s: %v", f.Name(), err)
			}
			return out, res
		}
		seqStates, seqRes := run(false)
		conStates, conRes := run(true)
		release()
		for g := range ngroups {
			if !bytes.Equal(seqStates[g], conStates[g]) {
				t.Fatalf("%s: group %d's state differs when merged concurrently", f.Name(), g)
			}
		}
		if !equalGo(anySlice(seqRes), anySlice(conRes), 0) {
			t.Fatalf("%s: results differ when finished concurrently", f.Name())
		}
	}
}

func anySlice(rs [][]any) []any {
	out := []any{}
	for _, r := range rs {
		out = append(out, r)
	}
	return out
}

// TestSessionMerge merges one group's state into another in the same
// accumulator, as session windows do.
func TestSessionMerge(t *testing.T) {
	mem := checkedMem(t)
	f := mustBind(t, "collect_list", []arrow.DataType{i64})
	arr := buildArray(t, mem, i64, []any{int64(1), int64(2), int64(3), int64(4)})
	defer arr.Release()
	acc := f.NewAccumulator()
	acc.Grow(2)
	if err := acc.Update([]arrow.Array{arr}, []int32{0, 1, 0, 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := acc.MergeState(1, acc.AppendState(nil, 0)); err != nil {
		t.Fatal(err)
	}
	got := finishAll(t, mem, f, acc)
	if !equalGo(got[1], []any{int64(1), int64(3), int64(2), int64(4)}, 0) {
		t.Fatalf("session merge: got %v, want [1 3 2 4]", got[1])
	}
}
