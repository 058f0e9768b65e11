package benchsuite

import (
	"fmt"
	"slices"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/dataframe"
	"github.com/sluicehq/sluice/internal/arrowrows"
	memsrc "github.com/sluicehq/sluice/source/memory"
	"github.com/sluicehq/sluice/stateful"
)

// q7's state machine keeps every bid at its window's highest price, ties
// included (in the same batch and across batches), forgets the lower ones
// when a higher price comes, keeps windows apart, and writes each window
// once the watermark passes its end.
func TestNexmarkHighestBidCases(t *testing.T) {
	mem := checked(t, memory.NewGoAllocator())
	sc := arrow.NewSchema([]arrow.Field{
		{Name: "auction", Type: arrow.PrimitiveTypes.Int64}, {Name: "price", Type: arrow.PrimitiveTypes.Int64},
		{Name: "bidder", Type: arrow.PrimitiveTypes.Int64}, {Name: "dateTime", Type: nexmarkTimestamp},
		{Name: "extra", Type: arrow.BinaryTypes.String},
	}, nil)
	sec := int64(1_000_000)
	base := int64(1_700_000_000) * sec // a window start
	bid := func(auction, price, atSec int64) []any {
		return []any{auction, price, auction * 10, base + atSec*sec, fmt.Sprintf("x%d", auction)}
	}
	batches := [][][]any{
		// window [0, 10): 5, 9, 9 (a tie), 3; window [10, 20): 7
		{bid(1, 5, 1), bid(2, 9, 2), bid(3, 9, 3), bid(4, 3, 4), bid(5, 7, 11)},
		// [0, 10): 9 again (a tie across batches), 8, both ahead of the
		// watermark (7 s); [10, 20): 8, 8
		{bid(6, 9, 8), bid(7, 8, 9), bid(8, 8, 12), bid(9, 8, 13)},
		// [10, 20): 12 replaces the 8s
		{bid(10, 12, 14)},
		// [20, 30): an early low bid, then the end of the stream far
		// ahead, which closes every window
		{bid(11, 1, 21), bid(12, 100, 500)},
	}
	src := memsrc.New(sc, memsrc.WithAllocator(mem))
	defer src.Close()
	for _, rows := range batches {
		rec, err := arrowrows.Build(mem, sc, rows)
		if err != nil {
			t.Fatal(err)
		}
		src.Add(rec)
		rec.Release()
	}
	df := dataframe.ReadStream(rowLimited{src, 5}).WithWatermark("dateTime", nexmarkWatermark).
		Select(col("auction"), col("price"), col("bidder"), col("dateTime"), col("extra"),
			dataframe.Window(col("dateTime"), nexmarkWindow).Field("start").As("starttime")).
		GroupBy(col("starttime")).
		TransformWithState(&nexmarkHighest{}, nexmarkQ7Schema, stateful.EventTime)
	out := newNexmarkSink(true)
	defer out.release()
	runQuery(t, mem, df, out, "append")
	var got []string
	for _, rec := range out.recs {
		a, p, b := rec.Column(0).(*array.Int64), rec.Column(1).(*array.Int64), rec.Column(2).(*array.Int64)
		x := rec.Column(4).(*array.String)
		for i := 0; i < int(rec.NumRows()); i++ {
			got = append(got, fmt.Sprintf("%d:%d:%d:%s", a.Value(i), p.Value(i), b.Value(i), x.Value(i)))
		}
	}
	slices.Sort(got)
	want := []string{"10:12:100:x10", "11:1:110:x11", "2:9:20:x2", "3:9:30:x3", "6:9:60:x6"}
	if !slices.Equal(got, want) {
		t.Fatalf("q7 wrote %v, want %v (the window [500, 510) is still open)", got, want)
	}
}
