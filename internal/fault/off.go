//go:build !myelonfault

package fault

// Enabled reports whether fault injection is compiled in (the build tag
// myelonfault).
const Enabled = false

// Hit is a point where a plan may delay, stop or kill the process; without
// the build tag it does nothing and costs nothing.
func Hit(Point) {}

// Check is Hit at a point where the operation may also fail: it returns
// ErrInjected when the plan says so; without the build tag it returns nil.
func Check(Point) error { return nil }
