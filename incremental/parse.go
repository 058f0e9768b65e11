package incremental

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/decode"
)

// Metric names of Pipeline.BatchMetrics.
const (
	// MetricMalformedRows counts the malformed records parsed, in every
	// mode.
	MetricMalformedRows = "numMalformedRows"
	// MetricDroppedMalformedRows counts the malformed records dropped in
	// DROPMALFORMED mode.
	MetricDroppedMalformedRows = "numDroppedMalformedRows"
)

// Parse decodes one string or binary column of each record (JSON or CSV
// records, one per row) and replaces it, in place, by the decoded
// columns. Malformed records follow the decoder's mode: kept as nulls,
// dropped (with the rest of their row) and counted, or failing the batch
// with an error that names the record's row and, when the record has
// Kafka's topic, partition and offset columns, its source position.
type Parse struct {
	dec    decode.Decoder
	col    int
	schema *arrow.Schema
	mem    memory.Allocator
	label  string

	malformed, dropped atomic.Int64
}

// NewParse returns the operator decoding column col of its input records
// with dec; schema is the output schema (the input's columns with col
// replaced by the decoder's fields). label describes it in Explain and
// errors. Arrays are allocated from mem (memory.DefaultAllocator if nil).
func NewParse(dec decode.Decoder, col int, schema *arrow.Schema, label string, mem memory.Allocator) (*Parse, error) {
	if dec == nil {
		return nil, errors.New("incremental: Parse: decoder is nil")
	}
	if schema == nil {
		return nil, errors.New("incremental: Parse: schema is nil")
	}
	if col < 0 || schema.NumFields() < col+dec.Schema().NumFields() {
		return nil, fmt.Errorf("incremental: Parse: column %d and the %d decoded fields do not fit the output schema of %d columns", col, dec.Schema().NumFields(), schema.NumFields())
	}
	if mem == nil {
		mem = memory.DefaultAllocator
	}
	return &Parse{dec: dec, col: col, schema: schema, mem: mem, label: label}, nil
}

// Schema is the output schema.
func (p *Parse) Schema() *arrow.Schema { return p.schema }

// Process decodes the column of rec (borrowed) and returns a new record,
// owned by the caller, or nil when no row remains.
func (p *Parse) Process(ctx context.Context, rec arrow.RecordBatch) (arrow.RecordBatch, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	n := int(rec.NumRows())
	if n == 0 {
		return nil, nil
	}
	if p.col >= int(rec.NumCols()) {
		return nil, fmt.Errorf("incremental: %s: the record has %d columns, not the column %d to parse", p.label, rec.NumCols(), p.col)
	}
	res, err := p.dec.Decode(rec.Column(p.col), p.mem)
	if err != nil {
		var me *decode.MalformedError
		if errors.As(err, &me) {
			p.malformed.Add(1)
			err = me.WithSource(decode.SourcePosition(rec, me.Row))
		}
		return nil, fmt.Errorf("incremental: %s: %w", p.label, err)
	}
	defer res.Release()
	p.malformed.Add(int64(len(res.Malformed)))

	others := make([]arrow.Array, 0, rec.NumCols()-1)
	for i, c := range rec.Columns() {
		if i != p.col {
			others = append(others, c)
		}
	}
	if res.Rows < n {
		// DROPMALFORMED left rows out: keep the same rows of the other
		// columns.
		p.dropped.Add(int64(n - res.Rows))
		if res.Rows == 0 {
			return nil, nil
		}
		kept, err := p.keepRows(ctx, others, n, res.Malformed)
		if err != nil {
			return nil, fmt.Errorf("incremental: %s: dropping malformed rows: %w", p.label, err)
		}
		defer func() {
			for _, c := range kept {
				c.Release()
			}
		}()
		others = kept
	}
	cols := make([]arrow.Array, 0, p.schema.NumFields())
	cols = append(cols, others[:p.col]...)
	cols = append(cols, res.Columns...)
	cols = append(cols, others[p.col:]...)
	if len(cols) != p.schema.NumFields() {
		return nil, fmt.Errorf("incremental: %s: the record has %d columns, the plan expected %d", p.label, rec.NumCols(), p.schema.NumFields()-len(res.Columns)+1)
	}
	return array.NewRecordBatch(p.schema, cols, int64(res.Rows)), nil
}

// keepRows filters cols (n rows each) down to the rows not in bad. The
// arrays returned are owned by the caller.
func (p *Parse) keepRows(ctx context.Context, cols []arrow.Array, n int, bad []decode.RowError) ([]arrow.Array, error) {
	bits := memory.NewResizableBuffer(p.mem)
	defer bits.Release()
	bits.Resize(int(bitutil.BytesForBits(int64(n))))
	bitutil.SetBitsTo(bits.Bytes(), 0, int64(n), true)
	for _, e := range bad {
		bitutil.ClearBit(bits.Bytes(), e.Row)
	}
	maskData := array.NewData(arrow.FixedWidthTypes.Boolean, n, []*memory.Buffer{nil, bits}, nil, 0, 0)
	defer maskData.Release()
	mask := array.MakeFromData(maskData)
	defer mask.Release()
	kctx := compute.WithAllocator(ctx, p.mem)
	out := make([]arrow.Array, 0, len(cols))
	for _, c := range cols {
		f, err := compute.FilterArray(kctx, c, mask, *compute.DefaultFilterOptions())
		if err != nil {
			for _, o := range out {
				o.Release()
			}
			return nil, err
		}
		out = append(out, f)
	}
	return out, nil
}

// BatchMetrics returns the malformed records seen and dropped since the
// last call, and resets the counts.
func (p *Parse) BatchMetrics() map[string]int64 {
	return map[string]int64{
		MetricMalformedRows:        p.malformed.Swap(0),
		MetricDroppedMalformedRows: p.dropped.Swap(0),
	}
}

// String describes the operator.
func (p *Parse) String() string { return p.label }

// batchMetricser is an operator that counts things per batch.
type batchMetricser interface {
	BatchMetrics() map[string]int64
}

// BatchMetrics returns the counters the pipeline's operators kept since
// the last call, summed by name, and resets them: for a plan that parses
// records, numMalformedRows and numDroppedMalformedRows. The micro-batch
// driver calls it around each batch and reports the counts in the
// batch's progress. It is empty when no operator counts anything.
func (p *Pipeline) BatchMetrics() map[string]int64 {
	out := map[string]int64{}
	p.collectMetrics(out)
	return out
}

func (p *Pipeline) collectMetrics(out map[string]int64) {
	for _, op := range p.ops {
		if m, ok := op.(batchMetricser); ok {
			for k, v := range m.BatchMetrics() {
				out[k] += v
			}
		}
	}
	for _, br := range p.branches {
		br.pipe.collectMetrics(out)
	}
}
