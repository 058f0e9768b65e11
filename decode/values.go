package decode

import (
	"math"
	"math/bits"
	"strconv"
	"unsafe"
)

// This file parses scalar values from raw bytes without allocating:
// integers, floats, decimals, dates and timestamps. Each reports ok false
// instead of an error; callers name the field and position.

// unsafeString views b as a string without copying; the string must not
// outlive b's contents.
func unsafeString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// parseInt reads an optionally signed decimal integer filling all of b.
func parseInt(b []byte) (int64, bool) {
	if len(b) == 0 {
		return 0, false
	}
	i, neg := 0, false
	if b[0] == '-' || b[0] == '+' {
		neg, i = b[0] == '-', 1
		if len(b) == 1 {
			return 0, false
		}
	}
	var u uint64
	for ; i < len(b); i++ {
		d := b[i] - '0'
		if d > 9 || u > (1<<63)/10 {
			return 0, false
		}
		u = u*10 + uint64(d)
	}
	if neg {
		if u > 1<<63 {
			return 0, false
		}
		return int64(-u), true
	}
	if u > math.MaxInt64 {
		return 0, false
	}
	return int64(u), true
}

// intFits reports whether v fits in an integer of width bytes.
func intFits(v int64, width int) bool {
	switch width {
	case 1:
		return v >= math.MinInt8 && v <= math.MaxInt8
	case 2:
		return v >= math.MinInt16 && v <= math.MaxInt16
	case 4:
		return v >= math.MinInt32 && v <= math.MaxInt32
	}
	return true
}

// parseFloat reads a float of 32 or 64 bits. A value beyond the type's
// range becomes an infinity, as Java's parsing does.
func parseFloat(b []byte, bitSize int) (float64, bool) {
	f, err := strconv.ParseFloat(unsafeString(b), bitSize)
	if err != nil {
		if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
			return f, true
		}
		return 0, false
	}
	return f, true
}

// parseDecimal reads a decimal number ([sign] digits [. digits]
// [e [sign] digits], or "." digits) and scales it to scale, rounding half
// up as Spark does; ok is false when the text is not a number or the
// value needs more than precision digits. commas are removed first when
// stripCommas is set (Spark's US-locale parsing of strings). scratch is
// reused working space.
func parseDecimal(b []byte, precision, scale int32, stripCommas bool, scratch *[]byte) (lo uint64, hi int64, ok bool) {
	digits := (*scratch)[:0]
	defer func() { *scratch = digits[:0] }()
	i := 0
	neg := false
	if i < len(b) && (b[i] == '-' || b[i] == '+') {
		neg = b[i] == '-'
		i++
	}
	seen, frac := false, 0
	for ; i < len(b); i++ {
		c := b[i]
		switch {
		case c >= '0' && c <= '9':
			seen = true
			if len(digits) > 0 || c != '0' {
				digits = append(digits, c)
			}
			if frac > 0 {
				frac++
			}
			continue
		case c == ',' && stripCommas && frac == 0:
			continue
		case c == '.' && frac == 0:
			frac = 1
			continue
		}
		break
	}
	if !seen {
		return 0, 0, false
	}
	if frac > 0 {
		frac--
	}
	// Leading fractional zeros were dropped from digits; frac still counts
	// them, which keeps the scale right.
	exp := 0
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		eneg := false
		if i < len(b) && (b[i] == '-' || b[i] == '+') {
			eneg = b[i] == '-'
			i++
		}
		if i >= len(b) {
			return 0, 0, false
		}
		for ; i < len(b); i++ {
			d := b[i] - '0'
			if d > 9 {
				return 0, 0, false
			}
			if exp < 1<<20 {
				exp = exp*10 + int(d)
			}
		}
		if eneg {
			exp = -exp
		}
	}
	if i != len(b) {
		return 0, 0, false
	}
	if len(digits) == 0 {
		return 0, 0, true
	}
	// value = digits * 10^(exp-frac); unscaled = value * 10^scale.
	k := exp - frac + int(scale)
	switch {
	case k >= 0:
		if len(digits)+k > int(precision) {
			return 0, 0, false
		}
		for range k {
			digits = append(digits, '0')
		}
	default:
		drop := -k
		if drop > len(digits) {
			digits = digits[:0]
		} else {
			roundUp := digits[len(digits)-drop] >= '5'
			digits = digits[:len(digits)-drop]
			if roundUp {
				digits = incrementDigits(digits)
			}
		}
		if len(digits) > int(precision) {
			return 0, 0, false
		}
	}
	var h, l uint64
	for _, c := range digits {
		// (h, l) = (h, l) * 10 + d
		ph, pl := bits.Mul64(l, 10)
		h = h*10 + ph
		var carry uint64
		l, carry = bits.Add64(pl, uint64(c-'0'), 0)
		h += carry
	}
	if neg {
		l = ^l + 1
		h = ^h
		if l == 0 {
			h++
		}
	}
	return l, int64(h), true
}

// incrementDigits adds one to a decimal digit string.
func incrementDigits(d []byte) []byte {
	for i := len(d) - 1; i >= 0; i-- {
		if d[i] < '9' {
			d[i]++
			return d
		}
		d[i] = '0'
	}
	return append([]byte{'1'}, d...)
}

// daysFromCivil is the number of days from 1970-01-01 to y-m-d in the
// proleptic Gregorian calendar.
func daysFromCivil(y, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 && y%400 != 0 {
		era = (y - 399) / 400
	}
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era)*146097 + int64(doe) - 719468
}

func isLeap(y int) bool { return y%4 == 0 && (y%100 != 0 || y%400 == 0) }

func daysIn(y, m int) int {
	switch m {
	case 2:
		if isLeap(y) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// digits reads 1 to max decimal digits at b[i:], returning the value and
// the index after them (n == 0 when there is no digit).
func digitsAt(b []byte, i, max int) (v, next, n int) {
	for n < max && i < len(b) && b[i]-'0' <= 9 {
		v = v*10 + int(b[i]-'0')
		i++
		n++
	}
	return v, i, n
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t' || b[0] == '\n' || b[0] == '\r') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t' || b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}

// parseDatePart reads yyyy[-m[m][-d[d]]] at the start of b and returns
// the date and the index after it.
func parseDatePart(b []byte) (y, m, d, next int, ok bool) {
	y, i, n := digitsAt(b, 0, 4)
	if n != 4 {
		return 0, 0, 0, 0, false
	}
	m, d = 1, 1
	if i < len(b) && b[i] == '-' {
		if m, i, n = digitsAt(b, i+1, 2); n == 0 {
			return 0, 0, 0, 0, false
		}
		if i < len(b) && b[i] == '-' {
			if d, i, n = digitsAt(b, i+1, 2); n == 0 {
				return 0, 0, 0, 0, false
			}
		}
	}
	if m < 1 || m > 12 || d < 1 || d > daysIn(y, m) {
		return 0, 0, 0, 0, false
	}
	return y, m, d, i, true
}

// parseDate reads a date as Spark casts a string to a date: yyyy,
// yyyy-[m]m, yyyy-[m]m-[d]d, optionally followed by 'T' or ' ' and
// anything. It returns days since 1970-01-01.
func parseDate(b []byte) (int32, bool) {
	b = trimSpace(b)
	y, m, d, i, ok := parseDatePart(b)
	if !ok || (i < len(b) && b[i] != 'T' && b[i] != ' ') {
		return 0, false
	}
	return int32(daysFromCivil(y, m, d)), true
}

const (
	usPerSecond = 1000000
	usPerMinute = 60 * usPerSecond
	usPerHour   = 60 * usPerMinute
	usPerDay    = 24 * usPerHour
)

// parseTimestamp reads a timestamp as Spark casts a string to one:
// yyyy-[m]m-[d]d[(T| )[h]h:[m]m[:[s]s[.fraction]]][zone], where zone is
// Z, UTC, GMT, UT, or an offset ±h[h][:mm] or ±hhmm (also after UTC or
// GMT), and a missing zone is UTC. Digits of the fraction beyond
// microseconds are dropped. It returns microseconds since the epoch.
func parseTimestamp(b []byte) (int64, bool) {
	b = trimSpace(b)
	y, mo, d, i, ok := parseDatePart(b)
	if !ok {
		return 0, false
	}
	var h, mi, s, frac int
	if i < len(b) && (b[i] == 'T' || b[i] == ' ') {
		var j, n int
		if h, j, n = digitsAt(b, i+1, 2); n == 0 || j >= len(b) || b[j] != ':' {
			return 0, false
		}
		if mi, j, n = digitsAt(b, j+1, 2); n == 0 {
			return 0, false
		}
		if j < len(b) && b[j] == ':' {
			if s, j, n = digitsAt(b, j+1, 2); n == 0 {
				return 0, false
			}
			if j < len(b) && b[j] == '.' {
				j++
				scale := usPerSecond / 10
				start := j
				for j < len(b) && b[j]-'0' <= 9 {
					frac += int(b[j]-'0') * scale
					scale /= 10
					j++
				}
				if j == start || j-start > 9 {
					return 0, false
				}
			}
		}
		i = j
	}
	if h > 23 || mi > 59 || s > 59 {
		return 0, false
	}
	off, ok := parseZone(b[i:])
	if !ok {
		return 0, false
	}
	us := daysFromCivil(y, mo, d)*usPerDay + int64(h)*usPerHour + int64(mi)*usPerMinute + int64(s)*usPerSecond + int64(frac)
	return us - off, true
}

// parseZone reads a zone suffix ("" is UTC) and returns its offset in
// microseconds.
func parseZone(b []byte) (int64, bool) {
	if len(b) > 0 && b[0] == ' ' {
		b = b[1:]
		if len(b) == 0 {
			return 0, false
		}
	}
	if len(b) == 0 || (len(b) == 1 && b[0] == 'Z') {
		return 0, true
	}
	for _, name := range [...]string{"UTC", "GMT", "UT"} {
		if len(b) >= len(name) && string(b[:len(name)]) == name {
			rest := b[len(name):]
			if len(rest) == 0 {
				return 0, true
			}
			if rest[0] != '+' && rest[0] != '-' {
				return 0, false
			}
			return parseOffset(rest)
		}
	}
	return parseOffset(b)
}

// parseOffset reads ±h[h], ±hh:mm or ±hhmm (and ±hh:mm:ss).
func parseOffset(b []byte) (int64, bool) {
	if len(b) < 2 || (b[0] != '+' && b[0] != '-') {
		return 0, false
	}
	sign := int64(1)
	if b[0] == '-' {
		sign = -1
	}
	h, i, n := digitsAt(b, 1, 2)
	if n == 0 {
		return 0, false
	}
	var m, s int
	switch {
	case i == len(b):
	case b[i] == ':':
		if m, i, n = digitsAt(b, i+1, 2); n != 2 {
			return 0, false
		}
		if i < len(b) && b[i] == ':' {
			if s, i, n = digitsAt(b, i+1, 2); n != 2 {
				return 0, false
			}
		}
	case n == 2:
		if m, i, n = digitsAt(b, i, 2); n != 2 {
			return 0, false
		}
	}
	if i != len(b) || h > 18 || m > 59 || s > 59 {
		return 0, false
	}
	return sign * (int64(h)*usPerHour + int64(m)*usPerMinute + int64(s)*usPerSecond), true
}
