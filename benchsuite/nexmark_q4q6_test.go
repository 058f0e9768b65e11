package benchsuite

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/dataframe"
	"github.com/sluicehq/sluice/engine"
	"github.com/sluicehq/sluice/internal/arrowrows"
	"github.com/sluicehq/sluice/objstore"
	"github.com/sluicehq/sluice/source"
	memsrc "github.com/sluicehq/sluice/source/memory"
	"github.com/sluicehq/sluice/trigger"
)

// nexmarkClosedRow is a closing auction as the maps compute it.
type nexmarkClosedRow struct {
	id, category, seller, expiresMs, final int64
}

func (r nexmarkClosedRow) String() string {
	return row(r.id, r.category, r.seller, us(r.expiresMs), r.final)
}

// nexmarkClosedExpected is the closing-auction step computed from the
// events with maps: per auction, the highest price of its bids with
// dateTime between the auction's dateTime and expiry (both included);
// auctions without such a bid give no row. skip, when not nil, leaves out
// the bids it returns true for.
func nexmarkClosedExpected(evs nexmarkEvents, skip func(b int) bool) []nexmarkClosedRow {
	byAuction := map[int64][]int{}
	for i, b := range evs.bids {
		if skip == nil || !skip(i) {
			byAuction[b.Auction] = append(byAuction[b.Auction], i)
		}
	}
	var out []nexmarkClosedRow
	for _, a := range evs.auctions {
		final, found := int64(math.MinInt64), false
		for _, i := range byAuction[a.ID] {
			b := evs.bids[i]
			if b.DateTimeMs >= a.DateTimeMs && b.DateTimeMs <= a.ExpiresMs {
				final, found = max(final, b.Price), true
			}
		}
		if found {
			out = append(out, nexmarkClosedRow{a.ID, a.Category, a.Seller, a.ExpiresMs, final})
		}
	}
	return out
}

// nexmarkSellerAvg is one q6 result row as the maps compute it.
type nexmarkSellerAvg struct {
	seller int64
	avg    float64
}

// nexmarkSellerAverages is q6 computed with maps: per seller, the closed
// auctions in closing order (expiry, then id), and for each the average
// final price of the last 10 up to it.
func nexmarkSellerAverages(closed []nexmarkClosedRow) []nexmarkSellerAvg {
	bySeller := map[int64][]nexmarkClosedRow{}
	for _, c := range closed {
		bySeller[c.seller] = append(bySeller[c.seller], c)
	}
	var out []nexmarkSellerAvg
	for seller, cs := range bySeller {
		slices.SortFunc(cs, func(a, b nexmarkClosedRow) int {
			return cmp.Or(cmp.Compare(a.expiresMs, b.expiresMs), cmp.Compare(a.id, b.id))
		})
		for k := range cs {
			sum, n := int64(0), 0
			for j := max(0, k-9); j <= k; j++ {
				sum += cs[j].final
				n++
			}
			out = append(out, nexmarkSellerAvg{seller, float64(sum) / float64(n)})
		}
	}
	return out
}

func nexmarkClosedStrings(rows []nexmarkClosedRow) []string {
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = r.String()
	}
	slices.Sort(out)
	return out
}

// nexmarkQ4Schema is the schema of the test's auction and bid rows: the
// Nexmark source's columns that q4 and q6 read.
var nexmarkQ4Schema = arrow.NewSchema([]arrow.Field{
	{Name: "event_type", Type: arrow.PrimitiveTypes.Int32},
	{Name: "dateTime", Type: nexmarkTimestamp},
	{Name: "auction_id", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: "auction_expires", Type: nexmarkTimestamp, Nullable: true},
	{Name: "auction_seller", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: "auction_category", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: "bid_auction", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: "bid_price", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
}, nil)

// q4Event is an auction, a bid or the end marker, as a row of
// nexmarkQ4Schema.
type q4Event struct {
	kind    NexmarkKind
	tMs     int64
	auction NexmarkAuctionEvent
	bid     NexmarkBidEvent
	bidIdx  int // a bid's index in the events' bids
}

func (ev q4Event) row() []any {
	switch ev.kind {
	case NexmarkAuction:
		a := ev.auction
		return []any{int32(ev.kind), us(ev.tMs), a.ID, us(a.ExpiresMs), a.Seller, a.Category, nil, nil}
	case NexmarkBid:
		return []any{int32(ev.kind), us(ev.tMs), nil, nil, nil, nil, ev.bid.Auction, ev.bid.Price}
	}
	return []any{int32(ev.kind), us(ev.tMs), nil, nil, nil, nil, nil, nil}
}

// rowLimited is a memory source that serves at most rows rows per batch.
type rowLimited struct {
	*memsrc.Source
	rows int64
}

func (s rowLimited) DefaultReadLimit() source.ReadLimit { return source.MaxRows(s.rows) }

// q4Input is an arrangement of events as records of nexmarkQ4Schema, one
// per batch.
type q4Input struct {
	recs []arrow.RecordBatch
	rows int64
	mem  memory.Allocator
}

func newQ4Input(t *testing.T, mem memory.Allocator, evs []q4Event, perBatch int) *q4Input {
	t.Helper()
	in := &q4Input{mem: mem, rows: int64(perBatch)}
	for lo := 0; lo < len(evs); lo += perBatch {
		hi := min(lo+perBatch, len(evs))
		rows := make([][]any, 0, hi-lo)
		for _, ev := range evs[lo:hi] {
			rows = append(rows, ev.row())
		}
		rec, err := arrowrows.Build(mem, nexmarkQ4Schema, rows)
		if err != nil {
			t.Fatal(err)
		}
		in.recs = append(in.recs, rec)
	}
	return in
}

// base is a fresh source over the records (a memory source gives its
// records up when its query stops), read with the watermark
// dateTime - 4 s.
func (in *q4Input) base() *dataframe.DataFrame {
	src := memsrc.New(nexmarkQ4Schema, memsrc.WithAllocator(in.mem))
	src.Add(in.recs...)
	return dataframe.ReadStream(rowLimited{src, in.rows}).WithWatermark("dateTime", nexmarkWatermark)
}

func (in *q4Input) release() {
	for _, r := range in.recs {
		r.Release()
	}
}

// runQuery runs df into out until the input is done and returns the
// query, for its progress.
func runQuery(t *testing.T, mem memory.Allocator, df *dataframe.DataFrame, out *nexmarkSink, mode string) *engine.Query {
	t.Helper()
	ctx := context.Background()
	q, err := df.WriteStream(out).OutputMode(mode).Trigger(trigger.AvailableNow()).CheckpointStore(objstore.NewMemory()).
		Allocator(mem).Engine(engine.New(engine.WithLogger(nexmarkQuiet))).Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := q.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	return q
}

// checkClosingProgress checks that no row was late and that the closing
// step's state is empty at the end: every auction closed, every pending
// bid dropped.
func checkClosingProgress(t *testing.T, q *engine.Query, wantBatches int) {
	t.Helper()
	prog := q.RecentProgress()
	if len(prog) < wantBatches {
		t.Fatalf("%d batches, want at least %d: the watermark did not move between batches", len(prog), wantBatches)
	}
	for _, p := range prog {
		for _, op := range p.StateOperators {
			if op.NumRowsDroppedByWatermark != 0 {
				t.Errorf("batch %d: %s dropped %d rows as late; the arrangement keeps every row ahead of the watermark", p.BatchID, op.OperatorName, op.NumRowsDroppedByWatermark)
			}
		}
	}
	last := prog[len(prog)-1]
	if len(last.StateOperators) == 0 {
		t.Fatalf("the last batch reports no state operator")
	}
	if n := last.StateOperators[0].NumRowsTotal; n != 0 {
		t.Errorf("after the last batch the closing step keeps %d state rows, want 0 (auctions closed, pending bids dropped)", n)
	}
}

// TestNexmarkQ4Q6ArrivalOrders runs the closing step, q4 and q6 over the
// same auctions and bids in three arrival orders: the generator's, and
// within every 3 s of event time (less than the 4 s watermark delay, so
// no row is late) reversed or shuffled, which puts bids before their
// auctions. The rows must equal the maps' (the join's semantics) in every
// order; in the out-of-order ones, bids that matched arrived before their
// auction, and leaving them out would change the result, so they were
// buffered and folded in.
func TestNexmarkQ4Q6ArrivalOrders(t *testing.T) {
	const (
		rate    = 10_000 // events/s: auctions last up to about 0.3 s, the input 10 s
		events  = 100_000
		chunkMs = 3_000
		batch   = 10_000
		seed    = 11
	)
	g, err := NewNexmarkGenerator(WithNexmarkRate(rate))
	if err != nil {
		t.Fatal(err)
	}
	var inOrder []q4Event
	var evs nexmarkEvents
	for n := range int64(events) {
		ev := q4Event{kind: g.Kind(n), tMs: g.TimeMs(n)}
		switch ev.kind {
		case NexmarkAuction:
			ev.auction = g.Auction(n)
			evs.auctions = append(evs.auctions, ev.auction)
		case NexmarkBid:
			ev.bid, ev.bidIdx = g.Bid(n), len(evs.bids)
			evs.bids = append(evs.bids, ev.bid)
		default:
			continue
		}
		inOrder = append(inOrder, ev)
	}
	closed := nexmarkClosedExpected(evs, nil)
	wantClosed := nexmarkClosedStrings(closed)
	wantQ4 := nexmarkExpected("q4", evs)
	wantQ6 := nexmarkExpected("q6", evs)
	if len(wantClosed) < 1000 || len(wantQ4) != 5 || len(wantQ6) != len(wantClosed) {
		t.Fatalf("the maps give %d closing auctions, %d q4 rows and %d q6 rows: too few to test", len(wantClosed), len(wantQ4), len(wantQ6))
	}
	// Within each chunk of event time, reorder with perm.
	arrange := func(perm func([]q4Event)) []q4Event {
		out := slices.Clone(inOrder)
		for lo := 0; lo < len(out); {
			hi := lo
			for hi < len(out) && out[hi].tMs < out[lo].tMs+chunkMs {
				hi++
			}
			perm(out[lo:hi])
			lo = hi
		}
		return out
	}
	r := rand.New(rand.NewPCG(seed, seed))
	orders := []struct {
		name string
		evs  []q4Event
	}{
		{"in order", inOrder},
		{"reversed within 3 s", arrange(slices.Reverse[[]q4Event])},
		{fmt.Sprintf("shuffled within 3 s, seed %d", seed), arrange(func(s []q4Event) { r.Shuffle(len(s), func(i, j int) { s[i], s[j] = s[j], s[i] }) })},
	}
	for _, order := range orders {
		t.Run(order.name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			arranged := append(slices.Clone(order.evs), q4Event{kind: NexmarkEndOfInput, tMs: inOrder[len(inOrder)-1].tMs + time.Hour.Milliseconds()})
			// Which bids arrive before their auction, and which of those
			// match it.
			auctionAt := map[int64]int{}
			for i, ev := range arranged {
				if ev.kind == NexmarkAuction {
					auctionAt[ev.auction.ID] = i
				}
			}
			early := map[int]bool{} // index into evs.bids
			for i, ev := range arranged {
				if ev.kind != NexmarkBid {
					continue
				}
				if at, ok := auctionAt[ev.bid.Auction]; !ok || at > i {
					early[ev.bidIdx] = true
				}
			}
			withoutEarly := nexmarkClosedStrings(nexmarkClosedExpected(evs, func(b int) bool { return early[b] }))
			if order.name != "in order" && slices.Equal(withoutEarly, wantClosed) {
				t.Fatalf("%d bids arrive before their auction, but leaving them out changes no closing auction: the order tests nothing", len(early))
			}
			in := newQ4Input(t, mem, arranged, batch)
			defer in.release()
			e := &nexmarkEnv{gen: g, mem: mem}

			out := newNexmarkSink(true)
			defer out.release()
			q := runQuery(t, mem, nexmarkClosedAuctions(in.base()), out, "append")
			checkClosingProgress(t, q, events/batch)
			if got := nexmarkRowsOf(t, out.recs); !slices.Equal(got, wantClosed) {
				t.Errorf("closing auctions: %d rows, want %d (without the bids that came before their auction: %d)\nfirst got:  %v\nfirst want: %v",
					len(got), len(wantClosed), len(withoutEarly), got[:min(3, len(got))], wantClosed[:3])
			}

			q4 := newNexmarkSink(true)
			defer q4.release()
			if err := e.q4(context.Background(), in.base(), q4); err != nil {
				t.Fatal(err)
			}
			if got := nexmarkRowsOf(t, q4.recs); !slices.Equal(got, wantQ4) {
				t.Errorf("q4: %v, want %v", got, wantQ4)
			}

			q6 := newNexmarkSink(true)
			defer q6.release()
			if err := e.q6(context.Background(), in.base(), q6); err != nil {
				t.Fatal(err)
			}
			if got := nexmarkRowsOf(t, q6.recs); !slices.Equal(got, wantQ6) {
				t.Errorf("q6: %d rows, want %d\nfirst got:  %v\nfirst want: %v", len(got), len(wantQ6), got[:min(3, len(got))], wantQ6[:3])
			}
		})
	}
}

// TestNexmarkCloserCases runs the closing step over a few auctions and
// bids written out by hand, in three batches, with the watermark 4 s
// behind:
//
//   - auction 1 (10 s to 12 s): a bid at 10 s (price 50) and one at
//     9.999 s (500) arrive before it, in batch 1: the first is folded in
//     when the auction arrives, the second is before its start; a bid at
//     12 s (7) matches (the expiry is included), one at 12.001 s (1000)
//     does not; a bid at 11 s (6) in batch 3 does. Final: 50.
//   - auction 2 (10.2 s to 11 s) gets no bid: no row.
//   - auction 3 never arrives: its pending bid is dropped when the
//     watermark passes it, leaving no state.
//   - auction 4 (13 s to 14 s) gets a bid at 13.5 s (60), in the batch
//     after it, and one at its expiry, 14 s (80). Final: 80.
func TestNexmarkCloserCases(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	const s = 1000 // ms
	auction := func(id, tMs, expiresMs int64) q4Event {
		return q4Event{kind: NexmarkAuction, tMs: tMs, auction: NexmarkAuctionEvent{ID: id, DateTimeMs: tMs, ExpiresMs: expiresMs, Seller: 100 + id, Category: 10 + id}}
	}
	bid := func(id, tMs, price int64) q4Event {
		return q4Event{kind: NexmarkBid, tMs: tMs, bid: NexmarkBidEvent{Auction: id, DateTimeMs: tMs, Price: price}}
	}
	batches := [][]q4Event{
		{bid(1, 10*s, 50), bid(1, 10*s-1, 500), bid(3, 10*s+500, 9)},
		{auction(1, 10*s, 12*s), bid(1, 12*s, 7), bid(1, 12*s+1, 1000), auction(2, 10*s+200, 11*s), auction(4, 13*s, 14*s)},
		{bid(1, 11*s, 6), bid(4, 13*s+500, 60), bid(4, 14*s, 80), {kind: NexmarkEndOfInput, tMs: 3600 * s}},
	}
	in := &q4Input{mem: mem, rows: 1}
	defer in.release()
	for _, b := range batches {
		part := newQ4Input(t, mem, b, len(b))
		in.recs = append(in.recs, part.recs...)
	}
	src := memsrc.New(nexmarkQ4Schema, memsrc.WithAllocator(mem))
	src.Add(in.recs...)
	// One record per batch.
	base := dataframe.ReadStream(rowLimited{src, 1}).WithWatermark("dateTime", nexmarkWatermark)
	out := newNexmarkSink(true)
	defer out.release()
	q := runQuery(t, mem, nexmarkClosedAuctions(base), out, "append")
	checkClosingProgress(t, q, len(batches))
	got := nexmarkRowsOf(t, out.recs)
	want := []string{
		nexmarkClosedRow{1, 11, 101, 12 * s, 50}.String(),
		nexmarkClosedRow{4, 14, 104, 14 * s, 80}.String(),
	}
	if !slices.Equal(got, want) {
		t.Errorf("closing auctions %v, want %v", got, want)
	}
}
