package dataframe

import (
	"maps"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sluicehq/sluice/plan"
)

// ParseOption configures FromJSON and FromCSV.
type ParseOption func(*parseConfig)

type parseConfig struct{ opts map[string]string }

// WithParseMode sets Spark's parse mode: "PERMISSIVE" (the default:
// malformed records become nulls, with their text in a _corrupt_record
// column if the schema has one), "DROPMALFORMED" (malformed records are
// dropped, and counted in the batch's progress as
// numDroppedMalformedRows) or "FAILFAST" (the query fails, naming the
// record's row, byte position and, for Kafka, topic, partition and
// offset).
func WithParseMode(mode string) ParseOption {
	return func(c *parseConfig) { c.opts["mode"] = mode }
}

// WithParseOptions sets Spark reader options, as DataStreamReader.option:
// mode and columnNameOfCorruptRecord for JSON; for CSV also sep (or
// delimiter), quote, escape, nullValue, nanValue, positiveInf and
// negativeInf. An unknown option is an error naming the options known.
func WithParseOptions(options map[string]string) ParseOption {
	return func(c *parseConfig) { maps.Copy(c.opts, options) }
}

// FromJSON parses column col, a string or binary column of JSON objects
// (a Kafka value, say), into the fields of schema, which replace col in
// place; the other columns are kept. It is Spark's
// select(from_json(col, schema).*) with the other columns, and honours
// all three parse modes (see WithParseMode); DROPMALFORMED drops the
// whole row. The parsed fields are nullable: a missing key or a null is
// null.
func (df *DataFrame) FromJSON(col string, schema *arrow.Schema, opts ...ParseOption) *DataFrame {
	return df.parse("FromJSON", col, plan.JSON, schema, opts)
}

// FromCSV parses column col, a string or binary column holding one CSV
// line per row, into the fields of schema (flat types, in order), which
// replace col in place; the other columns are kept. Quoting follows RFC
// 4180; WithParseOptions sets the separator, quote, escape and null
// text; parse modes are as for FromJSON, except that in PERMISSIVE mode a
// malformed line keeps the fields that converted, as Spark does.
func (df *DataFrame) FromCSV(col string, schema *arrow.Schema, opts ...ParseOption) *DataFrame {
	return df.parse("FromCSV", col, plan.CSV, schema, opts)
}

func (df *DataFrame) parse(op, col string, format plan.ParseFormat, schema *arrow.Schema, opts []ParseOption) *DataFrame {
	c := parseConfig{opts: map[string]string{}}
	for _, o := range opts {
		o(&c)
	}
	return df.derive(op, func() (plan.Node, error) {
		return plan.NewParse(df.node, col, format, schema, c.opts)
	})
}
