package benchsuite

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/objstore"
)

// ysbTestShape is small: 205k events in 20k-event records (the last one
// 5k), 10k events per simulated second so that the run spans three 10 s
// windows, and a 60k-event payload period so that records share payload
// arrays and the last one shares a slice of them.
var ysbTestShape = ysbShape{events: 205_000, batch: 20_000, perSecond: 10_000, period: 60_000, seed: 3}

// ysbExpected counts the shape's views per (window, campaign) from the
// generator's events with a map, independently of Arrow, the engine and
// the loop: floor division for the window, ysbCampaignOf for the join.
func ysbExpected(s ysbShape) map[ysbKey]int64 {
	out := map[ysbKey]int64{}
	for i := int64(0); i < s.events; i++ {
		e := s.event(i)
		if e.eventType != "view" || e.adID < 0 || e.adID >= ysbAds {
			continue
		}
		w := e.timeMs / ysbWindowMs * ysbWindowMs
		if e.timeMs < w {
			w -= ysbWindowMs
		}
		out[ysbKey{w, ysbCampaignOf(e.adID)}]++
	}
	return out
}

// checked returns a checked allocator over base that must hold no bytes
// when the test ends.
func checked(t *testing.T, base memory.Allocator) *memory.CheckedAllocator {
	mem := memory.NewCheckedAllocator(base)
	t.Cleanup(func() { mem.AssertSize(t, 0) })
	return mem
}

// The expected result has the shape the workload promises, so that the
// comparisons below compare something: three windows, every campaign in
// each, about a third of the events counted.
func TestYSBExpectedShape(t *testing.T) {
	want := ysbExpected(ysbTestShape)
	windows := map[int64]bool{}
	for k := range want {
		windows[k.windowMs] = true
	}
	if len(windows) != 3 || len(want) != 3*ysbCampaigns {
		t.Fatalf("expected result has %d windows and %d groups; want 3 windows of %d campaigns", len(windows), len(want), ysbCampaigns)
	}
	total := ysbTotal(want)
	if total < ysbTestShape.events*30/100 || total > ysbTestShape.events*37/100 {
		t.Fatalf("%d of %d events are views; want about a third", total, ysbTestShape.events)
	}
}

// The generated records hold exactly the generator's events, in order,
// including where records share payload arrays.
func TestYSBGenerateArrow(t *testing.T) {
	mem := checked(t, offHeap{})
	s := ysbTestShape
	recs := s.generateArrow(mem)
	defer func() {
		for _, r := range recs {
			r.Release()
		}
	}()
	if len(recs) != 11 || recs[10].NumRows() != 5_000 {
		t.Fatalf("%d records, the last of %d rows; want 11, the last of 5000", len(recs), recs[len(recs)-1].NumRows())
	}
	i := int64(0)
	for _, rec := range recs {
		if !rec.Schema().Equal(ysbSchema) {
			t.Fatalf("record schema %v, want %v", rec.Schema(), ysbSchema)
		}
		users := rec.Column(0).(*array.Int64)
		pages := rec.Column(1).(*array.Int64)
		ads := rec.Column(2).(*array.Int64)
		adTypes := rec.Column(3).(*array.String)
		evTypes := rec.Column(4).(*array.String)
		times := rec.Column(5).(*array.Timestamp)
		ips := rec.Column(6).(*array.Uint32)
		for r := 0; r < int(rec.NumRows()); r++ {
			e := s.event(i)
			got := ysbEvent{users.Value(r), pages.Value(r), ads.Value(r), adTypes.Value(r), evTypes.Value(r), int64(times.Value(r)), ips.Value(r)}
			if got != e {
				t.Fatalf("event %d is %+v, want %+v", i, got, e)
			}
			i++
		}
	}
	if i != s.events {
		t.Fatalf("records hold %d events, want %d", i, s.events)
	}
}

// Every JSON value parses with encoding/json into the event it was made
// from, and is about 240 bytes.
func TestYSBGenerateJSON(t *testing.T) {
	mem := checked(t, offHeap{})
	s := ysbShape{events: 3_000, batch: 1_000, perSecond: 1_000, period: 2_000, seed: 5}
	recs, total := s.generateJSON(mem)
	defer func() {
		for _, r := range recs {
			r.Release()
		}
	}()
	if avg := total / s.events; avg < 225 || avg > 260 {
		t.Fatalf("JSON values average %d bytes; want about 240", avg)
	}
	i := int64(0)
	for _, rec := range recs {
		vals := rec.Column(0).(*array.Binary)
		for r := 0; r < vals.Len(); r++ {
			var v struct {
				UserID    string `json:"user_id"`
				PageID    string `json:"page_id"`
				AdID      int64  `json:"ad_id"`
				AdType    string `json:"ad_type"`
				EventType string `json:"event_type"`
				EventTime string `json:"event_time"`
				IP        string `json:"ip_address"`
			}
			if err := json.Unmarshal(vals.Value(r), &v); err != nil {
				t.Fatalf("event %d: %q: %v", i, vals.Value(r), err)
			}
			e := s.event(i)
			ts, err := time.Parse(time.RFC3339Nano, v.EventTime)
			if err != nil {
				t.Fatalf("event %d: event_time %q: %v", i, v.EventTime, err)
			}
			ip := fmt.Sprintf("%d.%d.%d.%d", e.ip>>24, e.ip>>16&0xff, e.ip>>8&0xff, e.ip&0xff)
			if v.AdID != e.adID || v.AdType != e.adType || v.EventType != e.eventType || ts.UnixMilli() != e.timeMs || v.IP != ip ||
				len(v.UserID) != 36 || len(v.PageID) != 36 || v.UserID[14] != '4' || v.UserID == v.PageID {
				t.Fatalf("event %d: JSON %s does not match %+v", i, vals.Value(r), e)
			}
			i++
		}
	}
	if i != s.events {
		t.Fatalf("%d JSON values, want %d", i, s.events)
	}
}

// The engine's YSB query over Arrow records and over JSON values counts
// exactly what the map computation counts; the loop baselines agree.
func TestYSBEngineMatchesMap(t *testing.T) {
	want := ysbExpected(ysbTestShape)
	for _, isJSON := range []bool{false, true} {
		t.Run(fmt.Sprintf("json=%v", isJSON), func(t *testing.T) {
			dataMem := checked(t, offHeap{})
			queryMem := checked(t, memory.NewGoAllocator())
			var recs []arrow.RecordBatch
			if isJSON {
				recs, _ = ysbTestShape.generateJSON(dataMem)
			} else {
				recs = ysbTestShape.generateArrow(dataMem)
			}
			defer func() {
				for _, r := range recs {
					r.Release()
				}
			}()
			ads := ysbAdTable(queryMem)
			defer ads.Release()
			run, err := runYSBEngine(context.Background(), recs, ads, ysbEngineOpts{mem: queryMem, ckpt: objstore.NewMemory(), json: isJSON})
			if err != nil {
				t.Fatal(err)
			}
			if run.batches != 11 || run.inRows != ysbTestShape.events || run.late != 0 {
				t.Fatalf("engine ran %d batches of %d events, %d late; want 11 of %d, none late", run.batches, run.inRows, run.late, ysbTestShape.events)
			}
			if !maps.Equal(run.counts, want) {
				t.Fatalf("engine counted %d views in %d groups, the map %d in %d; first difference: %s",
					ysbTotal(run.counts), len(run.counts), ysbTotal(want), len(want), firstDiff(run.counts, want))
			}
			var loop map[ysbKey]int64
			if isJSON {
				if loop, err = ysbJSONLoop(recs, ads, queryMem); err != nil {
					t.Fatal(err)
				}
			} else {
				loop = ysbLoop(recs, ads)
			}
			if !maps.Equal(loop, want) {
				t.Fatalf("loop: %s", firstDiff(loop, want))
			}
		})
	}
}

// firstDiff names a group where got and want differ.
func firstDiff(got, want map[ysbKey]int64) string {
	for _, r := range ysbRows(want) {
		if g := got[ysbKey{r.windowMs, r.campaign}]; g != r.count {
			return fmt.Sprintf("window %d campaign %d: %d, want %d", r.windowMs, r.campaign, g, r.count)
		}
	}
	for k, g := range got {
		if _, ok := want[k]; !ok {
			return fmt.Sprintf("window %d campaign %d: %d, want no row", k.windowMs, k.campaign, g)
		}
	}
	return "none"
}

// ysbMeasure fills a Result whose checksum is the map computation's, the
// same for ysb and ysb-json, with positive rates and the extras.
func TestYSBMeasure(t *testing.T) {
	want := ysbChecksum(ysbExpected(ysbTestShape))
	var logs []string
	cfg := Config{Dir: t.TempDir(), Logf: func(f string, a ...any) { logs = append(logs, fmt.Sprintf(f, a...)) }}
	for _, name := range []string{"ysb", "ysb-json"} {
		dataMem := checked(t, offHeap{})
		queryMem := checked(t, memory.NewGoAllocator())
		r, err := ysbMeasure(context.Background(), cfg, name, ysbTestShape, dataMem, queryMem)
		if err != nil {
			t.Fatal(err)
		}
		if r.Workload != name || r.Events != ysbTestShape.events || r.Checksum != want {
			t.Fatalf("%s: result %+v; want events %d and checksum %s", name, r, ysbTestShape.events, want)
		}
		if r.WallS <= 0 || r.EventsPerS <= 0 || r.BaselineEventsPerS <= 0 || r.PeakRSSBytes <= 0 {
			t.Fatalf("%s: timing not filled: %+v", name, r)
		}
		if r.Extra["batches"] != 11 || r.Extra["result_rows"] != 3*ysbCampaigns || r.Extra["ratio"] <= 0 {
			t.Fatalf("%s: extras %v", name, r.Extra)
		}
		if _, ok := r.Extra["json_bytes_per_event"]; ok != (name == "ysb-json") {
			t.Fatalf("%s: extras %v: json_bytes_per_event only for ysb-json", name, r.Extra)
		}
		if r.Extra["dir_checkpoint_events_per_s"] <= 0 {
			t.Fatalf("%s: extras %v: with a scratch folder, the folder-checkpoint run is reported", name, r.Extra)
		}
	}
	if len(logs) != 8 || !strings.HasPrefix(logs[0], "ysb: generated 205000 events in 11 records") {
		t.Fatalf("progress lines %q", logs)
	}
}

// Both workloads are registered with their defaults; a bad shape is
// refused with a message naming what is wrong.
func TestYSBRegisteredAndValidated(t *testing.T) {
	for name, events := range map[string]int64{"ysb": 20_000_000, "ysb-json": 4_000_000} {
		w, ok := Lookup(name)
		if !ok || w.DefaultEvents != events || w.Run == nil || w.Description == "" {
			t.Fatalf("workload %s: %+v, %v; want registered with %d default events", name, w, ok, events)
		}
	}
	bad := ysbTestShape
	bad.period = 50_000
	_, err := ysbMeasure(context.Background(), Config{}, "ysb", bad, memory.NewGoAllocator(), memory.NewGoAllocator())
	if err == nil || !strings.Contains(err.Error(), "payload period 50000 is not a positive multiple of the batch size 20000") {
		t.Fatalf("bad period: %v", err)
	}
	_, err = runYSB(context.Background(), Config{Events: -1})
	if err == nil || !strings.Contains(err.Error(), "-1 events") {
		t.Fatalf("negative events: %v", err)
	}
}

// offHeap's buffers are zeroed, keep their bytes when they grow, and are
// all returned.
func TestOffHeap(t *testing.T) {
	mem := checked(t, offHeap{})
	b := mem.Allocate(100)
	for i, c := range b {
		if c != 0 {
			t.Fatalf("byte %d of a new buffer is %d, want 0", i, c)
		}
		b[i] = byte(i)
	}
	b = mem.Reallocate(10_000, b)
	if len(b) != 10_000 || b[99] != 99 || b[100] != 0 {
		t.Fatalf("grown buffer: len %d, b[99]=%d b[100]=%d", len(b), b[99], b[100])
	}
	b = mem.Reallocate(50, b)
	if len(b) != 50 || b[49] != 49 {
		t.Fatalf("shrunk buffer: len %d, b[49]=%d", len(b), b[49])
	}
	mem.Free(b)
	mem.Free(mem.Allocate(0))
}

// The input size counts each buffer once: records that share payload
// arrays add only their own event_time column.
func TestYSBInputBytes(t *testing.T) {
	mem := checked(t, memory.NewGoAllocator())
	s := ysbShape{events: 4_000, batch: 1_000, perSecond: 1_000, period: 2_000, seed: 1}
	recs := s.generateArrow(mem)
	defer func() {
		for _, r := range recs {
			r.Release()
		}
	}()
	one := ysbInputBytes(recs[:1])
	two := ysbInputBytes(recs[:2])
	all := ysbInputBytes(recs)
	var times int64 // the buffers of the last two records' event_time
	for _, r := range recs[2:] {
		for _, b := range r.Column(5).Data().Buffers() {
			if b != nil {
				times += int64(b.Len())
			}
		}
	}
	if one < 1_000*(8+8+8+4+8) || two < 2*one*99/100 || times < 2*1_000*8 || all != two+times {
		t.Fatalf("input bytes: one record %d, two %d, four %d; want four = two + the last two event_time columns (%d)", one, two, all, times)
	}
}
