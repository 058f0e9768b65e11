# Sluice: make demo runs the demo job, make test runs every test.
GO ?= go
PKGS := ./...
# Packages with goroutines of their own: run under the race detector too.
RACE_PKGS := ./objstore/... ./wal/... ./microbatch/... ./engine/... ./source/... ./sink/... ./dataframe/...

.PHONY: all build demo test test-unit test-race fmt-check vet bench fuzz clean examples

all: build

build:
	$(GO) build -o bin/sluice ./cmd/sluice

## demo: run the demo job for 10 seconds (rate source -> filter/project -> Parquet in ./demo-out)
demo:
	$(GO) run ./cmd/sluice demo --duration 10s

## test: formatting, vet, all tests (unit, crash, examples, integration), race detector on concurrent packages
test: fmt-check vet test-unit test-race

test-unit:
	$(GO) test -count=1 -timeout 15m $(PKGS)

test-race:
	$(GO) test -count=1 -race -timeout 15m $(RACE_PKGS)

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet $(PKGS)

## bench: loop overhead and rate -> project -> Parquet throughput
bench:
	$(GO) test -run '^$$' -bench . -benchtime 1x -count 1 ./bench/ ./microbatch/ | tee bench.out

## fuzz: run each decoder fuzzer for a short while
fuzz:
	$(GO) test -run '^$$' -fuzz FuzzDecodeOffsets -fuzztime 30s ./wal/
	$(GO) test -run '^$$' -fuzz FuzzDecodeCommit -fuzztime 30s ./wal/

clean:
	rm -rf bin demo-out bench.out
