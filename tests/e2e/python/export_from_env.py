"""Exports one span with an OTLP exporter configured by nothing but the
standard OTEL_* environment variables, as an application would; prints the
trace id and whether the export succeeded, as JSON.

    python export_from_env.py grpc|http
"""

from __future__ import annotations

import json
import sys

from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcSpanExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter


def main(transport: str) -> None:
    exporter = GrpcSpanExporter() if transport == "grpc" else HttpSpanExporter()
    provider = TracerProvider(resource=Resource.create())
    captured = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(captured))
    with provider.get_tracer("tracehouse.e2e.auth").start_as_current_span("charge card"):
        pass
    spans = captured.get_finished_spans()
    result = exporter.export(spans)
    exporter.shutdown()
    print(
        json.dumps(
            {
                "trace_id": format(spans[0].get_span_context().trace_id, "032x"),
                "exported": result == SpanExportResult.SUCCESS,
            }
        )
    )


if __name__ == "__main__":
    main(sys.argv[1])
