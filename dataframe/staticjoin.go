package dataframe

import (
	"errors"
	"fmt"

	"github.com/sluicehq/sluice/expr"
	"github.com/sluicehq/sluice/plan"
	"github.com/sluicehq/sluice/table"
)

// JoinOption configures JoinStatic.
type JoinOption func(*joinConfig)

type joinConfig struct {
	every    int
	onChange bool
	prefix   string
	cond     expr.Expr
}

// ReloadEvery reloads the static table at the start of a batch once n
// batches have passed since it was last loaded (by batch id). Rows of a
// batch re-run after a crash join the table as it is at the re-run.
func ReloadEvery(n int) JoinOption { return func(c *joinConfig) { c.every = n } }

// ReloadOnChange checks the static table's files at the start of every
// batch (table.Source.Changed) and reloads it when they changed.
func ReloadOnChange() JoinOption { return func(c *joinConfig) { c.onChange = true } }

// JoinPrefix puts prefix in front of the names of the table's columns in
// the output, to keep them apart from the stream's.
func JoinPrefix(prefix string) JoinOption { return func(c *joinConfig) { c.prefix = prefix } }

// JoinCondition adds a boolean condition over the joined row (the
// stream's columns, then the table's output columns) that a pair of rows
// must also meet, such as Col("amount").Gt(Col("limit")). For left semi
// and anti joins it decides which table rows count as matches.
func JoinCondition(cond expr.Expr) JoinOption { return func(c *joinConfig) { c.cond = cond } }

// JoinOn lists the key pairs of a join whose columns have different names
// on each side: build it with On and And.
type JoinOn struct {
	left  []expr.Expr
	right []string
}

// On starts a JoinOn with the pair: stream expression left equals table
// column right.
func On(left expr.Expr, right string) *JoinOn { return (&JoinOn{}).And(left, right) }

// And adds a key pair and returns j.
func (j *JoinOn) And(left expr.Expr, right string) *JoinOn {
	j.left = append(j.left, left)
	j.right = append(j.right, right)
	return j
}

// JoinStatic joins the stream with a static table (table.FromRecords,
// table.Parquet, table.CSV) on the columns named in on, which both sides
// have; the output has the stream's columns, then the table's other
// columns (for inner and left outer joins). how is "inner", "left_outer"
// ("left"), "left_semi" ("semi") or "left_anti" ("anti"). Null keys match
// nothing. The table is loaded when the query's first batch starts, and
// reloaded as ReloadEvery and ReloadOnChange say. The join keeps no state:
// it works in every output mode, above or below an aggregation.
//
//	df.JoinStatic(ads, []string{"ad_id"}, "inner")
func (df *DataFrame) JoinStatic(t table.Source, on []string, how string, opts ...JoinOption) *DataFrame {
	return df.derive("JoinStatic", func() (plan.Node, error) {
		if len(on) == 0 {
			return nil, errors.New("no join columns; name the key columns both sides have, or use JoinStaticOn")
		}
		j := &JoinOn{}
		for _, c := range on {
			j.And(expr.Col(c), c)
		}
		return staticJoin(df.node, t, j, true, how, opts)
	})
}

// JoinStaticOn is JoinStatic with keys of different names: on pairs
// expressions over the stream with table columns, as in
// On(Col("ad"), "ad_id").And(Col("region"), "region"). Every table column
// is in the output.
func (df *DataFrame) JoinStaticOn(t table.Source, on *JoinOn, how string, opts ...JoinOption) *DataFrame {
	return df.derive("JoinStaticOn", func() (plan.Node, error) {
		if on == nil || len(on.left) == 0 {
			return nil, errors.New("no join keys; give them with On(streamExpr, tableColumn)")
		}
		return staticJoin(df.node, t, on, false, how, opts)
	})
}

func staticJoin(input plan.Node, t table.Source, on *JoinOn, using bool, how string, opts []JoinOption) (plan.Node, error) {
	if t == nil {
		return nil, errors.New("the table is nil; build one with package table")
	}
	kind, err := plan.ParseJoinType(how)
	if err != nil {
		return nil, err
	}
	var c joinConfig
	for _, o := range opts {
		o(&c)
	}
	if c.every < 0 {
		return nil, fmt.Errorf("ReloadEvery(%d): give a positive number of batches", c.every)
	}
	return plan.NewStaticJoin(input, t, plan.StaticJoin{
		Type: kind, LeftKeys: on.left, RightKeys: on.right, Extra: c.cond, Prefix: c.prefix, Using: using,
		ReloadEvery: c.every, ReloadOnChange: c.onChange,
	})
}
