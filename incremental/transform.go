package incremental

import (
	"context"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/expr"
	"github.com/sluicehq/sluice/internal/arrowrows"
	"github.com/sluicehq/sluice/plan"
	"github.com/sluicehq/sluice/state"
	"github.com/sluicehq/sluice/stateful"
)

func init() {
	registerUnary((*plan.TransformWithState)(nil), func(n plan.Node, o buildOptions, mem memory.Allocator) (Operator, plan.Node, error) {
		node := n.(*plan.TransformWithState)
		op, err := newTransform("transform", node, o, mem)
		if err != nil {
			return nil, nil, err
		}
		return op, node.Input, nil
	})
}

// Transform runs a stateful.Processor (TransformWithState): it keeps the
// batch's rows grouped by key (keys encoded as the aggregation encodes
// them), and at the end of the batch, per state partition and in
// parallel, hands each key's rows to the processor, fires the timers
// that are due and expires state by TTL, then commits the partition. Its
// rows are what the processor emitted. In event time, input rows at or
// behind the batch's watermark are dropped as late.
type Transform struct {
	stateParts
	node      *plan.TransformWithState
	proc      stateful.Processor
	cfg       stateful.Config
	mem       memory.Allocator
	outSchema *arrow.Schema
	keys      []*expr.Bound
	cols      []keyColumn
	width     int
	eventCol  *expr.Bound // in event time, the watermarked column
	runner    *stateful.Runner
	info      BatchInfo

	// The batch's rows: records retained, their evaluated keys, and per
	// kept row its record, row and group.
	table    *groupTable
	recs     []arrow.RecordBatch
	keyArrs  [][]arrow.Array
	rowRec   []int32
	rowIdx   []int32
	rowGid   []int32
	firstRow []int32 // per group, its first kept row
	rowKeys  rowKeys
	gids     []int32
	tsBuf    []int64
	tsOK     []bool
	lateRow  []bool

	// After each commit, per partition, the earliest timer (read by the
	// driver between batches).
	mu         sync.Mutex
	nextTimer  []int64
	timerKnown []bool
}

func newTransform(name string, node *plan.TransformWithState, o buildOptions, mem memory.Allocator) (*Transform, error) {
	if o.provider == nil {
		return nil, fmt.Errorf("incremental: %s needs a state store: build the pipeline with WithStateProvider (the engine gives one from the checkpoint)", node)
	}
	proc, ok := node.Processor.(stateful.Processor)
	if !ok {
		return nil, fmt.Errorf("incremental: %s: the processor %T is not a stateful.Processor", node, node.Processor)
	}
	if mem == nil {
		mem = memory.DefaultAllocator
	}
	t := &Transform{
		stateParts: newStateParts(name, o, node.Input.Schema()),
		node:       node, proc: proc, mem: mem, outSchema: node.Schema(), keys: node.BoundKeys(),
		cfg: stateful.Config{Mode: stateful.TimeMode(node.TimeMode), InitialState: node.Initial != nil},
	}
	if err := t.cfg.Mode.Validate(); err != nil {
		return nil, fmt.Errorf("incremental: %s: %w", node, err)
	}
	if t.cfg.Mode == stateful.EventTime {
		t.eventCol = node.EventTimeColumn()
	}
	t.width = 0
	for _, k := range t.keys {
		c := newKeyColumn(k.Field().Type)
		t.cols = append(t.cols, c)
		if t.width >= 0 && c.width > 0 {
			t.width += c.width
		} else {
			t.width = -1
		}
	}
	t.table = newGroupTable(t.width)
	return t, nil
}

func (t *Transform) String() string {
	return fmt.Sprintf("TransformWithStateExec %s, state %s%s", t.node, t.name, partitionsNote(t.explainParts))
}

// Schema is the processor's output schema.
func (t *Transform) Schema() *arrow.Schema { return t.outSchema }

// begin drops what a failed attempt left, reads the number of state
// partitions and, the first time, runs the processor's Init.
func (t *Transform) begin(ctx context.Context, info BatchInfo) error {
	t.info = info
	t.releaseBatch()
	if err := t.configure(info); err != nil {
		return err
	}
	if t.runner == nil {
		r, err := stateful.NewRunner(ctx, t.proc, t.cfg)
		if err != nil {
			return fmt.Errorf("incremental: %s: %w", t.name, err)
		}
		t.runner = r
	}
	t.runner.SetPartitions(t.parts)
	t.mu.Lock()
	if len(t.nextTimer) != t.parts {
		t.nextTimer = make([]int64, t.parts)
		t.timerKnown = make([]bool, t.parts)
	}
	t.mu.Unlock()
	return nil
}

// releaseBatch gives back the batch's rows.
func (t *Transform) releaseBatch() {
	releaseAll(t.recs)
	for _, arrs := range t.keyArrs {
		for _, a := range arrs {
			a.Release()
		}
	}
	clear(t.recs)
	clear(t.keyArrs)
	t.recs, t.keyArrs = t.recs[:0], t.keyArrs[:0]
	t.rowRec, t.rowIdx, t.rowGid, t.firstRow = t.rowRec[:0], t.rowIdx[:0], t.rowGid[:0], t.firstRow[:0]
	t.table.Reset()
}

// Process keeps rec's rows (borrowed; retained until the end of the
// batch) grouped by key. It returns no rows: they come at the end.
func (t *Transform) Process(ctx context.Context, rec arrow.RecordBatch) (arrow.RecordBatch, error) {
	n := int(rec.NumRows())
	if n == 0 {
		return nil, nil
	}
	keyArrs := make([]arrow.Array, 0, len(t.keys))
	keep := false
	defer func() {
		if !keep {
			for _, a := range keyArrs {
				a.Release()
			}
		}
	}()
	for _, k := range t.keys {
		arr, err := k.Eval(ctx, rec, t.mem)
		if err != nil {
			return nil, fmt.Errorf("incremental: %s: %w", t.node, err)
		}
		keyArrs = append(keyArrs, arr)
	}
	late := false
	if t.eventCol != nil {
		tarr, err := t.eventCol.Eval(ctx, rec, t.mem)
		if err != nil {
			return nil, fmt.Errorf("incremental: %s: %w", t.node, err)
		}
		t.tsBuf, t.tsOK = timestampsMicros(tarr, t.tsBuf, t.tsOK)
		tarr.Release()
		t.lateRow = resize(t.lateRow, n)
		wm := t.info.WatermarkMs * 1000
		for i := range n {
			t.lateRow[i] = t.tsOK[i] && t.tsBuf[i] <= wm
			if t.lateRow[i] {
				late = true
				t.dropped++
			}
		}
	}
	t.rowKeys.encode(t.cols, t.width, keyArrs, n)
	ri := int32(len(t.recs))
	kept := 0
	for i := range n {
		if late && t.lateRow[i] {
			continue
		}
		var g int32
		if t.width >= 0 {
			g = t.table.findFixed(t.rowKeys.key(i))
		} else {
			g = t.table.findVar(t.rowKeys.key(i))
		}
		if int(g) == len(t.firstRow) {
			t.firstRow = append(t.firstRow, int32(len(t.rowRec)))
		}
		t.rowRec = append(t.rowRec, ri)
		t.rowIdx = append(t.rowIdx, int32(i))
		t.rowGid = append(t.rowGid, g)
		kept++
	}
	if late && t.late {
		if err := t.keepLate(ctx, t.mem, rec, t.lateRow[:n]); err != nil {
			return nil, err
		}
	}
	if kept > 0 {
		rec.Retain()
		t.recs = append(t.recs, rec)
		t.keyArrs = append(t.keyArrs, keyArrs)
		keep = true
	}
	return nil, nil
}

// initialTable is the initial state as a record grouped by key.
type initialTable struct {
	rec   arrow.RecordBatch
	keys  []arrow.Array
	enc   [][]byte  // per group
	first []int32   // per group, its first row
	rows  [][]int32 // per group, its rows
	zero  []int32   // one record: every row's record is 0
	ident []int32   // row i is row i
}

// buildInitial builds the initial table; the caller calls release.
func (t *Transform) buildInitial(ctx context.Context) (*initialTable, error) {
	in := t.node.Initial
	rec, err := arrowrows.Build(t.mem, in.Schema, in.Rows)
	if err != nil {
		return nil, fmt.Errorf("incremental: %s: initial state: %w", t.name, err)
	}
	it := &initialTable{rec: rec}
	n := int(rec.NumRows())
	groups := map[string]int{}
	var buf []byte
	for i := range n {
		buf = buf[:0]
		for c := range t.keys {
			buf = appendKeyValue(buf, rec.Column(c), i)
		}
		g, ok := groups[string(buf)]
		if !ok {
			g = len(it.enc)
			groups[string(buf)] = g
			it.enc = append(it.enc, append([]byte(nil), buf...))
			it.first = append(it.first, int32(i))
			it.rows = append(it.rows, nil)
		}
		it.rows[g] = append(it.rows[g], int32(i))
	}
	it.keys = rec.Columns()[:len(t.keys)]
	it.zero = make([]int32, n)
	it.ident = make([]int32, n)
	for i := range it.ident {
		it.ident[i] = int32(i)
	}
	return it, nil
}

// end runs the processor over the batch's keys, fires the due timers,
// expires state by TTL and commits. The records are owned by the caller.
func (t *Transform) end(ctx context.Context) (_ []arrow.RecordBatch, err error) {
	defer t.releaseBatch()
	if err := t.openStores(ctx, t.info.BatchID-1, nil); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			t.abortStores()
			for p := 0; p < t.parts; p++ {
				t.runner.Partition(p).Abort()
			}
		}
	}()
	// Rows by group, each group's in arrival order.
	ng := len(t.firstRow)
	start := make([]int32, ng+1)
	for _, g := range t.rowGid {
		start[g+1]++
	}
	for g := 0; g < ng; g++ {
		start[g+1] += start[g]
	}
	pos := make([]int32, len(t.rowGid))
	fill := append([]int32(nil), start[:ng]...)
	for r, g := range t.rowGid {
		pos[fill[g]] = int32(r)
		fill[g]++
	}
	byPart := make([][]int32, t.parts)
	for g := 0; g < ng; g++ {
		p := state.PartitionOf(t.table.Key(g), t.parts)
		byPart[p] = append(byPart[p], int32(g))
	}
	var initial *initialTable
	initByPart := make([][]int, t.parts)
	if t.node.Initial != nil && t.info.BatchID == 0 {
		if initial, err = t.buildInitial(ctx); err != nil {
			return nil, err
		}
		defer initial.rec.Release()
		for g, enc := range initial.enc {
			p := state.PartitionOf(enc, t.parts)
			initByPart[p] = append(initByPart[p], g)
		}
	}
	outs := make([]arrow.RecordBatch, t.parts)
	defer func() {
		if err != nil {
			releaseAll(outs)
		}
	}()
	t0 := time.Now()
	inSchema := t.node.Input.Schema()
	err = parallel(t.parts, func(p int) error {
		pr := t.runner.Partition(p)
		if err := pr.Begin(t.stores[p], t.info.BatchID-1, t.info.TimestampMs, t.info.WatermarkMs); err != nil {
			return err
		}
		b := array.NewRecordBuilder(t.mem, t.outSchema)
		defer b.Release()
		out := stateful.NewOutput(b)
		if initial != nil {
			for _, g := range initByPart[p] {
				key := stateful.NewKey(initial.enc[g], initial.keys, int(initial.first[g]))
				rows := stateful.NewRows(initial.rec.Schema(), []arrow.RecordBatch{initial.rec}, initial.zero, initial.ident, initial.rows[g])
				if err := pr.HandleInitialState(ctx, key, rows); err != nil {
					return err
				}
			}
		}
		for _, g := range byPart[p] {
			f := t.firstRow[g]
			key := stateful.NewKey(t.table.Key(int(g)), t.keyArrs[t.rowRec[f]], int(t.rowIdx[f]))
			rows := stateful.NewRows(inSchema, t.recs, t.rowRec, t.rowIdx, pos[start[g]:start[g+1]])
			if err := pr.HandleInputRows(ctx, key, rows, out); err != nil {
				return err
			}
		}
		if err := t.fireTimers(ctx, pr, out); err != nil {
			return err
		}
		if err := pr.ExpireState(); err != nil {
			return err
		}
		if err := pr.End(); err != nil {
			return err
		}
		if out.Len() > 0 {
			outs[p] = b.NewRecordBatch()
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("incremental: %s: %w", t.name, err)
	}
	m := StateOperatorMetrics{AllUpdatesTimeMs: time.Since(t0).Milliseconds(), MemoryUsedBytes: t.table.memoryBytes()}
	if err := t.commitStores(ctx, m); err != nil {
		return nil, err
	}
	t.mu.Lock()
	for p := 0; p < t.parts; p++ {
		pr := t.runner.Partition(p)
		pr.Committed(t.info.BatchID)
		ms, ok := pr.NextTimer()
		if !ok {
			ms = math.MaxInt64
		}
		t.nextTimer[p], t.timerKnown[p] = ms, true
	}
	t.mu.Unlock()
	var recs []arrow.RecordBatch
	for _, r := range outs {
		if r != nil {
			recs = append(recs, r)
		}
	}
	return recs, nil
}

// fireTimers runs the partition's due timers: their keys decoded into
// arrays, then one HandleExpiredTimer each, in time order.
func (t *Transform) fireTimers(ctx context.Context, pr *stateful.Partition, out *stateful.Output) error {
	due := pr.DueTimers()
	if len(due) == 0 {
		return nil
	}
	bs := make([]array.Builder, len(t.keys))
	for c, k := range t.keys {
		bs[c] = array.NewBuilder(t.mem, k.Field().Type)
	}
	arrs := make([]arrow.Array, len(t.keys))
	defer func() {
		for c := range bs {
			bs[c].Release()
			if arrs[c] != nil {
				arrs[c].Release()
			}
		}
	}()
	encs := make([][]byte, len(due))
	for i, d := range due {
		encs[i] = []byte(d.Key)
		rest := encs[i]
		for c, b := range bs {
			var err error
			if rest, err = decodeKeyValue(b, rest); err != nil {
				return fmt.Errorf("decoding the key %x of a timer (grouping key %s): %w", encs[i], t.keys[c].Expr(), err)
			}
		}
	}
	for c, b := range bs {
		arrs[c] = b.NewArray()
	}
	for i, d := range due {
		if err := pr.FireTimer(ctx, stateful.NewKey(encs[i], arrs, i), d.Ms, out); err != nil {
			return err
		}
	}
	return nil
}

// needsNoDataBatch reports, in event time, whether a timer is due at
// watermarkMs (or, before the first batch, whether one may be).
func (t *Transform) needsNoDataBatch(watermarkMs int64) bool {
	if t.cfg.Mode != stateful.EventTime {
		return false
	}
	return t.timerDue(watermarkMs)
}

// processingTimerDue reports, in processing time, whether a timer is due
// at nowMs (or, before the first batch, whether one may be).
func (t *Transform) processingTimerDue(nowMs int64) bool {
	if t.cfg.Mode != stateful.ProcessingTime {
		return false
	}
	return t.timerDue(nowMs)
}

func (t *Transform) timerDue(ms int64) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.timerKnown) == 0 {
		return true
	}
	for p, known := range t.timerKnown {
		if !known || t.nextTimer[p] <= ms {
			return true
		}
	}
	return false
}

func (t *Transform) close() {
	t.releaseBatch()
	t.stateParts.close()
}
