package expr

import (
	"fmt"
	"math"
	"math/bits"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// intervalUnits maps each unit name ParseInterval reads to its length in
// nanoseconds. Months and years are absent on purpose: they have no fixed
// length (see calendarUnits).
var intervalUnits = map[string]int64{
	"ns": 1, "nsec": 1, "nsecs": 1, "nanosecond": 1, "nanoseconds": 1,
	"us": 1e3, "µs": 1e3, "μs": 1e3, "usec": 1e3, "usecs": 1e3, "microsecond": 1e3, "microseconds": 1e3,
	"ms": 1e6, "msec": 1e6, "msecs": 1e6, "millisecond": 1e6, "milliseconds": 1e6,
	"s": 1e9, "sec": 1e9, "secs": 1e9, "second": 1e9, "seconds": 1e9,
	"m": 60e9, "min": 60e9, "mins": 60e9, "minute": 60e9, "minutes": 60e9,
	"h": 3600e9, "hr": 3600e9, "hrs": 3600e9, "hour": 3600e9, "hours": 3600e9,
	"d": 86400e9, "day": 86400e9, "days": 86400e9,
	"w": 7 * 86400e9, "week": 7 * 86400e9, "weeks": 7 * 86400e9,
}

// calendarUnits are the units of variable length, which ParseInterval
// refuses.
var calendarUnits = map[string]bool{
	"mon": true, "mons": true, "month": true, "months": true,
	"y": true, "yr": true, "yrs": true, "year": true, "years": true,
	"decade": true, "decades": true, "century": true, "centuries": true,
}

const intervalExamples = `for example "10 seconds", "2 minutes 30 seconds", "INTERVAL '10' SECOND" or "250ms"`

// ParseInterval reads an interval of fixed length, as written in Spark
// (window durations, watermark delays) or as a Go duration:
//
//	10 seconds      10 second      1 minute       2 minutes 30 seconds
//	1 hour          500 milliseconds              100 microseconds
//	1 day           1 week         1.5 hours      -5 minutes
//	INTERVAL '10' SECOND           interval 10 seconds
//	INTERVAL '2 minutes 30 seconds'
//	10s             1m30s          250ms          100us
//
// Case does not matter. Each number takes a unit: nanosecond(s),
// microsecond(s), millisecond(s), second(s), minute(s), hour(s), day(s),
// week(s), or the short forms ns, us, µs, ms, s, sec, m, min, h, hr, d, w.
// A leading '-' makes that number negative ("-1 minute 30 seconds" is -30s,
// as in Spark), except in a Go duration without spaces, where it negates
// the whole ("-1m30s" is -90s, as time.ParseDuration reads it).
//
// Months and years are refused: their length varies, and windows and
// watermark delays need fixed-length intervals (write days instead).
// The error names what was wrong in s and gives an example.
func ParseInterval(s string) (time.Duration, error) {
	d, err := parseInterval(s)
	if err != nil {
		return 0, fmt.Errorf("expr: %w", err)
	}
	return d, nil
}

// parseInterval is ParseInterval with errors not yet prefixed "expr: ",
// for callers that name the argument first.
func parseInterval(s string) (time.Duration, error) {
	text := strings.ToLower(strings.TrimSpace(s))
	if rest, ok := strings.CutPrefix(text, "interval"); ok && (rest == "" || rest[0] == '\'' || rest[0] == '"' || isSpace(rest[0])) {
		text = strings.TrimSpace(rest)
	}
	if text == "" {
		return 0, intervalError(s, "it is empty")
	}
	text, err := unquoteInterval(s, text)
	if err != nil {
		return 0, err
	}
	if !strings.ContainsFunc(text, unicode.IsSpace) && strings.ContainsFunc(text, unicode.IsLetter) {
		if d, err := time.ParseDuration(text); err == nil {
			return d, nil
		}
	}
	return scanInterval(s, text)
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// unquoteInterval turns SQL's INTERVAL '10' SECOND and INTERVAL
// '10 seconds' into 10 second and 10 seconds. s is the original text, for
// errors.
func unquoteInterval(s, text string) (string, error) {
	q := text[0]
	if q != '\'' && q != '"' {
		if strings.ContainsAny(text, `'"`) {
			return "", intervalError(s, "a quote may only enclose the number or the whole interval, as in INTERVAL '10' SECOND")
		}
		return text, nil
	}
	end := strings.IndexByte(text[1:], q)
	if end < 0 {
		return "", intervalError(s, fmt.Sprintf("the quote %c is not closed", q))
	}
	inner, rest := text[1:1+end], text[2+end:]
	if strings.ContainsAny(inner, `'"`) || strings.ContainsAny(rest, `'"`) {
		return "", intervalError(s, "a quote may only enclose the number or the whole interval, as in INTERVAL '10' SECOND")
	}
	out := strings.TrimSpace(inner + " " + rest)
	if out == "" {
		return "", intervalError(s, "the quotes enclose nothing")
	}
	return out, nil
}

// scanInterval reads a sequence of numbers, each followed by a unit, and
// sums them in nanoseconds.
func scanInterval(s, text string) (time.Duration, error) {
	var total int64
	i := 0
	for {
		for i < len(text) && isSpace(text[i]) {
			i++
		}
		if i == len(text) {
			return time.Duration(total), nil
		}
		start := i
		if text[i] == '-' || text[i] == '+' {
			i++
		}
		digits := i
		for i < len(text) && (text[i] >= '0' && text[i] <= '9' || text[i] == '.') {
			i++
		}
		num := text[start:i]
		if i == digits {
			word := text[start:wordEnd(text, start)]
			return 0, intervalError(s, fmt.Sprintf("expected a number where it says %q", word))
		}
		for i < len(text) && isSpace(text[i]) {
			i++
		}
		ustart := i
		for i < len(text) {
			r, size := utf8.DecodeRuneInString(text[i:])
			if !unicode.IsLetter(r) {
				break
			}
			i += size
		}
		unit := text[ustart:i]
		if unit == "" {
			if i == len(text) {
				return 0, intervalError(s, fmt.Sprintf("the number %s has no unit; add one, such as %s seconds", num, num))
			}
			return 0, intervalError(s, fmt.Sprintf("the number %s is followed by %q, not a unit", num, text[i:wordEnd(text, i)]))
		}
		scale, ok := intervalUnits[unit]
		if !ok {
			if calendarUnits[unit] {
				return 0, fmt.Errorf("interval %q: %s have no fixed length, and windows and watermark delays need fixed-length intervals; use days, for example \"30 days\" or \"365 days\"", s, monthsOrYears(unit))
			}
			return 0, intervalError(s, fmt.Sprintf("unknown unit %q%s; units are nanoseconds, microseconds, milliseconds, seconds, minutes, hours, days and weeks (or ns, us, ms, s, m, h, d, w)",
				unit, suggest(unit, []string{"nanoseconds", "microseconds", "milliseconds", "seconds", "minutes", "hours", "days", "weeks"})))
		}
		ns, err := scaleNumber(num, scale)
		if err != nil {
			return 0, intervalError(s, err.Error())
		}
		sum := total + ns
		if (ns > 0 && sum < total) || (ns < 0 && sum > total) {
			return 0, intervalError(s, "it is longer than the longest duration, about 292 years")
		}
		total = sum
	}
}

// wordEnd is the index where the word starting at i ends.
func wordEnd(text string, i int) int {
	j := i
	for j < len(text) && !isSpace(text[j]) {
		j++
	}
	return j
}

func monthsOrYears(unit string) string {
	if strings.HasPrefix(unit, "mon") {
		return "months"
	}
	if strings.HasPrefix(unit, "dec") {
		return "decades"
	}
	if strings.HasPrefix(unit, "cent") {
		return "centuries"
	}
	return "years"
}

// scaleNumber is num (an optionally signed decimal such as "1.5") times
// scale nanoseconds; it fails when the result is not a whole number of
// nanoseconds or does not fit a time.Duration.
func scaleNumber(num string, scale int64) (int64, error) {
	neg := false
	digits := num
	switch digits[0] {
	case '-':
		neg, digits = true, digits[1:]
	case '+':
		digits = digits[1:]
	}
	whole, frac, _ := strings.Cut(digits, ".")
	if strings.Contains(frac, ".") || (whole == "" && frac == "") {
		return 0, fmt.Errorf("%q is not a number", num)
	}
	tooLong := fmt.Errorf("%s of that unit is longer than the longest duration, about 292 years", num)
	var w uint64
	if whole != "" {
		var err error
		if w, err = strconv.ParseUint(whole, 10, 64); err != nil {
			return 0, tooLong
		}
	}
	hi, lo := bits.Mul64(w, uint64(scale))
	if hi != 0 || lo > math.MaxInt64 {
		return 0, tooLong
	}
	total := lo
	frac = strings.TrimRight(frac, "0")
	if frac != "" {
		if len(frac) > 18 {
			return 0, fmt.Errorf("%s has more decimal places than a nanosecond resolves", num)
		}
		f, err := strconv.ParseUint(frac, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%q is not a number", num)
		}
		den := uint64(1)
		for range len(frac) {
			den *= 10
		}
		fh, fl := bits.Mul64(f, uint64(scale))
		q, rem := bits.Div64(fh, fl, den)
		if rem != 0 {
			return 0, fmt.Errorf("%s is not a whole number of nanoseconds", num)
		}
		total += q
		if total > math.MaxInt64 {
			return 0, tooLong
		}
	}
	if neg {
		return -int64(total), nil
	}
	return int64(total), nil
}

func intervalError(s, what string) error {
	return fmt.Errorf("interval %q: %s; write numbers with units, %s", s, what, intervalExamples)
}
