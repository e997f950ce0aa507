module github.com/myelon-go/myelon/cmd/myelon

go 1.26.0

require (
	github.com/myelon-go/myelon v0.0.0-00010101000000-000000000000
	github.com/myelon-go/myelon/bench v0.0.0-00010101000000-000000000000
	github.com/myelon-go/myelon/bridge v0.0.0-00010101000000-000000000000
	github.com/myelon-go/myelon/exporters v0.0.0-00010101000000-000000000000
	golang.org/x/sys v0.50.0
)

require (
	github.com/HdrHistogram/hdrhistogram-go v1.4.0 // indirect
	github.com/bytedance/gopkg v0.0.0-20220817015305-b879a72dc90f // indirect
	github.com/cloudwego/shmipc-go v0.2.0 // indirect
	github.com/go-ole/go-ole v1.2.6 // indirect
	github.com/go-zeromq/goczmq/v4 v4.2.2 // indirect
	github.com/go-zeromq/zmq4 v0.17.0 // indirect
	github.com/google/flatbuffers v25.12.19+incompatible // indirect
	github.com/myelon-go/myelon/codec/flatbuffers v0.0.0-00010101000000-000000000000 // indirect
	github.com/power-devops/perfstat v0.0.0-20210106213030-5aafc221ea8c // indirect
	github.com/shirou/gopsutil/v3 v3.22.1 // indirect
	github.com/yusufpapurcu/wmi v1.2.2 // indirect
	golang.org/x/net v0.60.0 // indirect
	golang.org/x/sync v0.23.0 // indirect
	golang.org/x/text v0.42.0 // indirect
	google.golang.org/genproto/googleapis/rpc v0.0.0-20260817212433-ac3dfec99bb1 // indirect
	google.golang.org/grpc v1.85.0 // indirect
	google.golang.org/protobuf v1.36.12 // indirect
)
