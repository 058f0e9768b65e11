package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/sluicehq/sluice/dataframe"
	"github.com/sluicehq/sluice/engine"
	"github.com/sluicehq/sluice/objstore"
	"github.com/sluicehq/sluice/sink/parquet"
	"github.com/sluicehq/sluice/source/rate"
	"github.com/sluicehq/sluice/trigger"
)

var errUsage = errors.New("usage")

type demoFlags struct {
	rowsPerSecond int64
	duration      time.Duration
	availableNow  bool
	out           string
	checkpoint    string
	progressJSON  bool
	interval      time.Duration
	maxRows       int64
	compression   string
}

func parseDemoFlags(args []string, stderr io.Writer) (demoFlags, error) {
	var f demoFlags
	fs := flag.NewFlagSet("sluice demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Int64Var(&f.rowsPerSecond, "rows-per-second", 1000, "rows the rate source generates per second")
	fs.DurationVar(&f.duration, "duration", 0, "stop cleanly after this long (0: run until Ctrl-C); with --available-now, how much backlog to generate on a new checkpoint (default 10s)")
	fs.BoolVar(&f.availableNow, "available-now", false, "process everything available now in rate-limited batches, then stop")
	fs.StringVar(&f.out, "out", filepath.Join("demo-out", "data"), "output folder for Parquet files")
	fs.StringVar(&f.checkpoint, "checkpoint", filepath.Join("demo-out", "checkpoint"), "checkpoint folder")
	fs.BoolVar(&f.progressJSON, "progress-json", false, "print one Progress JSON object per batch on stdout")
	fs.DurationVar(&f.interval, "trigger", time.Second, "ProcessingTime trigger interval (0: as fast as possible)")
	fs.Int64Var(&f.maxRows, "max-rows-per-trigger", 0, "cap rows per batch (0: no cap; --available-now defaults to rows-per-second)")
	fs.StringVar(&f.compression, "compression", "snappy", "Parquet compression: snappy, zstd or none")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: sluice demo [flags]\n\nRuns a real streaming job on the embedded default: the rate source, a filter and a\nprojection, into Parquet files in a local folder with a checkpoint beside them.\nA second run with the same --checkpoint resumes where the first stopped.\n\nflags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return f, errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "sluice demo: unexpected argument %q\n", fs.Arg(0))
		return f, errUsage
	}
	switch {
	case f.rowsPerSecond <= 0:
		return f, fmt.Errorf("demo: --rows-per-second is %d: it must be positive", f.rowsPerSecond)
	case f.duration < 0:
		return f, fmt.Errorf("demo: --duration is %v: it must not be negative", f.duration)
	case f.interval < 0:
		return f, fmt.Errorf("demo: --trigger is %v: it must not be negative", f.interval)
	}
	return f, nil
}

func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f, err := parseDemoFlags(args, stderr)
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))

	rateOpts := []rate.Option{rate.WithRowsPerSecond(f.rowsPerSecond)}
	trig := trigger.ProcessingTime(f.interval)
	if f.availableNow {
		trig = trigger.AvailableNow()
		backlog := f.duration
		if backlog == 0 {
			backlog = 10 * time.Second
		}
		// On a new checkpoint the rate source starts `backlog` ago, so
		// there is a backlog to catch up with; on an existing one it keeps
		// its recorded start and the backlog is what arrived since.
		rateOpts = append(rateOpts, rate.WithStartTime(time.Now().Add(-backlog)))
		if f.maxRows == 0 {
			f.maxRows = f.rowsPerSecond
		}
	}
	if f.maxRows > 0 {
		rateOpts = append(rateOpts, rate.WithMaxRowsPerTrigger(f.maxRows))
	}
	src, err := rate.New(rateOpts...)
	if err != nil {
		return err
	}
	outStore, err := objstore.NewDir(f.out)
	if err != nil {
		return err
	}
	comp, err := parquet.ParseCompression(f.compression)
	if err != nil {
		return err
	}
	pq, err := parquet.New(outStore, parquet.WithCompression(comp))
	if err != nil {
		return err
	}

	eng := engine.New(engine.WithLogger(logger))
	// The job: keep readings above a threshold and derive a value.
	df := dataframe.ReadStream(src).
		Select(
			dataframe.Col("timestamp"),
			dataframe.Col("value"),
			dataframe.Col("value").Mul(dataframe.Lit(int64(7))).Add(dataframe.Lit(int64(3))).As("reading"),
		).
		Where(dataframe.Col("reading").Gt(dataframe.Lit(int64(100))))

	q, err := df.WriteStream(pq).
		QueryName("demo").
		Trigger(trig).
		Checkpoint(f.checkpoint).
		Engine(eng).
		Start(ctx)
	if err != nil {
		return err
	}
	if !f.progressJSON {
		fmt.Fprintf(stderr, "demo: query %s (run %s), %s, writing to %s, checkpoint %s\n",
			q.ID(), q.RunID(), trig, f.out, f.checkpoint)
	}
	printed := int64(-1)
	printNew := func() {
		for _, p := range q.RecentProgress() {
			if p.BatchID <= printed {
				continue
			}
			printed = p.BatchID
			if f.progressJSON {
				fmt.Fprintln(stdout, p.JSON())
				continue
			}
			end := "null"
			if len(p.Sources) > 0 {
				end = string(p.Sources[0].EndOffset)
			}
			fmt.Fprintf(stdout, "batch %d: %d rows in, %d rows out, %d ms, %.0f rows/s, offset %s\n",
				p.BatchID, p.NumInputRows, p.Sink.NumOutputRows, p.BatchDuration, p.ProcessedRowsPerSecond, end)
		}
	}

	var deadline <-chan time.Time
	if f.duration > 0 && !f.availableNow {
		t := time.NewTimer(f.duration)
		defer t.Stop()
		deadline = t.C
	}
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-q.Done():
			printNew()
			return q.Err()
		case <-tick.C:
			printNew()
		case <-deadline:
			deadline = nil
			if err := stopQuery(q); err != nil {
				return err
			}
		case <-ctx.Done():
			if !f.progressJSON {
				fmt.Fprintln(stderr, "demo: stopping after the current batch")
			}
			if err := stopQuery(q); err != nil {
				return err
			}
			printNew()
			return nil
		}
	}
}

func stopQuery(q *engine.Query) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return q.Stop(ctx)
}
