package plan

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sluicehq/sluice/expr"
)

// The join types a stream-stream join adds to those of staticjoin.go.
const (
	// RightOuterJoin is LeftOuterJoin with the sides exchanged: each
	// right row without a match is written once, with nulls for the left
	// columns.
	RightOuterJoin JoinType = "right_outer"
	// FullOuterJoin writes the unmatched rows of both sides, each with
	// nulls for the other side's columns.
	FullOuterJoin JoinType = "full_outer"
)

// ParseStreamJoinType reads the type of a join of two streams by its
// Spark names, ignoring case, spaces and underscores: inner; left,
// leftouter, left_outer; right, rightouter, right_outer; full, outer,
// fullouter, full_outer; semi, leftsemi, left_semi.
func ParseStreamJoinType(s string) (JoinType, error) {
	k := strings.NewReplacer("_", "", " ", "", "-", "").Replace(strings.ToLower(strings.TrimSpace(s)))
	switch k {
	case "inner", "":
		return InnerJoin, nil
	case "left", "leftouter":
		return LeftOuterJoin, nil
	case "right", "rightouter":
		return RightOuterJoin, nil
	case "full", "outer", "fullouter":
		return FullOuterJoin, nil
	case "semi", "leftsemi":
		return LeftSemiJoin, nil
	case "anti", "leftanti":
		return "", fmt.Errorf("plan: join type %q: a left anti join of two streams is not supported (as in Spark); use a left outer join and keep the rows whose right columns are null", s)
	case "cross":
		return "", fmt.Errorf("plan: join type %q: for a cross join of two streams use an inner join with the condition Lit(true)", s)
	}
	return "", fmt.Errorf("plan: unknown join type %q for a join of two streams: use inner, left_outer, right_outer, full_outer or left_semi", s)
}

// JoinOuter reports whether a join of type t writes the unmatched rows of
// side (0 left, 1 right) with nulls for the other side.
func JoinOuter(t JoinType, side int) bool {
	switch t {
	case FullOuterJoin:
		return true
	case LeftOuterJoin:
		return side == 0
	case RightOuterJoin:
		return side == 1
	}
	return false
}

func joinDisplay(t JoinType) string { return strings.ReplaceAll(string(t), "_", " ") }

// JoinKey is an equality of a left column and a right column of the same
// type in a join condition: the columns' positions in their inputs.
type JoinKey struct{ Left, Right int }

// JoinTimeRange is what a join condition says about the event times of
// the pairs it accepts: for every accepted pair, the left row's time
// minus the right row's time (both in microseconds) is within [Lo, Hi].
// Lo is math.MinInt64 when the condition gives no lower bound, Hi
// math.MaxInt64 when it gives no upper bound. Both columns are
// watermarked timestamps of their inputs.
type JoinTimeRange struct {
	LeftColumn, RightColumn int // positions in the left and right inputs
	Lo, Hi                  int64
	LeftDelay, RightDelay   time.Duration
}

// Unbounded reports whether the range bounds neither direction.
func (r JoinTimeRange) Unbounded() bool { return r.Lo == math.MinInt64 && r.Hi == math.MaxInt64 }

// Evicts reports whether rows of side (0 left, 1 right) can be evicted
// once the watermark passes: a left row when the range has a lower bound
// (no right row later than the watermark can match it once its time is
// at or below watermark + Lo), a right row when it has an upper bound.
func (r JoinTimeRange) Evicts(side int) bool {
	if side == 0 {
		return r.Lo != math.MinInt64
	}
	return r.Hi != math.MaxInt64
}

// StreamJoin joins two streams on Cond, Spark's stream-stream symmetric
// hash join: both sides are kept in the state store, each new row of one
// side is matched against the rows the other side kept, and the
// watermark and the event-time range of the condition bound how long a
// row is kept. The output has the left columns followed by the right
// ones (the left columns only for a left semi join); column names must
// be unique across both inputs. Build it with NewStreamJoin.
type StreamJoin struct {
	Left, Right Node
	Type        JoinType
	Cond        expr.Expr

	bound    *expr.Bound
	residual bool
	schema   *arrow.Schema
	pair     *arrow.Schema
	keys     []JoinKey
	rng      *JoinTimeRange
	wms      [2]map[string]time.Duration
	terms    []string // the condition's terms, for Explain
}

// NewStreamJoin binds cond against the left columns followed by the right
// ones and reads from it the equi-join keys (left column = right column,
// same type) and the event-time range between a watermarked timestamp of
// each side. Range terms are comparisons of the two time columns, plain
// (lt >= rt), through unix_micros/unix_millis/unix_seconds with an
// integer offset (unix_millis(lt) >= unix_millis(rt) - 10000), or
// BETWEEN; an equality of the two columns or of their tumbling windows
// of one size. Any other term is evaluated on the candidate pairs.
// It fails when an input is nil, when a column name appears on both
// sides, when a column's type cannot be kept in the state store, or when
// cond does not bind or is not boolean.
func NewStreamJoin(left, right Node, typ JoinType, cond expr.Expr) (*StreamJoin, error) {
	if left == nil || right == nil {
		return nil, errors.New("plan: Join: an input is nil")
	}
	if _, err := ParseStreamJoinType(string(typ)); err != nil {
		return nil, err
	}
	if cond.IsZero() {
		return nil, errors.New("plan: Join: the condition is empty; give one such as Col(\"lkey\").Eq(Col(\"rkey\")), or Lit(true) to pair every row with every row")
	}
	ls, rs := left.Schema(), right.Schema()
	fields := make([]arrow.Field, 0, ls.NumFields()+rs.NumFields())
	seen := map[string]bool{}
	for _, f := range ls.Fields() {
		seen[f.Name] = true
	}
	for _, f := range rs.Fields() {
		if seen[f.Name] {
			return nil, fmt.Errorf("plan: Join: both inputs have a column named %q; rename it on one side first, for example with Select(Col(%q).As(\"right_%s\"), ...)", f.Name, f.Name, f.Name)
		}
	}
	for side, s := range []*arrow.Schema{ls, rs} {
		for _, f := range s.Fields() {
			if err := checkStoredType(f.Type); err != nil {
				return nil, fmt.Errorf("plan: Join: the %s column %q: %w", sideName(side), f.Name, err)
			}
		}
	}
	fields = append(append(fields, ls.Fields()...), rs.Fields()...)
	pair := arrow.NewSchema(fields, nil)
	b, err := cond.Bind(pair)
	if err != nil {
		return nil, fmt.Errorf("plan: Join: %w", err)
	}
	if !b.IsBoolean() {
		return nil, fmt.Errorf("plan: Join: the condition %s is %s, not boolean", cond, b.Field().Type)
	}
	j := &StreamJoin{Left: left, Right: right, Type: typ, Cond: cond, bound: b, pair: pair}
	j.wms = [2]map[string]time.Duration{watermarkColumns(left), watermarkColumns(right)}
	j.analyze()
	out := slices.Clone(fields)
	if typ == LeftSemiJoin {
		out = out[:ls.NumFields()]
	}
	for i := range out {
		side := 0
		if i >= ls.NumFields() {
			side = 1
		}
		if JoinOuter(typ, 1-side) {
			out[i].Nullable = true
		}
	}
	j.schema = arrow.NewSchema(out, nil)
	return j, nil
}

func sideName(side int) string {
	if side == 0 {
		return "left"
	}
	return "right"
}

// checkStoredType refuses column types the state encoding cannot keep.
func checkStoredType(t arrow.DataType) error {
	switch t.ID() {
	case arrow.NULL, arrow.BOOL, arrow.INT8, arrow.UINT8, arrow.INT16, arrow.UINT16, arrow.FLOAT16,
		arrow.INT32, arrow.UINT32, arrow.FLOAT32, arrow.DATE32, arrow.TIME32,
		arrow.INT64, arrow.UINT64, arrow.FLOAT64, arrow.DATE64, arrow.TIME64, arrow.TIMESTAMP, arrow.DURATION,
		arrow.STRING, arrow.LARGE_STRING, arrow.BINARY, arrow.LARGE_BINARY:
		return nil
	case arrow.STRUCT:
		for _, f := range t.(*arrow.StructType).Fields() {
			if err := checkStoredType(f.Type); err != nil {
				return err
			}
		}
		return nil
	case arrow.LIST, arrow.LARGE_LIST, arrow.FIXED_SIZE_LIST:
		return checkStoredType(t.(arrow.ListLikeType).Elem())
	}
	return fmt.Errorf("%s cannot be kept in join state; CAST it (to STRING, DOUBLE or its value type) or drop it before the join", t)
}

// Schema is the left columns followed by the right ones (the left ones
// only for a left semi join); the columns of a side whose rows an outer
// join pads with nulls are nullable.
func (j *StreamJoin) Schema() *arrow.Schema { return j.schema }

// Children are the left and right inputs.
func (j *StreamJoin) Children() []Node { return []Node{j.Left, j.Right} }

func (j *StreamJoin) String() string {
	return fmt.Sprintf("StreamingSymmetricHashJoin %s, %s", j.Type, j.Cond)
}

// PairSchema is the left columns followed by the right ones, as the
// condition is bound.
func (j *StreamJoin) PairSchema() *arrow.Schema { return j.pair }

// Bound is the condition bound to PairSchema.
func (j *StreamJoin) Bound() *expr.Bound { return j.bound }

// Residual reports whether some term of the condition is neither an
// equi-join key nor an exact event-time bound, so that candidate pairs
// must be checked with Bound.
func (j *StreamJoin) Residual() bool { return j.residual }

// Keys are the equi-join keys of the condition.
func (j *StreamJoin) Keys() []JoinKey { return slices.Clone(j.keys) }

// TimeRange is the event-time range of the condition between
// watermarked timestamps of both sides, if it has one.
func (j *StreamJoin) TimeRange() (JoinTimeRange, bool) {
	if j.rng == nil {
		return JoinTimeRange{}, false
	}
	return *j.rng, true
}

// Stateful is true: both sides are kept in the state store.
func (j *StreamJoin) Stateful() bool { return true }

// WithChildren rebinds the join over children[0] and children[1].
func (j *StreamJoin) WithChildren(children []Node) (Node, error) {
	if len(children) != 2 {
		return nil, fmt.Errorf("plan: %s takes two inputs, got %d", j, len(children))
	}
	return NewStreamJoin(children[0], children[1], j.Type, j.Cond)
}

// CheckStreaming applies Spark's rules for stream-stream joins: append
// output mode only; an inner join takes any condition (without a
// watermark on both sides and a range condition its state grows without
// bound); outer and semi joins need a watermark on both sides and an
// event-time range condition that bounds how long a row of the side
// whose unmatched rows are written must wait. No aggregation or other
// stream-stream join may be below a join.
func (j *StreamJoin) CheckStreaming(mode OutputMode) error {
	if mode != Append {
		return fmt.Errorf("plan: CheckStreaming: a stream-stream %s join supports only append output mode, not %s: joined rows are final when written; use append", joinDisplay(j.Type), mode)
	}
	for side, in := range j.Children() {
		var bad error
		_ = Walk(in, func(m Node) error {
			switch m.(type) {
			case *Aggregate:
				bad = fmt.Errorf("plan: CheckStreaming: an aggregation on the %s input of a stream-stream join is not supported (%s); join first and aggregate the join's output", sideName(side), m)
			case *StreamJoin:
				bad = fmt.Errorf("plan: CheckStreaming: a stream-stream join on the %s input of another is not supported; join two streams per query, or write the first join to a sink and read it as a new stream", sideName(side))
			}
			if bad != nil {
				return bad
			}
			return nil
		})
		if bad != nil {
			return bad
		}
	}
	if j.Type == InnerJoin {
		return nil
	}
	what := "a stream-stream " + joinDisplay(j.Type) + " join"
	for side := 0; side < 2; side++ {
		if len(j.tsWatermarks(side)) == 0 {
			return fmt.Errorf("plan: CheckStreaming: %s needs a watermark on the %s input: call WithWatermark on its event-time column, so that state can be dropped and unmatched rows written", what, sideName(side))
		}
	}
	if j.rng == nil {
		l, r := j.tsWatermarks(0), j.tsWatermarks(1)
		return fmt.Errorf("plan: CheckStreaming: %s needs an event-time range condition between the watermarked columns %s (left) and %s (right), such as %s BETWEEN %s - INTERVAL '10 seconds' AND %s + INTERVAL '10 seconds' (in Go: expr.Col(%q).Between(expr.Col(%q).Sub(expr.Interval(\"10 seconds\")), expr.Col(%q).Add(expr.Interval(\"10 seconds\")))), or their equality; without it an unmatched row could wait forever",
			what, strings.Join(l, ", "), strings.Join(r, ", "), l[0], r[0], r[0], l[0], r[0], r[0])
	}
	r := *j.rng
	lc, rc := j.Left.Schema().Field(r.LeftColumn).Name, j.Right.Schema().Field(r.RightColumn).Name
	for side := 0; side < 2; side++ {
		need := JoinOuter(j.Type, side) || (j.Type == LeftSemiJoin && side == 0)
		if need && !r.Evicts(side) {
			if side == 0 {
				return fmt.Errorf("plan: CheckStreaming: %s: the condition bounds %s only from above relative to %s, so a left row could wait forever for a match; add a lower bound such as %s >= %s - INTERVAL '10 seconds'", what, lc, rc, lc, rc)
			}
			return fmt.Errorf("plan: CheckStreaming: %s: the condition bounds %s only from below relative to %s, so a right row could wait forever for a match; add an upper bound such as %s <= %s + INTERVAL '10 seconds'", what, lc, rc, lc, rc)
		}
	}
	return nil
}

// tsWatermarks returns the watermarked timestamp columns of side, sorted.
func (j *StreamJoin) tsWatermarks(side int) []string {
	s := j.Children()[side].Schema()
	var out []string
	for name := range j.wms[side] {
		idx := s.FieldIndices(name)
		if len(idx) > 0 && s.Field(idx[0]).Type.ID() == arrow.TIMESTAMP {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

// ---- reading the condition ----

// The expr package keeps its trees private; the condition is read back
// from its display form, in which every binary operation is
// parenthesized ("(a = b)", "(x BETWEEN lo AND hi)") and a call is
// name(args). What is not recognized stays in the residual condition.

type dnode struct {
	op   string // binary operator, "BETWEEN", "call" or "" for an atom
	text string // atom text or call name
	args []*dnode
}

func parseDisplay(s string) *dnode {
	s = strings.TrimSpace(s)
	if len(s) >= 2 && s[0] == '(' && matching(s, 0) == len(s)-1 {
		in := s[1 : len(s)-1]
		if i := topLevel(in, " BETWEEN "); i >= 0 {
			rest := in[i+len(" BETWEEN "):]
			if k := topLevel(rest, " AND "); k >= 0 {
				return &dnode{op: "BETWEEN", args: []*dnode{parseDisplay(in[:i]), parseDisplay(rest[:k]), parseDisplay(rest[k+len(" AND "):])}}
			}
		}
		for _, op := range []string{" AND ", " OR ", " <= ", " >= ", " = ", " < ", " > ", " + ", " - ", " * ", " / "} {
			if i := topLevel(in, op); i >= 0 {
				return &dnode{op: strings.TrimSpace(op), args: []*dnode{parseDisplay(in[:i]), parseDisplay(in[i+len(op):])}}
			}
		}
		return &dnode{text: s}
	}
	if i := strings.IndexByte(s, '('); i > 0 && s[len(s)-1] == ')' && matching(s, i) == len(s)-1 && !strings.ContainsAny(s[:i], " ,") {
		n := &dnode{op: "call", text: s[:i]}
		in := s[i+1 : len(s)-1]
		for len(in) > 0 {
			k := topLevel(in, ", ")
			if k < 0 {
				n.args = append(n.args, parseDisplay(in))
				break
			}
			n.args = append(n.args, parseDisplay(in[:k]))
			in = in[k+2:]
		}
		return n
	}
	return &dnode{text: s}
}

// matching returns the index of the parenthesis closing the one at open,
// or -1.
func matching(s string, open int) int {
	depth, quote := 0, false
	for i := open; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\'':
			quote = !quote
		case quote:
		case c == '(':
			depth++
		case c == ')':
			depth--
			if depth == 0 {
				return i
			}
		}
	}
	return -1
}

// topLevel returns the first index of sep in s outside parentheses and
// quotes, or -1.
func topLevel(s, sep string) int {
	depth, quote := 0, false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\'':
			quote = !quote
		case quote:
		case c == '(':
			depth++
		case c == ')':
			depth--
		case depth == 0 && strings.HasPrefix(s[i:], sep):
			return i
		}
	}
	return -1
}

func conjuncts(n *dnode, out []*dnode) []*dnode {
	if n.op == "AND" {
		return conjuncts(n.args[1], conjuncts(n.args[0], out))
	}
	return append(out, n)
}

// timeExpr is a side's event time as a term uses it: column col of side,
// in units of scale µs (1 for the timestamp itself), plus off units.
type timeExpr struct {
	side, col  int
	scale, off int64
	num        bool // a number of units (unix_*), not the timestamp
}

// column finds a column name in the pair schema: its side and position.
func (j *StreamJoin) column(name string) (side, col int, ok bool) {
	idx := j.pair.FieldIndices(name)
	if len(idx) != 1 {
		return 0, 0, false
	}
	nl := j.Left.Schema().NumFields()
	if idx[0] < nl {
		return 0, idx[0], true
	}
	return 1, idx[0] - nl, true
}

func (j *StreamJoin) field(side, col int) arrow.Field { return j.Children()[side].Schema().Field(col) }

func (j *StreamJoin) timeOf(n *dnode) (timeExpr, bool) {
	switch n.op {
	case "":
		side, col, ok := j.column(n.text)
		if ok && j.field(side, col).Type.ID() == arrow.TIMESTAMP {
			return timeExpr{side: side, col: col, scale: 1}, true
		}
	case "call":
		var scale int64
		switch strings.ToLower(n.text) {
		case "unix_micros":
			scale = 1
		case "unix_millis":
			scale = 1000
		case "unix_seconds":
			scale = 1_000_000
		default:
			return timeExpr{}, false
		}
		if len(n.args) != 1 {
			return timeExpr{}, false
		}
		t, ok := j.timeOf(n.args[0])
		if !ok || t.num {
			return timeExpr{}, false
		}
		if ts := j.field(t.side, t.col).Type.(*arrow.TimestampType); ts.TimeZone == "" {
			return timeExpr{}, false // a local time: its epoch value depends on the session zone
		}
		t.scale, t.num = scale, true
		return t, true
	case "+", "-":
		// A timestamp shifted by an interval: ts - INTERVAL '10 seconds'.
		if t, ok := j.timeOf(n.args[0]); ok && !t.num {
			if us, ok := intervalMicros(n.args[1]); ok {
				if n.op == "-" {
					us = -us
				}
				t.off += us
				return t, true
			}
		}
		if n.op == "+" {
			if t, ok := j.timeOf(n.args[1]); ok && !t.num {
				if us, ok := intervalMicros(n.args[0]); ok {
					t.off += us
					return t, true
				}
			}
		}
		if t, ok := j.timeOf(n.args[0]); ok && t.num {
			if v, err := strconv.ParseInt(n.args[1].text, 10, 64); err == nil && n.args[1].op == "" {
				if n.op == "-" {
					v = -v
				}
				t.off += v
				return t, true
			}
		}
		if n.op == "+" {
			if t, ok := j.timeOf(n.args[1]); ok && t.num {
				if v, err := strconv.ParseInt(n.args[0].text, 10, 64); err == nil && n.args[0].op == "" {
					t.off += v
					return t, true
				}
			}
		}
	}
	return timeExpr{}, false
}

// intervalMicros reads an interval constant as expr displays it,
// INTERVAL '10 seconds', in microseconds.
func intervalMicros(n *dnode) (int64, bool) {
	const pre = "INTERVAL '"
	if n.op != "" || !strings.HasPrefix(n.text, pre) || !strings.HasSuffix(n.text, "'") {
		return 0, false
	}
	d, err := expr.ParseInterval(n.text[len(pre) : len(n.text)-1])
	if err != nil {
		return 0, false
	}
	return d.Microseconds(), true
}

// pairBound is what a term says about one pair of time columns.
type pairBound struct {
	lc, rc int
	lo, hi int64
	exact  bool
}

// compareBound reads "a op b" as a bound on left time minus right time.
func (j *StreamJoin) compareBound(op string, a, b *dnode) (pairBound, bool) {
	ta, ok1 := j.timeOf(a)
	tb, ok2 := j.timeOf(b)
	if !ok1 || !ok2 || ta.side == tb.side || ta.scale != tb.scale || ta.num != tb.num {
		return pairBound{}, false
	}
	if ta.side == 1 {
		ta, tb = tb, ta
		op = map[string]string{"<": ">", "<=": ">=", ">": "<", ">=": "<=", "=": "="}[op]
	}
	// l*s + a op r*s + b, in units of s: l - r op b - a.
	c := tb.off - ta.off
	lo, hi := int64(math.MinInt64), int64(math.MaxInt64)
	switch op {
	case ">=":
		lo = c
	case ">":
		lo = c + 1
	case "<=":
		hi = c
	case "<":
		hi = c - 1
	case "=":
		lo, hi = c, c
	default:
		return pairBound{}, false
	}
	s := ta.scale
	exact := s == 1 && microsExact(j.field(0, ta.col).Type) && microsExact(j.field(1, tb.col).Type)
	pb := pairBound{lc: ta.col, rc: tb.col, lo: lo, hi: hi, exact: exact}
	// Units of s truncate each time: widen by one unit less a µs. A
	// nanosecond timestamp truncates to µs: widen by one µs.
	widen := int64(0)
	if s > 1 {
		widen = s - 1
	} else if !exact {
		widen = 1
	}
	if lo != math.MinInt64 {
		pb.lo = satAdd(satMul(lo, s), -widen)
	}
	if hi != math.MaxInt64 {
		pb.hi = satAdd(satMul(hi, s), widen)
	}
	return pb, true
}

func microsExact(t arrow.DataType) bool {
	ts, ok := t.(*arrow.TimestampType)
	return ok && ts.Unit != arrow.Nanosecond
}

func satAdd(a, b int64) int64 {
	s := a + b
	if b > 0 && s < a {
		return math.MaxInt64
	}
	if b < 0 && s > a {
		return math.MinInt64
	}
	return s
}

func satMul(a, s int64) int64 {
	if s == 1 {
		return a
	}
	if a > math.MaxInt64/s {
		return math.MaxInt64
	}
	if a < math.MinInt64/s {
		return math.MinInt64
	}
	return a * s
}

// windowBound reads window(lt, size) = window(rt, size) (tumbling windows
// of one size): the times are less than size apart.
func (j *StreamJoin) windowBound(a, b *dnode) (pairBound, bool) {
	if a.op != "call" || b.op != "call" || a.text != "window" || b.text != "window" || len(a.args) != 2 || len(b.args) != 2 ||
		a.args[1].text != b.args[1].text || a.args[1].op != "" {
		return pairBound{}, false
	}
	ta, ok1 := j.timeOf(a.args[0])
	tb, ok2 := j.timeOf(b.args[0])
	if !ok1 || !ok2 || ta.num || tb.num || ta.side == tb.side {
		return pairBound{}, false
	}
	size, err := expr.ParseInterval(strings.Trim(a.args[1].text, "'"))
	if err != nil || size <= 0 {
		return pairBound{}, false
	}
	if ta.side == 1 {
		ta, tb = tb, ta
	}
	us := size.Microseconds()
	return pairBound{lc: ta.col, rc: tb.col, lo: -us, hi: us}, true
}

// analyze reads the keys and the time range from the condition.
func (j *StreamJoin) analyze() {
	terms := conjuncts(parseDisplay(j.Cond.String()), nil)
	type acc struct {
		pairBound
		exactTerms []int
	}
	var pairs []*acc
	find := func(lc, rc int) *acc {
		for _, p := range pairs {
			if p.lc == lc && p.rc == rc {
				return p
			}
		}
		p := &acc{pairBound: pairBound{lc: lc, rc: rc, lo: math.MinInt64, hi: math.MaxInt64}}
		pairs = append(pairs, p)
		return p
	}
	native := make([]bool, len(terms))
	for i, t := range terms {
		j.terms = append(j.terms, t.String())
		var bounds []pairBound
		switch t.op {
		case "=":
			if t.args[0].op == "" && t.args[1].op == "" {
				s0, c0, ok0 := j.column(t.args[0].text)
				s1, c1, ok1 := j.column(t.args[1].text)
				if ok0 && ok1 && s0 != s1 {
					if s0 == 1 {
						c0, c1 = c1, c0
					}
					if arrow.TypeEqual(j.field(0, c0).Type, j.field(1, c1).Type) {
						j.keys = append(j.keys, JoinKey{Left: c0, Right: c1})
						native[i] = true
					}
				}
			}
			if pb, ok := j.compareBound("=", t.args[0], t.args[1]); ok {
				bounds = append(bounds, pb)
			} else if pb, ok := j.windowBound(t.args[0], t.args[1]); ok {
				bounds = append(bounds, pb)
			}
		case "<", "<=", ">", ">=":
			if pb, ok := j.compareBound(t.op, t.args[0], t.args[1]); ok {
				bounds = append(bounds, pb)
			}
		case "BETWEEN":
			pa, oka := j.compareBound(">=", t.args[0], t.args[1])
			pb, okb := j.compareBound("<=", t.args[0], t.args[2])
			if oka && okb {
				bounds = append(bounds, pa, pb)
			}
		}
		allExact := len(bounds) > 0
		for _, b := range bounds {
			p := find(b.lc, b.rc)
			p.lo, p.hi = max(p.lo, b.lo), min(p.hi, b.hi)
			allExact = allExact && b.exact
		}
		if allExact && len(bounds) > 0 && bounds[0].lc == bounds[len(bounds)-1].lc && bounds[0].rc == bounds[len(bounds)-1].rc {
			p := find(bounds[0].lc, bounds[0].rc)
			p.exactTerms = append(p.exactTerms, i)
		}
	}
	// The range is the pair of watermarked columns bounded most.
	var best *acc
	score := func(p *acc) int {
		n := 0
		if p.lo != math.MinInt64 {
			n++
		}
		if p.hi != math.MaxInt64 {
			n++
		}
		return n
	}
	for _, p := range pairs {
		ld, lok := j.wms[0][j.field(0, p.lc).Name]
		rd, rok := j.wms[1][j.field(1, p.rc).Name]
		if !lok || !rok || score(p) == 0 {
			continue
		}
		if best == nil || score(p) > score(best) {
			best = p
			j.rng = &JoinTimeRange{LeftColumn: p.lc, RightColumn: p.rc, Lo: p.lo, Hi: p.hi, LeftDelay: ld, RightDelay: rd}
		}
	}
	if best != nil {
		for _, i := range best.exactTerms {
			native[i] = true
		}
	}
	for _, ok := range native {
		if !ok {
			j.residual = true
		}
	}
}

func (n *dnode) String() string {
	switch n.op {
	case "":
		return n.text
	case "call":
		parts := make([]string, len(n.args))
		for i, a := range n.args {
			parts[i] = a.String()
		}
		return n.text + "(" + strings.Join(parts, ", ") + ")"
	case "BETWEEN":
		return "(" + n.args[0].String() + " BETWEEN " + n.args[1].String() + " AND " + n.args[2].String() + ")"
	}
	return "(" + n.args[0].String() + " " + n.op + " " + n.args[1].String() + ")"
}
