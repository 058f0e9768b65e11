package kafka_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/source"
	"github.com/sluicehq/sluice/source/kafka"
)

// The benchmark data: benchRecords records with values of benchValueBytes
// bytes, spread round-robin over benchPartitions partitions of one topic,
// produced once per broker lifetime and reused by later runs.
const (
	benchTopicName  = "sluice-bench-kafkasrc-1m"
	benchRecords    = 1_000_000
	benchPartitions = 6
	benchValueBytes = 100
)

var (
	benchOnce  sync.Once
	benchError error
)

// benchTopic returns the benchmark topic, creating and filling it if it
// does not hold exactly the benchmark data.
func benchTopic(b *testing.B) string {
	b.Helper()
	addrs := brokers(b)
	benchOnce.Do(func() { benchError = fillBenchTopic(addrs) })
	if benchError != nil {
		b.Fatalf("preparing %s: %v", benchTopicName, benchError)
	}
	return benchTopicName
}

func fillBenchTopic(addrs []string) error {
	conf := saramaConfig()
	client, err := sarama.NewClient(addrs, conf)
	if err != nil {
		return err
	}
	defer client.Close()
	var total int64
	if ps, err := client.Partitions(benchTopicName); err == nil && len(ps) == benchPartitions {
		for _, p := range ps {
			n, err := client.GetOffset(benchTopicName, p, sarama.OffsetNewest)
			if err != nil {
				return err
			}
			total += n
		}
		if total == benchRecords {
			return nil
		}
	}
	adm, err := sarama.NewClusterAdminFromClient(client)
	if err != nil {
		return err
	}
	if total > 0 {
		if err := adm.DeleteTopic(benchTopicName); err != nil {
			return err
		}
	}
	if err := adm.CreateTopic(benchTopicName, &sarama.TopicDetail{NumPartitions: benchPartitions, ReplicationFactor: 1}, false); err != nil {
		return err
	}
	pc := saramaConfig()
	pc.Producer.Return.Successes = false
	pc.Producer.Return.Errors = true
	pc.Producer.RequiredAcks = sarama.WaitForLocal
	pc.Producer.Flush.Messages = 5000
	pc.Producer.Flush.Frequency = 20 * time.Millisecond
	p, err := sarama.NewAsyncProducer(addrs, pc)
	if err != nil {
		return err
	}
	var produceErr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		for e := range p.Errors() {
			if produceErr == nil {
				produceErr = e
			}
		}
	}()
	for i := 0; i < benchRecords; i++ {
		p.Input() <- &sarama.ProducerMessage{
			Topic:     benchTopicName,
			Partition: int32(i % benchPartitions),
			Value:     sarama.StringEncoder(fmt.Sprintf("%0*d", benchValueBytes, i)),
		}
	}
	p.AsyncClose()
	<-done
	return produceErr
}

// reportRates reports records/s over the wall time and records per CPU
// second (getrusage: user plus system time of this process, so the broker,
// another process, is not counted).
func reportRates(b *testing.B, records int64, cpu0 time.Duration, cpuOK bool) {
	b.ReportMetric(float64(records)/b.Elapsed().Seconds(), "records/s")
	if cpu1, ok := cpuTime(); ok && cpuOK && cpu1 > cpu0 {
		b.ReportMetric(float64(records)/(cpu1-cpu0).Seconds(), "records/cpu-s")
	}
}

// BenchmarkKafkaSourceRead reads the whole benchmark topic into Arrow
// records per iteration.
func BenchmarkKafkaSourceRead(b *testing.B) {
	topic := benchTopic(b)
	ctx := context.Background()
	src := newSource(b, kafka.WithTopics(topic))
	start := kafka.Offsets{}
	for p := int32(0); p < benchPartitions; p++ {
		start[kafka.TopicPartition{Topic: topic, Partition: p}] = 0
	}
	end, err := src.LatestOffset(ctx, start.JSON(), source.ReadAll)
	if err != nil {
		b.Fatal(err)
	}
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	var records int64
	b.SetBytes(benchRecords * benchValueBytes)
	cpu0, cpuOK := cpuTime()
	b.ResetTimer()
	for b.Loop() {
		recs, err := src.Read(ctx, start.JSON(), end, mem)
		if err != nil {
			b.Fatal(err)
		}
		var n int64
		for _, r := range recs {
			n += r.NumRows()
			r.Release()
		}
		if n != benchRecords {
			b.Fatalf("read %d records, want %d", n, benchRecords)
		}
		records += n
	}
	reportRates(b, records, cpu0, cpuOK)
	mem.AssertSize(b, 0)
}

// BenchmarkSaramaConsumerBaseline reads the same records with bare sarama
// partition consumers, one per partition in parallel, touching each
// message's value and building nothing: the client's own limit.
func BenchmarkSaramaConsumerBaseline(b *testing.B) {
	topic := benchTopic(b)
	conf := sarama.NewConfig()
	conf.ClientID = "sluice-kafkasrc-bench"
	client, err := sarama.NewClient(brokers(b), conf)
	if err != nil {
		b.Fatal(err)
	}
	defer client.Close()
	var ends [benchPartitions]int64
	for p := range ends {
		if ends[p], err = client.GetOffset(topic, int32(p), sarama.OffsetNewest); err != nil {
			b.Fatal(err)
		}
	}
	var records int64
	b.SetBytes(benchRecords * benchValueBytes)
	cpu0, cpuOK := cpuTime()
	b.ResetTimer()
	for b.Loop() {
		consumer, err := sarama.NewConsumerFromClient(client)
		if err != nil {
			b.Fatal(err)
		}
		var wg sync.WaitGroup
		counts := make([]int64, benchPartitions)
		errs := make([]error, benchPartitions)
		for p := range benchPartitions {
			wg.Add(1)
			go func() {
				defer wg.Done()
				pc, err := consumer.ConsumePartition(topic, int32(p), sarama.OffsetOldest)
				if err != nil {
					errs[p] = err
					return
				}
				defer pc.Close()
				var sum int
				for m := range pc.Messages() {
					sum += len(m.Value)
					counts[p]++
					if m.Offset == ends[p]-1 {
						break
					}
				}
				if sum != int(counts[p])*benchValueBytes {
					errs[p] = fmt.Errorf("partition %d: %d value bytes for %d records", p, sum, counts[p])
				}
			}()
		}
		wg.Wait()
		consumer.Close()
		var n int64
		for p := range benchPartitions {
			if errs[p] != nil {
				b.Fatal(errs[p])
			}
			n += counts[p]
		}
		if n != benchRecords {
			b.Fatalf("consumed %d records, want %d", n, benchRecords)
		}
		records += n
	}
	reportRates(b, records, cpu0, cpuOK)
}
