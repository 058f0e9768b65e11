package kafka

import (
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// MaxRecordRows is the default for the most rows Read puts in one record.
const MaxRecordRows = 64 * 1024

// Timestamp types, as in Kafka and Spark's timestampType column.
const (
	TimestampTypeNone          int32 = -1 // records of message format v0 have no timestamp
	TimestampTypeCreateTime    int32 = 0
	TimestampTypeLogAppendTime int32 = 1
)

var (
	timestampType = &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}
	headerType    = arrow.StructOf(
		arrow.Field{Name: "key", Type: arrow.BinaryTypes.String},
		arrow.Field{Name: "value", Type: arrow.BinaryTypes.Binary, Nullable: true},
	)
	schema = arrow.NewSchema([]arrow.Field{
		{Name: "key", Type: arrow.BinaryTypes.Binary, Nullable: true},
		{Name: "value", Type: arrow.BinaryTypes.Binary, Nullable: true},
		{Name: "topic", Type: arrow.BinaryTypes.String},
		{Name: "partition", Type: arrow.PrimitiveTypes.Int32},
		{Name: "offset", Type: arrow.PrimitiveTypes.Int64},
		{Name: "timestamp", Type: timestampType},
		{Name: "timestampType", Type: arrow.PrimitiveTypes.Int32},
		{Name: "headers", Type: arrow.ListOfNonNullable(headerType), Nullable: true},
	}, nil)
)

// Schema returns the schema of every record a Source reads, Spark's Kafka
// source schema:
//
//	key            binary                                        nullable
//	value          binary                                        nullable
//	topic          string
//	partition      int32
//	offset         int64
//	timestamp      timestamp[us, tz=UTC]
//	timestampType  int32
//	headers        list<struct<key string, value binary nullable>> nullable
func Schema() *arrow.Schema { return schema }

// header is one Kafka record header; a nil value is null.
type header struct{ key, value []byte }

// recordBuilder accumulates the rows of one partition into records of at
// most maxRows rows.
type recordBuilder struct {
	mem       memory.Allocator
	topic     string
	partition int32
	maxRows   int

	key, value *array.BinaryBuilder
	offset     *array.Int64Builder
	ts         *array.TimestampBuilder
	tsType     *array.Int32Builder
	headers    *array.ListBuilder
	hStruct    *array.StructBuilder
	hKey       *array.StringBuilder
	hValue     *array.BinaryBuilder

	rows int
	out  []arrow.RecordBatch
}

func newRecordBuilder(mem memory.Allocator, tp TopicPartition, maxRows int) *recordBuilder {
	b := &recordBuilder{mem: mem, topic: tp.Topic, partition: tp.Partition, maxRows: maxRows}
	b.key = array.NewBinaryBuilder(mem, arrow.BinaryTypes.Binary)
	b.value = array.NewBinaryBuilder(mem, arrow.BinaryTypes.Binary)
	b.offset = array.NewInt64Builder(mem)
	b.ts = array.NewTimestampBuilder(mem, timestampType)
	b.tsType = array.NewInt32Builder(mem)
	b.headers = array.NewListBuilderWithField(mem, schema.Field(7).Type.(*arrow.ListType).ElemField())
	b.hStruct = b.headers.ValueBuilder().(*array.StructBuilder)
	b.hKey = b.hStruct.FieldBuilder(0).(*array.StringBuilder)
	b.hValue = b.hStruct.FieldBuilder(1).(*array.BinaryBuilder)
	return b
}

// prepare makes room before a Kafka record batch of batchRows rows with
// keyBytes and valueBytes of keys and values, when about expectRows more
// rows are due in all (the rest of the range). Rows are reserved up to the
// end of the current record; key and value bytes are projected from this
// batch onto those rows, so that a record's data buffers are allocated
// about once instead of growing by copies.
func (b *recordBuilder) prepare(expectRows, batchRows, keyBytes, valueBytes int) {
	room := b.maxRows - b.rows
	expect := min(max(expectRows, batchRows), room)
	if expect <= 0 {
		return
	}
	b.key.Reserve(expect)
	b.value.Reserve(expect)
	b.offset.Reserve(expect)
	b.ts.Reserve(expect)
	b.tsType.Reserve(expect)
	b.headers.Reserve(expect)
	grow := func(bb *array.BinaryBuilder, n int) {
		if n == 0 || bb.DataCap() >= bb.DataLen()+n {
			return
		}
		projected := n
		if batchRows > 0 && expect > batchRows {
			projected = int(int64(n) * int64(expect) / int64(batchRows))
		}
		bb.ReserveData(max(projected, bb.DataCap()))
	}
	grow(b.key, keyBytes)
	grow(b.value, valueBytes)
}

// add appends one row. A nil key or value is null; no headers is a null
// header list.
func (b *recordBuilder) add(key, value []byte, offset, tsMicros int64, tsType int32, headers []header) {
	if key == nil {
		b.key.AppendNull()
	} else {
		b.key.Append(key)
	}
	if value == nil {
		b.value.AppendNull()
	} else {
		b.value.Append(value)
	}
	b.offset.Append(offset)
	b.ts.Append(arrow.Timestamp(tsMicros))
	b.tsType.Append(tsType)
	if len(headers) == 0 {
		b.headers.AppendNull()
	} else {
		b.headers.Append(true)
		for _, h := range headers {
			b.hStruct.Append(true)
			b.hKey.BinaryBuilder.Append(h.key)
			if h.value == nil {
				b.hValue.AppendNull()
			} else {
				b.hValue.Append(h.value)
			}
		}
	}
	b.rows++
	if b.rows >= b.maxRows {
		b.flush()
	}
}

// flush turns the rows so far into a record appended to b.out.
func (b *recordBuilder) flush() {
	if b.rows == 0 {
		return
	}
	n := b.rows
	topic := array.NewStringBuilder(b.mem)
	defer topic.Release()
	topic.Reserve(n)
	topic.ReserveData(n * len(b.topic))
	part := array.NewInt32Builder(b.mem)
	defer part.Release()
	part.Reserve(n)
	name := []byte(b.topic)
	for i := 0; i < n; i++ {
		topic.UnsafeAppend(name)
		part.UnsafeAppend(b.partition)
	}
	cols := []arrow.Array{
		b.key.NewArray(), b.value.NewArray(), topic.NewArray(), part.NewArray(),
		b.offset.NewArray(), b.ts.NewArray(), b.tsType.NewArray(), b.headers.NewArray(),
	}
	b.out = append(b.out, array.NewRecordBatch(schema, cols, int64(n)))
	for _, c := range cols {
		c.Release()
	}
	b.rows = 0
}

// finish returns the records built, which the caller releases, and frees
// the builders.
func (b *recordBuilder) finish() []arrow.RecordBatch {
	b.flush()
	out := b.out
	b.out = nil
	b.release()
	return out
}

// discard releases everything built so far.
func (b *recordBuilder) discard() {
	for _, r := range b.out {
		r.Release()
	}
	b.out = nil
	b.release()
}

func (b *recordBuilder) release() {
	b.key.Release()
	b.value.Release()
	b.offset.Release()
	b.ts.Release()
	b.tsType.Release()
	b.headers.Release()
}
