package expr

import "github.com/apache/arrow-go/v18/arrow"

// from_csv: Spark's from_csv(col, schema[, options]) on the decode
// package's CSV decoder; binding and evaluation are shared with from_json
// (json.go).

func init() {
	register(&funcDef{name: "from_csv", minArgs: 2, maxArgs: 3, bind: typedBind(func(b *binder, src string, args []bnode) (bnode, error) {
		return bindParseCall(b, src, "from_csv", args)
	})})
}

// FromCSV parses e, a string or binary column holding one CSV line per
// row, into a struct of schema's fields (all nullable, flat types), as
// Spark's from_csv. options are Spark's CSV options: mode (PERMISSIVE,
// the default, or FAILFAST; DROPMALFORMED is refused at Bind, see
// DataFrame.FromCSV), sep, quote, escape, nullValue, nanValue,
// positiveInf, negativeInf and columnNameOfCorruptRecord. In PERMISSIVE
// mode a malformed line keeps the fields that converted and nulls the
// others, with the line in a "_corrupt_record" string field if schema has
// one; in FAILFAST mode it fails the evaluation with an error naming the
// row, byte position and, for Kafka records, the topic, partition and
// offset. A null or empty input gives null.
//
// In SQL form: from_csv(value, 'a INT, b STRING', map('sep', ';')).
func FromCSV(e Expr, schema *arrow.Schema, options map[string]string) Expr {
	var t arrow.DataType
	if schema != nil {
		t = arrow.StructOf(schema.Fields()...)
	}
	opts := make(map[string]string, len(options))
	for k, v := range options {
		opts[k] = v
	}
	return Expr{&parseNode{fn: "from_csv", x: e.n, typ: t, opts: opts}}
}
