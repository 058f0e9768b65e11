// Backfill shows an AvailableNow query: it catches up with a backlog (here
// the last minute of rate-source data, started a minute in the past) in
// rate-limited batches into Parquet files, then stops by itself. Run it
// again with the same folders and it processes only what arrived since.
//
//	go run ./examples/backfill -out ./backfill-out
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/sluicehq/sluice/dataframe"
	"github.com/sluicehq/sluice/objstore"
	"github.com/sluicehq/sluice/sink/parquet"
	"github.com/sluicehq/sluice/source/rate"
	"github.com/sluicehq/sluice/trigger"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "backfill:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("backfill", flag.ContinueOnError)
	dir := fs.String("out", "backfill-out", "folder for data/ and checkpoint/")
	backlog := fs.Duration("backlog", time.Minute, "how much history a new checkpoint starts with")
	rps := fs.Int64("rows-per-second", 500, "rows per second of history")
	perBatch := fs.Int64("max-rows-per-trigger", 5000, "rows per batch")
	if err := fs.Parse(args); err != nil {
		return err
	}
	src, err := rate.New(
		rate.WithRowsPerSecond(*rps),
		rate.WithStartTime(time.Now().Add(-*backlog)),
		rate.WithMaxRowsPerTrigger(*perBatch),
	)
	if err != nil {
		return err
	}
	data, err := objstore.NewDir(filepath.Join(*dir, "data"))
	if err != nil {
		return err
	}
	pq, err := parquet.New(data, parquet.WithCompression(parquet.Zstd))
	if err != nil {
		return err
	}
	q, err := dataframe.ReadStream(src).
		Where(dataframe.Col("value").Lt(dataframe.Lit(int64(1) << 40))).
		WriteStream(pq).
		QueryName("backfill").
		Trigger(trigger.AvailableNow()).
		Checkpoint(filepath.Join(*dir, "checkpoint")).
		Start(ctx)
	if err != nil {
		return err
	}
	if err := q.Wait(ctx); err != nil {
		return err
	}
	var rows int64
	batches := q.RecentProgress()
	for _, p := range batches {
		rows += p.NumInputRows
	}
	files, err := parquet.CommittedFiles(ctx, data)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "caught up: %d rows in %d batches; %d files committed in %s\n", rows, len(batches), len(files), filepath.Join(*dir, "data"))
	return nil
}
