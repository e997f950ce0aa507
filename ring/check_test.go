package ring

import (
	"encoding/binary"
	"os"
	"strings"
	"testing"
	"unsafe"
)

// pokeU32 writes a little-endian uint32 at off of the file at path.
func pokeU32(t *testing.T, path string, off int64, v uint32) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(binary.LittleEndian.AppendUint32(nil, v), off); err != nil {
		t.Fatal(err)
	}
}

// problems returns the fields of cs that have a problem.
func problems(cs []FieldCheck) []string {
	var out []string
	for _, c := range cs {
		if c.Problem != "" {
			out = append(out, c.Field)
		}
	}
	return out
}

// TestCheckLayout: a sound segment reports every header field and no
// problem; a header with two broken fields reports both (and the
// checksum they break), not only the first as Attach does; a broken
// consumer entry under a sound header is named in the tables.
func TestCheckLayout(t *testing.T) {
	dir := t.TempDir()
	mk := func(name string) string {
		path := dir + "/" + name
		p, err := Create[validEvent](path, Config{Backend: File, Capacity: 64, KeepOnClose: true})
		if err != nil {
			t.Fatal(err)
		}
		c, err := Attach[validEvent](t.Context(), path, ConsumerConfig{Backend: File, ID: "c"})
		if err != nil {
			t.Fatal(err)
		}
		c.Close()
		p.Close()
		return path
	}
	var h header
	sound := mk("sound")
	rep, err := CheckLayout(File, sound)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK || len(problems(rep.Header)) != 0 || len(rep.Tables) != 0 || len(rep.Header) < 20 {
		t.Fatalf("sound segment: ok %v, %d header fields, problems %v, tables %v", rep.OK, len(rep.Header), problems(rep.Header), rep.Tables)
	}

	broken := mk("broken")
	pokeU32(t, broken, int64(unsafe.Offsetof(h.capacity)), 3)
	pokeU32(t, broken, int64(unsafe.Offsetof(h.elemAlign)), 3)
	if rep, err = CheckLayout(File, broken); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(problems(rep.Header), ","); rep.OK || got != "checksum,capacity,elem_align" {
		t.Errorf("two broken fields: problems %q, want checksum,capacity,elem_align", got)
	}

	entry := mk("entry")
	_, r, _ := checkHeader(mustRead(t, entry))
	pokeU32(t, entry, int64(r.consumers+uint64(unsafe.Offsetof(consumerEntry{}.state))), 9)
	if rep, err = CheckLayout(File, entry); err != nil {
		t.Fatal(err)
	}
	if rep.OK || len(rep.Tables) != 1 || rep.Tables[0].Field != "consumers[0].state" {
		t.Errorf("a broken consumer state: ok %v, tables %+v", rep.OK, rep.Tables)
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
