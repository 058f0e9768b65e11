package expr

import "strings"

// Expr is an unbound expression: a column reference, a literal, or an
// operation over other expressions. Expr is an immutable value; methods
// return new expressions and never change the receiver, so an Expr can be
// shared and reused freely. Nothing is checked until Bind, which resolves
// columns against a schema and type-checks the whole tree.
//
// The zero Expr is empty; binding it (or an expression built on it) fails.
type Expr struct{ n node }

// node is an unbound expression tree node.
type node interface {
	// String is the Spark-like display form, for example "(x > 5)".
	String() string
	// bind resolves and type-checks the node against b's schema.
	bind(b *binder) (bnode, error)
}

// Col refers to the column called name. A name with dots such as "a.b"
// refers to a top-level column of exactly that name if the schema has one,
// and otherwise to field b of the struct column a (and so on for deeper
// nesting).
func Col(name string) Expr { return Expr{&colNode{name: name}} }

// Lit is a constant. v may be a bool, any Go integer or float type, a
// string, a []byte, a time.Time (a timestamp in microseconds, UTC, as in
// Spark), nil (a null whose type is taken from the other side of the
// operation it is used in), or an Arrow scalar.Scalar for any other type.
// Another Go type makes Bind fail with an error that names it.
func Lit(v any) Expr { return Expr{newLit(v)} }

// Eq is e = other. Like every comparison it is null when either side is
// null.
func (e Expr) Eq(other Expr) Expr { return e.binary(opEq, other) }

// NotEq is e != other, displayed as Spark does: "(NOT (a = b))".
func (e Expr) NotEq(other Expr) Expr { return e.binary(opNotEq, other) }

// Lt is e < other.
func (e Expr) Lt(other Expr) Expr { return e.binary(opLt, other) }

// Le is e <= other.
func (e Expr) Le(other Expr) Expr { return e.binary(opLe, other) }

// Gt is e > other.
func (e Expr) Gt(other Expr) Expr { return e.binary(opGt, other) }

// Ge is e >= other.
func (e Expr) Ge(other Expr) Expr { return e.binary(opGe, other) }

// And is the Kleene conjunction of two booleans: false if either side is
// false, else null if either side is null, else true.
func (e Expr) And(other Expr) Expr { return e.binary(opAnd, other) }

// Or is the Kleene disjunction of two booleans: true if either side is
// true, else null if either side is null, else false.
func (e Expr) Or(other Expr) Expr { return e.binary(opOr, other) }

// Add is e + other. Integer overflow is an error, as in ANSI SQL.
func (e Expr) Add(other Expr) Expr { return e.binary(opAdd, other) }

// Sub is e - other. Integer overflow is an error, as in ANSI SQL.
func (e Expr) Sub(other Expr) Expr { return e.binary(opSub, other) }

// Mul is e * other. Integer overflow is an error, as in ANSI SQL.
func (e Expr) Mul(other Expr) Expr { return e.binary(opMul, other) }

// Div is e / other. As Spark's '/', it always yields a double (float64),
// also for integer operands; dividing by zero is an error.
func (e Expr) Div(other Expr) Expr { return e.binary(opDiv, other) }

// Not is the boolean negation of e (null stays null).
func (e Expr) Not() Expr { return Expr{&unaryNode{op: opNot, x: e.n}} }

// IsNull is true where e is null and false elsewhere; it is never null.
func (e Expr) IsNull() Expr { return Expr{&unaryNode{op: opIsNull, x: e.n}} }

// IsNotNull is true where e is not null; it is never null.
func (e Expr) IsNotNull() Expr { return Expr{&unaryNode{op: opIsNotNull, x: e.n}} }

// As names the expression's output column.
func (e Expr) As(name string) Expr { return Expr{&aliasNode{x: e.n, name: name}} }

// Name is the name of the column the expression produces: the alias given
// by As, the column name for a column reference, and otherwise the
// expression's String form, as Spark names computed columns (except that
// window(...) and session_window(...) are named "window" and
// "session_window", as in Spark). Once bound, a reference to a nested
// field "a.b" produces a column named "b" (see Bound.Field).
func (e Expr) Name() string {
	switch n := e.n.(type) {
	case *aliasNode:
		return n.name
	case *colNode:
		return n.name
	case *callNode:
		if name, ok := windowColumnName(n); ok { // window.go
			return name
		}
	}
	return e.String()
}

// String is the Spark-like display form: "(x > 5)", "((a + 1) AND b)",
// "(x IS NULL)", "(a * 2) AS twice".
func (e Expr) String() string { return nodeString(e.n) }

// IsZero reports whether e is the zero (empty) Expr.
func (e Expr) IsZero() bool { return e.n == nil }

func (e Expr) binary(op binOp, other Expr) Expr {
	return Expr{&binaryNode{op: op, l: e.n, r: other.n}}
}

// And is the Kleene conjunction of all exprs, left to right. With no
// arguments it is the literal true; with one it is that expression.
func And(exprs ...Expr) Expr { return fold(opAnd, true, exprs) }

// Or is the Kleene disjunction of all exprs, left to right. With no
// arguments it is the literal false; with one it is that expression.
func Or(exprs ...Expr) Expr { return fold(opOr, false, exprs) }

// Not is e.Not().
func Not(e Expr) Expr { return e.Not() }

func fold(op binOp, empty bool, exprs []Expr) Expr {
	if len(exprs) == 0 {
		return Lit(empty)
	}
	acc := exprs[0]
	for _, e := range exprs[1:] {
		acc = acc.binary(op, e)
	}
	return acc
}

const emptyString = "<empty expression>"

func nodeString(n node) string {
	if n == nil {
		return emptyString
	}
	return n.String()
}

// colNode is a reference to a column (or nested field) by name.
type colNode struct{ name string }

func (c *colNode) String() string { return c.name }

// aliasNode names its child's output.
type aliasNode struct {
	x    node
	name string
}

func (a *aliasNode) String() string { return nodeString(a.x) + " AS " + a.name }

type binOp int

const (
	opEq binOp = iota
	opNotEq
	opLt
	opLe
	opGt
	opGe
	opAnd
	opOr
	opAdd
	opSub
	opMul
	opDiv
)

type opClass int

const (
	classCompare opClass = iota
	classLogic
	classArith
)

// binOps describes each binary operator: its display symbol, its class
// and, for comparisons and logic, the arrow compute function that
// evaluates it.
var binOps = [...]struct {
	symbol string
	class  opClass
	kernel string
}{
	opEq:    {"=", classCompare, "equal"},
	opNotEq: {"!=", classCompare, "not_equal"},
	opLt:    {"<", classCompare, "less"},
	opLe:    {"<=", classCompare, "less_equal"},
	opGt:    {">", classCompare, "greater"},
	opGe:    {">=", classCompare, "greater_equal"},
	opAnd:   {"AND", classLogic, "and_kleene"},
	opOr:    {"OR", classLogic, "or_kleene"},
	opAdd:   {"+", classArith, ""},
	opSub:   {"-", classArith, ""},
	opMul:   {"*", classArith, ""},
	opDiv:   {"/", classArith, ""},
}

func formatBinary(op binOp, l, r string) string {
	if op == opNotEq {
		return "(NOT (" + l + " = " + r + "))"
	}
	var sb strings.Builder
	sb.Grow(len(l) + len(r) + 8)
	sb.WriteByte('(')
	sb.WriteString(l)
	sb.WriteByte(' ')
	sb.WriteString(binOps[op].symbol)
	sb.WriteByte(' ')
	sb.WriteString(r)
	sb.WriteByte(')')
	return sb.String()
}

type binaryNode struct {
	op   binOp
	l, r node
}

func (b *binaryNode) String() string {
	return formatBinary(b.op, nodeString(b.l), nodeString(b.r))
}

type unOp int

const (
	opNot unOp = iota
	opIsNull
	opIsNotNull
)

func formatUnary(op unOp, x string) string {
	switch op {
	case opNot:
		return "(NOT " + x + ")"
	case opIsNull:
		return "(" + x + " IS NULL)"
	default:
		return "(" + x + " IS NOT NULL)"
	}
}

type unaryNode struct {
	op unOp
	x  node
}

func (u *unaryNode) String() string { return formatUnary(u.op, nodeString(u.x)) }
