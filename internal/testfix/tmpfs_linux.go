//go:build linux

package testfix

import (
	"fmt"
	"os"
	"syscall"
	"testing"
)

// Tmpfs mounts a tmpfs of size bytes on a new directory and returns the
// directory; the test ends by unmounting and removing it. It skips the
// test, saying why, where it cannot mount one (not root, or a container
// without the capability): the tests that use it need a small file
// system they can fill.
func Tmpfs(tb testing.TB, size int64) string {
	tb.Helper()
	dir, err := os.MkdirTemp("", "myelon-tmpfs-")
	if err != nil {
		tb.Fatal(err)
	}
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, fmt.Sprintf("size=%d,mode=0755", size)); err != nil {
		os.Remove(dir)
		tb.Skipf("cannot mount a %d-byte tmpfs on %s (needs root or CAP_SYS_ADMIN): %v", size, dir, err)
	}
	tb.Cleanup(func() {
		if err := syscall.Unmount(dir, 0); err != nil {
			tb.Errorf("unmount the test tmpfs %s: %v", dir, err)
			return
		}
		os.Remove(dir)
	})
	return dir
}
