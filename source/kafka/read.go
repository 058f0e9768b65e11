package kafka

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"runtime"
	"sort"
	"sync"
	"time"

	"github.com/IBM/sarama"
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/source"
)

// maxFetchBytes bounds how far the bytes fetched per partition and request
// grow when a single record batch does not fit.
const maxFetchBytes = 1 << 30

// transient marks an error worth retrying that retriable would not
// recognise by itself.
type transient struct{ error }

func (t transient) Unwrap() error { return t.error }

// Read returns the records of every partition in end, from its offset in
// start (the initial offsets for a nil start; 0 for a partition start does
// not name) up to, not including, its offset in end. Partitions are read
// in parallel, at most 2*GOMAXPROCS at a time, but the records come out
// in a fixed order: by topic, then partition, then offset, in records of
// at most WithMaxRecordRows rows, each holding one partition. Offsets with
// no record (transaction markers, compacted or aborted records) are gaps.
// The records are allocated with mem (memory.DefaultAllocator if nil);
// the caller owns them and must Release each one.
//
// Offsets no longer in Kafka fail the read with an error naming the
// partition and the offsets, or with WithFailOnDataLoss(false) are skipped
// with a warning and counted in DataLossCount.
func (s *Source) Read(ctx context.Context, start, end source.Offset, mem memory.Allocator) ([]arrow.RecordBatch, error) {
	if mem == nil {
		mem = memory.DefaultAllocator
	}
	from, err := s.decodeStart(ctx, start)
	if err != nil {
		return nil, err
	}
	to, err := ParseOffsets(end)
	if err != nil {
		return nil, err
	}
	type task struct {
		tp       TopicPartition
		from, to int64
		out      []arrow.RecordBatch
		err      error
	}
	var tasks []*task
	for _, tp := range to.Partitions() {
		f, t := from[tp], to[tp] // a partition missing from start is new: read from 0
		switch {
		case t > f:
			tasks = append(tasks, &task{tp: tp, from: f, to: t})
		case t < f:
			msg := fmt.Sprintf("kafka: topic %q partition %d: the batch ends at offset %d, before its start %d (the partition was truncated, or deleted and created again)",
				tp.Topic, tp.Partition, t, f)
			if s.cfg.failOnDataLoss {
				return nil, errors.New(msg + ": records may have been lost; set failOnDataLoss=false (WithFailOnDataLoss(false)) to continue")
			}
			s.dataLoss.Add(1)
			s.cfg.logger.Warn(msg+"; continuing since failOnDataLoss is false", "topic", tp.Topic, "partition", tp.Partition)
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sem := make(chan struct{}, 2*runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for _, t := range tasks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				t.err = ctx.Err()
				return
			}
			defer func() { <-sem }()
			t.out, t.err = s.readPartition(ctx, t.tp, t.from, t.to, mem)
			if t.err != nil {
				cancel()
			}
		}()
	}
	wg.Wait()
	var firstErr error
	for _, t := range tasks {
		// The first failure in partition order, skipping the cancellations
		// it caused in others.
		if t.err != nil && (firstErr == nil || errors.Is(firstErr, context.Canceled) && !errors.Is(t.err, context.Canceled)) {
			firstErr = t.err
		}
	}
	if firstErr != nil {
		for _, t := range tasks {
			for _, r := range t.out {
				r.Release()
			}
		}
		return nil, firstErr
	}
	var out []arrow.RecordBatch
	for _, t := range tasks {
		out = append(out, t.out...)
	}
	return out, nil
}

// partitionReader reads [offset, to) of one partition.
type partitionReader struct {
	s        *Source
	tp       TopicPartition
	offset   int64 // next offset wanted
	to       int64
	maxBytes int32
	b        *recordBuilder
	hdrs     []header
	aborted  map[int64]struct{} // producers whose current transaction aborted
}

// readPartition returns the records of [from, to) of tp; the caller
// releases them.
func (s *Source) readPartition(ctx context.Context, tp TopicPartition, from, to int64, mem memory.Allocator) (out []arrow.RecordBatch, err error) {
	r := &partitionReader{
		s: s, tp: tp, offset: from, to: to,
		maxBytes: s.saramaConf.Consumer.Fetch.Default,
		b:        newRecordBuilder(mem, tp, s.cfg.maxRecordRows),
	}
	defer func() {
		if err != nil {
			r.b.discard()
		}
	}()
	if s.cfg.isolation == ReadCommitted {
		r.aborted = map[int64]struct{}{}
	}
	stalls, outOfRange := 0, 0
	for r.offset < to {
		block, throttled, err := r.fetch(ctx)
		if err != nil {
			return nil, err
		}
		if errors.Is(block.Err, sarama.ErrOffsetOutOfRange) {
			if outOfRange++; outOfRange > s.cfg.maxRetries+1 {
				return nil, fmt.Errorf("kafka: topic %q partition %d: the leader keeps answering that offset %d is out of range, though it lists it as available", tp.Topic, tp.Partition, r.offset)
			}
			if err := r.outOfRange(ctx); err != nil {
				return nil, err
			}
			continue
		}
		outOfRange = 0
		before := r.offset
		partial := r.decode(block)
		if r.offset > before {
			stalls = 0
			continue
		}
		switch {
		case throttled:
			// A throttled fetch comes back empty; sarama delays the next
			// request by the throttle time.
		case partial:
			// The next record batch is larger than the bytes asked for.
			if r.maxBytes >= maxFetchBytes {
				return nil, fmt.Errorf("kafka: topic %q partition %d: the record batch at offset %d is larger than %d bytes", tp.Topic, tp.Partition, r.offset, maxFetchBytes)
			}
			r.maxBytes = int32(min(2*int64(r.maxBytes), maxFetchBytes))
		case r.offset >= r.available(block):
			// The log ends before the batch does: it was truncated.
			if err := r.lost(r.offset, r.to, block.LogStartOffset, r.available(block)); err != nil {
				return nil, err
			}
		default:
			// Not throttled, not at the end, and still nothing twice in a
			// row: the offsets from here to the next record are covered only
			// by record batches left empty by compaction, which sarama drops
			// while decoding. Step over them one offset at a time.
			stalls++
			if stalls > 1 {
				r.offset++
			}
		}
	}
	return r.b.finish(), nil
}

// available returns the offset reads stop at: the last stable offset
// under ReadCommitted, else the high watermark.
func (r *partitionReader) available(block *sarama.FetchResponseBlock) int64 {
	if r.s.cfg.isolation == ReadCommitted && block.LastStableOffset >= 0 {
		return block.LastStableOffset
	}
	return block.HighWaterMarkOffset
}

// fetch sends one Fetch request for r.offset to the partition's leader,
// retrying transient failures, and reports whether the broker throttled
// it. A block with ErrOffsetOutOfRange is returned without error for the
// caller to handle.
func (r *partitionReader) fetch(ctx context.Context) (*sarama.FetchResponseBlock, bool, error) {
	s := r.s
	var block *sarama.FetchResponseBlock
	var throttled bool
	err := s.retry(ctx, []string{r.tp.Topic}, func() error {
		b, err := s.client.Leader(r.tp.Topic, r.tp.Partition)
		if err != nil {
			return s.leaderError(r.tp, err)
		}
		req := &sarama.FetchRequest{
			Version:     s.fetchVer,
			MaxWaitTime: int32(s.saramaConf.Consumer.MaxWaitTime / time.Millisecond),
			MinBytes:    1,
			MaxBytes:    r.maxBytes,
		}
		if s.cfg.isolation == ReadCommitted {
			req.Isolation = sarama.ReadCommitted
		}
		if req.Version >= 7 {
			req.SessionID, req.SessionEpoch = 0, -1 // no fetch session
		}
		req.AddBlock(r.tp.Topic, r.tp.Partition, r.offset, r.maxBytes, -1)
		resp, err := b.Fetch(req)
		if err != nil {
			_ = b.Close() // the next Leader call reopens it
			return fmt.Errorf("fetching %s at offset %d from broker %s: %w", r.tp, r.offset, b.Addr(), err)
		}
		if resp.ErrorCode != 0 {
			return fmt.Errorf("fetching %s at offset %d from broker %s: %w", r.tp, r.offset, b.Addr(), sarama.KError(resp.ErrorCode))
		}
		blk := resp.GetBlock(r.tp.Topic, r.tp.Partition)
		switch {
		case blk == nil:
			return fmt.Errorf("fetching %s at offset %d from broker %s: %w", r.tp, r.offset, b.Addr(), errIncomplete)
		case errors.Is(blk.Err, sarama.ErrNoError), errors.Is(blk.Err, sarama.ErrOffsetOutOfRange):
			block, throttled = blk, resp.ThrottleTime > 0
			return nil
		case errors.Is(blk.Err, sarama.ErrUnknownTopicOrPartition):
			// Deleted, or not yet known to this broker: the retry refreshes
			// the metadata and the leader lookup tells which.
			return transient{fmt.Errorf("fetching %s at offset %d from broker %s: %w", r.tp, r.offset, b.Addr(), blk.Err)}
		}
		return fmt.Errorf("fetching %s at offset %d from broker %s: %w", r.tp, r.offset, b.Addr(), blk.Err)
	})
	if err != nil {
		var gone *topicGoneError
		if errors.As(err, &gone) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return nil, false, err
		}
		return nil, false, s.brokerError("reading", err)
	}
	return block, throttled, nil
}

// outOfRange handles a fetch at an offset the partition no longer holds.
func (r *partitionReader) outOfRange(ctx context.Context) error {
	tps := []TopicPartition{r.tp}
	earliest, err := r.s.listOffsets(ctx, tps, func(TopicPartition) int64 { return listEarliest })
	if err != nil {
		return err
	}
	latest, err := r.s.listOffsets(ctx, tps, func(TopicPartition) int64 { return listLatest })
	if err != nil {
		return err
	}
	e, l := earliest[r.tp], latest[r.tp]
	switch {
	case r.offset < e:
		return r.lost(r.offset, min(e, r.to), e, l)
	case r.offset >= l:
		return r.lost(r.offset, r.to, e, l)
	}
	// In range again (a leader change in between): fetch again.
	return nil
}

// lost reports that offsets [lo, hi) are gone: an error with
// failOnDataLoss, else a warning, a count, and r.offset moves to hi.
func (r *partitionReader) lost(lo, hi, earliest, latest int64) error {
	s := r.s
	if s.cfg.failOnDataLoss {
		return fmt.Errorf("kafka: topic %q partition %d: the batch must read offsets %d to %d but the partition holds offsets %d to %d, so offsets %d to %d are lost "+
			"(deleted by retention or DeleteRecords before the query read them, or truncated): "+
			"set failOnDataLoss=false (WithFailOnDataLoss(false)) to skip them and continue, or start a new checkpoint",
			r.tp.Topic, r.tp.Partition, r.offset, r.to, earliest, latest, lo, hi)
	}
	s.dataLoss.Add(1)
	s.offsetsSkipped.Add(hi - lo)
	s.cfg.logger.Warn("kafka: offsets are no longer available; skipping them since failOnDataLoss is false",
		"topic", r.tp.Topic, "partition", r.tp.Partition, "from", lo, "to", hi, "earliest", earliest, "latest", latest)
	r.offset = hi
	return nil
}

// decode appends the records of block in [r.offset, r.to) to the builder
// and moves r.offset past what it consumed. It reports whether the
// response ended in a record batch too large to be complete.
func (r *partitionReader) decode(block *sarama.FetchResponseBlock) (partial bool) {
	readCommitted := r.s.cfg.isolation == ReadCommitted
	var txns []*sarama.AbortedTransaction
	if readCommitted && len(block.AbortedTransactions) > 0 {
		txns = append(txns, block.AbortedTransactions...)
		sort.Slice(txns, func(i, j int) bool { return txns[i].FirstOffset < txns[j].FirstOffset })
	}
	if block.Partial {
		return true
	}
	for _, recs := range block.RecordsSet {
		if r.offset >= r.to {
			return false
		}
		switch {
		case recs.RecordBatch != nil:
			rb := recs.RecordBatch
			if rb.PartialTrailingRecord {
				return true
			}
			last := rb.LastOffset()
			for len(txns) > 0 && txns[0].FirstOffset <= last {
				r.aborted[txns[0].ProducerID] = struct{}{}
				txns = txns[1:]
			}
			if rb.Control {
				if readCommitted && isAbortMarker(rb) {
					delete(r.aborted, rb.ProducerID)
				}
				r.offset = max(r.offset, last+1)
				continue
			}
			if last < r.offset {
				continue
			}
			if readCommitted && rb.IsTransactional {
				if _, ok := r.aborted[rb.ProducerID]; ok {
					r.offset = last + 1
					continue
				}
			}
			r.addBatch(rb)
			r.offset = max(r.offset, last+1)
		case recs.MsgSet != nil:
			if p := r.addMessages(recs.MsgSet); p {
				return true
			}
		}
	}
	return false
}

// isAbortMarker reports whether the control batch rb is an abort marker:
// its record's key is a version (int16) and a type (int16), 0 for abort.
func isAbortMarker(rb *sarama.RecordBatch) bool {
	if len(rb.Records) == 0 || len(rb.Records[0].Key) < 4 {
		return false
	}
	return binary.BigEndian.Uint16(rb.Records[0].Key[2:4]) == 0
}

// millisMicros converts a Kafka timestamp in milliseconds to microseconds,
// saturating.
func millisMicros(ms int64) int64 {
	switch {
	case ms > math.MaxInt64/1000:
		return math.MaxInt64
	case ms < math.MinInt64/1000:
		return math.MinInt64
	}
	return ms * 1000
}

// kafkaMillis returns t in milliseconds, or -1 (Kafka's "no timestamp")
// for the zero time sarama decodes negative timestamps to.
func kafkaMillis(t time.Time) int64 {
	if t.IsZero() {
		return -1
	}
	return t.UnixMilli()
}

// addBatch appends the records of rb in [r.offset, r.to).
func (r *partitionReader) addBatch(rb *sarama.RecordBatch) {
	tsType := TimestampTypeCreateTime
	base := kafkaMillis(rb.FirstTimestamp)
	if rb.LogAppendTime {
		tsType = TimestampTypeLogAppendTime
		base = kafkaMillis(rb.MaxTimestamp)
	}
	var keyBytes, valueBytes int
	for _, rec := range rb.Records {
		keyBytes += len(rec.Key)
		valueBytes += len(rec.Value)
	}
	r.b.prepare(int(min(r.to-r.offset, math.MaxInt32)), len(rb.Records), keyBytes, valueBytes)
	for _, rec := range rb.Records {
		off := rb.FirstOffset + rec.OffsetDelta
		if off < r.offset {
			continue
		}
		if off >= r.to {
			return
		}
		ms := base
		if !rb.LogAppendTime {
			ms += int64(rec.TimestampDelta / time.Millisecond)
		}
		r.hdrs = r.hdrs[:0]
		for _, h := range rec.Headers {
			r.hdrs = append(r.hdrs, header{key: h.Key, value: h.Value})
		}
		r.b.add(rec.Key, rec.Value, off, millisMicros(ms), tsType, r.hdrs)
	}
}

// addMessages appends the messages of a legacy (v0, v1) message set in
// [r.offset, r.to) and moves r.offset past them. It reports whether the
// set ended in an incomplete message before any was added.
func (r *partitionReader) addMessages(ms *sarama.MessageSet) (partial bool) {
	added := false
	for _, mb := range ms.Messages {
		inner := mb.Messages()
		for _, m := range inner {
			off := m.Offset
			if m.Msg.Version >= 1 {
				// Inner offsets of a compressed v1 set are relative; the
				// wrapper carries the absolute offset of the last one.
				off += mb.Offset - inner[len(inner)-1].Offset
			}
			if off < r.offset {
				continue
			}
			if off >= r.to {
				r.offset = r.to
				return false
			}
			tsType, ms := TimestampTypeNone, int64(-1)
			if m.Msg.Version >= 1 {
				tsType, ms = TimestampTypeCreateTime, kafkaMillis(m.Msg.Timestamp)
				if m.Msg.LogAppendTime || mb.Msg.LogAppendTime {
					tsType, ms = TimestampTypeLogAppendTime, kafkaMillis(mb.Msg.Timestamp)
				}
			}
			r.b.add(m.Msg.Key, m.Msg.Value, off, millisMicros(ms), tsType, nil)
			r.offset = off + 1
			added = true
		}
	}
	return ms.PartialTrailingMessage && !added
}
