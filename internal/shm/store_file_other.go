//go:build !linux

package shm

import "os"

// The file-backed backends need Linux (OFD locks, futexes, /dev/shm); on
// other systems they refuse every operation with ErrUnsupported. The Heap
// backend works everywhere.

const shmDir = "/dev/shm"

// fileStore: see store_file_linux.go.
type fileStore struct{ b Backend }

func (fileStore) create(string, int, Options) (*Mapping, error) { return nil, ErrUnsupported }
func (fileStore) open(string, Options) (*Mapping, error)        { return nil, ErrUnsupported }
func (fileStore) ownerAlive(string) (bool, error)               { return false, ErrUnsupported }
func (fileStore) stat(string) (FileInfo, error)                 { return FileInfo{}, ErrUnsupported }
func (fileStore) remove(string) error                           { return ErrUnsupported }
func (fileStore) removeDead(string) error                       { return ErrUnsupported }

// List: see store_file_linux.go.
func List() ([]string, error) { return nil, ErrUnsupported }
