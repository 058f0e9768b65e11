package wal

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"

	"github.com/sluicehq/sluice/objstore"
)

// MetadataObject is the name of the checkpoint's metadata object.
const MetadataObject = "metadata"

// Metadata is the checkpoint's "metadata" object: {"id":"<uuid v4>"}, the
// query's id, fixed when the checkpoint is created. Format version 1 writes
// no version field; a reader refuses a "version" other than 1.
type Metadata struct {
	ID string `json:"id"`
}

// LoadOrCreateMetadata reads the checkpoint's metadata object, or creates it
// with a new random id if there is none; created says which. It creates the
// object with PutIfAbsent: if a concurrent caller creates it first, their
// metadata is read and returned with created == false. An object that
// cannot be decoded gives a *CorruptionError.
func LoadOrCreateMetadata(ctx context.Context, store objstore.Store) (Metadata, bool, error) {
	if store == nil {
		return Metadata{}, false, fmt.Errorf("wal: loading metadata: no store: pass the checkpoint's objstore.Store")
	}
	md, err := loadMetadata(ctx, store)
	if err == nil || !objstore.IsNotExist(err) {
		return md, false, err
	}
	md = Metadata{ID: newUUID()}
	data, err := encodeMetadata(md)
	if err != nil {
		return Metadata{}, false, err
	}
	switch err := store.PutIfAbsent(ctx, MetadataObject, data); {
	case err == nil:
		return md, true, nil
	case objstore.IsExist(err):
		md, err := loadMetadata(ctx, store)
		return md, false, err
	default:
		return Metadata{}, false, fmt.Errorf("wal: creating the checkpoint metadata: %w", err)
	}
}

func loadMetadata(ctx context.Context, store objstore.Store) (Metadata, error) {
	data, err := store.Get(ctx, MetadataObject)
	if err != nil {
		return Metadata{}, fmt.Errorf("wal: reading the checkpoint metadata: %w", err)
	}
	md, err := decodeMetadata(data)
	if err != nil {
		return Metadata{}, withObject(MetadataObject, err)
	}
	return md, nil
}

// encodeMetadata returns md as one-line JSON and a newline.
func encodeMetadata(md Metadata) ([]byte, error) {
	j, err := json.Marshal(md)
	if err != nil {
		return nil, fmt.Errorf("wal: encoding metadata: %w", err)
	}
	return append(j, '\n'), nil
}

// metadataObject is the metadata as read: Version detects newer formats.
type metadataObject struct {
	ID      *string         `json:"id"`
	Version json.RawMessage `json:"version"`
}

// decodeMetadata parses a metadata object: one JSON object, surrounding
// whitespace allowed, unknown fields ignored, with a non-empty string "id"
// and no "version" other than 1.
func decodeMetadata(data []byte) (Metadata, error) {
	t := bytes.TrimSpace(data)
	switch {
	case len(t) == 0:
		return Metadata{}, corrupt(nil, "empty object, want a JSON object such as {\"id\":\"...\"}")
	case t[0] != '{':
		return Metadata{}, corrupt(nil, "%s is not a JSON object", quoteLine(t))
	}
	var m metadataObject
	if err := json.Unmarshal(t, &m); err != nil {
		return Metadata{}, corrupt(err, "not valid JSON")
	}
	if m.Version != nil && string(m.Version) != "1" {
		var n int64
		if json.Unmarshal(m.Version, &n) == nil && n > FormatVersion {
			return Metadata{}, corrupt(errNewerVersion, "format version %d, this Sluice reads up to %d", n, FormatVersion)
		}
		return Metadata{}, corrupt(nil, "version %s is not a format version", quoteLine(m.Version))
	}
	switch {
	case m.ID == nil:
		return Metadata{}, corrupt(nil, "no \"id\" field")
	case *m.ID == "":
		return Metadata{}, corrupt(nil, "empty \"id\"")
	}
	return Metadata{ID: *m.ID}, nil
}

// newUUID returns a random (version 4) UUID in its canonical form.
func newUUID() string {
	var u [16]byte
	rand.Read(u[:]) // never fails: the runtime aborts if the system source does
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	var s [36]byte
	hex.Encode(s[0:8], u[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], u[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], u[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], u[8:10])
	s[23] = '-'
	hex.Encode(s[24:], u[10:])
	return string(s[:])
}
