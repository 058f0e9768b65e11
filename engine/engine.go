package engine

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/microbatch"
	"github.com/sluicehq/sluice/objstore"
	"github.com/sluicehq/sluice/sink"
	"github.com/sluicehq/sluice/source"
	"github.com/sluicehq/sluice/trigger"
)

// Progress is the report of one micro-batch (Spark's StreamingQueryProgress).
type Progress = microbatch.Progress

// ErrAlreadyActive is returned by Start when a query of this engine is
// already running on the same checkpoint.
var ErrAlreadyActive = errors.New("engine: a query is already active on this checkpoint")

// Listener receives query lifecycle events. Methods are called on the
// query's own goroutine, in order, and must return quickly.
type Listener interface {
	OnQueryStarted(QueryStartedEvent)
	OnQueryProgress(Progress)
	OnQueryTerminated(QueryTerminatedEvent)
}

// QueryStartedEvent is sent once the query has read its checkpoint.
type QueryStartedEvent struct {
	ID, RunID, Name string
	Timestamp       time.Time
}

// QueryTerminatedEvent is sent when a query stops; Err is nil on a clean
// stop (Stop, or a terminating trigger that finished).
type QueryTerminatedEvent struct {
	ID, RunID string
	Err       error
}

// ListenerFuncs adapts functions to a Listener; nil fields are skipped.
type ListenerFuncs struct {
	Started    func(QueryStartedEvent)
	Progress   func(Progress)
	Terminated func(QueryTerminatedEvent)
}

func (l ListenerFuncs) OnQueryStarted(e QueryStartedEvent) {
	if l.Started != nil {
		l.Started(e)
	}
}
func (l ListenerFuncs) OnQueryProgress(p Progress) {
	if l.Progress != nil {
		l.Progress(p)
	}
}
func (l ListenerFuncs) OnQueryTerminated(e QueryTerminatedEvent) {
	if l.Terminated != nil {
		l.Terminated(e)
	}
}

// Engine starts queries and tracks the active ones. The zero Engine is not
// usable; use New. Default is shared by packages that need one implicitly.
type Engine struct {
	logger    *slog.Logger
	mem       memory.Allocator
	mu        sync.Mutex
	listeners []Listener
	active    map[string]*Query // by checkpoint location
}

// Option configures an Engine.
type Option func(*Engine)

// WithLogger sets the structured logger (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(e *Engine) { e.logger = l } }

// Logger returns the engine's structured logger, for parts of a query
// built outside the engine (the plan's operators).
func (e *Engine) Logger() *slog.Logger { return e.logger }

// WithAllocator sets the allocator queries use unless their spec has one.
func WithAllocator(m memory.Allocator) Option { return func(e *Engine) { e.mem = m } }

// WithListener adds a listener for every query of the engine.
func WithListener(l Listener) Option {
	return func(e *Engine) { e.listeners = append(e.listeners, l) }
}

// New returns an Engine.
func New(opts ...Option) *Engine {
	e := &Engine{active: map[string]*Query{}}
	for _, o := range opts {
		o(e)
	}
	if e.logger == nil {
		e.logger = slog.Default()
	}
	if e.mem == nil {
		e.mem = memory.DefaultAllocator
	}
	return e
}

// Default is the engine used by the dataframe package unless told otherwise.
var Default = New()

// AddListener registers l for queries started after this call.
func (e *Engine) AddListener(l Listener) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.listeners = append(e.listeners, l)
}

// Active returns the queries currently running.
func (e *Engine) Active() []*Query {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]*Query, 0, len(e.active))
	for _, q := range e.active {
		out = append(out, q)
	}
	return out
}

// Spec is everything a query needs. Sources, Plan, Sink and Checkpoint are
// required.
type Spec struct {
	Name               string
	Sources            []source.Source
	Plan               microbatch.Plan
	Sink               sink.Sink
	Checkpoint         objstore.Store
	Trigger            trigger.Trigger
	OutputMode         string
	Allocator          memory.Allocator
	Conf               map[string]string
	MinBatchesToRetain int
	// Explain is the plan's description, kept for Query.Explain.
	Explain string
	// LateSink, when set, receives the rows stateful operators drop as
	// late (see microbatch.Config.LateSink).
	LateSink sink.Sink
	// Closers are called, in order, when the query ends, after its
	// sources and sinks are closed (for example the plan and its state
	// store provider).
	Closers []func() error
}

// Start reads the checkpoint and starts the query on its own goroutine.
// ctx bounds the start only (reading the checkpoint metadata); the query
// runs until Stop, a terminating trigger, or a failure. Errors that can be
// known before the first batch (a bad spec, a second query on the same
// checkpoint, an unreadable checkpoint) are returned here.
func (e *Engine) Start(ctx context.Context, spec Spec) (*Query, error) {
	if spec.Checkpoint == nil {
		return nil, errors.New("engine: Spec.Checkpoint is nil: every query needs a checkpoint location (a directory, mem://name, or s3://bucket/prefix)")
	}
	loc := objstore.Location(spec.Checkpoint)
	q := &Query{
		engine:  e,
		name:    spec.Name,
		runID:   newUUID(),
		loc:     loc,
		done:    make(chan struct{}),
		explain: spec.Explain,
		trig:    spec.Trigger,
		recent:  make([]Progress, 0, recentCap),
		started: time.Now(),
	}
	mem := spec.Allocator
	if mem == nil {
		mem = e.mem
	}
	d, err := microbatch.New(microbatch.Config{
		Name:               spec.Name,
		RunID:              q.runID,
		Sources:            spec.Sources,
		Plan:               spec.Plan,
		Sink:               spec.Sink,
		Checkpoint:         spec.Checkpoint,
		Trigger:            spec.Trigger,
		OutputMode:         spec.OutputMode,
		Allocator:          mem,
		Logger:             e.logger,
		MinBatchesToRetain: spec.MinBatchesToRetain,
		Conf:               spec.Conf,
		LateSink:           spec.LateSink,
		OnProgress:         q.onProgress,
	})
	if err != nil {
		return nil, err
	}
	q.driver = d
	q.sources = spec.Sources
	q.sink = spec.Sink
	q.lateSink = spec.LateSink
	q.closers = spec.Closers

	e.mu.Lock()
	if other, ok := e.active[loc]; ok {
		e.mu.Unlock()
		return nil, fmt.Errorf("%w: query %q (id %s, run %s) is running on %s; stop it first or give this query its own checkpoint",
			ErrAlreadyActive, other.name, other.id, other.runID, loc)
	}
	e.active[loc] = q
	listeners := append([]Listener(nil), e.listeners...)
	e.mu.Unlock()
	q.listeners = listeners

	id, err := d.Init(ctx)
	if err != nil {
		e.release(q)
		return nil, err
	}
	q.id = id
	runCtx, cancel := context.WithCancel(context.Background())
	q.cancel = cancel
	for _, l := range listeners {
		l.OnQueryStarted(QueryStartedEvent{ID: id, RunID: q.runID, Name: q.name, Timestamp: q.started})
	}
	go q.run(runCtx)
	return q, nil
}

func (e *Engine) release(q *Query) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.active[q.loc] == q {
		delete(e.active, q.loc)
	}
}

func newUUID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("engine: reading random bytes: " + err.Error())
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
