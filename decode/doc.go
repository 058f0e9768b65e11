// Package decode turns raw JSON and CSV records into Arrow columns of a
// given schema, fast: a hand-written, schema-driven scanner reads each
// record once and appends its values straight to the output buffers,
// without reflection, maps of values or allocations per record.
//
//	d, err := decode.NewJSON(schema, decode.WithMode(decode.Permissive))
//	res, err := d.Decode(values, mem) // values: string or binary array, one record per row
//	defer res.Release()
//	rec := res.Record()               // one column per schema field; caller releases
//
// Contract:
//
//   - A decoder (JSONDecoder, CSVDecoder) is immutable and safe for
//     concurrent Decode calls. Decode borrows its input array (sliced
//     arrays are fine) and returns a *Result that owns its arrays:
//     the caller calls Release. Result.Array and Result.Record return
//     new references the caller releases too. Memory comes from the
//     allocator given to Decode.
//   - Output fields are all nullable, as Spark's from_json makes them: a
//     missing key, a JSON null, a null or empty record are nulls.
//   - JSON: keys match field names exactly; unknown keys are skipped (and
//     still checked to be valid JSON); a repeated key keeps its last
//     value. Numbers are parsed from the bytes; integers must be whole
//     and in range; floats accept NaN and ±Infinity (also quoted, as
//     Spark); decimals round half up to the field's scale and must fit
//     its precision; binary is base64; dates are yyyy-[m]m-[d]d;
//     timestamps are ISO 8601 strings (yyyy-MM-dd'T'HH:mm:ss[.ffffff]
//     with Z, ±hh:mm, ±hhmm or none for UTC; a space may replace the T)
//     or whole seconds since the epoch. A string field given any other
//     JSON value keeps that value's JSON text, as Spark does. Nesting
//     deeper than 1000 levels is malformed.
//   - CSV: one record per value, fields in schema order; RFC 4180 quoting
//     (delimiter, quote and escape configurable); nullValue (default "")
//     marks nulls.
//   - Parse modes, as Spark's: Permissive (default) keeps a malformed
//     record as a row — all nulls for JSON, the fields that converted for
//     CSV — with its text in the corrupt record column when the schema
//     has one (a string field named "_corrupt_record", or as set by
//     WithCorruptRecordColumn); DropMalformed leaves it out; FailFast
//     returns a *MalformedError (errors.Is ErrMalformed) naming the row,
//     the byte position in the record and the reason. In every mode
//     Result.Malformed lists the malformed rows with position and reason.
//   - SourcePosition names a record's Kafka topic, partition and offset
//     from the columns of the record it came in, for FailFast errors.
package decode
