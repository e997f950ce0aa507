module github.com/myelon-go/myelon/examples

go 1.26.0

require github.com/myelon-go/myelon v0.0.0-00010101000000-000000000000

require golang.org/x/sys v0.50.0 // indirect
