package benchsuite

import (
	"cmp"
	"context"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/bufpool"
	"github.com/sluicehq/sluice/dataframe"
	"github.com/sluicehq/sluice/decode"
	"github.com/sluicehq/sluice/engine"
	"github.com/sluicehq/sluice/objstore"
	"github.com/sluicehq/sluice/sink"
	"github.com/sluicehq/sluice/source"
	memsrc "github.com/sluicehq/sluice/source/memory"
	"github.com/sluicehq/sluice/table"
	"github.com/sluicehq/sluice/trigger"
)

// The Yahoo Streaming Benchmark, engine-only: ad events (user_id, page_id,
// ad_id over 1,000 ads, ad_type over 5 values, event_type over view,
// click and purchase as plain strings, event_time in milliseconds
// advancing about 1,000,000 events per simulated second, ip), filtered to
// views, joined ad_id -> campaign_id with a static table of 1,000 ads over
// 100 campaigns, and counted per campaign per 10 s tumbling event-time
// window under a watermark. The events are generated as Arrow records of
// 1M events before the clock starts and served from memory, one record per
// micro-batch; ysb-json serves the same events as JSON text in a binary
// value column, as they would come from Kafka, and parses them in the
// query. A hand-written loop over the same arrays does the same filter,
// lookup and count, timed the same way in the same run.

func init() {
	Register(Workload{
		Name:          "ysb",
		Description:   "Yahoo Streaming Benchmark, engine-only: filter views, static join ad -> campaign, count per campaign per 10 s window; Arrow records served from memory",
		DefaultEvents: 20_000_000,
		Run:           runYSB,
	})
	Register(Workload{
		Name:          "ysb-json",
		Description:   "the YSB query over the same events as ~250-byte JSON values (a Kafka-like binary value column), parsed with FromJSON in the query",
		DefaultEvents: 4_000_000,
		Run:           runYSBJSON,
	})
}

const (
	// ysbAds and ysbCampaigns size the static table: ad ids 0..999, ten
	// ads to a campaign.
	ysbAds       = 1000
	ysbCampaigns = 100
	// ysbEpochMs is the event time of event 0 (before jitter): a multiple
	// of ten seconds plus half a second.
	ysbEpochMs = 1_700_000_000_000 + 500
	// ysbJitterMs bounds the disorder: an event's time is up to this much
	// before its place in the sequence, far inside ysbWatermark, so no
	// event is late.
	ysbJitterMs = 50
	// ysbWatermark is the watermark delay and ysbWindowMs the window size.
	ysbWatermark = "2 seconds"
	ysbWindow    = "10 seconds"
	ysbWindowMs  = 10_000
)

var (
	ysbAdTypes    = [5]string{"banner", "modal", "sponsored-search", "mail", "mobile"}
	ysbEventTypes = [3]string{"view", "click", "purchase"}

	ysbTimeType = &arrow.TimestampType{Unit: arrow.Millisecond, TimeZone: "UTC"}

	// ysbSchema is the schema of the engine-only events.
	ysbSchema = arrow.NewSchema([]arrow.Field{
		{Name: "user_id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "page_id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "ad_id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "ad_type", Type: arrow.BinaryTypes.String},
		{Name: "event_type", Type: arrow.BinaryTypes.String},
		{Name: "event_time", Type: ysbTimeType},
		{Name: "ip", Type: arrow.PrimitiveTypes.Uint32},
	}, nil)

	// ysbJSONSchema is what the JSON values hold: user_id and page_id as
	// UUID text, ip_address as a dotted quad, event_time as ISO 8601 text.
	ysbJSONSchema = arrow.NewSchema([]arrow.Field{
		{Name: "user_id", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "page_id", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "ad_id", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "ad_type", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "event_type", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "event_time", Type: ysbTimeType, Nullable: true},
		{Name: "ip_address", Type: arrow.BinaryTypes.String, Nullable: true},
	}, nil)

	// ysbLoopJSONSchema is the part of the JSON the hand-written loop
	// decodes: the three fields the query reads.
	ysbLoopJSONSchema = arrow.NewSchema([]arrow.Field{
		{Name: "ad_id", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "event_type", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "event_time", Type: ysbTimeType, Nullable: true},
	}, nil)

	// ysbValueSchema is the Kafka-like input of ysb-json: one binary
	// column of JSON values.
	ysbValueSchema = arrow.NewSchema([]arrow.Field{{Name: "value", Type: arrow.BinaryTypes.Binary}}, nil)

	ysbAdSchema = arrow.NewSchema([]arrow.Field{
		{Name: "ad_id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "campaign_id", Type: arrow.PrimitiveTypes.Int64},
	}, nil)
)

// ysbShape sizes a run: events events in records of batch events, event
// time advancing perSecond events per simulated second. The payload
// columns (every column but event_time) repeat every period events, a
// multiple of batch, so that a 20M-event run holds 4M events' payload
// rather than 20M: records period/batch apart share those arrays, and
// only event_time is their own.
type ysbShape struct {
	events, batch, perSecond, period int64
	seed                             uint64
}

// ysbShapeFor is the benchmark's shape for events events: 1M-event
// records, 1M events per simulated second, a 4M-event payload period.
func ysbShapeFor(events int64) ysbShape {
	return ysbShape{events: events, batch: 1_000_000, perSecond: 1_000_000, period: 4_000_000, seed: 7}
}

// validate names the first field of s that cannot work.
func (s ysbShape) validate() error {
	switch {
	case s.events <= 0:
		return fmt.Errorf("benchsuite: ysb: %d events; give a positive number", s.events)
	case s.batch <= 0 || s.perSecond <= 0:
		return fmt.Errorf("benchsuite: ysb: batch %d, %d events per second; both must be positive", s.batch, s.perSecond)
	case s.period < s.batch || s.period%s.batch != 0:
		return fmt.Errorf("benchsuite: ysb: payload period %d is not a positive multiple of the batch size %d", s.period, s.batch)
	}
	return nil
}

// ysbMix is splitmix64 of x and a field number: the pseudo-random source
// of every generated value, so that event i is the same whichever way and
// in whatever order it is generated.
func ysbMix(seed, x, field uint64) uint64 {
	z := seed ^ (x * 0x9E3779B97F4A7C15) ^ (field * 0xD1B54A32D192ED03)
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
	z = (z ^ (z >> 27)) * 0x94D049BB133111EB
	return z ^ (z >> 31)
}

// ysbEvent is one generated event.
type ysbEvent struct {
	userID, pageID, adID int64
	adType, eventType    string
	timeMs               int64
	ip                   uint32
}

// payload returns the fields of event i that repeat every period events.
func (s ysbShape) payload(i int64) ysbEvent {
	p := uint64(i % s.period)
	return ysbEvent{
		userID:    int64(ysbMix(s.seed, p, 1) >> 1),
		pageID:    int64(ysbMix(s.seed, p, 2) >> 1),
		adID:      int64(ysbMix(s.seed, p, 3) % ysbAds),
		adType:    ysbAdTypes[ysbMix(s.seed, p, 4)%uint64(len(ysbAdTypes))],
		eventType: ysbEventTypes[ysbMix(s.seed, p, 5)%uint64(len(ysbEventTypes))],
		ip:        uint32(ysbMix(s.seed, p, 6)),
	}
}

// timeMs is the event time of event i: its place in the sequence less a
// jitter of up to ysbJitterMs.
func (s ysbShape) timeMs(i int64) int64 {
	return ysbEpochMs + i*1000/s.perSecond - int64(ysbMix(s.seed, uint64(i), 7)%ysbJitterMs)
}

// event returns event i.
func (s ysbShape) event(i int64) ysbEvent {
	e := s.payload(i)
	e.timeMs = s.timeMs(i)
	return e
}

// campaignOf is the static table's mapping: ad*37 mod 100 gives every
// campaign ten ads, spread over the ad ids.
func ysbCampaignOf(ad int64) int64 { return ad * 37 % ysbCampaigns }

// ysbAdTable builds the static table's one record with mem. The caller
// owns it and releases it.
func ysbAdTable(mem memory.Allocator) arrow.RecordBatch {
	ab := array.NewInt64Builder(mem)
	defer ab.Release()
	cb := array.NewInt64Builder(mem)
	defer cb.Release()
	for ad := int64(0); ad < ysbAds; ad++ {
		ab.Append(ad)
		cb.Append(ysbCampaignOf(ad))
	}
	ads, camps := ab.NewArray(), cb.NewArray()
	defer ads.Release()
	defer camps.Release()
	return array.NewRecordBatch(ysbAdSchema, []arrow.Array{ads, camps}, ysbAds)
}

// generateArrow builds the events of s as records of ysbSchema with mem,
// one per batch events (the last may be shorter). The caller owns the
// records and releases each one.
func (s ysbShape) generateArrow(mem memory.Allocator) []arrow.RecordBatch {
	blocks := make([][]arrow.Array, s.period/s.batch)
	defer func() {
		for _, b := range blocks {
			for _, a := range b {
				a.Release()
			}
		}
	}()
	var recs []arrow.RecordBatch
	for start := int64(0); start < s.events; start += s.batch {
		n := min(s.batch, s.events-start)
		k := (start % s.period) / s.batch
		if blocks[k] == nil {
			blocks[k] = s.payloadBlock(mem, start%s.period)
		}
		tb := array.NewTimestampBuilder(mem, ysbTimeType)
		tb.Reserve(int(n))
		for i := start; i < start+n; i++ {
			tb.UnsafeAppend(arrow.Timestamp(s.timeMs(i)))
		}
		times := tb.NewArray()
		tb.Release()
		cols := make([]arrow.Array, 0, len(ysbSchema.Fields()))
		for _, a := range blocks[k][:5] {
			cols = append(cols, array.NewSlice(a, 0, n))
		}
		cols = append(cols, times, array.NewSlice(blocks[k][5], 0, n))
		recs = append(recs, array.NewRecordBatch(ysbSchema, cols, n))
		for _, c := range cols {
			c.Release()
		}
	}
	return recs
}

// payloadBlock builds the payload columns of the batch events from
// event first: user_id, page_id, ad_id, ad_type, event_type and ip. The
// caller owns the arrays.
func (s ysbShape) payloadBlock(mem memory.Allocator, first int64) []arrow.Array {
	n := int(s.batch)
	ub, pb, ab := array.NewInt64Builder(mem), array.NewInt64Builder(mem), array.NewInt64Builder(mem)
	tb, eb := array.NewStringBuilder(mem), array.NewStringBuilder(mem)
	ib := array.NewUint32Builder(mem)
	for _, b := range []array.Builder{ub, pb, ab, tb, eb, ib} {
		b.Reserve(n)
		defer b.Release()
	}
	tb.ReserveData(n * len("sponsored-search"))
	eb.ReserveData(n * len("purchase"))
	for i := first; i < first+s.batch; i++ {
		e := s.payload(i)
		ub.UnsafeAppend(e.userID)
		pb.UnsafeAppend(e.pageID)
		ab.UnsafeAppend(e.adID)
		tb.Append(e.adType)
		eb.Append(e.eventType)
		ib.UnsafeAppend(e.ip)
	}
	return []arrow.Array{ub.NewArray(), pb.NewArray(), ab.NewArray(), tb.NewArray(), eb.NewArray(), ib.NewArray()}
}

// ysbMaxJSON bounds the length of one event's JSON.
const ysbMaxJSON = 320

// appendJSON appends e as the JSON object ysb-json reads, spaced as
// Python's json.dumps writes it: about 240 bytes, user_id and page_id as
// UUID text derived from the ids, ip_address as a dotted quad and
// event_time as ISO 8601 text with milliseconds.
func (e ysbEvent) appendJSON(dst []byte) []byte {
	dst = append(dst, `{"user_id": "`...)
	dst = appendUUID(dst, uint64(e.userID))
	dst = append(dst, `", "page_id": "`...)
	dst = appendUUID(dst, uint64(e.pageID))
	dst = append(dst, `", "ad_id": `...)
	dst = strconv.AppendInt(dst, e.adID, 10)
	dst = append(dst, `, "ad_type": "`...)
	dst = append(dst, e.adType...)
	dst = append(dst, `", "event_type": "`...)
	dst = append(dst, e.eventType...)
	dst = append(dst, `", "event_time": "`...)
	dst = time.UnixMilli(e.timeMs).UTC().AppendFormat(dst, "2006-01-02T15:04:05.000Z")
	dst = append(dst, `", "ip_address": "`...)
	for k := 3; k >= 0; k-- {
		dst = strconv.AppendUint(dst, uint64(e.ip>>(8*k)&0xff), 10)
		if k > 0 {
			dst = append(dst, '.')
		}
	}
	return append(dst, `"}`...)
}

// appendUUID appends a version-4-shaped UUID whose 128 bits are id and a
// mix of it.
func appendUUID(dst []byte, id uint64) []byte {
	var raw [16]byte
	binary.BigEndian.PutUint64(raw[:8], id)
	binary.BigEndian.PutUint64(raw[8:], ysbMix(0, id, 9))
	raw[6] = raw[6]&0x0f | 0x40
	raw[8] = raw[8]&0x3f | 0x80
	var buf [36]byte
	hex.Encode(buf[0:8], raw[0:4])
	buf[8] = '-'
	hex.Encode(buf[9:13], raw[4:6])
	buf[13] = '-'
	hex.Encode(buf[14:18], raw[6:8])
	buf[18] = '-'
	hex.Encode(buf[19:23], raw[8:10])
	buf[23] = '-'
	hex.Encode(buf[24:36], raw[10:16])
	return append(dst, buf[:]...)
}

// generateJSON builds the events of s as JSON values, records of
// ysbValueSchema with mem, one per batch events. It returns the records
// (the caller owns and releases each one) and the JSON bytes in all.
func (s ysbShape) generateJSON(mem memory.Allocator) ([]arrow.RecordBatch, int64) {
	var recs []arrow.RecordBatch
	var total int64
	scratch := make([]byte, 0, ysbMaxJSON)
	for start := int64(0); start < s.events; start += s.batch {
		n := min(s.batch, s.events-start)
		b := array.NewBinaryBuilder(mem, arrow.BinaryTypes.Binary)
		b.Reserve(int(n))
		b.ReserveData(int(n) * ysbMaxJSON)
		for i := start; i < start+n; i++ {
			scratch = s.event(i).appendJSON(scratch[:0])
			b.Append(scratch)
			total += int64(len(scratch))
		}
		col := b.NewArray()
		b.Release()
		recs = append(recs, array.NewRecordBatch(ysbValueSchema, []arrow.Array{col}, n))
		col.Release()
	}
	return recs, total
}

// ysbKey is one result group: the window start in ms and the campaign.
type ysbKey struct{ windowMs, campaign int64 }

// ysbRow is one result row.
type ysbRow struct{ windowMs, campaign, count int64 }

// ysbRows returns counts as rows sorted by window start, then campaign.
func ysbRows(counts map[ysbKey]int64) []ysbRow {
	rows := make([]ysbRow, 0, len(counts))
	for k, c := range counts {
		rows = append(rows, ysbRow{k.windowMs, k.campaign, c})
	}
	slices.SortFunc(rows, func(a, b ysbRow) int {
		return cmp.Or(cmp.Compare(a.windowMs, b.windowMs), cmp.Compare(a.campaign, b.campaign))
	})
	return rows
}

// ysbChecksum is the hex FNV-1a hash of the rows, sorted, as
// little-endian (window start ms, campaign, count) triples.
func ysbChecksum(counts map[ysbKey]int64) string {
	h := fnv.New64a()
	var buf [24]byte
	for _, r := range ysbRows(counts) {
		binary.LittleEndian.PutUint64(buf[0:], uint64(r.windowMs))
		binary.LittleEndian.PutUint64(buf[8:], uint64(r.campaign))
		binary.LittleEndian.PutUint64(buf[16:], uint64(r.count))
		h.Write(buf[:])
	}
	return hex.EncodeToString(h.Sum(nil))
}

// ysbTotal is the sum of the counts: the views that joined.
func ysbTotal(counts map[ysbKey]int64) int64 {
	var n int64
	for _, c := range counts {
		n += c
	}
	return n
}

// ysbCounter is the hand-written loop's state: the ad -> campaign lookup
// as a slice indexed by ad id, and per window a dense array of counts by
// campaign index.
type ysbCounter struct {
	campaignIdx []int32 // by ad id; -1: no such ad
	campaigns   []int64 // campaign id by index
	windows     map[int64][]int64
	curStart    int64
	cur         []int64
}

// newYSBCounter builds the lookup from the static table's record.
func newYSBCounter(adTable arrow.RecordBatch) *ysbCounter {
	ads := adTable.Column(0).(*array.Int64).Int64Values()
	camps := adTable.Column(1).(*array.Int64).Int64Values()
	c := &ysbCounter{windows: map[int64][]int64{}, curStart: -1}
	idx := map[int64]int32{}
	maxAd := int64(-1)
	for _, a := range ads {
		maxAd = max(maxAd, a)
	}
	c.campaignIdx = make([]int32, maxAd+1)
	for i := range c.campaignIdx {
		c.campaignIdx[i] = -1
	}
	for i, a := range ads {
		k, ok := idx[camps[i]]
		if !ok {
			k = int32(len(c.campaigns))
			idx[camps[i]] = k
			c.campaigns = append(c.campaigns, camps[i])
		}
		c.campaignIdx[a] = k
	}
	return c
}

// add counts the views among the rows of the three columns (borrowed;
// no nulls), as the query does: event_type = "view", ad_id in the table,
// one count per (10 s window, campaign).
func (c *ysbCounter) add(eventType *array.String, adIDs *array.Int64, times *array.Timestamp) {
	offs := eventType.ValueOffsets()
	data := eventType.ValueBytes()
	ads := adIDs.Int64Values()
	ts := times.TimestampValues()
	lookup := c.campaignIdx
	for i := range ads {
		o0, o1 := offs[i], offs[i+1]
		if o1-o0 != 4 || string(data[o0:o1]) != "view" {
			continue
		}
		ad := ads[i]
		if ad < 0 || ad >= int64(len(lookup)) || lookup[ad] < 0 {
			continue
		}
		t := int64(ts[i])
		start := t - ((t%ysbWindowMs)+ysbWindowMs)%ysbWindowMs
		if start != c.curStart {
			w := c.windows[start]
			if w == nil {
				w = make([]int64, len(c.campaigns))
				c.windows[start] = w
			}
			c.curStart, c.cur = start, w
		}
		c.cur[lookup[ad]]++
	}
}

// result returns the counts by (window, campaign), leaving out zeros.
func (c *ysbCounter) result() map[ysbKey]int64 {
	out := map[ysbKey]int64{}
	for start, w := range c.windows {
		for k, n := range w {
			if n > 0 {
				out[ysbKey{start, c.campaigns[k]}] = n
			}
		}
	}
	return out
}

// ysbLoop is the hand-written baseline of ysb over recs (borrowed).
func ysbLoop(recs []arrow.RecordBatch, adTable arrow.RecordBatch) map[ysbKey]int64 {
	c := newYSBCounter(adTable)
	for _, rec := range recs {
		c.add(rec.Column(4).(*array.String), rec.Column(2).(*array.Int64), rec.Column(5).(*array.Timestamp))
	}
	return c.result()
}

// ysbJSONLoop is the hand-written baseline of ysb-json over recs
// (borrowed): each record's values decoded with package decode into the
// three fields the query reads, allocated with mem and released after
// the record, then the same loop as ysbLoop.
func ysbJSONLoop(recs []arrow.RecordBatch, adTable arrow.RecordBatch, mem memory.Allocator) (map[ysbKey]int64, error) {
	d, err := decode.NewJSON(ysbLoopJSONSchema, decode.WithMode(decode.FailFast))
	if err != nil {
		return nil, fmt.Errorf("benchsuite: ysb-json loop: %w", err)
	}
	c := newYSBCounter(adTable)
	for i, rec := range recs {
		res, err := d.Decode(rec.Column(0), mem)
		if err != nil {
			return nil, fmt.Errorf("benchsuite: ysb-json loop: record %d: %w", i, err)
		}
		for j, col := range res.Columns {
			if col.NullN() > 0 {
				res.Release()
				return nil, fmt.Errorf("benchsuite: ysb-json loop: record %d: field %s has %d nulls; the generator writes every field", i, ysbLoopJSONSchema.Field(j).Name, col.NullN())
			}
		}
		c.add(res.Columns[1].(*array.String), res.Columns[0].(*array.Int64), res.Columns[2].(*array.Timestamp))
		res.Release()
	}
	return c.result(), nil
}

// ysbResultSink keeps, from the update-mode rows of the query, the
// newest count of every (window, campaign), skipping replayed batch ids
// as the sink contract asks.
type ysbResultSink struct {
	mu      sync.Mutex
	started bool
	last    int64
	counts  map[ysbKey]int64
	rows    int64
}

var _ sink.Sink = (*ysbResultSink)(nil)

func newYSBResultSink() *ysbResultSink { return &ysbResultSink{counts: map[ysbKey]int64{}} }

// AddBatch folds the rows of records (borrowed) into the counts.
func (s *ysbResultSink) AddBatch(_ context.Context, batchID int64, records []arrow.RecordBatch) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started && batchID <= s.last {
		return nil
	}
	s.started, s.last = true, batchID
	for _, rec := range records {
		if err := s.fold(batchID, rec); err != nil {
			return err
		}
	}
	return nil
}

// Description names the sink in progress reports.
func (s *ysbResultSink) Description() string { return "YSBResultSink" }

func (s *ysbResultSink) fold(batchID int64, rec arrow.RecordBatch) error {
	sc := rec.Schema()
	wi, ci, ni := sc.FieldIndices("window"), sc.FieldIndices("campaign_id"), sc.FieldIndices("count")
	if len(wi) != 1 || len(ci) != 1 || len(ni) != 1 {
		return fmt.Errorf("benchsuite: ysb result sink: batch %d has schema %v; want one window, campaign_id and count column each", batchID, sc)
	}
	win, ok := rec.Column(wi[0]).(*array.Struct)
	if !ok {
		return fmt.Errorf("benchsuite: ysb result sink: batch %d: window is %v, want a struct of start and end", batchID, rec.Column(wi[0]).DataType())
	}
	starts, ok1 := win.Field(0).(*array.Timestamp)
	camps, ok2 := rec.Column(ci[0]).(*array.Int64)
	counts, ok3 := rec.Column(ni[0]).(*array.Int64)
	if !ok1 || !ok2 || !ok3 {
		return fmt.Errorf("benchsuite: ysb result sink: batch %d has schema %v; want window.start a timestamp, campaign_id and count int64", batchID, sc)
	}
	unit := starts.DataType().(*arrow.TimestampType).Unit
	for i := 0; i < int(rec.NumRows()); i++ {
		if starts.IsNull(i) || camps.IsNull(i) || counts.IsNull(i) {
			return fmt.Errorf("benchsuite: ysb result sink: batch %d row %d has a null; every group has a window, a campaign and a count", batchID, i)
		}
		s.counts[ysbKey{starts.Value(i).ToTime(unit).UnixMilli(), camps.Value(i)}] = counts.Value(i)
	}
	s.rows += rec.NumRows()
	return nil
}

// result returns the counts gathered (the sink's own map; read it after
// the query ended).
func (s *ysbResultSink) result() map[ysbKey]int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts
}

// ysbBatchedSource serves a memory source's records one per micro-batch:
// its default read limit is one record's events, so AvailableNow drains
// the backlog in as many batches as there are records and the watermark
// advances between them, as in a live stream.
type ysbBatchedSource struct {
	*memsrc.Source
	perBatch int64
}

var _ source.RateLimiter = ysbBatchedSource{}

// DefaultReadLimit is one record's events.
func (s ysbBatchedSource) DefaultReadLimit() source.ReadLimit { return source.MaxRows(s.perBatch) }

// ysbQuery is the YSB plan over df (whose rows have ysbSchema's ad_id,
// event_type and event_time): watermark on event_time, views only, join
// with ads, count per 10 s window and campaign.
func ysbQuery(df *dataframe.DataFrame, ads *table.Table) *dataframe.DataFrame {
	return df.
		WithWatermark("event_time", ysbWatermark).
		Where(dataframe.Col("event_type").Eq(dataframe.Lit("view"))).
		Select(dataframe.Col("ad_id"), dataframe.Col("event_time")).
		JoinStatic(ads, []string{"ad_id"}, "inner").
		GroupBy(dataframe.Window(dataframe.Col("event_time"), ysbWindow), dataframe.Col("campaign_id")).
		Agg(dataframe.Count().As("count"))
}

// ysbRun is what one engine run did.
type ysbRun struct {
	timing  Timing
	counts  map[ysbKey]int64
	batches int
	inRows  int64
	late    int64
}

// ysbEngineOpts are the engine run's settings.
type ysbEngineOpts struct {
	mem  memory.Allocator // the query's allocator
	ckpt objstore.Store   // the checkpoint
	json bool             // recs are JSON values to parse with FromJSON
}

// runYSBEngine runs the query over recs (borrowed; the source holds its
// own references) with AvailableNow, one record per micro-batch, and
// times it from Start to the end of Wait.
func runYSBEngine(ctx context.Context, recs []arrow.RecordBatch, adTable arrow.RecordBatch, o ysbEngineOpts) (ysbRun, error) {
	what := "ysb"
	schema := ysbSchema
	if o.json {
		what, schema = "ysb-json", ysbValueSchema
	}
	ads, err := table.FromRecords(ysbAdSchema, adTable)
	if err != nil {
		return ysbRun{}, fmt.Errorf("benchsuite: %s: the ad table: %w", what, err)
	}
	defer ads.Release()
	src := memsrc.New(schema, memsrc.WithAllocator(o.mem))
	defer src.Close()
	src.Add(recs...)
	df := dataframe.ReadStream(ysbBatchedSource{Source: src, perBatch: recs[0].NumRows()}, dataframe.WithSourceName(what))
	if o.json {
		df = df.FromJSON("value", ysbJSONSchema)
	}
	df = ysbQuery(df, ads)
	out := newYSBResultSink()
	// The listener sees every batch's progress (RecentProgress keeps
	// only the last 100).
	var run ysbRun
	var pmu sync.Mutex
	progress := engine.ListenerFuncs{Progress: func(p engine.Progress) {
		pmu.Lock()
		defer pmu.Unlock()
		if p.NumInputRows > 0 {
			run.batches++
			run.inRows += p.NumInputRows
		}
		for _, so := range p.StateOperators {
			run.late += so.NumRowsDroppedByWatermark
		}
	}}
	runtime.GC()
	t, err := Measure(func() error {
		q, err := df.WriteStream(out).
			OutputMode("update").
			// One state partition per core: a batch updates a few hundred
			// groups, and each partition is a file written per batch.
			StatePartitions(runtime.GOMAXPROCS(0)).
			Trigger(trigger.AvailableNow()).
			CheckpointStore(o.ckpt).
			Allocator(o.mem).
			Engine(engine.New(engine.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))), engine.WithListener(progress))).
			Start(ctx)
		if err != nil {
			return fmt.Errorf("benchsuite: %s: starting the query: %w", what, err)
		}
		if err := q.Wait(ctx); err != nil {
			return fmt.Errorf("benchsuite: %s: the query failed: %w", what, err)
		}
		return nil
	})
	if err != nil {
		return ysbRun{}, err
	}
	pmu.Lock()
	defer pmu.Unlock()
	run.timing, run.counts = t, out.result()
	return run, nil
}

// ysbCheckpoint is the checkpoint store of a run: a fresh folder under
// cfg.Dir when one is given, else memory.
func ysbCheckpoint(cfg Config, name string) (objstore.Store, error) {
	if cfg.Dir == "" {
		return objstore.NewMemory(), nil
	}
	dir := filepath.Join(cfg.Dir, fmt.Sprintf("%s-%d", name, time.Now().UnixNano()))
	st, err := objstore.NewDir(dir)
	if err != nil {
		return nil, fmt.Errorf("benchsuite: %s: checkpoint folder: %w", name, err)
	}
	return st, nil
}

func (cfg Config) logf(format string, args ...any) {
	if cfg.Logf != nil {
		cfg.Logf(format, args...)
	}
}

// benchPool is the allocator the engine-only workloads give their
// queries (the hand-written loops use it too): a buffer pool keeping up to
// 128 MiB of freed Arrow buffers, so that after the first batches a
// micro-batch reuses the previous one's buffers instead of taking fresh
// memory from the runtime (see package bufpool; it is opt-in for users).
func benchPool() memory.Allocator { return bufpool.New(128 << 20) }

// runYSB is the ysb workload.
func runYSB(ctx context.Context, cfg Config) (Result, error) {
	events := cfg.Events
	if events == 0 {
		events = 20_000_000
	}
	return ysbMeasure(ctx, cfg, "ysb", ysbShapeFor(events), offHeap{}, benchPool())
}

// runYSBJSON is the ysb-json workload.
func runYSBJSON(ctx context.Context, cfg Config) (Result, error) {
	events := cfg.Events
	if events == 0 {
		events = 4_000_000
	}
	return ysbMeasure(ctx, cfg, "ysb-json", ysbShapeFor(events), offHeap{}, benchPool())
}

// ysbMeasure generates the input of shape with dataMem (outside the
// timing), runs the engine query with queryMem and the hand-written loop
// over the same records, each timed with Measure, and checks that both
// counted the same: the engine's result and the loop's must have the same
// checksum. name is "ysb" or "ysb-json".
func ysbMeasure(ctx context.Context, cfg Config, name string, shape ysbShape, dataMem, queryMem memory.Allocator) (Result, error) {
	if err := shape.validate(); err != nil {
		return Result{}, err
	}
	isJSON := name == "ysb-json"
	g0 := time.Now()
	var recs []arrow.RecordBatch
	var jsonBytes int64
	if isJSON {
		recs, jsonBytes = shape.generateJSON(dataMem)
	} else {
		recs = shape.generateArrow(dataMem)
	}
	defer func() {
		for _, r := range recs {
			r.Release()
		}
	}()
	adTable := ysbAdTable(queryMem)
	defer adTable.Release()
	cfg.logf("%s: generated %d events in %d records in %v", name, shape.events, len(recs), time.Since(g0).Round(time.Millisecond))

	// The headline run keeps its checkpoint in a memory store: the same
	// offsets log, commit log and state files, without the disk's fsync
	// latency, which on a shared machine varies more than the engine's
	// own time. A second run with the checkpoint in a local folder (when
	// there is a scratch folder) is reported beside it.
	run, err := runYSBEngine(ctx, recs, adTable, ysbEngineOpts{mem: queryMem, ckpt: objstore.NewMemory(), json: isJSON})
	if err != nil {
		return Result{}, err
	}
	if err := run.check(name, shape.events); err != nil {
		return Result{}, err
	}
	cfg.logf("%s: engine: %d batches in %v", name, run.batches, run.timing.Wall.Round(time.Millisecond))
	var dirRun ysbRun
	if cfg.Dir != "" {
		ckpt, err := ysbCheckpoint(cfg, name)
		if err != nil {
			return Result{}, err
		}
		if dirRun, err = runYSBEngine(ctx, recs, adTable, ysbEngineOpts{mem: queryMem, ckpt: ckpt, json: isJSON}); err != nil {
			return Result{}, err
		}
		if err := dirRun.check(name, shape.events); err != nil {
			return Result{}, err
		}
		if a, b := ysbChecksum(run.counts), ysbChecksum(dirRun.counts); a != b {
			return Result{}, fmt.Errorf("benchsuite: %s: the run with a memory checkpoint gave checksum %s, the run with a folder checkpoint %s; the query's result is wrong", name, a, b)
		}
		cfg.logf("%s: engine, checkpoint in a folder: %v", name, dirRun.timing.Wall.Round(time.Millisecond))
	}

	var loop map[ysbKey]int64
	runtime.GC()
	lt, err := Measure(func() error {
		if isJSON {
			var err error
			loop, err = ysbJSONLoop(recs, adTable, queryMem)
			return err
		}
		loop = ysbLoop(recs, adTable)
		return nil
	})
	if err != nil {
		return Result{}, err
	}
	cfg.logf("%s: loop: %v", name, lt.Wall.Round(time.Millisecond))

	sum, loopSum := ysbChecksum(run.counts), ysbChecksum(loop)
	if sum != loopSum {
		return Result{}, fmt.Errorf("benchsuite: %s: the engine counted %d views in %d groups (checksum %s), the loop %d in %d groups (checksum %s); the query's result is wrong",
			name, ysbTotal(run.counts), len(run.counts), sum, ysbTotal(loop), len(loop), loopSum)
	}
	r := Result{Workload: name, Checksum: sum}
	r.Fill(shape.events, run.timing)
	r.BaselineEventsPerS = float64(shape.events) / lt.Wall.Seconds()
	r.Extra = map[string]float64{
		"input_mb":                   float64(ysbInputBytes(recs)) / (1 << 20),
		"batches":                    float64(run.batches),
		"result_rows":                float64(len(run.counts)),
		"views_joined":               float64(ysbTotal(run.counts)),
		"baseline_wall_s":            lt.Wall.Seconds(),
		"baseline_events_per_core_s": float64(shape.events) / lt.CPU.Seconds(),
		"ratio":                      r.EventsPerS / r.BaselineEventsPerS,
	}
	if isJSON {
		r.Extra["json_bytes_per_event"] = float64(jsonBytes) / float64(shape.events)
	}
	if dirRun.timing.Wall > 0 {
		r.Extra["dir_checkpoint_events_per_s"] = float64(shape.events) / dirRun.timing.Wall.Seconds()
		r.Extra["dir_checkpoint_events_per_core_s"] = float64(shape.events) / dirRun.timing.CPU.Seconds()
	}
	return r, nil
}

// check names what went wrong when the run did not read every event
// or dropped some as late.
func (run ysbRun) check(name string, events int64) error {
	if run.inRows != events || run.late != 0 {
		return fmt.Errorf("benchsuite: %s: the query read %d events in %d batches and dropped %d as late; want all %d read and none late", name, run.inRows, run.batches, run.late, events)
	}
	return nil
}

// ysbInputBytes is the size of the buffers recs (borrowed) hold, each
// buffer counted once however many records share it.
func ysbInputBytes(recs []arrow.RecordBatch) int64 {
	seen := map[*byte]bool{}
	var n int64
	var walk func(d arrow.ArrayData)
	walk = func(d arrow.ArrayData) {
		for _, b := range d.Buffers() {
			if b == nil || b.Len() == 0 || seen[&b.Bytes()[0]] {
				continue
			}
			seen[&b.Bytes()[0]] = true
			n += int64(b.Len())
		}
		for _, c := range d.Children() {
			walk(c)
		}
	}
	for _, rec := range recs {
		for _, col := range rec.Columns() {
			walk(col.Data())
		}
	}
	return n
}

// offHeap is a memory.Allocator whose buffers are anonymous memory maps,
// outside the Go heap. The benchmark input is allocated with it, so that
// hundreds of megabytes of pre-generated records do not raise the garbage
// collector's heap target (a Go heap holding them could grow to twice
// their size before a collection): the peak RSS measured is the input
// plus what the engine itself uses. Allocate panics when the kernel
// refuses a mapping, as the Go allocator panics when out of memory.
type offHeap struct{}

var _ memory.Allocator = offHeap{}

// Allocate maps size bytes, zeroed. Free unmaps them.
func (offHeap) Allocate(size int) []byte {
	b, err := syscall.Mmap(-1, 0, max(size, 1), syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		panic(fmt.Sprintf("benchsuite: mapping %d bytes for benchmark input: %v", size, err))
	}
	return b[:size]
}

// Reallocate returns b resized to size: b itself when it has the
// capacity, else a new mapping holding b's bytes (b is unmapped).
func (a offHeap) Reallocate(size int, b []byte) []byte {
	if size <= cap(b) {
		return b[:size]
	}
	nb := a.Allocate(size)
	copy(nb, b)
	a.Free(b)
	return nb
}

// Free unmaps b, a slice Allocate or Reallocate returned.
func (offHeap) Free(b []byte) {
	if cap(b) == 0 {
		return
	}
	if err := syscall.Munmap(b[:cap(b)]); err != nil {
		panic(fmt.Sprintf("benchsuite: unmapping %d bytes of benchmark input: %v", cap(b), err))
	}
}
