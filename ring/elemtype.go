package ring

import (
	"hash/fnv"
	"reflect"
	"strconv"
)

// elemInfo is what a typed ring records about its element type.
type elemInfo struct {
	size, align uint32
	fingerprint uint64
}

// inspectType checks that t is fixed-size and pointer-free (recursively),
// and computes its fingerprint: an FNV-1a hash over the type's kind, size,
// alignment and every field's name, offset and kind, recursively. Two
// processes agree on the fingerprint exactly when they agree on the memory
// layout and the field names, whatever the types are called.
func inspectType(t reflect.Type) (elemInfo, error) {
	if t == nil {
		return elemInfo{}, &TypeError{Type: "<nil>", Field: "<nil>", Kind: "interface"}
	}
	h := fnv.New64a()
	if err := walkType(t, t.String(), t.String(), h); err != nil {
		return elemInfo{}, err
	}
	if t.Size() == 0 {
		return elemInfo{}, &TypeError{Type: t.String(), Field: t.String(), Kind: "zero-size type"}
	}
	if t.Size() > maxSlotSize {
		return elemInfo{}, &TypeError{Type: t.String(), Field: t.String(), Kind: "type larger than 1 GiB"}
	}
	return elemInfo{size: uint32(t.Size()), align: uint32(t.Align()), fingerprint: h.Sum64()}, nil
}

// Fingerprint checks that t can live in shared memory (fixed size, no
// pointers at any depth: otherwise a *TypeError naming the field) and
// returns its structural fingerprint, the value a typed ring records in its
// header. Codecs that copy raw memory between processes use it too.
func Fingerprint(t reflect.Type) (uint64, error) {
	info, err := inspectType(t)
	return info.fingerprint, err
}

type hashWriter interface{ Write([]byte) (int, error) }

func walkType(t reflect.Type, root, path string, h hashWriter) error {
	write := func(parts ...string) {
		for _, p := range parts {
			h.Write([]byte(p))
			h.Write([]byte{0})
		}
	}
	// Structure, not type names: two programs may declare the same event
	// under different names (or packages); field names do count.
	write(t.Kind().String(), strconv.FormatUint(uint64(t.Size()), 10), strconv.Itoa(t.Align()))
	switch t.Kind() {
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64, reflect.Complex64, reflect.Complex128:
		return nil
	case reflect.Array:
		write(strconv.Itoa(t.Len()))
		return walkType(t.Elem(), root, path+"[]", h)
	case reflect.Struct:
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			write(f.Name, strconv.FormatUint(uint64(f.Offset), 10))
			if err := walkType(f.Type, root, path+"."+f.Name, h); err != nil {
				return err
			}
		}
		return nil
	}
	// Pointers, unsafe.Pointer, uintptr, strings, slices, maps, interfaces,
	// channels and funcs mean nothing in another address space.
	return &TypeError{Type: root, Field: path, Kind: t.Kind().String()}
}
