// Package storetest is the conformance suite for objstore.Store
// implementations. Run runs one subtest per rule of the Store contract
// (missing objects, round trips, overwrite, create-once under contention,
// sorted prefix listing, deletion, name validation, large objects, context
// cancellation) against fresh stores made by a caller-supplied function.
//
// The suite only uses the Store interface: it assumes nothing about
// directories, local files or timing, so it serves a local directory, an
// in-memory store and a remote S3 bucket alike. It never stores both "a"
// and "a/b", which a directory-backed store cannot hold.
package storetest
