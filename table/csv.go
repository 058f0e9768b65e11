package table

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicehq/sluice/decode"
	"github.com/sluicehq/sluice/objstore"
)

// CSV returns the table of the CSV files under prefix of store ("" for the
// whole store): every object whose name ends in ".csv" (WithSuffix),
// outside folders and names starting with '_' or '.', in name order. Each
// line is a record whose fields are the columns of schema in order
// (decoded by package decode; every column of the table is nullable);
// blank lines are skipped, and a quoted value may span lines. Options:
// WithHeader, WithDelimiter, WithQuote, WithNullValue, WithDecodeOptions
// (the parse mode defaults to decode.FailFast), WithSuffix,
// WithAllocator, WithChangeByNames.
func CSV(ctx context.Context, store objstore.Store, prefix string, schema *arrow.Schema, opts ...Option) (*FileSource, error) {
	if schema == nil {
		return nil, errors.New("table: CSV: schema is nil; give the columns of the files")
	}
	if err := checkNames(schema); err != nil {
		return nil, fmt.Errorf("table: CSV: %w", err)
	}
	cfg := newConfig(".csv", opts)
	if cfg.schema != nil {
		return nil, errors.New("table: CSV: WithSchema is for Parquet; a CSV table's schema is an argument of CSV")
	}
	s, err := newFileSource(store, prefix, cfg)
	if err != nil {
		return nil, fmt.Errorf("table: CSV: %w", err)
	}
	dopts := append([]decode.Option{decode.WithMode(decode.FailFast)}, cfg.decodeOpts...)
	dec, err := decode.NewCSV(schema, dopts...)
	if err != nil {
		return nil, fmt.Errorf("table: CSV: %s: %w", s.where, err)
	}
	s.schema = dec.Schema()
	s.format = &csvFormat{dec: dec, mem: cfg.mem, where: s.where, header: cfg.header, quote: cfg.quote, delim: cfg.delim, names: schema}
	return s, nil
}

type csvFormat struct {
	dec    *decode.CSVDecoder
	mem    memory.Allocator
	where  string
	header bool
	quote  byte
	delim  byte
	names  *arrow.Schema
}

func (*csvFormat) name() string { return "CSV" }

// read decodes one CSV file; the caller releases the record.
func (c *csvFormat) read(_ context.Context, object string, data []byte) ([]arrow.RecordBatch, error) {
	lines := splitRecords(data, c.quote)
	if c.header {
		for len(lines) > 0 && len(bytes.TrimSpace(data[lines[0].start:lines[0].end])) == 0 {
			lines = lines[1:]
		}
		if len(lines) == 0 {
			return nil, nil
		}
		if err := c.checkHeader(data[lines[0].start:lines[0].end]); err != nil {
			return nil, fmt.Errorf("table: CSV file %s of %s: %w", object, c.where, err)
		}
		lines = lines[1:]
	}
	bld := array.NewStringBuilder(c.mem)
	defer bld.Release()
	bld.Reserve(len(lines))
	bld.ReserveData(len(data))
	var lineNo []int
	for _, l := range lines {
		rec := data[l.start:l.end]
		if len(bytes.TrimSpace(rec)) == 0 {
			continue
		}
		bld.BinaryBuilder.Append(rec)
		lineNo = append(lineNo, l.line)
	}
	if bld.Len() == 0 {
		return nil, nil
	}
	arr := bld.NewArray()
	defer arr.Release()
	res, err := c.dec.Decode(arr, c.mem)
	if err != nil {
		var me *decode.MalformedError
		if errors.As(err, &me) && me.Row < len(lineNo) {
			return nil, fmt.Errorf("table: CSV file %s of %s, line %d: %w; fix the line or read with decode.WithMode(decode.DropMalformed)", object, c.where, lineNo[me.Row], err)
		}
		return nil, fmt.Errorf("table: CSV file %s of %s: %w", object, c.where, err)
	}
	defer res.Release()
	return []arrow.RecordBatch{res.Record()}, nil
}

// checkHeader compares a header line with the schema's column names.
func (c *csvFormat) checkHeader(line []byte) error {
	parts := strings.Split(strings.TrimRight(string(line), "\r\n"), string(c.delim))
	for i, p := range parts {
		p = strings.TrimSpace(p)
		if c.quote != 0 && len(p) >= 2 && p[0] == c.quote && p[len(p)-1] == c.quote {
			p = p[1 : len(p)-1]
		}
		parts[i] = p
	}
	want := make([]string, c.names.NumFields())
	for i, f := range c.names.Fields() {
		want[i] = f.Name
	}
	if strings.Join(parts, "\x00") != strings.Join(want, "\x00") {
		return fmt.Errorf("the header names the columns %s, but the schema's are %s; give the schema's columns in the file's order",
			strings.Join(parts, ", "), strings.Join(want, ", "))
	}
	return nil
}

// span is one record's bytes, without its line break, and the line it
// starts on (from 1).
type span struct {
	start, end, line int
}

// splitRecords splits data into records at line breaks outside quotes.
func splitRecords(data []byte, quote byte) []span {
	var out []span
	start, line, startLine := 0, 1, 1
	inQuote := false
	for i := 0; i < len(data); i++ {
		b := data[i]
		switch {
		case quote != 0 && b == quote:
			inQuote = !inQuote
		case b == '\n':
			line++
			if inQuote {
				continue
			}
			end := i
			if end > start && data[end-1] == '\r' {
				end--
			}
			out = append(out, span{start, end, startLine})
			start, startLine = i+1, line
		}
	}
	if start < len(data) {
		out = append(out, span{start, len(data), startLine})
	}
	return out
}
