package table

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/decode"
	"github.com/sluicehq/sluice/objstore"
	"github.com/sluicehq/sluice/wal"
)

// SinkLogDir is the folder of a Parquet sink's log (sink/parquet.LogDir):
// when a table's folder has one, only the files of committed batches are
// read.
const SinkLogDir = "_sluice_log"

// Option configures a file table (Parquet, CSV).
type Option func(*config)

type config struct {
	mem        memory.Allocator
	schema     *arrow.Schema
	suffix     string
	namesOnly  bool
	header     bool
	decodeOpts []decode.Option
	quote      byte
	delim      byte
	csvOnly    []string
}

// WithAllocator sets the allocator of the records Load reads (default
// memory.DefaultAllocator).
func WithAllocator(mem memory.Allocator) Option { return func(c *config) { c.mem = mem } }

// WithSchema gives a Parquet table's schema, so that its folder may be
// empty when the table is opened; every file read must then have it. For
// CSV the schema is an argument of CSV.
func WithSchema(s *arrow.Schema) Option { return func(c *config) { c.schema = s } }

// WithSuffix sets how the names of data files end (default ".parquet" for
// Parquet, ".csv" for CSV). Other objects are ignored, as are objects in
// folders or with names starting with '_' or '.'.
func WithSuffix(s string) Option { return func(c *config) { c.suffix = s } }

// WithChangeByNames makes Changed compare only the names of the data files
// (one List call). Use it when files are never rewritten in place, only
// added or deleted, to avoid reading every file on stores that cannot
// give a file's size or time (S3, memory). Tables read through a sink log
// always compare names only: committed files are immutable.
func WithChangeByNames() Option { return func(c *config) { c.namesOnly = true } }

// WithHeader says whether each CSV file starts with a line of column names
// (default false). The names must be the schema's, in order. CSV only.
func WithHeader(header bool) Option {
	return func(c *config) { c.header = header; c.csvOnly = append(c.csvOnly, "WithHeader") }
}

// WithDelimiter sets the CSV field separator (default ','). CSV only.
func WithDelimiter(b byte) Option {
	return func(c *config) {
		c.delim = b
		c.decodeOpts = append(c.decodeOpts, decode.WithDelimiter(b))
		c.csvOnly = append(c.csvOnly, "WithDelimiter")
	}
}

// WithQuote sets the CSV quote character (default '"'; 0 turns quoting
// off). A quoted value may span lines. CSV only.
func WithQuote(b byte) Option {
	return func(c *config) {
		c.quote = b
		c.decodeOpts = append(c.decodeOpts, decode.WithQuote(b))
		c.csvOnly = append(c.csvOnly, "WithQuote")
	}
}

// WithNullValue sets the text of a null CSV value (default "", so an
// empty unquoted value is null). CSV only.
func WithNullValue(s string) Option {
	return func(c *config) {
		c.decodeOpts = append(c.decodeOpts, decode.WithNullValue(s))
		c.csvOnly = append(c.csvOnly, "WithNullValue")
	}
}

// WithDecodeOptions passes options to the CSV decoder (decode.WithMode,
// decode.WithEscape, decode.WithSpecialFloats, ...). The default mode for
// tables is decode.FailFast, so a malformed line fails Load with its file
// and line rather than becoming nulls. CSV only.
func WithDecodeOptions(opts ...decode.Option) Option {
	return func(c *config) {
		c.decodeOpts = append(c.decodeOpts, opts...)
		c.csvOnly = append(c.csvOnly, "WithDecodeOptions")
	}
}

// fileFormat reads the objects of one format.
type fileFormat interface {
	name() string
	// read decodes one object's bytes; the caller releases the records.
	read(ctx context.Context, object string, data []byte) ([]arrow.RecordBatch, error)
}

// FileSource is a static table stored as Parquet or CSV files under a
// prefix of an object store. Each Load reads every data file (in name
// order, or in the sink log's order) into one Table.
type FileSource struct {
	store  objstore.Store // a view of the folder
	dir    *objstore.Dir  // the local directory holding the folder, if any
	prefix string         // the folder in dir
	where  string
	cfg    config
	schema *arrow.Schema
	format fileFormat
}

// dataFile is one file a Load reads.
type dataFile struct {
	name string // relative to the folder
	size int64  // from the sink log, or -1
}

func newConfig(suffix string, opts []Option) config {
	c := config{suffix: suffix, quote: '"', delim: ','}
	for _, o := range opts {
		o(&c)
	}
	if c.mem == nil {
		c.mem = memory.DefaultAllocator
	}
	return c
}

func newFileSource(store objstore.Store, prefix string, cfg config) (*FileSource, error) {
	if store == nil {
		return nil, errors.New("store is nil")
	}
	prefix = strings.Trim(prefix, "/")
	if prefix != "" {
		if err := objstore.ValidateName(prefix); err != nil {
			return nil, fmt.Errorf("bad prefix: %w", err)
		}
	}
	where := objstore.Location(store)
	if prefix != "" {
		where = strings.TrimSuffix(where, "/") + "/" + prefix
	}
	if cfg.suffix == "" {
		return nil, errors.New("WithSuffix is empty; give the end of the data files' names, such as .parquet")
	}
	d, _ := store.(*objstore.Dir)
	return &FileSource{store: objstore.Prefixed(store, prefix), dir: d, prefix: prefix, where: where, cfg: cfg}, nil
}

// Schema is the schema of the tables Load returns.
func (s *FileSource) Schema() *arrow.Schema { return s.schema }

// String names the format and the folder.
func (s *FileSource) String() string { return s.format.name() + " table " + s.where }

// files lists the data files: those the sink log commits when the folder
// has one, otherwise the names ending in the suffix outside hidden
// folders. fromLog reports which, and logNames are the log's objects.
func (s *FileSource) files(ctx context.Context) (files []dataFile, logNames []string, err error) {
	logNames, err = s.store.List(ctx, SinkLogDir+"/")
	if err != nil {
		return nil, nil, fmt.Errorf("table: listing %s: %w", s.where, err)
	}
	if len(logNames) > 0 {
		files, err := s.committed(ctx)
		return files, logNames, err
	}
	names, err := s.store.List(ctx, "")
	if err != nil {
		return nil, nil, fmt.Errorf("table: listing %s: %w", s.where, err)
	}
	for _, n := range names {
		if s.isData(n) {
			files = append(files, dataFile{name: n, size: -1})
		}
	}
	return files, nil, nil
}

func (s *FileSource) isData(name string) bool {
	if !strings.HasSuffix(name, s.cfg.suffix) {
		return false
	}
	for _, seg := range strings.Split(name, "/") {
		if strings.HasPrefix(seg, "_") || strings.HasPrefix(seg, ".") {
			return false
		}
	}
	return true
}

// sinkLogEntry is the part of a Parquet sink's log entry a table reads
// (docs/format/parquet-sink.md).
type sinkLogEntry struct {
	BatchID int64 `json:"batchId"`
	Files   []struct {
		Path string `json:"path"`
		Size int64  `json:"size"`
	} `json:"files"`
	PartitionBy []string `json:"partitionBy"`
}

// committed returns the files of every batch the sink log commits, in
// batch then part order.
func (s *FileSource) committed(ctx context.Context) ([]dataFile, error) {
	log := wal.NewLog(s.store, SinkLogDir, wal.JSONCodec[sinkLogEntry]{})
	ids, err := log.BatchIDs(ctx)
	if err != nil {
		return nil, fmt.Errorf("table: reading the sink log of %s: %w", s.where, err)
	}
	var out []dataFile
	for _, id := range ids {
		e, err := log.Get(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("table: reading sink log entry %d of %s: %w", id, s.where, err)
		}
		if len(e.PartitionBy) > 0 {
			return nil, fmt.Errorf("table: %s: sink log batch %d is partitioned by %s, and tables do not restore partition columns; write the reference data without PartitionBy",
				s.where, id, strings.Join(e.PartitionBy, ", "))
		}
		for _, f := range e.Files {
			if err := objstore.ValidateName(f.Path); err != nil {
				return nil, fmt.Errorf("table: sink log entry %d of %s lists a bad file path: %w", id, s.where, err)
			}
			out = append(out, dataFile{name: f.Path, size: f.Size})
		}
	}
	return out, nil
}

var hashSeed = maphash.MakeSeed()

// Load reads every data file into one Table (the caller releases it), in
// the sink log's order or by name. The Version records each file's size
// and a tag: the sink log entry, the file's modification time (local
// directories) or a hash of its bytes.
func (s *FileSource) Load(ctx context.Context) (_ *Table, _ Version, err error) {
	files, logNames, err := s.files(ctx)
	if err != nil {
		return nil, Version{}, err
	}
	var recs []arrow.RecordBatch
	defer func() {
		if err != nil {
			for _, r := range recs {
				r.Release()
			}
		}
	}()
	var v Version
	for _, n := range logNames {
		v.Objects = append(v.Objects, Object{Name: n, Size: -1, Tag: "log"})
	}
	for _, f := range files {
		var stat Object
		local := s.localStat(f.name, &stat)
		data, err := s.store.Get(ctx, f.name)
		if err != nil {
			if objstore.IsNotExist(err) && logNames != nil {
				return nil, Version{}, fmt.Errorf("table: %s: the sink log lists %s, but it does not exist: the file was deleted after its commit", s.where, f.name)
			}
			return nil, Version{}, fmt.Errorf("table: reading %s of %s: %w", f.name, s.where, err)
		}
		if f.size >= 0 && int64(len(data)) != f.size {
			return nil, Version{}, fmt.Errorf("table: %s of %s has %d bytes, but the sink log says %d: the file was overwritten after its commit", f.name, s.where, len(data), f.size)
		}
		if logNames == nil {
			if !local {
				stat = Object{Name: f.name, Size: int64(len(data)), Tag: contentTag(data)}
			}
			v.Objects = append(v.Objects, stat)
		}
		got, err := s.format.read(ctx, f.name, data)
		if err != nil {
			return nil, Version{}, err
		}
		for i, r := range got {
			if err := sameColumns(r.Schema(), s.schema); err != nil {
				releaseAll(got)
				return nil, Version{}, fmt.Errorf("table: %s of %s does not have the table's schema: %w; rewrite it with the table's columns", f.name, s.where, err)
			}
			if !r.Schema().Equal(s.schema) {
				// Same columns, other metadata: relabel.
				got[i] = array.NewRecordBatch(s.schema, r.Columns(), r.NumRows())
				r.Release()
			}
		}
		recs = append(recs, got...)
	}
	slices.SortFunc(v.Objects, func(a, b Object) int { return strings.Compare(a.Name, b.Name) })
	t := newTable(s.schema, recs, false)
	t.name = s.String()
	return t, v, nil
}

// Changed lists the folder and compares the data files' names with those
// of since; unless the table reads a sink log or WithChangeByNames was
// given, files of the same name are compared by size and modification
// time (local directories) or by reading them and hashing their bytes.
func (s *FileSource) Changed(ctx context.Context, since Version) (bool, error) {
	files, logNames, err := s.files(ctx)
	if err != nil {
		return false, err
	}
	if logNames != nil {
		return !sameNames(logNames, since, "log"), nil
	}
	names := make([]string, len(files))
	for i, f := range files {
		names[i] = f.name
	}
	slices.Sort(names)
	if !sameNames(names, since, "") {
		return true, nil
	}
	if s.cfg.namesOnly {
		return false, nil
	}
	for i, n := range names {
		want := since.Objects[i]
		var got Object
		if !s.localStat(n, &got) {
			data, err := s.store.Get(ctx, n)
			if err != nil {
				if objstore.IsNotExist(err) {
					return true, nil
				}
				return false, fmt.Errorf("table: reading %s of %s: %w", n, s.where, err)
			}
			got = Object{Name: n, Size: int64(len(data)), Tag: contentTag(data)}
		}
		if got != want {
			return true, nil
		}
	}
	return false, nil
}

// sameNames reports whether names are the objects of v (those with tag
// when tag is set).
func sameNames(names []string, v Version, tag string) bool {
	i := 0
	for _, o := range v.Objects {
		if tag != "" && o.Tag != tag {
			continue
		}
		if i >= len(names) || names[i] != o.Name {
			return false
		}
		i++
	}
	return i == len(names)
}

// localStat fills o from the file's size and modification time when the
// store is a local directory.
func (s *FileSource) localStat(name string, o *Object) bool {
	if s.dir == nil {
		return false
	}
	fi, err := os.Stat(filepath.Join(s.dir.Root(), filepath.FromSlash(s.prefix), filepath.FromSlash(name)))
	if err != nil {
		return false
	}
	*o = Object{Name: name, Size: fi.Size(), Tag: "mtime " + strconv.FormatInt(fi.ModTime().UnixNano(), 10)}
	return true
}

func contentTag(data []byte) string {
	return "hash " + strconv.FormatUint(maphash.Bytes(hashSeed, data), 16)
}

func releaseAll(recs []arrow.RecordBatch) {
	for _, r := range recs {
		r.Release()
	}
}

func (c *config) refuseCSVOptions(format string) error {
	if len(c.csvOnly) > 0 {
		return fmt.Errorf("%s is a CSV option; %s files do not take it", c.csvOnly[0], format)
	}
	return nil
}

// OpenParquet opens the Parquet table at location (a local directory, a
// file:// URL or any scheme objstore.Open knows, such as s3://bucket/path
// with the objstore/s3 package imported). See Parquet.
func OpenParquet(ctx context.Context, location string, opts ...Option) (*FileSource, error) {
	st, err := objstore.Open(ctx, location)
	if err != nil {
		return nil, fmt.Errorf("table: OpenParquet: %w", err)
	}
	return Parquet(ctx, st, "", opts...)
}

// OpenCSV opens the CSV table at location (see OpenParquet and CSV).
func OpenCSV(ctx context.Context, location string, schema *arrow.Schema, opts ...Option) (*FileSource, error) {
	st, err := objstore.Open(ctx, location)
	if err != nil {
		return nil, fmt.Errorf("table: OpenCSV: %w", err)
	}
	return CSV(ctx, st, "", schema, opts...)
}
