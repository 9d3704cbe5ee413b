'use strict';
// The guide docs/sending-data.md, run as printed: its Node.js snippet, with
// each of its variable blocks (OTLP/gRPC and OTLP/HTTP), against a real
// Tracehouse. The guide is read here, so a snippet that drifts from what runs
// fails this test.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { execFile } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { promisify } = require('node:util');
const { startTracehouse } = require('./tracehouse');

const GUIDE = path.resolve(__dirname, '../../../docs/sending-data.md');
const WAIT_MS = 30_000;

/** The fenced block after `<!-- tested: NAME -->`. */
function guideBlock(name) {
  const text = fs.readFileSync(GUIDE, 'utf8');
  const marker = `<!-- tested: ${name} -->\n`;
  const start = text.indexOf(marker);
  assert.notEqual(start, -1, `no block ${name} in ${GUIDE}`);
  const fenced = text.slice(start + marker.length);
  const body = fenced.slice(fenced.indexOf('\n') + 1);
  return body.slice(0, body.indexOf('```'));
}

function guideVariables(name) {
  const variables = {};
  for (const line of guideBlock(name).split('\n')) {
    if (!line.startsWith('export ')) continue;
    const pair = line.slice('export '.length);
    const equals = pair.indexOf('=');
    variables[pair.slice(0, equals)] = pair.slice(equals + 1);
  }
  return variables;
}

let tracehouse;
before(async () => { tracehouse = await startTracehouse(); });
after(async () => {
  const code = await tracehouse.stop();
  tracehouse.removeData();
  assert.equal(code, 0, 'tracehouse exits cleanly after SIGTERM');
});

/** `create-order` as the function list shows it (zeros when absent). */
async function createOrder() {
  const { status, text } = await tracehouse.get('/api/v1/functions?from=now-1h');
  assert.equal(status, 200, text);
  const listed = JSON.parse(text).functions.find((f) => f.function === 'create-order');
  return listed ?? { invocations: 0, cold_starts: 0 };
}

for (const [block, defaultPort] of [['env-grpc', 4317], ['env-http', 4318]]) {
  test(`the Node.js snippet sends two invocations (${block})`, async () => {
    const variables = guideVariables(block);
    assert.equal(variables.OTEL_EXPORTER_OTLP_ENDPOINT, `http://127.0.0.1:${defaultPort}`);
    const listener = defaultPort === 4317 ? tracehouse.otlpGrpcUrl : tracehouse.otlpHttpUrl;
    variables.OTEL_EXPORTER_OTLP_ENDPOINT = listener.replace(/\/$/, '');
    const environment = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('OTEL_')));
    const before = await createOrder();

    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sending-data-'));
    const app = path.join(dir, 'app.js');
    fs.writeFileSync(app, guideBlock('node'));
    // The snippet's require()s resolve from this suite's installed packages.
    const env = { ...environment, ...variables, NODE_PATH: path.join(__dirname, 'node_modules') };
    await promisify(execFile)(process.execPath, [app], { env, timeout: 60_000 });
    fs.rmSync(dir, { recursive: true, force: true });

    const deadline = Date.now() + WAIT_MS;
    let current = await createOrder();
    while (current.invocations < before.invocations + 2) {
      assert.ok(Date.now() < deadline, `create-order did not gain two invocations: ${JSON.stringify(current)}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
      current = await createOrder();
    }
    assert.equal(current.invocations, before.invocations + 2);
    assert.equal(current.cold_starts, before.cold_starts + 1);
    assert.deepEqual([current.service, current.provider, current.region], ['create-order', 'aws', 'eu-west-1']);
    assert.deepEqual([current.arch, current.memory_mb], ['arm64', 512]);
    assert.ok(current.cost_usd > 0, JSON.stringify(current));
  });
}
