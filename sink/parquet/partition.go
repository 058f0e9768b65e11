package parquet

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// DefaultPartition is the folder value of a null (or empty string)
// partition value, as in Hive and Spark.
const DefaultPartition = "__HIVE_DEFAULT_PARTITION__"

// needsEscape reports whether Hive percent-encodes b in a partition value:
// control characters, DEL, and the characters " # % ' * / : = ? \ { [ ] ^.
func needsEscape(b byte) bool {
	if b < 0x20 || b == 0x7f {
		return true
	}
	switch b {
	case '"', '#', '%', '\'', '*', '/', ':', '=', '?', '\\', '{', '[', ']', '^':
		return true
	}
	return false
}

// EscapePartitionValue returns v as written in a folder name "col=v": Hive's
// escaping, with each byte that needs it as %XX (upper-case hex). The empty
// string becomes DefaultPartition.
func EscapePartitionValue(v string) string {
	if v == "" {
		return DefaultPartition
	}
	n := 0
	for i := 0; i < len(v); i++ {
		if needsEscape(v[i]) {
			n++
		}
	}
	if n == 0 {
		return v
	}
	const hex = "0123456789ABCDEF"
	var sb strings.Builder
	sb.Grow(len(v) + 2*n)
	for i := 0; i < len(v); i++ {
		b := v[i]
		if needsEscape(b) {
			sb.WriteByte('%')
			sb.WriteByte(hex[b>>4])
			sb.WriteByte(hex[b&0xf])
			continue
		}
		sb.WriteByte(b)
	}
	return sb.String()
}

// UnescapePartitionValue reverses EscapePartitionValue for any value other
// than DefaultPartition. A '%' not followed by two hex digits is kept as is,
// as Hive does.
func UnescapePartitionValue(s string) string {
	if strings.IndexByte(s, '%') < 0 {
		return s
	}
	var sb strings.Builder
	sb.Grow(len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+3], 16, 8); err == nil {
				sb.WriteByte(byte(v))
				i += 2
				continue
			}
		}
		sb.WriteByte(s[i])
	}
	return sb.String()
}

// partitionDict gives each distinct value of one partition column a dense
// code and remembers the code's folder segment ("col=value").
type partitionDict struct {
	col      string
	typ      arrow.DataType
	nullCode int32
	ints     map[int64]int32
	strs     map[string]int32
	segments []string
}

func newPartitionDict(col string, typ arrow.DataType) *partitionDict {
	return &partitionDict{col: col, typ: typ, nullCode: -1, ints: map[int64]int32{}, strs: map[string]int32{}}
}

func (d *partitionDict) add(value string) int32 {
	c := int32(len(d.segments))
	d.segments = append(d.segments, d.col+"="+value)
	return c
}

func (d *partitionDict) null() int32 {
	if d.nullCode < 0 {
		d.nullCode = d.add(DefaultPartition)
	}
	return d.nullCode
}

func (d *partitionDict) intCode(v int64, format func(int64) string) int32 {
	if c, ok := d.ints[v]; ok {
		return c
	}
	c := d.add(format(v))
	d.ints[v] = c
	return c
}

func (d *partitionDict) strCode(v string) int32 {
	if c, ok := d.strs[v]; ok {
		return c
	}
	var c int32
	if v == "" {
		c = d.null()
	} else {
		c = d.add(EscapePartitionValue(v))
	}
	d.strs[strings.Clone(v)] = c
	return c
}

func formatInt(v int64) string  { return strconv.FormatInt(v, 10) }
func formatUint(v int64) string { return strconv.FormatUint(uint64(v), 10) }
func formatBool(v int64) string { return strconv.FormatBool(v != 0) }
func formatDate32(v int64) string {
	return time.Unix(v*86400, 0).UTC().Format(time.DateOnly)
}

// codes writes the code of each row of arr into out (len(out) == arr.Len()).
func (d *partitionDict) codes(arr arrow.Array, out []int32) error {
	nulls := arr.NullN() > 0
	each := func(get func(i int) int32) {
		for i := range out {
			if nulls && arr.IsNull(i) {
				out[i] = d.null()
				continue
			}
			out[i] = get(i)
		}
	}
	switch a := arr.(type) {
	case *array.Boolean:
		each(func(i int) int32 {
			var v int64
			if a.Value(i) {
				v = 1
			}
			return d.intCode(v, formatBool)
		})
	case *array.Int8:
		each(func(i int) int32 { return d.intCode(int64(a.Value(i)), formatInt) })
	case *array.Int16:
		each(func(i int) int32 { return d.intCode(int64(a.Value(i)), formatInt) })
	case *array.Int32:
		each(func(i int) int32 { return d.intCode(int64(a.Value(i)), formatInt) })
	case *array.Int64:
		each(func(i int) int32 { return d.intCode(a.Value(i), formatInt) })
	case *array.Uint8:
		each(func(i int) int32 { return d.intCode(int64(a.Value(i)), formatUint) })
	case *array.Uint16:
		each(func(i int) int32 { return d.intCode(int64(a.Value(i)), formatUint) })
	case *array.Uint32:
		each(func(i int) int32 { return d.intCode(int64(a.Value(i)), formatUint) })
	case *array.Uint64:
		each(func(i int) int32 { return d.intCode(int64(a.Value(i)), formatUint) })
	case *array.Date32:
		each(func(i int) int32 { return d.intCode(int64(a.Value(i)), formatDate32) })
	case *array.String:
		each(func(i int) int32 { return d.strCode(a.Value(i)) })
	case *array.LargeString:
		each(func(i int) int32 { return d.strCode(a.Value(i)) })
	default:
		return fmt.Errorf("parquet: partition column %q has type %s: partition by a column of type %s",
			d.col, arr.DataType(), partitionTypeList)
	}
	return nil
}

// partitioner assigns every row of a batch to a partition folder. Codes of
// successive partition columns are folded pairwise into group ids, so no
// per-row string is built.
type partitioner struct {
	dicts  []*partitionDict
	folds  []map[[2]int32]int32 // folds[k-1] maps (group of cols <k, code of col k) to group of cols <=k
	paths  [][]string           // paths[k][g]: folder of group g over cols <=k
	groups int
}

func newPartitioner(cols []string, types []arrow.DataType) *partitioner {
	p := &partitioner{}
	for i, c := range cols {
		p.dicts = append(p.dicts, newPartitionDict(c, types[i]))
		if i > 0 {
			p.folds = append(p.folds, map[[2]int32]int32{})
		}
	}
	p.paths = make([][]string, len(cols))
	return p
}

// assign returns the group id of every row of rec; partCols are the
// column indices of the partition columns in rec.
func (p *partitioner) assign(rec arrow.RecordBatch, partCols []int) ([]int32, error) {
	n := int(rec.NumRows())
	groups := make([]int32, n)
	codes := make([]int32, n)
	for k, d := range p.dicts {
		if err := d.codes(rec.Column(partCols[k]), codes); err != nil {
			return nil, err
		}
		if k == 0 {
			copy(groups, codes)
			p.paths[0] = d.segments
			continue
		}
		fold := p.folds[k-1]
		for i := range groups {
			key := [2]int32{groups[i], codes[i]}
			g, ok := fold[key]
			if !ok {
				g = int32(len(p.paths[k]))
				fold[key] = g
				p.paths[k] = append(p.paths[k], p.paths[k-1][key[0]]+"/"+d.segments[key[1]])
			}
			groups[i] = g
		}
	}
	p.groups = len(p.paths[len(p.paths)-1])
	return groups, nil
}

// folder returns the folder of group g, e.g. "date=2026-01-01/country=NL".
func (p *partitioner) folder(g int32) string { return p.paths[len(p.paths)-1][g] }

// piece is the rows of one input record that belong to one partition:
// the whole record when idx is nil.
type piece struct {
	rec int
	idx []int32
}

// partition is one output folder of a batch with the rows that go there.
type partition struct {
	folder string
	pieces []piece
}

// groupRows splits recs into partitions sorted by folder name. Rows keep
// their input order within a partition.
func groupRows(recs []arrow.RecordBatch, partCols []int, p *partitioner) ([]partition, error) {
	var parts []*partition
	for ri, rec := range recs {
		if rec.NumRows() == 0 {
			continue
		}
		groups, err := p.assign(rec, partCols)
		if err != nil {
			return nil, err
		}
		for len(parts) < p.groups {
			parts = append(parts, &partition{folder: p.folder(int32(len(parts)))})
		}
		single := true
		for _, g := range groups[1:] {
			if g != groups[0] {
				single = false
				break
			}
		}
		if single {
			parts[groups[0]].pieces = append(parts[groups[0]].pieces, piece{rec: ri})
			continue
		}
		counts := make([]int, p.groups)
		for _, g := range groups {
			counts[g]++
		}
		idx := make([][]int32, p.groups)
		for g, c := range counts {
			if c > 0 {
				idx[g] = make([]int32, 0, c)
			}
		}
		for i, g := range groups {
			idx[g] = append(idx[g], int32(i))
		}
		for g, ix := range idx {
			if ix != nil {
				parts[g].pieces = append(parts[g].pieces, piece{rec: ri, idx: ix})
			}
		}
	}
	out := make([]partition, 0, len(parts))
	for _, pt := range parts {
		if len(pt.pieces) > 0 {
			out = append(out, *pt)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].folder < out[j].folder })
	return out, nil
}

// parsePartitionPath returns the raw (still escaped) value of each
// "col=value" folder of path, keyed by column.
func parsePartitionPath(path string) map[string]string {
	segs := strings.Split(path, "/")
	out := make(map[string]string, len(segs)-1)
	for _, s := range segs[:len(segs)-1] {
		if k, v, ok := strings.Cut(s, "="); ok {
			out[k] = v
		}
	}
	return out
}

// constantArray returns an array of n copies of the partition value raw
// (as found in a folder name) typed as f. The caller releases it.
func constantArray(mem memory.Allocator, f arrow.Field, raw string, n int) (arrow.Array, error) {
	b := array.NewBuilder(mem, f.Type)
	defer b.Release()
	b.Reserve(n)
	if raw == DefaultPartition {
		b.AppendNulls(n)
		return b.NewArray(), nil
	}
	s := UnescapePartitionValue(raw)
	bad := func(err error) error {
		return fmt.Errorf("parquet: partition folder %s=%s is not a valid %s: %v", f.Name, raw, f.Type, err)
	}
	switch bb := b.(type) {
	case *array.BooleanBuilder:
		v, err := strconv.ParseBool(s)
		if err != nil {
			return nil, bad(err)
		}
		for range n {
			bb.Append(v)
		}
	case *array.Int8Builder:
		v, err := strconv.ParseInt(s, 10, 8)
		if err != nil {
			return nil, bad(err)
		}
		for range n {
			bb.Append(int8(v))
		}
	case *array.Int16Builder:
		v, err := strconv.ParseInt(s, 10, 16)
		if err != nil {
			return nil, bad(err)
		}
		for range n {
			bb.Append(int16(v))
		}
	case *array.Int32Builder:
		v, err := strconv.ParseInt(s, 10, 32)
		if err != nil {
			return nil, bad(err)
		}
		for range n {
			bb.Append(int32(v))
		}
	case *array.Int64Builder:
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return nil, bad(err)
		}
		for range n {
			bb.Append(v)
		}
	case *array.Uint8Builder:
		v, err := strconv.ParseUint(s, 10, 8)
		if err != nil {
			return nil, bad(err)
		}
		for range n {
			bb.Append(uint8(v))
		}
	case *array.Uint16Builder:
		v, err := strconv.ParseUint(s, 10, 16)
		if err != nil {
			return nil, bad(err)
		}
		for range n {
			bb.Append(uint16(v))
		}
	case *array.Uint32Builder:
		v, err := strconv.ParseUint(s, 10, 32)
		if err != nil {
			return nil, bad(err)
		}
		for range n {
			bb.Append(uint32(v))
		}
	case *array.Uint64Builder:
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return nil, bad(err)
		}
		for range n {
			bb.Append(v)
		}
	case *array.Date32Builder:
		t, err := time.Parse(time.DateOnly, s)
		if err != nil {
			return nil, bad(err)
		}
		d := arrow.Date32FromTime(t)
		for range n {
			bb.Append(d)
		}
	case *array.StringBuilder:
		for range n {
			bb.Append(s)
		}
	case *array.LargeStringBuilder:
		for range n {
			bb.Append(s)
		}
	default:
		return nil, fmt.Errorf("parquet: partition column %q has type %s: only %s can be read from folder names", f.Name, f.Type, partitionTypeList)
	}
	return b.NewArray(), nil
}
