package wal

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/objstore"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

var (
	goldenOffsets = OffsetEntry{
		BatchWatermarkMs: 1699999990000,
		BatchTimestampMs: 1700000000000,
		Conf: map[string]string{
			"sluice.state.numPartitions":      "8",
			"sluice.watermark.multiplePolicy": "min",
		},
		Offsets: []json.RawMessage{json.RawMessage(`{"clicks":{"0":42,"1":17}}`), nil},
	}
	goldenCommit = CommitEntry{
		NextBatchWatermarkMs: 1699999995000,
		StateVersions:        map[string]int64{"aggregate-0": 8, "dedup-1": 8},
		InputWatermarksMs:    []int64{1699999995000, NoWatermark},
	}
	goldenMetadata = Metadata{ID: "0f8fad5b-d9cb-469f-a165-70867728950e"}
)

// golden compares got with testdata/file, rewriting the file with -update.
func golden(t *testing.T, file string, got []byte) []byte {
	t.Helper()
	path := filepath.Join("testdata", file)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./wal -run Golden -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("encoding differs from %s:\n got: %q\nwant: %q", path, got, want)
	}
	return want
}

func TestGoldenOffsets(t *testing.T) {
	data, err := offsetCodec{}.Encode(goldenOffsets)
	if err != nil {
		t.Fatal(err)
	}
	want := golden(t, "offsets.golden", data)
	got, err := offsetCodec{}.Decode(want)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, goldenOffsets) {
		t.Fatalf("decoding the golden offsets:\n got: %#v\nwant: %#v", got, goldenOffsets)
	}
}

func TestGoldenCommit(t *testing.T) {
	data, err := JSONCodec[CommitEntry]{}.Encode(goldenCommit)
	if err != nil {
		t.Fatal(err)
	}
	want := golden(t, "commits.golden", data)
	got, err := JSONCodec[CommitEntry]{}.Decode(want)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, goldenCommit) {
		t.Fatalf("decoding the golden commit:\n got: %#v\nwant: %#v", got, goldenCommit)
	}
}

func TestGoldenMetadata(t *testing.T) {
	data, err := encodeMetadata(goldenMetadata)
	if err != nil {
		t.Fatal(err)
	}
	want := golden(t, "metadata.golden", data)
	got, err := decodeMetadata(want)
	if err != nil {
		t.Fatal(err)
	}
	if got != goldenMetadata {
		t.Fatalf("decoding the golden metadata: got %#v, want %#v", got, goldenMetadata)
	}
}

// Each format page shows its golden file as its example: the pages and the
// code agree.
func TestFormatPagesShowGoldens(t *testing.T) {
	for golden, page := range map[string]string{
		"offsets.golden":  "offsets-log.md",
		"commits.golden":  "commits-log.md",
		"metadata.golden": "metadata.md",
	} {
		want, err := os.ReadFile(filepath.Join("testdata", golden))
		if err != nil {
			t.Fatal(err)
		}
		doc, err := os.ReadFile(filepath.Join("..", "docs", "format", page))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(doc, append([]byte("```\n"), want...)) {
			t.Errorf("docs/format/%s does not show testdata/%s as its example:\n%s", page, golden, want)
		}
	}
}

const header = `{"batchWatermarkMs":0,"batchTimestampMs":1700000000000}`

// corruption is a named bad object and a substring its error must contain.
type corruption struct {
	name, content, want string
}

var offsetCorruptions = []corruption{
	{"empty", "", "empty object"},
	{"newer version", "v2\n" + header + "\n-\n", "newer Sluice"},
	{"much newer version", "v123456789012345678901234567890\n" + header + "\n", "newer Sluice"},
	{"non-numeric version", "vx\n" + header + "\n", "line 1"},
	{"version zero", "v0\n" + header + "\n", "line 1"},
	{"leading zero version", "v01\n" + header + "\n", "line 1"},
	{"no v", "1\n" + header + "\n", "line 1"},
	{"bare v", "v\n" + header + "\n", "line 1"},
	{"version line only", "v1", "line 2"},
	{"version line and newline only", "v1\n", "line 2"},
	{"truncated JSON", "v1\n{\"batchWatermarkMs\":0,\"batchTim", "line 2"},
	{"null header", "v1\nnull\n-\n", "line 2"},
	{"array header", "v1\n[1,2]\n", "line 2"},
	{"string header", "v1\n\"x\"\n", "line 2"},
	{"empty header", "v1\n\n-\n", "line 2"},
	{"no timestamp", "v1\n{\"batchWatermarkMs\":0}\n", "batchTimestampMs"},
	{"no watermark", "v1\n{\"batchTimestampMs\":0}\n", "batchWatermarkMs"},
	{"watermark not a number", "v1\n{\"batchWatermarkMs\":\"0\",\"batchTimestampMs\":0}\n", "line 2"},
	{"fractional timestamp", "v1\n{\"batchWatermarkMs\":0,\"batchTimestampMs\":1.5}\n", "line 2"},
	{"conf not strings", "v1\n{\"batchWatermarkMs\":0,\"batchTimestampMs\":0,\"conf\":{\"a\":1}}\n", "line 2"},
	{"invalid offset JSON", "v1\n" + header + "\n-\n{\"a\":\n", "line 4"},
	{"truncated offset", "v1\n" + header + "\n{\"clicks\":{\"0\":4", "line 3"},
	{"empty offset line", "v1\n" + header + "\n\n-\n", "line 3"},
	{"padded dash", "v1\n" + header + "\n - \n", "line 3"},
	{"two offsets on a line", "v1\n" + header + "\n1 2\n", "line 3"},
	{"binary garbage", "\x00\x01\x02\xff\xfe not a log entry", "line 1"},
	{"commit entry", "v1\n{\"nextBatchWatermarkMs\":0}\n", "batchWatermarkMs"},
}

var commitCorruptions = []corruption{
	{"empty", "", "empty object"},
	{"newer version", "v2\n{\"nextBatchWatermarkMs\":0}\n", "newer Sluice"},
	{"non-numeric version", "vx\n{\"nextBatchWatermarkMs\":0}\n", "line 1"},
	{"version line only", "v1\n", "line 2"},
	{"truncated JSON", "v1\n{\"nextBatchWatermarkMs\":17000", "line 2"},
	{"null", "v1\nnull\n", "line 2"},
	{"empty JSON line", "v1\n\n", "line 2"},
	{"array", "v1\n[]\n", "line 2"},
	{"watermark not a number", "v1\n{\"nextBatchWatermarkMs\":true}\n", "line 2"},
	{"state version not a number", "v1\n{\"nextBatchWatermarkMs\":0,\"stateVersions\":{\"agg\":\"8\"}}\n", "line 2"},
	{"input watermark not an integer", "v1\n{\"nextBatchWatermarkMs\":0,\"inputWatermarksMs\":[1.5]}\n", "line 2"},
	{"input watermarks not an array", "v1\n{\"nextBatchWatermarkMs\":0,\"inputWatermarksMs\":{\"0\":5}}\n", "line 2"},
	{"extra line", "v1\n{\"nextBatchWatermarkMs\":0}\n{}\n", "line 3"},
	{"extra blank line", "v1\n{\"nextBatchWatermarkMs\":0}\n\n", "line 3"},
	{"binary garbage", "\x89PNG\r\n\x1a\n\x00\x00", "line 1"},
}

// checkCorruptions writes each corruption as batch 3 of log and checks that
// Get and Latest report a *CorruptionError naming the object.
func checkCorruptions[T any](t *testing.T, newLog func(objstore.Store) *Log[T], table []corruption) {
	for _, tc := range table {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			store := objstore.NewMemory()
			l := newLog(store)
			name := l.Name(3)
			if err := store.Put(ctx, name, []byte(tc.content)); err != nil {
				t.Fatal(err)
			}
			_, err := l.Get(ctx, 3)
			var ce *CorruptionError
			if !errors.As(err, &ce) {
				t.Fatalf("Get: got %v, want a *CorruptionError", err)
			}
			if ce.Object != name {
				t.Fatalf("CorruptionError.Object = %q, want %q", ce.Object, name)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "wal: corrupt "+name+": ") {
				t.Fatalf("error %q does not start with \"wal: corrupt %s: \"", msg, name)
			}
			if !strings.Contains(msg, tc.want) {
				t.Fatalf("error %q does not contain %q", msg, tc.want)
			}
			if strings.Contains(tc.want, "newer") && !strings.Contains(msg, "upgrade Sluice") {
				t.Fatalf("error %q does not say to upgrade Sluice", msg)
			}
			if _, _, _, err := l.Latest(ctx); !errors.As(err, &ce) || ce.Object != name {
				t.Fatalf("Latest: got %v, want a *CorruptionError naming %s", err, name)
			}
			got, err := store.Get(ctx, name)
			if err != nil || string(got) != tc.content {
				t.Fatalf("reading changed the corrupt object: %q, %v", got, err)
			}
		})
	}
}

func TestOffsetsCorruptions(t *testing.T) {
	checkCorruptions(t, NewOffsetLog, offsetCorruptions)
}

func TestCommitCorruptions(t *testing.T) {
	checkCorruptions(t, NewCommitLog, commitCorruptions)
}

// Variations a reader accepts, and what they decode to.
func TestOffsetsDecodeLenient(t *testing.T) {
	for _, tc := range []struct {
		name    string
		content string
		want    OffsetEntry
	}{
		{"no final newline", "v1\n" + header + "\n-\n{\"a\":1}",
			OffsetEntry{BatchTimestampMs: 1700000000000, Offsets: []json.RawMessage{nil, json.RawMessage(`{"a":1}`)}}},
		{"CRLF", "v1\r\n" + header + "\r\n-\r\n",
			OffsetEntry{BatchTimestampMs: 1700000000000, Offsets: []json.RawMessage{nil}}},
		{"no sources", "v1\n" + header + "\n",
			OffsetEntry{BatchTimestampMs: 1700000000000}},
		{"whitespace in an offset is compacted", "v1\n" + header + "\n { \"a\" : [ 1 , 2 ] } \n",
			OffsetEntry{BatchTimestampMs: 1700000000000, Offsets: []json.RawMessage{json.RawMessage(`{"a":[1,2]}`)}}},
		{"unknown header fields are ignored", "v1\n{\"batchWatermarkMs\":5,\"batchTimestampMs\":6,\"future\":[1]}\n7\n",
			OffsetEntry{BatchWatermarkMs: 5, BatchTimestampMs: 6, Offsets: []json.RawMessage{json.RawMessage(`7`)}}},
		{"empty conf decodes as nil", "v1\n{\"batchWatermarkMs\":1,\"batchTimestampMs\":2,\"conf\":{}}\n",
			OffsetEntry{BatchWatermarkMs: 1, BatchTimestampMs: 2}},
		{"JSON null offset is an offset", "v1\n" + header + "\nnull\n",
			OffsetEntry{BatchTimestampMs: 1700000000000, Offsets: []json.RawMessage{json.RawMessage(`null`)}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := offsetCodec{}.Decode([]byte(tc.content))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %#v, want %#v", got, tc.want)
			}
		})
	}
}

func TestCommitDecodeLenient(t *testing.T) {
	for _, content := range []string{
		"v1\n{\"nextBatchWatermarkMs\":7}",
		"v1\r\n{\"nextBatchWatermarkMs\":7}\r\n",
		"v1\n {\"nextBatchWatermarkMs\":7,\"addedLater\":true} \n",
	} {
		got, err := JSONCodec[CommitEntry]{}.Decode([]byte(content))
		if err != nil {
			t.Fatalf("%q: %v", content, err)
		}
		if want := (CommitEntry{NextBatchWatermarkMs: 7}); !reflect.DeepEqual(got, want) {
			t.Fatalf("%q: got %#v, want %#v", content, got, want)
		}
	}
}

// An entry that cannot be encoded is refused before anything is written.
func TestOffsetsEncodeRejectsBadOffset(t *testing.T) {
	ctx := context.Background()
	store := objstore.NewMemory()
	l := NewOffsetLog(store)
	for _, bad := range []json.RawMessage{json.RawMessage(`{"a":`), json.RawMessage{}, json.RawMessage("1\n2")} {
		err := l.Add(ctx, 0, OffsetEntry{Offsets: []json.RawMessage{nil, bad}})
		if err == nil || !strings.Contains(err.Error(), "source 1") || !strings.Contains(err.Error(), l.Name(0)) {
			t.Fatalf("Add with offset %q: got %v, want an error naming source 1 and the object", bad, err)
		}
	}
	if names, err := store.List(ctx, ""); err != nil || len(names) != 0 {
		t.Fatalf("a refused Add wrote %v (%v)", names, err)
	}
}

// An offset spread over lines is written on one line.
func TestOffsetsEncodeCompacts(t *testing.T) {
	data, err := offsetCodec{}.Encode(OffsetEntry{Offsets: []json.RawMessage{json.RawMessage("{\n  \"a\": 1\n}")}})
	if err != nil {
		t.Fatal(err)
	}
	want := "v1\n{\"batchWatermarkMs\":0,\"batchTimestampMs\":0}\n{\"a\":1}\n"
	if string(data) != want {
		t.Fatalf("got %q, want %q", data, want)
	}
}

func TestCorruptionErrorUnwrap(t *testing.T) {
	_, err := JSONCodec[CommitEntry]{}.Decode([]byte("v1\n{\"nextBatchWatermarkMs\":\"x\"}\n"))
	var ce *CorruptionError
	if !errors.As(err, &ce) {
		t.Fatalf("got %v, want a *CorruptionError", err)
	}
	var typeErr *json.UnmarshalTypeError
	if !errors.As(err, &typeErr) {
		t.Fatalf("%v does not unwrap to the JSON error", err)
	}
	if !strings.HasPrefix(err.Error(), "wal: corrupt log entry: line 2") {
		t.Fatalf("a codec's error without an object: %q", err)
	}
}

// Commit entries written before inputWatermarksMs existed still load, with
// no input watermarks; an entry without them is written without the field.
func TestCommitWithoutInputWatermarks(t *testing.T) {
	old := "v1\n{\"nextBatchWatermarkMs\":1699999995000,\"stateVersions\":{\"aggregate-0\":8}}\n"
	got, err := JSONCodec[CommitEntry]{}.Decode([]byte(old))
	if err != nil {
		t.Fatal(err)
	}
	want := CommitEntry{NextBatchWatermarkMs: 1699999995000, StateVersions: map[string]int64{"aggregate-0": 8}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %#v, want %#v", got, want)
	}
	data, err := JSONCodec[CommitEntry]{}.Encode(want)
	if err != nil {
		t.Fatal(err)
	}
	if string(data) != old {
		t.Fatalf("encoding an entry without input watermarks: got %q, want %q", data, old)
	}
	got, err = JSONCodec[CommitEntry]{}.Decode([]byte("v1\n{\"nextBatchWatermarkMs\":5,\"inputWatermarksMs\":[-1,5,7]}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if want := []int64{NoWatermark, 5, 7}; !reflect.DeepEqual(got.InputWatermarksMs, want) {
		t.Fatalf("input watermarks %v, want %v", got.InputWatermarksMs, want)
	}
}
