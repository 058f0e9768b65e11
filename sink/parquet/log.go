package parquet

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
)

// LogDir is the folder, inside the sink's store, of the sink log: one
// object per committed batch, named by the zero-padded batch id.
const LogDir = "_sluice_log"

// LogEntry is the sink log's record of one committed batch. It is stored as
// the line "v1" followed by one line of JSON; see docs/format/parquet-sink.md.
type LogEntry struct {
	// BatchID is the micro-batch id; it equals the object's name.
	BatchID int64 `json:"batchId"`
	// Files lists the batch's data files in part-number order. A batch
	// without rows has no files.
	Files []FileEntry `json:"files"`
	// PartitionBy lists the partition columns, outermost folder first.
	PartitionBy []string `json:"partitionBy"`
	// Schema is the schema of the rows given to the sink, partition columns
	// included, in column order.
	Schema []SchemaField `json:"schema"`
}

// FileEntry is one data file of a committed batch.
type FileEntry struct {
	// Path is the object name relative to the sink's store root, e.g.
	// "date=2026-01-01/part-00000000000000000007-00000.snappy.parquet".
	Path string `json:"path"`
	// Size is the file's length in bytes.
	Size int64 `json:"size"`
	// Rows is the number of rows in the file.
	Rows int64 `json:"rows"`
}

// SchemaField is one column of a LogEntry's schema. Type is the Arrow type
// as printed by arrow.DataType's String method ("int64", "utf8",
// "timestamp[us, tz=UTC]", "date32"); a reader needs to parse it only for
// partition columns, whose types are limited to the partitionable ones.
type SchemaField struct {
	Name     string `json:"name"`
	Type     string `json:"type"`
	Nullable bool   `json:"nullable"`
}

func schemaFields(s *arrow.Schema) []SchemaField {
	if s == nil {
		return []SchemaField{}
	}
	out := make([]SchemaField, s.NumFields())
	for i, f := range s.Fields() {
		out[i] = SchemaField{Name: f.Name, Type: f.Type.String(), Nullable: f.Nullable}
	}
	return out
}

// partitionTypes are the types a partition column may have, by the name
// the log records.
var partitionTypes = map[string]arrow.DataType{
	"bool":       arrow.FixedWidthTypes.Boolean,
	"int8":       arrow.PrimitiveTypes.Int8,
	"int16":      arrow.PrimitiveTypes.Int16,
	"int32":      arrow.PrimitiveTypes.Int32,
	"int64":      arrow.PrimitiveTypes.Int64,
	"uint8":      arrow.PrimitiveTypes.Uint8,
	"uint16":     arrow.PrimitiveTypes.Uint16,
	"uint32":     arrow.PrimitiveTypes.Uint32,
	"uint64":     arrow.PrimitiveTypes.Uint64,
	"utf8":       arrow.BinaryTypes.String,
	"large_utf8": arrow.BinaryTypes.LargeString,
	"date32":     arrow.FixedWidthTypes.Date32,
}

const partitionTypeList = "bool, int8-64, uint8-64, utf8, large_utf8, date32"

func isPartitionable(t arrow.DataType) bool {
	pt, ok := partitionTypes[t.String()]
	return ok && arrow.TypeEqual(pt, t)
}

// partitionField returns the Arrow field of partition column name as
// recorded in e's schema.
func (e *LogEntry) partitionField(name string) (arrow.Field, error) {
	for _, f := range e.Schema {
		if f.Name != name {
			continue
		}
		t, ok := partitionTypes[f.Type]
		if !ok {
			return arrow.Field{}, fmt.Errorf("parquet: sink log batch %d: partition column %q has type %q, which is not a partition type (%s): the log was written by a newer or foreign writer",
				e.BatchID, name, f.Type, partitionTypeList)
		}
		return arrow.Field{Name: name, Type: t, Nullable: f.Nullable}, nil
	}
	return arrow.Field{}, fmt.Errorf("parquet: sink log batch %d: partition column %q is missing from the logged schema: the log entry is damaged", e.BatchID, name)
}
