// Package parquet is a sink that writes each micro-batch as Parquet files
// into an objstore.Store (a local directory, memory, or S3), exactly once.
//
// # Layout
//
// Data files sit at the store's root, or under Hive-style partition folders
// when WithPartitionBy is given:
//
//	date=2026-01-01/country=NL/part-00000000000000000007-00000.snappy.parquet
//	date=2026-01-01/country=US/part-00000000000000000007-00001.snappy.parquet
//	_sluice_log/00000000000000000007
//
// A file's name is fixed by its batch id (20 digits), its part number (5
// digits, counted across the whole batch, partitions taken in folder-name
// order) and the codec. Partition values are escaped as Hive does
// (EscapePartitionValue); null and empty strings become DefaultPartition.
// Partition columns are not stored inside the files. A batch is split into
// a new part whenever the current one reaches the target file size.
//
// # Commit protocol
//
// AddBatch(N) first reads the sink log: if it holds N, the batch was
// committed before and AddBatch writes nothing. Otherwise it writes every
// part file with Put, and then creates the log entry _sluice_log/N with
// PutIfAbsent, which is the commit. The bytes of a batch are a function of
// its rows and the sink's options, so a retry after a crash overwrites the
// same names with the same content; if the entry already exists when the
// retry commits (an earlier attempt committed it after all), that is
// success. A batch without rows still gets an entry with no files.
//
// # Readers
//
// A reader must list the files through the log (CommittedFiles,
// ReadCommitted), never by listing folders: a crashed attempt can leave
// files that no entry lists, and a file is part of the output only once its
// batch's entry exists. The log is not compacted: it holds one small object
// per batch. The format is specified in docs/format/parquet-sink.md.
//
// # Memory
//
// Each part file is encoded into memory and then stored with one Put, so a
// batch holds about one target file size of encoded bytes, plus up to one
// row group of gathered rows, at a time. The input
// records are borrowed, never released; rows of a partition are gathered
// with the take kernel into arrays from the sink's allocator, released
// before AddBatch returns.
package parquet
