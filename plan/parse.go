package plan

import (
	"errors"
	"fmt"
	"maps"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sluicehq/sluice/decode"
)

// ParseFormat is the text format a Parse node reads.
type ParseFormat string

// The formats Parse reads.
const (
	JSON ParseFormat = "json"
	CSV  ParseFormat = "csv"
)

// Parse decodes one string or binary column of its input, holding one
// JSON or CSV record per row, into the fields of a schema, which replace
// that column in place (Spark's select(from_json(col, schema).*) keeping
// the other columns). Malformed records are handled by the parse mode:
// PERMISSIVE (nulls, and the raw record in a _corrupt_record column if
// the schema has one), DROPMALFORMED (the row is dropped and counted) or
// FAILFAST (the query fails naming the record). Build it with NewParse.
type Parse struct {
	Input  Node
	Column string
	Format ParseFormat
	// Fields is the schema given to parse into; the output has its fields
	// made nullable.
	Fields *arrow.Schema
	// Options are Spark's reader options (mode, columnNameOfCorruptRecord,
	// and for CSV sep, quote, escape, nullValue, nanValue, positiveInf,
	// negativeInf).
	Options map[string]string
	col     int
	dec     decode.Decoder
	schema  *arrow.Schema
}

// NewParse returns the node parsing column of input as format into the
// fields of schema, with Spark's reader options. It fails when the column
// is missing (naming the columns there are) or not a string or binary,
// when the format is unknown, the schema empty or not decodable, an
// option unknown or invalid, or a parsed field has the name of another
// input column.
func NewParse(input Node, column string, format ParseFormat, schema *arrow.Schema, options map[string]string) (*Parse, error) {
	if input == nil {
		return nil, errors.New("plan: Parse: input is nil")
	}
	if schema == nil || schema.NumFields() == 0 {
		return nil, fmt.Errorf("plan: Parse %s: the schema has no fields; give the fields to parse the records into", column)
	}
	in := input.Schema()
	idx := in.FieldIndices(column)
	switch {
	case len(idx) == 0:
		return nil, fmt.Errorf("plan: Parse: no column %q to parse; the input has %s", column, fieldNames(in))
	case len(idx) > 1:
		return nil, fmt.Errorf("plan: Parse: the input has %d columns named %q; rename them first", len(idx), column)
	}
	col := idx[0]
	if t := in.Field(col).Type.ID(); t != arrow.STRING && t != arrow.BINARY {
		return nil, fmt.Errorf("plan: Parse: column %q is %s; records to parse must be a string or binary column", column, in.Field(col).Type)
	}
	var (
		dec decode.Decoder
		err error
	)
	switch format {
	case JSON:
		var opts []decode.Option
		if opts, err = decode.JSONOptions(options); err == nil {
			dec, err = decode.NewJSON(schema, opts...)
		}
	case CSV:
		var opts []decode.Option
		if opts, err = decode.CSVOptions(options); err == nil {
			dec, err = decode.NewCSV(schema, opts...)
		}
	default:
		return nil, fmt.Errorf("plan: Parse: unknown format %q; use %q or %q", format, JSON, CSV)
	}
	if err != nil {
		return nil, fmt.Errorf("plan: Parse %s: %w", column, err)
	}
	fields := make([]arrow.Field, 0, in.NumFields()-1+dec.Schema().NumFields())
	fields = append(fields, in.Fields()[:col]...)
	fields = append(fields, dec.Schema().Fields()...)
	fields = append(fields, in.Fields()[col+1:]...)
	seen := make(map[string]bool, len(fields))
	for _, f := range fields {
		if seen[f.Name] {
			return nil, fmt.Errorf("plan: Parse %s: the parsed field %q has the name of another column of the input; rename or drop that column first", column, f.Name)
		}
		seen[f.Name] = true
	}
	return &Parse{
		Input: input, Column: column, Format: format, Fields: schema, Options: maps.Clone(options),
		col: col, dec: dec, schema: arrow.NewSchema(fields, nil),
	}, nil
}

// Schema is the input's columns with the parsed column replaced, in its
// place, by the parsed fields (all nullable).
func (p *Parse) Schema() *arrow.Schema { return p.schema }

// Children is the input.
func (p *Parse) Children() []Node { return []Node{p.Input} }

// ColumnIndex is the index of the parsed column in the input.
func (p *Parse) ColumnIndex() int { return p.col }

// Decoder is the decoder of the records, shared and safe for concurrent
// use.
func (p *Parse) Decoder() decode.Decoder { return p.dec }

// Mode is the parse mode.
func (p *Parse) Mode() decode.Mode {
	if p.dec == nil {
		return decode.Permissive
	}
	return p.dec.Mode()
}

func (p *Parse) String() string {
	if p.dec == nil {
		return fmt.Sprintf("Parse %s %s", strings.ToUpper(string(p.Format)), p.Column)
	}
	names := make([]string, p.dec.Schema().NumFields())
	for i, f := range p.dec.Schema().Fields() {
		names[i] = f.Name
	}
	return fmt.Sprintf("Parse %s %s into [%s], mode %s", strings.ToUpper(string(p.Format)), p.Column, strings.Join(names, ", "), p.dec.Mode())
}

// WithChildren parses the same column of children[0].
func (p *Parse) WithChildren(children []Node) (Node, error) {
	if err := oneChild(p, children); err != nil {
		return nil, err
	}
	return NewParse(children[0], p.Column, p.Format, p.Fields, p.Options)
}
