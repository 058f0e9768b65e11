package wal

import (
	"errors"
	"fmt"
	"io/fs"
)

// CorruptionError reports that a log or metadata object exists but cannot be
// decoded: it is empty, truncated, not the format it should be, or written
// in a format version this Sluice does not read. Test for it with errors.As.
// A query must not run on a checkpoint with a corrupt object: the object is
// left as it was, for a person to inspect.
type CorruptionError struct {
	// Object is the object's name in the checkpoint store, such as
	// "offsets/00000000000000000007". It is empty when a Codec reports the
	// error before a Log has attached the name.
	Object string
	// Reason says what is wrong and where, such as "line 2: not valid JSON".
	Reason string
	// Err is the underlying error, if any.
	Err error
}

// Errors that select the hint of a CorruptionError.
var (
	errNewerVersion = errors.New("unsupported format version")
	errNotBatchName = errors.New("the name is not a 20-digit zero-padded batch id")
)

func (e *CorruptionError) Error() string {
	object := e.Object
	if object == "" {
		object = "log entry"
	}
	msg := "wal: corrupt " + object + ": " + e.Reason
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg + " (" + e.hint() + ")"
}

// hint says what a person should do about the corruption.
func (e *CorruptionError) hint() string {
	switch {
	case errors.Is(e.Err, errNewerVersion):
		return "the checkpoint was written by a newer Sluice: upgrade Sluice to read it, or start the query on a new checkpoint"
	case errors.Is(e.Err, errNotBatchName):
		return "a log directory holds only objects named by batch id: move or delete this object"
	default:
		return "the object is damaged or was not written by Sluice: restore it from a backup, or start the query on a new checkpoint"
	}
}

// Unwrap returns the underlying error.
func (e *CorruptionError) Unwrap() error { return e.Err }

// corrupt returns a CorruptionError without an object name; Log and
// LoadOrCreateMetadata attach the name.
func corrupt(err error, format string, args ...any) *CorruptionError {
	return &CorruptionError{Reason: fmt.Sprintf(format, args...), Err: err}
}

// withObject returns err as a *CorruptionError naming object. A
// CorruptionError from a codec is copied with the name attached; any other
// decoding error is wrapped.
func withObject(object string, err error) *CorruptionError {
	var ce *CorruptionError
	if errors.As(err, &ce) {
		c := *ce
		c.Object = object
		return &c
	}
	return &CorruptionError{Object: object, Reason: "cannot decode", Err: err}
}

// ErrBatchExists is matched (with errors.Is) by the error Log.Add returns
// when the batch's object already exists. It matches fs.ErrExist too.
var ErrBatchExists error = batchExists{}

type batchExists struct{}

func (batchExists) Error() string        { return "wal: batch already logged" }
func (batchExists) Is(target error) bool { return target == fs.ErrExist }

// existsError is the error of an Add whose object already exists.
type existsError struct {
	object   string
	location string
	batchID  int64
	err      error // the store's error, which wraps fs.ErrExist
}

func (e *existsError) Error() string {
	return fmt.Sprintf("wal: %s already exists in %s: batch %d is already logged, by an earlier attempt or by another query running on the same checkpoint (only one query may run on a checkpoint at a time)",
		e.object, e.location, e.batchID)
}

func (e *existsError) Is(target error) bool { return target == ErrBatchExists || target == fs.ErrExist }

func (e *existsError) Unwrap() error { return e.err }
