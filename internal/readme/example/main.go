package main

import (
	"context"
	"time"

	"github.com/sluicehq/sluice/dataframe"
	"github.com/sluicehq/sluice/objstore"
	"github.com/sluicehq/sluice/sink/parquet"
	"github.com/sluicehq/sluice/source/rate"
	"github.com/sluicehq/sluice/trigger"
)

func main() {
	ctx := context.Background()
	src, _ := rate.New(rate.WithRowsPerSecond(100))
	out, _ := objstore.NewDir("out/data")
	pq, _ := parquet.New(out, parquet.WithCompression(parquet.Zstd))
	q, err := dataframe.ReadStream(src).
		Where(dataframe.Col("value").Gt(dataframe.Lit(int64(10)))).
		Select(dataframe.Col("timestamp"), dataframe.Col("value")).
		WriteStream(pq).
		Trigger(trigger.ProcessingTime(time.Second)).
		Checkpoint("out/checkpoint").
		Start(ctx)
	if err != nil {
		panic(err)
	}
	time.Sleep(3 * time.Second)
	_ = q.Stop(ctx)
}
