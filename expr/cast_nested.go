package expr

import (
	"errors"
	"fmt"
	"sort"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// Casts of structs, arrays and maps: each child is cast with its own
// caster, and a failure deep inside names the top-level row.

// runCastTo runs conv over in (borrowed) and returns an array the caller
// owns; an input of nulls only gives nulls of type to without looking at
// its values.
func runCastTo(conv caster, to arrow.DataType, cc *castCtx, in arrow.Array) (arrow.Array, error) {
	if in.Len() > 0 && in.NullN() == in.Len() {
		return array.MakeArrayOfNull(cc.mem, to, in.Len()), nil
	}
	return conv(cc, in)
}

// runCast is runCastTo for casts to string.
func runCast(conv caster, cc *castCtx, in arrow.Array) (arrow.Array, error) {
	return runCastTo(conv, arrow.BinaryTypes.String, cc, in)
}

// mapFailRow turns the element index of a failure among the values of a
// list or map (sliced to start at offs[0]) into the index of its row.
func mapFailRow(err error, offs []int32) error {
	var f *castFail
	if !errors.As(err, &f) {
		return err
	}
	j := int32(f.row) + offs[0]
	r := sort.Search(len(offs)-1, func(r int) bool { return offs[r+1] > j })
	g := *f
	g.row = r
	return &g
}

// rowOf returns the row holding element index j among the values of a
// list or map (sliced to start at offs[0]).
func rowOf(offs []int32, j int) int {
	jj := int32(j) + offs[0]
	return sort.Search(len(offs)-1, func(r int) bool { return offs[r+1] > jj })
}

func planStructCast(from, to *arrow.StructType) (caster, error) {
	if from.NumFields() != to.NumFields() {
		return nil, fmt.Errorf("cannot cast %s to %s: the structs have %d and %d fields; a struct casts field by field", TypeString(from), TypeString(to), from.NumFields(), to.NumFields())
	}
	convs := make([]caster, from.NumFields())
	for i := range convs {
		c, err := planCast(from.Field(i).Type, to.Field(i).Type)
		if err != nil {
			return nil, fmt.Errorf("field %s: %w", from.Field(i).Name, err)
		}
		convs[i] = c
	}
	return func(cc *castCtx, in arrow.Array) (arrow.Array, error) {
		st := in.(*array.Struct)
		children := make([]arrow.ArrayData, len(convs))
		defer func() {
			for _, c := range children {
				if c != nil {
					c.Release()
				}
			}
		}()
		for i, conv := range convs {
			// A field is null where the struct is, so values hidden by a
			// null struct are not converted.
			field, err := structField(cc.mem, st, i)
			if err != nil {
				return nil, err
			}
			out, err := runCastTo(conv, to.Field(i).Type, cc, field)
			field.Release()
			if err != nil {
				return nil, err
			}
			children[i] = out.Data()
			children[i].Retain()
			out.Release()
		}
		m := newNullMask(cc.mem, in)
		validity, nulls := m.result()
		data := array.NewData(to, in.Len(), []*memory.Buffer{validity}, children, nulls, 0)
		if validity != nil {
			validity.Release()
		}
		defer data.Release()
		return array.MakeFromData(data), nil
	}, nil
}

// rebasedOffsets copies offs less offs[0] into a new buffer, owned by the
// caller.
func rebasedOffsets(mem memory.Allocator, offs []int32) *memory.Buffer {
	buf, out := newFixed[int32](mem, len(offs))
	for i, o := range offs {
		out[i] = o - offs[0]
	}
	return buf
}

func planListCast(from, to *arrow.ListType) (caster, error) {
	conv, err := planCast(from.Elem(), to.Elem())
	if err != nil {
		return nil, fmt.Errorf("array elements: %w", err)
	}
	return func(cc *castCtx, in arrow.Array) (arrow.Array, error) {
		l := in.(*array.List)
		offs, vals := listRange(l, l.ListValues())
		defer vals.Release()
		elems, err := runCastTo(conv, to.Elem(), cc, vals)
		if err != nil {
			return nil, mapFailRow(err, offs)
		}
		defer elems.Release()
		m := newNullMask(cc.mem, in)
		validity, nulls := m.result()
		offsets := rebasedOffsets(cc.mem, offs)
		data := array.NewData(to, in.Len(), []*memory.Buffer{validity, offsets}, []arrow.ArrayData{elems.Data()}, nulls, 0)
		offsets.Release()
		if validity != nil {
			validity.Release()
		}
		defer data.Release()
		return array.MakeFromData(data), nil
	}, nil
}

func planMapCast(from, to *arrow.MapType) (caster, error) {
	kconv, err := planCast(from.KeyType(), to.KeyType())
	if err != nil {
		return nil, fmt.Errorf("map keys: %w", err)
	}
	vconv, err := planCast(from.ItemType(), to.ItemType())
	if err != nil {
		return nil, fmt.Errorf("map values: %w", err)
	}
	return func(cc *castCtx, in arrow.Array) (arrow.Array, error) {
		mp := in.(*array.Map)
		offs, keys := listRange(mp, mp.Keys())
		defer keys.Release()
		_, items := listRange(mp, mp.Items())
		defer items.Release()
		ks, err := runCastTo(kconv, to.KeyType(), cc, keys)
		if err != nil {
			return nil, mapFailRow(err, offs)
		}
		defer ks.Release()
		vs, err := runCastTo(vconv, to.ItemType(), cc, items)
		if err != nil {
			return nil, mapFailRow(err, offs)
		}
		defer vs.Release()
		m := newNullMask(cc.mem, in)
		if ks.NullN() > 0 {
			// TRY_CAST: a key that failed makes its whole map null, since
			// map keys cannot be null.
			for j := 0; j < ks.Len(); j++ {
				if ks.IsNull(j) {
					m.setNull(rowOf(offs, j))
				}
			}
		}
		entries := array.NewData(to.Elem(), ks.Len(), []*memory.Buffer{nil}, []arrow.ArrayData{ks.Data(), vs.Data()}, 0, 0)
		defer entries.Release()
		validity, nulls := m.result()
		offsets := rebasedOffsets(cc.mem, offs)
		data := array.NewData(to, in.Len(), []*memory.Buffer{validity, offsets}, []arrow.ArrayData{entries}, nulls, 0)
		offsets.Release()
		if validity != nil {
			validity.Release()
		}
		defer data.Release()
		return array.MakeFromData(data), nil
	}, nil
}
