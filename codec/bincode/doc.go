// Package bincode encodes Go values in the wire format of Rust's bincode
// 1.x with its default fixed-width integers (bincode::serialize,
// bincode::DefaultOptions with fixint encoding, or bincode 2 with
// config::legacy()), so Go and Rust processes can share typed rings; and
// adapts that format to typed.Codec (Layer 2).
//
// # Wire format
//
//	u8/i8 ... u64/i64    fixed width, little-endian (two's complement)
//	f32, f64             IEEE 754 bits, little-endian
//	bool                 one byte, 0 or 1 (anything else is an error)
//	String, Vec<T>, maps u64 length, then the elements (String: UTF-8 bytes)
//	Option<T>            u8 tag 0 (None) or 1 (Some) then the value
//	enum                 u32 variant index, then the variant's fields
//	struct, tuple        the fields in order, no framing
//
// So a struct {id: u64, label: String} holding {1, "ab"} is
//
//	01 00 00 00 00 00 00 00  02 00 00 00 00 00 00 00  61 62
//
// # Use
//
// There is no reflection: a type encodes itself by implementing Marshaler
// and Unmarshaler with the Append helpers and a Reader, field by field in
// the Rust struct's order:
//
//	func (o *Order) AppendBincode(b []byte) []byte {
//		b = bincode.AppendU64(b, o.ID)
//		b = bincode.AppendString(b, o.Symbol)
//		return bincode.AppendF64(b, o.Price)
//	}
//
//	func (o *Order) UnmarshalBincode(r *bincode.Reader) error {
//		o.ID = r.U64()
//		o.Symbol = r.Str()
//		o.Price = r.F64()
//		return r.Err()
//	}
//
// then New[Order]("app.Order", 1) is a typed.Codec[Order]. Encoding
// appends to the caller's buffer and allocates nothing; decoding
// allocates only for strings (decode text into a []byte field with
// StrBytes, or into a reused slice with BytesInto/U32s/..., to avoid even
// that).
//
// # Hostile input
//
// A Reader checks every read against the bytes left and keeps the first
// error (a *Error matching ErrTruncated or ErrInvalid): later reads return
// zero values, so decoding code checks once, at the end. A length prefix
// is checked against the bytes left before anything is allocated, so
// garbage cannot make the decoder allocate more than the input's size. The
// Codec also refuses trailing bytes (ErrTrailing), which Rust's
// bincode::deserialize would ignore.
package bincode
