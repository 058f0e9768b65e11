package decode

import (
	"errors"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

type csvCase struct {
	name      string
	schema    *arrow.Schema
	opts      []Option
	in        []*string
	want      []string
	malformed map[int]string
}

func runCSVCases(t *testing.T, cases []csvCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			mem := checkedMem(t)
			d, err := NewCSV(tc.schema, tc.opts...)
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

func TestCSV(t *testing.T) {
	all := schemaOf("i", i32, "s", utf8T, "f", f64, "b", boolT, "d", dateT, "t", tsUS, "x", dec5_2, "bin", binT)
	two := schemaOf("a", i64, "s", utf8T)
	runCSVCases(t, []csvCase{
		{
			name:   "types",
			schema: all,
			in: strs(`1,abc,2.5,true,2024-02-29,2024-02-29T10:00:00Z,1.235,raw`,
				`-2147483648,,NaN,FALSE,1969-12-31,1969-12-31 23:59:59.5,-0.5,`,
				`,"",Inf,,,,,""`, `2147483648,x,-Inf,yes,2023-02-29,never,1000,b`),
			want: []string{`{i:1 s:"abc" f:2.5 b:true d:2024-02-29 t:2024-02-29T10:00:00Z x:1.24 bin:b"raw"}`,
				`{i:-2147483648 s:null f:NaN b:false d:1969-12-31 t:1969-12-31T23:59:59.5Z x:-0.50 bin:null}`,
				`{i:null s:"" f:+Inf b:null d:null t:null x:null bin:null}`,
				`{i:null s:"x" f:-Inf b:null d:null t:null x:null bin:b"b"}`},
			malformed: map[int]string{3: `field i: "2147483648" is out of range for int32`},
		},
		{
			name:   "quoting",
			schema: two,
			in: strs(`1,"a,b"`, `2,"he said ""hi"""`, `3,"esc \"q\" \\ \n"`, "4,\"two\nlines\"", `5,""""`, `"6",x`,
				`7,a"b`, `8,"open`, `9,"x"y`, `10,"x" `, "11,\"crlf\"\r\n", "12,end\n"),
			want: []string{`{a:1 s:"a,b"}`, `{a:2 s:"he said \"hi\""}`, `{a:3 s:"esc \"q\" \\ \\n"}`, `{a:4 s:"two\nlines"}`,
				`{a:5 s:"\""}`, `{a:6 s:"x"}`, `{a:7 s:"a\"b"}`, `{a:8 s:null}`, `{a:9 s:null}`, `{a:10 s:null}`,
				`{a:11 s:"crlf"}`, `{a:12 s:"end"}`},
			malformed: map[int]string{7: "unterminated quoted field", 8: `unexpected 'y' after the closing quote`, 9: `unexpected ' ' after the closing quote`},
		},
		{
			name:   "field counts",
			schema: two,
			in:     strs(`1`, `1,a,extra`, `1,a,`, `,`, `1,`, ``, `x,y`),
			want:   []string{`{a:1 s:null}`, `{a:1 s:"a"}`, `{a:1 s:"a"}`, `{a:null s:null}`, `{a:1 s:null}`, "null", `{a:null s:"y"}`},
			malformed: map[int]string{0: "the record has 1 field, the schema 2", 1: "more than the 2 fields", 2: "more than the 2 fields",
				6: `field a: "x" is not an integer`},
		},
		{
			name:   "options",
			schema: two,
			opts:   []Option{WithDelimiter(';'), WithNullValue("NA"), WithQuote('\''), WithEscape(0)},
			in:     strs(`1;NA`, `NA;'NA'`, `3;'a;b'`, `4;''''`, `5;""`, `6;`),
			want:   []string{`{a:1 s:null}`, `{a:null s:"NA"}`, `{a:3 s:"a;b"}`, `{a:4 s:"'"}`, `{a:5 s:"\"\""}`, `{a:6 s:""}`},
		},
		{
			name:   "quoting off",
			schema: two,
			opts:   []Option{WithQuote(0), WithDelimiter('\t')},
			in:     strs("1\t\"x\"", "2\ta,b"),
			want:   []string{`{a:1 s:"\"x\""}`, `{a:2 s:"a,b"}`},
		},
		{
			name:      "special floats",
			schema:    schemaOf("f", f32),
			opts:      []Option{WithSpecialFloats("nan", "+inf", "-inf")},
			in:        strs(`nan`, `+inf`, `-inf`, `1e39`, `abc`, `Infinity`),
			want:      []string{"{f:NaN}", "{f:+Inf}", "{f:-Inf}", "{f:+Inf}", "{f:null}", "{f:+Inf}"},
			malformed: map[int]string{4: `"abc" is not a number`},
		},
		{
			name:      "corrupt column keeps the record, good fields stay",
			schema:    schemaOf("a", i64, "_corrupt_record", utf8T, "b", i64),
			in:        strs(`1,2`, `x,3`, `4,5,6`),
			want:      []string{`{a:1 _corrupt_record:null b:2}`, `{a:null _corrupt_record:"x,3" b:3}`, `{a:4 _corrupt_record:"4,5,6" b:5}`},
			malformed: map[int]string{1: `"x" is not an integer`, 2: "more than the 2 fields"},
		},
		{
			name:      "drop malformed",
			schema:    two,
			opts:      []Option{WithMode(DropMalformed)},
			in:        append(strs(`1,a`, `x,b`, `3,c`, `4`), nil),
			want:      []string{`{a:1 s:"a"}`, `{a:3 s:"c"}`, "null"},
			malformed: map[int]string{1: "not an integer", 3: "the record has 1 field"},
		},
	})
}

func TestCSVInvalidUTF8(t *testing.T) {
	mem := checkedMem(t)
	d, err := NewCSV(schemaOf("s", utf8T, "b", binT))
	if err != nil {
		t.Fatal(err)
	}
	in := binRecords(mem, []byte("ok\xff,\xff"), []byte("fine,\xfe"))
	defer in.Release()
	got, bad := decodeRows(t, d, mem, in)
	want := []string{`{s:null b:b"\xff"}`, `{s:"fine" b:b"\xfe"}`}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("rows:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	checkMalformed(t, bad, map[int]string{0: "not valid UTF-8"})
}

func TestCSVFailFast(t *testing.T) {
	mem := checkedMem(t)
	d, err := NewCSV(schemaOf("a", i64, "s", utf8T), WithMode(FailFast))
	if err != nil {
		t.Fatal(err)
	}
	full := records(mem, strs(`0,z`, `1,a`, `2,b`, `3,"c`)...)
	defer full.Release()
	sliced := array.NewSlice(full, 1, 4)
	defer sliced.Release()
	_, err = d.Decode(sliced, mem)
	var me *MalformedError
	if !errors.As(err, &me) {
		t.Fatalf("error %v, want a *MalformedError", err)
	}
	if me.Row != 2 || me.Pos != 2 || me.Format != "CSV" {
		t.Errorf("error at row %d byte %d (%s), want row 2 byte 2 (CSV)", me.Row, me.Pos, me.Format)
	}
	if !strings.Contains(err.Error(), `unterminated quoted field; record: "3,\"c"`) {
		t.Errorf("error %q does not show the record", err)
	}
}

func TestCSVConstructorErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  func() error
		want string
	}{
		{"nil", func() error { _, err := NewCSV(nil); return err }, "schema is nil"},
		{"nested", func() error { _, err := NewCSV(schemaOf("l", arrow.ListOf(i64))); return err }, "field l is list<item: int64, nullable>; CSV records hold only flat values"},
		{"delimiter newline", func() error { _, err := NewCSV(schemaOf("a", i64), WithDelimiter('\n')); return err }, "a line break cannot separate fields"},
		{"quote is delimiter", func() error { _, err := NewCSV(schemaOf("a", i64), WithQuote(',')); return err }, "also the delimiter"},
		{"escape is delimiter", func() error { _, err := NewCSV(schemaOf("a", i64), WithEscape(',')); return err }, "also the delimiter"},
		{"corrupt type", func() error {
			_, err := NewCSV(schemaOf("a", i64, "c", i64), WithCorruptRecordColumn("c"))
			return err
		}, `corrupt record column "c" is int64`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.err()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one mentioning %q", err, tc.want)
			}
		})
	}
}

func TestOptionsFromMap(t *testing.T) {
	mem := checkedMem(t)
	opts, err := CSVOptions(map[string]string{"SEP": "\\t", "quote": "'", "nullValue": "-", "MODE": "dropmalformed", "nanValue": "n/a"})
	if err != nil {
		t.Fatal(err)
	}
	d, err := NewCSV(schemaOf("a", f64, "s", utf8T), opts...)
	if err != nil {
		t.Fatal(err)
	}
	if d.Mode() != DropMalformed {
		t.Errorf("mode %s, want DROPMALFORMED", d.Mode())
	}
	in := records(mem, strs("n/a\t'x\ty'", "-\t-", "bad\tz")...)
	defer in.Release()
	got, _ := decodeRows(t, d, mem, in)
	if want := []string{`{a:NaN s:"x\ty"}`, "{a:null s:null}"}; strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("rows %v, want %v", got, want)
	}

	if _, err := JSONOptions(map[string]string{"mode": "FAILFAST", "columnNameOfCorruptRecord": "bad"}); err != nil {
		t.Errorf("JSONOptions: %v", err)
	}
	for _, tc := range []struct {
		json bool
		opts map[string]string
		want string
	}{
		{true, map[string]string{"sep": ";"}, `decode: JSON: unknown option "sep"; the options understood are mode, columnNameOfCorruptRecord`},
		{true, map[string]string{"mode": "lenient"}, `unknown parse mode "lenient"`},
		{false, map[string]string{"quote": "ab"}, `option quote="ab" must be a single ASCII character`},
		{false, map[string]string{"timestampFormat": "x"}, `unknown option "timestampFormat"`},
	} {
		var err error
		if tc.json {
			_, err = JSONOptions(tc.opts)
		} else {
			_, err = CSVOptions(tc.opts)
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("options %v: error %v, want %q", tc.opts, err, tc.want)
		}
	}
	if m, err := ParseMode(" failFast "); err != nil || m != FailFast || m.String() != "FAILFAST" {
		t.Errorf("ParseMode = %v, %v", m, err)
	}
}
