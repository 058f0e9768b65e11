package plan

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sluicehq/sluice/expr"
)

// StaticTable is the static side of a StaticJoin as the plan sees it: a
// schema and a description. The physical operator needs a table.Source
// (package table), which has both.
type StaticTable interface {
	Schema() *arrow.Schema
	String() string
}

// JoinType is the kind of a join.
type JoinType string

const (
	// InnerJoin emits a row per matching pair.
	InnerJoin JoinType = "inner"
	// LeftOuterJoin emits a row per matching pair, and each left row
	// without a match once, with nulls for the right side's columns.
	LeftOuterJoin JoinType = "left_outer"
	// LeftSemiJoin emits each left row that has a match, once, with only
	// the left side's columns.
	LeftSemiJoin JoinType = "left_semi"
	// LeftAntiJoin emits each left row that has no match (a null key
	// matches nothing), with only the left side's columns.
	LeftAntiJoin JoinType = "left_anti"
)

// ParseJoinType reads a join type by its Spark names, ignoring case,
// spaces and underscores: "inner"; "left", "leftouter", "left_outer";
// "semi", "leftsemi", "left_semi"; "anti", "leftanti", "left_anti".
func ParseJoinType(s string) (JoinType, error) {
	k := strings.NewReplacer("_", "", " ", "", "-", "").Replace(strings.ToLower(s))
	switch k {
	case "inner", "":
		return InnerJoin, nil
	case "left", "leftouter":
		return LeftOuterJoin, nil
	case "semi", "leftsemi":
		return LeftSemiJoin, nil
	case "anti", "leftanti":
		return LeftAntiJoin, nil
	case "right", "rightouter", "full", "fullouter", "outer", "cross":
		return "", fmt.Errorf("plan: join type %q is not supported with a static table: a stream can be joined with a static table inner, left_outer, left_semi or left_anti (a right or full outer join would need the whole stream)", s)
	}
	return "", fmt.Errorf("plan: unknown join type %q: use inner, left_outer, left_semi or left_anti", s)
}

// StaticJoin joins each row of its input, a stream, with the rows of a
// static table whose key columns RightKeys equal the stream's LeftKeys
// (expressions over the input), and for which the optional condition
// Extra over the joined row holds. Null keys match nothing, as in SQL.
// The output has the input's columns, then (inner and left outer) the
// table's, named with Prefix in front, without the key columns when Using
// is set (a join on same-named columns), and nullable for a left outer
// join. Build it with NewStaticJoin.
type StaticJoin struct {
	Input     Node
	Table     StaticTable
	Type      JoinType
	LeftKeys  []expr.Expr
	RightKeys []string
	// Extra, when not zero, is a boolean condition over the joined row:
	// the input's columns followed by the table's output columns.
	Extra expr.Expr
	// Prefix is put in front of the names of the table's output columns.
	Prefix string
	// Using leaves the table's key columns out of the output.
	Using bool
	// ReloadEvery, when positive, reloads the table at the start of every
	// batch whose id is that many batches after the last load.
	ReloadEvery int
	// ReloadOnChange reloads the table at the start of a batch when its
	// Source says that it changed.
	ReloadOnChange bool

	leftKeys  []*expr.Bound
	rightIdx  []int
	tableCols []int
	extra     *expr.Bound
	joined    *arrow.Schema
	schema    *arrow.Schema
}

// NewStaticJoin checks and binds the join of input with the static table
// t (see StaticJoin for the fields, of which Input and Table come from
// the arguments). It fails when the key lists are empty or of different
// lengths, a key does not bind or names no table column, key types cannot
// be compared, an output column name is taken twice, or Extra does not
// bind to the joined row or is not boolean; each error says what to
// change.
func NewStaticJoin(input Node, t StaticTable, j StaticJoin) (*StaticJoin, error) {
	if input == nil {
		return nil, errors.New("plan: JoinStatic: input is nil")
	}
	if t == nil || t.Schema() == nil {
		return nil, errors.New("plan: JoinStatic: the static table is nil or has no schema")
	}
	switch j.Type {
	case InnerJoin, LeftOuterJoin, LeftSemiJoin, LeftAntiJoin:
	case "":
		j.Type = InnerJoin
	default:
		jt, err := ParseJoinType(string(j.Type))
		if err != nil {
			return nil, err
		}
		j.Type = jt
	}
	if len(j.LeftKeys) == 0 || len(j.LeftKeys) != len(j.RightKeys) {
		return nil, fmt.Errorf("plan: JoinStatic: %d stream keys and %d table keys; give at least one key and as many on each side", len(j.LeftKeys), len(j.RightKeys))
	}
	if j.ReloadEvery < 0 {
		return nil, fmt.Errorf("plan: JoinStatic: ReloadEvery(%d) must not be negative", j.ReloadEvery)
	}
	n := &StaticJoin{
		Input: input, Table: t, Type: j.Type, LeftKeys: append([]expr.Expr(nil), j.LeftKeys...), RightKeys: append([]string(nil), j.RightKeys...),
		Extra: j.Extra, Prefix: j.Prefix, Using: j.Using, ReloadEvery: j.ReloadEvery, ReloadOnChange: j.ReloadOnChange,
	}
	in, ts := input.Schema(), t.Schema()
	isKey := map[int]bool{}
	for i, k := range j.LeftKeys {
		b, err := k.Bind(in)
		if err != nil {
			return nil, fmt.Errorf("plan: JoinStatic: stream key %d: %w", i+1, err)
		}
		idx := ts.FieldIndices(j.RightKeys[i])
		if len(idx) == 0 {
			return nil, fmt.Errorf("plan: JoinStatic: the table has no column %q for key %d; its columns are %s", j.RightKeys[i], i+1, fieldNames(ts))
		}
		rt := ts.Field(idx[0]).Type
		if err := checkKeyType(rt); err != nil {
			return nil, fmt.Errorf("plan: JoinStatic: table key %q: %w", j.RightKeys[i], err)
		}
		if err := checkKeyType(b.Field().Type); err != nil {
			return nil, fmt.Errorf("plan: JoinStatic: stream key %s: %w", k, err)
		}
		if lt := b.Field().Type; !sameKeyEncoding(lt, rt) {
			if !(isSignedInt(lt) && isSignedInt(rt)) && !(isUnsignedInt(lt) && isUnsignedInt(rt)) {
				return nil, fmt.Errorf("plan: JoinStatic: key %d: the stream's %s is %s but the table's %q is %s; CAST the stream key to %s (or convert the table's column)",
					i+1, k, lt, j.RightKeys[i], rt, rt)
			}
			// A value out of the narrower range equals no key: TryCast
			// makes it null, which matches nothing.
			if b, err = k.TryCast(rt).Bind(in); err != nil {
				return nil, fmt.Errorf("plan: JoinStatic: stream key %d: %w", i+1, err)
			}
		}
		n.leftKeys = append(n.leftKeys, b)
		n.rightIdx = append(n.rightIdx, idx[0])
		isKey[idx[0]] = true
	}
	fields := append([]arrow.Field(nil), in.Fields()...)
	seen := map[string]bool{}
	for _, f := range fields {
		seen[f.Name] = true
	}
	for c, f := range ts.Fields() {
		if j.Using && isKey[c] {
			continue
		}
		f.Name = j.Prefix + f.Name
		f.Metadata = arrow.Metadata{}
		if j.Type == LeftOuterJoin {
			f.Nullable = true
		}
		if seen[f.Name] {
			return nil, fmt.Errorf("plan: JoinStatic: the stream and the table both have a column %q; rename one (WithColumnRenamed) or give the table's columns a prefix (JoinPrefix)", f.Name)
		}
		seen[f.Name] = true
		fields = append(fields, f)
		n.tableCols = append(n.tableCols, c)
	}
	n.joined = arrow.NewSchema(fields, nil)
	n.schema = n.joined
	if j.Type == LeftSemiJoin || j.Type == LeftAntiJoin {
		n.schema = in
	}
	if !j.Extra.IsZero() {
		b, err := j.Extra.Bind(n.joined)
		if err != nil {
			return nil, fmt.Errorf("plan: JoinStatic: condition: %w", err)
		}
		if !b.IsBoolean() {
			return nil, fmt.Errorf("plan: JoinStatic: the condition %s is %s, not boolean; compare something, for example %s", j.Extra, b.Field().Type, j.Extra.Gt(expr.Lit(0)))
		}
		n.extra = b
	}
	return n, nil
}

// sameKeyEncoding reports whether keys of types a and b encode alike, so
// that equal values have equal encodings.
func sameKeyEncoding(a, b arrow.DataType) bool {
	if arrow.TypeEqual(a, b) {
		return true
	}
	return isText(a) && isText(b) || isBinary(a) && isBinary(b)
}

func isBinary(t arrow.DataType) bool { return t.ID() == arrow.BINARY || t.ID() == arrow.LARGE_BINARY }

func isUnsignedInt(t arrow.DataType) bool {
	switch t.ID() {
	case arrow.UINT8, arrow.UINT16, arrow.UINT32, arrow.UINT64:
		return true
	}
	return false
}

// Schema is the input's columns, then for inner and left outer joins the
// table's output columns.
func (j *StaticJoin) Schema() *arrow.Schema { return j.schema }

// JoinedSchema is the input's columns followed by the table's output
// columns, whatever the join type: the row Extra is evaluated over.
func (j *StaticJoin) JoinedSchema() *arrow.Schema { return j.joined }

// Children is the input; the table is not a plan node.
func (j *StaticJoin) Children() []Node { return []Node{j.Input} }

// BoundLeftKeys are the stream's keys bound to the input, each cast to
// its table key's type where the two differ.
func (j *StaticJoin) BoundLeftKeys() []*expr.Bound { return append([]*expr.Bound(nil), j.leftKeys...) }

// RightKeyIndices are the positions of the key columns in the table.
func (j *StaticJoin) RightKeyIndices() []int { return append([]int(nil), j.rightIdx...) }

// TableColumns are the positions in the table of the columns in the
// output (after the input's), in order.
func (j *StaticJoin) TableColumns() []int { return append([]int(nil), j.tableCols...) }

// BoundExtra is Extra bound to JoinedSchema, or nil.
func (j *StaticJoin) BoundExtra() *expr.Bound { return j.extra }

func (j *StaticJoin) String() string {
	l := make([]string, len(j.LeftKeys))
	for i, k := range j.LeftKeys {
		l[i] = k.String()
	}
	s := "StaticJoin " + string(j.Type) + ", [" + strings.Join(l, ", ") + "] = [" + strings.Join(j.RightKeys, ", ") + "]"
	if !j.Extra.IsZero() {
		s += ", " + j.Extra.String()
	}
	s += ", " + j.Table.String()
	if j.ReloadEvery > 0 {
		s += ", reload every " + strconv.Itoa(j.ReloadEvery) + " batches"
	}
	if j.ReloadOnChange {
		s += ", reload on change"
	}
	return s
}

// CheckStreaming accepts every output mode: the join keeps no state, so
// it changes nothing of what the mode needs (complete still needs an
// aggregation, which CheckStreaming checks for the whole plan).
func (j *StaticJoin) CheckStreaming(mode OutputMode) error { return mode.validate() }

// Stateful is false: the table is reloaded, not kept in the state store.
func (j *StaticJoin) Stateful() bool { return false }

// WithChildren rebinds the join over children[0].
func (j *StaticJoin) WithChildren(children []Node) (Node, error) {
	if err := oneChild(j, children); err != nil {
		return nil, err
	}
	return NewStaticJoin(children[0], j.Table, *j)
}
