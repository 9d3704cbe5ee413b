'use strict';
// The OpenTelemetry JS SDK exports to Tracehouse over OTLP/HTTP JSON,
// OTLP/HTTP protobuf (gzip) and OTLP/gRPC (gzip); every span comes back from
// the query API as sent. Spans are made by the real SDK, captured in memory,
// and handed to the real exporters, so the test knows exactly what went over
// the wire and asserts that the export succeeded. The expected JSON is built
// here from the SDK's span objects, independently of Tracehouse's code.

// Exporters read OTEL_* settings at construction; the test decides alone.
for (const name of Object.keys(process.env)) {
  if (name.startsWith('OTEL_')) delete process.env[name];
}

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const api = require('@opentelemetry/api');
const { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } = require('@opentelemetry/sdk-trace-base');
const { defaultResource, resourceFromAttributes } = require('@opentelemetry/resources');
const { OTLPTraceExporter: JsonHttpExporter } = require('@opentelemetry/exporter-trace-otlp-http');
const { OTLPTraceExporter: ProtoHttpExporter } = require('@opentelemetry/exporter-trace-otlp-proto');
const { OTLPTraceExporter: GrpcExporter } = require('@opentelemetry/exporter-trace-otlp-grpc');
const { startTracehouse } = require('./tracehouse');

const SCOPE_NAME = 'tracehouse.e2e.node';
const SCOPE_VERSION = '7.8.9';
// ExportResultCode.SUCCESS of @opentelemetry/core.
const EXPORT_SUCCESS = 0;
// OTLP span flags: the low byte is the W3C trace flags, then whether the
// parent's remoteness is known, and whether the parent was remote.
const SPAN_FLAGS_CONTEXT_HAS_IS_REMOTE = 0x100;
const SPAN_FLAGS_CONTEXT_IS_REMOTE = 0x200;
const KIND_NAMES = {
  [api.SpanKind.INTERNAL]: 'internal',
  [api.SpanKind.SERVER]: 'server',
  [api.SpanKind.CLIENT]: 'client',
  [api.SpanKind.PRODUCER]: 'producer',
  [api.SpanKind.CONSUMER]: 'consumer',
};
const STATUS_NAMES = {
  [api.SpanStatusCode.UNSET]: 'unset',
  [api.SpanStatusCode.OK]: 'ok',
  [api.SpanStatusCode.ERROR]: 'error',
};

// Attribute values of every type the JS SDK accepts. Integral numbers go
// out as OTLP ints, the others as doubles.
const EVERY_ATTRIBUTE_TYPE = {
  'http.request.method': 'POST',
  'url.path': '/carts/7',
  'text.unicode': 'grüße, 世界 "quoted" \\ back',
  'text.empty': '',
  'flag.true': true,
  'flag.false': false,
  'http.response.status_code': 503,
  'int.negative': -17,
  'int.max_safe': Number.MAX_SAFE_INTEGER,
  'double.pi': Math.PI,
  'double.tenth': -0.1,
  'double.tiny': 1e-300,
  'array.strings': ['alpha', 'beta', ''],
  'array.bools': [true, false, true],
  'array.ints': [1, -2, 2 ** 40],
  'array.doubles': [0.5, -1.25, 2.75],
};

let tracehouse;

before(async () => {
  tracehouse = await startTracehouse();
});

after(async () => {
  if (!tracehouse) return;
  const code = await tracehouse.stop();
  assert.equal(code, 0, `tracehouse exited with ${code} after SIGTERM\n${tracehouse.logTail()}`);
  // Keep the log of a failed run; the ClickHouse data is never worth keeping.
  tracehouse.removeData();
});

/** Nanoseconds as an HrTime, exact. */
function hrTime(nanos) {
  return [Number(nanos / 1_000_000_000n), Number(nanos % 1_000_000_000n)];
}

function hrTimeToNanos([seconds, nanos]) {
  return BigInt(seconds) * 1_000_000_000n + BigInt(nanos);
}

/** How the exact JSON parser reads an integer: a Number when exact, else a BigInt. */
function jsonInteger(value) {
  const big = BigInt(value);
  return big >= BigInt(Number.MIN_SAFE_INTEGER) && big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : big;
}

function makeProvider(serviceName) {
  const resource = defaultResource().merge(
    resourceFromAttributes({
      'service.name': serviceName,
      'service.version': '1.2.3',
      'deployment.environment.name': 'e2e',
      'faas.max_memory': 134217728,
      'cloud.region.weights': [0.25, 0.75],
      'faas.coldstart': true,
    }),
  );
  const captured = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ resource, spanProcessors: [new SimpleSpanProcessor(captured)] });
  return { provider, captured };
}

/** A propagated parent context, as a message consumer receives it; fresh ids per export. */
function newRemoteParent() {
  return {
    traceId: crypto.randomBytes(16).toString('hex'),
    spanId: crypto.randomBytes(8).toString('hex'),
    traceFlags: api.TraceFlags.SAMPLED,
    isRemote: true,
    traceState: api.createTraceState('tenant=acme,rojo=00f067aa0ba902b7'),
  };
}

/**
 * One request trace with every span kind and status, events and links.
 * Times are explicit so the expected values are exact; the base is now,
 * since Tracehouse refuses spans older than its retention.
 */
function recordCartTrace(provider, remoteParent) {
  const tracer = provider.getTracer(SCOPE_NAME, SCOPE_VERSION);
  const base = BigInt(Date.now() - 60_000) * 1_000_000n + 123_456n;
  const at = (offset) => hrTime(base + BigInt(offset));

  const root = tracer.startSpan('POST /carts/{id}', {
    kind: api.SpanKind.SERVER,
    attributes: EVERY_ATTRIBUTE_TYPE,
    startTime: at(0),
  });
  root.addEvent(
    'exception',
    {
      'exception.type': 'TimeoutError',
      'exception.message': 'inventory timed out',
      'exception.escaped': false,
      'retry.count': 3,
      'retry.backoff': [0.1, 0.2],
    },
    at(4_000_000),
  );
  root.addEvent('request.end', at(4_500_000));
  root.setStatus({ code: api.SpanStatusCode.ERROR, message: 'inventory timed out' });
  const rootContext = api.trace.setSpan(api.ROOT_CONTEXT, root);

  const call = tracer.startSpan(
    'GET inventory',
    { kind: api.SpanKind.CLIENT, attributes: { 'server.address': 'inventory', 'server.port': 8443 }, startTime: at(1_000) },
    rootContext,
  );
  call.setStatus({ code: api.SpanStatusCode.OK });
  const callContext = api.trace.setSpan(rootContext, call);
  const parse = tracer.startSpan('parse body', { kind: api.SpanKind.INTERNAL, startTime: at(2_000) }, callContext);
  parse.end(at(2_999));
  call.end(at(3_000_001));

  const publish = tracer.startSpan(
    'carts publish',
    { kind: api.SpanKind.PRODUCER, attributes: { 'messaging.system': 'sqs' }, startTime: at(3_500_000) },
    rootContext,
  );
  publish.end(at(3_600_000));

  // A consumer continuing a remote parent: its trace id and trace state come
  // from the propagated context; it links back to the producer span and to
  // a span elsewhere whose context carries a trace state.
  const consume = tracer.startSpan(
    'carts process',
    {
      kind: api.SpanKind.CONSUMER,
      links: [
        { context: publish.spanContext(), attributes: { 'messaging.message.id': 'm-1', 'link.index': 0 } },
        {
          context: {
            traceId: '0af7651916cd43dd8448eb211c80319c',
            spanId: 'b7ad6b7169203331',
            traceFlags: api.TraceFlags.SAMPLED,
            isRemote: true,
            traceState: api.createTraceState('congo=t61rcWkgMzE'),
          },
          attributes: { 'messaging.message.id': 'm-2', 'link.weights': [1, 2, 3] },
        },
      ],
      startTime: at(4_100_000),
    },
    api.trace.setSpanContext(api.ROOT_CONTEXT, remoteParent),
  );
  consume.end(at(4_200_000));

  root.end(at(5_000_000));
}

function expectedSpan(span) {
  const context = span.spanContext();
  const parent = span.parentSpanContext;
  let flags = (context.traceFlags & 0xff) | SPAN_FLAGS_CONTEXT_HAS_IS_REMOTE;
  if (parent?.isRemote) flags |= SPAN_FLAGS_CONTEXT_IS_REMOTE;
  const start = hrTimeToNanos(span.startTime);
  const end = hrTimeToNanos(span.endTime);
  return {
    trace_id: context.traceId,
    span_id: context.spanId,
    parent_span_id: parent?.spanId ?? '',
    name: span.name,
    kind: KIND_NAMES[span.kind],
    service: span.resource.attributes['service.name'],
    start_time_unix_nano: jsonInteger(start),
    end_time_unix_nano: jsonInteger(end),
    duration_ns: jsonInteger(end - start),
    status_code: STATUS_NAMES[span.status.code],
    status_message: span.status.message ?? '',
    trace_state: context.traceState?.serialize() ?? '',
    flags,
    attributes: { ...span.attributes },
    resource: { ...span.resource.attributes },
    scope: { name: span.instrumentationScope.name, version: span.instrumentationScope.version },
    events: span.events.map((event) => ({
      time_unix_nano: jsonInteger(hrTimeToNanos(event.time)),
      name: event.name,
      attributes: { ...(event.attributes ?? {}) },
    })),
    links: span.links.map((link) => ({
      trace_id: link.context.traceId,
      span_id: link.context.spanId,
      trace_state: link.context.traceState?.serialize() ?? '',
      attributes: { ...(link.attributes ?? {}) },
    })),
    dropped_attributes_count: 0,
    dropped_events_count: 0,
    dropped_links_count: 0,
  };
}

function exportSpans(exporter, spans) {
  return new Promise((resolve) => exporter.export(spans, resolve));
}

/** Records the cart trace, exports it, returns the sent spans and the stored traces by id. */
async function exportAndFetch(exporter, serviceName, remoteParent) {
  const { provider, captured } = makeProvider(serviceName);
  recordCartTrace(provider, remoteParent);
  const sent = captured.getFinishedSpans();
  assert.equal(sent.length, 5);
  try {
    const result = await exportSpans(exporter, sent);
    assert.equal(result.code, EXPORT_SUCCESS, `export failed: ${result.error}`);
  } finally {
    await exporter.shutdown();
    await provider.shutdown();
  }
  const spansByTrace = new Map();
  for (const span of sent) {
    const traceId = span.spanContext().traceId;
    spansByTrace.set(traceId, [...(spansByTrace.get(traceId) ?? []), span]);
  }
  const stored = new Map();
  for (const [traceId, spans] of spansByTrace) {
    stored.set(traceId, await tracehouse.waitForTrace(traceId, spans.length));
  }
  return { sent, stored };
}

function assertStoredAsSent(sent, stored) {
  for (const [traceId, trace] of stored) {
    assert.equal(trace.trace_id, traceId);
    const spansOfTrace = sent.filter((span) => span.spanContext().traceId === traceId);
    assert.equal(trace.spans.length, spansOfTrace.length);
    const storedBySpanId = new Map(trace.spans.map((span) => [span.span_id, span]));
    for (const span of spansOfTrace) {
      const expected = expectedSpan(span);
      assert.deepEqual(storedBySpanId.get(expected.span_id), expected);
    }
    // The API returns a trace oldest first.
    const startTimes = trace.spans.map((span) => BigInt(span.start_time_unix_nano));
    assert.deepEqual(startTimes, [...startTimes].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
  }
}

/** A few literal values, so a shared mistake in expectedSpan cannot hide. */
function assertSpotChecks(stored, serviceName, remoteParent) {
  const byName = new Map();
  for (const trace of stored.values()) for (const span of trace.spans) byName.set(span.name, span);
  const root = byName.get('POST /carts/{id}');
  assert.equal(root.parent_span_id, '');
  assert.equal(root.kind, 'server');
  assert.equal(root.service, serviceName);
  assert.equal(root.resource['service.name'], serviceName);
  assert.equal(root.resource['telemetry.sdk.language'], 'nodejs');
  assert.deepEqual(root.resource['cloud.region.weights'], [0.25, 0.75]);
  assert.equal(root.duration_ns, 5_000_000);
  assert.equal(root.status_code, 'error');
  assert.equal(root.status_message, 'inventory timed out');
  assert.equal(root.flags, 0x101);
  assert.equal(root.attributes['int.max_safe'], 9007199254740991);
  assert.equal(root.attributes['double.pi'], 3.141592653589793);
  assert.deepEqual(root.attributes['array.ints'], [1, -2, 1099511627776]);
  assert.deepEqual(root.scope, { name: SCOPE_NAME, version: SCOPE_VERSION });
  assert.deepEqual(root.events.map((event) => event.name), ['exception', 'request.end']);
  assert.deepEqual(root.events[0].attributes['retry.backoff'], [0.1, 0.2]);
  assert.equal(BigInt(root.events[0].time_unix_nano) - BigInt(root.start_time_unix_nano), 4_000_000n);

  const call = byName.get('GET inventory');
  assert.equal(call.parent_span_id, root.span_id);
  assert.equal(call.trace_id, root.trace_id);
  assert.deepEqual([call.kind, call.status_code, call.duration_ns], ['client', 'ok', 2_999_001]);
  const parse = byName.get('parse body');
  assert.deepEqual([parse.parent_span_id, parse.kind, parse.status_code, parse.duration_ns], [call.span_id, 'internal', 'unset', 999]);

  const publish = byName.get('carts publish');
  const consume = byName.get('carts process');
  assert.equal(publish.kind, 'producer');
  assert.equal(consume.kind, 'consumer');
  assert.equal(consume.trace_id, remoteParent.traceId);
  assert.equal(consume.parent_span_id, remoteParent.spanId);
  assert.equal(consume.trace_state, 'tenant=acme,rojo=00f067aa0ba902b7');
  assert.equal(consume.flags, 0x301);
  assert.deepEqual(consume.links, [
    { trace_id: root.trace_id, span_id: publish.span_id, trace_state: '', attributes: { 'messaging.message.id': 'm-1', 'link.index': 0 } },
    {
      trace_id: '0af7651916cd43dd8448eb211c80319c',
      span_id: 'b7ad6b7169203331',
      trace_state: 'congo=t61rcWkgMzE',
      attributes: { 'messaging.message.id': 'm-2', 'link.weights': [1, 2, 3] },
    },
  ]);
}

const TRANSPORTS = [
  {
    name: 'OTLP/HTTP JSON',
    service: 'cart-http-json',
    makeExporter: () => new JsonHttpExporter({ url: `${tracehouse.otlpHttpUrl}/v1/traces`, timeoutMillis: 10_000 }),
    transport: 'http',
  },
  {
    name: 'OTLP/HTTP protobuf with gzip',
    service: 'cart-http-protobuf-gzip',
    makeExporter: () =>
      new ProtoHttpExporter({ url: `${tracehouse.otlpHttpUrl}/v1/traces`, compression: 'gzip', timeoutMillis: 10_000 }),
    transport: 'http',
  },
  {
    name: 'OTLP/gRPC with gzip',
    service: 'cart-grpc-gzip',
    makeExporter: () => new GrpcExporter({ url: tracehouse.otlpGrpcUrl, compression: 'gzip', timeoutMillis: 10_000 }),
    transport: 'grpc',
  },
];

for (const { name, service, makeExporter } of TRANSPORTS) {
  test(`spans exported over ${name} come back field by field`, async () => {
    const remoteParent = newRemoteParent();
    const { sent, stored } = await exportAndFetch(makeExporter(), service, remoteParent);
    assert.equal(stored.size, 2);
    assertStoredAsSent(sent, stored);
    assertSpotChecks(stored, service, remoteParent);
  });
}

test('/metrics counts what the SDK sent over each transport', async () => {
  const before = await tracehouse.metrics();
  const increase = async (sample) => ((await tracehouse.metrics())[sample] ?? 0) - (before[sample] ?? 0);

  let spanCount = 0;
  const requestsByTransport = { http: 0, grpc: 0 };
  for (const { service, makeExporter, transport } of TRANSPORTS) {
    const { sent } = await exportAndFetch(makeExporter(), `metrics-${service}`, newRemoteParent());
    spanCount += sent.length;
    requestsByTransport[transport] += 1;
  }

  assert.equal(await increase('tracehouse_received_items_total{signal="traces"}'), spanCount);
  assert.equal(await increase('tracehouse_accepted_items_total{signal="traces"}'), spanCount);
  assert.equal(
    await increase('tracehouse_otlp_requests_total{signal="traces",transport="http",outcome="ok"}'),
    requestsByTransport.http,
  );
  assert.equal(
    await increase('tracehouse_otlp_requests_total{signal="traces",transport="grpc",outcome="ok"}'),
    requestsByTransport.grpc,
  );
  const after = await tracehouse.metrics();
  for (const [sample, value] of Object.entries(after)) {
    if (sample.startsWith('tracehouse_rejected_items_total')) assert.equal(value, before[sample] ?? 0, sample);
  }
  // The rows are readable, so they were written; the counter is bumped right
  // after the insert returns, hence the short poll before asserting.
  const written = 'tracehouse_writer_rows_written_total{table="spans"}';
  const deadline = Date.now() + 20_000;
  while ((await increase(written)) < spanCount && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  assert.equal(await increase(written), spanCount);
});
