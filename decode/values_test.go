package decode

import (
	"encoding/binary"
	"math"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/decimal128"
)

func TestParseInt(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		ok   bool
	}{
		{"0", 0, true}, {"-0", 0, true}, {"+7", 7, true}, {"007", 7, true},
		{"9223372036854775807", math.MaxInt64, true}, {"-9223372036854775808", math.MinInt64, true},
		{"9223372036854775808", 0, false}, {"-9223372036854775809", 0, false}, {"99999999999999999999", 0, false},
		{"", 0, false}, {"-", 0, false}, {"1a", 0, false}, {" 1", 0, false}, {"1.0", 0, false},
	} {
		got, ok := parseInt([]byte(tc.in))
		if ok != tc.ok || got != tc.want {
			t.Errorf("parseInt(%q) = %d, %v; want %d, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestParseDecimal(t *testing.T) {
	for _, tc := range []struct {
		in      string
		p, s    int32
		want    string
		ok      bool
		commas  bool
		comment string
	}{
		{in: "1.235", p: 5, s: 2, want: "1.24", ok: true},
		{in: "9.995", p: 4, s: 2, want: "10.00", ok: true, comment: "rounding carries into a new digit"},
		{in: "9.995", p: 3, s: 2, ok: false, comment: "and then no longer fits"},
		{in: "-0.005", p: 3, s: 2, want: "-0.01", ok: true},
		{in: "0.004", p: 3, s: 2, want: "0.00", ok: true},
		{in: "12345678901234567890123456789012345678", p: 38, s: 0, want: "12345678901234567890123456789012345678", ok: true},
		{in: "-99999999999999999999999999999999999999", p: 38, s: 0, want: "-99999999999999999999999999999999999999", ok: true},
		{in: "123456789012345678901234567890123456789", p: 38, s: 0, ok: false},
		{in: "1.5e-1", p: 5, s: 3, want: "0.150", ok: true},
		{in: "1E+2", p: 5, s: 0, want: "100", ok: true},
		{in: ".5", p: 3, s: 1, want: "0.5", ok: true},
		{in: "5.", p: 3, s: 1, want: "5.0", ok: true},
		{in: "1,234.5", p: 8, s: 2, want: "1234.50", ok: true, commas: true},
		{in: "1,234.5", p: 8, s: 2, ok: false},
		{in: "000.000100", p: 5, s: 4, want: "0.0001", ok: true},
		{in: "-", p: 5, s: 0, ok: false},
		{in: "1e", p: 5, s: 0, ok: false},
		{in: "1.2.3", p: 5, s: 0, ok: false},
		{in: "12", p: 5, s: -1, want: "10", ok: true, comment: "negative scale rounds to tens"},
	} {
		var scratch []byte
		lo, hi, ok := parseDecimal([]byte(tc.in), tc.p, tc.s, tc.commas, &scratch)
		if ok != tc.ok {
			t.Errorf("parseDecimal(%q, %d, %d) ok = %v, want %v %s", tc.in, tc.p, tc.s, ok, tc.ok, tc.comment)
			continue
		}
		if !ok {
			continue
		}
		if got := decimal128.New(hi, lo).ToString(tc.s); got != tc.want {
			t.Errorf("parseDecimal(%q, %d, %d) = %s, want %s %s", tc.in, tc.p, tc.s, got, tc.want, tc.comment)
		}
	}
}

func TestDaysFromCivil(t *testing.T) {
	// Every day from 1600 to 2400 (leap days, century rules) agrees with
	// the time package.
	start := time.Date(1600, 1, 1, 0, 0, 0, 0, time.UTC)
	for d := start; d.Year() < 2400; d = d.AddDate(0, 0, 1) {
		want := d.Unix() / 86400
		if got := daysFromCivil(d.Year(), int(d.Month()), d.Day()); got != want {
			t.Fatalf("daysFromCivil(%s) = %d, want %d", d.Format("2006-01-02"), got, want)
		}
	}
	if got := daysFromCivil(1, 1, 1); got != time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC).Unix()/86400 {
		t.Errorf("daysFromCivil(0001-01-01) = %d", got)
	}
}

func TestParseDateAndTimestamp(t *testing.T) {
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{"2000-02-29", true}, {"1900-02-29", false}, {"2024-02-30", false}, {"2024-04-31", false},
		{"2024-00-01", false}, {"2024-01-00", false}, {"2024-1-1", true}, {"2024-01-01 anything", true},
		{"20240101", false}, {"", false}, {"2024-01-01x", false}, {"0000-01-01", true},
	} {
		if _, ok := parseDate([]byte(tc.in)); ok != tc.ok {
			t.Errorf("parseDate(%q) ok = %v, want %v", tc.in, ok, tc.ok)
		}
	}
	for _, tc := range []struct {
		in   string
		want string // RFC 3339 in UTC, or "" when invalid
	}{
		{"2024-02-29T23:59:59.999999Z", "2024-02-29T23:59:59.999999Z"},
		{"2024-02-29T23:59:59.9999999Z", "2024-02-29T23:59:59.999999Z"},
		{"2024-02-29T23:59:59.1234567891Z", ""},
		{"2024-02-29T23:59:59.Z", ""},
		{"2024-02-29T23:59:60Z", ""},
		{"2024-02-29T23:60:00Z", ""},
		{"2024-02-29T1:2:3", "2024-02-29T01:02:03Z"},
		{"2024-02-29T10:00:00-00:30", "2024-02-29T10:30:00Z"},
		{"2024-02-29T10:00:00+01", "2024-02-29T09:00:00Z"},
		{"2024-02-29T10:00:00+0130", "2024-02-29T08:30:00Z"},
		{"2024-02-29T10:00:00+01:30:15", "2024-02-29T08:29:45Z"},
		{"2024-02-29T10:00:00+1", "2024-02-29T09:00:00Z"},
		{"2024-02-29T10:00:00+01:3", ""},
		{"2024-02-29T10:00:00+", ""},
		{"2024-02-29T10:00:00 ", "2024-02-29T10:00:00Z"},
		{"2024-02-29T10:00:00 Z", "2024-02-29T10:00:00Z"},
		{"2024-02-29T10:00:00UTC-02:00", "2024-02-29T12:00:00Z"},
		{"2024-02-29T10:00:00PST", ""},
		{"2024-02-29T", ""},
		{"2024-02-29T10", ""},
		{"1969-12-31T23:59:59.000001Z", "1969-12-31T23:59:59.000001Z"},
		{"0001-01-01T00:00:00Z", "0001-01-01T00:00:00Z"},
		{"9999-12-31T23:59:59.999999Z", "9999-12-31T23:59:59.999999Z"},
	} {
		us, ok := parseTimestamp([]byte(tc.in))
		got := ""
		if ok {
			got = time.UnixMicro(us).UTC().Format(time.RFC3339Nano)
		}
		if got != tc.want {
			t.Errorf("parseTimestamp(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestAppendMicrosRounding(t *testing.T) {
	mem := checkedMem(t)
	c := newColumn(compileField(tsUS, "t"), mem)
	defer c.release()
	c.div = 1000 // as a millisecond column
	for _, us := range []int64{-1, -1000, -1001, 999, 1000} {
		c.appendMicros(us)
	}
	want := []int64{-1, -1, -2, 0, 1}
	for i, w := range want {
		if got := int64(binary.LittleEndian.Uint64(c.data.p[8*i:])); got != w {
			t.Errorf("value %d = %d, want %d (floor division)", i, got, w)
		}
	}
	c.mul, c.div = 1000, 1
	if c.appendMicros(math.MaxInt64 / 100) {
		t.Errorf("appendMicros accepted a value whose nanoseconds overflow")
	}
}
