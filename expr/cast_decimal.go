package expr

import (
	"math"
	"math/bits"
	"strconv"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
)

// Decimal casts. Values are decimal128.Num (two's complement, 128 bits);
// the arithmetic here works on magnitudes as u128 without allocating, and
// rounds HALF_UP as Spark does.

// u128 is an unsigned 128-bit integer.
type u128 struct{ hi, lo uint64 }

var (
	pow10u64 [20]uint64
	pow10    [39]u128 // 10^0 .. 10^38
)

func init() {
	p := uint64(1)
	for i := range pow10u64 {
		pow10u64[i] = p
		p *= 10
	}
	v := u128{lo: 1}
	for i := range pow10 {
		pow10[i] = v
		v, _ = v.mul64(10)
	}
}

func (a u128) less(b u128) bool { return a.hi < b.hi || (a.hi == b.hi && a.lo < b.lo) }

func (a u128) isZero() bool { return a.hi == 0 && a.lo == 0 }

// mul64 is a*m and whether it overflowed.
func (a u128) mul64(m uint64) (u128, bool) {
	h1, l := bits.Mul64(a.lo, m)
	h2, l2 := bits.Mul64(a.hi, m)
	hi, carry := bits.Add64(h1, l2, 0)
	return u128{hi: hi, lo: l}, h2 != 0 || carry != 0
}

// add64 is a+x and whether it overflowed.
func (a u128) add64(x uint64) (u128, bool) {
	lo, c := bits.Add64(a.lo, x, 0)
	hi, c2 := bits.Add64(a.hi, 0, c)
	return u128{hi: hi, lo: lo}, c2 != 0
}

// divmod64 is a/d and a%d.
func (a u128) divmod64(d uint64) (u128, uint64) {
	qhi, r := a.hi/d, a.hi%d
	qlo, r := bits.Div64(r, a.lo, d)
	return u128{hi: qhi, lo: qlo}, r
}

// mulPow10 is a*10^k and whether it overflowed.
func (a u128) mulPow10(k int) (u128, bool) {
	for k > 0 {
		c := min(k, 19)
		var ovf bool
		if a, ovf = a.mul64(pow10u64[c]); ovf {
			return a, true
		}
		k -= c
	}
	return a, false
}

// divPow10 is a/10^k, truncated.
func (a u128) divPow10(k int) u128 {
	for k > 0 && !a.isZero() {
		c := min(k, 19)
		a, _ = a.divmod64(pow10u64[c])
		k -= c
	}
	return a
}

// divPow10HalfUp is a/10^k rounded half up.
func (a u128) divPow10HalfUp(k int) u128 {
	if k <= 0 {
		return a
	}
	q, d := a.divPow10(k - 1).divmod64(10)
	if d >= 5 {
		q, _ = q.add64(1)
	}
	return q
}

// fits reports whether a has at most prec digits.
func (a u128) fits(prec int32) bool { return a.less(pow10[prec]) }

func splitNum(n decimal128.Num) (neg bool, a u128) {
	if n.Sign() < 0 {
		n = n.Negate()
		neg = true
	}
	return neg, u128{hi: uint64(n.HighBits()), lo: n.LowBits()}
}

func joinNum(neg bool, a u128) decimal128.Num {
	n := decimal128.New(int64(a.hi), a.lo)
	if neg {
		return n.Negate()
	}
	return n
}

// appendU128 appends the decimal digits of a.
func appendU128(dst []byte, a u128) []byte {
	if a.hi == 0 {
		return strconv.AppendUint(dst, a.lo, 10)
	}
	var chunks [3]uint64
	k := 0
	for !a.isZero() {
		a, chunks[k] = a.divmod64(pow10u64[19])
		k++
	}
	dst = strconv.AppendUint(dst, chunks[k-1], 10)
	for i := k - 2; i >= 0; i-- {
		var tmp [19]byte
		s := strconv.AppendUint(tmp[:0], chunks[i], 10)
		for j := len(s); j < 19; j++ {
			dst = append(dst, '0')
		}
		dst = append(dst, s...)
	}
	return dst
}

// appendDecimal appends n with scale digits after the point, as Spark
// prints decimals: "12.30", "-0.05", "7".
func appendDecimal(dst []byte, n decimal128.Num, scale int32) []byte {
	neg, a := splitNum(n)
	if neg {
		dst = append(dst, '-')
	}
	start := len(dst)
	dst = appendU128(dst, a)
	if scale <= 0 {
		return dst
	}
	digits := len(dst) - start
	if pad := int(scale) + 1 - digits; pad > 0 {
		dst = append(dst, make([]byte, pad)...)
		copy(dst[start+pad:], dst[start:start+digits])
		for i := 0; i < pad; i++ {
			dst[start+i] = '0'
		}
		digits += pad
	}
	dot := len(dst) - int(scale)
	dst = append(dst, 0)
	copy(dst[dot+1:], dst[dot:len(dst)-1])
	dst[dot] = '.'
	return dst
}

// digitsToU128 rounds 0.D * 10^intDigits * 10^scale half up to an integer
// (D being decimal digits without leading zeros) and reports whether it
// has at most prec digits.
func digitsToU128(d []byte, intDigits, scale int, prec int32) (u128, bool) {
	keep := intDigits + scale
	if keep < 0 || len(d) == 0 {
		return u128{}, true
	}
	if keep > 39+len(d) {
		return u128{}, false
	}
	var a u128
	var ovf bool
	for i := 0; i < keep && i < len(d); i++ {
		if a, ovf = a.mul64(10); ovf {
			return a, false
		}
		a, _ = a.add64(uint64(d[i] - '0'))
	}
	if keep > len(d) {
		if a, ovf = a.mulPow10(keep - len(d)); ovf {
			return a, false
		}
	} else if keep < len(d) && d[keep] >= '5' {
		a, _ = a.add64(1)
	}
	return a, a.fits(prec)
}

// parseDecimal reads a decimal number ([+-]digits[.digits][e[+-]digits],
// already trimmed) rounded half up to scale; malformed reports invalid
// syntax, fits whether the value has at most prec digits.
func parseDecimal(s []byte, prec, scale int32) (n decimal128.Num, malformed, fits bool) {
	i := 0
	neg := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	var buf [64]byte
	digits := buf[:0]
	intDigits, seen, dot := 0, false, false
	for ; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			seen = true
			if c == '0' && len(digits) == 0 {
				// A leading zero: shifts nothing before the point.
				if dot {
					intDigits--
				}
				continue
			}
			digits = append(digits, c)
			if !dot {
				intDigits++
			}
		case c == '.' && !dot:
			dot = true
		default:
			goto exponent
		}
	}
exponent:
	if !seen {
		return n, true, false
	}
	if i < len(s) {
		if s[i] != 'e' && s[i] != 'E' {
			return n, true, false
		}
		i++
		eneg := false
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			eneg = s[i] == '-'
			i++
		}
		if i == len(s) {
			return n, true, false
		}
		exp := 0
		for ; i < len(s); i++ {
			c := s[i]
			if c < '0' || c > '9' {
				return n, true, false
			}
			if exp < 100000 {
				exp = exp*10 + int(c-'0')
			}
		}
		if eneg {
			exp = -exp
		}
		intDigits += exp
	}
	a, ok := digitsToU128(digits, intDigits, int(scale), prec)
	if !ok {
		return n, false, false
	}
	return joinNum(neg, a), false, true
}

// floatToDecimal converts a finite float half up, from its shortest
// decimal form as Spark does (so 2.675 is 2.68 at scale 2).
func floatToDecimal(f float64, scratch []byte, prec, scale int32) (decimal128.Num, []byte, bool) {
	neg := f < 0
	scratch = strconv.AppendFloat(scratch[:0], math.Abs(f), 'e', -1, 64)
	// d.ddde±XX
	e := 0
	for i := len(scratch) - 1; i >= 0; i-- {
		if scratch[i] == 'e' {
			exp, _ := strconv.Atoi(bytesString(scratch[i+1:]))
			e = exp
			scratch = scratch[:i]
			break
		}
	}
	digits := scratch[:0:0]
	if len(scratch) > 1 {
		// Drop the point: "d.ddd" -> "dddd".
		copy(scratch[1:], scratch[2:])
		digits = scratch[:len(scratch)-1]
	} else {
		digits = scratch
	}
	if len(digits) == 1 && digits[0] == '0' {
		return decimal128.Num{}, scratch, true
	}
	a, ok := digitsToU128(digits, e+1, int(scale), prec)
	return joinNum(neg, a), scratch, ok
}

func castIntToDecimal(to *arrow.Decimal128Type) caster {
	return func(cc *castCtx, in arrow.Array) (arrow.Array, error) {
		switch in.DataType().ID() {
		case arrow.INT8:
			return intToDecimal[int8](cc, in, to)
		case arrow.INT16:
			return intToDecimal[int16](cc, in, to)
		case arrow.INT32:
			return intToDecimal[int32](cc, in, to)
		case arrow.INT64:
			return intToDecimal[int64](cc, in, to)
		case arrow.UINT8:
			return intToDecimal[uint8](cc, in, to)
		case arrow.UINT16:
			return intToDecimal[uint16](cc, in, to)
		case arrow.UINT32:
			return intToDecimal[uint32](cc, in, to)
		}
		return intToDecimal[uint64](cc, in, to)
	}
}

func intToDecimal[F signedInt | unsignedInt](cc *castCtx, in arrow.Array, to *arrow.Decimal128Type) (arrow.Array, error) {
	return fixedCast(cc, in, to, func(m *nullMask, out []decimal128.Num) error {
		for i, v := range fixedValues[F](in) {
			neg := v < 0
			mag := uint64(v)
			if neg {
				mag = uint64(-int64(v))
			}
			a, ovf := u128{lo: mag}.mulPow10(int(to.Scale))
			if ovf || !a.fits(to.Precision) {
				if m.valid(i) {
					f := &castFail{row: i, value: sparkLiteral(in.DataType(), formatIntValue(v)), to: to, overflow: true}
					if err := cc.fail(m, f); err != nil {
						return err
					}
				}
				a = u128{}
			}
			out[i] = joinNum(neg, a)
		}
		return nil
	})
}

func castFloatToDecimal(to *arrow.Decimal128Type) caster {
	return func(cc *castCtx, in arrow.Array) (arrow.Array, error) {
		f64 := in
		if in.DataType().ID() == arrow.FLOAT32 {
			conv, err := numToFloat[float32, float64](cc, in)
			if err != nil {
				return nil, err
			}
			defer conv.Release()
			f64 = conv
		}
		return fixedCast(cc, in, to, func(m *nullMask, out []decimal128.Num) error {
			var scratch []byte
			for i, v := range fixedValues[float64](f64) {
				if !m.valid(i) {
					out[i] = decimal128.Num{}
					continue
				}
				var ok bool
				if !math.IsNaN(v) && !math.IsInf(v, 0) {
					out[i], scratch, ok = floatToDecimal(v, scratch, to.Precision, to.Scale)
				}
				if !ok {
					out[i] = decimal128.Num{}
					f := &castFail{row: i, value: sparkLiteral(in.DataType(), javaFloatString(v, bitWidth(in.DataType()))), to: to, overflow: true}
					if err := cc.fail(m, f); err != nil {
						return err
					}
				}
			}
			return nil
		})
	}
}

func castBoolToDecimal(to *arrow.Decimal128Type) caster {
	one := joinNum(false, pow10[to.Scale])
	return func(cc *castCtx, in arrow.Array) (arrow.Array, error) {
		bits, off := in.Data().Buffers()[1].Bytes(), in.Data().Offset()
		return fixedCast(cc, in, to, func(m *nullMask, out []decimal128.Num) error {
			for i := range out {
				out[i] = decimal128.Num{}
				if bitIsSet(bits, off+i) {
					if to.Scale >= to.Precision && m.valid(i) {
						if err := cc.fail(m, &castFail{row: i, value: "true", to: to, overflow: true}); err != nil {
							return err
						}
						continue
					}
					out[i] = one
				}
			}
			return nil
		})
	}
}

func bitIsSet(b []byte, i int) bool { return b[i>>3]&(1<<(i&7)) != 0 }

func castDecimalToDecimal(from, to *arrow.Decimal128Type) caster {
	return func(cc *castCtx, in arrow.Array) (arrow.Array, error) {
		return fixedCast(cc, in, to, func(m *nullMask, out []decimal128.Num) error {
			up := int(to.Scale - from.Scale)
			for i, v := range fixedValues[decimal128.Num](in) {
				neg, a := splitNum(v)
				ok := true
				if up > 0 {
					var ovf bool
					a, ovf = a.mulPow10(up)
					ok = !ovf
				} else if up < 0 {
					a = a.divPow10HalfUp(-up)
				}
				if !ok || !a.fits(to.Precision) {
					if m.valid(i) {
						f := &castFail{row: i, value: sparkLiteral(from, string(appendDecimal(nil, v, from.Scale))), to: to, overflow: true}
						if err := cc.fail(m, f); err != nil {
							return err
						}
					}
					a = u128{}
				}
				out[i] = joinNum(neg, a)
			}
			return nil
		})
	}
}

// castDecimalToInt truncates toward zero, as Spark.
func castDecimalToInt(from *arrow.Decimal128Type, to arrow.DataType) caster {
	return func(cc *castCtx, in arrow.Array) (arrow.Array, error) {
		switch to.ID() {
		case arrow.INT8:
			return decimalToInt[int8](cc, in, from)
		case arrow.INT16:
			return decimalToInt[int16](cc, in, from)
		case arrow.INT32:
			return decimalToInt[int32](cc, in, from)
		case arrow.INT64:
			return decimalToInt[int64](cc, in, from)
		case arrow.UINT8:
			return decimalToInt[uint8](cc, in, from)
		case arrow.UINT16:
			return decimalToInt[uint16](cc, in, from)
		case arrow.UINT32:
			return decimalToInt[uint32](cc, in, from)
		}
		return decimalToInt[uint64](cc, in, from)
	}
}

func decimalToInt[T signedInt | unsignedInt](cc *castCtx, in arrow.Array, from *arrow.Decimal128Type) (arrow.Array, error) {
	var zero T
	bitsT := int(unsafe.Sizeof(zero)) * 8
	maxPos := uint64(1)<<(bitsT-1) - 1 // largest positive value
	maxNeg := uint64(1) << (bitsT - 1) // largest magnitude of a negative value
	if !isSignedInt[T]() {
		maxPos = uint64(1)<<(bitsT-1) + (uint64(1)<<(bitsT-1) - 1)
		maxNeg = 0
	}
	typ := arrowTypeOf[T]()
	return fixedCast(cc, in, typ, func(m *nullMask, out []T) error {
		for i, v := range fixedValues[decimal128.Num](in) {
			neg, a := splitNum(v)
			a = a.divPow10(int(from.Scale))
			limit := maxPos
			if neg {
				limit = maxNeg
			}
			if a.hi != 0 || a.lo > limit {
				if m.valid(i) {
					f := &castFail{row: i, value: sparkLiteral(from, string(appendDecimal(nil, v, from.Scale))), to: typ, overflow: true}
					if err := cc.fail(m, f); err != nil {
						return err
					}
				}
				out[i] = 0
				continue
			}
			if neg {
				out[i] = T(-a.lo) // two's complement: the magnitude negated
			} else {
				out[i] = T(a.lo)
			}
		}
		return nil
	})
}

var pow10f64 = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
	1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

// castDecimalToFloat rounds to the nearest float.
func castDecimalToFloat(from *arrow.Decimal128Type, to arrow.DataType) caster {
	return func(cc *castCtx, in arrow.Array) (arrow.Array, error) {
		vals := fixedValues[decimal128.Num](in)
		if to.ID() == arrow.FLOAT32 {
			return fixedCast(cc, in, to, func(m *nullMask, out []float32) error {
				var scratch []byte
				for i, v := range vals {
					scratch = appendDecimal(scratch[:0], v, from.Scale)
					f, _ := strconv.ParseFloat(unsafe.String(unsafe.SliceData(scratch), len(scratch)), 32)
					out[i] = float32(f)
				}
				return nil
			})
		}
		return fixedCast(cc, in, to, func(m *nullMask, out []float64) error {
			var scratch []byte
			for i, v := range vals {
				neg, a := splitNum(v)
				if a.hi == 0 && a.lo < 1<<53 && from.Scale <= 22 {
					// Both exact, so one correctly rounded division.
					f := float64(a.lo) / pow10f64[from.Scale]
					if neg {
						f = -f
					}
					out[i] = f
					continue
				}
				scratch = appendDecimal(scratch[:0], v, from.Scale)
				out[i], _ = strconv.ParseFloat(unsafe.String(unsafe.SliceData(scratch), len(scratch)), 64)
			}
			return nil
		})
	}
}

// castDecimalToTimestamp reads seconds with a fraction, truncated to
// microseconds.
func castDecimalToTimestamp(from *arrow.Decimal128Type, to *arrow.TimestampType) caster {
	return func(cc *castCtx, in arrow.Array) (arrow.Array, error) {
		return fixedCast(cc, in, to, func(m *nullMask, out []int64) error {
			for i, v := range fixedValues[decimal128.Num](in) {
				neg, a := splitNum(v)
				ok := true
				if from.Scale > 6 {
					a = a.divPow10(int(from.Scale - 6))
				} else {
					var ovf bool
					a, ovf = a.mulPow10(int(6 - from.Scale))
					ok = !ovf
				}
				ok = ok && a.hi == 0 && a.lo <= math.MaxInt64
				if !ok {
					if m.valid(i) {
						f := &castFail{row: i, value: sparkLiteral(from, string(appendDecimal(nil, v, from.Scale))), to: to, overflow: true}
						if err := cc.fail(m, f); err != nil {
							return err
						}
					}
					out[i] = 0
					continue
				}
				us := int64(a.lo)
				if neg {
					us = -us
				}
				out[i] = us
			}
			return fromMicros(out, to.Unit, m, func(i int) error {
				return cc.fail(m, &castFail{row: i, value: sparkLiteral(timestampUTC, timestampString(out[i])), to: to, overflow: true})
			})
		})
	}
}
