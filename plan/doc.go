// Package plan holds Sluice's logical plan: the tree of relational
// operations a streaming query is made of, independent of how it runs.
//
// Nodes are built by constructors that check them as they are built:
// NewProject and NewFilter bind their expressions to the input's schema
// (so an unknown column or a type error is reported where the query is
// written, naming the expression), refuse duplicate output names and
// non-boolean conditions. A built Node is immutable and knows its output
// Schema.
//
// Scan is a leaf reading one of the query's sources, by index in the
// query's source list. Sources lists the scans of a plan in order. Union
// combines inputs of one schema by position; Generate runs a generator
// (explode and friends) that turns one row into zero or more; MapBatches
// runs a Go function over whole record batches. Every node implements
// Rebuilder, so plans can be rewritten (ReindexSources renumbers scans
// when two DataFrames are unioned).
//
// Watermark declares an event-time column and how late its rows may be;
// Aggregate groups rows by keys (at most one an event-time window:
// tumbling, sliding or session) and computes aggregate functions of the
// agg package per group, with state kept across batches. The aggregation
// knows which key a watermark bounds in event time (EventTimeKey), which is
// what lets append mode finalize groups and state be evicted.
//
// Dedup removes duplicate rows; StaticJoin joins a stream with a static
// table; StreamJoin joins two streams; TransformWithState runs a user's
// stateful processor per key. Nodes with streaming rules of their own
// implement StreamingChecker, and those that keep state StatefulNode
// (IsStateful tells whether a plan needs a state store).
//
// OutputMode is how results are written (Spark's append, update,
// complete); CheckStreaming says whether a plan can run in a mode, with
// Spark's messages when it cannot. Explain prints a plan as Spark's
// "== Logical Plan ==" tree.
package plan
