package expr

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestParseInterval(t *testing.T) {
	good := []struct {
		in   string
		want time.Duration
	}{
		{"10 seconds", 10 * time.Second},
		{"10 second", 10 * time.Second},
		{"1 minute", time.Minute},
		{"2 minutes 30 seconds", 2*time.Minute + 30*time.Second},
		{"1 hour", time.Hour},
		{"500 milliseconds", 500 * time.Millisecond},
		{"100 microseconds", 100 * time.Microsecond},
		{"7 nanoseconds", 7},
		{"1 day", 24 * time.Hour},
		{"2 weeks", 14 * 24 * time.Hour},
		{"INTERVAL '10' SECOND", 10 * time.Second},
		{"interval '10' seconds", 10 * time.Second},
		{"INTERVAL '2 minutes 30 seconds'", 150 * time.Second},
		{"interval 10 seconds", 10 * time.Second},
		{"Interval 1 Hour 1 Minute", time.Hour + time.Minute},
		{"10 SECONDS", 10 * time.Second},
		{"  10   seconds  ", 10 * time.Second},
		{"10s", 10 * time.Second},
		{"1m30s", 90 * time.Second},
		{"250ms", 250 * time.Millisecond},
		{"100us", 100 * time.Microsecond},
		{"100µs", 100 * time.Microsecond},
		{"1h", time.Hour},
		{"1.5 hours", 90 * time.Minute},
		{"0.5 seconds", 500 * time.Millisecond},
		{".25 seconds", 250 * time.Millisecond},
		{"1.000 minutes", time.Minute},
		{"10seconds", 10 * time.Second},
		{"10 sec", 10 * time.Second},
		{"5 mins", 5 * time.Minute},
		{"3 d", 72 * time.Hour},
		{"-5 minutes", -5 * time.Minute},
		{"-1 minute 30 seconds", -30 * time.Second}, // Spark: each number has its sign
		{"-1m30s", -90 * time.Second},               // Go: the sign negates the whole
		{"+10 seconds", 10 * time.Second},
		{"1 second 1 second", 2 * time.Second},
		{"0 seconds", 0},
		{"9223372036 seconds", 9223372036 * time.Second},
	}
	for _, c := range good {
		got, err := ParseInterval(c.in)
		if err != nil {
			t.Errorf("ParseInterval(%q): %v", c.in, err)
			continue
		}
		if got != c.want {
			t.Errorf("ParseInterval(%q) = %v, want %v", c.in, got, c.want)
		}
	}

	bad := []struct {
		in   string
		want string // in the error
	}{
		{"", "it is empty"},
		{"   ", "it is empty"},
		{"interval", "it is empty"},
		{"10", "the number 10 has no unit"},
		{"10 seconds 5", "the number 5 has no unit"},
		{"seconds", `expected a number where it says "seconds"`},
		{"ten seconds", `expected a number where it says "ten"`},
		{"10 fortnights", `unknown unit "fortnights"`},
		{"10 secnds", `did you mean "seconds"?`},
		{"1 month", "months have no fixed length"},
		{"2 months", "use days"},
		{"1 year", "years have no fixed length"},
		{"INTERVAL '1' YEAR", "years have no fixed length"},
		{"1mon", "months have no fixed length"},
		{"1.2.3 seconds", `"1.2.3" is not a number`},
		{". seconds", `"." is not a number`},
		{"10 / seconds", `followed by "/"`},
		{"INTERVAL '10 SECOND", "the quote ' is not closed"},
		{"INTERVAL ''", "the quotes enclose nothing"},
		{"INTERVAL 10 'second'", "a quote may only enclose"},
		{"INTERVAL '10' 'second'", "a quote may only enclose"},
		{"99999999999 hours", "longer than the longest duration"},
		{"99999999999999999999 seconds", "longer than the longest duration"},
		{"200 years", "years have no fixed length"},
		{"9223372036 seconds 1 second", "longer than the longest duration"},
		{"0.0000000001 seconds", "not a whole number of nanoseconds"},
		{"1.1234567890123456789 seconds", "more decimal places"},
	}
	for _, c := range bad {
		_, err := ParseInterval(c.in)
		if err == nil {
			t.Errorf("ParseInterval(%q) succeeded, want an error containing %q", c.in, c.want)
			continue
		}
		msg := err.Error()
		if !strings.Contains(msg, c.want) {
			t.Errorf("ParseInterval(%q) error %q does not say %q", c.in, msg, c.want)
		}
		if !strings.HasPrefix(msg, "expr: interval "+strconv.Quote(c.in)+": ") || !strings.Contains(msg, "for example \"") {
			t.Errorf("ParseInterval(%q) error %q should be prefixed, name the text and give an example", c.in, msg)
		}
	}
}
