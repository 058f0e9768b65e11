package dataframe

import (
	"errors"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sluicehq/sluice/expr"
	"github.com/sluicehq/sluice/plan"
	"github.com/sluicehq/sluice/source"
)

// Col refers to a column by name (expr.Col).
func Col(name string) expr.Expr { return expr.Col(name) }

// Lit is a literal value (expr.Lit).
func Lit(v any) expr.Expr { return expr.Lit(v) }

// DataFrame is an unbounded table defined by a streaming source and the
// transformations applied to it. Methods return a new DataFrame and never
// modify the receiver. A mistake (an unknown column, a type error) is kept
// and reported by Err, Explain and Start, so calls can be chained; the
// error names the operation and lists what was available.
type DataFrame struct {
	sources []source.Source
	node    plan.Node
	err     error
}

// ReadOption configures ReadStream.
type ReadOption func(*readConfig)

type readConfig struct{ name string }

// WithSourceName names the source in Explain and progress.
func WithSourceName(name string) ReadOption { return func(c *readConfig) { c.name = name } }

// ReadStream returns a streaming DataFrame over src.
func ReadStream(src source.Source, opts ...ReadOption) *DataFrame {
	if src == nil {
		return &DataFrame{err: errors.New("dataframe: ReadStream: source is nil")}
	}
	var c readConfig
	for _, o := range opts {
		o(&c)
	}
	if c.name == "" {
		c.name = fmt.Sprintf("%T", src)
		if d, ok := src.(source.Describer); ok {
			c.name = d.Description()
		}
	}
	return &DataFrame{sources: []source.Source{src}, node: plan.NewScan(0, c.name, src.Schema())}
}

func (df *DataFrame) derive(op string, build func() (plan.Node, error)) *DataFrame {
	if df.err != nil {
		return df
	}
	n, err := build()
	if err != nil {
		return &DataFrame{sources: df.sources, node: df.node, err: fmt.Errorf("dataframe: %s: %w", op, err)}
	}
	return &DataFrame{sources: df.sources, node: n}
}

// Select projects the DataFrame onto exprs (columns, computed values,
// aliases). One of them may be a generator such as expr.Explode, which
// turns each row into one row per array element.
func (df *DataFrame) Select(exprs ...expr.Expr) *DataFrame {
	return df.derive("Select", func() (plan.Node, error) {
		if len(exprs) == 0 {
			return nil, errors.New("no columns given")
		}
		return project(df.node, exprs)
	})
}

// SelectColumns projects the DataFrame onto the named columns.
func (df *DataFrame) SelectColumns(names ...string) *DataFrame {
	exprs := make([]expr.Expr, len(names))
	for i, n := range names {
		exprs[i] = expr.Col(n)
	}
	return df.Select(exprs...)
}

// Where keeps the rows for which cond is true (null counts as false).
func (df *DataFrame) Where(cond expr.Expr) *DataFrame {
	return df.derive("Where", func() (plan.Node, error) { return plan.NewFilter(df.node, cond) })
}

// Filter is Where.
func (df *DataFrame) Filter(cond expr.Expr) *DataFrame { return df.Where(cond) }

// Err returns the first error made while building the DataFrame.
func (df *DataFrame) Err() error { return df.err }

// Schema returns the DataFrame's schema, or nil if it has an error.
func (df *DataFrame) Schema() *arrow.Schema {
	if df.err != nil {
		return nil
	}
	return df.node.Schema()
}

// Explain returns the logical plan as text, or the error that prevents one.
func (df *DataFrame) Explain() string {
	if df.err != nil {
		return "error: " + df.err.Error()
	}
	return plan.Explain(df.node)
}

// Plan returns the logical plan (nil if the DataFrame has an error).
func (df *DataFrame) Plan() plan.Node {
	if df.err != nil {
		return nil
	}
	return df.node
}
