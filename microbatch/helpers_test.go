package microbatch_test

import (
	"context"
	"fmt"
	"sort"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/bufpool"
	"github.com/sluicehq/sluice/microbatch"
	"github.com/sluicehq/sluice/objstore"
	"github.com/sluicehq/sluice/sink"
	"github.com/sluicehq/sluice/sink/parquet"
	"github.com/sluicehq/sluice/source"
	memsrc "github.com/sluicehq/sluice/source/memory"
	"github.com/sluicehq/sluice/trigger"
)

var testSchema = arrow.NewSchema([]arrow.Field{
	{Name: "id", Type: arrow.PrimitiveTypes.Int64},
	{Name: "name", Type: arrow.BinaryTypes.String, Nullable: true},
}, nil)

// identity is a stateless plan that passes records through.
type identity struct{ schema *arrow.Schema }

func (p identity) OutputSchema() *arrow.Schema { return p.schema }
func (p identity) Process(_ context.Context, _ int, rec arrow.RecordBatch) ([]arrow.RecordBatch, error) {
	rec.Retain()
	return []arrow.RecordBatch{rec}, nil
}
func (identity) NeedsNoDataBatch(int64) bool { return false }

// makeRecord builds a record of ids [from, to) with names "n<id>".
// The caller releases it.
func makeRecord(mem memory.Allocator, from, to int64) arrow.RecordBatch {
	b := array.NewRecordBuilder(mem, testSchema)
	defer b.Release()
	for i := from; i < to; i++ {
		b.Field(0).(*array.Int64Builder).Append(i)
		if i%7 == 3 {
			b.Field(1).AppendNull()
		} else {
			b.Field(1).(*array.StringBuilder).Append(fmt.Sprintf("n%d", i))
		}
	}
	return b.NewRecordBatch()
}

// addRange adds ids [from, to) to src as one record.
func addRange(src *memsrc.Source, mem memory.Allocator, from, to int64) {
	rec := makeRecord(mem, from, to)
	src.Add(rec)
	rec.Release()
}

// env is a checkpoint and a Parquet output in one (faulty) memory store.
type env struct {
	t      *testing.T
	mem    *memory.CheckedAllocator
	base   *objstore.Memory
	faulty *objstore.Faulty
	src    *memsrc.Source
}

func newEnv(t *testing.T, seed int64) *env {
	mem := memory.NewCheckedAllocator(bufpool.NewPoison())
	base := objstore.NewMemory()
	e := &env{t: t, mem: mem, base: base, faulty: objstore.NewFaulty(base, seed)}
	e.src = memsrc.New(testSchema)
	t.Cleanup(func() {
		e.src.Close()
		mem.AssertSize(t, 0)
	})
	return e
}

func (e *env) checkpoint() objstore.Store { return objstore.Prefixed(e.faulty, "ckpt") }
func (e *env) output() objstore.Store     { return objstore.Prefixed(e.faulty, "out") }

// run starts a fresh driver (as a restarted process would) with a fresh
// sink over the same stores and runs it with trigger t until it stops.
func (e *env) run(ctx context.Context, t trigger.Trigger) error {
	pq, err := parquet.New(e.output(), parquet.WithAllocator(e.mem), parquet.WithCompression(parquet.None))
	if err != nil {
		return err
	}
	return e.runWith(ctx, t, pq)
}

func (e *env) runWith(ctx context.Context, t trigger.Trigger, s sink.Sink) error {
	d, err := microbatch.New(microbatch.Config{
		Name:       "test",
		Sources:    []source.Source{e.src},
		Plan:       identity{testSchema},
		Sink:       s,
		Checkpoint: e.checkpoint(),
		Trigger:    t,
		Allocator:  e.mem,
	})
	if err != nil {
		return err
	}
	return d.Run(ctx)
}

// committedIDs reads the committed Parquet output (through the sink log)
// and returns its ids, sorted.
func (e *env) committedIDs(ctx context.Context) []int64 {
	e.t.Helper()
	recs, err := parquet.ReadCommitted(ctx, objstore.Prefixed(e.base, "out"), e.mem)
	if err != nil {
		e.t.Fatalf("reading committed output: %v", err)
	}
	var ids []int64
	for _, r := range recs {
		col := r.Column(int(r.Schema().FieldIndices("id")[0])).(*array.Int64)
		for i := 0; i < col.Len(); i++ {
			ids = append(ids, col.Value(i))
		}
		r.Release()
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	return ids
}

// checkExactlyOnce fails unless ids are exactly 0..n-1, each once.
func checkExactlyOnce(t *testing.T, ids []int64, n int64, context string) {
	t.Helper()
	seen := map[int64]int{}
	for _, id := range ids {
		seen[id]++
	}
	var missing, dup []int64
	for i := int64(0); i < n; i++ {
		switch seen[i] {
		case 0:
			missing = append(missing, i)
		case 1:
		default:
			dup = append(dup, i)
		}
	}
	if len(missing) > 0 || len(dup) > 0 || int64(len(ids)) != n {
		t.Fatalf("%s: output has %d rows, want %d; missing %v; duplicated %v", context, len(ids), n, head(missing), head(dup))
	}
}

func head(v []int64) []int64 {
	if len(v) > 10 {
		return v[:10]
	}
	return v
}
