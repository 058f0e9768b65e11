package expr

import (
	"math"
	"math/big"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
)

// The expected hashes below are Spark's own results: the documented
// examples of hash and xxhash64, and values other Spark-compatible engines
// test against, taken from spark-sql.

func i32s(vs ...int32) []any {
	out := make([]any, len(vs))
	for i, v := range vs {
		out[i] = v
	}
	return out
}

func i64s(vs ...int64) []any {
	out := make([]any, len(vs))
	for i, v := range vs {
		out[i] = v
	}
	return out
}

func TestHashScalars(t *testing.T) {
	nan32, nan64 := float32(math.NaN()), math.NaN()
	inf32, inf64 := float32(math.Inf(1)), math.Inf(1)
	cafeBeef, deadCafe := int64(-3819392237957169425), int64(-2401053089206449410) // 0xcafecafedeadbeef, 0xdeadbeefcafecafe
	cols := []column{
		sCol("s", "Spark", "", "abcdefghijklmnopqrstuvwxyz", "12345678", nil, nil),
		sCol("x", "12345678djdejidecjjeijcneknceincne", nil, nil, nil, nil, nil),
		iCol("l", cafeBeef, deadCafe, math.MaxInt64, math.MinInt64, 1, 0),
		{"i", arrow.PrimitiveTypes.Int32, []any{int32(-559038737), int32(-889271554), int32(1), int32(0), int32(-1), nil}},
		{"h", arrow.PrimitiveTypes.Int16, []any{int16(1), int16(0), int16(-1), nil, int16(1), int16(0)}},
		{"b", arrow.PrimitiveTypes.Int8, []any{int8(1), int8(0), int8(-1), nil, int8(1), int8(0)}},
		{"t", arrow.FixedWidthTypes.Boolean, []any{false, true, nil, false, true, false}},
		{"d", arrow.PrimitiveTypes.Float64, []any{math.Copysign(0, -1), 0.0, 1.0, nan64, inf64, -inf64}},
		{"f", arrow.PrimitiveTypes.Float32, []any{float32(math.Copysign(0, -1)), float32(0), float32(1), nan32, inf32, -inf32}},
		iCol("m", -1, nil, 1, 0, -1, 0),
	}
	sxRun(t, cols, []sxCase{
		{Call("hash", Col("s")), i32s(228093765, 142593372, -1990933474, 2036199019, 42, 42)},
		{Call("hash", Col("l")), i32s(-256235155, 673261790, -1604625029, -853646085, -1712319331, -1670924195)},
		{Call("hash", Col("m")), i32s(-939490007, 42, -1712319331, -1670924195, -939490007, -1670924195)},
		{Call("hash", Col("i")), i32s(141248195, 638354558, -559580957, 933211791, -1604776387, 42)},
		{Call("hash", Col("h")), i32s(-559580957, 933211791, -1604776387, 42, -559580957, 933211791)},
		{Call("hash", Col("b")), i32s(-559580957, 933211791, -1604776387, 42, -559580957, 933211791)},
		{Call("hash", Col("t")), i32s(933211791, -559580957, 42, 933211791, -559580957, 933211791)},
		{Call("hash", Col("d")), i32s(-1670924195, -1670924195, -460888942, -1281358385, 833680482, 461104036)},
		{Call("hash", Col("f")), i32s(933211791, 933211791, -466301895, -349261430, 2026854605, 427440766)},
		{Call("xxhash64", Col("s")), i64s(-4294468057691064905, -7444071767201028348, -3265757659154784300, 6863040065134489090, 42, 42)},
		{Call("xxhash64", Col("x")), i64s(-633855189410948723, 42, 42, 42, 42, 42)},
		{Call("xxhash64", Col("l")), i64s(-6259772178006417012, -1700188678616701932, -3246596055638297850, -8619748838626508300, -7001672635703045582, -5252525462095825812)},
		{Call("xxhash64", Col("m")), i64s(3858142552250413010, 42, -7001672635703045582, -5252525462095825812, 3858142552250413010, -5252525462095825812)},
		{Call("xxhash64", Col("i")), i64s(-8041005359684616715, 3599843564351570672, -6698625589789238999, 3614696996920510707, 2017008487422258757, 42)},
		{Call("xxhash64", Col("h")), i64s(-6698625589789238999, 3614696996920510707, 2017008487422258757, 42, -6698625589789238999, 3614696996920510707)},
		{Call("xxhash64", Col("b")), i64s(-6698625589789238999, 3614696996920510707, 2017008487422258757, 42, -6698625589789238999, 3614696996920510707)},
		{Call("xxhash64", Col("t")), i64s(3614696996920510707, -6698625589789238999, 42, 3614696996920510707, -6698625589789238999, 3614696996920510707)},
		{Call("xxhash64", Col("d")), i64s(-5252525462095825812, -5252525462095825812, -2162451265447482029, -3127944061524951246, 5810986238603807492, 5326262080505358431)},
		{Call("xxhash64", Col("f")), i64s(3614696996920510707, 3614696996920510707, 700633588856507837, 2692338816207849720, -5940311692336719973, -7580553461823983095)},
	})
}

func TestHashSeveralColumns(t *testing.T) {
	cols := []column{
		sCol("s", nil, "", nil, ""),
		{"i", arrow.PrimitiveTypes.Int32, []any{nil, nil, int32(0), int32(0)}},
	}
	sxRun(t, cols, []sxCase{
		{Call("hash", Col("s"), Col("i")), i32s(42, 142593372, 933211791, 1143746540)},
		{Call("xxhash64", Col("s"), Col("i")), i64s(42, -7444071767201028348, 3614696996920510707, 5333022629466737987)},
		// Constants are folded in like columns; a null constant is skipped.
		{Call("hash", Lit(nil), Col("s"), Lit(nil), Col("i")), i32s(42, 142593372, 933211791, 1143746540)},
		{Call("hash", Lit(""), Col("i")), i32s(142593372, 142593372, 1143746540, 1143746540)},
	})
	// Spark's documented examples: hash('Spark', array(123), 2) and
	// xxhash64 of the same.
	arr := []column{{"a", arrow.ListOf(arrow.PrimitiveTypes.Int32), []any{[]any{int32(123)}}}}
	sxRun(t, arr, []sxCase{
		{Call("hash", Lit("Spark"), Col("a"), Lit(int32(2))), i32s(-1321691492)},
		{Call("xxhash64", Lit("Spark"), Col("a"), Lit(int32(2))), i64s(5602566077635097486)},
	})
	sxConst(t, Call("hash", Lit(int32(1))), int32(-559580957))
	sxConst(t, Call("hash", Lit(nil)), int32(42))
	sxConst(t, Call("xxhash64", Lit("Spark")), int64(-4294468057691064905))
}

func TestHashTemporalAndDecimal(t *testing.T) {
	mem := checked(t)
	ts := array.NewTimestampBuilder(mem, &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"})
	ts.Append(12345678)
	tsArr := ts.NewArray()
	ts.Release()
	nanos := array.NewTimestampBuilder(mem, &arrow.TimestampType{Unit: arrow.Nanosecond})
	nanos.Append(12345678_999)
	nsArr := nanos.NewArray()
	nanos.Release()
	d38 := &arrow.Decimal128Type{Precision: 38, Scale: 2}
	db := array.NewDecimal128Builder(mem, d38)
	max38 := new(big.Int).Sub(new(big.Int).Exp(big.NewInt(10), big.NewInt(38), nil), big.NewInt(1))
	for _, v := range []*big.Int{big.NewInt(12345678), big.NewInt(0), max38, new(big.Int).Neg(max38), big.NewInt(-12345678)} {
		db.Append(decimal128.FromBigInt(v))
	}
	db.AppendNull()
	decArr := db.NewArray()
	db.Release()
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "ts", Type: tsArr.DataType(), Nullable: true},
		{Name: "ns", Type: nsArr.DataType(), Nullable: true},
	}, nil)
	rec := array.NewRecordBatch(schema, []arrow.Array{tsArr, nsArr}, 1)
	tsArr.Release()
	nsArr.Release()
	defer rec.Release()
	got, err := sxEval(t, mem, Call("hash", Col("ts")), rec)
	if err != nil || got[0] != int32(1402875301) {
		t.Errorf("hash(timestamp 12345678us) = %v, %v; want 1402875301", got, err)
	}
	// Nanoseconds are truncated to microseconds, as Spark keeps them.
	got, err = sxEval(t, mem, Call("hash", Col("ns")), rec)
	if err != nil || got[0] != int32(1402875301) {
		t.Errorf("hash(timestamp 12345678999ns) = %v, %v; want 1402875301", got, err)
	}
	dschema := arrow.NewSchema([]arrow.Field{{Name: "d", Type: d38, Nullable: true}}, nil)
	drec := array.NewRecordBatch(dschema, []arrow.Array{decArr}, int64(decArr.Len()))
	decArr.Release()
	defer drec.Release()
	got, err = sxEval(t, mem, Call("hash", Col("d")), drec)
	if err != nil {
		t.Fatal(err)
	}
	if want := i32s(-277285195, -783713497, -817514053, 1400911110, -1198355617, 42); !sameValues(got, want) {
		t.Errorf("hash(decimal(38,2)) = %v, want %v", got, want)
	}
}

func TestHashNested(t *testing.T) {
	mem := checked(t)
	// list<bigint>: [1,2,3,4,5], [], [1,2,3]; list<int>: [1,null], [null,2], [null].
	lb := array.NewListBuilder(mem, arrow.PrimitiveTypes.Int64)
	for _, row := range [][]int64{{1, 2, 3, 4, 5}, {}, {1, 2, 3}} {
		lb.Append(true)
		lb.ValueBuilder().(*array.Int64Builder).AppendValues(row, nil)
	}
	longs := lb.NewArray()
	lb.Release()
	ib := array.NewListBuilder(mem, arrow.PrimitiveTypes.Int32)
	for _, row := range [][]any{{int32(1), nil}, {nil, int32(2)}, {nil}} {
		ib.Append(true)
		for _, v := range row {
			if err := sxAppend(ib.ValueBuilder(), v); err != nil {
				t.Fatal(err)
			}
		}
	}
	ints := ib.NewArray()
	ib.Release()
	// map<bigint, double>: {1:17, 2:36, 3:8, 4:28, 5:24, 6:32}, then
	// empty and null maps.
	mb := array.NewMapBuilder(mem, arrow.PrimitiveTypes.Int64, arrow.PrimitiveTypes.Float64, false)
	mb.Append(true)
	for k, v := range []float64{17, 36, 8, 28, 24, 32} {
		mb.KeyBuilder().(*array.Int64Builder).Append(int64(k + 1))
		mb.ItemBuilder().(*array.Float64Builder).Append(v)
	}
	mb.Append(true)
	mb.AppendNull()
	maps := mb.NewArray()
	mb.Release()
	// struct<a bigint, b bigint>: (1,2), (3,4), ... as Spark computes rows.
	st := arrow.StructOf(arrow.Field{Name: "a", Type: arrow.PrimitiveTypes.Int64, Nullable: true}, arrow.Field{Name: "b", Type: arrow.PrimitiveTypes.Int64, Nullable: true})
	sb := array.NewStructBuilder(mem, st)
	for _, row := range [][2]any{{int64(1), int64(2)}, {int64(3), int64(4)}, {int64(1), nil}, {nil, int64(4)}} {
		sb.Append(true)
		for f, v := range row {
			if err := sxAppend(sb.FieldBuilder(f), v); err != nil {
				t.Fatal(err)
			}
		}
	}
	structs := sb.NewArray()
	sb.Release()

	check := func(name string, a arrow.Array, fn string, want []any) {
		t.Helper()
		schema := arrow.NewSchema([]arrow.Field{{Name: "x", Type: a.DataType(), Nullable: true}}, nil)
		rec := array.NewRecordBatch(schema, []arrow.Array{a}, int64(a.Len()))
		defer rec.Release()
		got, err := sxEval(t, mem, Call(fn, Col("x")), rec)
		if err != nil {
			t.Fatalf("%s(%s): %v", fn, name, err)
		}
		if !sameValues(got, want) {
			t.Errorf("%s(%s) = %v, want %v", fn, name, got, want)
		}
	}
	check("list<bigint>", longs, "hash", i32s(2101165938, 42, 1045631400))
	check("list<int>", ints, "hash", i32s(-559580957, 1765031574, 42))
	check("map", maps, "hash", i32s(1263683448, 42, 42))
	check("struct", structs, "hash", i32s(-1181176833, 1717636039, -1712319331, 1344313940))
	// A struct of two fields hashes like the two fields given to hash.
	for _, fn := range []string{"hash", "xxhash64"} {
		a0, b0 := structs.(*array.Struct).Field(0), structs.(*array.Struct).Field(1)
		schema := arrow.NewSchema([]arrow.Field{{Name: "s", Type: st, Nullable: true}, {Name: "a", Type: a0.DataType(), Nullable: true}, {Name: "b", Type: b0.DataType(), Nullable: true}}, nil)
		rec := array.NewRecordBatch(schema, []arrow.Array{structs, a0, b0}, int64(structs.Len()))
		whole, err := sxEval(t, mem, Call(fn, Col("s")), rec)
		if err != nil {
			t.Fatal(err)
		}
		parts, err := sxEval(t, mem, Call(fn, Col("a"), Col("b")), rec)
		if err != nil {
			t.Fatal(err)
		}
		if !sameValues(whole, parts) {
			t.Errorf("%s(struct) = %v, %s(a, b) = %v", fn, whole, fn, parts)
		}
		// Sliced nested input.
		sl := rec.NewSlice(1, 4)
		got, err := sxEval(t, mem, Call(fn, Col("s")), sl)
		if err != nil {
			t.Fatal(err)
		}
		if !sameValues(got, whole[1:]) {
			t.Errorf("sliced %s(struct) = %v, want %v", fn, got, whole[1:])
		}
		sl.Release()
		rec.Release()
	}
	for _, a := range []arrow.Array{longs, ints, maps, structs} {
		a.Release()
	}
}

func TestHashDictionary(t *testing.T) {
	mem := checked(t)
	dt := &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int8, ValueType: arrow.BinaryTypes.String}
	b := array.NewDictionaryBuilder(mem, dt).(*array.BinaryDictionaryBuilder)
	for _, s := range []string{"Spark", "", "Spark"} {
		if err := b.AppendString(s); err != nil {
			t.Fatal(err)
		}
	}
	b.AppendNull()
	col := b.NewArray()
	b.Release()
	defer col.Release()
	rec := array.NewRecordBatch(arrow.NewSchema([]arrow.Field{{Name: "d", Type: dt, Nullable: true}}, nil), []arrow.Array{col}, 4)
	defer rec.Release()
	got, err := sxEval(t, mem, Call("hash", Col("d")), rec)
	if err != nil {
		t.Fatal(err)
	}
	if want := i32s(228093765, 142593372, 228093765, 42); !sameValues(got, want) {
		t.Errorf("hash(dictionary) = %v, want %v", got, want)
	}
}

func TestHashTypeErrors(t *testing.T) {
	cols := []column{{"x", arrow.FixedWidthTypes.Time32s, []any{nil}}}
	for _, fn := range []string{"hash", "xxhash64"} {
		sxFails(t, cols, Call(fn, Col("x")), fn+"(x)", "argument 1", "cannot be hashed")
	}
	for _, fn := range []string{"md5", "sha1", "crc32"} {
		sxFails(t, []column{iCol("n", 1)}, Call(fn, Col("n")), fn+"(n)", "bigint", "string or binary")
	}
}

func TestDigests(t *testing.T) {
	const (
		md5Spark    = "8cde774d6f7333752ed72cacddb05126"
		md5Empty    = "d41d8cd98f00b204e9800998ecf8427e"
		sha1Spark   = "85f5955f4b27a9a4c2aab6ffe5d7189fc298b92c"
		sha224Spark = "dbeab94971678d36af2195851c0f7485775a2a7c60073d62fc04549c"
		sha256Spark = "529bc3b07127ecb7e53a4dcf1991d9152c24537d919178022b2c42657f79a26b"
		sha384Spark = "1e40b8d06c248a1cc32428c22582b6219d072283078fa140d9ad297ecadf2cabefc341b857ad36226aa8d6d79f2ab67d"
	)
	cols := []column{
		sCol("s", "Spark", "", nil, "Spark"),
		{"b", tBin, []any{[]byte("Spark"), []byte{}, nil, []byte("Spark")}},
		iCol("bits", 256, 1, 224, 384),
	}
	sxRun(t, cols, []sxCase{
		{Call("md5", Col("s")), strs(md5Spark, md5Empty, nil, md5Spark)},
		{Call("md5", Col("b")), strs(md5Spark, md5Empty, nil, md5Spark)},
		{Call("sha1", Col("s")), strs(sha1Spark, "da39a3ee5e6b4b0d3255bfef95601890afd80709", nil, sha1Spark)},
		{Call("sha", Col("b")), strs(sha1Spark, "da39a3ee5e6b4b0d3255bfef95601890afd80709", nil, sha1Spark)},
		{Call("sha2", Col("s"), Lit(256)), strs(sha256Spark, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", nil, sha256Spark)},
		{Call("sha2", Col("s"), Lit(0)), strs(sha256Spark, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", nil, sha256Spark)},
		{Call("sha2", Col("s"), Lit(224)), strs(sha224Spark, "d14a028c2a3a2bc9476102bb288234c415a2b01f828ea62ac5b3e42f", nil, sha224Spark)},
		{Call("sha2", Col("s"), Lit(1)), strs(nil, nil, nil, nil)},
		{Call("sha2", Col("s"), Col("bits")), strs(sha256Spark, nil, nil, sha384Spark)},
		{Call("crc32", Col("s")), strs(int64(1557323817), int64(0), nil, int64(1557323817))},
	})
	// crc32 of a null is null, not 0.
	sxRun(t, []column{sCol("s", nil, "Spark")}, []sxCase{{Call("crc32", Col("s")), strs(nil, int64(1557323817))}})
	sxConst(t, Call("md5", Lit("Spark")), md5Spark)
	sxConst(t, Call("sha2", Lit("Spark"), Lit(512)),
		"44844a586c54c9a212da1dbfe05c5f1705de1af5fda1f0d36297623249b279fd8f0ccec03f888f4fb13bf7cd83fdad58591c797f81121a23cfdd5e0897795238")
}

// A hash of many rows agrees with hashing each row alone.
func TestHashRowByRow(t *testing.T) {
	mem := checked(t)
	vals := make([]any, 300)
	longs := make([]any, 300)
	for i := range vals {
		if i%7 == 3 {
			continue
		}
		vals[i] = string(make([]byte, i%41)) + "x"
		longs[i] = int64(i * 7919)
	}
	rec := sxRecord(t, mem, sCol("s", vals...), iCol("l", longs...))
	defer rec.Release()
	for _, fn := range []string{"hash", "xxhash64"} {
		all, err := sxEval(t, mem, Call(fn, Col("s"), Col("l")), rec)
		if err != nil {
			t.Fatal(err)
		}
		for i := range vals {
			var s, l Expr = Lit(nil), Lit(nil)
			if vals[i] != nil {
				s, l = Lit(vals[i]), Lit(longs[i])
			}
			one, err := sxEval(t, mem, Call(fn, s, l), rec)
			if err != nil {
				t.Fatal(err)
			}
			if one[0] != all[i] {
				t.Fatalf("%s row %d: batch %v, alone %v", fn, i, all[i], one[0])
			}
		}
	}
}

func BenchmarkHash(b *testing.B)     { benchExpr(b, Call("hash", Col("s"), Col("n"))) }
func BenchmarkXxhash64(b *testing.B) { benchExpr(b, Call("xxhash64", Col("s"), Col("n"))) }
func BenchmarkMD5(b *testing.B)      { benchExpr(b, Call("md5", Col("s"))) }
func BenchmarkSHA256(b *testing.B)   { benchExpr(b, Call("sha2", Col("s"), Lit(256))) }
