package expr

import (
	"errors"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sluicehq/sluice/decode"
)

func TestFromCSV(t *testing.T) {
	mem := checked(t)
	rec := pjKafkaRecord(t, mem, pjStr(`1,"a,b",2024-02-29`), nil, pjStr(`x,y,2024-01-01`), pjStr(``), pjStr(`3;c;2024-03-01`), pjStr(`4,d`))
	defer rec.Release()
	for _, tc := range []struct {
		name string
		e    Expr
		want []string
	}{
		{"by name", Call("from_csv", Col("value"), Lit("a INT, s STRING, d DATE")), []string{
			`{a:1 s:"a,b" d:2024-02-29}`, "null", `{a:null s:"y" d:2024-01-01}`, "null",
			"{a:null s:null d:null}", `{a:4 s:"d" d:null}`}},
		{"Go schema and options", FromCSV(Col("value"), MustParseSchema("a INT, s STRING, d DATE"), map[string]string{"sep": ";"}), []string{
			`{a:null s:null d:null}`, "null", `{a:null s:null d:null}`, "null",
			`{a:3 s:"c" d:2024-03-01}`, `{a:null s:null d:null}`}},
		{"corrupt record column", Call("from_csv", Col("value"), Lit("a INT, s STRING, _corrupt_record STRING")), []string{
			`{a:1 s:"a,b" _corrupt_record:"1,\"a,b\",2024-02-29"}`, "null", `{a:null s:"y" _corrupt_record:"x,y,2024-01-01"}`, "null",
			`{a:null s:null _corrupt_record:"3;c;2024-03-01"}`, `{a:4 s:"d" _corrupt_record:null}`}},
		{"options map", Call("from_csv", Col("value"), Lit("a STRING"), pjOptions("sep", ";", "quote", "")), []string{
			`{a:"1,\"a,b\",2024-02-29"}`, "null", `{a:"x,y,2024-01-01"}`, "null", `{a:"3"}`, `{a:"4,d"}`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := pjEval(t, mem, tc.e, rec)
			if err != nil {
				t.Fatalf("%s: %v", tc.e, err)
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("%s:\n%s\nwant:\n%s", tc.e, strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}

	_, err := pjEval(t, mem, FromCSV(Col("value"), MustParseSchema("a INT, s STRING, d DATE"), map[string]string{"mode": "FAILFAST"}), rec)
	var me *decode.MalformedError
	if !errors.As(err, &me) || !strings.Contains(err.Error(), `row 2 (topic events, partition 3, offset 102), byte 0: field a: "x" is not an integer`) {
		t.Errorf("FAILFAST error: %v", err)
	}
}

func TestFromCSVBindErrors(t *testing.T) {
	schema := arrow.NewSchema([]arrow.Field{{Name: "value", Type: arrow.BinaryTypes.String, Nullable: true}}, nil)
	for _, tc := range []struct {
		e    Expr
		want string
	}{
		{FromCSV(Col("value"), MustParseSchema("a INT"), map[string]string{"mode": "DROPMALFORMED"}), "DataFrame.FromCSV"},
		{Call("from_csv", Col("value"), Lit("ARRAY<INT>")), "from_csv(value, ARRAY<INT>): the schema"},
		{Call("from_csv", Col("value"), Lit("a ARRAY<INT>")), "CSV records hold only flat values"},
		{FromCSV(Col("value"), MustParseSchema("a INT"), map[string]string{"sep": ";;"}), `option sep=";;" must be a single ASCII character`},
		{FromCSV(Col("value"), MustParseSchema("a INT"), map[string]string{"multiLine": "true"}), `unknown option "multiLine"`},
		{FromCSV(Col("value"), nil, nil), "the schema is nil"},
	} {
		if _, err := tc.e.Bind(schema); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", tc.e, err, tc.want)
		}
	}
	if s := FromCSV(Col("value"), MustParseSchema("a INT, `b c` STRING"), map[string]string{"sep": ";"}).String(); s != `from_csv(value, "a int, `+"`b c`"+` string", map("sep", ";"))` {
		t.Errorf("String() = %s", s)
	}
}
