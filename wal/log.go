package wal

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/sluicehq/sluice/objstore"
)

// DefaultMinBatchesToRetain is the number of batches PurgeOld keeps when it
// is given zero or a negative number.
const DefaultMinBatchesToRetain = 100

// batchIDDigits is the width of the zero-padded batch id in object names;
// it fits every non-negative int64, so names sort in batch order.
const batchIDDigits = 20

// Log is a write-ahead log of entries of type T, one immutable object per
// batch, named dir/<batch id zero-padded to 20 digits>. Entries are created
// once with PutIfAbsent and never rewritten; old entries are deleted with
// Purge. A Log holds no state of its own beyond its configuration: it is
// safe for concurrent use if its store is, and any number of Logs may work
// on one directory.
type Log[T any] struct {
	store objstore.Store
	dir   string
	codec Codec[T]
	err   error // a bad dir, reported by every method that touches the store
}

// NewLog returns the log of entries in directory dir of store, encoded with
// codec. dir must be a valid object name (see objstore.ValidateName); if it
// is not, every method that reads or writes returns an error saying so.
func NewLog[T any](store objstore.Store, dir string, codec Codec[T]) *Log[T] {
	l := &Log[T]{store: store, dir: dir, codec: codec}
	switch {
	case store == nil:
		l.err = fmt.Errorf("wal: log %q has no store: pass an objstore.Store", dir)
	case codec == nil:
		l.err = fmt.Errorf("wal: log %q has no codec: pass a Codec such as JSONCodec", dir)
	default:
		if err := objstore.ValidateName(dir); err != nil {
			l.err = fmt.Errorf("wal: log directory %q is not valid: %w", dir, err)
		}
	}
	return l
}

// Name returns the object name of the entry of batchID, such as
// "offsets/00000000000000000007".
func (l *Log[T]) Name(batchID int64) string {
	return l.dir + "/" + fmt.Sprintf("%0*d", batchIDDigits, batchID)
}

// check returns the log's configuration error, or an error if batchID is
// negative.
func (l *Log[T]) check(op string, batchID int64) error {
	if l.err != nil {
		return l.err
	}
	if batchID < 0 {
		return fmt.Errorf("wal: %s batch %d in %s/: batch ids start at 0", op, batchID, l.dir)
	}
	return nil
}

// Add creates the entry of batchID with PutIfAbsent. If the entry already
// exists, Add changes nothing and returns an error naming the object that
// matches ErrBatchExists and fs.ErrExist: another attempt or another query
// logged the batch first.
func (l *Log[T]) Add(ctx context.Context, batchID int64, e T) error {
	if err := l.check("adding", batchID); err != nil {
		return err
	}
	data, err := l.codec.Encode(e)
	if err != nil {
		return fmt.Errorf("wal: adding %s: %w", l.Name(batchID), err)
	}
	name := l.Name(batchID)
	if err := l.store.PutIfAbsent(ctx, name, data); err != nil {
		if objstore.IsExist(err) {
			return &existsError{object: name, location: objstore.Location(l.store), batchID: batchID, err: err}
		}
		return fmt.Errorf("wal: adding %s: %w", name, err)
	}
	return nil
}

// Get returns the entry of batchID. A missing entry gives an error wrapping
// fs.ErrNotExist; an entry that cannot be decoded gives a *CorruptionError
// naming the object.
func (l *Log[T]) Get(ctx context.Context, batchID int64) (T, error) {
	var zero T
	if err := l.check("reading", batchID); err != nil {
		return zero, err
	}
	name := l.Name(batchID)
	data, err := l.store.Get(ctx, name)
	if err != nil {
		return zero, fmt.Errorf("wal: reading batch %d: %w", batchID, err)
	}
	e, err := l.codec.Decode(data)
	if err != nil {
		return zero, withObject(name, err)
	}
	return e, nil
}

// Latest returns the entry with the highest batch id, or ok == false if the
// log is empty. Its errors are those of BatchIDs and Get.
func (l *Log[T]) Latest(ctx context.Context) (batchID int64, e T, ok bool, err error) {
	ids, err := l.BatchIDs(ctx)
	if err != nil || len(ids) == 0 {
		return 0, e, false, err
	}
	batchID = ids[len(ids)-1]
	e, err = l.Get(ctx, batchID)
	if err != nil {
		return 0, e, false, err
	}
	return batchID, e, true, nil
}

// BatchIDs returns the batch ids of the entries in the log, in ascending
// order. Every object under the log's directory must be an entry: an object
// whose name is not dir/ followed by a 20-digit batch id (a stray or
// renamed file, a nested object) gives a *CorruptionError naming it, rather
// than being skipped, because a misnamed entry silently ignored would make
// the query re-run or skip batches.
func (l *Log[T]) BatchIDs(ctx context.Context) ([]int64, error) {
	if l.err != nil {
		return nil, l.err
	}
	prefix := l.dir + "/"
	names, err := l.store.List(ctx, prefix)
	if err != nil {
		return nil, fmt.Errorf("wal: listing %s: %w", prefix, err)
	}
	ids := make([]int64, 0, len(names))
	for _, name := range names {
		id, ok := parseBatchID(strings.TrimPrefix(name, prefix))
		if !ok || !strings.HasPrefix(name, prefix) {
			return nil, &CorruptionError{Object: name, Reason: "unexpected object in log directory " + prefix, Err: errNotBatchName}
		}
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids, nil
}

// parseBatchID parses exactly batchIDDigits decimal digits.
func parseBatchID(s string) (int64, bool) {
	if len(s) != batchIDDigits {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	id, err := strconv.ParseInt(s, 10, 64)
	return id, err == nil
}

// Purge deletes the entries with batch ids below before, oldest first, so
// that an interrupted Purge leaves the log's newest entries contiguous.
func (l *Log[T]) Purge(ctx context.Context, before int64) error {
	ids, err := l.BatchIDs(ctx)
	if err != nil {
		return err
	}
	for _, id := range ids {
		if id >= before {
			break
		}
		if err := l.store.Delete(ctx, l.Name(id)); err != nil {
			return fmt.Errorf("wal: purging batches before %d: %w", before, err)
		}
	}
	return nil
}

// PurgeOld deletes the offsets and commits entries older than the last
// minBatchesToRetain batches counted back from latestBatchID (which is
// kept): entries with batch id <= latestBatchID-minBatchesToRetain. Zero or
// a negative minBatchesToRetain means DefaultMinBatchesToRetain. A nil log
// is skipped. Offsets are purged before commits.
func PurgeOld(ctx context.Context, offsets *Log[OffsetEntry], commits *Log[CommitEntry], latestBatchID int64, minBatchesToRetain int) error {
	if latestBatchID < 0 {
		return fmt.Errorf("wal: purging old batches: latest batch id %d is negative: batch ids start at 0", latestBatchID)
	}
	if minBatchesToRetain <= 0 {
		minBatchesToRetain = DefaultMinBatchesToRetain
	}
	before := latestBatchID - int64(minBatchesToRetain) + 1
	if before <= 0 {
		return nil
	}
	if offsets != nil {
		if err := offsets.Purge(ctx, before); err != nil {
			return err
		}
	}
	if commits != nil {
		if err := commits.Purge(ctx, before); err != nil {
			return err
		}
	}
	return nil
}
