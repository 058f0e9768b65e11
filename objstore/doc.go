// Package objstore is the storage layer under checkpoints and file sinks: a
// flat namespace of objects with Get, Put, PutIfAbsent, List and Delete.
//
// # Contract
//
// Every Store (see the Store interface for the full statement) gives:
//
//   - whole-object reads and atomic writes: a reader sees an old object or a
//     new one, never part of one;
//   - PutIfAbsent as a create-once primitive: of any number of concurrent
//     calls on one name exactly one succeeds, the others get an error
//     wrapping fs.ErrExist (test with IsExist) and change nothing. The
//     write-ahead log is built on it: offsets/N and commits/N are created
//     with PutIfAbsent, so two drivers cannot both own batch N;
//   - List by plain string prefix, returning full names in byte order;
//   - missing objects reported by an error wrapping fs.ErrNotExist (test
//     with IsNotExist), and idempotent Delete;
//   - a canceled context reported as an error wrapping the context's error.
//
// Errors start with "objstore: " and name the object and the store's
// location. The conformance suite in objstore/storetest checks all of this
// for any implementation.
//
// # Implementations
//
//   - Dir (NewDir, Open of a path or file:// URL): a local directory.
//   - Memory (NewMemory; SharedMemory and Open("mem://name") for a store
//     shared by name within the process): for tests and examples.
//   - Prefixed: a view of another store under a name prefix.
//   - Faulty: a wrapper that fails chosen calls, before or after they reach
//     the wrapped store, for crash and recovery tests.
//   - S3, in a separate package that registers the "s3" scheme with
//     Register.
//
// # Directory layout and atomicity
//
// A Dir stores object "a/b/c" as the regular file <root>/a/b/c; each '/' in
// a name is a directory level. Files whose name starts with '.' and
// contains ".tmp" are temporary files, never objects: List skips them and
// object names of that form are refused. Directories are not objects, so a
// Dir cannot hold both "a" and "a/b".
//
// Put writes the data to a new temporary file in the object's directory,
// fsyncs it, renames it over the object's name and fsyncs the directory.
// rename(2) replaces a directory entry atomically, so a reader opens either
// the old file or the complete new one; the file fsync before the rename
// means that after a crash the name never points at unwritten data, and the
// directory fsync makes the new entry itself durable before Put returns.
//
// PutIfAbsent writes and fsyncs a temporary file the same way, then
// link(2)s it to the object's name. link fails with EEXIST if the name
// exists, atomically, even between processes, so exactly one of several
// concurrent creators wins and the losers change nothing. The temporary
// name is then removed and the directory fsynced. A crash before the link
// leaves only a temporary file, which is invisible; a crash after it leaves
// the complete object (plus perhaps a stray temporary file).
//
// Directories created for an object are made durable by fsyncing their
// parent. Delete removes the file, fsyncs its directory and then removes
// parent directories left empty.
package objstore
