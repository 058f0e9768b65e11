package source

import (
	"strings"
	"testing"
)

func TestCounterOffset(t *testing.T) {
	off := CounterOffset("row", 42)
	if string(off) != `{"row":42}` {
		t.Fatalf("CounterOffset = %s", off)
	}
	if n, err := ParseCounterOffset("rate", "row", off); err != nil || n != 42 {
		t.Fatalf("parse: %d, %v", n, err)
	}
	if n, err := ParseCounterOffset("rate", "row", nil); err != nil || n != 0 {
		t.Fatalf("nil offset: %d, %v", n, err)
	}
	for _, bad := range []string{`{"batch":1}`, `{"row":-1}`, `{"row":1,"x":2}`, `{"row":null}`, `[1]`, `garbage`} {
		_, err := ParseCounterOffset("rate", "row", Offset(bad))
		if err == nil || !strings.HasPrefix(err.Error(), "rate: bad offset") || !strings.Contains(err.Error(), `{"row":N}`) {
			t.Errorf("%s: %v", bad, err)
		}
	}
}
