package integration

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	_ "github.com/duckdb/duckdb-go/v2"

	"github.com/sluicehq/sluice/objstore"
	"github.com/sluicehq/sluice/sink"
	"github.com/sluicehq/sluice/sink/parquet"
)

var duckSchema = arrow.NewSchema([]arrow.Field{
	{Name: "id", Type: arrow.PrimitiveTypes.Int64},
	{Name: "ts", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}},
	{Name: "city", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "day", Type: arrow.FixedWidthTypes.Date32},
	{Name: "amount", Type: arrow.PrimitiveTypes.Float64},
	{Name: "note", Type: arrow.BinaryTypes.String, Nullable: true},
}, nil)

// Cities include values Hive escapes in folder names; index 5 is null.
var duckCities = []string{"Amsterdam", "a/b", "x=y", "50%", "São Paulo", ""}

var duckStart = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

type duckRow struct {
	id     int64
	ts     time.Time
	city   *string
	day    string
	amount float64
	note   *string
}

func makeDuckRow(i int) duckRow {
	r := duckRow{
		id:     int64(i),
		ts:     duckStart.Add(time.Duration(i) * 997 * time.Millisecond),
		amount: float64(i%1000) / 4,
	}
	if c := i % len(duckCities); c != 5 {
		r.city = &duckCities[c]
	}
	r.day = r.ts.Format(time.DateOnly)
	if i%3 != 0 {
		n := fmt.Sprintf("note %d", i)
		r.note = &n
	}
	return r
}

// duckRecord returns rows [from, to); the caller releases it.
func duckRecord(mem memory.Allocator, from, to int) arrow.RecordBatch {
	b := array.NewRecordBuilder(mem, duckSchema)
	defer b.Release()
	for i := from; i < to; i++ {
		r := makeDuckRow(i)
		b.Field(0).(*array.Int64Builder).Append(r.id)
		b.Field(1).(*array.TimestampBuilder).Append(arrow.Timestamp(r.ts.UnixMicro()))
		if r.city == nil {
			b.Field(2).AppendNull()
		} else {
			b.Field(2).(*array.StringBuilder).Append(*r.city)
		}
		b.Field(3).(*array.Date32Builder).Append(arrow.Date32FromTime(r.ts))
		b.Field(4).(*array.Float64Builder).Append(r.amount)
		if r.note == nil {
			b.Field(5).AppendNull()
		} else {
			b.Field(5).(*array.StringBuilder).Append(*r.note)
		}
	}
	return b.NewRecordBatch()
}

// TestParquetSinkReadByDuckDB writes batches with partitionBy and each
// codec into a directory, including a replayed batch, an empty batch and a
// crashed attempt's leftover file, then reads the committed files with
// DuckDB and checks that it sees every row exactly once with its values.
func TestParquetSinkReadByDuckDB(t *testing.T) {
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatalf("opening DuckDB: %v", err)
	}
	defer db.Close()

	batches := [][2]int{{0, 40000}, {40000, 100000}, {100000, 100000}, {100000, 130000}}
	const rows = 130000

	for _, codec := range []parquet.Compression{parquet.Snappy, parquet.Zstd, parquet.None} {
		t.Run(codec.String(), func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			ctx := context.Background()
			root := t.TempDir()
			store, err := objstore.NewDir(root)
			if err != nil {
				t.Fatal(err)
			}
			s, err := parquet.New(store,
				parquet.WithPartitionBy("day", "city"),
				parquet.WithCompression(codec),
				parquet.WithTargetFileSize(64<<10),
				parquet.WithRowGroupRows(4096),
				parquet.WithAllocator(mem))
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Open(ctx, sink.OpenInfo{QueryID: "duck", Schema: duckSchema, OutputMode: "append"}); err != nil {
				t.Fatal(err)
			}
			for id, b := range batches {
				recs := []arrow.RecordBatch{duckRecord(mem, b[0], (b[0]+b[1])/2), duckRecord(mem, (b[0]+b[1])/2, b[1])}
				err := s.AddBatch(ctx, int64(id), recs)
				if err == nil && id == 1 {
					err = s.AddBatch(ctx, int64(id), recs) // a replay after a restart
				}
				for _, r := range recs {
					r.Release()
				}
				if err != nil {
					t.Fatalf("batch %d: %v", id, err)
				}
			}
			// A leftover of a crashed attempt at batch 4: a real Parquet
			// file that no log entry lists.
			files, err := parquet.CommittedFiles(ctx, store)
			if err != nil {
				t.Fatal(err)
			}
			data, err := store.Get(ctx, files[0].Path)
			if err != nil {
				t.Fatal(err)
			}
			orphan := filepath.Dir(files[0].Path) + "/" + parquet.FileName(4, 0, codec)
			if err := store.Put(ctx, orphan, data); err != nil {
				t.Fatal(err)
			}
			if len(files) < 30 {
				t.Fatalf("only %d files: the test needs many partitions and rolled parts", len(files))
			}

			paths := make([]string, len(files))
			for i, f := range files {
				paths[i] = "'" + strings.ReplaceAll(filepath.Join(root, filepath.FromSlash(f.Path)), "'", "''") + "'"
			}
			from := fmt.Sprintf("read_parquet([%s], hive_partitioning = true, hive_types = {'day': DATE, 'city': VARCHAR})", strings.Join(paths, ", "))

			// Expected values, from the generator.
			var sumID int64
			var sumAmount float64
			nullCities, withNote := 0, 0
			perCity := map[string]int{}
			for i := 0; i < rows; i++ {
				r := makeDuckRow(i)
				sumID += r.id
				sumAmount += r.amount
				if r.city == nil || *r.city == "" {
					nullCities++ // empty strings go to the default partition, read as null
				} else {
					perCity[*r.city]++
				}
				if r.note != nil {
					withNote++
				}
			}

			var n, gotSumID, distinctIDs, gotNullCities, gotNotes int64
			var gotSumAmount float64
			q := "SELECT count(*), sum(id), count(DISTINCT id), sum(amount), count(*) FILTER (WHERE city IS NULL), count(note) FROM " + from
			if err := db.QueryRowContext(ctx, q).Scan(&n, &gotSumID, &distinctIDs, &gotSumAmount, &gotNullCities, &gotNotes); err != nil {
				t.Fatalf("DuckDB: %v\n%s", err, q)
			}
			if n != rows || distinctIDs != rows {
				t.Errorf("DuckDB counts %d rows with %d distinct ids, want %d of each (exactly once)", n, distinctIDs, rows)
			}
			if gotSumID != sumID || math.Abs(gotSumAmount-sumAmount) > 1e-6 {
				t.Errorf("DuckDB sums id=%d amount=%v, want %d and %v", gotSumID, gotSumAmount, sumID, sumAmount)
			}
			if gotNullCities != int64(nullCities) || gotNotes != int64(withNote) {
				t.Errorf("DuckDB sees %d null cities and %d notes, want %d and %d", gotNullCities, gotNotes, nullCities, withNote)
			}

			// Partition values, escaped in folder names, read back verbatim.
			res, err := db.QueryContext(ctx, "SELECT city, count(*) FROM "+from+" WHERE city IS NOT NULL GROUP BY city ORDER BY city")
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]int{}
			for res.Next() {
				var c string
				var k int
				if err := res.Scan(&c, &k); err != nil {
					t.Fatal(err)
				}
				got[c] = k
			}
			if err := res.Err(); err != nil {
				t.Fatal(err)
			}
			res.Close()
			if fmt.Sprint(got) != fmt.Sprint(perCity) {
				t.Errorf("DuckDB cities %v, want %v", got, perCity)
			}

			// A few rows, value by value.
			for _, i := range []int{0, 1, 4, 5, 39999, 77777, 129999} {
				want := makeDuckRow(i)
				var (
					ts     time.Time
					city   sql.NullString
					day    time.Time
					amount float64
					note   sql.NullString
				)
				err := db.QueryRowContext(ctx, "SELECT ts, city, day, amount, note FROM "+from+" WHERE id = ?", i).Scan(&ts, &city, &day, &amount, &note)
				if err != nil {
					t.Fatalf("row %d: %v", i, err)
				}
				wantCity := want.city != nil && *want.city != ""
				if !ts.Equal(want.ts) || city.Valid != wantCity || (wantCity && city.String != *want.city) ||
					day.Format(time.DateOnly) != want.day || amount != want.amount || note.Valid != (want.note != nil) || (note.Valid && note.String != *want.note) {
					t.Errorf("row %d: DuckDB reads ts=%v city=%v day=%v amount=%v note=%v; want %+v", i, ts, city, day.Format(time.DateOnly), amount, note, want)
				}
			}

			// The footer of every file names the codec.
			wantCodec := map[parquet.Compression]string{parquet.Snappy: "SNAPPY", parquet.Zstd: "ZSTD", parquet.None: "UNCOMPRESSED"}[codec]
			var codecs []string
			res, err = db.QueryContext(ctx, fmt.Sprintf("SELECT DISTINCT compression FROM parquet_metadata([%s])", strings.Join(paths, ", ")))
			if err != nil {
				t.Fatal(err)
			}
			for res.Next() {
				var c string
				if err := res.Scan(&c); err != nil {
					t.Fatal(err)
				}
				codecs = append(codecs, c)
			}
			if err := res.Err(); err != nil {
				t.Fatal(err)
			}
			res.Close()
			if !slices.Equal(codecs, []string{wantCodec}) {
				t.Errorf("DuckDB reports codecs %v, want only %s", codecs, wantCodec)
			}

			// Reading the folders instead of the log would count the orphan:
			// this is why readers must go through the log.
			var all int64
			glob := "'" + strings.ReplaceAll(filepath.Join(root, "**", "*.parquet"), "'", "''") + "'"
			if err := db.QueryRowContext(ctx, "SELECT count(*) FROM read_parquet("+glob+", hive_partitioning = true)").Scan(&all); err != nil {
				t.Fatal(err)
			}
			if all != rows+files[0].Rows {
				t.Errorf("globbing the folders reads %d rows, want %d committed + %d orphan", all, rows, files[0].Rows)
			}
		})
	}
}
