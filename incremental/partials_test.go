package incremental_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/expr"
	"github.com/sluicehq/sluice/incremental"
	"github.com/sluicehq/sluice/objstore"
	"github.com/sluicehq/sluice/plan"
)

var partialSchema = arrow.NewSchema([]arrow.Field{
	{Name: "k", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: "v", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: "ts", Type: &arrow.TimestampType{Unit: arrow.Millisecond, TimeZone: "UTC"}, Nullable: true},
}, nil)

// partialRecord builds n random rows from event time base (ms) on, some
// out of order, some null, some late for a watermark near base. The
// caller releases it.
func partialRecord(mem memory.Allocator, rng *rand.Rand, base int64, n int) arrow.RecordBatch {
	kb := array.NewInt64Builder(mem)
	vb := array.NewInt64Builder(mem)
	tb := array.NewTimestampBuilder(mem, partialSchema.Field(2).Type.(*arrow.TimestampType))
	defer kb.Release()
	defer vb.Release()
	defer tb.Release()
	for i := 0; i < n; i++ {
		if rng.IntN(20) == 0 {
			kb.AppendNull()
		} else {
			kb.Append(rng.Int64N(30))
		}
		if rng.IntN(10) == 0 {
			vb.AppendNull()
		} else {
			vb.Append(rng.Int64N(1000) - 500)
		}
		if rng.IntN(50) == 0 {
			tb.AppendNull()
		} else {
			tb.Append(arrow.Timestamp(base + rng.Int64N(30_000) - 8_000))
		}
	}
	k, v, ts := kb.NewArray(), vb.NewArray(), tb.NewArray()
	defer k.Release()
	defer v.Release()
	defer ts.Release()
	return array.NewRecordBatch(partialSchema, []arrow.Array{k, v, ts}, int64(n))
}

// TestPartialAggregationMatchesSerial runs the same batches through an
// aggregation twice: record by record on the serial path, and cut into
// many chunks whose first stage (filter, then the fold into a partial)
// runs on several goroutines, merged in order by the second stage. Both
// must emit the same rows and count the same late rows, batch by batch,
// for tumbling and sliding windows and for a plain key.
func TestPartialAggregationMatchesSerial(t *testing.T) {
	for _, keys := range []string{"tumbling", "sliding", "plain"} {
		t.Run(keys, func(t *testing.T) {
			mem := checked(t)
			build := func() plan.Node {
				var n plan.Node = plan.NewScan(0, "events", partialSchema)
				w, err := plan.NewWatermark(n, "ts", 5*time.Second, 0)
				if err != nil {
					t.Fatal(err)
				}
				f, err := plan.NewFilter(w, expr.Col("v").NotEq(expr.Lit(int64(0))))
				if err != nil {
					t.Fatal(err)
				}
				var ks []expr.Expr
				switch keys {
				case "tumbling":
					ks = []expr.Expr{expr.Window(expr.Col("ts"), "10 seconds"), expr.Col("k")}
				case "sliding":
					ks = []expr.Expr{expr.SlidingWindowOf(expr.Col("ts"), "10 seconds", "4 seconds"), expr.Col("k")}
				default:
					ks = []expr.Expr{expr.Col("k")}
				}
				a, err := plan.NewAggregate(f, ks, []plan.AggCall{
					{Func: "count", Alias: "n"}, {Func: "sum", Args: []expr.Expr{expr.Col("v")}, Alias: "s"},
					{Func: "min", Args: []expr.Expr{expr.Col("v")}, Alias: "lo"}, {Func: "max", Args: []expr.Expr{expr.Col("v")}, Alias: "hi"},
					{Func: "avg", Args: []expr.Expr{expr.Col("v")}, Alias: "mean"},
				})
				if err != nil {
					t.Fatal(err)
				}
				return a
			}
			serial := openStatePipe(t, build(), objstore.NewMemory(), mem, 3, incremental.WithOutputMode(plan.Update))
			defer serial.close()
			staged := openStatePipe(t, build(), objstore.NewMemory(), mem, 3, incremental.WithOutputMode(plan.Update))
			defer staged.close()
			if !staged.pipe.Staged() {
				t.Fatal("the pipeline with a filter below its aggregation is not staged")
			}
			ctx := context.Background()
			rng := rand.New(rand.NewPCG(11, 12))
			wm := int64(0)
			for b := int64(0); b < 6; b++ {
				base := int64(1_700_000_000_000) + b*20_000
				var recs []arrow.RecordBatch
				for c := 0; c < 2+rng.IntN(12); c++ {
					recs = append(recs, partialRecord(mem, rng, base, 1+rng.IntN(400)))
				}
				got := [2]string{}
				for side, r := range []*statePipe{serial, staged} {
					info := r.info(b, wm)
					if err := r.pipe.BeginBatch(ctx, info); err != nil {
						t.Fatal(err)
					}
					var out []arrow.RecordBatch
					if side == 0 {
						for _, rec := range recs {
							res, err := r.pipe.Process(ctx, 0, rec)
							if err != nil {
								t.Fatal(err)
							}
							out = append(out, res...)
						}
					} else {
						stages := make([]*incremental.StageOutput, len(recs))
						var wg sync.WaitGroup
						for i, rec := range recs {
							wg.Add(1)
							go func() {
								defer wg.Done()
								st, err := r.pipe.ProcessFirstStage(ctx, 0, rec)
								if err != nil {
									t.Error(err)
									return
								}
								stages[i] = st
							}()
						}
						wg.Wait()
						for _, st := range stages {
							res, err := r.pipe.ProcessSecondStage(ctx, st)
							if err != nil {
								t.Fatal(err)
							}
							out = append(out, res...)
						}
					}
					end, _, err := r.pipe.EndBatch(ctx, info)
					if err != nil {
						t.Fatal(err)
					}
					out = append(out, end...)
					got[side] = canonicalRows(t, out)
					var dropped int64
					for _, m := range r.pipe.StateOperators() {
						dropped += m.NumRowsDroppedByWatermark
					}
					got[side] += fmt.Sprintf("dropped %d\n", dropped)
					releaseRecs(out)
				}
				releaseRecs(recs)
				if got[0] != got[1] {
					t.Fatalf("batch %d: the staged path emitted\n%s\nthe serial path\n%s", b, got[1], got[0])
				}
				if b > 1 && !strings.Contains(got[0], "\n") {
					t.Fatalf("batch %d emitted nothing; the test needs rows", b)
				}
				wm = (base - 6_000)
			}
		})
	}
}

// canonicalRows prints the rows of recs (borrowed) sorted, one per line.
func canonicalRows(t *testing.T, recs []arrow.RecordBatch) string {
	t.Helper()
	var lines []string
	for _, rec := range recs {
		for i := 0; i < int(rec.NumRows()); i++ {
			var cells []string
			for c := 0; c < int(rec.NumCols()); c++ {
				cells = append(cells, rec.Column(c).ValueStr(i))
			}
			lines = append(lines, strings.Join(cells, " "))
		}
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n") + "\n"
}
