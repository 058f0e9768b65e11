// Package arrowrows converts between Arrow record batches and rows of plain
// Go values. It exists for tests, the console and memory sinks, and the
// memory source: places where a row-at-a-time view is convenient and speed
// does not matter. Engine code paths work on whole columns and never use it.
//
// The Go value of a cell (Value, Rows) is:
//
//	null                               nil
//	bool                               bool
//	int8, int16, int32, int64          int64
//	uint8, uint16, uint32              int64
//	uint64                             uint64 (it may not fit an int64)
//	float16, float32, float64          float64
//	string, large_string, string_view  string
//	binary, large_binary, binary_view,
//	fixed_size_binary                  []byte (a copy: safe after Release)
//	timestamp                          time.Time in UTC
//	date32, date64                     time.Time at midnight UTC
//	duration                           time.Duration
//	decimal32/64/128/256               string with all scale digits: "12.50"
//	dictionary                         the Go value of the dictionary entry
//	anything else                      the array's ValueStr
//
// Build goes the other way, from Go values to a record batch.
//
// Nothing here keeps a reference to an Arrow array after returning, except
// the record returned by Build, which the caller owns.
package arrowrows
