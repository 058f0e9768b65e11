package state

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/cespare/xxhash/v2"
)

// NumPartitionsConf is the setting, pinned in the offsets log of a
// checkpoint, that records how many state partitions a query's stateful
// operators use. It is written by the driver at the first batch and read
// back on every restart: keys are assigned to partitions by PartitionOf, so
// the number cannot change for the life of a checkpoint.
const NumPartitionsConf = "sluice.state.numPartitions"

// EmptyVersion is the version of a state that has never been committed.
// Open(ctx, id, EmptyVersion) returns an empty Store whose Commit writes
// version 0. A query whose batch N commits state version N opens version
// N-1 in batch N, so batch 0 opens EmptyVersion.
const EmptyVersion int64 = -1

// StoreID names one partition of one stateful operator's state.
type StoreID struct {
	// Operator is the operator's name as the plan gives it, such as
	// "aggregate-0". It is one segment of an object name: non-empty, no
	// '/', not "." or "..", no NUL byte.
	Operator string
	// Partition is the state partition, in [0, numPartitions).
	Partition int
}

func (id StoreID) String() string {
	return fmt.Sprintf("operator %q partition %d", id.Operator, id.Partition)
}

// validate reports whether id can name objects in a checkpoint.
func (id StoreID) validate() error {
	switch op := id.Operator; {
	case op == "":
		return fmt.Errorf("state: %s: empty operator name: give each stateful operator a name", id)
	case strings.ContainsAny(op, "/\x00"):
		return fmt.Errorf("state: %s: an operator name must not contain '/' or a NUL byte", id)
	case op == "." || op == "..":
		return fmt.Errorf("state: %s: an operator name must not be %q", id, op)
	}
	if id.Partition < 0 {
		return fmt.Errorf("state: %s: negative partition", id)
	}
	return nil
}

// PartitionOf returns the state partition of key among numPartitions: the
// xxHash64 (XXH64, seed 0) of the key bytes modulo numPartitions. The
// function is part of the checkpoint format, since keys are stored in the
// partition it names, and will never change. numPartitions must be at least
// 1; PartitionOf panics otherwise.
func PartitionOf(key []byte, numPartitions int) int {
	if numPartitions < 1 {
		panic(fmt.Sprintf("state: PartitionOf with %d partitions: the number of partitions must be at least 1", numPartitions))
	}
	return int(xxhash.Sum64(key) % uint64(numPartitions))
}

// Store is one partition of one stateful operator's state at one version,
// opened for one batch by Provider.Open. The batch reads and changes it;
// Commit makes the changes durable as the next version, Abort discards
// them. After Commit or Abort, Get, Put, Delete and Iterate panic, Commit
// returns an error and Abort does nothing; ID, Version, Len, MemoryBytes
// and Metrics report the final state.
//
// Keys and values are byte strings; how operators encode them is their
// business. The store copies keys and values it is given, so callers may
// reuse their buffers. A Store is not safe for concurrent use: one
// goroutine works on one partition. Stores of different partitions are
// independent and may be used, and committed, in parallel.
type Store interface {
	// ID returns the partition the store holds.
	ID() StoreID
	// Version returns the version the store holds: the version it was
	// opened at, and after a successful Commit the committed version.
	Version() int64
	// Get returns the value of key and whether the key is present. The
	// value belongs to the store: the caller must not modify it, and it
	// is valid only until the next Put or Delete of the same key, or the
	// end of the store (Commit or Abort). Copy it to keep it longer.
	Get(key []byte) (value []byte, ok bool)
	// Put sets the value of key, inserting the key if it is absent.
	Put(key, value []byte)
	// Delete removes key; deleting an absent key changes nothing.
	Delete(key []byte)
	// Iterate calls fn for each key in no particular order until fn
	// returns false. key and value belong to the store, must not be
	// modified, and are valid only during the call. fn may Delete the key
	// it was given or Put a new value for it; keys inserted during the
	// iteration may or may not be visited.
	Iterate(fn func(key, value []byte) bool)
	// Len returns the number of keys.
	Len() int
	// MemoryBytes estimates the bytes of memory the partition's working
	// set occupies: keys, values and the map that indexes them.
	MemoryBytes() int64
	// Metrics returns the counters of this version: changes so far, or
	// after Commit the changes the committed version holds.
	Metrics() Metrics
	// Commit writes the changes made since Open as version Version()+1
	// (a delta object and, when due, a snapshot) and returns that
	// version. The version is trusted only once the batch's entry in the
	// commit log names it. If Commit fails the store stays open with its
	// changes: the caller may call Commit again or Abort.
	Commit(ctx context.Context) (version int64, err error)
	// Abort discards the changes made since Open. Abort after Commit or
	// Abort does nothing.
	Abort()
}

// Provider opens the partitions of stateful operators' state at given
// versions. Operators use only this interface and Store, so a provider
// that keeps state on local disk can replace the in-memory one without
// changing them. A Provider is safe for concurrent use; only one Store per
// StoreID may be open at a time.
type Provider interface {
	// Open returns the state of id at version (EmptyVersion for state
	// never committed), for a batch that will commit version+1. The caller
	// asserts that version is the latest version of id the commit log
	// names: objects of later versions are leftovers of batches that were
	// never committed, and are replaced or deleted when the Store commits.
	Open(ctx context.Context, id StoreID, version int64) (Store, error)
	// Purge deletes the objects of id that recovery of versions at or
	// above minVersionToRetain does not need.
	Purge(ctx context.Context, id StoreID, minVersionToRetain int64) error
	// Close releases the working sets. Stores open at Close can only be
	// aborted; Open and Purge fail after Close.
	Close() error
}

// Metrics are the counters of one version of one partition, reported in a
// query's progress per operator (summed over partitions).
type Metrics struct {
	// NumRowsTotal is the number of keys in the partition.
	NumRowsTotal int64
	// NumRowsUpdated is the number of keys inserted or given a new value
	// in this version (counted once per key).
	NumRowsUpdated int64
	// NumRowsRemoved is the number of keys present at Open and deleted in
	// this version.
	NumRowsRemoved int64
	// MemoryUsedBytes estimates the memory of the working set, as
	// Store.MemoryBytes.
	MemoryUsedBytes int64
	// CommitDuration is how long Commit took, zero before Commit.
	CommitDuration time.Duration
	// BytesWritten is the size of the objects Commit wrote (the delta and
	// the snapshot, if one was due), zero before Commit.
	BytesWritten int64
	// SnapshotWritten reports whether Commit wrote a snapshot.
	SnapshotWritten bool
}
