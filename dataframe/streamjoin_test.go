package dataframe_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/bufpool"
	"github.com/sluicehq/sluice/dataframe"
	"github.com/sluicehq/sluice/expr"
	"github.com/sluicehq/sluice/objstore"
	memsink "github.com/sluicehq/sluice/sink/memory"
	memsrc "github.com/sluicehq/sluice/source/memory"
)

// The stream-stream join tests split the event-time harness's single
// stream in two: rows with a value at or above zero are the left side
// (lts, lk, lv), rows below zero the right side (rts, rk, rv); a null
// value is on neither side. Each side has its own watermark of 5 s, so
// the batch's watermark is the lower of the two.

const sjDelayUs = 5 * etSec

// sjLo and sjHi bound lts - rts in the condition, µs.
const (
	sjLo = -4 * etSec
	sjHi = 3 * etSec
)

func sjSide(df *dataframe.DataFrame, p string, left bool) *dataframe.DataFrame {
	cond := dataframe.Col("value").Ge(dataframe.Lit(int64(0)))
	if !left {
		cond = dataframe.Col("value").Lt(dataframe.Lit(int64(0)))
	}
	return df.Where(cond).
		Select(dataframe.Col("ts").As(p+"ts"), dataframe.Col("key").As(p+"k"), dataframe.Col("value").As(p+"v")).
		WithWatermark(p+"ts", "5 seconds")
}

func sjUnixMicros(c string) expr.Expr { return expr.Call("unix_micros", dataframe.Col(c)) }

// sjCond is lk = rk AND unix_micros(lts) BETWEEN unix_micros(rts) - 4 s
// AND unix_micros(rts) + 3 s.
func sjCond() expr.Expr {
	return expr.And(
		dataframe.Col("lk").Eq(dataframe.Col("rk")),
		sjUnixMicros("lts").Between(sjUnixMicros("rts").Sub(dataframe.Lit(-sjLo)), sjUnixMicros("rts").Add(dataframe.Lit(sjHi))),
	)
}

// sjReference computes what the join writes in each batch: a pair in the
// batch where its second row arrives, an unmatched row of an outer side
// (with nulls) in the first batch whose watermark is at least its time
// minus sjLo (left) or plus sjHi (right), a semi row in the batch of its
// first match. Rows at or below their batch's watermark are late
// (both sides' eviction relies on the other side's late rows being
// dropped); a null key matches nothing and an outer side writes it at
// once. It also returns the late rows per batch.
func sjReference(rows []etRow, batches []etBatch, how string) (map[int64][]string, map[int64]int64) {
	type kept struct {
		r       etRow
		matched bool
		done    bool
	}
	outer := [2]bool{how == "left_outer" || how == "full_outer", how == "right_outer" || how == "full_outer"}
	semi := how == "left_semi"
	var state [2][]*kept
	out, late := map[int64][]string{}, map[int64]int64{}
	for _, b := range batches {
		wm := b.wmMs * 1000
		for _, i := range b.rows {
			r := rows[i]
			if r.null {
				continue
			}
			s := 0
			if r.value < 0 {
				s = 1
			}
			if r.ts <= wm {
				late[b.id]++
				continue
			}
			if r.key == 0 {
				if outer[s] {
					out[b.id] = append(out[b.id], sjPad(s, r))
				}
				continue
			}
			k := &kept{r: r}
			for _, x := range state[1-s] {
				if x.done || x.r.key != r.key {
					continue
				}
				l, rr := r, x.r
				if s == 1 {
					l, rr = x.r, r
				}
				if d := l.ts - rr.ts; d < sjLo || d > sjHi {
					continue
				}
				k.matched, x.matched = true, true
				switch {
				case !semi:
					out[b.id] = append(out[b.id], sjFmt(l)+"|"+sjFmt(rr))
				case s == 1:
					out[b.id] = append(out[b.id], sjFmt(x.r))
					x.done = true
				}
			}
			if semi && s == 0 && k.matched {
				out[b.id] = append(out[b.id], sjFmt(r))
				continue
			}
			state[s] = append(state[s], k)
		}
		for s := 0; s < 2; s++ {
			for _, x := range state[s] {
				if x.done {
					continue
				}
				if (s == 0 && x.r.ts <= wm+sjLo) || (s == 1 && x.r.ts+sjHi <= wm) {
					x.done = true
					if outer[s] && !x.matched {
						out[b.id] = append(out[b.id], sjPad(s, x.r))
					}
				}
			}
		}
	}
	for id := range out {
		slices.Sort(out[id])
	}
	return out, late
}

func sjFmt(r etRow) string { return fmt.Sprintf("(%s %s %d)", etTime(r.ts), etKeyName(r.key), r.value) }

func sjPad(side int, r etRow) string {
	if side == 0 {
		return sjFmt(r) + "|-"
	}
	return "-|" + sjFmt(r)
}

// sjParse formats a sink row as the reference does.
func sjParse(t *testing.T, row []any) string {
	t.Helper()
	var parts []string
	for s := 0; s+3 <= len(row); s += 3 {
		if row[s] == nil && row[s+2] == nil {
			parts = append(parts, "-")
			continue
		}
		ts, ok := row[s].(time.Time)
		if !ok {
			t.Fatalf("row %v: cell %d is %T, want a time", row, s, row[s])
		}
		k, err := etKey(row[s+1])
		if err != nil {
			t.Fatal(err)
		}
		v, ok := row[s+2].(int64)
		if !ok {
			t.Fatalf("row %v: cell %d is %T, want int64", row, s+2, row[s+2])
		}
		parts = append(parts, sjFmt(etRow{ts: ts.UnixMicro(), key: k, value: v}))
	}
	return strings.Join(parts, "|")
}

// TestStreamJoinProperty runs each join type over random out-of-order
// rows in random batches, with faults injected into the checkpoint
// (a new query takes over after each) and clean restarts, and compares
// what each batch wrote with the reference computed from the batches and
// watermarks read back from the offsets log: pairs when their second row
// arrives, outer rows with nulls exactly once and only in the batch whose
// watermark shows no match can come, semi rows once; and each batch's
// count of rows dropped as late.
func TestStreamJoinProperty(t *testing.T) {
	if etIsolate(t) {
		return
	}
	for _, how := range []string{"inner", "left_outer", "right_outer", "full_outer", "left_semi"} {
		for seed := uint64(1); seed <= 4; seed++ {
			t.Run(fmt.Sprintf("%s/seed=%d", how, seed), func(t *testing.T) {
				rng := rand.New(rand.NewPCG(seed, 0x101))
				h := newETHarness(t, seed*7+uint64(len(how)), etConfig{
					mode: "append", intKeys: seed%2 == 0, parts: 1 + rng.IntN(3), faults: 0.2, restarts: 0.1, delayUs: sjDelayUs,
					build: func(df *dataframe.DataFrame) *dataframe.DataFrame {
						return sjSide(df, "l", true).Join(sjSide(df, "r", false), sjCond(), how)
					},
				})
				rows := etGenerate(rng, etGenConfig{
					n: 150 + rng.IntN(150), keys: 1 + rng.Int64N(6), step: 200_000,
					jitter: 3 * etSec, ahead: etSec, veryLate: 0.05, lateBy: 2 * sjDelayUs, nulls: 0.03, nullKeys: 0.03,
				})
				h.feed(rows, 25)
				h.finish(sjDelayUs + 10*etSec)
				batches := h.batches()
				want, late := sjReference(h.rows, batches, how)
				got := map[int64][]string{}
				for _, b := range h.out.Batches() {
					for _, r := range b.Rows {
						got[b.ID] = append(got[b.ID], sjParse(t, r))
					}
					slices.Sort(got[b.ID])
				}
				total, padded := 0, 0
				for _, b := range batches {
					if !slices.Equal(got[b.id], want[b.id]) {
						t.Errorf("batch %d (watermark %s): wrote\n%s\nwant\n%s", b.id, etTime(b.wmMs*1000), strings.Join(got[b.id], "\n"), strings.Join(want[b.id], "\n"))
					}
					total += len(want[b.id])
					for _, s := range want[b.id] {
						if strings.Contains(s, "|-") || strings.HasPrefix(s, "-|") {
							padded++
						}
					}
				}
				for id := range got {
					if _, ok := want[id]; !ok && len(got[id]) > 0 && !slices.ContainsFunc(batches, func(b etBatch) bool { return b.id == id }) {
						t.Errorf("the sink has rows for batch %d, which the offsets log does not hold", id)
					}
				}
				if total == 0 {
					t.Errorf("the reference join has no rows: the test data joins nothing")
				}
				if how != "inner" && how != "left_semi" && padded == 0 {
					t.Errorf("no row with nulls was expected: the test data tests nothing of the outer join")
				}
				for id, p := range h.progressByBatch() {
					if len(p.StateOperators) != 1 {
						t.Errorf("batch %d: %d state operators in progress, want 1", id, len(p.StateOperators))
						continue
					}
					if got := p.StateOperators[0].NumRowsDroppedByWatermark; got != late[id] {
						t.Errorf("batch %d: numRowsDroppedByWatermark %d, want %d", id, got, late[id])
					}
				}
				t.Logf("%d rows, %d batches, %d crashes (%v), %d restarts, %d rows written (%d with nulls)", len(h.rows), len(batches), h.crashes, h.rules, h.restarts, total, padded)
			})
		}
	}
}

// TestStreamJoinStartRefusals checks that Start refuses join shapes Spark
// refuses, naming the missing watermark or range condition, and that a
// well-formed outer join starts.
func TestStreamJoinStartRefusals(t *testing.T) {
	mem := memory.NewCheckedAllocator(bufpool.NewPoison())
	defer mem.AssertSize(t, 0)
	src := memsrc.New(etSchema(true), memsrc.WithAllocator(mem))
	defer src.Close()
	sel := func(p string) *dataframe.DataFrame {
		return dataframe.ReadStream(etKeepSource{src}).
			Select(dataframe.Col("ts").As(p+"ts"), dataframe.Col("key").As(p+"k"), dataframe.Col("value").As(p+"v"))
	}
	keys := dataframe.Col("lk").Eq(dataframe.Col("rk"))
	for _, c := range []struct {
		name string
		df   *dataframe.DataFrame
		mode string
		want string
	}{
		{"left outer without a right watermark", sel("l").WithWatermark("lts", "5 seconds").Join(sel("r"), sjCond(), "left"), "append",
			"needs a watermark on the right input"},
		{"full outer without a left watermark", sel("l").Join(sel("r").WithWatermark("rts", "5 seconds"), sjCond(), "full"), "append",
			"needs a watermark on the left input"},
		{"semi without a range", sel("l").WithWatermark("lts", "5 seconds").Join(sel("r").WithWatermark("rts", "5 seconds"), keys, "left_semi"), "append",
			"needs an event-time range condition between the watermarked columns lts (left) and rts (right)"},
		{"right outer bounded the wrong way", sel("l").WithWatermark("lts", "5 seconds").Join(sel("r").WithWatermark("rts", "5 seconds"),
			expr.And(keys, dataframe.Col("lts").Ge(dataframe.Col("rts"))), "right_outer"), "append", "a right row could wait forever"},
		{"inner in update mode", sel("l").Join(sel("r"), keys, "inner"), "update", "only append output mode"},
		{"clashing column names", sel("l").Join(sel("l"), keys, "inner"), "append", "both inputs have a column named \"lts\""},
		{"anti join", sel("l").Join(sel("r"), keys, "left_anti"), "append", "left anti join of two streams is not supported"},
		{"outer join accepted", sel("l").WithWatermark("lts", "5 seconds").Join(sel("r").WithWatermark("rts", "5 seconds"), sjCond(), "full_outer"), "append", ""},
		{"inner join without watermarks accepted", sel("l").Join(sel("r"), keys, "inner"), "append", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			out := memsink.New()
			defer out.Release()
			q, err := c.df.WriteStream(out).OutputMode(c.mode).CheckpointStore(objstore.NewMemory()).Allocator(mem).Start(context.Background())
			if c.want == "" {
				if err != nil {
					t.Fatalf("Start refused: %v", err)
				}
				if err := q.Stop(context.Background()); err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil {
				_ = q.Stop(context.Background())
				t.Fatalf("Start accepted the query; want an error containing %q", c.want)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Start: %v; want an error containing %q", err, c.want)
			}
		})
	}
}

// TestStreamJoinTwoSources joins two memory sources (not a self-join),
// an inner join on keys and event-time equality, and checks the output
// schema and rows.
func TestStreamJoinTwoSources(t *testing.T) {
	mem := memory.NewCheckedAllocator(bufpool.NewPoison())
	defer mem.AssertSize(t, 0)
	ls := memsrc.New(etSchema(true), memsrc.WithAllocator(mem))
	defer ls.Close()
	rs := memsrc.New(etSchema(false), memsrc.WithAllocator(mem))
	defer rs.Close()
	at := func(s int64) time.Time { return time.UnixMicro(1000*etSec + s*etSec).UTC() }
	if _, err := ls.AddRows([]any{at(1), int64(1), int64(10)}, []any{at(2), int64(2), int64(20)}, []any{at(3), int64(1), int64(30)}); err != nil {
		t.Fatal(err)
	}
	if _, err := rs.AddRows([]any{at(1), "k001", int64(-1)}, []any{at(3), "k001", int64(-3)}, []any{at(2), "k009", int64(-2)}); err != nil {
		t.Fatal(err)
	}
	left := dataframe.ReadStream(etKeepSource{ls}).Select(dataframe.Col("ts").As("lts"), dataframe.Col("key").As("lk"), dataframe.Col("value").As("lv"))
	right := dataframe.ReadStream(etKeepSource{rs}).Select(dataframe.Col("ts").As("rts"), dataframe.Col("key").As("rk"), dataframe.Col("value").As("rv"))
	// The keys differ in type (int64 and "k%03d" strings): join on the
	// number through a computed column.
	right = right.Select(dataframe.Col("rts"), expr.Call("substring", dataframe.Col("rk"), dataframe.Lit(2), dataframe.Lit(3)).Cast(arrow.PrimitiveTypes.Int64).As("rk"), dataframe.Col("rv"))
	df := left.Join(right, expr.And(dataframe.Col("lk").Eq(dataframe.Col("rk")), dataframe.Col("lts").Eq(dataframe.Col("rts"))), "inner")
	if err := df.Err(); err != nil {
		t.Fatal(err)
	}
	out := memsink.New()
	defer out.Release()
	q, err := df.WriteStream(out).OutputMode("append").CheckpointStore(objstore.NewMemory()).Allocator(mem).Start(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if err := q.ProcessAllAvailable(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := q.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if ex := q.Explain(); !strings.Contains(ex, "StreamingSymmetricHashJoinExec inner, keys [lk = rk, lts = rts], state join-0 (8 partitions)") {
		t.Errorf("Explain does not show the join with its keys and state partitions:\n%s", ex)
	}
	var got []string
	for _, r := range out.Rows() {
		got = append(got, fmt.Sprint(r[1], r[2], r[4], r[5]))
	}
	slices.Sort(got)
	want := []string{"1 10 1 -1", "1 30 1 -3"}
	if !slices.Equal(got, want) {
		t.Errorf("joined rows (lk lv rk rv) %v, want %v", got, want)
	}
}
