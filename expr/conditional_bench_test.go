package expr

import (
	"context"
	"strconv"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

const benchCondRows = 1 << 20

// benchCondRecord has 1M rows: x int64 (i % 1000 - 500, every 10th null), s
// the decimal string of x, d x as a double.
func benchCondRecord(b *testing.B) arrow.RecordBatch {
	mem := memory.DefaultAllocator
	xb := array.NewInt64Builder(mem)
	sb := array.NewStringBuilder(mem)
	db := array.NewFloat64Builder(mem)
	defer xb.Release()
	defer sb.Release()
	defer db.Release()
	for i := 0; i < benchCondRows; i++ {
		v := int64(i%1000 - 500)
		if i%10 == 0 {
			xb.AppendNull()
			sb.AppendNull()
			db.AppendNull()
			continue
		}
		xb.Append(v)
		sb.Append(strconv.FormatInt(v, 10))
		db.Append(float64(v) / 7)
	}
	x, s, d := xb.NewArray(), sb.NewArray(), db.NewArray()
	defer x.Release()
	defer s.Release()
	defer d.Release()
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "x", Type: x.DataType(), Nullable: true},
		{Name: "s", Type: s.DataType(), Nullable: true},
		{Name: "d", Type: d.DataType(), Nullable: true},
	}, nil)
	return array.NewRecordBatch(schema, []arrow.Array{x, s, d}, benchCondRows)
}

func benchCond(b *testing.B, e Expr) {
	rec := benchCondRecord(b)
	defer rec.Release()
	bound, err := e.Bind(rec.Schema())
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		out, err := bound.Eval(context.Background(), rec, memory.DefaultAllocator)
		if err != nil {
			b.Fatal(err)
		}
		out.Release()
	}
	b.ReportMetric(float64(benchCondRows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

func BenchmarkCastStringToBigint(b *testing.B) {
	benchCond(b, Col("s").Cast(arrow.PrimitiveTypes.Int64))
}
func BenchmarkCastBigintToString(b *testing.B) { benchCond(b, Col("x").Cast(arrow.BinaryTypes.String)) }
func BenchmarkCastDoubleToString(b *testing.B) { benchCond(b, Col("d").Cast(arrow.BinaryTypes.String)) }
func BenchmarkCastDoubleToDecimal(b *testing.B) {
	benchCond(b, Col("d").Cast(&arrow.Decimal128Type{Precision: 10, Scale: 2}))
}
func BenchmarkCaseWhen(b *testing.B) {
	benchCond(b, When(Col("x").Gt(Lit(0)), Col("x")).When(Col("x").Lt(Lit(-100)), Lit(-100)).Otherwise(Lit(0)))
}
func BenchmarkCaseWhenShortCircuit(b *testing.B) {
	benchCond(b, When(Col("x").Eq(Lit(0)), Lit(0.0)).Otherwise(Lit(10).Div(Col("x"))))
}
func BenchmarkCoalesce(b *testing.B) { benchCond(b, Coalesce(Col("x"), Lit(0))) }
func BenchmarkIn(b *testing.B)       { benchCond(b, Col("x").In(Lit(1), Lit(5), Lit(17), Lit(400))) }
func BenchmarkLikePrefix(b *testing.B) {
	benchCond(b, Col("s").Like("-1%"))
}
func BenchmarkGreatest(b *testing.B) { benchCond(b, Greatest(Col("x"), Lit(0))) }
