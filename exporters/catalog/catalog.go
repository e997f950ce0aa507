// Package catalog is the list of metrics that myelon's exporters export,
// and the code that reads them from the rings of a host.
//
// Both exporters, the Prometheus collector (package myelonprom) and the
// OpenTelemetry bridge (package myelonotel), export exactly the metrics of
// Metrics, with the values Read returns: the catalog is the one place
// where a metric is named, described and computed. Each Metric has an
// OpenTelemetry name (OTelName, "myelon.consumer.lag") and the Prometheus
// name that OpenTelemetry's Prometheus translation gives it
// (PrometheusName, "myelon_consumer_lag"; counters end in "_total"), so a
// dashboard written for one works for the other.
//
// Read takes a snapshot of every selected ring (package snapshot: read
// only, without the rings' processes' help) at the moment it is called,
// which is scrape time for the collector and collection time for the
// bridge. What it cannot read is part of what it reports, never an error:
// a ring it cannot read is exported with state "unreadable" and the
// reason, a directory it cannot list with myelon_exporter_source_readable
// 0.
//
// The metrics, by the labels they carry (ring is a shm ring's name or a
// file-backed ring's path; backend is "shm" or "file"; layer is "ring",
// "frame" or "typed", empty while it is unknown):
//
//   - per source of rings (source: "shm" or a directory):
//     myelon_exporter_source_readable.
//   - per ring (ring, backend, layer): myelon_ring_state (one series per
//     state, 1 for the ring's state), myelon_ring_alive, myelon_ring_info
//     (kind and schema), myelon_ring_unreadable (reason), the geometry
//     (capacity, slot and segment size, creation time) and the ring's
//     counters: myelon_ring_published_total, full waits (back-pressure),
//     producer parks and wakes, dead consumers detached, abandoned
//     sequences, required-consumer stalls and evictions, and the error log
//     (myelon_ring_errors_total and the time of the last, by kind).
//   - per producer of a multi-producer ring (producer: its index in the
//     producer table): alive and events published.
//   - per consumer (consumer: its id; group: its consumer group, if any):
//     state, alive, position, lag and its high-water mark, and the
//     consumer's counters: empty waits, parks, wakes, events lost to laps,
//     abandoned sequences skipped.
//   - per consumer group (group): members, position, pending and in-doubt
//     claims, redelivered, lost and lapped events.
//   - the layers above the ring: frame's message, fragment and byte counts
//     and its protocol errors (a producer's summed over the ring's
//     producers, a consumer's per consumer); typed's encode, decode and
//     schema errors; a NATS bridge's counters (package bridge): an
//     inbound bridge's, summed over the ring's producers that are inbound
//     bridges, and an outbound bridge's, per consumer that is one. A
//     participant that is no bridge has no series of them.
//
// PIDs are never labels: they change with every restart of a process.
// Values are the rings' own counters, cumulative since the ring was
// created; a ring created again starts them again from zero, which
// Prometheus's rate and increase take as a counter reset.
package catalog

import (
	"strings"
)

// Namespace is the first part of every metric's name.
const Namespace = "myelon"

// Kind is what a metric's values are.
type Kind uint8

// The kinds of metric.
const (
	// Counter: a cumulative count that only goes up (until the ring is
	// created again).
	Counter Kind = iota
	// Gauge: a value that goes up and down; 1 or 0 for a yes or no.
	Gauge
)

// Metric describes one metric.
type Metric struct {
	// Name is the name below the namespace, in OpenTelemetry's dotted
	// form: "consumer.lag". Names whose unit is bytes or seconds end in
	// "bytes" or "seconds", as Prometheus wants.
	Name string
	// Unit is the UCUM unit for OpenTelemetry: "By", "s", or an
	// annotation such as "{event}"; empty for a yes-or-no gauge.
	Unit   string
	Kind   Kind
	Help   string
	Labels []string // the label (attribute) names, in the order of Sample.Labels
}

// OTelName is the metric's OpenTelemetry instrument name:
// "myelon.consumer.lag".
func (m *Metric) OTelName() string { return Namespace + "." + m.Name }

// PrometheusName is the metric's Prometheus name: "myelon_consumer_lag",
// "myelon_ring_published_total".
func (m *Metric) PrometheusName() string {
	n := Namespace + "_" + strings.ReplaceAll(m.Name, ".", "_")
	if m.Kind == Counter {
		n += "_total"
	}
	return n
}

// Label sets.
var (
	sourceLabels   = []string{"source"}
	ringLabels     = []string{"ring", "backend", "layer"}
	producerLabels = with(ringLabels, "producer")
	consumerLabels = with(ringLabels, "consumer", "group")
	groupLabels    = with(ringLabels, "group")
)

func with(base []string, more ...string) []string {
	return append(append([]string(nil), base...), more...)
}

func gauge(name, unit, help string, labels []string) *Metric {
	return &Metric{Name: name, Unit: unit, Kind: Gauge, Help: help, Labels: labels}
}

func counter(name, unit, help string, labels []string) *Metric {
	return &Metric{Name: name, Unit: unit, Kind: Counter, Help: help, Labels: labels}
}

// The metrics, each described by its Help.
var (
	sourceReadable = gauge("exporter.source_readable", "", "1 if the exporter could list the rings of the source (shm, or a directory of file-backed rings), else 0.", sourceLabels)

	ringState      = gauge("ring.state", "", "1 for the ring's state (ready, closed, stale, initialising, unreadable), 0 for the others.", with(ringLabels, "state"))
	ringAlive      = gauge("ring.alive", "", "1 if a producer of the ring is alive (holds its liveness lock), else 0.", ringLabels)
	ringUnreadable = gauge("ring.unreadable", "", "1 for a ring that could not be read, with the reason.", with(ringLabels, "reason"))
	ringInfo       = gauge("ring.info", "", "Always 1: the ring's kind (bytes or typed events) and, for a typed ring, its schema.", with(ringLabels, "kind", "schema"))
	ringCapacity   = gauge("ring.capacity", "{slot}", "Slots in the ring.", ringLabels)
	ringSlotSize   = gauge("ring.slot_size_bytes", "By", "Size of a slot of the ring, in bytes.", ringLabels)
	ringSize       = gauge("ring.segment_size_bytes", "By", "Size of the ring's segment, in bytes.", ringLabels)
	ringCreated    = gauge("ring.created_timestamp_seconds", "s", "When the ring was created, in seconds since the Unix epoch.", ringLabels)

	ringPublished     = counter("ring.published", "{event}", "Events published to the ring (on a multi-producer ring: sequences claimed).", ringLabels)
	ringFullWaits     = counter("ring.full_waits", "{wait}", "Times a producer found the ring full and waited (back-pressure).", ringLabels)
	ringProducerParks = counter("ring.producer_parks", "{park}", "Times a producer parked (slept in the kernel) waiting for space.", ringLabels)
	ringProducerWakes = counter("ring.producer_wakes", "{wake}", "Times a producer was woken by a consumer.", ringLabels)
	ringDeadConsumers = counter("ring.dead_consumers", "{consumer}", "Dead consumers detached from the ring.", ringLabels)
	ringAbandoned     = counter("ring.abandoned", "{event}", "Sequences abandoned by producers that died between claim and publish.", ringLabels)
	ringStalls        = counter("ring.required_stalls", "{stall}", "Times a required consumer was found stalled.", ringLabels)
	ringEvictions     = counter("ring.required_evictions", "{eviction}", "Required consumers evicted for stalling.", ringLabels)
	ringErrors        = counter("ring.errors", "{error}", "Errors recorded in the ring's error log, by kind.", with(ringLabels, "kind"))
	ringErrorLast     = gauge("ring.error_last_timestamp_seconds", "s", "When the ring's error log last recorded an error of the kind, in seconds since the Unix epoch.", with(ringLabels, "kind"))

	producerAlive     = gauge("producer.alive", "", "1 if the producer (an entry of a multi-producer ring's producer table) is alive, else 0.", producerLabels)
	producerPublished = counter("producer.published", "{event}", "Events the producer published (multi-producer rings), as it last recorded them: a producer records its count on slow paths only (waiting for space, closing), so it may be behind while the producer streams.", producerLabels)

	consumerState      = gauge("consumer.state", "", "1 for the consumer entry's state (active, detached, claiming), 0 for the others.", with(consumerLabels, "state"))
	consumerAlive      = gauge("consumer.alive", "", "1 if the consumer's process holds its liveness lock, else 0.", consumerLabels)
	consumerPosition   = gauge("consumer.position", "{event}", "Last sequence the consumer consumed (-1 before the first).", consumerLabels)
	consumerLag        = gauge("consumer.lag", "{event}", "Events published and not yet consumed by the consumer.", consumerLabels)
	consumerLagMax     = gauge("consumer.lag_max", "{event}", "The most events the consumer ever found waiting for it.", consumerLabels)
	consumerEmptyWaits = counter("consumer.empty_waits", "{wait}", "Times the consumer found the ring empty and waited.", consumerLabels)
	consumerParks      = counter("consumer.parks", "{park}", "Times the consumer parked (slept in the kernel) waiting for events.", consumerLabels)
	consumerWakes      = counter("consumer.wakes", "{wake}", "Times the consumer was woken by a producer.", consumerLabels)
	consumerLapped     = counter("consumer.lapped", "{event}", "Events the consumer lost because producers lapped it.", consumerLabels)
	consumerAbandoned  = counter("consumer.abandoned", "{event}", "Abandoned sequences the consumer skipped.", consumerLabels)

	groupMembers     = gauge("group.members", "{consumer}", "Active members of the consumer group.", groupLabels)
	groupPosition    = gauge("group.position", "{event}", "Highest sequence claimed by a member of the group.", groupLabels)
	groupPending     = gauge("group.pending", "{event}", "Claims returned to the group, waiting for a member.", groupLabels)
	groupInDoubt     = gauge("group.in_doubt", "{event}", "Claims held by members that closed or died, not yet returned to the group.", groupLabels)
	groupRedelivered = counter("group.redelivered", "{event}", "Events the group delivered again after a member failed.", groupLabels)
	groupLost        = counter("group.lost", "{event}", "Claimed events the group could not deliver.", groupLabels)
	groupLapped      = counter("group.lapped", "{event}", "Events skipped while the group had no member.", groupLabels)

	frameProducerMessages   = counter("frame.producer.messages", "{message}", "Messages published in full by the ring's frame producers.", ringLabels)
	frameProducerFragments  = counter("frame.producer.fragments", "{frame}", "Frames of the messages published by the ring's frame producers.", ringLabels)
	frameProducerBytes      = counter("frame.producer.bytes", "By", "Payload bytes of the messages published by the ring's frame producers.", ringLabels)
	frameProducerMultiFrame = counter("frame.producer.multi_frame", "{message}", "Messages of more than one frame published.", ringLabels)
	frameProducerChunked    = counter("frame.producer.chunked", "{message}", "Messages larger than the ring, sent in chunks.", ringLabels)
	frameProducerAborted    = counter("frame.producer.aborted", "{message}", "Chunked messages that failed after their first chunk.", ringLabels)

	frameConsumerMessages         = counter("frame.consumer.messages", "{message}", "Messages the frame consumer delivered.", consumerLabels)
	frameConsumerFragments        = counter("frame.consumer.fragments", "{frame}", "Frames the frame consumer consumed into messages.", consumerLabels)
	frameConsumerBytes            = counter("frame.consumer.bytes", "By", "Payload bytes the frame consumer delivered.", consumerLabels)
	frameConsumerMultiFrame       = counter("frame.consumer.multi_frame", "{message}", "Messages of several frames the frame consumer started.", consumerLabels)
	frameConsumerReassemblyErrors = counter("frame.consumer.reassembly_errors", "{error}", "Protocol errors (invalid headers, inconsistent frame sequences) the frame consumer met.", consumerLabels)
	frameConsumerChecksumErrors   = counter("frame.consumer.checksum_errors", "{message}", "Messages the frame consumer skipped because their payload did not match its checksum.", consumerLabels)
	frameConsumerSkippedFrames    = counter("frame.consumer.skipped_frames", "{frame}", "Frames the frame consumer dropped while resynchronising after an error or a lap.", consumerLabels)
	frameConsumerLateJoinFrames   = counter("frame.consumer.late_join_frames", "{frame}", "Frames skipped because the consumer attached in the middle of a message (not an error).", consumerLabels)
	frameConsumerLapped           = counter("frame.consumer.lapped", "{error}", "Laps (frames lost) the frame consumer reported.", consumerLabels)

	typedProducerEncodeErrors = counter("typed.producer.encode_errors", "{error}", "Values the ring's typed producers' codec refused to encode.", ringLabels)
	typedConsumerDecodeErrors = counter("typed.consumer.decode_errors", "{error}", "Messages the typed consumer's codec could not decode.", consumerLabels)
	typedConsumerSchemaErrors = counter("typed.consumer.schema_errors", "{error}", "Messages tagged with another schema that the typed consumer met.", consumerLabels)

	bridgeInboundWritten    = counter("bridge.inbound.written", "{message}", "Messages written into the ring by its producers that are inbound NATS bridges.", ringLabels)
	bridgeInboundDuplicates = counter("bridge.inbound.duplicates", "{message}", "Messages redelivered by NATS that the ring's inbound bridges had already written, and skipped.", ringLabels)
	bridgeInboundLost       = counter("bridge.inbound.lost", "{message}", "Messages the ring's inbound NATS bridges know lost: dropped by a slow core NATS subscription, or a gap given up on.", ringLabels)
	bridgeInboundErrors     = counter("bridge.inbound.errors", "{error}", "Messages the ring's inbound NATS bridges refused (bad header, schema), and their failed fetches and acknowledgements.", ringLabels)

	bridgeOutboundPublished   = counter("bridge.outbound.published", "{message}", "Messages the outbound NATS bridge (this consumer) published to NATS, first publishes only.", consumerLabels)
	bridgeOutboundAcked       = counter("bridge.outbound.acked", "{message}", "Messages the outbound NATS bridge released in the ring: acknowledged by JetStream, or published in core mode.", consumerLabels)
	bridgeOutboundRepublished = counter("bridge.outbound.republished", "{message}", "JetStream publishes the outbound NATS bridge repeated after a failure or a timeout.", consumerLabels)
	bridgeOutboundErrors      = counter("bridge.outbound.errors", "{error}", "Failed publishes, protocol errors and laps the outbound NATS bridge met.", consumerLabels)
)

// all is every metric, in the order of the list above.
var all = []*Metric{
	sourceReadable,
	ringState, ringAlive, ringUnreadable, ringInfo, ringCapacity, ringSlotSize, ringSize, ringCreated,
	ringPublished, ringFullWaits, ringProducerParks, ringProducerWakes, ringDeadConsumers, ringAbandoned,
	ringStalls, ringEvictions, ringErrors, ringErrorLast,
	producerAlive, producerPublished,
	consumerState, consumerAlive, consumerPosition, consumerLag, consumerLagMax,
	consumerEmptyWaits, consumerParks, consumerWakes, consumerLapped, consumerAbandoned,
	groupMembers, groupPosition, groupPending, groupInDoubt, groupRedelivered, groupLost, groupLapped,
	frameProducerMessages, frameProducerFragments, frameProducerBytes, frameProducerMultiFrame,
	frameProducerChunked, frameProducerAborted,
	frameConsumerMessages, frameConsumerFragments, frameConsumerBytes, frameConsumerMultiFrame,
	frameConsumerReassemblyErrors, frameConsumerChecksumErrors, frameConsumerSkippedFrames,
	frameConsumerLateJoinFrames, frameConsumerLapped,
	typedProducerEncodeErrors, typedConsumerDecodeErrors, typedConsumerSchemaErrors,
	bridgeInboundWritten, bridgeInboundDuplicates, bridgeInboundLost, bridgeInboundErrors,
	bridgeOutboundPublished, bridgeOutboundAcked, bridgeOutboundRepublished, bridgeOutboundErrors,
}

// Metrics returns every metric that the exporters export.
func Metrics() []*Metric { return append([]*Metric(nil), all...) }
