package agg

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// Func is an aggregate function bound to its argument types. A Func is
// immutable and safe for concurrent use.
type Func interface {
	// Name is the lower-case function name as it was bound, e.g. "sum" or
	// the alias "mean". Aliases share their function's state format.
	Name() string
	// ResultType is the type Finish appends.
	ResultType() arrow.DataType
	// NewAccumulator returns an accumulator with zero groups.
	NewAccumulator() Accumulator
}

// Accumulator holds the partial aggregates of a dense range of groups
// [0, Len()).
//
// An Accumulator is not safe for concurrent use, except that MergeState,
// AppendState and Finish on distinct groups may be called from different
// goroutines at the same time (each goroutine with its own builder), as
// long as no Grow, Update or Reset runs concurrently.
type Accumulator interface {
	// Len is the number of groups.
	Len() int
	// Grow makes the accumulator hold n groups; new groups are empty. An n
	// of at most Len() changes nothing.
	Grow(n int)
	// Update folds row i of args into group gids[i]; gids[i] < 0 skips row
	// i. args are borrowed, not retained, and each has len(gids) rows
	// (count(*) gets no args). Every gids[i] is below Len(). After an
	// error the accumulator's groups hold unspecified partial values: the
	// caller fails the batch.
	Update(args []arrow.Array, gids []int32) error
	// AppendState appends group g's partial state, serialized as
	// docs/format/aggregate-state.md describes, to dst and returns the
	// extended slice.
	AppendState(dst []byte, g int) []byte
	// MergeState merges a state serialized by AppendState (of an
	// accumulator of the same Func) into group g and returns the rest of
	// src after that state. src holds input that arrived earlier than what
	// g already holds. A malformed src gives an error wrapping
	// ErrCorruptState; g is then unchanged.
	MergeState(g int, src []byte) (rest []byte, err error)
	// Finish appends group g's final value to b, a builder of the Func's
	// ResultType. The appended value is owned by b.
	Finish(g int, b array.Builder)
	// Reset drops every group (Len() becomes 0), keeping capacity for
	// reuse.
	Reset()
	// MemoryBytes estimates the bytes held.
	MemoryBytes() int64
}

// ErrCorruptState is wrapped by the error MergeState returns for bytes
// that are not a state of the accumulator's function.
var ErrCorruptState = errors.New("agg: corrupt aggregate state")

// ErrOverflow is wrapped by the error sum returns when an integer sum
// leaves the range of int64.
var ErrOverflow = errors.New("agg: integer overflow")

// binder binds one function name; name is the lower-case name as called.
type binder func(name string, argTypes []arrow.DataType, params []any) (Func, error)

var registry = map[string]binder{
	"count":                 bindCount,
	"count_if":              bindCountIf,
	"sum":                   bindSum,
	"avg":                   bindAvg,
	"mean":                  bindAvg,
	"min":                   bindMinMax,
	"max":                   bindMinMax,
	"first":                 bindFirstLast,
	"last":                  bindFirstLast,
	"stddev":                bindVariance,
	"stddev_samp":           bindVariance,
	"stddev_pop":            bindVariance,
	"variance":              bindVariance,
	"var_samp":              bindVariance,
	"var_pop":               bindVariance,
	"approx_count_distinct": bindApproxCountDistinct,
	"approx_percentile":     bindApproxPercentile,
	"percentile_approx":     bindApproxPercentile,
	"collect_list":          bindCollect,
	"collect_set":           bindCollect,
}

// Bind returns the aggregate function called name (case-insensitive) for
// arguments of argTypes. params are constant extra arguments given as Go
// values: first and last take an optional bool ignoreNulls,
// approx_count_distinct an optional float64 relative standard deviation,
// approx_percentile a percentage (float64 in [0, 1], or []float64 of them)
// and an optional int or int64 accuracy. An unknown name, a wrong number
// of arguments or parameters, or an unsupported type gives an error naming
// the function and the argument and saying what is accepted.
func Bind(name string, argTypes []arrow.DataType, params ...any) (Func, error) {
	lname := strings.ToLower(name)
	b, ok := registry[lname]
	if !ok {
		return nil, fmt.Errorf("agg: unknown aggregate function %q; supported: %s", name, strings.Join(Names(), ", "))
	}
	return b(lname, argTypes, params)
}

// Names lists the supported function names, aliases included, sorted.
func Names() []string {
	names := make([]string, 0, len(registry))
	for n := range registry {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// fn is the Func every binder returns.
type fn struct {
	name   string
	result arrow.DataType
	newAcc func() Accumulator
}

func (f *fn) Name() string                { return f.name }
func (f *fn) ResultType() arrow.DataType  { return f.result }
func (f *fn) NewAccumulator() Accumulator { return f.newAcc() }

// Type classes accepted by the functions, for checks and error messages.
const (
	acceptNumeric = "a signed or unsigned integer (int8..int64, uint8..uint64), float32 or float64"
	acceptOrdered = "an integer, float32, float64, boolean, string, large_string, binary, large_binary, " +
		"date32, date64, time32, time64, timestamp or duration"
	acceptPercentile = "an integer, float32, float64, date32, date64 or timestamp"
)

func isInteger(dt arrow.DataType) bool {
	switch dt.ID() {
	case arrow.INT8, arrow.INT16, arrow.INT32, arrow.INT64,
		arrow.UINT8, arrow.UINT16, arrow.UINT32, arrow.UINT64:
		return true
	}
	return false
}

func isFloat(dt arrow.DataType) bool {
	return dt.ID() == arrow.FLOAT32 || dt.ID() == arrow.FLOAT64
}

func isNumeric(dt arrow.DataType) bool { return isInteger(dt) || isFloat(dt) }

func isBytes(dt arrow.DataType) bool {
	switch dt.ID() {
	case arrow.STRING, arrow.LARGE_STRING, arrow.BINARY, arrow.LARGE_BINARY:
		return true
	}
	return false
}

// isOrdered reports whether dt is one of the types min, max, first, last,
// collect_* and approx_count_distinct accept.
func isOrdered(dt arrow.DataType) bool {
	if isNumeric(dt) || isBytes(dt) {
		return true
	}
	switch dt.ID() {
	case arrow.BOOL, arrow.DATE32, arrow.DATE64, arrow.TIME32, arrow.TIME64, arrow.TIMESTAMP, arrow.DURATION:
		return true
	}
	return false
}

func isPercentileType(dt arrow.DataType) bool {
	switch dt.ID() {
	case arrow.DATE32, arrow.DATE64, arrow.TIMESTAMP:
		return true
	}
	return isNumeric(dt)
}

// wantArgs checks the number of arguments.
func wantArgs(name string, argTypes []arrow.DataType, n int) error {
	if len(argTypes) != n {
		s := "s"
		if n == 1 {
			s = ""
		}
		return fmt.Errorf("agg: %s takes %d argument%s, got %d", name, n, s, len(argTypes))
	}
	return nil
}

// checkType checks argument 1 against ok and describes what is accepted.
func checkType(name string, dt arrow.DataType, ok func(arrow.DataType) bool, accepted string) error {
	if dt == nil {
		return fmt.Errorf("agg: %s: argument 1 has no type; pass its Arrow type", name)
	}
	if ok(dt) {
		return nil
	}
	if dt.ID() == arrow.DECIMAL32 || dt.ID() == arrow.DECIMAL64 || dt.ID() == arrow.DECIMAL128 || dt.ID() == arrow.DECIMAL256 {
		return fmt.Errorf("agg: %s: argument 1 has type %s; decimal is not supported yet: CAST it to DOUBLE", name, dt)
	}
	return fmt.Errorf("agg: %s: argument 1 has type %s; accepted: %s", name, dt, accepted)
}

func noParams(name string, params []any) error {
	if len(params) != 0 {
		return fmt.Errorf("agg: %s takes no parameters, got %d (%v)", name, len(params), params)
	}
	return nil
}

func bindCount(name string, argTypes []arrow.DataType, params []any) (Func, error) {
	if err := noParams(name, params); err != nil {
		return nil, err
	}
	switch len(argTypes) {
	case 0:
		return &fn{name, arrow.PrimitiveTypes.Int64, func() Accumulator { return &countAcc{name: name, star: true} }}, nil
	case 1:
		if argTypes[0] == nil {
			return nil, fmt.Errorf("agg: count: argument 1 has no type; pass its Arrow type")
		}
		return &fn{name, arrow.PrimitiveTypes.Int64, func() Accumulator { return &countAcc{name: name} }}, nil
	}
	return nil, fmt.Errorf("agg: count takes 0 arguments (count(*)) or 1, got %d", len(argTypes))
}

func bindCountIf(name string, argTypes []arrow.DataType, params []any) (Func, error) {
	if err := noParams(name, params); err != nil {
		return nil, err
	}
	if err := wantArgs(name, argTypes, 1); err != nil {
		return nil, err
	}
	if err := checkType(name, argTypes[0], func(dt arrow.DataType) bool { return dt.ID() == arrow.BOOL }, "boolean"); err != nil {
		return nil, err
	}
	return &fn{name, arrow.PrimitiveTypes.Int64, func() Accumulator { return &countAcc{name: name, ifTrue: true} }}, nil
}

// bindOne checks that there is one argument and that ok accepts its type;
// the caller checks the parameters.
func bindOne(name string, argTypes []arrow.DataType, ok func(arrow.DataType) bool, accepted string) error {
	if err := wantArgs(name, argTypes, 1); err != nil {
		return err
	}
	return checkType(name, argTypes[0], ok, accepted)
}

func bindSum(name string, argTypes []arrow.DataType, params []any) (Func, error) {
	if err := noParams(name, params); err != nil {
		return nil, err
	}
	if err := bindOne(name, argTypes, isNumeric, acceptNumeric); err != nil {
		return nil, err
	}
	s := spec{fam: famSum, name: name, in: argTypes[0]}
	res := arrow.DataType(arrow.PrimitiveTypes.Int64)
	if isFloat(argTypes[0]) {
		res = arrow.PrimitiveTypes.Float64
	}
	return &fn{name, res, numericFactory(s)}, nil
}

func bindAvg(name string, argTypes []arrow.DataType, params []any) (Func, error) {
	if err := noParams(name, params); err != nil {
		return nil, err
	}
	if err := bindOne(name, argTypes, isNumeric, acceptNumeric); err != nil {
		return nil, err
	}
	s := spec{fam: famAvg, name: name, in: argTypes[0]}
	return &fn{name, arrow.PrimitiveTypes.Float64, numericFactory(s)}, nil
}

func bindMinMax(name string, argTypes []arrow.DataType, params []any) (Func, error) {
	if err := noParams(name, params); err != nil {
		return nil, err
	}
	if err := bindOne(name, argTypes, isOrdered, acceptOrdered); err != nil {
		return nil, err
	}
	s := spec{fam: famMinMax, name: name, in: argTypes[0], isMax: name == "max"}
	return &fn{name, argTypes[0], valueFactory(s)}, nil
}

func bindFirstLast(name string, argTypes []arrow.DataType, params []any) (Func, error) {
	if err := bindOne(name, argTypes, isOrdered, acceptOrdered); err != nil {
		return nil, err
	}
	s := spec{fam: famFirstLast, name: name, in: argTypes[0], last: name == "last"}
	switch len(params) {
	case 0:
	case 1:
		b, ok := params[0].(bool)
		if !ok {
			return nil, fmt.Errorf("agg: %s: parameter ignoreNulls must be a bool, got %v (%T)", name, params[0], params[0])
		}
		s.ignoreNulls = b
	default:
		return nil, fmt.Errorf("agg: %s takes at most 1 parameter (ignoreNulls bool), got %d", name, len(params))
	}
	return &fn{name, argTypes[0], valueFactory(s)}, nil
}

func bindVariance(name string, argTypes []arrow.DataType, params []any) (Func, error) {
	if err := noParams(name, params); err != nil {
		return nil, err
	}
	if err := bindOne(name, argTypes, isNumeric, acceptNumeric); err != nil {
		return nil, err
	}
	s := spec{fam: famVariance, name: name, in: argTypes[0]}
	switch name {
	case "stddev", "stddev_samp":
		s.varKind = varSamp | varSqrt
	case "stddev_pop":
		s.varKind = varSqrt
	case "variance", "var_samp":
		s.varKind = varSamp
	}
	return &fn{name, arrow.PrimitiveTypes.Float64, numericFactory(s)}, nil
}

// hllPrecision returns the HyperLogLog precision for a relative standard
// deviation: ceil(2*log2(1.106/rsd)) clamped to [4, 16].
func hllPrecision(rsd float64) uint8 {
	p := math.Ceil(2 * math.Log2(1.106/rsd))
	return uint8(min(max(p, 4), 16))
}

func bindApproxCountDistinct(name string, argTypes []arrow.DataType, params []any) (Func, error) {
	if err := bindOne(name, argTypes, isOrdered, acceptOrdered); err != nil {
		return nil, err
	}
	rsd := 0.05
	switch len(params) {
	case 0:
	case 1:
		f, ok := toFloat(params[0])
		if !ok || !(f > 0 && f < 1) {
			return nil, fmt.Errorf("agg: %s: parameter rsd (relative standard deviation) must be a float64 in (0, 1), got %v (%T)", name, params[0], params[0])
		}
		rsd = f
	default:
		return nil, fmt.Errorf("agg: %s takes at most 1 parameter (rsd float64), got %d", name, len(params))
	}
	s := spec{fam: famHLL, name: name, in: argTypes[0], hllP: hllPrecision(rsd)}
	return &fn{name, arrow.PrimitiveTypes.Int64, valueFactory(s)}, nil
}

// DefaultPercentileAccuracy is approx_percentile's accuracy when none is
// given, as in Spark.
const DefaultPercentileAccuracy = 10000

// maxPercentileAccuracy bounds the accuracy so that a sketch stays within
// a sane size.
const maxPercentileAccuracy = 1 << 24

func bindApproxPercentile(name string, argTypes []arrow.DataType, params []any) (Func, error) {
	if err := bindOne(name, argTypes, isPercentileType, acceptPercentile); err != nil {
		return nil, err
	}
	if len(params) < 1 || len(params) > 2 {
		return nil, fmt.Errorf("agg: %s takes a percentage (float64 in [0, 1] or []float64) and an optional accuracy (int), got %d parameters", name, len(params))
	}
	s := spec{fam: famPercentile, name: name, in: argTypes[0], accuracy: DefaultPercentileAccuracy}
	badPct := func() error {
		return fmt.Errorf("agg: %s: percentage must be a float64 in [0, 1] or a non-empty []float64 of them, got %v (%T)", name, params[0], params[0])
	}
	switch p := params[0].(type) {
	case []float64:
		if len(p) == 0 {
			return nil, badPct()
		}
		for _, x := range p {
			if !(x >= 0 && x <= 1) {
				return nil, badPct()
			}
		}
		s.pcts = slices.Clone(p)
		s.pctList = true
	default:
		x, ok := toFloat(p)
		if !ok || !(x >= 0 && x <= 1) {
			return nil, badPct()
		}
		s.pcts = []float64{x}
	}
	if len(params) == 2 {
		var acc int64
		switch a := params[1].(type) {
		case int:
			acc = int64(a)
		case int64:
			acc = a
		case int32:
			acc = int64(a)
		default:
			return nil, fmt.Errorf("agg: %s: accuracy must be an int or int64, got %v (%T)", name, params[1], params[1])
		}
		if acc <= 0 || acc > maxPercentileAccuracy {
			return nil, fmt.Errorf("agg: %s: accuracy must be in [1, %d], got %d", name, maxPercentileAccuracy, acc)
		}
		s.accuracy = int(acc)
	}
	res := argTypes[0]
	if s.pctList {
		res = arrow.ListOf(argTypes[0])
	}
	return &fn{name, res, numericFactory(s)}, nil
}

func bindCollect(name string, argTypes []arrow.DataType, params []any) (Func, error) {
	if err := noParams(name, params); err != nil {
		return nil, err
	}
	if err := bindOne(name, argTypes, isOrdered, acceptOrdered); err != nil {
		return nil, err
	}
	s := spec{fam: famCollect, name: name, in: argTypes[0], distinct: name == "collect_set"}
	return &fn{name, arrow.ListOf(argTypes[0]), valueFactory(s)}, nil
}

func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case float32:
		return float64(x), true
	}
	return 0, false
}

// family selects the accumulator a factory builds.
type family uint8

const (
	famSum family = iota
	famAvg
	famMinMax
	famFirstLast
	famVariance
	famHLL
	famPercentile
	famCollect
)

// Variance kinds: sample (else population), square root (standard
// deviation).
const (
	varSamp = 1 << iota
	varSqrt
)

// spec is everything a factory needs to build accumulators.
type spec struct {
	fam         family
	name        string
	in          arrow.DataType
	isMax       bool
	last        bool
	ignoreNulls bool
	distinct    bool
	varKind     int
	hllP        uint8
	pcts        []float64
	pctList     bool
	accuracy    int
}

// corrupt returns the MergeState error for a malformed state.
func corrupt(name string, g int, what string) error {
	return fmt.Errorf("agg: %s: merging state into group %d: %s; the state was not written by %s of this type, or it was truncated: %w",
		name, g, what, name, ErrCorruptState)
}

// checkRows checks that every argument has one row per gid.
func checkRows(name string, args []arrow.Array, want int, gids []int32) error {
	if len(args) != want {
		return fmt.Errorf("agg: %s: Update got %d arguments, want %d", name, len(args), want)
	}
	for i, a := range args {
		if a.Len() != len(gids) {
			return fmt.Errorf("agg: %s: Update argument %d has %d rows but there are %d group ids; pass one group id per row", name, i+1, a.Len(), len(gids))
		}
	}
	return nil
}
