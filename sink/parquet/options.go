package parquet

import (
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/compress"
)

// Compression is the codec of the data pages of every file the sink writes.
// The zero value is Snappy.
type Compression int

// The supported codecs.
const (
	// Snappy is fast with a moderate ratio; the default, as in Spark.
	Snappy Compression = iota
	// Zstd compresses better at some CPU cost.
	Zstd
	// None writes uncompressed pages.
	None
)

// String returns the codec's name as used in file names and by
// ParseCompression: "snappy", "zstd" or "none".
func (c Compression) String() string {
	switch c {
	case Snappy:
		return "snappy"
	case Zstd:
		return "zstd"
	case None:
		return "none"
	}
	return fmt.Sprintf("Compression(%d)", int(c))
}

func (c Compression) valid() bool { return c >= Snappy && c <= None }

func (c Compression) codec() compress.Compression {
	switch c {
	case Zstd:
		return compress.Codecs.Zstd
	case None:
		return compress.Codecs.Uncompressed
	}
	return compress.Codecs.Snappy
}

// ParseCompression parses a codec name as given on a command line or in a
// StreamSQL WITH clause: "snappy", "zstd", "none" or its alias
// "uncompressed", in any case.
func ParseCompression(s string) (Compression, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "snappy":
		return Snappy, nil
	case "zstd":
		return Zstd, nil
	case "none", "uncompressed":
		return None, nil
	}
	return 0, fmt.Errorf("parquet: unknown compression %q: use snappy, zstd or none", s)
}

// Defaults of the options.
const (
	DefaultTargetFileSize = 128 << 20
	DefaultRowGroupRows   = 1 << 20
)

// Option configures a Sink.
type Option func(*config)

type config struct {
	partitionBy    []string
	compression    Compression
	targetFileSize int64
	rowGroupRows   int
	mem            memory.Allocator
}

func defaultConfig() config {
	return config{
		compression:    Snappy,
		targetFileSize: DefaultTargetFileSize,
		rowGroupRows:   DefaultRowGroupRows,
		mem:            memory.DefaultAllocator,
	}
}

// WithPartitionBy writes rows into Hive-style folders named after the values
// of cols ("date=2026-01-01/country=NL/"), in the order given. Partition
// columns are not stored inside the files. A column must be of type bool,
// a signed or unsigned integer, utf8, large_utf8 or date32.
func WithPartitionBy(cols ...string) Option {
	return func(c *config) { c.partitionBy = append([]string(nil), cols...) }
}

// WithCompression sets the codec of every file (default Snappy).
func WithCompression(comp Compression) Option {
	return func(c *config) { c.compression = comp }
}

// WithTargetFileSize sets the size at which the sink rolls to a new part
// file within a batch (default 128 MiB). Rows are encoded in row groups of
// at most a quarter of the target in Arrow bytes, and the part's size is
// checked after each row group, so a part exceeds the target by less than
// one row group.
func WithTargetFileSize(bytes int64) Option {
	return func(c *config) { c.targetFileSize = bytes }
}

// WithRowGroupRows sets the maximum rows of a Parquet row group (default
// 1048576).
func WithRowGroupRows(n int) Option {
	return func(c *config) { c.rowGroupRows = n }
}

// WithAllocator sets the allocator for the sink's intermediate arrays and
// Parquet encoding buffers (default memory.DefaultAllocator).
func WithAllocator(mem memory.Allocator) Option {
	return func(c *config) { c.mem = mem }
}

func (c *config) validate() error {
	seen := make(map[string]bool, len(c.partitionBy))
	for i, col := range c.partitionBy {
		if col == "" {
			return fmt.Errorf("parquet: WithPartitionBy: column %d is an empty name: give column names of the sink's schema", i)
		}
		if seen[col] {
			return fmt.Errorf("parquet: WithPartitionBy: column %q is listed twice: list each partition column once", col)
		}
		seen[col] = true
	}
	if !c.compression.valid() {
		return fmt.Errorf("parquet: WithCompression: unknown codec %v: use Snappy, Zstd or None", c.compression)
	}
	if c.targetFileSize <= 0 {
		return fmt.Errorf("parquet: WithTargetFileSize(%d): the target must be a positive number of bytes, e.g. 128<<20", c.targetFileSize)
	}
	if c.rowGroupRows <= 0 {
		return fmt.Errorf("parquet: WithRowGroupRows(%d): a row group must hold a positive number of rows, e.g. 1<<20", c.rowGroupRows)
	}
	if c.mem == nil {
		return fmt.Errorf("parquet: WithAllocator(nil): give an allocator such as memory.DefaultAllocator")
	}
	return nil
}
