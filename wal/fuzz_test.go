package wal

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// seed adds the golden file and the named corruptions to f's corpus.
func seed(f *testing.F, goldenFile string, table []corruption) {
	data, err := os.ReadFile(filepath.Join("testdata", goldenFile))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data)
	for _, tc := range table {
		f.Add([]byte(tc.content))
	}
}

// Decoding any bytes must not panic; a successful decode must re-encode,
// and decoding that encoding must give the same entry.
func FuzzDecodeOffsets(f *testing.F) {
	seed(f, "offsets.golden", offsetCorruptions)
	f.Add([]byte("v1\n" + header + "\n { \"a\" : 1 } \nnull\n-\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		e, err := offsetCodec{}.Decode(data)
		if err != nil {
			return
		}
		enc, err := offsetCodec{}.Encode(e)
		if err != nil {
			t.Fatalf("decoded %q to %#v, which does not encode: %v", data, e, err)
		}
		again, err := offsetCodec{}.Decode(enc)
		if err != nil {
			t.Fatalf("re-encoding %#v gave %q, which does not decode: %v", e, enc, err)
		}
		if !reflect.DeepEqual(again, e) {
			t.Fatalf("round trip changed the entry:\n first: %#v\nsecond: %#v", e, again)
		}
	})
}

func FuzzDecodeCommit(f *testing.F) {
	seed(f, "commits.golden", commitCorruptions)
	f.Add([]byte("v1\n{\"nextBatchWatermarkMs\":-3,\"stateVersions\":{}}"))
	codec := JSONCodec[CommitEntry]{}
	f.Fuzz(func(t *testing.T, data []byte) {
		e, err := codec.Decode(data)
		if err != nil {
			return
		}
		enc, err := codec.Encode(e)
		if err != nil {
			t.Fatalf("decoded %q to %#v, which does not encode: %v", data, e, err)
		}
		again, err := codec.Decode(enc)
		if err != nil {
			t.Fatalf("re-encoding %#v gave %q, which does not decode: %v", e, enc, err)
		}
		// An empty stateVersions is omitted when encoding: nil and empty
		// are the same entry.
		if len(e.StateVersions) == 0 {
			e.StateVersions = nil
		}
		if !reflect.DeepEqual(again, e) {
			t.Fatalf("round trip changed the entry:\n first: %#v\nsecond: %#v", e, again)
		}
	})
}

func FuzzDecodeMetadata(f *testing.F) {
	data, err := os.ReadFile(filepath.Join("testdata", "metadata.golden"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data)
	f.Add([]byte(`{"id":"x","version":2}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		md, err := decodeMetadata(data)
		if err != nil {
			return
		}
		enc, err := encodeMetadata(md)
		if err != nil {
			t.Fatalf("decoded %q to %#v, which does not encode: %v", data, md, err)
		}
		if again, err := decodeMetadata(enc); err != nil || again != md {
			t.Fatalf("round trip of %#v: %#v, %v", md, again, err)
		}
	})
}
