package console

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sluicehq/sluice/internal/arrowrows"
	"github.com/sluicehq/sluice/sink"
)

// Option configures a Sink.
type Option func(*config)

type config struct {
	numRows  int
	truncate int
}

// WithNumRows sets how many rows of each batch are printed; the default is
// 20 and n must be > 0.
func WithNumRows(n int) Option { return func(c *config) { c.numRows = n } }

// WithTruncate sets the longest cell text printed, in characters; longer
// text is cut and ends in "..." (below 4 it is only cut). The default is
// 20; 0 prints whole values.
func WithTruncate(n int) Option { return func(c *config) { c.truncate = n } }

func (c *config) validate() error {
	if c.numRows <= 0 {
		return fmt.Errorf("console: WithNumRows(%d): the number of rows shown must be > 0", c.numRows)
	}
	if c.truncate < 0 {
		return fmt.Errorf("console: WithTruncate(%d): the cell width must be >= 0 (0 means no truncation)", c.truncate)
	}
	return nil
}

// Sink prints batches to a writer; see the package documentation.
type Sink struct {
	w   io.Writer
	cfg config
	err error // from validate, reported by Open and AddBatch

	mu      sync.Mutex
	schema  *arrow.Schema
	hasLast bool
	last    int64
}

var (
	_ sink.Sink      = (*Sink)(nil)
	_ sink.Opener    = (*Sink)(nil)
	_ sink.Describer = (*Sink)(nil)
)

// New returns a Sink printing to w. A bad option is reported by Open and by
// every AddBatch, naming the option.
func New(w io.Writer, opts ...Option) *Sink {
	cfg := config{numRows: 20, truncate: 20}
	for _, o := range opts {
		o(&cfg)
	}
	s := &Sink{w: w, cfg: cfg, err: cfg.validate()}
	if s.err == nil && w == nil {
		s.err = fmt.Errorf("console: New(nil writer): give a writer such as os.Stdout")
	}
	return s
}

// Open takes the schema printed for batches without records.
func (s *Sink) Open(ctx context.Context, info sink.OpenInfo) error {
	if s.err != nil {
		return s.err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.schema = info.Schema
	return nil
}

// AddBatch prints the batch, unless batchID is at or below the last batch
// printed by this Sink. Write errors are returned, naming the batch.
func (s *Sink) AddBatch(ctx context.Context, batchID int64, records []arrow.RecordBatch) error {
	if s.err != nil {
		return s.err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.hasLast && batchID <= s.last {
		return nil
	}
	schema := s.schema
	if len(records) > 0 {
		schema = records[0].Schema()
	}
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "-------------------------------------------\nBatch: %d\n-------------------------------------------\n", batchID)
	s.writeTable(&buf, schema, records)
	if _, err := s.w.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("console: printing batch %d: %w", batchID, err)
	}
	s.hasLast, s.last = true, batchID
	return nil
}

// writeTable writes the table of the first numRows rows of records.
func (s *Sink) writeTable(buf *bytes.Buffer, schema *arrow.Schema, records []arrow.RecordBatch) {
	var ncols int
	if schema != nil {
		ncols = schema.NumFields()
	}
	header := make([]string, ncols)
	for c := range header {
		header[c] = s.cell(schema.Field(c).Name)
	}
	var rows [][]string
	total := int64(0)
	for _, rec := range records {
		total += rec.NumRows()
		for r := 0; r < int(rec.NumRows()) && len(rows) < s.cfg.numRows; r++ {
			row := make([]string, ncols)
			for c := range row {
				row[c] = s.cell(arrowrows.Format(rec.Column(c), r))
			}
			rows = append(rows, row)
		}
	}

	widths := make([]int, ncols)
	for c := range widths {
		widths[c] = max(3, utf8.RuneCountInString(header[c]))
		for _, row := range rows {
			widths[c] = max(widths[c], utf8.RuneCountInString(row[c]))
		}
	}
	sep := func() {
		buf.WriteByte('+')
		for _, w := range widths {
			buf.WriteString(strings.Repeat("-", w))
			buf.WriteByte('+')
		}
		buf.WriteByte('\n')
	}
	line := func(cells []string) {
		buf.WriteByte('|')
		for c, v := range cells {
			buf.WriteString(v)
			buf.WriteString(strings.Repeat(" ", widths[c]-utf8.RuneCountInString(v)))
			buf.WriteByte('|')
		}
		buf.WriteByte('\n')
	}
	sep()
	line(header)
	sep()
	for _, row := range rows {
		line(row)
	}
	sep()
	if total > int64(s.cfg.numRows) {
		noun := "rows"
		if s.cfg.numRows == 1 {
			noun = "row"
		}
		fmt.Fprintf(buf, "only showing top %d %s\n", s.cfg.numRows, noun)
	}
	buf.WriteByte('\n')
}

var escaper = strings.NewReplacer("\n", `\n`, "\r", `\r`, "\t", `\t`)

// cell escapes and truncates a value's text for the table.
func (s *Sink) cell(v string) string {
	v = escaper.Replace(v)
	t := s.cfg.truncate
	if t == 0 || utf8.RuneCountInString(v) <= t {
		return v
	}
	runes := []rune(v)
	if t < 4 {
		return string(runes[:t])
	}
	return string(runes[:t-3]) + "..."
}

// Description returns "ConsoleSink".
func (s *Sink) Description() string { return "ConsoleSink" }
