'use strict';
// One `tracehouse serve` process for the Node.js end-to-end test: the real
// binary in managed mode, in a throwaway data directory on free ports,
// stopped with SIGTERM and expected to exit cleanly.

const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const readline = require('node:readline');
const { setTimeout: sleep } = require('node:timers/promises');

const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');
// Managed ClickHouse 18.16 can take a while to start on a busy 2-core machine.
const STARTUP_TIMEOUT_MS = 180_000;
const SHUTDOWN_TIMEOUT_MS = 120_000;
// Batches flush within about a second; this bound only guards against hangs.
const TRACE_WAIT_MS = 20_000;
const POLL_INTERVAL_MS = 200;
const LISTENER_NAMES = ['dashboard', 'otlp-grpc', 'otlp-http', 'clickhouse'];

function tracehouseBinary() {
  const configured = process.env.TRACEHOUSE_BIN;
  const binary = configured
    ? path.resolve(REPO_ROOT, configured)
    : path.join(REPO_ROOT, 'target', 'debug', 'tracehouse');
  if (!fs.existsSync(binary)) {
    throw new Error(
      `tracehouse binary not found at ${binary}: build it with ` +
        '`cargo build -p tracehouse --bin tracehouse` or set TRACEHOUSE_BIN',
    );
  }
  return binary;
}

/** The caller's environment without settings that would change what is tested. */
function childEnvironment() {
  const environment = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!name.startsWith('TRACEHOUSE_') && !name.startsWith('OTEL_')) environment[name] = value;
  }
  environment.RUST_LOG ??= 'info';
  // Plain text in the log file, which is read back on failures.
  environment.NO_COLOR = '1';
  return environment;
}

/**
 * Parses JSON, turning integers beyond Number's exact range into BigInt so
 * that nanosecond timestamps and 64-bit attributes keep every digit.
 */
function parseJsonExact(text) {
  const marker = '\u0000bigint:';
  let rewritten = '';
  let index = 0;
  const integer = /-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
  while (index < text.length) {
    const character = text[index];
    if (character === '"') {
      // Copy a whole string literal, escapes included.
      let end = index + 1;
      while (text[end] !== '"') end += text[end] === '\\' ? 2 : 1;
      rewritten += text.slice(index, end + 1);
      index = end + 1;
      continue;
    }
    integer.lastIndex = index;
    const match = integer.exec(text);
    if (match) {
      const token = match[0];
      const isInteger = /^-?\d+$/.test(token);
      rewritten += isInteger && !Number.isSafeInteger(Number(token)) ? JSON.stringify(marker + token) : token;
      index += token.length;
      continue;
    }
    rewritten += character;
    index += 1;
  }
  return JSON.parse(rewritten, (_key, value) =>
    typeof value === 'string' && value.startsWith(marker) ? BigInt(value.slice(marker.length)) : value,
  );
}

class Tracehouse {
  constructor(workDir, extraArgs = []) {
    this.workDir = workDir;
    this.dataDir = path.join(workDir, 'data');
    this.logPath = path.join(workDir, 'tracehouse.log');
    this.urls = {};
    this.exited = null;
    const log = fs.openSync(this.logPath, 'w');
    this.child = spawn(
      tracehouseBinary(),
      [
        'serve',
        '--data-dir', this.dataDir,
        '--http-addr', '127.0.0.1:0',
        '--otlp-grpc-addr', '127.0.0.1:0',
        '--otlp-http-addr', '127.0.0.1:0',
        ...extraArgs,
      ],
      { stdio: ['ignore', 'pipe', log], env: childEnvironment() },
    );
    fs.closeSync(log);
    this.exitPromise = new Promise((resolve) => {
      this.child.on('exit', (code, signal) => {
        this.exited = { code, signal };
        resolve(this.exited);
      });
    });
    // Keep reading stdout so the child never blocks on a full pipe.
    readline.createInterface({ input: this.child.stdout }).on('line', (line) => {
      const [word, name, url] = line.split(' ');
      if (word === 'listening' && name && url) this.urls[name] = url;
    });
  }

  async waitUntilReady() {
    const deadline = Date.now() + STARTUP_TIMEOUT_MS;
    while (!LISTENER_NAMES.every((name) => name in this.urls)) {
      if (this.exited) throw new Error(`tracehouse exited before listening: ${JSON.stringify(this.exited)}\n${this.logTail()}`);
      if (Date.now() > deadline) throw new Error(`tracehouse printed no listening lines in time\n${this.logTail()}`);
      await sleep(POLL_INTERVAL_MS);
    }
    for (;;) {
      const { status } = await this.get('/readyz');
      if (status === 200) return;
      if (Date.now() > deadline) throw new Error(`/readyz answered ${status} until the deadline\n${this.logTail()}`);
      await sleep(POLL_INTERVAL_MS);
    }
  }

  get dashboardUrl() { return this.urls.dashboard; }
  get otlpGrpcUrl() { return this.urls['otlp-grpc']; }
  get otlpHttpUrl() { return this.urls['otlp-http']; }

  /** GET a path of the dashboard listener: status and body text, errors included. */
  async get(pathname) {
    const response = await fetch(new URL(pathname, this.dashboardUrl));
    return { status: response.status, text: await response.text() };
  }

  /** The trace once it has `spanCount` spans; 404s are expected until the batch is written. */
  async waitForTrace(traceId, spanCount) {
    const deadline = Date.now() + TRACE_WAIT_MS;
    for (;;) {
      const { status, text } = await this.get(`/api/v1/traces/${traceId}`);
      if (status === 200) {
        const trace = parseJsonExact(text);
        if (trace.spans.length >= spanCount) return trace;
      } else if (status !== 404) {
        throw new Error(`GET trace ${traceId} answered ${status}: ${text}`);
      }
      if (Date.now() > deadline) throw new Error(`trace ${traceId} did not reach ${spanCount} spans: ${status} ${text}`);
      await sleep(POLL_INTERVAL_MS);
    }
  }

  /** Every sample of `/metrics`, keyed by name with labels as printed. */
  async metrics() {
    const { status, text } = await this.get('/metrics');
    if (status !== 200) throw new Error(`/metrics answered ${status}`);
    const samples = {};
    for (const line of text.split('\n')) {
      if (!line || line.startsWith('#')) continue;
      const space = line.lastIndexOf(' ');
      samples[line.slice(0, space)] = Number(line.slice(space + 1));
    }
    return samples;
  }

  /** The single number `sql` answers on the managed ClickHouse (database `tracehouse`). */
  async clickhouseCount(sql) {
    const url = new URL('/?database=tracehouse', this.urls.clickhouse);
    // The managed server has no password-less user: read as its read-only one.
    const headers = {
      'X-ClickHouse-User': 'tracehouse_reader',
      'X-ClickHouse-Key': this.clickhousePassword('tracehouse_reader'),
    };
    const response = await fetch(url, { method: 'POST', body: sql, headers });
    const text = await response.text();
    if (!response.ok) throw new Error(`clickhouse answered ${response.status}: ${text}`);
    return Number(text.trim() || 0);
  }

  /** `user`'s password, from the managed server's credentials file. */
  clickhousePassword(user) {
    const credentials = fs.readFileSync(path.join(this.dataDir, 'clickhouse', 'credentials'), 'utf8');
    for (const line of credentials.split('\n')) {
      const [name, ...rest] = line.split('=');
      if (name === user) return rest.join('=').trim();
    }
    throw new Error(`no ${user} in the credentials file`);
  }

  logTail(lines = 40) {
    const text = fs.readFileSync(this.logPath, 'utf8').split('\n');
    return ['--- tracehouse stderr (tail) ---', ...text.slice(-lines)].join('\n');
  }

  /** Deletes the data directory (ClickHouse's files) once the process has stopped. */
  removeData() {
    fs.rmSync(this.dataDir, { recursive: true, force: true });
  }

  /** SIGTERM and wait for the process to exit; returns its exit code. */
  async stop() {
    if (!this.exited) {
      this.child.kill('SIGTERM');
      // Unreferenced, so a pending timer does not keep the test process alive.
      const timeout = sleep(SHUTDOWN_TIMEOUT_MS, null, { ref: false });
      const exited = await Promise.race([this.exitPromise, timeout]);
      if (!exited) {
        this.child.kill('SIGKILL');
        await this.exitPromise;
        throw new Error(`tracehouse did not stop within ${SHUTDOWN_TIMEOUT_MS} ms of SIGTERM`);
      }
    }
    return this.exited.code;
  }
}

/**
 * Starts the binary in a new directory (under $TRACEHOUSE_E2E_ARTIFACTS when
 * set, so its log lands beside the other artifacts) and waits until it is ready.
 * `extraArgs` go to `serve`, and so do the arguments `prepare(workDir)` returns.
 */
async function startTracehouse({ extraArgs = [], prepare } = {}) {
  const parent = process.env.TRACEHOUSE_E2E_ARTIFACTS || os.tmpdir();
  const workDir = fs.mkdtempSync(path.join(parent, 'tracehouse-node-'));
  // `prepare` writes files the arguments name (a configuration file) into the work dir.
  const args = prepare ? [...extraArgs, ...prepare(workDir)] : extraArgs;
  const server = new Tracehouse(workDir, args);
  try {
    await server.waitUntilReady();
  } catch (error) {
    await server.stop().catch(() => {});
    throw error;
  }
  return server;
}

module.exports = { startTracehouse, parseJsonExact };
