package parquet

import (
	"bytes"
	"context"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	pq "github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/sluicehq/sluice/objstore"
	"github.com/sluicehq/sluice/wal"
)

// readBatchRows is the number of rows per record ReadCommitted returns at
// most.
const readBatchRows = 1 << 16

// CommittedBatches returns the sink log entries of every committed batch
// in store, in batch order.
func CommittedBatches(ctx context.Context, store objstore.Store) ([]LogEntry, error) {
	log := wal.NewLog(store, LogDir, wal.JSONCodec[LogEntry]{})
	ids, err := log.BatchIDs(ctx)
	if err != nil {
		return nil, fmt.Errorf("parquet: listing the sink log in %s: %w", objstore.Location(store), err)
	}
	entries := make([]LogEntry, 0, len(ids))
	for _, id := range ids {
		e, err := log.Get(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("parquet: reading sink log entry %d in %s: %w", id, objstore.Location(store), err)
		}
		if e.BatchID != id {
			return nil, fmt.Errorf("parquet: sink log entry %d in %s says batchId %d: the entry was copied or damaged; restore it from a backup",
				id, objstore.Location(store), e.BatchID)
		}
		for _, f := range e.Files {
			if err := objstore.ValidateName(f.Path); err != nil {
				return nil, fmt.Errorf("parquet: sink log entry %d in %s lists a bad file path: %w", id, objstore.Location(store), err)
			}
		}
		entries = append(entries, e)
	}
	return entries, nil
}

// CommittedFiles returns the files of every committed batch in store, in
// batch then part order. These, and only these, are the sink's output:
// files not in the log are leftovers of an attempt that crashed before its
// commit and must not be read.
func CommittedFiles(ctx context.Context, store objstore.Store) ([]FileEntry, error) {
	entries, err := CommittedBatches(ctx, store)
	if err != nil {
		return nil, err
	}
	var files []FileEntry
	for _, e := range entries {
		files = append(files, e.Files...)
	}
	return files, nil
}

// ReadCommitted reads the rows of every committed batch in store, in batch
// then part order. Each record has the schema logged for its batch, with
// the partition columns restored from the folder names in their original
// position. The records are allocated with mem; the caller releases each.
func ReadCommitted(ctx context.Context, store objstore.Store, mem memory.Allocator) ([]arrow.RecordBatch, error) {
	if mem == nil {
		mem = memory.DefaultAllocator
	}
	entries, err := CommittedBatches(ctx, store)
	if err != nil {
		return nil, err
	}
	var out []arrow.RecordBatch
	release := func() {
		for _, r := range out {
			r.Release()
		}
	}
	for i := range entries {
		e := &entries[i]
		for _, f := range e.Files {
			recs, err := readFile(ctx, store, mem, e, f)
			if err != nil {
				release()
				return nil, err
			}
			out = append(out, recs...)
		}
	}
	return out, nil
}

// readFile reads one committed file and restores its partition columns.
// The caller releases the records.
func readFile(ctx context.Context, store objstore.Store, mem memory.Allocator, e *LogEntry, f FileEntry) (_ []arrow.RecordBatch, err error) {
	data, err := store.Get(ctx, f.Path)
	if err != nil {
		if objstore.IsNotExist(err) {
			return nil, fmt.Errorf("parquet: sink log batch %d lists %s, but %s has no such object: the file was deleted after its commit", e.BatchID, f.Path, objstore.Location(store))
		}
		return nil, fmt.Errorf("parquet: reading %s of batch %d: %w", f.Path, e.BatchID, err)
	}
	if int64(len(data)) != f.Size {
		return nil, fmt.Errorf("parquet: %s of batch %d has %d bytes, but the sink log says %d: the file was overwritten after its commit", f.Path, e.BatchID, len(data), f.Size)
	}
	bad := func(err error) error {
		return fmt.Errorf("parquet: reading %s of batch %d: %w", f.Path, e.BatchID, err)
	}
	rdr, err := file.NewParquetReader(bytes.NewReader(data), file.WithReadProps(pq.NewReaderProperties(mem)))
	if err != nil {
		return nil, bad(err)
	}
	defer rdr.Close()
	fr, err := pqarrow.NewFileReader(rdr, pqarrow.ArrowReadProperties{BatchSize: readBatchRows}, mem)
	if err != nil {
		return nil, bad(err)
	}
	rr, err := fr.GetRecordReader(ctx, nil, nil)
	if err != nil {
		return nil, bad(err)
	}
	defer rr.Release()

	raw := parsePartitionPath(f.Path)
	partFields := make(map[string]arrow.Field, len(e.PartitionBy))
	for _, col := range e.PartitionBy {
		pf, err := e.partitionField(col)
		if err != nil {
			return nil, err
		}
		if _, ok := raw[col]; !ok {
			return nil, fmt.Errorf("parquet: %s of batch %d has no folder for partition column %q: the sink log entry is damaged", f.Path, e.BatchID, col)
		}
		partFields[col] = pf
	}

	var out []arrow.RecordBatch
	defer func() {
		if err != nil {
			for _, r := range out {
				r.Release()
			}
		}
	}()
	var rows int64
	for rr.Next() {
		rec := rr.RecordBatch()
		n := int(rec.NumRows())
		fields := make([]arrow.Field, len(e.Schema))
		cols := make([]arrow.Array, len(e.Schema))
		var owned []arrow.Array
		for i, sf := range e.Schema {
			if pf, ok := partFields[sf.Name]; ok {
				a, err := constantArray(mem, pf, raw[sf.Name], n)
				if err != nil {
					for _, o := range owned {
						o.Release()
					}
					return nil, err
				}
				owned = append(owned, a)
				fields[i], cols[i] = pf, a
				continue
			}
			idx := rec.Schema().FieldIndices(sf.Name)
			if len(idx) != 1 {
				for _, o := range owned {
					o.Release()
				}
				return nil, fmt.Errorf("parquet: %s of batch %d has %d columns named %q, want 1: the file does not match its sink log entry", f.Path, e.BatchID, len(idx), sf.Name)
			}
			ff := rec.Schema().Field(idx[0])
			fields[i] = arrow.Field{Name: ff.Name, Type: ff.Type, Nullable: ff.Nullable}
			cols[i] = rec.Column(idx[0])
		}
		out = append(out, array.NewRecordBatch(arrow.NewSchema(fields, nil), cols, int64(n)))
		for _, o := range owned {
			o.Release()
		}
		rows += int64(n)
	}
	if err := rr.Err(); err != nil {
		return nil, bad(err)
	}
	if rows != f.Rows {
		return nil, fmt.Errorf("parquet: %s of batch %d has %d rows, but the sink log says %d: the file does not match its commit", f.Path, e.BatchID, rows, f.Rows)
	}
	return out, nil
}
