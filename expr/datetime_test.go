package expr

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

func zoneCtx(t *testing.T, name string) context.Context {
	t.Helper()
	return WithSessionTimeZone(context.Background(), mustZone(t, name))
}

func withPattern(name, pattern string) func(a ...Expr) Expr {
	return func(a ...Expr) Expr { return Call(name, a[0], Lit(pattern)) }
}

func TestToTimestamp(t *testing.T) {
	ny := zoneCtx(t, "America/New_York")
	for _, m := range []mdFunc{
		{name: "cast formats", types: []arrow.DataType{str}, f: mdCall("to_timestamp"), cases: []mdCase{
			{one("2024-01-01"), "2024-01-01 00:00:00"},
			{one("2024-01-01 10:00:00.5"), "2024-01-01 10:00:00.5"},
			{one("2024-01-01T10:00:00Z"), "2024-01-01 10:00:00"},
			{one("2024-01-01 10:00:00+08:00"), "2024-01-01 02:00:00"},
			{one(" 2024-1-5 1:2:3 "), "2024-01-05 01:02:03"},
			{one("2024-01-01 10:00:00 America/New_York"), "2024-01-01 15:00:00"},
			{one("1969-12-31 23:59:59.999999"), "1969-12-31 23:59:59.999999"},
			{one("0001-01-01 00:00:00"), "0001-01-01 00:00:00"},
			{one("9999-12-31 23:59:59.999999"), "9999-12-31 23:59:59.999999"},
			{one("2024-02-29 12:00"), "2024-02-29 12:00:00"},
			{one(nil), nil},
			{one("2023-02-29"), mdErr(`"2023-02-29" as a timestamp: the date does not exist`)},
			{one("abc"), mdErr(`cannot parse date/time in to_timestamp(`)},
			{one(""), mdErr(`"" as a timestamp`)},
			{one("\xff\xfe"), mdErr(`"\xff\xfe" as a timestamp`)},
		}},
		{name: "session zone", ctx: ny, types: []arrow.DataType{str}, f: mdCall("to_timestamp"), cases: []mdCase{
			{one("2024-01-01 10:00:00"), "2024-01-01 15:00:00"},
			{one("2024-03-10 02:30:00"), "2024-03-10 07:30:00"}, // in the gap: 03:30 EDT
			{one("2024-11-03 01:30:00"), "2024-11-03 05:30:00"}, // twice: the earlier
			{one("2024-01-01 10:00:00Z"), "2024-01-01 10:00:00"},
		}},
		{name: "pattern", types: []arrow.DataType{str}, f: withPattern("to_timestamp", "dd/MM/yyyy HH:mm"), cases: []mdCase{
			{one("29/02/2024 13:45"), "2024-02-29 13:45:00"},
			{one("01/01/1900 00:00"), "1900-01-01 00:00:00"},
			{one(nil), nil},
			{one("29/02/2023 13:45"), mdErr(`"29/02/2023 13:45" as a timestamp with pattern "dd/MM/yyyy HH:mm": the date does not exist`)},
			{one("2024-02-29"), mdErr(`expected "/" at position 2`)}, {one("2/02/2024 13:45"), mdErr(`expected the day of month (exactly 2 digits) at position 0`)},
			{one("29/02/2024 13:45 "), mdErr(`unparsed text " " at position 16; use a pattern that matches the text, or try_to_timestamp`)},
		}},
		{name: "pattern in session zone", ctx: ny, types: []arrow.DataType{str}, f: withPattern("to_timestamp", "yyyy-MM-dd HH:mm[ XXX]"), cases: []mdCase{
			{one("2024-07-01 12:00"), "2024-07-01 16:00:00"},
			{one("2024-07-01 12:00 +02:00"), "2024-07-01 10:00:00"},
		}},
		{name: "pattern column", types: []arrow.DataType{str, str}, f: mdCall("to_timestamp"), cases: []mdCase{
			{one("2024-01-02", "yyyy-MM-dd"), "2024-01-02 00:00:00"},
			{one("02.01.2024", "dd.MM.yyyy"), "2024-01-02 00:00:00"},
			{one("2024", nil), nil},
			{one("2024", "yyyy-ww"), mdErr(`week-based letter 'w'`)},
		}},
		{name: "try", types: []arrow.DataType{str}, f: withPattern("try_to_timestamp", "yyyy-MM-dd"), cases: []mdCase{
			{one("2024-02-29"), "2024-02-29 00:00:00"}, {one("2024-02-30"), nil}, {one("garbage"), nil}, {one(nil), nil},
		}},
		{name: "try without pattern", types: []arrow.DataType{str}, f: mdCall("try_to_timestamp"), cases: []mdCase{
			{one("2024-02-29 01:02:03"), "2024-02-29 01:02:03"}, {one("2024-02-30"), nil},
		}},
		{name: "date", types: []arrow.DataType{dt32}, f: mdCall("to_timestamp"), cases: []mdCase{
			{one("2024-02-29"), "2024-02-29 00:00:00"}, {one("1969-12-31"), "1969-12-31 00:00:00"}, {one(nil), nil},
		}},
		{name: "date beyond timestamps", types: []arrow.DataType{dt32}, f: mdCall("to_timestamp"), cases: []mdCase{
			{one("9999-12-31"), "9999-12-31 00:00:00"}, {one(arrow.Date32(-800_000_000)), mdErr("is beyond the range of timestamps")},
		}},
		{name: "date in session zone", ctx: ny, types: []arrow.DataType{dt32}, f: mdCall("to_timestamp"), cases: []mdCase{
			{one("2024-02-29"), "2024-02-29 05:00:00"},
		}},
		{name: "seconds", types: []arrow.DataType{i64}, f: mdCall("to_timestamp"), cases: []mdCase{
			{one(int64(-1)), "1969-12-31 23:59:59"},
		}},
		{name: "wall-clock timestamp", ctx: ny, types: []arrow.DataType{wallType}, f: mdCall("to_timestamp"), cases: []mdCase{
			{one("2024-07-01 12:00:00"), "2024-07-01 16:00:00"},
		}},
	} {
		m.run(t)
	}
}

func TestToDate(t *testing.T) {
	ny := zoneCtx(t, "America/New_York")
	for _, m := range []mdFunc{
		{name: "cast formats", types: []arrow.DataType{str}, f: mdCall("to_date"), cases: []mdCase{
			{one("2024-02-29"), "2024-02-29"}, {one("2024-02-29 25:99 whatever"), "2024-02-29"}, {one("2024-2-9"), "2024-02-09"},
			{one("2024"), "2024-01-01"}, {one("-0044-03-15"), "-0044-03-15"}, {one(nil), nil},
			{one("2024-02-30"), mdErr(`"2024-02-30" as a date: the date does not exist`)}, {one("29.02.2024"), mdErr(`"29.02.2024" as a date`)},
		}},
		{name: "pattern", types: []arrow.DataType{str}, f: withPattern("to_date", "dd/MM/yyyy"), cases: []mdCase{
			{one("29/02/2024"), "2024-02-29"}, {one("31/12/1969"), "1969-12-31"}, {one("01/01/0001"), "0001-01-01"},
			{one("31/04/2024"), mdErr("the date does not exist")},
		}},
		{name: "pattern with zone", ctx: ny, types: []arrow.DataType{str}, f: withPattern("to_date", "yyyy-MM-dd HH:mm XXX"), cases: []mdCase{
			{one("2024-01-01 23:00 -08:00"), "2024-01-02"}, // 07:00Z is 02:00 in New York
			{one("2024-01-01 01:00 +00:00"), "2023-12-31"},
		}},
		{name: "timestamp", types: []arrow.DataType{tsz}, f: mdCall("to_date"), cases: []mdCase{
			{one("2024-01-01 03:00:00"), "2024-01-01"}, {one(arrow.Timestamp(-1)), "1969-12-31"}, {one(nil), nil},
		}},
		{name: "timestamp in session zone", ctx: ny, types: []arrow.DataType{tsz}, f: mdCall("to_date"), cases: []mdCase{
			{one("2024-01-01 03:00:00"), "2023-12-31"}, {one("2024-01-01 05:00:00"), "2024-01-01"},
		}},
		{name: "date", types: []arrow.DataType{dt32}, f: mdCall("to_date"), cases: []mdCase{{one("2024-02-29"), "2024-02-29"}}},
	} {
		m.run(t)
	}
}

func TestDateFormat(t *testing.T) {
	ny := zoneCtx(t, "America/New_York")
	kolkata := zoneCtx(t, "Asia/Kolkata")
	ts := "2024-02-29 13:05:09.123456"
	for _, m := range []mdFunc{
		{name: "patterns", types: []arrow.DataType{tsz, str}, f: mdCall("date_format"), cases: []mdCase{
			{one(ts, "yyyy-MM-dd HH:mm:ss"), "2024-02-29 13:05:09"},
			{one(ts, "yyyy-MM-dd'T'HH:mm:ss.SSSSSS"), "2024-02-29T13:05:09.123456"},
			{one(ts, "EEE, d MMM yyyy hh:mm a"), "Thu, 29 Feb 2024 01:05 PM"},
			{one(ts, "EEEE MMMM D"), "Thursday February 60"},
			{one(ts, "XXX xxx Z"), "Z +00:00 +0000"},
			{one(ts, ""), ""},
			{one(nil, "yyyy"), nil}, {one(ts, nil), nil},
			{one(arrow.Timestamp(-1), "yyyy-MM-dd HH:mm:ss.SSSSSS"), "1969-12-31 23:59:59.999999"},
			{one("0001-01-01 00:00:00", "yyyy-MM-dd G"), "0001-01-01 AD"},
			{one("9999-12-31 23:59:59.999999", "yyyy-MM-dd HH:mm:ss.SSS"), "9999-12-31 23:59:59.999"},
			{one(ts, "yyyy-MM-ddd"), mdErr(`invalid datetime pattern "yyyy-MM-ddd": 3 letters 'd'`)},
		}},
		{name: "session zone", ctx: ny, types: []arrow.DataType{tsz}, f: withPattern("date_format", "yyyy-MM-dd HH:mm:ss XXX z VV O"), cases: []mdCase{
			{one("2024-07-01 12:00:00"), "2024-07-01 08:00:00 -04:00 EDT America/New_York GMT-4"},
			{one("2024-01-01 12:00:00"), "2024-01-01 07:00:00 -05:00 EST America/New_York GMT-5"},
			{one("2024-03-10 07:30:00"), "2024-03-10 03:30:00 -04:00 EDT America/New_York GMT-4"},
		}},
		{name: "half-hour zone", ctx: kolkata, types: []arrow.DataType{tsz}, f: withPattern("date_format", "HH:mm X"), cases: []mdCase{
			{one("2024-07-01 12:00:00"), "17:30 +0530"},
		}},
		{name: "date", types: []arrow.DataType{dt32}, f: withPattern("date_format", "yyyy-MM-dd EEE HH:mm"), cases: []mdCase{
			{one("2024-02-29"), "2024-02-29 Thu 00:00"}, {one("1969-12-31"), "1969-12-31 Wed 00:00"},
		}},
		{name: "date in session zone", ctx: ny, types: []arrow.DataType{dt32}, f: withPattern("date_format", "yyyy-MM-dd HH:mm XXX"), cases: []mdCase{
			{one("2024-02-29"), "2024-02-29 00:00 -05:00"},
		}},
		{name: "string", types: []arrow.DataType{str}, f: withPattern("date_format", "dd.MM.yyyy"), cases: []mdCase{
			{one("2024-02-29 10:00:00"), "29.02.2024"}, {one("nope"), mdErr(`"nope" as a timestamp`)},
		}},
		{name: "wall-clock timestamp", ctx: ny, types: []arrow.DataType{wallType}, f: withPattern("date_format", "yyyy-MM-dd HH:mm"), cases: []mdCase{
			{one("2024-07-01 12:00:00"), "2024-07-01 12:00"},
		}},
		{name: "from_unixtime", types: []arrow.DataType{i64}, f: mdCall("from_unixtime"), cases: []mdCase{
			{one(int64(0)), "1970-01-01 00:00:00"}, {one(int64(-1)), "1969-12-31 23:59:59"}, {one(int64(1709211909)), "2024-02-29 13:05:09"},
			{one(nil), nil}, {one(int64(math.MaxInt64)), mdErr("9223372036854775807 seconds is beyond the range of timestamps")},
		}},
		{name: "from_unixtime pattern", ctx: ny, types: []arrow.DataType{i32}, f: withPattern("from_unixtime", "yyyy-MM-dd HH:mm z"), cases: []mdCase{
			{one(int32(0)), "1969-12-31 19:00 EST"},
		}},
	} {
		m.run(t)
	}
}

func TestDateTrunc(t *testing.T) {
	ts := "2024-05-17 13:45:30.123456" // a Friday
	trunc := func(unit string) mdCase {
		return mdCase{one(unit, ts), nil}
	}
	cases := []mdCase{}
	for unit, want := range map[string]string{
		"year": "2024-01-01 00:00:00", "YYYY": "2024-01-01 00:00:00", "yy": "2024-01-01 00:00:00",
		"quarter": "2024-04-01 00:00:00", "month": "2024-05-01 00:00:00", "MM": "2024-05-01 00:00:00", "mon": "2024-05-01 00:00:00",
		"week": "2024-05-13 00:00:00", "day": "2024-05-17 00:00:00", "dd": "2024-05-17 00:00:00", "hour": "2024-05-17 13:00:00",
		"minute": "2024-05-17 13:45:00", "second": "2024-05-17 13:45:30", "millisecond": "2024-05-17 13:45:30.123",
		"MicroSecond": ts,
	} {
		c := trunc(unit)
		c.want = want
		cases = append(cases, c)
	}
	cases = append(cases, mdCase{one(nil, ts), nil}, mdCase{one("day", nil), nil})
	ny := zoneCtx(t, "America/New_York")
	for _, m := range []mdFunc{
		{name: "units", types: []arrow.DataType{str, tsz}, f: mdCall("date_trunc"), cases: cases},
		{name: "negative", types: []arrow.DataType{str, tsz}, f: mdCall("date_trunc"), cases: []mdCase{
			{one("second", "1969-12-31 23:59:59.5"), "1969-12-31 23:59:59"},
			{one("day", "1969-12-31 23:59:59.5"), "1969-12-31 00:00:00"},
			{one("year", "0001-06-01 00:00:00"), "0001-01-01 00:00:00"},
			{one("week", "1970-01-01 12:00:00"), "1969-12-29 00:00:00"},
		}},
		{name: "session zone", ctx: ny, types: []arrow.DataType{str, tsz}, f: mdCall("date_trunc"), cases: []mdCase{
			{one("day", "2024-03-10 12:00:00"), "2024-03-10 05:00:00"},  // midnight EST, before the change
			{one("hour", "2024-11-03 06:30:00"), "2024-11-03 06:00:00"}, // 01:30 EST, the second 01:30
			{one("hour", "2024-11-03 05:30:00"), "2024-11-03 05:00:00"}, // 01:30 EDT
			{one("month", "2024-07-01 03:00:00"), "2024-06-01 04:00:00"},
		}},
		{name: "wall-clock", ctx: ny, types: []arrow.DataType{str, wallType}, f: mdCall("date_trunc"), cases: []mdCase{
			{one("hour", "2024-03-10 02:30:00"), "2024-03-10 02:00:00"},
		}},
		{name: "date", types: []arrow.DataType{str, dt32}, f: mdCall("date_trunc"), cases: []mdCase{
			{one("month", "2024-02-29"), "2024-02-01 00:00:00"},
		}},
		{name: "trunc", types: []arrow.DataType{dt32, str}, f: mdCall("trunc"), cases: []mdCase{
			{one("2024-05-17", "year"), "2024-01-01"}, {one("2024-05-17", "MM"), "2024-05-01"}, {one("2024-05-17", "week"), "2024-05-13"},
			{one("2024-05-17", "quarter"), "2024-04-01"}, {one(nil, "year"), nil},
			{one("1969-12-31", "month"), "1969-12-01"},
		}},
		{name: "trunc timestamp", ctx: ny, types: []arrow.DataType{tsz}, f: withPattern("trunc", "month"), cases: []mdCase{
			{one("2024-06-01 03:00:00"), "2024-05-01"},
		}},
	} {
		m.run(t)
	}
}

func TestTruncUnitColumn(t *testing.T) {
	mem := checked(t)
	rec := mdRecord(t, mem, []arrow.DataType{str, tsz, dt32}, []mdCase{
		{one("hour", "2024-05-17 13:45:30", "2024-05-17"), nil},
		{one("fortnight", "2024-05-17 13:45:30", "2024-05-17"), nil},
		{one("YEAR", "2024-05-17 13:45:30", "2024-05-17"), nil},
		{one("day", "2024-05-17 13:45:30", "2024-05-17"), nil},
		{one(nil, "2024-05-17 13:45:30", "2024-05-17"), nil},
	})
	defer rec.Release()
	got, err := mdEval(t, context.Background(), mem, Call("date_trunc", Col("c0"), Col("c1")), rec)
	if err != nil {
		t.Fatal(err)
	}
	if want := "[2024-05-17 13:00:00 <nil> 2024-01-01 00:00:00 2024-05-17 00:00:00 <nil>]"; fmt.Sprint(got) != want {
		t.Errorf("date_trunc with unit column = %v, want %s (unknown units are null)", got, want)
	}
	got, err = mdEval(t, context.Background(), mem, Call("trunc", Col("c2"), Col("c0")), rec)
	if err != nil {
		t.Fatal(err)
	}
	if want := "[<nil> <nil> 2024-01-01 <nil> <nil>]"; fmt.Sprint(got) != want {
		t.Errorf("trunc with unit column = %v, want %s (units below a week are null)", got, want)
	}
}

func TestDateFields(t *testing.T) {
	fields := []string{"year", "quarter", "month", "day", "dayofmonth", "dayofweek", "weekday", "dayofyear", "weekofyear"}
	for _, c := range []struct {
		date string
		want []int32
	}{
		{"2024-02-29", []int32{2024, 1, 2, 29, 29, 5, 3, 60, 9}}, // a Thursday
		{"2021-01-01", []int32{2021, 1, 1, 1, 1, 6, 4, 1, 53}},
		{"2024-12-30", []int32{2024, 4, 12, 30, 30, 2, 0, 365, 1}},
		{"1969-12-31", []int32{1969, 4, 12, 31, 31, 4, 2, 365, 1}},
		{"0001-01-01", []int32{1, 1, 1, 1, 1, 2, 0, 1, 1}},
		{"9999-12-31", []int32{9999, 4, 12, 31, 31, 6, 4, 365, 52}},
	} {
		for i, f := range fields {
			mdFunc{name: f + " " + c.date, types: []arrow.DataType{dt32}, f: mdCall(f), cases: []mdCase{
				{one(c.date), c.want[i]}, {one(nil), nil},
			}}.run(t)
		}
	}
	ny := zoneCtx(t, "America/New_York")
	for _, m := range []mdFunc{
		{name: "hour", types: []arrow.DataType{tsz}, f: mdCall("hour"), cases: []mdCase{
			{one("2024-02-29 13:05:09.9"), int32(13)}, {one(arrow.Timestamp(-1)), int32(23)},
		}},
		{name: "minute", types: []arrow.DataType{tsz}, f: mdCall("minute"), cases: []mdCase{
			{one("2024-02-29 13:05:09.9"), int32(5)}, {one(arrow.Timestamp(-1)), int32(59)},
		}},
		{name: "second", types: []arrow.DataType{tsz}, f: mdCall("second"), cases: []mdCase{
			{one("2024-02-29 13:05:09.9"), int32(9)}, {one(arrow.Timestamp(-1)), int32(59)}, {one(nil), nil},
		}},
		{name: "hour in session zone", ctx: ny, types: []arrow.DataType{tsz}, f: mdCall("hour"), cases: []mdCase{
			{one("2024-07-01 12:00:00"), int32(8)}, {one("2024-01-01 12:00:00"), int32(7)}, {one(nil), nil},
		}},
		{name: "hour of date", types: []arrow.DataType{dt32}, f: mdCall("hour"), cases: []mdCase{{one("2024-07-01"), int32(0)}}},
		{name: "minute of string", types: []arrow.DataType{str}, f: mdCall("minute"), cases: []mdCase{
			{one("2024-01-01 10:11:12"), int32(11)}, {one("2024-01-01 10:11:12+05:30"), int32(41)},
			{one("10:11"), mdErr(`"10:11" as a timestamp`)},
		}},
		{name: "year of timestamp", ctx: ny, types: []arrow.DataType{tsz}, f: mdCall("year"), cases: []mdCase{
			{one("2024-01-01 03:00:00"), int32(2023)},
		}},
		{name: "month of string", types: []arrow.DataType{str}, f: mdCall("month"), cases: []mdCase{
			{one("2024-02-29 garbage"), int32(2)}, {one("2024-02-30"), mdErr(`"2024-02-30" as a date: the date does not exist`)},
		}},
		{name: "last_day", types: []arrow.DataType{dt32}, f: mdCall("last_day"), cases: []mdCase{
			{one("2024-02-10"), "2024-02-29"}, {one("2023-02-10"), "2023-02-28"}, {one("2024-12-31"), "2024-12-31"}, {one(nil), nil},
		}},
		{name: "unix_date", types: []arrow.DataType{dt32}, f: mdCall("unix_date"), cases: []mdCase{
			{one("1970-01-02"), int32(1)}, {one("1969-12-31"), int32(-1)},
		}},
		{name: "date_from_unix_date", types: []arrow.DataType{i32}, f: mdCall("date_from_unix_date"), cases: []mdCase{
			{one(int32(19782)), "2024-02-29"}, {one(nil), nil},
		}},
	} {
		m.run(t)
	}
}

func TestUnixTime(t *testing.T) {
	ny := zoneCtx(t, "America/New_York")
	for _, m := range []mdFunc{
		{name: "unix_timestamp of timestamp", types: []arrow.DataType{tsz}, f: mdCall("unix_timestamp"), cases: []mdCase{
			{one("2024-01-01 00:00:00"), int64(1704067200)}, {one(arrow.Timestamp(-1)), int64(-1)}, {one(arrow.Timestamp(-1_000_000)), int64(-1)},
			{one(arrow.Timestamp(-1_000_001)), int64(-2)}, {one(nil), nil},
		}},
		{name: "unix_timestamp of string", types: []arrow.DataType{str}, f: mdCall("unix_timestamp"), cases: []mdCase{
			{one("2024-01-01 00:00:00"), int64(1704067200)}, {one("2024-01-01"), mdErr(`with pattern "yyyy-MM-dd HH:mm:ss": expected " "`)},
		}},
		{name: "unix_timestamp with pattern", ctx: ny, types: []arrow.DataType{str}, f: withPattern("unix_timestamp", "yyyy-MM-dd"), cases: []mdCase{
			{one("2024-01-01"), int64(1704085200)}, {one(nil), nil},
		}},
		{name: "to_unix_timestamp of date", types: []arrow.DataType{dt32}, f: mdCall("to_unix_timestamp"), cases: []mdCase{
			{one("1970-01-02"), int64(86400)},
		}},
		{name: "timestamp_seconds", types: []arrow.DataType{i64}, f: mdCall("timestamp_seconds"), cases: []mdCase{
			{one(int64(1)), "1970-01-01 00:00:01"}, {one(int64(-1)), "1969-12-31 23:59:59"}, {one(nil), nil},
			{one(int64(math.MaxInt64)), mdErr("9223372036854775807 does not fit in a timestamp")},
		}},
		{name: "timestamp_seconds double", types: []arrow.DataType{f64}, f: mdCall("timestamp_seconds"), cases: []mdCase{
			{one(1.5), "1970-01-01 00:00:01.5"}, {one(-0.25), "1969-12-31 23:59:59.75"}, {one(math.NaN()), nil}, {one(math.Inf(1)), nil},
			{one(1e300), mdErr("1e+300 seconds is beyond the range")},
		}},
		{name: "timestamp_millis", types: []arrow.DataType{i64}, f: mdCall("timestamp_millis"), cases: []mdCase{
			{one(int64(-1)), "1969-12-31 23:59:59.999"}, {one(int64(math.MinInt64)), mdErr("does not fit in a timestamp")},
		}},
		{name: "timestamp_micros", types: []arrow.DataType{i32}, f: mdCall("timestamp_micros"), cases: []mdCase{
			{one(int32(1)), "1970-01-01 00:00:00.000001"},
		}},
		{name: "unix_seconds", types: []arrow.DataType{tsz}, f: mdCall("unix_seconds"), cases: []mdCase{{one(arrow.Timestamp(-1500000)), int64(-2)}}},
		{name: "unix_millis", types: []arrow.DataType{tsz}, f: mdCall("unix_millis"), cases: []mdCase{{one(arrow.Timestamp(-1500)), int64(-2)}}},
		{name: "unix_micros", types: []arrow.DataType{tsz}, f: mdCall("unix_micros"), cases: []mdCase{{one(arrow.Timestamp(-1500)), int64(-1500)}}},
	} {
		m.run(t)
	}
}

func TestDateArithmetic(t *testing.T) {
	for _, m := range []mdFunc{
		{name: "date_add", types: []arrow.DataType{dt32, i32}, f: mdCall("date_add"), cases: []mdCase{
			{one("2024-02-28", int32(1)), "2024-02-29"}, {one("2024-02-29", int32(1)), "2024-03-01"}, {one("1970-01-01", int32(-1)), "1969-12-31"},
			{one(nil, int32(1)), nil}, {one("2024-01-01", nil), nil},
			{one("2024-01-01", int32(math.MaxInt32)), mdErr("is beyond the range of dates")},
		}},
		{name: "date_sub", types: []arrow.DataType{dt32, i8}, f: mdCall("date_sub"), cases: []mdCase{
			{one("2024-03-01", int8(1)), "2024-02-29"},
		}},
		{name: "date_add bigint", types: []arrow.DataType{str, i64}, f: mdCall("date_add"), cases: []mdCase{
			{one("2024-12-31", int64(1)), "2025-01-01"}, {one("2024-12-31", int64(1)<<40), mdErr("1099511627776")},
		}},
		{name: "date_add timestamp", ctx: zoneCtx(t, "Asia/Tokyo"), types: []arrow.DataType{tsz, i32}, f: mdCall("date_add"), cases: []mdCase{
			{one("2024-01-01 20:00:00", int32(1)), "2024-01-03"},
		}},
		{name: "add_months", types: []arrow.DataType{dt32, i32}, f: mdCall("add_months"), cases: []mdCase{
			{one("2024-02-29", int32(12)), "2025-02-28"}, {one("2024-01-31", int32(1)), "2024-02-29"}, {one("2024-03-31", int32(-1)), "2024-02-29"},
			{one("2024-05-15", int32(-5)), "2023-12-15"}, {one("0001-01-31", int32(-1)), "0000-12-31"}, {one(nil, int32(1)), nil},
			{one("2024-01-01", int32(math.MaxInt32)), mdErr("is beyond the range of dates")},
		}},
		{name: "datediff", types: []arrow.DataType{dt32, dt32}, f: mdCall("datediff"), cases: []mdCase{
			{one("2024-03-01", "2024-02-28"), int32(2)}, {one("2024-02-28", "2024-03-01"), int32(-2)}, {one("2024-03-01", nil), nil},
			{one("9999-12-31", "0001-01-01"), int32(3652058)},
		}},
		{name: "date_diff strings", types: []arrow.DataType{str, tsz}, f: mdCall("date_diff"), cases: []mdCase{
			{one("2024-03-01", "2024-02-28 23:59:59"), int32(2)},
		}},
		{name: "months_between", types: []arrow.DataType{str, str}, f: mdCall("months_between"), cases: []mdCase{
			{one("1997-02-28 10:30:00", "1996-10-30"), 3.94959677}, {one("2024-03-31", "2024-02-29"), 1.0},
			{one("2024-03-15", "2024-02-15 12:00:00"), 1.0}, {one("2024-01-01", "2024-02-01"), -1.0}, {one(nil, "2024-02-01"), nil},
		}},
		{name: "months_between unrounded", types: []arrow.DataType{str, str}, f: func(a ...Expr) Expr {
			return Call("months_between", a[0], a[1], Lit(false))
		}, cases: []mdCase{{one("1997-02-28 10:30:00", "1996-10-30"), 3.9495967741935485}}},
	} {
		m.run(t)
	}
}

func TestUTCShift(t *testing.T) {
	for _, m := range []mdFunc{
		{name: "from_utc_timestamp", types: []arrow.DataType{tsz}, f: withPattern("from_utc_timestamp", "Asia/Seoul"), cases: []mdCase{
			{one("2024-01-01 00:00:00"), "2024-01-01 09:00:00"}, {one(nil), nil},
		}},
		{name: "to_utc_timestamp", types: []arrow.DataType{tsz}, f: withPattern("to_utc_timestamp", "America/New_York"), cases: []mdCase{
			{one("2024-01-01 09:00:00"), "2024-01-01 14:00:00"}, {one("2024-03-10 02:30:00"), "2024-03-10 07:30:00"},
		}},
		{name: "offset zone", types: []arrow.DataType{tsz}, f: withPattern("from_utc_timestamp", "-08:00"), cases: []mdCase{
			{one("2024-01-01 00:00:00"), "2023-12-31 16:00:00"},
		}},
		{name: "zone column", types: []arrow.DataType{tsz, str}, f: mdCall("from_utc_timestamp"), cases: []mdCase{
			{one("2024-07-01 00:00:00", "Europe/Paris"), "2024-07-01 02:00:00"}, {one("2024-07-01 00:00:00", "UTC"), "2024-07-01 00:00:00"},
			{one("2024-07-01 00:00:00", nil), nil}, {one("2024-07-01 00:00:00", "Nowhere/Land"), mdErr(`unknown time zone "Nowhere/Land"`)},
		}},
		{name: "string", types: []arrow.DataType{str}, f: withPattern("to_utc_timestamp", "Asia/Kolkata"), cases: []mdCase{
			{one("2024-01-01 05:30:00"), "2024-01-01 00:00:00"},
		}},
	} {
		m.run(t)
	}
}

func TestCurrentTime(t *testing.T) {
	mem := checked(t)
	rec := mdRecord(t, mem, []arrow.DataType{i32}, []mdCase{{one(int32(1)), nil}, {one(int32(2)), nil}})
	defer rec.Release()
	at := time.Date(2024, 3, 10, 4, 30, 0, 0, time.UTC)
	ctx := WithBatchTime(context.Background(), at.UnixMicro())
	for _, c := range []struct {
		e    Expr
		ctx  context.Context
		want any
	}{
		{Call("current_timestamp"), ctx, "2024-03-10 04:30:00"},
		{Call("now"), ctx, "2024-03-10 04:30:00"},
		{Call("current_date"), ctx, "2024-03-10"},
		{Call("current_date"), WithSessionTimeZone(ctx, mustZone(t, "America/New_York")), "2024-03-09"},
		{Call("unix_timestamp"), ctx, at.Unix()},
		{Call("year", Call("current_date")), ctx, int32(2024)},
	} {
		got, err := mdEval(t, c.ctx, mem, c.e, rec)
		if err != nil {
			t.Fatalf("%s: %v", c.e, err)
		}
		for i := range got {
			mdCompare(t, c.e.String(), got[i], c.want)
		}
	}
	// Fixed per batch, not per query: the bound expression is not folded.
	b, err := Call("current_timestamp").Bind(rec.Schema())
	if err != nil {
		t.Fatal(err)
	}
	if b.String() != "current_timestamp()" {
		t.Errorf("current_timestamp() was folded to %s", b)
	}
	later := WithBatchTime(context.Background(), at.Add(time.Hour).UnixMicro())
	arr, err := b.Eval(later, rec, mem)
	if err != nil {
		t.Fatal(err)
	}
	if got := mdValues(t, arr)[0]; got != "2024-03-10 05:30:00" {
		t.Errorf("the next batch sees %v", got)
	}
	arr.Release()
}

func TestDateTimeFolding(t *testing.T) {
	mem := checked(t)
	rec := mdRecord(t, mem, []arrow.DataType{tsz}, []mdCase{{one("2024-01-01 00:00:00"), nil}})
	defer rec.Release()
	d := Lit(mdScalar(t, dt32, "2024-02-29"))
	for _, c := range []struct {
		e      Expr
		folded bool
	}{
		{Call("year", d), true},
		{Call("date_add", d, Lit(1)), true},
		{Call("to_date", Lit("2024-02-29")), true},
		{Call("to_timestamp", Lit("2024-02-29")), false}, // read in the session zone
		{Call("hour", Lit("2024-02-29 10:00:00")), false},
		{Call("date_format", d, Lit("yyyy")), false},
		{Call("timestamp_seconds", Lit(5)), true},
	} {
		b, err := c.e.Bind(rec.Schema())
		if err != nil {
			t.Fatalf("%s: %v", c.e, err)
		}
		_, isLit := b.root.(*bLit)
		if isLit != c.folded {
			t.Errorf("%s folded = %v, want %v (bound %s)", c.e, isLit, c.folded, b)
		}
	}
	// Untyped nulls are null dates and times.
	for _, e := range []Expr{Call("to_timestamp", Lit(nil), Lit("yyyy")), Call("year", Lit(nil)), Call("date_add", Lit(nil), Lit(1)),
		Call("date_format", Lit(nil), Lit("yyyy")), Call("hour", Lit(nil)), Call("datediff", Lit(nil), d)} {
		got, err := mdEval(t, context.Background(), mem, e, rec)
		if err != nil || got[0] != nil {
			t.Errorf("%s = %v, %v; want null", e, got, err)
		}
	}
	// A session zone changes what an unfolded call computes.
	e := Call("hour", Lit("2024-02-29 10:00:00"))
	for zone, want := range map[string]int32{"UTC": 10, "Asia/Tokyo": 10, "America/New_York": 10} {
		got, err := mdEval(t, zoneCtx(t, zone), mem, e, rec)
		if err != nil || got[0] != want {
			t.Errorf("%s in %s = %v, %v; want %d", e, zone, got, err, want)
		}
	}
	e = Call("hour", Lit("2024-02-29 10:00:00Z"))
	for zone, want := range map[string]int32{"UTC": 10, "Asia/Tokyo": 19, "America/New_York": 5} {
		got, err := mdEval(t, zoneCtx(t, zone), mem, e, rec)
		if err != nil || got[0] != want {
			t.Errorf("%s in %s = %v, %v; want %d", e, zone, got, err, want)
		}
	}
}

func TestDateTimeBindErrors(t *testing.T) {
	mem := checked(t)
	rec := mdRecord(t, mem, []arrow.DataType{i32, str, tsz}, []mdCase{{one(int32(1), "a", "2024-01-01 00:00:00"), nil}})
	defer rec.Release()
	for _, c := range []struct {
		e    Expr
		want string
	}{
		{Call("year", Col("c0")), "year needs a timestamp, date or string, but c0 is int"},
		{Call("date_format", Col("c2"), Col("c0")), "the pattern of date_format must be a string, but c0 is int"},
		{Call("date_format", Col("c2"), Lit("YYYY")), `invalid datetime pattern "YYYY": week-based letter 'Y'`},
		{Call("to_timestamp", Col("c1"), Lit("yyyy-QQ")), "only be used for formatting"},
		{Call("to_timestamp", Col("c2"), Lit("yyyy")), "to_timestamp with a pattern needs a string"},
		{Call("date_trunc", Lit("fortnight"), Col("c2")), `unknown unit "fortnight" for date_trunc`},
		{Call("trunc", Col("c2"), Lit("hour")), `unknown unit "hour" for trunc`},
		{Call("date_add", Col("c2"), Lit(1.5)), "date_add needs an integer, but 1.5 is double"},
		{Call("from_utc_timestamp", Col("c2"), Lit("Nowhere/Land")), `unknown time zone "Nowhere/Land"`},
		{Call("months_between", Col("c2"), Col("c2"), Col("c0")), "must be a constant boolean"},
		{Call("from_unixtime", Col("c1")), "from_unixtime needs an integer"},
		{Call("to_date", Lit("2024-02-30")), `"2024-02-30" as a date: the date does not exist`},
	} {
		_, err := c.e.Bind(rec.Schema())
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Bind(%s) = %v, want an error containing %q", c.e, err, c.want)
		}
	}
	_, err := Call("to_date", Lit("2024-02-30")).Bind(rec.Schema())
	if !errors.Is(err, ErrParseDateTime) {
		t.Errorf("a bad date is not ErrParseDateTime: %v", err)
	}
}

func TestParseErrorNamesRowAndPattern(t *testing.T) {
	mem := checked(t)
	rec := mdRecord(t, mem, []arrow.DataType{str}, []mdCase{{one("2024-01-01"), nil}, {one(nil), nil}, {one("2024-01-32"), nil}})
	defer rec.Release()
	_, err := mdEval(t, context.Background(), mem, Call("to_timestamp", Col("c0"), Lit("yyyy-MM-dd")), rec)
	want := `expr: cannot parse date/time in to_timestamp(c0, yyyy-MM-dd) at row 2: "2024-01-32" as a timestamp with pattern "yyyy-MM-dd": day of month 32 is out of range`
	if err == nil || !strings.HasPrefix(err.Error(), want) || !errors.Is(err, ErrParseDateTime) {
		t.Errorf("error\n%v\nwant it to start with\n%s", err, want)
	}
}

func TestTimestampUnitsAndZones(t *testing.T) {
	mem := checked(t)
	ms := &arrow.TimestampType{Unit: arrow.Millisecond, TimeZone: "UTC"}
	paris := &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "Europe/Paris"}
	for _, c := range []struct {
		typ  arrow.DataType
		v    arrow.Timestamp
		want string
	}{
		{ms, 1_700_000_000_123, "2023-11-14 22:13:20.123"},
		{paris, 1_700_000_000_123_456, "2023-11-14 22:13:20.123456"},
	} {
		arr := mdArray(t, mem, c.typ, c.v)
		rec := array.NewRecordBatch(arrow.NewSchema([]arrow.Field{{Name: "ts", Type: c.typ, Nullable: true}}, nil), []arrow.Array{arr}, 1)
		arr.Release()
		got, err := mdEval(t, context.Background(), mem, Call("date_format", Col("ts"), Lit("yyyy-MM-dd HH:mm:ss.SSSSSS")), rec)
		if err != nil || !strings.HasPrefix(c.want, strings.TrimRight(got[0].(string), "0")) {
			t.Errorf("date_format of %s: %v, %v; want %s", c.typ, got, err, c.want)
		}
		got, err = mdEval(t, context.Background(), mem, Call("to_timestamp", Col("ts")), rec)
		if err != nil || got[0] != c.want {
			t.Errorf("to_timestamp of %s: %v, %v; want %s", c.typ, got, err, c.want)
		}
		rec.Release()
	}
}

func TestLargeStrings(t *testing.T) {
	mem := checked(t)
	b := array.NewLargeStringBuilder(mem)
	defer b.Release()
	b.AppendValues([]string{"x", "2024-02-29 10:00:00", "", "1969-12-31 23:59:59"}, []bool{true, true, false, true})
	col := b.NewArray()
	defer col.Release()
	rec := array.NewRecordBatch(arrow.NewSchema([]arrow.Field{{Name: "s", Type: col.DataType(), Nullable: true}}, nil), []arrow.Array{col}, 4)
	defer rec.Release()
	sl := rec.NewSlice(1, 4)
	defer sl.Release()
	got, err := mdEval(t, context.Background(), mem, Call("to_timestamp", Col("s"), Lit("yyyy-MM-dd HH:mm:ss")), sl)
	if err != nil {
		t.Fatal(err)
	}
	if want := "[2024-02-29 10:00:00 <nil> 1969-12-31 23:59:59]"; fmt.Sprint(got) != want {
		t.Errorf("to_timestamp of sliced large strings = %v, want %s", got, want)
	}
	got, err = mdEval(t, context.Background(), mem, Call("second", Col("s")), sl)
	if err != nil || fmt.Sprint(got) != "[0 <nil> 59]" {
		t.Errorf("second of sliced large strings = %v, %v", got, err)
	}
}

func TestDictionaryStrings(t *testing.T) {
	mem := checked(t)
	dt := &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int16, ValueType: arrow.BinaryTypes.String}
	b := array.NewDictionaryBuilder(mem, dt).(*array.BinaryDictionaryBuilder)
	defer b.Release()
	for _, s := range []string{"2024-02-29", "2024-03-01", "2024-02-29"} {
		if err := b.AppendString(s); err != nil {
			t.Fatal(err)
		}
	}
	col := b.NewArray()
	defer col.Release()
	rec := array.NewRecordBatch(arrow.NewSchema([]arrow.Field{{Name: "d", Type: dt}}, nil), []arrow.Array{col}, 3)
	defer rec.Release()
	got, err := mdEval(t, context.Background(), mem, Call("day", Col("d")), rec)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != "[29 1 29]" {
		t.Errorf("day of a dictionary column = %v", got)
	}
}

// benchTimestamps is n timestamps a second apart from 2024-01-01, and
// their text "yyyy-MM-dd HH:mm:ss".
func benchColumns(b *testing.B, n int) (ts, text arrow.Array) {
	tb := array.NewTimestampBuilder(memory.DefaultAllocator, timestampUTC)
	sb := array.NewStringBuilder(memory.DefaultAllocator)
	defer tb.Release()
	defer sb.Release()
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i < n; i++ {
		at := base.Add(time.Duration(i) * time.Second)
		tb.Append(arrow.Timestamp(at.UnixMicro()))
		sb.Append(at.Format("2006-01-02 15:04:05"))
	}
	return tb.NewArray(), sb.NewArray()
}

func benchEval(b *testing.B, e Expr, col arrow.Array, ctx context.Context) {
	rec := array.NewRecordBatch(arrow.NewSchema([]arrow.Field{{Name: "c", Type: col.DataType()}}, nil), []arrow.Array{col}, int64(col.Len()))
	defer rec.Release()
	bound, err := e.Bind(rec.Schema())
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		out, err := bound.Eval(ctx, rec, memory.DefaultAllocator)
		if err != nil {
			b.Fatal(err)
		}
		out.Release()
	}
	b.ReportMetric(float64(col.Len())*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

func BenchmarkToTimestamp(b *testing.B) {
	ts, text := benchColumns(b, 1_000_000)
	defer ts.Release()
	defer text.Release()
	b.Run("pattern", func(b *testing.B) {
		benchEval(b, Call("to_timestamp", Col("c"), Lit("yyyy-MM-dd HH:mm:ss")), text, context.Background())
	})
	b.Run("cast-format", func(b *testing.B) {
		benchEval(b, Call("to_timestamp", Col("c")), text, context.Background())
	})
	b.Run("pattern-new-york", func(b *testing.B) {
		loc, _ := time.LoadLocation("America/New_York")
		benchEval(b, Call("to_timestamp", Col("c"), Lit("yyyy-MM-dd HH:mm:ss")), text, WithSessionTimeZone(context.Background(), loc))
	})
}

func BenchmarkDateFormat(b *testing.B) {
	ts, text := benchColumns(b, 1_000_000)
	defer ts.Release()
	defer text.Release()
	b.Run("utc", func(b *testing.B) {
		benchEval(b, Call("date_format", Col("c"), Lit("yyyy-MM-dd HH:mm:ss")), ts, context.Background())
	})
	b.Run("new-york", func(b *testing.B) {
		loc, _ := time.LoadLocation("America/New_York")
		benchEval(b, Call("date_format", Col("c"), Lit("yyyy-MM-dd HH:mm:ss")), ts, WithSessionTimeZone(context.Background(), loc))
	})
	b.Run("year", func(b *testing.B) {
		benchEval(b, Call("year", Col("c")), ts, context.Background())
	})
}
