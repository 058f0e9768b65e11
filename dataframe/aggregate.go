package dataframe

import (
	"errors"
	"fmt"
	"time"

	"github.com/sluicehq/sluice/expr"
	"github.com/sluicehq/sluice/plan"
)

// AggExpr is an aggregate function call for GroupedData.Agg, such as
// Sum(Col("amount")).As("total").
type AggExpr = plan.AggCall

// Count counts rows (count(*)).
func Count() AggExpr { return AggExpr{Func: "count"} }

// CountCol counts the rows where e is not null.
func CountCol(e expr.Expr) AggExpr { return call("count", e) }

// CountIf counts the rows where the boolean cond is true.
func CountIf(cond expr.Expr) AggExpr { return call("count_if", cond) }

// Sum adds up e: an int64 for integer inputs (overflow is an error), a
// float64 for floats; null when no row has a value.
func Sum(e expr.Expr) AggExpr { return call("sum", e) }

// Avg is the mean of e as a float64.
func Avg(e expr.Expr) AggExpr { return call("avg", e) }

// Min is the least value of e.
func Min(e expr.Expr) AggExpr { return call("min", e) }

// Max is the greatest value of e.
func Max(e expr.Expr) AggExpr { return call("max", e) }

// First is e in the group's first row in arrival order.
func First(e expr.Expr) AggExpr { return call("first", e) }

// Last is e in the group's last row in arrival order.
func Last(e expr.Expr) AggExpr { return call("last", e) }

// Stddev is the sample standard deviation of e.
func Stddev(e expr.Expr) AggExpr { return call("stddev", e) }

// StddevPop is the population standard deviation of e.
func StddevPop(e expr.Expr) AggExpr { return call("stddev_pop", e) }

// Variance is the sample variance of e.
func Variance(e expr.Expr) AggExpr { return call("variance", e) }

// VarPop is the population variance of e.
func VarPop(e expr.Expr) AggExpr { return call("var_pop", e) }

// ApproxCountDistinct estimates the number of distinct values of e with a
// HyperLogLog sketch of relative standard deviation rsd (0.05 if not
// given).
func ApproxCountDistinct(e expr.Expr, rsd ...float64) AggExpr {
	c := call("approx_count_distinct", e)
	if len(rsd) > 0 {
		c.Params = []any{rsd[0]}
	}
	return c
}

// ApproxPercentile estimates the percentile (in [0, 1]) of e with a
// mergeable sketch of the given accuracy (10000 if 0).
func ApproxPercentile(e expr.Expr, percentile float64, accuracy int) AggExpr {
	c := call("approx_percentile", e)
	c.Params = []any{percentile}
	if accuracy > 0 {
		c.Params = append(c.Params, accuracy)
	}
	return c
}

// CollectList gathers the non-null values of e in arrival order.
func CollectList(e expr.Expr) AggExpr { return call("collect_list", e) }

// CollectSet gathers the distinct non-null values of e.
func CollectSet(e expr.Expr) AggExpr { return call("collect_set", e) }

// AggFunc calls the aggregate function called name (see the agg package
// for the list) over args, with constant params.
func AggFunc(name string, args []expr.Expr, params ...any) AggExpr {
	return AggExpr{Func: name, Args: args, Params: params}
}

func call(name string, e expr.Expr) AggExpr { return AggExpr{Func: name, Args: []expr.Expr{e}} }

// Window is a tumbling event-time window of the timestamp column ts, for
// GroupBy: window(ts, size), with size an interval such as "10 seconds".
func Window(ts expr.Expr, size string) expr.Expr { return expr.Window(ts, size) }

// SlidingWindow is a sliding event-time window for GroupBy: a row lands in
// every window of the given size that contains it, one starting every
// slide.
func SlidingWindow(ts expr.Expr, size, slide string) expr.Expr {
	return expr.SlidingWindowOf(ts, size, slide)
}

// SessionWindow is a session window for GroupBy: a key's rows closer than
// gap (such as "5 minutes") to each other form one session.
func SessionWindow(ts expr.Expr, gap string) expr.Expr { return expr.SessionWindowOf(ts, gap) }

// SessionWindowGap is a session window whose gap is computed per row by
// gap: an interval string (such as a CASE choosing "1 minute" or "10
// minutes" by device type) or a duration. Rows with a null, zero or
// negative gap belong to no session.
func SessionWindowGap(ts, gap expr.Expr) expr.Expr { return expr.SessionWindowExpr(ts, gap) }

// GroupedData is a DataFrame grouped by keys, waiting for Agg.
type GroupedData struct {
	df   *DataFrame
	keys []expr.Expr
}

// GroupBy groups the rows by keys: columns, expressions, and at most one
// event-time window (Window, SlidingWindow, SessionWindow). Agg then
// computes aggregates per group, kept in state across batches.
func (df *DataFrame) GroupBy(keys ...expr.Expr) *GroupedData {
	return &GroupedData{df: df, keys: append([]expr.Expr(nil), keys...)}
}

// Agg computes aggs per group. The result has the keys (a window as a
// struct of start and end) and then one column per aggregate.
func (g *GroupedData) Agg(aggs ...AggExpr) *DataFrame {
	return g.df.derive("GroupBy.Agg", func() (plan.Node, error) {
		if len(aggs) == 0 {
			return nil, errors.New("no aggregates given; for example Agg(Count())")
		}
		return plan.NewAggregate(g.df.node, g.keys, aggs)
	})
}

// Count counts the rows per group, in a column named "count".
func (g *GroupedData) Count() *DataFrame { return g.Agg(Count().As("count")) }

// WatermarkOption configures WithWatermark.
type WatermarkOption func(*watermarkConfig)

type watermarkConfig struct{ idle time.Duration }

// WithIdleTimeout lets the watermark advance with processing time once no
// rows have arrived for d, so windows still close when the stream goes
// quiet. Rows that then arrive behind the advanced watermark are late.
func WithIdleTimeout(d time.Duration) WatermarkOption {
	return func(c *watermarkConfig) { c.idle = d }
}

// WithWatermark declares column (a timestamp) as the rows' event time and
// that rows may be up to delay late (an interval such as "10 seconds" or
// "1m"). The watermark, the maximum event time seen minus delay, lets
// stateful operators finalize windows and drop state; rows older than it
// are dropped as late (counted in progress, or sent to the late-data sink
// of StreamWriter.LateRows).
func (df *DataFrame) WithWatermark(column, delay string, opts ...WatermarkOption) *DataFrame {
	return df.derive("WithWatermark", func() (plan.Node, error) {
		d, err := expr.ParseInterval(delay)
		if err != nil {
			return nil, fmt.Errorf("delay %q: %w", delay, err)
		}
		var c watermarkConfig
		for _, o := range opts {
			o(&c)
		}
		return plan.NewWatermark(df.node, column, d, c.idle)
	})
}
