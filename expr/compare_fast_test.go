package expr

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// TestFastCompareMatchesReference checks the string-against-constant fast
// path (plain, sliced, large and dictionary-encoded columns with nulls;
// every operator; the constant on either side) against a row-by-row
// reference.
func TestFastCompareMatchesReference(t *testing.T) {
	mem := checked(t)
	rng := rand.New(rand.NewPCG(3, 9))
	words := []string{"view", "click", "purchase", "", "vie", "views", "VIEW"}
	ops := []struct {
		name string
		op   binOp
		mk   func(a, b Expr) Expr
	}{
		{"=", opEq, func(a, b Expr) Expr { return a.Eq(b) }},
		{"!=", opNotEq, func(a, b Expr) Expr { return a.NotEq(b) }},
		{"<", opLt, func(a, b Expr) Expr { return a.Lt(b) }},
		{"<=", opLe, func(a, b Expr) Expr { return a.Le(b) }},
		{">", opGt, func(a, b Expr) Expr { return a.Gt(b) }},
		{">=", opGe, func(a, b Expr) Expr { return a.Ge(b) }},
	}
	for _, typ := range []arrow.DataType{arrow.BinaryTypes.String, arrow.BinaryTypes.LargeString, arrow.BinaryTypes.Binary,
		&arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int16, ValueType: arrow.BinaryTypes.String}} {
		for _, n := range []int{0, 1, 7, 8, 9, 100, 1001} {
			vals := make([]*string, n)
			for i := range vals {
				if rng.IntN(7) > 0 {
					w := words[rng.IntN(len(words))]
					vals[i] = &w
				}
			}
			b := array.NewBuilder(mem, typ)
			for _, v := range vals {
				switch {
				case v == nil:
					b.AppendNull()
				case typ.ID() == arrow.DICTIONARY:
					if err := b.(*array.BinaryDictionaryBuilder).AppendString(*v); err != nil {
						t.Fatal(err)
					}
				case typ.ID() == arrow.BINARY:
					b.(*array.BinaryBuilder).Append([]byte(*v))
				case typ.ID() == arrow.LARGE_STRING:
					b.(*array.LargeStringBuilder).Append(*v)
				default:
					b.(*array.StringBuilder).Append(*v)
				}
			}
			full := b.NewArray()
			b.Release()
			lo := 0
			if n > 3 {
				lo = 3 // a slice with an offset
			}
			arr := array.NewSlice(full, int64(lo), int64(n))
			full.Release()
			sc := arrow.NewSchema([]arrow.Field{{Name: "s", Type: typ, Nullable: true}}, nil)
			rec := array.NewRecordBatch(sc, []arrow.Array{arr}, int64(n-lo))
			arr.Release()
			for _, o := range ops {
				for _, k := range []string{"view", "", "zzz"} {
					var lit Expr = Lit(k)
					if typ.ID() == arrow.BINARY {
						lit = Lit([]byte(k))
					}
					for _, flipped := range []bool{false, true} {
						e := o.mk(Col("s"), lit)
						if flipped {
							e = o.mk(lit, Col("s"))
						}
						name := fmt.Sprintf("%s/n=%d/%s/%q/flipped=%v", typ, n, o.name, k, flipped)
						got := eval(t, mem, e, rec)
						for i, g := range got {
							v := vals[lo+i]
							var want any
							if v != nil {
								c := bytes.Compare([]byte(*v), []byte(k))
								if flipped {
									c = -c
								}
								want = compareHolds(o.op, c)
							}
							if g != want {
								t.Fatalf("%s: row %d (%v): got %v, want %v", name, i, deref(v), g, want)
							}
						}
						if len(got) != n-lo {
							t.Fatalf("%s: %d rows, want %d", name, len(got), n-lo)
						}
					}
				}
			}
			rec.Release()
		}
	}
}

func deref(s *string) any {
	if s == nil {
		return nil
	}
	return *s
}

// BenchmarkStringEqConst measures event_type = 'view' over 1M rows, the
// YSB filter, on the fast path.
func BenchmarkStringEqConst(b *testing.B) {
	mem := memory.NewGoAllocator()
	sb := array.NewStringBuilder(mem)
	words := []string{"view", "click", "purchase"}
	rng := rand.New(rand.NewPCG(1, 1))
	for i := 0; i < 1<<20; i++ {
		sb.Append(words[rng.IntN(3)]) // random, as YSB's are
	}
	arr := sb.NewArray()
	defer arr.Release()
	sc := arrow.NewSchema([]arrow.Field{{Name: "event_type", Type: arrow.BinaryTypes.String}}, nil)
	rec := array.NewRecordBatch(sc, []arrow.Array{arr}, int64(arr.Len()))
	defer rec.Release()
	bound, err := Col("event_type").Eq(Lit("view")).Bind(sc)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(arr.Len()))
	for b.Loop() {
		out, err := bound.Eval(context.Background(), rec, mem)
		if err != nil {
			b.Fatal(err)
		}
		out.Release()
	}
}
