package rate

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/objstore"
	"github.com/sluicehq/sluice/source"
)

// MaxRecordRows is the most rows Read puts in one record.
const MaxRecordRows = 64 * 1024

// StartObject is the name of the object Init keeps the start time and rate
// in, inside the source's checkpoint folder.
const StartObject = "rate-start"

var schema = arrow.NewSchema([]arrow.Field{
	{Name: "timestamp", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}},
	{Name: "value", Type: arrow.PrimitiveTypes.Int64},
}, nil)

// Option configures a Source.
type Option func(*config)

type config struct {
	rowsPerSecond int64
	maxRows       int64
	startTime     time.Time
	hasStart      bool
	clock         func() time.Time
}

// WithRowsPerSecond sets how many rows are due per second; the default is 1
// and n must be > 0.
func WithRowsPerSecond(n int64) Option {
	return func(c *config) { c.rowsPerSecond = n }
}

// WithMaxRowsPerTrigger caps the rows of one batch when the query sets no
// read limit of its own; 0 (the default) means no cap.
func WithMaxRowsPerTrigger(n int64) Option {
	return func(c *config) { c.maxRows = n }
}

// WithStartTime sets the time of row 0 for a new checkpoint (or for a run
// without one). A time in the past makes the query start with a backlog.
// An existing checkpoint keeps the start it recorded.
func WithStartTime(t time.Time) Option {
	return func(c *config) { c.startTime, c.hasStart = t, true }
}

// WithClock sets the function the source reads the current time with; the
// default is time.Now. Tests pass a fake clock.
func WithClock(now func() time.Time) Option {
	return func(c *config) { c.clock = now }
}

func (c *config) validate() error {
	if c.rowsPerSecond <= 0 {
		return fmt.Errorf("rate: WithRowsPerSecond(%d): rows per second must be > 0", c.rowsPerSecond)
	}
	if c.maxRows < 0 {
		return fmt.Errorf("rate: WithMaxRowsPerTrigger(%d): the cap must be >= 0 (0 means no cap)", c.maxRows)
	}
	if c.hasStart && c.startTime.IsZero() {
		return errors.New("rate: WithStartTime(time.Time{}): the zero time is not a start time; leave the option out to start at the first batch")
	}
	if c.clock == nil {
		return errors.New("rate: WithClock(nil): give a function returning the current time, or leave the option out to use time.Now")
	}
	return nil
}

// Source generates rows at a fixed rate; see the package documentation.
type Source struct {
	cfg config

	mu sync.Mutex
	// started says startMicros is set: by Init, or by the first call.
	started     bool
	startMicros int64
	// capped and capRows hold the AvailableNow bound.
	capped  bool
	capRows int64
}

var (
	_ source.Source         = (*Source)(nil)
	_ source.Initializer    = (*Source)(nil)
	_ source.RateLimiter    = (*Source)(nil)
	_ source.AvailableNower = (*Source)(nil)
	_ source.Describer      = (*Source)(nil)
)

// New returns a rate source, or an error naming the first bad option.
func New(opts ...Option) (*Source, error) {
	cfg := config{rowsPerSecond: 1, clock: time.Now}
	for _, o := range opts {
		o(&cfg)
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return &Source{cfg: cfg}, nil
}

// Schema returns timestamp timestamp[us, tz=UTC] not null, value int64 not
// null.
func (s *Source) Schema() *arrow.Schema { return schema }

// DefaultReadLimit returns WithMaxRowsPerTrigger's cap, or source.ReadAll.
func (s *Source) DefaultReadLimit() source.ReadLimit {
	if s.cfg.maxRows > 0 {
		return source.MaxRows(s.cfg.maxRows)
	}
	return source.ReadAll
}

// Description returns "RateSource[rowsPerSecond=N]".
func (s *Source) Description() string {
	return "RateSource[rowsPerSecond=" + strconv.FormatInt(s.cfg.rowsPerSecond, 10) + "]"
}

// startRecord is the JSON of StartObject.
type startRecord struct {
	StartTimeMs   *int64 `json:"startTimeMs"`
	RowsPerSecond *int64 `json:"rowsPerSecond"`
}

// Init reads the start time and rate recorded in meta, or records them if
// this is a new checkpoint. It fails if the recorded rate differs from the
// configured one.
func (s *Source) Init(ctx context.Context, meta objstore.Store) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	where := strings.TrimSuffix(objstore.Location(meta), "/") + "/" + StartObject
	data, err := meta.Get(ctx, StartObject)
	if objstore.IsNotExist(err) {
		startMs := s.cfg.clock().UnixMilli()
		if s.cfg.hasStart {
			startMs = s.cfg.startTime.UnixMilli()
		}
		data, err = json.Marshal(startRecord{StartTimeMs: &startMs, RowsPerSecond: &s.cfg.rowsPerSecond})
		if err != nil {
			return fmt.Errorf("rate: encoding %s: %w", StartObject, err)
		}
		err = meta.PutIfAbsent(ctx, StartObject, data)
		if objstore.IsExist(err) {
			// Another run created it first: its start time wins.
			data, err = meta.Get(ctx, StartObject)
		}
	}
	if err != nil {
		return fmt.Errorf("rate: reading or creating the start time %s: %w", where, err)
	}
	var rec startRecord
	if err := json.Unmarshal(data, &rec); err != nil || rec.StartTimeMs == nil || rec.RowsPerSecond == nil {
		return fmt.Errorf(`rate: %s is corrupt (%q): want {"startTimeMs":N,"rowsPerSecond":N}; the checkpoint cannot be resumed without it`,
			where, bytes.TrimSpace(data))
	}
	if *rec.RowsPerSecond != s.cfg.rowsPerSecond {
		return fmt.Errorf("rate: %s says the checkpoint was started at %d rows per second but the source is configured with WithRowsPerSecond(%d): "+
			"the rate of an existing checkpoint cannot change, because replayed batches must get the same timestamps; "+
			"use WithRowsPerSecond(%d) or a new checkpoint", where, *rec.RowsPerSecond, s.cfg.rowsPerSecond, *rec.RowsPerSecond)
	}
	s.startMicros = *rec.StartTimeMs * 1000
	s.started = true
	return nil
}

// ensureStarted fixes the start time on the first call without Init. The
// caller holds s.mu.
func (s *Source) ensureStarted() {
	if s.started {
		return
	}
	t := s.cfg.clock()
	if s.cfg.hasStart {
		t = s.cfg.startTime
	}
	s.startMicros = t.UnixMilli() * 1000
	s.started = true
}

// rowsDue returns floor((now - start) * rowsPerSecond), the number of rows
// whose time has come, saturating at math.MaxInt64. The caller holds s.mu.
func (s *Source) rowsDue(now time.Time) int64 {
	elapsed := now.UnixMicro() - s.startMicros
	if elapsed <= 0 {
		return 0
	}
	hi, lo := bits.Mul64(uint64(elapsed), uint64(s.cfg.rowsPerSecond))
	if hi >= 1e6 {
		return math.MaxInt64
	}
	q, _ := bits.Div64(hi, lo, 1e6)
	if q > math.MaxInt64 {
		return math.MaxInt64
	}
	return int64(q)
}

// LatestOffset returns min(rows due now, start + limit.Rows()), and never
// less than start.
func (s *Source) LatestOffset(ctx context.Context, start source.Offset, limit source.ReadLimit) (source.Offset, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	from, err := decodeOffset(start)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.ensureStarted()
	due := s.rowsDue(s.cfg.clock())
	if s.capped {
		due = min(due, s.capRows)
	}
	s.mu.Unlock()
	end := from
	if n := limit.Rows(); n > math.MaxInt64-from {
		end = math.MaxInt64
	} else {
		end = from + n
	}
	return encodeOffset(max(from, min(due, end))), nil
}

// PrepareForAvailableNow caps every later LatestOffset at the rows due now.
func (s *Source) PrepareForAvailableNow(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ensureStarted()
	s.capped = true
	s.capRows = s.rowsDue(s.cfg.clock())
	return nil
}

// Read returns rows [start, end) in records of at most MaxRecordRows rows,
// allocated with mem (memory.DefaultAllocator if nil). The caller owns the
// records and must Release each one. The rows depend only on the offsets,
// the start time and the rate.
func (s *Source) Read(ctx context.Context, start, end source.Offset, mem memory.Allocator) ([]arrow.RecordBatch, error) {
	from, err := decodeOffset(start)
	if err != nil {
		return nil, err
	}
	to, err := decodeOffset(end)
	if err != nil {
		return nil, err
	}
	if to < from {
		return nil, fmt.Errorf("rate: Read: end offset %s is before start offset %s", encodeOffset(to), encodeOffset(from))
	}
	if mem == nil {
		mem = memory.DefaultAllocator
	}
	s.mu.Lock()
	s.ensureStarted()
	startMicros := s.startMicros
	s.mu.Unlock()
	if to > from {
		if q, _, ok := rowOffset(to-1, uint64(s.cfg.rowsPerSecond)); !ok || q > uint64(math.MaxInt64-max(startMicros, 0)) {
			return nil, fmt.Errorf("rate: Read: row %d at %d rows per second is past the last time a timestamp[us] can hold; offsets this large were not returned by LatestOffset", to-1, s.cfg.rowsPerSecond)
		}
	}

	out := make([]arrow.RecordBatch, 0, (to-from+MaxRecordRows-1)/MaxRecordRows)
	for lo := from; lo < to; lo += MaxRecordRows {
		if err := ctx.Err(); err != nil {
			for _, r := range out {
				r.Release()
			}
			return nil, err
		}
		out = append(out, s.build(mem, startMicros, lo, min(to, lo+MaxRecordRows)))
	}
	return out, nil
}

// build returns a record of rows [lo, hi), which the caller releases.
func (s *Source) build(mem memory.Allocator, startMicros, lo, hi int64) arrow.RecordBatch {
	n := int(hi - lo)
	rps := uint64(s.cfg.rowsPerSecond)

	tsb := array.NewTimestampBuilder(mem, schema.Field(0).Type.(*arrow.TimestampType))
	defer tsb.Release()
	vb := array.NewInt64Builder(mem)
	defer vb.Release()
	tsb.Reserve(n)
	vb.Reserve(n)

	// The offset of row i from the start is floor(i*1e6/rps) microseconds.
	// Writing 1e6 = stepQ*rps + stepR, it grows by stepQ per row plus one
	// whenever the remainder (i*stepR mod rps) wraps: no division per row,
	// and no overflow however large i is.
	stepQ, stepR := 1e6/rps, 1e6%rps
	q, rem, _ := rowOffset(lo, rps) // Read checked that the offsets fit
	offset := int64(q)
	for i := lo; i < hi; i++ {
		tsb.UnsafeAppend(arrow.Timestamp(startMicros + offset))
		vb.UnsafeAppend(i)
		offset += int64(stepQ)
		rem += stepR
		if rem >= rps {
			rem -= rps
			offset++
		}
	}
	ts := tsb.NewArray()
	defer ts.Release()
	vals := vb.NewArray()
	defer vals.Release()
	return array.NewRecordBatch(schema, []arrow.Array{ts, vals}, int64(n))
}

// rowOffset returns floor(i*1e6/rps), the microseconds from the start to
// row i, and the remainder (i*1e6 mod rps); ok is false if the quotient
// does not fit in 63 bits.
func rowOffset(i int64, rps uint64) (q, rem uint64, ok bool) {
	hi, lo := bits.Mul64(uint64(i), 1e6)
	if hi >= rps {
		return 0, 0, false
	}
	q, rem = bits.Div64(hi, lo, rps)
	return q, rem, q <= math.MaxInt64
}

// Close does nothing: the source holds no resources.
func (s *Source) Close() error { return nil }

func encodeOffset(n int64) source.Offset { return source.CounterOffset("row", n) }

// decodeOffset parses {"row":N}; a nil offset is 0.
func decodeOffset(off source.Offset) (int64, error) {
	return source.ParseCounterOffset("rate", "row", off)
}
