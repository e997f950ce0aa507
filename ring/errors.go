package ring

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Errors of Create and Attach.
var (
	// ErrInvalidConfig: a configuration value is out of range.
	ErrInvalidConfig = errors.New("ring: invalid config")
	// ErrInvalidType: the element type cannot live in shared memory.
	ErrInvalidType = errors.New("ring: invalid element type")
	// ErrExist: a live segment with this name exists.
	ErrExist = errors.New("ring: segment exists and its owner is alive")
	// ErrStale: a segment with this name exists but its owner is dead, and
	// Config.KeepStale kept Create from replacing it. Remove it with Reclaim.
	ErrStale = errors.New("ring: stale segment (owner dead)")
	// ErrNotFound: no segment with this name exists (Attach: none was
	// created before its context ended).
	ErrNotFound = errors.New("ring: segment not found")
	// ErrNotRegular: the name is a symbolic link or not a regular file.
	// Links are never followed.
	ErrNotRegular = errors.New("ring: segment is a symlink or not a regular file")
	// ErrPermission: access to the segment was refused, by our checks or
	// by the kernel. Attach (and Join, Reclaim, Create over an existing
	// segment) refuses a segment owned by a uid other than the trusted one
	// (ConsumerConfig.Owner; default: our effective uid), or whose
	// permission bits are not accepted (Perm zero: any mode granting
	// nothing to others, mode&0o007 == 0; Perm set: exactly Perm). The
	// kernel refuses with EACCES or EPERM, e.g. a user outside the group
	// opening a 0660 segment, anyone else opening a 0600 one, or Create
	// handing the segment to an AccessGroup we are not in; those errors
	// name the path and also match fs.ErrPermission.
	ErrPermission = errors.New("ring: segment access refused (owner, mode or OS permission)")
	// ErrNoSpace: Create found no room for the segment on its file system
	// (/dev/shm for the Shm backend) or in the creator's quota. Every byte
	// of a file-backed segment is reserved at Create, so a full file system
	// is this error, never a SIGBUS later; nothing is left behind. The OS
	// error is wrapped too (errors.Is(err, syscall.ENOSPC) holds).
	ErrNoSpace = errors.New("ring: no space for the segment")
	// ErrNotReady: the segment exists but its creator had not finished
	// initialising it when the attacher's context ended.
	ErrNotReady = errors.New("ring: segment not ready")
	// ErrLayout: the segment's header is invalid or differs from what the
	// attacher expects. Match *LayoutError with errors.As for the field.
	ErrLayout = errors.New("ring: layout mismatch")
	// ErrNoFreeConsumer: every consumer entry is held by a live consumer.
	ErrNoFreeConsumer = errors.New("ring: consumer table full")
	// ErrNoFreeProducer: every producer entry is held by a live producer.
	ErrNoFreeProducer = errors.New("ring: producer table full")
	// ErrIDInUse: a live consumer already holds this id.
	ErrIDInUse = errors.New("ring: consumer id in use")
)

// Errors of publish and consume.
var (
	// ErrFull: TryPublish found no free slot.
	ErrFull = errors.New("ring: full")
	// ErrEmpty: a Try call found no event.
	ErrEmpty = errors.New("ring: empty")
	// ErrEndOfStream: the producer closed the ring and every published event
	// has been consumed.
	ErrEndOfStream = errors.New("ring: end of stream")
	// ErrProducerGone: the producer died without closing the ring, and every
	// event it published has been consumed.
	ErrProducerGone = errors.New("ring: producer gone")
	// ErrClosed: the handle was closed.
	ErrClosed = errors.New("ring: handle closed")
	// ErrLapped: the consumer was overtaken; match *LappedError for how many
	// events it missed. The consumer continues from the oldest valid event.
	ErrLapped = errors.New("ring: consumer lapped")
	// ErrObserverInPlace: an observer cannot borrow slots in place (the
	// producer may rewrite them meanwhile); read copies with Recv.
	ErrObserverInPlace = errors.New("ring: observers read by copy, not in place")
	// ErrEvicted: the producer's required-consumer policy evicted this
	// consumer (RequiredConfig.Action Evict): it no longer holds the
	// producer back.
	// Reported once; the consumer then goes on as an observer: validated
	// copies, ErrLapped when overtaken, ErrObserverInPlace for in-place byte
	// reads. Events it held in place when it was evicted (a Read in
	// progress, a Process batch, a byte range) may have been overwritten
	// under it.
	ErrEvicted = errors.New("ring: consumer evicted")
	// ErrBatchTooLarge: a batch of more events than the capacity.
	ErrBatchTooLarge = errors.New("ring: batch larger than capacity")
	// ErrCorrupt: a shared word holds a value no correct peer writes.
	ErrCorrupt = errors.New("ring: corrupt shared state")
	// ErrTruncated: a peer truncated the segment's file under this handle,
	// so part of its memory is gone (the access that found it faulted;
	// see Config.TruncationGuard for which calls are guarded). Unlike
	// ErrCorrupt, after which the stream goes on, it is final: the handle
	// returns it from every later call, Close still unmaps and releases it,
	// and what the segment held is lost. A producer creates the ring
	// again; a consumer attaches again once it has been.
	ErrTruncated = errors.New("ring: segment truncated")
)

// LayoutError names the header field that failed validation. It matches
// ErrLayout with errors.Is.
type LayoutError struct {
	Field     string
	Want, Got any
	Reason    string
}

func (e *LayoutError) Error() string {
	if e.Reason != "" {
		return fmt.Sprintf("ring: layout mismatch: %s: %s (got %v)", e.Field, e.Reason, e.Got)
	}
	return fmt.Sprintf("ring: layout mismatch: %s: want %v, got %v", e.Field, e.Want, e.Got)
}

// Is reports ErrLayout.
func (e *LayoutError) Is(target error) bool { return target == ErrLayout }

// TypeError names the field of an element type that cannot live in shared
// memory. It matches ErrInvalidType.
type TypeError struct {
	Type, Field, Kind string
}

func (e *TypeError) Error() string {
	return fmt.Sprintf("ring: invalid element type %s: field %s is a %s (only fixed-size pointer-free types cross processes)", e.Type, e.Field, e.Kind)
}

// Is reports ErrInvalidType.
func (e *TypeError) Is(target error) bool { return target == ErrInvalidType }

// LappedError reports events a consumer missed. It matches ErrLapped.
type LappedError struct {
	Missed   int64 // events skipped
	ResumeAt int64 // next sequence the consumer will read
}

func (e *LappedError) Error() string {
	return fmt.Sprintf("ring: consumer lapped: missed %d events, resuming at %d", e.Missed, e.ResumeAt)
}

// Is reports ErrLapped.
func (e *LappedError) Is(target error) bool { return target == ErrLapped }

// CorruptError names a shared word that holds an impossible value.
type CorruptError struct {
	Word  string
	Value int64
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("ring: corrupt shared state: %s=%d", e.Word, e.Value)
}

// Is reports ErrCorrupt.
func (e *CorruptError) Is(target error) bool { return target == ErrCorrupt }

// StaleError describes a stale segment found at Create. It matches ErrStale.
type StaleError struct {
	Name     string
	OwnerPID uint32
	Created  time.Time
	// Undrained lists the required consumers that have not read every
	// event of the segment: Create does not replace it (which would lose
	// those events) until they have. Retry Create once they have; a
	// required consumer restarted meanwhile resumes its id in the stale
	// segment, drains it and gets ErrProducerGone. To give up those
	// events, remove the segment (ring.Reclaim, myelon clean).
	Undrained []string
}

func (e *StaleError) Error() string {
	if len(e.Undrained) > 0 {
		return fmt.Sprintf("ring: stale segment %q (owner pid %d is gone) still holds events required consumers %s have not read; retry once they have, or remove it with ring.Reclaim to give them up", e.Name, e.OwnerPID, strings.Join(e.Undrained, ", "))
	}
	return fmt.Sprintf("ring: stale segment %q (owner pid %d created it at %s and is gone); remove it with ring.Reclaim, or create without Config.KeepStale to replace it", e.Name, e.OwnerPID, e.Created.Format(time.RFC3339))
}

// Is reports ErrStale.
func (e *StaleError) Is(target error) bool { return target == ErrStale }
