package arrowrows

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/float16"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// Build returns a record batch of schema holding rows, allocated with mem.
// The caller owns the record and must Release it.
//
// Each row has one Go value per field. nil is a null (refused for a field
// that is not nullable). Integer fields take any Go integer that fits;
// float fields take Go floats and integers; string fields take string or
// []byte; binary fields take []byte or string; timestamp, date32 and date64
// fields take time.Time (or an int64 already in the column's unit);
// duration fields take time.Duration; decimal128 fields take a string such
// as "12.50", an integer, or a float64. Any other field type takes a string
// in the form the array's ValueStr prints.
func Build(mem memory.Allocator, schema *arrow.Schema, rows [][]any) (arrow.RecordBatch, error) {
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	b.Reserve(len(rows))
	fields := schema.Fields()
	for r, row := range rows {
		if len(row) != len(fields) {
			return nil, fmt.Errorf("arrowrows: row %d has %d values but the schema has %d fields (%s)", r, len(row), len(fields), fieldNames(schema))
		}
		for c, v := range row {
			f := fields[c]
			if v == nil {
				if !f.Nullable {
					return nil, fmt.Errorf("arrowrows: row %d field %q is nil, but the field is not nullable: give a value or make the field nullable", r, f.Name)
				}
				b.Field(c).AppendNull()
				continue
			}
			if err := appendValue(b.Field(c), v, false); err != nil {
				return nil, fmt.Errorf("arrowrows: row %d field %q (%s): %w", r, f.Name, f.Type, err)
			}
		}
	}
	return b.NewRecordBatch(), nil
}

func fieldNames(schema *arrow.Schema) string {
	s := ""
	for i, f := range schema.Fields() {
		if i > 0 {
			s += ", "
		}
		s += f.Name
	}
	return s
}

var errRange = errors.New("value out of range")

// ErrNoGoConversion marks a column that takes a string in the form its
// array prints rather than a Go value: CheckValue cannot check the string
// without appending it.
var ErrNoGoConversion = errors.New("the column takes a string in the form the array prints, which cannot be checked before it is appended")

// AppendValue appends the Go value v to b, converted as Build converts
// it; nil appends a null (whether or not the field is nullable). On an
// error nothing is appended, except for a column that parses a string
// (see ErrNoGoConversion), where the builder's own parse decides.
func AppendValue(b array.Builder, v any) error {
	if v == nil {
		b.AppendNull()
		return nil
	}
	return appendValue(b, v, false)
}

// CheckValue returns the error AppendValue would return for v and b,
// appending nothing: nil when v would be appended. For a column with no
// Go conversion, which AppendValue fills by parsing a string, it returns
// an error wrapping ErrNoGoConversion whatever v is (nil aside).
func CheckValue(b array.Builder, v any) error {
	if v == nil {
		return nil
	}
	return appendValue(b, v, true)
}

// appendValue appends the non-nil Go value v to b or, with check, only
// returns the error appending it would.
func appendValue(b array.Builder, v any, check bool) error {
	switch b := b.(type) {
	case *array.BooleanBuilder:
		x, ok := v.(bool)
		if !ok {
			return wrongType(v, "bool")
		}
		return put(check, b.Append, x, nil)
	case *array.Int8Builder:
		x, err := signed(v, math.MinInt8, math.MaxInt8)
		return put(check, b.Append, int8(x), err)
	case *array.Int16Builder:
		x, err := signed(v, math.MinInt16, math.MaxInt16)
		return put(check, b.Append, int16(x), err)
	case *array.Int32Builder:
		x, err := signed(v, math.MinInt32, math.MaxInt32)
		return put(check, b.Append, int32(x), err)
	case *array.Int64Builder:
		x, err := signed(v, math.MinInt64, math.MaxInt64)
		return put(check, b.Append, x, err)
	case *array.Uint8Builder:
		x, err := unsigned(v, math.MaxUint8)
		return put(check, b.Append, uint8(x), err)
	case *array.Uint16Builder:
		x, err := unsigned(v, math.MaxUint16)
		return put(check, b.Append, uint16(x), err)
	case *array.Uint32Builder:
		x, err := unsigned(v, math.MaxUint32)
		return put(check, b.Append, uint32(x), err)
	case *array.Uint64Builder:
		x, err := unsigned(v, math.MaxUint64)
		return put(check, b.Append, x, err)
	case *array.Float16Builder:
		x, err := float(v)
		return put(check, b.Append, float16.New(float32(x)), err)
	case *array.Float32Builder:
		x, err := float(v)
		return put(check, b.Append, float32(x), err)
	case *array.Float64Builder:
		x, err := float(v)
		return put(check, b.Append, x, err)
	case *array.StringBuilder:
		x, err := text(v)
		return put(check, b.Append, x, err)
	case *array.LargeStringBuilder:
		x, err := text(v)
		return put(check, b.Append, x, err)
	case *array.BinaryBuilder:
		// Serves binary and large_binary; a StringBuilder is matched above.
		switch x := v.(type) {
		case []byte:
			return put(check, b.Append, x, nil)
		case string:
			return put(check, b.AppendString, x, nil)
		}
		return wrongType(v, "[]byte or string")
	case *array.TimestampBuilder:
		unit := b.Type().(*arrow.TimestampType).Unit
		switch x := v.(type) {
		case time.Time:
			ts, err := arrow.TimestampFromTime(x, unit)
			return put(check, b.Append, ts, err)
		case int64:
			return put(check, b.Append, arrow.Timestamp(x), nil)
		}
		return wrongType(v, "time.Time or int64")
	case *array.Date32Builder:
		switch x := v.(type) {
		case time.Time:
			return put(check, b.Append, arrow.Date32FromTime(x.UTC()), nil)
		case int64:
			if x < math.MinInt32 || x > math.MaxInt32 {
				return errRange
			}
			return put(check, b.Append, arrow.Date32(x), nil)
		}
		return wrongType(v, "time.Time or int64 days")
	case *array.Date64Builder:
		switch x := v.(type) {
		case time.Time:
			return put(check, b.Append, arrow.Date64FromTime(x.UTC()), nil)
		case int64:
			return put(check, b.Append, arrow.Date64(x), nil)
		}
		return wrongType(v, "time.Time or int64 milliseconds")
	case *array.DurationBuilder:
		unit := b.Type().(*arrow.DurationType).Unit
		switch x := v.(type) {
		case time.Duration:
			return put(check, b.Append, arrow.Duration(int64(x)/int64(unit.Multiplier())), nil)
		case int64:
			return put(check, b.Append, arrow.Duration(x), nil)
		}
		return wrongType(v, "time.Duration or int64")
	case *array.Decimal128Builder:
		dt := b.Type().(*arrow.Decimal128Type)
		var n decimal128.Num
		var err error
		switch x := v.(type) {
		case string:
			n, err = decimal128.FromString(x, dt.Precision, dt.Scale)
		case float64:
			n, err = decimal128.FromFloat64(x, dt.Precision, dt.Scale)
		default:
			var i int64
			if i, err = signed(v, math.MinInt64, math.MaxInt64); err != nil {
				return wrongType(v, "string, float64 or an integer")
			}
			n, err = decimal128.FromString(fmt.Sprint(i), dt.Precision, dt.Scale)
		}
		return put(check, b.Append, n, err)
	default:
		if check {
			return fmt.Errorf("%s: %w", b.Type(), ErrNoGoConversion)
		}
		s, ok := v.(string)
		if !ok {
			return wrongType(v, "a string in the form the array prints")
		}
		return b.AppendValueFromString(s)
	}
}

// put returns err if it is not nil, and otherwise, unless check, appends
// x with add.
func put[T any](check bool, add func(T), x T, err error) error {
	if err != nil {
		return err
	}
	if !check {
		add(x)
	}
	return nil
}

func wrongType(v any, want string) error {
	return fmt.Errorf("cannot store %T %v: want %s", v, v, want)
}

func signed(v any, lo, hi int64) (int64, error) {
	var x int64
	switch n := v.(type) {
	case int:
		x = int64(n)
	case int8:
		x = int64(n)
	case int16:
		x = int64(n)
	case int32:
		x = int64(n)
	case int64:
		x = n
	case uint:
		if uint64(n) > math.MaxInt64 {
			return 0, fmt.Errorf("%d: %w", n, errRange)
		}
		x = int64(n)
	case uint8:
		x = int64(n)
	case uint16:
		x = int64(n)
	case uint32:
		x = int64(n)
	case uint64:
		if n > math.MaxInt64 {
			return 0, fmt.Errorf("%d: %w", n, errRange)
		}
		x = int64(n)
	default:
		return 0, wrongType(v, "an integer")
	}
	if x < lo || x > hi {
		return 0, fmt.Errorf("%d: %w [%d, %d]", x, errRange, lo, hi)
	}
	return x, nil
}

func unsigned(v any, hi uint64) (uint64, error) {
	var x uint64
	switch n := v.(type) {
	case uint:
		x = uint64(n)
	case uint8:
		x = uint64(n)
	case uint16:
		x = uint64(n)
	case uint32:
		x = uint64(n)
	case uint64:
		x = n
	default:
		i, err := signed(v, 0, math.MaxInt64)
		if err != nil {
			return 0, err
		}
		x = uint64(i)
	}
	if x > hi {
		return 0, fmt.Errorf("%d: %w [0, %d]", x, errRange, hi)
	}
	return x, nil
}

func float(v any) (float64, error) {
	switch n := v.(type) {
	case float64:
		return n, nil
	case float32:
		return float64(n), nil
	}
	i, err := signed(v, math.MinInt64, math.MaxInt64)
	if err != nil {
		return 0, wrongType(v, "a float or an integer")
	}
	return float64(i), nil
}

func text(v any) (string, error) {
	switch x := v.(type) {
	case string:
		return x, nil
	case []byte:
		return string(x), nil
	}
	return "", wrongType(v, "string or []byte")
}
