package state

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/klauspost/compress/snappy"
	"github.com/sluicehq/sluice/objstore"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// record is one decoded record, for comparisons.
type record struct {
	Op    byte
	Key   string
	Value string
}

// encodeRecords encodes recs as one object.
func encodeRecords(kind objectKind, codec Compression, version int64, recs []record) []byte {
	e := newEncoder(kind, codec, version, 0)
	for _, r := range recs {
		if r.Op == opTombstone {
			e.tombstone([]byte(r.Key))
		} else {
			e.put([]byte(r.Key), []byte(r.Value))
		}
	}
	return e.finish()
}

// decodeRecords decodes data, collecting its records.
func decodeAll(data []byte) (header, []record, error) {
	var recs []record
	h, err := decode(data, func(op byte, key, value []byte) error {
		recs = append(recs, record{op, string(key), string(value)})
		return nil
	})
	return h, recs, err
}

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
		t.Fatalf("%v (run go test ./state -run Golden -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("encoding differs from %s:\n got: %x\nwant: %x", path, got, want)
	}
	return want
}

var (
	goldenDeltaRecords = []record{
		{opPut, "k1", "v1"},
		{opTombstone, "k2", ""},
	}
	goldenSnapshotRecords = []record{
		{opPut, "apple", "\x00\x00\x00\x00\x00\x00\x00\x03"},
		{opPut, "pear", "\x00\x00\x00\x00\x00\x00\x00\x05"},
	}
)

// The golden files are the examples of docs/format/state-store.md.
func TestGoldenDelta(t *testing.T) {
	data := encodeRecords(kindDelta, CompressionNone, 7, goldenDeltaRecords)
	want := golden(t, "delta.golden", data)
	h, recs, err := decodeAll(want)
	if err != nil {
		t.Fatal(err)
	}
	if h != (header{kind: kindDelta, codec: CompressionNone, version: 7, count: 2}) {
		t.Fatalf("header = %+v", h)
	}
	if !reflect.DeepEqual(recs, goldenDeltaRecords) {
		t.Fatalf("records = %q, want %q", recs, goldenDeltaRecords)
	}
}

func TestGoldenSnapshot(t *testing.T) {
	data := encodeRecords(kindSnapshot, CompressionNone, 10, goldenSnapshotRecords)
	want := golden(t, "snapshot.golden", data)
	h, recs, err := decodeAll(want)
	if err != nil {
		t.Fatal(err)
	}
	if h != (header{kind: kindSnapshot, codec: CompressionNone, version: 10, count: 2}) {
		t.Fatalf("header = %+v", h)
	}
	if !reflect.DeepEqual(recs, goldenSnapshotRecords) {
		t.Fatalf("records = %q, want %q", recs, goldenSnapshotRecords)
	}
}

// A Snappy-compressed snapshot written by an earlier build must stay
// readable. The compressed bytes may differ between releases of the
// compressor, so only decoding is checked against the file.
func TestGoldenSnapshotSnappy(t *testing.T) {
	path := filepath.Join("testdata", "snapshot-snappy.golden")
	if *update {
		data := encodeRecords(kindSnapshot, CompressionSnappy, 10, goldenSnapshotRecords)
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	h, recs, err := decodeAll(data)
	if err != nil {
		t.Fatal(err)
	}
	if h.codec != CompressionSnappy || h.kind != kindSnapshot || h.version != 10 {
		t.Fatalf("header = %+v", h)
	}
	if !reflect.DeepEqual(recs, goldenSnapshotRecords) {
		t.Fatalf("records = %q, want %q", recs, goldenSnapshotRecords)
	}
}

func TestRoundTripLarge(t *testing.T) {
	var recs []record
	for i := range 30000 {
		if i%7 == 3 {
			recs = append(recs, record{opTombstone, fmt.Sprintf("key-%06d", i), ""})
			continue
		}
		recs = append(recs, record{opPut, fmt.Sprintf("key-%06d", i), strings.Repeat("v", i%40)})
	}
	// A record larger than a block, and one that compresses extremely well.
	recs = append(recs, record{opPut, "big", strings.Repeat("\x00", 3*blockTarget)})
	recs = append(recs, record{opPut, "", ""})
	for _, codec := range []Compression{CompressionNone, CompressionSnappy} {
		t.Run(codec.String(), func(t *testing.T) {
			data := encodeRecords(kindDelta, codec, 42, recs)
			h, got, err := decodeAll(data)
			if err != nil {
				t.Fatal(err)
			}
			if h.count != uint64(len(recs)) || h.version != 42 || h.codec != codec {
				t.Fatalf("header = %+v", h)
			}
			if !reflect.DeepEqual(got, recs) {
				t.Fatalf("records differ after a round trip (%d decoded, %d written)", len(got), len(recs))
			}
			if codec == CompressionSnappy && len(data) > 1<<20 {
				t.Fatalf("snappy object is %d bytes, want it well under the raw size", len(data))
			}
		})
	}
}

// reseal recomputes the CRC of a damaged object, so that the decoder gets
// past the checksum to the damage behind it.
func reseal(data []byte) []byte {
	out := bytes.Clone(data)
	binary.LittleEndian.PutUint32(out[len(out)-4:], crc32.Checksum(out[:len(out)-4], castagnoli))
	return out
}

// body returns a sealed object of kind with the given raw body bytes (the
// blocks) and record count.
func sealed(kind objectKind, codec Compression, version int64, blocks []byte, count uint64) []byte {
	out := []byte(versionLine)
	out = append(out, byte(kind), byte(codec))
	out = binary.LittleEndian.AppendUint64(out, uint64(version))
	out = append(out, blocks...)
	out = binary.LittleEndian.AppendUint64(out, count)
	return binary.LittleEndian.AppendUint32(out, crc32.Checksum(out, castagnoli))
}

// block frames raw as one stored block.
func block(raw []byte) []byte {
	return append(binary.AppendUvarint(nil, uint64(len(raw))), raw...)
}

type corruption struct {
	name    string
	content []byte
	reason  string // a substring of the CorruptionError's message
	newer   bool
}

// corruptions are named damages of the golden delta of version 7.
func corruptions() []corruption {
	good := encodeRecords(kindDelta, CompressionNone, 7, goldenDeltaRecords)
	flip := bytes.Clone(good)
	flip[16] ^= 0x20
	kind := bytes.Clone(good)
	kind[3] = 'X'
	codec := bytes.Clone(good)
	codec[4] = 9
	negative := bytes.Clone(good)
	binary.LittleEndian.PutUint64(negative[5:13], ^uint64(0))
	count := bytes.Clone(good)
	binary.LittleEndian.PutUint64(count[len(count)-12:], 3)
	bomb := binary.AppendUvarint(nil, 1<<30)
	bomb = append(bomb, 0, 0, 0, 0)
	return []corruption{
		{name: "empty", content: nil, reason: "empty object"},
		{name: "truncated", content: good[:len(good)-5], reason: "checksum mismatch"},
		{name: "truncated header", content: good[:10], reason: "truncated"},
		{name: "version line only", content: []byte("v1\n"), reason: "truncated"},
		{name: "bad checksum", content: flip, reason: "checksum mismatch"},
		{name: "bad header", content: append([]byte("x1\n"), good[3:]...), reason: "bad header"},
		{name: "no version line", content: []byte("\x00\x01\x02\x03 binary garbage without a newline"), reason: "bad header"},
		{name: "version zero", content: append([]byte("v0\n"), good[3:]...), reason: "bad header"},
		{name: "newer version", content: append([]byte("v2\n"), good[3:]...), reason: "format version 2", newer: true},
		{name: "unknown kind", content: reseal(kind), reason: "unknown object kind"},
		{name: "unknown compression", content: reseal(codec), reason: "unknown compression"},
		{name: "negative version", content: reseal(negative), reason: "negative version"},
		{name: "count mismatch", content: reseal(count), reason: "the trailer counts 3 records"},
		{name: "block too long", content: sealed(kindDelta, CompressionNone, 7, []byte{0x7f, 'P', 1, 'k'}, 1), reason: "does not fit"},
		{name: "empty block", content: sealed(kindDelta, CompressionNone, 7, []byte{0x00}, 0), reason: "empty block"},
		{name: "unknown record type", content: sealed(kindDelta, CompressionNone, 7, block([]byte{'Q', 1, 'k'}), 1), reason: "unknown record type 0x51"},
		{name: "key past block end", content: sealed(kindDelta, CompressionNone, 7, block([]byte{'P', 9, 'k'}), 1), reason: "record 0 (block 0): key"},
		{name: "value past block end", content: sealed(kindDelta, CompressionNone, 7, block([]byte{'P', 1, 'k', 5, 'v'}), 1), reason: "record 0 (block 0): value"},
		{name: "bad varint", content: sealed(kindDelta, CompressionNone, 7, block([]byte{'T', 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}), 1), reason: "bad length"},
		{name: "tombstone in snapshot", content: sealed(kindSnapshot, CompressionNone, 7, block([]byte{'T', 1, 'k'}), 1), reason: "a snapshot holds no tombstones"},
		{name: "bad snappy block", content: sealed(kindDelta, CompressionSnappy, 7, block([]byte{0x05, 0xff, 0xff, 0xff}), 1), reason: "bad Snappy block"},
		{name: "snappy size bomb", content: sealed(kindDelta, CompressionSnappy, 7, block(bomb), 1), reason: "cannot decode to the 1073741824 bytes"},
		{name: "snappy empty block", content: sealed(kindDelta, CompressionSnappy, 7, block(snappy.Encode(nil, nil)), 0), reason: "empty block"},
	}
}

func TestDecodeCorruptions(t *testing.T) {
	for _, tc := range corruptions() {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := decodeAll(tc.content)
			var ce *CorruptionError
			if !errors.As(err, &ce) {
				t.Fatalf("got %v, want a *CorruptionError", err)
			}
			if !strings.Contains(err.Error(), tc.reason) {
				t.Fatalf("error %q does not say %q", err, tc.reason)
			}
			if !strings.HasPrefix(err.Error(), "state: corrupt ") {
				t.Fatalf("error %q lacks the package prefix", err)
			}
			if got := errors.Is(err, errNewerVersion); got != tc.newer {
				t.Fatalf("errors.Is(err, errNewerVersion) = %v, want %v (%v)", got, tc.newer, err)
			}
			if tc.newer && !strings.Contains(err.Error(), "newer Sluice") {
				t.Fatalf("error %q does not say the checkpoint is from a newer Sluice", err)
			}
		})
	}
}

// Recovery reports a corrupt delta or snapshot as a *CorruptionError
// naming the object.
func TestOpenCorruptObject(t *testing.T) {
	ctx := context.Background()
	id := StoreID{Operator: "agg", Partition: 2}
	for _, tc := range corruptions() {
		for _, kind := range []objectKind{kindDelta, kindSnapshot} {
			t.Run(tc.name+"/"+kind.String(), func(t *testing.T) {
				ckpt := objstore.NewMemory()
				prov := newTestProvider(t, ckpt, WithSnapshotInterval(5))
				commitVersions(t, prov, id, 8, func(v int64, s Store) {
					s.Put(fmt.Appendf(nil, "k%d", v), []byte("v"))
				})
				name := DeltaName(id, 7)
				if kind == kindSnapshot {
					name = SnapshotName(id, 5)
				}
				if err := ckpt.Put(ctx, name, tc.content); err != nil {
					t.Fatal(err)
				}
				_, err := newTestProvider(t, ckpt).Open(ctx, id, 7)
				var ce *CorruptionError
				if !errors.As(err, &ce) {
					t.Fatalf("Open: got %v, want a *CorruptionError", err)
				}
				if ce.Object != name || !strings.Contains(err.Error(), name) {
					t.Fatalf("CorruptionError names %q (%v), want %q", ce.Object, err, name)
				}
			})
		}
	}
}

// An object whose content does not match its name is corrupt.
func TestOpenMisnamedObject(t *testing.T) {
	ctx := context.Background()
	id := StoreID{Operator: "agg", Partition: 0}
	for name, content := range map[string][]byte{
		"snapshot named as delta":  encodeRecords(kindSnapshot, CompressionNone, 0, nil),
		"delta of another version": encodeRecords(kindDelta, CompressionNone, 3, nil),
	} {
		t.Run(name, func(t *testing.T) {
			ckpt := objstore.NewMemory()
			if err := ckpt.Put(ctx, DeltaName(id, 0), content); err != nil {
				t.Fatal(err)
			}
			_, err := newTestProvider(t, ckpt).Open(ctx, id, 0)
			var ce *CorruptionError
			if !errors.As(err, &ce) || ce.Object != DeltaName(id, 0) || !strings.Contains(err.Error(), "its name says the delta of version 0") {
				t.Fatalf("Open: got %v, want a *CorruptionError naming %s", err, DeltaName(id, 0))
			}
		})
	}
}

func TestDuplicateKeyInSnapshot(t *testing.T) {
	ctx := context.Background()
	id := StoreID{Operator: "agg", Partition: 0}
	ckpt := objstore.NewMemory()
	snap := encodeRecords(kindSnapshot, CompressionNone, 1, []record{{opPut, "a", "1"}, {opPut, "a", "2"}})
	if err := ckpt.Put(ctx, SnapshotName(id, 1), snap); err != nil {
		t.Fatal(err)
	}
	_, err := newTestProvider(t, ckpt).Open(ctx, id, 1)
	var ce *CorruptionError
	if !errors.As(err, &ce) || ce.Object != SnapshotName(id, 1) || !strings.Contains(err.Error(), `key "a" appears twice`) {
		t.Fatalf("Open: got %v, want a *CorruptionError about the duplicate key", err)
	}
}

func TestUnexpectedObjectInPartitionDir(t *testing.T) {
	ctx := context.Background()
	id := StoreID{Operator: "agg", Partition: 1}
	for _, base := range []string{"notes.txt", "7.delta", "0000000000000000000x.delta", "00000000000000000001.snapshot.tmp", "sub/00000000000000000001.delta"} {
		t.Run(base, func(t *testing.T) {
			ckpt := objstore.NewMemory()
			name := PartitionDir(id) + "/" + base
			if err := ckpt.Put(ctx, name, []byte("x")); err != nil {
				t.Fatal(err)
			}
			_, err := newTestProvider(t, ckpt).Open(ctx, id, EmptyVersion)
			var ce *CorruptionError
			if !errors.As(err, &ce) || ce.Object != name || !errors.Is(err, errNotStateObject) {
				t.Fatalf("Open: got %v, want a *CorruptionError naming %s", err, name)
			}
		})
	}
}

func TestObjectNames(t *testing.T) {
	id := StoreID{Operator: "aggregate-0", Partition: 3}
	if got, want := DeltaName(id, 7), "state/aggregate-0/3/00000000000000000007.delta"; got != want {
		t.Fatalf("DeltaName = %q, want %q", got, want)
	}
	if got, want := SnapshotName(id, 10), "state/aggregate-0/3/00000000000000000010.snapshot"; got != want {
		t.Fatalf("SnapshotName = %q, want %q", got, want)
	}
	for _, v := range []int64{0, 1, 99, 1 << 62} {
		for _, kind := range []objectKind{kindDelta, kindSnapshot} {
			name := objectName(id, v, kind)
			gv, gk, ok := parseObjectName(strings.TrimPrefix(name, PartitionDir(id)+"/"))
			if !ok || gv != v || gk != kind {
				t.Fatalf("parseObjectName(%q) = %d, %v, %v", name, gv, gk, ok)
			}
		}
	}
}
