package arrowrows

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// NullString is what Format shows for a null cell.
const NullString = "NULL"

// timestampLayout is how Format shows timestamps: Spark's layout, with the
// fractional seconds only when they are not zero.
const timestampLayout = "2006-01-02 15:04:05.999999999"

// Rows returns the cells of rec as Go values, one slice per row, in row
// order; see the package documentation for the Go type of each Arrow type.
// The result holds no reference to rec: rec's owner may Release it at once.
func Rows(rec arrow.RecordBatch) [][]any {
	n := int(rec.NumRows())
	cols := rec.Columns()
	rows := make([][]any, n)
	cells := make([]any, n*len(cols))
	for r := range rows {
		rows[r] = cells[r*len(cols) : (r+1)*len(cols) : (r+1)*len(cols)]
	}
	for c, col := range cols {
		for r := range n {
			rows[r][c] = Value(col, r)
		}
	}
	return rows
}

// RowsOf returns the rows of all recs, one after the other, as Rows does.
// The result is empty, not nil, when there are no rows.
func RowsOf(recs []arrow.RecordBatch) [][]any {
	out := [][]any{}
	for _, rec := range recs {
		out = append(out, Rows(rec)...)
	}
	return out
}

// Value returns cell i of arr as a Go value (nil for null); see the package
// documentation for the Go type of each Arrow type.
func Value(arr arrow.Array, i int) any {
	if arr.IsNull(i) {
		return nil
	}
	switch a := arr.(type) {
	case *array.Null:
		return nil
	case *array.Boolean:
		return a.Value(i)
	case *array.Int8:
		return int64(a.Value(i))
	case *array.Int16:
		return int64(a.Value(i))
	case *array.Int32:
		return int64(a.Value(i))
	case *array.Int64:
		return a.Value(i)
	case *array.Uint8:
		return int64(a.Value(i))
	case *array.Uint16:
		return int64(a.Value(i))
	case *array.Uint32:
		return int64(a.Value(i))
	case *array.Uint64:
		return a.Value(i)
	case *array.Float16:
		return float64(a.Value(i).Float32())
	case *array.Float32:
		return float64(a.Value(i))
	case *array.Float64:
		return a.Value(i)
	// Strings and bytes are copied: Arrow's Value is a view of the
	// array's buffer, which an allocator that reuses buffers may hand to
	// another array once this one is released.
	case *array.String:
		return strings.Clone(a.Value(i))
	case *array.LargeString:
		return strings.Clone(a.Value(i))
	case *array.StringView:
		return strings.Clone(a.Value(i))
	case *array.Binary:
		return slices.Clone(a.Value(i))
	case *array.LargeBinary:
		return slices.Clone(a.Value(i))
	case *array.BinaryView:
		return slices.Clone(a.Value(i))
	case *array.FixedSizeBinary:
		return slices.Clone(a.Value(i))
	case *array.Timestamp:
		unit := a.DataType().(*arrow.TimestampType).Unit
		return a.Value(i).ToTime(unit)
	case *array.Date32:
		return a.Value(i).ToTime()
	case *array.Date64:
		return a.Value(i).ToTime()
	case *array.Duration:
		unit := a.DataType().(*arrow.DurationType).Unit
		return time.Duration(int64(a.Value(i)) * int64(unit.Multiplier()))
	case *array.Decimal32:
		return a.Value(i).ToString(decimalScale(a))
	case *array.Decimal64:
		return a.Value(i).ToString(decimalScale(a))
	case *array.Decimal128:
		return a.Value(i).ToString(decimalScale(a))
	case *array.Decimal256:
		return a.Value(i).ToString(decimalScale(a))
	case *array.Dictionary:
		return Value(a.Dictionary(), a.GetValueIndex(i))
	}
	return arr.ValueStr(i)
}

// decimalScale returns the scale of a decimal array, so that a decimal(10,2)
// shows "12.50" rather than "12.5".
func decimalScale(arr arrow.Array) int32 {
	return arr.DataType().(arrow.DecimalType).GetScale()
}

// Format returns cell i of arr as display text: NullString for null,
// timestamps as "2006-01-02 15:04:05" in UTC (with fractional seconds when
// not zero), dates as "2006-01-02", floats in the shortest form that reads
// back exactly (with ".0" on whole numbers: "3.0", "1e+21"), binary as hex bytes "[0A FF]", and everything else as its
// Go value or the array's ValueStr.
func Format(arr arrow.Array, i int) string {
	if arr.IsNull(i) {
		return NullString
	}
	switch a := arr.(type) {
	case *array.Float16:
		return formatFloat(float64(a.Value(i).Float32()), 32)
	case *array.Float32:
		return formatFloat(float64(a.Value(i)), 32)
	case *array.Date32, *array.Date64:
		return Value(arr, i).(time.Time).Format(time.DateOnly)
	}
	return formatValue(Value(arr, i))
}

func formatValue(v any) string {
	switch v := v.(type) {
	case nil:
		return NullString
	case string:
		return v
	case int64:
		return strconv.FormatInt(v, 10)
	case uint64:
		return strconv.FormatUint(v, 10)
	case float64:
		return formatFloat(v, 64)
	case bool:
		return strconv.FormatBool(v)
	case time.Time:
		return v.UTC().Format(timestampLayout)
	case []byte:
		var b strings.Builder
		b.WriteByte('[')
		for j, c := range v {
			if j > 0 {
				b.WriteByte(' ')
			}
			fmt.Fprintf(&b, "%02X", c)
		}
		b.WriteByte(']')
		return b.String()
	}
	return fmt.Sprint(v)
}

// formatFloat returns the shortest text that reads back as v, with ".0"
// added to whole numbers so that a float never looks like an integer.
func formatFloat(v float64, bitSize int) string {
	s := strconv.FormatFloat(v, 'g', -1, bitSize)
	if !strings.ContainsAny(s, ".eIN") {
		s += ".0"
	}
	return s
}

// SortRows sorts rows in place into a total order, so that two sets of rows
// can be compared regardless of the order they were produced in. Rows are
// compared cell by cell: nil first; two cells of the same Go type by value
// (numbers numerically, NaN first; times chronologically); otherwise by
// type name and then by fmt's %v text. A shorter row that is a prefix of a
// longer one sorts first. The sort is stable.
func SortRows(rows [][]any) {
	slices.SortStableFunc(rows, CompareRows)
}

// CompareRows is the order SortRows uses: negative if a sorts before b,
// zero if they are equal in that order, positive otherwise.
func CompareRows(a, b []any) int {
	for i := range min(len(a), len(b)) {
		if c := compareCells(a[i], b[i]); c != 0 {
			return c
		}
	}
	return cmp.Compare(len(a), len(b))
}

func compareCells(a, b any) int {
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		return -1
	case b == nil:
		return 1
	}
	switch x := a.(type) {
	case int64:
		if y, ok := b.(int64); ok {
			return cmp.Compare(x, y)
		}
	case uint64:
		if y, ok := b.(uint64); ok {
			return cmp.Compare(x, y)
		}
	case float64:
		if y, ok := b.(float64); ok {
			// cmp.Compare orders NaN before every number and equal to NaN,
			// which keeps the order total.
			return cmp.Compare(x, y)
		}
	case string:
		if y, ok := b.(string); ok {
			return strings.Compare(x, y)
		}
	case bool:
		if y, ok := b.(bool); ok {
			switch {
			case x == y:
				return 0
			case !x:
				return -1
			}
			return 1
		}
	case time.Time:
		if y, ok := b.(time.Time); ok {
			return x.Compare(y)
		}
	case []byte:
		if y, ok := b.([]byte); ok {
			return strings.Compare(string(x), string(y))
		}
	}
	ta, tb := fmt.Sprintf("%T", a), fmt.Sprintf("%T", b)
	if ta != tb {
		return strings.Compare(ta, tb)
	}
	return strings.Compare(fmt.Sprintf("%v", a), fmt.Sprintf("%v", b))
}
