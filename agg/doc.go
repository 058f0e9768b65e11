// Package agg implements Sluice's aggregate functions as vectorized
// accumulators whose partial state is mergeable and serializable, for a
// streaming hash aggregation that keeps each group's state in a key-value
// state store between micro-batches.
//
// Bind an aggregate function to its argument types, then let an
// accumulator hold the partial aggregates of a dense range of groups:
//
//	f, err := agg.Bind("sum", []arrow.DataType{arrow.PrimitiveTypes.Int64})
//	acc := f.NewAccumulator()
//	acc.Grow(numGroups)
//	err = acc.Update([]arrow.Array{values}, gids) // gids[i] is row i's group, -1 skips it
//	old, err = acc.MergeState(g, stored)          // stored: state from earlier batches
//	stored = acc.AppendState(stored[:0], g)       // write back the merged state
//	acc.Finish(g, builder)                        // a builder of f.ResultType()
//
// # Contract
//
//   - A Func is immutable and safe for concurrent use. Bind reports an
//     unknown name, a wrong number of arguments or parameters, and an
//     unsupported type, naming the function and the argument and saying
//     what is accepted. Decimal arguments are not supported yet: CAST them
//     to DOUBLE.
//   - An Accumulator is not safe for concurrent use, except that
//     MergeState, AppendState and Finish on distinct groups may run on
//     different goroutines at the same time, each with its own builder, as
//     long as no Grow, Update or Reset runs concurrently. Every accumulator
//     keeps its groups in per-group slice elements (never shared bitmaps),
//     which is what makes that hold.
//   - Update borrows its argument arrays and retains nothing of them:
//     strings and binaries that are kept are copied. It does no per-row
//     heap allocation for fixed-width arguments, except that collect_list,
//     collect_set and approx_percentile store the values they keep. It
//     reads each array's values once per call, switching on the type
//     once, not per row. On error (sum overflow, a row count that does not
//     match the group ids) the groups hold unspecified partial values and
//     the caller fails the batch.
//   - MergeState takes state written by AppendState of an accumulator of
//     the same Func (same function, argument type and parameters), and src
//     holds input that arrived earlier than what the group already holds:
//     first keeps src's value, last keeps the group's, collect_list puts
//     src's values first. Merging is otherwise order-insensitive. Bytes
//     that are not such a state give an error wrapping ErrCorruptState and
//     naming the function and group, and leave the group unchanged. Merging
//     two groups' states (session windows) is AppendState of one followed
//     by MergeState into the other.
//   - The state bytes are durable: they are written into checkpoints and
//     must be readable by later versions. docs/format/aggregate-state.md
//     specifies them per function; golden tests in testdata/ pin them.
//   - Finish appends exactly one value to its builder, which owns it. The
//     caller owns the builder and the arrays built from it. Nothing in this
//     package returns an Arrow array or record.
//
// # Functions (Spark semantics)
//
//	name                      args                  params                 result
//	count                     none (count(*)) or 1  -                      int64: rows, or non-null values; 0 when none
//	count_if                  1 boolean             -                      int64: rows that are true
//	sum                       1 numeric             -                      int64 for integers (overflow is an error wrapping ErrOverflow), float64 for floats; null when no non-null input
//	avg, mean                 1 numeric             -                      float64; null when none
//	min, max                  1 ordered             -                      the input type; null when none; NaN is above every other float
//	first, last               1 ordered             ignoreNulls bool       the input type: the first or last row in arrival order (false: that row even if null)
//	var_samp (variance), var_pop,
//	stddev_samp (stddev), stddev_pop
//	                          1 numeric             -                      float64; samp is null for fewer than 2 values, pop for none
//	approx_count_distinct     1 ordered             rsd float64 (0.05)     int64: HyperLogLog++ estimate; 0 when none
//	approx_percentile,
//	percentile_approx         1 numeric, date or timestamp
//	                                                percentage float64 or []float64 in [0, 1], accuracy int (10000)
//	                                                                       the input type, or a list of it for []float64: a value that occurred in the input
//	collect_list              1 ordered             -                      list of the input type, arrival order, nulls skipped; empty list when none
//	collect_set               1 ordered             -                      list of distinct values in order of first occurrence; -0.0 equals 0.0, NaN equals NaN
//
// "numeric" is int8..int64, uint8..uint64, float32 and float64; integers
// widen to int64 and uint64 values above the int64 range make sum fail.
// "ordered" is numeric, boolean, string, large_string, binary,
// large_binary, date32, date64, time32, time64, timestamp (any unit) and
// duration. Nulls are skipped by every function except first and last
// without ignoreNulls, and count(*).
//
// # Approximate functions
//
// approx_count_distinct hashes each value's canonical bytes with XXH64
// (floats normalized so that -0.0 equals 0.0 and every NaN is equal) into
// a HyperLogLog sketch of 2^p registers, p = ceil(2*log2(1.106/rsd))
// clamped to [4, 16]. Small groups are kept as HyperLogLog++ sparse
// entries and counted by linear counting over 2^25 buckets, which is exact
// in practice up to 2^p/4 distinct values; larger ones use Ertl's improved
// estimator, with a relative standard error near 1.04/sqrt(2^p).
//
// approx_percentile keeps a deterministic stack of compactors (no random
// numbers) with 2*accuracy values per level; a group with at most that
// many values is exact, and the rank error of a result is bounded as
// docs/format/aggregate-state.md states, about n/accuracy in practice.
package agg
