package expr

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/arrow/scalar"
)

// timestampUTC is the type of time.Time literals: microseconds, UTC, as
// Spark's TimestampType.
var timestampUTC = &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}

// litNode is a constant. err is set when Lit got a Go value it cannot
// represent; Bind reports it.
type litNode struct {
	sc  scalar.Scalar
	err error
}

func newLit(v any) *litNode {
	var sc scalar.Scalar
	switch v := v.(type) {
	case nil:
		sc = scalar.MakeNullScalar(arrow.Null)
	case bool:
		sc = scalar.NewBooleanScalar(v)
	case int:
		sc = scalar.NewInt64Scalar(int64(v))
	case int8:
		sc = scalar.NewInt8Scalar(v)
	case int16:
		sc = scalar.NewInt16Scalar(v)
	case int32:
		sc = scalar.NewInt32Scalar(v)
	case int64:
		sc = scalar.NewInt64Scalar(v)
	case uint:
		sc = scalar.NewUint64Scalar(uint64(v))
	case uint8:
		sc = scalar.NewUint8Scalar(v)
	case uint16:
		sc = scalar.NewUint16Scalar(v)
	case uint32:
		sc = scalar.NewUint32Scalar(v)
	case uint64:
		sc = scalar.NewUint64Scalar(v)
	case float32:
		sc = scalar.NewFloat32Scalar(v)
	case float64:
		sc = scalar.NewFloat64Scalar(v)
	case string:
		sc = scalar.NewStringScalar(v)
	case []byte:
		if v == nil {
			sc = scalar.MakeNullScalar(arrow.BinaryTypes.Binary)
			break
		}
		sc = scalar.NewBinaryScalar(memory.NewBufferBytes(append([]byte{}, v...)), arrow.BinaryTypes.Binary)
	case time.Time:
		sc = scalar.NewTimestampScalar(arrow.Timestamp(v.UnixMicro()), timestampUTC)
	case time.Duration:
		sc = scalar.NewDurationScalar(arrow.Duration(v.Microseconds()), durationUs)
	case scalar.Scalar:
		sc = v
	default:
		return &litNode{err: fmt.Errorf("expr: Lit(%T): unsupported literal type; use a bool, an integer or float type, string, []byte, time.Time, nil, or an Arrow scalar.Scalar", v)}
	}
	return &litNode{sc: sc}
}

func (l *litNode) String() string {
	if l.err != nil {
		return "<invalid literal>"
	}
	return formatScalar(l.sc)
}

// formatScalar renders a constant as Spark displays literals in column
// names: numbers and booleans as written, strings unquoted, NULL for null,
// timestamps as "2006-01-02 15:04:05[.ffffff]" in their zone (UTC when
// none), binary as X'0A1B'.
func formatScalar(sc scalar.Scalar) string {
	if sc == nil || !sc.IsValid() {
		return "NULL"
	}
	switch s := sc.(type) {
	case *scalar.Boolean:
		return strconv.FormatBool(s.Value)
	case *scalar.Int8:
		return strconv.FormatInt(int64(s.Value), 10)
	case *scalar.Int16:
		return strconv.FormatInt(int64(s.Value), 10)
	case *scalar.Int32:
		return strconv.FormatInt(int64(s.Value), 10)
	case *scalar.Int64:
		return strconv.FormatInt(s.Value, 10)
	case *scalar.Uint8:
		return strconv.FormatUint(uint64(s.Value), 10)
	case *scalar.Uint16:
		return strconv.FormatUint(uint64(s.Value), 10)
	case *scalar.Uint32:
		return strconv.FormatUint(uint64(s.Value), 10)
	case *scalar.Uint64:
		return strconv.FormatUint(s.Value, 10)
	case *scalar.Float32:
		return formatFloat(float64(s.Value), 32)
	case *scalar.Float64:
		return formatFloat(s.Value, 64)
	case *scalar.String:
		return string(s.Data())
	case *scalar.LargeString:
		return string(s.Data())
	case *scalar.Binary:
		return fmt.Sprintf("X'%X'", s.Data())
	case *scalar.LargeBinary:
		return fmt.Sprintf("X'%X'", s.Data())
	case *scalar.Timestamp:
		return formatTimestamp(s)
	case *scalar.Duration:
		return formatDuration(s)
	}
	return sc.String()
}

// formatFloat prints a float the way Spark prints doubles: integral values
// keep a ".0", non-finite values are NaN, Infinity and -Infinity.
func formatFloat(f float64, bits int) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	}
	s := strconv.FormatFloat(f, 'g', -1, bits)
	if !strings.ContainsAny(s, ".eEn") {
		s += ".0"
	}
	return s
}

func formatTimestamp(s *scalar.Timestamp) string {
	typ := s.Type.(*arrow.TimestampType)
	loc := time.UTC
	if typ.TimeZone != "" {
		if l, err := time.LoadLocation(typ.TimeZone); err == nil {
			loc = l
		}
	}
	return s.Value.ToTime(typ.Unit).In(loc).Format("2006-01-02 15:04:05.999999999")
}
