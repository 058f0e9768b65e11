package parquet

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/compute"
	pq "github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/sluicehq/sluice/objstore"
	"github.com/sluicehq/sluice/sink"
	"github.com/sluicehq/sluice/wal"
)

// Sink writes each micro-batch as Parquet files into a Store, exactly once:
// see the package documentation for the layout and commit protocol.
// AddBatch calls are serialized; Metrics may be called concurrently.
type Sink struct {
	store objstore.Store
	cfg   config
	log   *wal.Log[LogEntry]

	mu         sync.Mutex // serializes AddBatch and Open
	schema     *arrow.Schema
	dataSchema *arrow.Schema // schema without the partition columns
	partCols   []int         // indices of the partition columns in schema
	dataCols   []int         // indices of the other columns in schema
	props      *pq.WriterProperties
	arrProps   pqarrow.ArrowWriterProperties
	// buf holds the part being encoded. It is reused across parts and
	// batches: like io.Writer, a Store must not retain the data given to
	// Put after it returns.
	buf bytes.Buffer

	mmu     sync.Mutex // guards the metrics below
	last    batchMetrics
	skipped int64
}

type batchMetrics struct {
	batchID int64
	files   int64
	bytes   int64
	rows    int64
	valid   bool
}

var (
	_ sink.Sink      = (*Sink)(nil)
	_ sink.Opener    = (*Sink)(nil)
	_ sink.Describer = (*Sink)(nil)
	_ sink.Metricser = (*Sink)(nil)
)

// New returns a Sink writing into store, which holds both the data files
// and the sink log (under LogDir). Use objstore.Prefixed to give the sink
// a folder of a larger bucket.
func New(store objstore.Store, opts ...Option) (*Sink, error) {
	if store == nil {
		return nil, errors.New("parquet: New: store is nil: give an objstore.Store such as objstore.NewDir(path)")
	}
	cfg := defaultConfig()
	for _, o := range opts {
		o(&cfg)
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	s := &Sink{
		store: store,
		cfg:   cfg,
		log:   wal.NewLog(store, LogDir, wal.JSONCodec[LogEntry]{}),
	}
	s.props = pq.NewWriterProperties(
		pq.WithCompression(cfg.compression.codec()),
		pq.WithMaxRowGroupLength(int64(cfg.rowGroupRows)),
		pq.WithAllocator(cfg.mem),
	)
	s.arrProps = pqarrow.NewArrowWriterProperties(
		pqarrow.WithStoreSchema(),
		pqarrow.WithAllocator(cfg.mem),
	)
	return s, nil
}

// Open checks the query's schema against the sink's options: every
// partition column must exist and have a partitionable type, at least one
// column must remain for the files, and every other column must be
// writable as Parquet.
func (s *Sink) Open(ctx context.Context, info sink.OpenInfo) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("parquet: Open: %w", err)
	}
	if info.Schema == nil {
		return errors.New("parquet: Open: OpenInfo.Schema is nil: the sink needs the schema of the rows it will write")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.setSchema(info.Schema)
}

func (s *Sink) setSchema(schema *arrow.Schema) error {
	var partCols, dataCols []int
	for _, col := range s.cfg.partitionBy {
		idx := schema.FieldIndices(col)
		if len(idx) == 0 {
			names := make([]string, schema.NumFields())
			for i, f := range schema.Fields() {
				names[i] = f.Name
			}
			return fmt.Errorf("parquet: partition column %q is not in the schema: the columns are %s", col, strings.Join(names, ", "))
		}
		if len(idx) > 1 {
			return fmt.Errorf("parquet: partition column %q appears %d times in the schema: give the columns unique names", col, len(idx))
		}
		if t := schema.Field(idx[0]).Type; !isPartitionable(t) {
			return fmt.Errorf("parquet: partition column %q has type %s: partition by a column of type %s", col, t, partitionTypeList)
		}
		partCols = append(partCols, idx[0])
	}
	fields := make([]arrow.Field, 0, schema.NumFields()-len(partCols))
	for i, f := range schema.Fields() {
		if !slices.Contains(partCols, i) {
			dataCols = append(dataCols, i)
			fields = append(fields, f)
		}
	}
	if len(fields) == 0 {
		return fmt.Errorf("parquet: every column (%s) is a partition column: keep at least one column to write into the files", strings.Join(s.cfg.partitionBy, ", "))
	}
	dataSchema := arrow.NewSchema(fields, nil)
	if _, err := pqarrow.ToParquet(dataSchema, s.props, s.arrProps); err != nil {
		return fmt.Errorf("parquet: schema %s cannot be written as Parquet: %w", dataSchema, err)
	}
	s.schema, s.dataSchema, s.partCols, s.dataCols = schema, dataSchema, partCols, dataCols
	return nil
}

// Description names the sink in progress reports.
func (s *Sink) Description() string {
	d := "parquet[" + objstore.Location(s.store) + ", " + s.cfg.compression.String()
	if len(s.cfg.partitionBy) > 0 {
		d += ", partitionBy " + strings.Join(s.cfg.partitionBy, ",")
	}
	return d + "]"
}

// Metrics reports the last batch written ("batchId", "numFiles",
// "numBytes", "numRows") and the number of replayed batches skipped since
// the sink was created ("skippedReplays").
func (s *Sink) Metrics() map[string]string {
	s.mmu.Lock()
	defer s.mmu.Unlock()
	m := map[string]string{"skippedReplays": strconv.FormatInt(s.skipped, 10)}
	if s.last.valid {
		m["batchId"] = strconv.FormatInt(s.last.batchID, 10)
		m["numFiles"] = strconv.FormatInt(s.last.files, 10)
		m["numBytes"] = strconv.FormatInt(s.last.bytes, 10)
		m["numRows"] = strconv.FormatInt(s.last.rows, 10)
	}
	return m
}

// FileName returns the name of part file part of batch batchID for codec c,
// without its partition folder, e.g.
// "part-00000000000000000007-00000.snappy.parquet".
func FileName(batchID int64, part int, c Compression) string {
	return fmt.Sprintf("part-%020d-%05d.%s.parquet", batchID, part, c)
}

// AddBatch writes the rows of batch batchID exactly once. If the sink log
// already holds batchID, it writes nothing. Otherwise it writes every part
// file (a retry after a crash rewrites the same names with the same bytes)
// and then commits the batch by creating its sink log entry. records are
// borrowed, not released.
func (s *Sink) AddBatch(ctx context.Context, batchID int64, records []arrow.RecordBatch) error {
	if batchID < 0 {
		return fmt.Errorf("parquet: AddBatch: batch id %d is negative: batch ids start at 0", batchID)
	}
	s.mu.Lock()
	defer s.mu.Unlock()

	if _, err := s.log.Get(ctx, batchID); err == nil {
		s.mmu.Lock()
		s.skipped++
		s.mmu.Unlock()
		return nil
	} else if !objstore.IsNotExist(err) {
		return fmt.Errorf("parquet: batch %d: reading the sink log in %s: %w", batchID, objstore.Location(s.store), err)
	}

	if s.schema == nil && len(records) > 0 {
		if err := s.setSchema(records[0].Schema()); err != nil {
			return err
		}
	}
	for i, r := range records {
		if !r.Schema().Equal(s.schema) {
			return fmt.Errorf("parquet: batch %d: record %d has schema %s, but the sink was opened with %s: every record of a query must have the query's schema",
				batchID, i, r.Schema(), s.schema)
		}
	}

	files, err := s.writeFiles(ctx, batchID, records)
	if err != nil {
		return err
	}
	entry := LogEntry{BatchID: batchID, Files: files, PartitionBy: s.cfg.partitionBy, Schema: schemaFields(s.schema)}
	if entry.PartitionBy == nil {
		entry.PartitionBy = []string{}
	}
	if err := s.log.Add(ctx, batchID, entry); err != nil && !objstore.IsExist(err) {
		return fmt.Errorf("parquet: batch %d: committing the sink log entry in %s: %w (the data files are written; retrying the batch is safe)",
			batchID, objstore.Location(s.store), err)
	}

	m := batchMetrics{batchID: batchID, files: int64(len(files)), valid: true}
	for _, f := range files {
		m.bytes += f.Size
		m.rows += f.Rows
	}
	s.mmu.Lock()
	s.last = m
	s.mmu.Unlock()
	return nil
}

// writeFiles writes the part files of a batch and returns their entries in
// part order.
func (s *Sink) writeFiles(ctx context.Context, batchID int64, records []arrow.RecordBatch) ([]FileEntry, error) {
	files := []FileEntry{}
	if s.schema == nil {
		return files, nil
	}
	// Views of the records without the partition columns; they share the
	// input's buffers.
	data := make([]arrow.RecordBatch, len(records))
	for i, r := range records {
		if len(s.partCols) == 0 {
			data[i] = r
			r.Retain()
			continue
		}
		cols := make([]arrow.Array, len(s.dataCols))
		for j, c := range s.dataCols {
			cols[j] = r.Column(c)
		}
		data[i] = array.NewRecordBatch(s.dataSchema, cols, r.NumRows())
	}
	defer func() {
		for _, d := range data {
			d.Release()
		}
	}()

	var parts []partition
	if len(s.partCols) == 0 {
		p := partition{}
		for i, r := range records {
			if r.NumRows() > 0 {
				p.pieces = append(p.pieces, piece{rec: i})
			}
		}
		if len(p.pieces) > 0 {
			parts = []partition{p}
		}
	} else {
		types := make([]arrow.DataType, len(s.partCols))
		for i, c := range s.partCols {
			types[i] = s.schema.Field(c).Type
		}
		var err error
		parts, err = groupRows(records, s.partCols, newPartitioner(s.cfg.partitionBy, types))
		if err != nil {
			return nil, fmt.Errorf("parquet: batch %d: %w", batchID, err)
		}
	}

	w := &fileWriter{s: s, ctx: ctx, batchID: batchID}
	for _, p := range parts {
		w.folder = p.folder
		if err := w.writePartition(data, p.pieces); err != nil {
			w.abort()
			return nil, err
		}
		if err := w.finish(); err != nil {
			return nil, err
		}
	}
	return w.files, nil
}

// fileWriter writes the parts of one batch. Rows are gathered into row
// groups of at most rowGroupRows rows and about targetFileSize/4 bytes of
// Arrow data; after each row group is written the part's exact size is
// known, and the part is finished once it reaches the target. A part thus
// exceeds the target by less than one row group (before compression).
type fileWriter struct {
	s       *Sink
	ctx     context.Context
	batchID int64
	folder  string
	next    int // next part number
	files   []FileEntry

	fw   *pqarrow.FileWriter
	rows int64 // rows in the open part

	pending      []arrow.RecordBatch // rows of the next row group; owned
	pendingRows  int64
	pendingBytes float64
}

func (w *fileWriter) rowGroupBytes() float64 {
	return float64(max(w.s.cfg.targetFileSize/4, 1))
}

func (w *fileWriter) writePartition(data []arrow.RecordBatch, pieces []piece) error {
	for _, pc := range pieces {
		if err := w.ctx.Err(); err != nil {
			return fmt.Errorf("parquet: batch %d: %w", w.batchID, err)
		}
		rec := data[pc.rec]
		if pc.idx != nil {
			taken, err := w.take(rec, pc.idx)
			if err != nil {
				return err
			}
			err = w.add(taken)
			taken.Release()
			if err != nil {
				return err
			}
			continue
		}
		if err := w.add(rec); err != nil {
			return err
		}
	}
	return w.flushGroup()
}

// take returns the rows idx of rec; the caller releases the result.
func (w *fileWriter) take(rec arrow.RecordBatch, idx []int32) (arrow.RecordBatch, error) {
	mem := w.s.cfg.mem
	b := array.NewInt32Builder(mem)
	b.AppendValues(idx, nil)
	ia := b.NewInt32Array()
	b.Release()
	defer ia.Release()
	ctx := compute.WithAllocator(w.ctx, mem)
	out, err := compute.Take(ctx, *compute.DefaultTakeOptions(), &compute.RecordDatum{Value: rec}, &compute.ArrayDatum{Value: ia.Data()})
	if err != nil {
		return nil, fmt.Errorf("parquet: batch %d: selecting the rows of partition %s: %w", w.batchID, w.folder, err)
	}
	return out.(*compute.RecordDatum).Value, nil
}

// add queues the rows of rec (borrowed) for the next row groups, writing
// each row group as it fills.
func (w *fileWriter) add(rec arrow.RecordBatch) error {
	n := rec.NumRows()
	if n == 0 {
		return nil
	}
	perRow := max(float64(recordBytes(rec))/float64(n), 1)
	maxRows, maxBytes := int64(w.s.cfg.rowGroupRows), w.rowGroupBytes()
	for off := int64(0); off < n; {
		fit := min(maxRows-w.pendingRows, int64((maxBytes-w.pendingBytes)/perRow))
		if fit < 1 {
			if w.pendingRows > 0 {
				if err := w.flushGroup(); err != nil {
					return err
				}
				continue
			}
			fit = 1
		}
		end := min(off+fit, n)
		var part arrow.RecordBatch
		if off == 0 && end == n {
			part = rec
			rec.Retain()
		} else {
			part = rec.NewSlice(off, end)
		}
		w.pending = append(w.pending, part)
		w.pendingRows += end - off
		w.pendingBytes += float64(end-off) * perRow
		off = end
		if w.pendingRows >= maxRows || w.pendingBytes >= maxBytes {
			if err := w.flushGroup(); err != nil {
				return err
			}
		}
	}
	return nil
}

// flushGroup writes the queued rows as one row group, then finishes the
// part if it reached the target size.
func (w *fileWriter) flushGroup() error {
	if w.pendingRows == 0 {
		return nil
	}
	rec, err := w.concatPending()
	w.releasePending()
	if err != nil {
		return fmt.Errorf("parquet: batch %d: gathering rows of %s: %w", w.batchID, w.name(), err)
	}
	defer rec.Release()
	if w.fw == nil {
		w.s.buf.Reset()
		fw, err := pqarrow.NewFileWriter(w.s.dataSchema, &w.s.buf, w.s.props, w.s.arrProps)
		if err != nil {
			return fmt.Errorf("parquet: batch %d: starting a Parquet file: %w", w.batchID, err)
		}
		w.fw, w.rows = fw, 0
	}
	if err := w.fw.Write(rec); err != nil {
		return fmt.Errorf("parquet: batch %d: encoding Parquet for %s: %w", w.batchID, w.name(), err)
	}
	w.rows += rec.NumRows()
	if w.fw.TotalBytesWritten() >= w.s.cfg.targetFileSize {
		return w.finish()
	}
	return nil
}

// concatPending returns the queued rows as one record, which the caller
// releases.
func (w *fileWriter) concatPending() (arrow.RecordBatch, error) {
	if len(w.pending) == 1 {
		w.pending[0].Retain()
		return w.pending[0], nil
	}
	schema := w.s.dataSchema
	cols := make([]arrow.Array, schema.NumFields())
	defer func() {
		for _, c := range cols {
			if c != nil {
				c.Release()
			}
		}
	}()
	parts := make([]arrow.Array, len(w.pending))
	for i := range cols {
		for j, r := range w.pending {
			parts[j] = r.Column(i)
		}
		c, err := array.Concatenate(parts, w.s.cfg.mem)
		if err != nil {
			return nil, err
		}
		cols[i] = c
	}
	return array.NewRecordBatch(schema, cols, w.pendingRows), nil
}

func (w *fileWriter) releasePending() {
	for _, r := range w.pending {
		r.Release()
	}
	w.pending, w.pendingRows, w.pendingBytes = w.pending[:0], 0, 0
}

func (w *fileWriter) name() string {
	n := FileName(w.batchID, w.next, w.s.cfg.compression)
	if w.folder != "" {
		n = w.folder + "/" + n
	}
	return n
}

// finish closes the open part, if any, and stores it.
func (w *fileWriter) finish() error {
	if w.fw == nil {
		return nil
	}
	err := w.fw.Close()
	w.fw = nil
	name := w.name()
	if err != nil {
		return fmt.Errorf("parquet: batch %d: finishing Parquet file %s: %w", w.batchID, name, err)
	}
	data := w.s.buf.Bytes()
	if err := w.s.store.Put(w.ctx, name, data); err != nil {
		return fmt.Errorf("parquet: batch %d: writing %s to %s: %w (nothing is committed; retry the batch)",
			w.batchID, name, objstore.Location(w.s.store), err)
	}
	w.files = append(w.files, FileEntry{Path: name, Size: int64(len(data)), Rows: w.rows})
	w.next++
	return nil
}

// abort drops the queued rows and the open part after an error.
func (w *fileWriter) abort() {
	w.releasePending()
	if w.fw != nil {
		_ = w.fw.Close()
		w.fw = nil
	}
}

// recordBytes estimates the Arrow bytes of rec's rows, honouring slices.
func recordBytes(rec arrow.RecordBatch) int64 {
	var n int64
	for _, c := range rec.Columns() {
		n += arrayBytes(c)
	}
	return n
}

func arrayBytes(a arrow.Array) int64 {
	n := int64(a.Len())
	var size int64
	if a.NullN() > 0 {
		size = (n + 7) / 8
	}
	switch a := a.(type) {
	case *array.String:
		o := a.ValueOffsets()
		return size + 4*n + int64(o[len(o)-1]-o[0])
	case *array.Binary:
		o := a.ValueOffsets()
		return size + 4*n + int64(o[len(o)-1]-o[0])
	case *array.LargeString:
		o := a.ValueOffsets()
		return size + 8*n + o[len(o)-1] - o[0]
	case *array.LargeBinary:
		o := a.ValueOffsets()
		return size + 8*n + o[len(o)-1] - o[0]
	}
	if fw, ok := a.DataType().(arrow.FixedWidthDataType); ok {
		return size + (n*int64(fw.BitWidth())+7)/8
	}
	// Other types: the share of the buffers that the slice covers.
	d := a.Data()
	total := int64(d.Offset() + d.Len())
	if total == 0 {
		return size
	}
	return size + dataBytes(d)*n/total
}

func dataBytes(d arrow.ArrayData) int64 {
	var n int64
	for _, b := range d.Buffers() {
		if b != nil {
			n += int64(b.Len())
		}
	}
	for _, c := range d.Children() {
		n += dataBytes(c)
	}
	return n
}
