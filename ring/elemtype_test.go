package ring

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/myelon-go/myelon/internal/childtest"
)

// Element types nest the field under test three levels deep, behind an
// array, so the error must carry the whole path.
type (
	nestLeaf[T any] struct {
		N int64
		V T
	}
	nestMid[T any] struct {
		Pad [2]uint32
		Arr [2]nestLeaf[T]
	}
	nestRoot[T any] struct {
		ID  uint64
		Mid nestMid[T]
	}
)

type okInner struct {
	A int32
	B float32
	C bool
	D complex64
}

type okElem struct {
	X [3]okInner
	Y [2][2]int8
	Z complex128
	U uint
	I int
	F [0]int64
}

func TestInspectType_RejectsNested(t *testing.T) {
	cases := []struct {
		t    reflect.Type
		kind string
	}{
		{reflect.TypeFor[nestRoot[*int]](), "ptr"},
		{reflect.TypeFor[nestRoot[string]](), "string"},
		{reflect.TypeFor[nestRoot[[]byte]](), "slice"},
		{reflect.TypeFor[nestRoot[map[int]int]](), "map"},
		{reflect.TypeFor[nestRoot[any]](), "interface"},
		{reflect.TypeFor[nestRoot[error]](), "interface"},
		{reflect.TypeFor[nestRoot[chan int]](), "chan"},
		{reflect.TypeFor[nestRoot[func()]](), "func"},
		{reflect.TypeFor[nestRoot[uintptr]](), "uintptr"},
		{reflect.TypeFor[nestRoot[unsafe.Pointer]](), "unsafe.Pointer"},
		{reflect.TypeFor[nestRoot[[4]*int]](), "ptr"},
		{reflect.TypeFor[nestRoot[struct{ S [1]string }]](), "string"},
	}
	for _, tc := range cases {
		t.Run(tc.kind+"/"+tc.t.String(), func(t *testing.T) {
			_, err := inspectType(tc.t)
			var te *TypeError
			if !errors.As(err, &te) || !errors.Is(err, ErrInvalidType) {
				t.Fatalf("inspectType = %v, want *TypeError", err)
			}
			if te.Kind != tc.kind {
				t.Errorf("Kind %q, want %q", te.Kind, tc.kind)
			}
			if !strings.HasPrefix(te.Field, tc.t.String()+".Mid.Arr[].V") {
				t.Errorf("Field %q, want the path %s.Mid.Arr[].V...", te.Field, tc.t.String())
			}
			if te.Type != tc.t.String() {
				t.Errorf("Type %q, want %q", te.Type, tc.t.String())
			}
			if !strings.Contains(err.Error(), te.Field) {
				t.Errorf("message %q does not name the field", err)
			}
		})
	}
}

func TestInspectType_RejectsTopLevel(t *testing.T) {
	for _, typ := range []reflect.Type{
		reflect.TypeFor[string](), reflect.TypeFor[*int64](), reflect.TypeFor[[]int](),
		reflect.TypeFor[struct{}](), reflect.TypeFor[[0]int64](), reflect.TypeFor[uintptr](),
		nil,
	} {
		if _, err := inspectType(typ); !errors.Is(err, ErrInvalidType) {
			t.Errorf("inspectType(%v) = %v, want ErrInvalidType", typ, err)
		}
	}
}

func TestInspectType_Accepts(t *testing.T) {
	for _, typ := range []reflect.Type{
		reflect.TypeFor[okElem](), reflect.TypeFor[okInner](), reflect.TypeFor[[8]okInner](),
		reflect.TypeFor[int8](), reflect.TypeFor[complex128](), reflect.TypeFor[bool](),
		reflect.TypeFor[[2][3]struct{ A, B float64 }](),
	} {
		info, err := inspectType(typ)
		if err != nil {
			t.Errorf("inspectType(%v): %v", typ, err)
			continue
		}
		if info.size != uint32(typ.Size()) || info.align != uint32(typ.Align()) || info.fingerprint == 0 {
			t.Errorf("inspectType(%v) = %+v, want size %d align %d", typ, info, typ.Size(), typ.Align())
		}
	}
}

func TestCreate_RejectsInvalidElement(t *testing.T) {
	_, err := Create[nestRoot[string]](PortableName("badelem"), Config{Backend: Heap})
	var te *TypeError
	if !errors.As(err, &te) || !strings.HasSuffix(te.Field, ".Mid.Arr[].V") {
		t.Fatalf("Create = %v, want TypeError at .Mid.Arr[].V", err)
	}
	_, err = Attach[nestRoot[map[string]int]](context.Background(), PortableName("badelem"), ConsumerConfig{Backend: Heap})
	if !errors.Is(err, ErrInvalidType) {
		t.Fatalf("Attach = %v, want ErrInvalidType before looking for the segment", err)
	}
}

func fingerprint(t *testing.T, typ reflect.Type) uint64 {
	t.Helper()
	info, err := inspectType(typ)
	if err != nil {
		t.Fatal(err)
	}
	return info.fingerprint
}

// fingerprintTypes are types of the same size that differ in kind or
// field names: their fingerprints must differ.
func fingerprintTypes() []reflect.Type {
	return []reflect.Type{
		reflect.TypeFor[struct{ X int64 }](),
		reflect.TypeFor[struct{ X uint64 }](),
		reflect.TypeFor[struct{ X float64 }](),
		reflect.TypeFor[struct{ Y int64 }](), // renamed field
		reflect.TypeFor[struct{ X [2]int32 }](),
		reflect.TypeFor[struct{ X, Y int32 }](),
		reflect.TypeFor[struct{ Y, X int32 }](),
		reflect.TypeFor[struct{ X [8]byte }](),
		reflect.TypeFor[struct{ X [8]bool }](),
		reflect.TypeFor[struct{ X complex64 }](),
		reflect.TypeFor[struct{ X struct{ A int64 } }](),
		reflect.TypeFor[struct{ X struct{ B int64 } }](), // renamed nested field
		reflect.TypeFor[[2]int32](),
		reflect.TypeFor[int64](),
	}
}

func TestInspectType_Fingerprint(t *testing.T) {
	// Same size, different types or names: different fingerprints.
	distinct := fingerprintTypes()
	seen := map[uint64]reflect.Type{}
	for _, typ := range distinct {
		if typ.Size() != 8 {
			t.Fatalf("%v is %d bytes: the test wants same-size types", typ, typ.Size())
		}
		fp := fingerprint(t, typ)
		if other, ok := seen[fp]; ok {
			t.Errorf("%v and %v share fingerprint %#x", typ, other, fp)
		}
		seen[fp] = typ
	}
	// The same in another process, as the attacher is: a fingerprint that
	// depended on anything of one process (a maphash seed, an address, a
	// map's order) would differ, which calling it twice here cannot show.
	fpChild := fingerprintRole.Start(t, struct{}{})
	for _, typ := range append(distinct, reflect.TypeFor[okElem]()) {
		want := fmt.Sprintf("%v %#x", typ, fingerprint(t, typ))
		if got := fpChild.Expect("fingerprint "); got != want {
			t.Errorf("another process computes fingerprint %q, this one %q", got, want)
		}
	}
	fpChild.Wait()
	// A renamed field is an attach error, even with an identical layout and
	// type name (two local types both called tick).
	name := PortableName("fp")
	closeP, err := createTickA(name)
	if err != nil {
		t.Fatal(err)
	}
	defer closeP()
	err = attachTickB(name)
	var le *LayoutError
	if !errors.As(err, &le) || le.Field != "element_type" {
		t.Fatalf("Attach with a renamed field = %v, want LayoutError element_type", err)
	}
}

// fingerprintRole says the fingerprint of each type of
// TestInspectType_Fingerprint (fingerprintTypes, then okElem), in order.
var fingerprintRole = childtest.Register("ring.fingerprint", func(t *testing.T, ch *childtest.Child, _ struct{}) {
	for _, typ := range append(fingerprintTypes(), reflect.TypeFor[okElem]()) {
		ch.Say("fingerprint %v %#x", typ, fingerprint(t, typ))
	}
})

func createTickA(name string) (func() error, error) {
	type tick struct{ Price, Qty int64 }
	p, err := Create[tick](name, Config{Backend: Heap, Capacity: 4})
	if err != nil {
		return nil, err
	}
	return p.Close, nil
}

func attachTickB(name string) error {
	type tick struct{ Price, Size int64 }
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	c, err := Attach[tick](ctx, name, ConsumerConfig{Backend: Heap})
	if err == nil {
		c.Close()
	}
	return err
}
