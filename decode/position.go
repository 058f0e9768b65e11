package decode

import (
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// PositionColumns are the columns SourcePosition reads, by name: an
// operator that drops columns before a decoder runs keeps these so that
// errors still say where a bad record came from.
var PositionColumns = [...]string{"topic", "partition", "offset"}

// SourcePosition describes where row of rec came from when rec carries
// Kafka's topic, partition and offset columns (any of them), for example
// "topic events, partition 3, offset 1042"; otherwise it returns "".
func SourcePosition(rec arrow.RecordBatch, row int) string {
	if rec == nil || row < 0 || row >= int(rec.NumRows()) {
		return ""
	}
	var parts []string
	for _, name := range PositionColumns {
		idx := rec.Schema().FieldIndices(name)
		if len(idx) != 1 {
			continue
		}
		col := rec.Column(idx[0])
		if col.IsNull(row) {
			continue
		}
		var v string
		switch a := col.(type) {
		case *array.String:
			v = a.Value(row)
		case *array.Binary:
			v = string(a.Value(row))
		case *array.Int32:
			v = fmt.Sprint(a.Value(row))
		case *array.Int64:
			v = fmt.Sprint(a.Value(row))
		default:
			continue
		}
		parts = append(parts, name+" "+v)
	}
	return strings.Join(parts, ", ")
}

// WithSource returns a copy of e that names where the record came from
// (see SourcePosition) beside its row.
func (e *MalformedError) WithSource(source string) *MalformedError {
	c := *e
	c.Source = source
	return &c
}
