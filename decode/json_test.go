package decode

import (
	"errors"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// jsonCase decodes records against a schema and expects rendered rows
// and the malformed rows (by input row, with a reason substring).
type jsonCase struct {
	name      string
	schema    *arrow.Schema
	in        []*string
	want      []string
	malformed map[int]string
}

func runJSONCases(t *testing.T, cases []jsonCase, opts ...Option) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			mem := checkedMem(t)
			d, err := NewJSON(tc.schema, opts...)
			if err != nil {
				t.Fatal(err)
			}
			in := records(mem, tc.in...)
			defer in.Release()
			got, bad := decodeRows(t, d, mem, in)
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("rows:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
			checkMalformed(t, bad, tc.malformed)
		})
	}
}

func checkMalformed(t *testing.T, got []RowError, want map[int]string) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("malformed rows %v, want rows %v", got, want)
		return
	}
	for _, e := range got {
		sub, ok := want[e.Row]
		if !ok {
			t.Errorf("row %d malformed (%s), want it well formed", e.Row, e)
			continue
		}
		if !strings.Contains(e.Reason, sub) {
			t.Errorf("row %d: reason %q does not mention %q", e.Row, e.Reason, sub)
		}
	}
}

func TestJSONScalars(t *testing.T) {
	runJSONCases(t, []jsonCase{
		{
			name:   "integers",
			schema: schemaOf("a", i8, "b", i16, "c", i32, "d", i64),
			in: strs(`{"a": 127, "b": -32768, "c": 2147483647, "d": -9223372036854775808}`,
				`{"a": 128}`, `{"b": 32768}`, `{"c": -2147483649}`, `{"d": 9223372036854775808}`,
				`{"d": 1.0}`, `{"d": 1e2}`, `{"d": -0}`, `{"d": 012}`, `{"d": -}`, `{"d": "5"}`),
			want: []string{"{a:127 b:-32768 c:2147483647 d:-9223372036854775808}",
				"{a:null b:null c:null d:null}", "{a:null b:null c:null d:null}", "{a:null b:null c:null d:null}",
				"{a:null b:null c:null d:null}", "{a:null b:null c:null d:null}", "{a:null b:null c:null d:null}",
				"{a:null b:null c:null d:0}", "{a:null b:null c:null d:null}", "{a:null b:null c:null d:null}",
				"{a:null b:null c:null d:null}"},
			malformed: map[int]string{1: "out of range for int8", 2: "out of range for int16", 3: "out of range for int32",
				4: "out of range for int64", 5: "not an integer", 6: "not an integer", 8: "expected ',' or '}', found a number",
				9: "a digit was expected", 10: "field d: expected an integer (bigint), found a string"},
		},
		{
			name:   "floats",
			schema: schemaOf("f", f32, "d", f64),
			in: strs(`{"f": 1.5, "d": -2.25e-3}`, `{"d": 1e400}`, `{"d": -1e400, "f": 1e39}`, `{"d": "NaN"}`,
				`{"d": "Infinity", "f": "-INF"}`, `{"d": NaN}`, `{"d": -Infinity}`, `{"d": "1.5"}`, `{"d": 5}`, `{"d": 1.}`, `{"d": .5}`),
			want: []string{"{f:1.5 d:-0.00225}", "{f:null d:+Inf}", "{f:+Inf d:-Inf}", "{f:null d:NaN}",
				"{f:-Inf d:+Inf}", "{f:null d:NaN}", "{f:null d:-Inf}", "{f:null d:null}", "{f:null d:5}",
				"{f:null d:null}", "{f:null d:null}"},
			malformed: map[int]string{7: `"1.5" is not a number`, 9: "digit was expected after the decimal point", 10: "expected a number (double), found character '.'"},
		},
		{
			name:   "decimals",
			schema: schemaOf("x", dec5_2),
			in: strs(`{"x": 1.235}`, `{"x": 1.234}`, `{"x": -1.235}`, `{"x": 999.994}`, `{"x": 999.995}`, `{"x": 12e1}`,
				`{"x": "1,2.5"}`, `{"x": 0.000001}`, `{"x": -0}`, `{"x": "abc"}`, `{"x": 1e-100000000000}`, `{"x": 1e100000000000}`),
			want: []string{"{x:1.24}", "{x:1.23}", "{x:-1.24}", "{x:999.99}", "{x:null}", "{x:120.00}",
				"{x:12.50}", "{x:0.00}", "{x:0.00}", "{x:null}", "{x:0.00}", "{x:null}"},
			malformed: map[int]string{4: "fits decimal(5,2)", 9: `"abc" is not a decimal`, 11: "fits decimal(5,2)"},
		},
		{
			name:   "booleans",
			schema: schemaOf("b", boolT),
			in:     strs(`{"b": true}`, `{"b": false}`, `{"b": "true"}`, `{"b": 1}`, `{"b": tru}`, `{"b": null}`),
			want:   []string{"{b:true}", "{b:false}", "{b:null}", "{b:null}", "{b:null}", "{b:null}"},
			malformed: map[int]string{2: "expected a boolean, found a string", 3: "expected a boolean, found a number",
				4: "invalid literal; expected true"},
		},
		{
			name:      "binary is base64",
			schema:    schemaOf("b", binT),
			in:        strs(`{"b": "aGVsbG8="}`, `{"b": ""}`, `{"b": "!!"}`, `{"b": 5}`),
			want:      []string{`{b:b"hello"}`, `{b:b""}`, "{b:null}", "{b:null}"},
			malformed: map[int]string{2: "not base64", 3: "expected a base64 string"},
		},
		{
			name:   "dates",
			schema: schemaOf("d", dateT),
			in: strs(`{"d": "2024-02-29"}`, `{"d": "2023-02-29"}`, `{"d": "1969-12-31"}`, `{"d": "2024-3-9"}`,
				`{"d": "2024-03-09T10:00:00"}`, `{"d": "2024-13-01"}`, `{"d": "24-01-01"}`, `{"d": 19000}`, `{"d": "2024"}`),
			want: []string{"{d:2024-02-29}", "{d:null}", "{d:1969-12-31}", "{d:2024-03-09}", "{d:2024-03-09}",
				"{d:null}", "{d:null}", "{d:null}", "{d:2024-01-01}"},
			malformed: map[int]string{1: `"2023-02-29" is not a date`, 5: "not a date", 6: "not a date", 7: "expected a date string, found a number"},
		},
	})
}

func TestJSONTimestamps(t *testing.T) {
	ms := &arrow.TimestampType{Unit: arrow.Millisecond, TimeZone: "UTC"}
	ns := &arrow.TimestampType{Unit: arrow.Nanosecond}
	runJSONCases(t, []jsonCase{
		{
			name:   "iso strings and epoch seconds",
			schema: schemaOf("t", tsUS),
			in: strs(`{"t": "2024-02-29T10:11:12Z"}`, `{"t": "2024-02-29T10:11:12.123456789+05:30"}`,
				`{"t": "2024-02-29 10:11:12.5"}`, `{"t": "2024-02-29T10:11"}`, `{"t": "2024-02-29"}`,
				`{"t": "2024-02-29T10:11:12-0800"}`, `{"t": "2024-02-29T10:11:12 UTC"}`, `{"t": 1700000000}`,
				`{"t": -1}`, `{"t": "1969-12-31T23:59:59.999999Z"}`, `{"t": "2023-02-29T00:00:00Z"}`,
				`{"t": "2024-02-29T24:00:00Z"}`, `{"t": 1.5}`, `{"t": 9223372036855}`, `{"t": "2024-02-29T10:11:12+25:00"}`,
				`{"t": "  2024-01-01T00:00:00Z "}`, `{"t": "2024-01-01T00:00:00GMT+01:00"}`, `{"t": true}`),
			want: []string{"{t:2024-02-29T10:11:12Z}", "{t:2024-02-29T04:41:12.123456Z}", "{t:2024-02-29T10:11:12.5Z}",
				"{t:2024-02-29T10:11:00Z}", "{t:2024-02-29T00:00:00Z}", "{t:2024-02-29T18:11:12Z}", "{t:2024-02-29T10:11:12Z}",
				"{t:2023-11-14T22:13:20Z}", "{t:1969-12-31T23:59:59Z}", "{t:1969-12-31T23:59:59.999999Z}", "{t:null}",
				"{t:null}", "{t:null}", "{t:null}", "{t:null}", "{t:2024-01-01T00:00:00Z}", "{t:2023-12-31T23:00:00Z}", "{t:null}"},
			malformed: map[int]string{10: "not a timestamp", 11: "not a timestamp", 12: "whole number of seconds",
				13: "whole number of seconds", 14: "not a timestamp", 17: "expected a timestamp string or epoch seconds, found a boolean"},
		},
		{
			name:      "other units",
			schema:    schemaOf("ms", ms, "ns", ns),
			in:        strs(`{"ms": "1969-12-31T23:59:59.9995Z", "ns": "2024-01-01T00:00:00.000001Z"}`, `{"ns": "2500-01-01T00:00:00Z"}`),
			want:      []string{"{ms:1969-12-31T23:59:59.999Z ns:2024-01-01T00:00:00.000001Z}", "{ms:null ns:null}"},
			malformed: map[int]string{1: "out of range for timestamp[ns]"},
		},
	})
}

func TestJSONStrings(t *testing.T) {
	runJSONCases(t, []jsonCase{
		{
			name:   "escapes and unicode",
			schema: schemaOf("s", utf8T),
			in: strs(`{"s": "a\"b\\c\/d\b\f\n\r\t"}`, `{"s": "caf\u00e9 \ud83d\ude00"}`, `{"s": "héllo 世界"}`,
				`{"s": "lone \ud800 x"}`, `{"s": "bad \x"}`, `{"s": "\u12"}`, `{"s": ""}`, `{"s": "tab	raw"}`,
				`{"s": "unterminated}`, `{"s": "`+strings.Repeat("long ", 20)+`\n"}`),
			want: []string{`{s:"a\"b\\c/d\b\f\n\r\t"}`, `{s:"café 😀"}`, `{s:"héllo 世界"}`, "{s:\"lone \uFFFD x\"}",
				"{s:null}", "{s:null}", `{s:""}`, "{s:null}", "{s:null}", `{s:"` + strings.Repeat("long ", 20) + `\n"}`},
			malformed: map[int]string{4: `invalid escape \x`, 5: "four hex digits", 7: "control character 0x09", 8: "unterminated string"},
		},
		{
			name:   "other JSON values as text",
			schema: schemaOf("s", utf8T),
			in:     strs(`{"s": 12.50}`, `{"s": true}`, `{"s": { "a" : [1, 2, "x y"] } }`, `{"s": [ ]}`, `{"s": null}`),
			want:   []string{`{s:"12.50"}`, `{s:"true"}`, `{s:"{\"a\":[1,2,\"x y\"]}"}`, `{s:"[]"}`, "{s:null}"},
		},
		{
			name:   "escaped keys",
			schema: schemaOf("a b", i64, "é", i64),
			in:     strs(`{"a\u0020b": 1, "\u00e9": 2}`, `{"é": 3}`),
			want:   []string{"{a b:1 é:2}", "{a b:null é:3}"},
		},
	})
}

func TestJSONInvalidUTF8(t *testing.T) {
	mem := checkedMem(t)
	d, err := NewJSON(schemaOf("s", utf8T, "_corrupt_record", utf8T))
	if err != nil {
		t.Fatal(err)
	}
	in := binRecords(mem, []byte("{\"s\": \"ok\xff\"}"), []byte("{\"x\": \"\xc3\x28\", \"s\": \"y\"}"), []byte(`{"s": "fine"}`))
	defer in.Release()
	got, bad := decodeRows(t, d, mem, in)
	want := []string{"{s:null _corrupt_record:\"{\\\"s\\\": \\\"ok\uFFFD\\\"}\"}", "{s:null _corrupt_record:\"{\\\"x\\\": \\\"\uFFFD(\\\", \\\"s\\\": \\\"y\\\"}\"}", `{s:"fine" _corrupt_record:null}`}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("rows:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	checkMalformed(t, bad, map[int]string{0: "invalid UTF-8", 1: "invalid UTF-8"})
	if bad[0].Pos != 9 {
		t.Errorf("position of the bad byte is %d, want 9", bad[0].Pos)
	}
}

func TestJSONNested(t *testing.T) {
	point := arrow.StructOf(arrow.Field{Name: "x", Type: i32, Nullable: true}, arrow.Field{Name: "y", Type: i32, Nullable: true})
	runJSONCases(t, []jsonCase{
		{
			name:   "structs lists and maps",
			schema: schemaOf("p", point, "l", arrow.ListOf(i64), "ps", arrow.ListOf(point), "m", arrow.MapOf(utf8T, arrow.ListOf(boolT))),
			in: strs(`{"p": {"x": 1, "y": 2}, "l": [1, null, 3], "ps": [{"x": 5}, null, {}], "m": {"a": [true], "b": null, "c": []}}`,
				`{"p": {}, "l": [], "ps": [], "m": {}}`,
				`{"p": null, "l": null, "ps": null, "m": null}`,
				`{"p": [1], "l": [1]}`,
				`{"l": [1, "2"]}`,
				`{"ps": [{"x": 1}, {"x": "bad"}]}`,
				`{"m": {"k": [true], "k": [false]}}`,
				`{"l": {"a": 1}}`,
				`{"l": [1, 2}`,
				`{"p": {"x": 1, "x": 7, "y": 8}}`),
			want: []string{"{p:{x:1 y:2} l:[1 null 3] ps:[{x:5 y:null} null {x:null y:null}] m:{\"a\":[true] \"b\":null \"c\":[]}}",
				"{p:{x:null y:null} l:[] ps:[] m:{}}",
				"{p:null l:null ps:null m:null}",
				"{p:null l:null ps:null m:null}",
				"{p:null l:null ps:null m:null}",
				"{p:null l:null ps:null m:null}",
				"{p:null l:null ps:null m:null}",
				"{p:null l:null ps:null m:null}",
				"{p:null l:null ps:null m:null}",
				"{p:{x:7 y:8} l:null ps:null m:null}"},
			malformed: map[int]string{3: "field p: expected an object, found an array", 4: "field l[]: expected an integer (bigint), found a string",
				5: "field ps[].x: expected an integer (int), found a string", 6: `duplicate map key "k"`,
				7: "field l: expected an array, found an object", 8: "expected ',' or ']', found character '}'"},
		},
	})
}

func TestJSONSyntax(t *testing.T) {
	s := schemaOf("a", i64)
	deep := strings.Repeat("[", 1001) + strings.Repeat("]", 1001)
	okDeep := strings.Repeat(`{"x":[`, 400) + strings.Repeat("]}", 400)
	runJSONCases(t, []jsonCase{{
		name:   "syntax",
		schema: s,
		in: append(strs(`{"a": 1} x`, `{"a" 1}`, `{"a": 1,}`, `{a: 1}`, `{"a": 1`, `[{"a": 1}]`, `"a"`, `5`,
			` {"a": 2} `, "\t\n{\n\"a\"\n:\n3\n}\n", `{}`, ``, "  \n ", `{"b": [1, {"c": "d"}, null, true, false, -1.5e3], "a": 4}`,
			`{"b": [1, {"c" "d"}], "a": 4}`, `{"b": [1,,2]}`, `{"b": {"c": 1,}}`, `{"b": nul}`, `{"b": NaN, "a": 5}`,
			`{"b": "\q"}`, `{"b": +1}`, `{"a": 1}{"a": 2}`, `{"b": `+deep+`}`, `{"b": `+okDeep+`, "a": 6}`, `{"a": 1, "a": 9}`, `{"b": "x`),
			nil),
		want: []string{"{a:null}", "{a:null}", "{a:null}", "{a:null}", "{a:null}", "{a:null}", "{a:null}", "{a:null}",
			"{a:2}", "{a:3}", "{a:null}", "null", "null", "{a:4}",
			"{a:null}", "{a:null}", "{a:null}", "{a:null}", "{a:5}",
			"{a:null}", "{a:null}", "{a:null}", "{a:null}", "{a:6}", "{a:9}", "{a:null}", "null"},
		malformed: map[int]string{0: "unexpected character 'x' after the JSON value", 1: "expected ':'", 2: "expected a field name",
			3: "expected a field name in double quotes, found character 'a'", 4: "unexpected end of the record", 5: "expected an object, found an array",
			6: "expected an object, found a string", 7: "expected an object, found a number", 14: "expected ':'", 15: "a value was expected",
			16: "expected a field name", 17: "invalid literal; expected null", 19: `invalid escape \q`, 20: "unexpected character '+'",
			21: "after the JSON value", 22: "deeper than 1000", 25: "unterminated string"},
	}})
}

func TestJSONModes(t *testing.T) {
	in := strs(`{"a": 1, "b": "x"}`, `{"a": "oops", "b": "y"}`, `{"a": 3}`, `not json`)
	t.Run("permissive keeps the raw record", func(t *testing.T) {
		runJSONCases(t, []jsonCase{{
			name:      "corrupt column",
			schema:    schemaOf("a", i64, "_corrupt_record", utf8T, "b", utf8T),
			in:        append(in, strs(`{"_corrupt_record": "ignored", "a": 4}`)...),
			want:      []string{`{a:1 _corrupt_record:null b:"x"}`, `{a:null _corrupt_record:"{\"a\": \"oops\", \"b\": \"y\"}" b:null}`, "{a:3 _corrupt_record:null b:null}", `{a:null _corrupt_record:"not json" b:null}`, "{a:4 _corrupt_record:null b:null}"},
			malformed: map[int]string{1: "field a", 3: "invalid literal; expected null"},
		}})
		runJSONCases(t, []jsonCase{{
			name:      "renamed corrupt column",
			schema:    schemaOf("a", i64, "bad", utf8T),
			in:        in[:2],
			want:      []string{`{a:1 bad:null}`, `{a:null bad:"{\"a\": \"oops\", \"b\": \"y\"}"}`},
			malformed: map[int]string{1: "field a"},
		}}, WithCorruptRecordColumn("bad"))
	})
	t.Run("drop malformed", func(t *testing.T) {
		runJSONCases(t, []jsonCase{{
			name:      "dropped",
			schema:    schemaOf("a", i64, "b", utf8T),
			in:        in,
			want:      []string{`{a:1 b:"x"}`, "{a:3 b:null}"},
			malformed: map[int]string{1: "field a", 3: "invalid literal"},
		}}, WithMode(DropMalformed))
	})
	t.Run("fail fast", func(t *testing.T) {
		mem := checkedMem(t)
		d, err := NewJSON(schemaOf("a", i64, "b", utf8T), WithMode(FailFast))
		if err != nil {
			t.Fatal(err)
		}
		arr := records(mem, in...)
		defer arr.Release()
		_, err = d.Decode(arr, mem)
		var me *MalformedError
		if !errors.As(err, &me) || !errors.Is(err, ErrMalformed) {
			t.Fatalf("error %v, want a *MalformedError", err)
		}
		if me.Row != 1 || me.Pos != 6 {
			t.Errorf("error at row %d byte %d, want row 1 byte 6", me.Row, me.Pos)
		}
		for _, sub := range []string{"row 1", "byte 6", "field a: expected an integer (bigint), found a string", `"{\"a\": \"oops\"`, "FAILFAST"} {
			if !strings.Contains(err.Error(), sub) {
				t.Errorf("error %q does not mention %q", err, sub)
			}
		}
		src := me.WithSource("topic t, partition 2, offset 9")
		if !strings.Contains(src.Error(), "row 1 (topic t, partition 2, offset 9), byte 6") {
			t.Errorf("error with source: %v", src)
		}
	})
}

func TestJSONSlicedAndNullInput(t *testing.T) {
	mem := checkedMem(t)
	d, err := NewJSON(schemaOf("a", i64, "s", utf8T))
	if err != nil {
		t.Fatal(err)
	}
	full := records(mem, str(`{"a": 0}`), nil, str(`{"a": 2, "s": "two"}`), str(`{"a": "x"}`), str(`{"a": 4}`), nil)
	defer full.Release()
	sliced := array.NewSlice(full, 1, 5)
	defer sliced.Release()
	got, bad := decodeRows(t, d, mem, sliced)
	want := []string{"null", `{a:2 s:"two"}`, "{a:null s:null}", "{a:4 s:null}"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("rows:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	checkMalformed(t, bad, map[int]string{2: "field a"})

	// The columns of a null record are null too.
	res, err := d.Decode(sliced, mem)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Release()
	if !res.Columns[0].IsNull(0) || !res.Columns[1].IsNull(0) {
		t.Errorf("columns of a null record are not null")
	}
	if e, ok := res.IsMalformed(2); !ok || e.Row != 2 {
		t.Errorf("IsMalformed(2) = %v, %v", e, ok)
	}
	if _, ok := res.IsMalformed(1); ok {
		t.Errorf("IsMalformed(1) is true")
	}

	empty := array.NewSlice(full, 2, 2)
	defer empty.Release()
	got, _ = decodeRows(t, d, mem, empty)
	if len(got) != 0 {
		t.Errorf("empty input gave %v", got)
	}
}

func TestJSONType(t *testing.T) {
	mem := checkedMem(t)
	for _, tc := range []struct {
		typ  arrow.DataType
		in   []*string
		want []string
		bad  map[int]string
	}{
		{arrow.ListOf(i32), strs(`[1, 2]`, `[]`, `{"a": 1}`, `null`), []string{"[1 2]", "[]", "null", "null"}, map[int]string{2: "expected an array, found an object"}},
		{arrow.MapOf(utf8T, f64), strs(`{"a": 1.5, "b": null}`, `[1]`), []string{`{"a":1.5 "b":null}`, "null"}, map[int]string{1: "expected an object"}},
		{i64, strs(`42`, ` -7 `, `"x"`), []string{"42", "-7", "null"}, map[int]string{2: "expected an integer (bigint), found a string"}},
		{arrow.StructOf(arrow.Field{Name: "a", Type: i64}), strs(`{"a": 1}`), []string{"{a:1}"}, nil},
	} {
		t.Run(tc.typ.String(), func(t *testing.T) {
			d, err := NewJSONType(tc.typ)
			if err != nil {
				t.Fatal(err)
			}
			in := records(mem, tc.in...)
			defer in.Release()
			got, bad := decodeRows(t, d, mem, in)
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("rows:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
			checkMalformed(t, bad, tc.bad)
		})
	}
}

func TestJSONConstructorErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		make func() error
		want string
	}{
		{"nil schema", func() error { _, err := NewJSON(nil); return err }, "schema is nil"},
		{"unsigned", func() error { _, err := NewJSON(schemaOf("u", arrow.PrimitiveTypes.Uint32)); return err }, "field u has type uint32"},
		{"nested unsigned", func() error {
			_, err := NewJSON(schemaOf("s", arrow.ListOf(arrow.PrimitiveTypes.Uint8)))
			return err
		}, "field s.element has type uint8"},
		{"int map keys", func() error { _, err := NewJSON(schemaOf("m", arrow.MapOf(i32, i32))); return err }, "string keys"},
		{"corrupt column type", func() error { _, err := NewJSON(schemaOf("_corrupt_record", i64)); return err }, "must be a nullable string"},
		{"CSV option", func() error { _, err := NewJSON(schemaOf("a", i64), WithDelimiter(';')); return err }, "WithDelimiter applies to CSV only"},
		{"bad mode", func() error { _, err := NewJSON(schemaOf("a", i64), WithMode(Mode(9))); return err }, "unknown mode 9"},
		{"empty corrupt name", func() error { _, err := NewJSON(schemaOf("a", i64), WithCorruptRecordColumn("")); return err }, "needs a name"},
		{"nil type", func() error { _, err := NewJSONType(nil); return err }, "type is nil"},
		{"input type", func() error {
			d, _ := NewJSON(schemaOf("a", i64))
			mem := checkedMem(t)
			b := array.NewInt64Builder(mem)
			defer b.Release()
			arr := b.NewArray()
			defer arr.Release()
			_, err := d.Decode(arr, mem)
			return err
		}, "must be a string or binary array, not int64"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.make()
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "decode: ") {
				t.Errorf("error %v, want one mentioning %q", err, tc.want)
			}
		})
	}
}

func TestJSONManyRowsGrowBuffers(t *testing.T) {
	mem := checkedMem(t)
	d, err := NewJSON(schemaOf("a", i64, "s", utf8T, "b", boolT, "l", arrow.ListOf(utf8T)))
	if err != nil {
		t.Fatal(err)
	}
	b := array.NewStringBuilder(mem)
	const n = 5000
	for i := range n {
		switch i % 4 {
		case 0:
			b.Append(`{"a": 1, "s": "abc", "b": true, "l": ["x", "y"]}`)
		case 1:
			b.Append(`{"a": "bad", "s": "abc", "b": true, "l": ["x"]}`)
		case 2:
			b.AppendNull()
		default:
			b.Append(`{"b": false}`)
		}
	}
	in := b.NewArray()
	b.Release()
	defer in.Release()
	res, err := d.Decode(in, mem)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Release()
	checkResult(t, res)
	if len(res.Malformed) != n/4 {
		t.Errorf("%d malformed, want %d", len(res.Malformed), n/4)
	}
	arr := res.Array()
	defer arr.Release()
	for i := 0; i < n; i += 997 {
		var want string
		switch i % 4 {
		case 0:
			want = `{a:1 s:"abc" b:true l:["x" "y"]}`
		case 1:
			want = "{a:null s:null b:null l:null}"
		case 2:
			want = "null"
		default:
			want = "{a:null s:null b:false l:null}"
		}
		if got := render(arr, i); got != want {
			t.Errorf("row %d = %s, want %s", i, got, want)
		}
	}
}
