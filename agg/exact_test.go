package agg

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
)

var (
	numericTypes = []arrow.DataType{
		arrow.PrimitiveTypes.Int8, arrow.PrimitiveTypes.Int16, arrow.PrimitiveTypes.Int32, arrow.PrimitiveTypes.Int64,
		arrow.PrimitiveTypes.Uint8, arrow.PrimitiveTypes.Uint16, arrow.PrimitiveTypes.Uint32, arrow.PrimitiveTypes.Uint64,
		arrow.PrimitiveTypes.Float32, arrow.PrimitiveTypes.Float64,
	}
	orderedTypes = append(append([]arrow.DataType{}, numericTypes...),
		arrow.FixedWidthTypes.Boolean, arrow.BinaryTypes.String, arrow.BinaryTypes.LargeString,
		arrow.BinaryTypes.Binary, arrow.BinaryTypes.LargeBinary,
		arrow.FixedWidthTypes.Date32, arrow.FixedWidthTypes.Date64,
		arrow.FixedWidthTypes.Time32ms, arrow.FixedWidthTypes.Time64us,
		&arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, &arrow.TimestampType{Unit: arrow.Second},
		arrow.FixedWidthTypes.Duration_ns,
	)
)

// setKey is collect_set's notion of equality for Go values.
func setKey(v any) any {
	if f, ok := v.(float64); ok {
		switch {
		case math.IsNaN(f):
			return "NaN"
		case f == 0:
			return 0.0
		}
	}
	return v
}

func toFloat64(v any) float64 {
	switch x := v.(type) {
	case int64:
		return float64(x)
	case uint64:
		return float64(x)
	case float64:
		return x
	}
	panic(fmt.Sprintf("toFloat64 %T", v))
}

// reference computes an exact function over one group's rows the
// straightforward way.
func reference(name string, params []any, rows []any, star bool) any {
	var nonNull []any
	for _, v := range rows {
		if v != nil {
			nonNull = append(nonNull, v)
		}
	}
	ignoreNulls := len(params) == 1 && params[0].(bool)
	switch name {
	case "count":
		if star {
			return int64(len(rows))
		}
		return int64(len(nonNull))
	case "count_if":
		n := int64(0)
		for _, v := range nonNull {
			if v.(bool) {
				n++
			}
		}
		return n
	case "sum":
		if len(nonNull) == 0 {
			return nil
		}
		if _, ok := nonNull[0].(float64); ok {
			s := 0.0
			for _, v := range nonNull {
				s += v.(float64)
			}
			return s
		}
		s := int64(0)
		for _, v := range nonNull {
			switch x := v.(type) {
			case int64:
				s += x
			case uint64:
				s += int64(x)
			}
		}
		return s
	case "avg", "mean":
		if len(nonNull) == 0 {
			return nil
		}
		s := 0.0
		for _, v := range nonNull {
			s += toFloat64(v)
		}
		return s / float64(len(nonNull))
	case "min", "max":
		var best any
		for _, v := range nonNull {
			if best == nil || (name == "min" && sparkLess(v, best)) || (name == "max" && sparkLess(best, v)) {
				best = v
			}
		}
		return best
	case "first":
		for _, v := range rows {
			if v != nil || !ignoreNulls {
				return v
			}
		}
		return nil
	case "last":
		for i := len(rows) - 1; i >= 0; i-- {
			if rows[i] != nil || !ignoreNulls {
				return rows[i]
			}
		}
		return nil
	case "var_samp", "variance", "var_pop", "stddev", "stddev_samp", "stddev_pop":
		n := float64(len(nonNull))
		samp := name == "var_samp" || name == "variance" || name == "stddev" || name == "stddev_samp"
		if (samp && n < 2) || n == 0 {
			return nil
		}
		mean := 0.0
		for _, v := range nonNull {
			mean += toFloat64(v)
		}
		mean /= n
		m2 := 0.0
		for _, v := range nonNull {
			d := toFloat64(v) - mean
			m2 += d * d
		}
		r := m2 / n
		if samp {
			r = m2 / (n - 1)
		}
		if name[0] == 's' {
			r = math.Sqrt(r)
		}
		return r
	case "collect_list":
		out := []any{}
		return append(out, nonNull...)
	case "collect_set":
		out := []any{}
		seen := map[any]bool{}
		for _, v := range nonNull {
			if k := setKey(v); !seen[k] {
				seen[k] = true
				out = append(out, v)
			}
		}
		return out
	}
	panic("reference: " + name)
}

func TestExactFunctionsChunkedMatchOnceAndReference(t *testing.T) {
	boolType := []arrow.DataType{arrow.FixedWidthTypes.Boolean}
	cases := []struct {
		name     string
		params   []any
		types    []arrow.DataType
		specials bool
	}{
		{name: "count", types: orderedTypes, specials: true},
		{name: "count_if", types: boolType},
		{name: "sum", types: numericTypes},
		{name: "avg", types: numericTypes},
		{name: "mean", types: []arrow.DataType{arrow.PrimitiveTypes.Int32}},
		{name: "min", types: orderedTypes, specials: true},
		{name: "max", types: orderedTypes, specials: true},
		{name: "first", types: orderedTypes, specials: true},
		{name: "first", params: []any{true}, types: orderedTypes, specials: true},
		{name: "last", types: orderedTypes, specials: true},
		{name: "last", params: []any{true}, types: orderedTypes, specials: true},
		{name: "var_samp", types: numericTypes},
		{name: "variance", types: []arrow.DataType{arrow.PrimitiveTypes.Float64}},
		{name: "var_pop", types: numericTypes},
		{name: "stddev", types: []arrow.DataType{arrow.PrimitiveTypes.Int64}},
		{name: "stddev_samp", types: numericTypes},
		{name: "stddev_pop", types: numericTypes},
		{name: "collect_list", types: orderedTypes, specials: true},
		{name: "collect_set", types: orderedTypes, specials: true},
	}
	for ci, c := range cases {
		for ti, dt := range c.types {
			for trial := range 3 {
				seed := uint64(ci*10000 + ti*10 + trial)
				t.Run(fmt.Sprintf("%s%v/%s/seed=%d", c.name, c.params, dt, seed), func(t *testing.T) {
					mem := checkedMem(t)
					rng := rand.New(rand.NewPCG(seed, 7))
					n := rng.IntN(1500)
					ngroups := 1 + rng.IntN(40)
					card := []int{3, 50, 1000}[rng.IntN(3)]
					nullP := []float64{0, 0.2, 0.2, 1}[rng.IntN(4)]
					vals, gids := genInput(rng, dt, n, ngroups, card, nullP, c.specials)
					arr := buildArray(t, mem, dt, vals)
					defer arr.Release()
					f := mustBind(t, c.name, []arrow.DataType{dt}, c.params...)
					once := runOnce(t, mem, f, []arrow.Array{arr}, gids, ngroups)
					chunked := runChunked(t, mem, rng, f, []arrow.Array{arr}, gids, ngroups)
					groups := byGroup(vals, gids, ngroups)
					for g := range ngroups {
						want := reference(c.name, c.params, groups[g], false)
						if !equalGo(once[g], want, 1e-9) {
							t.Fatalf("group %d: once = %v, want %v (rows %v)", g, once[g], want, groups[g])
						}
						if !equalGo(chunked[g], want, 1e-9) {
							t.Fatalf("group %d: chunked = %v, want %v (rows %v)", g, chunked[g], want, groups[g])
						}
					}
				})
			}
		}
	}
}

func TestCountStarChunked(t *testing.T) {
	for seed := range uint64(10) {
		mem := checkedMem(t)
		rng := rand.New(rand.NewPCG(seed, 1))
		n, ngroups := rng.IntN(3000), 1+rng.IntN(30)
		vals, gids := genInput(rng, arrow.PrimitiveTypes.Int8, n, ngroups, 5, 0.5, false)
		f := mustBind(t, "COUNT", nil)
		if f.Name() != "count" || !arrow.TypeEqual(f.ResultType(), arrow.PrimitiveTypes.Int64) {
			t.Fatalf("count(*): name %q, type %s", f.Name(), f.ResultType())
		}
		once := runOnce(t, mem, f, nil, gids, ngroups)
		chunked := runChunked(t, mem, rng, f, nil, gids, ngroups)
		groups := byGroup(vals, gids, ngroups)
		for g := range ngroups {
			want := int64(len(groups[g]))
			if once[g] != want || chunked[g] != want {
				t.Fatalf("seed %d group %d: once %v chunked %v, want %d", seed, g, once[g], chunked[g], want)
			}
		}
	}
}
