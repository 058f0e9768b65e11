package benchsuite

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/internal/testservices"
	"github.com/sluicehq/sluice/objstore"
	s3store "github.com/sluicehq/sluice/objstore/s3"
	"github.com/sluicehq/sluice/sink/parquet"
)

// finitePositive fails unless Extra[key] is a positive, finite number.
func finitePositive(t *testing.T, r Result, key string) float64 {
	t.Helper()
	v, ok := r.Extra[key]
	if !ok {
		t.Fatalf("%s: Extra has no %q (it has %v)", r.Workload, key, r.Extra)
	}
	if !(v > 0) || math.IsInf(v, 0) {
		t.Fatalf("%s: Extra[%q] = %v, want a positive finite number", r.Workload, key, v)
	}
	return v
}

func TestLatencyKafkaCountsEveryEventOnce(t *testing.T) {
	brokers := testservices.Kafka(t)
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	const n = 6_000 // 0.6 s of events per trigger interval
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, phases, err := runLatencyKafka(ctx, Config{Events: n, Dir: t.TempDir(), Logf: t.Logf},
		latencyOptions{brokers: brokers, mem: mem})
	if err != nil {
		t.Fatal(err)
	}
	if len(phases) != 2 || phases[0].Trigger != 0 || phases[1].Trigger != 100*time.Millisecond {
		t.Fatalf("ran %d phases, want trigger 0 then 100ms", len(phases))
	}
	h := sha256.New()
	for _, ph := range phases {
		// Independently of the workload's own check: every event is in
		// exactly one window, and each window is where its events belong.
		var counted, seqSum int64
		starts := map[string]bool{}
		for _, w := range ph.Windows {
			counted += w.Count
			seqSum += w.SeqSum
			if starts[w.Start] {
				t.Errorf("trigger %v: window %s read twice", ph.Trigger, w.Start)
			}
			starts[w.Start] = true
			start, err := time.Parse(time.RFC3339Nano, w.Start)
			if err != nil {
				t.Fatalf("trigger %v: window start %q: %v", ph.Trigger, w.Start, err)
			}
			if start.Nanosecond() != 0 {
				t.Errorf("trigger %v: window start %s is not on a whole second", ph.Trigger, w.Start)
			}
			if maxTS := time.UnixMicro(w.MaxTS); maxTS.Before(start) || !maxTS.Before(start.Add(time.Second)) {
				t.Errorf("trigger %v: window %s holds an event produced at %s, outside it", ph.Trigger, w.Start, maxTS.UTC())
			}
			if w.Count <= 0 || w.Count > latencyRate*11/10 {
				t.Errorf("trigger %v: window %s counts %d events; at %d/s a second holds about %d", ph.Trigger, w.Start, w.Count, latencyRate, latencyRate)
			}
			if l := w.LatencyMs(); !(l > 0) || l > 30_000 {
				t.Errorf("trigger %v: window %s latency %v ms", ph.Trigger, w.Start, l)
			}
		}
		if counted != n || seqSum != n*(n-1)/2 {
			t.Errorf("trigger %v: windows count %d events with sequence sum %d, want %d and %d", ph.Trigger, counted, seqSum, n, n*(n-1)/2)
		}
		if len(ph.Windows) < 1 || len(ph.Windows) > 3 {
			t.Errorf("trigger %v: %d windows for 0.6 s of events, want 1 to 3", ph.Trigger, len(ph.Windows))
		}
		fmt.Fprintf(h, "trigger=%s events=%d counted=%d seqsum=%d\n", ph.Trigger, int64(n), int64(n), int64(n*(n-1)/2))
	}
	if res.Workload != "latency-kafka" || res.Events != 2*n {
		t.Errorf("result names %q with %d events, want latency-kafka with %d", res.Workload, res.Events, 2*n)
	}
	if want := hex.EncodeToString(h.Sum(nil))[:16]; res.Checksum != want {
		t.Errorf("checksum %s, want %s", res.Checksum, want)
	}
	for i, suffix := range []string{"", "_trigger100ms"} {
		if got := res.Extra["windows"+suffix] + res.Extra["windows_excluded"+suffix]; got != float64(len(phases[i].Windows)) || res.Extra["windows"+suffix] < 1 {
			t.Errorf("Extra says %v windows measured and %v left out, the run read %d", res.Extra["windows"+suffix], res.Extra["windows_excluded"+suffix], len(phases[i].Windows))
		}
		p50 := finitePositive(t, res, "p50_ms"+suffix)
		p99 := finitePositive(t, res, "p99_ms"+suffix)
		if p99 < p50 {
			t.Errorf("p99_ms%s = %v below p50_ms%s = %v", suffix, p99, suffix, p50)
		}
	}
	if res.WallS <= 0.5 || res.EventsPerS <= 0 {
		t.Errorf("wall %v s, %v events/s: the run was not timed", res.WallS, res.EventsPerS)
	}
	mem.AssertSize(t, 0)
}

func TestParquetS3WritesEveryEventOnce(t *testing.T) {
	brokers := testservices.Kafka(t)
	ep := testservices.MinIO(t)
	bucket := testservices.NewBucket(t, ep)
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	// 1.2 s of events: production starts just after a trigger's batch
	// (the run waits for the query's first batch), so events longer than
	// one 1 s interval always span two batches.
	const n = 12_000
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, run, err := runParquetS3(ctx, Config{Events: n, Logf: t.Logf}, parquetOptions{
		brokers: brokers, mem: mem, keep: true, bucket: bucket,
		s3: s3Endpoint{Endpoint: ep.Endpoint, AccessKey: ep.AccessKey, SecretKey: ep.SecretKey, Region: ep.Region, Secure: ep.Secure},
	})
	if err != nil {
		t.Fatal(err)
	}

	// Read the committed output independently and check every event is
	// there once, with the sequence-ordered checksum.
	store, err := s3store.Open(ctx, "s3://"+bucket+"/"+run.Prefix, s3store.WithEndpoint(ep.Endpoint),
		s3store.WithCredentials(ep.AccessKey, ep.SecretKey, ""), s3store.WithRegion(ep.Region), s3store.WithSecure(ep.Secure))
	if err != nil {
		t.Fatal(err)
	}
	recs, err := parquet.ReadCommitted(ctx, objstore.Prefixed(store, "out"), mem)
	if err != nil {
		t.Fatal(err)
	}
	seen := make([]int, n)
	for _, r := range recs {
		seqs := r.Column(r.Schema().FieldIndices("seq")[0]).(*array.Int64)
		for i := 0; i < seqs.Len(); i++ {
			s := seqs.Value(i)
			if s < 0 || s >= n {
				t.Fatalf("output holds event %d, produced were 0..%d", s, n-1)
			}
			seen[s]++
		}
		r.Release()
	}
	var missing, twice []int
	for s, c := range seen {
		if c == 0 {
			missing = append(missing, s)
		} else if c > 1 {
			twice = append(twice, s)
		}
	}
	if len(missing)+len(twice) > 0 {
		t.Fatalf("%d events missing (%v...), %d written more than once (%v...)", len(missing), head(missing), len(twice), head(twice))
	}
	h := sha256.New()
	for s := int64(0); s < n; s++ {
		fmt.Fprintf(h, "%d,%s\n", s, eventUser(s))
	}
	if want := hex.EncodeToString(h.Sum(nil))[:16]; res.Checksum != want {
		t.Errorf("checksum %s, want %s", res.Checksum, want)
	}

	var rows int64
	for _, b := range run.Batches {
		rows += b.Rows
	}
	if rows != n || res.Events != n {
		t.Errorf("batches report %d rows and the result %d events, want %d", rows, res.Events, n)
	}
	if len(run.Batches) < 2 {
		t.Errorf("%d data batches for 1.2 s of events at a 1 s trigger, want at least 2", len(run.Batches))
	}
	for _, k := range []string{"commit_p50_ms", "commit_p99_ms", "e2e_p50_ms", "e2e_p99_ms", "rows_per_s", "processed_rows_per_s"} {
		finitePositive(t, res, k)
	}
	if res.Extra["commit_p99_ms"] < res.Extra["commit_p50_ms"] || res.Extra["e2e_p99_ms"] < res.Extra["e2e_p50_ms"] {
		t.Errorf("a p99 is below its p50: %v", res.Extra)
	}
	// At a 1 s trigger a row waits at most about a second for its batch.
	if e := res.Extra["e2e_p99_ms"]; e > 20_000 {
		t.Errorf("produce-to-commit p99 %v ms", e)
	}
	mem.AssertSize(t, 0)
}

func head(v []int) []int {
	if len(v) > 5 {
		return v[:5]
	}
	return v
}

func TestPercentileNearestRank(t *testing.T) {
	v := []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	for _, c := range []struct{ p, want float64 }{{50, 5}, {90, 9}, {99, 10}, {100, 10}, {1, 1}} {
		if got := percentile(v, c.p); got != c.want {
			t.Errorf("percentile(1..10, %v) = %v, want %v", c.p, got, c.want)
		}
	}
	if !math.IsNaN(percentile(nil, 50)) {
		t.Error("percentile of no values is not NaN")
	}
}

func TestMeasuredLatenciesLeaveOutAnEarlyEndedLastWindow(t *testing.T) {
	base := time.Date(2026, 1, 1, 0, 0, 10, 0, time.UTC)
	win := func(sec int, newest time.Duration, readAfter time.Duration) windowResult {
		start := base.Add(time.Duration(sec) * time.Second)
		maxTS := start.Add(newest)
		return windowResult{Start: start.Format(time.RFC3339Nano), start: start, Count: 1, MaxTS: maxTS.UnixMicro(), Read: maxTS.Add(readAfter)}
	}
	full := time.Second - 100*time.Microsecond
	// The last window (by start, not by order read) ended early: left out.
	ws := []windowResult{win(0, full, 30*time.Millisecond), win(2, 400*time.Millisecond, 600*time.Millisecond), win(1, full, 20*time.Millisecond)}
	lat, excluded := measuredLatencies(ws)
	if excluded != 1 || len(lat) != 2 || lat[0] != 20 || lat[1] != 30 {
		t.Errorf("latencies %v, %d left out; want [20 30] and 1", lat, excluded)
	}
	// A last window whose newest event is at its end is measured.
	ws[1] = win(2, full, 25*time.Millisecond)
	if lat, excluded = measuredLatencies(ws); excluded != 0 || len(lat) != 3 || lat[1] != 25 {
		t.Errorf("latencies %v, %d left out; want [20 25 30] and 0", lat, excluded)
	}
	// A single window is always measured.
	if lat, excluded = measuredLatencies([]windowResult{win(0, 300*time.Millisecond, time.Second)}); excluded != 0 || len(lat) != 1 || lat[0] != 1000 {
		t.Errorf("latencies %v, %d left out; want [1000] and 0", lat, excluded)
	}
}

func TestEndpointsFromEnvironment(t *testing.T) {
	t.Setenv("SLUICE_KAFKA_BROKERS", " a:1, b:2 ,")
	brokers, err := kafkaBrokersFromEnv()
	if err != nil || strings.Join(brokers, ";") != "a:1;b:2" {
		t.Errorf("brokers %q, %v; want a:1 and b:2", brokers, err)
	}
	t.Setenv("SLUICE_S3_ENDPOINT", "127.0.0.1:9000")
	t.Setenv("SLUICE_S3_ACCESS_KEY", "ak")
	t.Setenv("SLUICE_S3_SECRET_KEY", "sk")
	t.Setenv("SLUICE_S3_REGION", "")
	t.Setenv("AWS_REGION", "")
	t.Setenv("SLUICE_BENCH_BUCKET", "b1")
	ep, bucket, err := s3FromEnv()
	if err != nil {
		t.Fatal(err)
	}
	if ep.Endpoint != "127.0.0.1:9000" || ep.Secure || ep.AccessKey != "ak" || ep.SecretKey != "sk" || bucket != "b1" {
		t.Errorf("endpoint %+v bucket %q", ep, bucket)
	}
	if ep.Region == "" {
		t.Error("no region")
	}
	t.Setenv("SLUICE_S3_ENDPOINT", "https://s3.example.com/")
	if ep, _, _ = s3FromEnv(); ep.Endpoint != "s3.example.com" || !ep.Secure {
		t.Errorf("https endpoint read as %+v", ep)
	}
}

func TestLatencyWorkloadsAreRegistered(t *testing.T) {
	names := Names()
	for _, want := range []string{"latency-kafka", "parquet-s3"} {
		i := sort.SearchStrings(names, want)
		if i == len(names) || names[i] != want {
			t.Errorf("workload %s is not registered (have %v)", want, names)
			continue
		}
		w, _ := Lookup(want)
		if w.DefaultEvents != 200_000 || w.Run == nil {
			t.Errorf("%s: default events %d, run %v", want, w.DefaultEvents, w.Run != nil)
		}
	}
}
