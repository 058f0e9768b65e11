package benchsuite

import (
	"context"
	"fmt"
	"hash/fnv"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/source"
)

func TestNexmarkRandIsJavaUtilRandom(t *testing.T) {
	// Values of new java.util.Random(42).
	r := newNexmarkRand(42)
	if got := r.nextInt32(); got != -1170105035 {
		t.Errorf("nextInt() = %d, want -1170105035", got)
	}
	r = newNexmarkRand(42)
	if got := r.nextFloat64(); got != 0.7275636800328681 {
		t.Errorf("nextDouble() = %v, want 0.7275636800328681", got)
	}
	r = newNexmarkRand(42)
	if got := r.nextInt64(); got != -5025562857975149833 {
		t.Errorf("nextLong() = %d, want -5025562857975149833", got)
	}
	r = newNexmarkRand(42)
	for range 1000 {
		if v := r.intn(7); v < 0 || v >= 7 {
			t.Fatalf("nextInt(7) = %d", v)
		}
		if v := r.intn(16); v < 0 || v >= 16 {
			t.Fatalf("nextInt(16) = %d", v)
		}
	}
}

func TestNexmarkGeneratorSemantics(t *testing.T) {
	g, err := NewNexmarkGenerator()
	if err != nil {
		t.Fatal(err)
	}
	const n = 200_000
	var kinds [3]int
	hotAuction, hotBidder, bids := 0, 0, 0
	for i := int64(0); i < n; i++ {
		k := g.Kind(i)
		kinds[k]++
		if want := nexmarkBaseTime.UnixMilli() + i/10_000; g.TimeMs(i) != want {
			t.Fatalf("event %d at %d ms, want %d (10M events per second)", i, g.TimeMs(i), want)
		}
		switch k {
		case NexmarkPerson:
			p := g.Person(i)
			if p.ID != 1000+i/50 {
				t.Fatalf("person at event %d has id %d, want %d", i, p.ID, 1000+i/50)
			}
			if !slices.Contains(nexmarkStates, p.State) || !slices.Contains(nexmarkCities, p.City) || len(p.CreditCard) != 19 {
				t.Fatalf("person %+v has a state, city or card not of the reference's", p)
			}
		case NexmarkAuction:
			a := g.Auction(i)
			last := nexmarkLastAuction(i)
			if a.ID != 1000+last || last != (i/50)*3+(i%50-1) {
				t.Fatalf("auction at event %d has id %d", i, a.ID)
			}
			if a.ExpiresMs <= a.DateTimeMs || a.ExpiresMs-a.DateTimeMs > g.MaxAuctionLengthMs() {
				t.Fatalf("auction %d lasts %d ms, want 1..%d", a.ID, a.ExpiresMs-a.DateTimeMs, g.MaxAuctionLengthMs())
			}
			if a.Category < 10 || a.Category > 14 || a.Reserve < a.InitialBid || a.Seller < 1000 || a.Seller > 1000+i/50+10 {
				t.Fatalf("auction %+v out of the reference's ranges", a)
			}
		case NexmarkBid:
			b := g.Bid(i)
			bids++
			last := nexmarkLastAuction(i)
			if b.Auction-1000 > last+10 || b.Auction-1000 < max(last-100, 0)-1 && b.Auction-1000 != last/100*100 {
				t.Fatalf("bid at event %d is for auction %d, outside the 100 in flight (last %d) plus 10", i, b.Auction, last+1000)
			}
			if b.Auction-1000 == last/100*100 {
				hotAuction++
			}
			if b.Bidder-1000 == nexmarkLastPerson(i)/100*100+1 {
				hotBidder++
			}
			if b.Price < 100 || b.Price > 100_000_000 || len(b.Extra) < 54 || len(b.Extra) > 81 || !strings.HasPrefix(b.URL, "https://www.nexmark.com/") {
				t.Fatalf("bid %+v out of the reference's ranges", b)
			}
		}
	}
	if kinds != [3]int{n / 50, n / 50 * 3, n / 50 * 46} {
		t.Errorf("kinds %v, want 1:3:46 of %d", kinds, n)
	}
	// 1 - 1/2 of bids go to the hot auction (plus a few by chance),
	// 1 - 1/4 to the hot bidder.
	if f := float64(hotAuction) / float64(bids); f < 0.49 || f > 0.53 {
		t.Errorf("%.3f of bids to the hot auction, want about 0.5", f)
	}
	if f := float64(hotBidder) / float64(bids); f < 0.74 || f > 0.77 {
		t.Errorf("%.3f of bids by the hot bidder, want about 0.75", f)
	}
	// Determinism and the seed.
	g2, _ := NewNexmarkGenerator()
	g3, _ := NewNexmarkGenerator(WithNexmarkSeed(7))
	if g.Bid(1234) != g2.Bid(1234) {
		t.Error("the same options gave different bids")
	}
	if g.Bid(1234) == g3.Bid(1234) {
		t.Error("another seed gave the same bid")
	}
	if _, err := NewNexmarkGenerator(WithNexmarkRate(3)); err == nil || !strings.Contains(err.Error(), "divisor of 1e9") {
		t.Errorf("rate 3: err = %v, want a divisor error", err)
	}
}

func TestNexmarkSourceRowsAreTheGenerators(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	ctx := context.Background()
	g, _ := NewNexmarkGenerator()
	src, err := NewNexmarkSource(g, 10_000, WithNexmarkBatchEvents(3000), WithNexmarkChunkEvents(1000), WithNexmarkEndMarker())
	if err != nil {
		t.Fatal(err)
	}
	evs, ends := readNexmark(t, src, mem)
	if !slices.Equal(ends, []int64{3000, 6000, 9000, 10_000}) {
		t.Errorf("batches end at %v, want every 3000 events", ends)
	}
	if len(evs.persons) != 200 || len(evs.auctions) != 600 || len(evs.bids) != 9200 || evs.markers != 1 {
		t.Fatalf("read %d persons, %d auctions, %d bids, %d markers", len(evs.persons), len(evs.auctions), len(evs.bids), evs.markers)
	}
	for _, p := range evs.persons[:20] {
		if want := g.Person((p.ID - 1000) * 50); p != want {
			t.Fatalf("source person %+v, generator %+v", p, want)
		}
	}
	if want := g.Auction(2); evs.auctions[1] != want {
		t.Fatalf("source auction %+v, generator %+v", evs.auctions[1], want)
	}
	if want := g.Bid(9999); evs.bids[len(evs.bids)-1] != want {
		t.Fatalf("source bid %+v, generator %+v", evs.bids[len(evs.bids)-1], want)
	}
	// A re-read of the same offsets gives the same rows.
	a := readRange(t, src, mem, 3000, 6000)
	b := readRange(t, src, mem, 3000, 6000)
	if a != b || a == "" {
		t.Errorf("two reads of (3000, 6000] differ: %s vs %s", a, b)
	}
	if _, err := src.Read(ctx, source.CounterOffset("event", 0), source.CounterOffset("event", 20_000), mem); err == nil || !strings.Contains(err.Error(), "beyond") {
		t.Errorf("reading past the end: err = %v", err)
	}
	if _, err := NewNexmarkSource(g, 10, WithNexmarkKinds()); err == nil {
		t.Error("a source serving no kind was accepted")
	}
}

func readRange(t *testing.T, src *NexmarkSource, mem memory.Allocator, from, to int64) string {
	t.Helper()
	recs, err := src.Read(context.Background(), source.CounterOffset("event", from), source.CounterOffset("event", to), mem)
	if err != nil {
		t.Fatal(err)
	}
	var d nexmarkDigest
	var scratch []uint64
	for _, r := range recs {
		if scratch, err = d.addRecord(r, scratch); err != nil {
			t.Fatal(err)
		}
		r.Release()
	}
	return fmt.Sprint(d.rows, d)
}

// nexmarkEvents are a source's rows as Go values.
type nexmarkEvents struct {
	persons  []NexmarkPersonEvent
	auctions []NexmarkAuctionEvent
	bids     []NexmarkBidEvent
	markers  int
}

// readNexmark reads all of src batch by batch, as the driver does.
func readNexmark(t *testing.T, src *NexmarkSource, mem memory.Allocator) (nexmarkEvents, []int64) {
	t.Helper()
	ctx := context.Background()
	var evs nexmarkEvents
	var ends []int64
	var start source.Offset
	for {
		end, err := src.LatestOffset(ctx, start, src.DefaultReadLimit())
		if err != nil {
			t.Fatal(err)
		}
		if string(end) == string(start) {
			return evs, ends
		}
		n, _ := source.ParseCounterOffset("test", "event", end)
		ends = append(ends, n)
		recs, err := src.Read(ctx, start, end, mem)
		if err != nil {
			t.Fatal(err)
		}
		for _, rec := range recs {
			evs.add(t, rec)
			rec.Release()
		}
		start = end
	}
}

func (evs *nexmarkEvents) add(t *testing.T, rec arrow.RecordBatch) {
	t.Helper()
	cols := map[string]arrow.Array{}
	for i, f := range rec.Schema().Fields() {
		cols[f.Name] = rec.Column(i)
	}
	i64 := func(name string, i int) int64 { return cols[name].(*array.Int64).Value(i) }
	str := func(name string, i int) string { return cols[name].(*array.String).Value(i) }
	ms := func(name string, i int) int64 { return int64(cols[name].(*array.Timestamp).Value(i)) / 1000 }
	et := cols["event_type"].(*array.Int32)
	for i := 0; i < int(rec.NumRows()); i++ {
		switch NexmarkKind(et.Value(i)) {
		case NexmarkPerson:
			evs.persons = append(evs.persons, NexmarkPersonEvent{ID: i64("person_id", i), Name: str("person_name", i),
				EmailAddress: str("person_emailAddress", i), CreditCard: str("person_creditCard", i), City: str("person_city", i),
				State: str("person_state", i), DateTimeMs: ms("dateTime", i), Extra: str("person_extra", i)})
		case NexmarkAuction:
			evs.auctions = append(evs.auctions, NexmarkAuctionEvent{ID: i64("auction_id", i), ItemName: str("auction_itemName", i),
				Description: str("auction_description", i), InitialBid: i64("auction_initialBid", i), Reserve: i64("auction_reserve", i),
				DateTimeMs: ms("dateTime", i), ExpiresMs: ms("auction_expires", i), Seller: i64("auction_seller", i),
				Category: i64("auction_category", i), Extra: str("auction_extra", i)})
		case NexmarkBid:
			evs.bids = append(evs.bids, NexmarkBidEvent{Auction: i64("bid_auction", i), Bidder: i64("bid_bidder", i), Price: i64("bid_price", i),
				Channel: str("bid_channel", i), URL: str("bid_url", i), DateTimeMs: ms("dateTime", i), Extra: str("bid_extra", i)})
		case NexmarkEndOfInput:
			evs.markers++
		default:
			t.Fatalf("row %d has event_type %d", i, et.Value(i))
		}
	}
}

// nexmarkRowsOf formats the rows of recs, one string per row, sorted.
func nexmarkRowsOf(t *testing.T, recs []arrow.RecordBatch) []string {
	t.Helper()
	var out []string
	for _, rec := range recs {
		for i := 0; i < int(rec.NumRows()); i++ {
			var parts []string
			for c := 0; c < int(rec.NumCols()); c++ {
				parts = appendCell(t, parts, rec.Column(c), i)
			}
			out = append(out, strings.Join(parts, "|"))
		}
	}
	slices.Sort(out)
	return out
}

func appendCell(t *testing.T, parts []string, a arrow.Array, i int) []string {
	if a.IsNull(i) {
		return append(parts, "null")
	}
	switch a := a.(type) {
	case *array.Int64:
		return append(parts, fmt.Sprint(a.Value(i)))
	case *array.Float64:
		return append(parts, fmt.Sprintf("%.10g", a.Value(i)))
	case *array.String:
		return append(parts, a.Value(i))
	case *array.Timestamp:
		return append(parts, fmt.Sprint(int64(a.Value(i))))
	}
	t.Fatalf("unexpected result column type %v", a.DataType())
	return nil
}

// row formats expected values as nexmarkRowsOf does.
func row(vals ...any) string {
	parts := make([]string, len(vals))
	for i, v := range vals {
		switch v := v.(type) {
		case float64:
			parts[i] = fmt.Sprintf("%.10g", v)
		default:
			parts[i] = fmt.Sprint(v)
		}
	}
	return strings.Join(parts, "|")
}

// us is a millisecond time as the results' microseconds.
func us(ms int64) int64 { return ms * 1000 }

// windowStartUs is the start of the window of size sizeUs sliding slideUs
// that holds tsUs and starts last.
func windowStartUs(tsUs, slideUs int64) int64 { return tsUs - tsUs%slideUs }

// nexmarkExpected computes each query's result from the events with maps
// and loops, independently of the engine.
func nexmarkExpected(q string, evs nexmarkEvents) []string {
	var out []string
	switch q {
	case "q0":
		for _, b := range evs.bids {
			out = append(out, row(b.Auction, b.Bidder, b.Price, b.Channel, b.URL, us(b.DateTimeMs), b.Extra))
		}
	case "q1":
		for _, b := range evs.bids {
			out = append(out, row(b.Auction, b.Bidder, float64(b.Price)*0.908, us(b.DateTimeMs), b.Extra))
		}
	case "q2":
		for _, b := range evs.bids {
			if b.Auction%123 == 0 {
				out = append(out, row(b.Auction, b.Price))
			}
		}
	case "q3":
		sellers := map[int64]NexmarkPersonEvent{}
		for _, p := range evs.persons {
			if p.State == "OR" || p.State == "ID" || p.State == "CA" {
				sellers[p.ID] = p
			}
		}
		for _, a := range evs.auctions {
			if p, ok := sellers[a.Seller]; ok && a.Category == 10 {
				out = append(out, row(p.Name, p.City, p.State, a.ID))
			}
		}
	case "q4":
		byAuction := map[int64][]NexmarkBidEvent{}
		for _, b := range evs.bids {
			byAuction[b.Auction] = append(byAuction[b.Auction], b)
		}
		sum, n := map[int64]float64{}, map[int64]int{}
		for _, a := range evs.auctions {
			final, found := int64(math.MinInt64), false
			for _, b := range byAuction[a.ID] {
				if b.DateTimeMs >= a.DateTimeMs && b.DateTimeMs <= a.ExpiresMs {
					final, found = max(final, b.Price), true
				}
			}
			if found {
				sum[a.Category] += float64(final)
				n[a.Category]++
			}
		}
		for c := range sum {
			out = append(out, row(c, sum[c]/float64(n[c])))
		}
	case "q6":
		for _, r := range nexmarkSellerAverages(nexmarkClosedExpected(evs, nil)) {
			out = append(out, row(r.seller, r.avg))
		}
	case "q5":
		type key struct{ start, auction int64 }
		counts := map[key]int64{}
		for _, b := range evs.bids {
			ts := us(b.DateTimeMs)
			for s := windowStartUs(ts, 2_000_000); s > ts-10_000_000; s -= 2_000_000 {
				counts[key{s, b.Auction}]++
			}
		}
		maxn := map[int64]int64{}
		for k, c := range counts {
			maxn[k.start] = max(maxn[k.start], c)
		}
		for k, c := range counts {
			if c == maxn[k.start] {
				out = append(out, row(k.auction, c))
			}
		}
	case "q7":
		maxp := map[int64]int64{}
		for _, b := range evs.bids {
			w := windowStartUs(us(b.DateTimeMs), 10_000_000)
			if p, ok := maxp[w]; !ok || b.Price > p {
				maxp[w] = b.Price
			}
		}
		for _, b := range evs.bids {
			if b.Price == maxp[windowStartUs(us(b.DateTimeMs), 10_000_000)] {
				out = append(out, row(b.Auction, b.Price, b.Bidder, us(b.DateTimeMs), b.Extra))
			}
		}
	case "q8":
		type key struct{ seller, start int64 }
		sold := map[key]bool{}
		for _, a := range evs.auctions {
			sold[key{a.Seller, windowStartUs(us(a.DateTimeMs), 10_000_000)}] = true
		}
		for _, p := range evs.persons {
			start := windowStartUs(us(p.DateTimeMs), 10_000_000)
			if sold[key{p.ID, start}] {
				out = append(out, row(p.ID, p.Name, start))
			}
		}
	}
	slices.Sort(out)
	return out
}

// TestNexmarkQueries runs every query at 100k events, at the reference's
// rate (10M events/s: the whole run within one window) and at 5,000
// events/s (20 s: several windows close and state is evicted while the
// query runs), in five micro-batches, and compares the engine's rows with
// the independent computation and, where there is one, the loop's
// checksum with the engine's.
func TestNexmarkQueries(t *testing.T) {
	for _, rate := range []int64{10_000_000, 5_000} {
		g, err := NewNexmarkGenerator(WithNexmarkRate(rate))
		if err != nil {
			t.Fatal(err)
		}
		all, err := NewNexmarkSource(g, 100_000, WithNexmarkBatchEvents(20_000))
		if err != nil {
			t.Fatal(err)
		}
		mem0 := memory.NewCheckedAllocator(memory.NewGoAllocator())
		evs, _ := readNexmark(t, all, mem0)
		mem0.AssertSize(t, 0)
		for _, q := range nexmarkQueries {
			t.Run(fmt.Sprintf("%s/rate=%d", q.name, rate), func(t *testing.T) {
				mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
				defer mem.AssertSize(t, 0)
				e := &nexmarkEnv{gen: g, events: 100_000, batch: 20_000, chunk: 8192, mem: mem}
				out := newNexmarkSink(true)
				defer out.release()
				if err := q.engine(context.Background(), e, out); err != nil {
					t.Fatal(err)
				}
				got := nexmarkRowsOf(t, out.recs)
				want := nexmarkExpected(q.name, evs)
				if len(want) == 0 {
					t.Fatalf("the expected result is empty: the test checks nothing")
				}
				if !slices.Equal(got, want) {
					t.Fatalf("%d rows, want %d\nfirst got:  %v\nfirst want: %v", len(got), len(want), got[:min(3, len(got))], want[:min(3, len(want))])
				}
				if int(out.digest.rows) != len(got) {
					t.Errorf("the digest counted %d rows, the sink kept %d", out.digest.rows, len(got))
				}
				if q.loop == nil {
					return
				}
				d, err := q.loop(context.Background(), e)
				if err != nil {
					t.Fatal(err)
				}
				if d != out.digest {
					t.Errorf("loop digest %d rows %s, engine %d rows %s", d.rows, d, out.digest.rows, out.digest)
				}
			})
		}
	}
}

// TestNexmarkWorkloads runs each registered workload end to end at a
// small size: timing fields filled, and the loop's checksum agreeing.
func TestNexmarkWorkloads(t *testing.T) {
	for _, q := range []string{"q0", "q1", "q2", "q3", "q4", "q5", "q6", "q7", "q8"} {
		w, ok := Lookup("nexmark-" + q)
		if !ok {
			t.Fatalf("nexmark-%s is not registered", q)
		}
		res, err := w.Run(context.Background(), Config{Events: 20_000, Dir: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		if res.Workload != "nexmark-"+q || res.Events != 20_000 || res.WallS <= 0 || res.EventsPerS <= 0 || len(res.Checksum) != 16 ||
			res.Extra["generator_events_per_s"] <= 0 || res.Extra["result_rows"] <= 0 {
			t.Errorf("%s: result %+v", q, res)
		}
		if hasLoop := slices.Contains([]string{"q0", "q1", "q2", "q5", "q7"}, q); hasLoop != (res.BaselineEventsPerS > 0) {
			t.Errorf("%s: baseline %v events/s", q, res.BaselineEventsPerS)
		}
	}
	if w, ok := Lookup("nexmark-q6"); !ok || !strings.Contains(w.Description, "last 10 closed auctions") {
		t.Errorf("nexmark-q6: registered %v, description %q; want q6 registered, saying which window it averages", ok, w.Description)
	}
}

func TestNexmarkDigestRowsEqualColumns(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "a", Type: arrow.PrimitiveTypes.Int64},
		{Name: "s", Type: arrow.BinaryTypes.String},
		{Name: "f", Type: arrow.PrimitiveTypes.Float64},
	}, nil)
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	b.Field(0).(*array.Int64Builder).AppendValues([]int64{1, 2}, nil)
	b.Field(1).(*array.StringBuilder).AppendValues([]string{"a long string of bytes", "x"}, nil)
	b.Field(2).(*array.Float64Builder).AppendValues([]float64{0.5, 2}, nil)
	rec := b.NewRecordBatch()
	defer rec.Release()
	var byCol, byRow, swapped nexmarkDigest
	if _, err := byCol.addRecord(rec, nil); err != nil {
		t.Fatal(err)
	}
	// Rows in another order give the same digest.
	byRow.add(uint64(newNexmarkRow().int(2).str("x").float(2)))
	byRow.add(uint64(newNexmarkRow().int(1).str("a long string of bytes").float(0.5)))
	if byCol != byRow {
		t.Errorf("by column %s, by row %s", byCol, byRow)
	}
	// Values moved between rows give another.
	swapped.add(uint64(newNexmarkRow().int(1).str("x").float(2)))
	swapped.add(uint64(newNexmarkRow().int(2).str("a long string of bytes").float(0.5)))
	if swapped.String() == byCol.String() {
		t.Error("values exchanged between rows gave the same checksum")
	}
}

// BenchmarkNexmarkGenerator times generation into records as the queries'
// sources make them: Read of 1M events per op on all cores, and one
// 65,536-event record per op on one goroutine; it reports events/s and
// events/s per core of process CPU time.
func BenchmarkNexmarkGenerator(b *testing.B) {
	for _, kinds := range []struct {
		name  string
		kinds []NexmarkKind
	}{
		{"bids", []NexmarkKind{NexmarkBid}},
		{"people+auctions", []NexmarkKind{NexmarkPerson, NexmarkAuction}},
		{"all", []NexmarkKind{NexmarkPerson, NexmarkAuction, NexmarkBid}},
	} {
		g, err := NewNexmarkGenerator()
		if err != nil {
			b.Fatal(err)
		}
		const events = 1_000_000
		src, err := NewNexmarkSource(g, events, WithNexmarkKinds(kinds.kinds...))
		if err != nil {
			b.Fatal(err)
		}
		report := func(b *testing.B, perOp int64, cpu0 time.Duration) {
			cpu := cpuTime() - cpu0
			total := float64(perOp) * float64(b.N)
			b.ReportMetric(total/b.Elapsed().Seconds(), "events/s")
			if cpu > 0 {
				b.ReportMetric(total/cpu.Seconds(), "events/s/core")
			}
		}
		b.Run(kinds.name+"/read", func(b *testing.B) {
			ctx := context.Background()
			cpu0 := cpuTime()
			for b.Loop() {
				recs, err := src.Read(ctx, source.CounterOffset("event", 0), source.CounterOffset("event", events), memory.DefaultAllocator)
				if err != nil {
					b.Fatal(err)
				}
				for _, r := range recs {
					r.Release()
				}
			}
			report(b, events, cpu0)
		})
		b.Run(kinds.name+"/chunk", func(b *testing.B) {
			const chunk = 1 << 16
			cpu0 := cpuTime()
			lo := int64(0)
			for b.Loop() {
				src.generate(memory.DefaultAllocator, lo, lo+chunk).Release()
				lo = (lo + chunk) % (events - chunk)
			}
			report(b, chunk, cpu0)
		})
	}
}

func TestNexmarkPow10IsMathPow(t *testing.T) {
	ys := []float64{0, 1, 0.5, 2, 3, 5, 6, 0.25, 0.75, 1.5, 5.5, 5.999999999999999, math.Nextafter(0.5, 1), math.Nextafter(0.5, 0), math.Nextafter(1, 0), math.Nextafter(1, 2), 1e-300}
	r := newNexmarkRand(1)
	for range 2_000_000 {
		ys = append(ys, r.nextFloat64()*6)
	}
	for _, y := range ys {
		if got, want := nexmarkPow10(y), math.Pow(10, y); math.Float64bits(got) != math.Float64bits(want) {
			t.Fatalf("nexmarkPow10(%v) = %v, math.Pow(10, %v) = %v", y, got, y, want)
		}
	}
}

// The table-and-series price equals the one computed with math.Pow for
// millions of draws, the boundaries of the table's steps and the ends of
// the range.
func TestNexmarkPriceIsExact(t *testing.T) {
	check := func(u float64) {
		t.Helper()
		if got, want := nexmarkPriceOf(u*6), nexmarkPriceExact(u*6); got != want {
			t.Fatalf("price of u=%v: %d, the math.Pow way %d", u, got, want)
		}
	}
	for k := 0; k <= 6*nexmarkPowSteps; k++ {
		for _, u := range []float64{float64(k) / nexmarkPowSteps / 6, math.Nextafter(float64(k)/nexmarkPowSteps/6, 0), math.Nextafter(float64(k)/nexmarkPowSteps/6, 1)} {
			if u >= 0 && u < 1 {
				check(u)
			}
		}
	}
	check(math.Nextafter(1, 0))
	// The generator's own draws, through nexmarkPrice itself.
	a, b := newNexmarkRand(7), newNexmarkRand(7)
	for range 3_000_000 {
		got := nexmarkPrice(&a)
		if want := nexmarkPriceExact(b.nextFloat64() * 6); got != want {
			t.Fatalf("nexmarkPrice drew %d, the math.Pow way %d", got, want)
		}
	}
}

func TestNexmarkExactStringIsTheReferences(t *testing.T) {
	// The reference: each draw's letters one at a time, sign and all.
	ref := func(dst []byte, r *nexmarkRand, n int) []byte {
		var rnd int32
		left := 0
		for ; n > 0; n-- {
			if left == 0 {
				rnd = r.nextInt32()
				left = 6
			}
			dst = append(dst, byte('a'+rnd%26))
			rnd /= 26
			left--
		}
		return dst
	}
	for seed := range int64(2000) {
		n := int(seed % 97)
		r1, r2 := newNexmarkRand(seed), newNexmarkRand(seed)
		got := nexmarkExactString([]byte("x"), &r1, n)
		want := ref([]byte("x"), &r2, n)
		if string(got) != string(want) || r1 != r2 {
			t.Fatalf("seed %d, %d letters: %q, want %q", seed, n, got, want)
		}
	}
	// The extreme draws.
	for _, v := range []int32{math.MinInt32, math.MaxInt32, -1, 0, 1, -676, 675} {
		var got [6]byte
		nexmarkLetters(got[:], v)
		want := make([]byte, 0, 6)
		for rnd := v; len(want) < 6; rnd /= 26 {
			want = append(want, byte('a'+rnd%26))
		}
		if string(got[:]) != string(want) {
			t.Errorf("letters of %d: %q, want %q", v, got, want)
		}
	}
}

func TestNexmarkBuilderRowsAndNullsAreTheGenerators(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	g, _ := NewNexmarkGenerator(WithNexmarkSeed(3))
	const lo, hi = 100, 3100
	for _, serve := range [][3]bool{{false, false, true}, {true, true, false}, {true, true, true}, {true, false, false}} {
		// A slack of 0 makes every string column outgrow its buffer.
		for _, slack := range []int{nexmarkSlack, 0} {
			name := fmt.Sprintf("%v/slack=%d", serve, slack)
			b := newNexmarkBuilder(g, serve, nexmarkSchema(serve), mem, lo, hi, 1)
			b.slack = slack
			for n := int64(lo); n < hi; n++ {
				b.appendEvent(n)
			}
			b.appendEndMarker(123)
			rec := b.finish()
			var evs nexmarkEvents
			evs.add(t, rec)
			var want nexmarkEvents
			rows := 1
			for n := int64(lo); n < hi; n++ {
				k := g.Kind(n)
				if !serve[k] {
					continue
				}
				rows++
				switch k {
				case NexmarkPerson:
					want.persons = append(want.persons, g.Person(n))
				case NexmarkAuction:
					want.auctions = append(want.auctions, g.Auction(n))
				default:
					want.bids = append(want.bids, g.Bid(n))
				}
			}
			if int(rec.NumRows()) != rows || evs.markers != 1 || !slices.Equal(evs.persons, want.persons) || !slices.Equal(evs.auctions, want.auctions) || !slices.Equal(evs.bids, want.bids) {
				t.Errorf("%s: %d rows (%d persons, %d auctions, %d bids, %d markers), want %d rows of the generator's events",
					name, rec.NumRows(), len(evs.persons), len(evs.auctions), len(evs.bids), evs.markers, rows)
			}
			// A kind's columns are null exactly in the other rows.
			et := rec.Column(0).(*array.Int32)
			for c, f := range rec.Schema().Fields()[2:] {
				col := rec.Column(2 + c)
				kind := map[string]int32{"person": 0, "auction": 1, "bid": 2}[strings.Split(f.Name, "_")[0]]
				nulls := 0
				for i := range int(rec.NumRows()) {
					if col.IsNull(i) != (et.Value(i) != kind) {
						t.Fatalf("%s: %s row %d of event_type %d: null %v", name, f.Name, i, et.Value(i), col.IsNull(i))
					}
					if col.IsNull(i) {
						nulls++
					}
				}
				if col.NullN() != nulls {
					t.Errorf("%s: %s has NullN %d, counted %d", name, f.Name, col.NullN(), nulls)
				}
			}
			rec.Release()
		}
	}
}

func TestNexmarkEventsArePinned(t *testing.T) {
	// A digest of the first 20,000 events: generation may get faster, but
	// no value may change.
	g, _ := NewNexmarkGenerator()
	h := fnv.New64a()
	for n := range int64(20_000) {
		switch g.Kind(n) {
		case NexmarkPerson:
			fmt.Fprintf(h, "%+v\n", g.Person(n))
		case NexmarkAuction:
			fmt.Fprintf(h, "%+v\n", g.Auction(n))
		default:
			fmt.Fprintf(h, "%+v\n", g.Bid(n))
		}
	}
	if got := fmt.Sprintf("%016x", h.Sum64()); got != nexmarkPinnedDigest {
		t.Errorf("events 0..19999 digest to %s, want %s: a generated value changed", got, nexmarkPinnedDigest)
	}
}

// nexmarkPinnedDigest is the digest of events 0..19999 of the reference
// semantics, as first generated.
const nexmarkPinnedDigest = "70aa9d0bb2d3e077"
