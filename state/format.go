package state

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"strconv"

	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/snappy"
)

// FormatVersion is the format version this package writes in the first
// line of every state object ("v1") and the highest version it reads.
const FormatVersion = 1

// versionLine is the first line of every object this package writes.
var versionLine = "v" + strconv.Itoa(FormatVersion) + "\n"

// objectKind is the byte after the version line.
type objectKind byte

const (
	kindDelta    objectKind = 'D'
	kindSnapshot objectKind = 'S'
)

func (k objectKind) String() string {
	switch k {
	case kindDelta:
		return "delta"
	case kindSnapshot:
		return "snapshot"
	}
	return fmt.Sprintf("kind 0x%02x", byte(k))
}

// Record types.
const (
	opPut       byte = 'P'
	opTombstone byte = 'T'
)

// Compression selects how the records of a state object are compressed.
// Every object says how it is compressed, so a checkpoint may hold objects
// written with different settings.
type Compression byte

const (
	// CompressionNone stores records as they are.
	CompressionNone Compression = 0
	// CompressionSnappy stores each block of records as a Snappy block
	// (the block format, not the framed stream format).
	CompressionSnappy Compression = 1
)

func (c Compression) String() string {
	switch c {
	case CompressionNone:
		return "none"
	case CompressionSnappy:
		return "snappy"
	}
	return fmt.Sprintf("Compression(%d)", byte(c))
}

const (
	// headerLen is the length of the fixed header: version line, kind,
	// compression and version.
	headerLen = 3 + 1 + 1 + 8
	// trailerLen is the length of the trailer: record count and CRC.
	trailerLen = 8 + 4
	// blockTarget is the raw size at which the encoder ends a block. A
	// block holds whole records, so a record larger than this makes a
	// larger block.
	blockTarget = 256 << 10
	// maxSnappyRatio bounds the decoded size of a Snappy block by its
	// stored size. The largest standard Snappy element, a 3-byte copy,
	// yields 64 bytes, so no valid block exceeds it; checking it before
	// allocating keeps a damaged length from allocating gigabytes.
	maxSnappyRatio = 22
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// encoder writes one state object. Records are collected into blocks of
// about blockTarget bytes, each stored with its length and compressed as a
// whole.
type encoder struct {
	out     []byte
	raw     []byte
	scratch []byte
	codec   Compression
	count   uint64
}

// newEncoder starts an object of kind at version; sizeHint is the
// expected raw size of the records.
func newEncoder(kind objectKind, codec Compression, version int64, sizeHint int) *encoder {
	e := &encoder{codec: codec}
	stored := sizeHint
	if codec == CompressionSnappy {
		stored /= 2
	}
	e.out = make([]byte, 0, headerLen+trailerLen+stored+16)
	e.out = append(e.out, versionLine...)
	e.out = append(e.out, byte(kind), byte(codec))
	e.out = binary.LittleEndian.AppendUint64(e.out, uint64(version))
	e.raw = make([]byte, 0, min(sizeHint, blockTarget)+64)
	return e
}

// put adds a record setting key to value.
func (e *encoder) put(key, value []byte) {
	e.raw = append(e.raw, opPut)
	e.raw = binary.AppendUvarint(e.raw, uint64(len(key)))
	e.raw = append(e.raw, key...)
	e.raw = binary.AppendUvarint(e.raw, uint64(len(value)))
	e.raw = append(e.raw, value...)
	e.count++
	if len(e.raw) >= blockTarget {
		e.flush()
	}
}

// tombstone adds a record deleting key.
func (e *encoder) tombstone(key []byte) {
	e.raw = append(e.raw, opTombstone)
	e.raw = binary.AppendUvarint(e.raw, uint64(len(key)))
	e.raw = append(e.raw, key...)
	e.count++
	if len(e.raw) >= blockTarget {
		e.flush()
	}
}

// flush ends the current block, if it holds any record.
func (e *encoder) flush() {
	if len(e.raw) == 0 {
		return
	}
	stored := e.raw
	if e.codec == CompressionSnappy {
		if n := s2.MaxEncodedLen(len(e.raw)); cap(e.scratch) < n {
			e.scratch = make([]byte, n)
		}
		stored = s2.EncodeSnappy(e.scratch[:cap(e.scratch)], e.raw)
	}
	e.out = binary.AppendUvarint(e.out, uint64(len(stored)))
	e.out = append(e.out, stored...)
	e.raw = e.raw[:0]
}

// finish ends the object and returns it.
func (e *encoder) finish() []byte {
	e.flush()
	e.out = binary.LittleEndian.AppendUint64(e.out, e.count)
	e.out = binary.LittleEndian.AppendUint32(e.out, crc32.Checksum(e.out, castagnoli))
	return e.out
}

// header is what decode reports about an object.
type header struct {
	kind    objectKind
	codec   Compression
	version int64
	count   uint64
}

// checkVersionLine checks the first line of data, which must be "v1".
func checkVersionLine(data []byte) error {
	if len(data) == 0 {
		return corrupt(nil, "empty object, want a state object starting with the line %q", versionLine[:len(versionLine)-1])
	}
	end := bytes.IndexByte(data[:min(len(data), 24)], '\n')
	if end < 0 {
		return corrupt(nil, "bad header: the object does not start with a version line such as %q", versionLine[:len(versionLine)-1])
	}
	line := data[:end]
	if len(line) < 2 || line[0] != 'v' || (line[1] == '0' && len(line) > 2) {
		return corrupt(nil, "bad header: first line %q is not a version line such as %q", line, versionLine[:len(versionLine)-1])
	}
	v, err := strconv.ParseUint(string(line[1:]), 10, 32)
	if err != nil || v == 0 {
		return corrupt(nil, "bad header: first line %q is not a version line such as %q", line, versionLine[:len(versionLine)-1])
	}
	if v > FormatVersion {
		return corrupt(errNewerVersion, "format version %d (this Sluice reads up to version %d)", v, FormatVersion)
	}
	return nil
}

// decode checks data as a state object and calls fn for each record in
// order. key and value alias a buffer reused between records: fn must copy
// what it keeps. value is nil for a tombstone. An error from fn stops
// decoding and is returned as it is. Any problem with data is reported as
// a *CorruptionError without an object name. decode does not panic,
// whatever the bytes.
func decode(data []byte, fn func(op byte, key, value []byte) error) (header, error) {
	var h header
	if err := checkVersionLine(data); err != nil {
		return h, err
	}
	if len(data) < headerLen+trailerLen {
		return h, corrupt(nil, "truncated: %d bytes, shorter than the %d bytes of an empty object", len(data), headerLen+trailerLen)
	}
	crcAt := len(data) - 4
	stored := binary.LittleEndian.Uint32(data[crcAt:])
	if sum := crc32.Checksum(data[:crcAt], castagnoli); sum != stored {
		return h, corrupt(nil, "checksum mismatch: the trailer says CRC32C %08x, the content has %08x (the object is truncated or damaged)", stored, sum)
	}
	h.kind = objectKind(data[3])
	h.codec = Compression(data[4])
	h.version = int64(binary.LittleEndian.Uint64(data[5:13]))
	h.count = binary.LittleEndian.Uint64(data[crcAt-8 : crcAt])
	if h.kind != kindDelta && h.kind != kindSnapshot {
		return h, corrupt(nil, "byte 3: unknown object kind 0x%02x, want 'D' (delta) or 'S' (snapshot)", byte(h.kind))
	}
	if h.codec != CompressionNone && h.codec != CompressionSnappy {
		return h, corrupt(nil, "byte 4: unknown compression %d, want 0 (none) or 1 (snappy)", byte(h.codec))
	}
	if h.version < 0 {
		return h, corrupt(nil, "bytes 5-12: negative version %d", h.version)
	}
	body := data[headerLen : crcAt-8]
	var (
		buf     []byte
		records uint64
	)
	for off, block := 0, 0; off < len(body); block++ {
		n, w := binary.Uvarint(body[off:])
		if w <= 0 {
			return h, corrupt(nil, "block %d at byte %d: bad length", block, headerLen+off)
		}
		if n == 0 {
			return h, corrupt(nil, "block %d at byte %d: empty block", block, headerLen+off)
		}
		if n > uint64(len(body)-off-w) {
			return h, corrupt(nil, "block %d at byte %d: length %d does not fit the %d bytes left before the trailer", block, headerLen+off, n, len(body)-off-w)
		}
		start := off + w
		raw := body[start : start+int(n)]
		off = start + int(n)
		if h.codec == CompressionSnappy {
			dlen, err := snappy.DecodedLen(raw)
			if err != nil {
				return h, corrupt(err, "block %d at byte %d: bad Snappy block", block, headerLen+start)
			}
			if dlen > maxSnappyRatio*len(raw) {
				return h, corrupt(nil, "block %d at byte %d: a %d-byte Snappy block cannot decode to the %d bytes it claims", block, headerLen+start, len(raw), dlen)
			}
			if cap(buf) < dlen {
				buf = make([]byte, dlen)
			}
			dec, err := snappy.Decode(buf[:cap(buf)], raw)
			if err != nil {
				return h, corrupt(err, "block %d at byte %d: bad Snappy block", block, headerLen+start)
			}
			raw = dec
		}
		if len(raw) == 0 {
			return h, corrupt(nil, "block %d at byte %d: empty block", block, headerLen+start)
		}
		if err := decodeRecords(raw, h.kind, block, &records, fn); err != nil {
			return h, err
		}
	}
	if records != h.count {
		return h, corrupt(nil, "the trailer counts %d records, the blocks hold %d", h.count, records)
	}
	return h, nil
}

// decodeRecords calls fn for each record of one raw block, counting them
// in *records.
func decodeRecords(raw []byte, kind objectKind, block int, records *uint64, fn func(op byte, key, value []byte) error) error {
	for off := 0; off < len(raw); {
		rec := *records
		op := raw[off]
		off++
		switch op {
		case opPut:
		case opTombstone:
			if kind == kindSnapshot {
				return corrupt(nil, "record %d (block %d): a snapshot holds no tombstones", rec, block)
			}
		default:
			return corrupt(nil, "record %d (block %d): unknown record type 0x%02x, want 'P' (put) or 'T' (tombstone)", rec, block, op)
		}
		key, n, err := lengthPrefixed(raw[off:])
		if err != nil {
			return corrupt(err, "record %d (block %d): key", rec, block)
		}
		off += n
		var value []byte
		if op == opPut {
			value, n, err = lengthPrefixed(raw[off:])
			if err != nil {
				return corrupt(err, "record %d (block %d): value", rec, block)
			}
			off += n
		}
		*records++
		if err := fn(op, key, value); err != nil {
			return err
		}
	}
	return nil
}

var errLength = errors.New("the length runs past the end of the block")

// lengthPrefixed reads a uvarint length and that many bytes from b,
// returning them (never nil) and the bytes consumed.
func lengthPrefixed(b []byte) ([]byte, int, error) {
	n, w := binary.Uvarint(b)
	if w <= 0 {
		return nil, 0, errors.New("bad length")
	}
	if n > uint64(len(b)-w) {
		return nil, 0, errLength
	}
	return b[w : w+int(n) : w+int(n)], w + int(n), nil
}
