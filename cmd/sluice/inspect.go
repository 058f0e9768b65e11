package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/sluicehq/sluice/objstore"
	"github.com/sluicehq/sluice/wal"
)

func runInspect(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("sluice inspect", flag.ContinueOnError)
	fs.SetOutput(stderr)
	last := fs.Int("last", 5, "show the offsets of the last N batches")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: sluice inspect [-last N] CHECKPOINT\n\nPrints a checkpoint's query id, its batches and the offsets of the last ones.\nCHECKPOINT is a directory or a URL (mem://, s3://).")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil || fs.NArg() != 1 {
		if err == nil {
			fs.Usage()
		}
		return errUsage
	}
	store, err := objstore.Open(ctx, fs.Arg(0))
	if err != nil {
		return err
	}
	md, err := store.Get(ctx, "metadata")
	if err != nil {
		if objstore.IsNotExist(err) {
			return fmt.Errorf("inspect: %s has no metadata object: it is not a checkpoint (or no query has started on it)", fs.Arg(0))
		}
		return err
	}
	fmt.Fprintf(stdout, "checkpoint: %s\nmetadata:   %s\n", objstore.Location(store), trimNL(md))
	offsets := wal.NewOffsetLog(store)
	commits := wal.NewCommitLog(store)
	ids, err := offsets.BatchIDs(ctx)
	if err != nil {
		return err
	}
	cids, err := commits.BatchIDs(ctx)
	if err != nil {
		return err
	}
	committed := map[int64]bool{}
	for _, id := range cids {
		committed[id] = true
	}
	if len(ids) == 0 {
		fmt.Fprintln(stdout, "batches:    none")
		return nil
	}
	fmt.Fprintf(stdout, "batches:    %d to %d in the log (%d committed)\n", ids[0], ids[len(ids)-1], len(cids))
	from := len(ids) - *last
	if from < 0 {
		from = 0
	}
	for _, id := range ids[from:] {
		e, err := offsets.Get(ctx, id)
		if err != nil {
			return err
		}
		state := "committed"
		if !committed[id] {
			state = "NOT committed (will be re-run on restart)"
		}
		fmt.Fprintf(stdout, "batch %d: %s, watermark %d ms\n", id, state, e.BatchWatermarkMs)
		for i, o := range e.Offsets {
			s := "-"
			if o != nil {
				s = string(o)
			}
			fmt.Fprintf(stdout, "  source %d: %s\n", i, s)
		}
	}
	return nil
}

func trimNL(b []byte) string {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return string(b)
}
