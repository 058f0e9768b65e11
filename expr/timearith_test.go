package expr

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// A timestamp plus or minus an interval is a timestamp of the same unit;
// nulls stay null; an interval finer than the unit is an error.
func TestTimestampPlusInterval(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	for _, unit := range []arrow.TimeUnit{arrow.Second, arrow.Millisecond, arrow.Microsecond, arrow.Nanosecond} {
		typ := &arrow.TimestampType{Unit: unit, TimeZone: "UTC"}
		schema := arrow.NewSchema([]arrow.Field{{Name: "ts", Type: typ, Nullable: true}}, nil)
		b := array.NewTimestampBuilder(mem, typ)
		base := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
		vals := []time.Time{base, base.Add(-time.Hour)}
		for _, v := range vals {
			ts, _ := arrow.TimestampFromTime(v, unit)
			b.Append(ts)
		}
		b.AppendNull()
		rec := array.NewRecordBatch(schema, []arrow.Array{b.NewArray()}, 3)
		b.Release()
		rec.Column(0).Release()
		for _, tc := range []struct {
			e     Expr
			shift time.Duration
		}{
			{Col("ts").Add(Interval("10 seconds")), 10 * time.Second},
			{Col("ts").Sub(Interval("1 minute 30 seconds")), -90 * time.Second},
			{Interval("2 hours").Add(Col("ts")), 2 * time.Hour},
			{Col("ts").Add(Lit(3 * time.Second)), 3 * time.Second},
		} {
			bd, err := tc.e.Bind(schema)
			if err != nil {
				t.Fatalf("%s: %v", tc.e, err)
			}
			if !arrow.TypeEqual(bd.Field().Type, typ) {
				t.Fatalf("%s: type %s, want %s", tc.e, bd.Field().Type, typ)
			}
			arr, err := bd.Eval(context.Background(), rec, mem)
			if err != nil {
				t.Fatalf("%s over %s: %v", tc.e, unit, err)
			}
			got := arr.(*array.Timestamp)
			for i, v := range vals {
				want, _ := arrow.TimestampFromTime(v.Add(tc.shift), unit)
				if got.Value(i) != want {
					t.Errorf("%s over %s row %d: %d, want %d", tc.e, unit, i, got.Value(i), want)
				}
			}
			if !got.IsNull(2) {
				t.Errorf("%s over %s: a null timestamp gave a value", tc.e, unit)
			}
			arr.Release()
		}
		if unit == arrow.Second {
			bd, err := Col("ts").Add(Interval("1500ms")).Bind(schema)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := bd.Eval(context.Background(), rec, mem); err == nil || !errors.Is(err, ErrType) {
				t.Errorf("1.5 s added to a timestamp in seconds: error %v, want one saying the interval is too fine", err)
			}
		}
		rec.Release()
	}
	if got := Col("ts").Sub(Interval("10 seconds")).String(); got != "(ts - INTERVAL '10 seconds')" {
		t.Errorf("display %q", got)
	}
	if _, err := Interval("1 month").Bind(arrow.NewSchema(nil, nil)); err == nil || !strings.Contains(err.Error(), "Interval(\"1 month\")") {
		t.Errorf("a month interval: error %v, want one naming it", err)
	}
	if _, err := Col("ts").Mul(Interval("1 second")).Bind(arrow.NewSchema([]arrow.Field{{Name: "ts", Type: arrow.FixedWidthTypes.Timestamp_us}}, nil)); err == nil {
		t.Error("a timestamp times an interval bound without error")
	}
}
