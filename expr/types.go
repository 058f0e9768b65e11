package expr

import "github.com/apache/arrow-go/v18/arrow"

func isSigned(t arrow.DataType) bool {
	switch t.ID() {
	case arrow.INT8, arrow.INT16, arrow.INT32, arrow.INT64:
		return true
	}
	return false
}

func isUnsigned(t arrow.DataType) bool {
	switch t.ID() {
	case arrow.UINT8, arrow.UINT16, arrow.UINT32, arrow.UINT64:
		return true
	}
	return false
}

func isInteger(t arrow.DataType) bool { return isSigned(t) || isUnsigned(t) }

func isFloat(t arrow.DataType) bool {
	return t.ID() == arrow.FLOAT32 || t.ID() == arrow.FLOAT64
}

func isNumeric(t arrow.DataType) bool { return isInteger(t) || isFloat(t) }

func isBoolean(t arrow.DataType) bool { return t.ID() == arrow.BOOL }

func isNull(t arrow.DataType) bool { return t.ID() == arrow.NULL }

func bitWidth(t arrow.DataType) int {
	if fw, ok := t.(arrow.FixedWidthDataType); ok {
		return fw.BitWidth()
	}
	return 0
}

func signedOfWidth(bits int) arrow.DataType {
	switch {
	case bits <= 8:
		return arrow.PrimitiveTypes.Int8
	case bits <= 16:
		return arrow.PrimitiveTypes.Int16
	case bits <= 32:
		return arrow.PrimitiveTypes.Int32
	}
	return arrow.PrimitiveTypes.Int64
}

// widerNumeric is the type both operands of a numeric operation are cast
// to: the wider of two integers of the same signedness; for a signed and
// an unsigned integer, a signed integer wide enough for both (int64 when
// the unsigned one is uint64, which then fails at run time on values above
// the int64 range); float64 when either is a float, unless both are
// float32.
func widerNumeric(a, b arrow.DataType) arrow.DataType {
	switch {
	case arrow.TypeEqual(a, b):
		return a
	case isFloat(a) || isFloat(b):
		return arrow.PrimitiveTypes.Float64
	case isSigned(a) == isSigned(b):
		if bitWidth(a) >= bitWidth(b) {
			return a
		}
		return b
	}
	s, u := a, b
	if isUnsigned(a) {
		s, u = b, a
	}
	return signedOfWidth(max(bitWidth(s), 2*bitWidth(u)))
}

// commonType is the type two operands of a comparison are cast to, or
// false when there is none.
func commonType(a, b arrow.DataType) (arrow.DataType, bool) {
	if arrow.TypeEqual(a, b) {
		return a, true
	}
	switch {
	case isNumeric(a) && isNumeric(b):
		return widerNumeric(a, b), true
	case isStringType(a) && isStringType(b):
		return arrow.BinaryTypes.LargeString, true
	case isBinaryType(a) && isBinaryType(b):
		return arrow.BinaryTypes.LargeBinary, true
	case a.ID() == arrow.TIMESTAMP && b.ID() == arrow.TIMESTAMP:
		ta, tb := a.(*arrow.TimestampType), b.(*arrow.TimestampType)
		out := &arrow.TimestampType{Unit: max(ta.Unit, tb.Unit), TimeZone: ta.TimeZone}
		if out.TimeZone == "" {
			out.TimeZone = tb.TimeZone
		}
		return out, true
	}
	// Decimals, and a date with a timestamp (conditional.go).
	return compareType(a, b)
}

func isStringType(t arrow.DataType) bool {
	return t.ID() == arrow.STRING || t.ID() == arrow.LARGE_STRING
}

func isBinaryType(t arrow.DataType) bool {
	return t.ID() == arrow.BINARY || t.ID() == arrow.LARGE_BINARY
}

// typeName is the Spark SQL name of a type where there is one (bigint,
// double, string, ...), else Arrow's name.
func typeName(t arrow.DataType) string {
	switch t.ID() {
	case arrow.NULL:
		return "void"
	case arrow.BOOL:
		return "boolean"
	case arrow.INT8:
		return "tinyint"
	case arrow.INT16:
		return "smallint"
	case arrow.INT32:
		return "int"
	case arrow.INT64:
		return "bigint"
	case arrow.FLOAT32:
		return "float"
	case arrow.FLOAT64:
		return "double"
	case arrow.STRING, arrow.LARGE_STRING:
		return "string"
	case arrow.BINARY, arrow.LARGE_BINARY:
		return "binary"
	case arrow.DATE32, arrow.DATE64:
		return "date"
	case arrow.TIMESTAMP:
		return "timestamp"
	}
	return t.String()
}
