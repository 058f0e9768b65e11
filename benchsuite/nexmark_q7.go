package benchsuite

import (
	"context"
	"strings"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/sluicehq/sluice/dataframe"
	"github.com/sluicehq/sluice/stateful"
)

// nexmarkQ7 is the reference's highest bid query:
//
//	SELECT B.auction, B.price, B.bidder, B.dateTime, B.extra FROM bid B
//	JOIN (SELECT MAX(price) AS maxprice, window_end AS dateTime FROM TUMBLE(bid, 10 s) ...) B1
//	ON B.price = B1.maxprice WHERE B.dateTime BETWEEN B1.dateTime - 10 s AND B1.dateTime
//
// in one pass over the bids, as Flink and Arroyo run it: a
// transformWithState keyed by the bid's 10 s tumbling window
// (nexmarkHighest) keeps the window's highest price and the bids at that
// price, and writes those bids once the watermark has passed the window's
// end. A bid's window is [start, end), where the reference's BETWEEN also
// matches a bid at exactly the end of the previous window.
func nexmarkQ7(ctx context.Context, e *nexmarkEnv, out *nexmarkSink) error {
	src, err := e.source(true, NexmarkBid)
	if err != nil {
		return err
	}
	df := nexmarkBids(nexmarkRead(src)).
		Select(col("auction"), col("price"), col("bidder"), col("dateTime"), col("extra"),
			dataframe.Window(col("dateTime"), nexmarkWindow).Field("start").As("starttime")).
		GroupBy(col("starttime")).
		TransformWithState(&nexmarkHighest{}, nexmarkQ7Schema, stateful.EventTime)
	return e.run(ctx, "q7", df, out, "append")
}

// nexmarkQ7Schema is q7's result: the bids at their window's highest
// price.
var nexmarkQ7Schema = arrow.NewSchema([]arrow.Field{
	{Name: "auction", Type: arrow.PrimitiveTypes.Int64},
	{Name: "price", Type: arrow.PrimitiveTypes.Int64},
	{Name: "bidder", Type: arrow.PrimitiveTypes.Int64},
	{Name: "dateTime", Type: nexmarkTimestamp},
	{Name: "extra", Type: arrow.BinaryTypes.String},
}, nil)

// nexmarkHighest is q7's state machine per 10 s window (the key is the
// window's start): best, the highest price so far, and top, the bids at
// that price in arrival order. The window's first bid registers a timer
// at the window's end; when it fires, every bid of the window that is not
// late has arrived, and the bids in top are written and the state
// cleared.
type nexmarkHighest struct {
	best *stateful.ValueState[int64]
	top  *stateful.ListState[nexmarkTopBid]
	cols atomic.Pointer[cachedColumns[nexmarkQ7Cols]]
}

// nexmarkTopBid is a bid at its window's highest price so far.
type nexmarkTopBid struct {
	Auction, Bidder, TimeUs int64
	Extra                   string
}

// nexmarkQ7Cols are the column indexes of q7's input rows of schema.
type nexmarkQ7Cols struct {
	schema                                   *arrow.Schema
	auction, price, bidder, ts, extra, start int
}

// Init declares the state variables.
func (p *nexmarkHighest) Init(_ context.Context, h *stateful.Handle) error {
	p.best = stateful.Value[int64](h, "best")
	p.top = stateful.List[nexmarkTopBid](h, "top")
	return nil
}

// columns returns the column indexes of rows' schema, looked up once per
// schema.
func (p *nexmarkHighest) columns(rows stateful.Rows) (*nexmarkQ7Cols, error) {
	return schemaColumns(&p.cols, rows, "nexmark q7", func(s *arrow.Schema, i []int) *nexmarkQ7Cols {
		return &nexmarkQ7Cols{s, i[0], i[1], i[2], i[3], i[4], i[5]}
	}, "auction", "price", "bidder", "dateTime", "extra", "starttime")
}

// HandleInputRows folds the window's new bids into its highest price and
// the bids at it.
func (p *nexmarkHighest) HandleInputRows(_ context.Context, _ stateful.Key, rows stateful.Rows, h *stateful.Handle, _ *stateful.Output) error {
	c, err := p.columns(rows)
	if err != nil {
		return err
	}
	n := rows.Len()
	if n == 0 {
		return nil
	}
	best, seen := p.best.Get(h)
	if !seen {
		start, j := rows.Cell(c.start, 0)
		h.RegisterTimer(timerMs(int64(start.(*array.Timestamp).Value(j)) + nexmarkWindowUs))
	}
	// The rows of one record come as a run: the price column is read
	// through the record at hand.
	var rec arrow.Array
	var prices []int64
	var top []nexmarkTopBid
	cleared, grown := false, false
	for i := range n {
		a, j := rows.Cell(c.price, i)
		if a != rec {
			rec, prices = a, a.(*array.Int64).Int64Values()
		}
		price := prices[j]
		if seen && price < best {
			continue
		}
		if !seen || price > best {
			best, seen, cleared, top = price, true, true, top[:0]
		}
		grown = true
		top = append(top, nexmarkTopBid{
			Auction: rowInt64(rows, c.auction, i), Bidder: rowInt64(rows, c.bidder, i),
			TimeUs: rowTimestamp(rows, c.ts, i), Extra: rowString(rows, c.extra, i),
		})
	}
	if !grown {
		return nil
	}
	p.best.Update(h, best)
	if cleared {
		p.top.Put(h, top)
	} else {
		p.top.Append(h, top...)
	}
	return nil
}

func rowString(rows stateful.Rows, c, i int) string {
	a, j := rows.Cell(c, i)
	// Value is a view of the record's bytes; state may outlive the record.
	return strings.Clone(a.(*array.String).Value(j))
}

// HandleExpiredTimer writes the window's bids at its highest price once
// the watermark has passed the window's end, and clears its state.
func (p *nexmarkHighest) HandleExpiredTimer(_ context.Context, _ stateful.Key, _ stateful.ExpiredTimer, h *stateful.Handle, out *stateful.Output) error {
	best, seen := p.best.Get(h)
	if !seen {
		return nil
	}
	for _, b := range p.top.Get(h) {
		out.Builder(0).(*array.Int64Builder).Append(b.Auction)
		out.Builder(1).(*array.Int64Builder).Append(best)
		out.Builder(2).(*array.Int64Builder).Append(b.Bidder)
		out.Builder(3).(*array.TimestampBuilder).Append(arrow.Timestamp(b.TimeUs))
		out.Builder(4).(*array.StringBuilder).Append(b.Extra)
		if err := out.EndRow(); err != nil {
			return err
		}
	}
	p.best.Clear(h)
	p.top.Clear(h)
	return nil
}
