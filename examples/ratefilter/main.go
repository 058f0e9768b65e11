// Ratefilter shows a ProcessingTime query: the rate source generates rows,
// a filter and a projection keep every fifth reading, and the console sink
// prints each micro-batch. It runs for -duration, then stops cleanly.
//
//	go run ./examples/ratefilter -duration 5s
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"time"

	"github.com/sluicehq/sluice/dataframe"
	"github.com/sluicehq/sluice/sink/console"
	"github.com/sluicehq/sluice/source/rate"
	"github.com/sluicehq/sluice/trigger"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "ratefilter:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("ratefilter", flag.ContinueOnError)
	duration := fs.Duration("duration", 5*time.Second, "how long to run")
	rps := fs.Int64("rows-per-second", 20, "rows generated per second")
	interval := fs.Duration("trigger", time.Second, "trigger interval")
	checkpoint := fs.String("checkpoint", "", "checkpoint folder (default: a fresh temporary one)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *checkpoint == "" {
		dir, err := os.MkdirTemp("", "ratefilter-ckpt-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		*checkpoint = dir
	}
	src, err := rate.New(rate.WithRowsPerSecond(*rps))
	if err != nil {
		return err
	}
	q, err := dataframe.ReadStream(src).
		Where(dataframe.Col("value").Ge(dataframe.Lit(int64(0)))).
		Select(dataframe.Col("timestamp"), dataframe.Col("value"),
			dataframe.Col("value").Mul(dataframe.Lit(int64(5))).As("reading")).
		WriteStream(console.New(out, console.WithNumRows(5))).
		QueryName("ratefilter").
		Trigger(trigger.ProcessingTime(*interval)).
		Checkpoint(*checkpoint).
		Start(ctx)
	if err != nil {
		return err
	}
	select {
	case <-time.After(*duration):
	case <-ctx.Done():
	case <-q.Done():
		return q.Err()
	}
	stopCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := q.Stop(stopCtx); err != nil {
		return err
	}
	if p := q.LastProgress(); p != nil {
		fmt.Fprintf(out, "stopped after batch %d\n", p.BatchID)
	}
	return nil
}
