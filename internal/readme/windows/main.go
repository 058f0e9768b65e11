package main

import (
	"context"
	"os"
	"time"

	"github.com/sluicehq/sluice/dataframe"
	"github.com/sluicehq/sluice/sink/console"
	"github.com/sluicehq/sluice/source/rate"
	"github.com/sluicehq/sluice/trigger"
)

// Counts events per 2-second event-time window and prints each window once,
// when the watermark says no more of its rows can come.
func main() {
	ctx := context.Background()
	// Ten seconds of history at 1,000 rows a second, replayed at once.
	src, _ := rate.New(rate.WithRowsPerSecond(1000), rate.WithStartTime(time.Now().Add(-10*time.Second)))
	q, err := dataframe.ReadStream(src).
		WithWatermark("timestamp", "1 second").
		GroupBy(dataframe.Window(dataframe.Col("timestamp"), "2 seconds")).
		Agg(dataframe.Count().As("events"), dataframe.Avg(dataframe.Col("value")).As("avg_value")).
		WriteStream(console.New(os.Stdout, console.WithTruncate(0))).
		OutputMode("append").
		Trigger(trigger.AvailableNow()).
		Checkpoint("out/windows-checkpoint").
		Start(ctx)
	if err != nil {
		panic(err)
	}
	if err := q.Wait(ctx); err != nil {
		panic(err)
	}
}
