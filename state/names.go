package state

import (
	"fmt"
	"strconv"
	"strings"
)

// Dir is the checkpoint directory holding all state.
const Dir = "state"

const (
	deltaSuffix    = ".delta"
	snapshotSuffix = ".snapshot"
	versionDigits  = 20
)

// PartitionDir returns the directory of id's objects in a checkpoint,
// "state/<operator>/<partition>".
func PartitionDir(id StoreID) string {
	return Dir + "/" + id.Operator + "/" + strconv.Itoa(id.Partition)
}

// DeltaName returns the name of the delta object of version of id, such
// as "state/aggregate-0/3/00000000000000000007.delta".
func DeltaName(id StoreID, version int64) string {
	return objectName(id, version, kindDelta)
}

// SnapshotName returns the name of the snapshot object of version of id,
// such as "state/aggregate-0/3/00000000000000000010.snapshot".
func SnapshotName(id StoreID, version int64) string {
	return objectName(id, version, kindSnapshot)
}

func objectName(id StoreID, version int64, kind objectKind) string {
	suffix := deltaSuffix
	if kind == kindSnapshot {
		suffix = snapshotSuffix
	}
	return fmt.Sprintf("%s/%0*d%s", PartitionDir(id), versionDigits, version, suffix)
}

// object is a state object found in a partition directory.
type object struct {
	name    string
	version int64
	kind    objectKind
}

// parseObjectName parses the part of a name after the partition
// directory's "/".
func parseObjectName(base string) (int64, objectKind, bool) {
	var kind objectKind
	var digits string
	switch {
	case strings.HasSuffix(base, deltaSuffix):
		kind, digits = kindDelta, strings.TrimSuffix(base, deltaSuffix)
	case strings.HasSuffix(base, snapshotSuffix):
		kind, digits = kindSnapshot, strings.TrimSuffix(base, snapshotSuffix)
	default:
		return 0, 0, false
	}
	if len(digits) != versionDigits {
		return 0, 0, false
	}
	for i := 0; i < len(digits); i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return 0, 0, false
		}
	}
	v, err := strconv.ParseInt(digits, 10, 64)
	if err != nil {
		return 0, 0, false
	}
	return v, kind, true
}
