// Package bench holds Sluice's throughput and overhead benchmarks, run by
// `make bench`. Each engine benchmark reports rows/s and rows/s per core of
// CPU time (user+system, from getrusage), beside a hand-written Go loop
// doing the same work on the same data without the engine: the limit the
// engine is measured against.
//
//	go test -run '^$' -bench . ./bench/
package bench
