"""The OpenTelemetry Python SDK exports to Tracehouse over OTLP/gRPC (gzip)
and OTLP/HTTP protobuf; every span comes back from the query API as sent.

Spans are made by the real SDK, captured in memory, and handed to the real
OTLP exporters, so each test knows exactly what went over the wire and
asserts that the export succeeded. The expected JSON is built here from the
SDK's span objects, independently of Tracehouse's code.
"""

from __future__ import annotations

import secrets
import time

import grpc
import pytest
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcSpanExporter
from opentelemetry.exporter.otlp.proto.http import Compression as HttpCompression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Link, SpanContext, SpanKind, Status, StatusCode, TraceFlags, TraceState

SCOPE_NAME = "tracehouse.e2e.python"
SCOPE_VERSION = "4.5.6"

# OTLP span flags (opentelemetry-proto SpanFlags): the SDK always says whether
# it knows the parent's remoteness, and whether the parent was remote.
SPAN_FLAGS_CONTEXT_HAS_IS_REMOTE = 0x100
SPAN_FLAGS_CONTEXT_IS_REMOTE = 0x200

KIND_NAMES = {
    SpanKind.INTERNAL: "internal",
    SpanKind.SERVER: "server",
    SpanKind.CLIENT: "client",
    SpanKind.PRODUCER: "producer",
    SpanKind.CONSUMER: "consumer",
}
STATUS_NAMES = {StatusCode.UNSET: "unset", StatusCode.OK: "ok", StatusCode.ERROR: "error"}

# Attribute values of every type the Python SDK accepts, with edge cases:
# an int past 2**53 (JSON float precision), negatives, doubles that do not
# round-trip through short decimal forms, unicode, and homogeneous arrays.
EVERY_ATTRIBUTE_TYPE = {
    "http.request.method": "GET",
    "url.path": "/orders/42",
    "text.unicode": 'grüße, 世界 "quoted" \\ back',
    "text.empty": "",
    "flag.true": True,
    "flag.false": False,
    "http.response.status_code": 500,
    "int.negative": -17,
    "int.large": 2**53 + 1,
    "int.max": 2**63 - 1,
    "double.pi": 3.141592653589793,
    "double.tenth": -0.1,
    "double.tiny": 1e-300,
    "array.strings": ("alpha", "beta", ""),
    "array.bools": (True, False, True),
    "array.ints": (1, -2, 2**40),
    "array.doubles": (0.5, -1.25, 1e10),
}


def now_nanos() -> int:
    return time.time_ns()


def make_provider(service_name: str) -> tuple[TracerProvider, InMemorySpanExporter, Resource]:
    resource = Resource.create(
        {
            "service.name": service_name,
            "service.version": "1.2.3",
            "deployment.environment.name": "e2e",
            "faas.max_memory": 134217728,
            "cloud.region.weights": (0.25, 0.75),
            "faas.coldstart": True,
        }
    )
    provider = TracerProvider(resource=resource)
    captured = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(captured))
    return provider, captured, resource


def record_order_trace(provider: TracerProvider, remote_parent: SpanContext) -> None:
    """One request trace with every span kind and status, events and links.

    Times are explicit so the expected values are exact; the base is now,
    since Tracehouse refuses spans older than its retention.
    """
    tracer = provider.get_tracer(SCOPE_NAME, SCOPE_VERSION)
    base = now_nanos() - 60_000_000_000

    root = tracer.start_span(
        "GET /orders/{id}", kind=SpanKind.SERVER, attributes=EVERY_ATTRIBUTE_TYPE, start_time=base
    )
    root.add_event(
        "exception",
        attributes={
            "exception.type": "TimeoutError",
            "exception.message": "database timed out",
            "exception.escaped": False,
            "retry.count": 3,
            "retry.backoff": (0.1, 0.2),
        },
        timestamp=base + 4_000_000,
    )
    root.add_event("request.end", timestamp=base + 4_500_000)
    root.set_status(Status(StatusCode.ERROR, "database timed out"))
    root_context = trace.set_span_in_context(root)

    query = tracer.start_span(
        "SELECT orders",
        context=root_context,
        kind=SpanKind.CLIENT,
        attributes={"db.system.name": "clickhouse", "db.response.returned_rows": 0},
        start_time=base + 1_000,
    )
    query.set_status(Status(StatusCode.OK))
    query_context = trace.set_span_in_context(query)

    decode = tracer.start_span(
        "decode rows", context=query_context, kind=SpanKind.INTERNAL, start_time=base + 2_000
    )
    decode.end(end_time=base + 2_999)
    query.end(end_time=base + 3_000_001)

    publish = tracer.start_span(
        "orders publish",
        context=root_context,
        kind=SpanKind.PRODUCER,
        attributes={"messaging.system": "sqs", "messaging.batch.message_count": 2},
        start_time=base + 3_500_000,
    )
    publish.end(end_time=base + 3_600_000)

    # A consumer continuing a remote parent: its trace id and trace state
    # come from the propagated context; it links back to the producer span.
    consume = tracer.start_span(
        "orders process",
        context=trace.set_span_in_context(trace.NonRecordingSpan(remote_parent)),
        kind=SpanKind.CONSUMER,
        links=[
            Link(publish.get_span_context(), {"messaging.message.id": "m-1", "link.index": 0}),
            Link(
                SpanContext(
                    trace_id=0x0AF7651916CD43DD8448EB211C80319C,
                    span_id=0xB7AD6B7169203331,
                    is_remote=True,
                ),
                {"messaging.message.id": "m-2", "link.weights": (1, 2, 3)},
            ),
        ],
        start_time=base + 4_100_000,
    )
    consume.end(end_time=base + 4_200_000)

    root.end(end_time=base + 5_000_000)


def new_remote_parent() -> SpanContext:
    """A propagated parent context, as a message consumer receives it; fresh ids per export."""
    return SpanContext(
        trace_id=secrets.randbits(128) | 1,
        span_id=secrets.randbits(64) | 1,
        is_remote=True,
        trace_flags=TraceFlags(TraceFlags.SAMPLED),
        trace_state=TraceState([("tenant", "acme"), ("rojo", "00f067aa0ba902b7")]),
    )


def hex_trace_id(trace_id: int) -> str:
    return format(trace_id, "032x")


def hex_span_id(span_id: int) -> str:
    return format(span_id, "016x")


def as_json_value(value):
    """How an attribute value reads back as JSON: sequences become lists."""
    if isinstance(value, (tuple, list)):
        return [as_json_value(item) for item in value]
    return value


def as_json_attributes(attributes) -> dict:
    return {key: as_json_value(value) for key, value in (attributes or {}).items()}


def expected_span(span: ReadableSpan) -> dict:
    """What the query API should return for a span the SDK exported."""
    context = span.get_span_context()
    parent = span.parent
    flags = SPAN_FLAGS_CONTEXT_HAS_IS_REMOTE
    if parent is not None and parent.is_remote:
        flags |= SPAN_FLAGS_CONTEXT_IS_REMOTE
    return {
        "trace_id": hex_trace_id(context.trace_id),
        "span_id": hex_span_id(context.span_id),
        "parent_span_id": hex_span_id(parent.span_id) if parent is not None else "",
        "name": span.name,
        "kind": KIND_NAMES[span.kind],
        "service": span.resource.attributes["service.name"],
        "start_time_unix_nano": span.start_time,
        "end_time_unix_nano": span.end_time,
        "duration_ns": span.end_time - span.start_time,
        "status_code": STATUS_NAMES[span.status.status_code],
        "status_message": span.status.description or "",
        "trace_state": ",".join(f"{key}={value}" for key, value in context.trace_state.items()),
        "flags": flags,
        "attributes": as_json_attributes(span.attributes),
        "resource": as_json_attributes(span.resource.attributes),
        "scope": {"name": span.instrumentation_scope.name, "version": span.instrumentation_scope.version},
        "events": [
            {
                "time_unix_nano": event.timestamp,
                "name": event.name,
                "attributes": as_json_attributes(event.attributes),
            }
            for event in span.events
        ],
        "links": [
            {
                "trace_id": hex_trace_id(link.context.trace_id),
                "span_id": hex_span_id(link.context.span_id),
                # The Python OTLP encoder does not send a link's trace state.
                "trace_state": "",
                "attributes": as_json_attributes(link.attributes),
            }
            for link in span.links
        ],
        "dropped_attributes_count": 0,
        "dropped_events_count": 0,
        "dropped_links_count": 0,
    }


def export_and_fetch(
    tracehouse, exporter: SpanExporter, service_name: str, remote_parent: SpanContext
) -> tuple[list[ReadableSpan], dict]:
    """Records the order trace, exports it with `exporter`, returns the sent spans and stored traces."""
    provider, captured, _ = make_provider(service_name)
    record_order_trace(provider, remote_parent)
    sent = list(captured.get_finished_spans())
    assert len(sent) == 5
    try:
        assert exporter.export(sent) == SpanExportResult.SUCCESS
    finally:
        exporter.shutdown()
        provider.shutdown()

    by_trace: dict[str, list[ReadableSpan]] = {}
    for span in sent:
        by_trace.setdefault(hex_trace_id(span.get_span_context().trace_id), []).append(span)
    stored = {
        trace_id: tracehouse.wait_for_trace(trace_id, len(spans)) for trace_id, spans in by_trace.items()
    }
    return sent, stored


def assert_stored_as_sent(sent: list[ReadableSpan], stored: dict) -> None:
    """Every sent span is stored once, equal field by field to what was sent."""
    for trace_id, trace_json in stored.items():
        assert trace_json["trace_id"] == trace_id
        spans_of_trace = [span for span in sent if hex_trace_id(span.get_span_context().trace_id) == trace_id]
        assert len(trace_json["spans"]) == len(spans_of_trace)
        stored_by_span_id = {span["span_id"]: span for span in trace_json["spans"]}
        for span in spans_of_trace:
            expected = expected_span(span)
            assert stored_by_span_id[expected["span_id"]] == expected
        # The API returns a trace oldest first.
        start_times = [span["start_time_unix_nano"] for span in trace_json["spans"]]
        assert start_times == sorted(start_times)


def assert_spot_checks(stored: dict, service_name: str, remote_parent: SpanContext) -> None:
    """A few literal values, so a shared mistake in expected_span cannot hide."""
    by_name = {span["name"]: span for trace_json in stored.values() for span in trace_json["spans"]}
    root = by_name["GET /orders/{id}"]
    assert root["parent_span_id"] == ""
    assert root["kind"] == "server"
    assert root["service"] == service_name
    assert root["resource"]["service.name"] == service_name
    assert root["resource"]["telemetry.sdk.language"] == "python"
    assert root["resource"]["cloud.region.weights"] == [0.25, 0.75]
    assert root["duration_ns"] == 5_000_000
    assert root["status_code"] == "error"
    assert root["status_message"] == "database timed out"
    assert root["attributes"]["int.large"] == 9007199254740993
    assert root["attributes"]["int.max"] == 9223372036854775807
    assert root["attributes"]["double.pi"] == 3.141592653589793
    assert root["attributes"]["array.ints"] == [1, -2, 1099511627776]
    assert root["scope"] == {"name": SCOPE_NAME, "version": SCOPE_VERSION}
    assert [event["name"] for event in root["events"]] == ["exception", "request.end"]
    assert root["events"][0]["attributes"]["retry.backoff"] == [0.1, 0.2]
    assert root["events"][0]["time_unix_nano"] - root["start_time_unix_nano"] == 4_000_000

    query = by_name["SELECT orders"]
    assert query["parent_span_id"] == root["span_id"]
    assert query["trace_id"] == root["trace_id"]
    assert (query["kind"], query["status_code"], query["duration_ns"]) == ("client", "ok", 3_000_000 - 999)
    decode = by_name["decode rows"]
    assert (decode["parent_span_id"], decode["kind"], decode["status_code"]) == (
        query["span_id"],
        "internal",
        "unset",
    )
    assert decode["duration_ns"] == 999

    publish = by_name["orders publish"]
    consume = by_name["orders process"]
    assert publish["kind"] == "producer"
    assert consume["kind"] == "consumer"
    assert consume["trace_id"] == format(remote_parent.trace_id, "032x")
    assert consume["parent_span_id"] == format(remote_parent.span_id, "016x")
    assert consume["trace_state"] == "tenant=acme,rojo=00f067aa0ba902b7"
    assert consume["flags"] == SPAN_FLAGS_CONTEXT_HAS_IS_REMOTE | SPAN_FLAGS_CONTEXT_IS_REMOTE
    assert root["flags"] == SPAN_FLAGS_CONTEXT_HAS_IS_REMOTE
    assert consume["links"] == [
        {
            "trace_id": root["trace_id"],
            "span_id": publish["span_id"],
            "trace_state": "",
            "attributes": {"messaging.message.id": "m-1", "link.index": 0},
        },
        {
            "trace_id": "0af7651916cd43dd8448eb211c80319c",
            "span_id": "b7ad6b7169203331",
            "trace_state": "",
            "attributes": {"messaging.message.id": "m-2", "link.weights": [1, 2, 3]},
        },
    ]


def grpc_exporter(tracehouse) -> GrpcSpanExporter:
    return GrpcSpanExporter(
        endpoint=tracehouse.otlp_grpc_url, insecure=True, compression=grpc.Compression.Gzip, timeout=10
    )


def http_exporter(tracehouse) -> HttpSpanExporter:
    return HttpSpanExporter(
        endpoint=f"{tracehouse.otlp_http_url}/v1/traces",
        compression=HttpCompression.NoCompression,
        timeout=10,
    )


def http_gzip_exporter(tracehouse) -> HttpSpanExporter:
    return HttpSpanExporter(
        endpoint=f"{tracehouse.otlp_http_url}/v1/traces", compression=HttpCompression.Gzip, timeout=10
    )


@pytest.mark.parametrize(
    ("make_exporter", "service_name"),
    [
        (grpc_exporter, "checkout-grpc-gzip"),
        (http_exporter, "checkout-http-protobuf"),
        (http_gzip_exporter, "checkout-http-protobuf-gzip"),
    ],
    ids=["grpc-gzip", "http-protobuf", "http-protobuf-gzip"],
)
def test_spans_come_back_field_by_field(tracehouse, make_exporter, service_name):
    remote_parent = new_remote_parent()
    sent, stored = export_and_fetch(tracehouse, make_exporter(tracehouse), service_name, remote_parent)
    assert len(stored) == 2
    assert_stored_as_sent(sent, stored)
    assert_spot_checks(stored, service_name, remote_parent)


def test_metrics_count_what_the_sdk_sent(tracehouse):
    before = tracehouse.metrics()

    def increase(sample: str) -> float:
        return tracehouse.metric(sample) - before.get(sample, 0.0)

    grpc_sent, _ = export_and_fetch(
        tracehouse, grpc_exporter(tracehouse), "metrics-grpc", new_remote_parent()
    )
    http_sent, _ = export_and_fetch(
        tracehouse, http_exporter(tracehouse), "metrics-http", new_remote_parent()
    )
    span_count = len(grpc_sent) + len(http_sent)

    assert increase('tracehouse_received_items_total{signal="traces"}') == span_count
    assert increase('tracehouse_accepted_items_total{signal="traces"}') == span_count
    assert increase('tracehouse_otlp_requests_total{signal="traces",transport="grpc",outcome="ok"}') == 1
    assert increase('tracehouse_otlp_requests_total{signal="traces",transport="http",outcome="ok"}') == 1
    rejected = {
        name: value
        for name, value in tracehouse.metrics().items()
        if name.startswith("tracehouse_rejected_items_total")
    }
    assert all(value == before.get(name, 0.0) for name, value in rejected.items()), rejected

    # The rows are readable, so they were written; the counter is bumped
    # right after the insert returns, hence the short poll before asserting.
    written_sample = 'tracehouse_writer_rows_written_total{table="spans"}'
    deadline = time.monotonic() + 20
    while increase(written_sample) < span_count and time.monotonic() < deadline:
        time.sleep(0.2)
    assert increase(written_sample) == span_count
