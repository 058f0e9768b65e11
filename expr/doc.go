// Package expr is Sluice's expression language: a tree of column
// references, literals and operations, bound to an Arrow schema and
// evaluated over whole arrays.
//
// Build expressions with Col and Lit and their methods:
//
//	cond := expr.Col("value").Gt(expr.Lit(10)).And(expr.Col("kind").Eq(expr.Lit("click")))
//	b, err := cond.Bind(schema) // resolve columns, type-check, fold constants
//	mask, err := b.Eval(ctx, rec, mem) // a boolean array of rec.NumRows() rows; caller releases it
//
// Contract:
//
//   - An Expr is an immutable value; a Bound is immutable and safe for
//     concurrent use. Bind reports every mistake that can be known from the
//     schema (unknown column, with the closest name and the columns
//     available; operand types that do not fit, naming the expression), so
//     evaluation fails only on data: integer overflow (ErrOverflow) and
//     division by zero (ErrDivideByZero), each naming the expression, the
//     row and the values, as Spark does in ANSI mode.
//   - Semantics follow Spark SQL: comparisons and arithmetic are null when
//     an operand is null; AND and OR use three-valued (Kleene) logic; '/'
//     divides as doubles; numeric operands widen to a common type
//     (int32 with int64 is int64, an integer with a float is float64); a
//     constant takes the other operand's type when it converts exactly.
//     Constant subtrees are evaluated once, at Bind.
//   - Eval borrows its record and returns an array the caller owns and
//     must Release. A column reference returns the record's column
//     retained, not copied. Arrays are allocated from the allocator given
//     to Eval.
//   - Date and time functions (year, date_format, to_timestamp, ...)
//     compute calendar fields in the session time zone given to Eval's
//     context with WithSessionTimeZone (UTC by default), and
//     current_timestamp is the batch time of WithBatchTime, so the same
//     batch gives the same result when it is run again. Text that does
//     not read as a date or time is an error (ErrParseDateTime) naming the
//     value, the pattern and the row; try_to_timestamp gives null instead.
//   - String functions (lower, substring, split, regexp_replace, lpad, ...)
//     count characters as Unicode code points; bytes that are not valid
//     UTF-8 are kept as they are and count as one character each. Regular
//     expressions use RE2 syntax; a constant pattern is compiled at Bind,
//     where an invalid one fails. hash and xxhash64 equal Spark's (Murmur3
//     and XXH64 with seed 42 over Spark's encodings of each type), so
//     values hashed here and in Spark agree.
//   - Types are Spark's as Arrow types (ParseType, ParseSchema and
//     TypeString read and write Spark's names; SchemaOf derives a schema
//     from a Go struct): a timestamp is microseconds in UTC, a date is
//     date32, DECIMAL(p,s) is decimal128. Cast and TryCast convert between
//     them with Spark's ANSI rules: a value that does not fit is
//     ErrOverflow, text that does not read as the target type is ErrCast,
//     each naming the value and the row; TRY_CAST gives null instead.
//     Pairs Spark does not cast (a date to an int) fail at Bind.
//   - CASE WHEN, IF, COALESCE and the right side of AND and OR are
//     evaluated only on the rows that need them, so
//     CASE WHEN x = 0 THEN 0 ELSE 10 / x END does not fail on x = 0. IN is
//     null when nothing matches and the list holds a null; GREATEST and
//     LEAST skip nulls; structs, arrays and booleans compare as Spark
//     orders them.
//
// Comparisons, boolean logic and casts run on arrow-go compute kernels;
// arithmetic runs on this package's own checked loops, which find every
// overflow and name the failing row.
package expr
