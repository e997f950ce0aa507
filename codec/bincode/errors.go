package bincode

import (
	"errors"
	"fmt"
)

// Errors of decoding. Every decode failure is a *Error matching one.
var (
	// ErrTruncated: the input ended inside a value, or a length prefix
	// promises more elements than the bytes left can hold.
	ErrTruncated = errors.New("bincode: truncated input")
	// ErrInvalid: a value is not valid in its type (a bool or Option tag
	// other than 0 or 1, a String that is not UTF-8, a length over the
	// platform's int, or a semantic check of the type's own).
	ErrInvalid = errors.New("bincode: invalid value")
	// ErrTrailing: bytes are left after the value (Codec only).
	ErrTrailing = errors.New("bincode: trailing bytes")
)

// Error describes a decode failure at an input offset.
type Error struct {
	Kind   error  // ErrTruncated, ErrInvalid or ErrTrailing
	What   string // what was being read: "u64", "bool", "length", ...
	Offset int    // input offset of the value
	Need   int    // bytes the value needs (ErrTruncated), if known
	Have   int    // bytes left at Offset
	Reason string // for ErrInvalid: why
}

func (e *Error) Error() string {
	switch {
	case e.Kind == ErrTruncated:
		return fmt.Sprintf("bincode: truncated input: %s at offset %d needs %d bytes, %d left", e.What, e.Offset, e.Need, e.Have)
	case e.Kind == ErrTrailing:
		return fmt.Sprintf("bincode: trailing bytes: %d left after the value at offset %d", e.Have, e.Offset)
	}
	return fmt.Sprintf("bincode: invalid %s at offset %d: %s", e.What, e.Offset, e.Reason)
}

// Is reports the error's kind.
func (e *Error) Is(target error) bool { return target == e.Kind }
