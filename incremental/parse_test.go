package incremental_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/sluicehq/sluice/decode"
	"github.com/sluicehq/sluice/expr"
	"github.com/sluicehq/sluice/incremental"
	"github.com/sluicehq/sluice/plan"
)

var eventsSchema = arrow.NewSchema([]arrow.Field{
	{Name: "topic", Type: arrow.BinaryTypes.String},
	{Name: "value", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "partition", Type: arrow.PrimitiveTypes.Int32},
	{Name: "offset", Type: arrow.PrimitiveTypes.Int64},
}, nil)

const eventRows = `[
	{"topic": "t", "value": "{\"user\": \"ann\", \"n\": 1}", "partition": 0, "offset": 10},
	{"topic": "t", "value": "{\"user\": \"bob\", \"n\": \"two\"}", "partition": 0, "offset": 11},
	{"topic": "t", "value": null, "partition": 1, "offset": 12},
	{"topic": "t", "value": "{\"user\": \"cy\"}", "partition": 1, "offset": 13},
	{"topic": "t", "value": "[]", "partition": 1, "offset": 14}
]`

func parsePlan(t *testing.T, mode string, ddl string) plan.Node {
	t.Helper()
	p, err := plan.NewParse(plan.NewScan(0, "events", eventsSchema), "value", plan.JSON, expr.MustParseSchema(ddl), map[string]string{"mode": mode})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestParseOperatorModes(t *testing.T) {
	mem := checked(t)
	rec := jsonRecord(t, mem, eventsSchema, eventRows)
	defer rec.Release()
	for _, tc := range []struct {
		mode, ddl, want    string
		malformed, dropped int64
	}{
		{"PERMISSIVE", "user STRING, n BIGINT", `{"n":1,"offset":10,"partition":0,"topic":"t","user":"ann"}
{"n":null,"offset":11,"partition":0,"topic":"t","user":null}
{"n":null,"offset":12,"partition":1,"topic":"t","user":null}
{"n":null,"offset":13,"partition":1,"topic":"t","user":"cy"}
{"n":null,"offset":14,"partition":1,"topic":"t","user":null}`, 2, 0},
		{"PERMISSIVE", "user STRING, _corrupt_record STRING", `{"_corrupt_record":null,"offset":10,"partition":0,"topic":"t","user":"ann"}
{"_corrupt_record":null,"offset":11,"partition":0,"topic":"t","user":"bob"}
{"_corrupt_record":null,"offset":12,"partition":1,"topic":"t","user":null}
{"_corrupt_record":null,"offset":13,"partition":1,"topic":"t","user":"cy"}
{"_corrupt_record":"[]","offset":14,"partition":1,"topic":"t","user":null}`, 1, 0},
		{"DROPMALFORMED", "user STRING, n BIGINT", `{"n":1,"offset":10,"partition":0,"topic":"t","user":"ann"}
{"n":null,"offset":12,"partition":1,"topic":"t","user":null}
{"n":null,"offset":13,"partition":1,"topic":"t","user":"cy"}`, 2, 2},
	} {
		t.Run(tc.mode+" "+tc.ddl, func(t *testing.T) {
			p := buildPipeline(t, parsePlan(t, tc.mode, tc.ddl), mem)
			out, err := p.Process(context.Background(), 0, rec)
			if err != nil {
				t.Fatal(err)
			}
			if len(out) != 1 || !out[0].Schema().Equal(p.OutputSchema()) || out[0].ColumnName(1) != "user" {
				t.Fatalf("output: %v, want one record of schema %s", out, p.OutputSchema())
			}
			if got := recordsJSON(t, out); got != tc.want {
				t.Errorf("rows:\n%s\nwant:\n%s", got, tc.want)
			}
			m := p.BatchMetrics()
			if m[incremental.MetricMalformedRows] != tc.malformed || m[incremental.MetricDroppedMalformedRows] != tc.dropped {
				t.Errorf("metrics %v, want %d malformed, %d dropped", m, tc.malformed, tc.dropped)
			}
			if m := p.BatchMetrics(); m[incremental.MetricMalformedRows] != 0 || m[incremental.MetricDroppedMalformedRows] != 0 || len(m) != 2 {
				t.Errorf("metrics not reset: %v", m)
			}
		})
	}
}

func TestParseOperatorDropsEverything(t *testing.T) {
	mem := checked(t)
	rec := jsonRecord(t, mem, eventsSchema, `[{"topic": "t", "value": "x", "partition": 0, "offset": 1}]`)
	defer rec.Release()
	p := buildPipeline(t, parsePlan(t, "DROPMALFORMED", "user STRING"), mem)
	out, err := p.Process(context.Background(), 0, rec)
	if err != nil || len(out) != 0 {
		t.Fatalf("Process = %d records, %v; want none", len(out), err)
	}
	if m := p.BatchMetrics(); m[incremental.MetricDroppedMalformedRows] != 1 {
		t.Errorf("metrics %v", m)
	}
}

func TestParseOperatorFailFast(t *testing.T) {
	mem := checked(t)
	rec := jsonRecord(t, mem, eventsSchema, eventRows)
	defer rec.Release()
	p := buildPipeline(t, parsePlan(t, "FAILFAST", "user STRING, n BIGINT"), mem)
	_, err := p.Process(context.Background(), 0, rec)
	if !errors.Is(err, decode.ErrMalformed) {
		t.Fatalf("error %v, want a malformed record", err)
	}
	for _, sub := range []string{"Parse JSON value into [user, n], mode FAILFAST", "row 1 (topic t, partition 0, offset 11), byte 21", `field n: expected an integer (bigint), found a string`} {
		if !strings.Contains(err.Error(), sub) {
			t.Errorf("error %q does not mention %q", err, sub)
		}
	}
	// A slice of the record: the row is the slice's, the offset the
	// record's own.
	sliced := rec.NewSlice(1, 5)
	defer sliced.Release()
	if _, err := p.Process(context.Background(), 0, sliced); err == nil || !strings.Contains(err.Error(), "row 0 (topic t, partition 0, offset 11)") {
		t.Errorf("error on a slice: %v", err)
	}
}

func TestParseOperatorCSVAndSlices(t *testing.T) {
	mem := checked(t)
	schema := arrow.NewSchema([]arrow.Field{{Name: "line", Type: arrow.BinaryTypes.Binary, Nullable: true}, {Name: "k", Type: arrow.PrimitiveTypes.Int64}}, nil)
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	for i, l := range []string{"1;a", "2;b", "x;c", "4;d"} {
		b.Field(0).(*array.BinaryBuilder).Append([]byte(l))
		b.Field(1).(*array.Int64Builder).Append(int64(i))
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	sliced := rec.NewSlice(1, 4)
	defer sliced.Release()
	node, err := plan.NewParse(plan.NewScan(0, "lines", schema), "line", plan.CSV, expr.MustParseSchema("n INT, s STRING"),
		map[string]string{"sep": ";", "mode": "DROPMALFORMED"})
	if err != nil {
		t.Fatal(err)
	}
	p := buildPipeline(t, node, mem)
	out, err := p.Process(context.Background(), 0, sliced)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := recordsJSON(t, out), `{"k":1,"n":2,"s":"b"}
{"k":3,"n":4,"s":"d"}`; got != want {
		t.Errorf("rows:\n%s\nwant:\n%s", got, want)
	}
	if !strings.Contains(p.Explain(), "Parse CSV line into [n, s], mode DROPMALFORMED\n+- ScanExec lines") {
		t.Errorf("Explain:\n%s", p.Explain())
	}
}

func TestParseMetricsThroughUnion(t *testing.T) {
	mem := checked(t)
	left := parsePlan(t, "DROPMALFORMED", "user STRING, n BIGINT")
	right, err := plan.ReindexSources(left, func(int) int { return 1 })
	if err != nil {
		t.Fatal(err)
	}
	u, err := plan.NewUnion(left, right)
	if err != nil {
		t.Fatal(err)
	}
	p := buildPipeline(t, u, mem)
	rec := jsonRecord(t, mem, eventsSchema, eventRows)
	defer rec.Release()
	for src := range 2 {
		out, err := p.Process(context.Background(), src, rec)
		if err != nil {
			t.Fatal(err)
		}
		recordsJSON(t, out)
	}
	if m := p.BatchMetrics(); m[incremental.MetricMalformedRows] != 4 || m[incremental.MetricDroppedMalformedRows] != 4 {
		t.Errorf("metrics %v, want 4 and 4", m)
	}
}

func TestParseOperatorErrors(t *testing.T) {
	d, err := decode.NewJSON(expr.MustParseSchema("a INT"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := incremental.NewParse(nil, 0, eventsSchema, "p", nil); err == nil || !strings.Contains(err.Error(), "decoder is nil") {
		t.Errorf("nil decoder: %v", err)
	}
	if _, err := incremental.NewParse(d, 0, nil, "p", nil); err == nil || !strings.Contains(err.Error(), "schema is nil") {
		t.Errorf("nil schema: %v", err)
	}
	if _, err := incremental.NewParse(d, 4, eventsSchema, "p", nil); err == nil || !strings.Contains(err.Error(), "do not fit") {
		t.Errorf("bad column: %v", err)
	}
	if _, err := incremental.Build(&plan.Parse{Input: plan.NewScan(0, "s", eventsSchema), Column: "value", Format: plan.JSON}, nil); err == nil ||
		!strings.Contains(err.Error(), "was not built with plan.NewParse") {
		t.Errorf("unbuilt node: %v", err)
	}
}
