package decode

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/bufpool"
)

// splitRecords cuts fuzz input into records at the ASCII record
// separator, so one input exercises several rows.
func splitRecords(data []byte) [][]byte {
	recs := bytes.Split(data, []byte{0x1e})
	if len(recs) > 64 {
		recs = recs[:64]
	}
	return recs
}

// checkModes decodes recs with the decoders built by mk in every mode and
// checks what must hold whatever the input: no panic, valid arrays, row
// counts that agree with the malformed list, FailFast stopping at the
// first malformed row with an error that names it.
func checkModes(t *testing.T, format string, mk func(...Option) (Decoder, error), recs [][]byte) []RowError {
	mem := memory.NewCheckedAllocator(bufpool.NewPoison())
	defer mem.AssertSize(t, 0)
	in := binRecords(mem, recs...)
	defer in.Release()

	d, err := mk()
	if err != nil {
		t.Fatal(err)
	}
	res, err := d.Decode(in, mem)
	if err != nil {
		t.Fatalf("permissive Decode: %v", err)
	}
	checkResult(t, res)
	malformed := res.Malformed
	if res.Rows != len(recs) {
		t.Fatalf("permissive result has %d rows for %d records", res.Rows, len(recs))
	}
	corrupt := res.Columns[res.Schema.FieldIndices(DefaultCorruptRecordColumn)[0]]
	for i, e := range malformed {
		if e.Row < 0 || e.Row >= len(recs) || (i > 0 && e.Row <= malformed[i-1].Row) {
			t.Fatalf("malformed rows out of order or range: %v", malformed)
		}
		if e.Pos < 0 || e.Pos > len(recs[e.Row]) {
			t.Fatalf("row %d: position %d outside the record of %d bytes", e.Row, e.Pos, len(recs[e.Row]))
		}
		if e.Reason == "" {
			t.Fatalf("row %d: no reason", e.Row)
		}
	}
	for row := range recs {
		_, bad := res.IsMalformed(row)
		if corrupt.IsValid(row) != bad {
			t.Fatalf("row %d: corrupt record column valid=%v, malformed=%v", row, corrupt.IsValid(row), bad)
		}
	}
	res.Release()

	d, _ = mk(WithMode(DropMalformed))
	res, err = d.Decode(in, mem)
	if err != nil {
		t.Fatalf("DropMalformed Decode: %v", err)
	}
	checkResult(t, res)
	if res.Rows != len(recs)-len(malformed) || len(res.Malformed) != len(malformed) {
		t.Fatalf("DropMalformed kept %d of %d rows with %d malformed (permissive found %d)", res.Rows, len(recs), len(res.Malformed), len(malformed))
	}
	res.Release()

	d, _ = mk(WithMode(FailFast))
	res, err = d.Decode(in, mem)
	if len(malformed) == 0 {
		if err != nil {
			t.Fatalf("FailFast failed on input permissive mode accepted: %v", err)
		}
		res.Release()
		return malformed
	}
	var me *MalformedError
	if !errors.As(err, &me) {
		t.Fatalf("FailFast: error %v, want a *MalformedError", err)
	}
	first := malformed[0]
	if me.Row != first.Row || me.Pos != first.Pos || me.Format != format {
		t.Fatalf("FailFast stopped at row %d byte %d, want row %d byte %d", me.Row, me.Pos, first.Row, first.Pos)
	}
	if !strings.Contains(err.Error(), fmt.Sprintf("record at row %d, byte %d", first.Row, first.Pos)) {
		t.Fatalf("FailFast error does not name the record: %v", err)
	}
	return malformed
}

var fuzzJSONSchema = schemaOf("a", i64, "s", utf8T, "f", f64, "b", boolT, "t", tsUS, "d", dateT, "x", dec5_2,
	"bin", binT, "small", i8,
	"st", arrow.StructOf(arrow.Field{Name: "n", Type: i32, Nullable: true}, arrow.Field{Name: "l", Type: arrow.ListOf(utf8T), Nullable: true}),
	"l", arrow.ListOf(arrow.ListOf(f32)), "m", arrow.MapOf(utf8T, i64), DefaultCorruptRecordColumn, utf8T)

// allStrings is a schema whose fields accept any JSON value.
var allStrings = schemaOf("a", utf8T, "b", utf8T, "c", utf8T, DefaultCorruptRecordColumn, utf8T)

func FuzzDecodeJSON(f *testing.F) {
	for _, seed := range []string{
		`{"a": 1, "s": "x", "f": 1.5, "b": true, "t": "2024-02-29T10:00:00Z", "d": "2024-02-29", "x": 1.25}`,
		`{"st": {"n": 1, "l": ["a", null]}, "l": [[1.5], [], null], "m": {"k": 1, "j": null}}`,
		`{"s": "esc \" \\ \u00e9 \ud83d\ude00", "bin": "aGk=", "small": -128}` + "\x1e" + `{"a": "bad"}` + "\x1e" + `null`,
		`{"unknown": [1, {"deep": [true, false, null]}], "a": 2}`,
		`[1, 2]`, `{"a": 1} trailing`, `{"a": 1,}`, "\x1e\x1e", `{"s": "\xff"}`, `{"a": 9223372036854775808}`,
		`{"f": NaN, "g": -Infinity}`, `{"m": {"k": 1, "k": 2}}`, `{"x": 999.999}`, `{"t": -62135596800}`,
		`{"a": {"b": {"c": {"d": {"e": {}}}}}}`, `{"s": [1, "x", {"y": null}]}`, `{"b": tru`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		recs := splitRecords(data)
		checkModes(t, "JSON", func(opts ...Option) (Decoder, error) { return NewJSON(fuzzJSONSchema, opts...) }, recs)

		// Against encoding/json: with fields that take any value, a
		// record this decoder accepts is valid JSON, and a valid JSON
		// object in valid UTF-8 (without the NaN and Infinity this
		// decoder also takes) is accepted.
		bad := checkModes(t, "JSON", func(opts ...Option) (Decoder, error) { return NewJSON(allStrings, opts...) }, recs)
		malformed := map[int]bool{}
		for _, e := range bad {
			malformed[e.Row] = true
		}
		for i, r := range recs {
			trimmed := bytes.TrimSpace(r)
			if len(trimmed) == 0 || bytes.Contains(r, []byte("NaN")) || bytes.Contains(r, []byte("Infinity")) {
				continue
			}
			valid := json.Valid(r)
			if !malformed[i] && !valid {
				t.Fatalf("record %d %q accepted but encoding/json says it is invalid", i, r)
			}
			deep := bytes.Count(r, []byte("["))+bytes.Count(r, []byte("{")) > maxDepth
			if malformed[i] && valid && trimmed[0] == '{' && utf8.Valid(r) && !deep {
				t.Fatalf("record %d %q is valid JSON but was refused", i, r)
			}
		}
	})
}

var fuzzCSVSchema = schemaOf("a", i64, "s", utf8T, "f", f32, "b", boolT, "t", tsUS, "d", dateT, "x", dec5_2,
	"bin", binT, DefaultCorruptRecordColumn, utf8T)

func FuzzDecodeCSV(f *testing.F) {
	for _, seed := range []string{
		`1,abc,2.5,true,2024-02-29T10:00:00Z,2024-02-29,1.25,raw`,
		`"1","a,b",NaN,FALSE,,,,""` + "\x1e" + `x,"unterminated`,
		`1,"he said ""hi""",-Inf,true,1969-12-31 23:59:59,1969-12-31,-0.5,"\"q\""`,
		`,,,,,,,` + "\x1e" + `1` + "\x1e" + `1,2,3,4,5,6,7,8,9`, "\x1e", `1,"x"y`, "1,\"two\nlines\"\r\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		recs := splitRecords(data)
		checkModes(t, "CSV", func(opts ...Option) (Decoder, error) { return NewCSV(fuzzCSVSchema, opts...) }, recs)

		// Round trip: fields written by encoding/csv (RFC 4180) read back
		// as they were.
		fields := strings.Split(string(data), "\x1f")
		if len(fields) > 8 {
			fields = fields[:8]
		}
		for _, fl := range fields {
			if !utf8.ValidString(fl) || strings.ContainsAny(fl, "\x1e\r") {
				return
			}
		}
		var buf bytes.Buffer
		w := csv.NewWriter(&buf)
		if err := w.Write(fields); err != nil {
			t.Fatal(err)
		}
		w.Flush()
		var pairs []any
		for i := range fields {
			pairs = append(pairs, fmt.Sprintf("c%d", i), utf8T)
		}
		d, err := NewCSV(schemaOf(pairs...), WithEscape(0), WithNullValue("\x1f"))
		if err != nil {
			t.Fatal(err)
		}
		mem := memory.NewCheckedAllocator(bufpool.NewPoison())
		defer mem.AssertSize(t, 0)
		in := binRecords(mem, buf.Bytes())
		defer in.Release()
		res, err := d.Decode(in, mem)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Release()
		if buf.String() == "\n" {
			return // a record of one empty field is an empty record: null
		}
		if len(res.Malformed) > 0 {
			t.Fatalf("%q (written from %q) is malformed: %v", buf.Bytes(), fields, res.Malformed)
		}
		for i, fl := range fields {
			if got := res.Columns[i].(*array.String).Value(0); got != fl {
				t.Fatalf("field %d of %q read as %q, want %q", i, buf.Bytes(), got, fl)
			}
		}
	})
}
