package benchsuite

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/sluicehq/sluice/dataframe"
	"github.com/sluicehq/sluice/expr"
	"github.com/sluicehq/sluice/stateful"
)

// Nexmark q4 and q6 share one step, the closing auctions: each auction
// with the highest price among its bids made between its dateTime and its
// expiry, known once the watermark has passed the expiry. Where the
// reference joins auctions with bids and then aggregates (a symmetric
// join that keeps every bid), Sluice runs it as Flink and Arroyo do, as a
// keyed process function: one transformWithState over the auction and
// bid rows keyed by auction id (nexmarkCloser).

// nexmarkCloseRows projects the auction and bid rows of base (a Nexmark
// source's rows with the watermark on dateTime) onto one schema:
//
//	id        auction_id of an auction, bid_auction of a bid
//	kind      event_type (NexmarkAuction or NexmarkBid)
//	dateTime  the event's time, still the watermarked column
//	expires   the auction's expiry (null in bid rows)
//	category  the auction's category (null in bid rows)
//	seller    the auction's seller (null in bid rows)
//	price     the bid's price (null in auction rows)
func nexmarkCloseRows(base *dataframe.DataFrame) *dataframe.DataFrame {
	return base.Where(isKind(NexmarkAuction).Or(isKind(NexmarkBid))).Select(
		expr.Coalesce(col("auction_id"), col("bid_auction")).As("id"),
		col("event_type").As("kind"),
		col("dateTime"),
		col("auction_expires").As("expires"),
		col("auction_category").As("category"),
		col("auction_seller").As("seller"),
		col("bid_price").As("price"))
}

// nexmarkClosedSchema is the schema of the closing auctions: the
// auction's id, category, seller and expiry, and final, the highest price
// among its bids within its lifetime.
var nexmarkClosedSchema = arrow.NewSchema([]arrow.Field{
	{Name: "id", Type: arrow.PrimitiveTypes.Int64},
	{Name: "category", Type: arrow.PrimitiveTypes.Int64},
	{Name: "seller", Type: arrow.PrimitiveTypes.Int64},
	{Name: "expires", Type: nexmarkTimestamp},
	{Name: "final", Type: arrow.PrimitiveTypes.Int64},
}, nil)

// nexmarkClosedAuctions is the closing-auction step over base (a Nexmark
// source's rows, auctions and bids among them, with the watermark on
// dateTime): the rows of nexmarkClosedSchema, one per auction that had a
// bid between its dateTime and its expiry (both included), each written
// once, in the first batch whose watermark is at or after the auction's
// expiry. Those are the rows of the reference's
//
//	SELECT A.id, A.category, A.seller, A.expires, MAX(B.price) AS final
//	FROM auction A, bid B
//	WHERE A.id = B.auction AND B.dateTime BETWEEN A.dateTime AND A.expires
//	GROUP BY A.id, A.category, A.seller, A.expires
//
// in any arrival order of auctions and bids that leaves no row late.
func nexmarkClosedAuctions(base *dataframe.DataFrame) *dataframe.DataFrame {
	return nexmarkCloseRows(base).GroupBy(col("id")).
		TransformWithState(&nexmarkCloser{}, nexmarkClosedSchema, stateful.EventTime)
}

// nexmarkCloser is the closing-auction state machine, per auction id (in
// event time; the state variables are declared by Init, one closer per
// query):
//
//   - auction: the auction once its row has arrived, with the highest
//     price of the bids seen so far that fall within its lifetime
//     (a_time <= b_time <= expires, the reference's condition). A bid
//     arriving after the auction is folded in at once, or ignored when it
//     falls outside the auction's lifetime. The auction's row registers
//     an event-time timer at its expiry.
//   - pending: the bids (time and price) that arrived before their
//     auction, each with a timer at its time. When the auction arrives
//     they are folded in (those within its lifetime) and their timers
//     deleted. When the watermark passes a pending bid's time first, no
//     auction that can still arrive (not late) starts at or before it, so
//     the bid can match none and is dropped.
//
// When the watermark reaches the auction's expiry, every bid within its
// lifetime that is not late has arrived; the auction's timer emits its
// (id, category, seller, expires, final) if at least one bid matched (an
// inner join: an auction without bids gives no row) and clears its state.
// Of the bids arriving after that, those within the auction's lifetime are
// at or behind the watermark, dropped as late by the engine; a later one
// finds no auction and waits as pending until the watermark passes it,
// matching nothing. Auction ids are unique in Nexmark; a repeated auction
// row for an id already seen is ignored.
type nexmarkCloser struct {
	auction *stateful.ValueState[nexmarkOpenAuction]
	pending *stateful.ListState[nexmarkPendingBid]
	cols    atomic.Pointer[cachedColumns[nexmarkCloseCols]]
}

// nexmarkOpenAuction is the state of an auction that has not closed.
// Times are microseconds since the epoch, as the timestamp columns.
type nexmarkOpenAuction struct {
	Category, Seller  int64
	TimeUs, ExpiresUs int64
	// Final is the highest price of the matching bids so far, when Bids.
	Final int64
	Bids  bool
}

// nexmarkPendingBid is a bid waiting for its auction.
type nexmarkPendingBid struct {
	TimeUs, Price int64
}

// Init declares the state variables.
func (p *nexmarkCloser) Init(_ context.Context, h *stateful.Handle) error {
	p.auction = stateful.Value[nexmarkOpenAuction](h, "auction")
	p.pending = stateful.List[nexmarkPendingBid](h, "pending")
	return nil
}

// timerMs is the millisecond timer that fires once the watermark (in
// milliseconds) is at or after us (microseconds, positive).
func timerMs(us int64) int64 { return (us + 999) / 1000 }

// nexmarkCloseCols are the column indexes of the close rows of schema.
type nexmarkCloseCols struct {
	schema                                     *arrow.Schema
	kind, ts, expires, category, seller, price int
}

// columns returns the column indexes of rows' schema, looked up once per
// schema.
func (p *nexmarkCloser) columns(rows stateful.Rows) (*nexmarkCloseCols, error) {
	return schemaColumns(&p.cols, rows, "nexmark closing auctions (build the input with nexmarkCloseRows)",
		func(s *arrow.Schema, i []int) *nexmarkCloseCols {
			return &nexmarkCloseCols{s, i[0], i[1], i[2], i[3], i[4], i[5]}
		}, "kind", "dateTime", "expires", "category", "seller", "price")
}

// schemaColumns returns the columns names of rows' schema, made into a T
// by build from their indexes (in the order of names), looked up once
// per schema and kept in cache. what names the step in the error for a
// schema without one of them.
func schemaColumns[T any](cache *atomic.Pointer[cachedColumns[T]], rows stateful.Rows, what string, build func(*arrow.Schema, []int) *T, names ...string) (*T, error) {
	if c := cache.Load(); c != nil && c.schema == rows.Schema() {
		return c.cols, nil
	}
	idx := make([]int, len(names))
	for i, n := range names {
		if idx[i] = rows.Column(n); idx[i] < 0 {
			return nil, fmt.Errorf("benchsuite: %s: the input has columns %v, not %s", what, rows.Schema(), strings.Join(names, ", "))
		}
	}
	c := &cachedColumns[T]{schema: rows.Schema(), cols: build(rows.Schema(), idx)}
	cache.Store(c)
	return c.cols, nil
}

// cachedColumns is a column set and the schema it was looked up in.
type cachedColumns[T any] struct {
	schema *arrow.Schema
	cols   *T
}

// nexmarkCloseReader reads close rows: the typed columns of the record
// that holds the row last asked for, looked up again only when a row of
// another record comes (a key's rows come in arrival order, mostly a run
// per record).
type nexmarkCloseReader struct {
	c     *nexmarkCloseCols
	rows  stateful.Rows
	rec   arrow.Array // the kind column of the record at hand
	kind  []int32
	ts    []arrow.Timestamp
	price []int64
}

// at makes row i's record the one at hand and returns the row in it.
func (r *nexmarkCloseReader) at(i int) int {
	a, j := r.rows.Cell(r.c.kind, i)
	if a != r.rec {
		r.rec = a
		r.kind = a.(*array.Int32).Int32Values()
		ts, _ := r.rows.Cell(r.c.ts, i)
		r.ts = ts.(*array.Timestamp).TimestampValues()
		price, _ := r.rows.Cell(r.c.price, i)
		r.price = price.(*array.Int64).Int64Values()
	}
	return j
}

func rowInt64(rows stateful.Rows, c, i int) int64 {
	a, j := rows.Cell(c, i)
	return a.(*array.Int64).Value(j)
}

func rowTimestamp(rows stateful.Rows, c, i int) int64 {
	a, j := rows.Cell(c, i)
	return int64(a.(*array.Timestamp).Value(j))
}

// fold counts a bid at tUs of price in a, if it falls within a's
// lifetime; it reports whether a changed.
func (a *nexmarkOpenAuction) fold(tUs, price int64) bool {
	if tUs < a.TimeUs || tUs > a.ExpiresUs || (a.Bids && price <= a.Final) {
		return false
	}
	a.Final, a.Bids = price, true
	return true
}

// HandleInputRows takes the key's auction row first (if it is in the
// batch), then its bids.
func (p *nexmarkCloser) HandleInputRows(_ context.Context, _ stateful.Key, rows stateful.Rows, h *stateful.Handle, _ *stateful.Output) error {
	c, err := p.columns(rows)
	if err != nil {
		return err
	}
	r := nexmarkCloseReader{c: c, rows: rows}
	a, seen := p.auction.Get(h)
	arrived, changed := false, false
	n := rows.Len()
	if !seen {
		for i := range n {
			if j := r.at(i); NexmarkKind(r.kind[j]) == NexmarkAuction {
				a = nexmarkOpenAuction{
					Category: rowInt64(rows, c.category, i), Seller: rowInt64(rows, c.seller, i),
					TimeUs: int64(r.ts[j]), ExpiresUs: rowTimestamp(rows, c.expires, i),
				}
				seen, arrived, changed = true, true, true
				break
			}
		}
	}
	if arrived {
		// Pending bids each have a timer: a key without timers has none,
		// and its list need not be read.
		if len(h.ListTimers()) > 0 {
			for _, b := range p.pending.Get(h) {
				a.fold(b.TimeUs, b.Price)
				h.DeleteTimer(timerMs(b.TimeUs))
			}
			p.pending.Clear(h)
		}
		h.RegisterTimer(timerMs(a.ExpiresUs))
	}
	for i := range n {
		j := r.at(i)
		if NexmarkKind(r.kind[j]) != NexmarkBid {
			continue
		}
		tUs, price := int64(r.ts[j]), r.price[j]
		if seen {
			changed = a.fold(tUs, price) || changed
			continue
		}
		p.pending.Append(h, nexmarkPendingBid{TimeUs: tUs, Price: price})
		h.RegisterTimer(timerMs(tUs))
	}
	if changed {
		p.auction.Update(h, a)
	}
	return nil
}

// HandleExpiredTimer closes the auction when the watermark has reached
// its expiry, or drops the pending bids the watermark has passed.
func (p *nexmarkCloser) HandleExpiredTimer(_ context.Context, key stateful.Key, _ stateful.ExpiredTimer, h *stateful.Handle, out *stateful.Output) error {
	wmUs := h.CurrentWatermarkMs() * 1000
	a, seen := p.auction.Get(h)
	if seen {
		if a.ExpiresUs > wmUs {
			return nil
		}
		p.auction.Clear(h)
		if !a.Bids {
			return nil
		}
		id, ok := key.Value(0).(int64)
		if !ok {
			return fmt.Errorf("benchsuite: nexmark closing auctions: the key %v is not an auction id (int64); group by id", key)
		}
		out.Builder(0).(*array.Int64Builder).Append(id)
		out.Builder(1).(*array.Int64Builder).Append(a.Category)
		out.Builder(2).(*array.Int64Builder).Append(a.Seller)
		out.Builder(3).(*array.TimestampBuilder).Append(arrow.Timestamp(a.ExpiresUs))
		out.Builder(4).(*array.Int64Builder).Append(a.Final)
		return out.EndRow()
	}
	waiting := p.pending.Get(h)
	kept := slices.DeleteFunc(waiting, func(b nexmarkPendingBid) bool { return b.TimeUs <= wmUs })
	if len(kept) < p.pending.Len(h) {
		p.pending.Put(h, kept)
	}
	return nil
}

// nexmarkQ6Window is how many closed auctions of a seller q6 averages:
// the last 10, as Beam's Query6 (Flink's SQL, ROWS BETWEEN 10 PRECEDING
// AND CURRENT ROW, takes 11).
const nexmarkQ6Window = 10

// nexmarkSellerAvgSchema is q6's result: a seller and the average final
// price of their last nexmarkQ6Window closed auctions.
var nexmarkSellerAvgSchema = arrow.NewSchema([]arrow.Field{
	{Name: "seller", Type: arrow.PrimitiveTypes.Int64},
	{Name: "avg", Type: arrow.PrimitiveTypes.Float64},
}, nil)

// nexmarkSellerAverage is q6's second step, per seller over the closing
// auctions (nexmarkClosedSchema rows): the final prices of the seller's
// last nexmarkQ6Window closed auctions, in the order the auctions closed
// (expiry, then id, so that auctions closing at the same time are in a
// fixed order). For each closed auction it emits (seller, the average of
// the window that ends with it). A batch's closings of a seller are put
// in that order first; closings of later batches come after, since an
// auction closes in the first batch whose watermark has reached its
// expiry.
type nexmarkSellerAverage struct {
	finals *stateful.ListState[int64]
}

// Init declares the state variable.
func (p *nexmarkSellerAverage) Init(_ context.Context, h *stateful.Handle) error {
	p.finals = stateful.List[int64](h, "finals")
	return nil
}

type nexmarkClosing struct{ expiresUs, id, final int64 }

// HandleInputRows emits one row per closed auction of the seller.
func (p *nexmarkSellerAverage) HandleInputRows(_ context.Context, key stateful.Key, rows stateful.Rows, h *stateful.Handle, out *stateful.Output) error {
	idC, expC, finalC := rows.Column("id"), rows.Column("expires"), rows.Column("final")
	if min(idC, expC, finalC) < 0 {
		return fmt.Errorf("benchsuite: nexmark q6: the input has columns %v, not id, expires and final; read the closing auctions", rows.Schema())
	}
	seller, ok := key.Value(0).(int64)
	if !ok {
		return fmt.Errorf("benchsuite: nexmark q6: the key %v is not a seller (int64); group by seller", key)
	}
	closed := make([]nexmarkClosing, rows.Len())
	for i := range closed {
		closed[i] = nexmarkClosing{rowTimestamp(rows, expC, i), rowInt64(rows, idC, i), rowInt64(rows, finalC, i)}
	}
	slices.SortFunc(closed, func(a, b nexmarkClosing) int {
		return cmp.Or(cmp.Compare(a.expiresUs, b.expiresUs), cmp.Compare(a.id, b.id))
	})
	window := p.finals.Get(h)
	sellers, avgs := out.Builder(0).(*array.Int64Builder), out.Builder(1).(*array.Float64Builder)
	for _, cl := range closed {
		window = append(window, cl.final)
		if len(window) > nexmarkQ6Window {
			window = window[len(window)-nexmarkQ6Window:]
		}
		sum := int64(0)
		for _, f := range window {
			sum += f
		}
		sellers.Append(seller)
		avgs.Append(float64(sum) / float64(len(window)))
		if err := out.EndRow(); err != nil {
			return err
		}
	}
	p.finals.Put(h, window)
	return nil
}

// HandleExpiredTimer does nothing: the step sets no timers.
func (p *nexmarkSellerAverage) HandleExpiredTimer(context.Context, stateful.Key, stateful.ExpiredTimer, *stateful.Handle, *stateful.Output) error {
	return nil
}

// nexmarkQ4 is
//
//	SELECT Q.category, AVG(Q.final) FROM (
//	  SELECT MAX(B.price) AS final, A.category FROM auction A, bid B
//	  WHERE A.id = B.auction AND B.dateTime BETWEEN A.dateTime AND A.expires
//	  GROUP BY A.id, A.category) Q
//	GROUP BY Q.category
//
// as two queries: the closing auctions (nexmarkClosedAuctions, a keyed
// state machine in place of the join and its aggregation) in append mode,
// then the average of their final prices per category in complete mode,
// over the first query's rows. Sluice refuses transformWithState in a
// complete-mode query, so the average cannot follow it in one query (in
// update mode it can, but then a category's average is written again in
// every batch that changes it, where the reference's result is one row
// per category). The reference's inner aggregation is an updating one
// whose retractions flow into the average; here each auction's final
// price reaches the average once, which gives the same final result.
func nexmarkQ4(ctx context.Context, e *nexmarkEnv, out *nexmarkSink) error {
	src, err := e.source(true, NexmarkAuction, NexmarkBid)
	if err != nil {
		return err
	}
	return e.q4(ctx, nexmarkRead(src), out)
}

// q4 runs q4 over base, a Nexmark source's rows with the watermark.
func (e *nexmarkEnv) q4(ctx context.Context, base *dataframe.DataFrame, out *nexmarkSink) error {
	closed := newNexmarkSink(true)
	defer closed.release()
	if err := e.run(ctx, "q4-closing", nexmarkClosedAuctions(base), closed, "append"); err != nil {
		return err
	}
	return e.stage(ctx, "q4", closed, out, "complete", func(df *dataframe.DataFrame) *dataframe.DataFrame {
		return df.GroupBy(col("category")).Agg(dataframe.Avg(col("final")).As("avg"))
	})
}

// nexmarkQ6 is the reference's average selling price by seller: for each
// auction that closes, its seller and the average final price of the
// seller's last 10 closed auctions, this one included (Beam's Query6
// window of 10; Flink's SQL,
//
//	AVG(final) OVER (PARTITION BY seller ORDER BY dateTime ROWS BETWEEN 10 PRECEDING AND CURRENT ROW)
//
// averages 11). It is one query: the closing auctions of q4, with their
// sellers, then a second transformWithState keyed by seller holding the
// last 10 final prices in the order the auctions closed (expiry, then id).
// A final price is the highest bid within the auction's lifetime, as in
// q4, where Beam's winning bid must also reach the auction's reserve.
func nexmarkQ6(ctx context.Context, e *nexmarkEnv, out *nexmarkSink) error {
	src, err := e.source(true, NexmarkAuction, NexmarkBid)
	if err != nil {
		return err
	}
	return e.q6(ctx, nexmarkRead(src), out)
}

// q6 runs q6 over base, a Nexmark source's rows with the watermark.
func (e *nexmarkEnv) q6(ctx context.Context, base *dataframe.DataFrame, out *nexmarkSink) error {
	df := nexmarkClosedAuctions(base).GroupBy(col("seller")).
		TransformWithState(&nexmarkSellerAverage{}, nexmarkSellerAvgSchema, stateful.ProcessingTime)
	return e.run(ctx, "q6", df, out, "append")
}
