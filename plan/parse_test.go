package plan_test

import (
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sluicehq/sluice/decode"
	"github.com/sluicehq/sluice/expr"
	"github.com/sluicehq/sluice/plan"
)

var kafkaLike = arrow.NewSchema([]arrow.Field{
	{Name: "key", Type: arrow.BinaryTypes.Binary, Nullable: true},
	{Name: "value", Type: arrow.BinaryTypes.Binary, Nullable: true},
	{Name: "offset", Type: arrow.PrimitiveTypes.Int64},
}, nil)

func TestParse(t *testing.T) {
	scan := plan.NewScan(0, "kafka", kafkaLike)
	fields := expr.MustParseSchema("user STRING NOT NULL, n BIGINT, _corrupt_record STRING")
	p, err := plan.NewParse(scan, "value", plan.JSON, fields, map[string]string{"mode": "DROPMALFORMED"})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range p.Schema().Fields() {
		names = append(names, f.Name+" "+f.Type.String())
		if (f.Name == "user" || f.Name == "n") && !f.Nullable {
			t.Errorf("parsed field %s is not nullable", f.Name)
		}
	}
	if got, want := strings.Join(names, ", "), "key binary, user utf8, n int64, _corrupt_record utf8, offset int64"; got != want {
		t.Errorf("schema %s, want %s", got, want)
	}
	if p.ColumnIndex() != 1 || p.Mode() != decode.DropMalformed || p.Decoder() == nil {
		t.Errorf("ColumnIndex %d, Mode %s", p.ColumnIndex(), p.Mode())
	}
	if got, want := p.String(), "Parse JSON value into [user, n, _corrupt_record], mode DROPMALFORMED"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	if err := plan.CheckStreaming(p, plan.Append); err != nil {
		t.Errorf("CheckStreaming: %v", err)
	}
	moved, err := plan.ReindexSources(p, func(i int) int { return i + 2 })
	if err != nil {
		t.Fatal(err)
	}
	if s := plan.Sources(moved); len(s) != 1 || s[0].Source != 2 || !moved.Schema().Equal(p.Schema()) {
		t.Errorf("ReindexSources gave %v", plan.Explain(moved))
	}
	if !strings.Contains(plan.Explain(p), "Parse JSON value into [user, n, _corrupt_record], mode DROPMALFORMED\n+- StreamingRelation kafka") {
		t.Errorf("Explain:\n%s", plan.Explain(p))
	}

	csv, err := plan.NewParse(scan, "key", plan.CSV, expr.MustParseSchema("a INT, b STRING"), map[string]string{"sep": ";"})
	if err != nil {
		t.Fatal(err)
	}
	if got := csv.Schema().Field(0).Name + csv.Schema().Field(1).Name + csv.Schema().Field(2).Name; got != "abvalue" {
		t.Errorf("CSV schema starts %s", got)
	}
}

func TestParseErrors(t *testing.T) {
	scan := plan.NewScan(0, "kafka", kafkaLike)
	ab := expr.MustParseSchema("a INT, b STRING")
	for _, tc := range []struct {
		name   string
		input  plan.Node
		col    string
		format plan.ParseFormat
		schema *arrow.Schema
		opts   map[string]string
		want   string
	}{
		{"nil input", nil, "value", plan.JSON, ab, nil, "plan: Parse: input is nil"},
		{"missing column", scan, "vlaue", plan.JSON, ab, nil, `no column "vlaue" to parse; the input has key, value, offset`},
		{"not text", scan, "offset", plan.JSON, ab, nil, `column "offset" is int64; records to parse must be a string or binary column`},
		{"format", scan, "value", "xml", ab, nil, `unknown format "xml"`},
		{"empty schema", scan, "value", plan.JSON, arrow.NewSchema(nil, nil), nil, "the schema has no fields"},
		{"name clash", scan, "value", plan.JSON, expr.MustParseSchema("offset BIGINT"), nil, `the parsed field "offset" has the name of another column`},
		{"bad option", scan, "value", plan.JSON, ab, map[string]string{"sep": ","}, `unknown option "sep"`},
		{"bad mode", scan, "value", plan.CSV, ab, map[string]string{"mode": "SKIP"}, `unknown parse mode "SKIP"`},
		{"nested CSV", scan, "value", plan.CSV, expr.MustParseSchema("l ARRAY<INT>"), nil, "CSV records hold only flat values"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := plan.NewParse(tc.input, tc.col, tc.format, tc.schema, tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "plan: ") {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
}
