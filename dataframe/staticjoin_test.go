package dataframe_test

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/sluicehq/sluice/bufpool"
	"github.com/sluicehq/sluice/dataframe"
	"github.com/sluicehq/sluice/internal/arrowrows"
	"github.com/sluicehq/sluice/objstore"
	memsink "github.com/sluicehq/sluice/sink/memory"
	memsrc "github.com/sluicehq/sluice/source/memory"
	"github.com/sluicehq/sluice/table"
)

// sjTableSchema is the reference table of the dataframe join tests: a key
// that the stream's int key column joins, and two payload columns.
var sjTableSchema = arrow.NewSchema([]arrow.Field{
	{Name: "key", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: "label", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "weight", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
}, nil)

// sjTableRows makes n table rows over keys 1..keys, with duplicates, some
// null keys, and some keys missing.
func sjTableRows(rng *rand.Rand, n int, keys int64) [][]any {
	rows := make([][]any, n)
	for i := range rows {
		var k any = 1 + rng.Int64N(keys)
		if rng.IntN(8) == 0 {
			k = nil
		}
		rows[i] = []any{k, fmt.Sprintf("l%d", i), rng.Int64N(2001) - 1000}
	}
	return rows
}

// sjJoinRef is the join of one batch's stream rows (ts, key, value) with
// the table rows (key, label, weight) on key, as SQL joins them, in stream
// then table order. The table's key is left out (a join on the same-named
// column); cond, when set, is value < weight.
func sjJoinRef(how string, stream []etRow, tbl [][]any, cond bool) [][]any {
	var out [][]any
	for _, r := range stream {
		sv := r.goValues(true)
		var matches [][]any
		for _, t := range tbl {
			if r.key == 0 || t[0] == nil || t[0].(int64) != r.key {
				continue
			}
			if cond && (r.null || r.value >= t[2].(int64)) {
				continue
			}
			matches = append(matches, t)
		}
		switch how {
		case "inner", "left_outer":
			for _, t := range matches {
				out = append(out, append(append([]any{}, sv...), t[1], t[2]))
			}
			if how == "left_outer" && len(matches) == 0 {
				out = append(out, append(append([]any{}, sv...), nil, nil))
			}
		case "left_semi":
			if len(matches) > 0 {
				out = append(out, sv)
			}
		case "left_anti":
			if len(matches) == 0 {
				out = append(out, sv)
			}
		}
	}
	return out
}

// TestJoinStaticExactlyOnce joins random rows, split into random batches,
// with a table holding duplicate and null keys, while faults hit the
// checkpoint and the query restarts: each batch the offsets log records
// is written once, and holds the join of exactly that batch's rows.
func TestJoinStaticExactlyOnce(t *testing.T) {
	if etIsolate(t) {
		return
	}
	for seed := uint64(1); seed <= 3; seed++ {
		for _, how := range []string{"inner", "left_outer", "left_semi", "left_anti"} {
			for _, cond := range []bool{false, true} {
				t.Run(fmt.Sprintf("seed=%d/%s/cond=%v", seed, how, cond), func(t *testing.T) {
					sjRunExactlyOnce(t, seed, how, cond)
				})
			}
		}
	}
}

func sjRunExactlyOnce(t *testing.T, seed uint64, how string, cond bool) {
	rng := rand.New(rand.NewPCG(seed, 0x5a))
	tmem := memory.NewCheckedAllocator(bufpool.NewPoison())
	defer tmem.AssertSize(t, 0)
	tblRows := sjTableRows(rng, 30, 12)
	rec, err := arrowrows.Build(tmem, sjTableSchema, tblRows)
	if err != nil {
		t.Fatal(err)
	}
	tbl, err := table.FromRecords(sjTableSchema, rec)
	rec.Release()
	if err != nil {
		t.Fatal(err)
	}
	defer tbl.Release()
	var opts []dataframe.JoinOption
	if cond {
		opts = append(opts, dataframe.JoinCondition(dataframe.Col("value").Lt(dataframe.Col("weight"))))
	}
	h := newETHarness(t, seed, etConfig{
		mode: "append", intKeys: true, faults: 0.3, restarts: 0.15,
		build: func(df *dataframe.DataFrame) *dataframe.DataFrame {
			return df.JoinStatic(tbl, []string{"key"}, how, opts...)
		},
	})
	rows := etGenerate(rng, etGenConfig{n: 250, keys: 15, step: etSec, jitter: etSec, ahead: etSec, nullKeys: 0.1, nulls: 0.1})
	h.feed(rows, 25)
	h.stop()
	batches := h.batches()
	got := map[int64][][]any{}
	for _, b := range h.out.Batches() {
		if _, dup := got[b.ID]; dup {
			t.Fatalf("batch %d written twice", b.ID)
		}
		if len(b.Rows) > 0 {
			got[b.ID] = b.Rows
		}
	}
	total := 0
	for _, b := range batches {
		in := make([]etRow, len(b.rows))
		for i, r := range b.rows {
			in[i] = h.rows[r]
		}
		want := sjJoinRef(how, in, tblRows, cond)
		total += len(want)
		if len(want) == 0 && len(got[b.id]) == 0 {
			continue
		}
		if !reflect.DeepEqual(got[b.id], want) {
			t.Errorf("batch %d: wrote %d rows, want %d\ngot  %v\nwant %v", b.id, len(got[b.id]), len(want), got[b.id], want)
		}
		delete(got, b.id)
	}
	for id := range got {
		t.Errorf("batch %d was written but is not in the offsets log", id)
	}
	if total == 0 {
		t.Fatal("the reference join is empty: the test checks nothing")
	}
	t.Logf("%d rows, %d batches, %d output rows, %d crashes (%v), %d restarts", len(h.rows), len(batches), total, h.crashes, h.rules, h.restarts)
}

// sjQuery is a query over a memory source and sink, run a batch at a
// time by step.
type sjQuery struct {
	*etFixture
	q interface {
		ProcessAllAvailable(context.Context) error
		Stop(context.Context) error
		Explain() string
	}
}

func newSJQuery(t *testing.T, build func(*dataframe.DataFrame) *dataframe.DataFrame) *sjQuery {
	t.Helper()
	s := &sjQuery{etFixture: newETFixture(t, true)}
	q, err := build(dataframe.ReadStream(s.src)).WriteStream(s.out).CheckpointStore(objstore.NewMemory()).Allocator(s.mem).Start(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	s.q = q
	t.Cleanup(func() { _ = s.q.Stop(context.Background()) })
	return s
}

// step adds a row of key k (0 is a null key) and returns the labels the
// batch joined it with.
func (s *sjQuery) step(k int64) []any {
	s.t.Helper()
	before := len(s.out.Rows())
	if _, err := s.src.AddRows(etRow{ts: etSec, key: k, value: 1}.goValues(true)); err != nil {
		s.t.Fatal(err)
	}
	if err := s.q.ProcessAllAvailable(context.Background()); err != nil {
		s.t.Fatal(err)
	}
	var labels []any
	for _, r := range s.out.Rows()[before:] {
		labels = append(labels, r[3])
	}
	return labels
}

func parquetFile(t *testing.T, rows [][]any) []byte {
	t.Helper()
	rec, err := arrowrows.Build(memory.DefaultAllocator, sjTableSchema, rows)
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Release()
	var buf bytes.Buffer
	w, err := pqarrow.NewFileWriter(sjTableSchema, &buf, nil, pqarrow.DefaultWriterProps())
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestJoinStaticReloadOnChangeParquet adds a Parquet file to a local
// folder before each batch: with ReloadOnChange every batch sees it.
func TestJoinStaticReloadOnChangeParquet(t *testing.T) {
	ctx := context.Background()
	dir, err := objstore.NewDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := dir.Put(ctx, "ref/0.parquet", parquetFile(t, [][]any{{int64(10), "ten", int64(0)}})); err != nil {
		t.Fatal(err)
	}
	src, err := table.Parquet(ctx, dir, "ref")
	if err != nil {
		t.Fatal(err)
	}
	s := newSJQuery(t, func(df *dataframe.DataFrame) *dataframe.DataFrame {
		return df.JoinStatic(src, []string{"key"}, "left", dataframe.ReloadOnChange())
	})
	if got := s.step(10); !reflect.DeepEqual(got, []any{"ten"}) {
		t.Fatalf("batch 0 joined %v", got)
	}
	for k := int64(1); k <= 3; k++ {
		if err := dir.Put(ctx, fmt.Sprintf("ref/%d.parquet", k), parquetFile(t, [][]any{{k, fmt.Sprint("v", k), k}})); err != nil {
			t.Fatal(err)
		}
		if got := s.step(k); !reflect.DeepEqual(got, []any{fmt.Sprint("v", k)}) {
			t.Fatalf("key %d, after its file was added: joined %v", k, got)
		}
	}
	if !strings.Contains(s.q.Explain(), "BroadcastHashJoinExec left_outer, [key] = [key]") || !strings.Contains(s.q.Explain(), "reload on change") {
		t.Errorf("Explain does not show the join:\n%s", s.q.Explain())
	}
}

// TestJoinStaticReloadEveryCSV rewrites a CSV file in a memory store
// before each batch: with ReloadEvery(2) only batches 0, 2 and 4 see the
// new key.
func TestJoinStaticReloadEveryCSV(t *testing.T) {
	ctx := context.Background()
	store := objstore.NewMemory()
	var text strings.Builder
	text.WriteString("key,label,weight\n")
	put := func(k int64) {
		fmt.Fprintf(&text, "%d,v%d,%d\n", k, k, k)
		if err := store.Put(ctx, "ref/all.csv", []byte(text.String())); err != nil {
			t.Fatal(err)
		}
	}
	put(10)
	src, err := table.CSV(ctx, store, "ref", sjTableSchema, table.WithHeader(true))
	if err != nil {
		t.Fatal(err)
	}
	s := newSJQuery(t, func(df *dataframe.DataFrame) *dataframe.DataFrame {
		return df.JoinStaticOn(src, dataframe.On(dataframe.Col("key"), "key"), "inner", dataframe.ReloadEvery(2), dataframe.JoinPrefix("t_"))
	})
	for b := int64(0); b < 6; b++ {
		k := 10 + b
		if b > 0 {
			put(k)
		}
		got := s.step(k)
		wantMatch := b%2 == 0
		if (len(got) == 1) != wantMatch {
			t.Fatalf("batch %d: joined %v; a reload every 2 batches should match: %v", b, got, wantMatch)
		}
	}
	rows := s.out.Rows()
	if len(rows[0]) != 6 {
		t.Fatalf("JoinStaticOn keeps every table column (prefixed): row %v", rows[0])
	}
}

func TestJoinStaticErrors(t *testing.T) {
	tbl, err := table.FromRecords(sjTableSchema)
	if err != nil {
		t.Fatal(err)
	}
	defer tbl.Release()
	df := dataframe.ReadStream(memsrc.New(etSchema(true)))
	for _, tc := range []struct {
		df   *dataframe.DataFrame
		want string
	}{
		{df.JoinStatic(tbl, nil, "inner"), "no join columns"},
		{df.JoinStatic(tbl, []string{"key"}, "full"), "not supported with a static table"},
		{df.JoinStatic(tbl, []string{"key"}, "sideways"), "unknown join type"},
		{df.JoinStatic(nil, []string{"key"}, "inner"), "the table is nil"},
		{df.JoinStatic(tbl, []string{"value"}, "inner"), `no column "value"`},
		{df.JoinStaticOn(tbl, dataframe.On(dataframe.Col("key"), "key"), "inner"), `both have a column "key"`},
		{df.JoinStatic(tbl, []string{"key"}, "inner", dataframe.ReloadEvery(-1)), "ReloadEvery(-1)"},
	} {
		if err := tc.df.Err(); err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "dataframe: JoinStatic") {
			t.Errorf("error %v, want one from JoinStatic containing %q", err, tc.want)
		}
	}
	// Complete mode needs an aggregation; with one above the join it runs.
	_, err = df.JoinStatic(tbl, []string{"key"}, "inner").WriteStream(memsink.New()).OutputMode("complete").CheckpointStore(objstore.NewMemory()).Start(context.Background())
	if err == nil || !strings.Contains(err.Error(), "Complete output mode not supported") {
		t.Fatalf("complete without an aggregation: %v", err)
	}
	q, err := df.JoinStatic(tbl, []string{"key"}, "left").GroupBy(dataframe.Col("label")).Agg(dataframe.Count()).
		WriteStream(memsink.New()).OutputMode("complete").CheckpointStore(objstore.NewMemory()).Start(context.Background())
	if err != nil {
		t.Fatalf("complete with an aggregation above the join: %v", err)
	}
	if err := q.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
}
