package expr

import (
	"bytes"
	"fmt"
	"math"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/arrow/scalar"
)

// Predicates: IN, BETWEEN, LIKE, ILIKE and RLIKE.

// In is e IN (values...), with SQL's null semantics: null where e is
// null, true where e equals a value, else null if a value is null, else
// false. e and the values are compared in their common type; constant
// values are looked up in a set built once at Bind. An empty list is false.
func (e Expr) In(values ...Expr) Expr {
	ns := make([]node, len(values))
	for i, v := range values {
		ns[i] = v.n
	}
	return Expr{&inNode{x: e.n, list: ns}}
}

// Between is lo <= e AND e <= hi (Kleene logic), with e evaluated once.
func (e Expr) Between(lo, hi Expr) Expr { return Expr{&betweenNode{x: e.n, lo: lo.n, hi: hi.n}} }

// Like is SQL's e LIKE pattern: % matches any sequence of characters, _
// exactly one, and a backslash makes the next %, _ or backslash literal.
// The whole string must match; case matters. Use Call("like", e, p) for a
// pattern that is not a constant, or Call("like", e, p, Lit("!")) for
// another escape character.
func (e Expr) Like(pattern string) Expr { return Call("like", e, Lit(pattern)) }

// ILike is Like ignoring case.
func (e Expr) ILike(pattern string) Expr { return Call("ilike", e, Lit(pattern)) }

// RLike is true where the regular expression matches somewhere in e, as
// Spark's RLIKE (Java's Matcher.find). The syntax is Go's (RE2): no
// backreferences or lookaround. Call("rlike", e, p) takes a pattern that
// is not a constant.
func (e Expr) RLike(regex string) Expr { return Call("rlike", e, Lit(regex)) }

// inNode is x IN (list...).
type inNode struct {
	x    node
	list []node
}

func (n *inNode) String() string {
	parts := make([]string, len(n.list))
	for i, v := range n.list {
		parts[i] = nodeString(v)
	}
	return "(" + nodeString(n.x) + " IN (" + strings.Join(parts, ", ") + "))"
}

func (n *inNode) bind(b *binder) (bnode, error) {
	src := n.String()
	if len(n.list) == 0 {
		return &bLit{sc: scalar.NewBooleanScalar(false)}, nil
	}
	args := make([]bnode, 0, len(n.list)+1)
	for _, m := range append([]node{n.x}, n.list...) {
		a, err := bindNode(b, m)
		if err != nil {
			return nil, err
		}
		args = append(args, a)
	}
	args, typ, err := b.unify(src, "the value and the list of IN", args)
	if err != nil {
		return nil, err
	}
	x := args[0]
	if isNull(typ) || isNullConst(x) {
		return &bLit{sc: scalar.MakeNullScalar(arrow.FixedWidthTypes.Boolean)}, nil
	}
	in := &bIn{src: src, x: x, typ: typ}
	var consts []scalar.Scalar
	for _, a := range args[1:] {
		c, ok := a.(*bLit)
		switch {
		case ok && !c.sc.IsValid():
			in.nullConst = true
		case ok && setKind(typ) != setNone:
			consts = append(consts, c.sc)
		default:
			eq, err := b.bindCompare(opEq, src, x, a, x.String(), a.String())
			if err != nil {
				return nil, err
			}
			in.eqs = append(in.eqs, eq)
		}
	}
	if len(consts) > 0 {
		if in.set, err = newValueSet(typ, consts); err != nil {
			return nil, fmt.Errorf("expr: %s: %w", b.in(src), err)
		}
	}
	return b.fold(in, src)
}

// bIn is x IN (...): constants in set, other values compared by eqs.
type bIn struct {
	src       string
	x         bnode
	typ       arrow.DataType
	set       *valueSet
	eqs       []bnode // x = value, for values that are not constants
	nullConst bool    // a NULL in the list
}

func (c *bIn) dataType() arrow.DataType { return arrow.FixedWidthTypes.Boolean }
func (c *bIn) nullable() bool           { return c.x.nullable() || c.nullConst || anyNullable(c.eqs) }
func (c *bIn) children() []bnode        { return append([]bnode{c.x}, c.eqs...) }
func (c *bIn) String() string           { return c.src }

func (c *bIn) eval(ev *evalCtx) (val, error) {
	x, err := c.x.eval(ev)
	if err != nil {
		return val{}, err
	}
	defer x.release()
	arr, rel, err := asArray(ev, x)
	if err != nil {
		return val{}, fmt.Errorf("expr: evaluating %s: %w", c.src, err)
	}
	defer rel()
	n := arr.Len()
	nb := int(bitutil.BytesForBits(int64(n)))
	vals := memory.NewResizableBuffer(ev.mem)
	vals.Resize(nb)
	defer vals.Release()
	found := vals.Bytes()
	clear(found)
	if c.set != nil {
		c.set.lookup(arr, found)
	}
	// valid: x is valid, and the row is found or no comparison is null.
	valid := memory.NewResizableBuffer(ev.mem)
	valid.Resize(nb)
	defer valid.Release()
	ok := valid.Bytes()
	if arr.NullN() > 0 {
		bitutil.CopyBitmap(arr.NullBitmapBytes(), arr.Data().Offset(), n, ok, 0)
	} else {
		bitutil.SetBitsTo(ok, 0, int64(n), true)
	}
	anyNull := make([]byte, nb) // a comparison was null
	for _, e := range c.eqs {
		v, err := e.eval(ev)
		if err != nil {
			return val{}, err
		}
		r := readBools(v)
		for i := 0; i < n; i++ {
			b, bv := r.get(i)
			switch {
			case !bv:
				bitutil.SetBit(anyNull, i)
			case b:
				bitutil.SetBit(found, i)
			}
		}
		v.release()
	}
	for i := range ok {
		// Null unless found where a value was null.
		nullish := anyNull[i]
		if c.nullConst {
			nullish = 0xff
		}
		ok[i] &= found[i] | ^nullish
	}
	// Bits past n are garbage in the last byte; count only the rows.
	nulls := n - bitutil.CountSetBits(ok, 0, n)
	for i := range found {
		found[i] &= ok[i]
	}
	validity := valid
	if nulls == 0 {
		validity = nil
	}
	data := array.NewData(arrow.FixedWidthTypes.Boolean, n, []*memory.Buffer{validity, vals}, nil, nulls, 0)
	defer data.Release()
	return val{arr: array.MakeFromData(data)}, nil
}

type setKindT int

const (
	setNone setKindT = iota
	setInt
	setUint
	setFloat
	setBytes
	setDecimal
	setBool
)

func setKind(t arrow.DataType) setKindT {
	switch t.ID() {
	case arrow.INT8, arrow.INT16, arrow.INT32, arrow.INT64, arrow.DATE32, arrow.TIMESTAMP:
		return setInt
	case arrow.UINT8, arrow.UINT16, arrow.UINT32, arrow.UINT64:
		return setUint
	case arrow.FLOAT32, arrow.FLOAT64:
		return setFloat
	case arrow.STRING, arrow.BINARY, arrow.LARGE_STRING, arrow.LARGE_BINARY:
		return setBytes
	case arrow.DECIMAL128:
		return setDecimal
	case arrow.BOOL:
		return setBool
	}
	return setNone
}

// valueSet is a set of constants of one type: a few are compared in turn,
// many are looked up in a map.
type valueSet struct {
	kind   setKindT
	ints   map[int64]struct{}
	uints  map[uint64]struct{}
	floats map[uint64]struct{} // normalised bits: one NaN, 0.0 for -0.0
	strs   map[string]struct{}
	decs   map[decimal128.Num]struct{}
	bools  [2]bool
	list   []int64 // the ints when few
}

func newValueSet(typ arrow.DataType, consts []scalar.Scalar) (*valueSet, error) {
	b := scalar.MakeArrayFromScalar
	s := &valueSet{kind: setKind(typ)}
	switch s.kind {
	case setInt:
		s.ints = map[int64]struct{}{}
	case setUint:
		s.uints = map[uint64]struct{}{}
	case setFloat:
		s.floats = map[uint64]struct{}{}
	case setBytes:
		s.strs = map[string]struct{}{}
	case setDecimal:
		s.decs = map[decimal128.Num]struct{}{}
	}
	for _, sc := range consts {
		arr, err := b(sc, 1, memory.DefaultAllocator)
		if err != nil {
			return nil, err
		}
		switch s.kind {
		case setInt:
			s.ints[intsOf(arr)[0]] = struct{}{}
		case setUint:
			s.uints[uintsOf(arr)[0]] = struct{}{}
		case setFloat:
			s.floats[floatKey(floatsOf(arr)[0])] = struct{}{}
		case setBytes:
			s.strs[string(bytesAt(arr, 0))] = struct{}{}
		case setDecimal:
			s.decs[fixedValues[decimal128.Num](arr)[0]] = struct{}{}
		case setBool:
			s.bools[boolValues(arr)[0]] = true
		}
		arr.Release()
	}
	if len(s.ints) <= 8 {
		for v := range s.ints {
			s.list = append(s.list, v)
		}
	}
	return s, nil
}

func floatKey(f float64) uint64 {
	switch {
	case f != f:
		return math.Float64bits(math.NaN())
	case f == 0:
		return 0
	}
	return math.Float64bits(f)
}

// intsOf reads any signed integer, date or timestamp array as int64s.
func intsOf(a arrow.Array) []int64 {
	out := make([]int64, a.Len())
	switch a.DataType().ID() {
	case arrow.INT8:
		widen(fixedValues[int8](a), out)
	case arrow.INT16:
		widen(fixedValues[int16](a), out)
	case arrow.INT32, arrow.DATE32:
		widen(fixedValues[int32](a), out)
	default:
		copy(out, fixedValues[int64](a))
	}
	return out
}

func uintsOf(a arrow.Array) []uint64 {
	out := make([]uint64, a.Len())
	switch a.DataType().ID() {
	case arrow.UINT8:
		widen(fixedValues[uint8](a), out)
	case arrow.UINT16:
		widen(fixedValues[uint16](a), out)
	case arrow.UINT32:
		widen(fixedValues[uint32](a), out)
	default:
		copy(out, fixedValues[uint64](a))
	}
	return out
}

func floatsOf(a arrow.Array) []float64 {
	out := make([]float64, a.Len())
	if a.DataType().ID() == arrow.FLOAT32 {
		widen(fixedValues[float32](a), out)
	} else {
		copy(out, fixedValues[float64](a))
	}
	return out
}

func widen[F, T number](in []F, out []T) {
	for i, v := range in {
		out[i] = T(v)
	}
}

// bytesAt is value i of a string or binary array of any offset width.
func bytesAt(a arrow.Array, i int) []byte {
	switch a := a.(type) {
	case *array.String:
		return []byte(a.Value(i))
	case *array.LargeString:
		return []byte(a.Value(i))
	case *array.Binary:
		return a.Value(i)
	case *array.LargeBinary:
		return a.Value(i)
	}
	return nil
}

// lookup sets the bit of each row of a whose value is in the set (null
// rows included; the caller masks them).
func (s *valueSet) lookup(a arrow.Array, out []byte) {
	n := a.Len()
	switch s.kind {
	case setInt:
		vals := intsOf(a)
		if s.list != nil {
			for i, v := range vals {
				for _, w := range s.list {
					if v == w {
						bitutil.SetBit(out, i)
						break
					}
				}
			}
			return
		}
		for i, v := range vals {
			if _, ok := s.ints[v]; ok {
				bitutil.SetBit(out, i)
			}
		}
	case setUint:
		for i, v := range uintsOf(a) {
			if _, ok := s.uints[v]; ok {
				bitutil.SetBit(out, i)
			}
		}
	case setFloat:
		for i, v := range floatsOf(a) {
			if _, ok := s.floats[floatKey(v)]; ok {
				bitutil.SetBit(out, i)
			}
		}
	case setBytes:
		if id := a.DataType().ID(); id == arrow.STRING || id == arrow.BINARY {
			col := strColOf(a)
			for i := 0; i < n; i++ {
				if _, ok := s.strs[string(col.at(i))]; ok {
					bitutil.SetBit(out, i)
				}
			}
			return
		}
		for i := 0; i < n; i++ {
			if _, ok := s.strs[string(bytesAt(a, i))]; ok {
				bitutil.SetBit(out, i)
			}
		}
	case setDecimal:
		for i, v := range fixedValues[decimal128.Num](a) {
			if _, ok := s.decs[v]; ok {
				bitutil.SetBit(out, i)
			}
		}
	case setBool:
		for i, v := range boolValues(a) {
			if s.bools[v] {
				bitutil.SetBit(out, i)
			}
		}
	}
}

// betweenNode is x BETWEEN lo AND hi.
type betweenNode struct{ x, lo, hi node }

func (n *betweenNode) String() string {
	return "(" + nodeString(n.x) + " BETWEEN " + nodeString(n.lo) + " AND " + nodeString(n.hi) + ")"
}

func (n *betweenNode) bind(b *binder) (bnode, error) {
	src := n.String()
	args := make([]bnode, 3)
	for i, m := range []node{n.x, n.lo, n.hi} {
		a, err := bindNode(b, m)
		if err != nil {
			return nil, err
		}
		args[i] = a
	}
	args, typ, err := b.unify(src, "the operands of BETWEEN", args)
	if err != nil {
		return nil, err
	}
	if isNull(typ) {
		return &bLit{sc: scalar.MakeNullScalar(arrow.FixedWidthTypes.Boolean)}, nil
	}
	// Type-check both comparisons as the binder does.
	ge, err := b.bindCompare(opGe, src, args[0], args[1], nodeString(n.x), nodeString(n.lo))
	if err != nil {
		return nil, err
	}
	if _, ok := ge.(*bOrderCompare); ok {
		// Types the kernels cannot order: two comparisons.
		le, err := b.bindCompare(opLe, src, args[0], args[2], nodeString(n.x), nodeString(n.hi))
		if err != nil {
			return nil, err
		}
		return b.bindLogic(opAnd, src, ge, le, nodeString(n.x)+" >= "+nodeString(n.lo), nodeString(n.x)+" <= "+nodeString(n.hi))
	}
	return b.fold(&bBetween{src: src, x: args[0], lo: args[1], hi: args[2]}, src)
}

// bBetween is lo <= x AND x <= hi with x evaluated once.
type bBetween struct {
	src       string
	x, lo, hi bnode
}

func (c *bBetween) dataType() arrow.DataType { return arrow.FixedWidthTypes.Boolean }
func (c *bBetween) nullable() bool           { return anyNullable(c.children()) }
func (c *bBetween) children() []bnode        { return []bnode{c.x, c.lo, c.hi} }
func (c *bBetween) String() string           { return c.src }

func (c *bBetween) eval(ev *evalCtx) (val, error) {
	vals := make([]val, 3)
	defer func() {
		for _, v := range vals {
			v.release()
		}
	}()
	for i, n := range c.children() {
		v, err := n.eval(ev)
		if err != nil {
			return val{}, err
		}
		vals[i] = v
	}
	ge, err := callKernel(ev, "greater_equal", nil, c.src, vals[0], vals[1])
	if err != nil {
		return val{}, err
	}
	defer ge.release()
	le, err := callKernel(ev, "less_equal", nil, c.src, vals[0], vals[2])
	if err != nil {
		return val{}, err
	}
	defer le.release()
	return callKernel(ev, "and_kleene", nil, c.src, ge, le)
}

type likeMode int

const (
	modeLike likeMode = iota
	modeILike
	modeRLike
)

func init() {
	for _, d := range []struct {
		name string
		mode likeMode
		max  int
	}{{"like", modeLike, 3}, {"ilike", modeILike, 3}, {"rlike", modeRLike, 2}, {"regexp", modeRLike, 2}, {"regexp_like", modeRLike, 2}} {
		register(&funcDef{name: d.name, minArgs: 2, maxArgs: d.max, bind: bindLike(d.name, d.mode)})
	}
}

func bindLike(name string, mode likeMode) func(b *binder, src string, args []bnode) (bnode, error) {
	return func(b *binder, src string, args []bnode) (bnode, error) {
		switch mode {
		case modeLike:
			src = args[0].String() + " LIKE " + args[1].String()
		case modeRLike:
			src = args[0].String() + " RLIKE " + args[1].String()
		}
		for i, a := range args {
			args[i] = b.decodeDict(a)
			if isNull(a.dataType()) {
				args[i] = b.castConst(a, arrow.BinaryTypes.String)
			}
			if !isStringType(args[i].dataType()) {
				return nil, fmt.Errorf("expr: %w in %s: %s needs strings, but %s is %s",
					ErrType, b.in(src), name, a, TypeString(a.dataType()))
			}
			if args[i].dataType().ID() == arrow.LARGE_STRING {
				var err error
				if args[i], err = b.bindCast(args[i], arrow.BinaryTypes.String, false, castSrc(a.String(), arrow.BinaryTypes.String, false)); err != nil {
					return nil, err
				}
			}
		}
		escape := '\\'
		if len(args) == 3 {
			c, ok := args[2].(*bLit)
			if !ok || !c.sc.IsValid() || utf8.RuneCountInString(formatScalar(c.sc)) != 1 {
				return nil, fmt.Errorf("expr: %s in %s: the escape argument must be a constant of one character, got %s", name, b.in(src), args[2])
			}
			escape, _ = utf8.DecodeRuneInString(formatScalar(c.sc))
		}
		l := &bLike{src: src, x: args[0], pat: args[1], mode: mode, escape: escape}
		if c, ok := args[1].(*bLit); ok {
			if !c.sc.IsValid() {
				return &bLit{sc: scalar.MakeNullScalar(arrow.FixedWidthTypes.Boolean)}, nil
			}
			m, err := compileMatcher(formatScalar(c.sc), mode, escape)
			if err != nil {
				return nil, fmt.Errorf("expr: %s: %w", b.in(src), err)
			}
			l.m = m
		}
		return b.fold(l, src)
	}
}

// bLike is LIKE, ILIKE or RLIKE; m is the compiled pattern when it is a
// constant.
type bLike struct {
	src    string
	x, pat bnode
	mode   likeMode
	escape rune
	m      *matcher
}

func (c *bLike) dataType() arrow.DataType { return arrow.FixedWidthTypes.Boolean }
func (c *bLike) nullable() bool           { return c.x.nullable() || c.pat.nullable() }
func (c *bLike) children() []bnode        { return []bnode{c.x, c.pat} }
func (c *bLike) String() string           { return c.src }

func (c *bLike) eval(ev *evalCtx) (val, error) {
	xv, err := c.x.eval(ev)
	if err != nil {
		return val{}, err
	}
	defer xv.release()
	x, rel, err := asArray(ev, xv)
	if err != nil {
		return val{}, fmt.Errorf("expr: evaluating %s: %w", c.src, err)
	}
	defer rel()
	n := x.Len()
	col := strColOf(x)
	var pats strCol
	var patValid []byte
	patOff := 0
	var cache map[string]*matcher
	if c.m == nil {
		pv, err := c.pat.eval(ev)
		if err != nil {
			return val{}, err
		}
		defer pv.release()
		p, prel, err := asArray(ev, pv)
		if err != nil {
			return val{}, fmt.Errorf("expr: evaluating %s: %w", c.src, err)
		}
		defer prel()
		pats = strColOf(p)
		patOff = p.Data().Offset()
		if p.NullN() > 0 {
			patValid = p.NullBitmapBytes()
		}
		cache = map[string]*matcher{}
	}
	out, err := boolCast(&castCtx{mem: ev.mem}, x, func(m *nullMask, out []byte) error {
		for i := 0; i < n; i++ {
			if !m.valid(i) {
				continue
			}
			mt := c.m
			if mt == nil {
				if patValid != nil && !bitIsSet(patValid, patOff+i) {
					m.setNull(i)
					continue
				}
				p := pats.at(i)
				if mt = cache[string(p)]; mt == nil {
					var err error
					if mt, err = compileMatcher(string(p), c.mode, c.escape); err != nil {
						return fmt.Errorf("expr: evaluating %s at row %d: %w", c.src, i, err)
					}
					if len(cache) < 1024 {
						cache[string(p)] = mt
					}
				}
			}
			if mt.match(col.at(i)) {
				out[i>>3] |= 1 << (i & 7)
			}
		}
		return nil
	})
	if err != nil {
		return val{}, err
	}
	return val{arr: out}, nil
}

// matcher matches one LIKE or RLIKE pattern, with fast paths for patterns
// that are a literal, a prefix, a suffix or a substring.
type matcher struct {
	kind     int
	lit, suf []byte
	re       *regexp.Regexp
}

const (
	likeRegexp = iota
	likeExact
	likePrefix
	likeSuffix
	likeContains
	likePrefixSuffix
	likeAll
)

func (m *matcher) match(s []byte) bool {
	switch m.kind {
	case likeExact:
		return bytes.Equal(s, m.lit)
	case likePrefix:
		return bytes.HasPrefix(s, m.lit)
	case likeSuffix:
		return bytes.HasSuffix(s, m.lit)
	case likeContains:
		return bytes.Contains(s, m.lit)
	case likePrefixSuffix:
		return len(s) >= len(m.lit)+len(m.suf) && bytes.HasPrefix(s, m.lit) && bytes.HasSuffix(s, m.suf)
	case likeAll:
		return true
	}
	return m.re.Match(s)
}

// compileMatcher compiles a LIKE pattern (or an RLIKE regular
// expression); errors name the pattern and what is wrong with it.
func compileMatcher(pattern string, mode likeMode, escape rune) (*matcher, error) {
	if mode == modeRLike {
		re, err := regexp.Compile(pattern)
		if err != nil {
			return nil, fmt.Errorf("the regular expression %q is invalid: %v", pattern, err)
		}
		return &matcher{re: re}, nil
	}
	// Split the pattern into literal runs and wildcards.
	var toks []likeToken
	var lit []byte
	flush := func() {
		if lit != nil {
			toks = append(toks, likeToken{lit: lit})
			lit = nil
		}
	}
	rs := []rune(pattern)
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		switch {
		case r == escape:
			if i+1 == len(rs) {
				return nil, fmt.Errorf("the LIKE pattern %q is invalid: it ends with the escape character %q", pattern, escape)
			}
			next := rs[i+1]
			if next != '%' && next != '_' && next != escape {
				return nil, fmt.Errorf("the LIKE pattern %q is invalid: the escape character %q may only precede %%, _ or itself, not %q", pattern, escape, next)
			}
			lit = utf8.AppendRune(lit, next)
			i++
		case r == '%' || r == '_':
			flush()
			if r == '%' && len(toks) > 0 && toks[len(toks)-1].wild == '%' {
				continue // %% is %
			}
			toks = append(toks, likeToken{wild: r})
		default:
			lit = utf8.AppendRune(lit, r)
		}
	}
	flush()
	if mode == modeLike {
		if m := fastMatcher(toks); m != nil {
			return m, nil
		}
	}
	var sb strings.Builder
	sb.WriteString("^(?s")
	if mode == modeILike {
		sb.WriteString("i")
	}
	sb.WriteString(":")
	for _, t := range toks {
		switch t.wild {
		case '%':
			sb.WriteString(".*")
		case '_':
			sb.WriteString(".")
		default:
			sb.WriteString(regexp.QuoteMeta(string(t.lit)))
		}
	}
	sb.WriteString(")$")
	re, err := regexp.Compile(sb.String())
	if err != nil {
		return nil, fmt.Errorf("the LIKE pattern %q is invalid: %v", pattern, err)
	}
	return &matcher{re: re}, nil
}

// likeToken is a run of literal characters or a wildcard of a LIKE
// pattern.
type likeToken struct {
	wild rune // '%', '_' or 0 for a literal
	lit  []byte
}

// fastMatcher matches the patterns that need no regular expression:
// "lit", "%", "lit%", "%lit", "%lit%" and "lit%lit".
func fastMatcher(toks []likeToken) *matcher {
	var shape strings.Builder
	for _, t := range toks {
		switch t.wild {
		case 0:
			shape.WriteByte('L')
		default:
			shape.WriteRune(t.wild)
		}
	}
	lit := func(k int) []byte { return append([]byte{}, toks[k].lit...) }
	switch shape.String() {
	case "":
		return &matcher{kind: likeExact, lit: []byte{}}
	case "L":
		return &matcher{kind: likeExact, lit: lit(0)}
	case "%":
		return &matcher{kind: likeAll}
	case "L%":
		return &matcher{kind: likePrefix, lit: lit(0)}
	case "%L":
		return &matcher{kind: likeSuffix, lit: lit(1)}
	case "%L%":
		return &matcher{kind: likeContains, lit: lit(1)}
	case "L%L":
		return &matcher{kind: likePrefixSuffix, lit: lit(0), suf: lit(2)}
	}
	return nil
}
