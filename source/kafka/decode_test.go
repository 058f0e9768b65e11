package kafka

import (
	"encoding/binary"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// The broker used by the other tests writes only record batches (message
// format v2). These tests decode hand-built fetch responses: legacy
// message sets, log-append time, transactions and partial batches.

var t0 = time.UnixMilli(1767225600000)

func testReader(t *testing.T, isolation IsolationLevel, from, to int64) (*partitionReader, *memory.CheckedAllocator) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	t.Cleanup(func() { mem.AssertSize(t, 0) })
	cfg := defaultConfig()
	cfg.isolation = isolation
	r := &partitionReader{
		s:  &Source{cfg: cfg},
		tp: TopicPartition{"t", 3}, offset: from, to: to,
		b: newRecordBuilder(mem, TopicPartition{"t", 3}, 100),
	}
	if isolation == ReadCommitted {
		r.aborted = map[int64]struct{}{}
	}
	return r, mem
}

// decoded returns "offset/ts-micros/type/value" per row and releases the
// records.
func decoded(t *testing.T, r *partitionReader) []string {
	t.Helper()
	var out []string
	for _, rec := range r.b.finish() {
		if p := rec.Column(3).(*array.Int32); p.Value(0) != 3 || rec.Column(2).(*array.String).Value(0) != "t" {
			t.Errorf("topic/partition columns wrong: %v %v", rec.Column(2), p)
		}
		off := rec.Column(4).(*array.Int64)
		ts := rec.Column(5).(*array.Timestamp)
		typ := rec.Column(6).(*array.Int32)
		val := rec.Column(1).(*array.Binary)
		for i := 0; i < int(rec.NumRows()); i++ {
			out = append(out, fmt.Sprintf("%d/%d/%d/%s", off.Value(i), ts.Value(i), typ.Value(i), val.Value(i)))
		}
		rec.Release()
	}
	return out
}

func recBatch(first int64, pid int64, txn bool, ts time.Time, values ...string) *sarama.Records {
	rb := &sarama.RecordBatch{Version: 2, FirstOffset: first, FirstTimestamp: ts, MaxTimestamp: ts,
		ProducerID: pid, IsTransactional: txn, LastOffsetDelta: int32(len(values) - 1)}
	for i, v := range values {
		rb.Records = append(rb.Records, &sarama.Record{OffsetDelta: int64(i), TimestampDelta: time.Duration(i) * time.Millisecond, Value: []byte(v)})
	}
	return &sarama.Records{RecordBatch: rb}
}

func marker(offset, pid int64, commit bool) *sarama.Records {
	key := make([]byte, 4)
	if commit {
		binary.BigEndian.PutUint16(key[2:], 1)
	}
	rb := &sarama.RecordBatch{Version: 2, FirstOffset: offset, ProducerID: pid, IsTransactional: true, Control: true,
		Records: []*sarama.Record{{Key: key, Value: make([]byte, 6)}}}
	return &sarama.Records{RecordBatch: rb}
}

func TestDecodeLegacyMessageSets(t *testing.T) {
	r, _ := testReader(t, ReadUncommitted, 6, 12)
	v0 := &sarama.MessageSet{}
	for off := int64(5); off <= 7; off++ {
		v0.Messages = append(v0.Messages, &sarama.MessageBlock{Offset: off, Msg: &sarama.Message{Version: 0, Value: []byte(fmt.Sprint("v0-", off))}})
	}
	// A compressed v1 wrapper at offset 10 holding inner offsets 0..2,
	// relative: the absolute offsets are 8, 9, 10.
	inner := &sarama.MessageSet{}
	for i := int64(0); i < 3; i++ {
		inner.Messages = append(inner.Messages, &sarama.MessageBlock{Offset: i,
			Msg: &sarama.Message{Version: 1, Value: []byte(fmt.Sprint("v1-", i)), Timestamp: t0.Add(time.Duration(i) * time.Second)}})
	}
	wrapper := &sarama.MessageSet{Messages: []*sarama.MessageBlock{{Offset: 10, Msg: &sarama.Message{Version: 1, Codec: sarama.CompressionGZIP, Set: inner, Timestamp: t0}}}}
	// A v1 wrapper with log-append time: every message gets the wrapper's
	// timestamp.
	lat := &sarama.MessageSet{Messages: []*sarama.MessageBlock{{Offset: 12, Msg: &sarama.Message{Version: 1, LogAppendTime: true, Timestamp: t0.Add(time.Hour),
		Set: &sarama.MessageSet{Messages: []*sarama.MessageBlock{
			{Offset: 0, Msg: &sarama.Message{Version: 1, Value: []byte("la-0"), Timestamp: t0}},
			{Offset: 1, Msg: &sarama.Message{Version: 1, Value: []byte("la-1"), Timestamp: t0}},
		}}}}}}
	block := &sarama.FetchResponseBlock{RecordsSet: []*sarama.Records{{MsgSet: v0}, {MsgSet: wrapper}, {MsgSet: lat}}}
	if partial := r.decode(block); partial {
		t.Fatal("decode reported a partial set")
	}
	if r.offset != 12 {
		t.Errorf("offset after decode = %d, want 12 (the range end)", r.offset)
	}
	us := t0.UnixMicro()
	want := []string{
		"6/-1000/-1/v0-6", "7/-1000/-1/v0-7",
		fmt.Sprintf("8/%d/0/v1-0", us), fmt.Sprintf("9/%d/0/v1-1", us+1e6), fmt.Sprintf("10/%d/0/v1-2", us+2e6),
		fmt.Sprintf("11/%d/1/la-0", t0.Add(time.Hour).UnixMicro()),
	}
	if got := decoded(t, r); !reflect.DeepEqual(got, want) {
		t.Fatalf("rows %v, want %v", got, want)
	}
}

func TestDecodeLogAppendTime(t *testing.T) {
	r, _ := testReader(t, ReadUncommitted, 0, 10)
	recs := recBatch(0, -1, false, t0, "a", "b")
	recs.RecordBatch.LogAppendTime = true
	recs.RecordBatch.MaxTimestamp = t0.Add(time.Minute)
	r.decode(&sarama.FetchResponseBlock{RecordsSet: []*sarama.Records{recs}})
	at := t0.Add(time.Minute).UnixMicro()
	want := []string{fmt.Sprintf("0/%d/1/a", at), fmt.Sprintf("1/%d/1/b", at)}
	if got := decoded(t, r); !reflect.DeepEqual(got, want) {
		t.Fatalf("rows %v, want %v", got, want)
	}
}

func TestDecodeTransactions(t *testing.T) {
	block := func() *sarama.FetchResponseBlock {
		return &sarama.FetchResponseBlock{
			AbortedTransactions: []*sarama.AbortedTransaction{{ProducerID: 7, FirstOffset: 20}, {ProducerID: 8, FirstOffset: 27}},
			RecordsSet: []*sarama.Records{
				recBatch(18, -1, false, t0, "plain18", "plain19"),
				recBatch(20, 7, true, t0, "aborted20", "aborted21"),
				marker(22, 7, false),
				recBatch(23, 7, true, t0, "committed23"), // pid 7's next transaction
				marker(24, 7, true),
				recBatch(25, -1, false, t0, "plain25"),
				recBatch(26, 9, true, t0, "committed26"),
				recBatch(27, 8, true, t0, "aborted27"),
				marker(28, 9, true),
				marker(29, 8, false),
			},
		}
	}
	values := func(rows []string) []string {
		var out []string
		for _, r := range rows {
			var off, ts, typ int64
			var v string
			fmt.Sscanf(r, "%d/%d/%d/%s", &off, &ts, &typ, &v)
			out = append(out, v)
		}
		return out
	}
	r, _ := testReader(t, ReadCommitted, 19, 30)
	r.decode(block())
	if got, want := values(decoded(t, r)), []string{"plain19", "committed23", "plain25", "committed26"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("read_committed rows %v, want %v", got, want)
	}
	if r.offset != 30 {
		t.Errorf("offset after the markers = %d, want 30", r.offset)
	}
	r, _ = testReader(t, ReadUncommitted, 19, 30)
	r.decode(block())
	if got, want := values(decoded(t, r)), []string{"plain19", "aborted20", "aborted21", "committed23", "plain25", "committed26", "aborted27"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("read_uncommitted rows %v, want %v", got, want)
	}
	// A range ending inside a batch stops there.
	r, _ = testReader(t, ReadCommitted, 18, 19)
	r.decode(block())
	if got := values(decoded(t, r)); !reflect.DeepEqual(got, []string{"plain18"}) {
		t.Fatalf("rows of [18, 19): %v", got)
	}
}

func TestDecodePartial(t *testing.T) {
	r, _ := testReader(t, ReadUncommitted, 0, 10)
	if !r.decode(&sarama.FetchResponseBlock{Partial: true}) || r.offset != 0 {
		t.Errorf("a partial block must report partial and not move")
	}
	trailing := recBatch(2, -1, false, t0, "x")
	trailing.RecordBatch.PartialTrailingRecord = true
	partial := r.decode(&sarama.FetchResponseBlock{RecordsSet: []*sarama.Records{recBatch(0, -1, false, t0, "a", "b"), trailing}})
	if !partial || r.offset != 2 {
		t.Errorf("decode = %v, offset %d; want partial at offset 2", partial, r.offset)
	}
	if got := decoded(t, r); len(got) != 2 {
		t.Errorf("rows %v, want the two complete records", got)
	}
}
