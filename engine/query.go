package engine

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/sluicehq/sluice/microbatch"
	"github.com/sluicehq/sluice/sink"
	"github.com/sluicehq/sluice/source"
	"github.com/sluicehq/sluice/trigger"
)

const recentCap = 100

// Query is the handle of a running streaming query.
type Query struct {
	engine    *Engine
	driver    *microbatch.Driver
	sources   []source.Source
	sink      sink.Sink
	lateSink  sink.Sink
	closers   []func() error
	listeners []Listener
	id, runID string
	name      string
	loc       string
	explain   string
	trig      trigger.Trigger
	started   time.Time
	cancel    context.CancelFunc
	done      chan struct{}

	mu     sync.Mutex
	recent []Progress
	err    error
}

// ID is the query's id, stable across restarts from the same checkpoint.
func (q *Query) ID() string { return q.id }

// RunID identifies this run; it changes every time the query starts.
func (q *Query) RunID() string { return q.runID }

// Name is the name given with QueryName ("" if none).
func (q *Query) Name() string { return q.name }

// Explain returns the query's plan as text.
func (q *Query) Explain() string { return q.explain }

// Trigger returns the query's trigger.
func (q *Query) Trigger() trigger.Trigger { return q.trig }

// Done is closed when the query has terminated.
func (q *Query) Done() <-chan struct{} { return q.done }

// IsActive reports whether the query is still running.
func (q *Query) IsActive() bool {
	select {
	case <-q.done:
		return false
	default:
		return true
	}
}

// Err returns the error that terminated the query, or nil while it runs
// or after a clean stop.
func (q *Query) Err() error {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.err
}

func (q *Query) run(ctx context.Context) {
	err := q.driver.Run(ctx)
	if errors.Is(err, context.Canceled) && ctx.Err() != nil {
		// Canceled by Stop after its deadline: a stop, not a failure.
		err = nil
	}
	var closeErrs []error
	for i, s := range q.sources {
		if cerr := s.Close(); cerr != nil {
			closeErrs = append(closeErrs, fmt.Errorf("engine: closing source %d: %w", i, cerr))
		}
	}
	if c, ok := q.sink.(sink.Closer); ok {
		if cerr := c.Close(); cerr != nil {
			closeErrs = append(closeErrs, fmt.Errorf("engine: closing sink: %w", cerr))
		}
	}
	if c, ok := q.lateSink.(sink.Closer); ok && q.lateSink != nil {
		if cerr := c.Close(); cerr != nil {
			closeErrs = append(closeErrs, fmt.Errorf("engine: closing late-data sink: %w", cerr))
		}
	}
	for _, c := range q.closers {
		if cerr := c(); cerr != nil {
			closeErrs = append(closeErrs, fmt.Errorf("engine: %w", cerr))
		}
	}
	if err == nil && len(closeErrs) > 0 {
		err = errors.Join(closeErrs...)
	}
	if err != nil {
		q.engine.logger.Error("query terminated with an error", "query", q.name, "id", q.id, "runId", q.runID, "err", err)
	} else {
		q.engine.logger.Info("query stopped", "query", q.name, "id", q.id, "runId", q.runID)
	}
	q.mu.Lock()
	q.err = err
	q.mu.Unlock()
	q.engine.release(q)
	q.cancel()
	for _, l := range q.listeners {
		l.OnQueryTerminated(QueryTerminatedEvent{ID: q.id, RunID: q.runID, Err: err})
	}
	close(q.done)
}

func (q *Query) onProgress(p Progress) {
	q.mu.Lock()
	if len(q.recent) == recentCap {
		copy(q.recent, q.recent[1:])
		q.recent = q.recent[:recentCap-1]
	}
	q.recent = append(q.recent, p)
	q.mu.Unlock()
	for _, l := range q.listeners {
		l.OnQueryProgress(p)
	}
}

// LastProgress returns the progress of the last batch, or nil before the
// first.
func (q *Query) LastProgress() *Progress {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.recent) == 0 {
		return nil
	}
	p := q.recent[len(q.recent)-1]
	return &p
}

// RecentProgress returns the progress of up to the last 100 batches, oldest
// first.
func (q *Query) RecentProgress() []Progress {
	q.mu.Lock()
	defer q.mu.Unlock()
	return append([]Progress(nil), q.recent...)
}

// Stop asks the query to stop after the batch in progress and waits for it.
// If ctx ends first, the batch in progress is abandoned (it is re-run on
// the next start) and Stop returns ctx's error once the query has exited.
// Stop returns nil after a clean stop, including when the query had
// already stopped cleanly; it returns the query's error if it failed.
func (q *Query) Stop(ctx context.Context) error {
	q.driver.Stop()
	select {
	case <-q.done:
		return q.Err()
	case <-ctx.Done():
		q.cancel()
		<-q.done
		return fmt.Errorf("engine: stopping query %q: %w (the batch in progress was abandoned and will be re-run on restart)", q.name, ctx.Err())
	}
}

// Wait blocks until the query terminates or ctx ends. It returns the
// query's error (nil after a clean stop) or ctx's error.
func (q *Query) Wait(ctx context.Context) error {
	select {
	case <-q.done:
		return q.Err()
	case <-ctx.Done():
		return ctx.Err()
	}
}

// ProcessAllAvailable blocks until every row available from the sources
// when it was called has been processed and committed, the query
// terminates, or ctx ends. Meant for tests and AvailableNow-style scripts.
func (q *Query) ProcessAllAvailable(ctx context.Context) error {
	if !q.IsActive() {
		if err := q.Err(); err != nil {
			return err
		}
		return nil
	}
	err := q.driver.AwaitIdle(ctx)
	if err == nil {
		if qerr := q.Err(); qerr != nil {
			return qerr
		}
	}
	return err
}

// LastBatchID returns the id of the last committed batch, or -1.
func (q *Query) LastBatchID() int64 { return q.driver.LastBatchID() }
