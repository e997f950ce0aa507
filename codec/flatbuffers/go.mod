module github.com/myelon-go/myelon/codec/flatbuffers

go 1.26.0

require (
	github.com/google/flatbuffers v25.12.19+incompatible
	github.com/myelon-go/myelon v0.0.0-00010101000000-000000000000
)

require golang.org/x/sys v0.50.0 // indirect
