package table

import (
	"bytes"
	"context"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	pq "github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/sluicehq/sluice/objstore"
)

// parquetBatchRows is the most rows of one record Load reads from Parquet.
const parquetBatchRows = 1 << 16

// Parquet returns the table of the Parquet files under prefix of store
// ("" for the whole store): every object whose name ends in ".parquet"
// (WithSuffix), outside folders and names starting with '_' or '.'; when
// the folder holds a Parquet sink's log (_sluice_log/), exactly the files
// of its committed batches instead. The schema is WithSchema's, or that of
// the first file (by name, or in the log); opening fails when there is
// neither. Every file must have the schema's column names and types.
func Parquet(ctx context.Context, store objstore.Store, prefix string, opts ...Option) (*FileSource, error) {
	cfg := newConfig(".parquet", opts)
	if err := cfg.refuseCSVOptions("Parquet"); err != nil {
		return nil, fmt.Errorf("table: Parquet: %w", err)
	}
	s, err := newFileSource(store, prefix, cfg)
	if err != nil {
		return nil, fmt.Errorf("table: Parquet: %w", err)
	}
	s.schema = cfg.schema
	if s.schema == nil {
		files, _, err := s.files(ctx)
		if err != nil {
			return nil, err
		}
		if len(files) == 0 {
			return nil, fmt.Errorf("table: Parquet: %s has no %s files, so the table's schema is unknown; give it with table.WithSchema", s.where, cfg.suffix)
		}
		data, err := s.store.Get(ctx, files[0].name)
		if err != nil {
			return nil, fmt.Errorf("table: Parquet: reading %s of %s: %w", files[0].name, s.where, err)
		}
		if s.schema, err = parquetSchema(data); err != nil {
			return nil, fmt.Errorf("table: Parquet: %s of %s: %w", files[0].name, s.where, err)
		}
	}
	if err := checkNames(s.schema); err != nil {
		return nil, fmt.Errorf("table: Parquet: %s: %w", s.where, err)
	}
	s.format = parquetFormat{mem: cfg.mem, where: s.where, schema: s.schema}
	return s, nil
}

// parquetSchema reads the Arrow schema of a Parquet file, without field
// metadata.
func parquetSchema(data []byte) (*arrow.Schema, error) {
	rdr, err := file.NewParquetReader(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	defer rdr.Close()
	fr, err := pqarrow.NewFileReader(rdr, pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
	if err != nil {
		return nil, err
	}
	s, err := fr.Schema()
	if err != nil {
		return nil, err
	}
	fields := make([]arrow.Field, s.NumFields())
	for i, f := range s.Fields() {
		f.Metadata = arrow.Metadata{}
		fields[i] = f
	}
	return arrow.NewSchema(fields, nil), nil
}

type parquetFormat struct {
	mem    memory.Allocator
	where  string
	schema *arrow.Schema
}

func (parquetFormat) name() string { return "Parquet" }

// read decodes one Parquet file; the caller releases the records.
func (p parquetFormat) read(ctx context.Context, object string, data []byte) (_ []arrow.RecordBatch, err error) {
	bad := func(err error) error {
		return fmt.Errorf("table: reading Parquet file %s of %s: %w", object, p.where, err)
	}
	rdr, err := file.NewParquetReader(bytes.NewReader(data), file.WithReadProps(pq.NewReaderProperties(p.mem)))
	if err != nil {
		return nil, bad(err)
	}
	defer rdr.Close()
	fr, err := pqarrow.NewFileReader(rdr, pqarrow.ArrowReadProperties{BatchSize: parquetBatchRows}, p.mem)
	if err != nil {
		return nil, bad(err)
	}
	fs, err := fr.Schema()
	if err != nil {
		return nil, bad(err)
	}
	if err := sameColumns(fs, p.schema); err != nil {
		return nil, fmt.Errorf("table: Parquet file %s of %s does not have the table's schema: %w; rewrite it with the table's columns", object, p.where, err)
	}
	rr, err := fr.GetRecordReader(ctx, nil, nil)
	if err != nil {
		return nil, bad(err)
	}
	defer rr.Release()
	var out []arrow.RecordBatch
	defer func() {
		if err != nil {
			releaseAll(out)
		}
	}()
	for rr.Next() {
		r := rr.RecordBatch()
		if r.NumRows() == 0 {
			continue
		}
		r.Retain()
		out = append(out, r)
	}
	if err := rr.Err(); err != nil {
		return nil, bad(err)
	}
	return out, nil
}
