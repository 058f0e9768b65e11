package kafka

import (
	"fmt"
	"strings"
	"unsafe"

	"github.com/IBM/sarama"
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// The column names the sink reads, as in Spark's Kafka sink.
const (
	ColValue     = "value"
	ColKey       = "key"
	ColTopic     = "topic"
	ColPartition = "partition"
	ColHeaders   = "headers"
)

const (
	bytesTypes   = "binary, large_binary, binary_view, utf8, large_utf8 or utf8_view"
	stringTypes  = "utf8, large_utf8 or utf8_view"
	headersTypes = "list<struct<key: utf8, value: binary>> (or large_list; key may be large_utf8, value any of " + bytesTypes + ")"
)

// layout is where the columns the sink reads sit in the schema; -1 when
// absent.
type layout struct {
	value, key, topic, partition, headers int
	// header struct field indices, when headers >= 0
	hdrKey, hdrValue int
}

// resolveLayout checks schema against the columns the sink reads. A topic
// column is only needed (and only checked) when fixedTopic is empty.
// Columns with other names are ignored.
func resolveLayout(schema *arrow.Schema, fixedTopic string) (layout, error) {
	l := layout{value: -1, key: -1, topic: -1, partition: -1, headers: -1, hdrKey: -1, hdrValue: -1}
	find := func(name string) (int, error) {
		idx := schema.FieldIndices(name)
		switch len(idx) {
		case 0:
			return -1, nil
		case 1:
			return idx[0], nil
		}
		return -1, fmt.Errorf("kafka sink: column %q appears %d times in the schema: give the columns unique names", name, len(idx))
	}
	var err error
	if l.value, err = find(ColValue); err != nil {
		return l, err
	}
	if l.value < 0 {
		return l, fmt.Errorf("kafka sink: the schema has no %q column (columns: %s): add one of type %s, e.g. SELECT CAST(x AS STRING) AS value",
			ColValue, columnNames(schema), bytesTypes)
	}
	if t := schema.Field(l.value).Type; !isBytesType(t) {
		return l, fmt.Errorf("kafka sink: column %q has type %s: use %s", ColValue, t, bytesTypes)
	}
	if l.key, err = find(ColKey); err != nil {
		return l, err
	}
	if l.key >= 0 && !isBytesType(schema.Field(l.key).Type) {
		return l, fmt.Errorf("kafka sink: column %q has type %s: use %s", ColKey, schema.Field(l.key).Type, bytesTypes)
	}
	if fixedTopic == "" {
		if l.topic, err = find(ColTopic); err != nil {
			return l, err
		}
		if l.topic < 0 {
			return l, fmt.Errorf("kafka sink: no topic to write to: the schema has no %q column (columns: %s) and WithTopic (option \"topic\") is not set; give either",
				ColTopic, columnNames(schema))
		}
		if t := schema.Field(l.topic).Type; !isStringType(t) {
			return l, fmt.Errorf("kafka sink: column %q has type %s: use %s", ColTopic, t, stringTypes)
		}
	}
	if l.partition, err = find(ColPartition); err != nil {
		return l, err
	}
	if l.partition >= 0 && schema.Field(l.partition).Type.ID() != arrow.INT32 {
		return l, fmt.Errorf("kafka sink: column %q has type %s: use int32 (CAST(p AS INT))", ColPartition, schema.Field(l.partition).Type)
	}
	if l.headers, err = find(ColHeaders); err != nil {
		return l, err
	}
	if l.headers >= 0 {
		if l.hdrKey, l.hdrValue, err = headerFields(schema.Field(l.headers).Type); err != nil {
			return l, err
		}
	}
	return l, nil
}

func headerFields(t arrow.DataType) (int, int, error) {
	bad := fmt.Errorf("kafka sink: column %q has type %s: use %s", ColHeaders, t, headersTypes)
	var elem arrow.DataType
	switch lt := t.(type) {
	case *arrow.ListType:
		elem = lt.Elem()
	case *arrow.LargeListType:
		elem = lt.Elem()
	default:
		return -1, -1, bad
	}
	st, ok := elem.(*arrow.StructType)
	if !ok {
		return -1, -1, bad
	}
	k, okK := st.FieldIdx("key")
	v, okV := st.FieldIdx("value")
	if !okK || !okV || !isStringType(st.Field(k).Type) || !isBytesType(st.Field(v).Type) {
		return -1, -1, bad
	}
	return k, v, nil
}

func columnNames(schema *arrow.Schema) string {
	names := make([]string, schema.NumFields())
	for i, f := range schema.Fields() {
		names[i] = f.Name
	}
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

func isStringType(t arrow.DataType) bool {
	switch t.ID() {
	case arrow.STRING, arrow.LARGE_STRING, arrow.STRING_VIEW:
		return true
	}
	return false
}

func isBytesType(t arrow.DataType) bool {
	switch t.ID() {
	case arrow.BINARY, arrow.LARGE_BINARY, arrow.BINARY_VIEW:
		return true
	}
	return isStringType(t)
}

// empty is the value of a non-null empty key, value or header: a nil slice
// would be sent as null.
var empty = []byte{}

// bytesOf returns a function giving row i of arr as bytes, nil for null.
// The bytes alias arr's buffers (no copy): they are valid while arr is, and
// must not be modified. arr must be of a type isBytesType accepts.
func bytesOf(arr arrow.Array) func(i int) []byte {
	wrap := func(get func(int) []byte) func(int) []byte {
		if arr.NullN() == 0 {
			return func(i int) []byte {
				if b := get(i); len(b) > 0 {
					return b
				}
				return empty
			}
		}
		return func(i int) []byte {
			if arr.IsNull(i) {
				return nil
			}
			if b := get(i); len(b) > 0 {
				return b
			}
			return empty
		}
	}
	switch a := arr.(type) {
	case *array.Binary:
		return wrap(a.Value)
	case *array.LargeBinary:
		return wrap(a.Value)
	case *array.BinaryView:
		return wrap(a.Value)
	case *array.String:
		return wrap(func(i int) []byte { return stringBytes(a.Value(i)) })
	case *array.LargeString:
		return wrap(func(i int) []byte { return stringBytes(a.Value(i)) })
	case *array.StringView:
		return wrap(func(i int) []byte { return stringBytes(a.Value(i)) })
	}
	panic(fmt.Sprintf("kafka sink: bytesOf called with %s: the schema check admits only %s", arr.DataType(), bytesTypes))
}

// stringOf returns a function giving row i of a string array, and whether
// it is null.
func stringOf(arr arrow.Array) func(i int) (string, bool) {
	var get func(int) string
	switch a := arr.(type) {
	case *array.String:
		get = a.Value
	case *array.LargeString:
		get = a.Value
	case *array.StringView:
		get = a.Value
	default:
		panic(fmt.Sprintf("kafka sink: stringOf called with %s: the schema check admits only %s", arr.DataType(), stringTypes))
	}
	return func(i int) (string, bool) {
		if arr.IsNull(i) {
			return "", true
		}
		return get(i), false
	}
}

// stringBytes views s as bytes without copying. Arrow strings point into
// the array's buffers; sarama only reads the bytes it is given.
func stringBytes(s string) []byte {
	if s == "" {
		return nil
	}
	return unsafe.Slice(unsafe.StringData(s), len(s))
}

// rowRef identifies the row a message was made from, for error messages;
// it rides in ProducerMessage.Metadata.
type rowRef struct {
	row      int64 // index in the batch, over all records
	record   int   // index of the record in the batch
	inRecord int   // index in the record
	explicit bool  // the partition column gave the partition
}

func (r *rowRef) String() string {
	return fmt.Sprintf("row %d (record %d, row %d)", r.row, r.record, r.inRecord)
}

// encodedBatch holds the messages of one batch. The keys, values and
// headers alias the batch's Arrow buffers.
type encodedBatch struct {
	msgs   []sarama.ProducerMessage
	refs   []rowRef
	bytes  int64
	topics map[string]*topicInfo // each distinct topic of the batch
}

type topicInfo struct {
	name  string
	first *rowRef // the first row sent to the topic
}

// encode turns the rows of records into messages, following l. A null
// topic or a null header key is an error naming the row.
func encode(records []arrow.RecordBatch, l layout, fixedTopic string) (*encodedBatch, error) {
	var n int64
	for _, r := range records {
		n += r.NumRows()
	}
	b := &encodedBatch{
		msgs:   make([]sarama.ProducerMessage, n),
		refs:   make([]rowRef, n),
		topics: map[string]*topicInfo{},
	}
	if fixedTopic != "" && n > 0 {
		b.topics[fixedTopic] = &topicInfo{name: fixedTopic, first: &b.refs[0]}
	}
	var row int64
	for ri, rec := range records {
		rows := int(rec.NumRows())
		if rows == 0 {
			continue
		}
		value := bytesOf(rec.Column(l.value))
		var key func(int) []byte
		if l.key >= 0 {
			key = bytesOf(rec.Column(l.key))
		}
		var topic func(int) (string, bool)
		if fixedTopic == "" {
			topic = stringOf(rec.Column(l.topic))
		}
		var part *array.Int32
		if l.partition >= 0 {
			part = rec.Column(l.partition).(*array.Int32)
		}
		var hdrs array.ListLike
		var hKey func(int) (string, bool)
		var hVal func(int) []byte
		if l.headers >= 0 {
			hdrs = rec.Column(l.headers).(array.ListLike)
			st := hdrs.ListValues().(*array.Struct)
			hKey = stringOf(st.Field(l.hdrKey))
			hVal = bytesOf(st.Field(l.hdrValue))
		}
		lastTopic := fixedTopic
		if lastTopic == "" {
			lastTopic = "\x00" // no topic is named so: the first row looks it up
		}
		for i := 0; i < rows; i, row = i+1, row+1 {
			ref := &b.refs[row]
			*ref = rowRef{row: row, record: ri, inRecord: i}
			m := &b.msgs[row]
			m.Metadata = ref
			m.Partition = -1
			t := fixedTopic
			if topic != nil {
				s, null := topic(i)
				if null {
					return nil, fmt.Errorf("kafka sink: %s has a null %q: give every row a topic, or set WithTopic", ref, ColTopic)
				}
				if s == "" {
					return nil, fmt.Errorf("kafka sink: %s has an empty %q: give every row a topic name, or set WithTopic", ref, ColTopic)
				}
				t = s
			}
			if t != lastTopic {
				// Rows of one topic share one string, owned by the Go
				// heap: sarama keeps topic names after the batch, and
				// a string read from Arrow aliases its buffer.
				if info, ok := b.topics[t]; ok {
					t = info.name
				} else {
					t = strings.Clone(t)
					b.topics[t] = &topicInfo{name: t, first: ref}
				}
				lastTopic = t
			}
			m.Topic = lastTopic
			if v := value(i); v != nil {
				m.Value = sarama.ByteEncoder(v)
				b.bytes += int64(len(v))
			}
			if key != nil {
				if k := key(i); k != nil {
					m.Key = sarama.ByteEncoder(k)
					b.bytes += int64(len(k))
				}
			}
			if part != nil && part.IsValid(i) {
				p := part.Value(i)
				if p < 0 {
					return nil, fmt.Errorf("kafka sink: %s has %q %d: partitions are numbered from 0; use null to let the key choose", ref, ColPartition, p)
				}
				m.Partition = p
				ref.explicit = true
			}
			if hdrs != nil && hdrs.IsValid(i) {
				start, end := hdrs.ValueOffsets(i)
				if end > start {
					h := make([]sarama.RecordHeader, 0, end-start)
					for j := int(start); j < int(end); j++ {
						k, null := hKey(j)
						if null {
							return nil, fmt.Errorf("kafka sink: %s has a header with a null key (header %d): give every header a key", ref, j-int(start))
						}
						kb := stringBytes(k)
						if kb == nil {
							kb = empty
						}
						v := hVal(j)
						h = append(h, sarama.RecordHeader{Key: kb, Value: v})
						b.bytes += int64(len(kb) + len(v))
					}
					m.Headers = h
				}
			}
		}
	}
	return b, nil
}
