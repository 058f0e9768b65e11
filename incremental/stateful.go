package incremental

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/agg"
	"github.com/sluicehq/sluice/expr"
	"github.com/sluicehq/sluice/plan"
	"github.com/sluicehq/sluice/state"
)

// statefulOp is an operator that keeps state across batches: it absorbs
// rows in Process (returning none) and produces its rows at the end of
// the batch.
type statefulOp interface {
	Operator
	Name() string
	setName(name string)
	keepLateRows(keep bool)
	begin(ctx context.Context, info BatchInfo) error
	end(ctx context.Context) ([]arrow.RecordBatch, error)
	needsNoDataBatch(watermarkMs int64) bool
	takeLate() []arrow.RecordBatch
	lateSchema() *arrow.Schema
	stateMetrics() StateOperatorMetrics
	purge(ctx context.Context, minVersion int64) error
	close()
}

// stateParts is the state-store side every stateful operator shares: its
// state partitions (opened, committed and aborted together, in
// parallel), the lowest event-time bound of each partition's entries (so
// eviction scans a partition only when the watermark has reached
// something in it), the batch's metrics and the late rows kept.
type stateParts struct {
	name         string
	provider     state.Provider
	evicts       bool // a watermark bounds the entries in event time
	late         bool // keep late rows
	inSchema     *arrow.Schema
	explainParts int

	parts   int
	stores  []state.Store
	minEnd  []int64 // per partition, µs; valid where known
	known   []bool
	dropped int64
	lateOut []arrow.RecordBatch
	metrics StateOperatorMetrics
}

func newStateParts(kind string, o buildOptions, in *arrow.Schema) stateParts {
	return stateParts{name: kind, provider: o.provider, late: o.lateRows, explainParts: o.parts, inSchema: in}
}

// stateTable is what the aggregation operators share beyond their state
// partitions: the plan node, the batch-local group table and the
// accumulators.
type stateTable struct {
	stateParts
	node      *plan.Aggregate
	mode      plan.OutputMode
	mem       memory.Allocator
	outSchema *arrow.Schema
	funcs     []agg.Func
	args      [][]*expr.Bound
	info      BatchInfo
	table     *groupTable // batch-local: encoded keys to groups
	accs      []agg.Accumulator
}

func newStateTable(name string, node *plan.Aggregate, o buildOptions, mem memory.Allocator, keyWidth int) stateTable {
	t := stateTable{
		stateParts: newStateParts(name, o, node.Input.Schema()),
		node:       node, mode: o.mode, mem: mem, outSchema: node.Schema(), funcs: node.Funcs(), args: node.BoundArgs(),
		table: newGroupTable(keyWidth),
	}
	for _, f := range t.funcs {
		t.accs = append(t.accs, f.NewAccumulator())
	}
	return t
}

// Schema is the aggregate's output schema.
func (t *stateTable) Schema() *arrow.Schema { return t.outSchema }

// begin drops what a failed attempt left (batch-local groups, open
// stores, late rows), records the batch and reads the number of state
// partitions from its settings.
func (t *stateTable) begin(_ context.Context, info BatchInfo) error {
	t.info = info
	t.table.Reset()
	for _, acc := range t.accs {
		acc.Reset()
	}
	return t.configure(info)
}

// Name is the operator's name in the state store and in progress.
func (t *stateParts) Name() string                       { return t.name }
func (t *stateParts) setName(name string)                { t.name = name }
func (t *stateParts) keepLateRows(keep bool)             { t.late = keep }
func (t *stateParts) lateSchema() *arrow.Schema          { return t.inSchema }
func (t *stateParts) stateMetrics() StateOperatorMetrics { return t.metrics }

// configure drops what a failed attempt left (open stores, late rows,
// counts) and reads the number of state partitions from the batch's
// settings.
func (t *stateParts) configure(info BatchInfo) error {
	t.abortStores()
	t.dropped = 0
	releaseAll(t.lateOut)
	t.lateOut = nil
	n := DefaultStatePartitions
	if v, ok := info.Conf[state.NumPartitionsConf]; ok {
		p, err := strconv.Atoi(v)
		if err != nil || p < 1 {
			return fmt.Errorf("incremental: setting %s is %q: it must be a positive integer", state.NumPartitionsConf, v)
		}
		n = p
	}
	if t.parts != n {
		t.parts = n
		t.minEnd = make([]int64, n)
		t.known = make([]bool, n)
	}
	return nil
}

// openStores opens every partition at version (the batch's id minus
// one). bound, when the operator evicts, gives the lowest event-time
// bound of a stored entry; it is used once per partition and process to
// learn where eviction must start.
func (t *stateParts) openStores(ctx context.Context, version int64, bound func(key, val []byte, id state.StoreID) (int64, error)) error {
	t.stores = make([]state.Store, t.parts)
	err := parallel(t.parts, func(p int) error {
		st, err := t.provider.Open(ctx, state.StoreID{Operator: t.name, Partition: p}, version)
		if err != nil {
			return err
		}
		t.stores[p] = st
		if t.known[p] {
			return nil
		}
		m := int64(math.MaxInt64)
		var berr error
		if t.evicts {
			st.Iterate(func(k, v []byte) bool {
				b, err := bound(k, v, st.ID())
				if err != nil {
					berr = err
					return false
				}
				m = min(m, b)
				return true
			})
		}
		if berr != nil {
			return berr
		}
		t.minEnd[p], t.known[p] = m, true
		return nil
	})
	if err != nil {
		t.abortStores()
		return fmt.Errorf("incremental: %s: opening state: %w", t.name, err)
	}
	return nil
}

func (t *stateParts) abortStores() {
	for _, st := range t.stores {
		if st != nil {
			st.Abort()
		}
	}
	t.stores = nil
}

// commitStores commits every partition in parallel and records the
// batch's metrics: m's timings and extra memory plus the stores' counts.
func (t *stateParts) commitStores(ctx context.Context, m StateOperatorMetrics) error {
	tc := time.Now()
	if err := parallelIO(t.parts, func(p int) error {
		_, err := t.stores[p].Commit(ctx)
		return err
	}); err != nil {
		return fmt.Errorf("incremental: %s: committing state: %w", t.name, err)
	}
	m.OperatorName, m.CommitTimeMs = t.name, time.Since(tc).Milliseconds()
	m.NumRowsDroppedByWatermark, m.NumStatePartitions = t.dropped, t.parts
	for _, st := range t.stores {
		sm := st.Metrics()
		m.NumRowsTotal += sm.NumRowsTotal
		m.NumRowsUpdated += sm.NumRowsUpdated
		m.NumRowsRemoved += sm.NumRowsRemoved
		m.MemoryUsedBytes += sm.MemoryUsedBytes
	}
	t.metrics = m
	t.stores = nil
	return nil
}

// needsNoDataBatch reports whether, with the watermark at watermarkMs,
// some entry could be emitted or evicted.
func (t *stateParts) needsNoDataBatch(watermarkMs int64) bool {
	if !t.evicts {
		return false
	}
	if t.parts == 0 {
		return true
	}
	for p := range t.known {
		if !t.known[p] || t.minEnd[p] <= watermarkMs*1000 {
			return true
		}
	}
	return false
}

// takeLate returns the late rows kept this batch, owned by the caller.
func (t *stateParts) takeLate() []arrow.RecordBatch {
	out := t.lateOut
	t.lateOut = nil
	return out
}

// keepLate copies the rows of rec marked in late (borrowed) for LateRows.
func (t *stateParts) keepLate(ctx context.Context, mem memory.Allocator, rec arrow.RecordBatch, late []bool) error {
	bld := array.NewBooleanBuilder(mem)
	defer bld.Release()
	bld.AppendValues(late, nil)
	mask := bld.NewArray()
	defer mask.Release()
	out, err := compute.FilterRecordBatch(compute.WithAllocator(ctx, mem), rec, mask, compute.DefaultFilterOptions())
	if err != nil {
		return fmt.Errorf("incremental: %s: keeping late rows: %w", t.name, err)
	}
	t.lateOut = append(t.lateOut, out)
	return nil
}

func (t *stateParts) purge(ctx context.Context, minVersion int64) error {
	var errs []error
	for p := 0; p < t.parts; p++ {
		if err := t.provider.Purge(ctx, state.StoreID{Operator: t.name, Partition: p}, minVersion); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (t *stateParts) close() {
	t.abortStores()
	releaseAll(t.lateOut)
	t.lateOut = nil
}

func partitionsNote(n int) string {
	if n <= 0 {
		n = DefaultStatePartitions
	}
	return fmt.Sprintf(" (%d partitions)", n)
}

// aggInputs holds one record's evaluated grouping keys, aggregate
// arguments and extra columns (time, gap), all owned until release.
type aggInputs struct {
	keys  []arrow.Array
	args  [][]arrow.Array
	extra []arrow.Array // nil where the extra expression was nil
	owned []arrow.Array
}

// evalAggInputs evaluates keys, args and extra over rec (borrowed); a nil
// extra expression gives a nil array. The caller calls release.
func evalAggInputs(ctx context.Context, rec arrow.RecordBatch, mem memory.Allocator, node fmt.Stringer, keys []*expr.Bound, args [][]*expr.Bound, extra ...*expr.Bound) (*aggInputs, error) {
	in := &aggInputs{keys: make([]arrow.Array, len(keys)), args: make([][]arrow.Array, len(args)), extra: make([]arrow.Array, len(extra))}
	eval := func(b *expr.Bound) (arrow.Array, error) {
		arr, err := b.Eval(ctx, rec, mem)
		if err != nil {
			in.release()
			return nil, fmt.Errorf("incremental: %s: %w", node, err)
		}
		in.owned = append(in.owned, arr)
		return arr, nil
	}
	var err error
	for i, k := range keys {
		if in.keys[i], err = eval(k); err != nil {
			return nil, err
		}
	}
	for i, as := range args {
		for _, b := range as {
			arr, err := eval(b)
			if err != nil {
				return nil, err
			}
			in.args[i] = append(in.args[i], arr)
		}
	}
	for i, b := range extra {
		if b == nil {
			continue
		}
		if in.extra[i], err = eval(b); err != nil {
			return nil, err
		}
	}
	return in, nil
}

func (in *aggInputs) release() {
	for _, c := range in.owned {
		c.Release()
	}
	in.owned = nil
}

// rowBuilders builds one partition's output rows of an aggregation: key
// columns (decoded from encoded keys), the window, and the aggregates.
type rowBuilders struct {
	schema  *arrow.Schema
	keyB    []array.Builder // by canonical key
	keyOut  []int           // output position of each canonical key
	winB    *array.StructBuilder
	winOut  int
	resB    []array.Builder
	scratch []agg.Accumulator // one group, for values read from the store
	n       int
}

func newRowBuilders(t *stateTable, keys []*expr.Bound, keyOut []int, window bool, winOut int) rowBuilders {
	rb := rowBuilders{schema: t.outSchema, keyOut: keyOut, winOut: winOut}
	for _, k := range keys {
		rb.keyB = append(rb.keyB, array.NewBuilder(t.mem, k.Field().Type))
	}
	if window {
		rb.winB = array.NewStructBuilder(t.mem, expr.WindowType().(*arrow.StructType))
	}
	for _, f := range t.funcs {
		rb.resB = append(rb.resB, array.NewBuilder(t.mem, f.ResultType()))
		rb.scratch = append(rb.scratch, f.NewAccumulator())
	}
	return rb
}

// appendWindow appends a window [start, end) in microseconds.
func (rb *rowBuilders) appendWindow(start, end int64) {
	rb.winB.Append(true)
	rb.winB.FieldBuilder(0).(*array.TimestampBuilder).Append(arrow.Timestamp(start))
	rb.winB.FieldBuilder(1).(*array.TimestampBuilder).Append(arrow.Timestamp(end))
}

// appendKeys decodes the encoded key columns at the start of key.
func (rb *rowBuilders) appendKeys(key []byte, keys []*expr.Bound) error {
	for c, b := range rb.keyB {
		var err error
		if key, err = decodeKeyValue(b, key); err != nil {
			return fmt.Errorf("decoding grouping key %s: %w", keys[c].Expr(), err)
		}
	}
	return nil
}

// finish appends group g's aggregates and ends the row.
func (rb *rowBuilders) finish(accs []agg.Accumulator, g int) {
	for k, acc := range accs {
		acc.Finish(g, rb.resB[k])
	}
	rb.n++
}

// resetScratch empties the scratch accumulators to one empty group.
func (rb *rowBuilders) resetScratch() {
	for _, acc := range rb.scratch {
		acc.Reset()
		acc.Grow(1)
	}
}

// record returns the rows built (owned by the caller), nil when none.
func (rb *rowBuilders) record() arrow.RecordBatch {
	if rb.n == 0 {
		return nil
	}
	cols := make([]arrow.Array, rb.schema.NumFields())
	if rb.winB != nil {
		cols[rb.winOut] = rb.winB.NewArray()
	}
	for c, b := range rb.keyB {
		cols[rb.keyOut[c]] = b.NewArray()
	}
	nk := rb.schema.NumFields() - len(rb.resB)
	for k, b := range rb.resB {
		cols[nk+k] = b.NewArray()
	}
	rec := array.NewRecordBatch(rb.schema, cols, int64(rb.n))
	for _, c := range cols {
		c.Release()
	}
	return rec
}

func (rb *rowBuilders) release() {
	for _, b := range rb.keyB {
		b.Release()
	}
	if rb.winB != nil {
		rb.winB.Release()
	}
	for _, b := range rb.resB {
		b.Release()
	}
}
