package agg

import (
	"bytes"
	"encoding/hex"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// goldenCase is a fixed input whose group 0 state is pinned in
// testdata/states.golden.
type goldenCase struct {
	label  string
	name   string
	arg    arrow.DataType // nil for count(*)
	params []any
	vals   []any
}

func ints(vals ...int64) []any {
	out := make([]any, len(vals))
	for i, v := range vals {
		out[i] = v
	}
	return out
}

func seq(n int, f func(i int) any) []any {
	out := make([]any, n)
	for i := range out {
		out[i] = f(i)
	}
	return out
}

func goldenCases() []goldenCase {
	ts := &arrow.TimestampType{Unit: arrow.Millisecond, TimeZone: "UTC"}
	return []goldenCase{
		{"count_star", "count", nil, nil, ints(1, 2, 3, 4, 5)},
		{"count_empty", "count", nil, nil, nil},
		{"count_col", "count", str, nil, []any{"a", nil, "b", nil, ""}},
		{"count_if", "count_if", arrow.FixedWidthTypes.Boolean, nil, []any{true, false, nil, true}},
		{"sum_int64", "sum", i64, nil, ints(100, -3, 1<<40)},
		{"sum_int64_null", "sum", i64, nil, []any{nil}},
		{"sum_float32", "sum", arrow.PrimitiveTypes.Float32, nil, []any{1.5, 2.25, nil}},
		{"avg_int16", "avg", arrow.PrimitiveTypes.Int16, nil, ints(1, 2, 4)},
		{"avg_empty", "avg", f64, nil, nil},
		{"min_int8", "min", arrow.PrimitiveTypes.Int8, nil, ints(5, -100, 7)},
		{"max_uint16", "max", arrow.PrimitiveTypes.Uint16, nil, []any{uint64(300), uint64(65535), nil}},
		{"max_float64_nan", "max", f64, nil, []any{1.0, math.NaN(), math.Inf(1)}},
		{"min_float32", "min", arrow.PrimitiveTypes.Float32, nil, []any{0.5, -2.0}},
		{"min_bool", "min", arrow.FixedWidthTypes.Boolean, nil, []any{true, false}},
		{"max_string", "max", str, nil, []any{"apple", "pear", nil, "fig"}},
		{"min_timestamp", "min", ts, nil, ints(1700000000000, 1600000000000)},
		{"first_timestamp", "first", ts, nil, ints(1700000000000, 1600000000000)},
		{"first_null", "first", i64, nil, []any{nil, int64(3)}},
		{"first_ignore_nulls", "first", i64, []any{true}, []any{nil, int64(3)}},
		{"last_binary", "last", arrow.BinaryTypes.Binary, nil, []any{"x", "\x00\xff"}},
		{"last_empty", "last", arrow.BinaryTypes.Binary, []any{true}, []any{nil}},
		{"var_samp", "var_samp", f64, nil, []any{1.0, 2.0, 4.0}},
		{"stddev_pop_empty", "stddev_pop", arrow.PrimitiveTypes.Int32, nil, nil},
		{"approx_count_distinct_sparse", "approx_count_distinct", i64, nil, ints(1, 2, 3, 2, 1)},
		{"approx_count_distinct_string", "approx_count_distinct", str, nil, []any{"a", "b", nil}},
		{"approx_count_distinct_dense", "approx_count_distinct", i64, []any{0.3}, seq(200, func(i int) any { return int64(i * 7919) })},
		{"approx_count_distinct_empty", "approx_count_distinct", i64, nil, nil},
		{"approx_percentile_compacted", "approx_percentile", f64, []any{[]float64{0.1, 0.5, 0.9}, 4},
			seq(50, func(i int) any { return float64((i * 37) % 50) })},
		{"approx_percentile_timestamp", "approx_percentile", ts, []any{0.5}, ints(3, 1, 2)},
		{"approx_percentile_empty", "approx_percentile", i64, []any{0.5}, nil},
		{"collect_list_int8", "collect_list", arrow.PrimitiveTypes.Int8, nil, []any{int64(1), nil, int64(-1), int64(1)}},
		{"collect_set_string", "collect_set", str, nil, []any{"b", "a", "b", nil, "c"}},
		{"collect_set_float64", "collect_set", f64, nil, []any{0.0, math.Copysign(0, -1), math.NaN(), 2.5}},
		{"collect_list_empty", "collect_list", str, nil, nil},
	}
}

// TestGoldenStates pins every function's state encoding: the state of a
// fixed input must equal the committed hex, must merge into a fresh
// accumulator to the same bytes, and must finish to the committed value.
func TestGoldenStates(t *testing.T) {
	mem := checkedMem(t)
	var out strings.Builder
	out.WriteString("# case\tstate (hex)\tresult; see docs/format/aggregate-state.md. Regenerate with go test -run TestGoldenStates -update\n")
	for _, c := range goldenCases() {
		var args []arrow.DataType
		if c.arg != nil {
			args = []arrow.DataType{c.arg}
		}
		f := mustBind(t, c.name, args, c.params...)
		acc := f.NewAccumulator()
		acc.Grow(1)
		gids := make([]int32, len(c.vals))
		var in []arrow.Array
		if c.arg != nil {
			arr := buildArray(t, mem, c.arg, c.vals)
			defer arr.Release()
			in = []arrow.Array{arr}
		}
		if err := acc.Update(in, gids); err != nil {
			t.Fatal(err)
		}
		state := acc.AppendState(nil, 0)
		result := finishAll(t, mem, f, acc)[0]
		// The state read back finishes to the same value and re-encodes to
		// the same bytes.
		back := f.NewAccumulator()
		back.Grow(1)
		if rest, err := back.MergeState(0, state); err != nil || len(rest) != 0 {
			t.Fatalf("%s: reading the state back: rest %x, %v", c.label, rest, err)
		}
		if again := back.AppendState(nil, 0); !bytes.Equal(again, state) {
			t.Fatalf("%s: state %x re-encodes as %x", c.label, state, again)
		}
		if r := finishAll(t, mem, f, back)[0]; !equalGo(r, result, 0) {
			t.Fatalf("%s: the state read back finishes to %v, want %v", c.label, r, result)
		}
		fmt.Fprintf(&out, "%s\t%s\t%s\n", c.label, hex.EncodeToString(state), formatGo(result))
	}
	path := filepath.Join("testdata", "states.golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(out.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading %s: %v (run go test -run TestGoldenStates -update to create it)", path, err)
	}
	gotLines, wantLines := strings.Split(out.String(), "\n"), strings.Split(string(want), "\n")
	for i := range max(len(gotLines), len(wantLines)) {
		var g, w string
		if i < len(gotLines) {
			g = gotLines[i]
		}
		if i < len(wantLines) {
			w = wantLines[i]
		}
		if g != w {
			t.Errorf("%s line %d: the state format changed\n got: %s\nwant: %s", path, i+1, g, w)
		}
	}
}

// formatGo prints a Go value with strings quoted.
func formatGo(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		return fmt.Sprintf("%q", x)
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = formatGo(e)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	}
	return fmt.Sprint(v)
}
