package wal

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
)

// FormatVersion is the format version this package writes in the first line
// of every log entry ("v1") and the highest version it reads.
const FormatVersion = 1

// versionLine is the first line of every entry this package writes.
var versionLine = "v" + strconv.Itoa(FormatVersion)

// Codec encodes and decodes one entry of a log. Decode must not panic on any
// input and should report bad input as a *CorruptionError (Log attaches the
// object name); any other error is wrapped in one by Log.Get.
type Codec[T any] interface {
	Encode(T) ([]byte, error)
	Decode([]byte) (T, error)
}

// JSONCodec encodes an entry as the line "v1" followed by the entry as
// one-line JSON (encoding/json) and a newline. Decode accepts the newline
// after the JSON line as optional, ignores unknown JSON fields, and reports
// anything else as a *CorruptionError: an empty object, a missing, unknown
// or newer version line, a missing JSON line, JSON that is invalid, null or
// does not fit T, and any line after the JSON line.
type JSONCodec[T any] struct{}

// Encode returns "v1\n" + the one-line JSON of e + "\n".
func (JSONCodec[T]) Encode(e T) ([]byte, error) {
	j, err := json.Marshal(e)
	if err != nil {
		return nil, fmt.Errorf("wal: encoding %T as JSON: %w", e, err)
	}
	out := make([]byte, 0, len(versionLine)+len(j)+2)
	out = append(out, versionLine...)
	out = append(out, '\n')
	out = append(out, j...)
	return append(out, '\n'), nil
}

// Decode parses data written by Encode.
func (JSONCodec[T]) Decode(data []byte) (T, error) {
	var zero T
	lines, err := splitEntry(data)
	if err != nil {
		return zero, err
	}
	if len(lines) > 2 {
		return zero, corrupt(nil, "line 3: unexpected content after the JSON line (an entry is a version line and one JSON line)")
	}
	if err := checkJSONLine(lines[1], 2); err != nil {
		return zero, err
	}
	var e T
	if err := json.Unmarshal(lines[1], &e); err != nil {
		return zero, corrupt(err, "line 2: JSON does not decode as %T", e)
	}
	return e, nil
}

// splitEntry splits a log entry into lines, checks the version line, and
// returns the lines (at least two: the version line and a JSON line). A
// final newline is optional; a "\r" before a newline is dropped.
func splitEntry(data []byte) ([][]byte, error) {
	if len(data) == 0 {
		return nil, corrupt(nil, "empty object, want a log entry starting with the line %q", versionLine)
	}
	data = bytes.TrimSuffix(data, []byte("\n"))
	lines := bytes.Split(data, []byte("\n"))
	for i, l := range lines {
		lines[i] = bytes.TrimSuffix(l, []byte("\r"))
	}
	if err := checkVersion(lines[0]); err != nil {
		return nil, err
	}
	if len(lines) < 2 {
		return nil, corrupt(nil, "line 2: missing: the object ends after the version line (truncated?)")
	}
	return lines, nil
}

// checkVersion accepts the version line "v1". It reports "v<n>" for n > 1
// as written by a newer Sluice, and anything else as not a version line.
func checkVersion(line []byte) error {
	digits, ok := bytes.CutPrefix(line, []byte("v"))
	ok = ok && len(digits) > 0 && !(len(digits) > 1 && digits[0] == '0')
	for _, c := range digits {
		ok = ok && c >= '0' && c <= '9'
	}
	if !ok {
		return corrupt(nil, "line 1: %s is not a version line (want %q)", quoteLine(line), versionLine)
	}
	n, err := strconv.ParseUint(string(digits), 10, 64)
	switch {
	case err == nil && n == FormatVersion:
		return nil
	case err == nil && n < FormatVersion:
		return corrupt(nil, "line 1: format version v%d does not exist (want %q)", n, versionLine)
	default: // larger, or too large to parse
		return corrupt(errNewerVersion, "line 1: format version %s, this Sluice reads up to v%d", quoteLine(line), FormatVersion)
	}
}

// checkJSONLine rejects a JSON line that is empty or the JSON null, which
// encoding/json would otherwise decode as a zero value.
func checkJSONLine(line []byte, n int) error {
	t := bytes.TrimSpace(line)
	switch {
	case len(t) == 0:
		return corrupt(nil, "line %d: empty, want a JSON line", n)
	case string(t) == "null":
		return corrupt(nil, "line %d: null, want a JSON entry", n)
	}
	return nil
}

// quoteLine quotes a line for an error message, shortening a long one.
func quoteLine(line []byte) string {
	const max = 40
	if len(line) > max {
		return strconv.Quote(string(line[:max])) + "..."
	}
	return strconv.Quote(string(line))
}
