package benchsuite

// The end-to-end latency workloads. Both are fed by a producer that writes
// JSON events at a fixed rate (10,000 per second) into a new one-partition
// topic of a real Kafka-protocol broker while the query runs, so they
// measure the time an event takes through the engine, not how fast a
// backlog drains. An event carries its sequence number and its produce
// time: the wall clock read just before the event is handed to the Kafka
// client, so producer batching and the broker's append count as latency.
//
// latency-kafka: Kafka -> from_json -> watermark (delay 0) -> 1 s tumbling
// event-time window count (event time = produce time) -> to_json -> Kafka
// sink exactly once; a read_committed consumer in the same process (so on
// the same clock) reads the results. Each result row carries max(ts), the
// produce time of the newest event it counts; its latency is the moment
// the consumer received the row minus that time. It therefore includes
// the wait for an event at or past the window's end (0.1 ms at this rate),
// the batch that moves the watermark past the end and emits the window
// (an aggregation evicts with the watermark its batch's rows give the next
// batch), the Kafka transaction, and the consumer's fetch. One
// partition keeps events in produce order, so a zero watermark delay drops
// nothing (a late event would fail the count check). The run is repeated
// for each trigger interval (0 and 100ms), each with Config.Events events;
// p50/p99 are nearest-rank percentiles over the windows of one run (about
// 20 with the defaults, so p99 is the slowest window). The schedule starts
// so that the last counted event is due just before a whole second; if the
// producer falls behind and the last window's newest event is more than
// 10 ms before its end, that window is left out of the percentiles (its
// count can only appear once the clock reaches its end, which measures the
// clock, not the engine) and counted in windows_excluded.
//
// Extra keys of latency-kafka: p50_ms, p99_ms, max_ms, windows (measured),
// windows_excluded, batches, batch_p50_ms and batch_p99_ms
// (durationMs.triggerExecution) for trigger 0, and the same keys with the
// suffix _trigger100ms for 100ms. Result.Events counts both runs.
//
// parquet-s3: Kafka -> from_json -> Parquet on S3 with a 1 s ProcessingTime
// trigger, checkpoint on S3 too. Extra: rows_per_s (rows committed per
// second of the run), processed_rows_per_s (rows per second of batch
// execution time), commit_p50_ms and commit_p99_ms (durationMs.
// triggerExecution of the batches that read rows: planning, reading,
// Parquet files, sink log and checkpoint commit), addbatch_p50_ms and
// addbatch_p99_ms (the Parquet files and sink log alone), e2e_p50_ms and
// e2e_p99_ms (per row: the moment the driver reported its batch committed
// minus its produce time).
//
// Both check their output: latency-kafka that the windows count every
// event once (count and sum of sequence numbers) and no window twice;
// parquet-s3, reading the output back through the sink log, that every
// event is there once with the attributes produced. The checksum is over
// those checked facts, so it depends on Events only.
//
// Endpoints come from the environment, with the names scripts/services.sh
// writes to .services/env:
//
//	SLUICE_KAFKA_BROKERS   host:port,host:port (or KAFKA_BROKERS)
//	SLUICE_S3_ENDPOINT     host:port, http:// or https:// URL (or AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL)
//	SLUICE_S3_ACCESS_KEY   (or AWS_ACCESS_KEY_ID)
//	SLUICE_S3_SECRET_KEY   (or AWS_SECRET_ACCESS_KEY)
//	SLUICE_S3_REGION       (or AWS_REGION; default us-east-1)
//	SLUICE_BENCH_BUCKET    bucket for parquet-s3 (default sluice-bench, created if missing)
//
// A variable that is not set is looked up in the services file: the file
// env in SLUICE_SERVICES_DIR, or .services/env in the working directory or
// the nearest parent that has one. A bare host:port in SLUICE_S3_ENDPOINT
// is plain HTTP, as services.sh means it; in the AWS_ variables it is
// HTTPS, as the AWS tools read it. Topics and S3 objects a run creates are
// deleted at its end; the checkpoint of latency-kafka is a folder under
// Config.Dir (a temporary folder when empty), removed at the end.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/IBM/sarama"
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/sluicehq/sluice/dataframe"
	"github.com/sluicehq/sluice/engine"
	"github.com/sluicehq/sluice/expr"
	"github.com/sluicehq/sluice/objstore"
	s3store "github.com/sluicehq/sluice/objstore/s3"
	kafkasink "github.com/sluicehq/sluice/sink/kafka"
	"github.com/sluicehq/sluice/sink/parquet"
	kafkasrc "github.com/sluicehq/sluice/source/kafka"
	"github.com/sluicehq/sluice/trigger"
)

func init() {
	Register(Workload{
		Name: "latency-kafka",
		Description: "Kafka -> from_json -> 1 s tumbling count (watermark delay 0) -> Kafka exactly once -> read_committed consumer, " +
			"fed at 10k events/s; latency p50/p99 from the produce time of a window's newest event to the moment its count " +
			"is read, once with trigger 0 (p50_ms, p99_ms) and once with trigger 100ms (p50_ms_trigger100ms, p99_ms_trigger100ms); " +
			"events counts both runs. Brokers: SLUICE_KAFKA_BROKERS or KAFKA_BROKERS",
		DefaultEvents: latencyDefaultEvents,
		Run: func(ctx context.Context, cfg Config) (Result, error) {
			brokers, err := kafkaBrokersFromEnv()
			if err != nil {
				return Result{}, err
			}
			r, _, err := runLatencyKafka(ctx, cfg, latencyOptions{brokers: brokers})
			return r, err
		},
	})
	Register(Workload{
		Name: "parquet-s3",
		Description: "Kafka -> from_json -> Parquet on S3 (checkpoint there too) with a 1 s ProcessingTime trigger, fed at " +
			"10k events/s: rows/s, batch commit latency p50/p99 (triggerExecution) and produce-to-commit p50/p99 per row. " +
			"Brokers: SLUICE_KAFKA_BROKERS; storage: SLUICE_S3_ENDPOINT, SLUICE_S3_ACCESS_KEY, SLUICE_S3_SECRET_KEY, SLUICE_BENCH_BUCKET",
		DefaultEvents: latencyDefaultEvents,
		Run: func(ctx context.Context, cfg Config) (Result, error) {
			brokers, err := kafkaBrokersFromEnv()
			if err != nil {
				return Result{}, err
			}
			ep, bucket, err := s3FromEnv()
			if err != nil {
				return Result{}, err
			}
			r, _, err := runParquetS3(ctx, cfg, parquetOptions{brokers: brokers, s3: ep, bucket: bucket})
			return r, err
		},
	})
}

// latencyRate is the producer's rate, events per second.
const latencyRate = 10_000

// latencyDefaultEvents is both workloads' default event count: 20 s of
// events at latencyRate.
const latencyDefaultEvents = 200_000

// latencyTriggers are the trigger intervals latency-kafka runs with.
var latencyTriggers = []time.Duration{0, 100 * time.Millisecond}

// quietLogger discards the engine's and the source's logs, which would
// otherwise interleave with the benchmark's output.
var quietLogger = slog.New(slog.NewTextHandler(io.Discard, nil))

// ---- endpoints ---------------------------------------------------------

// s3Endpoint says how to reach an S3-compatible server.
type s3Endpoint struct {
	Endpoint  string // host:port, no scheme
	AccessKey string
	SecretKey string
	Region    string
	Secure    bool
}

// lookupEnv returns the first of names set in the environment, else the
// first set in the services file, else "".
func lookupEnv(names ...string) string {
	for _, n := range names {
		if v := strings.TrimSpace(os.Getenv(n)); v != "" {
			return v
		}
	}
	file := servicesEnv()
	for _, n := range names {
		if v := file[n]; v != "" {
			return v
		}
	}
	return ""
}

var (
	servicesOnce sync.Once
	servicesVars map[string]string
)

// servicesEnv reads the KEY=VALUE lines of the services file (see the top
// of this file), once; a missing or unreadable file gives no variables.
func servicesEnv() map[string]string {
	servicesOnce.Do(func() {
		servicesVars = map[string]string{}
		path := ""
		if d := os.Getenv("SLUICE_SERVICES_DIR"); d != "" {
			path = filepath.Join(d, "env")
		} else if wd, err := os.Getwd(); err == nil {
			for dir := wd; ; dir = filepath.Dir(dir) {
				if p := filepath.Join(dir, ".services", "env"); fileExists(p) {
					path = p
					break
				}
				if filepath.Dir(dir) == dir {
					break
				}
			}
		}
		if path == "" {
			return
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return
		}
		sc := bufio.NewScanner(bytes.NewReader(data))
		for sc.Scan() {
			line := strings.TrimPrefix(strings.TrimSpace(sc.Text()), "export ")
			k, v, ok := strings.Cut(line, "=")
			if !ok || strings.HasPrefix(k, "#") {
				continue
			}
			v = strings.TrimSpace(v)
			if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
				v = v[1 : len(v)-1]
			}
			servicesVars[strings.TrimSpace(k)] = v
		}
	})
	return servicesVars
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}

// kafkaBrokersFromEnv returns the brokers named by SLUICE_KAFKA_BROKERS or
// KAFKA_BROKERS.
func kafkaBrokersFromEnv() ([]string, error) {
	var brokers []string
	for _, b := range strings.Split(lookupEnv("SLUICE_KAFKA_BROKERS", "KAFKA_BROKERS"), ",") {
		if b = strings.TrimSpace(b); b != "" {
			brokers = append(brokers, b)
		}
	}
	if len(brokers) == 0 {
		return nil, errors.New("benchsuite: no Kafka brokers: set SLUICE_KAFKA_BROKERS (or KAFKA_BROKERS) to host:port,...; " +
			"scripts/services.sh up starts local ones and writes them to .services/env")
	}
	return brokers, nil
}

// s3FromEnv returns the S3 endpoint and the bucket parquet-s3 writes to.
func s3FromEnv() (s3Endpoint, string, error) {
	var ep s3Endpoint
	raw, bareIsTLS := lookupEnv("SLUICE_S3_ENDPOINT"), false
	if raw == "" {
		raw, bareIsTLS = lookupEnv("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"), true
	}
	if raw == "" {
		return ep, "", errors.New("benchsuite: no S3 endpoint: set SLUICE_S3_ENDPOINT (or AWS_ENDPOINT_URL) to host:port or a URL; " +
			"scripts/services.sh up starts a local MinIO and writes its endpoint to .services/env")
	}
	switch {
	case strings.HasPrefix(raw, "https://"):
		ep.Endpoint, ep.Secure = strings.TrimPrefix(raw, "https://"), true
	case strings.HasPrefix(raw, "http://"):
		ep.Endpoint = strings.TrimPrefix(raw, "http://")
	default:
		ep.Endpoint, ep.Secure = raw, bareIsTLS
	}
	ep.Endpoint = strings.TrimSuffix(ep.Endpoint, "/")
	ep.AccessKey = lookupEnv("SLUICE_S3_ACCESS_KEY", "AWS_ACCESS_KEY_ID")
	ep.SecretKey = lookupEnv("SLUICE_S3_SECRET_KEY", "AWS_SECRET_ACCESS_KEY")
	if ep.AccessKey == "" || ep.SecretKey == "" {
		return ep, "", fmt.Errorf("benchsuite: no credentials for S3 endpoint %s: set SLUICE_S3_ACCESS_KEY and SLUICE_S3_SECRET_KEY "+
			"(or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)", ep.Endpoint)
	}
	ep.Region = lookupEnv("SLUICE_S3_REGION", "AWS_REGION")
	if ep.Region == "" {
		ep.Region = "us-east-1"
	}
	bucket := lookupEnv("SLUICE_BENCH_BUCKET")
	if bucket == "" {
		bucket = "sluice-bench"
	}
	return ep, bucket, nil
}

// ---- the producer ------------------------------------------------------

// latencySchema is the schema of the events' JSON: a sequence number (-1
// for tail events, see produceAtRate), the produce time in microseconds
// since the Unix epoch, and three attributes.
var latencySchema = arrow.NewSchema([]arrow.Field{
	{Name: "seq", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: "ts", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: "user", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "page", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "kind", Type: arrow.BinaryTypes.String, Nullable: true},
}, nil)

var eventKinds = [...]string{"view", "click", "purchase"}

// eventUser is the user attribute of event seq (tail events, seq -1,
// share event 0's attributes).
func eventUser(seq int64) string { return fmt.Sprintf("u%05d", max(seq, 0)%50_000) }

// appendEvent appends the JSON of event seq produced at tsMicros.
func appendEvent(b []byte, seq, tsMicros int64) []byte {
	u := max(seq, 0)
	return fmt.Appendf(b, `{"seq":%d,"ts":%d,"user":"%s","page":"p%03d","kind":"%s"}`,
		seq, tsMicros, eventUser(seq), u%997, eventKinds[u%3])
}

// newTopics creates topics with one partition each: one partition keeps
// the events in produce order, so a watermark delay of zero drops nothing.
func newTopics(brokers []string, names ...string) error {
	admin, err := sarama.NewClusterAdmin(brokers, sarama.NewConfig())
	if err != nil {
		return fmt.Errorf("benchsuite: Kafka admin client for %s: %w", strings.Join(brokers, ","), err)
	}
	defer admin.Close()
	for _, n := range names {
		if err := admin.CreateTopic(n, &sarama.TopicDetail{NumPartitions: 1, ReplicationFactor: 1}, false); err != nil {
			return fmt.Errorf("benchsuite: creating topic %s on %s: %w", n, strings.Join(brokers, ","), err)
		}
	}
	return nil
}

// deleteTopics removes the run's topics; failures are only reported.
func deleteTopics(brokers []string, logf func(string, ...any), names ...string) {
	admin, err := sarama.NewClusterAdmin(brokers, sarama.NewConfig())
	if err != nil {
		logf("benchsuite: could not delete topics %v: %v", names, err)
		return
	}
	defer admin.Close()
	for _, n := range names {
		if err := admin.DeleteTopic(n); err != nil {
			logf("benchsuite: could not delete topic %s: %v", n, err)
		}
	}
}

// produceAtRate writes n events, seq 0..n-1, to topic at rate events per
// second from start on (event i is due at start + i/rate), each carrying
// its produce time (the wall clock read just before it is handed to the
// producer). With tail set it then goes on at the
// same rate with tail events (seq -1) until stop is closed: they move
// event time on, so the window holding the last counted event closes as
// every other one does, and the query filters them out. It returns when
// done, when stop is closed, or on the first produce error.
func produceAtRate(ctx context.Context, brokers []string, topic string, start time.Time, n int64, rate int, tail bool, stop <-chan struct{}) error {
	cfg := sarama.NewConfig()
	cfg.Producer.RequiredAcks = sarama.WaitForAll
	cfg.Producer.Idempotent = true
	cfg.Net.MaxOpenRequests = 1
	cfg.Producer.Return.Errors = true
	cfg.Producer.Return.Successes = false
	cfg.Version = sarama.V2_8_0_0
	p, err := sarama.NewAsyncProducer(brokers, cfg)
	if err != nil {
		return fmt.Errorf("benchsuite: producer for %s: %w", strings.Join(brokers, ","), err)
	}
	var prodErr error
	errDone := make(chan struct{})
	go func() {
		defer close(errDone)
		for e := range p.Errors() {
			if prodErr == nil {
				prodErr = fmt.Errorf("benchsuite: producing to %s: %w", topic, e.Err)
			}
		}
	}()
	interval := time.Second / time.Duration(rate)
	timer := time.NewTimer(0)
	<-timer.C
loop:
	for i := int64(0); tail || i < n; i++ {
		if d := time.Until(start.Add(time.Duration(i) * interval)); d > 0 {
			timer.Reset(d)
			select {
			case <-timer.C:
			case <-stop:
				timer.Stop()
				break loop
			case <-ctx.Done():
				timer.Stop()
				break loop
			}
		}
		select {
		case <-stop:
			break loop
		default:
		}
		seq := i
		if i >= n {
			seq = -1
		}
		msg := &sarama.ProducerMessage{Topic: topic, Value: sarama.ByteEncoder(appendEvent(nil, seq, time.Now().UnixMicro()))}
		select {
		case p.Input() <- msg:
		case <-ctx.Done():
			break loop
		}
	}
	p.AsyncClose()
	<-errDone
	if prodErr != nil {
		return prodErr
	}
	return ctx.Err()
}

// producerRun is a produceAtRate running in its own goroutine.
type producerRun struct {
	done chan struct{}
	err  error // set before done is closed
}

// startProducer runs produceAtRate in a goroutine.
func startProducer(ctx context.Context, brokers []string, topic string, start time.Time, n int64, rate int, tail bool, stop <-chan struct{}) *producerRun {
	r := &producerRun{done: make(chan struct{})}
	go func() {
		defer close(r.done)
		r.err = produceAtRate(ctx, brokers, topic, start, n, rate, tail, stop)
	}()
	return r
}

// sleepUntil waits until t or until ctx ends.
func sleepUntil(ctx context.Context, t time.Time) error {
	timer := time.NewTimer(time.Until(t))
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// ---- statistics --------------------------------------------------------

// percentile returns the p-th percentile (0 < p <= 100) of sorted by the
// nearest-rank method: the smallest value with at least p% of the values
// at or below it. It is NaN for no values.
func percentile(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return math.NaN()
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	if rank < 1 {
		rank = 1
	}
	return sorted[rank-1]
}

func sortedCopy(v []float64) []float64 {
	out := append([]float64(nil), v...)
	sort.Float64s(out)
	return out
}

// ---- latency-kafka -----------------------------------------------------

// latencyOptions configures runLatencyKafka beyond Config.
type latencyOptions struct {
	brokers  []string
	mem      memory.Allocator // default memory.DefaultAllocator
	rate     int              // events per second, default latencyRate
	triggers []time.Duration  // default latencyTriggers
}

// windowResult is one row read from the result topic.
type windowResult struct {
	Start  string `json:"start"` // the window's start, as to_json writes a timestamp
	Count  int64  `json:"count"`
	SeqSum int64  `json:"seq_sum"`
	MaxTS  int64  `json:"max_ts"` // produce time of the window's newest event, µs
	// Read is when the consumer received the row.
	Read  time.Time `json:"-"`
	start time.Time // Start parsed
}

// LatencyMs is the row's latency: the moment it was read minus the
// produce time of the newest event it counts.
func (w windowResult) LatencyMs() float64 {
	return float64(w.Read.UnixMicro()-w.MaxTS) / 1000
}

// latencyPhase is one run of the query with one trigger interval.
type latencyPhase struct {
	Trigger time.Duration
	Events  int64
	Windows []windowResult
	Timing  Timing
	Batches int64 // micro-batches run
	// BatchMs holds durationMs.triggerExecution of every batch run while
	// events were produced.
	BatchMs []float64
}

// runLatencyKafka runs the latency-kafka workload once per trigger
// interval, each time with cfg.Events events (the default when 0), and
// returns the result and the windows each run read.
func runLatencyKafka(ctx context.Context, cfg Config, opts latencyOptions) (Result, []latencyPhase, error) {
	n := cfg.Events
	if n <= 0 {
		n = latencyDefaultEvents
	}
	if opts.rate <= 0 {
		opts.rate = latencyRate
	}
	if opts.triggers == nil {
		opts.triggers = latencyTriggers
	}
	if opts.mem == nil {
		opts.mem = memory.DefaultAllocator
	}
	logf := cfg.Logf
	if logf == nil {
		logf = func(string, ...any) {}
	}
	dir := cfg.Dir
	if dir == "" {
		tmp, err := os.MkdirTemp("", "sluice-latency-kafka-")
		if err != nil {
			return Result{}, nil, fmt.Errorf("benchsuite: latency-kafka: scratch directory: %w", err)
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	}
	res := Result{Workload: "latency-kafka", Extra: map[string]float64{}}
	var phases []latencyPhase
	var total Timing
	h := sha256.New()
	for _, tr := range opts.triggers {
		ph, err := runLatencyPhase(ctx, dir, n, tr, opts, logf)
		if err != nil {
			return Result{}, phases, err
		}
		phases = append(phases, ph)
		total.Wall += ph.Timing.Wall
		total.CPU += ph.Timing.CPU
		total.PeakRSS = max(total.PeakRSS, ph.Timing.PeakRSS)

		lat, excluded := measuredLatencies(ph.Windows)
		var counted, seqSum int64
		for _, w := range ph.Windows {
			counted += w.Count
			seqSum += w.SeqSum
		}
		suffix := ""
		if tr > 0 {
			suffix = "_trigger" + tr.String()
		}
		res.Extra["p50_ms"+suffix] = percentile(lat, 50)
		res.Extra["p99_ms"+suffix] = percentile(lat, 99)
		res.Extra["max_ms"+suffix] = lat[len(lat)-1]
		res.Extra["windows"+suffix] = float64(len(lat))
		res.Extra["windows_excluded"+suffix] = float64(excluded)
		res.Extra["batches"+suffix] = float64(ph.Batches)
		batch := sortedCopy(ph.BatchMs)
		res.Extra["batch_p50_ms"+suffix] = percentile(batch, 50)
		res.Extra["batch_p99_ms"+suffix] = percentile(batch, 99)
		fmt.Fprintf(h, "trigger=%s events=%d counted=%d seqsum=%d\n", tr, n, counted, seqSum)
		logf("latency-kafka: trigger %v: %d events in %d windows (%d measured), %d batches (duration p50 %.0f ms, p99 %.0f ms): latency p50 %.1f ms, p99 %.1f ms, max %.1f ms",
			tr, n, len(ph.Windows), len(lat), ph.Batches, percentile(batch, 50), percentile(batch, 99), percentile(lat, 50), percentile(lat, 99), lat[len(lat)-1])
	}
	res.Fill(n*int64(len(opts.triggers)), total)
	res.Checksum = hex.EncodeToString(h.Sum(nil))[:16]
	return res, phases, nil
}

// runLatencyPhase produces n events at opts.rate into a new topic while
// the query runs with trigger interval tr, and reads the query's output
// until every event is counted.
func runLatencyPhase(ctx context.Context, dir string, n int64, tr time.Duration, opts latencyOptions, logf func(string, ...any)) (latencyPhase, error) {
	ph := latencyPhase{Trigger: tr, Events: n}
	tag := fmt.Sprintf("%d-%d", time.Now().UnixNano(), tr.Milliseconds())
	in, out := "sluice-bench-latency-in-"+tag, "sluice-bench-latency-out-"+tag
	if err := newTopics(opts.brokers, in, out); err != nil {
		return ph, err
	}
	defer deleteTopics(opts.brokers, logf, in, out)
	ckpt, err := objstore.NewDir(filepath.Join(dir, "latency-kafka-"+tag))
	if err != nil {
		return ph, fmt.Errorf("benchsuite: latency-kafka: checkpoint directory: %w", err)
	}
	defer os.RemoveAll(ckpt.Root())

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	results := make(chan windowResult, 1024)
	consumerErr := make(chan error, 1)
	consumerReady := make(chan struct{})
	go func() { consumerErr <- consumeResults(ctx, opts.brokers, out, results, consumerReady) }()
	select {
	case <-consumerReady:
	case err := <-consumerErr:
		return ph, err
	}

	var mu sync.Mutex
	measuring := false
	q, err := startLatencyQuery(ctx, opts, in, out, ckpt, tr, func(p engine.Progress) {
		mu.Lock()
		defer mu.Unlock()
		if measuring {
			ph.BatchMs = append(ph.BatchMs, float64(p.DurationMs["triggerExecution"]))
		}
	})
	if err != nil {
		return ph, err
	}
	stopQuery := func() error {
		sctx, scancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer scancel()
		return q.Stop(sctx)
	}
	// Let the query start (open the sink's producer, resolve offsets)
	// before the clock starts.
	if err := q.ProcessAllAvailable(ctx); err != nil {
		stopQuery()
		return ph, fmt.Errorf("benchsuite: latency-kafka: starting the query: %w", err)
	}
	firstBatch := q.LastBatchID()

	// Start the schedule so that the last counted event is due just
	// before a whole second: then the window holding it ends right after
	// it, as every full window does, instead of waiting for the clock to
	// reach its end with no counted event left to produce.
	interval := time.Second / time.Duration(opts.rate)
	start := time.Now().Add(time.Duration(n) * interval).Truncate(time.Second).Add(time.Second - time.Duration(n)*interval)
	if err := sleepUntil(ctx, start); err != nil {
		stopQuery()
		return ph, err
	}
	stop := make(chan struct{})
	var prod *producerRun
	var runErr error
	mu.Lock()
	measuring = true
	mu.Unlock()
	ph.Timing, runErr = Measure(func() error {
		prod = startProducer(ctx, opts.brokers, in, start, n, opts.rate, true, stop)
		deadline := time.NewTimer(time.Duration(n)*time.Second/time.Duration(opts.rate) + time.Minute)
		defer deadline.Stop()
		var counted int64
		seen := map[string]bool{}
		for counted < n {
			select {
			case w := <-results:
				if seen[w.Start] {
					return fmt.Errorf("benchsuite: latency-kafka: window %s was read twice: the exactly-once sink wrote it twice", w.Start)
				}
				seen[w.Start] = true
				ph.Windows = append(ph.Windows, w)
				counted += w.Count
			case <-prod.done:
				// With tail events the producer only stops early on an error.
				return fmt.Errorf("benchsuite: latency-kafka: the producer stopped after %d events were counted: %w", counted, prod.err)
			case err := <-consumerErr:
				return fmt.Errorf("benchsuite: latency-kafka: reading %s: %w", out, err)
			case <-q.Done():
				return fmt.Errorf("benchsuite: latency-kafka: the query stopped after counting %d of %d events: %v", counted, n, q.Err())
			case <-deadline.C:
				return fmt.Errorf("benchsuite: latency-kafka: after %v, %d of %d events were counted in %d windows: the query is stuck or too slow",
					time.Duration(n)*time.Second/time.Duration(opts.rate)+time.Minute, counted, n, len(ph.Windows))
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		return nil
	})
	close(stop)
	<-prod.done
	if err := prod.err; err != nil && runErr == nil {
		runErr = err
	}
	ph.Batches = q.LastBatchID() - firstBatch
	if err := stopQuery(); err != nil && runErr == nil {
		runErr = fmt.Errorf("benchsuite: latency-kafka: stopping the query: %w", err)
	}
	mu.Lock() // the query has stopped; this orders its last progress call before the reads below
	measuring = false
	mu.Unlock()
	cancel()
	if err := <-consumerErr; err != nil && runErr == nil && !errors.Is(err, context.Canceled) {
		runErr = err
	}
	if runErr != nil {
		return ph, runErr
	}
	return ph, checkWindows(ph.Windows, n)
}

// finalWindowSlack is how far before its end the newest event of the last
// window may have been produced for the window to be measured.
const finalWindowSlack = 10 * time.Millisecond

// measuredLatencies returns the latencies of ws, sorted, leaving out the
// last window (the latest start) when its newest event was produced more
// than finalWindowSlack before its end: the counted events stopped early
// in that window (the producer fell behind the schedule that makes them
// end with a window), so its count can only be emitted once the clock
// reaches the window's end, and its latency would measure that wait, not
// the engine. It also returns how many windows it left out (0 or 1).
func measuredLatencies(ws []windowResult) ([]float64, int) {
	last := -1
	for i, w := range ws {
		if last < 0 || w.start.After(ws[last].start) {
			last = i
		}
	}
	lat := make([]float64, 0, len(ws))
	excluded := 0
	for i, w := range ws {
		if i == last && len(ws) > 1 && time.UnixMicro(w.MaxTS).Before(w.start.Add(time.Second-finalWindowSlack)) {
			excluded++
			continue
		}
		lat = append(lat, w.LatencyMs())
	}
	sort.Float64s(lat)
	return lat, excluded
}

// checkWindows checks that windows count events 0..n-1 exactly once (by
// count and by sum of sequence numbers) and that every latency is
// positive and finite.
func checkWindows(ws []windowResult, n int64) error {
	var counted, seqSum int64
	for _, w := range ws {
		counted += w.Count
		seqSum += w.SeqSum
		if l := w.LatencyMs(); !(l > 0) || math.IsInf(l, 0) {
			return fmt.Errorf("benchsuite: latency-kafka: window %s has latency %v ms: the clocks of producer and consumer disagree", w.Start, l)
		}
	}
	if want := n * (n - 1) / 2; counted != n || seqSum != want {
		return fmt.Errorf("benchsuite: latency-kafka: the windows count %d events with sequence sum %d, want %d and %d: events were lost or counted twice",
			counted, seqSum, n, want)
	}
	return nil
}

// startLatencyQuery starts Kafka(in) -> from_json -> watermark 0 ->
// drop tail events -> 1 s tumbling count -> Kafka(out) exactly once.
// onProgress receives every batch's progress.
func startLatencyQuery(ctx context.Context, opts latencyOptions, in, out string, ckpt objstore.Store, tr time.Duration, onProgress func(engine.Progress)) (*engine.Query, error) {
	src, err := kafkasrc.New(ctx, kafkasrc.WithBrokers(opts.brokers...), kafkasrc.WithTopics(in), kafkasrc.WithLogger(quietLogger))
	if err != nil {
		return nil, fmt.Errorf("benchsuite: latency-kafka: source: %w", err)
	}
	snk, err := kafkasink.New(kafkasink.WithBrokers(opts.brokers...), kafkasink.WithTopic(out), kafkasink.WithGuarantee(kafkasink.ExactlyOnce))
	if err != nil {
		src.Close()
		return nil, fmt.Errorf("benchsuite: latency-kafka: sink: %w", err)
	}
	col, lit := dataframe.Col, dataframe.Lit
	q, err := dataframe.ReadStream(src).
		FromJSON("value", latencySchema, dataframe.WithParseMode("FAILFAST")).
		WithColumn("event_time", expr.Call("timestamp_micros", col("ts"))).
		WithWatermark("event_time", "0 seconds").
		Where(col("seq").Ge(lit(int64(0)))).
		GroupBy(dataframe.Window(col("event_time"), "1 second")).
		Agg(dataframe.Count().As("count"), dataframe.Sum(col("seq")).As("seq_sum"), dataframe.Max(col("ts")).As("max_ts")).
		Select(expr.ToJSON(expr.Call("named_struct",
			lit("start"), col("window").Field("start"),
			lit("count"), col("count"),
			lit("seq_sum"), col("seq_sum"),
			lit("max_ts"), col("max_ts"))).As("value")).
		WriteStream(snk).
		QueryName("latency-kafka").
		Trigger(trigger.ProcessingTime(tr)).
		CheckpointStore(ckpt).
		Allocator(opts.mem).
		Engine(engine.New(engine.WithLogger(quietLogger), engine.WithListener(engine.ListenerFuncs{Progress: onProgress}))).
		Start(ctx)
	if err != nil {
		src.Close()
		snk.Close()
		return nil, fmt.Errorf("benchsuite: latency-kafka: starting the query: %w", err)
	}
	return q, nil
}

// consumeResults reads topic (one partition) from its start with
// isolation read_committed and sends every row, stamped with the time it
// was received, to results until ctx ends. It closes ready once the
// consumer is fetching.
func consumeResults(ctx context.Context, brokers []string, topic string, results chan<- windowResult, ready chan<- struct{}) error {
	cfg := sarama.NewConfig()
	cfg.Version = sarama.V2_8_0_0
	cfg.Consumer.IsolationLevel = sarama.ReadCommitted
	cfg.Consumer.MaxWaitTime = 100 * time.Millisecond
	c, err := sarama.NewConsumer(brokers, cfg)
	if err != nil {
		return fmt.Errorf("benchsuite: consumer for %s: %w", strings.Join(brokers, ","), err)
	}
	defer c.Close()
	pc, err := c.ConsumePartition(topic, 0, sarama.OffsetOldest)
	if err != nil {
		return fmt.Errorf("benchsuite: consuming %s: %w", topic, err)
	}
	defer pc.Close()
	close(ready)
	for {
		select {
		case m := <-pc.Messages():
			read := time.Now()
			var w windowResult
			if err := json.Unmarshal(m.Value, &w); err != nil {
				return fmt.Errorf("benchsuite: result %q at offset %d of %s is not a window count: %w", m.Value, m.Offset, topic, err)
			}
			if w.start, err = time.Parse(time.RFC3339Nano, w.Start); err != nil {
				return fmt.Errorf("benchsuite: result %q at offset %d of %s: the window start is not an RFC 3339 time: %w", m.Value, m.Offset, topic, err)
			}
			w.Read = read
			select {
			case results <- w:
			case <-ctx.Done():
				return ctx.Err()
			}
		case e := <-pc.Errors():
			return fmt.Errorf("benchsuite: consuming %s: %w", topic, e.Err)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// ---- parquet-s3 --------------------------------------------------------

// parquetOptions configures runParquetS3 beyond Config.
type parquetOptions struct {
	brokers []string
	s3      s3Endpoint
	bucket  string
	mem     memory.Allocator // default memory.DefaultAllocator
	rate    int              // events per second, default latencyRate
	// keep leaves the run's objects (under the returned prefix) in the
	// bucket instead of deleting them.
	keep bool
}

// parquetRun is what runParquetS3 observed.
type parquetRun struct {
	Prefix  string // the run's folder in the bucket: Parquet under out/, checkpoint under ckpt/
	Batches []batchCommit
	Rows    int64
}

// batchCommit is one committed micro-batch that read rows.
type batchCommit struct {
	ID        int64
	Rows      int64
	EndOffset int64     // the next Kafka offset after the batch
	Committed time.Time // when the driver reported the batch committed
	TriggerMs int64     // durationMs.triggerExecution
	AddMs     int64     // durationMs.addBatch (Parquet files and sink log)
}

// runParquetS3 produces cfg.Events events at opts.rate into a new topic
// while Kafka -> from_json -> Parquet on S3 runs with a 1 s trigger, until
// every event is committed; then it reads the Parquet output back through
// the sink log and checks it holds each event once.
func runParquetS3(ctx context.Context, cfg Config, opts parquetOptions) (Result, parquetRun, error) {
	var run parquetRun
	n := cfg.Events
	if n <= 0 {
		n = latencyDefaultEvents
	}
	if opts.rate <= 0 {
		opts.rate = latencyRate
	}
	if opts.mem == nil {
		opts.mem = memory.DefaultAllocator
	}
	logf := cfg.Logf
	if logf == nil {
		logf = func(string, ...any) {}
	}
	if err := ensureBucket(ctx, opts.s3, opts.bucket); err != nil {
		return Result{}, run, err
	}
	tag := strconv.FormatInt(time.Now().UnixNano(), 10)
	run.Prefix = "parquet-s3-" + tag
	store, err := s3store.Open(ctx, "s3://"+opts.bucket+"/"+run.Prefix,
		s3store.WithEndpoint(opts.s3.Endpoint),
		s3store.WithCredentials(opts.s3.AccessKey, opts.s3.SecretKey, ""),
		s3store.WithRegion(opts.s3.Region),
		s3store.WithSecure(opts.s3.Secure))
	if err != nil {
		return Result{}, run, fmt.Errorf("benchsuite: parquet-s3: %w", err)
	}
	if !opts.keep {
		defer func() {
			if err := emptyStore(context.WithoutCancel(ctx), store); err != nil {
				logf("benchsuite: parquet-s3: could not delete s3://%s/%s: %v", opts.bucket, run.Prefix, err)
			}
		}()
	}
	in := "sluice-bench-parquet-in-" + tag
	if err := newTopics(opts.brokers, in); err != nil {
		return Result{}, run, err
	}
	defer deleteTopics(opts.brokers, logf, in)

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var mu sync.Mutex
	var committedRows int64
	allIn := make(chan struct{})
	listener := engine.ListenerFuncs{Progress: func(p engine.Progress) {
		now := time.Now()
		if p.NumInputRows == 0 {
			return
		}
		b := batchCommit{ID: p.BatchID, Rows: p.NumInputRows, Committed: now,
			TriggerMs: p.DurationMs["triggerExecution"], AddMs: p.DurationMs["addBatch"], EndOffset: -1}
		if len(p.Sources) == 1 {
			if offs, err := kafkasrc.ParseOffsets(p.Sources[0].EndOffset); err == nil {
				b.EndOffset = offs[kafkasrc.TopicPartition{Topic: in, Partition: 0}]
			}
		}
		mu.Lock()
		defer mu.Unlock()
		run.Batches = append(run.Batches, b)
		committedRows += b.Rows
		if committedRows >= n {
			select {
			case <-allIn:
			default:
				close(allIn)
			}
		}
	}}
	src, err := kafkasrc.New(ctx, kafkasrc.WithBrokers(opts.brokers...), kafkasrc.WithTopics(in), kafkasrc.WithLogger(quietLogger))
	if err != nil {
		return Result{}, run, fmt.Errorf("benchsuite: parquet-s3: source: %w", err)
	}
	pq, err := parquet.New(objstore.Prefixed(store, "out"), parquet.WithAllocator(opts.mem))
	if err != nil {
		src.Close()
		return Result{}, run, fmt.Errorf("benchsuite: parquet-s3: sink: %w", err)
	}
	col := dataframe.Col
	q, err := dataframe.ReadStream(src).
		FromJSON("value", latencySchema, dataframe.WithParseMode("FAILFAST")).
		Select(col("offset"), col("seq"), col("ts"), col("user"), col("page"), col("kind"),
			expr.Call("timestamp_micros", col("ts")).As("event_time")).
		WriteStream(pq).
		QueryName("parquet-s3").
		Trigger(trigger.ProcessingTime(time.Second)).
		CheckpointStore(objstore.Prefixed(store, "ckpt")).
		Allocator(opts.mem).
		Engine(engine.New(engine.WithLogger(quietLogger), engine.WithListener(listener))).
		Start(ctx)
	if err != nil {
		src.Close()
		return Result{}, run, fmt.Errorf("benchsuite: parquet-s3: starting the query: %w", err)
	}
	stopQuery := func() error {
		sctx, scancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer scancel()
		return q.Stop(sctx)
	}
	if err := q.ProcessAllAvailable(ctx); err != nil {
		stopQuery()
		return Result{}, run, fmt.Errorf("benchsuite: parquet-s3: starting the query: %w", err)
	}

	var prod *producerRun
	timing, runErr := Measure(func() error {
		prod = startProducer(ctx, opts.brokers, in, time.Now(), n, opts.rate, false, nil)
		prodDone := prod.done
		limit := time.Duration(n)*time.Second/time.Duration(opts.rate) + time.Minute
		deadline := time.NewTimer(limit)
		defer deadline.Stop()
		for {
			select {
			case <-allIn:
				return nil
			case <-prodDone:
				if prod.err != nil {
					return prod.err
				}
				prodDone = nil // all produced; wait for the commits
			case <-q.Done():
				return fmt.Errorf("benchsuite: parquet-s3: the query stopped before committing all %d events: %v", n, q.Err())
			case <-deadline.C:
				mu.Lock()
				got := committedRows
				mu.Unlock()
				return fmt.Errorf("benchsuite: parquet-s3: after %v, %d of %d events were committed: the query is stuck or too slow", limit, got, n)
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	})
	if runErr != nil {
		cancel() // stops the producer if it is still at work
	}
	<-prod.done
	if err := prod.err; err != nil && runErr == nil {
		runErr = err
	}
	if err := stopQuery(); err != nil && runErr == nil {
		runErr = fmt.Errorf("benchsuite: parquet-s3: stopping the query: %w", err)
	}
	if runErr != nil {
		return Result{}, run, runErr
	}
	mu.Lock()
	run.Rows = committedRows
	mu.Unlock()

	rows, err := readParquetEvents(ctx, objstore.Prefixed(store, "out"), opts.mem)
	if err != nil {
		return Result{}, run, err
	}
	sum, e2e, err := checkParquetEvents(rows, run.Batches, n)
	if err != nil {
		return Result{}, run, err
	}

	res := Result{Workload: "parquet-s3", Checksum: sum, Extra: map[string]float64{}}
	res.Fill(n, timing)
	var trig, add []float64
	var busyMs int64
	for _, b := range run.Batches {
		trig = append(trig, float64(b.TriggerMs))
		add = append(add, float64(b.AddMs))
		busyMs += b.TriggerMs
	}
	trig, add = sortedCopy(trig), sortedCopy(add)
	res.Extra["rows_per_s"] = res.EventsPerS
	if busyMs > 0 {
		res.Extra["processed_rows_per_s"] = float64(n) / (float64(busyMs) / 1000)
	}
	res.Extra["commit_p50_ms"] = percentile(trig, 50)
	res.Extra["commit_p99_ms"] = percentile(trig, 99)
	res.Extra["addbatch_p50_ms"] = percentile(add, 50)
	res.Extra["addbatch_p99_ms"] = percentile(add, 99)
	res.Extra["e2e_p50_ms"] = percentile(e2e, 50)
	res.Extra["e2e_p99_ms"] = percentile(e2e, 99)
	res.Extra["batches"] = float64(len(run.Batches))
	logf("parquet-s3: %d rows in %d batches, %.0f rows/s (%.0f rows/s of batch time): commit p50 %.0f ms, p99 %.0f ms; produce-to-commit p50 %.0f ms, p99 %.0f ms",
		n, len(run.Batches), res.EventsPerS, res.Extra["processed_rows_per_s"], res.Extra["commit_p50_ms"], res.Extra["commit_p99_ms"],
		res.Extra["e2e_p50_ms"], res.Extra["e2e_p99_ms"])
	return res, run, nil
}

// parquetEvent is one row read back from the Parquet output.
type parquetEvent struct {
	Offset, Seq, TS int64
	User            string
}

// readParquetEvents reads the committed Parquet output in store.
func readParquetEvents(ctx context.Context, store objstore.Store, mem memory.Allocator) ([]parquetEvent, error) {
	recs, err := parquet.ReadCommitted(ctx, store, mem)
	if err != nil {
		return nil, fmt.Errorf("benchsuite: parquet-s3: reading the output back: %w", err)
	}
	defer func() {
		for _, r := range recs {
			r.Release()
		}
	}()
	var out []parquetEvent
	for _, r := range recs {
		idx := func(name string) int {
			if i := r.Schema().FieldIndices(name); len(i) == 1 {
				return i[0]
			}
			return -1
		}
		iOff, iSeq, iTS, iUser := idx("offset"), idx("seq"), idx("ts"), idx("user")
		if iOff < 0 || iSeq < 0 || iTS < 0 || iUser < 0 {
			return nil, fmt.Errorf("benchsuite: parquet-s3: the output has columns %v, want offset, seq, ts and user", r.Schema())
		}
		offs, ok1 := r.Column(iOff).(*array.Int64)
		seqs, ok2 := r.Column(iSeq).(*array.Int64)
		tss, ok3 := r.Column(iTS).(*array.Int64)
		users, ok4 := r.Column(iUser).(*array.String)
		if !ok1 || !ok2 || !ok3 || !ok4 {
			return nil, fmt.Errorf("benchsuite: parquet-s3: the output has types %v, want int64 offset, seq and ts and a string user", r.Schema())
		}
		for i := 0; i < int(r.NumRows()); i++ {
			out = append(out, parquetEvent{Offset: offs.Value(i), Seq: seqs.Value(i), TS: tss.Value(i), User: users.Value(i)})
		}
	}
	return out, nil
}

// checkParquetEvents checks that rows hold events 0..n-1 once each, with
// the attributes the producer wrote, and returns a checksum over the rows
// sorted by sequence number and each row's produce-to-commit latency in
// milliseconds, sorted: the time its batch was reported committed minus
// its produce time.
func checkParquetEvents(rows []parquetEvent, batches []batchCommit, n int64) (string, []float64, error) {
	if int64(len(rows)) != n {
		return "", nil, fmt.Errorf("benchsuite: parquet-s3: the committed output has %d rows, want %d: events were lost or written twice", len(rows), n)
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].Seq < rows[j].Seq })
	bs := append([]batchCommit(nil), batches...)
	sort.Slice(bs, func(i, j int) bool { return bs[i].EndOffset < bs[j].EndOffset })
	h := sha256.New()
	lat := make([]float64, 0, n)
	for i, r := range rows {
		if r.Seq != int64(i) {
			return "", nil, fmt.Errorf("benchsuite: parquet-s3: the committed output has event %d where event %d belongs: events were lost or written twice", r.Seq, i)
		}
		if u := eventUser(r.Seq); u != r.User {
			return "", nil, fmt.Errorf("benchsuite: parquet-s3: event %d has user %q, the producer wrote %q", r.Seq, r.User, u)
		}
		fmt.Fprintf(h, "%d,%s\n", r.Seq, r.User)
		k := sort.Search(len(bs), func(j int) bool { return bs[j].EndOffset > r.Offset })
		if k == len(bs) {
			return "", nil, fmt.Errorf("benchsuite: parquet-s3: event %d (Kafka offset %d) is in no batch the query reported", r.Seq, r.Offset)
		}
		lat = append(lat, float64(bs[k].Committed.UnixMicro()-r.TS)/1000)
	}
	sort.Float64s(lat)
	return hex.EncodeToString(h.Sum(nil))[:16], lat, nil
}

// ensureBucket creates bucket on ep unless it exists.
func ensureBucket(ctx context.Context, ep s3Endpoint, bucket string) error {
	c, err := minio.New(ep.Endpoint, &minio.Options{
		Creds:  credentials.NewStaticV4(ep.AccessKey, ep.SecretKey, ""),
		Secure: ep.Secure,
		Region: ep.Region,
	})
	if err != nil {
		return fmt.Errorf("benchsuite: parquet-s3: S3 client for %s: %w", ep.Endpoint, err)
	}
	ok, err := c.BucketExists(ctx, bucket)
	if err != nil {
		return fmt.Errorf("benchsuite: parquet-s3: checking bucket %s on %s: %w (is the server up? scripts/services.sh up)", bucket, ep.Endpoint, err)
	}
	if ok {
		return nil
	}
	if err := c.MakeBucket(ctx, bucket, minio.MakeBucketOptions{Region: ep.Region}); err != nil {
		return fmt.Errorf("benchsuite: parquet-s3: creating bucket %s on %s: %w (set SLUICE_BENCH_BUCKET to a bucket you may write)", bucket, ep.Endpoint, err)
	}
	return nil
}

// emptyStore deletes every object in store.
func emptyStore(ctx context.Context, store objstore.Store) error {
	names, err := store.List(ctx, "")
	if err != nil {
		return err
	}
	for _, name := range names {
		if err := store.Delete(ctx, name); err != nil {
			return err
		}
	}
	return nil
}
