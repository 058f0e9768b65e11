package kafka_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/objstore"
	"github.com/sluicehq/sluice/source"
	"github.com/sluicehq/sluice/source/kafka"
)

// row is one decoded output row; nil slices are nulls.
type row struct {
	key, value []byte
	topic      string
	partition  int32
	offset     int64
	tsMicros   int64
	tsType     int32
	headers    []hdr
}

type hdr struct {
	key   string
	value []byte
}

func (r row) String() string {
	return fmt.Sprintf("%s/%d@%d key=%q value=%q", r.topic, r.partition, r.offset, r.key, r.value)
}

func cloneBytes(b []byte) []byte { return append([]byte{}, b...) }

// rowsOf decodes records of kafka.Schema().
func rowsOf(t testing.TB, recs []arrow.RecordBatch) []row {
	t.Helper()
	var out []row
	for _, rec := range recs {
		if !rec.Schema().Equal(kafka.Schema()) {
			t.Fatalf("record schema %s, want %s", rec.Schema(), kafka.Schema())
		}
		key := rec.Column(0).(*array.Binary)
		val := rec.Column(1).(*array.Binary)
		topic := rec.Column(2).(*array.String)
		part := rec.Column(3).(*array.Int32)
		off := rec.Column(4).(*array.Int64)
		ts := rec.Column(5).(*array.Timestamp)
		tsType := rec.Column(6).(*array.Int32)
		hl := rec.Column(7).(*array.List)
		hs := hl.ListValues().(*array.Struct)
		hk := hs.Field(0).(*array.String)
		hv := hs.Field(1).(*array.Binary)
		for i := 0; i < int(rec.NumRows()); i++ {
			r := row{topic: topic.Value(i), partition: part.Value(i), offset: off.Value(i), tsMicros: int64(ts.Value(i)), tsType: tsType.Value(i)}
			if !key.IsNull(i) {
				r.key = cloneBytes(key.Value(i))
			}
			if !val.IsNull(i) {
				r.value = cloneBytes(val.Value(i))
			}
			if !hl.IsNull(i) {
				r.headers = []hdr{}
				lo, hi := hl.ValueOffsets(i)
				for j := int(lo); j < int(hi); j++ {
					h := hdr{key: hk.Value(j)}
					if !hv.IsNull(j) {
						h.value = cloneBytes(hv.Value(j))
					}
					r.headers = append(r.headers, h)
				}
			}
			out = append(out, r)
		}
	}
	return out
}

func newSource(t testing.TB, opts ...kafka.Option) *kafka.Source {
	t.Helper()
	s, err := kafka.New(testCtx(t), append([]kafka.Option{kafka.WithBrokers(brokers(t)...)}, opts...)...)
	if err != nil {
		t.Fatalf("kafka.New: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func checkedMem(t testing.TB) *memory.CheckedAllocator {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	t.Cleanup(func() { mem.AssertSize(t, 0) })
	return mem
}

// read reads (start, end) and returns the rows, releasing the records.
func read(t testing.TB, s *kafka.Source, start, end source.Offset, mem memory.Allocator) []row {
	t.Helper()
	recs, err := s.Read(testCtx(t), start, end, mem)
	if err != nil {
		t.Fatalf("Read(%s, %s): %v", start, end, err)
	}
	defer func() {
		for _, r := range recs {
			r.Release()
		}
	}()
	return rowsOf(t, recs)
}

func latest(t testing.TB, s *kafka.Source, start source.Offset, limit source.ReadLimit) source.Offset {
	t.Helper()
	end, err := s.LatestOffset(testCtx(t), start, limit)
	if err != nil {
		t.Fatalf("LatestOffset(%s): %v", start, err)
	}
	return end
}

func offsets(t testing.TB, js string) kafka.Offsets {
	t.Helper()
	o, err := kafka.ParseOffsets([]byte(js))
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func wantOffset(t testing.TB, got source.Offset, want string) {
	t.Helper()
	if string(got) != want {
		t.Fatalf("offset %s, want %s", got, want)
	}
}

// ids returns "partition@offset=value" for each row.
func ids(rows []row) []string {
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = fmt.Sprintf("%d@%d=%s", r.partition, r.offset, r.value)
	}
	return out
}

func TestExactRangesAndOrder(t *testing.T) {
	topic := createTopic(t, topicName(t, ""), 3)
	produce(t, topic, append(append(values(1, "b", 3), values(0, "a", 5)...), values(2, "c", 2)...)...)
	mem := checkedMem(t)
	s := newSource(t, kafka.WithTopics(topic), kafka.WithMaxRecordRows(2))

	end := latest(t, s, nil, source.ReadAll)
	wantOffset(t, end, fmt.Sprintf(`{%q:{"0":5,"1":3,"2":2}}`, topic))
	recs, err := s.Read(testCtx(t), nil, end, mem)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if r.NumRows() > 2 {
			t.Errorf("a record has %d rows, more than WithMaxRecordRows(2)", r.NumRows())
		}
		p := r.Column(3).(*array.Int32)
		if p.Value(0) != p.Value(int(r.NumRows())-1) {
			t.Errorf("a record mixes partitions %d and %d", p.Value(0), p.Value(int(r.NumRows())-1))
		}
	}
	all := rowsOf(t, recs)
	for _, r := range recs {
		r.Release()
	}
	want := []string{"0@0=a0", "0@1=a1", "0@2=a2", "0@3=a3", "0@4=a4", "1@0=b0", "1@1=b1", "1@2=b2", "2@0=c0", "2@1=c1"}
	if got := ids(all); !reflect.DeepEqual(got, want) {
		t.Fatalf("Read(nil, %s) = %v, want %v", end, got, want)
	}

	// A sub-range is [start, end) per partition; an empty range reads
	// nothing.
	start := kafka.Offsets{{topic, 0}: 1, {topic, 1}: 2, {topic, 2}: 2}.JSON()
	mid := kafka.Offsets{{topic, 0}: 3, {topic, 1}: 3, {topic, 2}: 2}.JSON()
	if got, want := ids(read(t, s, start, mid, mem)), []string{"0@1=a1", "0@2=a2", "1@2=b2"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("Read(%s, %s) = %v, want %v", start, mid, got, want)
	}
	if got := read(t, s, end, end, mem); len(got) != 0 {
		t.Fatalf("Read(end, end) = %v, want nothing", got)
	}

	// Another instance reads the same rows for the same offsets.
	s2 := newSource(t, kafka.WithTopics(topic))
	if got := ids(read(t, s2, kafka.Offsets{{topic, 0}: 0, {topic, 1}: 0, {topic, 2}: 0}.JSON(), end, mem)); !reflect.DeepEqual(got, want) {
		t.Fatalf("a second source read %v, want %v", got, want)
	}
	// No new data: LatestOffset returns its start.
	wantOffset(t, latest(t, s, end, source.ReadAll), string(end))
	if _, err := s.Read(testCtx(t), nil, []byte(`{"x":`), mem); err == nil || !strings.Contains(err.Error(), "kafka: offset") {
		t.Errorf("Read with a bad end offset = %v, want an error naming the offset", err)
	}
	if got := s.Description(); got != "KafkaSource[subscribe="+topic+"]" {
		t.Errorf("Description() = %q", got)
	}
}

func TestKeysValuesHeadersAndNulls(t *testing.T) {
	topic := createTopic(t, topicName(t, ""), 1)
	ts := time.UnixMilli(1767225600123)
	produce(t, topic,
		msg{ts: ts},
		msg{key: []byte{}, value: []byte{}, ts: ts.Add(time.Second)},
		msg{key: []byte("k"), value: []byte("v\x00\xff"), ts: ts.Add(2 * time.Second), headers: []sarama.RecordHeader{
			{Key: []byte("h1"), Value: []byte("one")},
			{Key: []byte("h2"), Value: nil},
			{Key: []byte("h1"), Value: []byte{}},
		}},
	)
	mem := checkedMem(t)
	s := newSource(t, kafka.WithTopics(topic))
	rows := read(t, s, nil, latest(t, s, nil, source.ReadAll), mem)
	if len(rows) != 3 {
		t.Fatalf("got %d rows, want 3", len(rows))
	}
	r0, r1, r2 := rows[0], rows[1], rows[2]
	if r0.key != nil || r0.value != nil || r0.headers != nil {
		t.Errorf("row 0: key %v value %v headers %v, want all null", r0.key, r0.value, r0.headers)
	}
	if r1.key == nil || len(r1.key) != 0 || r1.value == nil || len(r1.value) != 0 {
		t.Errorf("row 1: key %v value %v, want empty, not null", r1.key, r1.value)
	}
	if string(r2.key) != "k" || string(r2.value) != "v\x00\xff" {
		t.Errorf("row 2: key %q value %q", r2.key, r2.value)
	}
	wantH := []hdr{{"h1", []byte("one")}, {"h2", nil}, {"h1", []byte{}}}
	if !reflect.DeepEqual(r2.headers, wantH) {
		t.Errorf("row 2 headers %v, want %v (order kept, null value kept)", r2.headers, wantH)
	}
	for i, r := range rows {
		want := ts.Add(time.Duration(i) * time.Second).UnixMicro()
		if r.tsMicros != want || r.tsType != kafka.TimestampTypeCreateTime {
			t.Errorf("row %d: timestamp %d type %d, want %d (create time)", i, r.tsMicros, r.tsType, want)
		}
		if r.topic != topic || r.partition != 0 || r.offset != int64(i) {
			t.Errorf("row %d: %s", i, r)
		}
	}
}

// fixture is a topic with 2 partitions of 10 records each; record i of
// each partition has timestamp base + i seconds.
type fixture struct {
	topic string
	base  time.Time
}

func newFixture(t *testing.T) fixture {
	f := fixture{topic: createTopic(t, topicName(t, ""), 2), base: time.UnixMilli(1767225600000)}
	var msgs []msg
	for p := int32(0); p < 2; p++ {
		for i := 0; i < 10; i++ {
			msgs = append(msgs, msg{partition: p, value: []byte(fmt.Sprintf("p%d-%d", p, i)), ts: f.base.Add(time.Duration(i) * time.Second)})
		}
	}
	produce(t, f.topic, msgs...)
	return f
}

func TestStartingOffsets(t *testing.T) {
	f := newFixture(t)
	topic := f.topic
	at := func(p0, p1 int64) string {
		return fmt.Sprintf(`{%q:{"0":%d,"1":%d}}`, topic, p0, p1)
	}
	for _, c := range []struct {
		name     string
		starting kafka.StartingOffsets
		want     string
	}{
		{"earliest", kafka.Earliest, at(0, 0)},
		{"latest", kafka.Latest, at(10, 10)},
		{"specific", kafka.SpecificOffsets(fmt.Sprintf(`{%q:{"0":3,"1":-2}}`, topic)), at(3, 0)},
		{"specific latest", kafka.SpecificOffsets(fmt.Sprintf(`{%q:{"0":-1,"1":7}}`, topic)), at(10, 7)},
		{"by timestamp", kafka.ByTimestamp(f.base.Add(5500 * time.Millisecond)), at(6, 6)},
		{"by exact timestamp", kafka.ByTimestamp(f.base.Add(5 * time.Second)), at(5, 5)},
		{"by timestamp before all", kafka.ByTimestamp(f.base.Add(-time.Hour)), at(0, 0)},
		{"by timestamp after all", kafka.ByTimestamp(f.base.Add(time.Hour)), at(10, 10)},
		{"specific timestamps", kafka.SpecificTimestamps(fmt.Sprintf(`{%q:{"0":%d,"1":%d}}`, topic,
			f.base.Add(2*time.Second).UnixMilli(), f.base.Add(9*time.Second).UnixMilli())), at(2, 9)},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := newSource(t, kafka.WithTopics(topic), kafka.WithStartingOffsets(c.starting))
			meta := objstore.NewMemory()
			if err := s.Init(testCtx(t), meta); err != nil {
				t.Fatal(err)
			}
			// The first batch ends at the latest offsets; its start is the
			// initial offsets, kept in the checkpoint.
			wantOffset(t, latest(t, s, nil, source.ReadAll), at(10, 10))
			data, err := meta.Get(testCtx(t), kafka.InitialOffsetsObject)
			if err != nil {
				t.Fatalf("the initial offsets were not kept: %v", err)
			}
			if want := "v1\n" + c.want + "\n"; string(data) != want {
				t.Fatalf("%s holds %q, want %q", kafka.InitialOffsetsObject, data, want)
			}
			mem := checkedMem(t)
			rows := read(t, s, nil, []byte(at(10, 10)), mem)
			want := offsets(t, c.want)
			n := 20 - want[kafka.TopicPartition{Topic: topic, Partition: 0}] - want[kafka.TopicPartition{Topic: topic, Partition: 1}]
			if int64(len(rows)) != n {
				t.Fatalf("the first batch read %d rows, want %d", len(rows), n)
			}
			if len(rows) > 0 && rows[0].offset != want[kafka.TopicPartition{Topic: topic, Partition: rows[0].partition}] {
				t.Fatalf("the first batch starts at %s", rows[0])
			}
		})
	}
}

func TestStartingOffsetsErrors(t *testing.T) {
	f := newFixture(t)
	ctx := testCtx(t)
	s := newSource(t, kafka.WithTopics(f.topic), kafka.WithStartingOffsets(kafka.SpecificOffsets(fmt.Sprintf(`{%q:{"0":3}}`, f.topic))))
	if _, err := s.LatestOffset(ctx, nil, source.ReadAll); err == nil || !strings.Contains(err.Error(), f.topic+"-1") || !strings.Contains(err.Error(), "every subscribed partition") {
		t.Errorf("startingOffsets without partition 1: %v, want an error naming %s-1", err, f.topic)
	}
	s = newSource(t, kafka.WithTopics(f.topic), kafka.WithStartingOffsets(kafka.SpecificOffsets(fmt.Sprintf(`{%q:{"0":3,"1":0,"2":0}}`, f.topic))))
	if _, err := s.LatestOffset(ctx, nil, source.ReadAll); err == nil || !strings.Contains(err.Error(), f.topic+"-2") {
		t.Errorf("startingOffsets with a partition that does not exist: %v, want an error naming %s-2", err, f.topic)
	}
	s = newSource(t, kafka.WithTopics(f.topic), kafka.WithStartingOffsets(kafka.SpecificOffsets(fmt.Sprintf(`{%q:{"0":30,"1":0}}`, f.topic))))
	if _, err := s.LatestOffset(ctx, nil, source.ReadAll); err == nil || !strings.Contains(err.Error(), "offset 30") || !strings.Contains(err.Error(), "failOnDataLoss=false") {
		t.Errorf("startingOffsets past the end: %v, want an error naming offset 30 and failOnDataLoss", err)
	}
	s = newSource(t, kafka.WithTopics(f.topic), kafka.WithFailOnDataLoss(false), kafka.WithLogger(slog.New(slog.DiscardHandler)),
		kafka.WithStartingOffsets(kafka.SpecificOffsets(fmt.Sprintf(`{%q:{"0":30,"1":0}}`, f.topic))))
	s.LatestOffset(ctx, nil, source.ReadAll)
	mem := checkedMem(t)
	if rows := read(t, s, nil, []byte(fmt.Sprintf(`{%q:{"0":10,"1":10}}`, f.topic)), mem); len(rows) != 10 || rows[0].partition != 1 {
		t.Errorf("with failOnDataLoss=false, an offset past the end starts at the end: read %v", ids(rows))
	}
}

// TestInitialOffsetsSurviveRestart: a restart before the first commit
// starts from the offsets the first run resolved, not from "latest" again.
func TestInitialOffsetsSurviveRestart(t *testing.T) {
	f := newFixture(t)
	meta := objstore.NewMemory()
	ctx := testCtx(t)
	s1 := newSource(t, kafka.WithTopics(f.topic), kafka.WithStartingOffsets(kafka.Latest))
	if err := s1.Init(ctx, meta); err != nil {
		t.Fatal(err)
	}
	end1 := latest(t, s1, nil, source.ReadAll)
	produce(t, f.topic, values(0, "new", 3)...)
	s2 := newSource(t, kafka.WithTopics(f.topic), kafka.WithStartingOffsets(kafka.Latest))
	if err := s2.Init(ctx, meta); err != nil {
		t.Fatal(err)
	}
	mem := checkedMem(t)
	// The first run's batch 0 is re-run with its logged end: nothing new.
	if rows := read(t, s2, nil, end1, mem); len(rows) != 0 {
		t.Fatalf("re-running batch 0 read %v, want nothing", ids(rows))
	}
	// A fresh plan of batch 0 reads the records produced since.
	end2 := latest(t, s2, nil, source.ReadAll)
	if got, want := ids(read(t, s2, nil, end2, mem)), []string{"0@10=new0", "0@11=new1", "0@12=new2"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("after the restart, batch 0 read %v, want %v", got, want)
	}
	// A corrupt object stops Init with an error naming it.
	bad := objstore.NewMemory()
	bad.Put(ctx, kafka.InitialOffsetsObject, []byte("v1\nnope\n"))
	if err := s2.Init(ctx, bad); err == nil || !strings.Contains(err.Error(), kafka.InitialOffsetsObject) {
		t.Errorf("Init with a corrupt object = %v, want an error naming it", err)
	}
}

func TestMaxOffsetsPerTriggerFairness(t *testing.T) {
	topic := createTopic(t, topicName(t, ""), 3)
	produce(t, topic, append(append(values(0, "a", 1000), values(1, "b", 100)...), values(2, "c", 10)...)...)
	s := newSource(t, kafka.WithTopics(topic), kafka.WithMaxOffsetsPerTrigger(111))
	if got := s.DefaultReadLimit(); got != source.MaxRows(111) {
		t.Fatalf("DefaultReadLimit() = %v, want MaxRows(111)", got)
	}
	// 111 split over backlogs 1000, 100, 10: one each, then 108 in
	// proportion to 999, 99, 9 (97.46, 9.66, 0.88): 97, 9, 0, and the two
	// left over to the largest remainders (partitions 2 and 1).
	end := latest(t, s, nil, s.DefaultReadLimit())
	wantOffset(t, end, fmt.Sprintf(`{%q:{"0":98,"1":11,"2":2}}`, topic))

	mem := checkedMem(t)
	var start source.Offset
	seen := map[int32]int64{}
	batches := 0
	for {
		end := latest(t, s, start, s.DefaultReadLimit())
		if bytes.Equal(end, start) {
			break
		}
		batches++
		rows := read(t, s, start, end, mem)
		if len(rows) > 111 {
			t.Fatalf("batch %d read %d rows, more than the limit", batches, len(rows))
		}
		got := map[int32]int{}
		for _, r := range rows {
			if r.offset != seen[r.partition] {
				t.Fatalf("batch %d: partition %d offset %d, want %d", batches, r.partition, r.offset, seen[r.partition])
			}
			seen[r.partition]++
			got[r.partition]++
		}
		// Every partition with data left gets at least one offset.
		for p, n := range map[int32]int64{0: 1000, 1: 100, 2: 10} {
			if seen[p]-int64(got[p]) < n && got[p] == 0 {
				t.Fatalf("batch %d starved partition %d", batches, p)
			}
		}
		start = end
	}
	if seen[0] != 1000 || seen[1] != 100 || seen[2] != 10 {
		t.Fatalf("read %v, want all 1110 records", seen)
	}
	if batches != 10 {
		t.Errorf("took %d batches for 1110 offsets at 111 per batch, want 10", batches)
	}
}

func TestNewPartitionIsPickedUp(t *testing.T) {
	topic := createTopic(t, topicName(t, ""), 1)
	produce(t, topic, values(0, "a", 2)...)
	s := newSource(t, kafka.WithTopics(topic))
	end1 := latest(t, s, nil, source.ReadAll)
	wantOffset(t, end1, fmt.Sprintf(`{%q:{"0":2}}`, topic))
	if err := admin(t).CreatePartitions(topic, 3, nil, false); err != nil {
		t.Fatal(err)
	}
	// A new partition without data is not mentioned yet.
	wantOffset(t, latest(t, s, end1, source.ReadAll), string(end1))
	produce(t, topic, append(values(2, "c", 2), values(0, "a-late", 1)...)...)
	end2 := latest(t, s, end1, source.ReadAll)
	wantOffset(t, end2, fmt.Sprintf(`{%q:{"0":3,"2":2}}`, topic))
	mem := checkedMem(t)
	if got, want := ids(read(t, s, end1, end2, mem)), []string{"0@2=a-late0", "2@0=c0", "2@1=c1"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("read %v, want %v", got, want)
	}
}

func TestFailOnDataLoss(t *testing.T) {
	topic := createTopic(t, topicName(t, ""), 1)
	produce(t, topic, values(0, "v", 10)...)
	ctx := testCtx(t)
	strict := newSource(t, kafka.WithTopics(topic))
	var logs bytes.Buffer
	var logMu sync.Mutex
	lenient := newSource(t, kafka.WithTopics(topic), kafka.WithFailOnDataLoss(false),
		kafka.WithLogger(slog.New(slog.NewTextHandler(lockedWriter{&logMu, &logs}, nil))))
	end := latest(t, strict, nil, source.ReadAll)
	latest(t, lenient, nil, source.ReadAll)
	if err := admin(t).DeleteRecords(topic, map[int32]int64{0: 6}); err != nil {
		t.Fatal(err)
	}
	mem := checkedMem(t)
	_, err := strict.Read(ctx, nil, end, mem)
	for _, want := range []string{fmt.Sprintf("topic %q partition 0", topic), "offsets 0 to 10", "holds offsets 6 to 10", "failOnDataLoss=false"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("Read after DeleteRecords = %v, want an error containing %q", err, want)
		}
	}
	if got, want := ids(read(t, lenient, nil, end, mem)), []string{"0@6=v6", "0@7=v7", "0@8=v8", "0@9=v9"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("with failOnDataLoss=false read %v, want %v", got, want)
	}
	if lenient.DataLossCount() != 1 || lenient.Metrics()["dataLossCount"] != "1" || lenient.Metrics()["offsetsSkipped"] != "6" {
		t.Errorf("DataLossCount() = %d, Metrics() = %v; want 1 loss of 6 offsets", lenient.DataLossCount(), lenient.Metrics())
	}
	logMu.Lock()
	if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), topic) {
		t.Errorf("no warning naming the topic was logged: %s", logs.String())
	}
	logMu.Unlock()
	if strict.DataLossCount() != 0 {
		t.Errorf("the failing source counted %d losses", strict.DataLossCount())
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func txnProducer(t *testing.T, id string) sarama.SyncProducer {
	c := saramaConfig()
	c.Producer.Idempotent = true
	c.Producer.Transaction.ID = id
	c.Net.MaxOpenRequests = 1
	p, err := sarama.NewSyncProducer(brokers(t), c)
	if err != nil {
		t.Fatalf("transactional producer: %v", err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func inTxn(t *testing.T, p sarama.SyncProducer, topic string, commit bool, msgs ...msg) {
	t.Helper()
	if err := p.BeginTxn(); err != nil {
		t.Fatal(err)
	}
	send(t, p, topic, msgs...)
	var err error
	if commit {
		err = p.CommitTxn()
	} else {
		err = p.AbortTxn()
	}
	if err != nil {
		t.Fatal(err)
	}
}

func TestReadCommitted(t *testing.T) {
	topic := createTopic(t, topicName(t, ""), 1)
	txA := txnProducer(t, topicName(t, "-a"))
	txB := txnProducer(t, topicName(t, "-b"))
	produce(t, topic, values(0, "plain", 3)...)           // 0-2
	inTxn(t, txA, topic, true, values(0, "commit", 2)...) // 3-4, marker 5
	inTxn(t, txA, topic, false, values(0, "abort", 2)...) // 6-7, marker 8
	produce(t, topic, values(0, "between", 1)...)         // 9
	if err := txB.BeginTxn(); err != nil {                // open: 10-11
		t.Fatal(err)
	}
	send(t, txB, topic, values(0, "open", 2)...)
	produce(t, topic, values(0, "after", 1)...) // 12

	mem := checkedMem(t)
	rc := newSource(t, kafka.WithTopics(topic), kafka.WithIsolationLevel(kafka.ReadCommitted))
	end := latest(t, rc, nil, source.ReadAll)
	wantOffset(t, end, fmt.Sprintf(`{%q:{"0":10}}`, topic)) // the last stable offset
	want := []string{"0@0=plain0", "0@1=plain1", "0@2=plain2", "0@3=commit0", "0@4=commit1", "0@9=between0"}
	if got := ids(read(t, rc, nil, end, mem)); !reflect.DeepEqual(got, want) {
		t.Fatalf("read_committed read %v, want %v", got, want)
	}

	ru := newSource(t, kafka.WithTopics(topic))
	endU := latest(t, ru, nil, source.ReadAll)
	wantOffset(t, endU, fmt.Sprintf(`{%q:{"0":13}}`, topic)) // the high watermark
	wantU := []string{"0@0=plain0", "0@1=plain1", "0@2=plain2", "0@3=commit0", "0@4=commit1", "0@6=abort0", "0@7=abort1",
		"0@9=between0", "0@10=open0", "0@11=open1", "0@12=after0"}
	if got := ids(read(t, ru, nil, endU, mem)); !reflect.DeepEqual(got, wantU) {
		t.Fatalf("read_uncommitted read %v, want %v", got, wantU)
	}

	if err := txB.CommitTxn(); err != nil {
		t.Fatal(err)
	}
	end2 := latest(t, rc, end, source.ReadAll)
	wantOffset(t, end2, fmt.Sprintf(`{%q:{"0":14}}`, topic))
	if got, want := ids(read(t, rc, end, end2, mem)), []string{"0@10=open0", "0@11=open1", "0@12=after0"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("after the commit read_committed read %v, want %v", got, want)
	}
	// A range that ends inside an aborted transaction's gap.
	mid := kafka.Offsets{{Topic: topic, Partition: 0}: 7}.JSON()
	if got, want := ids(read(t, rc, kafka.Offsets{{Topic: topic, Partition: 0}: 4}.JSON(), mid, mem)), []string{"0@4=commit1"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("read_committed [4, 7) read %v, want %v", got, want)
	}
}

func TestTopicPattern(t *testing.T) {
	prefix := topicName(t, "")
	a := createTopic(t, prefix+"-a", 1)
	other := createTopic(t, prefix+"x-c", 1)
	produce(t, a, values(0, "a", 2)...)
	produce(t, other, values(0, "x", 2)...)
	s := newSource(t, kafka.WithTopicPattern(strings.ReplaceAll(prefix, ".", `\.`)+`-.*`))
	if got := s.Description(); !strings.HasPrefix(got, "KafkaSource[subscribePattern=") {
		t.Errorf("Description() = %q", got)
	}
	end1 := latest(t, s, nil, source.ReadAll)
	wantOffset(t, end1, fmt.Sprintf(`{%q:{"0":2}}`, a))
	b := createTopic(t, prefix+"-b", 2)
	produce(t, b, append(values(1, "b", 2), values(0, "b", 1)...)...)
	end2 := latest(t, s, end1, source.ReadAll)
	wantOffset(t, end2, fmt.Sprintf(`{%q:{"0":2},%q:{"0":1,"1":2}}`, a, b))
	mem := checkedMem(t)
	if got, want := ids(read(t, s, end1, end2, mem)), []string{"0@0=b0", "1@0=b0", "1@1=b1"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("read %v, want %v", got, want)
	}
	// A topic deleted while matched is data loss.
	if err := admin(t).DeleteTopic(b); err != nil {
		t.Fatal(err)
	}
	if _, err := s.LatestOffset(testCtx(t), end2, source.ReadAll); err == nil || !strings.Contains(err.Error(), b+"-0") {
		t.Errorf("LatestOffset after deleting a matched topic = %v, want an error naming %s-0", err, b)
	}
}

func TestMissingAndDeletedTopics(t *testing.T) {
	ctx := testCtx(t)
	missing := topicName(t, "-missing")
	_, err := kafka.New(ctx, kafka.WithBrokers(brokers(t)...), kafka.WithTopics(missing))
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("%q does not exist", missing)) {
		t.Fatalf("New with a missing topic = %v, want an error naming it", err)
	}
	topic := createTopic(t, topicName(t, ""), 1)
	produce(t, topic, values(0, "v", 3)...)
	s := newSource(t, kafka.WithTopics(topic), kafka.WithRetries(2, 10*time.Millisecond),
		kafka.WithSaramaConfig(func(c *sarama.Config) { c.Metadata.Retry.Backoff = 10 * time.Millisecond }))
	end := latest(t, s, nil, source.ReadAll)
	if err := admin(t).DeleteTopic(topic); err != nil {
		t.Fatal(err)
	}
	if _, err := s.LatestOffset(ctx, end, source.ReadAll); err == nil || !strings.Contains(err.Error(), fmt.Sprintf("%q does not exist", topic)) {
		t.Errorf("LatestOffset after the topic was deleted = %v, want an error naming it", err)
	}
	mem := checkedMem(t)
	if _, err := s.Read(ctx, nil, end, mem); err == nil || !strings.Contains(err.Error(), topic) {
		t.Errorf("Read after the topic was deleted = %v, want an error naming it", err)
	}
}

func TestUnreachableBrokers(t *testing.T) {
	start := time.Now()
	_, err := kafka.New(testCtx(t), kafka.WithBrokers("127.0.0.1:1", "127.0.0.1:2"), kafka.WithTopics("t"),
		kafka.WithSaramaConfig(func(c *sarama.Config) {
			c.Metadata.Retry.Max = 2
			c.Metadata.Retry.Backoff = 10 * time.Millisecond
		}))
	if err == nil || !strings.Contains(err.Error(), "127.0.0.1:1,127.0.0.1:2") || !strings.Contains(err.Error(), "cannot reach") {
		t.Fatalf("New with unreachable brokers = %v, want an error naming them", err)
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("giving up took %v", d)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := kafka.New(ctx, kafka.WithBrokers(brokers(t)...), kafka.WithTopics("t")); !errors.Is(err, context.Canceled) {
		t.Errorf("New with a canceled context = %v", err)
	}
}

func TestConsumerGroupCommit(t *testing.T) {
	topic := createTopic(t, topicName(t, ""), 2)
	produce(t, topic, append(values(0, "a", 4), values(1, "b", 2)...)...)
	group := topicName(t, "-group")
	s := newSource(t, kafka.WithTopics(topic), kafka.WithConsumerGroup(group))
	end := latest(t, s, nil, source.ReadAll)
	mem := checkedMem(t)
	read(t, s, nil, end, mem)
	if err := s.Commit(testCtx(t), end); err != nil {
		t.Fatalf("Commit: %v", err)
	}
	resp, err := admin(t).ListConsumerGroupOffsets(group, map[string][]int32{topic: {0, 1}})
	if err != nil {
		t.Fatal(err)
	}
	for p, want := range map[int32]int64{0: 4, 1: 2} {
		b := resp.GetBlock(topic, p)
		if b == nil || b.Offset != want {
			t.Errorf("group %s partition %d: committed %+v, want offset %d", group, p, b, want)
		}
	}
	m := s.Metrics()
	if m["maxOffsetsBehindLatest"] != "0" || m["minOffsetsBehindLatest"] != "0" || m["avgOffsetsBehindLatest"] != "0.0" {
		t.Errorf("Metrics() after committing everything = %v", m)
	}
	produce(t, topic, values(0, "a", 3)...)
	latest(t, s, end, source.ReadAll)
	if m := s.Metrics(); m["maxOffsetsBehindLatest"] != "3" || m["minOffsetsBehindLatest"] != "0" || m["avgOffsetsBehindLatest"] != "1.5" {
		t.Errorf("Metrics() with 3 new records in partition 0 = %v", m)
	}
	// Without a group, Commit only updates the metrics.
	s2 := newSource(t, kafka.WithTopics(topic))
	if err := s2.Commit(testCtx(t), end); err != nil {
		t.Errorf("Commit without a group: %v", err)
	}
}

func TestAvailableNowPinsLatest(t *testing.T) {
	topic := createTopic(t, topicName(t, ""), 1)
	produce(t, topic, values(0, "v", 10)...)
	ctx := testCtx(t)
	s := newSource(t, kafka.WithTopics(topic), kafka.WithMaxOffsetsPerTrigger(4))
	if err := s.PrepareForAvailableNow(ctx); err != nil {
		t.Fatal(err)
	}
	produce(t, topic, values(0, "late", 5)...)
	var start source.Offset
	var ends []string
	for {
		end := latest(t, s, start, s.DefaultReadLimit())
		if bytes.Equal(end, start) {
			break
		}
		ends = append(ends, string(end))
		start = end
	}
	at := func(n int) string { return fmt.Sprintf(`{%q:{"0":%d}}`, topic, n) }
	if want := []string{at(4), at(8), at(10)}; !reflect.DeepEqual(ends, want) {
		t.Fatalf("AvailableNow batches ended at %v, want %v", ends, want)
	}
	var _ json.RawMessage = start
}
