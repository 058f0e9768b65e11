package dataframe

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/engine"
	"github.com/sluicehq/sluice/incremental"
	"github.com/sluicehq/sluice/objstore"
	"github.com/sluicehq/sluice/plan"
	"github.com/sluicehq/sluice/sink"
	"github.com/sluicehq/sluice/state"
	"github.com/sluicehq/sluice/trigger"
)

// StreamWriter configures how a DataFrame is written: the sink, the
// trigger, the checkpoint and the output mode. Setters return the writer
// so they chain; Start validates everything and starts the query.
type StreamWriter struct {
	df         *DataFrame
	sink       sink.Sink
	trig       trigger.Trigger
	checkpoint string
	store      objstore.Store
	name       string
	mode       string
	eng        *engine.Engine
	mem        memory.Allocator
	conf       map[string]string
	retain     int
	late       sink.Sink
}

// WriteStream starts describing a streaming write of df into s.
func (df *DataFrame) WriteStream(s sink.Sink) *StreamWriter {
	return &StreamWriter{df: df, sink: s, mode: string(plan.Append), conf: map[string]string{}}
}

// Trigger sets when batches run (default ProcessingTime(0): back to back).
func (w *StreamWriter) Trigger(t trigger.Trigger) *StreamWriter { w.trig = t; return w }

// Checkpoint sets the checkpoint location: a directory, mem://name, or a
// registered URL scheme such as s3://bucket/prefix.
func (w *StreamWriter) Checkpoint(location string) *StreamWriter { w.checkpoint = location; return w }

// CheckpointStore sets the checkpoint as an already opened store (it wins
// over Checkpoint).
func (w *StreamWriter) CheckpointStore(s objstore.Store) *StreamWriter { w.store = s; return w }

// QueryName names the query in logs, progress and the UI.
func (w *StreamWriter) QueryName(name string) *StreamWriter { w.name = name; return w }

// OutputMode sets "append" (default), "update" or "complete".
func (w *StreamWriter) OutputMode(mode string) *StreamWriter { w.mode = mode; return w }

// Engine runs the query on e instead of engine.Default.
func (w *StreamWriter) Engine(e *engine.Engine) *StreamWriter { w.eng = e; return w }

// Allocator sets the Arrow allocator of the query.
func (w *StreamWriter) Allocator(m memory.Allocator) *StreamWriter { w.mem = m; return w }

// MinBatchesToRetain sets how many batches of checkpoint log are kept
// (default 100).
func (w *StreamWriter) MinBatchesToRetain(n int) *StreamWriter { w.retain = n; return w }

// LateRows sends the rows that stateful operators drop because the
// watermark has passed them to s, batch by batch, instead of only counting
// them (numRowsDroppedByWatermark). The plan must have an aggregation with
// a watermark.
func (w *StreamWriter) LateRows(s sink.Sink) *StreamWriter { w.late = s; return w }

// StatePartitions sets how many partitions stateful operators split their
// state into (default incremental.DefaultStatePartitions). The number is
// pinned in the checkpoint at the first batch and cannot change later.
func (w *StreamWriter) StatePartitions(n int) *StreamWriter {
	w.conf[state.NumPartitionsConf] = strconv.Itoa(n)
	return w
}

// Option sets a query setting pinned in the checkpoint.
func (w *StreamWriter) Option(key, value string) *StreamWriter { w.conf[key] = value; return w }

// Start checks the query and starts it: a bad plan, output mode, sink or
// checkpoint fails here, before any batch runs. ctx bounds the start only.
func (w *StreamWriter) Start(ctx context.Context) (*engine.Query, error) {
	if w.df.err != nil {
		return nil, w.df.err
	}
	if w.sink == nil {
		return nil, errors.New("dataframe: WriteStream: sink is nil")
	}
	mode, err := plan.ParseOutputMode(w.mode)
	if err != nil {
		return nil, fmt.Errorf("dataframe: %w", err)
	}
	if err := plan.CheckStreaming(w.df.node, mode); err != nil {
		return nil, fmt.Errorf("dataframe: %w", err)
	}
	store := w.store
	if store == nil {
		if w.checkpoint == "" {
			return nil, errors.New("dataframe: no checkpoint location: call .Checkpoint(dir or URL) so the query can recover after a restart")
		}
		store, err = objstore.Open(ctx, w.checkpoint)
		if err != nil {
			return nil, fmt.Errorf("dataframe: opening checkpoint: %w", err)
		}
	}
	eng := w.eng
	if eng == nil {
		eng = engine.Default
	}
	mem := w.mem
	if mem == nil {
		mem = memory.DefaultAllocator
	}
	opts := []incremental.BuildOption{incremental.WithOutputMode(mode), incremental.WithLogger(eng.Logger())}
	var provider state.Provider
	stateful := plan.IsStateful(w.df.node)
	if w.late != nil && !stateful {
		return nil, errors.New("dataframe: LateRows: the query has no aggregation or other stateful operator, so no rows are ever dropped as late; remove LateRows or aggregate with a watermark")
	}
	if stateful {
		if v, ok := w.conf[state.NumPartitionsConf]; ok {
			if n, err := strconv.Atoi(v); err != nil || n < 1 {
				return nil, fmt.Errorf("dataframe: setting %s is %q: give a positive number of state partitions", state.NumPartitionsConf, v)
			}
		} else {
			w.conf[state.NumPartitionsConf] = strconv.Itoa(incremental.DefaultStatePartitions)
		}
		provider, err = state.NewMemoryProvider(store)
		if err != nil {
			return nil, fmt.Errorf("dataframe: state store: %w", err)
		}
		parts, _ := strconv.Atoi(w.conf[state.NumPartitionsConf])
		opts = append(opts, incremental.WithStateProvider(provider), incremental.WithStatePartitions(parts))
		if w.late != nil {
			opts = append(opts, incremental.WithLateRows())
		}
	}
	pipe, err := incremental.Build(plan.Optimize(w.df.node), mem, opts...)
	if err != nil {
		if provider != nil {
			provider.Close()
		}
		return nil, fmt.Errorf("dataframe: planning: %w", err)
	}
	closers := []func() error{pipe.Close}
	if provider != nil {
		closers = append(closers, provider.Close)
	}
	q, err := eng.Start(ctx, engine.Spec{
		Name:               w.name,
		Sources:            w.df.sources,
		Plan:               pipe,
		Sink:               w.sink,
		Checkpoint:         store,
		Trigger:            w.trig,
		OutputMode:         string(mode),
		Allocator:          mem,
		Conf:               w.conf,
		MinBatchesToRetain: w.retain,
		Explain:            plan.Explain(w.df.node) + "\n" + pipe.Explain(),
		LateSink:           w.late,
		Closers:            closers,
	})
	if err != nil {
		for _, c := range closers {
			c()
		}
		return nil, err
	}
	return q, nil
}
