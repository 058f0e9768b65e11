package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/objstore"
	"github.com/sluicehq/sluice/sink/parquet"
)

// `sluice demo --available-now` catches up with its backlog, stops by
// itself, and its Parquet output (read back through the sink log) holds
// exactly the rows the filter keeps: values 14.. with reading = 7*value+3.
// A second run resumes after the first.
func TestDemoAvailableNowOutput(t *testing.T) {
	dir := t.TempDir()
	args := []string{"demo", "--available-now", "--duration", "5s", "--rows-per-second", "200",
		"--max-rows-per-trigger", "300", "--progress-json",
		"--out", filepath.Join(dir, "data"), "--checkpoint", filepath.Join(dir, "ckpt")}
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), args, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	batches, inRows := progressLines(t, stdout.String())
	if batches < 3 || inRows < 1000 {
		t.Fatalf("first run: %d batches, %d input rows; want >= 3 batches of a >= 1000-row backlog", batches, inRows)
	}
	values := readValues(t, filepath.Join(dir, "data"))
	checkDemoValues(t, values, inRows)

	stdout.Reset()
	if code := run(context.Background(), args, &stdout, &stderr); code != 0 {
		t.Fatalf("second run exit %d: %s", code, stderr.String())
	}
	_, more := progressLines(t, stdout.String())
	values = readValues(t, filepath.Join(dir, "data"))
	checkDemoValues(t, values, inRows+more)
}

func progressLines(t *testing.T, out string) (batches int, rows int64) {
	t.Helper()
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		var p struct {
			BatchID      int64 `json:"batchId"`
			NumInputRows int64 `json:"numInputRows"`
		}
		if err := json.Unmarshal(sc.Bytes(), &p); err != nil {
			t.Fatalf("stdout line is not Progress JSON: %q: %v", sc.Text(), err)
		}
		batches++
		rows += p.NumInputRows
	}
	return batches, rows
}

func readValues(t *testing.T, out string) []int64 {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	store, err := objstore.NewDir(out)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := parquet.ReadCommitted(context.Background(), store, mem)
	if err != nil {
		t.Fatal(err)
	}
	var values []int64
	for _, r := range recs {
		v := r.Column(r.Schema().FieldIndices("value")[0]).(*array.Int64)
		rd := r.Column(r.Schema().FieldIndices("reading")[0]).(*array.Int64)
		for i := 0; i < int(r.NumRows()); i++ {
			if rd.Value(i) != 7*v.Value(i)+3 {
				t.Fatalf("row value=%d has reading %d, want %d", v.Value(i), rd.Value(i), 7*v.Value(i)+3)
			}
			values = append(values, v.Value(i))
		}
		r.Release()
	}
	sort.Slice(values, func(i, j int) bool { return values[i] < values[j] })
	return values
}

// checkDemoValues: generated values are 0..n-1; the filter keeps 14..n-1.
func checkDemoValues(t *testing.T, values []int64, n int64) {
	t.Helper()
	if int64(len(values)) != n-14 {
		t.Fatalf("output has %d rows, want %d (values 14..%d)", len(values), n-14, n-1)
	}
	for i, v := range values {
		if v != int64(i)+14 {
			t.Fatalf("output row %d has value %d, want %d: a row was lost or doubled", i, v, i+14)
		}
	}
}

func TestDemoBadFlags(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"demo", "--rows-per-second", "0"}, &stdout, &stderr); code != 1 ||
		!strings.Contains(stderr.String(), "--rows-per-second") {
		t.Fatalf("exit %d, stderr %q", code, stderr.String())
	}
	if code := run(context.Background(), []string{"nope"}, &stdout, &stderr); code != 2 {
		t.Fatalf("unknown command: exit %d", code)
	}
}
