package snapshot_test

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"

	"github.com/myelon-go/myelon/frame"
	"github.com/myelon-go/myelon/ring"
	"github.com/myelon-go/myelon/snapshot"
	"github.com/myelon-go/myelon/typed"
)

// TestList_Classifies: in a directory of file-backed segments, List finds
// a live ring Ready, a ring its producer closed Closed, a ring whose
// header a peer scribbled Unreadable with the field named, and leaves out
// a file that is not a ring and a creation in progress (a dot name).
func TestList_Classifies(t *testing.T) {
	dir := t.TempDir()
	live, err := ring.CreateBytes(filepath.Join(dir, "live"), ring.Config{Backend: ring.File, SlotSize: 64, Capacity: 8})
	if err != nil {
		t.Fatal(err)
	}
	defer live.Close()
	closed, err := ring.CreateBytes(filepath.Join(dir, "closed"), ring.Config{Backend: ring.File, SlotSize: 64, Capacity: 8, KeepOnClose: true})
	if err != nil {
		t.Fatal(err)
	}
	closed.Close()
	bad, err := ring.CreateBytes(filepath.Join(dir, "bad"), ring.Config{Backend: ring.File, SlotSize: 64, Capacity: 8, KeepOnClose: true})
	if err != nil {
		t.Fatal(err)
	}
	bad.Close()
	scribble(t, filepath.Join(dir, "bad"), 8, 99) // the layout version
	for name, data := range map[string]string{"notes.txt": "not a ring at all, but long enough to hold a header? no", ".tmp-x": ""} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	rings, err := snapshot.List(dir)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]*snapshot.Ring{}
	for _, r := range rings {
		if r.Backend == "file" {
			got[filepath.Base(r.Name)] = r
		}
	}
	if len(got) != 3 {
		for n, r := range got {
			t.Logf("%s: %s %s %v", n, r.State, r.Reason, r.Err)
		}
		t.Fatalf("List found %d file rings, want live, closed and bad", len(got))
	}
	if r := got["live"]; r.State != snapshot.Ready || !r.Alive || r.Layer != snapshot.LayerRing || r.Mode != "-rw-------" || r.UID != uint32(os.Getuid()) {
		t.Errorf("live: %+v", r)
	}
	if r := got["closed"]; r.State != snapshot.Closed || r.Alive {
		t.Errorf("closed: state %s alive %v", r.State, r.Alive)
	}
	if r := got["bad"]; r.State != snapshot.Unreadable || r.Reason == "" || r.Err == nil {
		t.Errorf("bad: state %s reason %q", r.State, r.Reason)
	}
}

// scribble writes a little-endian uint32 at off in a file.
func scribble(t *testing.T, path string, off int64, v uint32) {
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

// TestErrorKind: the error log's kinds are named after their layer.
func TestErrorKindName(t *testing.T) {
	for _, c := range []struct {
		layer snapshot.Layer
		kind  ring.ErrorKind
		want  string
	}{
		{snapshot.LayerRing, ring.ErrorLapped, "lapped"},
		{snapshot.LayerRing, frame.ErrorKindProtocol, "layer0"},
		{snapshot.LayerFrame, frame.ErrorKindProtocol, "frame_protocol"},
		{snapshot.LayerFrame, frame.ErrorKindChecksum, "frame_checksum"},
		{snapshot.LayerTyped, frame.ErrorKindAborted, "frame_aborted"},
		{snapshot.LayerFrame, typed.ErrorKindDecode, "layer4"},
		{snapshot.LayerTyped, typed.ErrorKindDecode, "typed_decode"},
		{snapshot.LayerTyped, typed.ErrorKindSchema, "typed_schema"},
		{snapshot.LayerTyped, typed.ErrorKindEncode, "typed_encode"},
		{snapshot.LayerTyped, ring.ErrorDeadConsumer, "dead_consumer"},
	} {
		if got := snapshot.ErrorKindName(c.layer, c.kind); got != c.want {
			t.Errorf("%s kind %d: %q, want %q", c.layer, c.kind, got, c.want)
		}
	}
}
