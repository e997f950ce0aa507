package flatbuffers

// The buffer format the verifier checks (little-endian):
//
//	buffer:   [root: u32 offset to the root table] ...
//	table:    [vtable: i32, vtable position = table position - value] [fields ...]
//	vtable:   [vtable size: u16] [table inline size: u16] [field offset: u16] ...
//	          field i's offset is at vtable + 4 + 2i; 0 or past the vtable: absent
//	offset fields (vectors, strings, tables) hold a u32 relative to their own position
//	vector:   [length: u32] [elements ...]
//	string:   [length: u32] [bytes ...] [0]
//
// All arithmetic is in uint64/int64 on values bounded by the buffer
// length, which is below 2^31, so the runtime's uint32 arithmetic on the
// same values cannot wrap.

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// Limits of a Verifier.
const (
	// MaxDepth bounds table nesting.
	MaxDepth = 64
	// MaxTables bounds the tables one buffer may make the verifier visit.
	MaxTables = 1 << 20
)

// ErrInvalid: the buffer is not a valid FlatBuffer of the expected schema.
// Every verification failure is a *VerifyError matching it.
var ErrInvalid = errors.New("flatbuffers: invalid buffer")

// VerifyError says what failed verification and where.
type VerifyError struct {
	What   string // "root", "vtable", "field 2", "vector", ...
	Offset uint64 // buffer offset concerned
	Reason string
}

func (e *VerifyError) Error() string {
	return fmt.Sprintf("flatbuffers: invalid buffer: %s at offset %d: %s", e.What, e.Offset, e.Reason)
}

// Is reports ErrInvalid.
func (e *VerifyError) Is(target error) bool { return target == ErrInvalid }

var le = binary.LittleEndian

// Verifier walks one buffer. Make it with NewVerifier, then Root, then
// check each table's fields as the schema says.
type Verifier struct {
	buf    []byte
	tables int
}

// NewVerifier returns a verifier of buf.
func NewVerifier(buf []byte) Verifier { return Verifier{buf: buf} }

// Table is a verified table position; its methods verify fields.
type Table struct {
	v       *Verifier
	pos     uint64
	vt      uint64
	vtSize  uint64
	tblSize uint64
	depth   int
}

func bad(what string, off uint64, format string, args ...any) error {
	return &VerifyError{What: what, Offset: off, Reason: fmt.Sprintf(format, args...)}
}

// has reports whether n bytes at off lie inside the buffer.
func (v *Verifier) has(off, n uint64) bool {
	return off <= uint64(len(v.buf)) && n <= uint64(len(v.buf))-off
}

// Root verifies the root offset and the root table's header.
func (v *Verifier) Root() (Table, error) {
	if len(v.buf) < 4 {
		return Table{}, bad("root", 0, "buffer of %d bytes", len(v.buf))
	}
	if len(v.buf) >= math.MaxInt32 {
		return Table{}, bad("root", 0, "buffer of %d bytes, limit 2 GiB", len(v.buf))
	}
	return v.table("root", -1, uint64(le.Uint32(v.buf)), 0)
}

// table verifies the table at pos; kind and slot (-1: none) name it in
// errors.
func (v *Verifier) table(kind string, slot int, pos uint64, depth int) (Table, error) {
	if depth > MaxDepth {
		return Table{}, bad(tableName(kind, slot), pos, "nesting deeper than %d", MaxDepth)
	}
	if v.tables++; v.tables > MaxTables {
		return Table{}, bad(tableName(kind, slot), pos, "more than %d tables", MaxTables)
	}
	if !v.has(pos, 4) {
		return Table{}, bad(tableName(kind, slot), pos, "table header past the end (%d bytes)", len(v.buf))
	}
	vt := int64(pos) - int64(int32(le.Uint32(v.buf[pos:])))
	if vt < 0 || !v.has(uint64(vt), 4) {
		return Table{}, bad("vtable of "+tableName(kind, slot), pos, "vtable at %d outside the buffer", vt)
	}
	t := Table{v: v, pos: pos, vt: uint64(vt), depth: depth}
	t.vtSize = uint64(le.Uint16(v.buf[vt:]))
	t.tblSize = uint64(le.Uint16(v.buf[vt+2:]))
	switch {
	case t.vtSize < 4 || t.vtSize%2 != 0 || !v.has(t.vt, t.vtSize):
		return Table{}, bad("vtable of "+tableName(kind, slot), t.vt, "vtable size %d", t.vtSize)
	case t.tblSize < 4 || !v.has(pos, t.tblSize):
		return Table{}, bad(tableName(kind, slot), pos, "inline size %d past the end", t.tblSize)
	}
	return t, nil
}

// field returns the offset of field slot (0-based, in schema order) inside
// the table, or ok false if it is absent.
func (t *Table) field(slot int) (off uint64, ok bool) {
	voff := uint64(4 + 2*slot)
	if voff+2 > t.vtSize {
		return 0, false
	}
	off = uint64(le.Uint16(t.v.buf[t.vt+voff:]))
	return off, off != 0
}

// Scalar verifies that field slot, if present, holds size bytes inside
// the table.
func (t *Table) Scalar(slot, size int) error {
	off, ok := t.field(slot)
	if ok && (off < 4 || off+uint64(size) > t.tblSize) {
		return bad(fmt.Sprintf("field %d", slot), t.pos+off, "%d-byte scalar outside the %d-byte table", size, t.tblSize)
	}
	return nil
}

// indirect verifies an offset field and returns its target position.
func (t *Table) indirect(slot int) (uint64, bool, error) {
	off, ok := t.field(slot)
	if !ok {
		return 0, false, nil
	}
	if off < 4 || off+4 > t.tblSize {
		return 0, false, bad(fmt.Sprintf("field %d", slot), t.pos+off, "offset field outside the %d-byte table", t.tblSize)
	}
	p := t.pos + off
	return p + uint64(le.Uint32(t.v.buf[p:])), true, nil
}

// vector verifies a vector at pos of elements of elemSize bytes (plus
// extra bytes after them) and returns its length and data start. kind and
// slot name it in errors (built only then: the success path allocates
// nothing).
func (t *Table) vector(kind string, slot int, pos uint64, elemSize, extra uint64) (n, data uint64, err error) {
	if !t.v.has(pos, 4) {
		return 0, 0, bad(fieldName(kind, slot), pos, "length past the end")
	}
	n = uint64(le.Uint32(t.v.buf[pos:]))
	if !t.v.has(pos+4, n*elemSize+extra) {
		return 0, 0, bad(fieldName(kind, slot), pos, "%d elements of %d bytes past the end", n, elemSize)
	}
	return n, pos + 4, nil
}

func fieldName(kind string, slot int) string { return fmt.Sprintf("%s field %d", kind, slot) }

func tableName(kind string, slot int) string {
	if slot < 0 {
		return kind + " table"
	}
	return fieldName(kind, slot)
}

// Vector verifies that field slot, if present, is a vector of scalars (or
// structs) of elemSize bytes, and returns its length.
func (t *Table) Vector(slot, elemSize int) (int, error) {
	pos, ok, err := t.indirect(slot)
	if !ok || err != nil {
		return 0, err
	}
	n, _, err := t.vector("vector", slot, pos, uint64(elemSize), 0)
	return int(n), err
}

// String verifies that field slot, if present, is a string (length,
// bytes and the terminating 0). It does not check UTF-8.
func (t *Table) String(slot int) error {
	pos, ok, err := t.indirect(slot)
	if !ok || err != nil {
		return err
	}
	n, data, err := t.vector("string", slot, pos, 1, 1)
	if err == nil && t.v.buf[data+n] != 0 {
		err = bad(fieldName("string", slot), data+n, "not 0-terminated")
	}
	return err
}

// Table verifies that field slot, if present, is a table and returns it.
func (t *Table) Table(slot int) (Table, bool, error) {
	pos, ok, err := t.indirect(slot)
	if !ok || err != nil {
		return Table{}, false, err
	}
	sub, err := t.v.table("table", slot, pos, t.depth+1)
	return sub, err == nil, err
}

// TableVector is a verified vector of tables; At verifies its elements.
type TableVector struct {
	t    Table
	slot int
	n    uint64
	data uint64
}

// Len returns the number of elements.
func (tv *TableVector) Len() int { return int(tv.n) }

// At verifies element i (0 <= i < Len) and returns it.
func (tv *TableVector) At(i int) (Table, error) {
	e := tv.data + 4*uint64(i)
	return tv.t.v.table("table vector", tv.slot, e+uint64(le.Uint32(tv.t.v.buf[e:])), tv.t.depth+1)
}

// Tables verifies that field slot, if present, is a vector of offsets to
// tables; verify each element with At. An absent field is an empty
// vector.
//
//	vec, err := t.Tables(0)
//	for i := range vec.Len() { e, err := vec.At(i); ... }
func (t *Table) Tables(slot int) (TableVector, error) {
	pos, ok, err := t.indirect(slot)
	if !ok || err != nil {
		return TableVector{}, err
	}
	n, data, err := t.vector("table vector", slot, pos, 4, 0)
	if err != nil {
		return TableVector{}, err
	}
	return TableVector{t: *t, slot: slot, n: n, data: data}, nil
}
