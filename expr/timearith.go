package expr

import (
	"fmt"
	"strconv"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/scalar"
)

// This file adds intervals to timestamps: Interval("10 seconds") is a
// constant duration (a microsecond Arrow duration, as Lit of a
// time.Duration), and a timestamp plus or minus a duration is a timestamp
// of the same unit and zone, as Spark's ts + INTERVAL '10' SECOND.
// Overflow is an error, like all arithmetic.

var durationUs = &arrow.DurationType{Unit: arrow.Microsecond}

// Interval is a constant interval, written as ParseInterval reads it
// ("10 seconds", "1 minute 30 seconds", "250ms"). Added to or subtracted
// from a timestamp it shifts it: Col("ts").Sub(Interval("10 seconds")).
// A string ParseInterval refuses makes Bind fail with its error.
func Interval(s string) Expr {
	d, err := ParseInterval(s)
	if err != nil {
		return Expr{&litNode{err: fmt.Errorf("expr: Interval(%q): %w", s, err)}}
	}
	return Lit(d)
}

// formatDuration renders a duration constant as an interval literal,
// INTERVAL '<n> <unit>' with the largest unit that divides it exactly.
func formatDuration(s *scalar.Duration) string {
	mul, div := unitScale(s.Type.(*arrow.DurationType).Unit)
	v := int64(s.Value)
	us := v * mul / div
	if mul == 1 && div == 1 && s.Type.(*arrow.DurationType).Unit == arrow.Nanosecond {
		us = v / 1000
	}
	units := []struct {
		name string
		us   int64
	}{{"days", 86_400_000_000}, {"hours", 3_600_000_000}, {"minutes", 60_000_000}, {"seconds", 1_000_000}, {"milliseconds", 1000}, {"microseconds", 1}}
	for _, u := range units {
		if us%u.us == 0 && us != 0 {
			return "INTERVAL '" + strconv.FormatInt(us/u.us, 10) + " " + u.name + "'"
		}
	}
	return "INTERVAL '0 seconds'"
}

// bTimeShift is a timestamp plus or minus a duration.
type bTimeShift struct {
	op  binOp // opAdd or opSub
	ts  bnode // the timestamp
	d   bnode // the duration
	src string
	// flipped: written as duration + timestamp.
	flipped bool
}

func (t *bTimeShift) dataType() arrow.DataType { return t.ts.dataType() }
func (t *bTimeShift) nullable() bool           { return t.ts.nullable() || t.d.nullable() }
func (t *bTimeShift) children() []bnode {
	if t.flipped {
		return []bnode{t.d, t.ts}
	}
	return []bnode{t.ts, t.d}
}

func (t *bTimeShift) String() string {
	if t.flipped {
		return formatBinary(t.op, t.d.String(), t.ts.String())
	}
	return formatBinary(t.op, t.ts.String(), t.d.String())
}

// timeShiftNode returns the node of l op r when it adds a duration to a
// timestamp (or subtracts one from it), and false otherwise.
func timeShiftNode(op binOp, src string, l, r bnode) (bnode, bool) {
	if op != opAdd && op != opSub {
		return nil, false
	}
	_, lts := l.dataType().(*arrow.TimestampType)
	_, rts := r.dataType().(*arrow.TimestampType)
	_, ldur := l.dataType().(*arrow.DurationType)
	_, rdur := r.dataType().(*arrow.DurationType)
	switch {
	case lts && rdur:
		return &bTimeShift{op: op, ts: l, d: r, src: src}, true
	case ldur && rts && op == opAdd:
		return &bTimeShift{op: op, ts: r, d: l, src: src, flipped: true}, true
	}
	return nil, false
}

func (t *bTimeShift) eval(ev *evalCtx) (val, error) {
	tv, err := t.ts.eval(ev)
	if err != nil {
		return val{}, err
	}
	defer tv.release()
	dv, err := t.d.eval(ev)
	if err != nil {
		return val{}, err
	}
	defer dv.release()
	tsType := t.ts.dataType().(*arrow.TimestampType)
	// The duration in the timestamp's unit; a remainder finer than the
	// unit is an error rather than silently dropped.
	if dv.sc != nil && !dv.sc.IsValid() || tv.sc != nil && !tv.sc.IsValid() {
		return nullResult(ev, tsType, tv, dv)
	}
	dUnit := t.d.dataType().(*arrow.DurationType).Unit
	tsInt := asInt64(tv)
	defer tsInt.release()
	dInt, err := durationIn(ev, dv, dUnit, tsType.Unit, t.src)
	if err != nil {
		return val{}, err
	}
	defer dInt.release()
	a := &bArith{op: t.op, typ: arrow.PrimitiveTypes.Int64, src: t.src}
	l, r := tsInt, dInt
	if t.flipped {
		l, r = dInt, tsInt
	}
	out, err := arith[int64](ev, a, l, r, signedOps[int64])
	if err != nil {
		return val{}, err
	}
	return relabel(out, tsType), nil
}

// asInt64 views a timestamp or duration value as int64 (the arrays share
// buffers; the caller releases the result).
func asInt64(v val) val {
	if v.arr != nil {
		return val{arr: retype(v.arr, arrow.PrimitiveTypes.Int64)}
	}
	switch s := v.sc.(type) {
	case *scalar.Timestamp:
		return val{sc: scalar.NewInt64Scalar(int64(s.Value))}
	case *scalar.Duration:
		return val{sc: scalar.NewInt64Scalar(int64(s.Value))}
	}
	return v
}

// retype returns arr's data as another fixed-width type of the same size
// (owned by the caller).
func retype(arr arrow.Array, to arrow.DataType) arrow.Array {
	d := arr.Data()
	nd := array.NewData(to, d.Len(), d.Buffers(), nil, d.NullN(), d.Offset())
	defer nd.Release()
	return array.MakeFromData(nd)
}

// relabel turns an int64 result into a timestamp of typ (v is consumed).
func relabel(v val, typ *arrow.TimestampType) val {
	if v.arr != nil {
		out := retype(v.arr, typ)
		v.arr.Release()
		return val{arr: out}
	}
	if s, ok := v.sc.(*scalar.Int64); ok && s.IsValid() {
		return val{sc: scalar.NewTimestampScalar(arrow.Timestamp(s.Value), typ)}
	}
	return val{sc: scalar.MakeNullScalar(typ)}
}

// durationIn converts a duration value from unit from to unit to, as
// int64; a value that does not convert exactly is an error.
func durationIn(ev *evalCtx, v val, from, to arrow.TimeUnit, src string) (val, error) {
	if from == to {
		return asInt64(v), nil
	}
	fm, fd := unitScale(from) // µs = v * fd / fm, v = µs * fm / fd
	tm, td := unitScale(to)
	conv := func(x int64) (int64, bool) {
		// x in from -> µs -> to, exactly.
		var us int64
		if from == arrow.Nanosecond {
			if x%1000 != 0 {
				return 0, false
			}
			us = x / 1000
		} else {
			us = x * fd / fm
		}
		if to == arrow.Nanosecond {
			return us * 1000, true
		}
		if us*tm%td != 0 {
			return 0, false
		}
		return us * tm / td, true
	}
	if v.sc != nil {
		x, ok := conv(int64(v.sc.(*scalar.Duration).Value))
		if !ok {
			return val{}, fmt.Errorf("expr: %w in %s: the interval is finer than the timestamp's unit %s; use a whole number of %s", ErrType, src, to, to)
		}
		return val{sc: scalar.NewInt64Scalar(x)}, nil
	}
	b := array.NewInt64Builder(ev.mem)
	defer b.Release()
	d := v.arr.(*array.Duration)
	for i := 0; i < d.Len(); i++ {
		if d.IsNull(i) {
			b.AppendNull()
			continue
		}
		x, ok := conv(int64(d.Value(i)))
		if !ok {
			return val{}, fmt.Errorf("expr: %w in %s at row %d: the interval is finer than the timestamp's unit %s", ErrType, src, i, to)
		}
		b.Append(x)
	}
	return val{arr: b.NewArray()}, nil
}
