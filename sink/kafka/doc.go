// Package kafka is a sink that writes each row of a micro-batch as one
// Kafka record, through github.com/IBM/sarama, at least once or exactly
// once.
//
//	s, err := kafka.New(
//		kafka.WithBrokers("broker1:9092", "broker2:9092"),
//		kafka.WithTopic("events"),
//		kafka.WithGuarantee(kafka.ExactlyOnce),
//	)
//
// # Columns
//
// As in Spark's Kafka sink, the rows carry the records:
//
//	value      binary or string, required; null writes a tombstone
//	key        binary or string, optional; null writes no key
//	topic      string; required unless WithTopic, which overrides it
//	partition  int32, optional; null lets the partitioner choose
//	headers    list<struct<key: string, value: binary>>, optional
//
// "binary" means binary, large_binary or binary_view, "string" utf8,
// large_utf8 or utf8_view. Other columns are ignored. Open rejects a schema
// without a value column, or with a column of a wrong type, naming the
// column and the accepted types; AddBatch rejects a row with a null or
// empty topic, or a header with a null key, naming the row. Rows without a
// partition go where the partitioner puts them: by default murmur2 of the
// key, as the Java client (and so Spark) does, or a random partition
// without a key.
//
// # At least once
//
// AddBatch sends every row with an idempotent producer (acks from all
// in-sync replicas, one request in flight per broker, retries) and returns
// once every record is acknowledged. When a batch is replayed after a
// crash, its rows are sent again: consumers may see duplicates. The
// idempotent producer only removes duplicates caused by its own retries
// within one run.
//
// # Exactly once
//
// Each batch is one Kafka transaction. The transactional id is the prefix
// (WithTransactionalIDPrefix, default "sluice-") followed by the query id,
// which the checkpoint keeps stable across restarts; initialising a
// producer with it (in Open) fences any older producer of the same query,
// whose commits then fail, and aborts its open transaction.
//
// The transaction of batch N also commits an offset of the consumer group
// prefix+"sink-"+queryID on partition 0 of the marker topic
// (WithMarkerTopic, default DefaultMarkerTopic): offset N+1, with metadata
// {"v":1,"batch":N}. Kafka commits the records and the offset atomically,
// so the group's committed offset (the marker) names the last batch whose
// records are visible to read_committed consumers. AddBatch(N) reads the
// marker (a stable OffsetFetch, which waits out open transactions) after
// each producer initialisation, and skips N if the marker is at N or
// beyond; otherwise it begins a transaction, sends the rows, adds the
// marker offset and commits.
//
//   - A crash before the commit leaves an open transaction; the next run's
//     producer initialisation aborts it and the batch is written again.
//   - A crash after the commit but before the driver logs commits/N: the
//     driver re-runs N, the marker says N is done, AddBatch writes nothing.
//   - A commit that fails without saying whether it took effect (a lost
//     response): the sink re-initialises the producer, which settles the
//     transaction, re-reads the marker, and re-runs the transaction only if
//     the marker does not have N (at most three attempts).
//   - A producer fenced by a newer instance fails with ErrFenced and never
//     writes again.
//
// Consumers must read with isolation.level=read_committed; read
// uncommitted they also see aborted attempts. Batches without rows write
// nothing and do not move the marker. docs/format/kafka-sink.md describes
// the marker and its limits (it lives as long as the brokers keep the
// group's offsets, offsets.retention.minutes).
//
// # Errors
//
// Errors start with "kafka sink: " and say what to do: brokers that do not
// answer (after sarama's bounded metadata retries, naming the addresses), a
// topic that does not exist where the brokers do not create topics,
// authorization failures (naming the topic, group or transactional id to
// grant), and rows a partition column sends past the topic's partitions.
//
// # Memory
//
// Keys, values and headers are handed to sarama without copying: they point
// into the batch's Arrow buffers, which the sink borrows and never
// releases. AddBatch returns only after every record it gave the producer
// was acknowledged or failed (on a timeout or cancellation it closes the
// producer, which waits for the records in flight), so nothing refers to
// the buffers afterwards. The messages of a batch are held in memory until
// it is acknowledged.
package kafka
