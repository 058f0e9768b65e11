// Package table holds static tables: the reference data a stream is
// joined with (dataframe.JoinStatic). A Table is a schema and the Arrow
// records of its rows; a Source says where a table comes from and whether
// it changed, so that a join can reload it between batches.
//
// Contract:
//
//   - Tables are reference counted. FromRecords retains the records it is
//     given (the caller keeps its own references); Source.Load returns a
//     Table the caller releases with Release; Table.Records are borrowed
//     for as long as the caller holds a reference. A Table is immutable
//     and safe for concurrent reads.
//   - A *Table is itself a Source whose Load returns it (retained) and
//     which never changes.
//   - Parquet and CSV read every data file under a prefix of an
//     objstore.Store (a local directory, memory, S3; OpenParquet and
//     OpenCSV take a location string for objstore.Open): objects whose
//     names end in the format's suffix, outside folders or names starting
//     with '_' or '.', in name order. When the folder holds a Parquet
//     sink's log (_sluice_log/, written by sink/parquet), exactly the files
//     of its committed batches are read, in batch order, so a half-written
//     batch is never seen; partitioned sink output is refused.
//   - Every file must have the table's column names and types, or Load
//     fails naming the file. A Parquet table's schema is WithSchema's or
//     the first file's; a CSV table's is given, every column nullable, and
//     malformed lines fail Load with their file and line unless another
//     decode mode is chosen.
//   - Load returns a Version: the objects read, sorted by name, each with
//     a size and a tag. Changed lists the folder again and reports whether
//     a Load would read something else: other names, or for a file of the
//     same name another size and modification time (local directories) or
//     other bytes (other stores, which are read and hashed; say
//     WithChangeByNames when files are only added and deleted). Through a
//     sink log only the log's entries are compared.
//   - Errors start with "table: " and name the file and folder.
package table
