package incremental_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/bufpool"
	"github.com/sluicehq/sluice/expr"
	"github.com/sluicehq/sluice/incremental"
	"github.com/sluicehq/sluice/objstore"
	"github.com/sluicehq/sluice/plan"
)

// sjRow is a row of either side: event time (µs; tsNull for null), key
// (0 for null) and value.
type sjRow struct {
	ts, key, val int64
}

const (
	sjSec  = int64(1_000_000)
	tsNull = math.MinInt64
)

func sjSchema(p string) *arrow.Schema {
	return arrow.NewSchema([]arrow.Field{
		{Name: p + "ts", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, Nullable: true},
		{Name: p + "k", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: p + "v", Type: arrow.PrimitiveTypes.Int64},
	}, nil)
}

// sjRecord builds a record of rows with the side's schema; the caller
// releases it.
func sjRecord(mem memory.Allocator, s *arrow.Schema, rows []sjRow) arrow.RecordBatch {
	tb := array.NewTimestampBuilder(mem, s.Field(0).Type.(*arrow.TimestampType))
	kb := array.NewInt64Builder(mem)
	vb := array.NewInt64Builder(mem)
	defer tb.Release()
	defer kb.Release()
	defer vb.Release()
	for _, r := range rows {
		if r.ts == tsNull {
			tb.AppendNull()
		} else {
			tb.Append(arrow.Timestamp(r.ts))
		}
		if r.key == 0 {
			kb.AppendNull()
		} else {
			kb.Append(r.key)
		}
		vb.Append(r.val)
	}
	cols := []arrow.Array{tb.NewArray(), kb.NewArray(), vb.NewArray()}
	defer releaseArrs(cols)
	return array.NewRecordBatch(s, cols, int64(len(rows)))
}

func releaseArrs(as []arrow.Array) {
	for _, a := range as {
		a.Release()
	}
}

// sjOut formats output rows: "L(ts k v)|R(ts k v)" with "-" for a side of
// nulls (semi joins: the left part only).
func sjOut(t *testing.T, recs []arrow.RecordBatch) []string {
	t.Helper()
	var out []string
	for _, rec := range recs {
		for i := 0; i < int(rec.NumRows()); i++ {
			var parts []string
			for s := 0; s < int(rec.NumCols())/3; s++ {
				ts := rec.Column(3 * s).(*array.Timestamp)
				k := rec.Column(3*s + 1).(*array.Int64)
				v := rec.Column(3*s + 2).(*array.Int64)
				if v.IsNull(i) {
					parts = append(parts, "-")
					continue
				}
				r := sjRow{ts: tsNull, val: v.Value(i)}
				if ts.IsValid(i) {
					r.ts = int64(ts.Value(i))
				}
				if k.IsValid(i) {
					r.key = k.Value(i)
				}
				parts = append(parts, r.String())
			}
			out = append(out, strings.Join(parts, "|"))
		}
	}
	slices.Sort(out)
	return out
}

func (r sjRow) String() string {
	ts := "null"
	if r.ts != tsNull {
		ts = strconv.FormatInt(r.ts, 10)
	}
	return fmt.Sprintf("(%s %d %d)", ts, r.key, r.val)
}

// sjCase is a join condition with its reference semantics.
type sjCase struct {
	name  string
	cond  expr.Expr
	types []plan.JoinType
	// lo, hi bound lts - rts (µs) when ranged; match is the whole
	// condition on a pair of rows whose keys are equal and not null.
	ranged bool
	lo, hi int64
	match  func(l, r sjRow) bool
}

func um(c string) expr.Expr { return expr.Call("unix_micros", expr.Col(c)) }

func sjCases() []sjCase {
	keys := expr.Col("lk").Eq(expr.Col("rk"))
	mod3 := expr.Col("lv").Add(expr.Col("rv")).Mod(expr.Lit(int64(3))).NotEq(expr.Lit(int64(0)))
	return []sjCase{
		{
			name:   "range-and-residual",
			cond:   expr.And(keys, um("lts").Between(um("rts").Sub(expr.Lit(int64(3*sjSec))), um("rts").Add(expr.Lit(int64(2*sjSec)))), mod3),
			types:  []plan.JoinType{plan.InnerJoin, plan.LeftOuterJoin, plan.RightOuterJoin, plan.FullOuterJoin, plan.LeftSemiJoin},
			ranged: true, lo: -3 * sjSec, hi: 2 * sjSec,
			match: func(l, r sjRow) bool {
				d := l.ts - r.ts
				return l.ts != tsNull && r.ts != tsNull && d >= -3*sjSec && d <= 2*sjSec && (l.val+r.val)%3 != 0
			},
		},
		{
			name:   "time-equality",
			cond:   expr.And(keys, expr.Col("lts").Eq(expr.Col("rts"))),
			types:  []plan.JoinType{plan.InnerJoin, plan.FullOuterJoin, plan.LeftSemiJoin},
			ranged: true, lo: 0, hi: 0,
			match: func(l, r sjRow) bool { return l.ts != tsNull && l.ts == r.ts },
		},
		{
			name:   "lower-bound-only",
			cond:   expr.And(expr.Col("lts").Gt(expr.Col("rts")), keys),
			types:  []plan.JoinType{plan.InnerJoin, plan.LeftOuterJoin, plan.LeftSemiJoin},
			ranged: true, lo: 1, hi: math.MaxInt64,
			match: func(l, r sjRow) bool { return l.ts != tsNull && r.ts != tsNull && l.ts > r.ts },
		},
		{
			name:  "keys-only",
			cond:  keys,
			types: []plan.JoinType{plan.InnerJoin},
			match: func(l, r sjRow) bool { return true },
		},
	}
}

func sjPlan(t *testing.T, c sjCase, typ plan.JoinType) *plan.StreamJoin {
	t.Helper()
	side := func(src int, p string) plan.Node {
		w, err := plan.NewWatermark(plan.NewScan(src, p, sjSchema(p)), p+"ts", 2*time.Second, 0)
		if err != nil {
			t.Fatal(err)
		}
		return w
	}
	j, err := plan.NewStreamJoin(side(0, "l"), side(1, "r"), typ, c.cond)
	if err != nil {
		t.Fatal(err)
	}
	return j
}

// sjBatch is one batch of the test: its watermark (ms) and its records,
// each of one side.
type sjBatch struct {
	wmMs int64
	recs []sjRec
}

type sjRec struct {
	side int
	rows []sjRow
}

// sjReference computes, per batch, the rows the join must write.
func sjReference(c sjCase, typ plan.JoinType, batches []sjBatch) [][]string {
	type kept struct {
		r       sjRow
		batch   int
		matched bool
		done    bool // written (semi) or evicted
	}
	lateIn := [2]bool{c.ranged && c.hi != math.MaxInt64, c.ranged && c.lo != math.MinInt64}
	evict := [2]bool{lateIn[1], lateIn[0]}
	outer := [2]bool{plan.JoinOuter(typ, 0), plan.JoinOuter(typ, 1)}
	var rows [2][]*kept
	out := make([][]string, len(batches))
	pad := func(side int, r sjRow) string {
		if side == 0 {
			return r.String() + "|-"
		}
		return "-|" + r.String()
	}
	for b, bt := range batches {
		wm := bt.wmMs * 1000
		for _, rec := range bt.recs {
			s, o := rec.side, 1-rec.side
			var added []*kept
			for _, r := range rec.rows {
				if lateIn[s] && r.ts != tsNull && r.ts <= wm {
					continue
				}
				if r.key == 0 || (c.ranged && r.ts == tsNull) {
					if outer[s] {
						out[b] = append(out[b], pad(s, r))
					}
					continue
				}
				k := &kept{r: r, batch: b}
				for _, x := range rows[o] {
					if x.done || x.r.key != r.key {
						continue
					}
					l, rr := r, x.r
					if s == 1 {
						l, rr = x.r, r
					}
					if !c.match(l, rr) {
						continue
					}
					k.matched, x.matched = true, true
					switch {
					case typ != plan.LeftSemiJoin:
						out[b] = append(out[b], l.String()+"|"+rr.String())
					case s == 1:
						out[b] = append(out[b], x.r.String())
						x.done = true
					}
				}
				if typ == plan.LeftSemiJoin && s == 0 && k.matched {
					out[b] = append(out[b], r.String())
					continue
				}
				added = append(added, k)
			}
			rows[s] = append(rows[s], added...)
		}
		// Eviction at the end of the batch.
		for s := 0; s < 2; s++ {
			if !evict[s] {
				continue
			}
			for _, x := range rows[s] {
				if x.done {
					continue
				}
				var gone bool
				if s == 0 {
					gone = x.r.ts <= wm+c.lo
				} else {
					gone = x.r.ts+c.hi <= wm
				}
				if gone {
					x.done = true
					if outer[s] && !x.matched {
						out[b] = append(out[b], pad(s, x.r))
					}
				}
			}
		}
		slices.Sort(out[b])
	}
	return out
}

// sjGenerate makes batches of rows of both sides, out of order, with a
// watermark per batch that trails the greatest event time seen before it
// by 2 s, as the driver computes it.
func sjGenerate(rng *rand.Rand, nBatches int, keys int64) []sjBatch {
	var out []sjBatch
	now, maxTs := 1000*sjSec, int64(0)
	for b := 0; b < nBatches; b++ {
		bt := sjBatch{}
		if maxTs > 0 {
			bt.wmMs = (maxTs - 2*sjSec) / 1000
		}
		for r := 0; r < 1+rng.IntN(4); r++ {
			rec := sjRec{side: rng.IntN(2)}
			for i := 0; i < rng.IntN(12); i++ {
				now += rng.Int64N(300_000)
				row := sjRow{ts: now - rng.Int64N(4*sjSec), key: 1 + rng.Int64N(keys), val: rng.Int64N(100)}
				if rng.IntN(25) == 0 {
					row.key = 0
				}
				if rng.IntN(30) == 0 {
					row.ts = tsNull
				}
				if rng.IntN(15) == 0 {
					row.ts = now - 6*sjSec - rng.Int64N(4*sjSec) // very late
				}
				// Some times repeat, so that equality conditions match.
				if rng.IntN(3) == 0 && row.ts != tsNull {
					row.ts -= row.ts % (500_000)
				}
				rec.rows = append(rec.rows, row)
				if row.ts != tsNull {
					maxTs = max(maxTs, row.ts)
				}
			}
			bt.recs = append(bt.recs, rec)
		}
		out = append(out, bt)
	}
	// Batches of no data with a watermark past everything, so that the
	// last rows are evicted.
	out = append(out, sjBatch{wmMs: (maxTs + 20*sjSec) / 1000})
	return out
}

// sjRunner drives a join pipeline over a checkpoint batch by batch,
// through stops and starts.
type sjRunner struct {
	t     *testing.T
	mem   memory.Allocator
	root  plan.Node
	ckpt  objstore.Store
	parts int
	*statePipe
}

func (r *sjRunner) start() {
	r.t.Helper()
	r.statePipe = openStatePipe(r.t, r.root, r.ckpt, r.mem, r.parts, incremental.WithOutputMode(plan.Append))
}

func (r *sjRunner) stop() {
	if r.statePipe != nil {
		r.close()
		r.statePipe = nil
	}
}

// run runs batch id; with abandon, it stops after the first records as a
// crash would, and returns nothing.
func (r *sjRunner) run(id int64, bt sjBatch, abandon bool) []string {
	r.t.Helper()
	ctx := context.Background()
	info := r.info(id, bt.wmMs)
	if err := r.pipe.BeginBatch(ctx, info); err != nil {
		r.t.Fatalf("batch %d: BeginBatch: %v", id, err)
	}
	var recs []arrow.RecordBatch
	defer func() { releaseRecs(recs) }()
	for i, rec := range bt.recs {
		if abandon && i == len(bt.recs)/2 {
			return nil
		}
		in := sjRecord(r.mem, r.root.Children()[rec.side].Schema(), rec.rows)
		outs, err := r.pipe.Process(ctx, rec.side, in)
		in.Release()
		if err != nil {
			r.t.Fatalf("batch %d: Process: %v", id, err)
		}
		recs = append(recs, outs...)
	}
	if abandon {
		return nil
	}
	end, versions, err := r.pipe.EndBatch(ctx, info)
	if err != nil {
		r.t.Fatalf("batch %d: EndBatch: %v", id, err)
	}
	recs = append(recs, end...)
	if versions["join-0"] != id {
		r.t.Fatalf("batch %d: state versions %v, want join-0 at %d", id, versions, id)
	}
	return sjOut(r.t, recs)
}

// TestStreamJoinAgainstReference runs every join type over random
// out-of-order rows of both sides in random batches, restarting the
// pipeline (a new state provider over the checkpoint: the indexes are
// rebuilt from the store) and abandoning batches half-way (the retry
// must ignore what the failed attempt did), and checks each batch's
// output against the reference: pairs in the batch where the second row
// arrives, outer rows with nulls exactly once, in the batch whose
// watermark evicts them, semi rows once.
func TestStreamJoinAgainstReference(t *testing.T) {
	for _, c := range sjCases() {
		for _, typ := range c.types {
			for seed := uint64(1); seed <= 12; seed++ {
				t.Run(fmt.Sprintf("%s/%s/seed=%d", c.name, typ, seed), func(t *testing.T) {
					mem := memory.NewCheckedAllocator(bufpool.NewPoison())
					defer mem.AssertSize(t, 0)
					rng := rand.New(rand.NewPCG(seed, 0x5e))
					batches := sjGenerate(rng, 25+rng.IntN(15), 1+rng.Int64N(6))
					want := sjReference(c, typ, batches)
					r := &sjRunner{t: t, mem: mem, root: sjPlan(t, c, typ), ckpt: objstore.NewMemory(), parts: 1 + rng.IntN(4)}
					r.start()
					defer r.stop()
					outers, total := 0, 0
					for b, bt := range batches {
						if rng.IntN(6) == 0 {
							r.stop()
							r.start()
						}
						if rng.IntN(6) == 0 {
							r.run(int64(b), bt, true)
							if rng.IntN(2) == 0 {
								r.stop()
								r.start()
							}
						}
						got := r.run(int64(b), bt, false)
						if !slices.Equal(got, want[b]) {
							t.Fatalf("batch %d (watermark %d ms): got\n%s\nwant\n%s", b, bt.wmMs, strings.Join(got, "\n"), strings.Join(want[b], "\n"))
						}
						for _, s := range got {
							total++
							if strings.Contains(s, "-") {
								outers++
							}
						}
					}
					if total == 0 {
						t.Errorf("the join wrote no rows")
					}
					if plan.JoinOuter(typ, 0) || plan.JoinOuter(typ, 1) {
						if outers == 0 {
							t.Errorf("the outer join wrote no row with nulls")
						}
					}
					if c.ranged && c.lo != math.MinInt64 && c.hi != math.MaxInt64 {
						m := r.pipe.StateOperators()
						if len(m) != 1 || m[0].NumRowsTotal != 0 {
							t.Errorf("after a watermark past every row the state holds %+v, want no rows", m)
						}
					}
				})
			}
		}
	}
}

// TestStreamJoinConditionAnalysis checks what the plan reads from join
// conditions: keys, the event-time range, and whether a residual
// condition remains.
func TestStreamJoinConditionAnalysis(t *testing.T) {
	keys := expr.Col("lk").Eq(expr.Col("rk"))
	um := func(c string) expr.Expr { return expr.Call("unix_millis", expr.Col(c)) }
	for _, c := range []struct {
		name     string
		cond     expr.Expr
		keys     int
		ranged   bool
		lo, hi   int64
		residual bool
	}{
		{"keys", keys, 1, false, 0, 0, false},
		{"between-micros", expr.And(keys, expr.Call("unix_micros", expr.Col("lts")).Between(
			expr.Call("unix_micros", expr.Col("rts")).Sub(expr.Lit(int64(10_000_000))), expr.Call("unix_micros", expr.Col("rts")).Add(expr.Lit(int64(5_000_000))))),
			1, true, -10_000_000, 5_000_000, false},
		{"millis-widened", expr.And(keys, um("lts").Ge(um("rts").Sub(expr.Lit(int64(10_000)))), um("lts").Le(um("rts"))), 1, true, -10_000_999, 999, true},
		{"swapped-strict", expr.And(expr.Col("rts").Lt(expr.Col("lts")), keys), 1, true, 1, math.MaxInt64, false},
		{"time-equality", expr.Col("lts").Eq(expr.Col("rts")), 1, true, 0, 0, false},
		{"windows", expr.And(keys, expr.Window(expr.Col("lts"), "10 seconds").Eq(expr.Window(expr.Col("rts"), "10 seconds"))), 1, true, -10_000_000, 10_000_000, true},
		{"other-terms", expr.And(keys, expr.Col("lv").Gt(expr.Col("rv"))), 1, false, 0, 0, true},
		{"or-is-residual", expr.Or(keys, expr.Col("lts").Ge(expr.Col("rts"))), 0, false, 0, 0, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			j := sjPlan(t, sjCase{cond: c.cond}, plan.InnerJoin)
			if got := len(j.Keys()); got != c.keys {
				t.Errorf("%d keys, want %d", got, c.keys)
			}
			r, ok := j.TimeRange()
			if ok != c.ranged || ok && (r.Lo != c.lo || r.Hi != c.hi) {
				t.Errorf("range %+v (found %v), want [%d, %d] (found %v)", r, ok, c.lo, c.hi, c.ranged)
			}
			if j.Residual() != c.residual {
				t.Errorf("residual %v, want %v", j.Residual(), c.residual)
			}
		})
	}
}

// TestStreamJoinStreamingChecks checks Spark's rules at plan time, with
// messages that name what is missing.
func TestStreamJoinStreamingChecks(t *testing.T) {
	keys := expr.Col("lk").Eq(expr.Col("rk"))
	rangeCond := expr.And(keys, expr.Col("lts").Ge(expr.Col("rts")), expr.Col("lts").Le(expr.Col("rts")))
	scan := func(src int, p string) plan.Node { return plan.NewScan(src, p, sjSchema(p)) }
	wm := func(src int, p string) plan.Node {
		w, err := plan.NewWatermark(scan(src, p), p+"ts", time.Second, 0)
		if err != nil {
			t.Fatal(err)
		}
		return w
	}
	for _, c := range []struct {
		name        string
		left, right plan.Node
		typ         plan.JoinType
		cond        expr.Expr
		mode        plan.OutputMode
		want        string // "" for accepted
	}{
		{"inner-no-watermarks", scan(0, "l"), scan(1, "r"), plan.InnerJoin, keys, plan.Append, ""},
		{"inner-update", wm(0, "l"), wm(1, "r"), plan.InnerJoin, rangeCond, plan.Update, "only append output mode"},
		{"left-outer-no-left-watermark", scan(0, "l"), wm(1, "r"), plan.LeftOuterJoin, rangeCond, plan.Append, "needs a watermark on the left input"},
		{"full-outer-no-right-watermark", wm(0, "l"), scan(1, "r"), plan.FullOuterJoin, rangeCond, plan.Append, "needs a watermark on the right input"},
		{"semi-no-range", wm(0, "l"), wm(1, "r"), plan.LeftSemiJoin, keys, plan.Append, "needs an event-time range condition between the watermarked columns lts (left) and rts (right)"},
		{"left-outer-upper-only", wm(0, "l"), wm(1, "r"), plan.LeftOuterJoin, expr.And(keys, expr.Col("lts").Le(expr.Col("rts"))), plan.Append, "a left row could wait forever"},
		{"right-outer-lower-only", wm(0, "l"), wm(1, "r"), plan.RightOuterJoin, expr.And(keys, expr.Col("lts").Ge(expr.Col("rts"))), plan.Append, "a right row could wait forever"},
		{"full-outer-ok", wm(0, "l"), wm(1, "r"), plan.FullOuterJoin, rangeCond, plan.Append, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			j, err := plan.NewStreamJoin(c.left, c.right, c.typ, c.cond)
			if err != nil {
				t.Fatal(err)
			}
			err = plan.CheckStreaming(j, c.mode)
			switch {
			case c.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
				t.Fatalf("got %v, want an error containing %q", err, c.want)
			}
		})
	}
	if _, err := plan.NewStreamJoin(scan(0, "l"), scan(1, "l"), plan.InnerJoin, keys); err == nil || !strings.Contains(err.Error(), "both inputs have a column named \"lts\"") {
		t.Errorf("a join of clashing columns: got %v", err)
	}
	if _, err := plan.ParseStreamJoinType("left_anti"); err == nil {
		t.Errorf("ParseStreamJoinType accepted left_anti")
	}
}
