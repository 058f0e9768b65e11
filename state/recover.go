package state

import (
	"context"
	"encoding/binary"
	"fmt"
	"io/fs"
	"sort"
	"strings"

	"github.com/sluicehq/sluice/objstore"
)

// listObjects returns the state objects of id in checkpoint, sorted by
// version, a delta before the snapshot of the same version. An object in
// the partition directory that is not a state object gives a
// *CorruptionError naming it.
func listObjects(ctx context.Context, checkpoint objstore.Store, id StoreID) ([]object, error) {
	prefix := PartitionDir(id) + "/"
	names, err := checkpoint.List(ctx, prefix)
	if err != nil {
		return nil, fmt.Errorf("state: listing %s of %s in %s: %w", prefix, id, objstore.Location(checkpoint), err)
	}
	objs := make([]object, 0, len(names))
	for _, name := range names {
		v, kind, ok := parseObjectName(strings.TrimPrefix(name, prefix))
		if !ok {
			return nil, &CorruptionError{Object: name, Reason: "unexpected object in state directory " + prefix, Err: errNotStateObject}
		}
		objs = append(objs, object{name: name, version: v, kind: kind})
	}
	sort.Slice(objs, func(i, j int) bool {
		if objs[i].version != objs[j].version {
			return objs[i].version < objs[j].version
		}
		return objs[i].kind == kindDelta && objs[j].kind == kindSnapshot
	})
	return objs, nil
}

// recoveryPlan lists the objects that rebuild one version: the newest
// snapshot at or below it (if any) and every delta after that snapshot up
// to the version. Orphans are objects above the version.
type recoveryPlan struct {
	snapshot *object
	deltas   []object
	orphans  []object
}

// planRecovery chooses the objects that rebuild version of id from objs
// (sorted as listObjects sorts them). A missing delta gives an error
// wrapping fs.ErrNotExist.
func planRecovery(checkpoint objstore.Store, id StoreID, objs []object, version int64) (recoveryPlan, error) {
	var plan recoveryPlan
	for i := range objs {
		o := objs[i]
		switch {
		case o.version > version:
			plan.orphans = append(plan.orphans, o)
		case o.kind == kindSnapshot:
			plan.snapshot = &objs[i]
		}
	}
	from := int64(0)
	if plan.snapshot != nil {
		from = plan.snapshot.version + 1
	}
	next := from
	for _, o := range objs {
		if o.kind != kindDelta || o.version < from || o.version > version {
			continue
		}
		if o.version != next {
			break
		}
		plan.deltas = append(plan.deltas, o)
		next++
	}
	if next <= version {
		return plan, missingError(checkpoint, id, version, plan.snapshot, next)
	}
	return plan, nil
}

func missingError(checkpoint objstore.Store, id StoreID, version int64, snapshot *object, missing int64) error {
	needs := "the deltas of versions 0 to " + fmt.Sprint(version)
	if snapshot != nil {
		needs = fmt.Sprintf("snapshot %s and the deltas after it up to version %d", snapshot.name, version)
	}
	return fmt.Errorf("state: cannot recover %s at version %d from %s: %s is missing (recovery needs %s); the checkpoint is incomplete: restore the object, or start the query on a new checkpoint: %w",
		id, version, objstore.Location(checkpoint), DeltaName(id, missing), needs, fs.ErrNotExist)
}

// load rebuilds a version from the objects plan names.
func load(ctx context.Context, checkpoint objstore.Store, plan recoveryPlan) (*kv, error) {
	data := newKV(0)
	if s := plan.snapshot; s != nil {
		b, err := getObject(ctx, checkpoint, *s)
		if err != nil {
			return nil, err
		}
		data = newKV(recordCountHint(b))
		err = decodeObject(*s, b, func(op byte, key, value []byte) error {
			if !data.insert(key, value) {
				return corrupt(nil, "key %q appears twice", key)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	for _, d := range plan.deltas {
		b, err := getObject(ctx, checkpoint, d)
		if err != nil {
			return nil, err
		}
		err = decodeObject(d, b, func(op byte, key, value []byte) error {
			if op == opTombstone {
				data.del(key)
			} else {
				data.set(key, value)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return data, nil
}

// recordCountHint returns the record count in the trailer of an object,
// to size a map before decoding it, bounded by what the object's size
// allows (a record takes at least 3 bytes, and a block of them shrinks
// at most maxSnappyRatio times), so a damaged count allocates nothing
// large.
func recordCountHint(b []byte) int {
	if len(b) < headerLen+trailerLen {
		return 0
	}
	n := binary.LittleEndian.Uint64(b[len(b)-trailerLen:])
	return int(min(n, uint64(len(b))*maxSnappyRatio/3))
}

func getObject(ctx context.Context, checkpoint objstore.Store, o object) ([]byte, error) {
	b, err := checkpoint.Get(ctx, o.name)
	if err != nil {
		return nil, fmt.Errorf("state: reading %s from %s: %w", o.name, objstore.Location(checkpoint), err)
	}
	return b, nil
}

// decodeObject decodes b, the content of o, calling fn for each record,
// and checks that it holds what its name says.
func decodeObject(o object, b []byte, fn func(op byte, key, value []byte) error) error {
	h, err := decode(b, fn)
	if err != nil {
		return withObject(o.name, err)
	}
	if h.kind != o.kind || h.version != o.version {
		return &CorruptionError{Object: o.name, Reason: fmt.Sprintf("the object holds the %s of version %d, its name says the %s of version %d", h.kind, h.version, o.kind, o.version)}
	}
	return nil
}

// ReadVersion calls fn for each key of version of id in checkpoint until
// fn returns false, in no particular order. It reads the nearest snapshot
// at or below version and the deltas after it, and changes nothing: it is
// for tools that inspect a checkpoint, not for running queries. key and
// value are valid only during the call.
func ReadVersion(ctx context.Context, checkpoint objstore.Store, id StoreID, version int64, fn func(key, value []byte) bool) error {
	if err := id.validate(); err != nil {
		return err
	}
	if version < EmptyVersion {
		return fmt.Errorf("state: ReadVersion of %s at version %d: versions start at %d", id, version, EmptyVersion)
	}
	objs, err := listObjects(ctx, checkpoint, id)
	if err != nil {
		return err
	}
	plan, err := planRecovery(checkpoint, id, objs, version)
	if err != nil {
		return err
	}
	data, err := load(ctx, checkpoint, plan)
	if err != nil {
		return err
	}
	data.iterate(fn)
	return nil
}

// purge deletes the objects of id that recovery of versions at or above
// minVersion does not need: with S the newest snapshot at or below
// minVersion, every snapshot below S and every delta at or below S.
// Without such a snapshot every object is still needed. Objects are
// deleted oldest first, so a purge cut short leaves a checkpoint that
// still recovers.
func purge(ctx context.Context, checkpoint objstore.Store, id StoreID, minVersion int64) error {
	objs, err := listObjects(ctx, checkpoint, id)
	if err != nil {
		return err
	}
	keep := int64(-1)
	for _, o := range objs {
		if o.kind == kindSnapshot && o.version <= minVersion {
			keep = o.version
		}
	}
	if keep < 0 {
		return nil
	}
	for _, o := range objs {
		if o.version > keep || (o.version == keep && o.kind == kindSnapshot) {
			break
		}
		if err := checkpoint.Delete(ctx, o.name); err != nil {
			return fmt.Errorf("state: purging %s of %s from %s: %w", o.name, id, objstore.Location(checkpoint), err)
		}
	}
	return nil
}
