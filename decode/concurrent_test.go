package decode

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// TestConcurrentDecode runs one decoder from several goroutines (run it
// with -race): decoders keep no state between calls.
func TestConcurrentDecode(t *testing.T) {
	mem := checkedMem(t)
	jd, err := NewJSON(schemaOf("a", i64, "s", utf8T, "l", arrow.ListOf(i32), "_corrupt_record", utf8T))
	if err != nil {
		t.Fatal(err)
	}
	cd, err := NewCSV(schemaOf("a", i64, "s", utf8T))
	if err != nil {
		t.Fatal(err)
	}
	jb := array.NewStringBuilder(mem)
	cb := array.NewStringBuilder(mem)
	for i := range 500 {
		if i%7 == 0 {
			jb.Append(`{"a": "bad"}`)
			cb.Append(`bad,x`)
			continue
		}
		jb.Append(fmt.Sprintf(`{"s": "row %d", "a": %d, "l": [%d, %d]}`, i, i, i, -i))
		cb.Append(fmt.Sprintf(`%d,"row %d"`, i, i))
	}
	jin, cin := jb.NewArray(), cb.NewArray()
	jb.Release()
	cb.Release()
	defer jin.Release()
	defer cin.Release()
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var d Decoder = jd
			in := jin
			if g%2 == 1 {
				d, in = cd, cin
			}
			for range 20 {
				res, err := d.Decode(in, mem)
				if err != nil {
					errs <- err
					return
				}
				arr := res.Array()
				got := render(arr, 13)
				arr.Release()
				n := len(res.Malformed)
				res.Release()
				if n != 72 || !strings.Contains(got, `"row 13"`) {
					errs <- fmt.Errorf("goroutine %d: %d malformed, row 13 = %s", g, n, got)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
