package decode

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// The Yahoo Streaming Benchmark event: seven columns, about 250 bytes of
// JSON.
var ysbSchema = schemaOf("user_id", utf8T, "page_id", utf8T, "ad_id", utf8T, "ad_type", utf8T,
	"event_type", utf8T, "event_time", tsUS, "ip_address", utf8T)

type ysbEvent struct {
	UserID    string    `json:"user_id"`
	PageID    string    `json:"page_id"`
	AdID      string    `json:"ad_id"`
	AdType    string    `json:"ad_type"`
	EventType string    `json:"event_type"`
	EventTime time.Time `json:"event_time"`
	IPAddress string    `json:"ip_address"`
}

const benchBatch = 1 << 16

var (
	adTypes    = []string{"banner", "modal", "sponsored-search", "mail", "mobile"}
	eventTypes = []string{"view", "click", "purchase"}
)

func uuid(i, salt int) string {
	x := uint64(i)*0x9E3779B97F4A7C15 + uint64(salt)*0xBF58476D1CE4E5B9
	return fmt.Sprintf("%08x-%04x-4%03x-8%03x-%012x", uint32(x>>32), uint16(x>>16), uint16(x)&0xfff, uint16(x>>8)&0xfff, x&0xffffffffffff)
}

// ysbJSON returns n events as JSON and their average size.
func ysbJSON(n int) ([][]byte, int) {
	out := make([][]byte, n)
	total := 0
	base := time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)
	for i := range out {
		ev := fmt.Sprintf(`{"user_id":"%s","page_id":"%s","ad_id":"%s","ad_type":"%s","event_type":"%s","event_time":"%s","ip_address":"10.%d.%d.%d"}`,
			uuid(i, 1), uuid(i, 2), uuid(i%1000, 3), adTypes[i%len(adTypes)], eventTypes[i%len(eventTypes)],
			base.Add(time.Duration(i)*time.Millisecond).Format("2006-01-02T15:04:05.000Z"), i%256, (i/256)%256, i%200)
		out[i] = []byte(ev)
		total += len(ev)
	}
	return out, total / n
}

// ysbCSV returns n events as CSV lines and their average size.
func ysbCSV(n int) ([][]byte, int) {
	out := make([][]byte, n)
	total := 0
	base := time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)
	for i := range out {
		ev := fmt.Sprintf(`%s,%s,%s,%s,%s,%s,10.%d.%d.%d`,
			uuid(i, 1), uuid(i, 2), uuid(i%1000, 3), adTypes[i%len(adTypes)], eventTypes[i%len(eventTypes)],
			base.Add(time.Duration(i)*time.Millisecond).Format("2006-01-02T15:04:05.000Z"), i%256, (i/256)%256, i%200)
		out[i] = []byte(ev)
		total += len(ev)
	}
	return out, total / n
}

func reportRates(b *testing.B, records int64, cpu0 time.Duration, cpuOK bool) {
	b.ReportMetric(float64(records)/b.Elapsed().Seconds(), "records/s")
	if cpu1, ok := cpuTime(); ok && cpuOK && cpu1 > cpu0 {
		b.ReportMetric(float64(records)/(cpu1-cpu0).Seconds(), "records/cpu-s")
	}
}

func benchDecode(b *testing.B, d Decoder, recs [][]byte, size int) {
	bld := array.NewBinaryBuilder(memory.DefaultAllocator, arrow.BinaryTypes.Binary)
	for _, r := range recs {
		bld.Append(r)
	}
	in := bld.NewArray()
	bld.Release()
	defer in.Release()
	b.SetBytes(int64(size) * int64(len(recs)))
	b.ReportAllocs()
	cpu0, cpuOK := cpuTime()
	b.ResetTimer()
	for b.Loop() {
		res, err := d.Decode(in, memory.DefaultAllocator)
		if err != nil {
			b.Fatal(err)
		}
		if len(res.Malformed) > 0 {
			b.Fatalf("malformed: %v", res.Malformed[0])
		}
		res.Release()
	}
	reportRates(b, int64(b.N)*int64(len(recs)), cpu0, cpuOK)
	b.ReportMetric(float64(size), "bytes/record")
}

// BenchmarkDecodeJSON decodes batches of 64Ki YSB events (about 250 bytes
// each) into 7 Arrow columns.
func BenchmarkDecodeJSON(b *testing.B) {
	d, err := NewJSON(ysbSchema)
	if err != nil {
		b.Fatal(err)
	}
	recs, size := ysbJSON(benchBatch)
	benchDecode(b, d, recs, size)
}

// BenchmarkDecodeJSONStdlib is the baseline: encoding/json into a Go
// struct, one record at a time, without building Arrow columns.
func BenchmarkDecodeJSONStdlib(b *testing.B) {
	recs, size := ysbJSON(benchBatch)
	b.SetBytes(int64(size) * int64(len(recs)))
	b.ReportAllocs()
	cpu0, cpuOK := cpuTime()
	b.ResetTimer()
	var ev ysbEvent
	for b.Loop() {
		for _, r := range recs {
			if err := json.Unmarshal(r, &ev); err != nil {
				b.Fatal(err)
			}
		}
	}
	reportRates(b, int64(b.N)*int64(len(recs)), cpu0, cpuOK)
	b.ReportMetric(float64(size), "bytes/record")
}

// BenchmarkDecodeCSV decodes batches of 64Ki YSB events as CSV lines into
// the same 7 columns.
func BenchmarkDecodeCSV(b *testing.B) {
	d, err := NewCSV(ysbSchema)
	if err != nil {
		b.Fatal(err)
	}
	recs, size := ysbCSV(benchBatch)
	benchDecode(b, d, recs, size)
}
