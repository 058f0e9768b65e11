package dataframe_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/dataframe"
	"github.com/sluicehq/sluice/decode"
	"github.com/sluicehq/sluice/engine"
	"github.com/sluicehq/sluice/expr"
	"github.com/sluicehq/sluice/internal/arrowrows"
	memsink "github.com/sluicehq/sluice/sink/memory"
	memsrc "github.com/sluicehq/sluice/source/memory"
	"github.com/sluicehq/sluice/trigger"
)

// kafkaSchema is the part of Kafka's record schema the parse tests use.
var kafkaSchema = arrow.NewSchema([]arrow.Field{
	{Name: "value", Type: arrow.BinaryTypes.Binary, Nullable: true},
	{Name: "topic", Type: arrow.BinaryTypes.String},
	{Name: "partition", Type: arrow.PrimitiveTypes.Int32},
	{Name: "offset", Type: arrow.PrimitiveTypes.Int64},
}, nil)

// kafkaSource returns a memory source with one record per batch of
// values, offsets counting from 0 in partition 0 of topic "events".
func kafkaSource(t *testing.T, mem memory.Allocator, batches ...[]any) *memsrc.Source {
	t.Helper()
	src := memsrc.New(kafkaSchema, memsrc.WithAllocator(mem))
	t.Cleanup(func() { src.Close() })
	offset := int64(0)
	for _, values := range batches {
		rows := make([][]any, len(values))
		for i, v := range values {
			rows[i] = []any{v, "events", int32(0), offset}
			offset++
		}
		if _, err := src.AddRows(rows...); err != nil {
			t.Fatal(err)
		}
	}
	return src
}

// runWithProgress runs df to the end of its sources with a memory sink
// and returns the sorted rows and the progress of every batch.
func runWithProgress(t *testing.T, mem memory.Allocator, df *dataframe.DataFrame) ([][]any, []engine.Progress, error) {
	t.Helper()
	out := memsink.New()
	defer out.Release()
	ctx := context.Background()
	q, err := df.WriteStream(out).Trigger(trigger.AvailableNow()).
		Checkpoint(fmt.Sprintf("mem://dataframe-parse-%s-%d", t.Name(), runs.Add(1))).Allocator(mem).
		Engine(engine.New()).Start(ctx)
	if err != nil {
		return nil, nil, err
	}
	err = q.Wait(ctx)
	rows := out.Rows()
	arrowrows.SortRows(rows)
	return rows, q.RecentProgress(), err
}

func sumMetric(ps []engine.Progress, name string) int64 {
	var n int64
	for _, p := range ps {
		n += p.Metrics[name]
	}
	return n
}

func TestFromJSONModes(t *testing.T) {
	events := expr.MustParseSchema("user STRING, n BIGINT")
	batches := [][]any{
		{`{"user": "ann", "n": 1}`, `{"user": "bob", "n": "two"}`, nil},
		{`not json`, `{"n": 4, "user": "dee", "extra": {"x": [1]}}`},
	}
	t.Run("DROPMALFORMED drops and counts", func(t *testing.T) {
		mem := checkedMem(t)
		df := dataframe.ReadStream(kafkaSource(t, mem, batches...), dataframe.WithSourceName("kafka")).
			FromJSON("value", events, dataframe.WithParseMode("DROPMALFORMED"))
		if df.Err() != nil {
			t.Fatal(df.Err())
		}
		if want := "Parse JSON value into [user, n], mode DROPMALFORMED\n+- StreamingRelation kafka"; !strings.Contains(df.Explain(), want) {
			t.Errorf("Explain:\n%s", df.Explain())
		}
		rows, progress, err := runWithProgress(t, mem, df)
		if err != nil {
			t.Fatal(err)
		}
		want := [][]any{{nil, nil, "events", int64(0), int64(2)}, {"ann", int64(1), "events", int64(0), int64(0)}, {"dee", int64(4), "events", int64(0), int64(4)}}
		if !sameRows(rows, want) {
			t.Errorf("rows %#v, want %#v", rows, want)
		}
		if got := sumMetric(progress, "numDroppedMalformedRows"); got != 2 {
			t.Errorf("progress counts %d dropped rows, want 2: %v", got, progress)
		}
		if got := sumMetric(progress, "numMalformedRows"); got != 2 {
			t.Errorf("progress counts %d malformed rows, want 2", got)
		}
		if len(progress) == 0 || !strings.Contains(progress[len(progress)-1].JSON(), `"metrics":{"numDroppedMalformedRows":`) {
			t.Errorf("progress JSON lacks the metrics: %v", progress)
		}
	})
	t.Run("PERMISSIVE keeps the record", func(t *testing.T) {
		mem := checkedMem(t)
		df := dataframe.ReadStream(kafkaSource(t, mem, batches...)).
			FromJSON("value", expr.MustParseSchema("user STRING, n BIGINT, _corrupt_record STRING")).
			Drop("topic", "partition")
		rows, progress, err := runWithProgress(t, mem, df)
		if err != nil {
			t.Fatal(err)
		}
		want := [][]any{
			{nil, nil, nil, int64(2)}, {nil, nil, "not json", int64(3)},
			{nil, nil, `{"user": "bob", "n": "two"}`, int64(1)},
			{"ann", int64(1), nil, int64(0)}, {"dee", int64(4), nil, int64(4)},
		}
		if !sameRows(rows, want) {
			t.Errorf("rows %#v, want %#v", rows, want)
		}
		if got := sumMetric(progress, "numMalformedRows"); got != 2 || sumMetric(progress, "numDroppedMalformedRows") != 0 {
			t.Errorf("progress counts %d malformed rows, want 2", got)
		}
	})
	t.Run("FAILFAST names the record", func(t *testing.T) {
		mem := checkedMem(t)
		df := dataframe.ReadStream(kafkaSource(t, mem, batches...)).
			FromJSON("value", events, dataframe.WithParseOptions(map[string]string{"mode": "FAILFAST"}))
		_, _, err := runWithProgress(t, mem, df)
		if !errors.Is(err, decode.ErrMalformed) {
			t.Fatalf("error %v, want a malformed record error", err)
		}
		if !strings.Contains(err.Error(), "(topic events, partition 0, offset 1), byte 21: field n: expected an integer (bigint), found a string") {
			t.Errorf("error does not name the record: %v", err)
		}
	})
}

func TestFromCSV(t *testing.T) {
	mem := checkedMem(t)
	df := dataframe.ReadStream(kafkaSource(t, mem, []any{`1;"a;b"`, `2;NA`, `x;c`, `4`})).
		FromCSV("value", expr.MustParseSchema("id INT, name STRING"),
			dataframe.WithParseOptions(map[string]string{"sep": ";", "nullValue": "NA"}), dataframe.WithParseMode("DROPMALFORMED")).
		Drop("topic", "partition")
	rows, progress, err := runWithProgress(t, mem, df)
	if err != nil {
		t.Fatal(err)
	}
	want := [][]any{{int64(1), "a;b", int64(0)}, {int64(2), nil, int64(1)}}
	if !sameRows(rows, want) {
		t.Errorf("rows %#v, want %#v", rows, want)
	}
	if got := sumMetric(progress, "numDroppedMalformedRows"); got != 2 {
		t.Errorf("progress counts %d dropped rows, want 2", got)
	}
}

func TestParseErrors(t *testing.T) {
	mem := checkedMem(t)
	src := kafkaSource(t, mem)
	events := expr.MustParseSchema("user STRING")
	for _, tc := range []struct {
		df   *dataframe.DataFrame
		want string
	}{
		{dataframe.ReadStream(src).FromJSON("valeu", events), `dataframe: FromJSON: plan: Parse: no column "valeu" to parse; the input has value, topic, partition, offset`},
		{dataframe.ReadStream(src).FromJSON("offset", events), `column "offset" is int64`},
		{dataframe.ReadStream(src).FromJSON("value", events, dataframe.WithParseMode("SOMETIMES")), `unknown parse mode "SOMETIMES"`},
		{dataframe.ReadStream(src).FromJSON("value", events, dataframe.WithParseOptions(map[string]string{"sep": ";"})), `unknown option "sep"`},
		{dataframe.ReadStream(src).FromCSV("value", expr.MustParseSchema("l ARRAY<INT>")), "dataframe: FromCSV: plan: Parse value: decode: CSV: field l"},
		{dataframe.ReadStream(src).FromJSON("value", expr.MustParseSchema("topic STRING")), `the parsed field "topic" has the name of another column`},
		{dataframe.ReadStream(src).FromJSON("value", nil), "the schema has no fields"},
	} {
		if err := tc.df.Err(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("error %v, want %q", err, tc.want)
		}
	}
}
