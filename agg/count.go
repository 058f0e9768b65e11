package agg

import (
	"fmt"
	"math"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
)

// countAcc implements count(*), count(col) and count_if(cond). Its state is
// the count as a uvarint.
type countAcc struct {
	name   string
	star   bool // count(*): no arguments, every row counts
	ifTrue bool // count_if: counts valid true values
	counts []int64
}

func (a *countAcc) Len() int           { return len(a.counts) }
func (a *countAcc) Grow(n int)         { a.counts = grow(a.counts, n) }
func (a *countAcc) Reset()             { a.counts = a.counts[:0] }
func (a *countAcc) MemoryBytes() int64 { return sliceBytes(a.counts) }

func (a *countAcc) Update(args []arrow.Array, gids []int32) error {
	counts := a.counts
	if a.star {
		if err := checkRows(a.name, args, 0, gids); err != nil {
			return err
		}
		for _, g := range gids {
			if g >= 0 {
				counts[g]++
			}
		}
		return nil
	}
	if err := checkRows(a.name, args, 1, gids); err != nil {
		return err
	}
	arr := args[0]
	bm, off := validity(arr)
	if a.ifTrue {
		b, ok := arr.(*array.Boolean)
		if !ok {
			return fmt.Errorf("agg: %s: argument 1 is %s, want boolean", a.name, arr.DataType())
		}
		vals := b.Data().Buffers()[1]
		if vals == nil {
			return nil
		}
		vb, voff := vals.Bytes(), b.Data().Offset()
		for i, g := range gids {
			if g >= 0 && bitutil.BitIsSet(vb, voff+i) && (bm == nil || bitutil.BitIsSet(bm, off+i)) {
				counts[g]++
			}
		}
		return nil
	}
	if bm == nil {
		for _, g := range gids {
			if g >= 0 {
				counts[g]++
			}
		}
		return nil
	}
	if arr.NullN() == arr.Len() {
		return nil
	}
	for i, g := range gids {
		if g >= 0 && bitutil.BitIsSet(bm, off+i) {
			counts[g]++
		}
	}
	return nil
}

func (a *countAcc) AppendState(dst []byte, g int) []byte {
	return appendUvarint(dst, uint64(a.counts[g]))
}

func (a *countAcc) MergeState(g int, src []byte) ([]byte, error) {
	n, rest, ok := readUvarint(src)
	if !ok {
		return src, corrupt(a.name, g, "the count is not a uvarint")
	}
	if n > math.MaxInt64-uint64(a.counts[g]) {
		return src, corrupt(a.name, g, fmt.Sprintf("the count %d overflows int64 when added to %d", n, a.counts[g]))
	}
	a.counts[g] += int64(n)
	return rest, nil
}

func (a *countAcc) Finish(g int, b array.Builder) {
	b.(*array.Int64Builder).Append(a.counts[g])
}
