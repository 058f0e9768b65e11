package source

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
)

// CounterOffset returns the offset {"<key>":n}, the form used by sources
// whose position is a single count (the rate source's rows, the memory
// source's records).
func CounterOffset(key string, n int64) Offset {
	return Offset(`{"` + key + `":` + strconv.FormatInt(n, 10) + `}`)
}

// ParseCounterOffset parses an offset made by CounterOffset with the same
// key; nil is 0. Anything else is an error naming the offset and the form
// expected, prefixed with the source's name.
func ParseCounterOffset(name, key string, off Offset) (int64, error) {
	if len(off) == 0 {
		return 0, nil
	}
	dec := json.NewDecoder(bytes.NewReader(off))
	dec.DisallowUnknownFields()
	var m map[string]*int64
	err := dec.Decode(&m)
	n, ok := m[key]
	if err != nil || len(m) != 1 || !ok || n == nil || *n < 0 {
		return 0, fmt.Errorf(`%s: bad offset %q: want {"%s":N} with N >= 0, as returned by this source`, name, string(off), key)
	}
	return *n, nil
}
