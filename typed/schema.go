package typed

// The ring's schema: what Create stores in the frame ring's metadata so
// that consumers and joining producers check it at attach, before any
// message. Little-endian, inside frame's UserMetaSize bytes:
//
//	off  size  field
//	  0     8  magic "MYELONTY"
//	  8     4  metadata version (1)
//	 12     4  schema version
//	 16     1  codec name length c
//	 17     1  schema name length n
//	 18     c  codec name
//	18+c    n  schema name
//	 ...       zero
//
// A frame ring made by frame.Create has no such record (all zero): typed
// consumers accept it only with AcceptUntagged.

import (
	"bytes"
	"encoding/binary"
	"fmt"

	"github.com/myelon-go/myelon/frame"
)

const (
	schemaMagic    = "MYELONTY"
	schemaVersion  = 1
	schemaFixed    = 18
	maxSchemaNames = frame.UserMetaSize - schemaFixed // codec name plus schema name
)

// encodeSchema returns s as ring metadata.
func encodeSchema(s Schema) ([]byte, error) {
	c, n := len(s.Codec), len(s.Name)
	if c == 0 || c > 255 || n > 255 || c+n > maxSchemaNames {
		return nil, invalid(fmt.Sprintf("schema %s: codec and type names take %d bytes, want 1..%d", s, c+n, maxSchemaNames))
	}
	b := make([]byte, schemaFixed+c+n)
	copy(b, schemaMagic)
	le := binary.LittleEndian
	le.PutUint32(b[8:], schemaVersion)
	le.PutUint32(b[12:], s.Version)
	b[16], b[17] = byte(c), byte(n)
	copy(b[schemaFixed:], s.Codec)
	copy(b[schemaFixed+c:], s.Name)
	return b, nil
}

// ParseSchema reads the schema record a typed ring keeps in the metadata
// above frame's (the upper metadata frame.ParseInfo returns); ok is false
// for a frame ring without one, and other content is ErrSchema. The bytes
// are untrusted: every length is bounded.
func ParseSchema(meta []byte) (s Schema, ok bool, err error) {
	if len(meta) < schemaFixed || string(meta[:8]) != schemaMagic {
		if bytes.Count(meta, []byte{0}) == len(meta) {
			return Schema{}, false, nil
		}
		return Schema{}, false, fmt.Errorf("%w: ring metadata is neither empty nor a schema record", ErrSchema)
	}
	le := binary.LittleEndian
	if v := le.Uint32(meta[8:]); v != schemaVersion {
		return Schema{}, false, fmt.Errorf("%w: schema record version %d, want %d", ErrSchema, v, schemaVersion)
	}
	c, n := int(meta[16]), int(meta[17])
	if c == 0 || schemaFixed+c+n > len(meta) {
		return Schema{}, false, fmt.Errorf("%w: schema record names of %d and %d bytes do not fit", ErrSchema, c, n)
	}
	s = Schema{Codec: string(meta[schemaFixed : schemaFixed+c]), Name: string(meta[schemaFixed+c : schemaFixed+c+n]), Version: le.Uint32(meta[12:])}
	return s, true, nil
}

// checkSchema compares the schema of a ring (its metadata) with want.
func checkSchema(meta []byte, want Schema, untagged bool) error {
	got, ok, err := ParseSchema(meta)
	switch {
	case err != nil:
		return err
	case !ok && untagged:
		return nil
	case !ok:
		return &SchemaError{Want: want, WantTag: want.Tag(), Seq: -1, Ring: true}
	case got != want:
		return &SchemaError{Want: want, WantTag: want.Tag(), Got: got, GotTag: got.Tag(), Seq: -1, Ring: true}
	}
	return nil
}
