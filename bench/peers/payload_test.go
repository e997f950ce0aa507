package peers

import (
	"errors"
	"io"
	"testing"
)

var readFull = io.ReadFull

func TestFillVerify_EverySize(t *testing.T) {
	for size := MinSize; size <= 300; size++ {
		msg := make([]byte, size)
		Fill(msg, 42)
		if err := Verify(msg, 42); err != nil {
			t.Fatalf("size %d: %v", size, err)
		}
		if err := CheckSeq(msg, 42, size); err != nil {
			t.Fatalf("size %d: %v", size, err)
		}
		// A message of another sequence fails, and so does each stamped
		// byte changed on its own.
		if err := Verify(msg, 43); !errors.Is(err, ErrPayload) {
			t.Fatalf("size %d: stale message accepted", size)
		}
		for _, i := range []int{0, 7, 64, 71, size - 1} {
			if i < 0 || i >= size || (i >= 8 && i < size-8 && i%64 >= 8) {
				continue // not stamped
			}
			msg[i] ^= 1
			if err := Verify(msg, 42); !errors.Is(err, ErrPayload) {
				t.Fatalf("size %d: flipped byte %d accepted", size, i)
			}
			msg[i] ^= 1
		}
	}
}

func TestCheckSeq_Length(t *testing.T) {
	msg := make([]byte, 64)
	Fill(msg, 1)
	var pe *PayloadError
	if err := CheckSeq(msg[:63], 1, 64); !errors.As(err, &pe) || pe.Offset != -1 {
		t.Fatalf("short message: err = %v", err)
	}
}

func TestFillVerify_NoAllocs(t *testing.T) {
	msg := make([]byte, 4096)
	if n := testing.AllocsPerRun(100, func() {
		Fill(msg, 7)
		_ = Verify(msg, 7)
	}); n != 0 {
		t.Fatalf("Fill+Verify allocate %v times", n)
	}
}

func TestFillVerify_ShortMessages(t *testing.T) {
	for n := range MinSize {
		msg := make([]byte, n)
		Fill(msg, 0x0102030405060708) // must not panic
		if err := Verify(msg, 1); !errors.Is(err, ErrPayload) {
			t.Errorf("Verify of %d bytes: err = %v", n, err)
		}
		if err := CheckSeq(msg, 1, n); !errors.Is(err, ErrPayload) {
			t.Errorf("CheckSeq of %d bytes: err = %v", n, err)
		}
	}
}
