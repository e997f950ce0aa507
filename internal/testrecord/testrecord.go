// Package testrecord holds the seed's benchmark record (an id, token ids,
// a block table, a temperature and a label) for tests in any module of
// this repository: every field derives from the record's index, so a torn,
// stale or misdecoded record shows without a reference copy.
package testrecord

import (
	"bytes"
	"fmt"
	"math"
	"slices"

	"github.com/myelon-go/myelon/codec/bincode"
)

// Payload is the record.
type Payload struct {
	ID          uint64
	TokenIDs    []uint32
	BlockTable  []uint32
	Temperature float32
	Label       []byte
}

// AppendBincode encodes p in the seed's bincode layout.
func (p *Payload) AppendBincode(b []byte) []byte {
	b = bincode.AppendU64(b, p.ID)
	b = bincode.AppendU32s(b, p.TokenIDs)
	b = bincode.AppendU32s(b, p.BlockTable)
	b = bincode.AppendF32(b, p.Temperature)
	return bincode.AppendBytes(b, p.Label)
}

// UnmarshalBincode decodes p, reusing its slices.
func (p *Payload) UnmarshalBincode(r *bincode.Reader) error {
	p.ID = r.U64()
	p.TokenIDs = r.U32s(p.TokenIDs)
	p.BlockTable = r.U32s(p.BlockTable)
	p.Temperature = r.F32()
	p.Label = r.StrBytes(p.Label)
	return r.Err()
}

// Codec is the bincode codec of the record, schema bench.TestPayload v1.
func Codec() *bincode.Codec[Payload, *Payload] {
	return bincode.New[Payload]("bench.TestPayload", 1)
}

// Tokens is the number of token ids of record i: 128 as in the seed, every
// seventh record 1024 (about 4.5 KB, several frames on small-frame rings).
func Tokens(i uint64) int {
	if i%7 == 3 {
		return 1024
	}
	return 128
}

// Fill fills p (reusing its slices) as record i.
func Fill(p *Payload, i uint64) {
	p.ID = i
	p.TokenIDs = p.TokenIDs[:0]
	for k := range Tokens(i) {
		p.TokenIDs = append(p.TokenIDs, uint32(i)*31+uint32(k))
	}
	p.BlockTable = p.BlockTable[:0]
	for k := range 8 {
		p.BlockTable = append(p.BlockTable, uint32(i>>3)+uint32(k))
	}
	p.Temperature = 0.7 + float32(i%10)/100
	p.Label = fmt.Appendf(p.Label[:0], "seq_%d", i)
}

// Equal reports whether a and b hold the same record (nil and empty
// slices alike, temperatures compared bit for bit).
func Equal(a, b *Payload) bool {
	return a.ID == b.ID && slices.Equal(a.TokenIDs, b.TokenIDs) && slices.Equal(a.BlockTable, b.BlockTable) &&
		math.Float32bits(a.Temperature) == math.Float32bits(b.Temperature) && bytes.Equal(a.Label, b.Label)
}

// Check reports how p differs from record i.
func Check(p *Payload, i uint64) error {
	var want Payload
	Fill(&want, i)
	switch {
	case p.ID != want.ID:
		return fmt.Errorf("record %d: id %d", i, p.ID)
	case !slices.Equal(p.TokenIDs, want.TokenIDs):
		return fmt.Errorf("record %d: %d token ids differ", i, len(p.TokenIDs))
	case !slices.Equal(p.BlockTable, want.BlockTable):
		return fmt.Errorf("record %d: block table %v", i, p.BlockTable)
	case math.Float32bits(p.Temperature) != math.Float32bits(want.Temperature):
		return fmt.Errorf("record %d: temperature %v", i, p.Temperature)
	case !bytes.Equal(p.Label, want.Label):
		return fmt.Errorf("record %d: label %q", i, p.Label)
	}
	return nil
}
