//go:build !linux

package ring

import "fmt"

// PinThread is not supported on this system.
func PinThread(cpu int) (release func(), err error) {
	return nil, fmt.Errorf("ring: pin to cpu %d: not supported on this system", cpu)
}
