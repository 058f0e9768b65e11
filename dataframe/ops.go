package dataframe

import (
	"errors"
	"fmt"
	"reflect"
	"runtime"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sluicehq/sluice/expr"
	"github.com/sluicehq/sluice/plan"
	"github.com/sluicehq/sluice/source"
)

// This file holds the DataFrame operations beyond Select and Where:
// column edits (WithColumn, WithColumnRenamed, Drop, all lowered to a
// projection), generators (explode in Select, Explode), Union, MapBatches
// and UDF registration.

// MapFunc is a Go function over the record batches of a stream (see
// MapBatches): it borrows its input record and returns a record it
// allocated from the given allocator, owned by the caller; nil or a record
// without rows means no output for that input.
type MapFunc = plan.MapFunc

// UDF is a scalar user-defined function over whole Arrow arrays (see
// RegisterUDF and expr.UDF).
type UDF = expr.UDF

// RegisterUDF makes fn callable by name in expressions, as
// expr.Call(name, args...) (and by name in SQL): argTypes are the argument
// types (checked, with implicit casts, at Bind; a nil entry accepts any
// type), result the type of the array fn returns. fn gets one array per
// argument (borrowed; constants repeated to the batch length) and returns
// an array of the same length, owned by the caller. It fails if the name
// is taken by a built-in function or another UDF. It is expr.RegisterUDF.
func RegisterUDF(name string, argTypes []arrow.DataType, result arrow.DataType, nullable bool, fn UDF) error {
	return expr.RegisterUDF(name, argTypes, result, nullable, fn)
}

// project is Select: a projection onto exprs, one of which may be a
// generator (explode and its variants), which is run by a Generate node
// under the projection, as Spark plans it.
func project(input plan.Node, exprs []expr.Expr) (plan.Node, error) {
	gen := -1
	var gens []string
	for i, e := range exprs {
		if expr.IsGenerator(e) {
			gen = i
			gens = append(gens, e.String())
		}
	}
	switch {
	case len(gens) == 0:
		return plan.NewProject(input, exprs...)
	case len(gens) > 1:
		return nil, fmt.Errorf("only one generator is allowed per select, but found %d: %s; explode in two steps", len(gens), strings.Join(gens, ", "))
	}
	// Keep only the input columns the other expressions read, so the
	// generated columns may take the name of a column they replace.
	in := input.Schema()
	keepSet := map[int]bool{}
	for i, e := range exprs {
		if i == gen {
			continue
		}
		b, err := e.Bind(in)
		if err != nil {
			return nil, fmt.Errorf("plan: Project: %w", err)
		}
		for _, c := range b.Columns() {
			keepSet[c] = true
		}
	}
	keep := make([]int, 0, len(keepSet))
	for i := 0; i < in.NumFields(); i++ {
		if keepSet[i] {
			keep = append(keep, i)
		}
	}
	g, err := plan.NewGenerate(input, exprs[gen], keep)
	if err != nil {
		return nil, err
	}
	generated := g.Bound().Fields()
	out := make([]expr.Expr, 0, len(exprs)-1+len(generated))
	out = append(out, exprs[:gen]...)
	for _, f := range generated {
		out = append(out, expr.Col(f.Name))
	}
	out = append(out, exprs[gen+1:]...)
	if sameColumns(out, g.Schema()) {
		return g, nil
	}
	return plan.NewProject(g, out...)
}

// sameColumns reports whether exprs are plain references to the columns
// of schema, in order (so a projection onto them would change nothing).
func sameColumns(exprs []expr.Expr, schema *arrow.Schema) bool {
	if len(exprs) != schema.NumFields() {
		return false
	}
	for i, e := range exprs {
		if e.String() != expr.Col(schema.Field(i).Name).String() || e.Name() != schema.Field(i).Name {
			return false
		}
	}
	return true
}

// WithColumn sets column name to e: it replaces the column of that name
// in place if there is one, and otherwise adds it at the end, keeping the
// other columns. e may be a generator (Explode of an array column), which
// turns each row into one row per element.
func (df *DataFrame) WithColumn(name string, e expr.Expr) *DataFrame {
	return df.withColumn("WithColumn", name, e)
}

func (df *DataFrame) withColumn(op, name string, e expr.Expr) *DataFrame {
	return df.derive(op, func() (plan.Node, error) {
		if name == "" {
			return nil, errors.New("the column name is empty")
		}
		fields := df.node.Schema().Fields()
		exprs := make([]expr.Expr, 0, len(fields)+1)
		replaced := false
		for _, f := range fields {
			if f.Name == name {
				exprs = append(exprs, e.As(name))
				replaced = true
				continue
			}
			exprs = append(exprs, expr.Col(f.Name))
		}
		if !replaced {
			exprs = append(exprs, e.As(name))
		}
		return project(df.node, exprs)
	})
}

// WithColumnRenamed renames column existing to newName, keeping its place
// and values. Unlike Spark, which ignores it, an unknown column is an
// error, listing the columns (and the closest name); so is a newName that
// another column has.
func (df *DataFrame) WithColumnRenamed(existing, newName string) *DataFrame {
	return df.derive("WithColumnRenamed", func() (plan.Node, error) {
		schema := df.node.Schema()
		if newName == "" {
			return nil, fmt.Errorf("the new name of %q is empty", existing)
		}
		idx := schema.FieldIndices(existing)
		if len(idx) == 0 {
			if _, err := expr.Col(existing).Bind(schema); err != nil {
				return nil, err
			}
			return nil, fmt.Errorf("%q is a field of a struct column, and only top-level columns can be renamed; use WithColumn(%q, Col(%q)) to copy it to a column", existing, newName, existing)
		}
		exprs := make([]expr.Expr, schema.NumFields())
		for i, f := range schema.Fields() {
			exprs[i] = expr.Col(f.Name)
			if i == idx[0] && existing != newName {
				exprs[i] = exprs[i].As(newName)
			}
		}
		return plan.NewProject(df.node, exprs...)
	})
}

// Drop removes the named top-level columns. As in Spark, names the
// DataFrame does not have are ignored; removing every column is an error.
func (df *DataFrame) Drop(columns ...string) *DataFrame {
	return df.derive("Drop", func() (plan.Node, error) {
		drop := make(map[string]bool, len(columns))
		for _, c := range columns {
			drop[c] = true
		}
		schema := df.node.Schema()
		var exprs []expr.Expr
		for _, f := range schema.Fields() {
			if !drop[f.Name] {
				exprs = append(exprs, expr.Col(f.Name))
			}
		}
		switch {
		case len(exprs) == schema.NumFields():
			return df.node, nil
		case len(exprs) == 0:
			return nil, fmt.Errorf("dropping %s would remove every column; keep at least one", strings.Join(columns, ", "))
		}
		return plan.NewProject(df.node, exprs...)
	})
}

// Explode replaces column (or, when as differs, adds a column as) with
// the elements of the array column, one row per element; rows whose array
// is null or empty are dropped. It is WithColumn(as, expr.Explode(Col(column))).
// For a map column use WithColumn or Select with expr.Explode and name
// its key and value columns with AsNames; for nulls kept as a row use
// expr.ExplodeOuter.
func (df *DataFrame) Explode(column, as string) *DataFrame {
	return df.withColumn("Explode", as, expr.Explode(expr.Col(column)))
}

// Union returns the rows of df followed by those of other, matched by
// column position as Spark's union (use Select to line the columns up):
// the result has df's column names, and the columns' common types (int32
// with int64 is int64, an integer with a float is float64). A different
// number of columns or types with no common type is an error naming the
// columns. The sources of both become the query's sources; a source both
// read (df.Union(df)) is read once and feeds both sides, so its rows
// appear twice.
func (df *DataFrame) Union(other *DataFrame) *DataFrame {
	return df.deriveWith("Union", other, func(left, right plan.Node) (plan.Node, error) {
		u, err := plan.NewUnion(left, right)
		if err != nil {
			return nil, err
		}
		return u, nil
	})
}

// deriveWith is derive for an operation op on df and other (Union, Join):
// it refuses a nil or failed other, combines the sources (df's, then
// those of other that are not df's: a source read by both is read once
// and feeds both sides), and builds the node from df's plan and other's
// re-indexed onto the combined sources.
func (df *DataFrame) deriveWith(op string, other *DataFrame, build func(left, right plan.Node) (plan.Node, error)) *DataFrame {
	if df.err != nil {
		return df
	}
	sources, n, err := df.combine(other, build)
	if err != nil {
		return &DataFrame{sources: df.sources, node: df.node, err: fmt.Errorf("dataframe: %s: %w", op, err)}
	}
	return &DataFrame{sources: sources, node: n}
}

// combine is deriveWith without the error wrapping: the combined sources
// and the node build made.
func (df *DataFrame) combine(other *DataFrame, build func(left, right plan.Node) (plan.Node, error)) ([]source.Source, plan.Node, error) {
	if other == nil {
		return nil, nil, errors.New("the other DataFrame is nil")
	}
	if other.err != nil {
		return nil, nil, fmt.Errorf("the other DataFrame has an error: %w", other.err)
	}
	sources := append([]source.Source(nil), df.sources...)
	index := make([]int, len(other.sources))
	for j, s := range other.sources {
		index[j] = -1
		for i, mine := range sources {
			if sameSource(mine, s) {
				index[j] = i
				break
			}
		}
		if index[j] < 0 {
			index[j] = len(sources)
			sources = append(sources, s)
		}
	}
	right, err := plan.ReindexSources(other.node, func(i int) int { return index[i] })
	if err != nil {
		return nil, nil, err
	}
	n, err := build(df.node, right)
	if err != nil {
		return nil, nil, err
	}
	return sources, n, nil
}

// sameSource reports whether a and b are the same source value.
func sameSource(a, b source.Source) bool {
	ta, tb := reflect.TypeOf(a), reflect.TypeOf(b)
	return ta == tb && ta.Comparable() && a == b
}

// MapBatches applies fn to every record batch of the stream: fn borrows
// its input and returns a record of schema out (checked on each batch,
// which fails the query when it differs), allocated from the allocator it
// is given and owned by the caller; nil or an empty record means no
// output. In a query without stateful operators the records of one batch
// are processed on several goroutines at once, so fn must be safe for
// concurrent use; it must not keep its input beyond the call without
// retaining it. A panic in fn
// fails the query with the panic value.
func (df *DataFrame) MapBatches(out *arrow.Schema, fn MapFunc) *DataFrame {
	return df.derive("MapBatches", func() (plan.Node, error) {
		return plan.NewMapBatches(df.node, out, fn, funcName(fn))
	})
}

// funcName is the Go name of fn, for Explain.
func funcName(fn MapFunc) string {
	if fn == nil {
		return ""
	}
	if f := runtime.FuncForPC(reflect.ValueOf(fn).Pointer()); f != nil {
		return f.Name()
	}
	return ""
}
