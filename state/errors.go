package state

import (
	"errors"
	"fmt"
)

// CorruptionError reports that a state object exists but cannot be used: it
// is empty, truncated, fails its checksum, is not in the state format, is
// in a format version this Sluice does not read, or does not match its
// name. A state directory holding an object whose name is not a state
// object name is reported the same way. Test for it with errors.As. A
// query must not run on a checkpoint with a corrupt state object: the
// object is left as it was, for a person to inspect.
type CorruptionError struct {
	// Object is the object's name in the checkpoint store, such as
	// "state/aggregate-0/3/00000000000000000007.delta". It is empty when
	// the decoder reports the error before the name is attached.
	Object string
	// Reason says what is wrong and where, such as "record 12: key length
	// 900 runs past the end of block 0".
	Reason string
	// Err is the underlying error, if any.
	Err error
}

// Errors that select the hint of a CorruptionError.
var (
	errNewerVersion   = errors.New("unsupported format version")
	errNotStateObject = errors.New("the name is not <20-digit version>.delta or <20-digit version>.snapshot")
)

func (e *CorruptionError) Error() string {
	object := e.Object
	if object == "" {
		object = "state object"
	}
	msg := "state: corrupt " + object + ": " + e.Reason
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
	case errors.Is(e.Err, errNotStateObject):
		return "a state partition directory holds only delta and snapshot objects: move or delete this object"
	default:
		return "the object is damaged or was not written by Sluice: restore it from a backup, or start the query on a new checkpoint"
	}
}

// Unwrap returns the underlying error.
func (e *CorruptionError) Unwrap() error { return e.Err }

// corrupt returns a CorruptionError without an object name.
func corrupt(err error, format string, args ...any) *CorruptionError {
	return &CorruptionError{Reason: fmt.Sprintf(format, args...), Err: err}
}

// withObject returns err with object attached if it is a CorruptionError,
// and err unchanged otherwise.
func withObject(object string, err error) error {
	var ce *CorruptionError
	if errors.As(err, &ce) {
		c := *ce
		c.Object = object
		return &c
	}
	return err
}
