package expr

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// This file holds the calendar arithmetic, time zones, and Spark's
// datetime patterns compiled once into a formatter and a parser that work
// on bytes without allocating.
//
// The calendar is the proleptic Gregorian calendar, as in Spark 3 and
// later. Supported pattern letters (Spark's "Datetime Patterns" page):
//
//	G era (AD, Anno Domini, A)        y year (yy: two digits, 2000-2099)
//	D day of year                     M/L month (M, MM, MMM Jan, MMMM January)
//	d day of month                    Q/q quarter (formatting only)
//	E day of week (EEE Tue, EEEE Tuesday; when parsing it must match the date)
//	a AM/PM                           h 1-12, K 0-11, k 1-24, H 0-23
//	m minute   s second               S fraction of second (1 to 9 letters)
//	VV zone id (America/New_York)     z zone name (UTC, PST)
//	O GMT+8 / GMT+08:00               X, x, Z zone offsets (X uses Z for zero)
//	'text' literal text, '' a quote   [ ] an optional section
//
// A numeric field of one letter takes one or more digits, two letters
// exactly two (padded when formatting); year takes four or more digits for
// yyyy. Fractions keep microseconds: more digits are read and dropped.
// Text is matched case-insensitively. The whole input must match.
// Week-based letters (Y w W u e c) are refused, as in Spark 3.

// ---- calendar ----

const (
	microsPerSecond = int64(1_000_000)
	microsPerDay    = 86_400 * microsPerSecond
	// maxDays bounds the days whose midnight fits in int64 microseconds.
	maxDays = int64(106_751_990)
)

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

func floorMod(a, b int64) int64 { return a - floorDiv(a, b)*b }

// civilFromDays is the proleptic Gregorian date of day z (0 = 1970-01-01).
func civilFromDays(z int64) (y int64, m, d int) {
	z += 719468
	era := floorDiv(z, 146097)
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

// daysFromCivil is the day number of y-m-d (m 1..12, d 1..31).
func daysFromCivil(y int64, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := floorDiv(y, 400)
	yoe := y - era*400
	mp := int64((m + 9) % 12)
	doy := (153*mp+2)/5 + int64(d) - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}

func isLeap(y int64) bool { return y%4 == 0 && (y%100 != 0 || y%400 == 0) }

func daysInMonth(y int64, m int) int {
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

// isoWeekday is 1 (Monday) to 7 (Sunday); day 0 was a Thursday.
func isoWeekday(days int64) int { return int(floorMod(days+3, 7)) + 1 }

// isoWeek is the ISO 8601 week number of the day: weeks start on Monday
// and week 1 holds the year's first Thursday.
func isoWeek(days int64) int {
	thu := days - int64(isoWeekday(days)) + 4
	y, _, _ := civilFromDays(thu)
	return int((thu-daysFromCivil(y, 1, 1))/7) + 1
}

var (
	monthNames = [...]string{"January", "February", "March", "April", "May", "June", "July",
		"August", "September", "October", "November", "December"}
	dayNames = [...]string{"Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"}
)

// ---- time zones ----

// zoneCache converts between UTC instants and wall-clock times of one
// zone, remembering the last zone period so that neighbouring values cost
// no lookup. It is not safe for concurrent use: make one per evaluation.
type zoneCache struct {
	loc   *time.Location
	fixed bool  // no transitions: off applies everywhere
	off   int64 // seconds, when fixed
	// the last period looked up: [start, end) in UTC seconds, offset coff
	has        bool
	start, end int64
	coff       int64
}

func newZoneCache(loc *time.Location) *zoneCache {
	z := makeZoneCache(loc)
	return &z
}

func makeZoneCache(loc *time.Location) zoneCache {
	if loc == nil {
		loc = time.UTC
	}
	z := zoneCache{loc: loc}
	t := time.Unix(0, 0).In(loc)
	s, e := t.ZoneBounds()
	if s.IsZero() && e.IsZero() {
		_, off := t.Zone()
		z.fixed, z.off = true, int64(off)
	}
	return z
}

func (z *zoneCache) isUTC() bool { return z.fixed && z.off == 0 }

const (
	minUnixSec = -(1 << 62) / 1_000_000
	maxUnixSec = (1 << 62) / 1_000_000
)

// offsetAt is the zone's offset from UTC, in seconds, at UTC second u.
func (z *zoneCache) offsetAt(u int64) int64 {
	if z.fixed {
		return z.off
	}
	if z.has && u >= z.start && u < z.end {
		return z.coff
	}
	t := time.Unix(u, 0).In(z.loc)
	_, off := t.Zone()
	s, e := t.ZoneBounds()
	z.has, z.coff = true, int64(off)
	z.start, z.end = minUnixSec, maxUnixSec
	if !s.IsZero() {
		z.start = s.Unix()
	}
	if !e.IsZero() {
		z.end = e.Unix()
	}
	if z.start > u || z.end <= u {
		// The time package reports bounds that miss u for a few days at
		// the end of some years past its transition table: cache
		// nothing more than u itself.
		z.start, z.end = u, u+1
	}
	return z.coff
}

// toLocal is the wall-clock time (microseconds) of UTC instant us.
func (z *zoneCache) toLocal(us int64) int64 {
	if z.fixed {
		return us + z.off*microsPerSecond
	}
	return us + z.offsetAt(floorDiv(us, microsPerSecond))*microsPerSecond
}

// toUTC is the instant of wall-clock time l (microseconds) in the zone, as
// java.time resolves it: in an overlap (clocks turned back) the earlier
// instant; in a gap (clocks turned forward) the time is moved forward by
// the length of the gap.
func (z *zoneCache) toUTC(l int64) int64 {
	if z.fixed {
		return l - z.off*microsPerSecond
	}
	sec := floorDiv(l, microsPerSecond)
	frac := l - sec*microsPerSecond
	return z.toUTCSec(sec)*microsPerSecond + frac
}

// margin exceeds any difference between two offsets of one zone.
const margin = 26 * 3600

func (z *zoneCache) toUTCSec(l int64) int64 {
	if z.has {
		if u := l - z.coff; u >= z.start+margin && u < z.end-margin {
			return u // well inside one period: no other offset can apply
		}
	}
	// The offsets in force around l: before and after any transition
	// near it, and those the candidates lead to.
	before := z.offsetAt(l - margin)
	after := z.offsetAt(l + margin)
	cands := [4]int64{before, after, z.offsetAt(l - before), z.offsetAt(l - after)}
	best, found := int64(0), false
	for _, o := range cands {
		if z.offsetAt(l-o) == o && (!found || o > best) {
			best, found = o, true // the largest offset is the earliest instant
		}
	}
	if found {
		return l - best
	}
	// In a gap: move forward by its length, that is, use the offset
	// from before the transition.
	return l - before
}

// zoneName is the zone's abbreviation at UTC second u ("UTC", "PST").
func (z *zoneCache) zoneName(u int64) string {
	name, _ := time.Unix(u, 0).In(z.loc).Zone()
	return name
}

// zoneID is the zone's identifier as Spark prints it for 'VV'.
func (z *zoneCache) zoneID() string {
	name := z.loc.String()
	if z.fixed && name != "UTC" {
		return string(formatOffset(nil, z.off, true, true, true))
	}
	return name
}

var zones sync.Map // string -> *time.Location

// zonesByText caches zones met in parsed text, so that reading a zone
// name per row does not allocate.
var zonesByText struct {
	sync.RWMutex
	m map[string]*time.Location
}

// zoneOfText is loadZone for a name in parsed text.
func zoneOfText(name []byte) (*time.Location, error) {
	zonesByText.RLock()
	loc, ok := zonesByText.m[string(name)]
	zonesByText.RUnlock()
	if ok {
		return loc, nil
	}
	loc, err := loadZone(string(name))
	if err != nil {
		return nil, err
	}
	zonesByText.Lock()
	if zonesByText.m == nil || len(zonesByText.m) > 10_000 {
		zonesByText.m = map[string]*time.Location{}
	}
	zonesByText.m[string(name)] = loc
	zonesByText.Unlock()
	return loc, nil
}

// abbrevOffset looks up a zone abbreviation (zoneAbbrevs)
// case-insensitively.
func abbrevOffset(name []byte) (int64, bool) {
	var up [3]byte
	if len(name) != len(up) {
		return 0, false
	}
	for i, c := range name {
		if c >= 'a' && c <= 'z' {
			c -= 'a' - 'A'
		}
		up[i] = c
	}
	off, ok := zoneAbbrevs[string(up[:])]
	return off, ok
}

// errZone is returned for a time zone name that is not known.
var errZone = errors.New("unknown time zone")

// loadZone resolves a zone as Spark accepts it: a region id
// ("America/New_York"), "UTC"/"GMT"/"UT"/"Z", or an offset ("+08:00",
// "-0530", "GMT+8", "UTC-03:30"). Results are cached.
func loadZone(name string) (*time.Location, error) {
	if l, ok := zones.Load(name); ok {
		return l.(*time.Location), nil
	}
	loc, err := resolveZone(name)
	if err != nil {
		return nil, err
	}
	zones.Store(strings.Clone(name), loc)
	return loc, nil
}

func resolveZone(name string) (*time.Location, error) {
	switch strings.ToUpper(name) {
	case "UTC", "Z", "GMT", "UT", "ZULU", "ETC/UTC", "ETC/GMT":
		return time.UTC, nil
	case "EST":
		return time.FixedZone("-05:00", -5*3600), nil
	case "MST":
		return time.FixedZone("-07:00", -7*3600), nil
	case "HST":
		return time.FixedZone("-10:00", -10*3600), nil
	}
	rest := name
	for _, p := range []string{"UTC", "GMT", "UT"} {
		if len(rest) > len(p) && strings.EqualFold(rest[:len(p)], p) && (rest[len(p)] == '+' || rest[len(p)] == '-') {
			rest = rest[len(p):]
			break
		}
	}
	if rest != "" && (rest[0] == '+' || rest[0] == '-') {
		off, n, ok := parseOffset([]byte(rest), offsetAny)
		if !ok || n != len(rest) {
			return nil, fmt.Errorf("%w %q: an offset is written +HH, +HH:MM or +HH:MM:SS, at most 18 hours", errZone, name)
		}
		if off == 0 {
			return time.UTC, nil
		}
		return time.FixedZone(string(formatOffset(nil, off, true, true, true)), int(off)), nil
	}
	if name == "" || name == "Local" || strings.Contains(name, "..") {
		return nil, fmt.Errorf("%w %q: use a region id such as America/New_York or an offset such as +02:00", errZone, name)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("%w %q: use a region id such as America/New_York or an offset such as +02:00", errZone, name)
	}
	return loc, nil
}

// zoneAbbrevs are the zone names accepted when parsing 'z' besides region
// ids and UTC/GMT: North American abbreviations, as fixed offsets.
var zoneAbbrevs = map[string]int64{
	"EST": -5 * 3600, "EDT": -4 * 3600, "CST": -6 * 3600, "CDT": -5 * 3600,
	"MST": -7 * 3600, "MDT": -6 * 3600, "PST": -8 * 3600, "PDT": -7 * 3600,
}

// offset styles for parseOffset
const (
	offsetAny   = iota // +H, +HH, +HHMM, +HH:MM, +HHMMSS, +HH:MM:SS
	offsetColon        // +HH:MM[:SS]
	offsetPlain        // +HHMM[SS]
	offsetHour         // +HH[MM]
)

// parseOffset reads a signed offset at the start of s, returning seconds
// and the bytes read.
func parseOffset(s []byte, style int) (int64, int, bool) {
	if len(s) < 2 || (s[0] != '+' && s[0] != '-') {
		return 0, 0, false
	}
	neg := s[0] == '-'
	i := 1
	h, n := readDigits(s[i:], 1, 2)
	if n == 0 || (n == 1 && style != offsetAny) {
		return 0, 0, false
	}
	i += n
	var m, sec int64
	colon := style == offsetColon
	if style == offsetAny && i < len(s) && s[i] == ':' {
		colon = true
	}
	readPart := func() (int64, bool) {
		j := i
		if colon {
			if j >= len(s) || s[j] != ':' {
				return 0, false
			}
			j++
		}
		v, n := readDigits(s[j:], 2, 2)
		if n != 2 {
			return 0, false
		}
		i = j + 2
		return v, true
	}
	if v, ok := readPart(); ok {
		m = v
		if style != offsetHour {
			if v, ok := readPart(); ok {
				sec = v
			}
		}
	} else if style == offsetColon || style == offsetPlain {
		return 0, 0, false
	}
	if h > 18 || m > 59 || sec > 59 {
		return 0, 0, false
	}
	off := h*3600 + m*60 + sec
	if off > 18*3600 {
		return 0, 0, false
	}
	if neg {
		off = -off
	}
	return off, i, true
}

// readDigits reads between lo and hi ASCII digits; n is 0 when fewer than
// lo are there.
func readDigits(s []byte, lo, hi int) (v int64, n int) {
	for n < hi && n < len(s) && s[n] >= '0' && s[n] <= '9' {
		v = v*10 + int64(s[n]-'0')
		n++
	}
	if n < lo {
		return 0, 0
	}
	return v, n
}

// formatOffset appends +HH:MM (colon) or +HHMM, then :SS / SS when secs
// is set and the offset has seconds; zero is "Z" when z is set.
func formatOffset(dst []byte, off int64, colon, z, secs bool) []byte {
	if off == 0 && z {
		return append(dst, 'Z')
	}
	if dst == nil {
		dst = make([]byte, 0, 9)
	}
	sign := byte('+')
	if off < 0 {
		sign, off = '-', -off
	}
	dst = append(dst, sign)
	dst = append2(dst, int(off/3600))
	if colon {
		dst = append(dst, ':')
	}
	dst = append2(dst, int(off/60%60))
	if s := off % 60; s != 0 && secs {
		if colon {
			dst = append(dst, ':')
		}
		dst = append2(dst, int(s))
	}
	return dst
}

func append2(dst []byte, v int) []byte {
	return append(dst, byte('0'+v/10%10), byte('0'+v%10))
}

// appendPadded appends v zero-padded to width digits (sign first).
func appendPadded(dst []byte, v int64, width int) []byte {
	if v < 0 {
		dst = append(dst, '-')
		v = -v
	}
	var tmp [20]byte
	i := len(tmp)
	for v >= 10 {
		i--
		tmp[i] = byte('0' + v%10)
		v /= 10
	}
	i--
	tmp[i] = byte('0' + v)
	for n := len(tmp) - i; n < width; n++ {
		dst = append(dst, '0')
	}
	return append(dst, tmp[i:]...)
}

// ---- patterns ----

type dtField uint8

const (
	fLiteral dtField = iota
	fEra
	fYear
	fQuarter
	fMonth
	fDay
	fDayOfYear
	fDayOfWeek
	fAmPm
	fHour24  // H 0-23
	fHour12  // h 1-12
	fHour11  // K 0-11
	fHour24k // k 1-24
	fMinute
	fSecond
	fFraction
	fOffsetX // X: Z for zero
	fOffsetx // x
	fOffsetZ // Z
	fOffsetO // O: GMT+8
	fZoneID  // VV
	fZoneName
	fOptStart
	fOptEnd
)

type dtItem struct {
	field dtField
	count int
	lit   string
	end   int // fOptStart: index of the matching fOptEnd
	// for numeric items, set at compile time: the digits read, and the
	// digits left for the numeric items right after it ("yyyyMMdd")
	num     bool
	lo, hi  int
	reserve int
	signed  bool // a year may have a sign
}

// numeric reports whether the item is read as digits.
func (it dtItem) numeric() bool {
	switch it.field {
	case fYear, fDay, fDayOfYear, fHour24, fHour12, fHour11, fHour24k, fMinute, fSecond, fFraction:
		return true
	case fMonth, fQuarter:
		return it.count <= 2
	}
	return false
}

// widths is the digits a numeric item reads when parsing.
func (it dtItem) widths() (lo, hi int) {
	switch it.field {
	case fYear:
		switch it.count {
		case 2:
			return 2, 2
		case 1:
			return 1, 9
		}
		return it.count, 9
	case fFraction:
		return 1, it.count
	case fDayOfYear:
		return it.count, 3
	}
	if it.count == 1 {
		return 1, 2
	}
	return 2, 2
}

// dtLayout is a compiled datetime pattern.
type dtLayout struct {
	pattern string
	items   []dtItem
	zoned   bool // has an offset or zone item
	era     bool // has G: y is the year of era
	dow     bool // has a day-of-week item
	doy     bool // has a day-of-year item
	maxLen  int  // bytes a formatted value takes at most
}

// patternError describes a pattern that cannot be compiled.
type patternError struct {
	pattern string
	msg     string
}

func (e *patternError) Error() string {
	return fmt.Sprintf("invalid datetime pattern %q: %s", e.pattern, e.msg)
}

var (
	layouts     sync.Map // [2]any{pattern, parse} -> *dtLayout
	layoutCount atomic.Int64
)

// maxLayouts bounds the layouts cached, for pattern columns with ever new
// values.
const maxLayouts = 4096

// compileLayout compiles pattern for formatting, or for parsing when
// parse is set (letters only meaningful for output are refused).
// Compiled layouts are cached.
func compileLayout(pattern string, parse bool) (*dtLayout, error) {
	key := [2]any{pattern, parse}
	if l, ok := layouts.Load(key); ok {
		return l.(*dtLayout), nil
	}
	l, err := compilePattern(pattern, parse)
	if err != nil {
		return nil, err
	}
	if layoutCount.Add(1) <= maxLayouts {
		layouts.Store([2]any{strings.Clone(pattern), parse}, l)
	}
	return l, nil
}

// letterRule is how many times a pattern letter may repeat.
var letterRules = map[byte]struct {
	field    dtField
	min, max int
}{
	'G': {fEra, 1, 5}, 'y': {fYear, 1, 6}, 'D': {fDayOfYear, 1, 3},
	'M': {fMonth, 1, 5}, 'L': {fMonth, 1, 5}, 'd': {fDay, 1, 2},
	'Q': {fQuarter, 1, 5}, 'q': {fQuarter, 1, 5}, 'E': {fDayOfWeek, 1, 5},
	'a': {fAmPm, 1, 1}, 'h': {fHour12, 1, 2}, 'K': {fHour11, 1, 2},
	'k': {fHour24k, 1, 2}, 'H': {fHour24, 1, 2}, 'm': {fMinute, 1, 2},
	's': {fSecond, 1, 2}, 'S': {fFraction, 1, 9}, 'V': {fZoneID, 2, 2},
	'z': {fZoneName, 1, 3}, 'O': {fOffsetO, 1, 4}, 'X': {fOffsetX, 1, 5},
	'x': {fOffsetx, 1, 5}, 'Z': {fOffsetZ, 1, 5},
}

func compilePattern(pattern string, parse bool) (*dtLayout, error) {
	l := &dtLayout{pattern: pattern}
	fail := func(format string, a ...any) error {
		return &patternError{pattern: pattern, msg: fmt.Sprintf(format, a...)}
	}
	var lit []byte
	flush := func() {
		if len(lit) > 0 {
			l.items = append(l.items, dtItem{field: fLiteral, lit: string(lit)})
			lit = lit[:0]
		}
	}
	var opens []int
	for i := 0; i < len(pattern); {
		c := pattern[i]
		switch {
		case c == '\'':
			j := i + 1
			if j < len(pattern) && pattern[j] == '\'' {
				lit = append(lit, '\'')
				i += 2
				continue
			}
			for {
				if j >= len(pattern) {
					return nil, fail("the quote at position %d is not closed", i)
				}
				if pattern[j] == '\'' {
					if j+1 < len(pattern) && pattern[j+1] == '\'' {
						lit = append(lit, '\'')
						j += 2
						continue
					}
					break
				}
				lit = append(lit, pattern[j])
				j++
			}
			i = j + 1
		case c == '[':
			flush()
			opens = append(opens, len(l.items))
			l.items = append(l.items, dtItem{field: fOptStart})
			i++
		case c == ']':
			if len(opens) == 0 {
				return nil, fail("']' at position %d closes no optional section", i)
			}
			flush()
			l.items[opens[len(opens)-1]].end = len(l.items)
			opens = opens[:len(opens)-1]
			l.items = append(l.items, dtItem{field: fOptEnd})
			i++
		case c == '{' || c == '}' || c == '#':
			return nil, fail("%q at position %d is reserved; quote it ('%c') to use it as text", c, i, c)
		case (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'):
			n := 1
			for i+n < len(pattern) && pattern[i+n] == c {
				n++
			}
			rule, ok := letterRules[c]
			switch {
			case strings.IndexByte("YwWuec", c) >= 0:
				return nil, fail("week-based letter '%c' is not supported (as in Spark 3 and later); use dayofweek, weekofyear or extract instead", c)
			case !ok:
				return nil, fail("unknown pattern letter '%c' at position %d; quote text, as in 'T'", c, i)
			case n < rule.min || n > rule.max:
				return nil, fail("%d letters '%c' at position %d; use %s", n, c, i, countRange(rule.min, rule.max))
			case c == 'O' && n != 1 && n != 4:
				return nil, fail("'O' must be used once (GMT+8) or four times (GMT+08:00)")
			case parse && (c == 'Q' || c == 'q'):
				return nil, fail("'%c' (quarter) can only be used for formatting, not parsing", c)
			case parse && (c == 'G' && n == 5 || (c == 'M' || c == 'L') && n == 5 || c == 'E' && n == 5):
				return nil, fail("narrow text ('%s') can only be used for formatting, not parsing", strings.Repeat(string(c), n))
			}
			flush()
			l.items = append(l.items, dtItem{field: rule.field, count: n})
			i += n
		default:
			lit = append(lit, c)
			i++
		}
	}
	if len(opens) > 0 {
		return nil, fail("the optional section '[' at its position %d is not closed", opens[0])
	}
	flush()
	for i := range l.items {
		it := &l.items[i]
		if !it.numeric() {
			continue
		}
		it.num = true
		it.lo, it.hi = it.widths()
		it.signed = it.field == fYear && it.count != 2
		for j := i + 1; j < len(l.items) && l.items[j].numeric(); j++ {
			jlo, jhi := l.items[j].widths()
			if l.items[j].field == fFraction {
				jlo = jhi // a fraction ends the run and takes what is left
			}
			it.reserve += jlo
		}
	}
	for _, it := range l.items {
		switch it.field {
		case fOffsetX, fOffsetx, fOffsetZ, fOffsetO, fZoneID, fZoneName:
			l.zoned = true
		case fEra:
			l.era = true
		case fDayOfWeek:
			l.dow = true
		case fDayOfYear:
			l.doy = true
		}
		l.maxLen += it.maxLen()
	}
	return l, nil
}

func countRange(lo, hi int) string {
	if lo == hi {
		return fmt.Sprintf("exactly %d", lo)
	}
	return fmt.Sprintf("%d to %d", lo, hi)
}

func (it dtItem) maxLen() int {
	switch it.field {
	case fLiteral:
		return len(it.lit)
	case fEra:
		return 13
	case fYear:
		return max(it.count, 8) + 1
	case fMonth:
		return 9
	case fDayOfWeek:
		return 9
	case fQuarter:
		return 11
	case fZoneID, fZoneName:
		return 64
	case fOffsetO, fOffsetZ, fOffsetX, fOffsetx:
		return 12
	case fOptStart, fOptEnd:
		return 0
	}
	return max(it.count, 3)
}

// dtFields are the wall-clock fields of one value, for formatting.
type dtFields struct {
	year                 int64
	month, day           int
	hour, minute, second int
	micros               int
	days                 int64 // day number, for day of week and of year
	offset               int64 // seconds east of UTC
	utcSec               int64 // the instant, for the zone name
	zc                   *zoneCache
}

// setLocal fills the fields from wall-clock microseconds.
func (f *dtFields) setLocal(local int64) {
	days := floorDiv(local, microsPerDay)
	tod := local - days*microsPerDay
	f.days = days
	f.year, f.month, f.day = civilFromDays(days)
	secs := tod / microsPerSecond
	f.micros = int(tod - secs*microsPerSecond)
	f.hour, f.minute, f.second = int(secs/3600), int(secs/60%60), int(secs%60)
}

// appendFormat appends the formatted fields to dst.
func (l *dtLayout) appendFormat(dst []byte, f *dtFields) []byte {
	for i := range l.items {
		dst = l.items[i].appendFormat(dst, f, l.era)
	}
	return dst
}

func (it *dtItem) appendFormat(dst []byte, f *dtFields, era bool) []byte {
	switch it.field {
	case fLiteral:
		return append(dst, it.lit...)
	case fEra:
		ad := f.year > 0
		switch {
		case it.count == 4 && ad:
			return append(dst, "Anno Domini"...)
		case it.count == 4:
			return append(dst, "Before Christ"...)
		case it.count == 5 && ad:
			return append(dst, 'A')
		case it.count == 5:
			return append(dst, 'B')
		case ad:
			return append(dst, "AD"...)
		}
		return append(dst, "BC"...)
	case fYear:
		y := f.year
		if era && y <= 0 {
			y = 1 - y
		}
		if it.count == 2 {
			return append2(dst, int(floorMod(y, 100)))
		}
		if it.count >= 4 && y >= 0 && y > pow10i(it.count)-1 {
			dst = append(dst, '+')
		}
		return appendPadded(dst, y, it.count)
	case fQuarter:
		q := (f.month-1)/3 + 1
		switch it.count {
		case 3:
			return append(dst, 'Q', byte('0'+q))
		case 4:
			return append(dst, [...]string{"1st quarter", "2nd quarter", "3rd quarter", "4th quarter"}[q-1]...)
		case 2:
			return append2(dst, q)
		}
		return append(dst, byte('0'+q))
	case fMonth:
		switch it.count {
		case 3:
			return append(dst, monthNames[f.month-1][:3]...)
		case 4:
			return append(dst, monthNames[f.month-1]...)
		case 5:
			return append(dst, monthNames[f.month-1][0])
		}
		return appendNum(dst, f.month, it.count)
	case fDay:
		return appendNum(dst, f.day, it.count)
	case fDayOfYear:
		return appendNum(dst, int(f.days-daysFromCivil(f.year, 1, 1))+1, it.count)
	case fDayOfWeek:
		name := dayNames[isoWeekday(f.days)-1]
		switch {
		case it.count == 4:
			return append(dst, name...)
		case it.count == 5:
			return append(dst, name[0])
		}
		return append(dst, name[:3]...)
	case fAmPm:
		if f.hour < 12 {
			return append(dst, "AM"...)
		}
		return append(dst, "PM"...)
	case fHour24:
		return appendNum(dst, f.hour, it.count)
	case fHour12:
		h := f.hour % 12
		if h == 0 {
			h = 12
		}
		return appendNum(dst, h, it.count)
	case fHour11:
		return appendNum(dst, f.hour%12, it.count)
	case fHour24k:
		h := f.hour
		if h == 0 {
			h = 24
		}
		return appendNum(dst, h, it.count)
	case fMinute:
		return appendNum(dst, f.minute, it.count)
	case fSecond:
		return appendNum(dst, f.second, it.count)
	case fFraction:
		// the first count digits of the nine-digit nanoseconds
		ns := f.micros * 1000
		div := 100_000_000
		for k := 0; k < it.count; k++ {
			dst = append(dst, byte('0'+ns/div%10))
			div /= 10
			if div == 0 {
				div = 1
				ns = 0
			}
		}
		return dst
	case fOffsetX, fOffsetx:
		z := it.field == fOffsetX
		switch it.count {
		case 1: // +HH, +HHmm when minutes are not zero
			if f.offset == 0 && z {
				return append(dst, 'Z')
			}
			o := f.offset
			sign := byte('+')
			if o < 0 {
				sign, o = '-', -o
			}
			dst = append2(append(dst, sign), int(o/3600))
			if m := o / 60 % 60; m != 0 {
				dst = append2(dst, int(m))
			}
			return dst
		}
		// XX +HHMM, XXX +HH:MM, XXXX +HHMMss, XXXXX +HH:MM:ss
		return formatOffset(dst, f.offset, it.count%2 == 1, z, it.count >= 4)
	case fOffsetZ:
		switch it.count {
		case 4:
			if f.offset == 0 {
				return append(dst, "GMT"...)
			}
			return formatOffset(append(dst, "GMT"...), f.offset, true, false, true)
		case 5:
			return formatOffset(dst, f.offset, true, true, true)
		}
		return formatOffset(dst, f.offset, false, false, false)
	case fOffsetO:
		dst = append(dst, "GMT"...)
		if f.offset == 0 {
			return dst
		}
		if it.count == 4 {
			return formatOffset(dst, f.offset, true, false, true)
		}
		o := f.offset
		sign := byte('+')
		if o < 0 {
			sign, o = '-', -o
		}
		dst = strconv.AppendInt(append(dst, sign), o/3600, 10)
		if m, s := o/60%60, o%60; m != 0 || s != 0 {
			dst = append2(append(dst, ':'), int(m))
			if s != 0 {
				dst = append2(append(dst, ':'), int(s))
			}
		}
		return dst
	case fZoneID:
		return append(dst, f.zc.zoneID()...)
	case fZoneName:
		return append(dst, f.zc.zoneName(f.utcSec)...)
	}
	return dst
}

func appendNum(dst []byte, v, width int) []byte {
	if width == 2 && v >= 0 && v < 100 {
		return append2(dst, v)
	}
	return appendPadded(dst, int64(v), width)
}

func pow10i(n int) int64 {
	p := int64(1)
	for ; n > 0 && p < 1e18; n-- {
		p *= 10
	}
	return p
}

// ---- parsing ----

// parseFail says why a value did not parse, for the error message. It is
// a plain value so that try_ functions pay nothing for it.
type parseFail struct {
	code  int
	pos   int   // byte position in the input
	item  int   // pattern item, for codes about an item
	value int64 // the offending number
}

const (
	pfNone = iota
	pfLiteral
	pfDigits
	pfText
	pfOffset
	pfZone
	pfTrailing
	pfRange
	pfDate
	pfDayOfWeek
	pfOverflow
	pfISO
)

var fieldNames = [...]string{
	fEra: "era", fYear: "year", fQuarter: "quarter", fMonth: "month", fDay: "day of month",
	fDayOfYear: "day of year", fDayOfWeek: "day of week", fAmPm: "AM/PM", fHour24: "hour",
	fHour12: "hour (1-12)", fHour11: "hour (0-11)", fHour24k: "hour (1-24)", fMinute: "minute",
	fSecond: "second", fFraction: "fraction of second", fOffsetX: "zone offset", fOffsetx: "zone offset",
	fOffsetZ: "zone offset", fOffsetO: "zone offset", fZoneID: "zone id", fZoneName: "zone name",
}

// describe explains the failure in words.
func (p parseFail) describe(l *dtLayout, in []byte) string {
	var it dtItem
	if l != nil && p.item >= 0 && p.item < len(l.items) {
		it = l.items[p.item]
	}
	at := fmt.Sprintf("at position %d", p.pos)
	switch p.code {
	case pfLiteral:
		return fmt.Sprintf("expected %q %s", it.lit, at)
	case pfDigits:
		lo, hi := it.widths()
		return fmt.Sprintf("expected the %s (%s digits) %s", fieldNames[it.field], countRange(lo, hi), at)
	case pfText:
		return fmt.Sprintf("expected the %s as text %s", fieldNames[it.field], at)
	case pfOffset:
		return fmt.Sprintf("expected a zone offset such as +01:00 %s", at)
	case pfZone:
		return fmt.Sprintf("unknown time zone %s", at)
	case pfTrailing:
		return fmt.Sprintf("unparsed text %q %s", clip(in[p.pos:]), at)
	case pfRange:
		return fmt.Sprintf("%s %d is out of range", fieldNames[it.field], p.value)
	case pfDate:
		return "the date does not exist"
	case pfDayOfWeek:
		return "the day of week does not match the date"
	case pfOverflow:
		return "the value is outside the supported range of timestamps"
	case pfISO:
		return fmt.Sprintf("not a valid date/time %s; write it as yyyy-MM-dd[ HH:mm[:ss[.SSSSSS]]][zone]", at)
	}
	return "invalid input"
}

func clip(b []byte) string {
	if len(b) > 32 {
		return string(b[:32]) + "..."
	}
	return string(b)
}

// dtParsed holds the fields read from one value.
type dtParsed struct {
	year                   int64
	month, day, doy        int
	hour, minute, second   int
	micros                 int
	ampm                   int // 0 none, 1 AM, 2 PM
	era                    int // 0 none, 1 BC, 2 AD
	dow                    int // 0 none, 1 Monday .. 7 Sunday
	hourKind               dtField
	hasYear, hasMonth      bool
	hasDay, hasDOY, hasHr  bool
	hasOffset              bool
	offset                 int64 // seconds, when hasOffset
	loc                    *time.Location
	reducedYear, hasMinute bool
}

// parse reads in with the layout into p; ok is false with the reason in
// fail.
func (l *dtLayout) parse(in []byte, p *dtParsed) (fail parseFail, ok bool) {
	*p = dtParsed{}
	pos, f := l.parseItems(in, 0, 0, len(l.items), p)
	if f.code != pfNone {
		return f, false
	}
	if pos != len(in) {
		return parseFail{code: pfTrailing, pos: pos}, false
	}
	return parseFail{}, true
}

// parseItems parses items[from:to] from in[pos:].
func (l *dtLayout) parseItems(in []byte, pos, from, to int, p *dtParsed) (int, parseFail) {
	for i := from; i < to; i++ {
		it := &l.items[i]
		switch it.field {
		case fOptStart:
			save := *p
			np, f := l.parseItems(in, pos, i+1, it.end, p)
			if f.code == pfNone {
				pos = np
			} else {
				*p = save
			}
			i = it.end
			continue
		case fOptEnd:
			continue
		}
		var f parseFail
		pos, f = l.parseItem(in, pos, i, p)
		if f.code != pfNone {
			return pos, f
		}
	}
	return pos, parseFail{}
}

func (l *dtLayout) parseItem(in []byte, pos, idx int, p *dtParsed) (int, parseFail) {
	it := &l.items[idx]
	rest := in[pos:]
	if it.num {
		hi := it.hi
		neg := false
		if it.signed && len(rest) > 0 && (rest[0] == '-' || rest[0] == '+') {
			neg = rest[0] == '-'
			rest = rest[1:]
			pos++
		}
		if it.reserve > 0 {
			avail := 0
			for avail < len(rest) && rest[avail] >= '0' && rest[avail] <= '9' {
				avail++
			}
			if avail-it.reserve < hi {
				hi = max(avail-it.reserve, it.lo)
			}
		}
		v, n := readDigits(rest, it.lo, hi)
		if n == 0 {
			return pos, parseFail{code: pfDigits, pos: pos, item: idx}
		}
		if neg {
			v = -v
		}
		pos += n
		return pos, p.setNumber(it, v, n, idx, pos-n)
	}
	fail := func(code int) (int, parseFail) { return pos, parseFail{code: code, pos: pos, item: idx} }
	switch it.field {
	case fLiteral:
		if len(rest) < len(it.lit) || string(rest[:len(it.lit)]) != it.lit {
			// Spaces and letters compare as written; letters also
			// case-insensitively.
			if len(rest) < len(it.lit) || !strings.EqualFold(string(rest[:len(it.lit)]), it.lit) {
				return fail(pfLiteral)
			}
		}
		return pos + len(it.lit), parseFail{}
	case fMonth:
		m, n := matchName(rest, monthNames[:], it.count == 4)
		if n == 0 {
			return fail(pfText)
		}
		p.month, p.hasMonth = m+1, true
		return pos + n, parseFail{}
	case fDayOfWeek:
		d, n := matchName(rest, dayNames[:], it.count == 4)
		if n == 0 {
			return fail(pfText)
		}
		p.dow = d + 1
		return pos + n, parseFail{}
	case fAmPm:
		if len(rest) >= 2 && (rest[1] == 'M' || rest[1] == 'm') {
			switch rest[0] {
			case 'A', 'a':
				p.ampm = 1
				return pos + 2, parseFail{}
			case 'P', 'p':
				p.ampm = 2
				return pos + 2, parseFail{}
			}
		}
		return fail(pfText)
	case fEra:
		names := [...]string{"BC", "AD"}
		if it.count == 4 {
			names = [...]string{"Before Christ", "Anno Domini"}
		}
		e, n := matchName(rest, names[:], true)
		if n == 0 {
			return fail(pfText)
		}
		p.era = e + 1
		return pos + n, parseFail{}
	case fOffsetX, fOffsetx, fOffsetZ:
		if len(rest) > 0 && (rest[0] == 'Z' || rest[0] == 'z') && (it.field == fOffsetX || it.field == fOffsetZ && it.count == 5) {
			p.hasOffset, p.offset = true, 0
			return pos + 1, parseFail{}
		}
		if it.field == fOffsetZ && it.count == 4 {
			return l.parseGMT(in, pos, idx, p)
		}
		style := offsetHour
		switch {
		case it.field == fOffsetZ && it.count <= 3, it.count == 2, it.count == 4:
			style = offsetPlain
		case it.count == 3 || it.count == 5:
			style = offsetColon
		}
		off, n, ok := parseOffset(rest, style)
		if !ok {
			return fail(pfOffset)
		}
		p.hasOffset, p.offset = true, off
		return pos + n, parseFail{}
	case fOffsetO:
		return l.parseGMT(in, pos, idx, p)
	case fZoneID, fZoneName:
		n := 0
		for n < len(rest) && zoneChar(rest[n]) {
			n++
		}
		if n == 0 {
			return fail(pfZone)
		}
		name := rest[:n]
		if it.field == fZoneName {
			if off, ok := abbrevOffset(name); ok {
				p.hasOffset, p.offset = true, off
				return pos + n, parseFail{}
			}
		}
		loc, err := zoneOfText(name)
		if err != nil {
			return fail(pfZone)
		}
		p.loc = loc
		return pos + n, parseFail{}
	}
	return fail(pfText)
}

func zoneChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '/' || c == '_' || c == '+' || c == '-' || c == ':'
}

// parseGMT reads "GMT" optionally followed by an offset.
func (l *dtLayout) parseGMT(in []byte, pos, idx int, p *dtParsed) (int, parseFail) {
	rest := in[pos:]
	if len(rest) < 3 || !strings.EqualFold(string(rest[:3]), "GMT") {
		return pos, parseFail{code: pfOffset, pos: pos, item: idx}
	}
	p.hasOffset, p.offset = true, 0
	if off, n, ok := parseOffset(rest[3:], offsetAny); ok {
		p.offset = off
		return pos + 3 + n, parseFail{}
	}
	return pos + 3, parseFail{}
}

// matchName matches a full name, or its first three letters unless full,
// case-insensitively; it returns the index and the bytes read.
func matchName(s []byte, names []string, full bool) (int, int) {
	for i, name := range names {
		if full || len(name) <= 3 {
			if len(s) >= len(name) && strings.EqualFold(string(s[:len(name)]), name) {
				return i, len(name)
			}
			continue
		}
		if len(s) >= 3 && strings.EqualFold(string(s[:3]), name[:3]) {
			return i, 3
		}
	}
	return 0, 0
}

func (p *dtParsed) setNumber(it *dtItem, v int64, n, idx, pos int) parseFail {
	bad := func() parseFail { return parseFail{code: pfRange, pos: pos, item: idx, value: v} }
	switch it.field {
	case fYear:
		if it.count == 2 {
			v += 2000
			p.reducedYear = true
		}
		p.year, p.hasYear = v, true
	case fMonth:
		if v < 1 || v > 12 {
			return bad()
		}
		p.month, p.hasMonth = int(v), true
	case fDay:
		if v < 1 || v > 31 {
			return bad()
		}
		p.day, p.hasDay = int(v), true
	case fDayOfYear:
		if v < 1 || v > 366 {
			return bad()
		}
		p.doy, p.hasDOY = int(v), true
	case fHour24:
		if v > 23 {
			return bad()
		}
		p.hour, p.hasHr, p.hourKind = int(v), true, fHour24
	case fHour12:
		if v < 1 || v > 12 {
			return bad()
		}
		p.hour, p.hasHr, p.hourKind = int(v), true, fHour12
	case fHour11:
		if v > 11 {
			return bad()
		}
		p.hour, p.hasHr, p.hourKind = int(v), true, fHour11
	case fHour24k:
		if v < 1 || v > 24 {
			return bad()
		}
		p.hour, p.hasHr, p.hourKind = int(v), true, fHour24k
	case fMinute:
		if v > 59 {
			return bad()
		}
		p.minute, p.hasMinute = int(v), true
	case fSecond:
		if v > 59 {
			return bad()
		}
		p.second = int(v)
	case fFraction:
		for k := n; k < 6; k++ {
			v *= 10
		}
		for k := n; k > 6; k-- {
			v /= 10
		}
		p.micros = int(v)
	}
	return parseFail{}
}

// local resolves the parsed fields to wall-clock microseconds.
func (p *dtParsed) local() (int64, parseFail) {
	y := int64(1970)
	if p.hasYear {
		y = p.year
		if p.era == 1 {
			y = 1 - y
		}
	}
	var days int64
	if p.hasDOY && !p.hasMonth && !p.hasDay {
		limit := 365
		if isLeap(y) {
			limit = 366
		}
		if p.doy > limit {
			return 0, parseFail{code: pfDate}
		}
		days = daysFromCivil(y, 1, 1) + int64(p.doy) - 1
	} else {
		m, d := 1, 1
		if p.hasMonth {
			m = p.month
		}
		if p.hasDay {
			d = p.day
		}
		if y < -300_000 || y > 300_000 {
			return 0, parseFail{code: pfOverflow}
		}
		if d > daysInMonth(y, m) {
			return 0, parseFail{code: pfDate}
		}
		days = daysFromCivil(y, m, d)
		if p.hasDOY && days-daysFromCivil(y, 1, 1)+1 != int64(p.doy) {
			return 0, parseFail{code: pfDate}
		}
	}
	if days < -maxDays || days > maxDays {
		return 0, parseFail{code: pfOverflow}
	}
	if p.dow != 0 && isoWeekday(days) != p.dow {
		return 0, parseFail{code: pfDayOfWeek}
	}
	h := p.hour
	switch p.hourKind {
	case fHour12, fHour11:
		h %= 12
		if p.ampm == 2 {
			h += 12
		}
	case fHour24k:
		h %= 24
	}
	tod := int64(h)*3600 + int64(p.minute)*60 + int64(p.second)
	return days*microsPerDay + tod*microsPerSecond + int64(p.micros), parseFail{}
}

// instant resolves the parsed fields to a UTC instant: with the parsed
// offset or zone, else in zone z.
func (p *dtParsed) instant(z *zoneCache) (int64, parseFail) {
	l, f := p.local()
	if f.code != pfNone {
		return 0, f
	}
	switch {
	case p.hasOffset:
		return l - p.offset*microsPerSecond, parseFail{}
	case p.loc != nil:
		zc := makeZoneCache(p.loc)
		return zc.toUTC(l), parseFail{}
	}
	return z.toUTC(l), parseFail{}
}

// ---- the default (cast) formats ----

// isoValue is a date/time read in Spark's cast formats.
type isoValue struct {
	local     int64 // wall-clock microseconds
	hasOffset bool
	offset    int64
	loc       *time.Location
}

func (v *isoValue) instant(z *zoneCache) int64 {
	switch {
	case v.hasOffset:
		return v.local - v.offset*microsPerSecond
	case v.loc != nil:
		zc := makeZoneCache(v.loc)
		return zc.toUTC(v.local)
	}
	return z.toUTC(v.local)
}

func trimSpace(s []byte) []byte {
	for len(s) > 0 && s[0] <= ' ' {
		s = s[1:]
	}
	for len(s) > 0 && s[len(s)-1] <= ' ' {
		s = s[:len(s)-1]
	}
	return s
}

// parseISODate reads a date as Spark casts a string to a date: surrounding
// spaces trimmed, then [+-]yyyy[-[m]m[-[d]d]] with a four- to seven-digit
// year, optionally followed by ' ' or 'T' and anything. It returns the day
// number.
func parseISODate(s []byte) (int64, parseFail, bool) {
	s = trimSpace(s)
	days, n, f := isoDatePart(s)
	if f.code != pfNone {
		return 0, f, false
	}
	if n < len(s) && s[n] != ' ' && s[n] != 'T' {
		return 0, parseFail{code: pfISO, pos: n}, false
	}
	return days, parseFail{}, true
}

func isoDatePart(s []byte) (days int64, n int, f parseFail) {
	neg := false
	if len(s) > 0 && (s[0] == '-' || s[0] == '+') {
		neg = s[0] == '-'
		n++
	}
	y, k := readDigits(s[n:], 4, 7)
	if k == 0 {
		return 0, n, parseFail{code: pfISO, pos: n}
	}
	n += k
	if neg {
		y = -y
	}
	m, d := int64(1), int64(1)
	if n < len(s) && s[n] == '-' {
		if m, k = readDigits(s[n+1:], 1, 2); k == 0 {
			return 0, n + 1, parseFail{code: pfISO, pos: n + 1}
		}
		n += 1 + k
		if n < len(s) && s[n] == '-' {
			if d, k = readDigits(s[n+1:], 1, 2); k == 0 {
				return 0, n + 1, parseFail{code: pfISO, pos: n + 1}
			}
			n += 1 + k
		}
	}
	if m < 1 || m > 12 || d < 1 || int(d) > daysInMonth(y, int(m)) {
		return 0, n, parseFail{code: pfDate}
	}
	days = daysFromCivil(y, int(m), int(d))
	if days < -maxDays || days > maxDays {
		return 0, n, parseFail{code: pfOverflow}
	}
	return days, n, parseFail{}
}

// parseISO reads a timestamp as Spark casts a string to a timestamp:
// trimmed, a date as in parseISODate, then optionally ' ' or 'T' and
// [h]h:[m]m[:[s]s[.fraction]], then optionally (after an optional space)
// a zone: Z, an offset (+08:00, +0800, +08), UTC/GMT/UT with or without an
// offset, or a region id.
func parseISO(s []byte, v *isoValue) (parseFail, bool) {
	*v = isoValue{}
	s = trimSpace(s)
	days, n, f := isoDatePart(s)
	if f.code != pfNone {
		return f, false
	}
	var tod int64
	if n < len(s) && (s[n] == ' ' || s[n] == 'T') {
		n++
		if n < len(s) {
			h, k := readDigits(s[n:], 1, 2)
			if k == 0 || n+k >= len(s) || s[n+k] != ':' {
				return parseFail{code: pfISO, pos: n}, false
			}
			n += k + 1
			mi, k := readDigits(s[n:], 1, 2)
			if k == 0 {
				return parseFail{code: pfISO, pos: n}, false
			}
			n += k
			var sec, frac int64
			if n < len(s) && s[n] == ':' {
				if sec, k = readDigits(s[n+1:], 1, 2); k == 0 {
					return parseFail{code: pfISO, pos: n + 1}, false
				}
				n += 1 + k
				if n < len(s) && s[n] == '.' {
					n++
					digits := 0
					for n < len(s) && s[n] >= '0' && s[n] <= '9' {
						if digits < 6 {
							frac = frac*10 + int64(s[n]-'0')
						}
						digits++
						n++
					}
					for ; digits < 6; digits++ {
						frac *= 10
					}
				}
			}
			if h > 23 || mi > 59 || sec > 59 {
				return parseFail{code: pfDate}, false
			}
			tod = (h*3600+mi*60+sec)*microsPerSecond + frac
			if n < len(s) {
				if s[n] == ' ' {
					n++
				}
				if f, ok := parseISOZone(s[n:], n, v); !ok {
					return f, false
				}
				n = len(s)
			}
		}
	}
	if n != len(s) {
		return parseFail{code: pfISO, pos: n}, false
	}
	v.local = days*microsPerDay + tod
	return parseFail{}, true
}

func parseISOZone(z []byte, pos int, v *isoValue) (parseFail, bool) {
	if len(z) == 0 {
		return parseFail{code: pfISO, pos: pos}, false
	}
	if z[0] == '+' || z[0] == '-' {
		off, n, ok := parseOffset(z, offsetAny)
		if !ok || n != len(z) {
			return parseFail{code: pfISO, pos: pos}, false
		}
		v.hasOffset, v.offset = true, off
		return parseFail{}, true
	}
	loc, err := zoneOfText(z)
	if err != nil {
		return parseFail{code: pfZone, pos: pos}, false
	}
	v.loc = loc
	return parseFail{}, true
}
