package msgpack

import (
	"bytes"
	"errors"
	"testing"
)

func TestDecode_HostileNestingIsAnError(t *testing.T) {
	type T struct{ V any }
	c := New[T]("deep", 1)
	// {"V": [[[[...]]]]} 4 Mi levels: the reflective decoder alone would
	// overflow the goroutine stack, a fatal error.
	msg := append([]byte{0x81, 0xa1, 'V'}, bytes.Repeat([]byte{0x91}, 4<<20)...)
	msg = append(msg, 0xc0)
	var v T
	var de *DepthError
	if err := c.Decode(msg, &v); !errors.As(err, &de) {
		t.Fatalf("got %v, want *DepthError", err)
	}
}

func TestCheckDepth(t *testing.T) {
	nested := func(n int) []byte { return append(bytes.Repeat([]byte{0x91}, n), 0x01) }
	for _, tc := range []struct {
		name string
		b    []byte
		ok   bool
	}{
		{"int", []byte{0x05}, true},
		{"str8", []byte{0xd9, 2, 'h', 'i'}, true},
		{"map16", []byte{0xde, 0, 1, 0xa1, 'k', 0xc3}, true},
		{"array32 of uint64", []byte{0xdd, 0, 0, 0, 1, 0xcf, 1, 2, 3, 4, 5, 6, 7, 8}, true},
		{"ext8", []byte{0xc7, 2, 9, 'a', 'b'}, true},
		{"fixext4", []byte{0xd6, 9, 1, 2, 3, 4}, true},
		{"nested within limit", nested(MaxDepth - 1), true},
		{"nested past limit", nested(MaxDepth + 1), false},
		{"truncated str", []byte{0xa5, 'a'}, false},
		{"array longer than message", []byte{0xdd, 0xff, 0xff, 0xff, 0xff}, false},
		{"reserved byte", []byte{0xc1}, false},
		{"empty", nil, false},
	} {
		if err := checkDepth(tc.b); (err == nil) != tc.ok {
			t.Errorf("%s: err %v, want ok=%v", tc.name, err, tc.ok)
		}
	}
}

func FuzzCheckDepth(f *testing.F) {
	f.Add([]byte{0x91, 0x91, 0xc0})
	f.Add([]byte{0xdf, 0, 0, 0, 1, 0xa1, 'k', 0x01})
	f.Fuzz(func(t *testing.T, b []byte) { _ = checkDepth(b) })
}
