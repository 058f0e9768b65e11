// Package memory is a Source of Arrow record batches added by the program
// itself, for tests and examples: the Go counterpart of Spark's
// MemoryStream. Import it under an alias, since arrow-go has a package of
// the same name:
//
//	import memsrc "github.com/sluicehq/sluice/source/memory"
//
//	src := memsrc.New(schema)
//	defer src.Close()
//	src.AddRows([]any{int64(1), "a"}, []any{int64(2), "b"})
//
// # Offsets
//
// The offset is the number of records added so far, as JSON {"batch":N}:
// Add and AddRows return the offset after the records they add, and a batch
// that ends at {"batch":N} holds the records numbered [start, N) counting
// from 0. Records are not split: LatestOffset honours ReadLimit.MaxRows at
// record granularity, taking whole records while they fit under the cap,
// and always at least one record so that a record larger than the cap
// still goes through (alone).
//
// # Ownership
//
// Add retains the records it is given; the caller keeps (and releases) its
// own reference. AddRows builds its record with the allocator given by
// WithAllocator. Read returns the stored records themselves, each Retained
// once more for the caller, who must Release them as the Source contract
// says; they are not copied into the allocator Read is given, so they
// count against the allocator they were built with. Close releases the
// source's references.
//
// # Replays and restarts
//
// The records live in this process only: a memory source replays a batch
// after a query restart in the same process (the engine calls Close when a
// query stops, see below), never after a process restart. An offset beyond
// the records added is reported as an error naming the offset.
//
// Close releases every record held so far, but the source stays usable:
// offsets keep counting, records added after Close are served as before,
// and a Read of a range holding a released record fails with an error
// saying so. This lets a test stop a query, add more data and restart the
// query on the same source, as long as the restart does not need to replay
// records added before the stop.
//
// # Concurrency
//
// All methods may be called concurrently: a test can add records while a
// query reads them.
package memory
