package incremental_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/expr"
	"github.com/sluicehq/sluice/incremental"
	"github.com/sluicehq/sluice/plan"
)

var basketSchema = arrow.NewSchema([]arrow.Field{
	{Name: "id", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: "items", Type: arrow.ListOf(arrow.BinaryTypes.String), Nullable: true},
	{Name: "qty", Type: arrow.MapOf(arrow.BinaryTypes.String, arrow.PrimitiveTypes.Int32), Nullable: true},
}, nil)

const basketRows = `[
 {"id": 1, "items": ["apple", "pear"], "qty": [{"key": "apple", "value": 2}]},
 {"id": 2, "items": null, "qty": null},
 {"id": 3, "items": [], "qty": []},
 {"id": null, "items": [null, "fig"], "qty": [{"key": "fig", "value": null}, {"key": "kiwi", "value": 1}]}
]`

// jsonRecord builds a record of schema from JSON rows; the caller
// releases it.
func jsonRecord(t testing.TB, mem memory.Allocator, schema *arrow.Schema, rows string) arrow.RecordBatch {
	t.Helper()
	rec, _, err := array.RecordFromJSON(mem, schema, strings.NewReader(rows))
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

// recordsJSON renders records as JSON lines, one per row, and releases
// them.
func recordsJSON(t testing.TB, recs []arrow.RecordBatch) string {
	t.Helper()
	var buf bytes.Buffer
	for _, r := range recs {
		if err := array.RecordToJSON(r, &buf); err != nil {
			t.Fatal(err)
		}
		r.Release()
	}
	return strings.TrimSpace(buf.String())
}

func buildPipeline(t testing.TB, root plan.Node, mem memory.Allocator) *incremental.Pipeline {
	t.Helper()
	p, err := incremental.Build(root, mem)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestGenerateOperator(t *testing.T) {
	mem := checked(t)
	ctx := context.Background()
	scan := plan.NewScan(0, "baskets", basketSchema)
	rec := jsonRecord(t, mem, basketSchema, basketRows)
	defer rec.Release()
	sliced := rec.NewSlice(1, 4)
	defer sliced.Release()
	for _, c := range []struct {
		gen         expr.Expr
		keep        []int
		want        string
		wantSliced  string
		wantExplain string
	}{
		{
			gen: expr.Explode(expr.Col("items")).As("item"), keep: []int{0},
			want: `{"id":1,"item":"apple"}
{"id":1,"item":"pear"}
{"id":null,"item":null}
{"id":null,"item":"fig"}`,
			wantSliced: `{"id":null,"item":null}
{"id":null,"item":"fig"}`,
			wantExplain: "GenerateExec explode(items), [id, item]",
		},
		{
			gen: expr.PosExplodeOuter(expr.Col("items")).AsNames("n", "item"), keep: []int{0},
			want: `{"id":1,"item":"apple","n":0}
{"id":1,"item":"pear","n":1}
{"id":2,"item":null,"n":null}
{"id":3,"item":null,"n":null}
{"id":null,"item":null,"n":0}
{"id":null,"item":"fig","n":1}`,
			wantSliced: `{"id":2,"item":null,"n":null}
{"id":3,"item":null,"n":null}
{"id":null,"item":null,"n":0}
{"id":null,"item":"fig","n":1}`,
			wantExplain: "GenerateExec posexplode_outer(items) outer, [id, n, item]",
		},
		{
			gen: expr.ExplodeOuter(expr.Col("qty")), keep: []int{},
			want: `{"key":"apple","value":2}
{"key":null,"value":null}
{"key":null,"value":null}
{"key":"fig","value":null}
{"key":"kiwi","value":1}`,
			wantSliced: `{"key":null,"value":null}
{"key":null,"value":null}
{"key":"fig","value":null}
{"key":"kiwi","value":1}`,
			wantExplain: "GenerateExec explode_outer(qty) outer, [key, value]",
		},
	} {
		g, err := plan.NewGenerate(scan, c.gen, c.keep)
		if err != nil {
			t.Fatal(err)
		}
		p := buildPipeline(t, g, mem)
		for _, in := range []struct {
			rec  arrow.RecordBatch
			want string
		}{{rec, c.want}, {sliced, c.wantSliced}} {
			outs, err := p.Process(ctx, 0, in.rec)
			if err != nil {
				t.Fatalf("%s: %v", c.gen, err)
			}
			for _, o := range outs {
				if !o.Schema().Equal(g.Schema()) {
					t.Errorf("%s: output schema %s, want %s", c.gen, o.Schema(), g.Schema())
				}
			}
			if got := recordsJSON(t, outs); got != in.want {
				t.Errorf("%s over %d rows:\n%s\nwant:\n%s", c.gen, in.rec.NumRows(), got, in.want)
			}
		}
		if !strings.Contains(p.Explain(), c.wantExplain) {
			t.Errorf("Explain:\n%s\nwant %q", p.Explain(), c.wantExplain)
		}
	}
}

func TestGenerateSharesColumnsWhenOneRowPerRow(t *testing.T) {
	mem := checked(t)
	rec := jsonRecord(t, mem, basketSchema, `[{"id": 1, "items": ["a"], "qty": null}, {"id": 2, "items": ["b"], "qty": null}]`)
	defer rec.Release()
	g, err := plan.NewGenerate(plan.NewScan(0, "b", basketSchema), expr.Explode(expr.Col("items")), nil)
	if err != nil {
		t.Fatal(err)
	}
	outs, err := buildPipeline(t, g, mem).Process(context.Background(), 0, rec)
	if err != nil || len(outs) != 1 {
		t.Fatal(outs, err)
	}
	if outs[0].Column(0) != rec.Column(0) || outs[0].Column(2) != rec.Column(2) {
		t.Error("kept columns were copied although every row produced one row")
	}
	if got := recordsJSON(t, outs); got != `{"col":"a","id":1,"items":["a"],"qty":null}
{"col":"b","id":2,"items":["b"],"qty":null}` {
		t.Errorf("got %s", got)
	}
	// Nothing generated: no record.
	empty := jsonRecord(t, mem, basketSchema, `[{"id": 1, "items": [], "qty": null}]`)
	defer empty.Release()
	outs, err = buildPipeline(t, g, mem).Process(context.Background(), 0, empty)
	if err != nil || len(outs) != 0 {
		t.Errorf("empty: %v %v", outs, err)
	}
}

func TestMapBatchesOperator(t *testing.T) {
	mem := checked(t)
	ctx := context.Background()
	scan := plan.NewScan(0, "baskets", basketSchema)
	out := arrow.NewSchema([]arrow.Field{{Name: "n", Type: arrow.PrimitiveTypes.Int64}}, nil)
	// count: one row per batch with the batch's row count.
	count := func(ctx context.Context, rec arrow.RecordBatch, mem memory.Allocator) (arrow.RecordBatch, error) {
		b := array.NewInt64Builder(mem)
		defer b.Release()
		b.Append(rec.NumRows())
		arr := b.NewArray()
		defer arr.Release()
		return array.NewRecordBatch(arrow.NewSchema([]arrow.Field{{Name: "n", Type: arrow.PrimitiveTypes.Int64, Metadata: arrow.NewMetadata([]string{"k"}, []string{"v"})}}, nil), []arrow.Array{arr}, 1), nil
	}
	rec := jsonRecord(t, mem, basketSchema, basketRows)
	defer rec.Release()
	run := func(fn plan.MapFunc, schema *arrow.Schema) ([]arrow.RecordBatch, error) {
		t.Helper()
		m, err := plan.NewMapBatches(scan, schema, fn, "count")
		if err != nil {
			t.Fatal(err)
		}
		return buildPipeline(t, m, mem).Process(ctx, 0, rec)
	}
	outs, err := run(count, out)
	if err != nil {
		t.Fatal(err)
	}
	if len(outs) != 1 || !outs[0].Schema().Equal(out) {
		t.Fatalf("outs %v", outs)
	}
	if got := recordsJSON(t, outs); got != `{"n":4}` {
		t.Errorf("got %s", got)
	}
	// The input itself, retained, is a valid result.
	outs, err = run(func(ctx context.Context, rec arrow.RecordBatch, mem memory.Allocator) (arrow.RecordBatch, error) {
		rec.Retain()
		return rec, nil
	}, basketSchema)
	if err != nil || len(outs) != 1 || outs[0] != rec {
		t.Fatalf("identity: %v %v", outs, err)
	}
	outs[0].Release()
	// Nil and empty results drop the batch.
	outs, err = run(func(ctx context.Context, rec arrow.RecordBatch, mem memory.Allocator) (arrow.RecordBatch, error) {
		return rec.NewSlice(0, 0), nil
	}, basketSchema)
	if err != nil || len(outs) != 0 {
		t.Errorf("empty result: %v %v", outs, err)
	}
	boom := errors.New("boom")
	for _, c := range []struct {
		fn     plan.MapFunc
		schema *arrow.Schema
		want   string
	}{
		{func(ctx context.Context, rec arrow.RecordBatch, mem memory.Allocator) (arrow.RecordBatch, error) {
			return nil, boom
		}, out, "incremental: MapBatches count: boom"},
		{func(ctx context.Context, rec arrow.RecordBatch, mem memory.Allocator) (arrow.RecordBatch, error) {
			panic("bad index")
		}, out, "MapBatches count: the function panicked: bad index"},
		{count, arrow.NewSchema([]arrow.Field{{Name: "m", Type: arrow.PrimitiveTypes.Int64}}, nil),
			`does not match its declared schema: column 0 is "n" int64, the schema declares "m" int64`},
		{func(ctx context.Context, rec arrow.RecordBatch, mem memory.Allocator) (arrow.RecordBatch, error) {
			cols := []arrow.Array{rec.Column(0)}
			return array.NewRecordBatch(arrow.NewSchema([]arrow.Field{{Name: "n", Type: arrow.PrimitiveTypes.Int64, Nullable: true}}, nil), cols, rec.NumRows()), nil
		}, out, `returned 1 nulls in column "n", which its schema declares not nullable`},
	} {
		outs, err := run(c.fn, c.schema)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v, want %q", err, c.want)
		}
		if len(outs) != 0 {
			t.Errorf("outputs with an error: %v", outs)
		}
	}
	if _, err := run(func(ctx context.Context, rec arrow.RecordBatch, mem memory.Allocator) (arrow.RecordBatch, error) {
		return nil, boom
	}, out); !errors.Is(err, boom) {
		t.Errorf("the function's error is not wrapped: %v", err)
	}
}

var (
	narrowSchema = arrow.NewSchema([]arrow.Field{
		{Name: "k", Type: arrow.PrimitiveTypes.Int32},
		{Name: "v", Type: arrow.BinaryTypes.String, Nullable: true},
	}, nil)
	wideSchema = arrow.NewSchema([]arrow.Field{
		{Name: "key", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "value", Type: arrow.BinaryTypes.String},
	}, nil)
)

func TestUnionRoutesSources(t *testing.T) {
	mem := checked(t)
	ctx := context.Background()
	a := plan.NewScan(0, "a", narrowSchema)
	b := plan.NewScan(1, "b", wideSchema)
	fb, err := plan.NewFilter(b, expr.Col("key").Lt(expr.Lit(100)))
	if err != nil {
		t.Fatal(err)
	}
	u, err := plan.NewUnion(a, fb)
	if err != nil {
		t.Fatal(err)
	}
	proj, err := plan.NewProject(u, expr.Col("k").Mul(expr.Lit(2)).As("k2"), expr.Col("v"))
	if err != nil {
		t.Fatal(err)
	}
	p := buildPipeline(t, proj, mem)
	wantExplain := `== Physical Plan ==
ProjectExec [(k * 2) AS k2, v]
+- UnionExec [k, v]
   :- UnionInput 1 [cast(k as int64)]
   :  +- ScanExec a (source 0), [k, v]
   +- UnionInput 2
      +- FilterExec (key < 100)
         +- ScanExec b (source 1), [key, value]
`
	if got := p.Explain(); got != wantExplain {
		t.Errorf("Explain:\n%s\nwant:\n%s", got, wantExplain)
	}
	ra := jsonRecord(t, mem, narrowSchema, `[{"k": 1, "v": "x"}, {"k": 2147483647, "v": null}]`)
	defer ra.Release()
	rb := jsonRecord(t, mem, wideSchema, `[{"key": 10, "value": "y"}, {"key": 500, "value": "z"}, {"key": null, "value": "w"}]`)
	defer rb.Release()
	outs, err := p.Process(ctx, 0, ra)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range outs {
		if !o.Schema().Equal(p.OutputSchema()) {
			t.Errorf("schema %s, want %s", o.Schema(), p.OutputSchema())
		}
	}
	// int32 widened before the multiplication: no overflow.
	if got := recordsJSON(t, outs); got != `{"k2":2,"v":"x"}
{"k2":4294967294,"v":null}` {
		t.Errorf("source 0: %s", got)
	}
	outs, err = p.Process(ctx, 1, rb)
	if err != nil {
		t.Fatal(err)
	}
	if got := recordsJSON(t, outs); got != `{"k2":20,"v":"y"}` {
		t.Errorf("source 1: %s", got)
	}
	if _, err := p.Process(ctx, 2, ra); err == nil || !strings.Contains(err.Error(), "got a record from source 2, but the plan reads only sources 0, 1") {
		t.Errorf("unknown source: %v", err)
	}
	if _, err := p.Process(ctx, 1, ra); err == nil || !strings.Contains(err.Error(), "does not match the source's schema") {
		t.Errorf("wrong schema: %v", err)
	}
}

func TestSelfUnionAndNestedUnion(t *testing.T) {
	mem := checked(t)
	ctx := context.Background()
	a := plan.NewScan(0, "a", narrowSchema)
	b := plan.NewScan(1, "b", narrowSchema)
	pos, err := plan.NewFilter(a, expr.Col("k").Gt(expr.Lit(0)))
	if err != nil {
		t.Fatal(err)
	}
	inner, err := plan.NewUnion(a, b)
	if err != nil {
		t.Fatal(err)
	}
	// a feeds two branches: itself filtered, and the inner union.
	outer, err := plan.NewUnion(pos, inner)
	if err != nil {
		t.Fatal(err)
	}
	g, err := plan.NewGenerate(outer, expr.Explode(expr.Array(expr.Col("k"), expr.Col("k").Add(expr.Lit(1)))).As("x"), []int{0})
	if err != nil {
		t.Fatal(err)
	}
	p := buildPipeline(t, g, mem)
	ra := jsonRecord(t, mem, narrowSchema, `[{"k": 1, "v": "x"}, {"k": -1, "v": "y"}]`)
	defer ra.Release()
	outs, err := p.Process(ctx, 0, ra)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"k":1,"x":1}
{"k":1,"x":2}
{"k":1,"x":1}
{"k":1,"x":2}
{"k":-1,"x":-1}
{"k":-1,"x":0}`
	if got := recordsJSON(t, outs); got != want {
		t.Errorf("self union:\n%s\nwant:\n%s", got, want)
	}
	outs, err = p.Process(ctx, 1, ra)
	if err != nil {
		t.Fatal(err)
	}
	if got := recordsJSON(t, outs); got != `{"k":1,"x":1}
{"k":1,"x":2}
{"k":-1,"x":-1}
{"k":-1,"x":0}` {
		t.Errorf("source 1: %s", got)
	}
	if !strings.Contains(p.Explain(), "UnionExec [k, v]\n   :- FilterExec (k > 0)\n   :  +- ScanExec a (source 0), [k, v]\n   +- UnionExec [k, v]") {
		t.Errorf("Explain:\n%s", p.Explain())
	}
	// An error in one branch releases what the others produced.
	bad, err := plan.NewProject(a, expr.Col("k").Mul(expr.Lit(int32(2147483647))).As("k"), expr.Col("v"))
	if err != nil {
		t.Fatal(err)
	}
	u2, err := plan.NewUnion(a, a, bad)
	if err != nil {
		t.Fatal(err)
	}
	p2 := buildPipeline(t, u2, mem)
	two := jsonRecord(t, mem, narrowSchema, `[{"k": 2, "v": "x"}]`)
	defer two.Release()
	if outs, err := p2.Process(ctx, 0, two); err == nil || !errors.Is(err, expr.ErrOverflow) || outs != nil {
		t.Errorf("overflow in a branch: %v %v", outs, err)
	}
}

func TestBuildRefusesUnboundGenerate(t *testing.T) {
	scan := plan.NewScan(0, "b", basketSchema)
	if _, err := incremental.Build(&plan.Generate{Input: scan, Generator: expr.Explode(expr.Col("items"))}, nil); err == nil || !strings.Contains(err.Error(), "not built with plan.NewGenerate") {
		t.Errorf("unbound generate: %v", err)
	}
	u, err := plan.NewUnion(scan, foreign{scan})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := incremental.Build(u, nil); err == nil || !strings.Contains(err.Error(), "no physical operator for plan node") {
		t.Errorf("foreign node in a branch: %v", err)
	}
	if _, err := incremental.NewGenerate(nil, nil, nil, nil); err == nil {
		t.Error("nil generator accepted")
	}
	if _, err := incremental.NewMapBatches(nil, "f", basketSchema, nil); err == nil {
		t.Error("nil function accepted")
	}
}
