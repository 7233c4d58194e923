// Shared helpers for the black-box integration and end-to-end tests.
//
// Every process is started on 127.0.0.1 with --port 0; the chosen port is read back from the
// "listening on http://HOST:PORT" log line. Nothing here sleeps to wait: conditions are polled
// against a deadline (waitFor). Every spawned process is tracked and killed on exit as a last
// resort; tests should still call stop() (normally through t.after / after hooks).

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const DEFAULT_BINARY = path.resolve(here, '..', '..', 'build', 'apps', 'llm-gateway', 'llm-gateway');
const LISTENING = /listening on (https?):\/\/[^:]+:(\d+)/;
const READY_TIMEOUT_MS = 10_000;

/** Path of the llm-gateway binary under test. */
export function binary() {
  return process.env.LLM_GATEWAY_BIN || DEFAULT_BINARY;
}

/**
 * A clean environment for a child: PATH, HOME and the sanitizer options only, plus `extra`.
 * A value of `undefined` in `extra` removes the variable.
 */
export function cleanEnv(extra = {}) {
  const env = {};
  for (const name of ['PATH', 'HOME', 'ASAN_OPTIONS', 'UBSAN_OPTIONS', 'LSAN_OPTIONS', 'TSAN_OPTIONS']) {
    if (process.env[name] !== undefined) env[name] = process.env[name];
  }
  for (const [name, value] of Object.entries(extra)) {
    if (value === undefined) delete env[name];
    else env[name] = String(value);
  }
  return env;
}

const tempDirs = [];
/** A fresh, empty temporary directory (removed when the test process exits). */
export function tmpDir(prefix = 'llm-gateway-test-') {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  tempDirs.push(dir);
  return dir;
}

const live = new Set();
// If the test process itself is interrupted (ctest timeout, Ctrl-C), take the children along.
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.once(sig, () => {
    for (const child of live) {
      try {
        child.kill('SIGKILL');
      } catch {
        // already gone
      }
    }
    process.exit(128 + (sig === 'SIGINT' ? 2 : 15));
  });
}
process.on('exit', () => {
  for (const child of live) {
    try {
      child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
  for (const dir of tempDirs) {
    try {
      fs.rmSync(dir, { recursive: true, force: true });
    } catch {
      // best effort
    }
  }
});

/**
 * Polls `fn` every `interval` ms until it returns a truthy value (which is returned) or the
 * deadline passes (then throws, with `message` and the last value/error). `fn` may be async.
 */
export async function waitFor(fn, { timeout = 5000, interval = 15, message = 'condition' } = {}) {
  const deadline = Date.now() + timeout;
  let last;
  let lastError;
  for (;;) {
    try {
      last = await fn();
      lastError = undefined;
      if (last) return last;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) {
      const detail = lastError ? `last error: ${lastError.stack || lastError}` : `last value: ${JSON.stringify(last)}`;
      throw new Error(`timed out after ${timeout} ms waiting for ${message} (${detail})`);
    }
    await new Promise((resolve) => setTimeout(resolve, interval));
  }
}

/** Resolves with {code, signal} once `child` has exited (immediately if it already has). */
function exited(child) {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  }
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

const SANITIZER = /^.*((ERROR|WARNING): (Address|Leak|Thread|Memory)Sanitizer|runtime error:|SUMMARY: (Address|Leak|Undefined|Thread)\w*Sanitizer).*$/m;

/** The first lines of a sanitizer report in `output`, or null. */
export function sanitizerReport(output) {
  const m = SANITIZER.exec(output);
  if (!m) return null;
  return output.slice(m.index, m.index + 4000);
}

/**
 * Spawns `llm-gateway ...args` and waits for its "listening on" line. `wrapper`: a command line
 * that runs it (e.g. valgrind and its flags; the process keeps its pid under valgrind).
 * Returns {port, url, proc, output(), waitForOutput(re), exited, stop()}.
 */
export async function startProcess(args, env = {}, { cwd, wrapper = [] } = {}) {
  const dir = cwd ?? tmpDir();
  const command = [...wrapper, binary(), ...args];
  const proc = spawn(command[0], command.slice(1), { cwd: dir, env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(proc);
  let out = '';
  proc.stdout.setEncoding('utf8');
  proc.stderr.setEncoding('utf8');
  proc.stdout.on('data', (chunk) => (out += chunk));
  proc.stderr.on('data', (chunk) => (out += chunk));
  // 'close', not 'exit': the output is complete only once stdio has closed (a sanitizer's report,
  // the last log line), which may come after the process exited.
  const exitPromise = new Promise((resolve) =>
    proc.once('close', (code, signal) => {
      live.delete(proc);
      resolve({ code, signal });
    }),
  );
  const spawnError = new Promise((resolve) => proc.once('error', resolve));

  let scheme = 'http';
  const port = await new Promise((resolve, reject) => {
    const describe = () => `${binary()} ${args.join(' ')}\n--- output ---\n${out}`;
    const timer = setTimeout(() => {
      cleanup();
      proc.kill('SIGKILL');
      reject(new Error(`not listening after ${READY_TIMEOUT_MS} ms: ${describe()}`));
    }, READY_TIMEOUT_MS);
    const onData = () => {
      const m = LISTENING.exec(out);
      if (m) {
        cleanup();
        scheme = m[1];
        resolve(Number(m[2]));
      }
    };
    const cleanup = () => {
      clearTimeout(timer);
      proc.stdout.off('data', onData);
      proc.stderr.off('data', onData);
    };
    proc.stdout.on('data', onData);
    proc.stderr.on('data', onData);
    exitPromise.then(({ code, signal }) => {
      cleanup();
      reject(new Error(`exited (code ${code}, signal ${signal}) before listening: ${describe()}`));
    });
    spawnError.then((err) => {
      cleanup();
      reject(new Error(`cannot spawn ${binary()}: ${err.message}`));
    });
  });

  let stopping;
  const handle = {
    port,
    url: `${scheme}://127.0.0.1:${port}`,
    proc,
    cwd: dir,
    exited: exitPromise,
    /** Everything the process printed so far (stdout and stderr interleaved). */
    output: () => out,
    /** Polls the output until `re` matches; returns the match. */
    waitForOutput: (re, opts = {}) =>
      waitFor(() => re.exec(out), { message: `output matching ${re}`, ...opts }).catch((err) => {
        throw new Error(`${err.message}\n--- output ---\n${out}`);
      }),
    /**
     * SIGTERM, then SIGKILL if the process has not exited after `graceMs`. Resolves with
     * {code, signal}; rejects if the process printed a sanitizer report (ASan/UBSan/LSan builds),
     * so a t.after(() => x.stop()) hook fails the test.
     */
    stop: (graceMs = 5000) => {
      if (!stopping) {
        stopping = (async () => {
          let result;
          let graceful = false;
          if (proc.exitCode !== null || proc.signalCode !== null) result = await exitPromise;
          else {
            graceful = true;
            proc.kill('SIGTERM');
            const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
            result = await exitPromise;
            clearTimeout(timer);
          }
          const report = sanitizerReport(out);
          if (report) throw new Error(`sanitizer report from ${args.join(' ')}:\n${report}`);
          // A SIGTERM must end in a clean exit within the grace; a process that ended before
          // stop() may have been killed by the test, but never by a crash.
          const crashed = result.signal !== null && !['SIGKILL', 'SIGTERM'].includes(result.signal);
          if (crashed || (graceful && (result.code !== 0 || result.signal !== null))) {
            throw new Error(`${args[0]} did not exit cleanly (code ${result.code}, signal ${result.signal}):\n${out.slice(-4000)}`);
          }
          return result;
        })();
      }
      return stopping;
    },
  };
  return handle;
}

/**
 * I/O threads per gateway, controller and worker process: GW_TEST_THREADS (ctest runs part of the
 * suite a second time with 2, as the product runs by default on a multi-core machine), else 1.
 */
export function testThreads() {
  return process.env.GW_TEST_THREADS ?? '1';
}

/** Starts `llm-gateway mock-backend` on an ephemeral loopback port. */
export function startMock(flags = [], env = {}, opts = {}) {
  return startProcess(['mock-backend', '--host', '127.0.0.1', '--port', '0', ...flags], env, opts);
}

/**
 * Starts `llm-gateway server` on an ephemeral loopback port with testThreads() I/O threads and a
 * short drain timeout (so stop() is quick even with requests in flight). `opts.cwd` defaults to a fresh empty
 * directory; `opts.listenFlags: false` omits --host/--port (the test then sets HOST/PORT itself).
 */
export function startGateway(flags = [], env = {}, { cwd, listenFlags = true, wrapper } = {}) {
  const defaults = [];
  if (listenFlags) defaults.push('--host', '127.0.0.1', '--port', '0');
  if (!flags.includes('--threads')) defaults.push('--threads', testThreads());
  if (!flags.includes('--drain-timeout')) defaults.push('--drain-timeout', '1');
  return startProcess(['server', ...defaults, ...flags], env, { cwd, wrapper });
}

/**
 * Starts `llm-gateway controller` on an ephemeral port of 127.0.0.1 (or `opts.host`, `opts.port`), testThreads()
 * I/O threads, with health checks fast enough for tests (override with flags).
 */
export function startController(flags = [], env = {}, { port = 0, host = '127.0.0.1', cwd, wrapper } = {}) {
  const args = ['controller', '--host', host, '--port', String(port)];
  addDefaults(args, flags, {
    '--threads': testThreads(),
    '--drain-timeout': '2',
    '--heartbeat-timeout': '1.5',
    '--heartbeat-check-interval': '0.2',
  });
  return startProcess([...args, ...flags], env, { cwd, wrapper });
}

/** Appends each `defaults` flag (with its value) to `args` unless `flags` already sets it. */
function addDefaults(args, flags, defaults) {
  for (const [flag, value] of Object.entries(defaults)) {
    if (!flags.includes(flag)) args.push(flag, value);
  }
}

/**
 * Starts `llm-gateway worker` for `model` in front of `backend` (a started mock or a URL),
 * registered with `controller` (a started controller or a URL), on an ephemeral loopback port,
 * heartbeating every 0.2 s. Resolves once it is listening (registration follows at once; use
 * waitForWorkers to wait for it).
 */
export function startWorker({ id, model, backend, controller, flags = [], env = {}, wrapper }) {
  const url = (x) => (typeof x === 'string' ? x : x.url);
  const args = ['worker', '--host', '127.0.0.1', '--port', '0', '--worker-id', id, '--model-id', model,
    '--backend-url', url(backend), '--controller-url', url(controller)];
  addDefaults(args, flags, {
    '--threads': testThreads(),
    '--drain-timeout': '5',
    '--heartbeat-interval': '0.2',
    '--registry-retry-delay': '0.1',
  });
  return startProcess([...args, ...flags], env, { wrapper });
}

/**
 * Clients sending chat requests for `model` to `target` in a loop until stopped; each outcome
 * counted (tally), none asserted.
 */
export function backgroundTraffic(target, { clients = 4, model = 'llama3' } = {}) {
  // lastFailedSentAt: when the last failed request was sent (a request in flight when something
  // recovers may still fail after it).
  const tally = { sent: 0, ok: 0, failed: 0, statuses: {}, lastFailedSentAt: 0 };
  let stop = false;
  const loops = Array.from({ length: clients }, async () => {
    while (!stop) {
      tally.sent++;
      const sentAt = Date.now();
      const failed = () => {
        tally.failed++;
        tally.lastFailedSentAt = Math.max(tally.lastFailedSentAt, sentAt);
      };
      try {
        const res = await postChat(target, chatBody(model, `traffic ${tally.sent}`));
        await res.arrayBuffer();
        if (res.status === 200) tally.ok++;
        else {
          failed();
          tally.statuses[res.status] = (tally.statuses[res.status] ?? 0) + 1;
        }
      } catch {
        failed();
        tally.statuses.refused = (tally.statuses.refused ?? 0) + 1;
      }
    }
  });
  return { tally, stop: async () => { stop = true; await Promise.all(loops); } };
}

/** GET /internal/workers[?model_id=] of a controller: the `data` array. */
export async function listWorkers(controller, { model, headers = {} } = {}) {
  const query = model === undefined ? '' : `?model_id=${encodeURIComponent(model)}`;
  const res = await fetch(`${controller.url}/internal/workers${query}`, { headers });
  if (res.status !== 200) throw new Error(`/internal/workers answered ${res.status}: ${await res.text()}`);
  return (await res.json()).data;
}

/** Polls the controller until `predicate(workers)` holds; returns the worker list. */
export function waitForWorkers(controller, predicate, { timeout = 5000, headers = {}, message } = {}) {
  return waitFor(
    async () => {
      const workers = await listWorkers(controller, { headers });
      return predicate(workers) ? workers : false;
    },
    { timeout, message: message ?? 'worker list condition' },
  );
}

/** The worker with this id in a list from listWorkers, or undefined. */
export function workerById(workers, id) {
  return workers.find((w) => w.worker_id === id);
}

/**
 * GET /metrics of a process; returns {text, value(name, labels)} where value() is the sample of
 * that name whose labels include `labels` exactly (0 when there is none; throws when several match).
 */
export async function scrape(proc, { port } = {}) {
  const res = await fetch(`http://127.0.0.1:${port ?? proc.port}/metrics`);
  if (res.status !== 200) throw new Error(`/metrics answered ${res.status}`);
  assertContentType(res.headers.get('content-type'));
  const text = await res.text();
  const samples = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`unparsable metrics line: ${line}`);
    const labels = {};
    for (const [, k, v] of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[k] = v;
    samples.push({ name: m[1], labels, value: Number(m[3]) });
  }
  const value = (name, labels = {}) => {
    const found = samples.filter(
      (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
    );
    if (found.length > 1) throw new Error(`${found.length} samples of ${name} match ${JSON.stringify(labels)}`);
    return found.length === 0 ? 0 : found[0].value;
  };
  return { text, samples, value };
}

/**
 * /metrics once every request the process was serving has been counted: a scrape that sees no
 * request in flight but itself (each request's gauge is decremented after its other series), then
 * a fresh one. A finished response reaches the client a moment before the gateway counts it.
 */
export async function scrapeSettled(proc, opts = {}) {
  await waitFor(async () => (await scrape(proc, opts)).samples
    .filter((s) => s.name === 'llm_gateway_requests_in_flight' && s.labels.endpoint !== '/metrics')
    .every((s) => s.value === 0),
  { message: 'no request in flight' });
  return scrape(proc, opts);
}

function assertContentType(type) {
  if (!/^text\/plain; version=0\.0\.4/.test(type ?? '')) throw new Error(`/metrics content-type: ${type}`);
}

/** Runs `promtool check metrics` on an exposition; resolves with {code, output}. */
export function promtoolCheck(text) {
  return new Promise((resolve, reject) => {
    const child = spawn('promtool', ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, output }));
    child.stdin.end(text);
  });
}

/** Environment pointing the gateway's OpenAI provider at a running mock. */
export function mockProviderEnv(mock, extra = {}) {
  return { OPENAI_BASE_URL: `${mock.url}/v1`, OPENAI_API_KEY: 'sk-test-key', ...extra };
}

/** GET /mock/stats of a running mock, parsed. */
export async function mockStats(mock) {
  const res = await fetch(`${mock.url}/mock/stats`);
  if (res.status !== 200) throw new Error(`/mock/stats answered ${res.status}`);
  return res.json();
}

/** Polls the gateway's /v1/models until `id` is listed (the provider's list arrives in the background). */
export async function waitForModel(gateway, id, { timeout = 5000, headers = {} } = {}) {
  await waitFor(
    async () => {
      const res = await fetch(`${gateway.url}/v1/models`, { headers });
      if (res.status !== 200) return false;
      const body = await res.json();
      return body.data.some((m) => m.id === id);
    },
    { timeout, message: `model ${id} in ${gateway.url}/v1/models` },
  );
}

/** POST /v1/chat/completions with a JSON body (object or raw string). */
export function postChat(gateway, body, { headers = {}, signal } = {}) {
  return fetch(`${gateway.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
    signal,
  });
}

/** A chat request body with one user message. */
export function chatBody(model, content, extra = {}) {
  return { model, messages: [{ role: 'user', content }], ...extra };
}

/**
 * Reads an SSE response body to its end. Returns {events, error}: the `data:` payloads (strings)
 * in order, and the read failure if the body ended abnormally (e.g. a truncated chunked body).
 * Rejects if the body has not ended after `timeout` ms (a hanging stream is a failure).
 */
export async function collectSse(response, { timeout = 10_000 } = {}) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  const events = [];
  let buffer = '';
  const flush = (final) => {
    buffer = buffer.replace(/\r\n/g, '\n');
    let idx;
    while ((idx = buffer.indexOf('\n\n')) !== -1 || (final && buffer.length > 0)) {
      const block = idx === -1 ? buffer : buffer.slice(0, idx);
      buffer = idx === -1 ? '' : buffer.slice(idx + 2);
      const data = block
        .split('\n')
        .filter((line) => line.startsWith('data:'))
        .map((line) => line.slice(5).replace(/^ /, ''));
      if (data.length > 0) events.push(data.join('\n'));
    }
  };
  let timer;
  const deadline = new Promise((_, reject) => {
    timer = setTimeout(() => {
      reader.cancel().catch(() => {});
      reject(new Error(`SSE stream still open after ${timeout} ms; events so far: ${JSON.stringify(events)}`));
    }, timeout);
  });
  let error = null;
  try {
    await Promise.race([
      (async () => {
        try {
          for (;;) {
            const { done, value } = await reader.read();
            if (done) break;
            buffer += decoder.decode(value, { stream: true });
            flush(false);
          }
        } catch (err) {
          error = err;
        }
        buffer += decoder.decode();
        flush(true);
      })(),
      deadline,
    ]);
  } finally {
    clearTimeout(timer);
  }
  return { events, error };
}

/** Reads an SSE body to its end and returns the `data:` payloads; rejects on a read failure or hang. */
export async function readSse(response, opts) {
  const { events, error } = await collectSse(response, opts);
  if (error) {
    error.message += `; events so far: ${JSON.stringify(events)}`;
    throw error;
  }
  return events;
}

/**
 * Incremental SSE reader: `await next()` resolves with the next `data:` payload, or null once the
 * body has ended; it rejects if nothing arrives within `timeout` ms.
 */
export function sseReader(response) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  const queue = [];
  let buffer = '';
  let ended = false;
  const drain = () => {
    buffer = buffer.replace(/\r\n/g, '\n');
    let idx;
    while ((idx = buffer.indexOf('\n\n')) !== -1) {
      const block = buffer.slice(0, idx);
      buffer = buffer.slice(idx + 2);
      const data = block
        .split('\n')
        .filter((line) => line.startsWith('data:'))
        .map((line) => line.slice(5).replace(/^ /, ''));
      if (data.length > 0) queue.push(data.join('\n'));
    }
  };
  return {
    async next({ timeout = 5000 } = {}) {
      const deadline = Date.now() + timeout;
      while (queue.length === 0 && !ended) {
        const left = deadline - Date.now();
        let timer;
        const result = await Promise.race([
          reader.read(),
          new Promise((resolve) => (timer = setTimeout(() => resolve('timeout'), Math.max(left, 0)))),
        ]).finally(() => clearTimeout(timer));
        if (result === 'timeout') throw new Error(`no SSE event within ${timeout} ms`);
        if (result.done) ended = true;
        else {
          buffer += decoder.decode(result.value, { stream: true });
          drain();
        }
      }
      return queue.length > 0 ? queue.shift() : null;
    },
    cancel: () => reader.cancel().catch(() => {}),
  };
}

/** Parses the JSON payloads of SSE events, leaving "[DONE]" as the string. */
export function parseEvents(events) {
  return events.map((e) => (e === '[DONE]' ? e : JSON.parse(e)));
}

/** Concatenates the delta contents of parsed chat chunks. */
export function assembleContent(chunks) {
  return chunks
    .filter((c) => c !== '[DONE]' && Array.isArray(c.choices))
    .map((c) => c.choices.map((ch) => ch.delta?.content ?? '').join(''))
    .join('');
}

function parseRawResponse(buf) {
  const text = buf.toString('latin1');
  const end = text.indexOf('\r\n\r\n');
  if (end === -1) return null;
  const lines = text.slice(0, end).split('\r\n');
  const statusLine = lines[0];
  const m = /^HTTP\/\d\.\d (\d{3})/.exec(statusLine);
  const headers = {};
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  const rest = buf.subarray(Buffer.byteLength(text.slice(0, end + 4), 'latin1'));
  let complete = false;
  let body = rest;
  if (headers['content-length'] !== undefined) {
    const len = Number(headers['content-length']);
    complete = rest.length >= len;
    body = rest.subarray(0, len);
  } else if (/chunked/i.test(headers['transfer-encoding'] || '')) {
    complete = /(^|\r\n)0\r\n\r\n$/.test(rest.toString('latin1'));
  }
  return { statusLine, status: m ? Number(m[1]) : NaN, headers, body: body.toString('utf8'), complete };
}

/**
 * Sends `request` (string or Buffer, written as is) over a fresh TCP connection to 127.0.0.1:port
 * and returns the first response: {statusLine, status, headers, body, raw, closed}. Resolves once
 * a complete response (by content-length or chunked terminator) has arrived or the server closed
 * the connection; rejects after `timeout` ms with what was received.
 */
export function rawHttp(port, request, { timeout = 5000 } = {}) {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    let received = Buffer.alloc(0);
    let settled = false;
    const finish = (closed, err) => {
      if (settled) return;
      const parsed = parseRawResponse(received);
      if (!closed && !(parsed && parsed.complete)) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (!parsed) {
        reject(new Error(`no HTTP response (${err ? err.message : 'connection closed'}); received: ${JSON.stringify(received.toString('latin1'))}`));
        return;
      }
      resolve({ ...parsed, raw: received.toString('latin1'), closed });
    };
    const timer = setTimeout(() => {
      if (settled) return;
      settled = true;
      socket.destroy();
      reject(new Error(`no complete response after ${timeout} ms; received: ${JSON.stringify(received.toString('latin1'))}`));
    }, timeout);
    socket.on('connect', () => socket.write(request));
    socket.on('data', (chunk) => {
      received = Buffer.concat([received, chunk]);
      finish(false);
    });
    socket.on('end', () => finish(true));
    socket.on('close', () => finish(true));
    socket.on('error', (err) => finish(true, err));
  });
}

/**
 * A raw TCP connection to 127.0.0.1:port for connection-level tests. Resolves once connected.
 * Returns {socket, write(text), data(), closed(), closedAt(), waitClosed(opts), waitData(re, opts), destroy()}.
 */
export function rawConnect(port) {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    let data = '';
    let closedAt = null;
    socket.setEncoding('latin1');
    socket.on('data', (chunk) => (data += chunk));
    socket.on('error', () => {});
    socket.on('close', () => (closedAt = Date.now()));
    socket.once('connect', () => {
      socket.off('error', reject);
      resolve({
        socket,
        write: (text) => socket.write(text),
        data: () => data,
        closed: () => closedAt !== null,
        closedAt: () => closedAt,
        waitClosed: (opts = {}) =>
          waitFor(() => closedAt !== null, { message: `the server to close the connection (received ${JSON.stringify(data)})`, ...opts }),
        waitData: (re, opts = {}) => waitFor(() => re.exec(data), { message: `data matching ${re} (received ${JSON.stringify(data)})`, ...opts }),
        destroy: () => socket.destroy(),
      });
    });
    socket.once('error', reject);
  });
}

/** A loopback port that nothing listens on (bound, noted, then closed). */
export function closedPort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** A loopback server that accepts connections and holds them (never answers). */
export function occupiedPort() {
  return new Promise((resolve, reject) => {
    const sockets = new Set();
    const server = net.createServer((s) => {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {});
    });
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () =>
      resolve({
        port: server.address().port,
        close: () =>
          new Promise((r) => {
            for (const s of sockets) s.destroy();
            server.close(() => r());
          }),
      }),
    );
  });
}

/**
 * A loopback port whose handshakes never complete: a listener with a two-slot accept queue in a
 * stopped process, both slots taken, so the kernel drops every further SYN (a connect attempt
 * waits as it would for a host that does not answer).
 */
export async function unansweredPort() {
  const script = "require('net').createServer().listen({ port: 0, host: '127.0.0.1', backlog: 1 }, " +
    "function () { console.log(this.address().port); })";
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`listener exited with ${code}`)));
    child.stdout.once('data', (data) => resolve(Number(String(data).trim())));
  });
  child.kill('SIGSTOP');
  const fillers = [];
  for (let i = 0; i < 2; ++i) {
    const socket = net.connect(port, '127.0.0.1');
    socket.on('error', () => {});
    fillers.push(socket);
    await new Promise((resolve) => socket.once('connect', resolve));
  }
  return {
    port,
    close: () => {
      for (const socket of fillers) socket.destroy();
      child.kill('SIGKILL');
    },
  };
}

/**
 * Runs `llm-gateway ...args` to completion (for commands that are expected to exit) and returns
 * {code, signal, stdout, stderr, output, listening}. Kills it and rejects if it is still running
 * after `timeout` ms. If it starts listening (which a command expected to exit must not do), it is
 * killed at once and the result has listening: true (code null, signal SIGKILL).
 */
export function runCli(args, env = {}, { cwd, timeout = 10_000 } = {}) {
  return new Promise((resolve, reject) => {
    const proc = spawn(binary(), args, { cwd: cwd ?? tmpDir(), env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
    live.add(proc);
    let stdout = '';
    let stderr = '';
    proc.stdout.setEncoding('utf8');
    proc.stderr.setEncoding('utf8');
    let listening = false;
    const check = () => {
      if (!listening && LISTENING.test(stdout + stderr)) {
        listening = true;
        proc.kill('SIGKILL');
      }
    };
    proc.stdout.on('data', (c) => {
      stdout += c;
      check();
    });
    proc.stderr.on('data', (c) => {
      stderr += c;
      check();
    });
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`${args.join(' ')} still running after ${timeout} ms; output:\n${stdout}${stderr}`));
    }, timeout);
    proc.once('error', (err) => {
      clearTimeout(timer);
      live.delete(proc);
      reject(err);
    });
    proc.once('close', (code, signal) => {
      clearTimeout(timer);
      live.delete(proc);
      resolve({ code, signal, stdout, stderr, output: stdout + stderr, listening, sanitizer: sanitizerReport(stdout + stderr) });
    });
  });
}

export { exited };
