package dataframe

import (
	"github.com/sluicehq/sluice/expr"
	"github.com/sluicehq/sluice/plan"
)

// Join joins df with other, another stream, on cond, Spark's
// stream-stream join (append output mode). how is inner, left_outer
// (left), right_outer (right), full_outer (full, outer) or left_semi
// (semi). Column names must be unique across both DataFrames: rename
// clashing ones first, with Select(Col("ts").As("right_ts"), ...).
//
// Both streams are kept in the state store and each new row is matched
// against the other stream's rows kept so far. cond is an AND of terms:
// equalities of a left and a right column become hash keys; comparisons
// of a watermarked timestamp of each side give the event-time range that
// lets the watermark evict rows, for example
//
//	Col("lts").Ge(Col("rts"))
//	expr.Call("unix_millis", Col("lts")).Between(
//	    expr.Call("unix_millis", Col("rts")).Sub(Lit(10000)),
//	    expr.Call("unix_millis", Col("rts")).Add(Lit(10000)))
//
// or an equality of the two columns or of their tumbling windows; any
// other term is evaluated on the candidate pairs. An inner join takes any
// condition, but without a watermark on both sides and a range its state
// grows without bound. Outer and semi joins need a watermark on both
// sides and a range bounding how long the outer (or left, for semi) rows
// wait; Start refuses them otherwise, naming what is missing. An outer
// join writes a row that found no match once, with nulls for the other
// side, in the batch whose watermark shows that no match can come; rows
// at or below the watermark on a side whose time the other side's
// eviction relies on are dropped as late.
//
// The sources of other that are not df's are added after df's; a source
// read by both (a self-join) is read once and feeds both sides.
func (df *DataFrame) Join(other *DataFrame, cond expr.Expr, how string) *DataFrame {
	return df.deriveWith("Join", other, func(left, right plan.Node) (plan.Node, error) {
		typ, err := plan.ParseStreamJoinType(how)
		if err != nil {
			return nil, err
		}
		j, err := plan.NewStreamJoin(left, right, typ, cond)
		if err != nil {
			return nil, err
		}
		return j, nil
	})
}
