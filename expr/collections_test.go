package expr

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// collSchema is the schema of the collection tests: arrays, a map and a
// struct, all nullable.
var collSchema = arrow.NewSchema([]arrow.Field{
	{Name: "id", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: "xs", Type: arrow.ListOf(arrow.PrimitiveTypes.Int64), Nullable: true},
	{Name: "ss", Type: arrow.ListOf(arrow.BinaryTypes.String), Nullable: true},
	{Name: "m", Type: arrow.MapOf(arrow.BinaryTypes.String, arrow.PrimitiveTypes.Int64), Nullable: true},
	{Name: "s", Type: arrow.StructOf(
		arrow.Field{Name: "a", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		arrow.Field{Name: "b", Type: arrow.BinaryTypes.String, Nullable: true},
	), Nullable: true},
	{Name: "i", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
	{Name: "fs", Type: arrow.ListOf(arrow.PrimitiveTypes.Float64), Nullable: true},
	{Name: "bs", Type: arrow.ListOf(arrow.FixedWidthTypes.Boolean), Nullable: true},
	{Name: "name", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "lx", Type: arrow.LargeListOf(arrow.PrimitiveTypes.Int32), Nullable: true},
}, nil)

// collRows are the rows of the collection tests, as JSON: null and empty
// arrays, null elements, a null map and struct, NaN-free floats (NaN has
// no JSON form; it is tested apart).
const collRows = `[
 {"id": 1, "xs": [10, 20, 30], "ss": ["a", "b"], "m": [{"key": "k1", "value": 1}, {"key": "k2", "value": 2}],
  "s": {"a": 1, "b": "x"}, "i": 1, "fs": [1.5, -0.0], "bs": [true], "name": "a", "lx": [7, 8]},
 {"id": 2, "xs": null, "ss": null, "m": null, "s": null, "i": 2, "fs": null, "bs": null, "name": null, "lx": null},
 {"id": 3, "xs": [], "ss": [], "m": [], "s": {"a": null, "b": "y"}, "i": -1, "fs": [], "bs": [], "name": "", "lx": []},
 {"id": null, "xs": [null, 5], "ss": [null, ""], "m": [{"key": "k2", "value": null}], "s": {"a": 4, "b": null},
  "i": null, "fs": [null, 2.0], "bs": [null, false], "name": "zz", "lx": [null]},
 {"id": 5, "xs": [1], "ss": ["x\u00e9"], "m": [{"key": "", "value": 9}], "s": {"a": 5, "b": "é"}, "i": -2,
  "fs": [0.0], "bs": [false, true], "name": "x\u00e9", "lx": [1, 2, 3]}
]`

func collRecord(t testing.TB, mem memory.Allocator) arrow.RecordBatch {
	t.Helper()
	rec, _, err := array.RecordFromJSON(mem, collSchema, strings.NewReader(collRows))
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

// evalJSON binds e to rec's schema, evaluates it and returns the result
// as JSON, checking the result's length, type and nullability.
func evalJSON(t testing.TB, mem memory.Allocator, e Expr, rec arrow.RecordBatch) string {
	t.Helper()
	out, err := evalCollErr(mem, e, rec)
	if err != nil {
		t.Fatalf("%s: %v", e, err)
	}
	return out
}

func evalCollErr(mem memory.Allocator, e Expr, rec arrow.RecordBatch) (string, error) {
	b, err := e.Bind(rec.Schema())
	if err != nil {
		return "", err
	}
	arr, err := b.Eval(context.Background(), rec, mem)
	if err != nil {
		return "", err
	}
	defer arr.Release()
	if arr.Len() != int(rec.NumRows()) {
		return "", errors.New("wrong length")
	}
	if !arrow.TypeEqual(arr.DataType(), b.Field().Type) {
		return "", errors.New("result type " + arr.DataType().String() + " differs from Field " + b.Field().Type.String())
	}
	if !b.Field().Nullable && arr.NullN() > 0 {
		return "", errors.New("nulls in a non-nullable result")
	}
	if err := validateArray(arr); err != nil {
		return "", err
	}
	js, err := json.Marshal(arr)
	return string(js), err
}

type collCase struct {
	e    Expr
	want string // JSON of the result over collRows
}

func runCollCases(t *testing.T, cases []collCase) {
	mem := checked(t)
	rec := collRecord(t, mem)
	defer rec.Release()
	// The same cases on rows 1..3 of a sliced record: offsets into
	// every buffer.
	sliced := rec.NewSlice(1, 4)
	defer sliced.Release()
	for _, c := range cases {
		if got := evalJSON(t, mem, c.e, rec); got != c.want {
			t.Errorf("%s = %s, want %s", c.e, got, c.want)
		}
		var all []json.RawMessage
		if err := json.Unmarshal([]byte(c.want), &all); err != nil {
			t.Fatalf("bad want %s: %v", c.want, err)
		}
		want, _ := json.Marshal(all[1:4])
		if got := evalJSON(t, mem, c.e, sliced); got != string(want) {
			t.Errorf("sliced %s = %s, want %s", c.e, got, want)
		}
	}
}

func TestGetFieldAndStruct(t *testing.T) {
	runCollCases(t, []collCase{
		{GetField(Col("s"), "a"), `[1,null,null,4,5]`},
		{Col("s").Field("b"), `["x",null,"y",null,"é"]`},
		// A field of a constructed struct, and of a folded constant one.
		{Struct(Col("id"), Col("s").Field("b").As("n")).Field("n"), `["x",null,"y",null,"é"]`},
		{Struct(Lit(7).As("x")).Field("x"), `[7,7,7,7,7]`},
		{Struct(Col("id"), Col("id").Add(Lit(1)), Col("s.b")),
			`[{"b":"x","col2":2,"id":1},{"b":null,"col2":3,"id":2},{"b":"y","col2":4,"id":3},{"b":null,"col2":null,"id":null},{"b":"é","col2":6,"id":5}]`},
		{Call("named_struct", Lit("k"), Lit("v"), Lit("n"), Col("i")),
			`[{"k":"v","n":1},{"k":"v","n":2},{"k":"v","n":-1},{"k":"v","n":null},{"k":"v","n":-2}]`},
		{Struct(), `[{},{},{},{},{}]`},
	})
	mem := checked(t)
	rec := collRecord(t, mem)
	defer rec.Release()
	b, err := Struct(Col("id"), Col("name").As("label")).Bind(collSchema)
	if err != nil {
		t.Fatal(err)
	}
	st := b.Field().Type.(*arrow.StructType)
	if st.Field(0).Name != "id" || st.Field(1).Name != "label" || b.Field().Nullable {
		t.Errorf("struct field %v", b.Field())
	}
	if got := Col("s").Field("a").Name(); got != "s.a" {
		t.Errorf("Name = %q", got)
	}
	if got := Struct(Col("id"), Col("name").As("n")).String(); got != "struct(id, name AS n)" {
		t.Errorf("String = %q", got)
	}
	for _, c := range []struct {
		e    Expr
		want []string
	}{
		{Col("s").Field("bb"), []string{"unknown column", `"bb"`, `did you mean "b"`, "its fields: a, b"}},
		{Col("id").Field("x"), []string{"type mismatch", "id is bigint, not a struct"}},
		{Struct(Col("id"), Col("name").As("id")), []string{"arguments 1 and 2", `field "id"`}},
		{Call("named_struct", Col("name"), Col("id")), []string{"argument 1 (name) must be a constant string"}},
		{Call("named_struct", Lit("a"), Col("id"), Lit("b")), []string{"pairs", "3 arguments"}},
		{Call("named_struct", Lit("a"), Col("id"), Lit("a"), Col("i")), []string{`"a" is given twice`}},
		{Col("xs").AsNames("a", "b"), []string{"only a generator"}},
	} {
		_, err := c.e.Bind(collSchema)
		if err == nil {
			t.Errorf("%s bound", c.e)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: %v; want %q", c.e, err, w)
			}
		}
	}
}

func TestArrayConstruction(t *testing.T) {
	runCollCases(t, []collCase{
		{Array(Col("id"), Lit(0), Col("i")), `[[1,0,1],[2,0,2],[3,0,-1],[null,0,null],[5,0,-2]]`},
		{Array(Col("i")), `[[1],[2],[-1],[null],[-2]]`},
		{Array(), `[[],[],[],[],[]]`},
		{Array(Col("name"), Lit("c")), `[["a","c"],[null,"c"],["","c"],["zz","c"],["xé","c"]]`},
		{Array(Lit(nil), Lit(nil)), `[[null,null],[null,null],[null,null],[null,null],[null,null]]`},
		{Call("element_at", Array(Col("s"), Col("s")), Lit(2)).Field("a"), `[1,null,null,4,5]`},
	})
	for _, c := range []struct {
		e    Expr
		elem arrow.DataType
		null bool
	}{
		{Array(Col("i"), Lit(5)), arrow.PrimitiveTypes.Int32, true},
		{Array(Col("i"), Col("id")), arrow.PrimitiveTypes.Int64, true},
		{Array(Lit(1), Lit(2.5)), arrow.PrimitiveTypes.Float64, false},
		{Array(Lit(1), Lit(nil)), arrow.PrimitiveTypes.Int64, true},
	} {
		b, err := c.e.Bind(collSchema)
		if err != nil {
			t.Fatalf("%s: %v", c.e, err)
		}
		lt := b.Field().Type.(*arrow.ListType)
		if !arrow.TypeEqual(lt.Elem(), c.elem) || lt.ElemField().Nullable != c.null || b.Field().Nullable {
			t.Errorf("%s: %v, want elements %s nullable=%v", c.e, b.Field(), c.elem, c.null)
		}
	}
	_, err := Array(Col("name"), Col("id")).Bind(collSchema)
	if err == nil || !strings.Contains(err.Error(), "the elements must have one type") || !strings.Contains(err.Error(), "array(name, id)") {
		t.Errorf("mixed array: %v", err)
	}
}

func TestSizeAndMapParts(t *testing.T) {
	runCollCases(t, []collCase{
		{Call("size", Col("xs")), `[3,null,0,2,1]`},
		{Call("size", Col("m")), `[2,null,0,1,1]`},
		{Call("size", Col("lx")), `[2,null,0,1,3]`},
		{Call("size", Lit(nil)), `[null,null,null,null,null]`},
		{Call("size", Array(Lit(1), Lit(2))), `[2,2,2,2,2]`},
		{Call("map_keys", Col("m")), `[["k1","k2"],null,[],["k2"],[""]]`},
		{Call("map_values", Col("m")), `[[1,2],null,[],[null],[9]]`},
		{Call("size", Call("map_keys", Col("m"))), `[2,null,0,1,1]`},
	})
	for _, c := range []struct{ e Expr }{
		{Call("size", Col("id"))},
		{Call("map_keys", Col("xs"))},
	} {
		if _, err := c.e.Bind(collSchema); err == nil || !strings.Contains(err.Error(), "is bigint") && !strings.Contains(err.Error(), "needs a map") {
			t.Errorf("%s: %v", c.e, err)
		}
	}
}

func TestElementAt(t *testing.T) {
	ea := func(args ...Expr) Expr { return Call("element_at", args...) }
	try := func(args ...Expr) Expr { return Call("try_element_at", args...) }
	runCollCases(t, []collCase{
		{try(Col("ss"), Lit(1)), `["a",null,null,null,"xé"]`},
		{ea(Array(Col("name"), Lit("q")), Lit(-2)), `["a",null,"","zz","xé"]`},
		{try(Col("xs"), Lit(1)), `[10,null,null,null,1]`},
		{try(Col("xs"), Lit(-1)), `[30,null,null,5,1]`},
		{try(Col("xs"), Lit(3)), `[30,null,null,null,null]`},
		{try(Col("xs"), Col("i")), `[10,null,null,null,null]`},
		{try(Col("lx"), Lit(-2)), `[7,null,null,null,2]`},
		{try(Col("xs"), Lit(nil)), `[null,null,null,null,null]`},
		{ea(Array(Lit(10), Lit(20), Lit(30)), Col("i")), `[10,20,30,null,20]`},
		{ea(Col("m"), Lit("k2")), `[2,null,null,null,null]`},
		{ea(Col("m"), Col("name")), `[null,null,null,null,null]`},
		{ea(Col("m"), Lit("")), `[null,null,null,null,9]`},
		{ea(Col("m"), Lit(nil)), `[null,null,null,null,null]`},
		{try(Col("m"), Lit("k1")), `[1,null,null,null,null]`},
	})
	mem := checked(t)
	rec := collRecord(t, mem)
	defer rec.Release()
	for _, c := range []struct {
		e    Expr
		want []string
	}{
		{ea(Col("xs"), Lit(3)), []string{"array index out of bounds in element_at(xs, 3) at row 2", "the index 3 is out of bounds: the array has 0 elements", "try_element_at"}},
		{ea(Col("xs"), Lit(-4)), []string{"at row 0", "the index -4 is out of bounds: the array has 3 elements"}},
		{ea(Col("xs"), Col("i")), []string{"at row 2", "the index -1 is out of bounds: the array has 0 elements"}},
		{try(Col("xs"), Lit(0)), []string{"in try_element_at(xs, 0) at row 0", "the index is 0", "start at 1"}},
	} {
		_, err := evalCollErr(mem, c.e, rec)
		if !errors.Is(err, ErrIndexOutOfBounds) {
			t.Errorf("%s: %v, want ErrIndexOutOfBounds", c.e, err)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: %v; want %q", c.e, err, w)
			}
		}
	}
	// A constant out-of-bounds access fails at Bind.
	if _, err := ea(Array(Lit(1)), Lit(2)).Bind(collSchema); !errors.Is(err, ErrIndexOutOfBounds) {
		t.Errorf("constant: %v", err)
	}
	for _, c := range []struct {
		e    Expr
		want string
	}{
		{ea(Col("xs"), Lit("1")), "the index of element_at must be an integer"},
		{ea(Col("m"), Lit(1)), "the key of element_at needs string"},
		{ea(Col("id"), Lit(1)), "needs an array or a map, but id is bigint"},
	} {
		if _, err := c.e.Bind(collSchema); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.e, err, c.want)
		}
	}
	// Map keys of other types: an int32-keyed map found with an int64
	// constant.
	mt := arrow.MapOf(arrow.PrimitiveTypes.Int32, arrow.BinaryTypes.String)
	sch := arrow.NewSchema([]arrow.Field{{Name: "m", Type: mt, Nullable: true}, {Name: "k", Type: arrow.PrimitiveTypes.Int32, Nullable: true}}, nil)
	r2, _, err := array.RecordFromJSON(mem, sch, strings.NewReader(`[{"m": [{"key": 1, "value": "a"}, {"key": -3, "value": "b"}], "k": -3}, {"m": [{"key": 2, "value": "c"}], "k": null}]`))
	if err != nil {
		t.Fatal(err)
	}
	defer r2.Release()
	for _, c := range []struct {
		e    Expr
		want string
	}{
		{ea(Col("m"), Lit(-3)), `["b",null]`},
		{ea(Col("m"), Col("k")), `["b",null]`},
		{ea(Col("m"), Lit(int8(2))), `[null,"c"]`},
	} {
		if got := evalJSON(t, mem, c.e, r2); got != c.want {
			t.Errorf("%s = %s, want %s", c.e, got, c.want)
		}
	}
}

func TestArrayContains(t *testing.T) {
	ac := func(a, v Expr) Expr { return Call("array_contains", a, v) }
	runCollCases(t, []collCase{
		{ac(Col("xs"), Lit(20)), `[true,null,false,null,false]`},
		{ac(Col("xs"), Lit(5)), `[false,null,false,true,false]`},
		{ac(Col("xs"), Col("id").Mul(Lit(10))), `[true,null,false,null,false]`},
		{ac(Col("ss"), Lit("")), `[false,null,false,true,false]`},
		{ac(Col("ss"), Col("name")), `[true,null,false,null,true]`},
		{ac(Col("fs"), Lit(0.0)), `[true,null,false,null,true]`},
		{ac(Col("bs"), Lit(false)), `[false,null,false,true,true]`},
		{ac(Col("lx"), Col("i")), `[false,null,false,null,false]`},
		{ac(Col("lx"), Lit(3)), `[false,null,false,null,true]`},
		{ac(Array(Lit(1), Lit(2)), Col("id")), `[true,true,false,null,false]`},
		{ac(Lit(nil), Lit(1)), `[null,null,null,null,null]`},
	})
	// NaN equals NaN, as in Spark.
	mem := checked(t)
	b := array.NewListBuilder(mem, arrow.PrimitiveTypes.Float64)
	defer b.Release()
	vb := b.ValueBuilder().(*array.Float64Builder)
	b.Append(true)
	vb.AppendValues([]float64{1, nanValue()}, nil)
	b.Append(true)
	vb.Append(2)
	arr := b.NewArray()
	defer arr.Release()
	rec := array.NewRecordBatch(arrow.NewSchema([]arrow.Field{{Name: "fs", Type: arr.DataType(), Nullable: true}}, nil), []arrow.Array{arr}, 2)
	defer rec.Release()
	if got := evalJSON(t, mem, ac(Col("fs"), Lit(nanValue())), rec); got != `[true,false]` {
		t.Errorf("NaN: %s", got)
	}
	for _, c := range []struct {
		e    Expr
		want string
	}{
		{ac(Col("xs"), Lit(nil)), "null of unknown type"},
		{ac(Col("xs"), Lit("a")), "needs bigint"},
		{ac(Col("id"), Lit(1)), "needs an array, but id is bigint"},
		{ac(Array(Col("s")), Col("s")), "cannot be compared for equality"},
	} {
		if _, err := c.e.Bind(collSchema); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.e, err, c.want)
		}
	}
}

func nanValue() float64 {
	zero := 0.0
	return zero / zero
}

func TestGeneratorAsExpressionFails(t *testing.T) {
	if !IsGenerator(Explode(Col("xs")).As("x")) || !IsGenerator(Call("POSEXPLODE", Col("xs")).AsNames("p", "x")) || IsGenerator(Col("xs")) {
		t.Error("IsGenerator")
	}
	_, err := Explode(Col("xs")).Bind(collSchema)
	if err == nil || !strings.Contains(err.Error(), "explode(xs) is a generator") || !strings.Contains(err.Error(), "BindGenerator") {
		t.Errorf("bare generator: %v", err)
	}
	_, err = Call("size", Explode(Col("xs"))).Bind(collSchema)
	if err == nil || !strings.Contains(err.Error(), "cannot be nested in size(explode(xs))") {
		t.Errorf("nested generator: %v", err)
	}
	if _, err := BindGenerator(Col("xs"), collSchema); err == nil || !strings.Contains(err.Error(), "xs is not a generator") {
		t.Errorf("not a generator: %v", err)
	}
	if _, err := BindGenerator(Explode(Col("id")), collSchema); err == nil || !strings.Contains(err.Error(), "explode needs an array or a map, but id is bigint") {
		t.Errorf("explode of bigint: %v", err)
	}
	if _, err := BindGenerator(PosExplode(Col("xs")).As("x"), collSchema); err == nil || !strings.Contains(err.Error(), "produces 2 columns (pos, col), but 1 names were given") {
		t.Errorf("alias count: %v", err)
	}
	if _, err := BindGenerator(Explode(Col("m")).AsNames("k", "k"), collSchema); err == nil || !strings.Contains(err.Error(), `two columns "k"`) {
		t.Errorf("duplicate names: %v", err)
	}
	if _, err := BindGenerator(Explode(Col("nope")), collSchema); !errors.Is(err, ErrUnknownColumn) {
		t.Errorf("unknown column: %v", err)
	}
}

func TestGenerators(t *testing.T) {
	cases := []struct {
		e       Expr
		names   string // field names
		parents string
		cols    []string
	}{
		{Explode(Col("xs")), "col", `[0,0,0,3,3,4]`, []string{`[10,20,30,null,5,1]`}},
		{ExplodeOuter(Col("xs")).As("x"), "x", `[0,0,0,1,2,3,3,4]`, []string{`[10,20,30,null,null,null,5,1]`}},
		{PosExplode(Col("xs")), "pos,col", `[0,0,0,3,3,4]`, []string{`[0,1,2,0,1,0]`, `[10,20,30,null,5,1]`}},
		{PosExplodeOuter(Col("ss")).AsNames("p", "v"), "p,v", `[0,0,1,2,3,3,4]`,
			[]string{`[0,1,null,null,0,1,0]`, `["a","b",null,null,null,"","xé"]`}},
		{Explode(Col("m")), "key,value", `[0,0,3,4]`, []string{`["k1","k2","k2",""]`, `[1,2,null,9]`}},
		{PosExplodeOuter(Col("m")), "pos,key,value", `[0,0,1,2,3,4]`,
			[]string{`[0,1,null,null,0,0]`, `["k1","k2",null,null,"k2",""]`, `[1,2,null,null,null,9]`}},
		{Explode(Col("lx")), "col", `[0,0,3,4,4,4]`, []string{`[7,8,null,1,2,3]`}},
		{Explode(Array(Lit(1), Lit(2))), "col", `[0,0,1,1,2,2,3,3,4,4]`, []string{`[1,2,1,2,1,2,1,2,1,2]`}},
		{ExplodeOuter(Call("map_values", Col("m"))), "col", `[0,0,1,2,3,4]`, []string{`[1,2,null,null,null,9]`}},
		{ExplodeOuter(Call("element_at", Array(Col("xs")), Lit(1))), "col", `[0,0,0,1,2,3,3,4]`, []string{`[10,20,30,null,null,null,5,1]`}},
	}
	mem := checked(t)
	rec := collRecord(t, mem)
	defer rec.Release()
	sliced := rec.NewSlice(1, 4)
	defer sliced.Release()
	ctx := context.Background()
	for _, c := range cases {
		g, err := BindGenerator(c.e, collSchema)
		if err != nil {
			t.Fatalf("%s: %v", c.e, err)
		}
		var names []string
		for _, f := range g.Fields() {
			names = append(names, f.Name)
		}
		if strings.Join(names, ",") != c.names {
			t.Errorf("%s: fields %v, want %s", c.e, names, c.names)
		}
		for _, in := range []arrow.RecordBatch{rec, sliced} {
			parents, cols, err := g.Generate(ctx, in, mem)
			if err != nil {
				t.Fatalf("%s: %v", c.e, err)
			}
			gotParents := jsonOf(t, parents)
			var got []string
			for i, col := range cols {
				if !arrow.TypeEqual(col.DataType(), g.Fields()[i].Type) || col.Len() != parents.Len() {
					t.Errorf("%s: column %d is %s of %d rows, want %s of %d", c.e, i, col.DataType(), col.Len(), g.Fields()[i].Type, parents.Len())
				}
				if !g.Fields()[i].Nullable && col.NullN() > 0 {
					t.Errorf("%s: column %d has nulls but is not nullable", c.e, i)
				}
				got = append(got, jsonOf(t, col))
				col.Release()
			}
			parents.Release()
			wantParents, wantCols := c.parents, c.cols
			if in == sliced {
				wantParents, wantCols = sliceGenerated(t, c.parents, c.cols, 1, 4)
			}
			if gotParents != wantParents || strings.Join(got, " ") != strings.Join(wantCols, " ") {
				t.Errorf("%s (rows %d): parents %s cols %v, want %s %v", c.e, in.NumRows(), gotParents, got, wantParents, wantCols)
			}
		}
	}
}

// sliceGenerated keeps the generated rows whose parent is in [from, to),
// renumbering parents from 0.
func sliceGenerated(t *testing.T, parents string, cols []string, from, to int) (string, []string) {
	var ps []int
	if err := json.Unmarshal([]byte(parents), &ps); err != nil {
		t.Fatal(err)
	}
	var keep []int
	var outP []int
	for i, p := range ps {
		if p >= from && p < to {
			keep = append(keep, i)
			outP = append(outP, p-from)
		}
	}
	pj, _ := json.Marshal(outP)
	if outP == nil {
		pj = []byte("[]")
	}
	out := make([]string, len(cols))
	for c, col := range cols {
		var vals []json.RawMessage
		if err := json.Unmarshal([]byte(col), &vals); err != nil {
			t.Fatal(err)
		}
		kept := []json.RawMessage{}
		for _, i := range keep {
			kept = append(kept, vals[i])
		}
		b, _ := json.Marshal(kept)
		out[c] = string(b)
	}
	return string(pj), out
}

func jsonOf(t testing.TB, a arrow.Array) string {
	t.Helper()
	if err := validateArray(a); err != nil {
		t.Fatalf("invalid array %s: %v", a.DataType(), err)
	}
	b, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestGeneratorOfNullConstant(t *testing.T) {
	mem := checked(t)
	rec := collRecord(t, mem)
	defer rec.Release()
	for _, c := range []struct {
		e    Expr
		rows int
	}{
		{Explode(Call("element_at", Array(Col("xs")), Lit(nil))), 0},
		{PosExplodeOuter(Call("element_at", Array(Col("xs")), Lit(nil))), 5},
	} {
		g, err := BindGenerator(c.e, collSchema)
		if err != nil {
			t.Fatal(err)
		}
		parents, cols, err := g.Generate(context.Background(), rec, mem)
		if err != nil {
			t.Fatal(err)
		}
		if parents.Len() != c.rows || cols[len(cols)-1].Len() != c.rows || cols[len(cols)-1].NullN() != c.rows {
			t.Errorf("%s: %d rows, %d nulls", c.e, parents.Len(), cols[len(cols)-1].NullN())
		}
		parents.Release()
		for _, col := range cols {
			col.Release()
		}
	}
}

// validateArray checks a's buffers and offsets (array.Validate-style) when
// its type supports it.
func validateArray(a arrow.Array) error {
	if v, ok := a.(interface{ ValidateFull() error }); ok {
		return v.ValidateFull()
	}
	return nil
}

func TestElementAtExtremeIndices(t *testing.T) {
	mem := checked(t)
	rec := collRecord(t, mem)
	defer rec.Release()
	for _, k := range []int64{math.MinInt64, math.MaxInt64, -4, 4} {
		e := Call("element_at", Col("xs"), Col("id").Mul(Lit(0)).Add(Lit(k)))
		if _, err := evalCollErr(mem, e, rec); !errors.Is(err, ErrIndexOutOfBounds) || !strings.Contains(err.Error(), "at row 0") {
			t.Errorf("index %d: %v", k, err)
		}
		try := Call("try_element_at", Col("xs"), Lit(k))
		if got := evalJSON(t, mem, try, rec); got != `[null,null,null,null,null]` {
			t.Errorf("%s = %s", try, got)
		}
	}
}

// TestCollectionsOfOtherTypes covers element types beyond the shared
// schema: invalid UTF-8 strings (compared as bytes), timestamps before
// 1970 and on a leap day, dates and decimals.
func TestCollectionsOfOtherTypes(t *testing.T) {
	mem := checked(t)
	leap := time.Date(2024, 2, 29, 23, 59, 59, 999999000, time.UTC)
	old := time.Date(1969, 12, 31, 23, 59, 59, 0, time.UTC)
	dec := &arrow.Decimal128Type{Precision: 10, Scale: 2}
	ts := &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "bytes", Type: arrow.ListOf(arrow.BinaryTypes.String), Nullable: true},
		{Name: "times", Type: arrow.ListOf(ts), Nullable: true},
		{Name: "days", Type: arrow.ListOf(arrow.FixedWidthTypes.Date32), Nullable: true},
		{Name: "amounts", Type: arrow.ListOf(dec), Nullable: true},
		{Name: "amount", Type: dec, Nullable: true},
	}, nil)
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	sb := b.Field(0).(*array.ListBuilder)
	sb.Append(true)
	sb.ValueBuilder().(*array.StringBuilder).AppendValues([]string{"ok", "\xff\xfe", ""}, nil)
	sb.Append(true)
	sb.ValueBuilder().(*array.StringBuilder).Append("\xff")
	tb := b.Field(1).(*array.ListBuilder)
	tb.Append(true)
	tb.ValueBuilder().(*array.TimestampBuilder).AppendValues([]arrow.Timestamp{arrow.Timestamp(old.UnixMicro()), arrow.Timestamp(leap.UnixMicro())}, nil)
	tb.AppendNull()
	db := b.Field(2).(*array.ListBuilder)
	db.Append(true)
	db.ValueBuilder().(*array.Date32Builder).AppendValues([]arrow.Date32{arrow.Date32FromTime(leap), -1}, nil)
	db.Append(true)
	ab := b.Field(3).(*array.ListBuilder)
	ab.Append(true)
	ab.ValueBuilder().(*array.Decimal128Builder).AppendValues([]decimal128.Num{decimal128.FromI64(150), decimal128.FromI64(-1)}, nil)
	ab.Append(true)
	ab.ValueBuilder().(*array.Decimal128Builder).AppendNull()
	b.Field(4).(*array.Decimal128Builder).AppendValues([]decimal128.Num{decimal128.FromI64(-1), decimal128.FromI64(150)}, nil)
	rec := b.NewRecordBatch()
	defer rec.Release()
	ac := func(a, v Expr) Expr { return Call("array_contains", a, v) }
	for _, c := range []collCase{
		{ac(Col("bytes"), Lit("\xff\xfe")), `[true,false]`},
		{ac(Col("bytes"), Lit("\xff")), `[false,true]`},
		{ac(Col("times"), Lit(leap)), `[true,null]`},
		{ac(Col("times"), Lit(old)), `[true,null]`},
		{ac(Col("times"), Lit(old.Add(time.Microsecond))), `[false,null]`},
		{ac(Col("amounts"), Col("amount")), `[true,null]`},
		{Call("size", Col("days")), `[2,0]`},
		{Call("try_element_at", Col("days"), Lit(-1)), `["1969-12-31",null]`},
		{Call("try_element_at", Col("days"), Lit(1)), `["2024-02-29",null]`},
		{Call("try_element_at", Col("times"), Lit(-1)).IsNull(), `[false,true]`},
	} {
		if got := evalJSON(t, mem, c.e, rec); got != c.want {
			t.Errorf("%s = %s, want %s", c.e, got, c.want)
		}
	}
}
