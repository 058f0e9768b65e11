package incremental

import (
	"context"
	"fmt"
	"math/rand"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/bufpool"
	"github.com/sluicehq/sluice/expr"
	"github.com/sluicehq/sluice/internal/arrowrows"
	"github.com/sluicehq/sluice/plan"
	"github.com/sluicehq/sluice/table"
)

var (
	sjStream = arrow.NewSchema([]arrow.Field{
		{Name: "k", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "s", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "v", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	}, nil)
	sjTable = arrow.NewSchema([]arrow.Field{
		{Name: "tk", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "ts", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "name", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "w", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	}, nil)
)

// sjRandomRows returns n rows of small keys with some nulls, so keys
// repeat on both sides and some match nothing.
func sjRandomRows(rng *rand.Rand, n int, table bool) [][]any {
	rows := make([][]any, n)
	maybe := func(v any) any {
		if rng.Intn(10) == 0 {
			return nil
		}
		return v
	}
	for i := range rows {
		k := maybe(int64(rng.Intn(12)))
		s := maybe([]string{"a", "b", "c"}[rng.Intn(3)])
		if table {
			rows[i] = []any{k, s, maybe(fmt.Sprintf("n%d", i)), maybe(int64(rng.Intn(100)))}
		} else {
			rows[i] = []any{k, s, maybe(int64(rng.Intn(100)))}
		}
	}
	return rows
}

// sjReference joins stream rows with table rows as SQL does: keys are the
// stream and table column positions, extra the v < w condition.
func sjReference(kind plan.JoinType, stream, tbl [][]any, lk, rk []int, extra bool) [][]any {
	var out [][]any
	for _, s := range stream {
		var matches [][]any
		for _, t := range tbl {
			eq := true
			for i := range lk {
				if s[lk[i]] == nil || t[rk[i]] == nil || s[lk[i]] != t[rk[i]] {
					eq = false
					break
				}
			}
			if eq && extra {
				v, w := s[2], t[3]
				eq = v != nil && w != nil && v.(int64) < w.(int64)
			}
			if eq {
				matches = append(matches, t)
			}
		}
		switch kind {
		case plan.InnerJoin, plan.LeftOuterJoin:
			for _, t := range matches {
				out = append(out, append(append([]any{}, s...), t...))
			}
			if kind == plan.LeftOuterJoin && len(matches) == 0 {
				out = append(out, append(append([]any{}, s...), nil, nil, nil, nil))
			}
		case plan.LeftSemiJoin:
			if len(matches) > 0 {
				out = append(out, s)
			}
		case plan.LeftAntiJoin:
			if len(matches) == 0 {
				out = append(out, s)
			}
		}
	}
	return out
}

func sjBuild(t *testing.T, mem memory.Allocator, schema *arrow.Schema, rows [][]any) arrow.RecordBatch {
	t.Helper()
	rec, err := arrowrows.Build(mem, schema, rows)
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

// sjRun runs recs through a pipeline of the join, one batch each, and
// returns the output rows.
func sjRun(t *testing.T, mem memory.Allocator, src table.Source, j plan.StaticJoin, batches [][][]any) [][]any {
	t.Helper()
	ctx := context.Background()
	node, err := plan.NewStaticJoin(plan.NewScan(0, "s", sjStream), src, j)
	if err != nil {
		t.Fatal(err)
	}
	p, err := Build(node, mem)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	var out [][]any
	for b, rows := range batches {
		if err := p.BeginBatch(ctx, BatchInfo{BatchID: int64(b)}); err != nil {
			t.Fatal(err)
		}
		if len(rows) == 0 {
			continue
		}
		rec := sjBuild(t, mem, sjStream, rows)
		res, err := p.Process(ctx, 0, rec)
		rec.Release()
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range res {
			if !r.Schema().Equal(node.Schema()) {
				t.Fatalf("output schema %s, want %s", r.Schema(), node.Schema())
			}
			out = append(out, arrowrows.Rows(r)...)
			r.Release()
		}
	}
	return out
}

func TestStaticJoinAgainstReference(t *testing.T) {
	seed := int64(42)
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewSource(seed))
	type keys struct {
		name   string
		lk, rk []int
	}
	for _, ks := range []keys{{"fixed", []int{0}, []int{0}}, {"var", []int{0, 1}, []int{0, 1}}} {
		for _, kind := range []plan.JoinType{plan.InnerJoin, plan.LeftOuterJoin, plan.LeftSemiJoin, plan.LeftAntiJoin} {
			for _, extra := range []bool{false, true} {
				t.Run(fmt.Sprintf("%s/%s/extra=%v", ks.name, kind, extra), func(t *testing.T) {
					mem := memory.NewCheckedAllocator(bufpool.NewPoison())
					defer mem.AssertSize(t, 0)
					tblRows := sjRandomRows(rng, 40, true)
					half := len(tblRows) / 2
					r1, r2 := sjBuild(t, mem, sjTable, tblRows[:half]), sjBuild(t, mem, sjTable, tblRows[half:])
					tbl, err := table.FromRecords(sjTable, r1, r2)
					r1.Release()
					r2.Release()
					if err != nil {
						t.Fatal(err)
					}
					defer tbl.Release()
					var batches [][][]any
					var stream [][]any
					for b := 0; b < 5; b++ {
						rows := sjRandomRows(rng, rng.Intn(60), false)
						batches = append(batches, rows)
						stream = append(stream, rows...)
					}
					j := plan.StaticJoin{Type: kind}
					for i := range ks.lk {
						j.LeftKeys = append(j.LeftKeys, expr.Col(sjStream.Field(ks.lk[i]).Name))
						j.RightKeys = append(j.RightKeys, sjTable.Field(ks.rk[i]).Name)
					}
					if extra {
						j.Extra = expr.Col("v").Lt(expr.Col("w"))
					}
					got := sjRun(t, mem, tbl, j, batches)
					want := sjReference(kind, stream, tblRows, ks.lk, ks.rk, extra)
					if len(want) == 0 {
						t.Fatalf("the reference has no rows; pick another seed")
					}
					if !reflect.DeepEqual(got, want) {
						t.Fatalf("got %d rows, want %d\ngot  %v\nwant %v", len(got), len(want), got, want)
					}
				})
			}
		}
	}
}

func TestStaticJoinEmptyTableAndTypes(t *testing.T) {
	mem := memory.NewCheckedAllocator(bufpool.NewPoison())
	defer mem.AssertSize(t, 0)
	tbl, err := table.FromRecords(sjTable)
	if err != nil {
		t.Fatal(err)
	}
	defer tbl.Release()
	stream := [][]any{{int64(1), "a", int64(5)}, {nil, "b", int64(6)}}
	got := sjRun(t, mem, tbl, plan.StaticJoin{Type: plan.LeftOuterJoin, LeftKeys: []expr.Expr{expr.Col("k")}, RightKeys: []string{"tk"}}, [][][]any{stream})
	want := [][]any{{int64(1), "a", int64(5), nil, nil, nil, nil}, {nil, "b", int64(6), nil, nil, nil, nil}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("left outer with an empty table: got %v, want %v", got, want)
	}
	if got := sjRun(t, mem, tbl, plan.StaticJoin{Type: plan.InnerJoin, LeftKeys: []expr.Expr{expr.Col("k")}, RightKeys: []string{"tk"}}, [][][]any{stream}); len(got) != 0 {
		t.Fatalf("inner with an empty table: %v", got)
	}
	if got := sjRun(t, mem, tbl, plan.StaticJoin{Type: plan.LeftAntiJoin, LeftKeys: []expr.Expr{expr.Col("k")}, RightKeys: []string{"tk"}}, [][][]any{stream}); len(got) != 2 {
		t.Fatalf("anti with an empty table: %v", got)
	}

	// An int32 stream key joins an int64 table key; a string key joins a
	// large string key.
	s32 := arrow.NewSchema([]arrow.Field{{Name: "k", Type: arrow.PrimitiveTypes.Int32}, {Name: "s", Type: arrow.BinaryTypes.LargeString}}, nil)
	trec := sjBuild(t, mem, sjTable, [][]any{{int64(7), "x", "seven", int64(1)}, {int64(1) << 40, "y", "big", int64(2)}})
	t2, err := table.FromRecords(sjTable, trec)
	trec.Release()
	if err != nil {
		t.Fatal(err)
	}
	defer t2.Release()
	node, err := plan.NewStaticJoin(plan.NewScan(0, "s", s32), t2, plan.StaticJoin{LeftKeys: []expr.Expr{expr.Col("k"), expr.Col("s")}, RightKeys: []string{"tk", "ts"}})
	if err != nil {
		t.Fatal(err)
	}
	p, err := Build(node, mem)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := p.BeginBatch(ctx, BatchInfo{}); err != nil {
		t.Fatal(err)
	}
	in := sjBuild(t, mem, s32, [][]any{{int64(7), "x"}, {int64(7), "y"}, {int64(0), "y"}})
	res, err := p.Process(ctx, 0, in)
	in.Release()
	if err != nil {
		t.Fatal(err)
	}
	rows := arrowrows.RowsOf(res)
	for _, r := range res {
		r.Release()
	}
	if want := [][]any{{int64(7), "x", int64(7), "x", "seven", int64(1)}}; !reflect.DeepEqual(rows, want) {
		t.Fatalf("mixed key types: got %v, want %v", rows, want)
	}
	if !strings.Contains(p.Explain(), "BroadcastHashJoinExec inner, [k, s] = [tk, ts]") {
		t.Fatalf("Explain does not show the join:\n%s", p.Explain())
	}
}

// versionedSource is a table.Source whose table the test replaces.
type versionedSource struct {
	mu    sync.Mutex
	tbl   *table.Table
	ver   int
	loads int
}

func (s *versionedSource) Schema() *arrow.Schema { return sjTable }
func (s *versionedSource) String() string        { return "test table" }
func (s *versionedSource) set(t *table.Table) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tbl != nil {
		s.tbl.Release()
	}
	s.tbl, s.ver = t, s.ver+1
}
func (s *versionedSource) Load(context.Context) (*table.Table, table.Version, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.loads++
	s.tbl.Retain()
	return s.tbl, table.Version{Objects: []table.Object{{Name: "t", Size: int64(s.ver)}}}, nil
}
func (s *versionedSource) Changed(_ context.Context, since table.Version) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return since.Objects[0].Size != int64(s.ver), nil
}

func TestStaticJoinReload(t *testing.T) {
	for _, tc := range []struct {
		name     string
		every    int
		onChange bool
		// matched[b] is whether batch b's row (key b) finds the row
		// added to the table before batch b.
		matched []bool
		loads   int
	}{
		{"never", 0, false, []bool{true, false, false, false, false}, 1},
		{"every 2", 2, false, []bool{true, false, true, false, true}, 3},
		{"on change", 0, true, []bool{true, true, true, true, true}, 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(bufpool.NewPoison())
			defer mem.AssertSize(t, 0)
			src := &versionedSource{}
			var rows [][]any
			ctx := context.Background()
			node, err := plan.NewStaticJoin(plan.NewScan(0, "s", sjStream), src, plan.StaticJoin{
				Type: plan.LeftSemiJoin, LeftKeys: []expr.Expr{expr.Col("k")}, RightKeys: []string{"tk"},
				ReloadEvery: tc.every, ReloadOnChange: tc.onChange,
			})
			if err != nil {
				t.Fatal(err)
			}
			p, err := Build(node, mem)
			if err != nil {
				t.Fatal(err)
			}
			for b := range tc.matched {
				rows = append(rows, []any{int64(b), "a", "n", int64(0)})
				rec := sjBuild(t, mem, sjTable, rows)
				tbl, err := table.FromRecords(sjTable, rec)
				rec.Release()
				if err != nil {
					t.Fatal(err)
				}
				src.set(tbl)
				if err := p.BeginBatch(ctx, BatchInfo{BatchID: int64(b)}); err != nil {
					t.Fatal(err)
				}
				in := sjBuild(t, mem, sjStream, [][]any{{int64(b), "a", int64(1)}})
				res, err := p.Process(ctx, 0, in)
				in.Release()
				if err != nil {
					t.Fatal(err)
				}
				if got := len(res) == 1; got != tc.matched[b] {
					t.Errorf("batch %d: matched %v, want %v", b, got, tc.matched[b])
				}
				for _, r := range res {
					r.Release()
				}
			}
			if src.loads != tc.loads {
				t.Errorf("%d loads, want %d", src.loads, tc.loads)
			}
			src.set(nil)
		})
	}
}

func TestStaticJoinPlanErrors(t *testing.T) {
	tbl, err := table.FromRecords(sjTable)
	if err != nil {
		t.Fatal(err)
	}
	defer tbl.Release()
	scan := plan.NewScan(0, "s", sjStream)
	for _, tc := range []struct {
		j    plan.StaticJoin
		want string
	}{
		{plan.StaticJoin{LeftKeys: []expr.Expr{expr.Col("k")}, RightKeys: []string{"nope"}}, `the table has no column "nope"`},
		{plan.StaticJoin{LeftKeys: []expr.Expr{expr.Col("s")}, RightKeys: []string{"tk"}}, "CAST the stream key"},
		{plan.StaticJoin{LeftKeys: []expr.Expr{expr.Col("k")}, RightKeys: nil}, "as many on each side"},
		{plan.StaticJoin{LeftKeys: []expr.Expr{expr.Col("k")}, RightKeys: []string{"tk"}, Extra: expr.Col("w")}, "not boolean"},
		{plan.StaticJoin{Type: "full_outer", LeftKeys: []expr.Expr{expr.Col("k")}, RightKeys: []string{"tk"}}, "not supported with a static table"},
	} {
		_, err := plan.NewStaticJoin(scan, tbl, tc.j)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: error %v, want it to contain %q", tc.j, err, tc.want)
		}
	}
	// A clash of names asks for a rename or a prefix; the prefix works.
	clash := arrow.NewSchema([]arrow.Field{{Name: "k", Type: arrow.PrimitiveTypes.Int64}, {Name: "name", Type: arrow.BinaryTypes.String}}, nil)
	_, err = plan.NewStaticJoin(plan.NewScan(0, "s", clash), tbl, plan.StaticJoin{LeftKeys: []expr.Expr{expr.Col("k")}, RightKeys: []string{"tk"}})
	if err == nil || !strings.Contains(err.Error(), `both have a column "name"`) {
		t.Fatalf("clash: %v", err)
	}
	n, err := plan.NewStaticJoin(plan.NewScan(0, "s", clash), tbl, plan.StaticJoin{LeftKeys: []expr.Expr{expr.Col("k")}, RightKeys: []string{"tk"}, Prefix: "t_", Using: true})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range n.Schema().Fields() {
		names = append(names, f.Name)
	}
	if got := strings.Join(names, ","); got != "k,name,t_ts,t_name,t_w" {
		t.Fatalf("columns %s", got)
	}
}
