package frame

// This file is the only one in package frame that uses unsafe: it reads the
// address of a slot or buffer to check or establish 16-byte alignment.

import "unsafe"

// misalignment returns the address of b's first byte modulo 16.
func misalignment(b []byte) uintptr {
	return uintptr(unsafe.Pointer(unsafe.SliceData(b))) & 15
}

// alignedBytes returns a zeroed slice of length n whose first byte is
// 16-byte aligned (so reassembled payloads are as aligned as in-slot ones).
func alignedBytes(n int) []byte {
	b := make([]byte, n+15)
	off := (16 - misalignment(b)) & 15
	return b[off : off+uintptr(n) : off+uintptr(n)]
}
