package microbatch

import (
	"encoding/json"
	"time"

	"github.com/sluicehq/sluice/incremental"
)

// Progress describes one micro-batch, with the field names and JSON form of
// Spark's StreamingQueryProgress so existing dashboards and habits carry
// over. Rates are rows per second.
type Progress struct {
	ID                     string            `json:"id"`
	RunID                  string            `json:"runId"`
	Name                   string            `json:"name"`
	Timestamp              string            `json:"timestamp"`
	BatchID                int64             `json:"batchId"`
	BatchDuration          int64             `json:"batchDuration"`
	NumInputRows           int64             `json:"numInputRows"`
	InputRowsPerSecond     float64           `json:"inputRowsPerSecond"`
	ProcessedRowsPerSecond float64           `json:"processedRowsPerSecond"`
	DurationMs             map[string]int64  `json:"durationMs"`
	EventTime              map[string]string `json:"eventTime,omitempty"`
	StateOperators         []StateOperator   `json:"stateOperators"`
	Sources                []SourceProgress  `json:"sources"`
	Sink                   SinkProgress      `json:"sink"`
	// Metrics are the plan's counters for the batch (see
	// BatchMetricser), such as numDroppedMalformedRows.
	Metrics map[string]int64 `json:"metrics,omitempty"`
}

// StateOperator reports one stateful operator's state after a batch (see
// StateReporter).
type StateOperator = incremental.StateOperatorMetrics

// SourceProgress reports one source's part in a batch. Offsets are the
// source's own JSON.
type SourceProgress struct {
	Description            string          `json:"description"`
	StartOffset            json.RawMessage `json:"startOffset"`
	EndOffset              json.RawMessage `json:"endOffset"`
	LatestOffset           json.RawMessage `json:"latestOffset"`
	NumInputRows           int64           `json:"numInputRows"`
	InputRowsPerSecond     float64         `json:"inputRowsPerSecond"`
	ProcessedRowsPerSecond float64         `json:"processedRowsPerSecond"`
}

// SinkProgress reports the sink's part in a batch.
type SinkProgress struct {
	Description   string            `json:"description"`
	NumOutputRows int64             `json:"numOutputRows"`
	Metrics       map[string]string `json:"metrics,omitempty"`
}

// Duration keys of Progress.DurationMs, named as in Spark.
const (
	DurLatestOffset     = "latestOffset"
	DurWALCommit        = "walCommit"
	DurGetBatch         = "getBatch"
	DurAddBatch         = "addBatch"
	DurCommitOffsets    = "commitOffsets"
	DurTriggerExecution = "triggerExecution"
	DurQueryPlanning    = "queryPlanning"
)

// JSON returns the progress as one line of JSON.
func (p *Progress) JSON() string {
	b, err := json.Marshal(p)
	if err != nil {
		// Every field is a plain value; Marshal cannot fail on them.
		panic("microbatch: encoding progress: " + err.Error())
	}
	return string(b)
}

func rate(rows int64, d time.Duration) float64 {
	if d <= 0 || rows == 0 {
		return 0
	}
	return float64(rows) / d.Seconds()
}

// timestampString formats t as Spark does: ISO-8601 UTC with milliseconds.
func timestampString(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000Z")
}
