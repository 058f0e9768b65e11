package expr

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
)

// Spark SQL types as Arrow types. A column of Spark's TimestampType is an
// Arrow timestamp in microseconds with time zone "UTC"; TIMESTAMP_NTZ is
// the same without a zone; DateType is date32; DecimalType(p, s) is
// decimal128(p, s); ArrayType is a list with nullable elements; MapType is
// an Arrow map with nullable values.

// ParseType reads a Spark SQL type name such as "BIGINT", "DECIMAL(10,2)",
// "ARRAY<STRING>", "MAP<STRING, INT>" or "STRUCT<lat: DOUBLE, lon: DOUBLE>"
// (see ParseSchema for every name accepted). As Spark's DataType.fromDDL,
// a column list ("a INT, b STRING") is read as the struct of those columns.
// Errors name the position (a 1-based character offset) and the token.
func ParseType(s string) (arrow.DataType, error) {
	p := newDDLParser(s)
	t, err := p.parseType()
	if err == nil {
		err = p.expectEnd("a type")
	}
	if err == nil {
		return t, nil
	}
	// A column list is a struct type.
	if sch, err2 := ParseSchema(s); err2 == nil && sch.NumFields() > 0 {
		return arrow.StructOf(sch.Fields()...), nil
	}
	return nil, err
}

// ParseSchema reads a Spark DDL column list:
//
//	id BIGINT, name STRING NOT NULL, ts TIMESTAMP, price DECIMAL(10,2),
//	tags ARRAY<STRING>, attrs MAP<STRING, INT>, loc STRUCT<lat: DOUBLE, lon: DOUBLE>
//
// Type names are case-insensitive: BOOLEAN (BOOL), TINYINT (BYTE),
// SMALLINT (SHORT), INT (INTEGER), BIGINT (LONG), FLOAT (REAL), DOUBLE,
// DECIMAL[(p[,s])] (DEC, NUMERIC; default (10,0)), STRING, VARCHAR(n),
// CHAR(n), BINARY, DATE, TIMESTAMP (TIMESTAMP_LTZ), TIMESTAMP_NTZ, VOID,
// ARRAY<t>, MAP<k, v> and STRUCT<name[:] t, ...>. A column is nullable
// unless NOT NULL follows its type; a COMMENT 'text' is kept in the
// field's metadata under "comment". Names may be backquoted (`a b`; a
// backquote inside is written twice). Errors name the position (a 1-based
// character offset) and the token found there.
func ParseSchema(ddl string) (*arrow.Schema, error) {
	p := newDDLParser(ddl)
	if p.peek().kind == tokEOF {
		return arrow.NewSchema(nil, nil), nil
	}
	fields, err := p.parseFields(tokEOF)
	if err != nil {
		return nil, err
	}
	return arrow.NewSchema(fields, nil), nil
}

// MustParseSchema is ParseSchema for schemas written in the program: it
// panics if ddl is invalid.
func MustParseSchema(ddl string) *arrow.Schema {
	s, err := ParseSchema(ddl)
	if err != nil {
		panic(err)
	}
	return s
}

type tokKind int

const (
	tokEOF tokKind = iota
	tokIdent
	tokQuoted // a backquoted identifier
	tokNumber
	tokString
	tokPunct
	tokBad
)

type ddlToken struct {
	kind tokKind
	text string // the identifier (unquoted), number, string or punctuation
	pos  int    // 1-based character offset
	raw  string // as written, for errors
}

func (t ddlToken) describe() string {
	if t.kind == tokEOF {
		return "end of input"
	}
	return strconv.Quote(t.raw)
}

type ddlParser struct {
	src  string
	toks []ddlToken
	i    int
}

func newDDLParser(s string) *ddlParser {
	p := &ddlParser{src: s}
	p.lex()
	return p
}

func (p *ddlParser) lex() {
	s := p.src
	i := 0
	pos := func(byteOff int) int { return utf8.RuneCountInString(s[:byteOff]) + 1 }
	for i < len(s) {
		r, w := utf8.DecodeRuneInString(s[i:])
		switch {
		case unicode.IsSpace(r):
			i += w
		case r == '`':
			var sb strings.Builder
			j := i + 1
			closed := false
			for j < len(s) {
				if s[j] == '`' {
					if j+1 < len(s) && s[j+1] == '`' {
						sb.WriteByte('`')
						j += 2
						continue
					}
					closed = true
					j++
					break
				}
				sb.WriteByte(s[j])
				j++
			}
			if !closed {
				p.toks = append(p.toks, ddlToken{kind: tokBad, text: "unterminated backquoted name", pos: pos(i), raw: s[i:]})
				return
			}
			p.toks = append(p.toks, ddlToken{kind: tokQuoted, text: sb.String(), pos: pos(i), raw: s[i:j]})
			i = j
		case r == '\'' || r == '"':
			var sb strings.Builder
			j := i + 1
			closed := false
			for j < len(s) {
				c := s[j]
				if c == '\\' && j+1 < len(s) {
					sb.WriteByte(s[j+1])
					j += 2
					continue
				}
				if c == byte(r) {
					closed = true
					j++
					break
				}
				sb.WriteByte(c)
				j++
			}
			if !closed {
				p.toks = append(p.toks, ddlToken{kind: tokBad, text: "unterminated string", pos: pos(i), raw: s[i:]})
				return
			}
			p.toks = append(p.toks, ddlToken{kind: tokString, text: sb.String(), pos: pos(i), raw: s[i:j]})
			i = j
		case r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
			j := i
			allDigits := true
			for j < len(s) {
				r2, w2 := utf8.DecodeRuneInString(s[j:])
				if r2 != '_' && !unicode.IsLetter(r2) && !unicode.IsDigit(r2) {
					break
				}
				if !unicode.IsDigit(r2) {
					allDigits = false
				}
				j += w2
			}
			kind := tokIdent
			if allDigits {
				kind = tokNumber
			}
			p.toks = append(p.toks, ddlToken{kind: kind, text: s[i:j], pos: pos(i), raw: s[i:j]})
			i = j
		case strings.ContainsRune("<>(),:", r):
			p.toks = append(p.toks, ddlToken{kind: tokPunct, text: string(r), pos: pos(i), raw: string(r)})
			i += w
		default:
			p.toks = append(p.toks, ddlToken{kind: tokBad, text: "unexpected character", pos: pos(i), raw: string(r)})
			return
		}
	}
	p.toks = append(p.toks, ddlToken{kind: tokEOF, pos: utf8.RuneCountInString(s) + 1})
}

func (p *ddlParser) peek() ddlToken { return p.toks[p.i] }

func (p *ddlParser) next() ddlToken {
	t := p.toks[p.i]
	if t.kind != tokEOF && t.kind != tokBad {
		p.i++
	}
	return t
}

func (p *ddlParser) errorf(t ddlToken, format string, args ...any) error {
	if t.kind == tokBad {
		return fmt.Errorf("expr: DDL %q: %s at position %d: %s", p.src, t.text, t.pos, t.describe())
	}
	return fmt.Errorf("expr: DDL %q at position %d (%s): %s", p.src, t.pos, t.describe(), fmt.Sprintf(format, args...))
}

func (p *ddlParser) isPunct(s string) bool {
	t := p.peek()
	return t.kind == tokPunct && t.text == s
}

func (p *ddlParser) expectPunct(s, what string) error {
	t := p.peek()
	if t.kind != tokPunct || t.text != s {
		return p.errorf(t, "expected %q %s", s, what)
	}
	p.next()
	return nil
}

func (p *ddlParser) expectEnd(what string) error {
	if t := p.peek(); t.kind != tokEOF {
		return p.errorf(t, "unexpected text after %s", what)
	}
	return nil
}

func (p *ddlParser) isKeyword(kw string) bool {
	t := p.peek()
	return t.kind == tokIdent && strings.EqualFold(t.text, kw)
}

// parseFields reads name type [NOT NULL] [COMMENT 'c'] (',' ...)* up to
// the closing token (EOF, or '>' for a struct, which is not consumed).
func (p *ddlParser) parseFields(closing tokKind) ([]arrow.Field, error) {
	var fields []arrow.Field
	seen := map[string]bool{}
	for {
		name := p.peek()
		if name.kind != tokIdent && name.kind != tokQuoted && name.kind != tokNumber {
			return nil, p.errorf(name, "expected a column name")
		}
		p.next()
		if seen[name.text] {
			return nil, p.errorf(name, "duplicate column name %q; every column needs its own name", name.text)
		}
		seen[name.text] = true
		if p.isPunct(":") {
			p.next()
		}
		if t := p.peek(); t.kind == tokEOF || t.kind == tokPunct {
			return nil, p.errorf(t, "expected the type of column %q", name.text)
		}
		typ, err := p.parseType()
		if err != nil {
			return nil, err
		}
		f := arrow.Field{Name: name.text, Type: typ, Nullable: true}
		if p.isKeyword("NOT") {
			p.next()
			if !p.isKeyword("NULL") {
				return nil, p.errorf(p.peek(), "expected NULL after NOT in column %q", name.text)
			}
			p.next()
			f.Nullable = false
		}
		if p.isKeyword("COMMENT") {
			p.next()
			c := p.peek()
			if c.kind != tokString {
				return nil, p.errorf(c, "expected a quoted comment after COMMENT in column %q", name.text)
			}
			p.next()
			f.Metadata = arrow.NewMetadata([]string{"comment"}, []string{c.text})
		}
		fields = append(fields, f)
		t := p.peek()
		switch {
		case t.kind == tokPunct && t.text == ",":
			p.next()
			continue
		case closing == tokEOF && t.kind == tokEOF:
			return fields, nil
		case closing == tokPunct && t.kind == tokPunct && t.text == ">":
			return fields, nil
		}
		if closing == tokEOF {
			return nil, p.errorf(t, "expected \",\" or the end after column %q", name.text)
		}
		return nil, p.errorf(t, "expected \",\" or \">\" after struct field %q", name.text)
	}
}

func (p *ddlParser) parseInt(what string) (int, error) {
	t := p.peek()
	if t.kind != tokNumber {
		return 0, p.errorf(t, "expected %s", what)
	}
	p.next()
	n, err := strconv.Atoi(t.text)
	if err != nil {
		return 0, p.errorf(t, "%s is out of range", what)
	}
	return n, nil
}

// timestampNTZ is Spark's TIMESTAMP_NTZ: microseconds without a zone.
var timestampNTZ = &arrow.TimestampType{Unit: arrow.Microsecond}

var simpleTypes = map[string]arrow.DataType{
	"boolean":       arrow.FixedWidthTypes.Boolean,
	"bool":          arrow.FixedWidthTypes.Boolean,
	"tinyint":       arrow.PrimitiveTypes.Int8,
	"byte":          arrow.PrimitiveTypes.Int8,
	"smallint":      arrow.PrimitiveTypes.Int16,
	"short":         arrow.PrimitiveTypes.Int16,
	"int":           arrow.PrimitiveTypes.Int32,
	"integer":       arrow.PrimitiveTypes.Int32,
	"bigint":        arrow.PrimitiveTypes.Int64,
	"long":          arrow.PrimitiveTypes.Int64,
	"float":         arrow.PrimitiveTypes.Float32,
	"real":          arrow.PrimitiveTypes.Float32,
	"double":        arrow.PrimitiveTypes.Float64,
	"string":        arrow.BinaryTypes.String,
	"binary":        arrow.BinaryTypes.Binary,
	"date":          arrow.FixedWidthTypes.Date32,
	"timestamp":     timestampUTC,
	"timestamp_ltz": timestampUTC,
	"timestamp_ntz": timestampNTZ,
	"void":          arrow.Null,
}

func (p *ddlParser) parseType() (arrow.DataType, error) {
	t := p.peek()
	if t.kind != tokIdent {
		return nil, p.errorf(t, "expected a type name")
	}
	p.next()
	name := strings.ToLower(t.text)
	if typ, ok := simpleTypes[name]; ok {
		return typ, nil
	}
	switch name {
	case "varchar", "char", "character":
		if err := p.expectPunct("(", "and a length after "+strings.ToUpper(name)); err != nil {
			return nil, err
		}
		n, err := p.parseInt("a length")
		if err != nil {
			return nil, err
		}
		if n <= 0 {
			return nil, p.errorf(p.toks[p.i-1], "the length of %s must be positive", strings.ToUpper(name))
		}
		if err := p.expectPunct(")", "after the length"); err != nil {
			return nil, err
		}
		return arrow.BinaryTypes.String, nil
	case "decimal", "dec", "numeric":
		prec, scale := 10, 0
		if p.isPunct("(") {
			p.next()
			var err error
			if prec, err = p.parseInt("a precision"); err != nil {
				return nil, err
			}
			scale = 0
			if p.isPunct(",") {
				p.next()
				if scale, err = p.parseInt("a scale"); err != nil {
					return nil, err
				}
			}
			if err := p.expectPunct(")", "after the decimal precision and scale"); err != nil {
				return nil, err
			}
		}
		if prec < 1 || prec > 38 {
			return nil, p.errorf(t, "decimal precision %d is out of range; it must be 1 to 38", prec)
		}
		if scale > prec {
			return nil, p.errorf(t, "decimal scale %d is larger than its precision %d", scale, prec)
		}
		return &arrow.Decimal128Type{Precision: int32(prec), Scale: int32(scale)}, nil
	case "array":
		if err := p.expectPunct("<", "after ARRAY"); err != nil {
			return nil, err
		}
		elem, err := p.parseType()
		if err != nil {
			return nil, err
		}
		if err := p.expectPunct(">", "to close ARRAY<"); err != nil {
			return nil, err
		}
		return arrow.ListOf(elem), nil
	case "map":
		if err := p.expectPunct("<", "after MAP"); err != nil {
			return nil, err
		}
		key, err := p.parseType()
		if err != nil {
			return nil, err
		}
		if err := p.expectPunct(",", "between the key and value types of MAP"); err != nil {
			return nil, err
		}
		value, err := p.parseType()
		if err != nil {
			return nil, err
		}
		if err := p.expectPunct(">", "to close MAP<"); err != nil {
			return nil, err
		}
		return arrow.MapOf(key, value), nil
	case "struct":
		if err := p.expectPunct("<", "after STRUCT"); err != nil {
			return nil, err
		}
		if p.isPunct(">") {
			p.next()
			return arrow.StructOf(), nil
		}
		fields, err := p.parseFields(tokPunct)
		if err != nil {
			return nil, err
		}
		if err := p.expectPunct(">", "to close STRUCT<"); err != nil {
			return nil, err
		}
		return arrow.StructOf(fields...), nil
	}
	known := make([]string, 0, len(simpleTypes)+8)
	for n := range simpleTypes {
		known = append(known, n)
	}
	known = append(known, "decimal", "varchar", "char", "array", "map", "struct")
	return nil, p.errorf(t, "unknown type %q;%s", t.text, suggest(name, known))
}

// TypeString is the Spark SQL name of t as Spark's simpleString writes it:
// "bigint", "decimal(10,2)", "array<string>", "map<string,int>",
// "struct<lat:double,lon:double>", "timestamp" (timestamp_ntz for a
// timestamp without a zone). Arrow types Spark lacks keep Arrow's name
// (uint32, ...). ParseType reads the result back.
func TypeString(t arrow.DataType) string {
	var sb strings.Builder
	writeType(&sb, t)
	return sb.String()
}

func writeType(sb *strings.Builder, t arrow.DataType) {
	if t == nil {
		sb.WriteString("<nil>")
		return
	}
	switch t := t.(type) {
	case *arrow.Decimal128Type:
		fmt.Fprintf(sb, "decimal(%d,%d)", t.Precision, t.Scale)
		return
	case *arrow.Decimal256Type:
		fmt.Fprintf(sb, "decimal(%d,%d)", t.Precision, t.Scale)
		return
	case *arrow.TimestampType:
		if t.TimeZone == "" {
			sb.WriteString("timestamp_ntz")
		} else {
			sb.WriteString("timestamp")
		}
		return
	case arrow.ListLikeType:
		if t.ID() != arrow.MAP {
			sb.WriteString("array<")
			writeType(sb, t.Elem())
			sb.WriteByte('>')
			return
		}
	case *arrow.DictionaryType:
		writeType(sb, t.ValueType)
		return
	case *arrow.StructType:
		sb.WriteString("struct<")
		for i, f := range t.Fields() {
			if i > 0 {
				sb.WriteByte(',')
			}
			sb.WriteString(quoteName(f.Name))
			sb.WriteByte(':')
			writeType(sb, f.Type)
		}
		sb.WriteByte('>')
		return
	}
	if m, ok := t.(*arrow.MapType); ok {
		sb.WriteString("map<")
		writeType(sb, m.KeyType())
		sb.WriteByte(',')
		writeType(sb, m.ItemType())
		sb.WriteByte('>')
		return
	}
	switch t.ID() {
	case arrow.STRING_VIEW, arrow.LARGE_STRING:
		sb.WriteString("string")
	case arrow.BINARY_VIEW, arrow.FIXED_SIZE_BINARY, arrow.LARGE_BINARY:
		sb.WriteString("binary")
	default:
		sb.WriteString(typeName(t))
	}
}

// quoteName backquotes a name unless it is a plain identifier.
func quoteName(name string) string {
	plain := name != ""
	for _, r := range name {
		if r != '_' && !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			plain = false
			break
		}
	}
	if plain {
		return name
	}
	return "`" + strings.ReplaceAll(name, "`", "``") + "`"
}

// SchemaOf returns the schema of Go struct type T, one column per
// exported field (see SchemaFromStruct for the mapping).
func SchemaOf[T any]() (*arrow.Schema, error) {
	return schemaFromType(reflect.TypeFor[T]())
}

// SchemaFromStruct returns the schema of v's type, which must be a struct
// or a pointer to one (a nil pointer will do). Each exported field becomes
// a column, in declaration order:
//
//   - The column is named by the tag `sluice:"name"`, else the field name
//     in snake_case (UserID becomes user_id). `sluice:"-"` skips the field;
//     `sluice:",nullable"` or `sluice:"name,nullable"` makes the column
//     nullable. Fields of embedded structs without a tag name are
//     promoted, as in encoding/json.
//   - bool is boolean; int8, int16, int32, int64 are tinyint, smallint,
//     int, bigint, and int is bigint; unsigned integers are Arrow's
//     unsigned types (uint is uint64); float32 is float, float64 double;
//     string is string; []byte is binary; time.Time is timestamp
//     (microseconds, UTC).
//   - A pointer is the nullable form of what it points to; a slice is an
//     array (list), a map a map, a struct a struct. Slices, maps and
//     []byte are nullable (nil is null); list elements and map values are
//     nullable when they are pointers, slices or maps.
//   - Any other type (interfaces, channels, functions, complex numbers,
//     fixed-size arrays, recursive structs) is an error naming the field.
func SchemaFromStruct(v any) (*arrow.Schema, error) {
	if v == nil {
		return nil, fmt.Errorf("expr: SchemaFromStruct(nil): pass a struct value or a pointer to a struct")
	}
	return schemaFromType(reflect.TypeOf(v))
}

var timeType = reflect.TypeFor[time.Time]()

func schemaFromType(t reflect.Type) (*arrow.Schema, error) {
	root := t
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct || t == timeType {
		return nil, fmt.Errorf("expr: schema of %s: want a struct type (or a pointer to one)", root)
	}
	g := &goSchema{root: t.String(), visiting: map[reflect.Type]bool{}}
	fields, err := g.structFields(t, "")
	if err != nil {
		return nil, err
	}
	return arrow.NewSchema(fields, nil), nil
}

type goSchema struct {
	root     string
	visiting map[reflect.Type]bool
}

func (g *goSchema) structFields(t reflect.Type, path string) ([]arrow.Field, error) {
	if g.visiting[t] {
		return nil, fmt.Errorf("expr: schema of %s: field %s refers back to struct %s; recursive types have no Arrow schema", g.root, path, t)
	}
	g.visiting[t] = true
	defer delete(g.visiting, t)
	var fields []arrow.Field
	seen := map[string]string{}
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		tag, hasTag := sf.Tag.Lookup("sluice")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		nullable := false
		for _, o := range strings.Split(opts, ",") {
			switch strings.TrimSpace(o) {
			case "":
			case "nullable":
				nullable = true
			default:
				return nil, fmt.Errorf("expr: schema of %s: field %s has tag option %q; the only option is nullable", g.root, join(path, sf.Name), o)
			}
		}
		fpath := join(path, sf.Name)
		if sf.Anonymous && name == "" {
			et := sf.Type
			if et.Kind() == reflect.Pointer {
				et = et.Elem()
			}
			if et.Kind() == reflect.Struct && et != timeType {
				inner, err := g.structFields(et, fpath)
				if err != nil {
					return nil, err
				}
				for _, f := range inner {
					if prev, dup := seen[f.Name]; dup {
						return nil, fmt.Errorf("expr: schema of %s: fields %s and %s (promoted) both make column %q; rename one with a sluice tag", g.root, prev, fpath+"."+f.Name, f.Name)
					}
					seen[f.Name] = fpath
					if sf.Type.Kind() == reflect.Pointer {
						f.Nullable = true
					}
					fields = append(fields, f)
				}
				continue
			}
		}
		if !sf.IsExported() {
			if hasTag {
				return nil, fmt.Errorf("expr: schema of %s: field %s has a sluice tag but is unexported; export it or drop the tag", g.root, fpath)
			}
			continue
		}
		if name == "" {
			name = snakeCase(sf.Name)
		}
		typ, null, err := g.arrowType(sf.Type, fpath)
		if err != nil {
			return nil, err
		}
		if prev, dup := seen[name]; dup {
			return nil, fmt.Errorf("expr: schema of %s: fields %s and %s both make column %q; rename one with a sluice tag", g.root, prev, fpath, name)
		}
		seen[name] = fpath
		fields = append(fields, arrow.Field{Name: name, Type: typ, Nullable: null || nullable})
	}
	return fields, nil
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// arrowType maps a Go type to an Arrow type and whether a nil value of it
// is null.
func (g *goSchema) arrowType(t reflect.Type, path string) (arrow.DataType, bool, error) {
	if t == timeType {
		return timestampUTC, false, nil
	}
	switch t.Kind() {
	case reflect.Bool:
		return arrow.FixedWidthTypes.Boolean, false, nil
	case reflect.Int8:
		return arrow.PrimitiveTypes.Int8, false, nil
	case reflect.Int16:
		return arrow.PrimitiveTypes.Int16, false, nil
	case reflect.Int32:
		return arrow.PrimitiveTypes.Int32, false, nil
	case reflect.Int64, reflect.Int:
		return arrow.PrimitiveTypes.Int64, false, nil
	case reflect.Uint8:
		return arrow.PrimitiveTypes.Uint8, false, nil
	case reflect.Uint16:
		return arrow.PrimitiveTypes.Uint16, false, nil
	case reflect.Uint32:
		return arrow.PrimitiveTypes.Uint32, false, nil
	case reflect.Uint64, reflect.Uint:
		return arrow.PrimitiveTypes.Uint64, false, nil
	case reflect.Float32:
		return arrow.PrimitiveTypes.Float32, false, nil
	case reflect.Float64:
		return arrow.PrimitiveTypes.Float64, false, nil
	case reflect.String:
		return arrow.BinaryTypes.String, false, nil
	case reflect.Pointer:
		typ, _, err := g.arrowType(t.Elem(), path)
		return typ, true, err
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return arrow.BinaryTypes.Binary, true, nil
		}
		elem, null, err := g.arrowType(t.Elem(), path+"[]")
		if err != nil {
			return nil, false, err
		}
		if null {
			return arrow.ListOf(elem), true, nil
		}
		return arrow.ListOfNonNullable(elem), true, nil
	case reflect.Map:
		key, _, err := g.arrowType(t.Key(), path+"[key]")
		if err != nil {
			return nil, false, err
		}
		if t.Key().Kind() == reflect.Pointer {
			return nil, false, fmt.Errorf("expr: schema of %s: field %s is %s; map keys cannot be null, so use a non-pointer key type", g.root, path, t)
		}
		item, null, err := g.arrowType(t.Elem(), path+"[value]")
		if err != nil {
			return nil, false, err
		}
		m := arrow.MapOf(key, item)
		if !null {
			m = arrow.MapOfFields(m.KeyField(), arrow.Field{Name: "value", Type: item})
		}
		return m, true, nil
	case reflect.Struct:
		fields, err := g.structFields(t, path)
		if err != nil {
			return nil, false, err
		}
		return arrow.StructOf(fields...), false, nil
	}
	return nil, false, fmt.Errorf("expr: schema of %s: field %s is of Go type %s, which has no Arrow column type; use bool, integers, floats, string, []byte, time.Time, pointers, slices, maps or structs, or skip it with `sluice:\"-\"`", g.root, path, t)
}

// snakeCase turns a Go field name into a column name: UserID is user_id,
// HTTPServer http_server, EventTime event_time.
func snakeCase(s string) string {
	rs := []rune(s)
	var sb strings.Builder
	for i, r := range rs {
		if unicode.IsUpper(r) {
			if i > 0 {
				prev := rs[i-1]
				nextLower := i+1 < len(rs) && unicode.IsLower(rs[i+1])
				if unicode.IsLower(prev) || unicode.IsDigit(prev) || (unicode.IsUpper(prev) && nextLower) {
					sb.WriteByte('_')
				}
			}
			sb.WriteRune(unicode.ToLower(r))
			continue
		}
		sb.WriteRune(r)
	}
	return sb.String()
}
