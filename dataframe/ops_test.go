package dataframe_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/bufpool"
	"github.com/sluicehq/sluice/dataframe"
	"github.com/sluicehq/sluice/engine"
	"github.com/sluicehq/sluice/expr"
	"github.com/sluicehq/sluice/internal/arrowrows"
	memsink "github.com/sluicehq/sluice/sink/memory"
	memsrc "github.com/sluicehq/sluice/source/memory"
	"github.com/sluicehq/sluice/trigger"
)

// checkedMem is a checked allocator that must be back at zero when the
// test ends (after the sinks and sources registered later are released).
func checkedMem(t *testing.T) *memory.CheckedAllocator {
	mem := memory.NewCheckedAllocator(bufpool.NewPoison())
	t.Cleanup(func() { mem.AssertSize(t, 0) })
	return mem
}

// runs numbers the queries of the tests, so each has its own checkpoint.
var runs atomic.Int64

// runAvailableNow runs df to the end of its sources' data with a memory
// sink and returns the sorted rows and the query's Explain, or the error
// of Start or of the run.
func runAvailableNow(t *testing.T, mem memory.Allocator, df *dataframe.DataFrame) ([][]any, string, error) {
	t.Helper()
	out := memsink.New()
	defer out.Release()
	ctx := context.Background()
	q, err := df.WriteStream(out).Trigger(trigger.AvailableNow()).
		Checkpoint(fmt.Sprintf("mem://dataframe-ops-%s-%d", t.Name(), runs.Add(1))).Allocator(mem).
		Engine(engine.New()).Start(ctx)
	if err != nil {
		return nil, "", err
	}
	if err := q.Wait(ctx); err != nil {
		return nil, q.Explain(), err
	}
	rows := out.Rows()
	arrowrows.SortRows(rows)
	return rows, q.Explain(), nil
}

func sameRows(got, want [][]any) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range want {
		if arrowrows.CompareRows(got[i], want[i]) != 0 || len(got[i]) != len(want[i]) {
			return false
		}
	}
	return true
}

var (
	citySchema = arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "city", Type: arrow.BinaryTypes.String, Nullable: true},
	}, nil)
	townSchema = arrow.NewSchema([]arrow.Field{
		{Name: "key", Type: arrow.PrimitiveTypes.Int32},
		{Name: "town", Type: arrow.BinaryTypes.String, Nullable: true},
	}, nil)
)

func TestUnionOfTwoSources(t *testing.T) {
	mem := checkedMem(t)
	cities := memsrc.New(citySchema, memsrc.WithAllocator(mem))
	defer cities.Close()
	towns := memsrc.New(townSchema, memsrc.WithAllocator(mem))
	defer towns.Close()
	if _, err := cities.AddRows([]any{int64(1), "oslo"}, []any{int64(2), nil}); err != nil {
		t.Fatal(err)
	}
	if _, err := towns.AddRows([]any{int32(10), "bergen"}, []any{int32(-1), "voss"}); err != nil {
		t.Fatal(err)
	}
	if _, err := towns.AddRows([]any{int32(20), nil}); err != nil {
		t.Fatal(err)
	}
	df := dataframe.ReadStream(cities, dataframe.WithSourceName("cities")).
		Union(dataframe.ReadStream(towns, dataframe.WithSourceName("towns")).Where(dataframe.Col("key").Gt(dataframe.Lit(0)))).
		WithColumn("twice", dataframe.Col("id").Mul(dataframe.Lit(2)))
	wantSchema := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "city", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "twice", Type: arrow.PrimitiveTypes.Int64},
	}, nil)
	if !df.Schema().Equal(wantSchema) {
		t.Errorf("schema %s, want %s", df.Schema(), wantSchema)
	}
	wantExplain := `== Logical Plan ==
Project [id, city, (id * 2) AS twice]
+- Union [id, city]
   :- StreamingRelation cities, [id, city]
   +- Filter (key > 0)
      +- StreamingRelation towns, [key, town]
`
	if got := df.Explain(); got != wantExplain {
		t.Errorf("Explain:\n%s\nwant:\n%s", got, wantExplain)
	}
	rows, explain, err := runAvailableNow(t, mem, df)
	if err != nil {
		t.Fatal(err)
	}
	want := [][]any{{int64(1), "oslo", int64(2)}, {int64(2), nil, int64(4)}, {int64(10), "bergen", int64(20)}, {int64(20), nil, int64(40)}}
	if !sameRows(rows, want) {
		t.Errorf("rows %v, want %v", rows, want)
	}
	for _, w := range []string{"UnionExec [id, city]", "ScanExec cities (source 0)", "ScanExec towns (source 1)", "UnionInput 2 [cast(id as int64)]"} {
		if !strings.Contains(explain, w) {
			t.Errorf("query Explain lacks %q:\n%s", w, explain)
		}
	}
}

func TestSelfUnionReadsTheSourceOnce(t *testing.T) {
	mem := checkedMem(t)
	src := memsrc.New(citySchema, memsrc.WithAllocator(mem))
	defer src.Close()
	if _, err := src.AddRows([]any{int64(1), "oslo"}, []any{int64(2), "rome"}); err != nil {
		t.Fatal(err)
	}
	df := dataframe.ReadStream(src, dataframe.WithSourceName("c"))
	both := df.Union(df.Where(dataframe.Col("id").Gt(dataframe.Lit(1))))
	rows, explain, err := runAvailableNow(t, mem, both)
	if err != nil {
		t.Fatal(err)
	}
	want := [][]any{{int64(1), "oslo"}, {int64(2), "rome"}, {int64(2), "rome"}}
	if !sameRows(rows, want) {
		t.Errorf("rows %v, want %v", rows, want)
	}
	if strings.Count(explain, "ScanExec c (source 0)") != 2 || strings.Contains(explain, "source 1") {
		t.Errorf("the source should be read once, as source 0, by both branches:\n%s", explain)
	}
}

func TestUnionErrors(t *testing.T) {
	cities := memsrc.New(citySchema)
	defer cities.Close()
	towns := memsrc.New(townSchema)
	defer towns.Close()
	c, tw := dataframe.ReadStream(cities), dataframe.ReadStream(towns)
	for _, tc := range []struct {
		df   *dataframe.DataFrame
		want []string
	}{
		{c.Union(tw.Select(dataframe.Col("key"))), []string{"dataframe: Union:", "input 1 has 2 (id, city) and input 2 has 1 (key)"}},
		{c.Union(tw.Select(dataframe.Col("town"), dataframe.Col("key"))), []string{"column 1 has incompatible types: id int64 in input 1 and town utf8 in input 2"}},
		{c.Union(tw.Select(dataframe.Col("nope"))), []string{"the other DataFrame has an error", "dataframe: Select", `unknown column "nope"`}},
		{c.Union(nil), []string{"the other DataFrame is nil"}},
		{c.Select(dataframe.Col("x")).Union(tw), []string{"dataframe: Select"}},
	} {
		err := tc.df.Err()
		if err == nil {
			t.Errorf("no error; want %q", tc.want)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%v; want %q", err, w)
			}
		}
		if _, err := tc.df.WriteStream(memsink.New()).Checkpoint("mem://union-errors").Start(context.Background()); err == nil {
			t.Error("Start accepted a DataFrame with an error")
		}
	}
}

var basketSchema = arrow.NewSchema([]arrow.Field{
	{Name: "id", Type: arrow.PrimitiveTypes.Int64},
	{Name: "tags", Type: arrow.ListOf(arrow.BinaryTypes.String), Nullable: true},
	{Name: "qty", Type: arrow.MapOf(arrow.BinaryTypes.String, arrow.PrimitiveTypes.Int64), Nullable: true},
}, nil)

func basketSource(t *testing.T, mem memory.Allocator) *memsrc.Source {
	t.Helper()
	src := memsrc.New(basketSchema, memsrc.WithAllocator(mem))
	for _, rows := range []string{
		`[{"id": 1, "tags": ["a", "b"], "qty": [{"key": "a", "value": 3}]},
		  {"id": 2, "tags": null, "qty": null}]`,
		`[{"id": 3, "tags": [], "qty": []},
		  {"id": 4, "tags": [null, "c"], "qty": [{"key": "c", "value": null}, {"key": "d", "value": 1}]}]`,
	} {
		rec, _, err := array.RecordFromJSON(mem, basketSchema, strings.NewReader(rows))
		if err != nil {
			t.Fatal(err)
		}
		src.Add(rec)
		rec.Release()
	}
	return src
}

func TestExplode(t *testing.T) {
	mem := checkedMem(t)
	// A query closes its sources when it ends: each case reads its own.
	read := func() (*dataframe.DataFrame, func() error) {
		src := basketSource(t, mem)
		return dataframe.ReadStream(src, dataframe.WithSourceName("baskets")), src.Close
	}
	df, closeSrc := read()
	defer closeSrc()
	for _, c := range []struct {
		name    string
		df      func(df *dataframe.DataFrame) *dataframe.DataFrame
		explain string
		want    [][]any
	}{
		{
			name: "Explode replacing the array column",
			df: func(df *dataframe.DataFrame) *dataframe.DataFrame {
				return df.Explode("tags", "tags").Drop("qty")
			},
			explain: `== Logical Plan ==
Project [id, tags]
+- Project [id, tags, qty]
   +- Generate explode(tags) AS tags, [id, qty, tags]
      +- StreamingRelation baskets, [id, tags, qty]
`,
			want: [][]any{{int64(1), "a"}, {int64(1), "b"}, {int64(4), nil}, {int64(4), "c"}},
		},
		{
			name: "posexplode_outer in Select",
			df: func(df *dataframe.DataFrame) *dataframe.DataFrame {
				return df.Select(dataframe.Col("id").Add(dataframe.Lit(100)).As("ref"), expr.PosExplodeOuter(dataframe.Col("tags")).AsNames("i", "tag"))
			},
			want: [][]any{{int64(101), int64(0), "a"}, {int64(101), int64(1), "b"}, {int64(102), nil, nil}, {int64(103), nil, nil},
				{int64(104), int64(0), nil}, {int64(104), int64(1), "c"}},
		},
		{
			name: "a map's entries, no other column",
			df: func(df *dataframe.DataFrame) *dataframe.DataFrame {
				return df.Select(expr.Explode(dataframe.Col("qty")))
			},
			explain: `== Logical Plan ==
Generate explode(qty), [key, value]
+- StreamingRelation baskets, [id, tags, qty]
`,
			want: [][]any{{"a", int64(3)}, {"c", nil}, {"d", int64(1)}},
		},
		{
			name: "WithColumn adding the elements, then a filter on them",
			df: func(df *dataframe.DataFrame) *dataframe.DataFrame {
				return df.WithColumn("tag", expr.ExplodeOuter(dataframe.Col("tags"))).Where(dataframe.Col("tag").IsNotNull().Or(dataframe.Col("id").Eq(dataframe.Lit(2)))).Drop("tags", "qty")
			},
			want: [][]any{{int64(1), "a"}, {int64(1), "b"}, {int64(2), nil}, {int64(4), "c"}},
		},
	} {
		fresh, closeFresh := read()
		q := c.df(fresh)
		if c.explain != "" && q.Explain() != c.explain {
			t.Errorf("%s: Explain:\n%s\nwant:\n%s", c.name, q.Explain(), c.explain)
		}
		rows, _, err := runAvailableNow(t, mem, q)
		closeFresh()
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if !sameRows(rows, c.want) {
			t.Errorf("%s: rows %v, want %v", c.name, rows, c.want)
		}
	}
	for _, c := range []struct {
		df   *dataframe.DataFrame
		want string
	}{
		{df.Select(expr.Explode(dataframe.Col("tags")), expr.Explode(dataframe.Col("qty"))), "dataframe: Select: only one generator is allowed per select, but found 2: explode(tags), explode(qty)"},
		{df.Select(expr.Call("size", expr.Explode(dataframe.Col("tags")))), "cannot be nested in size(explode(tags))"},
		{df.Explode("id", "x"), "dataframe: Explode: plan: Generate: expr: type mismatch in explode(id)"},
		{df.WithColumn("p", expr.PosExplode(dataframe.Col("tags"))), "produces 2 columns (pos, col), but 1 names were given"},
		{df.Select(dataframe.Col("id"), expr.Explode(dataframe.Col("tags")).As("id")), `produces a column "id", but the input already has one`},
	} {
		if err := c.df.Err(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v, want %q", err, c.want)
		}
	}
}

func TestColumnEdits(t *testing.T) {
	mem := checkedMem(t)
	src := memsrc.New(citySchema, memsrc.WithAllocator(mem))
	defer src.Close()
	if _, err := src.AddRows([]any{int64(1), "oslo"}, []any{int64(2), nil}); err != nil {
		t.Fatal(err)
	}
	df := dataframe.ReadStream(src, dataframe.WithSourceName("c"))
	names := func(d *dataframe.DataFrame) string {
		t.Helper()
		if d.Err() != nil {
			t.Fatal(d.Err())
		}
		var out []string
		for _, f := range d.Schema().Fields() {
			out = append(out, f.Name+" "+f.Type.String())
		}
		return strings.Join(out, ", ")
	}
	for _, c := range []struct {
		df   *dataframe.DataFrame
		want string
	}{
		{df.WithColumn("city", dataframe.Col("id").Add(dataframe.Lit(1))), "id int64, city int64"},
		{df.WithColumn("n", dataframe.Lit(1.5)), "id int64, city utf8, n float64"},
		{df.WithColumnRenamed("city", "town"), "id int64, town utf8"},
		{df.WithColumnRenamed("id", "id"), "id int64, city utf8"},
		{df.Drop("city", "nope"), "id int64"},
		{df.Drop("nope"), "id int64, city utf8"},
	} {
		if got := names(c.df); got != c.want {
			t.Errorf("schema %s, want %s", got, c.want)
		}
	}
	if df.Drop("nope").Plan() != df.Plan() {
		t.Error("dropping nothing added a node")
	}
	edited := df.WithColumn("city", dataframe.Col("city").IsNull()).WithColumnRenamed("city", "missing").WithColumn("id", dataframe.Col("id").Mul(dataframe.Lit(10)))
	rows, _, err := runAvailableNow(t, mem, edited)
	if err != nil {
		t.Fatal(err)
	}
	if want := [][]any{{int64(10), false}, {int64(20), true}}; !sameRows(rows, want) {
		t.Errorf("rows %v, want %v", rows, want)
	}
	for _, c := range []struct {
		df   *dataframe.DataFrame
		want []string
	}{
		{df.WithColumnRenamed("cty", "town"), []string{"dataframe: WithColumnRenamed:", `unknown column "cty"`, `did you mean "city"`, "available columns: id, city"}},
		{df.WithColumnRenamed("city", "id"), []string{"dataframe: WithColumnRenamed:", `both produce a column named "id"`}},
		{df.WithColumnRenamed("city", ""), []string{"new name"}},
		{df.Drop("id", "city"), []string{"dataframe: Drop:", "would remove every column"}},
		{df.WithColumn("", dataframe.Lit(1)), []string{"dataframe: WithColumn: the column name is empty"}},
		{df.WithColumn("x", dataframe.Col("nope")), []string{"dataframe: WithColumn:", `unknown column "nope"`}},
	} {
		err := c.df.Err()
		if err == nil {
			t.Errorf("no error, want %q", c.want)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%v; want %q", err, w)
			}
		}
	}
}

func TestMapBatches(t *testing.T) {
	mem := checkedMem(t)
	src := memsrc.New(citySchema, memsrc.WithAllocator(mem))
	defer src.Close()
	if _, err := src.AddRows([]any{int64(1), "oslo"}, []any{int64(2), nil}, []any{int64(3), "lima"}); err != nil {
		t.Fatal(err)
	}
	out := arrow.NewSchema([]arrow.Field{
		{Name: "city", Type: arrow.BinaryTypes.String},
		{Name: "len", Type: arrow.PrimitiveTypes.Int64},
	}, nil)
	// Keep the rows with a city, with the city's length: a hand-written
	// loop over the batch's arrays.
	cityLengths := func(ctx context.Context, rec arrow.RecordBatch, mem memory.Allocator) (arrow.RecordBatch, error) {
		cities := rec.Column(1).(*array.String)
		b := array.NewRecordBuilder(mem, out)
		defer b.Release()
		cb, lb := b.Field(0).(*array.StringBuilder), b.Field(1).(*array.Int64Builder)
		for i := 0; i < cities.Len(); i++ {
			if cities.IsValid(i) {
				cb.Append(cities.Value(i))
				lb.Append(int64(len(cities.Value(i))))
			}
		}
		return b.NewRecordBatch(), nil
	}
	df := dataframe.ReadStream(src, dataframe.WithSourceName("c")).MapBatches(out, cityLengths).Where(dataframe.Col("len").Gt(dataframe.Lit(0)))
	if !strings.Contains(df.Explain(), "+- MapBatches github.com/sluicehq/sluice/dataframe_test.TestMapBatches.func1, [city, len]") {
		t.Errorf("Explain:\n%s", df.Explain())
	}
	rows, explain, err := runAvailableNow(t, mem, df)
	if err != nil {
		t.Fatal(err)
	}
	if want := [][]any{{"lima", int64(4)}, {"oslo", int64(4)}}; !sameRows(rows, want) {
		t.Errorf("rows %v, want %v", rows, want)
	}
	if !strings.Contains(explain, "MapBatchesExec") {
		t.Errorf("query Explain:\n%s", explain)
	}
	// A failing function fails the query, with its error.
	errBad := errors.New("no cities today")
	src2 := memsrc.New(citySchema, memsrc.WithAllocator(mem))
	defer src2.Close()
	if _, err := src2.AddRows([]any{int64(1), "oslo"}); err != nil {
		t.Fatal(err)
	}
	failing := dataframe.ReadStream(src2).MapBatches(out, func(ctx context.Context, rec arrow.RecordBatch, mem memory.Allocator) (arrow.RecordBatch, error) {
		return nil, errBad
	})
	if _, _, err := runAvailableNow(t, mem, failing); !errors.Is(err, errBad) || !strings.Contains(err.Error(), "MapBatches") {
		t.Errorf("failing function: %v", err)
	}
	if err := dataframe.ReadStream(src).MapBatches(nil, cityLengths).Err(); err == nil || !strings.Contains(err.Error(), "dataframe: MapBatches: plan: MapBatches: the output schema is nil") {
		t.Errorf("nil schema: %v", err)
	}
}

var registerOnce sync.Once

// registerScale registers the UDF scale_by_df_test once per test binary
// (tests may run several times with -count).
func registerScale(t *testing.T) {
	var err error
	registerOnce.Do(func() {
		err = dataframe.RegisterUDF("scale_by_df_test",
			[]arrow.DataType{arrow.PrimitiveTypes.Int64, arrow.PrimitiveTypes.Int64}, arrow.PrimitiveTypes.Int64, true,
			func(args []arrow.Array, mem memory.Allocator) (arrow.Array, error) {
				x, k := args[0].(*array.Int64), args[1].(*array.Int64)
				b := array.NewInt64Builder(mem)
				defer b.Release()
				b.Reserve(x.Len())
				for i := 0; i < x.Len(); i++ {
					if x.IsNull(i) || k.IsNull(i) {
						b.AppendNull()
						continue
					}
					b.Append(x.Value(i) * k.Value(i))
				}
				return b.NewArray(), nil
			})
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestUDFCalledByName(t *testing.T) {
	registerScale(t)
	mem := checkedMem(t)
	src := memsrc.New(citySchema, memsrc.WithAllocator(mem))
	defer src.Close()
	if _, err := src.AddRows([]any{int64(1), "oslo"}, []any{int64(2), nil}); err != nil {
		t.Fatal(err)
	}
	// The int constant 3 is repeated to the batch length for the UDF.
	df := dataframe.ReadStream(src).Select(dataframe.Col("city"), expr.Call("SCALE_BY_DF_TEST", dataframe.Col("id"), dataframe.Lit(3)).As("scaled"))
	rows, _, err := runAvailableNow(t, mem, df)
	if err != nil {
		t.Fatal(err)
	}
	if want := [][]any{{nil, int64(6)}, {"oslo", int64(3)}}; !sameRows(rows, want) {
		t.Errorf("rows %v, want %v", rows, want)
	}
	err = dataframe.RegisterUDF("scale_by_df_test", nil, arrow.PrimitiveTypes.Int64, true, func(args []arrow.Array, mem memory.Allocator) (arrow.Array, error) {
		return nil, nil
	})
	if err == nil || !strings.Contains(err.Error(), "exists") {
		t.Errorf("second registration: %v", err)
	}
	if err := dataframe.RegisterUDF("element_at", nil, arrow.BinaryTypes.String, true, func(args []arrow.Array, mem memory.Allocator) (arrow.Array, error) {
		return nil, nil
	}); err == nil {
		t.Error("registered a UDF under a built-in's name")
	}
	if err := dataframe.ReadStream(src).Select(expr.Call("scale_by_df_tset", dataframe.Col("id"))).Err(); err == nil ||
		!strings.Contains(err.Error(), fmt.Sprintf("did you mean %q", "scale_by_df_test")) {
		t.Errorf("misspelt UDF: %v", err)
	}
}
