// Package kafka is a Source that reads Kafka topics as Arrow records, the
// counterpart of Spark's Kafka source, built on the sarama client.
//
//	src, err := kafka.New(ctx,
//		kafka.WithBrokers("broker1:9092", "broker2:9092"),
//		kafka.WithTopics("clicks"),
//		kafka.WithMaxOffsetsPerTrigger(100_000))
//
// # Rows
//
// Every record has Spark's Kafka schema (see Schema): key and value as
// binary (null when Kafka's is null), topic, partition, offset, timestamp
// (microseconds, UTC; Kafka's millisecond timestamp times 1000),
// timestampType (0 create time, 1 log-append time, -1 none for message
// format v0) and headers, a list of (key string, value binary) in record
// order, null when a record has none.
//
// # Offsets
//
// A source offset is Spark's JSON, {"topic":{"0":123,"1":456}}: for each
// partition, the next offset to read. The source.Source contract reads
// (start, end]; with "next offset" numbers that is, per partition, the
// Kafka offsets [start, end), exactly the records Spark reads for the same
// JSON. A partition missing from start (one that appeared after start was
// taken) is read from offset 0. Offsets with no record in the range are
// gaps: transaction markers, aborted records under read_committed, and
// records removed by compaction. Offsets are written with topics sorted by
// name and partitions by number, so equal offsets are equal bytes. The
// format is documented in docs/format/kafka-source.md.
//
// # Where a query starts
//
// The first LatestOffset with a nil start resolves WithStartingOffsets
// (Earliest, Latest, SpecificOffsets, ByTimestamp, SpecificTimestamps) to
// offsets for every partition subscribed at that moment. With a checkpoint
// (Init), they are kept in the object InitialOffsetsObject of the source's
// checkpoint folder, created with PutIfAbsent, and read back by every later
// run: a restart before the first batch commits starts from the same
// offsets, as in Spark, instead of resolving "latest" again. Partitions
// and topics that appear later start at their beginning.
//
// # Batches
//
// LatestOffset refreshes the metadata, so new partitions and, with
// WithTopicPattern, new matching topics are picked up, and asks each
// partition's leader for its latest offset: the high watermark, or under
// ReadCommitted the last stable offset (a ListOffsets request of version 2
// or later with the isolation level, which sarama's GetOffset does not
// send). It never waits for data. A read limit (the driver's, or
// WithMaxOffsetsPerTrigger through source.RateLimiter) is split across the
// partitions with new data in proportion to their backlogs, each getting
// at least one offset when the limit allows, with a deterministic
// remainder (see WithMaxOffsetsPerTrigger).
//
// Read fetches each partition's range from its leader with Fetch requests
// built here, so a read stops exactly at the end offset; partitions are
// read in parallel, at most 2*GOMAXPROCS at a time, and decoded straight
// into Arrow builders. The records come out ordered by topic, partition
// and offset, whatever the timing, so a re-run batch gives the same rows.
//
// # Lost data, deleted topics, unreachable brokers
//
// If offsets a batch must read are gone (retention, DeleteRecords,
// truncation), the batch fails with an error naming the topic, partition,
// the offsets wanted and those available, unless WithFailOnDataLoss(false)
// is set: then the gone offsets are skipped with a slog warning and
// counted (DataLossCount, Metrics). A subscribed topic that is missing at
// New or deleted while the query runs is an error naming it. Requests that
// fail for transient reasons are retried a bounded number of times
// (WithRetries); brokers that cannot be reached give an error naming the
// bootstrap addresses.
//
// # Capabilities
//
// Source implements source.Initializer (the initial offsets),
// source.RateLimiter (WithMaxOffsetsPerTrigger), source.AvailableNower
// (PrepareForAvailableNow pins the latest offsets of the partitions
// subscribed at that moment), source.Committer (with WithConsumerGroup,
// each committed batch's end offsets are committed to the group so that
// lag tools see the query; the group never decides where the query reads)
// and source.Describer ("KafkaSource[subscribe=clicks]"). Close closes
// the client. All methods are safe for concurrent use.
//
// ParseOptions maps Spark's option names (kafka.bootstrap.servers,
// subscribe, startingOffsets, ...) to Options for the SQL layer.
package kafka
