//go:build !linux

package testfix

import "testing"

// Tmpfs: see tmpfs_linux.go. Elsewhere it skips the test.
func Tmpfs(tb testing.TB, size int64) string {
	tb.Helper()
	tb.Skip("mounting a test tmpfs needs Linux")
	return ""
}
