package kafka

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

var goldenInitial = Offsets{
	{"clicks", 0}:  42,
	{"clicks", 1}:  17,
	{"clicks", 10}: 0,
	{"orders", 0}:  1234,
}

func TestOffsetsJSONIsSortedAndCompact(t *testing.T) {
	got := string(goldenInitial.JSON())
	want := `{"clicks":{"0":42,"1":17,"10":0},"orders":{"0":1234}}`
	if got != want {
		t.Fatalf("JSON = %s, want %s (topics by name, partitions by number)", got, want)
	}
	if s := string(Offsets{}.JSON()); s != "{}" {
		t.Errorf("empty offsets = %s, want {}", s)
	}
	odd := Offsets{{`we"ird/\topic`, 3}: 9}
	back, err := ParseOffsets(odd.JSON())
	if err != nil {
		t.Fatalf("ParseOffsets(%s): %v", odd.JSON(), err)
	}
	if !reflect.DeepEqual(back, odd) {
		t.Errorf("round trip of a topic needing escapes: got %v, want %v", back, odd)
	}
}

func TestParseOffsets(t *testing.T) {
	got, err := ParseOffsets([]byte(` { "orders" : {"0": 1234}, "clicks":{"10":0,"1":17,"0":42} } `))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, goldenInitial) {
		t.Fatalf("got %v, want %v", got, goldenInitial)
	}
	for _, c := range []struct{ in, want string }{
		{``, "not a JSON object"},
		{`null`, "null"},
		{`[1]`, "not a JSON object"},
		{`{"t":{"0":1}} x`, "text after"},
		{`{"t":null}`, "maps to null"},
		{`{"":{"0":1}}`, "topic name is empty"},
		{`{"t":{"a":1}}`, `partition "a"`},
		{`{"t":{"-1":1}}`, `partition "-1"`},
		{`{"t":{"01":1}}`, `partition "01"`},
		{`{"t":{"4294967296":1}}`, `partition "4294967296"`},
		{`{"t":{"0":1.5}}`, "not an integer"},
		{`{"t":{"0":"1"}}`, "not an integer"},
		{`{"t":{"0":null}}`, "not an integer"},
		{`{"t":{"0":1e3}}`, "not an integer"},
		{`{"t":{"0":-1}}`, "below 0"},
		{`{"t":{"0":99999999999999999999}}`, "not an integer"},
	} {
		_, err := ParseOffsets([]byte(c.in))
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "kafka: ") {
			t.Errorf("ParseOffsets(%q) = %v, want an error containing %q", c.in, err, c.want)
		}
	}
}

func TestInitialOffsetsGolden(t *testing.T) {
	want, err := os.ReadFile(filepath.Join("testdata", "initial-offsets.golden"))
	if err != nil {
		t.Fatal(err)
	}
	if got := encodeInitial(goldenInitial); !bytes.Equal(got, want) {
		t.Fatalf("encodeInitial:\n%s\nwant testdata/initial-offsets.golden:\n%s", got, want)
	}
	back, err := decodeInitial(want, "x/initial-offsets")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, goldenInitial) {
		t.Fatalf("decoding the golden file: got %v, want %v", back, goldenInitial)
	}
	// Readers accept CRLF and a missing final newline.
	if _, err := decodeInitial([]byte("v1\r\n{\"t\":{\"0\":1}}"), "x"); err != nil {
		t.Errorf("CRLF, no final newline: %v", err)
	}
}

func TestInitialOffsetsCorrupt(t *testing.T) {
	for _, c := range []struct{ name, in, want string }{
		{"empty", "", "corrupt"},
		{"version only", "v1\n", "corrupt"},
		{"no version", `{"t":{"0":1}}` + "\n", "corrupt"},
		{"newer version", "v2\n{\"t\":{\"0\":1}}\n", "newer Sluice"},
		{"bad version", "vx\n{\"t\":{\"0\":1}}\n", "first line"},
		{"bad JSON", "v1\n{\"t\":{\"0\":\n", "corrupt"},
		{"negative offset", "v1\n{\"t\":{\"0\":-2}}\n", "below 0"},
	} {
		_, err := decodeInitial([]byte(c.in), "ckpt/sources/0/initial-offsets")
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "ckpt/sources/0/initial-offsets") {
			t.Errorf("%s: decodeInitial(%q) = %v, want an error naming the object and containing %q", c.name, c.in, err, c.want)
		}
	}
}

// TestFormatPageShowsGolden keeps docs/format/kafka-source.md's example
// equal to the golden file.
func TestFormatPageShowsGolden(t *testing.T) {
	page, err := os.ReadFile(filepath.Join("..", "..", "docs", "format", "kafka-source.md"))
	if err != nil {
		t.Fatal(err)
	}
	golden, err := os.ReadFile(filepath.Join("testdata", "initial-offsets.golden"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(page, append([]byte("```\n"), golden...)) {
		t.Errorf("docs/format/kafka-source.md does not show testdata/initial-offsets.golden verbatim; copy it into the page")
	}
}
