package expr

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/arrow/scalar"
)

// Date and time functions, as Spark 4 with ANSI mode on.
//
// Types: a timestamp is a point in time stored as microseconds since the
// Unix epoch, UTC (arrow timestamp[us, tz=UTC], Spark's TIMESTAMP); a
// timestamp column of another unit or zone label is read the same way.
// A timestamp without a zone label is a wall-clock time (Spark's
// TIMESTAMP_NTZ) and is never shifted. A date is date32. Where a function
// wants a date or timestamp it also takes a string, read as Spark casts
// it (yyyy-MM-dd[ HH:mm:ss[.SSSSSS]][zone]); text that does not read is an
// error (ErrParseDateTime) naming the value and row.
//
// Fields (year, hour, ...), date_format, to_date of a timestamp and
// date_trunc are computed in the session time zone, set per evaluation
// with WithSessionTimeZone and UTC by default; so are strings without a
// zone read as timestamps. Such calls are not folded at Bind even when
// their arguments are constants, since the zone is known only at Eval.
//
// Patterns (to_timestamp, to_date, date_format, unix_timestamp,
// from_unixtime) are Spark's datetime patterns, compiled once when the
// pattern is a constant (see datefmt.go for the letters supported).

// ErrParseDateTime is matched (errors.Is) by errors for text that does
// not read as a date or timestamp.
var ErrParseDateTime = errors.New("cannot parse date/time")

type sessionZoneKey struct{}

// WithSessionTimeZone returns a context under which Eval computes
// calendar fields, formats and parses times without a zone in loc (Spark's
// spark.sql.session.timeZone). Without it, or with a nil loc, the session
// time zone is UTC.
func WithSessionTimeZone(ctx context.Context, loc *time.Location) context.Context {
	return context.WithValue(ctx, sessionZoneKey{}, loc)
}

var utcZone = newZoneCache(time.UTC)

// sessionZone is the session zone of this evaluation, with a fresh cache.
func sessionZone(ev *evalCtx) *zoneCache {
	if ev.kctx != nil {
		if loc, ok := ev.kctx.Value(sessionZoneKey{}).(*time.Location); ok && loc != nil && loc != time.UTC {
			return newZoneCache(loc)
		}
	}
	return utcZone
}

var (
	date32Type = arrow.FixedWidthTypes.Date32
	wallType   = &arrow.TimestampType{Unit: arrow.Microsecond}
)

func init() {
	fields := []struct {
		name string
		f    dateField
	}{
		{"year", dfYear}, {"quarter", dfQuarter}, {"month", dfMonth}, {"day", dfDay},
		{"dayofmonth", dfDay}, {"dayofweek", dfDayOfWeek}, {"weekday", dfWeekday},
		{"dayofyear", dfDayOfYear}, {"weekofyear", dfWeekOfYear}, {"hour", dfHour},
		{"minute", dfMinute}, {"second", dfSecond},
	}
	for _, f := range fields {
		register(&funcDef{name: f.name, minArgs: 1, maxArgs: 1, volatile: true, bind: bindDateField(f.name, f.f)})
	}
	for _, d := range []*funcDef{
		{name: "to_timestamp", minArgs: 1, maxArgs: 2, bind: bindToTimestamp("to_timestamp", false)},
		{name: "try_to_timestamp", minArgs: 1, maxArgs: 2, bind: bindToTimestamp("try_to_timestamp", true)},
		{name: "to_date", minArgs: 1, maxArgs: 2, bind: bindToDate},
		{name: "date_format", minArgs: 2, maxArgs: 2, bind: bindDateFormat},
		{name: "date_trunc", minArgs: 2, maxArgs: 2, bind: bindDateTrunc},
		{name: "trunc", minArgs: 2, maxArgs: 2, bind: bindTrunc},
		{name: "unix_timestamp", minArgs: 0, maxArgs: 2, bind: bindUnixTimestamp("unix_timestamp")},
		{name: "to_unix_timestamp", minArgs: 1, maxArgs: 2, bind: bindUnixTimestamp("to_unix_timestamp")},
		{name: "from_unixtime", minArgs: 1, maxArgs: 2, bind: bindFromUnixtime},
		{name: "timestamp_seconds", minArgs: 1, maxArgs: 1, bind: bindTimestampFrom("timestamp_seconds", microsPerSecond)},
		{name: "timestamp_millis", minArgs: 1, maxArgs: 1, bind: bindTimestampFrom("timestamp_millis", 1000)},
		{name: "timestamp_micros", minArgs: 1, maxArgs: 1, bind: bindTimestampFrom("timestamp_micros", 1)},
		{name: "unix_seconds", minArgs: 1, maxArgs: 1, bind: bindUnixUnits("unix_seconds", microsPerSecond)},
		{name: "unix_millis", minArgs: 1, maxArgs: 1, bind: bindUnixUnits("unix_millis", 1000)},
		{name: "unix_micros", minArgs: 1, maxArgs: 1, bind: bindUnixUnits("unix_micros", 1)},
		{name: "unix_date", minArgs: 1, maxArgs: 1, bind: bindUnixDate},
		{name: "date_from_unix_date", minArgs: 1, maxArgs: 1, bind: bindDateFromUnixDate},
		{name: "date_add", minArgs: 2, maxArgs: 2, bind: bindDateAdd("date_add", 1)},
		{name: "date_sub", minArgs: 2, maxArgs: 2, bind: bindDateAdd("date_sub", -1)},
		{name: "add_months", minArgs: 2, maxArgs: 2, bind: bindAddMonths},
		{name: "datediff", minArgs: 2, maxArgs: 2, bind: bindDateDiff("datediff")},
		{name: "date_diff", minArgs: 2, maxArgs: 2, bind: bindDateDiff("date_diff")},
		{name: "months_between", minArgs: 2, maxArgs: 3, bind: bindMonthsBetween},
		{name: "last_day", minArgs: 1, maxArgs: 1, bind: bindDateField("last_day", dfLastDay)},
		{name: "current_timestamp", minArgs: 0, maxArgs: 0, bind: bindCurrentTimestamp},
		{name: "now", minArgs: 0, maxArgs: 0, bind: bindCurrentTimestamp},
		{name: "current_date", minArgs: 0, maxArgs: 0, bind: bindCurrentDate},
		{name: "from_utc_timestamp", minArgs: 2, maxArgs: 2, bind: bindUTCShift("from_utc_timestamp", true)},
		{name: "to_utc_timestamp", minArgs: 2, maxArgs: 2, bind: bindUTCShift("to_utc_timestamp", false)},
	} {
		// Not folded by the registry: each bind folds only what does not
		// depend on the session time zone or the batch time.
		d.volatile = true
		register(d)
	}
}

// settle folds n at bind time when its value cannot depend on the
// session time zone or the batch time.
func settle(b *binder, n bnode, src string, zoneFree bool) (bnode, error) {
	if zoneFree {
		return b.fold(n, src)
	}
	return n, nil
}

// ---- arguments ----

// dtKind is how a date/time argument is stored.
type dtKind uint8

const (
	dkInstant dtKind = iota // timestamp with a zone: UTC microseconds
	dkWall                  // timestamp without a zone: wall-clock microseconds
	dkDate                  // date32: days
	dkString                // text, read as Spark casts it
)

// dtArg accepts a timestamp, date or string argument.
func dtArg(b *binder, src, fname string, n bnode) (bnode, dtKind, error) {
	n = b.decodeDict(n)
	t := n.dataType()
	switch t.ID() {
	case arrow.NULL:
		return b.castConst(n, arrow.BinaryTypes.String), dkString, nil
	case arrow.TIMESTAMP:
		ts := t.(*arrow.TimestampType)
		kind := dkInstant
		if ts.TimeZone == "" {
			kind = dkWall
		}
		if ts.Unit != arrow.Microsecond {
			c, err := b.castTo(n, &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: ts.TimeZone}, src)
			return c, kind, err
		}
		return n, kind, nil
	case arrow.DATE32:
		return n, dkDate, nil
	case arrow.DATE64:
		c, err := b.castTo(n, date32Type, src)
		return c, dkDate, err
	case arrow.STRING, arrow.LARGE_STRING:
		return n, dkString, nil
	}
	return nil, 0, fmt.Errorf("expr: %w in %s: %s needs a timestamp, date or string, but %s is %s",
		ErrType, b.in(src), fname, n, typeName(t))
}

// stringArg accepts a string argument (a pattern, unit or zone).
func stringArg(b *binder, src, fname, what string, n bnode) (bnode, error) {
	n = b.decodeDict(n)
	switch t := n.dataType(); {
	case isNull(t):
		return b.castConst(n, arrow.BinaryTypes.String), nil
	case isStringType(t):
		return n, nil
	}
	return nil, fmt.Errorf("expr: %w in %s: the %s of %s must be a string, but %s is %s",
		ErrType, b.in(src), what, fname, n, typeName(n.dataType()))
}

// intArg accepts an integer argument, cast to int32 or int64.
func intArg(b *binder, src, fname string, n bnode, to arrow.DataType) (bnode, error) {
	n = b.decodeDict(n)
	t := n.dataType()
	if isNull(t) || isInteger(t) {
		return b.castTo(n, to, src)
	}
	return nil, fmt.Errorf("expr: %w in %s: %s needs an integer, but %s is %s; cast it first",
		ErrType, b.in(src), fname, n, typeName(t))
}

// constString is the value of a constant string argument; ok is false
// when n is not a constant, null is set for a null constant.
func constString(n bnode) (s string, ok, null bool) {
	c, isConst := n.(*bLit)
	if !isConst {
		return "", false, false
	}
	if !c.sc.IsValid() {
		return "", true, true
	}
	return formatScalar(c.sc), true, false
}

// mdStrings reads a string argument: an array's offsets and bytes, or one
// constant.
type mdStrings struct {
	off32  []int32
	off64  []int64
	data   []byte
	sc     []byte
	scalar bool
}

func mdStringsOf(v val) mdStrings {
	if v.arr == nil {
		if bs, ok := v.sc.(interface{ Data() []byte }); ok && v.sc.IsValid() {
			return mdStrings{sc: bs.Data(), scalar: true}
		}
		return mdStrings{scalar: true}
	}
	var s mdStrings
	switch a := v.arr.(type) {
	case *array.String:
		s.off32 = a.ValueOffsets()
	case *array.LargeString:
		s.off64 = a.ValueOffsets()
	}
	if bufs := v.arr.Data().Buffers(); len(bufs) > 2 && bufs[2] != nil {
		s.data = bufs[2].Bytes()
	}
	return s
}

func (s *mdStrings) at(i int) []byte {
	switch {
	case s.scalar:
		return s.sc
	case s.off32 != nil:
		return s.data[s.off32[i]:s.off32[i+1]]
	}
	return s.data[s.off64[i]:s.off64[i+1]]
}

// nuller marks rows null (a result whose input did not parse, in a try_
// function).
type nuller interface{ setNull(i int) }

// dtRead converts date/time arguments for kernels.
type dtRead struct {
	ev   *evalCtx
	z    *zoneCache
	src  string
	try  bool
	out  nuller
	bufs []*memory.Buffer
}

func (r *dtRead) release() {
	for _, b := range r.bufs {
		b.Release()
	}
	r.bufs = nil
}

func (r *dtRead) alloc64(n int) []int64 {
	buf := memory.NewResizableBuffer(r.ev.mem)
	buf.Resize(n * 8)
	r.bufs = append(r.bufs, buf)
	return arrow.GetData[int64](buf.Bytes())[:n]
}

func (r *dtRead) alloc32(n int) []int32 {
	buf := memory.NewResizableBuffer(r.ev.mem)
	buf.Resize(n * 4)
	r.bufs = append(r.bufs, buf)
	return arrow.GetData[int32](buf.Bytes())[:n]
}

func isNullAt(v val, i int) bool { return v.arr != nil && v.arr.IsNull(i) }

// textError is the error for text that does not read as a date/time.
func textError(src string, row int, constant bool, text []byte, as string, l *dtLayout, f parseFail, hint string) error {
	with := ""
	if l != nil {
		with = fmt.Sprintf(" with pattern %q", l.pattern)
	}
	return fmt.Errorf("expr: %w in %s%s: %q as a %s%s: %s; %s",
		ErrParseDateTime, src, mdAtRow(row, constant), clip(text), as, with, f.describe(l, text), hint)
}

const castHint = "write dates as yyyy-MM-dd and timestamps as yyyy-MM-dd HH:mm:ss[.SSSSSS][zone], or use try_to_timestamp to get null for text that does not read"

// micros reads argument v (kind k) over n rows as microseconds: UTC
// instants, or wall-clock times in the session zone when local is set.
func (r *dtRead) micros(v val, k dtKind, local bool, n int) (mdView[int64], error) {
	constant := v.arr == nil
	if constant {
		n = 1
	}
	switch {
	case k == dkInstant && (!local || r.z.isUTC()), k == dkWall && (local || r.z.isUTC()):
		return mdViewOf[int64](v), nil
	case k == dkDate:
		days := mdViewOf[int32](v)
		out := r.alloc64(n)
		for i := range out {
			d := int64(days.at(i))
			if (d > maxDays || d < -maxDays) && !isNullAt(v, i) {
				return mdView[int64]{}, fmt.Errorf("expr: %w in %s%s: the date %s is beyond the range of timestamps (years -290308 to 294247)",
					ErrOverflow, r.src, mdAtRow(i, constant), arrow.Date32(d).FormattedString())
			}
			w := d * microsPerDay
			if !local {
				w = r.z.toUTC(w)
			}
			out[i] = w
		}
		return mdView[int64]{vals: out, scalar: constant}, nil
	case k == dkString:
		strs := mdStringsOf(v)
		out := r.alloc64(n)
		var iv isoValue
		for i := range out {
			if isNullAt(v, i) {
				continue
			}
			s := strs.at(i)
			f, ok := parseISO(s, &iv)
			if !ok {
				if r.try {
					r.out.setNull(i)
					continue
				}
				return mdView[int64]{}, textError(r.src, i, constant, s, "timestamp", nil, f, castHint)
			}
			if local && !iv.hasOffset && iv.loc == nil && r.z.fixed {
				out[i] = iv.local
				continue
			}
			inst := iv.instant(r.z)
			if local {
				inst = r.z.toLocal(inst)
			}
			out[i] = inst
		}
		return mdView[int64]{vals: out, scalar: constant}, nil
	}
	// an instant read locally, or a wall time read as an instant
	x := mdViewOf[int64](v)
	out := r.alloc64(n)
	for i := range out {
		if local {
			out[i] = r.z.toLocal(x.at(i))
		} else {
			out[i] = r.z.toUTC(x.at(i))
		}
	}
	return mdView[int64]{vals: out, scalar: constant}, nil
}

// days reads argument v (kind k) over n rows as local day numbers; text is
// read as Spark casts a string to a date.
func (r *dtRead) days(v val, k dtKind, n int) (mdView[int32], error) {
	constant := v.arr == nil
	if constant {
		n = 1
	}
	switch k {
	case dkDate:
		return mdViewOf[int32](v), nil
	case dkString:
		strs := mdStringsOf(v)
		out := r.alloc32(n)
		for i := range out {
			if isNullAt(v, i) {
				continue
			}
			s := strs.at(i)
			d, f, ok := parseISODate(s)
			if !ok || d < -(1<<31) || d >= 1<<31 {
				if r.try {
					r.out.setNull(i)
					continue
				}
				return mdView[int32]{}, textError(r.src, i, constant, s, "date", nil, f, castHint)
			}
			out[i] = int32(d)
		}
		return mdView[int32]{vals: out, scalar: constant}, nil
	}
	m, err := r.micros(v, k, true, n)
	if err != nil {
		return mdView[int32]{}, err
	}
	out := r.alloc32(n)
	for i := range out {
		out[i] = int32(floorDiv(m.at(i), microsPerDay))
	}
	return mdView[int32]{vals: out, scalar: constant}, nil
}

// ---- fields: year, month, ..., hour, minute, second, last_day ----

type dateField int

const (
	dfYear dateField = iota
	dfQuarter
	dfMonth
	dfDay
	dfDayOfWeek
	dfWeekday
	dfDayOfYear
	dfWeekOfYear
	dfLastDay
	dfHour
	dfMinute
	dfSecond
)

func bindDateField(name string, f dateField) func(b *binder, src string, args []bnode) (bnode, error) {
	return func(b *binder, src string, args []bnode) (bnode, error) {
		x, k, err := dtArg(b, src, name, args[0])
		if err != nil {
			return nil, err
		}
		typ := arrow.DataType(arrow.PrimitiveTypes.Int32)
		if f == dfLastDay {
			typ = date32Type
		}
		timeField := f >= dfHour
		zoneFree := k == dkDate || k == dkWall || (k == dkString && !timeField)
		n := &bFunc{name: name, src: src, args: []bnode{x}, typ: typ, null: x.nullable(),
			fn: func(ev *evalCtx, vals []val) (val, error) {
				if mdHasNull(vals) {
					return mdNull(ev, typ, vals), nil
				}
				n := mdRows(ev, vals)
				o := newMdOut[int32](ev, n, vals...)
				r := &dtRead{ev: ev, z: sessionZone(ev), src: src, out: o}
				defer r.release()
				if timeField {
					m, err := r.micros(vals[0], k, true, n)
					if err != nil {
						o.release()
						return val{}, err
					}
					timeFields(f, m, o.vals)
				} else {
					d, err := r.days(vals[0], k, n)
					if err != nil {
						o.release()
						return val{}, err
					}
					dateFields(f, d, o.vals)
				}
				return o.finish(typ, mdAllConst(vals))
			}}
		return settle(b, n, src, zoneFree)
	}
}

func timeFields(f dateField, m mdView[int64], out []int32) {
	for i := range out {
		tod := floorMod(m.at(i), microsPerDay) / microsPerSecond
		switch f {
		case dfHour:
			out[i] = int32(tod / 3600)
		case dfMinute:
			out[i] = int32(tod / 60 % 60)
		default:
			out[i] = int32(tod % 60)
		}
	}
}

func dateFields(f dateField, d mdView[int32], out []int32) {
	for i := range out {
		days := int64(d.at(i))
		switch f {
		case dfDayOfWeek: // 1 = Sunday
			out[i] = int32(isoWeekday(days)%7 + 1)
			continue
		case dfWeekday: // 0 = Monday
			out[i] = int32(isoWeekday(days) - 1)
			continue
		case dfWeekOfYear:
			out[i] = int32(isoWeek(days))
			continue
		}
		y, m, dd := civilFromDays(days)
		switch f {
		case dfYear:
			out[i] = int32(y)
		case dfQuarter:
			out[i] = int32((m-1)/3 + 1)
		case dfMonth:
			out[i] = int32(m)
		case dfDay:
			out[i] = int32(dd)
		case dfDayOfYear:
			out[i] = int32(days-daysFromCivil(y, 1, 1)) + 1
		case dfLastDay:
			out[i] = int32(days) + int32(daysInMonth(y, m)-dd)
		}
	}
}

// ---- to_timestamp, try_to_timestamp, to_date ----

// layoutArg compiles a constant pattern argument at bind time; for a
// pattern column it returns nil and the pattern is compiled per distinct
// value at run time.
func layoutArg(b *binder, src, fname string, n bnode, parse bool) (bnode, *dtLayout, bool, error) {
	n, err := stringArg(b, src, fname, "pattern", n)
	if err != nil {
		return nil, nil, false, err
	}
	p, isConst, null := constString(n)
	if !isConst || null {
		return n, nil, null, nil
	}
	l, err := compileLayout(p, parse)
	if err != nil {
		return nil, nil, false, fmt.Errorf("expr: %v, in %s", err, b.in(src))
	}
	return n, l, false, nil
}

// layoutCache compiles pattern values of a pattern column, remembering
// the last.
type layoutCache struct {
	parse bool
	last  string
	l     *dtLayout
}

func (c *layoutCache) get(src string, p []byte) (*dtLayout, error) {
	if c.l != nil && string(p) == c.last {
		return c.l, nil
	}
	l, err := compileLayout(string(p), c.parse)
	if err != nil {
		return nil, fmt.Errorf("expr: %v, in %s", err, src)
	}
	c.last, c.l = string(p), l
	return l, nil
}

func bindToTimestamp(name string, try bool) func(b *binder, src string, args []bnode) (bnode, error) {
	return func(b *binder, src string, args []bnode) (bnode, error) {
		x := b.decodeDict(args[0])
		if len(args) == 1 && (isNumeric(x.dataType()) || x.dataType().ID() == arrow.DECIMAL128) {
			return bindTimestampFrom(name, microsPerSecond)(b, src, args)
		}
		x, k, err := dtArg(b, src, name, x)
		if err != nil {
			return nil, err
		}
		if len(args) == 1 {
			if k == dkInstant && arrow.TypeEqual(x.dataType(), timestampUTC) {
				return x, nil
			}
			n := &bFunc{name: name, src: src, args: []bnode{x}, typ: timestampUTC, null: x.nullable() || try,
				fn: func(ev *evalCtx, vals []val) (val, error) {
					if mdHasNull(vals) {
						return mdNull(ev, timestampUTC, vals), nil
					}
					n := mdRows(ev, vals)
					o := newMdOut[int64](ev, n, vals...)
					r := &dtRead{ev: ev, z: sessionZone(ev), src: src, try: try, out: o}
					defer r.release()
					m, err := r.micros(vals[0], k, false, n)
					if err != nil {
						o.release()
						return val{}, err
					}
					copyView(o.vals, m)
					return o.finish(timestampUTC, mdAllConst(vals))
				}}
			return settle(b, n, src, k == dkInstant)
		}
		if k != dkString {
			return nil, fmt.Errorf("expr: %w in %s: %s with a pattern needs a string, but %s is %s; leave out the pattern for a timestamp or date",
				ErrType, b.in(src), name, args[0], typeName(x.dataType()))
		}
		f, l, null, err := layoutArg(b, src, name, args[1], true)
		if err != nil {
			return nil, err
		}
		if null {
			return &bLit{sc: scalar.MakeNullScalar(timestampUTC)}, nil
		}
		n := &bFunc{name: name, src: src, args: []bnode{x, f}, typ: timestampUTC, null: true,
			fn: func(ev *evalCtx, vals []val) (val, error) {
				return parseColumn(ev, src, try, l, vals, false)
			}}
		return settle(b, n, src, false)
	}
}

func bindToDate(b *binder, src string, args []bnode) (bnode, error) {
	x, k, err := dtArg(b, src, "to_date", args[0])
	if err != nil {
		return nil, err
	}
	if len(args) == 1 {
		if k == dkDate {
			return x, nil
		}
		n := &bFunc{name: "to_date", src: src, args: []bnode{x}, typ: date32Type, null: x.nullable(),
			fn: func(ev *evalCtx, vals []val) (val, error) {
				if mdHasNull(vals) {
					return mdNull(ev, date32Type, vals), nil
				}
				n := mdRows(ev, vals)
				o := newMdOut[int32](ev, n, vals...)
				r := &dtRead{ev: ev, z: sessionZone(ev), src: src, out: o}
				defer r.release()
				d, err := r.days(vals[0], k, n)
				if err != nil {
					o.release()
					return val{}, err
				}
				copyView(o.vals, d)
				return o.finish(date32Type, mdAllConst(vals))
			}}
		return settle(b, n, src, k != dkInstant)
	}
	if k != dkString {
		return nil, fmt.Errorf("expr: %w in %s: to_date with a pattern needs a string, but %s is %s; leave out the pattern for a timestamp",
			ErrType, b.in(src), args[0], typeName(x.dataType()))
	}
	f, l, null, err := layoutArg(b, src, "to_date", args[1], true)
	if err != nil {
		return nil, err
	}
	if null {
		return &bLit{sc: scalar.MakeNullScalar(date32Type)}, nil
	}
	n := &bFunc{name: "to_date", src: src, args: []bnode{x, f}, typ: date32Type, null: true,
		fn: func(ev *evalCtx, vals []val) (val, error) {
			return parseColumn(ev, src, false, l, vals, true)
		}}
	return settle(b, n, src, l != nil && !l.zoned)
}

func copyView[T int32 | int64](dst []T, v mdView[T]) {
	if v.scalar {
		for i := range dst {
			dst[i] = v.vals[0]
		}
		return
	}
	copy(dst, v.vals)
}

// parseColumn parses text vals[0] with pattern vals[1] (compiled as l when
// constant) into timestamps, or into dates when date is set. vals are
// borrowed; the result is owned by the caller.
func parseColumn(ev *evalCtx, src string, try bool, l *dtLayout, vals []val, date bool) (val, error) {
	typ := arrow.DataType(timestampUTC)
	if date {
		typ = date32Type
	}
	if mdHasNull(vals) {
		return mdNull(ev, typ, vals), nil
	}
	n := mdRows(ev, vals)
	constant := mdAllConst(vals)
	z := sessionZone(ev)
	strs, pats := mdStringsOf(vals[0]), mdStringsOf(vals[1])
	cache := layoutCache{parse: true}
	var p dtParsed
	as := "timestamp"
	if date {
		as = "date"
	}
	const hint = "use a pattern that matches the text, or try_to_timestamp to get null for text that does not parse"
	if date {
		o := newMdOut[int32](ev, n, vals...)
		for i := range o.vals {
			if o.isNull(i) {
				continue
			}
			lay := l
			if lay == nil {
				var err error
				if lay, err = cache.get(src, pats.at(i)); err != nil {
					o.release()
					return val{}, err
				}
			}
			s := strs.at(i)
			f, ok := lay.parse(s, &p)
			var days int64
			if ok {
				var local int64
				if p.hasOffset || p.loc != nil {
					var inst int64
					inst, f = p.instant(z)
					local = z.toLocal(inst)
				} else {
					local, f = p.local()
				}
				days = floorDiv(local, microsPerDay)
				ok = f.code == pfNone
			}
			if !ok {
				o.release()
				return val{}, textError(src, i, constant, s, as, lay, f, hint)
			}
			o.vals[i] = int32(days)
		}
		return o.finish(typ, constant)
	}
	o := newMdOut[int64](ev, n, vals...)
	for i := range o.vals {
		if o.isNull(i) {
			continue
		}
		lay := l
		if lay == nil {
			var err error
			if lay, err = cache.get(src, pats.at(i)); err != nil {
				o.release()
				return val{}, err
			}
		}
		s := strs.at(i)
		f, ok := lay.parse(s, &p)
		if ok {
			o.vals[i], f = p.instant(z)
			ok = f.code == pfNone
		}
		if !ok {
			if try {
				o.setNull(i)
				continue
			}
			o.release()
			return val{}, textError(src, i, constant, s, as, lay, f, hint)
		}
	}
	return o.finish(typ, constant)
}

// ---- date_format, from_unixtime ----

func bindDateFormat(b *binder, src string, args []bnode) (bnode, error) {
	x, k, err := dtArg(b, src, "date_format", args[0])
	if err != nil {
		return nil, err
	}
	f, l, null, err := layoutArg(b, src, "date_format", args[1], false)
	if err != nil {
		return nil, err
	}
	str := arrow.BinaryTypes.String
	if null {
		return &bLit{sc: scalar.MakeNullScalar(str)}, nil
	}
	n := &bFunc{name: "date_format", src: src, args: []bnode{x, f}, typ: str, null: anyNullable([]bnode{x, f}),
		fn: func(ev *evalCtx, vals []val) (val, error) {
			if mdHasNull(vals) {
				return mdNull(ev, str, vals), nil
			}
			n := mdRows(ev, vals)
			r := &dtRead{ev: ev, z: sessionZone(ev), src: src}
			defer r.release()
			m, err := r.micros(vals[0], k, k == dkWall, n)
			if err != nil {
				return val{}, err
			}
			return formatColumn(ev, src, l, m, k == dkWall, vals, r.z, n)
		}}
	return n, nil
}

// formatColumn formats the instants m (wall-clock times when wall is set)
// with pattern vals[1] (compiled as l when constant) into strings. vals
// are borrowed; the result is owned by the caller.
func formatColumn(ev *evalCtx, src string, l *dtLayout, m mdView[int64], wall bool, vals []val, z *zoneCache, n int) (val, error) {
	valid := mdValidity(ev.mem, n, vals)
	if valid != nil {
		defer valid.Release()
	}
	pats := mdStringsOf(vals[1])
	cache := layoutCache{}
	sb := array.NewStringBuilder(ev.mem)
	defer sb.Release()
	sb.Reserve(n)
	if l != nil {
		sb.ReserveData(n * min(l.maxLen, 32))
	}
	var f dtFields
	f.zc = z
	buf := make([]byte, 0, 64)
	for i := 0; i < n; i++ {
		if valid != nil && !isSet(valid.Bytes(), i) {
			sb.AppendNull()
			continue
		}
		lay := l
		if lay == nil {
			var err error
			if lay, err = cache.get(src, pats.at(i)); err != nil {
				return val{}, err
			}
		}
		inst := m.at(i)
		local := inst
		if wall {
			if lay.zoned {
				inst = z.toUTC(local)
			}
		} else {
			local = z.toLocal(inst)
		}
		f.setLocal(local)
		if lay.zoned {
			f.offset = (local - inst) / microsPerSecond
			f.utcSec = floorDiv(inst, microsPerSecond)
		}
		buf = lay.appendFormat(buf[:0], &f)
		if sb.DataLen()+len(buf) > math.MaxInt32 {
			return val{}, fmt.Errorf("expr: %s at row %d: the formatted strings exceed 2 GiB in one batch, the most an Arrow string array holds; use smaller batches", src, i)
		}
		sb.BinaryBuilder.Append(buf)
	}
	arr := sb.NewArray()
	if mdAllConst(vals) {
		return mdConst(arr)
	}
	return val{arr: arr}, nil
}

func isSet(bits []byte, i int) bool { return bits[i>>3]&(1<<(uint(i)&7)) != 0 }

const defaultPattern = "yyyy-MM-dd HH:mm:ss"

func bindFromUnixtime(b *binder, src string, args []bnode) (bnode, error) {
	x, err := intArg(b, src, "from_unixtime", args[0], arrow.PrimitiveTypes.Int64)
	if err != nil {
		return nil, err
	}
	var f bnode = &bLit{sc: scalar.NewStringScalar(defaultPattern)}
	if len(args) == 2 {
		f = args[1]
	}
	f, l, null, err := layoutArg(b, src, "from_unixtime", f, false)
	if err != nil {
		return nil, err
	}
	str := arrow.BinaryTypes.String
	if null {
		return &bLit{sc: scalar.MakeNullScalar(str)}, nil
	}
	return &bFunc{name: "from_unixtime", src: src, args: []bnode{x, f}, typ: str, null: anyNullable([]bnode{x, f}),
		fn: func(ev *evalCtx, vals []val) (val, error) {
			if mdHasNull(vals) {
				return mdNull(ev, str, vals), nil
			}
			n := mdRows(ev, vals)
			secs := mdViewOf[int64](vals[0])
			buf := memory.NewResizableBuffer(ev.mem)
			defer buf.Release()
			buf.Resize(n * 8)
			us := arrow.GetData[int64](buf.Bytes())[:n]
			for i := range us {
				s := secs.at(i)
				if (s > maxUnixSec || s < minUnixSec) && !isNullAt(vals[0], i) {
					return val{}, fmt.Errorf("expr: %w in %s%s: %d seconds is beyond the range of timestamps (about ±146,000 years)",
						ErrOverflow, src, mdAtRow(i, mdAllConst(vals)), s)
				}
				us[i] = s * microsPerSecond
			}
			return formatColumn(ev, src, l, mdView[int64]{vals: us, scalar: secs.scalar}, false, vals, sessionZone(ev), n)
		}}, nil
}

// ---- date_trunc, trunc ----

type truncUnit int

const (
	tuNone truncUnit = iota
	tuMicrosecond
	tuMillisecond
	tuSecond
	tuMinute
	tuHour
	tuDay
	tuWeek
	tuMonth
	tuQuarter
	tuYear
)

var truncUnits = map[string]truncUnit{
	"microsecond": tuMicrosecond, "millisecond": tuMillisecond, "second": tuSecond,
	"minute": tuMinute, "hour": tuHour, "day": tuDay, "dd": tuDay, "week": tuWeek,
	"month": tuMonth, "mm": tuMonth, "mon": tuMonth, "quarter": tuQuarter,
	"year": tuYear, "yyyy": tuYear, "yy": tuYear,
}

const (
	dateTruncUnits = "year, yyyy, yy, quarter, month, mm, mon, week, day, dd, hour, minute, second, millisecond, microsecond"
	truncUnitsList = "year, yyyy, yy, quarter, month, mm, mon, week"
)

// lookupUnit reads a unit name case-insensitively; tuNone if unknown or
// (for dates) finer than a week.
func lookupUnit(s []byte, dateOnly bool) truncUnit {
	var lower [16]byte
	if len(s) > len(lower) {
		return tuNone
	}
	for i, c := range s {
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		lower[i] = c
	}
	u := truncUnits[string(lower[:len(s)])]
	if dateOnly && u < tuWeek {
		return tuNone
	}
	return u
}

// unitArg reads a constant unit at bind time (an unknown constant unit
// is an error); for a unit column it returns tuNone and units are read
// per row, unknown ones giving null as in Spark.
func unitArg(b *binder, src, fname string, n bnode, dateOnly bool) (bnode, truncUnit, bool, error) {
	n, err := stringArg(b, src, fname, "unit", n)
	if err != nil {
		return nil, 0, false, err
	}
	s, isConst, null := constString(n)
	if !isConst || null {
		return n, tuNone, null, nil
	}
	u := lookupUnit([]byte(s), dateOnly)
	if u == tuNone {
		list := dateTruncUnits
		if dateOnly {
			list = truncUnitsList
		}
		return nil, 0, false, fmt.Errorf("expr: unknown unit %q for %s in %s; use one of %s", s, fname, b.in(src), list)
	}
	return n, u, false, nil
}

// truncDays truncates a day number to the start of its week (Monday),
// month, quarter or year.
func truncDays(days int64, u truncUnit) int64 {
	switch u {
	case tuWeek:
		return days - int64(isoWeekday(days)-1)
	case tuMonth, tuQuarter, tuYear:
		y, m, _ := civilFromDays(days)
		switch u {
		case tuQuarter:
			m = (m-1)/3*3 + 1
		case tuYear:
			m = 1
		}
		return daysFromCivil(y, m, 1)
	}
	return days
}

// truncInstant truncates instant us to unit u in zone z, as Spark's
// date_trunc: milli- and microseconds and seconds on the instant; minutes,
// hours and days on the wall clock keeping the offset when still valid;
// weeks and longer to the start of the local day.
func truncInstant(us int64, u truncUnit, z *zoneCache) int64 {
	switch u {
	case tuMicrosecond:
		return us
	case tuMillisecond:
		return us - floorMod(us, 1000)
	case tuSecond:
		return us - floorMod(us, microsPerSecond)
	}
	local := z.toLocal(us)
	var tl int64
	switch u {
	case tuMinute:
		tl = local - floorMod(local, 60*microsPerSecond)
	case tuHour:
		tl = local - floorMod(local, 3600*microsPerSecond)
	case tuDay:
		tl = local - floorMod(local, microsPerDay)
	default:
		return z.toUTC(truncDays(floorDiv(local, microsPerDay), u) * microsPerDay)
	}
	if z.fixed {
		return tl - z.off*microsPerSecond
	}
	off := local - us
	if cand := tl - off; z.offsetAt(floorDiv(cand, microsPerSecond))*microsPerSecond == off {
		return cand
	}
	return z.toUTC(tl)
}

// truncWall truncates a wall-clock time.
func truncWall(w int64, u truncUnit) int64 {
	switch u {
	case tuMicrosecond:
		return w
	case tuMillisecond:
		return w - floorMod(w, 1000)
	case tuSecond:
		return w - floorMod(w, microsPerSecond)
	case tuMinute:
		return w - floorMod(w, 60*microsPerSecond)
	case tuHour:
		return w - floorMod(w, 3600*microsPerSecond)
	}
	return truncDays(floorDiv(w, microsPerDay), u) * microsPerDay
}

func bindDateTrunc(b *binder, src string, args []bnode) (bnode, error) {
	un, unit, null, err := unitArg(b, src, "date_trunc", args[0], false)
	if err != nil {
		return nil, err
	}
	x, k, err := dtArg(b, src, "date_trunc", args[1])
	if err != nil {
		return nil, err
	}
	typ := arrow.DataType(timestampUTC)
	wall := k == dkWall
	if wall {
		typ = wallType
	}
	if null {
		return &bLit{sc: scalar.MakeNullScalar(typ)}, nil
	}
	n := &bFunc{name: "date_trunc", src: src, args: []bnode{un, x}, typ: typ, null: true,
		fn: func(ev *evalCtx, vals []val) (val, error) {
			if mdHasNull(vals) {
				return mdNull(ev, typ, vals), nil
			}
			n := mdRows(ev, vals)
			o := newMdOut[int64](ev, n, vals...)
			r := &dtRead{ev: ev, z: sessionZone(ev), src: src, out: o}
			defer r.release()
			m, err := r.micros(vals[1], k, wall, n)
			if err != nil {
				o.release()
				return val{}, err
			}
			units := mdStringsOf(vals[0])
			for i := range o.vals {
				u := unit
				if u == tuNone {
					if u = lookupUnit(units.at(i), false); u == tuNone {
						o.setNull(i)
						continue
					}
				}
				if wall {
					o.vals[i] = truncWall(m.at(i), u)
				} else {
					o.vals[i] = truncInstant(m.at(i), u, r.z)
				}
			}
			return o.finish(typ, mdAllConst(vals))
		}}
	return settle(b, n, src, wall)
}

func bindTrunc(b *binder, src string, args []bnode) (bnode, error) {
	x, k, err := dtArg(b, src, "trunc", args[0])
	if err != nil {
		return nil, err
	}
	un, unit, null, err := unitArg(b, src, "trunc", args[1], true)
	if err != nil {
		return nil, err
	}
	if null {
		return &bLit{sc: scalar.MakeNullScalar(date32Type)}, nil
	}
	n := &bFunc{name: "trunc", src: src, args: []bnode{x, un}, typ: date32Type, null: true,
		fn: func(ev *evalCtx, vals []val) (val, error) {
			if mdHasNull(vals) {
				return mdNull(ev, date32Type, vals), nil
			}
			n := mdRows(ev, vals)
			o := newMdOut[int32](ev, n, vals...)
			r := &dtRead{ev: ev, z: sessionZone(ev), src: src, out: o}
			defer r.release()
			d, err := r.days(vals[0], k, n)
			if err != nil {
				o.release()
				return val{}, err
			}
			units := mdStringsOf(vals[1])
			for i := range o.vals {
				u := unit
				if u == tuNone {
					if u = lookupUnit(units.at(i), true); u == tuNone {
						o.setNull(i)
						continue
					}
				}
				o.vals[i] = int32(truncDays(int64(d.at(i)), u))
			}
			return o.finish(date32Type, mdAllConst(vals))
		}}
	return settle(b, n, src, k != dkInstant)
}

// ---- unix time ----

func bindUnixTimestamp(name string) func(b *binder, src string, args []bnode) (bnode, error) {
	i64 := arrow.PrimitiveTypes.Int64
	return func(b *binder, src string, args []bnode) (bnode, error) {
		if len(args) == 0 {
			return &bFunc{name: name, src: src, typ: i64,
				fn: func(ev *evalCtx, _ []val) (val, error) {
					return val{sc: scalar.NewInt64Scalar(floorDiv(ev.now, microsPerSecond))}, nil
				}}, nil
		}
		x, k, err := dtArg(b, src, name, args[0])
		if err != nil {
			return nil, err
		}
		if k == dkString {
			var f bnode = &bLit{sc: scalar.NewStringScalar(defaultPattern)}
			if len(args) == 2 {
				f = args[1]
			}
			f, l, null, err := layoutArg(b, src, name, f, true)
			if err != nil {
				return nil, err
			}
			if null {
				return &bLit{sc: scalar.MakeNullScalar(i64)}, nil
			}
			return &bFunc{name: name, src: src, args: []bnode{x, f}, typ: i64, null: true,
				fn: func(ev *evalCtx, vals []val) (val, error) {
					v, err := parseColumn(ev, src, false, l, vals, false)
					if err != nil {
						return val{}, err
					}
					return toUnits(ev, v, microsPerSecond)
				}}, nil
		}
		if len(args) == 2 {
			return nil, fmt.Errorf("expr: %w in %s: %s with a pattern needs a string, but %s is %s; leave out the pattern",
				ErrType, b.in(src), name, args[0], typeName(x.dataType()))
		}
		return bindUnixUnitsOf(b, src, name, x, k, microsPerSecond)
	}
}

// toUnits divides timestamps v (consumed: released here) into whole units
// (floor). The result is owned by the caller.
func toUnits(ev *evalCtx, v val, unit int64) (val, error) {
	defer v.release()
	i64 := arrow.PrimitiveTypes.Int64
	if v.arr == nil {
		if !v.sc.IsValid() {
			return val{sc: scalar.MakeNullScalar(i64)}, nil
		}
		return val{sc: scalar.NewInt64Scalar(floorDiv(int64(v.sc.(*scalar.Timestamp).Value), unit))}, nil
	}
	x := mdViewOf[int64](v)
	o := newMdOut[int64](ev, v.arr.Len(), v)
	for i := range o.vals {
		o.vals[i] = floorDiv(x.at(i), unit)
	}
	return o.finish(i64, false)
}

func bindUnixUnits(name string, unit int64) func(b *binder, src string, args []bnode) (bnode, error) {
	return func(b *binder, src string, args []bnode) (bnode, error) {
		x, k, err := dtArg(b, src, name, args[0])
		if err != nil {
			return nil, err
		}
		return bindUnixUnitsOf(b, src, name, x, k, unit)
	}
}

func bindUnixUnitsOf(b *binder, src, name string, x bnode, k dtKind, unit int64) (bnode, error) {
	i64 := arrow.PrimitiveTypes.Int64
	n := &bFunc{name: name, src: src, args: []bnode{x}, typ: i64, null: x.nullable(),
		fn: func(ev *evalCtx, vals []val) (val, error) {
			if mdHasNull(vals) {
				return mdNull(ev, i64, vals), nil
			}
			n := mdRows(ev, vals)
			o := newMdOut[int64](ev, n, vals...)
			r := &dtRead{ev: ev, z: sessionZone(ev), src: src, out: o}
			defer r.release()
			m, err := r.micros(vals[0], k, false, n)
			if err != nil {
				o.release()
				return val{}, err
			}
			for i := range o.vals {
				o.vals[i] = floorDiv(m.at(i), unit)
			}
			return o.finish(i64, mdAllConst(vals))
		}}
	return settle(b, n, src, k == dkInstant)
}

// bindTimestampFrom is timestamp_seconds, _millis and _micros: a number
// of units since the epoch. Integers that overflow are errors; for
// seconds, a float is accepted too (NaN and infinities give null).
func bindTimestampFrom(name string, unit int64) func(b *binder, src string, args []bnode) (bnode, error) {
	return func(b *binder, src string, args []bnode) (bnode, error) {
		x := b.decodeDict(args[0])
		t := x.dataType()
		float := false
		switch {
		case unit == microsPerSecond && (isFloat(t) || t.ID() == arrow.DECIMAL128):
			c, err := b.castTo(x, arrow.PrimitiveTypes.Float64, src)
			if err != nil {
				return nil, err
			}
			x, float = c, true
		default:
			c, err := intArg(b, src, name, x, arrow.PrimitiveTypes.Int64)
			if err != nil {
				return nil, err
			}
			x = c
		}
		n := &bFunc{name: name, src: src, args: []bnode{x}, typ: timestampUTC, null: x.nullable() || float,
			fn: func(ev *evalCtx, vals []val) (val, error) {
				if mdHasNull(vals) {
					return mdNull(ev, timestampUTC, vals), nil
				}
				n := mdRows(ev, vals)
				o := newMdOut[int64](ev, n, vals...)
				constant := mdAllConst(vals)
				if float {
					x := mdViewOf[float64](vals[0])
					for i := range o.vals {
						v := x.at(i)
						if math.IsNaN(v) || math.IsInf(v, 0) {
							o.setNull(i)
							continue
						}
						us := v * float64(unit)
						if !(us >= -(1<<63) && us < 1<<63) {
							if o.isNull(i) {
								continue
							}
							o.release()
							return val{}, fmt.Errorf("expr: %w in %s%s: %s seconds is beyond the range of timestamps",
								ErrOverflow, src, mdAtRow(i, constant), formatFloat(v, 64))
						}
						o.vals[i] = int64(us)
					}
					return o.finish(timestampUTC, constant)
				}
				x := mdViewOf[int64](vals[0])
				lim := int64(1<<63-1) / unit
				for i := range o.vals {
					v := x.at(i)
					if (v > lim || v < -lim) && !o.isNull(i) {
						o.release()
						return val{}, fmt.Errorf("expr: %w in %s%s: %d does not fit in a timestamp (microseconds in a bigint)",
							ErrOverflow, src, mdAtRow(i, constant), v)
					}
					o.vals[i] = v * unit
				}
				return o.finish(timestampUTC, constant)
			}}
		return settle(b, n, src, true)
	}
}

func bindUnixDate(b *binder, src string, args []bnode) (bnode, error) {
	x, k, err := dtArg(b, src, "unix_date", args[0])
	if err != nil {
		return nil, err
	}
	i32 := arrow.PrimitiveTypes.Int32
	n := &bFunc{name: "unix_date", src: src, args: []bnode{x}, typ: i32, null: x.nullable(),
		fn: func(ev *evalCtx, vals []val) (val, error) {
			if mdHasNull(vals) {
				return mdNull(ev, i32, vals), nil
			}
			n := mdRows(ev, vals)
			o := newMdOut[int32](ev, n, vals...)
			r := &dtRead{ev: ev, z: sessionZone(ev), src: src, out: o}
			defer r.release()
			d, err := r.days(vals[0], k, n)
			if err != nil {
				o.release()
				return val{}, err
			}
			copyView(o.vals, d)
			return o.finish(i32, mdAllConst(vals))
		}}
	return settle(b, n, src, k != dkInstant)
}

func bindDateFromUnixDate(b *binder, src string, args []bnode) (bnode, error) {
	x, err := intArg(b, src, "date_from_unix_date", args[0], arrow.PrimitiveTypes.Int32)
	if err != nil {
		return nil, err
	}
	n := &bFunc{name: "date_from_unix_date", src: src, args: []bnode{x}, typ: date32Type, null: x.nullable(),
		fn: func(ev *evalCtx, vals []val) (val, error) {
			if mdHasNull(vals) {
				return mdNull(ev, date32Type, vals), nil
			}
			o := newMdOut[int32](ev, mdRows(ev, vals), vals...)
			copyView(o.vals, mdViewOf[int32](vals[0]))
			return o.finish(date32Type, mdAllConst(vals))
		}}
	return b.fold(n, src)
}

// ---- date arithmetic ----

func bindDateAdd(name string, sign int64) func(b *binder, src string, args []bnode) (bnode, error) {
	return func(b *binder, src string, args []bnode) (bnode, error) {
		x, k, err := dtArg(b, src, name, args[0])
		if err != nil {
			return nil, err
		}
		days, err := intArg(b, src, name, args[1], arrow.PrimitiveTypes.Int32)
		if err != nil {
			return nil, err
		}
		n := &bFunc{name: name, src: src, args: []bnode{x, days}, typ: date32Type, null: anyNullable([]bnode{x, days}),
			fn: func(ev *evalCtx, vals []val) (val, error) {
				if mdHasNull(vals) {
					return mdNull(ev, date32Type, vals), nil
				}
				n := mdRows(ev, vals)
				o := newMdOut[int32](ev, n, vals...)
				r := &dtRead{ev: ev, z: sessionZone(ev), src: src, out: o}
				defer r.release()
				d, err := r.days(vals[0], k, n)
				if err != nil {
					o.release()
					return val{}, err
				}
				add := mdViewOf[int32](vals[1])
				for i := range o.vals {
					v := int64(d.at(i)) + sign*int64(add.at(i))
					if v != int64(int32(v)) && !o.isNull(i) {
						o.release()
						return val{}, fmt.Errorf("expr: %w in %s%s: day %d %+d days is beyond the range of dates",
							ErrOverflow, src, mdAtRow(i, mdAllConst(vals)), d.at(i), sign*int64(add.at(i)))
					}
					o.vals[i] = int32(v)
				}
				return o.finish(date32Type, mdAllConst(vals))
			}}
		return settle(b, n, src, k != dkInstant)
	}
}

// addMonths adds n months to day number days, clamping the day to the
// end of a shorter month (2024-01-31 + 1 month = 2024-02-29).
func addMonths(days int64, n int64) (int64, bool) {
	y, m, d := civilFromDays(days)
	total := y*12 + int64(m-1) + n
	ny, nm := floorDiv(total, 12), int(floorMod(total, 12))+1
	if ny < -5_000_000 || ny > 5_000_000 {
		return 0, false
	}
	d = min(d, daysInMonth(ny, nm))
	out := daysFromCivil(ny, nm, d)
	return out, out == int64(int32(out))
}

func bindAddMonths(b *binder, src string, args []bnode) (bnode, error) {
	x, k, err := dtArg(b, src, "add_months", args[0])
	if err != nil {
		return nil, err
	}
	months, err := intArg(b, src, "add_months", args[1], arrow.PrimitiveTypes.Int32)
	if err != nil {
		return nil, err
	}
	n := &bFunc{name: "add_months", src: src, args: []bnode{x, months}, typ: date32Type, null: anyNullable([]bnode{x, months}),
		fn: func(ev *evalCtx, vals []val) (val, error) {
			if mdHasNull(vals) {
				return mdNull(ev, date32Type, vals), nil
			}
			n := mdRows(ev, vals)
			o := newMdOut[int32](ev, n, vals...)
			r := &dtRead{ev: ev, z: sessionZone(ev), src: src, out: o}
			defer r.release()
			d, err := r.days(vals[0], k, n)
			if err != nil {
				o.release()
				return val{}, err
			}
			add := mdViewOf[int32](vals[1])
			for i := range o.vals {
				v, ok := addMonths(int64(d.at(i)), int64(add.at(i)))
				if !ok && !o.isNull(i) {
					o.release()
					return val{}, fmt.Errorf("expr: %w in %s%s: day %d %+d months is beyond the range of dates",
						ErrOverflow, src, mdAtRow(i, mdAllConst(vals)), d.at(i), add.at(i))
				}
				o.vals[i] = int32(v)
			}
			return o.finish(date32Type, mdAllConst(vals))
		}}
	return settle(b, n, src, k != dkInstant)
}

func bindDateDiff(name string) func(b *binder, src string, args []bnode) (bnode, error) {
	i32 := arrow.PrimitiveTypes.Int32
	return func(b *binder, src string, args []bnode) (bnode, error) {
		end, ke, err := dtArg(b, src, name, args[0])
		if err != nil {
			return nil, err
		}
		start, ks, err := dtArg(b, src, name, args[1])
		if err != nil {
			return nil, err
		}
		n := &bFunc{name: name, src: src, args: []bnode{end, start}, typ: i32, null: anyNullable([]bnode{end, start}),
			fn: func(ev *evalCtx, vals []val) (val, error) {
				if mdHasNull(vals) {
					return mdNull(ev, i32, vals), nil
				}
				n := mdRows(ev, vals)
				o := newMdOut[int32](ev, n, vals...)
				r := &dtRead{ev: ev, z: sessionZone(ev), src: src, out: o}
				defer r.release()
				e, err := r.days(vals[0], ke, n)
				if err != nil {
					o.release()
					return val{}, err
				}
				s, err := r.days(vals[1], ks, n)
				if err != nil {
					o.release()
					return val{}, err
				}
				for i := range o.vals {
					v := int64(e.at(i)) - int64(s.at(i))
					if v != int64(int32(v)) && !o.isNull(i) {
						o.release()
						return val{}, fmt.Errorf("expr: %w in %s%s: %d days does not fit in int", ErrOverflow, src, mdAtRow(i, mdAllConst(vals)), v)
					}
					o.vals[i] = int32(v)
				}
				return o.finish(i32, mdAllConst(vals))
			}}
		return settle(b, n, src, ke != dkInstant && ks != dkInstant)
	}
}

// monthsBetween is Spark's months_between: whole months when the days of
// month are equal or both are month ends, else the difference with the
// remaining time counted in months of 31 days; rounded to 8 digits when
// roundOff is set. Arguments are wall-clock microseconds and the seconds
// since the start of their local day.
func monthsBetween(l1, l2, s1, s2 int64, roundOff bool) float64 {
	d1, d2 := floorDiv(l1, microsPerDay), floorDiv(l2, microsPerDay)
	y1, m1, dd1 := civilFromDays(d1)
	y2, m2, dd2 := civilFromDays(d2)
	diff := float64((y1*12 + int64(m1)) - (y2*12 + int64(m2)))
	end1, end2 := dd1 == daysInMonth(y1, m1), dd2 == daysInMonth(y2, m2)
	if dd1 == dd2 || (end1 && end2) {
		return diff
	}
	secs := int64(dd1-dd2)*86400 + s1 - s2
	diff += float64(secs) / (31 * 86400)
	if roundOff {
		return javaRound(diff*1e8) / 1e8
	}
	return diff
}

// javaRound is Java's Math.round for doubles: floor(x + 0.5).
func javaRound(x float64) float64 {
	if x != x {
		return 0
	}
	r := float64(int64(x + 0.5))
	if x+0.5 < 0 && r != x+0.5 {
		r--
	}
	return r
}

func bindMonthsBetween(b *binder, src string, args []bnode) (bnode, error) {
	t1, k1, err := dtArg(b, src, "months_between", args[0])
	if err != nil {
		return nil, err
	}
	t2, k2, err := dtArg(b, src, "months_between", args[1])
	if err != nil {
		return nil, err
	}
	roundOff := true
	if len(args) == 3 {
		c, ok := args[2].(*bLit)
		if !ok || !isBoolean(c.dataType()) || !c.sc.IsValid() {
			return nil, fmt.Errorf("expr: %w in %s: the third argument of months_between (round off) must be a constant boolean", ErrType, b.in(src))
		}
		roundOff = c.sc.(*scalar.Boolean).Value
	}
	f64 := arrow.PrimitiveTypes.Float64
	n := &bFunc{name: "months_between", src: src, args: []bnode{t1, t2}, typ: f64, null: anyNullable([]bnode{t1, t2}),
		fn: func(ev *evalCtx, vals []val) (val, error) {
			if mdHasNull(vals) {
				return mdNull(ev, f64, vals), nil
			}
			n := mdRows(ev, vals)
			o := newMdOut[float64](ev, n, vals...)
			r := &dtRead{ev: ev, z: sessionZone(ev), src: src, out: o}
			defer r.release()
			a, err := r.micros(vals[0], k1, false, n)
			if err != nil {
				o.release()
				return val{}, err
			}
			c, err := r.micros(vals[1], k2, false, n)
			if err != nil {
				o.release()
				return val{}, err
			}
			for i := range o.vals {
				u1, u2 := a.at(i), c.at(i)
				l1, l2 := r.z.toLocal(u1), r.z.toLocal(u2)
				s1 := floorDiv(u1-r.z.toUTC(floorDiv(l1, microsPerDay)*microsPerDay), 1000) / 1000
				s2 := floorDiv(u2-r.z.toUTC(floorDiv(l2, microsPerDay)*microsPerDay), 1000) / 1000
				o.vals[i] = monthsBetween(l1, l2, s1, s2, roundOff)
			}
			return o.finish(f64, mdAllConst(vals))
		}}
	return settle(b, n, src, false)
}

// ---- current time, zone shifts ----

func bindCurrentTimestamp(_ *binder, src string, _ []bnode) (bnode, error) {
	return &bFunc{name: "current_timestamp", src: src, typ: timestampUTC,
		fn: func(ev *evalCtx, _ []val) (val, error) {
			return val{sc: scalar.NewTimestampScalar(arrow.Timestamp(ev.now), timestampUTC)}, nil
		}}, nil
}

func bindCurrentDate(_ *binder, src string, _ []bnode) (bnode, error) {
	return &bFunc{name: "current_date", src: src, typ: date32Type,
		fn: func(ev *evalCtx, _ []val) (val, error) {
			local := sessionZone(ev).toLocal(ev.now)
			return val{sc: scalar.NewDate32Scalar(arrow.Date32(floorDiv(local, microsPerDay)))}, nil
		}}, nil
}

// bindUTCShift is from_utc_timestamp (fromUTC) and to_utc_timestamp:
// shift a timestamp by the offset of zone tz, as Spark does.
func bindUTCShift(name string, fromUTC bool) func(b *binder, src string, args []bnode) (bnode, error) {
	return func(b *binder, src string, args []bnode) (bnode, error) {
		x, k, err := dtArg(b, src, name, args[0])
		if err != nil {
			return nil, err
		}
		tzn, err := stringArg(b, src, name, "time zone", args[1])
		if err != nil {
			return nil, err
		}
		var zone *time.Location
		if s, isConst, null := constString(tzn); isConst {
			if null {
				return &bLit{sc: scalar.MakeNullScalar(timestampUTC)}, nil
			}
			if zone, err = loadZone(s); err != nil {
				return nil, fmt.Errorf("expr: %v, in %s", err, b.in(src))
			}
		}
		n := &bFunc{name: name, src: src, args: []bnode{x, tzn}, typ: timestampUTC, null: anyNullable([]bnode{x, tzn}),
			fn: func(ev *evalCtx, vals []val) (val, error) {
				if mdHasNull(vals) {
					return mdNull(ev, timestampUTC, vals), nil
				}
				n := mdRows(ev, vals)
				constant := mdAllConst(vals)
				o := newMdOut[int64](ev, n, vals...)
				r := &dtRead{ev: ev, z: sessionZone(ev), src: src, out: o}
				defer r.release()
				m, err := r.micros(vals[0], k, k == dkWall, n)
				if err != nil {
					o.release()
					return val{}, err
				}
				var zc *zoneCache
				if zone != nil {
					zc = newZoneCache(zone)
				}
				names := mdStringsOf(vals[1])
				var last string
				for i := range o.vals {
					if o.isNull(i) {
						continue
					}
					if zone == nil {
						s := names.at(i)
						if zc == nil || string(s) != last {
							loc, err := loadZone(string(s))
							if err != nil {
								o.release()
								return val{}, fmt.Errorf("expr: %v, in %s%s", err, src, mdAtRow(i, constant))
							}
							zc, last = newZoneCache(loc), string(s)
						}
					}
					if fromUTC {
						o.vals[i] = zc.toLocal(m.at(i))
					} else {
						o.vals[i] = zc.toUTC(m.at(i))
					}
				}
				return o.finish(timestampUTC, constant)
			}}
		return settle(b, n, src, k == dkInstant || k == dkWall)
	}
}
