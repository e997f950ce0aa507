//go:build linux

package shm

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// BenchmarkCreate measures what reserving a 64 MiB segment costs Create:
// "fallocate" is Create as it is, "zerofill" the fallback of file systems
// without fallocate, "none" Create with reservation skipped (fallocate
// replaced by a no-op: what Create did before, and what lets a full file
// system SIGBUS later). The "+touch" runs also write one byte per page,
// as a producer going once round the ring does: the cost that reserving
// moves from the first lap into Create. Each run creates, closes and
// removes one segment.
//
//	go test ./internal/shm -run '^$' -bench Create -benchtime 20x
func BenchmarkCreate(b *testing.B) {
	const size = 64 << 20
	dirs := []struct{ name, dir string }{
		{"shm", ""},
		{"file-" + fsName(b, os.TempDir()), b.TempDir()},
	}
	modes := []struct {
		name string
		f    func(int, uint32, int64, int64) error
	}{
		{"fallocate", unix.Fallocate},
		{"zerofill", func(int, uint32, int64, int64) error { return unix.EOPNOTSUPP }},
		{"none", func(int, uint32, int64, int64) error { return nil }},
	}
	page := os.Getpagesize()
	for _, d := range dirs {
		for _, m := range modes {
			for _, touch := range []bool{false, true} {
				name := fmt.Sprintf("%s/%s", d.name, m.name)
				if touch {
					name += "+touch"
				}
				b.Run(name, func(b *testing.B) {
					fallocate = m.f
					defer func() { fallocate = unix.Fallocate }()
					backend, seg := Shm, PortableName("bench")
					if d.dir != "" {
						backend, seg = File, filepath.Join(d.dir, seg)
					}
					b.SetBytes(size)
					for b.Loop() {
						mp, err := Create(backend, seg, size, Options{})
						if err != nil {
							b.Fatal(err)
						}
						if touch {
							buf := mp.Bytes()
							for i := 0; i < len(buf); i += page {
								buf[i] = 1
							}
						}
						mp.Close()
						if err := Remove(backend, seg); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
		}
	}
}

// fsName names the file system type holding dir, for benchmark names.
func fsName(tb testing.TB, dir string) string {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		tb.Fatal(err)
	}
	switch st.Type {
	case unix.TMPFS_MAGIC:
		return "tmpfs"
	case unix.EXT4_SUPER_MAGIC:
		return "ext4"
	case unix.XFS_SUPER_MAGIC:
		return "xfs"
	case unix.BTRFS_SUPER_MAGIC:
		return "btrfs"
	}
	return fmt.Sprintf("fs%x", st.Type)
}
