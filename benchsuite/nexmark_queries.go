package benchsuite

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/bits"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/dataframe"
	"github.com/sluicehq/sluice/engine"
	"github.com/sluicehq/sluice/expr"
	"github.com/sluicehq/sluice/objstore"
	"github.com/sluicehq/sluice/sink"
	memsrc "github.com/sluicehq/sluice/source/memory"
	"github.com/sluicehq/sluice/table"
	"github.com/sluicehq/sluice/trigger"
)

// The Nexmark queries as DataFrame queries over a NexmarkSource, with the
// watermark dateTime - 4 s declared on the source's rows before they are
// split by event type. Where one Sluice query cannot express a reference
// query (Sluice runs one aggregation per query, no aggregation below a
// stream-stream join, and no stream-stream join in update mode), the query
// runs as a pipeline of Sluice queries, each later one reading the
// earlier one's output from a memory source, as the engine's own error
// message advises ("write the first aggregation to a sink and read it as a
// new stream"); the timing covers the whole pipeline. Differences from the
// reference's SQL are listed per query below.

func init() {
	for _, q := range nexmarkQueries {
		Register(Workload{Name: "nexmark-" + q.name, Description: q.description, DefaultEvents: 10_000_000, Run: q.run})
	}
}

// nexmarkQuery is one registered query.
type nexmarkQuery struct {
	name, description string
	// kinds are the event kinds the query's source serves.
	kinds []NexmarkKind
	// engine runs the query over e's events into out, which digests
	// the result rows (and keeps them when made with keep, for tests).
	engine func(ctx context.Context, e *nexmarkEnv, out *nexmarkSink) error
	// loop is the hand-written baseline (nil when there is none): it
	// reads the same records from the same source and digests the same
	// result rows.
	loop func(ctx context.Context, e *nexmarkEnv) (nexmarkDigest, error)
}

var nexmarkQueries = []nexmarkQuery{
	{name: "q0", kinds: []NexmarkKind{NexmarkBid}, description: "Nexmark q0, pass-through: every bid", engine: nexmarkQ0, loop: nexmarkLoopQ0},
	{name: "q1", kinds: []NexmarkKind{NexmarkBid}, description: "Nexmark q1, currency conversion: bids with price * 0.908", engine: nexmarkQ1, loop: nexmarkLoopQ1},
	{name: "q2", kinds: []NexmarkKind{NexmarkBid}, description: "Nexmark q2, selection: auction and price of bids whose auction % 123 = 0", engine: nexmarkQ2, loop: nexmarkLoopQ2},
	{name: "q3", kinds: []NexmarkKind{NexmarkPerson, NexmarkAuction}, description: "Nexmark q3, local item suggestion: auctions of category 10 joined with their sellers in OR, ID or CA (stream-stream join)", engine: nexmarkQ3},
	{name: "q4", kinds: []NexmarkKind{NexmarkAuction, NexmarkBid}, description: "Nexmark q4, average closing price per category: auctions and bids keyed by auction id in a transformWithState state machine (the auction, the max of its bids within its lifetime, bids before their auction buffered until the watermark passes them), each auction's max written when the watermark passes its expiry, then the average per category (two queries)", engine: nexmarkQ4},
	{name: "q5", kinds: []NexmarkKind{NexmarkBid}, description: "Nexmark q5, hot items: bids per auction per 10 s window sliding 2 s, then the auctions with the most bids per window (three queries)", engine: nexmarkQ5, loop: nexmarkLoopQ5},
	{name: "q6", kinds: []NexmarkKind{NexmarkAuction, NexmarkBid}, description: "Nexmark q6, average selling price by seller: the closing auctions of q4 with their sellers, then per seller a transformWithState holding the final prices of the last 10 closed auctions (Beam's Query6 window; Flink's SQL averages 11 rows), in closing order (expiry, then id), emitting the seller's average at each close (one query)", engine: nexmarkQ6},
	{name: "q7", kinds: []NexmarkKind{NexmarkBid}, description: "Nexmark q7, highest bid: the bids at the highest price of their 10 s window, one pass (transformWithState keyed by window)", engine: nexmarkQ7, loop: nexmarkLoopQ7},
	{name: "q8", kinds: []NexmarkKind{NexmarkPerson, NexmarkAuction}, description: "Nexmark q8, new users: people who created an auction in the 10 s tumbling window they registered in (window join, then distinct)", engine: nexmarkQ8},
}

// The reference suite's windows and watermark.
const (
	nexmarkWatermark = "4 seconds"
	nexmarkWindow    = "10 seconds"
	nexmarkSlide     = "2 seconds"
	nexmarkWindowUs  = 10_000_000
	nexmarkSlideUs   = 2_000_000
)

// nexmarkEnv is what one run of a query works with.
type nexmarkEnv struct {
	gen    *NexmarkGenerator
	events int64
	batch  int64 // events per micro-batch
	chunk  int64 // events per record
	mem    memory.Allocator
	dir    string // checkpoint folders go under dir; memory when ""
	seq    int
}

// source returns a source of e's events of kinds.
func (e *nexmarkEnv) source(marker bool, kinds ...NexmarkKind) (*NexmarkSource, error) {
	opts := []NexmarkSourceOption{WithNexmarkKinds(kinds...), WithNexmarkBatchEvents(e.batch), WithNexmarkChunkEvents(e.chunk)}
	if marker {
		opts = append(opts, WithNexmarkEndMarker())
	}
	return NewNexmarkSource(e.gen, e.events, opts...)
}

// checkpoint is a fresh checkpoint store for one query of the run.
func (e *nexmarkEnv) checkpoint(name string) (objstore.Store, error) {
	if e.dir == "" {
		return objstore.NewMemory(), nil
	}
	e.seq++
	dir := filepath.Join(e.dir, fmt.Sprintf("nexmark-%s-%d-%d", name, time.Now().UnixNano(), e.seq))
	st, err := objstore.NewDir(dir)
	if err != nil {
		return nil, fmt.Errorf("benchsuite: nexmark %s: checkpoint folder: %w", name, err)
	}
	return st, nil
}

var nexmarkQuiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// run runs df into out with AvailableNow in mode and waits for it.
func (e *nexmarkEnv) run(ctx context.Context, name string, df *dataframe.DataFrame, out sink.Sink, mode string) error {
	ckpt, err := e.checkpoint(name)
	if err != nil {
		return err
	}
	q, err := df.WriteStream(out).
		OutputMode(mode).
		QueryName("nexmark-" + name).
		Trigger(trigger.AvailableNow()).
		CheckpointStore(ckpt).
		Allocator(e.mem).
		Engine(engine.New(engine.WithLogger(nexmarkQuiet))).
		Start(ctx)
	if err != nil {
		return fmt.Errorf("benchsuite: nexmark %s: starting the query: %w", name, err)
	}
	if err := q.Wait(ctx); err != nil {
		return fmt.Errorf("benchsuite: nexmark %s: the query failed: %w", name, err)
	}
	return nil
}

// nexmarkRead starts a query over src: its rows with the watermark
// dateTime - 4 s.
func nexmarkRead(src *NexmarkSource) *dataframe.DataFrame {
	return dataframe.ReadStream(src).WithWatermark("dateTime", nexmarkWatermark)
}

func col(name string) expr.Expr { return dataframe.Col(name) }

func isKind(k NexmarkKind) expr.Expr { return col("event_type").Eq(dataframe.Lit(int32(k))) }

// nexmarkBids is the reference's bid view of df.
func nexmarkBids(df *dataframe.DataFrame) *dataframe.DataFrame {
	return df.Where(isKind(NexmarkBid)).Select(
		col("bid_auction").As("auction"), col("bid_bidder").As("bidder"), col("bid_price").As("price"),
		col("bid_channel").As("channel"), col("bid_url").As("url"), col("dateTime"), col("bid_extra").As("extra"))
}

// nexmarkQ0 is SELECT auction, bidder, price, dateTime, extra FROM bid,
// with channel and url too (the reference's q0 selects every bid column).
func nexmarkQ0(ctx context.Context, e *nexmarkEnv, out *nexmarkSink) error {
	src, err := e.source(false, NexmarkBid)
	if err != nil {
		return err
	}
	return e.run(ctx, "q0", nexmarkBids(nexmarkRead(src)), out, "append")
}

// nexmarkQ1 is SELECT auction, bidder, 0.908 * price AS price, dateTime,
// extra FROM bid (a float64 price, where the reference's is a decimal).
func nexmarkQ1(ctx context.Context, e *nexmarkEnv, out *nexmarkSink) error {
	src, err := e.source(false, NexmarkBid)
	if err != nil {
		return err
	}
	df := nexmarkBids(nexmarkRead(src)).Select(col("auction"), col("bidder"),
		col("price").Mul(dataframe.Lit(0.908)).As("price"), col("dateTime"), col("extra"))
	return e.run(ctx, "q1", df, out, "append")
}

// nexmarkQ2 is SELECT auction, price FROM bid WHERE MOD(auction, 123) = 0.
func nexmarkQ2(ctx context.Context, e *nexmarkEnv, out *nexmarkSink) error {
	src, err := e.source(false, NexmarkBid)
	if err != nil {
		return err
	}
	df := nexmarkBids(nexmarkRead(src)).
		Where(col("auction").Mod(dataframe.Lit(int64(123))).Eq(dataframe.Lit(int64(0)))).
		Select(col("auction"), col("price"))
	return e.run(ctx, "q2", df, out, "append")
}

// nexmarkQ3 is
//
//	SELECT P.name, P.city, P.state, A.id FROM auction A JOIN person P ON A.seller = P.id
//	WHERE A.category = 10 AND P.state IN ('OR', 'ID', 'CA')
//
// with the filters applied before the join (the same rows for an inner
// join). As in the reference, the join has no time bound, so its state
// keeps every such auction and person.
func nexmarkQ3(ctx context.Context, e *nexmarkEnv, out *nexmarkSink) error {
	src, err := e.source(false, NexmarkPerson, NexmarkAuction)
	if err != nil {
		return err
	}
	base := nexmarkRead(src)
	persons := base.Where(isKind(NexmarkPerson).And(col("person_state").In(dataframe.Lit("OR"), dataframe.Lit("ID"), dataframe.Lit("CA")))).
		Select(col("person_id").As("p_id"), col("person_name").As("name"), col("person_city").As("city"), col("person_state").As("state"))
	auctions := base.Where(isKind(NexmarkAuction).And(col("auction_category").Eq(dataframe.Lit(int64(10))))).
		Select(col("auction_id").As("id"), col("auction_seller").As("seller"))
	df := auctions.Join(persons, col("seller").Eq(col("p_id")), "inner").
		Select(col("name"), col("city"), col("state"), col("id"))
	return e.run(ctx, "q3", df, out, "append")
}

// stage runs build over the records in in (a memory source read in one
// batch) into out.
func (e *nexmarkEnv) stage(ctx context.Context, name string, in, out *nexmarkSink, mode string, build func(*dataframe.DataFrame) *dataframe.DataFrame) error {
	src := memsrc.New(in.schema, memsrc.WithAllocator(e.mem))
	defer src.Close()
	src.Add(in.recs...)
	return e.run(ctx, name, build(dataframe.ReadStream(src)), out, mode)
}

// nexmarkQ5 is the reference's hot items query:
//
//	SELECT auction, num FROM (count of bids per auction per HOP(10 s, 2 s) window) AuctionBids
//	JOIN (max of those counts per window) MaxBids
//	ON the same window AND AuctionBids.num >= MaxBids.maxn
//
// as three queries: the counts per (sliding window, auction) in append
// mode; the maximum count per window over them (complete mode); and the
// counts joined with the maxima as a static table, keeping the rows that
// reach it.
func nexmarkQ5(ctx context.Context, e *nexmarkEnv, out *nexmarkSink) error {
	src, err := e.source(true, NexmarkBid)
	if err != nil {
		return err
	}
	counts := nexmarkBids(nexmarkRead(src)).Select(col("auction"), col("dateTime")).
		GroupBy(dataframe.SlidingWindow(col("dateTime"), nexmarkWindow, nexmarkSlide), col("auction")).
		Agg(dataframe.Count().As("num")).
		Select(col("window").Field("start").As("starttime"), col("window").Field("end").As("endtime"), col("auction"), col("num"))
	countOut := newNexmarkSink(true)
	defer countOut.release()
	if err := e.run(ctx, "q5-counts", counts, countOut, "append"); err != nil {
		return err
	}
	maxOut := newNexmarkSink(true)
	defer maxOut.release()
	if err := e.stage(ctx, "q5-max", countOut, maxOut, "complete", func(df *dataframe.DataFrame) *dataframe.DataFrame {
		return df.GroupBy(col("starttime"), col("endtime")).Agg(dataframe.Max(col("num")).As("maxn"))
	}); err != nil {
		return err
	}
	maxima, err := table.FromRecords(maxOut.schema, maxOut.recs...)
	if err != nil {
		return fmt.Errorf("benchsuite: nexmark q5: the table of maxima: %w", err)
	}
	defer maxima.Release()
	return e.stage(ctx, "q5", countOut, out, "append", func(df *dataframe.DataFrame) *dataframe.DataFrame {
		return df.JoinStatic(maxima, []string{"starttime", "endtime"}, "inner").
			Where(col("num").Ge(col("maxn"))).
			Select(col("auction"), col("num"))
	})
}

// nexmarkQ8 is the reference's new users query:
//
//	SELECT P.id, P.name, P.starttime FROM
//	  (SELECT DISTINCT id, name, window_start AS starttime ... FROM TUMBLE(person, 10 s)) P
//	JOIN (SELECT DISTINCT seller, window_start AS starttime ... FROM TUMBLE(auction, 10 s)) A
//	ON P.id = A.seller AND P.starttime = A.starttime
//
// as a stream-stream join of people and auctions on id = seller and equal
// 10 s tumbling windows of their dateTimes, then DropDuplicates of (id,
// name, starttime): Sluice has no aggregation below a join, so the
// distinct comes after it (the same rows).
func nexmarkQ8(ctx context.Context, e *nexmarkEnv, out *nexmarkSink) error {
	src, err := e.source(false, NexmarkPerson, NexmarkAuction)
	if err != nil {
		return err
	}
	base := nexmarkRead(src)
	persons := base.Where(isKind(NexmarkPerson)).Select(col("person_id").As("id"), col("person_name").As("name"), col("dateTime").As("p_time"))
	auctions := base.Where(isKind(NexmarkAuction)).Select(col("auction_seller").As("seller"), col("dateTime").As("a_time"))
	cond := col("id").Eq(col("seller")).And(
		dataframe.Window(col("p_time"), nexmarkWindow).Eq(dataframe.Window(col("a_time"), nexmarkWindow)))
	df := persons.Join(auctions, cond, "inner").
		Select(col("id"), col("name"), dataframe.Window(col("p_time"), nexmarkWindow).Field("start").As("starttime")).
		DropDuplicates("id", "name", "starttime")
	return e.run(ctx, "q8", df, out, "append")
}

// nexmarkSink digests every row it is given (and keeps the records when
// asked). It is idempotent per batch id: a replayed batch is skipped.
type nexmarkSink struct {
	mu     sync.Mutex
	keep   bool
	schema *arrow.Schema
	recs   []arrow.RecordBatch
	digest nexmarkDigest
	last   int64
	hashes []uint64
}

var (
	_ sink.Sink   = (*nexmarkSink)(nil)
	_ sink.Opener = (*nexmarkSink)(nil)
)

func newNexmarkSink(keep bool) *nexmarkSink { return &nexmarkSink{keep: keep, last: -1} }

// Open records the result schema.
func (s *nexmarkSink) Open(_ context.Context, info sink.OpenInfo) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.schema = info.Schema
	return nil
}

// AddBatch digests records (borrowed; kept ones are retained).
func (s *nexmarkSink) AddBatch(_ context.Context, batchID int64, records []arrow.RecordBatch) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if batchID <= s.last {
		return nil
	}
	s.last = batchID
	for _, rec := range records {
		var err error
		if s.hashes, err = s.digest.addRecord(rec, s.hashes); err != nil {
			return fmt.Errorf("benchsuite: nexmark sink: batch %d: %w", batchID, err)
		}
		if s.keep && rec.NumRows() > 0 {
			rec.Retain()
			s.recs = append(s.recs, rec)
		}
	}
	return nil
}

// Description names the sink in progress reports.
func (s *nexmarkSink) Description() string { return "NexmarkDigestSink" }

// release releases the kept records.
func (s *nexmarkSink) release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.recs {
		r.Release()
	}
	s.recs = nil
}

// nexmarkDigest is an order-independent checksum of a multiset of rows:
// the count of rows and the sum and the sum of squares (mod 2^64) of each
// row's 64-bit hash. A row's hash folds its values' hashes in column
// order (a struct column's fields in turn); an integer or timestamp hashes
// its int64 value, a float its bits, a string its bytes, a null a
// constant. Engine results (by column, in addRecord) and hand-written
// loops (by row, with nexmarkRow) give equal digests for equal rows.
type nexmarkDigest struct {
	rows  int64
	sum   uint64
	sumSq uint64
}

const (
	nexmarkRowSeed  = 0x243f6a8885a308d3
	nexmarkNullHash = 0x13198a2e03707344
	nexmarkFloatTag = 0xa4093822299f31d0
)

func nexmarkMix(x uint64) uint64 {
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	x ^= x >> 33
	x *= 0xc4ceb9fe1a85ec53
	x ^= x >> 33
	return x
}

func nexmarkFold(h, v uint64) uint64 { return bits.RotateLeft64((h^v)*0x9e3779b97f4a7c15, 29) }

func nexmarkIntHash(v int64) uint64 { return nexmarkMix(uint64(v)) }

func nexmarkFloatHash(v float64) uint64 { return nexmarkMix(math.Float64bits(v) ^ nexmarkFloatTag) }

func nexmarkStrHash(s string) uint64 {
	// Two lanes of 8 bytes each per step, so that the multiplies of the
	// lanes overlap rather than wait on each other.
	a := uint64(len(s)) * 0x9e3779b97f4a7c15
	b := a ^ 0x6a09e667f3bcc909
	for len(s) >= 16 {
		a = bits.RotateLeft64((a^nexmarkWord(s))*0xff51afd7ed558ccd, 31)
		b = bits.RotateLeft64((b^nexmarkWord(s[8:]))*0xc4ceb9fe1a85ec53, 29)
		s = s[16:]
	}
	if len(s) >= 8 {
		a = bits.RotateLeft64((a^nexmarkWord(s))*0xff51afd7ed558ccd, 31)
		s = s[8:]
	}
	var t uint64
	for i := 0; i < len(s); i++ {
		t |= uint64(s[i]) << (8 * i)
	}
	return nexmarkMix(a ^ bits.RotateLeft64(b, 17) ^ t*0xc4ceb9fe1a85ec53)
}

// nexmarkWord is the first 8 bytes of s, little-endian.
func nexmarkWord(s string) uint64 {
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

// add counts one row of hash h (before finalization).
func (d *nexmarkDigest) add(h uint64) {
	r := nexmarkMix(h)
	d.rows++
	d.sum += r
	d.sumSq += r * r
}

// merge adds o's rows to d.
func (d *nexmarkDigest) merge(o nexmarkDigest) {
	d.rows += o.rows
	d.sum += o.sum
	d.sumSq += o.sumSq
}

// String is the checksum: 16 hex digits.
func (d nexmarkDigest) String() string {
	var b [24]byte
	binary.LittleEndian.PutUint64(b[0:], uint64(d.rows))
	binary.LittleEndian.PutUint64(b[8:], d.sum)
	binary.LittleEndian.PutUint64(b[16:], d.sumSq)
	h := nexmarkMix(nexmarkStrHash(string(b[:])))
	var out [8]byte
	binary.BigEndian.PutUint64(out[:], h)
	return hex.EncodeToString(out[:])
}

// addRecord digests the rows of rec (borrowed), using scratch for the row
// hashes, and returns scratch for reuse.
func (d *nexmarkDigest) addRecord(rec arrow.RecordBatch, scratch []uint64) ([]uint64, error) {
	n := int(rec.NumRows())
	if cap(scratch) < n {
		scratch = make([]uint64, n)
	}
	h := scratch[:n]
	for i := range h {
		h[i] = nexmarkRowSeed
	}
	for c := 0; c < int(rec.NumCols()); c++ {
		if err := nexmarkHashColumn(rec.Column(c), h); err != nil {
			return scratch, fmt.Errorf("column %q: %w", rec.ColumnName(c), err)
		}
	}
	for _, v := range h {
		d.add(v)
	}
	return scratch, nil
}

func nexmarkHashColumn(a arrow.Array, h []uint64) error {
	fold := func(i int, v uint64) {
		if a.IsNull(i) {
			v = nexmarkNullHash
		}
		h[i] = nexmarkFold(h[i], v)
	}
	switch a := a.(type) {
	case *array.Int64:
		for i, v := range a.Int64Values() {
			fold(i, nexmarkIntHash(v))
		}
	case *array.Int32:
		for i, v := range a.Int32Values() {
			fold(i, nexmarkIntHash(int64(v)))
		}
	case *array.Timestamp:
		for i, v := range a.TimestampValues() {
			fold(i, nexmarkIntHash(int64(v)))
		}
	case *array.Float64:
		for i, v := range a.Float64Values() {
			fold(i, nexmarkFloatHash(v))
		}
	case *array.String:
		for i := range h {
			fold(i, nexmarkStrHash(a.Value(i)))
		}
	case *array.Struct:
		for f := 0; f < a.NumField(); f++ {
			if err := nexmarkHashColumn(a.Field(f), h); err != nil {
				return err
			}
		}
	default:
		return fmt.Errorf("type %v is not digested; the Nexmark results have int64, int32, float64, string, timestamp and struct columns", a.DataType())
	}
	return nil
}

// nexmarkRow hashes one row value by value, as addRecord does by column.
type nexmarkRow uint64

func newNexmarkRow() nexmarkRow { return nexmarkRow(nexmarkRowSeed) }
func (r nexmarkRow) int(v int64) nexmarkRow {
	return nexmarkRow(nexmarkFold(uint64(r), nexmarkIntHash(v)))
}
func (r nexmarkRow) float(v float64) nexmarkRow {
	return nexmarkRow(nexmarkFold(uint64(r), nexmarkFloatHash(v)))
}
func (r nexmarkRow) str(v string) nexmarkRow {
	return nexmarkRow(nexmarkFold(uint64(r), nexmarkStrHash(v)))
}

// nexmarkBidCols are a bid record's columns, for the loops.
type nexmarkBidCols struct {
	etype                  []int32
	ts                     []arrow.Timestamp
	auction, bidder, price []int64
	channel, url, extra    *array.String
}

func nexmarkBidColumns(rec arrow.RecordBatch) (nexmarkBidCols, error) {
	s := rec.Schema()
	get := func(name string) arrow.Array {
		if idx := s.FieldIndices(name); len(idx) == 1 {
			return rec.Column(idx[0])
		}
		return nil
	}
	et, ok1 := get("event_type").(*array.Int32)
	ts, ok2 := get("dateTime").(*array.Timestamp)
	au, ok3 := get("bid_auction").(*array.Int64)
	bi, ok4 := get("bid_bidder").(*array.Int64)
	pr, ok5 := get("bid_price").(*array.Int64)
	ch, ok6 := get("bid_channel").(*array.String)
	ur, ok7 := get("bid_url").(*array.String)
	ex, ok8 := get("bid_extra").(*array.String)
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6 && ok7 && ok8) {
		return nexmarkBidCols{}, fmt.Errorf("benchsuite: nexmark loop: record schema %v has no bid columns; read a source serving bids", s)
	}
	return nexmarkBidCols{et.Int32Values(), ts.TimestampValues(), au.Int64Values(), bi.Int64Values(), pr.Int64Values(), ch, ur, ex}, nil
}

// forEachBidBatch reads e's bids batch by batch, as the engine would,
// and calls fn with each record's columns.
func (e *nexmarkEnv) forEachBidBatch(ctx context.Context, fn func(c nexmarkBidCols)) error {
	src, err := e.source(false, NexmarkBid)
	if err != nil {
		return err
	}
	var start []byte
	for {
		end, err := src.LatestOffset(ctx, start, src.DefaultReadLimit())
		if err != nil {
			return err
		}
		if string(end) == string(start) {
			return nil
		}
		recs, err := src.Read(ctx, start, end, e.mem)
		if err != nil {
			return err
		}
		for _, rec := range recs {
			c, err := nexmarkBidColumns(rec)
			if err == nil {
				fn(c)
			}
			rec.Release()
			if err != nil {
				return err
			}
		}
		start = end
	}
}

func nexmarkLoopQ0(ctx context.Context, e *nexmarkEnv) (nexmarkDigest, error) {
	var d nexmarkDigest
	err := e.forEachBidBatch(ctx, func(c nexmarkBidCols) {
		for i, k := range c.etype {
			if k != int32(NexmarkBid) {
				continue
			}
			d.add(uint64(newNexmarkRow().int(c.auction[i]).int(c.bidder[i]).int(c.price[i]).
				str(c.channel.Value(i)).str(c.url.Value(i)).int(int64(c.ts[i])).str(c.extra.Value(i))))
		}
	})
	return d, err
}

func nexmarkLoopQ1(ctx context.Context, e *nexmarkEnv) (nexmarkDigest, error) {
	var d nexmarkDigest
	err := e.forEachBidBatch(ctx, func(c nexmarkBidCols) {
		for i, k := range c.etype {
			if k != int32(NexmarkBid) {
				continue
			}
			d.add(uint64(newNexmarkRow().int(c.auction[i]).int(c.bidder[i]).float(float64(c.price[i]) * 0.908).
				int(int64(c.ts[i])).str(c.extra.Value(i))))
		}
	})
	return d, err
}

func nexmarkLoopQ2(ctx context.Context, e *nexmarkEnv) (nexmarkDigest, error) {
	var d nexmarkDigest
	err := e.forEachBidBatch(ctx, func(c nexmarkBidCols) {
		for i, k := range c.etype {
			if k == int32(NexmarkBid) && c.auction[i]%123 == 0 {
				d.add(uint64(newNexmarkRow().int(c.auction[i]).int(c.price[i])))
			}
		}
	})
	return d, err
}

// nexmarkWindowStart is the start of the window of size sizeUs sliding
// slideUs that starts last at or before tsUs (times after the epoch).
func nexmarkWindowStart(tsUs, slideUs int64) int64 { return tsUs - tsUs%slideUs }

func nexmarkLoopQ5(ctx context.Context, e *nexmarkEnv) (nexmarkDigest, error) {
	type key struct{ start, auction int64 }
	counts := map[key]int64{}
	err := e.forEachBidBatch(ctx, func(c nexmarkBidCols) {
		for i, k := range c.etype {
			if k != int32(NexmarkBid) {
				continue
			}
			t := int64(c.ts[i])
			for s := nexmarkWindowStart(t, nexmarkSlideUs); s > t-nexmarkWindowUs; s -= nexmarkSlideUs {
				counts[key{s, c.auction[i]}]++
			}
		}
	})
	if err != nil {
		return nexmarkDigest{}, err
	}
	maxn := map[int64]int64{}
	for k, n := range counts {
		maxn[k.start] = max(maxn[k.start], n)
	}
	var d nexmarkDigest
	for k, n := range counts {
		if n >= maxn[k.start] {
			d.add(uint64(newNexmarkRow().int(k.auction).int(n)))
		}
	}
	return d, nil
}

func nexmarkLoopQ7(ctx context.Context, e *nexmarkEnv) (nexmarkDigest, error) {
	type best struct {
		price int64
		rows  []uint64
	}
	windows := map[int64]*best{}
	err := e.forEachBidBatch(ctx, func(c nexmarkBidCols) {
		for i, k := range c.etype {
			if k != int32(NexmarkBid) {
				continue
			}
			t := int64(c.ts[i])
			w := nexmarkWindowStart(t, nexmarkWindowUs)
			b := windows[w]
			if b == nil {
				b = &best{price: math.MinInt64}
				windows[w] = b
			}
			p := c.price[i]
			if p < b.price {
				continue
			}
			if p > b.price {
				b.price, b.rows = p, b.rows[:0]
			}
			b.rows = append(b.rows, uint64(newNexmarkRow().int(c.auction[i]).int(p).int(c.bidder[i]).int(t).str(c.extra.Value(i))))
		}
	})
	var d nexmarkDigest
	for _, b := range windows {
		for _, h := range b.rows {
			d.add(h)
		}
	}
	return d, err
}

// nexmarkGeneratorRate times the generator alone: all e's events into
// records of kinds, as the query's source makes them, batch by batch,
// released at once.
func nexmarkGeneratorRate(ctx context.Context, e *nexmarkEnv, kinds []NexmarkKind) (Timing, error) {
	src, err := e.source(false, kinds...)
	if err != nil {
		return Timing{}, err
	}
	return Measure(func() error {
		var start []byte
		for {
			end, err := src.LatestOffset(ctx, start, src.DefaultReadLimit())
			if err != nil {
				return err
			}
			if string(end) == string(start) {
				return nil
			}
			recs, err := src.Read(ctx, start, end, e.mem)
			if err != nil {
				return err
			}
			for _, r := range recs {
				r.Release()
			}
			start = end
		}
	})
}

// run is the workload: the generator alone, the query, and the loop where
// there is one, each timed; their checksums must agree.
func (q nexmarkQuery) run(ctx context.Context, cfg Config) (Result, error) {
	events := cfg.Events
	if events <= 0 {
		events = 10_000_000
	}
	gen, err := NewNexmarkGenerator()
	if err != nil {
		return Result{}, err
	}
	e := &nexmarkEnv{gen: gen, events: events, batch: 1_000_000, chunk: 1 << 16, mem: memory.DefaultAllocator, dir: cfg.Dir}
	logf := func(format string, args ...any) {
		if cfg.Logf != nil {
			cfg.Logf(format, args...)
		}
	}
	res := Result{Workload: "nexmark-" + q.name, Extra: map[string]float64{}}
	runtime.GC()
	gt, err := nexmarkGeneratorRate(ctx, e, q.kinds)
	if err != nil {
		return Result{}, fmt.Errorf("benchsuite: nexmark-%s: the generator: %w", q.name, err)
	}
	res.Extra["generator_events_per_s"] = float64(events) / gt.Wall.Seconds()
	if gt.CPU > 0 {
		res.Extra["generator_events_per_core_s"] = float64(events) / gt.CPU.Seconds()
	}
	logf("nexmark-%s: generator alone: %.3gM events/s", q.name, res.Extra["generator_events_per_s"]/1e6)
	out := newNexmarkSink(false)
	runtime.GC()
	t, err := Measure(func() error { return q.engine(ctx, e, out) })
	if err != nil {
		return Result{}, err
	}
	res.Fill(events, t)
	res.Checksum = out.digest.String()
	res.Extra["result_rows"] = float64(out.digest.rows)
	logf("nexmark-%s: engine: %.3gM events/s, %d result rows", q.name, res.EventsPerS/1e6, out.digest.rows)
	if q.loop == nil {
		return res, nil
	}
	var d nexmarkDigest
	runtime.GC()
	lt, err := Measure(func() error {
		var err error
		d, err = q.loop(ctx, e)
		return err
	})
	if err != nil {
		return Result{}, fmt.Errorf("benchsuite: nexmark-%s: the hand-written loop: %w", q.name, err)
	}
	res.BaselineEventsPerS = float64(events) / lt.Wall.Seconds()
	if d.String() != res.Checksum {
		return Result{}, fmt.Errorf("benchsuite: nexmark-%s: the engine's result (%d rows, checksum %s) differs from the hand-written loop's (%d rows, checksum %s); the query or the loop is wrong",
			q.name, out.digest.rows, res.Checksum, d.rows, d.String())
	}
	return res, nil
}
