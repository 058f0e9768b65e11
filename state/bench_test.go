package state

import (
	"context"
	"encoding/binary"
	"fmt"
	"runtime"
	"testing"

	"github.com/sluicehq/sluice/objstore"
)

// benchKey writes the 16-byte key of entry i: a window start and a group
// id, as a windowed aggregation encodes them.
func benchKey(buf []byte, i int) []byte {
	binary.BigEndian.PutUint64(buf[:8], uint64(1700000000000+(i%10)*10000))
	binary.BigEndian.PutUint64(buf[8:16], uint64(i/10))
	return buf[:16]
}

// heapInUse returns the live heap after a full collection.
func heapInUse() uint64 {
	var ms runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// BenchmarkStatePutGet measures a read-modify-write of an 8-byte counter
// (Get, then Put of the new value) on a partition of 100k 16-byte keys,
// and reports the measured and estimated bytes per key of the working set.
func BenchmarkStatePutGet(b *testing.B) {
	const keys = 100_000
	prov := newTestProvider(b, objstore.NewMemory())
	before := heapInUse()
	s := open(b, prov, StoreID{Operator: "agg", Partition: 0}, EmptyVersion)
	kb := make([]byte, 16)
	var val [8]byte
	for i := range keys {
		binary.LittleEndian.PutUint64(val[:], 1)
		s.Put(benchKey(kb, i), val[:])
	}
	commit(b, s)
	s = open(b, prov, StoreID{Operator: "agg", Partition: 0}, 0)
	heapPerKey := float64(heapInUse()-before) / keys
	estPerKey := float64(s.MemoryBytes()) / keys

	i := 0
	b.ReportAllocs()
	for b.Loop() {
		k := benchKey(kb, (i*7919)%keys)
		v, _ := s.Get(k)
		binary.LittleEndian.PutUint64(val[:], binary.LittleEndian.Uint64(v)+1)
		s.Put(k, val[:])
		i++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
	b.ReportMetric(heapPerKey, "heap-bytes/key")
	b.ReportMetric(estPerKey, "est-bytes/key")
	s.Abort()
}

// BenchmarkStateCommit measures Commit of a version in which 100k keys
// changed (a delta of 100k records); the snapshot cases commit a version
// that also writes a snapshot of the 100k keys. MB/s counts the records
// encoded (27 bytes each: 16-byte key, 8-byte value, type and lengths),
// before compression; object-bytes/key is what was written.
func BenchmarkStateCommit(b *testing.B) {
	const keys = 100_000
	for _, codec := range []Compression{CompressionNone, CompressionSnappy} {
		for _, snapshot := range []bool{false, true} {
			name := codec.String() + "/delta"
			interval := 1 << 30
			if snapshot {
				name, interval = codec.String()+"/delta+snapshot", 1
			}
			b.Run(name, func(b *testing.B) {
				ctx := context.Background()
				prov := newTestProvider(b, objstore.NewMemory(), WithCompression(codec), WithSnapshotInterval(interval))
				id := StoreID{Operator: "agg", Partition: 0}
				kb := make([]byte, 16)
				var val [8]byte
				// Version 0 never has a snapshot: start from 1.
				version := commit(b, open(b, prov, id, EmptyVersion))
				var written int64
				b.ReportAllocs()
				for b.Loop() {
					b.StopTimer()
					s := open(b, prov, id, version)
					for i := range keys {
						binary.LittleEndian.PutUint64(val[:], uint64(version+int64(i)))
						s.Put(benchKey(kb, i), val[:])
					}
					b.StartTimer()
					v, err := s.Commit(ctx)
					if err != nil {
						b.Fatal(err)
					}
					version = v
					written = s.Metrics().BytesWritten
				}
				records := int64(keys)
				if snapshot {
					records *= 2
				}
				b.SetBytes(records * 27)
				b.ReportMetric(float64(written)/keys, "object-bytes/key")
				b.ReportMetric(float64(b.N)*keys/b.Elapsed().Seconds(), "keys/s")
			})
		}
	}
}

// BenchmarkStateRecover measures Open of a version of 100k keys from a
// snapshot and 9 deltas of 10k changed keys each, in a new provider.
func BenchmarkStateRecover(b *testing.B) {
	const keys = 100_000
	ctx := context.Background()
	ckpt := objstore.NewMemory()
	id := StoreID{Operator: "agg", Partition: 0}
	kb := make([]byte, 16)
	var val [8]byte
	commitVersions(b, newTestProvider(b, ckpt), id, 20, func(v int64, s Store) {
		lo, hi := 0, keys
		if v > 0 {
			lo, hi = int(v)*1000, int(v)*1000+10_000
		}
		for i := lo; i < hi; i++ {
			binary.LittleEndian.PutUint64(val[:], uint64(v))
			s.Put(benchKey(kb, i%keys), val[:])
		}
	})
	b.ReportAllocs()
	for b.Loop() {
		p, err := NewMemoryProvider(ckpt)
		if err != nil {
			b.Fatal(err)
		}
		s, err := p.Open(ctx, id, 19)
		if err != nil {
			b.Fatal(err)
		}
		if s.Len() != keys {
			b.Fatal(fmt.Sprintf("recovered %d keys, want %d", s.Len(), keys))
		}
		s.Abort()
		p.Close()
	}
	b.ReportMetric(float64(b.N)*keys/b.Elapsed().Seconds(), "keys/s")
}
