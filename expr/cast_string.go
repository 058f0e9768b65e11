package expr

import (
	"bytes"
	"fmt"
	"math"
	"strconv"
	"sync"
	"time"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
)

// Casts from and to strings, with Spark's formats: numbers as Java prints
// them (1.0E10, 0.001), timestamps as "yyyy-MM-dd HH:mm:ss[.ffffff]" in
// UTC, dates as "yyyy-MM-dd", arrays as "[1, 2]", structs as "{1, a}",
// maps as "{k -> v}". Strings are read after trimming ASCII whitespace and
// control characters at both ends, as Spark does.

// strCol reads a string or binary array (32-bit offsets) in place.
type strCol struct {
	offs []int32
	data []byte
}

func strColOf(in arrow.Array) strCol {
	d := in.Data()
	if d.Len() == 0 || d.Buffers()[1] == nil {
		return strCol{offs: []int32{0}}
	}
	offs := fixedValuesAt[int32](d, 1, d.Offset(), d.Len()+1)
	var data []byte
	if b := d.Buffers()[2]; b != nil {
		data = b.Bytes()
	}
	return strCol{offs: offs, data: data}
}

// fixedValuesAt is values [off, off+n) of buffer i read as T.
func fixedValuesAt[T any](d arrow.ArrayData, i, off, n int) []T {
	b := d.Buffers()[i].Bytes()
	var zero T
	all := unsafe.Slice((*T)(unsafe.Pointer(unsafe.SliceData(b))), len(b)/int(unsafe.Sizeof(zero)))
	return all[off : off+n]
}

func (s strCol) at(i int) []byte { return s.data[s.offs[i]:s.offs[i+1]] }

// trimControl drops bytes <= ' ' (whitespace and control characters) at
// both ends.
func trimControl(b []byte) []byte {
	for len(b) > 0 && b[0] <= ' ' {
		b = b[1:]
	}
	for len(b) > 0 && b[len(b)-1] <= ' ' {
		b = b[:len(b)-1]
	}
	return b
}

func bytesString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// stringCastFail is the failure for string row i that is not a valid value of
// type to.
func stringCastFail(s strCol, i int, to arrow.DataType, why string) *castFail {
	return &castFail{row: i, value: sparkLiteral(arrow.BinaryTypes.String, string(s.at(i))), to: to, why: why}
}

var (
	trueStrings  = [][]byte{[]byte("t"), []byte("true"), []byte("y"), []byte("yes"), []byte("1")}
	falseStrings = [][]byte{[]byte("f"), []byte("false"), []byte("n"), []byte("no"), []byte("0")}
)

// castStringToBool accepts t, true, y, yes, 1 and f, false, n, no, 0 in
// any case, as Spark.
func castStringToBool(cc *castCtx, in arrow.Array) (arrow.Array, error) {
	s := strColOf(in)
	return boolCast(cc, in, func(m *nullMask, out []byte) error {
		for i := 0; i < in.Len(); i++ {
			if !m.valid(i) {
				continue
			}
			v := trimControl(s.at(i))
			switch {
			case matchAny(v, trueStrings):
				out[i>>3] |= 1 << (i & 7)
			case matchAny(v, falseStrings):
			default:
				if err := cc.fail(m, stringCastFail(s, i, arrow.FixedWidthTypes.Boolean, "")); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

func matchAny(v []byte, set [][]byte) bool {
	for _, s := range set {
		if bytes.EqualFold(v, s) {
			return true
		}
	}
	return false
}

// parseUint reads digits into a uint64, reporting overflow or a non-digit.
func parseUint(b []byte) (uint64, bool) {
	if len(b) == 0 {
		return 0, false
	}
	var v uint64
	for _, c := range b {
		d := uint64(c - '0')
		if d > 9 {
			return 0, false
		}
		if v > (math.MaxUint64-d)/10 {
			return 0, false
		}
		v = v*10 + d
	}
	return v, true
}

// parseIntBytes reads [+-]digits as a signed value within [-2^63, 2^63)
// or, for unsigned targets, [0, 2^64).
func parseIntBytes(b []byte) (neg bool, mag uint64, ok bool) {
	if len(b) > 0 && (b[0] == '+' || b[0] == '-') {
		neg = b[0] == '-'
		b = b[1:]
	}
	mag, ok = parseUint(b)
	return neg, mag, ok
}

// castStringToInt reads base-10 integers: Spark's ANSI cast rejects a
// fraction ("1.5") and values out of the type's range.
func castStringToInt(to arrow.DataType) caster {
	switch to.ID() {
	case arrow.INT8:
		return stringToInt[int8]
	case arrow.INT16:
		return stringToInt[int16]
	case arrow.INT32:
		return stringToInt[int32]
	case arrow.INT64:
		return stringToInt[int64]
	case arrow.UINT8:
		return stringToInt[uint8]
	case arrow.UINT16:
		return stringToInt[uint16]
	case arrow.UINT32:
		return stringToInt[uint32]
	}
	return stringToInt[uint64]
}

func stringToInt[T signedInt | unsignedInt](cc *castCtx, in arrow.Array) (arrow.Array, error) {
	s := strColOf(in)
	typ := arrowTypeOf[T]()
	var zero T
	bitsT := int(unsafe.Sizeof(zero)) * 8
	maxPos := uint64(1)<<(bitsT-1) - 1
	maxNeg := uint64(1) << (bitsT - 1)
	if !isSignedInt[T]() {
		maxPos = maxPos<<1 | 1
		maxNeg = 0
	}
	return fixedCast(cc, in, typ, func(m *nullMask, out []T) error {
		for i := range out {
			out[i] = 0
			if !m.valid(i) {
				continue
			}
			neg, mag, ok := parseIntBytes(trimControl(s.at(i)))
			why := ""
			if ok && ((neg && mag > maxNeg) || (!neg && mag > maxPos)) {
				ok, why = false, "the number is out of the range of "+TypeString(typ)
			}
			if !ok {
				if err := cc.fail(m, stringCastFail(s, i, typ, why)); err != nil {
					return err
				}
				continue
			}
			if neg {
				out[i] = T(-mag)
			} else {
				out[i] = T(mag)
			}
		}
		return nil
	})
}

// castStringToFloat reads numbers as Java's Double.parseDouble: decimal or
// hexadecimal notation, an optional d/f suffix, NaN, Infinity and inf in
// any case; values beyond the range are infinite.
func castStringToFloat(to arrow.DataType) caster {
	bits := 64
	if to.ID() == arrow.FLOAT32 {
		bits = 32
	}
	return func(cc *castCtx, in arrow.Array) (arrow.Array, error) {
		s := strColOf(in)
		f64, err := fixedCast(cc, in, arrow.PrimitiveTypes.Float64, func(m *nullMask, out []float64) error {
			for i := range out {
				out[i] = 0
				if !m.valid(i) {
					continue
				}
				v := trimControl(s.at(i))
				if n := len(v); n > 1 {
					switch v[n-1] {
					case 'd', 'D', 'f', 'F':
						if c := v[n-2]; (c >= '0' && c <= '9') || c == '.' {
							v = v[:n-1]
						}
					}
				}
				f, err := strconv.ParseFloat(bytesString(v), bits)
				if err != nil && !isRangeErr(err) || bytes.ContainsRune(v, '_') {
					if err := cc.fail(m, stringCastFail(s, i, to, "")); err != nil {
						return err
					}
					continue
				}
				out[i] = f
			}
			return nil
		})
		if err != nil || bits == 64 {
			return f64, err
		}
		defer f64.Release()
		return numToFloat[float64, float32](cc, f64)
	}
}

func isRangeErr(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}

// castStringToDecimal reads a decimal number (with an optional exponent)
// rounded half up to the target scale.
func castStringToDecimal(to *arrow.Decimal128Type) caster {
	return func(cc *castCtx, in arrow.Array) (arrow.Array, error) {
		s := strColOf(in)
		return fixedCast(cc, in, to, func(m *nullMask, out []decimal128.Num) error {
			for i := range out {
				out[i] = decimal128.Num{}
				if !m.valid(i) {
					continue
				}
				n, malformed, fits := parseDecimal(trimControl(s.at(i)), to.Precision, to.Scale)
				if malformed || !fits {
					f := stringCastFail(s, i, to, "")
					f.overflow = !malformed
					if err := cc.fail(m, f); err != nil {
						return err
					}
					continue
				}
				out[i] = n
			}
			return nil
		})
	}
}

// daysFromDate is the number of days from 1970-01-01 to y-m-d in the
// proleptic Gregorian calendar.
func daysFromDate(y int64, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := divFloor(y, 400)
	yoe := y - era*400
	mp := int64((m + 9) % 12)
	doy := (153*mp+2)/5 + int64(d) - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}

// dateFromDays is the date days after 1970-01-01.
func dateFromDays(z int64) (y int64, m, d int) {
	z += 719468
	era := divFloor(z, 146097)
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	y = yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d = int(doy - (153*mp+2)/5 + 1)
	if mp < 10 {
		m = int(mp + 3)
	} else {
		m = int(mp - 9)
	}
	if m <= 2 {
		y++
	}
	return y, m, d
}

func leapYear(y int64) bool { return y%4 == 0 && (y%100 != 0 || y%400 == 0) }

func monthDays(y int64, m int) int {
	switch m {
	case 2:
		if leapYear(y) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// digitsAt reads between lo and hi digits at b[i:], returning the value
// and the index after them.
func digitsAt(b []byte, i, lo, hi int) (int64, int, bool) {
	j := i
	var v int64
	for j < len(b) && j-i < hi && b[j] >= '0' && b[j] <= '9' {
		v = v*10 + int64(b[j]-'0')
		j++
	}
	if j-i < lo || (j < len(b) && j-i == hi && b[j] >= '0' && b[j] <= '9') {
		return 0, i, false
	}
	return v, j, true
}

// maxYear bounds the years read from strings so that microseconds since
// the epoch fit in an int64.
const maxYear = 290000

// parseDatePart reads [+-]yyyy[-[m]m[-[d]d]] and returns the index after
// it.
func parseDatePart(b []byte) (y int64, m, d, next int, ok bool) {
	i := 0
	neg := false
	if i < len(b) && (b[i] == '+' || b[i] == '-') {
		neg = b[i] == '-'
		i++
	}
	y, i, ok = digitsAt(b, i, 4, 7)
	if !ok || y > maxYear {
		return 0, 0, 0, 0, false
	}
	if neg {
		y = -y
	}
	m, d = 1, 1
	if i < len(b) && b[i] == '-' {
		var mv, dv int64
		if mv, i, ok = digitsAt(b, i+1, 1, 2); !ok {
			return 0, 0, 0, 0, false
		}
		m = int(mv)
		if i < len(b) && b[i] == '-' {
			if dv, i, ok = digitsAt(b, i+1, 1, 2); !ok {
				return 0, 0, 0, 0, false
			}
			d = int(dv)
		}
	}
	if m < 1 || m > 12 || d < 1 || d > monthDays(y, m) {
		return 0, 0, 0, 0, false
	}
	return y, m, d, i, true
}

// parseDate reads a date as Spark: yyyy, yyyy-[m]m, yyyy-[m]m-[d]d,
// optionally followed by a space or 'T' and anything (a time, ignored).
func parseDate(b []byte) (int64, bool) {
	y, m, d, i, ok := parseDatePart(b)
	if !ok || (i < len(b) && (b[i] != ' ' && b[i] != 'T')) {
		return 0, false
	}
	return daysFromDate(y, m, d), true
}

func castStringToDate(cc *castCtx, in arrow.Array) (arrow.Array, error) {
	s := strColOf(in)
	return fixedCast(cc, in, arrow.FixedWidthTypes.Date32, func(m *nullMask, out []int32) error {
		for i := range out {
			out[i] = 0
			if !m.valid(i) {
				continue
			}
			days, ok := parseDate(trimControl(s.at(i)))
			if !ok || days > math.MaxInt32 || days < math.MinInt32 {
				if err := cc.fail(m, stringCastFail(s, i, arrow.FixedWidthTypes.Date32, "")); err != nil {
					return err
				}
				continue
			}
			out[i] = int32(days)
		}
		return nil
	})
}

var castZones sync.Map // string -> *time.Location

func castZone(name string) (*time.Location, bool) {
	if l, ok := castZones.Load(name); ok {
		return l.(*time.Location), l.(*time.Location) != nil
	}
	l, err := time.LoadLocation(name)
	if err != nil || name == "" || name == "Local" {
		l = nil
	}
	castZones.Store(name, l)
	return l, l != nil
}

// parseZoneOffset reads [+-]h[h], [+-]hh[:]mm or [+-]hh[:]mm[:]ss as
// seconds east of UTC.
func parseZoneOffset(b []byte) (int64, bool) {
	if len(b) < 2 || (b[0] != '+' && b[0] != '-') {
		return 0, false
	}
	sign := int64(1)
	if b[0] == '-' {
		sign = -1
	}
	b = b[1:]
	var parts [3]int64
	n := 0
	if bytes.IndexByte(b, ':') >= 0 {
		for _, p := range bytes.Split(b, []byte{':'}) {
			v, ok := parseUint(p)
			if !ok || n == 3 || len(p) > 2 || (n > 0 && len(p) != 2) {
				return 0, false
			}
			parts[n] = int64(v)
			n++
		}
		if n < 2 {
			return 0, false
		}
	} else {
		if _, ok := parseUint(b); !ok {
			return 0, false
		}
		switch len(b) {
		case 1, 2:
			v, _ := parseUint(b)
			parts[0] = int64(v)
		case 4, 6:
			for k := 0; k < len(b)/2; k++ {
				parts[k] = int64(b[2*k]-'0')*10 + int64(b[2*k+1]-'0')
			}
		default:
			return 0, false
		}
	}
	h, mi, sec := parts[0], parts[1], parts[2]
	if h > 18 || mi > 59 || sec > 59 {
		return 0, false
	}
	return sign * (h*3600 + mi*60 + sec), true
}

// parseZone reads Z, an offset, UTC/GMT/UT with an optional offset, or a
// region such as Europe/Paris. For a region, loc is set and the offset
// depends on the local time.
func parseZone(b []byte) (offset int64, loc *time.Location, ok bool) {
	switch {
	case len(b) == 1 && (b[0] == 'Z' || b[0] == 'z'):
		return 0, nil, true
	case b[0] == '+' || b[0] == '-':
		off, ok := parseZoneOffset(b)
		return off, nil, ok
	}
	for _, prefix := range []string{"UTC", "GMT", "UT"} {
		if len(b) >= len(prefix) && bytes.EqualFold(b[:len(prefix)], []byte(prefix)) {
			rest := b[len(prefix):]
			if len(rest) == 0 {
				return 0, nil, true
			}
			if rest[0] == '+' || rest[0] == '-' {
				off, ok := parseZoneOffset(rest)
				return off, nil, ok
			}
		}
	}
	l, ok := castZone(string(b))
	return 0, l, ok
}

// parseTimestamp reads a timestamp as Spark's cast: a date as parseDate
// accepts, then optionally ' ' or 'T' and [h]h:[m]m[:[s]s[.fraction]]
// (fraction digits beyond microseconds are dropped), then optionally a
// zone: Z, +hh:mm, +hhmm, +hh, UTC, GMT, UTC+hh:mm or a region ID such as
// America/New_York, with or without a space before it. A timestamp without
// a zone is UTC.
func parseTimestamp(b []byte) (int64, bool) {
	y, mo, d, i, ok := parseDatePart(b)
	if !ok {
		return 0, false
	}
	var h, mi, sec, frac int64
	var offset int64
	var loc *time.Location
	if i < len(b) {
		if b[i] != ' ' && b[i] != 'T' {
			return 0, false
		}
		i++
		if i < len(b) {
			if h, i, ok = digitsAt(b, i, 1, 2); !ok {
				return 0, false
			}
			if i >= len(b) || b[i] != ':' {
				return 0, false
			}
			if mi, i, ok = digitsAt(b, i+1, 1, 2); !ok {
				return 0, false
			}
			if i < len(b) && b[i] == ':' {
				if sec, i, ok = digitsAt(b, i+1, 1, 2); !ok {
					return 0, false
				}
				if i < len(b) && b[i] == '.' {
					i++
					digits := 0
					for i < len(b) && b[i] >= '0' && b[i] <= '9' {
						if digits < 6 {
							frac = frac*10 + int64(b[i]-'0')
						}
						digits++
						i++
					}
					for k := digits; k < 6; k++ {
						frac *= 10
					}
				}
			}
			if h > 23 || mi > 59 || sec > 59 {
				return 0, false
			}
			for i < len(b) && b[i] == ' ' {
				i++
			}
			if i < len(b) {
				if offset, loc, ok = parseZone(b[i:]); !ok {
					return 0, false
				}
			}
		}
	}
	if loc != nil {
		t := time.Date(int(y), time.Month(mo), d, int(h), int(mi), int(sec), 0, loc)
		return t.Unix()*secondMicros + frac, true
	}
	secs := daysFromDate(y, mo, d)*86400 + h*3600 + mi*60 + sec - offset
	return secs*secondMicros + frac, true
}

func castStringToTimestamp(to *arrow.TimestampType) caster {
	return func(cc *castCtx, in arrow.Array) (arrow.Array, error) {
		s := strColOf(in)
		return fixedCast(cc, in, to, func(m *nullMask, out []int64) error {
			for i := range out {
				out[i] = 0
				if !m.valid(i) {
					continue
				}
				us, ok := parseTimestamp(trimControl(s.at(i)))
				if !ok {
					if err := cc.fail(m, stringCastFail(s, i, to, "")); err != nil {
						return err
					}
					continue
				}
				out[i] = us
			}
			return fromMicros(out, to.Unit, m, func(i int) error {
				return cc.fail(m, &castFail{row: i, value: sparkLiteral(arrow.BinaryTypes.String, string(s.at(i))), to: to, overflow: true})
			})
		})
	}
}

// appendYear writes a year as Spark: four digits, a sign beyond 9999 or
// before year 0.
func appendYear(dst []byte, y int64) []byte {
	if y < 0 {
		dst = append(dst, '-')
		y = -y
	} else if y > 9999 {
		dst = append(dst, '+')
	}
	for p := int64(1000); p > 1 && y < p; p /= 10 {
		dst = append(dst, '0')
	}
	return strconv.AppendInt(dst, y, 10)
}

func appendTwoDigits(dst []byte, v int) []byte {
	return append(dst, byte('0'+v/10), byte('0'+v%10))
}

// appendDate writes yyyy-MM-dd.
func appendDate(dst []byte, days int64) []byte {
	y, m, d := dateFromDays(days)
	dst = appendYear(dst, y)
	dst = append(dst, '-')
	dst = appendTwoDigits(dst, m)
	dst = append(dst, '-')
	return appendTwoDigits(dst, d)
}

// appendTimestamp writes microseconds since the epoch as
// yyyy-MM-dd HH:mm:ss[.f...] in UTC, the fraction without trailing zeros.
func appendTimestamp(dst []byte, us int64) []byte {
	days := divFloor(us, dayMicros)
	rem := us - days*dayMicros
	dst = appendDate(dst, days)
	secs := int(rem / secondMicros)
	frac := rem % secondMicros
	dst = append(dst, ' ')
	dst = appendTwoDigits(dst, secs/3600)
	dst = append(dst, ':')
	dst = appendTwoDigits(dst, secs/60%60)
	dst = append(dst, ':')
	dst = appendTwoDigits(dst, secs%60)
	if frac != 0 {
		var fb [6]byte
		for k := 5; k >= 0; k-- {
			fb[k] = byte('0' + frac%10)
			frac /= 10
		}
		end := 6
		for fb[end-1] == '0' {
			end--
		}
		dst = append(dst, '.')
		dst = append(dst, fb[:end]...)
	}
	return dst
}

// appendJavaFloat writes f as Java's Double.toString (bits 64) or
// Float.toString (bits 32), which Spark uses to cast floats to strings:
// the shortest digits that read back to f, plain for magnitudes in
// [1e-3, 1e7) ("100.0", "0.001"), else scientific ("1.0E7", "1.0E-4").
func appendJavaFloat(dst []byte, f float64, bits int) []byte {
	switch {
	case math.IsNaN(f):
		return append(dst, "NaN"...)
	case math.IsInf(f, 1):
		return append(dst, "Infinity"...)
	case math.IsInf(f, -1):
		return append(dst, "-Infinity"...)
	case f == 0:
		if math.Signbit(f) {
			return append(dst, "-0.0"...)
		}
		return append(dst, "0.0"...)
	}
	if f < 0 {
		dst = append(dst, '-')
		f = -f
	}
	var tmp [32]byte
	s := strconv.AppendFloat(tmp[:0], f, 'e', -1, bits) // d[.ddd]e±XX
	e := bytes.IndexByte(s, 'e')
	exp, _ := strconv.Atoi(bytesString(s[e+1:]))
	if e == 1 {
		// One digit is shortest; Java prints the two-digit decimal
		// closest to f (4.9E-324, not 5.0E-324).
		s = strconv.AppendFloat(tmp[:0], f, 'e', 1, bits)
		e = bytes.IndexByte(s, 'e')
		exp, _ = strconv.Atoi(bytesString(s[e+1:]))
		if s[2] == '0' {
			e = 1
		}
	}
	var digitBuf [24]byte
	digits := append(digitBuf[:0], s[0])
	if e > 1 {
		digits = append(digits, s[2:e]...)
	}
	if f >= 1e-3 && f < 1e7 {
		if exp >= 0 {
			// Integer part: the first exp+1 digits, padded with zeros.
			for k := 0; k <= exp; k++ {
				if k < len(digits) {
					dst = append(dst, digits[k])
				} else {
					dst = append(dst, '0')
				}
			}
			dst = append(dst, '.')
			if exp+1 < len(digits) {
				return append(dst, digits[exp+1:]...)
			}
			return append(dst, '0')
		}
		dst = append(dst, '0', '.')
		for k := -1; k > exp; k-- {
			dst = append(dst, '0')
		}
		return append(dst, digits...)
	}
	dst = append(dst, digits[0], '.')
	if len(digits) > 1 {
		dst = append(dst, digits[1:]...)
	} else {
		dst = append(dst, '0')
	}
	dst = append(dst, 'E')
	return strconv.AppendInt(dst, int64(exp), 10)
}

// planToString returns the caster of a type to string.
func planToString(from arrow.DataType) (caster, error) {
	switch kindOf(from) {
	case kBool:
		return func(cc *castCtx, in arrow.Array) (arrow.Array, error) {
			bits, off := in.Data().Buffers()[1].Bytes(), in.Data().Offset()
			return buildStrings(cc, in, 5, func(m *nullMask, sb *array.BinaryBuilder, scratch []byte) []byte {
				for i := 0; i < in.Len(); i++ {
					switch {
					case !m.valid(i):
						sb.AppendNull()
					case bitIsSet(bits, off+i):
						sb.Append(trueBytes)
					default:
						sb.Append(falseBytes)
					}
				}
				return scratch
			}), nil
		}, nil
	case kInt:
		switch from.ID() {
		case arrow.INT8:
			return intToString[int8], nil
		case arrow.INT16:
			return intToString[int16], nil
		case arrow.INT32:
			return intToString[int32], nil
		case arrow.INT64:
			return intToString[int64], nil
		case arrow.UINT8:
			return intToString[uint8], nil
		case arrow.UINT16:
			return intToString[uint16], nil
		case arrow.UINT32:
			return intToString[uint32], nil
		}
		return intToString[uint64], nil
	case kFloat:
		if from.ID() == arrow.FLOAT32 {
			return floatToString[float32], nil
		}
		return floatToString[float64], nil
	case kDecimal:
		scale := from.(*arrow.Decimal128Type).Scale
		return func(cc *castCtx, in arrow.Array) (arrow.Array, error) {
			vals := fixedValues[decimal128.Num](in)
			return buildStrings(cc, in, 8, func(m *nullMask, sb *array.BinaryBuilder, scratch []byte) []byte {
				for i, v := range vals {
					if !m.valid(i) {
						sb.AppendNull()
						continue
					}
					scratch = appendDecimal(scratch[:0], v, scale)
					sb.Append(scratch)
				}
				return scratch
			}), nil
		}, nil
	case kBinary:
		return castReinterpret(arrow.BinaryTypes.String), nil
	case kDate:
		return func(cc *castCtx, in arrow.Array) (arrow.Array, error) {
			vals := fixedValues[int32](in)
			return buildStrings(cc, in, 10, func(m *nullMask, sb *array.BinaryBuilder, scratch []byte) []byte {
				for i, v := range vals {
					if !m.valid(i) {
						sb.AppendNull()
						continue
					}
					scratch = appendDate(scratch[:0], int64(v))
					sb.Append(scratch)
				}
				return scratch
			}), nil
		}, nil
	case kTimestamp:
		ft := from.(*arrow.TimestampType)
		toMicro := castTimestampToTimestamp(ft, &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: ft.TimeZone})
		return func(cc *castCtx, in arrow.Array) (arrow.Array, error) {
			if ft.Unit != arrow.Microsecond {
				us, err := toMicro(cc, in)
				if err != nil {
					return nil, err
				}
				defer us.Release()
				in = us
			}
			vals := fixedValues[int64](in)
			return buildStrings(cc, in, 19, func(m *nullMask, sb *array.BinaryBuilder, scratch []byte) []byte {
				for i, v := range vals {
					if !m.valid(i) {
						sb.AppendNull()
						continue
					}
					scratch = appendTimestamp(scratch[:0], v)
					sb.Append(scratch)
				}
				return scratch
			}), nil
		}, nil
	case kStruct:
		return planStructToString(from.(*arrow.StructType))
	case kList:
		return planListToString(from.(*arrow.ListType))
	case kMap:
		return planMapToString(from.(*arrow.MapType))
	case kString:
		return castIdentity, nil
	}
	return nil, fmt.Errorf("cannot cast %s to string", from)
}

var (
	trueBytes  = []byte("true")
	falseBytes = []byte("false")
	nullBytes  = []byte("null")
)

// buildStrings makes a string array of in's length, owned by the caller:
// fill appends one value or null per row to sb (estimating width bytes per
// value) and may reuse scratch.
func buildStrings(cc *castCtx, in arrow.Array, width int, fill func(m *nullMask, sb *array.BinaryBuilder, scratch []byte) []byte) arrow.Array {
	sb := array.NewStringBuilder(cc.mem)
	defer sb.Release()
	sb.Reserve(in.Len())
	sb.ReserveData(in.Len() * width)
	fill(newNullMask(cc.mem, in), sb.BinaryBuilder, make([]byte, 0, 64))
	return sb.NewArray()
}

func intToString[F signedInt | unsignedInt](cc *castCtx, in arrow.Array) (arrow.Array, error) {
	vals := fixedValues[F](in)
	signed := isSignedInt[F]()
	return buildStrings(cc, in, 6, func(m *nullMask, sb *array.BinaryBuilder, scratch []byte) []byte {
		for i, v := range vals {
			if !m.valid(i) {
				sb.AppendNull()
				continue
			}
			if signed {
				scratch = strconv.AppendInt(scratch[:0], int64(v), 10)
			} else {
				scratch = strconv.AppendUint(scratch[:0], uint64(v), 10)
			}
			sb.Append(scratch)
		}
		return scratch
	}), nil
}

func floatToString[F float32 | float64](cc *castCtx, in arrow.Array) (arrow.Array, error) {
	vals := fixedValues[F](in)
	bits := bitsOf[F]()
	return buildStrings(cc, in, 8, func(m *nullMask, sb *array.BinaryBuilder, scratch []byte) []byte {
		for i, v := range vals {
			if !m.valid(i) {
				sb.AppendNull()
				continue
			}
			scratch = appendJavaFloat(scratch[:0], float64(v), bits)
			sb.Append(scratch)
		}
		return scratch
	}), nil
}

// toStrings casts in (borrowed) to an owned string array.
func toStrings(cc *castCtx, conv caster, in arrow.Array) (*array.String, error) {
	out, err := runCast(conv, cc, in)
	if err != nil {
		return nil, err
	}
	return out.(*array.String), nil
}

// appendStr appends value i of s, or "null".
func appendStr(dst []byte, s *array.String, i int) []byte {
	if s.IsNull(i) {
		return append(dst, nullBytes...)
	}
	return append(dst, s.Value(i)...)
}

func planStructToString(from *arrow.StructType) (caster, error) {
	convs := make([]caster, from.NumFields())
	for i, f := range from.Fields() {
		c, err := planToString(f.Type)
		if err != nil {
			return nil, fmt.Errorf("field %s: %w", f.Name, err)
		}
		convs[i] = c
	}
	return func(cc *castCtx, in arrow.Array) (arrow.Array, error) {
		st := in.(*array.Struct)
		fields := make([]*array.String, len(convs))
		defer func() {
			for _, f := range fields {
				if f != nil {
					f.Release()
				}
			}
		}()
		for i, c := range convs {
			s, err := toStrings(cc, c, st.Field(i))
			if err != nil {
				return nil, err
			}
			fields[i] = s
		}
		return buildStrings(cc, in, 8*len(fields)+2, func(m *nullMask, sb *array.BinaryBuilder, scratch []byte) []byte {
			for r := 0; r < in.Len(); r++ {
				if !m.valid(r) {
					sb.AppendNull()
					continue
				}
				scratch = append(scratch[:0], '{')
				for j, f := range fields {
					if j > 0 {
						scratch = append(scratch, ',', ' ')
					}
					scratch = appendStr(scratch, f, r)
				}
				scratch = append(scratch, '}')
				sb.Append(scratch)
			}
			return scratch
		}), nil
	}, nil
}

// listRange returns the offsets of list-like array in (borrowed, n+1
// values from its offset) and its values sliced to the range they cover,
// owned by the caller.
func listRange(in arrow.Array, values arrow.Array) ([]int32, arrow.Array) {
	d := in.Data()
	offs := fixedValuesAt[int32](d, 1, d.Offset(), d.Len()+1)
	return offs, array.NewSlice(values, int64(offs[0]), int64(offs[len(offs)-1]))
}

func planListToString(from *arrow.ListType) (caster, error) {
	conv, err := planToString(from.Elem())
	if err != nil {
		return nil, err
	}
	return func(cc *castCtx, in arrow.Array) (arrow.Array, error) {
		l := in.(*array.List)
		offs, vals := listRange(l, l.ListValues())
		defer vals.Release()
		elems, err := toStrings(cc, conv, vals)
		if err != nil {
			return nil, mapFailRow(err, offs)
		}
		defer elems.Release()
		base := offs[0]
		return buildStrings(cc, in, 16, func(m *nullMask, sb *array.BinaryBuilder, scratch []byte) []byte {
			for r := 0; r < in.Len(); r++ {
				if !m.valid(r) {
					sb.AppendNull()
					continue
				}
				scratch = append(scratch[:0], '[')
				for j := offs[r] - base; j < offs[r+1]-base; j++ {
					if j > offs[r]-base {
						scratch = append(scratch, ',', ' ')
					}
					scratch = appendStr(scratch, elems, int(j))
				}
				scratch = append(scratch, ']')
				sb.Append(scratch)
			}
			return scratch
		}), nil
	}, nil
}

func planMapToString(from *arrow.MapType) (caster, error) {
	kconv, err := planToString(from.KeyType())
	if err != nil {
		return nil, err
	}
	vconv, err := planToString(from.ItemType())
	if err != nil {
		return nil, err
	}
	return func(cc *castCtx, in arrow.Array) (arrow.Array, error) {
		mp := in.(*array.Map)
		offs, keys := listRange(mp, mp.Keys())
		defer keys.Release()
		_, items := listRange(mp, mp.Items())
		defer items.Release()
		ks, err := toStrings(cc, kconv, keys)
		if err != nil {
			return nil, mapFailRow(err, offs)
		}
		defer ks.Release()
		vs, err := toStrings(cc, vconv, items)
		if err != nil {
			return nil, mapFailRow(err, offs)
		}
		defer vs.Release()
		base := offs[0]
		return buildStrings(cc, in, 16, func(m *nullMask, sb *array.BinaryBuilder, scratch []byte) []byte {
			for r := 0; r < in.Len(); r++ {
				if !m.valid(r) {
					sb.AppendNull()
					continue
				}
				scratch = append(scratch[:0], '{')
				for j := offs[r] - base; j < offs[r+1]-base; j++ {
					if j > offs[r]-base {
						scratch = append(scratch, ',', ' ')
					}
					scratch = appendStr(scratch, ks, int(j))
					scratch = append(scratch, " -> "...)
					scratch = appendStr(scratch, vs, int(j))
				}
				scratch = append(scratch, '}')
				sb.Append(scratch)
			}
			return scratch
		}), nil
	}, nil
}
