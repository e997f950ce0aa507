package benchfb

// Hand-written verifiers for bench.fbs (flatc 2.0.8 generates none for
// Go). Field slots are the schema's field order, from 0.

import (
	fb "github.com/myelon-go/myelon/codec/flatbuffers"
)

// VerifyTestPayload checks a buffer whose root is a TestPayload.
func VerifyTestPayload(buf []byte) error {
	v := fb.NewVerifier(buf)
	t, err := v.Root()
	if err != nil {
		return err
	}
	return verifyTestPayload(t)
}

func verifyTestPayload(t fb.Table) error {
	if err := t.Scalar(0, 8); err != nil { // id: ulong
		return err
	}
	if _, err := t.Vector(1, 4); err != nil { // token_ids: [uint]
		return err
	}
	if _, err := t.Vector(2, 4); err != nil { // block_table: [uint]
		return err
	}
	if err := t.Scalar(3, 4); err != nil { // temperature: float
		return err
	}
	return t.String(4) // label: string
}

// VerifyPayloadBatch checks a buffer whose root is a PayloadBatch.
func VerifyPayloadBatch(buf []byte) error {
	v := fb.NewVerifier(buf)
	t, err := v.Root()
	if err != nil {
		return err
	}
	entries, err := t.Tables(0) // entries: [TestPayload]
	if err != nil {
		return err
	}
	for i := range entries.Len() {
		e, err := entries.At(i)
		if err != nil {
			return err
		}
		if err := verifyTestPayload(e); err != nil {
			return err
		}
	}
	return nil
}

// VerifyEcho checks a buffer whose root is an Echo.
func VerifyEcho(buf []byte) error {
	v := fb.NewVerifier(buf)
	t, err := v.Root()
	if err != nil {
		return err
	}
	if err := t.Scalar(0, 8); err != nil { // seq: ulong
		return err
	}
	_, err = t.Vector(1, 1) // data: [ubyte]
	return err
}
