// Package incremental runs a logical plan over the records of each
// micro-batch: Build turns a plan.Node into a Pipeline of physical
// Operators.
//
// Contract:
//
//   - Operator.Process borrows its input record and returns a record the
//     caller owns and releases, or nil when no rows remain. Pipeline.Process
//     borrows its input and returns records the caller owns; an empty
//     result means every row was filtered out.
//
//   - Project evaluates its expressions over whole arrays; a plain column
//     is passed on without copying. Filter drops rows whose condition is
//     false or null; when every row passes it returns its input record
//     itself (retained), and when none does it returns nil, so the common
//     cases cost no copy.
//
//   - Errors from evaluation (integer overflow, division by zero) name the
//     expression, the row and the values; a record whose schema differs
//     from its source's declared schema is refused.
//
//   - This version's operators are stateless: Stateful and
//     NeedsNoDataBatch report false, and Process is safe for concurrent
//     use. Stateful operators (aggregation, windows, joins) will load and
//     write state through the driver's batch hooks.
//
//   - Generate emits the rows of its generator with the kept input
//     columns repeated; MapBatches calls the user's function and checks
//     its output schema; a Union routes each source's records through the
//     branch that reads it, then through the operators above the union.
//
// Explain prints the physical plan with bound expressions, so implicit
// casts and folded constants are visible.
package incremental
