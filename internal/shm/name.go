package shm

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// MaxNameLen is the longest Shm name accepted: macOS limits POSIX shm names
// to 31 bytes including the leading slash, and we keep names portable.
const MaxNameLen = 30

// ValidateName reports whether name is usable for backend b. Shm and Heap
// names are 1..MaxNameLen bytes of [A-Za-z0-9._-], not starting with '.'.
// File names are paths: non-empty, without NUL.
func ValidateName(b Backend, name string) error {
	if b == File {
		if name == "" || strings.IndexByte(name, 0) >= 0 {
			return fmt.Errorf("%w: path %q", ErrInvalidName, name)
		}
		return nil
	}
	if name == "" || len(name) > MaxNameLen {
		return fmt.Errorf("%w: %q has length %d, want 1..%d", ErrInvalidName, name, len(name), MaxNameLen)
	}
	if name[0] == '.' {
		return fmt.Errorf("%w: %q starts with '.'", ErrInvalidName, name)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.') {
			return fmt.Errorf("%w: %q has byte %q at %d (allowed: A-Z a-z 0-9 . _ -)", ErrInvalidName, name, c, i)
		}
	}
	return nil
}

var nameCounter atomic.Uint64

// PortableName returns a fresh name that starts with up to 12 characters of
// prefix (non-alphanumerics dropped) and ends with a unique base-36 suffix.
// The result is at most 24 bytes, leaving room for a derived suffix within
// MaxNameLen.
func PortableName(prefix string) string {
	var b strings.Builder
	for i := 0; i < len(prefix) && b.Len() < 12; i++ {
		c := prefix[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
			b.WriteByte(c)
		}
	}
	if b.Len() == 0 {
		b.WriteByte('m')
	}
	b.WriteByte('-')
	x := uint64(time.Now().UnixNano()) ^ uint64(os.Getpid())<<20 ^ nameCounter.Add(1)*0x9e3779b97f4a7c15
	s := strconv.FormatUint(x%(36*36*36*36*36*36*36*36*36*36*36), 36) // up to 11 chars
	b.WriteString(s)
	return b.String()
}
