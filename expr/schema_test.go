package expr

import (
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
)

func TestParseSchema(t *testing.T) {
	s, err := ParseSchema("id BIGINT, name STRING NOT NULL, ts TIMESTAMP, price DECIMAL(10,2), tags ARRAY<STRING>, attrs MAP<STRING, INT>, loc STRUCT<lat: DOUBLE, lon: DOUBLE>")
	if err != nil {
		t.Fatal(err)
	}
	want := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "name", Type: arrow.BinaryTypes.String, Nullable: false},
		{Name: "ts", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, Nullable: true},
		{Name: "price", Type: &arrow.Decimal128Type{Precision: 10, Scale: 2}, Nullable: true},
		{Name: "tags", Type: arrow.ListOf(arrow.BinaryTypes.String), Nullable: true},
		{Name: "attrs", Type: arrow.MapOf(arrow.BinaryTypes.String, arrow.PrimitiveTypes.Int32), Nullable: true},
		{Name: "loc", Type: arrow.StructOf(
			arrow.Field{Name: "lat", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
			arrow.Field{Name: "lon", Type: arrow.PrimitiveTypes.Float64, Nullable: true}), Nullable: true},
	}, nil)
	if !s.Equal(want) {
		t.Errorf("ParseSchema:\n got %s\nwant %s", s, want)
	}
}

func TestParseTypeNames(t *testing.T) {
	cases := []struct {
		in   string
		want string // TypeString of the result
	}{
		{"int", "int"}, {"INTEGER", "int"}, {"Long", "bigint"}, {"BIGINT", "bigint"},
		{"short", "smallint"}, {"SMALLINT", "smallint"}, {"byte", "tinyint"}, {"tinyint", "tinyint"},
		{"float", "float"}, {"REAL", "float"}, {"double", "double"}, {"boolean", "boolean"}, {"bool", "boolean"},
		{"string", "string"}, {"VARCHAR(20)", "string"}, {"char(1)", "string"}, {"binary", "binary"},
		{"date", "date"}, {"timestamp", "timestamp"}, {"timestamp_ltz", "timestamp"}, {"TIMESTAMP_NTZ", "timestamp_ntz"},
		{"decimal", "decimal(10,0)"}, {"DECIMAL(5)", "decimal(5,0)"}, {"decimal( 38 , 38 )", "decimal(38,38)"},
		{"numeric(12,4)", "decimal(12,4)"}, {"void", "void"},
		{"array<array<int>>", "array<array<int>>"},
		{"map<string,array<bigint>>", "map<string,array<bigint>>"},
		{"struct<a:int,b string NOT NULL>", "struct<a:int,b:string>"},
		{"struct<`a b`:int, `x``y`: string>", "struct<`a b`:int,`x``y`:string>"},
		{"struct<>", "struct<>"},
		{"a INT, b STRING", "struct<a:int,b:string>"},
	}
	for _, c := range cases {
		typ, err := ParseType(c.in)
		if err != nil {
			t.Errorf("ParseType(%q): %v", c.in, err)
			continue
		}
		got := TypeString(typ)
		if got != c.want {
			t.Errorf("TypeString(ParseType(%q)) = %q, want %q", c.in, got, c.want)
		}
		// TypeString reads back to the same type.
		back, err := ParseType(got)
		if err != nil {
			t.Errorf("ParseType(%q) (round trip): %v", got, err)
		} else if TypeString(back) != got {
			t.Errorf("round trip of %q gave %q", got, TypeString(back))
		}
	}
	typ, _ := ParseType("struct<a:int,b string NOT NULL>")
	if st := typ.(*arrow.StructType); !st.Field(0).Nullable || st.Field(1).Nullable {
		t.Errorf("struct field nullability: %s", st)
	}
}

func TestParseSchemaDetails(t *testing.T) {
	s, err := ParseSchema("`order id` BIGINT COMMENT 'the id', `select` INT NOT NULL COMMENT \"it's\"")
	if err != nil {
		t.Fatal(err)
	}
	if s.Field(0).Name != "order id" || s.Field(1).Name != "select" {
		t.Errorf("names: %s", s)
	}
	if c, _ := s.Field(0).Metadata.GetValue("comment"); c != "the id" {
		t.Errorf("comment: %q", c)
	}
	if c, _ := s.Field(1).Metadata.GetValue("comment"); c != "it's" || s.Field(1).Nullable {
		t.Errorf("second field: %v", s.Field(1))
	}
	empty, err := ParseSchema("  ")
	if err != nil || empty.NumFields() != 0 {
		t.Errorf("empty DDL: %v, %v", empty, err)
	}
	if got := MustParseSchema("x double").Field(0).Type; got.ID() != arrow.FLOAT64 {
		t.Errorf("MustParseSchema: %s", got)
	}
}

func TestParseSchemaErrors(t *testing.T) {
	cases := []struct {
		ddl  string
		want []string
	}{
		{"id BIGINT, name STRNG", []string{"position 17", `"STRNG"`, "unknown type", `did you mean "string"?`}},
		{"id BIGINT name STRING", []string{"position 11", `"name"`, `expected "," or the end after column "id"`}},
		{"id", []string{"position 3", "end of input", `expected the type of column "id"`}},
		{"tags ARRAY<STRING", []string{"position 18", "end of input", `to close ARRAY<`}},
		{"m MAP<STRING>", []string{"position 13", `">"`, "between the key and value types"}},
		{"p DECIMAL(40,2)", []string{"position 3", "precision 40 is out of range"}},
		{"p DECIMAL(5,6)", []string{"scale 6 is larger than its precision 5"}},
		{"p DECIMAL(5,", []string{"position 13", "expected a scale"}},
		{"a INT, a STRING", []string{"position 8", `duplicate column name "a"`}},
		{"a INT NOT", []string{"expected NULL after NOT"}},
		{"`a INT", []string{"unterminated backquoted name", "position 1"}},
		{"a INT; b INT", []string{"unexpected character", `";"`, "position 6"}},
		{"s STRUCT<a INT b INT>", []string{`after struct field "a"`, "position 16"}},
		{", a INT", []string{"position 1", "expected a column name"}},
		{"a VARCHAR", []string{"expected \"(\" and a length after VARCHAR"}},
		{"a VARCHAR(0)", []string{"length of VARCHAR must be positive"}},
		{"a INT COMMENT x", []string{"expected a quoted comment"}},
	}
	for _, c := range cases {
		_, err := ParseSchema(c.ddl)
		if err == nil {
			t.Errorf("ParseSchema(%q) succeeded", c.ddl)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("ParseSchema(%q) error %q does not contain %q", c.ddl, err, w)
			}
		}
		if !strings.HasPrefix(err.Error(), "expr: ") {
			t.Errorf("error %q lacks the package prefix", err)
		}
	}
	if _, err := ParseType("array<int"); err == nil || !strings.Contains(err.Error(), "to close ARRAY<") {
		t.Errorf("ParseType(array<int): %v", err)
	}
	if _, err := ParseType("int)"); err == nil || !strings.Contains(err.Error(), "unexpected text after a type") {
		t.Errorf("ParseType(int)): %v", err)
	}
}

func TestTypeStringArrowTypes(t *testing.T) {
	cases := []struct {
		t    arrow.DataType
		want string
	}{
		{arrow.BinaryTypes.LargeString, "string"},
		{arrow.BinaryTypes.LargeBinary, "binary"},
		{arrow.LargeListOf(arrow.PrimitiveTypes.Int8), "array<tinyint>"},
		{arrow.FixedSizeListOf(2, arrow.PrimitiveTypes.Float32), "array<float>"},
		{&arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.BinaryTypes.String}, "string"},
		{arrow.FixedWidthTypes.Timestamp_ms, "timestamp"},
		{&arrow.Decimal256Type{Precision: 50, Scale: 3}, "decimal(50,3)"},
		{arrow.PrimitiveTypes.Uint32, "uint32"},
		{arrow.Null, "void"},
	}
	for _, c := range cases {
		if got := TypeString(c.t); got != c.want {
			t.Errorf("TypeString(%s) = %q, want %q", c.t, got, c.want)
		}
	}
}

type embeddedPart struct {
	Region string
	Zone   *string `sluice:"zone_name"`
}

type schemaEvent struct {
	UserID     int64
	HTTPServer string
	EventTime  time.Time
	Score      *float64
	Count      int32 `sluice:"n,nullable"`
	Tags       []string
	Maybe      []*int16
	Attrs      map[string]int
	Payload    []byte
	Loc        struct{ Lat, Lon float64 }
	Ptr        *struct{ A bool }
	Skipped    chan int `sluice:"-"`
	hidden     int
	Small      int8
	U          uint16
	F          float32
	embeddedPart
}

func TestSchemaOf(t *testing.T) {
	s, err := SchemaOf[schemaEvent]()
	if err != nil {
		t.Fatal(err)
	}
	got := make([]string, s.NumFields())
	for i, f := range s.Fields() {
		null := ""
		if f.Nullable {
			null = "?"
		}
		got[i] = f.Name + ":" + TypeString(f.Type) + null
	}
	want := []string{
		"user_id:bigint", "http_server:string", "event_time:timestamp", "score:double?", "n:int?",
		"tags:array<string>?", "maybe:array<smallint>?", "attrs:map<string,bigint>?", "payload:binary?",
		"loc:struct<lat:double,lon:double>", "ptr:struct<a:boolean>?", "small:tinyint", "u:uint16", "f:float",
		"region:string", "zone_name:string?",
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("SchemaOf:\n got %v\nwant %v", got, want)
	}
	tags := s.Field(5).Type.(*arrow.ListType)
	maybe := s.Field(6).Type.(*arrow.ListType)
	if tags.ElemField().Nullable || !maybe.ElemField().Nullable {
		t.Errorf("list element nullability: tags %v, maybe %v", tags.ElemField(), maybe.ElemField())
	}
	if s.Field(7).Type.(*arrow.MapType).ItemField().Nullable {
		t.Errorf("map[string]int values should not be nullable")
	}
	if ts := s.Field(2).Type.(*arrow.TimestampType); ts.Unit != arrow.Microsecond || ts.TimeZone != "UTC" {
		t.Errorf("time.Time maps to %s", ts)
	}
	// SchemaFromStruct agrees, with a value or a nil pointer.
	for _, v := range []any{schemaEvent{}, (*schemaEvent)(nil)} {
		s2, err := SchemaFromStruct(v)
		if err != nil || !s2.Equal(s) {
			t.Errorf("SchemaFromStruct(%T) = %v, %v", v, s2, err)
		}
	}
}

type badField struct {
	OK  int
	Any any
}

type badNested struct {
	Inner struct {
		C complex64
	}
}

type recursive struct {
	Next *recursive
}

type badOption struct {
	A int `sluice:"a,required"`
}

type dupColumn struct {
	A int `sluice:"x"`
	B int `sluice:"x"`
}

type arrayField struct {
	A [4]int
}

func TestSchemaOfErrors(t *testing.T) {
	cases := []struct {
		f    func() error
		want []string
	}{
		{func() error { _, err := SchemaOf[badField](); return err }, []string{"expr: schema of expr.badField", "field Any", "interface {}", "sluice:\"-\""}},
		{func() error { _, err := SchemaOf[badNested](); return err }, []string{"field Inner.C", "complex64"}},
		{func() error { _, err := SchemaOf[recursive](); return err }, []string{"field Next", "recursive"}},
		{func() error { _, err := SchemaOf[badOption](); return err }, []string{"field A", `"required"`}},
		{func() error { _, err := SchemaOf[dupColumn](); return err }, []string{"A and B", `column "x"`}},
		{func() error { _, err := SchemaOf[arrayField](); return err }, []string{"field A", "[4]int"}},
		{func() error { _, err := SchemaOf[int](); return err }, []string{"want a struct type"}},
		{func() error { _, err := SchemaOf[time.Time](); return err }, []string{"want a struct type"}},
		{func() error { _, err := SchemaFromStruct(nil); return err }, []string{"SchemaFromStruct(nil)"}},
		{func() error { _, err := SchemaOf[struct{ M map[*int]int }](); return err }, []string{"field M", "map keys cannot be null"}},
	}
	for i, c := range cases {
		err := c.f()
		if err == nil {
			t.Errorf("case %d: no error", i)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("case %d: error %q does not contain %q", i, err, w)
			}
		}
	}
}

func TestSnakeCase(t *testing.T) {
	for in, want := range map[string]string{
		"UserID": "user_id", "HTTPServer": "http_server", "ID": "id", "EventTime": "event_time",
		"A": "a", "already_snake": "already_snake", "Ad2Click": "ad2_click",
	} {
		if got := snakeCase(in); got != want {
			t.Errorf("snakeCase(%q) = %q, want %q", in, got, want)
		}
	}
}
