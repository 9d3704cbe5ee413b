'use strict';
// Exports one span with an OTLP exporter configured by nothing but the
// standard OTEL_* environment variables, as an application would; prints
// the trace id and whether the export succeeded, as JSON.
//
//   node export_from_env.js grpc|http

const { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } = require('@opentelemetry/sdk-trace-base');
const { OTLPTraceExporter: ProtoHttpExporter } = require('@opentelemetry/exporter-trace-otlp-proto');
const { OTLPTraceExporter: GrpcExporter } = require('@opentelemetry/exporter-trace-otlp-grpc');

async function main(transport) {
  const exporter = transport === 'grpc' ? new GrpcExporter() : new ProtoHttpExporter();
  const captured = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(captured)] });
  provider.getTracer('tracehouse.e2e.auth').startSpan('charge card').end();
  const spans = captured.getFinishedSpans();
  const result = await new Promise((resolve) => exporter.export(spans, resolve));
  await exporter.shutdown();
  await provider.shutdown();
  process.stdout.write(
    `${JSON.stringify({ trace_id: spans[0].spanContext().traceId, exported: result.code === 0 })}\n`,
  );
}

main(process.argv[2]).catch((error) => {
  console.error(error);
  process.exit(1);
});
