package wal

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/sluicehq/sluice/objstore"
)

// OffsetsDir is the directory of the offsets log in a checkpoint.
const OffsetsDir = "offsets"

// OffsetEntry is one entry of the offsets log, written before a batch runs:
// what the batch reads and the settings it runs with. A re-run of the batch
// after a crash uses exactly these values.
type OffsetEntry struct {
	// BatchWatermarkMs is the event-time watermark the batch runs with, in
	// milliseconds since the Unix epoch.
	BatchWatermarkMs int64
	// BatchTimestampMs is the processing time of the batch, in milliseconds
	// since the Unix epoch.
	BatchTimestampMs int64
	// Conf holds settings pinned for the life of the checkpoint, such as
	// "sluice.state.numPartitions". Decoding gives nil for no settings.
	Conf map[string]string
	// Offsets holds the end offset of the batch for each source, in the
	// query's source order; a nil element means the source has no offset
	// yet. Each offset is JSON; it is stored compacted (insignificant
	// whitespace removed). Decoding gives nil for no sources.
	Offsets []json.RawMessage
}

// NewOffsetLog returns the offsets log of the checkpoint in store: objects
// "offsets/<batch id>" in the offsets format (see docs/format/offsets-log.md):
//
//	v1
//	{"batchWatermarkMs":0,"batchTimestampMs":1700000000000,"conf":{...}}
//	<one line per source: its offset as one-line JSON, or - for none>
func NewOffsetLog(store objstore.Store) *Log[OffsetEntry] {
	return NewLog[OffsetEntry](store, OffsetsDir, offsetCodec{})
}

// offsetHeader is line 2 of an offsets entry. The pointers detect missing
// fields when decoding.
type offsetHeader struct {
	BatchWatermarkMs *int64            `json:"batchWatermarkMs"`
	BatchTimestampMs *int64            `json:"batchTimestampMs"`
	Conf             map[string]string `json:"conf,omitempty"`
}

// noOffset is the line of a source without an offset.
const noOffset = "-"

// offsetCodec is the Codec of the offsets log.
type offsetCodec struct{}

func (offsetCodec) Encode(e OffsetEntry) ([]byte, error) {
	h, err := json.Marshal(offsetHeader{BatchWatermarkMs: &e.BatchWatermarkMs, BatchTimestampMs: &e.BatchTimestampMs, Conf: e.Conf})
	if err != nil {
		return nil, fmt.Errorf("wal: encoding offsets entry: %w", err)
	}
	var b bytes.Buffer
	b.WriteString(versionLine)
	b.WriteByte('\n')
	b.Write(h)
	b.WriteByte('\n')
	for i, o := range e.Offsets {
		if o == nil {
			b.WriteString(noOffset)
		} else if err := json.Compact(&b, o); err != nil {
			return nil, fmt.Errorf("wal: encoding offsets entry: the offset of source %d, %s, is not valid JSON: %w (a source's offsets must be JSON)",
				i, quoteLine(o), err)
		}
		b.WriteByte('\n')
	}
	return b.Bytes(), nil
}

func (offsetCodec) Decode(data []byte) (OffsetEntry, error) {
	lines, err := splitEntry(data)
	if err != nil {
		return OffsetEntry{}, err
	}
	if err := checkJSONLine(lines[1], 2); err != nil {
		return OffsetEntry{}, err
	}
	if t := bytes.TrimSpace(lines[1]); t[0] != '{' {
		return OffsetEntry{}, corrupt(nil, "line 2: %s is not a JSON object", quoteLine(t))
	}
	var h offsetHeader
	if err := json.Unmarshal(lines[1], &h); err != nil {
		return OffsetEntry{}, corrupt(err, "line 2: batch header is not valid")
	}
	switch {
	case h.BatchWatermarkMs == nil:
		return OffsetEntry{}, corrupt(nil, "line 2: batch header has no batchWatermarkMs")
	case h.BatchTimestampMs == nil:
		return OffsetEntry{}, corrupt(nil, "line 2: batch header has no batchTimestampMs")
	}
	e := OffsetEntry{BatchWatermarkMs: *h.BatchWatermarkMs, BatchTimestampMs: *h.BatchTimestampMs}
	if len(h.Conf) > 0 {
		e.Conf = h.Conf
	}
	if n := len(lines) - 2; n > 0 {
		e.Offsets = make([]json.RawMessage, n)
	}
	for i, l := range lines[2:] {
		if string(l) == noOffset {
			continue
		}
		var b bytes.Buffer
		if err := json.Compact(&b, l); err != nil {
			return OffsetEntry{}, corrupt(err, "line %d: the offset of source %d, %s, is neither JSON nor %q", i+3, i, quoteLine(l), noOffset)
		}
		e.Offsets[i] = json.RawMessage(b.Bytes())
	}
	return e, nil
}
