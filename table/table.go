package table

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"
)

// Table is a static table: a schema and the Arrow records holding its
// rows. It is reference counted: the creator holds one reference and each
// Retain adds one; the records are released with the last Release. A
// Table is immutable and safe for concurrent reads.
type Table struct {
	schema *arrow.Schema
	recs   []arrow.RecordBatch
	rows   int64
	refs   atomic.Int64
	name   string
}

// FromRecords returns an in-memory table of schema holding recs, which it
// retains (the caller keeps its own references and releases them as
// usual). The caller releases the Table. Every record must have schema's
// column names and types (field metadata may differ). Records without rows
// are allowed.
func FromRecords(schema *arrow.Schema, recs ...arrow.RecordBatch) (*Table, error) {
	if schema == nil {
		return nil, errors.New("table: FromRecords: schema is nil")
	}
	if err := checkNames(schema); err != nil {
		return nil, fmt.Errorf("table: FromRecords: %w", err)
	}
	for i, r := range recs {
		if r == nil {
			return nil, fmt.Errorf("table: FromRecords: record %d is nil", i)
		}
		if err := sameColumns(r.Schema(), schema); err != nil {
			return nil, fmt.Errorf("table: FromRecords: record %d: %w", i, err)
		}
	}
	t := newTable(schema, recs, true)
	t.name = "memory table [" + columnList(schema) + "]"
	return t, nil
}

// newTable takes recs (retaining them first when retain is set).
func newTable(schema *arrow.Schema, recs []arrow.RecordBatch, retain bool) *Table {
	t := &Table{schema: schema, recs: make([]arrow.RecordBatch, 0, len(recs))}
	for _, r := range recs {
		if retain {
			r.Retain()
		}
		t.rows += r.NumRows()
		t.recs = append(t.recs, r)
	}
	t.refs.Store(1)
	return t
}

// Schema is the table's schema.
func (t *Table) Schema() *arrow.Schema { return t.schema }

// NumRows is the number of rows of all records.
func (t *Table) NumRows() int64 { return t.rows }

// Records returns the table's records in order. They are borrowed: valid
// while the caller holds a reference to the Table; retain one to keep it
// longer.
func (t *Table) Records() []arrow.RecordBatch { return t.recs }

// Retain adds a reference.
func (t *Table) Retain() { t.refs.Add(1) }

// Release drops a reference; the last one releases the records.
func (t *Table) Release() {
	n := t.refs.Add(-1)
	switch {
	case n == 0:
		for _, r := range t.recs {
			r.Release()
		}
		t.recs = nil
	case n < 0:
		panic("table: Release called more often than Retain")
	}
}

// String describes the table.
func (t *Table) String() string {
	if t.name != "" {
		return t.name
	}
	return "table [" + columnList(t.schema) + "]"
}

// Load returns the table itself with a new reference (the caller releases
// it) and the version of an in-memory table, which never changes.
func (t *Table) Load(context.Context) (*Table, Version, error) {
	t.Retain()
	return t, Version{Objects: []Object{{Name: "memory", Size: t.rows}}}, nil
}

// Changed is always false: an in-memory table never changes.
func (t *Table) Changed(context.Context, Version) (bool, error) { return false, nil }

// Source is where a static table comes from: an in-memory *Table, or files
// in an object store (Parquet, CSV). A stream-static join loads it at its
// first batch and may reload it later.
type Source interface {
	// Schema is the schema of every table Load returns.
	Schema() *arrow.Schema
	// Load reads the table. The caller releases the Table. The Version
	// identifies what was read, for Changed.
	Load(ctx context.Context) (*Table, Version, error)
	// Changed reports whether Load would now read something other than
	// what it read at version since.
	Changed(ctx context.Context, since Version) (bool, error)
	// String describes the source (its location) for logs and Explain.
	String() string
}

// Version identifies the contents a Source's Load read: the objects read,
// sorted by name, each with its size and a tag (a modification time, a
// content hash or a sink log entry) that changes when the object does.
type Version struct {
	Objects []Object
}

// Object is one object of a Version.
type Object struct {
	Name string
	Size int64
	Tag  string
}

// Equal reports whether v and o name the same objects with the same sizes
// and tags.
func (v Version) Equal(o Version) bool {
	if len(v.Objects) != len(o.Objects) {
		return false
	}
	for i, a := range v.Objects {
		if a != o.Objects[i] {
			return false
		}
	}
	return true
}

// String is a short description for logs: the number of objects and bytes
// and the last object's name.
func (v Version) String() string {
	if len(v.Objects) == 0 {
		return "no objects"
	}
	var size int64
	for _, o := range v.Objects {
		size += max(o.Size, 0)
	}
	return strconv.Itoa(len(v.Objects)) + " objects, " + strconv.FormatInt(size, 10) + " bytes, last " + v.Objects[len(v.Objects)-1].Name
}

// sameColumns reports how got differs from want in column names and
// types.
func sameColumns(got, want *arrow.Schema) error {
	if got.NumFields() != want.NumFields() {
		return fmt.Errorf("it has %d columns (%s), the table has %d (%s)", got.NumFields(), columnList(got), want.NumFields(), columnList(want))
	}
	for i, w := range want.Fields() {
		g := got.Field(i)
		if g.Name != w.Name || !arrow.TypeEqual(g.Type, w.Type) {
			return fmt.Errorf("column %d is %q %s, the table's is %q %s", i, g.Name, g.Type, w.Name, w.Type)
		}
	}
	return nil
}

func checkNames(s *arrow.Schema) error {
	seen := map[string]bool{}
	for _, f := range s.Fields() {
		if f.Name == "" {
			return errors.New("the schema has a column without a name")
		}
		if seen[f.Name] {
			return fmt.Errorf("the schema has two columns named %q; give them distinct names", f.Name)
		}
		seen[f.Name] = true
	}
	return nil
}

func columnList(s *arrow.Schema) string {
	parts := make([]string, s.NumFields())
	for i, f := range s.Fields() {
		parts[i] = f.Name + " " + f.Type.String()
	}
	return strings.Join(parts, ", ")
}
