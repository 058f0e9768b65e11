// Package state is the versioned key-value state store of stateful
// operators (aggregations, deduplication, joins, sessions).
//
// # Model
//
// The state of one stateful operator is split into a fixed number of
// partitions; a key lives in partition PartitionOf(key, n), the xxHash64 of
// the key modulo n. n is chosen at the first batch and pinned in the
// offsets log under NumPartitionsConf ("sluice.state.numPartitions") by the
// driver, since it can never change for the life of a checkpoint.
//
// Each partition (a StoreID: operator name and partition number) has a
// sequence of versions. Version EmptyVersion (-1) is the empty state; a
// batch opens the version the previous batch committed, changes it, and
// commits the next version. A query whose batch N commits state version N
// records N for the operator in its commit log entry (StateVersions).
// Keys and values are byte strings: operators choose their encodings.
//
// Operators reach state only through Provider and Store, so a provider
// that keeps state on local disk can replace MemoryProvider, the default,
// which keeps each partition's working set in a Go map.
//
// # Checkpoint layout
//
// A partition's objects live in the query's checkpoint store:
//
//	state/<operator>/<partition>/<version, 20 digits>.delta
//	state/<operator>/<partition>/<version, 20 digits>.snapshot
//
// Commit of version v writes the delta of v: each key changed in v with
// its new value, or a tombstone for a key deleted in v. Every version has
// a delta. At every positive multiple of the snapshot interval (default
// DefaultSnapshotInterval) Commit also writes the snapshot of v: every key
// and value of the partition at v. Both are written with Put: a re-run of
// a batch that was never committed rewrites them.
//
// # Object format
//
// An object is the line "v1", a binary header (kind 'D' or 'S', the
// compression, the version as a little-endian int64), a sequence of
// blocks, each a uvarint length and that many bytes (records, or a Snappy
// block of records), and a trailer: the number of records as a
// little-endian uint64 and the CRC32C (Castagnoli) of every byte before
// the CRC, little-endian. A record is 'P', uvarint key length, key,
// uvarint value length, value; or, in deltas only, 'T', uvarint key
// length, key. Records are written in byte order of their keys, so the
// same state gives the same bytes. docs/format/state-store.md has the
// details and an example.
//
// Readers refuse what they do not understand. An object that is empty,
// truncated, fails its checksum, breaks the format, is in a newer format
// version, or does not hold what its name says gives a *CorruptionError
// naming the object; so does an object in a partition directory whose
// name is not a state object name. Decoding never panics, whatever the
// bytes.
//
// # Recovery
//
// Only versions named by the commit log are trusted. To open version v
// without a working set at v, a provider reads the newest snapshot at or
// below v and the deltas after it up to v; a missing delta is an error
// wrapping fs.ErrNotExist. Objects above v were left by a batch that
// wrote state and was never committed (a crash, or a failure after
// Commit): they are ignored, and the next Commit, of v+1, overwrites the
// delta of v+1 (and the snapshot, if one is due) and deletes every other
// such object, so a stale snapshot is never read later.
//
// # Purge
//
// Purge(id, m) deletes what recovery of versions >= m does not need: with
// S the newest snapshot at or below m, the snapshots before S and the
// deltas up to S. It deletes oldest first, so an interrupted purge leaves
// a checkpoint that recovers. A query purges state together with its logs,
// passing the oldest version its retained commit entries name.
//
// # Concurrency and memory
//
// A Provider is safe for concurrent use; a Store is used by one goroutine.
// Partitions are independent: a plan opens, changes and commits them in
// parallel. Values returned by Get belong to the store and are valid until
// the key is next changed; keys and values passed to Iterate's function
// are valid during the call; keys and values given to Put are copied.
// Nothing in this package holds Arrow memory.
package state
