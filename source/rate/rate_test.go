package rate

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/bufpool"
	"github.com/sluicehq/sluice/internal/arrowrows"
	"github.com/sluicehq/sluice/objstore"
	"github.com/sluicehq/sluice/source"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock(t time.Time) *fakeClock { return &fakeClock{now: t} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func mustNew(t testing.TB, opts ...Option) *Source {
	t.Helper()
	s, err := New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func off(n int64) source.Offset { return encodeOffset(n) }

func latest(t *testing.T, s *Source, start source.Offset, limit source.ReadLimit) int64 {
	t.Helper()
	o, err := s.LatestOffset(context.Background(), start, limit)
	if err != nil {
		t.Fatal(err)
	}
	n, err := decodeOffset(o)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// read returns the rows of (start, end] and the record sizes.
func read(t *testing.T, s *Source, mem memory.Allocator, start, end int64) ([][]any, []int64) {
	t.Helper()
	recs, err := s.Read(context.Background(), off(start), off(end), mem)
	if err != nil {
		t.Fatal(err)
	}
	var sizes []int64
	for _, r := range recs {
		if !r.Schema().Equal(s.Schema()) {
			t.Fatalf("record schema %v, want %v", r.Schema(), s.Schema())
		}
		sizes = append(sizes, r.NumRows())
	}
	rows := arrowrows.RowsOf(recs)
	for _, r := range recs {
		r.Release()
	}
	return rows, sizes
}

func TestSchema(t *testing.T) {
	s := mustNew(t)
	want := arrow.NewSchema([]arrow.Field{
		{Name: "timestamp", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, Nullable: false},
		{Name: "value", Type: arrow.PrimitiveTypes.Int64, Nullable: false},
	}, nil)
	if !s.Schema().Equal(want) {
		t.Fatalf("Schema() = %v, want %v", s.Schema(), want)
	}
	if got := mustNew(t, WithRowsPerSecond(250)).Description(); got != "RateSource[rowsPerSecond=250]" {
		t.Fatalf("Description() = %q", got)
	}
}

func TestRowsFollowTheFormula(t *testing.T) {
	mem := memory.NewCheckedAllocator(bufpool.NewPoison())
	defer mem.AssertSize(t, 0)
	clock := newClock(t0)
	// 3 rows per second does not divide a second evenly: row i is at
	// floor(i*1e6/3) microseconds.
	s := mustNew(t, WithRowsPerSecond(3), WithClock(clock.Now))
	if got := latest(t, s, nil, source.ReadAll); got != 0 {
		t.Fatalf("at the start: LatestOffset = %d, want 0", got)
	}
	clock.Advance(2*time.Second + 500*time.Millisecond)
	if got := latest(t, s, nil, source.ReadAll); got != 7 {
		t.Fatalf("after 2.5s at 3 rows/s: LatestOffset = %d, want 7", got)
	}
	rows, _ := read(t, s, mem, 0, 7)
	var want [][]any
	for i := range int64(7) {
		want = append(want, []any{t0.Add(time.Duration(i*1e6/3) * time.Microsecond), i})
	}
	if !reflect.DeepEqual(rows, want) {
		t.Fatalf("rows = %v, want %v", rows, want)
	}
	if ts := rows[1][0].(time.Time); !ts.Equal(t0.Add(333333 * time.Microsecond)) {
		t.Fatalf("row 1 at %v, want 333333us after the start", ts)
	}
}

func TestChunkedRecords(t *testing.T) {
	mem := memory.NewCheckedAllocator(bufpool.NewPoison())
	defer mem.AssertSize(t, 0)
	s := mustNew(t, WithRowsPerSecond(1000), WithStartTime(t0))
	rows, sizes := read(t, s, mem, 10, 10+2*MaxRecordRows+7)
	if want := []int64{MaxRecordRows, MaxRecordRows, 7}; !reflect.DeepEqual(sizes, want) {
		t.Fatalf("record sizes %v, want %v", sizes, want)
	}
	for j, row := range rows {
		i := int64(10 + j)
		if row[1] != i || !row[0].(time.Time).Equal(t0.Add(time.Duration(i)*time.Millisecond)) {
			t.Fatalf("row %d = %v, want value %d at %v", j, row, i, t0.Add(time.Duration(i)*time.Millisecond))
		}
	}
	if rows, sizes := read(t, s, mem, 5, 5); len(rows) != 0 || len(sizes) != 0 {
		t.Fatalf("empty range gave %d records", len(sizes))
	}
}

// Large row numbers and rates take the 128-bit path; the incremental
// timestamps must still match the formula.
func TestLargeRowNumbers(t *testing.T) {
	mem := memory.NewCheckedAllocator(bufpool.NewPoison())
	defer mem.AssertSize(t, 0)
	for _, rps := range []int64{7, 1_000_003, 1 << 50} {
		s := mustNew(t, WithRowsPerSecond(rps), WithStartTime(t0))
		first := int64(1) << 40
		rows, _ := read(t, s, mem, first, first+1000)
		for j, row := range rows {
			i := first + int64(j)
			q, _, ok := rowOffset(i, uint64(rps))
			if !ok {
				t.Fatalf("rowOffset(%d, %d) overflowed", i, rps)
			}
			if want := time.UnixMicro(t0.UnixMicro() + int64(q)).UTC(); !row[0].(time.Time).Equal(want) {
				t.Fatalf("rps %d row %d at %v, want %v", rps, i, row[0], want)
			}
		}
	}
	s := mustNew(t, WithRowsPerSecond(1), WithStartTime(t0))
	if _, err := s.Read(context.Background(), off(0), off(1<<62), mem); err == nil || !strings.Contains(err.Error(), "past the last time") {
		t.Fatalf("Read of rows past the timestamp range: error %v", err)
	}
}

func TestDeterministicAcrossInstances(t *testing.T) {
	mem := memory.NewCheckedAllocator(bufpool.NewPoison())
	defer mem.AssertSize(t, 0)
	ctx := context.Background()
	meta := objstore.NewMemory()

	clock1 := newClock(t0.Add(123 * time.Millisecond))
	s1 := mustNew(t, WithRowsPerSecond(10), WithClock(clock1.Now))
	if err := s1.Init(ctx, meta); err != nil {
		t.Fatal(err)
	}
	clock1.Advance(5 * time.Second)
	end := latest(t, s1, nil, source.ReadAll)
	if end != 50 {
		t.Fatalf("LatestOffset after 5s at 10 rows/s = %d, want 50", end)
	}
	rows1, _ := read(t, s1, mem, 20, end)

	// A second instance (a restart) an hour later, with a different start
	// option: the recorded start wins, so the replay is identical.
	clock2 := newClock(t0.Add(time.Hour))
	s2 := mustNew(t, WithRowsPerSecond(10), WithClock(clock2.Now), WithStartTime(t0.Add(-time.Hour)))
	if err := s2.Init(ctx, meta); err != nil {
		t.Fatal(err)
	}
	rows2, _ := read(t, s2, mem, 20, end)
	if !reflect.DeepEqual(rows1, rows2) {
		t.Fatalf("replay differs:\n first %v\nsecond %v", rows1, rows2)
	}
	if ts := rows1[0][0].(time.Time); !ts.Equal(t0.Add(123*time.Millisecond + 2*time.Second)) {
		t.Fatalf("row 20 at %v, want start + 2s", ts)
	}
	data, err := meta.Get(ctx, StartObject)
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf(`{"startTimeMs":%d,"rowsPerSecond":10}`, t0.Add(123*time.Millisecond).UnixMilli()); string(data) != want {
		t.Fatalf("%s = %s, want %s", StartObject, data, want)
	}
	// The restarted source is 1h - 123ms in: floor(3599.877 * 10) rows are due.
	if got := latest(t, s2, off(end), source.ReadAll); got != 35998 {
		t.Fatalf("restarted LatestOffset = %d, want 35998", got)
	}
}

func TestConcurrentInitAgreesOnStart(t *testing.T) {
	ctx := context.Background()
	meta := objstore.NewMemory()
	const n = 8
	starts := make([]int64, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			s := mustNew(t, WithStartTime(t0.Add(time.Duration(i)*time.Second)))
			if err := s.Init(ctx, meta); err != nil {
				t.Error(err)
				return
			}
			starts[i] = s.startMicros
		})
	}
	wg.Wait()
	for i := range starts {
		if starts[i] != starts[0] {
			t.Fatalf("instances disagree on the start: %v", starts)
		}
	}
}

func TestRateChangeRefused(t *testing.T) {
	ctx := context.Background()
	meta := objstore.NewMemory()
	if err := mustNew(t, WithRowsPerSecond(10)).Init(ctx, meta); err != nil {
		t.Fatal(err)
	}
	err := mustNew(t, WithRowsPerSecond(20)).Init(ctx, meta)
	if err == nil {
		t.Fatal("Init with a different rate succeeded")
	}
	for _, want := range []string{"rate: ", "/rate-start says", "started at 10 rows per second", "WithRowsPerSecond(20)", "cannot change", "new checkpoint"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if err := mustNew(t, WithRowsPerSecond(10)).Init(ctx, meta); err != nil {
		t.Fatalf("Init with the recorded rate: %v", err)
	}
}

func TestCorruptStartObject(t *testing.T) {
	ctx := context.Background()
	for _, data := range []string{`not json`, `{"startTimeMs":5}`, `{}`} {
		meta := objstore.Prefixed(objstore.NewMemory(), "sources/0")
		if err := meta.Put(ctx, StartObject, []byte(data)); err != nil {
			t.Fatal(err)
		}
		err := mustNew(t).Init(ctx, meta)
		if err == nil || !strings.Contains(err.Error(), "/sources/0/rate-start is corrupt") {
			t.Errorf("Init over %s: error %v, want a corruption error", data, err)
		}
	}
	// A store failure is reported, wrapped.
	faulty := objstore.NewFaulty(objstore.NewMemory(), 1)
	boom := errors.New("disk on fire")
	faulty.FailOn(objstore.Rule{Op: objstore.OpAny, Times: -1, Err: boom})
	if err := mustNew(t).Init(ctx, faulty); !errors.Is(err, boom) || !strings.Contains(err.Error(), "rate: ") {
		t.Errorf("Init over a failing store: error %v, want it to wrap %v", err, boom)
	}
}

// When PutIfAbsent reports that the object exists (another run created it
// after this Init looked), Init reads and uses the winner's start.
func TestInitLosesCreateRace(t *testing.T) {
	ctx := context.Background()
	inner := objstore.NewMemory()
	rival := mustNew(t, WithRowsPerSecond(5), WithStartTime(t0))
	s := mustNew(t, WithRowsPerSecond(5), WithStartTime(t0.Add(time.Hour)))
	race := &rivalFirst{Store: inner, rival: func() error { return rival.Init(ctx, inner) }}
	if err := s.Init(ctx, race); err != nil {
		t.Fatal(err)
	}
	if !race.ran {
		t.Fatal("Init did not try to create the start object")
	}
	if s.startMicros != t0.UnixMicro() {
		t.Fatalf("start after losing the race = %d, want the rival's %d", s.startMicros, t0.UnixMicro())
	}
}

// rivalFirst runs a rival's Init just before forwarding PutIfAbsent.
type rivalFirst struct {
	objstore.Store
	rival func() error
	ran   bool
}

func (r *rivalFirst) PutIfAbsent(ctx context.Context, name string, data []byte) error {
	r.ran = true
	if err := r.rival(); err != nil {
		return err
	}
	return r.Store.PutIfAbsent(ctx, name, data)
}

func TestLimitsAndCaps(t *testing.T) {
	clock := newClock(t0)
	s := mustNew(t, WithRowsPerSecond(100), WithMaxRowsPerTrigger(30), WithClock(clock.Now))
	if got := s.DefaultReadLimit(); got != source.MaxRows(30) {
		t.Fatalf("DefaultReadLimit() = %+v, want MaxRows(30)", got)
	}
	if got := mustNew(t).DefaultReadLimit(); got != source.ReadAll {
		t.Fatalf("DefaultReadLimit() without a cap = %+v, want ReadAll", got)
	}
	latest(t, s, nil, source.ReadAll) // fixes the start at t0
	clock.Advance(time.Second)
	for _, tc := range []struct {
		start int64
		limit source.ReadLimit
		want  int64
	}{
		{0, source.ReadAll, 100},
		{0, source.MaxRows(30), 30},
		{90, source.MaxRows(30), 100},
		{100, source.MaxRows(30), 100},
		{150, source.ReadAll, 150}, // never below start
		{1<<63 - 10, source.MaxRows(100), 1<<63 - 10},
	} {
		if got := latest(t, s, off(tc.start), tc.limit); got != tc.want {
			t.Errorf("LatestOffset(%d, %+v) = %d, want %d", tc.start, tc.limit, got, tc.want)
		}
	}
}

func TestBackfillAndAvailableNow(t *testing.T) {
	ctx := context.Background()
	clock := newClock(t0)
	s := mustNew(t, WithRowsPerSecond(10), WithStartTime(t0.Add(-time.Hour)), WithMaxRowsPerTrigger(1000), WithClock(clock.Now))
	if err := s.Init(ctx, objstore.NewMemory()); err != nil {
		t.Fatal(err)
	}
	if got := latest(t, s, nil, source.ReadAll); got != 36000 {
		t.Fatalf("an hour of backlog at 10 rows/s: LatestOffset = %d, want 36000", got)
	}
	if err := s.PrepareForAvailableNow(ctx); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Minute)
	// Drain the fixed backlog in capped batches; rows arriving after the
	// prepare are not included.
	var start int64
	batches := 0
	for {
		end := latest(t, s, off(start), s.DefaultReadLimit())
		if end == start {
			break
		}
		if end-start > 1000 {
			t.Fatalf("batch of %d rows exceeds the cap", end-start)
		}
		start = end
		batches++
	}
	if start != 36000 || batches != 36 {
		t.Fatalf("AvailableNow drained %d rows in %d batches, want 36000 in 36", start, batches)
	}
}

func TestLazyStartWithoutCheckpoint(t *testing.T) {
	clock := newClock(t0)
	s := mustNew(t, WithRowsPerSecond(2), WithClock(clock.Now))
	clock.Advance(time.Hour) // nothing has called the source yet
	if got := latest(t, s, nil, source.ReadAll); got != 0 {
		t.Fatalf("first call: LatestOffset = %d, want 0 (the start is the first call)", got)
	}
	clock.Advance(3 * time.Second)
	if got := latest(t, s, nil, source.ReadAll); got != 6 {
		t.Fatalf("3s later: LatestOffset = %d, want 6", got)
	}
}

func TestBadOptions(t *testing.T) {
	for _, tc := range []struct {
		opts []Option
		want string
	}{
		{[]Option{WithRowsPerSecond(0)}, "rate: WithRowsPerSecond(0): rows per second must be > 0"},
		{[]Option{WithRowsPerSecond(-5)}, "rate: WithRowsPerSecond(-5)"},
		{[]Option{WithMaxRowsPerTrigger(-1)}, "rate: WithMaxRowsPerTrigger(-1)"},
		{[]Option{WithStartTime(time.Time{})}, "rate: WithStartTime(time.Time{})"},
		{[]Option{WithClock(nil)}, "rate: WithClock(nil)"},
	} {
		s, err := New(tc.opts...)
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("New: source %v, error %v; want an error starting %q", s, err, tc.want)
		}
	}
}

func TestBadOffsets(t *testing.T) {
	s := mustNew(t)
	ctx := context.Background()
	for _, o := range []string{`{"batch":1}`, `{"row":-1}`, `{}`, `7`} {
		if _, err := s.LatestOffset(ctx, source.Offset(o), source.ReadAll); err == nil || !strings.Contains(err.Error(), "rate: bad offset") {
			t.Errorf("LatestOffset(%s): error %v", o, err)
		}
		if _, err := s.Read(ctx, nil, source.Offset(o), memory.DefaultAllocator); err == nil || !strings.Contains(err.Error(), "rate: bad offset") {
			t.Errorf("Read(nil, %s): error %v", o, err)
		}
	}
	if _, err := s.Read(ctx, off(5), off(4), memory.DefaultAllocator); err == nil || !strings.Contains(err.Error(), "before start offset") {
		t.Errorf("Read(5, 4): error %v", err)
	}
}

func BenchmarkRateRead(b *testing.B) {
	const rows = 1_000_000
	s := mustNew(b, WithRowsPerSecond(1000), WithStartTime(t0))
	ctx := context.Background()
	mem := memory.NewGoAllocator()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		start := int64(i) * rows
		recs, err := s.Read(ctx, off(start), off(start+rows), mem)
		if err != nil {
			b.Fatal(err)
		}
		var n int64
		for _, r := range recs {
			n += r.NumRows()
			r.Release()
		}
		if n != rows {
			b.Fatalf("read %d rows, want %d", n, rows)
		}
	}
	b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

// Later versions may add fields to rate-start; readers ignore them.
func TestStartObjectIgnoresNewFields(t *testing.T) {
	ctx := context.Background()
	meta := objstore.NewMemory()
	data := fmt.Sprintf(`{"startTimeMs":%d,"rowsPerSecond":4,"addedLater":{"x":1}}`, t0.UnixMilli())
	if err := meta.Put(ctx, StartObject, []byte(data)); err != nil {
		t.Fatal(err)
	}
	s := mustNew(t, WithRowsPerSecond(4), WithStartTime(t0.Add(time.Hour)))
	if err := s.Init(ctx, meta); err != nil {
		t.Fatal(err)
	}
	if s.startMicros != t0.UnixMicro() {
		t.Fatalf("start = %d, want the recorded %d", s.startMicros, t0.UnixMicro())
	}
}
