package expr

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/arrow/scalar"
)

// This file holds the function registry. Every named function (lower,
// date_trunc, sha2, ...) is a funcDef registered from an init func in the
// file of its family (strings.go, math.go, datetime.go, ...); Call builds
// an unbound call by name, and binding looks the name up, checks the
// arity, binds the arguments and lets the definition type-check them and
// build its bound node.

// funcDef defines one named function.
type funcDef struct {
	// name is the lower-case name the function is called by.
	name string
	// minArgs and maxArgs bound the argument count; maxArgs < 0 means any
	// number from minArgs on.
	minArgs, maxArgs int
	// bind type-checks the bound arguments and returns the bound node.
	// src is the call's display form, for error messages.
	bind func(b *binder, src string, args []bnode) (bnode, error)
	// volatile functions are not folded at bind time even with constant
	// arguments (current_timestamp: fixed per batch, not per query).
	volatile bool
	// bindNodes, when set, is used instead of bind: it gets the unbound
	// argument nodes, for functions that need more than the arguments'
	// values (struct names its fields after aliased arguments).
	bindNodes func(b *binder, src string, args []node) (bnode, error)
}

var (
	registryMu sync.RWMutex
	registry   = map[string]*funcDef{}
)

// register adds d to the registry; a duplicate name is a programming error.
func register(d *funcDef) {
	registryMu.Lock()
	defer registryMu.Unlock()
	name := strings.ToLower(d.name)
	if _, dup := registry[name]; dup {
		panic("expr: function " + name + " registered twice")
	}
	d.name = name
	registry[name] = d
}

func lookupFunc(name string) (*funcDef, bool) {
	registryMu.RLock()
	defer registryMu.RUnlock()
	d, ok := registry[strings.ToLower(name)]
	return d, ok
}

// Functions returns the names of every registered function, sorted.
func Functions() []string {
	registryMu.RLock()
	defer registryMu.RUnlock()
	names := make([]string, 0, len(registry))
	for n := range registry {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Call is the function called name applied to args, for example
// Call("lower", Col("city")) or Call("date_trunc", Lit("hour"), Col("ts")).
// Names are case-insensitive; an unknown name or a wrong number of
// arguments fails at Bind with the closest known name.
func Call(name string, args ...Expr) Expr {
	ns := make([]node, len(args))
	for i, a := range args {
		ns[i] = a.n
	}
	return Expr{&callNode{name: strings.ToLower(name), args: ns}}
}

// callNode is an unbound call of a registered function.
type callNode struct {
	name string
	args []node
}

func (c *callNode) String() string {
	parts := make([]string, len(c.args))
	for i, a := range c.args {
		if a == nil {
			parts[i] = emptyString
			continue
		}
		parts[i] = a.String()
	}
	return c.name + "(" + strings.Join(parts, ", ") + ")"
}

func (c *callNode) bind(b *binder) (bnode, error) {
	src := c.String()
	d, ok := lookupFunc(c.name)
	if !ok {
		return nil, fmt.Errorf("expr: unknown function %s in %s%s", c.name, b.in(src), suggest(c.name, Functions()))
	}
	if len(c.args) < d.minArgs || (d.maxArgs >= 0 && len(c.args) > d.maxArgs) {
		return nil, fmt.Errorf("expr: %s takes %s, got %d, in %s", c.name, arity(d.minArgs, d.maxArgs), len(c.args), b.in(src))
	}
	var n bnode
	if d.bindNodes != nil {
		var err error
		if n, err = d.bindNodes(b, src, c.args); err != nil {
			return nil, err
		}
	} else {
		args := make([]bnode, len(c.args))
		for i, a := range c.args {
			bn, err := bindNode(b, a)
			if err != nil {
				return nil, err
			}
			args[i] = bn
		}
		var err error
		if n, err = d.bind(b, src, args); err != nil {
			return nil, err
		}
	}
	if d.volatile {
		return n, nil
	}
	return b.fold(n, src)
}

func arity(min, max int) string {
	switch {
	case max < 0:
		return fmt.Sprintf("at least %d argument%s", min, plural(min))
	case min == max:
		return fmt.Sprintf("%d argument%s", min, plural(min))
	}
	return fmt.Sprintf("%d to %d arguments", min, max)
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// bFunc is the bound node most functions use: a result type, the bound
// arguments and an evaluation function over their values. fn receives
// borrowed argument values (arrays or constants) and returns an owned
// result; a constant result is repeated by the caller as needed.
type bFunc struct {
	name string
	src  string
	args []bnode
	typ  arrow.DataType
	null bool
	fn   func(ev *evalCtx, args []val) (val, error)
}

func (f *bFunc) dataType() arrow.DataType { return f.typ }
func (f *bFunc) nullable() bool           { return f.null }
func (f *bFunc) children() []bnode        { return f.args }
func (f *bFunc) String() string           { return f.src }

func (f *bFunc) eval(ev *evalCtx) (val, error) {
	vals := make([]val, len(f.args))
	defer func() {
		for _, v := range vals {
			v.release()
		}
	}()
	for i, a := range f.args {
		v, err := a.eval(ev)
		if err != nil {
			return val{}, err
		}
		vals[i] = v
	}
	return f.fn(ev, vals)
}

// anyNullable reports whether any of ns may produce nulls.
func anyNullable(ns []bnode) bool {
	for _, n := range ns {
		if n.nullable() {
			return true
		}
	}
	return false
}

// asArray returns v as an array of ev.rows rows: the array itself
// (borrowed, release is a no-op) or the constant repeated (owned, release
// frees it). Call release when done.
func asArray(ev *evalCtx, v val) (arr arrow.Array, release func(), err error) {
	if v.arr != nil {
		return v.arr, func() {}, nil
	}
	a, err := scalar.MakeArrayFromScalar(v.sc, ev.rows, ev.mem)
	if err != nil {
		return nil, nil, err
	}
	return a, a.Release, nil
}

// UDF is a scalar user-defined function over whole Arrow arrays: it gets
// one array per argument (borrowed; constants are repeated to the batch
// length) and returns an array of the same length (owned by the caller),
// allocated with mem.
type UDF func(args []arrow.Array, mem memory.Allocator) (arrow.Array, error)

// RegisterUDF makes fn callable by name (Call(name, ...) here, and by name
// in SQL) with the given argument types (checked at Bind; nil entries
// accept any type) and result type. It returns an error if the name is
// taken by a built-in or another UDF.
func RegisterUDF(name string, argTypes []arrow.DataType, result arrow.DataType, nullable bool, fn UDF) error {
	if fn == nil || result == nil || name == "" {
		return fmt.Errorf("expr: RegisterUDF(%q): name, result type and function are required", name)
	}
	lname := strings.ToLower(name)
	if _, taken := lookupFunc(lname); taken {
		return fmt.Errorf("expr: RegisterUDF(%q): a function of that name exists; choose another name", name)
	}
	types := append([]arrow.DataType(nil), argTypes...)
	register(&funcDef{
		name: lname, minArgs: len(types), maxArgs: len(types), volatile: true,
		bind: func(b *binder, src string, args []bnode) (bnode, error) {
			for i, a := range args {
				if types[i] != nil && !arrow.TypeEqual(a.dataType(), types[i]) {
					cast, err := b.castTo(a, types[i], src)
					if err != nil {
						return nil, fmt.Errorf("expr: argument %d of %s is %s, want %s: %w", i+1, b.in(src), a.dataType(), types[i], err)
					}
					args[i] = cast
				}
			}
			return &bFunc{name: lname, src: src, args: args, typ: result, null: nullable,
				fn: func(ev *evalCtx, vals []val) (val, error) {
					arrs := make([]arrow.Array, len(vals))
					for i, v := range vals {
						a, rel, err := asArray(ev, v)
						if err != nil {
							return val{}, err
						}
						defer rel()
						arrs[i] = a
					}
					out, err := fn(arrs, ev.mem)
					if err != nil {
						return val{}, fmt.Errorf("expr: %s: %w", src, err)
					}
					if out == nil || out.Len() != ev.rows || !arrow.TypeEqual(out.DataType(), result) {
						if out != nil {
							out.Release()
						}
						return val{}, fmt.Errorf("expr: %s: the UDF must return %d values of type %s", src, ev.rows, result)
					}
					return val{arr: out}, nil
				}}, nil
		},
	})
	return nil
}

type batchTimeKey struct{}

// WithBatchTime returns a context carrying the time of the micro-batch
// being evaluated, in microseconds since the Unix epoch: current_timestamp
// and current_date return it, so every row of a batch (and a re-run of the
// batch after a crash) sees the same value. The driver sets it from the
// batch timestamp logged in the offsets log.
func WithBatchTime(ctx context.Context, micros int64) context.Context {
	return context.WithValue(ctx, batchTimeKey{}, micros)
}

// batchTime returns the batch time set by WithBatchTime, or now.
func batchTime(ctx context.Context) int64 {
	if v, ok := ctx.Value(batchTimeKey{}).(int64); ok {
		return v
	}
	return time.Now().UnixMicro()
}
