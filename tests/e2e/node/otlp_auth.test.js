'use strict';
// The OpenTelemetry JS SDK authenticates with an ingest token set only
// through OTEL_EXPORTER_OTLP_HEADERS, over OTLP/gRPC and OTLP/HTTP: its
// spans land in the token's project. With a wrong token the export fails
// and nothing is stored. Each export runs in a child Node.js process whose
// exporter is built without options, so endpoint and headers come from the
// environment exactly as in a deployed function.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { execFile } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const { setTimeout: sleep } = require('node:timers/promises');
const { startTracehouse } = require('./tracehouse');

const PAYMENTS_TOKEN = `thi_${crypto.randomBytes(32).toString('hex')}`;
const SEARCH_TOKEN = `thi_${crypto.randomBytes(32).toString('hex')}`;

function tokenEntry(project, token) {
  const digest = crypto.createHash('sha256').update(token).digest('hex');
  return `[[auth.ingest_tokens]]\nproject = "${project}"\ntoken_sha256 = "${digest}"\n\n`;
}

let tracehouse;

before(async () => {
  tracehouse = await startTracehouse({
    prepare: (workDir) => {
      const config = path.join(workDir, 'tracehouse.toml');
      fs.writeFileSync(config, tokenEntry('payments', PAYMENTS_TOKEN) + tokenEntry('search', SEARCH_TOKEN));
      return ['--config', config];
    },
  });
});

after(async () => {
  const code = await tracehouse.stop();
  assert.equal(code, 0, `tracehouse exited with ${code}\n${tracehouse.logTail()}`);
  tracehouse.removeData();
});

function exportFromEnv(transport, headers) {
  const environment = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!name.startsWith('OTEL_')) environment[name] = value;
  }
  Object.assign(environment, {
    OTEL_SERVICE_NAME: 'checkout',
    OTEL_EXPORTER_OTLP_ENDPOINT: transport === 'grpc' ? tracehouse.otlpGrpcUrl : tracehouse.otlpHttpUrl,
    OTEL_EXPORTER_OTLP_HEADERS: headers,
    OTEL_EXPORTER_OTLP_TIMEOUT: '5000',
  });
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [path.join(__dirname, 'export_from_env.js'), transport], { env: environment, timeout: 120_000 },
      (error, stdout, stderr) => {
        if (error) return reject(new Error(`${error.message}\n${stderr}`));
        const lines = stdout.trim().split('\n');
        return resolve(JSON.parse(lines[lines.length - 1]));
      });
  });
}

function spansIn(project, traceId) {
  const projectFilter = project === null ? '' : ` AND project = '${project}'`;
  return tracehouse.clickhouseCount(`SELECT count() FROM spans WHERE trace_id = unhex('${traceId}')${projectFilter}`);
}

async function waitForSpan(project, traceId) {
  const deadline = Date.now() + 20_000;
  while ((await spansIn(project, traceId)) < 1) {
    if (Date.now() > deadline) throw new Error(`trace ${traceId} not stored in ${project}\n${tracehouse.logTail()}`);
    await sleep(200);
  }
}

// Both header forms a deployment may use: a bearer token (the space
// percent-encoded, as the OTLP exporter specification writes it) and the
// custom header for exporters that cannot set Authorization.
const CASES = [
  ['grpc', 'payments', () => `x-tracehouse-token=${PAYMENTS_TOKEN}`],
  ['grpc', 'search', () => `authorization=Bearer%20${SEARCH_TOKEN}`],
  ['http', 'payments', () => `authorization=Bearer%20${PAYMENTS_TOKEN}`],
  ['http', 'search', () => `x-tracehouse-token=${SEARCH_TOKEN}`],
];

for (const [transport, project, headers] of CASES) {
  test(`a token from OTEL_EXPORTER_OTLP_HEADERS writes into ${project} over ${transport}`, async () => {
    const sent = await exportFromEnv(transport, headers());
    assert.ok(sent.exported, JSON.stringify(sent));
    await waitForSpan(project, sent.trace_id);
    assert.equal(await spansIn(null, sent.trace_id), await spansIn(project, sent.trace_id));
  });
}

for (const transport of ['grpc', 'http']) {
  test(`a wrong token fails over ${transport} and stores nothing`, async () => {
    const refused = await exportFromEnv(transport, 'authorization=Bearer%20thi_wrong');
    assert.equal(refused.exported, false, JSON.stringify(refused));
    // A valid export after the refused one: once it is stored, the refused one would have been too.
    const accepted = await exportFromEnv(transport, `x-tracehouse-token=${PAYMENTS_TOKEN}`);
    assert.ok(accepted.exported, JSON.stringify(accepted));
    await waitForSpan('payments', accepted.trace_id);
    assert.equal(await spansIn(null, refused.trace_id), 0);
    const samples = await tracehouse.metrics();
    const label = `tracehouse_otlp_requests_total{signal="traces",transport="${transport}",outcome="unauthenticated"}`;
    assert.ok((samples[label] ?? 0) >= 1, `${label}: ${samples[label]}`);
  });
}
