package stateful

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"time"
)

// This file holds the binary encoding of state values: one codec per Go
// type, built once when a state variable is declared. The encoding is
// deterministic (equal values encode to equal bytes; map entries are
// sorted by their encoded keys) and is part of the checkpoint format
// (docs/format/transform-state.md):
//
//	bool                      1 byte, 0 or 1
//	int8..int64, uint8..uint64 little-endian, the type's width
//	int, uint                 8 bytes little-endian
//	float32, float64          IEEE 754 bits, little-endian
//	string, []byte            uvarint length, then the bytes ([]byte: a
//	                          presence byte first, 0 for nil)
//	time.Time                 int64 microseconds since the Unix epoch (UTC)
//	pointer                   presence byte (0 nil, 1 set), then the value
//	slice                     presence byte, uvarint count, the elements
//	map                       presence byte, uvarint count, then key and
//	                          value pairs sorted by the key's encoding
//	struct                    the exported fields in declaration order
//	                          (fields tagged `sluice:"-"` skipped)

var errShort = errors.New("value ends early")

// codec encodes and decodes values of T.
type codec[T any] struct {
	enc  func(dst []byte, v *T) []byte
	dec  func(src []byte, v *T) ([]byte, error)
	desc string
}

// codecOf builds the codec of T, or an error naming the part of T that
// has no encoding.
func codecOf[T any]() (codec[T], error) {
	var zero T
	switch any(zero).(type) {
	case int64:
		return directCodec[T]("int64",
			func(dst []byte, v int64) []byte { return appendU64(dst, uint64(v)) },
			func(src []byte) (int64, []byte, error) {
				b, rest, err := readU64(src)
				return int64(b), rest, err
			}), nil
	case float64:
		return directCodec[T]("float64",
			func(dst []byte, v float64) []byte { return appendU64(dst, math.Float64bits(v)) },
			func(src []byte) (float64, []byte, error) {
				b, rest, err := readU64(src)
				return math.Float64frombits(b), rest, err
			}), nil
	case string:
		return directCodec[T]("string", appendLenBytes[string],
			func(src []byte) (string, []byte, error) {
				b, rest, err := readBytes(src)
				return string(b), rest, err
			}), nil
	}
	t := reflect.TypeFor[T]()
	rc, err := reflectCodec(t, t.String(), map[reflect.Type]bool{})
	if err != nil {
		return codec[T]{}, err
	}
	return codec[T]{
		enc:  func(dst []byte, v *T) []byte { return rc.enc(dst, reflect.ValueOf(v).Elem()) },
		dec:  func(src []byte, v *T) ([]byte, error) { return rc.dec(src, reflect.ValueOf(v).Elem()) },
		desc: t.String(),
	}, nil
}

// directCodec is the codec of T, which is U, without reflection: enc
// appends a value, dec reads one and returns the rest.
func directCodec[T, U any](desc string, enc func(dst []byte, v U) []byte, dec func(src []byte) (U, []byte, error)) codec[T] {
	return codec[T]{
		enc: func(dst []byte, v *T) []byte { return enc(dst, *any(v).(*U)) },
		dec: func(src []byte, v *T) ([]byte, error) {
			u, rest, err := dec(src)
			if err != nil {
				return nil, err
			}
			*any(v).(*U) = u
			return rest, nil
		},
		desc: desc,
	}
}

// rcodec encodes values of one type through reflection. dec sets v, which
// is settable.
type rcodec struct {
	enc func(dst []byte, v reflect.Value) []byte
	dec func(src []byte, v reflect.Value) ([]byte, error)
}

var timeType = reflect.TypeFor[time.Time]()

// appendU64 appends b little-endian.
func appendU64(dst []byte, b uint64) []byte { return binary.LittleEndian.AppendUint64(dst, b) }

// readU64 reads a little-endian uint64.
func readU64(src []byte) (uint64, []byte, error) {
	if len(src) < 8 {
		return 0, nil, errShort
	}
	return binary.LittleEndian.Uint64(src), src[8:], nil
}

// appendLenBytes appends the uvarint length of b, then b.
func appendLenBytes[S string | []byte](dst []byte, b S) []byte {
	return append(binary.AppendUvarint(dst, uint64(len(b))), b...)
}

// readBytes reads what appendLenBytes wrote; b is src's memory.
func readBytes(src []byte) (b, rest []byte, err error) {
	n, sz := binary.Uvarint(src)
	if sz <= 0 || uint64(len(src)-sz) < n {
		return nil, nil, errShort
	}
	return src[sz : sz+int(n)], src[sz+int(n):], nil
}

// readCount reads the uvarint count of a slice's or map's elements,
// refusing one larger than what is left (each element takes a byte at
// least).
func readCount(src []byte) (int, []byte, error) {
	n, sz := binary.Uvarint(src)
	if sz <= 0 || n > uint64(len(src)) {
		return 0, nil, errShort
	}
	return int(n), src[sz:], nil
}

// nullable is the codec of a pointer, slice or map: a presence byte, 0
// for nil, or 1 followed by what enc writes. dec reads after a 1 and
// sets v; a 0 sets v to nil.
func nullable(enc func(dst []byte, v reflect.Value) []byte, dec func(src []byte, v reflect.Value) ([]byte, error)) rcodec {
	return rcodec{
		enc: func(dst []byte, v reflect.Value) []byte {
			if v.IsNil() {
				return append(dst, 0)
			}
			return enc(append(dst, 1), v)
		},
		dec: func(src []byte, v reflect.Value) ([]byte, error) {
			ok, rest, err := readPresence(src)
			if err != nil || !ok {
				v.SetZero()
				return rest, err
			}
			return dec(rest, v)
		},
	}
}

func readPresence(src []byte) (bool, []byte, error) {
	if len(src) < 1 {
		return false, nil, errShort
	}
	switch src[0] {
	case 0:
		return false, src[1:], nil
	case 1:
		return true, src[1:], nil
	}
	return false, nil, fmt.Errorf("presence byte is %d, want 0 or 1", src[0])
}

// fixedCodec encodes integers and floats of width bytes from their bits.
func fixedCodec(width int, bits func(v reflect.Value) uint64, set func(v reflect.Value, b uint64)) rcodec {
	return rcodec{
		enc: func(dst []byte, v reflect.Value) []byte {
			b := bits(v)
			for i := 0; i < width; i++ {
				dst = append(dst, byte(b>>(8*i)))
			}
			return dst
		},
		dec: func(src []byte, v reflect.Value) ([]byte, error) {
			if len(src) < width {
				return nil, errShort
			}
			var b uint64
			for i := 0; i < width; i++ {
				b |= uint64(src[i]) << (8 * i)
			}
			set(v, b)
			return src[width:], nil
		},
	}
}

func reflectCodec(t reflect.Type, path string, visiting map[reflect.Type]bool) (rcodec, error) {
	if t == timeType {
		return rcodec{
			enc: func(dst []byte, v reflect.Value) []byte {
				return appendU64(dst, uint64(v.Interface().(time.Time).UnixMicro()))
			},
			dec: func(src []byte, v reflect.Value) ([]byte, error) {
				b, rest, err := readU64(src)
				if err != nil {
					return nil, err
				}
				v.Set(reflect.ValueOf(time.UnixMicro(int64(b)).UTC()))
				return rest, nil
			},
		}, nil
	}
	sint := func(v reflect.Value) uint64 { return uint64(v.Int()) }
	uint_ := func(v reflect.Value) uint64 { return v.Uint() }
	switch t.Kind() {
	case reflect.Bool:
		return rcodec{
			enc: func(dst []byte, v reflect.Value) []byte {
				if v.Bool() {
					return append(dst, 1)
				}
				return append(dst, 0)
			},
			dec: func(src []byte, v reflect.Value) ([]byte, error) {
				ok, rest, err := readPresence(src)
				if err != nil {
					return nil, err
				}
				v.SetBool(ok)
				return rest, nil
			},
		}, nil
	case reflect.Int8:
		return fixedCodec(1, sint, func(v reflect.Value, b uint64) { v.SetInt(int64(int8(b))) }), nil
	case reflect.Int16:
		return fixedCodec(2, sint, func(v reflect.Value, b uint64) { v.SetInt(int64(int16(b))) }), nil
	case reflect.Int32:
		return fixedCodec(4, sint, func(v reflect.Value, b uint64) { v.SetInt(int64(int32(b))) }), nil
	case reflect.Int64, reflect.Int:
		return fixedCodec(8, sint, func(v reflect.Value, b uint64) { v.SetInt(int64(b)) }), nil
	case reflect.Uint8:
		return fixedCodec(1, uint_, func(v reflect.Value, b uint64) { v.SetUint(b) }), nil
	case reflect.Uint16:
		return fixedCodec(2, uint_, func(v reflect.Value, b uint64) { v.SetUint(b) }), nil
	case reflect.Uint32:
		return fixedCodec(4, uint_, func(v reflect.Value, b uint64) { v.SetUint(b) }), nil
	case reflect.Uint64, reflect.Uint:
		return fixedCodec(8, uint_, func(v reflect.Value, b uint64) { v.SetUint(b) }), nil
	case reflect.Float32:
		return fixedCodec(4, func(v reflect.Value) uint64 { return uint64(math.Float32bits(float32(v.Float()))) },
			func(v reflect.Value, b uint64) { v.SetFloat(float64(math.Float32frombits(uint32(b)))) }), nil
	case reflect.Float64:
		return fixedCodec(8, func(v reflect.Value) uint64 { return math.Float64bits(v.Float()) },
			func(v reflect.Value, b uint64) { v.SetFloat(math.Float64frombits(b)) }), nil
	case reflect.String:
		return rcodec{
			enc: func(dst []byte, v reflect.Value) []byte {
				return appendLenBytes(dst, v.String())
			},
			dec: func(src []byte, v reflect.Value) ([]byte, error) {
				b, rest, err := readBytes(src)
				if err != nil {
					return nil, err
				}
				v.SetString(string(b))
				return rest, nil
			},
		}, nil
	case reflect.Pointer:
		ec, err := reflectCodec(t.Elem(), path, visiting)
		if err != nil {
			return rcodec{}, err
		}
		return nullable(
			func(dst []byte, v reflect.Value) []byte { return ec.enc(dst, v.Elem()) },
			func(src []byte, v reflect.Value) ([]byte, error) {
				p := reflect.New(t.Elem())
				rest, err := ec.dec(src, p.Elem())
				v.Set(p)
				return rest, err
			}), nil
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return nullable(
				func(dst []byte, v reflect.Value) []byte { return appendLenBytes(dst, v.Bytes()) },
				func(src []byte, v reflect.Value) ([]byte, error) {
					b, rest, err := readBytes(src)
					if err != nil {
						return nil, err
					}
					out := reflect.MakeSlice(t, len(b), len(b))
					reflect.Copy(out, reflect.ValueOf(b))
					v.Set(out)
					return rest, nil
				}), nil
		}
		ec, err := reflectCodec(t.Elem(), path+"[]", visiting)
		if err != nil {
			return rcodec{}, err
		}
		return nullable(
			func(dst []byte, v reflect.Value) []byte {
				dst = binary.AppendUvarint(dst, uint64(v.Len()))
				for i := 0; i < v.Len(); i++ {
					dst = ec.enc(dst, v.Index(i))
				}
				return dst
			},
			func(src []byte, v reflect.Value) ([]byte, error) {
				n, rest, err := readCount(src)
				if err != nil {
					return nil, err
				}
				out := reflect.MakeSlice(t, n, n)
				for i := 0; i < n; i++ {
					if rest, err = ec.dec(rest, out.Index(i)); err != nil {
						return nil, err
					}
				}
				v.Set(out)
				return rest, nil
			}), nil
	case reflect.Map:
		kc, err := reflectCodec(t.Key(), path+"[key]", visiting)
		if err != nil {
			return rcodec{}, err
		}
		vc, err := reflectCodec(t.Elem(), path+"[value]", visiting)
		if err != nil {
			return rcodec{}, err
		}
		return nullable(
			func(dst []byte, v reflect.Value) []byte {
				type kv struct{ k, v []byte }
				ents := make([]kv, 0, v.Len())
				it := v.MapRange()
				for it.Next() {
					ents = append(ents, kv{kc.enc(nil, it.Key()), vc.enc(nil, it.Value())})
				}
				slices.SortFunc(ents, func(a, b kv) int { return bytes.Compare(a.k, b.k) })
				dst = binary.AppendUvarint(dst, uint64(len(ents)))
				for _, e := range ents {
					dst = append(append(dst, e.k...), e.v...)
				}
				return dst
			},
			func(src []byte, v reflect.Value) ([]byte, error) {
				n, rest, err := readCount(src)
				if err != nil {
					return nil, err
				}
				out := reflect.MakeMapWithSize(t, n)
				for i := 0; i < n; i++ {
					k, e := reflect.New(t.Key()).Elem(), reflect.New(t.Elem()).Elem()
					if rest, err = kc.dec(rest, k); err != nil {
						return nil, err
					}
					if rest, err = vc.dec(rest, e); err != nil {
						return nil, err
					}
					out.SetMapIndex(k, e)
				}
				v.Set(out)
				return rest, nil
			}), nil
	case reflect.Struct:
		if visiting[t] {
			return rcodec{}, fmt.Errorf("%s refers back to struct %s; recursive types have no state encoding", path, t)
		}
		visiting[t] = true
		defer delete(visiting, t)
		var idx []int
		var fcs []rcodec
		for i := 0; i < t.NumField(); i++ {
			sf := t.Field(i)
			if !sf.IsExported() || sf.Tag.Get("sluice") == "-" {
				continue
			}
			fc, err := reflectCodec(sf.Type, path+"."+sf.Name, visiting)
			if err != nil {
				return rcodec{}, err
			}
			idx, fcs = append(idx, i), append(fcs, fc)
		}
		return rcodec{
			enc: func(dst []byte, v reflect.Value) []byte {
				for j, i := range idx {
					dst = fcs[j].enc(dst, v.Field(i))
				}
				return dst
			},
			dec: func(src []byte, v reflect.Value) ([]byte, error) {
				var err error
				for j, i := range idx {
					if src, err = fcs[j].dec(src, v.Field(i)); err != nil {
						return nil, err
					}
				}
				return src, nil
			},
		}, nil
	}
	return rcodec{}, fmt.Errorf("%s is of Go type %s, which has no state encoding; use bool, integers, floats, string, []byte, time.Time, pointers, slices, maps or structs of those", path, t)
}
