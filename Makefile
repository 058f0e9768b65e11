# Sluice: make demo runs the demo job, make test runs every test.
GO ?= go
PKGS := ./...
# Packages with goroutines of their own: run under the race detector too.
RACE_PKGS := ./objstore/... ./wal/... ./state/... ./microbatch/... ./engine/... ./source/... ./sink/... ./dataframe/... ./incremental/... ./decode/... ./agg/... ./stateful/... ./table/... ./benchsuite/...

.PHONY: all build demo test test-unit test-race fmt-check vet bench fuzz clean services-up services-down services-restart-minio

all: build

build:
	$(GO) build -o bin/sluice ./cmd/sluice

## demo: run the demo job for 10 seconds (rate source -> filter/project -> Parquet in ./demo-out)
demo:
	$(GO) run ./cmd/sluice demo --duration 10s

## test: formatting, vet, all tests (unit, crash, examples, against the local MinIO and Kafka servers,
## integration), race detector on concurrent packages. Starts the servers (building MinIO once) if needed.
test: fmt-check vet services-up test-unit test-integration test-race

# Everything but integration/, whose tests restart MinIO and so run on their own afterwards.
test-unit:
	$(GO) test -count=1 -timeout 15m $$($(GO) list $(PKGS) | grep -v '/integration$$')

test-integration:
	$(GO) test -count=1 -p 1 -timeout 15m ./integration/...

test-race:
	$(GO) test -count=1 -race -timeout 15m $(RACE_PKGS)

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet $(PKGS)

## bench: loop overhead, rate -> project -> Parquet, windowed aggregation, dedup, joins and
## transformWithState throughput, each beside a hand-written loop
bench: services-up
	$(GO) test -run '^$$' -bench 'LoopOverhead' -benchtime 300x -count 1 ./bench/ | tee bench.out
	$(GO) test -run '^$$' -bench 'RateToParquet' -benchtime 1x -count 1 ./bench/ | tee -a bench.out
	$(GO) test -run '^$$' -bench 'TumblingWindow|SlidingWindow' -benchtime 1x -count 1 ./bench/ | tee -a bench.out
	$(GO) test -run '^$$' -bench 'Dedup|StaticJoin|StreamJoin|TransformWithState' -benchtime 1x -count 1 ./bench/ | tee -a bench.out
	$(GO) run ./cmd/sluice bench all | tee -a bench.out
	$(GO) test -run '^$$' -bench 'FilterProject' -count 1 ./incremental/ | tee -a bench.out
	$(GO) test -run '^$$' -bench 'DecodeJSON|DecodeCSV' -count 1 ./decode/ | tee -a bench.out
	$(GO) test -run '^$$' -bench 'ToTimestamp|DateFormat' -count 1 ./expr/ | tee -a bench.out
	$(GO) test -run '^$$' -bench 'KafkaSourceRead|SaramaConsumerBaseline' -benchtime 1x -count 1 ./source/kafka/ | tee -a bench.out
	$(GO) test -run '^$$' -bench 'KafkaSink' -benchtime 1x -count 1 ./sink/kafka/ | tee -a bench.out
	$(GO) test -run '^$$' -bench 'S3' -count 1 ./objstore/s3/ | tee -a bench.out

## fuzz: run each decoder fuzzer for a short while
fuzz:
	$(GO) test -run '^$$' -fuzz FuzzDecodeOffsets -fuzztime 30s ./wal/
	$(GO) test -run '^$$' -fuzz FuzzDecodeCommit -fuzztime 30s ./wal/
	$(GO) test -run '^$$' -fuzz FuzzDecodeJSON -fuzztime 30s ./decode/
	$(GO) test -run '^$$' -fuzz FuzzDecodeCSV -fuzztime 30s ./decode/

clean:
	rm -rf bin demo-out bench.out

## services-up / services-down: build (once), start and stop the local MinIO and Kafka servers
services-up:
	scripts/services.sh up

services-down:
	scripts/services.sh down

services-restart-minio:
	scripts/services.sh restart-minio
