package incremental_test

import (
	"strconv"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/incremental"
	"github.com/sluicehq/sluice/objstore"
	"github.com/sluicehq/sluice/plan"
	"github.com/sluicehq/sluice/state"
)

// statePipe is a pipeline of a stateful plan over a memory state provider
// on a checkpoint, which the tests drive batch by batch as the
// micro-batch driver does.
type statePipe struct {
	t     *testing.T
	mem   memory.Allocator
	parts int
	prov  state.Provider
	pipe  *incremental.Pipeline
}

// openStatePipe builds root with mem over a new state provider on ckpt,
// with parts state partitions, and opts. The caller closes it.
func openStatePipe(t *testing.T, root plan.Node, ckpt objstore.Store, mem memory.Allocator, parts int, opts ...incremental.BuildOption) *statePipe {
	t.Helper()
	prov, err := state.NewMemoryProvider(ckpt)
	if err != nil {
		t.Fatal(err)
	}
	opts = append(opts, incremental.WithStateProvider(prov), incremental.WithStatePartitions(parts))
	pipe, err := incremental.Build(root, mem, opts...)
	if err != nil {
		prov.Close()
		t.Fatal(err)
	}
	return &statePipe{t: t, mem: mem, parts: parts, prov: prov, pipe: pipe}
}

// close closes the pipeline and the state provider.
func (r *statePipe) close() {
	r.pipe.Close()
	r.prov.Close()
}

// info is batch id's BatchInfo: watermark wmMs and the number of state
// partitions in its configuration.
func (r *statePipe) info(id, wmMs int64) incremental.BatchInfo {
	return incremental.BatchInfo{BatchID: id, WatermarkMs: wmMs, Conf: map[string]string{state.NumPartitionsConf: strconv.Itoa(r.parts)}}
}

func releaseRecs(recs []arrow.RecordBatch) {
	for _, r := range recs {
		r.Release()
	}
}
