package state

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// Decoding any bytes must not panic; a successful decode must re-encode,
// and decoding that encoding must give the same header and records.
func FuzzDecode(f *testing.F) {
	for _, file := range []string{"delta.golden", "snapshot.golden", "snapshot-snappy.golden"} {
		data, err := os.ReadFile(filepath.Join("testdata", file))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, tc := range corruptions() {
		f.Add(tc.content)
	}
	f.Add(encodeRecords(kindDelta, CompressionSnappy, 3, goldenDeltaRecords))
	f.Fuzz(func(t *testing.T, data []byte) {
		h, recs, err := decodeAll(data)
		if err != nil {
			if _, ok := err.(*CorruptionError); !ok {
				t.Fatalf("decode returned %T %v, want a *CorruptionError", err, err)
			}
			return
		}
		for _, codec := range []Compression{CompressionNone, CompressionSnappy} {
			enc := encodeRecords(h.kind, codec, h.version, recs)
			h2, again, err := decodeAll(enc)
			if err != nil {
				t.Fatalf("re-encoding %d records gave %x, which does not decode: %v", len(recs), enc, err)
			}
			if h2.kind != h.kind || h2.version != h.version || h2.count != h.count || !reflect.DeepEqual(again, recs) {
				t.Fatalf("round trip changed the object:\n first: %+v %q\nsecond: %+v %q", h, recs, h2, again)
			}
		}
	})
}
