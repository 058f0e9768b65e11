package expr

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/arrow/scalar"
)

// Event-time windows, as Spark's window, session_window and window_time.
//
// window(time, windowDuration[, slideDuration[, startTime]]) assigns each
// row the window [start, end) of event time that holds its time: windows
// are windowDuration long and begin every slideDuration (by default
// windowDuration: tumbling windows), offset by startTime from the Unix
// epoch. The durations are constant interval strings (ParseInterval). A
// window is a struct<start: timestamp[us, UTC], end: timestamp[us, UTC]>
// (WindowType), null where the time is null.
//
// A tumbling window is an ordinary expression. A sliding window
// (slideDuration shorter than windowDuration) puts a row in several
// windows, and session_window(time, gapDuration) finds its windows only
// across rows, so both can only be grouping keys: the aggregation reads
// their parameters with AsWindow and computes the windows itself, and
// binding them as plain expressions fails. window_time(w) is the last
// instant of window w, end minus one microsecond.

// WindowKind is the kind of an event-time window.
type WindowKind int

const (
	// TumblingWindow is window(ts, size): fixed windows that do not
	// overlap, each row in exactly one.
	TumblingWindow WindowKind = iota + 1
	// SlidingWindow is window(ts, size, slide) with slide < size:
	// overlapping windows, each row in size/slide of them (rounded up or
	// down by the row's position).
	SlidingWindow
	// SessionWindow is session_window(ts, gap): a window per run of rows
	// that arrive within gap of each other, closed gap after the last.
	SessionWindow
)

// String is "tumbling", "sliding" or "session".
func (k WindowKind) String() string {
	switch k {
	case TumblingWindow:
		return "tumbling"
	case SlidingWindow:
		return "sliding"
	case SessionWindow:
		return "session"
	}
	return fmt.Sprintf("WindowKind(%d)", int(k))
}

// WindowSpec describes a window(...) or session_window(...) call.
type WindowSpec struct {
	Kind WindowKind
	// Time is the time column expression (the first argument). Bind it
	// to check that it is a timestamp; its unit may be any.
	Time Expr
	// SizeUs, SlideUs and StartUs are a tumbling or sliding window's
	// length, slide and start offset, in microseconds; a tumbling window
	// has SlideUs == SizeUs. SizeUs and SlideUs are positive, SlideUs <=
	// SizeUs and |StartUs| < SlideUs. The windows holding a row at time
	// ts start at WindowStart(ts, SlideUs, StartUs) and every SlideUs
	// before it while the start is after ts - SizeUs.
	SizeUs, SlideUs, StartUs int64
	// GapUs is a session window's constant gap in microseconds
	// (positive), or 0 when the gap is given per row by Gap.
	GapUs int64
	// Gap is a session window's per-row gap expression, the zero Expr
	// when the gap is constant. It gives an interval string (read with
	// ParseInterval) or an Arrow duration per row; as in Spark, a row
	// whose gap is null, zero or negative belongs to no session.
	Gap Expr
	// Name is the output column name: the alias if the call is aliased,
	// else "window" or "session_window".
	Name string
}

// windowType is the type of a window column.
var windowType = arrow.StructOf(
	arrow.Field{Name: "start", Type: timestampUTC, Nullable: true},
	arrow.Field{Name: "end", Type: timestampUTC, Nullable: true},
)

// WindowType is the struct type of a window column: struct<start:
// timestamp[us, UTC], end: timestamp[us, UTC]>, both fields nullable (null
// where the row's time is null). The same value is returned each time; do
// not modify it.
func WindowType() arrow.DataType { return windowType }

// Window is window(timeCol, size): tumbling windows of the interval size
// (such as "10 minutes"; see ParseInterval), starting at the Unix epoch.
// It is Call("window", timeCol, Lit(size)) and its output column is named
// "window".
func Window(timeCol Expr, size string) Expr { return Call("window", timeCol, Lit(size)) }

// SlidingWindowOf is window(timeCol, size, slide): windows size long
// starting every slide. With slide shorter than size a row is in several
// windows, so it can only be a grouping key (see AsWindow); with slide
// equal to size it is Window(timeCol, size).
func SlidingWindowOf(timeCol Expr, size, slide string) Expr {
	return Call("window", timeCol, Lit(size), Lit(slide))
}

// SessionWindowOf is session_window(timeCol, gap) with a constant gap
// interval such as "5 minutes": a grouping key only (see AsWindow). Its
// output column is named "session_window".
func SessionWindowOf(timeCol Expr, gap string) Expr {
	return Call("session_window", timeCol, Lit(gap))
}

// SessionWindowExpr is session_window(timeCol, gap) with a gap computed
// per row by gap, an expression giving an interval string or an Arrow
// duration: a grouping key only (see AsWindow).
func SessionWindowExpr(timeCol Expr, gap Expr) Expr {
	return Call("session_window", timeCol, gap)
}

// WindowTime is window_time(window): the last instant of the window,
// its end minus one microsecond, as timestamp[us, UTC]. Its argument must
// be a window column (a struct of timestamps start and end).
func WindowTime(window Expr) Expr { return Call("window_time", window) }

// WindowStart returns the start, in microseconds, of the latest window
// that contains tsUs when windows begin every slideUs microseconds
// (positive) offset by startUs from the epoch: Spark's formula
// ts - ((ts - start) mod slide), with the modulo rounded toward negative
// infinity so times before the epoch fall into the window below them. The
// result is at most tsUs and more than tsUs - slideUs.
func WindowStart(tsUs, slideUs, startUs int64) int64 {
	r := floorMod(tsUs, slideUs) - floorMod(startUs, slideUs) // datefmt.go
	if r < 0 {
		r += slideUs
	}
	return tsUs - r
}

// AsWindow reports whether e, looking through aliases, is a call of
// window or session_window, and returns its checked spec: durations that
// read as intervals (ParseInterval), whole microseconds, positive, the
// slide no longer than the window and the start offset shorter than the
// slide. A window or session_window call with bad arguments returns ok
// true and an error naming the argument. The time column's type is not
// checked here (it needs the schema): bind spec.Time.
func AsWindow(e Expr) (spec WindowSpec, ok bool, err error) {
	n := e.n
	for a, isAlias := n.(*aliasNode); isAlias; a, isAlias = n.(*aliasNode) {
		n = a.x
	}
	c, isCall := n.(*callNode)
	if !isCall || (c.name != "window" && c.name != "session_window") {
		return WindowSpec{}, false, nil
	}
	alias := ""
	for a, isAlias := e.n.(*aliasNode); isAlias; a, isAlias = a.x.(*aliasNode) {
		if a.name == "" {
			return WindowSpec{}, true, fmt.Errorf("expr: empty alias in %s: As needs a column name", e)
		}
		if alias == "" {
			alias = a.name
		}
	}
	spec, err = windowSpecOf(c, "")
	if err != nil {
		return WindowSpec{}, true, err
	}
	spec.Name = c.name
	if alias != "" {
		spec.Name = alias
	}
	return spec, true, nil
}

// windowColumnName is the default output column name of a window or
// session_window call (Expr.Name), and false for other calls.
func windowColumnName(c *callNode) (string, bool) {
	if c.name == "window" || c.name == "session_window" {
		return c.name, true
	}
	return "", false
}

// windowDisplay shows a window call with its interval strings quoted, as
// written in SQL: window(ts, '10 seconds', '2 seconds').
func windowDisplay(c *callNode) string {
	parts := make([]string, len(c.args))
	for i, a := range c.args {
		if l, ok := a.(*litNode); ok && l.err == nil && l.sc.IsValid() && isStringType(l.sc.DataType()) {
			parts[i] = "'" + formatScalar(l.sc) + "'"
			continue
		}
		parts[i] = nodeString(a)
	}
	return c.name + "(" + strings.Join(parts, ", ") + ")"
}

// windowSpecOf checks the arguments of a window or session_window call
// that do not need a schema. where is appended to the call in errors.
func windowSpecOf(c *callNode, where string) (WindowSpec, error) {
	disp := windowDisplay(c) + where
	lo, hi := 2, 4
	if c.name == "session_window" {
		hi = 2
	}
	if len(c.args) < lo || len(c.args) > hi {
		return WindowSpec{}, fmt.Errorf("expr: %s takes %s, got %d, in %s", c.name, arity(lo, hi), len(c.args), disp)
	}
	for i, a := range c.args {
		if a == nil {
			return WindowSpec{}, fmt.Errorf("expr: %s: argument %d is the zero Expr; build expressions with Col and Lit", disp, i+1)
		}
	}
	spec := WindowSpec{Time: Expr{c.args[0]}}
	if c.name == "session_window" {
		spec.Kind = SessionWindow
		gap, constant, err := windowDuration(disp, c.args[1], "the gap duration", true)
		if err != nil {
			return WindowSpec{}, err
		}
		if !constant {
			spec.Gap = Expr{c.args[1]}
			return spec, nil
		}
		if gap <= 0 {
			return WindowSpec{}, fmt.Errorf("expr: %s: the gap duration must be positive, but is %s; give the time after a row's event within which the next row joins its session, such as '5 minutes'", disp, usString(gap))
		}
		spec.GapUs = gap
		return spec, nil
	}
	size, _, err := windowDuration(disp, c.args[1], "the window duration", false)
	if err != nil {
		return WindowSpec{}, err
	}
	if size <= 0 {
		return WindowSpec{}, fmt.Errorf("expr: %s: the window duration must be positive, but is %s; give the length of each window, such as '10 minutes'", disp, usString(size))
	}
	slide := size
	if len(c.args) > 2 {
		if slide, _, err = windowDuration(disp, c.args[2], "the slide duration", false); err != nil {
			return WindowSpec{}, err
		}
		if slide <= 0 {
			return WindowSpec{}, fmt.Errorf("expr: %s: the slide duration must be positive, but is %s; give how often a window starts, at most the window duration %s", disp, usString(slide), usString(size))
		}
		if slide > size {
			return WindowSpec{}, fmt.Errorf("expr: %s: the slide duration %s is longer than the window duration %s, so rows between windows would be in none; use a slide of at most %s",
				disp, usString(slide), usString(size), usString(size))
		}
	}
	var start int64
	if len(c.args) > 3 {
		if start, _, err = windowDuration(disp, c.args[3], "the start time", false); err != nil {
			return WindowSpec{}, err
		}
		if start >= slide || start <= -slide {
			return WindowSpec{}, fmt.Errorf("expr: %s: the start time %s must be shorter than the slide duration %s (in either direction); %s gives the same windows",
				disp, usString(start), usString(slide), usString(floorMod(start, slide)))
		}
	}
	spec.Kind = TumblingWindow
	if slide < size {
		spec.Kind = SlidingWindow
	}
	spec.SizeUs, spec.SlideUs, spec.StartUs = size, slide, start
	return spec, nil
}

// windowDuration reads the duration argument n of a window call in
// microseconds: a constant interval string or Arrow duration. With
// perRow, an argument that is not a constant is accepted and reported as
// not constant (a session window's per-row gap); a null constant never is.
func windowDuration(disp string, n node, what string, perRow bool) (us int64, constant bool, err error) {
	l, ok := n.(*litNode)
	if !ok {
		if perRow {
			return 0, false, nil
		}
		return 0, false, fmt.Errorf("expr: %s: %s must be a constant interval string such as '10 seconds', but is the expression %s", disp, what, nodeString(n))
	}
	if l.err != nil {
		return 0, false, l.err
	}
	if !l.sc.IsValid() {
		return 0, false, fmt.Errorf("expr: %s: %s is NULL; give an interval string such as '10 seconds'", disp, what)
	}
	var d time.Duration
	switch sc := l.sc.(type) {
	case *scalar.String, *scalar.LargeString:
		d, err = parseInterval(formatScalar(sc))
		if err != nil {
			return 0, false, fmt.Errorf("expr: %s: %s: %w", disp, what, err)
		}
	case *scalar.Duration:
		us, ok := durationMicros(int64(sc.Value), sc.Type.(*arrow.DurationType).Unit)
		if !ok {
			return 0, false, fmt.Errorf("expr: %s: %s %s is not a whole number of microseconds or is out of range; windows are measured in microseconds", disp, what, sc)
		}
		return us, true, nil
	default:
		return 0, false, fmt.Errorf("expr: %w in %s: %s must be an interval string such as '10 seconds', but is %s %s",
			ErrType, disp, what, typeName(l.sc.DataType()), formatScalar(l.sc))
	}
	if d%time.Microsecond != 0 {
		return 0, false, fmt.Errorf("expr: %s: %s %s is not a whole number of microseconds; windows are measured in microseconds", disp, what, d)
	}
	return d.Microseconds(), true, nil
}

// durationMicros converts a duration value of unit to microseconds,
// reporting false when it is not whole or does not fit.
func durationMicros(v int64, unit arrow.TimeUnit) (int64, bool) {
	switch unit {
	case arrow.Second:
		if v > math.MaxInt64/secondMicros || v < math.MinInt64/secondMicros {
			return 0, false
		}
		return v * secondMicros, true
	case arrow.Millisecond:
		if v > math.MaxInt64/1000 || v < math.MinInt64/1000 {
			return 0, false
		}
		return v * 1000, true
	case arrow.Nanosecond:
		return v / 1000, v%1000 == 0
	}
	return v, true
}

// usString shows microseconds as a Go duration ("1m30s").
func usString(us int64) string {
	if us > math.MaxInt64/1000 || us < math.MinInt64/1000 {
		return fmt.Sprintf("%dus", us)
	}
	return (time.Duration(us) * time.Microsecond).String()
}

func init() {
	register(&funcDef{name: "window", minArgs: 2, maxArgs: 4, bindNodes: bindWindow})
	register(&funcDef{name: "session_window", minArgs: 2, maxArgs: 2, bindNodes: bindSessionWindow})
	register(&funcDef{name: "window_time", minArgs: 1, maxArgs: 1, bind: bindWindowTime})
}

// bindWindowTimeArg binds a window call's time column, which must be a
// timestamp (a null constant reads as a null timestamp).
func bindWindowTimeArg(b *binder, c *callNode, disp string) (bnode, error) {
	x, err := bindNode(b, c.args[0])
	if err != nil {
		return nil, err
	}
	switch x.dataType().ID() {
	case arrow.TIMESTAMP:
		return x, nil
	case arrow.NULL:
		return b.castConst(x, timestampUTC), nil
	}
	col := nodeString(c.args[0])
	return nil, fmt.Errorf("expr: %w in %s: the time column %s is %s, not a timestamp; convert it with CAST(%s AS TIMESTAMP) or to_timestamp(%s, pattern)",
		ErrType, disp, col, typeName(x.dataType()), col, col)
}

func bindWindow(b *binder, src string, args []node) (bnode, error) {
	c := &callNode{name: "window", args: args}
	where := b.where(src)
	spec, err := windowSpecOf(c, where)
	if err != nil {
		return nil, err
	}
	disp := windowDisplay(c)
	x, err := bindWindowTimeArg(b, c, disp+where)
	if err != nil {
		return nil, err
	}
	if spec.Kind == SlidingWindow {
		msg := fmt.Sprintf("expr: %s puts a row in several windows, so it can only be a grouping key: use it in GroupBy(...)", disp)
		if where != "" {
			msg += ", not inside " + b.root
		}
		return nil, fmt.Errorf("%s", msg)
	}
	unit := x.dataType().(*arrow.TimestampType).Unit
	size, slide, start := spec.SizeUs, spec.SlideUs, spec.StartUs
	return &bFunc{name: "window", src: src, args: []bnode{x}, typ: windowType, null: x.nullable(),
		fn: func(ev *evalCtx, vals []val) (val, error) {
			return evalWindow(ev, src, unit, size, slide, start, vals[0])
		}}, nil
}

// evalWindow computes the tumbling window of each time in v (borrowed):
// the struct array it returns is owned by the caller.
func evalWindow(ev *evalCtx, src string, unit arrow.TimeUnit, size, slide, start int64, v val) (val, error) {
	arr, release, err := asArray(ev, v)
	if err != nil {
		return val{}, fmt.Errorf("expr: evaluating %s: %w", src, err)
	}
	defer release()
	n := arr.Len()
	m := newNullMask(ev.mem, arr)
	startBuf, starts := newFixed[int64](ev.mem, n)
	endBuf, ends := newFixed[int64](ev.mem, n)
	fail := func(err error) (val, error) {
		startBuf.Release()
		endBuf.Release()
		m.release()
		return val{}, err
	}
	raw := fixedValues[int64](arr)
	err = toMicros(arr, unit, m, starts, func(i int) error {
		return fmt.Errorf("expr: evaluating %s: row %d: the time %d (%s) is out of the range of microsecond timestamps", src, i, raw[i], arr.DataType())
	})
	if err != nil {
		return fail(err)
	}
	for i, ts := range starts {
		if !m.valid(i) {
			starts[i], ends[i] = 0, 0
			continue
		}
		s := WindowStart(ts, slide, start)
		if s > ts || s > math.MaxInt64-size {
			return fail(fmt.Errorf("expr: evaluating %s: row %d: the window of time %d us would start or end outside the range of microsecond timestamps", src, i, ts))
		}
		starts[i], ends[i] = s, s+size
	}
	validity, nulls := m.result()
	startData := array.NewData(timestampUTC, n, []*memory.Buffer{validity, startBuf}, nil, nulls, 0)
	endData := array.NewData(timestampUTC, n, []*memory.Buffer{validity, endBuf}, nil, nulls, 0)
	data := array.NewData(windowType, n, []*memory.Buffer{validity}, []arrow.ArrayData{startData, endData}, nulls, 0)
	startBuf.Release()
	endBuf.Release()
	if validity != nil {
		validity.Release()
	}
	startData.Release()
	endData.Release()
	defer data.Release()
	return val{arr: array.MakeFromData(data)}, nil
}

func bindSessionWindow(b *binder, src string, args []node) (bnode, error) {
	c := &callNode{name: "session_window", args: args}
	where := b.where(src)
	spec, err := windowSpecOf(c, where)
	if err != nil {
		return nil, err
	}
	disp := windowDisplay(c)
	if _, err := bindWindowTimeArg(b, c, disp+where); err != nil {
		return nil, err
	}
	if !spec.Gap.IsZero() {
		g, err := bindNode(b, args[1])
		if err != nil {
			return nil, err
		}
		switch g.dataType().ID() {
		case arrow.STRING, arrow.LARGE_STRING, arrow.DURATION, arrow.NULL:
		default:
			return nil, fmt.Errorf("expr: %w in %s: the gap duration %s is %s; give an interval string such as '5 minutes' or a duration per row",
				ErrType, disp+where, nodeString(args[1]), typeName(g.dataType()))
		}
	}
	msg := fmt.Sprintf("expr: %s finds its windows across rows (a session closes when no row arrives within the gap), so it can only be a grouping key: use it in GroupBy(...)", disp)
	if where != "" {
		msg += ", not inside " + b.root
	}
	return nil, fmt.Errorf("%s", msg)
}

func bindWindowTime(b *binder, src string, args []bnode) (bnode, error) {
	x := args[0]
	st, ok := x.dataType().(*arrow.StructType)
	var endIdx int
	if ok {
		si, hasStart := st.FieldIdx("start")
		ei, hasEnd := st.FieldIdx("end")
		ok = hasStart && hasEnd &&
			st.Field(si).Type.ID() == arrow.TIMESTAMP && st.Field(ei).Type.ID() == arrow.TIMESTAMP
		endIdx = ei
	}
	if !ok {
		return nil, fmt.Errorf("expr: %w in %s: window_time needs a window column (a struct of timestamps start and end, as window(...) and session_window(...) give), but %s is %s",
			ErrType, b.in(src), x, typeName(x.dataType()))
	}
	end := st.Field(endIdx)
	unit := end.Type.(*arrow.TimestampType).Unit
	return &bFunc{name: "window_time", src: src, args: args, typ: timestampUTC, null: x.nullable() || end.Nullable,
		fn: func(ev *evalCtx, vals []val) (val, error) {
			return evalWindowTime(ev, src, endIdx, unit, vals[0])
		}}, nil
}

// evalWindowTime is the end of each window in v (borrowed) minus one
// microsecond; the array it returns is owned by the caller.
func evalWindowTime(ev *evalCtx, src string, endIdx int, unit arrow.TimeUnit, v val) (val, error) {
	arr, release, err := asArray(ev, v)
	if err != nil {
		return val{}, fmt.Errorf("expr: evaluating %s: %w", src, err)
	}
	defer release()
	end, err := structField(ev.mem, arr, endIdx)
	if err != nil {
		return val{}, fmt.Errorf("expr: evaluating %s: %w", src, err)
	}
	defer end.Release()
	n := end.Len()
	m := newNullMask(ev.mem, end)
	buf, out := newFixed[int64](ev.mem, n)
	raw := fixedValues[int64](end)
	outOfRange := func(i int) error {
		return fmt.Errorf("expr: evaluating %s: row %d: the window end %d (%s) is out of the range of microsecond timestamps", src, i, raw[i], end.DataType())
	}
	if err := toMicros(end, unit, m, out, outOfRange); err != nil {
		buf.Release()
		m.release()
		return val{}, err
	}
	for i, us := range out {
		if !m.valid(i) {
			out[i] = 0
			continue
		}
		if us == math.MinInt64 {
			buf.Release()
			m.release()
			return val{}, outOfRange(i)
		}
		out[i] = us - 1
	}
	return val{arr: finishFixed(timestampUTC, n, buf, m)}, nil
}
