package expr

import (
	"math/rand"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the tests need zone data even where the system has none
)

func mustZone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func TestCivilCalendar(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	check := func(days int64) {
		y, m, d := civilFromDays(days)
		tm := time.Unix(days*86400, 0).UTC()
		if y != int64(tm.Year()) || m != int(tm.Month()) || d != tm.Day() {
			t.Fatalf("civilFromDays(%d) = %d-%d-%d, time says %s", days, y, m, d, tm.Format("2006-01-02"))
		}
		if back := daysFromCivil(y, m, d); back != days {
			t.Fatalf("daysFromCivil(%d-%d-%d) = %d, want %d", y, m, d, back, days)
		}
		if wd := isoWeekday(days); wd%7 != int(tm.Weekday()) {
			t.Fatalf("isoWeekday(%s) = %d, time says %s", tm.Format("2006-01-02"), wd, tm.Weekday())
		}
		_, wk := tm.ISOWeek()
		if got := isoWeek(days); got != wk {
			t.Fatalf("isoWeek(%s) = %d, time says %d", tm.Format("2006-01-02"), got, wk)
		}
		if got := daysInMonth(y, m); got != time.Date(int(y), time.Month(m)+1, 0, 0, 0, 0, 0, time.UTC).Day() {
			t.Fatalf("daysInMonth(%d, %d) = %d", y, m, got)
		}
	}
	for _, d := range []int64{0, -1, 1, 59, 60, -719162 /* 0001-01-01 */, 2932896 /* 9999-12-31 */, -719163, 11016 /* 2000-02-29 */} {
		check(d)
	}
	for i := 0; i < 20000; i++ {
		check(rng.Int63n(2*3_000_000) - 3_000_000)
	}
}

func TestZoneConversions(t *testing.T) {
	rng := rand.New(rand.NewSource(2))
	for _, name := range []string{"America/New_York", "Europe/London", "Asia/Kolkata", "Australia/Lord_Howe", "Pacific/Apia", "Europe/Amsterdam"} {
		loc := mustZone(t, name)
		z := newZoneCache(loc)
		for i := 0; i < 5000; i++ {
			// instants from 1850 to 2100, seconds resolution plus micros
			u := (rng.Int63n(250*365*86400) - 120*365*86400) * 1_000_000
			u += rng.Int63n(1_000_000)
			tm := time.UnixMicro(u).In(loc)
			_, off := tm.Zone()
			if got := z.toLocal(u); got != u+int64(off)*1_000_000 {
				t.Fatalf("%s: toLocal(%s) off by %d µs", name, tm, got-u-int64(off)*1_000_000)
			}
			// back: the earliest instant with that wall time
			l := z.toLocal(u)
			back := z.toUTC(l)
			if back > u || z.toLocal(back) != l {
				t.Fatalf("%s: toUTC(toLocal(%s)) = %s", name, tm, time.UnixMicro(back).In(loc))
			}
		}
	}
}

func TestZoneGapsAndOverlaps(t *testing.T) {
	ny := newZoneCache(mustZone(t, "America/New_York"))
	berlin := newZoneCache(mustZone(t, "Europe/Berlin"))
	lordHowe := newZoneCache(mustZone(t, "Australia/Lord_Howe"))
	wall := func(s string) int64 {
		tm, err := time.Parse("2006-01-02 15:04:05", s)
		if err != nil {
			t.Fatal(err)
		}
		return tm.UnixMicro()
	}
	for _, c := range []struct {
		z          *zoneCache
		local, utc string
	}{
		{ny, "2024-03-10 02:30:00", "2024-03-10 07:30:00"}, // gap: moved forward to 03:30 EDT
		{ny, "2024-03-10 03:00:00", "2024-03-10 07:00:00"},
		{ny, "2024-03-10 01:59:59", "2024-03-10 06:59:59"},
		{ny, "2024-11-03 01:30:00", "2024-11-03 05:30:00"}, // overlap: the earlier, EDT
		{ny, "2024-11-03 02:00:00", "2024-11-03 07:00:00"},
		{ny, "1969-07-20 20:17:00", "1969-07-21 00:17:00"},
		{berlin, "2024-03-31 02:30:00", "2024-03-31 01:30:00"},   // gap
		{berlin, "2024-10-27 02:30:00", "2024-10-27 00:30:00"},   // overlap: CEST
		{lordHowe, "2024-10-06 02:15:00", "2024-10-05 15:45:00"}, // half-hour gap
	} {
		got := c.z.toUTC(wall(c.local))
		if mdFormatMicros(got) != c.utc {
			t.Errorf("%s in %s is %s UTC, want %s", c.local, c.z.loc, mdFormatMicros(got), c.utc)
		}
	}
}

func TestLoadZone(t *testing.T) {
	for _, c := range []struct {
		name string
		off  int // seconds at 2024-01-01, or -1 for an error
	}{
		{"UTC", 0}, {"Z", 0}, {"GMT", 0}, {"utc", 0}, {"+08:00", 8 * 3600}, {"-0530", -(5*3600 + 30*60)},
		{"+8", 8 * 3600}, {"GMT+8", 8 * 3600}, {"UTC-03:30", -(3*3600 + 30*60)}, {"Asia/Tokyo", 9 * 3600},
		{"EST", -5 * 3600}, {"Mars/Olympus", -1}, {"", -1}, {"Local", -1}, {"+19:00", -1}, {"+08:0", -1}, {"../etc/passwd", -1},
	} {
		loc, err := loadZone(c.name)
		if c.off == -1 {
			if err == nil {
				t.Errorf("loadZone(%q) = %v, want an error", c.name, loc)
			} else if !strings.Contains(err.Error(), "unknown time zone") {
				t.Errorf("loadZone(%q) error %q does not say what is wrong", c.name, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("loadZone(%q): %v", c.name, err)
			continue
		}
		_, off := time.Date(2024, 1, 1, 0, 0, 0, 0, loc).Zone()
		if off != c.off {
			t.Errorf("loadZone(%q) has offset %d, want %d", c.name, off, c.off)
		}
	}
}

func TestPatternErrors(t *testing.T) {
	for _, c := range []struct {
		pattern string
		parse   bool
		want    string
	}{
		{"yyyy-MM-ddd", false, "3 letters 'd' at position 8; use 1 to 2"},
		{"YYYY", false, "week-based letter 'Y'"},
		{"ww", false, "week-based letter 'w'"},
		{"yyyy'T", false, "the quote at position 4 is not closed"},
		{"bb", false, "unknown pattern letter 'b'"},
		{"yyyy]", false, "closes no optional section"},
		{"[yyyy", false, "is not closed"},
		{"QQQ", true, "only be used for formatting"},
		{"MMMMM", true, "narrow text"},
		{"yyyyyyy", false, "7 letters 'y'"},
		{"aa", false, "2 letters 'a'"},
		{"SSSSSSSSSS", false, "10 letters 'S'"},
		{"V", false, "exactly 2"},
		{"OO", false, "'O' must be used once"},
		{"zzzz", false, "4 letters 'z'"},
		{"{", false, "reserved"},
	} {
		_, err := compileLayout(c.pattern, c.parse)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), c.pattern) {
			t.Errorf("compile %q: %v, want an error naming the pattern and containing %q", c.pattern, err, c.want)
		}
	}
	for _, ok := range []string{"yyyy-MM-dd'T'HH:mm:ss.SSSXXX", "''yyyy''", "EEE, d MMM yyyy HH:mm:ss z", "[yyyy][MM]", "G y D Q q E a h K k H m s S VV z O X x Z"} {
		if _, err := compileLayout(ok, false); err != nil {
			t.Errorf("compile %q: %v", ok, err)
		}
	}
}

// goLayouts pairs Spark patterns with Go layouts that format the same way.
var goLayouts = []struct{ spark, goLayout string }{
	{"yyyy-MM-dd HH:mm:ss", "2006-01-02 15:04:05"},
	{"yyyy-MM-dd'T'HH:mm:ss.SSSSSS", "2006-01-02T15:04:05.000000"},
	{"EEE, dd MMM yyyy hh:mm:ss a", "Mon, 02 Jan 2006 03:04:05 PM"},
	{"EEEE MMMM d, yyyy h:m:s", "Monday January 2, 2006 3:4:5"},
	{"yy/M/d", "06/1/2"},
	{"yyyy-MM-dd HH:mm:ss.SSS XXX", "2006-01-02 15:04:05.000 Z07:00"},
	{"yyyy-MM-dd HH:mm xx", "2006-01-02 15:04 -0700"},
	{"yyyy-MM-dd HH:mm:ss z", "2006-01-02 15:04:05 MST"},
	{"DDD", "002"},
}

func TestFormatAgainstGo(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	for _, zone := range []string{"UTC", "America/New_York", "Asia/Kolkata"} {
		loc := mustZone(t, zone)
		z := newZoneCache(loc)
		for _, p := range goLayouts {
			l, err := compileLayout(p.spark, false)
			if err != nil {
				t.Fatal(err)
			}
			var f dtFields
			f.zc = z
			for i := 0; i < 2000; i++ {
				// years 1900 to 2099
				u := (rng.Int63n(200*365*86400)-70*365*86400)*1_000_000 + rng.Int63n(1_000_000)
				local := z.toLocal(u)
				f.setLocal(local)
				f.offset = (local - u) / 1_000_000
				f.utcSec = floorDiv(u, 1_000_000)
				got := string(l.appendFormat(nil, &f))
				want := time.UnixMicro(u).In(loc).Format(p.goLayout)
				if p.spark == "yyyy-MM-dd HH:mm:ss.SSS XXX" && strings.HasSuffix(want, "Z") {
					want = strings.TrimSuffix(want, "Z") + "Z" // Go and Spark agree on Z for UTC
				}
				if got != want {
					t.Fatalf("%s in %s: %q formats %q, Go's %q gives %q", mdFormatMicros(u), zone, p.spark, got, p.goLayout, want)
				}
			}
		}
	}
}

func TestFormatParseRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewSource(4))
	patterns := []string{
		"yyyy-MM-dd HH:mm:ss.SSSSSS XXXXX",
		"yyyyMMddHHmmssSSSSSS xxxx",
		"EEE, d MMM yyyy hh:mm:ss.SSSSSS a ZZZZ",
		"G yyyy DDD HH:mm:ss.SSSSSS OOOO",
		"yyyy-MM-dd'T'HH:mm:ss.SSSSSSXXXXX",
		"yyyy-MM-dd kk:mm:ss.SSSSSS ZZZZZ",
		"yyyy-MM-dd KK:mm:ss.SSSSSS a VV",
	}
	for _, zone := range []string{"UTC", "Europe/Berlin", "America/St_Johns"} {
		z := newZoneCache(mustZone(t, zone))
		for _, p := range patterns {
			fl, err := compileLayout(p, false)
			if err != nil {
				t.Fatal(err)
			}
			pl, err := compileLayout(p, true)
			if err != nil {
				t.Fatal(err)
			}
			var f dtFields
			f.zc = z
			var parsed dtParsed
			for i := 0; i < 2000; i++ {
				// years 0001 to 9999, and negative timestamps
				u := rng.Int63n(253402300800-(-62135596800))*1_000_000 - 62135596800*1_000_000 + rng.Int63n(1_000_000)
				local := z.toLocal(u)
				f.setLocal(local)
				f.offset = (local - u) / 1_000_000
				f.utcSec = floorDiv(u, 1_000_000)
				text := pl.appendFormat(nil, &f)
				if string(text) != string(fl.appendFormat(nil, &f)) {
					t.Fatalf("parse and format layouts of %q differ", p)
				}
				if fail, ok := pl.parse(text, &parsed); !ok {
					t.Fatalf("%q (%s, %s) does not parse back: %s", text, p, zone, fail.describe(pl, text))
				}
				got, fail := parsed.instant(z)
				if got != u && strings.Contains(p, "VV") && z.toLocal(got) == local {
					continue // a wall time that occurs twice reads as the earlier
				}
				if fail.code != pfNone || got != u {
					t.Fatalf("%q (%s) parses to %s, want %s (%s)", text, p, mdFormatMicros(got), mdFormatMicros(u), fail.describe(pl, text))
				}
			}
		}
	}
}

func TestParseISO(t *testing.T) {
	for _, c := range []struct {
		in   string
		want string // UTC, or "" for invalid
	}{
		{"2024-01-01", "2024-01-01 00:00:00"},
		{"2024-1-5", "2024-01-05 00:00:00"},
		{"2024", "2024-01-01 00:00:00"},
		{"2024-03", "2024-03-01 00:00:00"},
		{" 2024-01-01 10:11:12 ", "2024-01-01 10:11:12"},
		{"2024-01-01T10:11", "2024-01-01 10:11:00"},
		{"2024-01-01 1:2:3.5", "2024-01-01 01:02:03.5"},
		{"2024-01-01 10:00:00.1234567", "2024-01-01 10:00:00.123456"},
		{"2024-01-01 10:00:00Z", "2024-01-01 10:00:00"},
		{"2024-01-01 10:00:00+08:00", "2024-01-01 02:00:00"},
		{"2024-01-01 10:00:00 -0530", "2024-01-01 15:30:00"},
		{"2024-01-01 10:00:00 UTC", "2024-01-01 10:00:00"},
		{"2024-01-01 10:00:00 America/New_York", "2024-01-01 15:00:00"},
		{"2024-01-01T", "2024-01-01 00:00:00"},
		{"1969-12-31 23:59:59.999999", "1969-12-31 23:59:59.999999"},
		{"0001-01-01 00:00:00", "0001-01-01 00:00:00"},
		{"9999-12-31 23:59:59.999999", "9999-12-31 23:59:59.999999"},
		{"2024-02-29", "2024-02-29 00:00:00"},
		{"2023-02-29", ""}, {"2024-13-01", ""}, {"2024-01-01 24:00:00", ""}, {"2024-01-01 10:60", ""},
		{"24-01-01", ""}, {"", ""}, {"abc", ""}, {"2024-01-01 10", ""}, {"2024-01-01 10:00:00 Mars/Base", ""},
		{"2024-01-01x", ""}, {"\xff\xfe", ""}, {"12345678-01-01", ""}, {"2024-01-01 10:00:00+25:00", ""},
	} {
		var v isoValue
		_, ok := parseISO([]byte(c.in), &v)
		if c.want == "" {
			if ok {
				t.Errorf("parseISO(%q) = %s, want invalid", c.in, mdFormatMicros(v.instant(utcZone)))
			}
			continue
		}
		if !ok {
			t.Errorf("parseISO(%q) is invalid, want %s", c.in, c.want)
			continue
		}
		if got := mdFormatMicros(v.instant(utcZone)); got != c.want {
			t.Errorf("parseISO(%q) = %s, want %s", c.in, got, c.want)
		}
	}
}

func TestParseWithPatterns(t *testing.T) {
	for _, c := range []struct {
		pattern, in string
		want        string // UTC, or the start of the failure description
	}{
		{"yyyy/MM/dd HH:mm", "2024/03/10 14:05", "2024-03-10 14:05:00"},
		{"dd-MMM-yyyy hh:mm:ss a", "10-mar-2024 02:05:06 PM", "2024-03-10 14:05:06"},
		{"dd-MMM-yyyy hh:mm:ss a", "10-Mar-2024 12:05:06 AM", "2024-03-10 00:05:06"},
		{"dd MMMM yyyy", "10 MARCH 2024", "2024-03-10 00:00:00"},
		{"yyyyMMdd", "20240310", "2024-03-10 00:00:00"},
		{"yyyyMMddHHmm", "202403101405", "2024-03-10 14:05:00"},
		{"yyyy-MM-dd HH:mm:ss.SSS", "2024-01-01 00:00:00.1", "2024-01-01 00:00:00.1"},
		{"yyyy-MM-dd HH:mm:ss.SSSSSSS", "2024-01-01 00:00:00.1234567", "2024-01-01 00:00:00.123456"},
		{"yyyy-MM-dd HH:mm Z", "2024-01-01 10:00 +0530", "2024-01-01 04:30:00"},
		{"yyyy-MM-dd'T'HH:mm:ssXXX", "2024-01-01T10:00:00Z", "2024-01-01 10:00:00"},
		{"yyyy-MM-dd'T'HH:mm:ssXXX", "2024-01-01T10:00:00-02:00", "2024-01-01 12:00:00"},
		{"yyyy-MM-dd HH:mm z", "2024-01-01 10:00 PST", "2024-01-01 18:00:00"},
		{"yyyy-MM-dd HH:mm z", "2024-07-01 10:00 Europe/Paris", "2024-07-01 08:00:00"},
		{"yyyy-MM-dd HH:mm VV", "2024-01-01 10:00 America/New_York", "2024-01-01 15:00:00"},
		{"yyyy-MM-dd HH:mm O", "2024-01-01 10:00 GMT+8", "2024-01-01 02:00:00"},
		{"yy-MM-dd", "24-01-05", "2024-01-05 00:00:00"},
		{"yyyy-MM-dd[ HH:mm]", "2024-01-05", "2024-01-05 00:00:00"},
		{"yyyy-MM-dd[ HH:mm]", "2024-01-05 07:08", "2024-01-05 07:08:00"},
		{"EEE, dd MMM yyyy", "Mon, 01 Jan 2024", "2024-01-01 00:00:00"},
		{"yyyy DDD", "2024 060", "2024-02-29 00:00:00"},
		{"HH:mm", "13:45", "1970-01-01 13:45:00"},
		{"d/M/y", "5/1/2024", "2024-01-05 00:00:00"},
		{"G yyyy-MM-dd", "BC 0001-01-01", "0000-01-01 00:00:00"},
		{"kk:mm", "24:00", "1970-01-01 00:00:00"},
		{"''yyyy''", "'2024'", "2024-01-01 00:00:00"},
		{"yyyy-MM-dd", "2023-02-29", "the date does not exist"},
		{"yyyy-MM-dd", "2024-13-01", "month 13 is out of range"},
		{"yyyy-MM-dd", "2024-01-01x", `unparsed text "x" at position 10`},
		{"yyyy-MM-dd", "2024-1-01", "expected the month (exactly 2 digits) at position 5"},
		{"yyyy-MM-dd", "2024/01/01", `expected "-" at position 4`},
		{"EEE, dd MMM yyyy", "Tue, 01 Jan 2024", "the day of week does not match"},
		{"yyyy-MM-dd HH:mm z", "2024-01-01 10:00 Mars/Base", "unknown time zone at position 17"},
		{"yyyy-MM-dd HH:mm XXX", "2024-01-01 10:00 +0100", "expected a zone offset"},
		{"yyyy DDD", "2023 366", "the date does not exist"},
		{"MMM", "Foo", "expected the month as text"},
		{"yyyy-MM-dd", "", "expected the year"},
		{"yyyy-MM-dd", "\xff\xfe", "expected the year"},
		{"hh a", "13 PM", "hour (1-12) 13 is out of range"},
	} {
		l, err := compileLayout(c.pattern, true)
		if err != nil {
			t.Fatal(err)
		}
		var p dtParsed
		fail, ok := l.parse([]byte(c.in), &p)
		var got int64
		if ok {
			got, fail = p.instant(utcZone)
			ok = fail.code == pfNone
		}
		if !strings.Contains(c.want, ":") || strings.HasPrefix(c.want, "expected") || strings.HasPrefix(c.want, "unparsed") {
			if ok {
				t.Errorf("parse %q with %q = %s, want failure %q", c.in, c.pattern, mdFormatMicros(got), c.want)
			} else if d := fail.describe(l, []byte(c.in)); !strings.HasPrefix(d, c.want) {
				t.Errorf("parse %q with %q fails with %q, want %q", c.in, c.pattern, d, c.want)
			}
			continue
		}
		if !ok {
			t.Errorf("parse %q with %q: %s", c.in, c.pattern, fail.describe(l, []byte(c.in)))
			continue
		}
		if mdFormatMicros(got) != c.want {
			t.Errorf("parse %q with %q = %s, want %s", c.in, c.pattern, mdFormatMicros(got), c.want)
		}
	}
}

func TestFormatFields(t *testing.T) {
	// 2024-02-29 13:05:09.123456 UTC, a Thursday
	u := time.Date(2024, 2, 29, 13, 5, 9, 123456000, time.UTC).UnixMicro()
	for _, c := range []struct {
		zone, pattern, want string
	}{
		{"UTC", "S SSS SSSSSSSSS", "1 123 123456000"},
		{"UTC", "D DDD Q qq QQQ QQQQ", "60 060 1 01 Q1 1st quarter"},
		{"UTC", "y yy yyy yyyy yyyyy G GGGG GGGGG", "2024 24 2024 2024 02024 AD Anno Domini A"},
		{"UTC", "M MM MMM MMMM MMMMM L", "2 02 Feb February F 2"},
		{"UTC", "E EEEE EEEEE", "Thu Thursday T"},
		{"UTC", "h hh K k H a", "1 01 1 13 13 PM"},
		{"UTC", "X XX XXX XXXX XXXXX x xx xxx Z ZZZZ ZZZZZ O OOOO VV z", "Z Z Z Z Z +00 +0000 +00:00 +0000 GMT Z GMT GMT UTC UTC"},
		{"America/New_York", "HH:mm X XX XXX x Z ZZZZ O OOOO VV z", "08:05 -05 -0500 -05:00 -05 -0500 GMT-05:00 GMT-5 GMT-05:00 America/New_York EST"},
		{"Asia/Kolkata", "HH:mm X XXX O", "18:35 +0530 +05:30 GMT+5:30"},
		{"+08:00", "HH:mm VV XXX", "21:05 +08:00 +08:00"},
		{"UTC", "[yyyy] 'o''clock' ''", "2024 o'clock '"},
	} {
		loc, err := loadZone(c.zone)
		if err != nil {
			t.Fatal(err)
		}
		z := newZoneCache(loc)
		l, err := compileLayout(c.pattern, false)
		if err != nil {
			t.Fatal(err)
		}
		var f dtFields
		f.zc = z
		local := z.toLocal(u)
		f.setLocal(local)
		f.offset = (local - u) / 1_000_000
		f.utcSec = u / 1_000_000
		if got := string(l.appendFormat(nil, &f)); got != c.want {
			t.Errorf("%q in %s = %q, want %q", c.pattern, c.zone, got, c.want)
		}
	}
	// hours at midnight, and years far away
	for _, c := range []struct {
		local   int64
		pattern string
		want    string
	}{
		{time.Date(2024, 1, 1, 0, 30, 0, 0, time.UTC).UnixMicro(), "k K h H a", "24 0 12 0 AM"},
		{time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC).UnixMicro(), "yyyy-MM-dd G EEE", "0001-01-01 AD Mon"},
		{time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC).UnixMicro(), "yyyy G y", "0001 BC 1"},
		{time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC).UnixMicro(), "yyyy", "0000"},
		{time.Date(-44, 3, 15, 0, 0, 0, 0, time.UTC).UnixMicro(), "yyyy-MM-dd", "-0044-03-15"},
		{time.Date(12345, 1, 1, 0, 0, 0, 0, time.UTC).UnixMicro(), "yyyy yy", "+12345 45"},
		{time.Date(9999, 12, 31, 23, 59, 59, 999999000, time.UTC).UnixMicro(), "yyyy-MM-dd HH:mm:ss.SSSSSS", "9999-12-31 23:59:59.999999"},
		{-1, "yyyy-MM-dd HH:mm:ss.SSSSSS", "1969-12-31 23:59:59.999999"},
	} {
		l, err := compileLayout(c.pattern, false)
		if err != nil {
			t.Fatal(err)
		}
		var f dtFields
		f.zc = utcZone
		f.setLocal(c.local)
		if got := string(l.appendFormat(nil, &f)); got != c.want {
			t.Errorf("%q of %d = %q, want %q", c.pattern, c.local, got, c.want)
		}
	}
}

func TestParseAndFormatDoNotAllocate(t *testing.T) {
	pl, err := compileLayout("EEE, dd MMM yyyy HH:mm:ss.SSS z", true)
	if err != nil {
		t.Fatal(err)
	}
	fl, err := compileLayout("EEE, dd MMM yyyy HH:mm:ss.SSS XXX z VV", false)
	if err != nil {
		t.Fatal(err)
	}
	inputs := [][]byte{[]byte("Mon, 01 Jan 2024 10:00:00.123 America/New_York"), []byte("Mon, 01 Jan 2024 10:00:00.123 pst")}
	iso := []byte("2024-01-01 10:00:00.5 Europe/Paris")
	z := newZoneCache(mustZone(t, "America/New_York"))
	var p dtParsed
	var v isoValue
	var f dtFields
	f.zc = z
	buf := make([]byte, 0, 128)
	allocs := testing.AllocsPerRun(100, func() {
		for _, in := range inputs {
			if _, ok := pl.parse(in, &p); !ok {
				t.Fatalf("%q does not parse", in)
			}
		}
		if _, ok := parseISO(iso, &v); !ok {
			t.Fatalf("%q does not parse", iso)
		}
		u := v.instant(z)
		local := z.toLocal(u)
		f.setLocal(local)
		f.offset, f.utcSec = (local-u)/1_000_000, u/1_000_000
		buf = fl.appendFormat(buf[:0], &f)
	})
	if allocs > 0 {
		t.Errorf("parsing and formatting allocate %v times per run", allocs)
	}
}

// FuzzDateTimeText checks that no pattern and no text makes compiling,
// parsing or formatting panic, and that what parses formats back to text
// that parses to the same instant.
func FuzzDateTimeText(f *testing.F) {
	f.Add("yyyy-MM-dd HH:mm:ss", "2024-02-29 13:05:09")
	f.Add("EEE, dd MMM yyyy hh:mm:ss a XXX", "Thu, 29 Feb 2024 01:05:09 PM +05:30")
	f.Add("yyyyMMdd[HHmm]", "202402291305")
	f.Add("G y D VV z", "AD 2024 60 Europe/Paris CET")
	f.Add("''SSSSSS'x'", "'123456x")
	f.Add("[[yyyy]", "\xff")
	f.Fuzz(func(t *testing.T, pattern, text string) {
		var v isoValue
		if _, ok := parseISO([]byte(text), &v); ok {
			_ = v.instant(utcZone)
		}
		_, _, _ = parseISODate([]byte(text))
		pl, err := compileLayout(pattern, true)
		if err != nil {
			return
		}
		var p dtParsed
		fail, ok := pl.parse([]byte(text), &p)
		if !ok {
			_ = fail.describe(pl, []byte(text))
			return
		}
		u, fail := p.instant(utcZone)
		if fail.code != pfNone {
			_ = fail.describe(pl, []byte(text))
			return
		}
		fl, err := compileLayout(pattern, false)
		if err != nil {
			t.Fatalf("%q compiles for parsing but not for formatting: %v", pattern, err)
		}
		var fd dtFields
		fd.zc = utcZone
		fd.setLocal(u)
		fd.utcSec = floorDiv(u, 1_000_000)
		_ = fl.appendFormat(nil, &fd)
	})
}
