module github.com/myelon-go/myelon/codec/msgpack

go 1.26.0

require (
	github.com/myelon-go/myelon v0.0.0-00010101000000-000000000000
	github.com/vmihailenco/msgpack/v5 v5.4.1
)

require (
	github.com/vmihailenco/tagparser/v2 v2.0.0 // indirect
	golang.org/x/sys v0.50.0 // indirect
)
