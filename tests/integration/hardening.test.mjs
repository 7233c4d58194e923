// Defects found by trying the gateway under real conditions (the reliability issue): each test
// here failed before its fix.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import {
  startGateway,
  startController,
  startWorker,
  startMock,
  mockProviderEnv,
  postChat,
  chatBody,
  collectSse,
  parseEvents,
  waitFor,
  waitForWorkers,
  waitForModel,
  sseReader,
  closedPort,
  rawHttp,
  mockStats,
  readSse,
  scrape,
  rawConnect,
} from '../lib/harness.mjs';

/**
 * A raw OpenAI-style upstream on a loopback port: it lists the model `x`, and `respond(req, res,
 * body)` answers chat requests with whatever the test needs.
 */
async function rawUpstream(t, respond) {
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      if (req.url.endsWith('/models')) {
        res.writeHead(200, { 'content-type': 'application/json' });
        return res.end(JSON.stringify({ object: 'list', data: [{ id: 'x', object: 'model' }] }));
      }
      respond(req, res, body);
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise((resolve) => {
    server.closeAllConnections();
    server.close(resolve);
  }));
  return { url: `http://127.0.0.1:${server.address().port}`, server };
}

function sseHead(res) {
  res.writeHead(200, { 'content-type': 'text/event-stream' });
}

const chunk = (content) =>
  `data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'x',
    choices: [{ index: 0, delta: { content }, finish_reason: null }] })}\n\n`;

/** The stream's last event is an OpenAI error; the body ended cleanly (chunked terminator). */
function assertFinalError(result, code) {
  assert.equal(result.error, null, `the body ends cleanly: ${result.error?.message}`);
  assert.ok(!result.events.includes('[DONE]'), JSON.stringify(result.events));
  const last = parseEvents(result.events).at(-1);
  assert.equal(typeof last?.error, 'object', `final error event: ${JSON.stringify(result.events).slice(0, 500)}`);
  if (code) assert.equal(last.error.code, code, JSON.stringify(last));
  return last.error;
}

async function openFds(pid) {
  const { readdir } = await import('node:fs/promises');
  return (await readdir(`/proc/${pid}/fd`)).length;
}

/** After a fault: nothing in flight, the descriptors back to `fds` (within `slack`). */
async function assertHealthy(gw, fds, slack = 2) {
  await waitFor(async () => (await scrape(gw)).value('llm_gateway_requests_in_flight', { endpoint: '/v1/chat/completions' }) === 0,
    { message: 'requests in flight back to 0' });
  await waitFor(async () => (await openFds(gw.proc.pid)) <= fds + slack,
    { message: `descriptors back to ${fds} (+${slack})` });
}

async function vmRssKiB(pid) {
  const { readFile } = await import('node:fs/promises');
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)[1]);
}

describe('upstream events without end (linear scan, bounded buffer)', () => {
  test('a 10 MB single event ends the stream with an error event; the gateway stays healthy', async (t) => {
    const big = 'x'.repeat(10 << 20);
    const upstream = await rawUpstream(t, (req, res) => {
      sseHead(res);
      res.write(chunk('hello'));
      // One event of 10 MB, written in 64 KiB pieces as a socket would deliver it.
      let offset = 0;
      const line = `data: {"choices":[{"delta":{"content":"${big}"}}]}`;
      const pump = () => {
        while (offset < line.length) {
          const piece = line.slice(offset, offset + 65536);
          offset += piece.length;
          if (!res.write(piece)) return res.once('drain', pump);
        }
        res.end('\n\ndata: [DONE]\n\n');
      };
      pump();
    });
    const gw = await startGateway(['--max-stream-event-bytes', '4194304'],
      { PROVIDER_RAW_BASE_URL: `${upstream.url}/v1`, ENABLE_ECHO_MODEL: '1' });
    t.after(() => gw.stop());
    await waitForModel(gw, 'x');
    const res = await postChat(gw, chatBody('raw/x', 'hi', { stream: true }));
    assert.equal(res.status, 200);
    const error = assertFinalError(await collectSse(res, { timeout: 20_000 }));
    assert.match(error.message, /longer than 4194304 bytes/);
    // Bounded: the gateway never held the whole event (4 MiB cap plus buffers). Sanitizer builds
    // keep freed memory in quarantine: the figure means nothing there.
    if (!process.env.ASAN_OPTIONS && !process.env.TSAN_OPTIONS) {
      assert.ok((await vmRssKiB(gw.proc.pid)) < 64 * 1024, 'RSS stays small');
    }
    const next = await postChat(gw, chatBody('echo', 'still here'));
    assert.equal(next.status, 200);
  });

  test('an endless stream of comment lines with no blank line is ended at the cap', async (t) => {
    let upstreamClosed = false;
    const upstream = await rawUpstream(t, (req, res) => {
      sseHead(res);
      res.on('close', () => (upstreamClosed = true));
      const comment = `: ${'k'.repeat(1000)}\n`;
      const pump = () => {
        while (!res.destroyed) {
          if (!res.write(comment.repeat(64))) return res.once('drain', pump);
        }
      };
      pump();
    });
    const gw = await startGateway(['--max-stream-event-bytes', '1048576'], { PROVIDER_RAW_BASE_URL: `${upstream.url}/v1` });
    t.after(() => gw.stop());
    await waitForModel(gw, 'x');
    const res = await postChat(gw, chatBody('raw/x', 'hi', { stream: true }));
    // Nothing was relayed yet, so the response has not started: a 502, not a 200 and an event.
    assert.equal(res.status, 502);
    const body = await res.json();
    assert.match(body.error.message, /MAX_STREAM_EVENT_BYTES/);
    await waitFor(() => upstreamClosed, { message: 'the upstream request was closed' });
  });
});

describe('upstream answers at the edges', () => {
  test('100 KB of response headers: a prompt 502, streamed or not; no descriptor kept', async (t) => {
    let padding = 100_000;
    const upstream = await rawUpstream(t, (req, res, body) => {
      const stream = JSON.parse(body).stream === true;
      res.writeHead(200, { 'content-type': stream ? 'text/event-stream' : 'application/json', 'x-padding': 'p'.repeat(padding) });
      res.end(stream ? chunk('a') + 'data: [DONE]\n\n' : JSON.stringify({ id: 'c', object: 'chat.completion', choices: [] }));
    });
    const gw = await startGateway([], { PROVIDER_RAW_BASE_URL: `${upstream.url}/v1` });
    t.after(() => gw.stop());
    await waitForModel(gw, 'x');
    const fds = await openFds(gw.proc.pid);
    for (let i = 0; i < 20; i++) {
      const res = await postChat(gw, chatBody('raw/x', 'hi', { stream: i % 2 === 0 }));
      const body = await res.json();
      assert.equal(res.status, 502, JSON.stringify(body));
      assert.equal(body.error.code, 'upstream_error');
    }
    await assertHealthy(gw, fds);
    padding = 10;
    const fine = await postChat(gw, chatBody('raw/x', 'hi'));
    assert.equal(fine.status, 200, await fine.clone().text());
  });

  test('data after [DONE] is not relayed; the next request is served', async (t) => {
    const upstream = await rawUpstream(t, (req, res) => {
      sseHead(res);
      res.write(chunk('a') + 'data: [DONE]\n\n');
      res.end(chunk('after the end') + 'data: [DONE]\n\n');
    });
    const gw = await startGateway([], { PROVIDER_RAW_BASE_URL: `${upstream.url}/v1` });
    t.after(() => gw.stop());
    await waitForModel(gw, 'x');
    const fds = await openFds(gw.proc.pid);
    for (let i = 0; i < 5; i++) {
      const res = await postChat(gw, chatBody('raw/x', 'hi', { stream: true }));
      assert.equal(res.status, 200);
      const { events, error } = await collectSse(res);
      assert.equal(error, null);
      assert.deepEqual(events.slice(1), ['[DONE]'], JSON.stringify(events));
      assert.equal(JSON.parse(events[0]).choices[0].delta.content, 'a');
    }
    await assertHealthy(gw, fds);
  });
});

/** The soft limit on open files of this (test) process: what it and the processes it starts get. */
async function openFileLimit() {
  const { readFile } = await import('node:fs/promises');
  return Number(/Max open files\s+(\d+)/.exec(await readFile('/proc/self/limits', 'utf8'))[1]);
}

/** Milliseconds for each of `count` sequential echo requests. */
async function latencies(gw, count) {
  const times = [];
  for (let i = 0; i < count; i++) {
    const started = performance.now();
    const res = await postChat(gw, chatBody('echo', `normal ${i}`));
    assert.equal(res.status, 200);
    await res.json();
    times.push(performance.now() - started);
  }
  return times.sort((a, b) => a - b);
}

describe('client abuse while a normal client is served', () => {
  test('idle connections by the thousand, slowloris heads and bodies: normal requests still answered promptly', async (t) => {
    // Deadlines far longer than the test: the abusers stay connected throughout, and a normal
    // request stuck behind them would take as long.
    const gw = await startGateway(['--header-timeout', '60', '--body-timeout', '60', '--keepalive-timeout', '60']);
    t.after(() => gw.stop());
    const fds = await openFds(gw.proc.pid);
    const before = await latencies(gw, 30);

    const idleCount = Math.min(2000, (await openFileLimit()) - 300);
    const abusers = [];
    t.after(() => abusers.forEach((c) => c.destroy()));
    for (let i = 0; i < idleCount; i++) abusers.push(await rawConnect(gw.port));
    const heads = [];
    for (let i = 0; i < 50; i++) {
      const conn = await rawConnect(gw.port);
      conn.write('POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n');
      heads.push(conn);
      abusers.push(conn);
    }
    const bodies = [];
    for (let i = 0; i < 20; i++) {
      const conn = await rawConnect(gw.port);
      conn.write('POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"model":"echo",');
      bodies.push(conn);
      abusers.push(conn);
    }
    const trickle = setInterval(() => {
      for (const conn of heads) if (!conn.closed()) conn.write('X-Slow: 1\r\n');
      for (const conn of bodies) if (!conn.closed()) conn.write(' ');
    }, 50);
    t.after(() => clearInterval(trickle));
    await waitFor(async () => (await openFds(gw.proc.pid)) >= fds + abusers.length,
      { message: `the gateway holds all ${abusers.length} abusive connections` });

    const during = await latencies(gw, 30);
    const pct = (xs, p) => xs[Math.min(xs.length - 1, Math.floor(xs.length * p))].toFixed(1);
    t.diagnostic(`${idleCount} idle, 50 slow heads, 20 slow bodies; normal request ms p50/p95/max: ` +
      `before ${pct(before, 0.5)}/${pct(before, 0.95)}/${pct(before, 1)}, during ${pct(during, 0.5)}/${pct(during, 0.95)}/${pct(during, 1)}`);
    // A request that waited behind an abuser would wait for its 60 s deadline: 5 s tells the two
    // apart on any machine, sanitizers included.
    assert.ok(during.at(-1) < 5000, `slowest normal request ${during.at(-1)} ms`);
    assert.ok(abusers.every((c) => !c.closed()), 'the abusers were still connected throughout');

    clearInterval(trickle);
    abusers.forEach((c) => c.destroy());
    await assertHealthy(gw, fds);
  });
});

describe('shutdown at the drain deadline', () => {
  test('server: a stream still running gets a final 503 error event, a log line and a metric', async (t) => {
    const mock = await startMock(['--stall-after', '2']);
    t.after(() => mock.stop());
    const gw = await startGateway(['--drain-timeout', '1'], mockProviderEnv(mock));
    t.after(() => gw.stop());
    const res = await postChat(gw, chatBody('openai/mock-model', 'one two three', { stream: true }));
    assert.equal(res.status, 200);
    const reader = sseReader(res);
    const events = [await reader.next()];  // the stream is running
    gw.proc.kill('SIGTERM');
    for (let event; (event = await reader.next({ timeout: 10_000 })) !== null;) events.push(event);
    const error = assertFinalError({ events, error: null }, 'service_unavailable');
    assert.match(error.message, /shutting down/);
    const { code } = await gw.exited;
    assert.equal(code, 0);
    assert.match(gw.output(), /POST \/v1\/chat\/completions 200 .* outcome=shutdown/);
  });

  test('controller: queued and running requests all get an answer; exit 0 (no crash)', async (t) => {
    const mock = await startMock(['--token-delay-ms', '200', '--tokens', '50']);
    t.after(() => mock.stop());
    const controller = await startController(['--drain-timeout', '1', '--queue-timeout', '30']);
    t.after(() => controller.stop());
    const worker = await startWorker({ id: 'w1', model: 'm', backend: `${mock.url}/v1`, controller,
      flags: ['--capacity', '1'] });
    t.after(() => worker.stop());
    await waitForWorkers(controller, (ws) => ws.length === 1);
    const requests = Array.from({ length: 12 }, () =>
      postChat(controller, chatBody('m', 'go', { stream: true }))
        .then(async (res) => ({ status: res.status, result: res.status === 200 ? await collectSse(res, { timeout: 15_000 }) : await res.json() }))
        .catch((err) => ({ failed: err })));
    // All 12 in flight (one streaming, the others queued for the worker's single slot).
    await waitFor(async () => {
      const text = await (await fetch(`${controller.url}/metrics`)).text();
      const series = [...text.matchAll(/^llm_gateway_requests_in_flight\{[^}]*chat[^}]*\} (\d+)/gm)];
      return series.reduce((sum, m) => sum + Number(m[1]), 0) >= 12;
    }, { message: '12 requests in flight', timeout: 10_000 });
    controller.proc.kill('SIGTERM');
    const answers = await Promise.all(requests);
    const { code, signal } = await controller.exited;
    assert.equal(signal, null, controller.output().slice(-3000));
    assert.equal(code, 0);
    let cut = 0;
    let refused = 0;
    for (const answer of answers) {
      assert.equal(answer.failed, undefined, `every client got an answer: ${answer.failed}`);
      if (answer.status === 200) {
        assertFinalError(answer.result, 'service_unavailable');
        cut++;
      } else {
        assert.equal(answer.status, 503, JSON.stringify(answer.result));
        assert.equal(answer.result.error.code, 'service_unavailable');
        refused++;
      }
    }
    assert.equal(cut + refused, 12);
    assert.ok(refused >= 1, 'queued requests got 503');
  });
});

describe('request loops', () => {
  test('a worker registered with the controller\'s own URL: 508, not a thousand hops', async (t) => {
    const controller = await startController();
    t.after(() => controller.stop());
    const registered = await fetch(`${controller.url}/internal/workers/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ worker_id: 'loop', model_id: 'm', url: controller.url }),
    });
    assert.equal(registered.status, 200);
    const res = await postChat(controller, chatBody('m', 'hi'));
    const body = await res.json();
    assert.equal(res.status, 508, JSON.stringify(body));
    assert.equal(body.error.code, 'loop_detected');
  });

  test('a server whose provider leads back to it (through a proxy): refused on the second pass', async (t) => {
    let gw;
    // A plain HTTP proxy in front of the gateway itself, passing headers on as proxies do.
    const upstream = await rawUpstream(t, async (req, res, body) => {
      const back = await fetch(`${gw.url}${req.url}`, {
        method: req.method,
        headers: { 'content-type': 'application/json', via: req.headers.via ?? '' },
        body: req.method === 'POST' ? body : undefined,
      });
      res.writeHead(back.status, { 'content-type': back.headers.get('content-type') });
      res.end(await back.text());
    });
    gw = await startGateway([], { PROVIDER_SELF_BASE_URL: `${upstream.url}/v1` });
    t.after(() => gw.stop());
    const res = await postChat(gw, chatBody('self/self/x', 'hi'));
    const body = await res.json();
    // The gateway's second pass refused it; the first relays that as an upstream failure.
    assert.equal(res.status, 502, JSON.stringify(body));
    assert.match(body.error.message, /HTTP 508: The request has already passed through this gateway/);
  });
});

/** Sockets in CLOSE-WAIT (state 08) towards `port` on this host: a peer closed, we did not. */
async function closeWaitTowards(port) {
  const { readFile } = await import('node:fs/promises');
  let count = 0;
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    const text = await readFile(file, 'utf8').catch(() => '');
    for (const line of text.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields.length > 3 && fields[3] === '08' && parseInt(fields[2].split(':')[1], 16) === port) count++;
    }
  }
  return count;
}

describe('pooled upstream connections', () => {
  test('a connection the upstream closed while idle is reaped, not left in CLOSE-WAIT', async (t) => {
    const upstream = await rawUpstream(t, (req, res) => {
      // Claims a long keep-alive but closes idle connections after 200 ms.
      res.writeHead(200, { 'content-type': 'application/json', 'keep-alive': 'timeout=30' });
      res.end(JSON.stringify({ id: 'c', object: 'chat.completion', created: 1, model: 'x',
        choices: [{ index: 0, message: { role: 'assistant', content: 'hi' }, finish_reason: 'stop' }] }));
    });
    upstream.server.keepAliveTimeout = 200;
    const port = Number(new URL(upstream.url).port);
    const gw = await startGateway([], { PROVIDER_RAW_BASE_URL: `${upstream.url}/v1` });
    t.after(() => gw.stop());
    await waitForModel(gw, 'x');
    for (let i = 0; i < 3; i++) assert.equal((await postChat(gw, chatBody('raw/x', 'hi'))).status, 200);
    // The upstream closes its ends after 200 ms; the gateway's background sweep closes its own.
    await waitFor(async () => (await closeWaitTowards(port)) === 0, { timeout: 5000, message: 'no CLOSE-WAIT socket' });
    // And a request after the close works on a fresh connection.
    assert.equal((await postChat(gw, chatBody('raw/x', 'hi'))).status, 200);
  });

  test('Keep-Alive: timeout=1 is honoured: requests a second apart never meet a closing socket', async (t) => {
    const upstream = await rawUpstream(t, (req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ id: 'c', object: 'chat.completion', created: 1, model: 'x',
        choices: [{ index: 0, message: { role: 'assistant', content: 'hi' }, finish_reason: 'stop' }] }));
    });
    upstream.server.keepAliveTimeout = 1000;  // Node announces "Keep-Alive: timeout=1"
    const gw = await startGateway([], { PROVIDER_RAW_BASE_URL: `${upstream.url}/v1` });
    t.after(() => gw.stop());
    await waitForModel(gw, 'x');
    for (let i = 0; i < 4; i++) {
      assert.equal((await postChat(gw, chatBody('raw/x', 'hi'))).status, 200, `request ${i}`);
      await new Promise((resolve) => setTimeout(resolve, 1000));  // the upstream's own idle limit
    }
  });
});

describe('upstream bodies the gateway cannot relay as they are', () => {
  test('gzip, HTML, invalid JSON and 204 answers are 502s with a clear message, streamed or not', async (t) => {
    const { gzipSync } = await import('node:zlib');
    const completion = JSON.stringify({ id: 'c', object: 'chat.completion', created: 1, model: 'x',
      choices: [{ index: 0, message: { role: 'assistant', content: 'hi' }, finish_reason: 'stop' }] });
    const answers = {
      gzip: [/content-encoding 'gzip'/, (res) => {
        res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
        res.end(gzipSync(completion));
      }],
      html: [/content-type 'text\/html'/, (res) => {
        res.writeHead(200, { 'content-type': 'text/html' });
        res.end('<html><body>Welcome to nginx</body></html>');
      }],
      invalid: [/not a JSON object/, (res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(completion.slice(0, 40));
      }],
      empty: [/HTTP 204 with no body/, (res) => {
        res.writeHead(204);
        res.end();
      }],
    };
    let acceptEncoding;
    const upstream = await rawUpstream(t, (req, res, body) => {
      acceptEncoding = req.headers['accept-encoding'];
      answers[JSON.parse(body).messages[0].content][1](res);
    });
    const gw = await startGateway([], { PROVIDER_RAW_BASE_URL: `${upstream.url}/v1` });
    t.after(() => gw.stop());
    await waitForModel(gw, 'x');
    for (const [kind, [message]] of Object.entries(answers)) {
      for (const stream of [false, true]) {
        const res = await postChat(gw, chatBody('raw/x', kind, { stream }));
        const body = await res.json();
        assert.equal(res.status, 502, `${kind} stream=${stream}: ${JSON.stringify(body)}`);
        assert.match(body.error.message, message, kind);
      }
    }
    assert.equal(acceptEncoding, 'identity');
    // A proper answer still goes through.
    answers.fine = [null, (res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(completion);
    }];
    assert.equal((await postChat(gw, chatBody('raw/x', 'fine'))).status, 200);
  });
});

describe('a gateway started before its provider', () => {
  /** An OpenAI-style provider listing `x`, started later on `port`. */
  function lateProvider(t, port) {
    const server = http.createServer((req, res) => {
      if (req.url.endsWith('/models')) {
        res.writeHead(200, { 'content-type': 'application/json' });
        return res.end(JSON.stringify({ object: 'list', data: [{ id: 'x', object: 'model' }] }));
      }
      req.resume();
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ id: 'c', object: 'chat.completion', created: 1, model: 'x',
          choices: [{ index: 0, message: { role: 'assistant', content: 'late' }, finish_reason: 'stop' }] }));
      });
    });
    t.after(() => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(resolve);
    }));
    return new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
  }

  test('an unknown model makes the providers be listed again before the 404', async (t) => {
    const port = await closedPort();
    const gw = await startGateway([], { PROVIDER_LATE_BASE_URL: `http://127.0.0.1:${port}/v1` });
    t.after(() => gw.stop());
    await gw.waitForOutput(/could not list the models of late/);
    await lateProvider(t, port);
    const res = await postChat(gw, chatBody('x', 'hi'));  // unprefixed: known only by listing
    assert.equal(res.status, 200, await res.clone().text());
    assert.equal((await res.json()).choices[0].message.content, 'late');
  });

  test('a failed listing is retried within seconds, not at the next refresh interval', async (t) => {
    const port = await closedPort();
    const gw = await startGateway(['--models-refresh', '300'], { PROVIDER_LATE_BASE_URL: `http://127.0.0.1:${port}/v1` });
    t.after(() => gw.stop());
    await gw.waitForOutput(/could not list the models of late/);
    await lateProvider(t, port);
    await waitForModel(gw, 'x', { timeout: 5000 });
  });
});

describe('no replay after a 2xx', () => {
  test('a worker that answers 200 and breaks mid-body is not replayed on another worker', async (t) => {
    let received = 0;
    const brokenWorker = async () => rawUpstream(t, (req, res) => {
      received++;
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '1000' });
      res.write('{"id":"chatcmpl-1","object":"chat.completion",');
      setTimeout(() => res.destroy(), 20);
    });
    const workers = [await brokenWorker(), await brokenWorker()];
    const controller = await startController();
    t.after(() => controller.stop());
    for (const [i, w] of workers.entries()) {
      const registered = await fetch(`${controller.url}/internal/workers/register`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ worker_id: `w${i}`, model_id: 'm', url: w.url }),
      });
      assert.equal(registered.status, 200);
    }
    const res = await postChat(controller, chatBody('m', 'hi'));
    const body = await res.json();
    assert.equal(res.status, 502, JSON.stringify(body));
    assert.equal(received, 1, 'the generation ran once');
  });
});

describe('a stream that fails before its first event', () => {
  test('server: an Anthropic overloaded_error as the first event is a 503; an empty stream a 502', async (t) => {
    const mock = await startMock(['--stream-error', 'overloaded_error']);
    t.after(() => mock.stop());
    const gw = await startGateway([], { ANTHROPIC_BASE_URL: mock.url, ANTHROPIC_API_KEY: 'k' });
    t.after(() => gw.stop());
    const res = await postChat(gw, chatBody('anthropic/mock-model', 'hi', { stream: true }));
    const body = await res.json();
    assert.equal(res.status, 503, JSON.stringify(body));
    assert.equal(body.error.type, 'overloaded_error');
    assert.equal((await mockStats(mock)).requests, 1);

    // An upstream that ends its 200 stream before any event.
    const upstream = await rawUpstream(t, (req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end();
    });
    const raw = await startGateway([], { PROVIDER_RAW_BASE_URL: `${upstream.url}/v1` });
    t.after(() => raw.stop());
    await waitForModel(raw, 'x');
    const empty = await postChat(raw, chatBody('raw/x', 'hi', { stream: true }));
    assert.equal(empty.status, 502);
    assert.match((await empty.json()).error.message, /before its first event/);
  });

  test('controller: the overloaded worker\'s 503 sends the stream to another worker', async (t) => {
    const overloaded = await startMock(['--models', 'm', '--stream-error', 'overloaded_error']);
    t.after(() => overloaded.stop());
    const healthy = await startMock(['--models', 'm']);
    t.after(() => healthy.stop());
    const controller = await startController();
    t.after(() => controller.stop());
    const a = await startWorker({ id: 'a', model: 'm', backend: overloaded, controller, flags: ['--backend-type', 'anthropic'] });
    t.after(() => a.stop());
    await waitForWorkers(controller, (ws) => ws.length === 1, { message: 'worker a registered' });
    // Alone, its status reaches the client as it is (before: a 200 and an error event).
    const alone = await postChat(controller, chatBody('m', 'hi', { stream: true }));
    assert.equal(alone.status, 503, await alone.clone().text());
    assert.equal((await alone.json()).error.type, 'overloaded_error');

    const b = await startWorker({ id: 'b', model: 'm', backend: healthy, controller });
    t.after(() => b.stop());
    await waitForWorkers(controller, (ws) => ws.length === 2, { message: 'worker b registered' });
    // Until worker a has been tried again (ties are broken at random), every stream is served.
    for (let i = 0; i < 40 && (await mockStats(overloaded)).requests < 2; i++) {
      const res = await postChat(controller, chatBody('m', `hi ${i}`, { stream: true }));
      assert.equal(res.status, 200);
      assert.equal((await readSse(res)).at(-1), '[DONE]');
    }
    assert.equal((await mockStats(overloaded)).requests, 2, 'worker a was tried again');
  });
});

describe('HTTP conformance', () => {
  test('an HTTP/1.0 client gets a stream delimited by the close, never chunked', async (t) => {
    const gw = await startGateway();
    t.after(() => gw.stop());
    const body = JSON.stringify(chatBody('echo', 'one two', { stream: true }));
    const res = await rawHttp(gw.port,
      `POST /v1/chat/completions HTTP/1.0\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n${body}`);
    assert.equal(res.closed, true);
    const split = res.raw.indexOf('\r\n\r\n');
    const head = res.raw.slice(0, split);
    const payload = res.raw.slice(split + 4);
    assert.match(head, /^HTTP\/1\.1 200 /);
    assert.doesNotMatch(head, /transfer-encoding/i);
    assert.match(head, /connection: close/i);
    assert.ok(payload.startsWith('data: {'), JSON.stringify(payload.slice(0, 80)));
    assert.ok(payload.endsWith('data: [DONE]\n\n'), JSON.stringify(payload.slice(-80)));
  });

  test('a stream that arrives whole in one upstream write: exact chunked framing over HTTP/1.1, close-delimited over HTTP/1.0', async (t) => {
    // The mock writes every event and the end in one write: the gateway sends head, events and
    // end at once (ResponseWriter::send_stream).
    const mock = await startMock(['--models', 'm', '--whole-stream', '1', '--tokens', '40']);
    t.after(() => mock.stop());
    const gw = await startGateway([], mockProviderEnv(mock));
    t.after(() => gw.stop());
    const body = JSON.stringify(chatBody('openai/m', 'hi', { stream: true }));
    const post = (version) => rawHttp(gw.port, `POST /v1/chat/completions HTTP/${version}\r\nhost: x\r\nconnection: close\r\n`
      + `content-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n${body}`);
    const events = (sse) => sse.split('\n\n').filter(Boolean);

    const chunked = await post('1.1');
    assert.equal(chunked.status, 200);
    assert.match(chunked.headers['transfer-encoding'], /chunked/);
    // Decoded strictly: size line, that many bytes, CRLF; then the last chunk and nothing after.
    const raw = chunked.raw.slice(chunked.raw.indexOf('\r\n\r\n') + 4);
    let decoded = '';
    let at = 0;
    for (;;) {
      const line = raw.indexOf('\r\n', at);
      assert.ok(line > at, `a chunk size line at ${at}`);
      const size = parseInt(raw.slice(at, line), 16);
      assert.ok(Number.isInteger(size), raw.slice(at, line));
      if (size === 0) {
        assert.equal(raw.slice(line), '\r\n\r\n', 'the last chunk ends the body');
        break;
      }
      decoded += raw.slice(line + 2, line + 2 + size);
      assert.equal(raw.slice(line + 2 + size, line + 4 + size), '\r\n', 'each chunk ends with CRLF');
      at = line + 4 + size;
    }
    const relayed = events(Buffer.from(decoded, 'latin1').toString('utf8'));
    assert.equal(relayed.at(-1), 'data: [DONE]');
    assert.equal(relayed.length, 40 + 3, '40 tokens, role, finish and [DONE]');

    const closeDelimited = await post('1.0');
    assert.equal(closeDelimited.status, 200);
    assert.equal(closeDelimited.closed, true);
    assert.equal(closeDelimited.headers['transfer-encoding'], undefined);
    // The same stream (its ids and timestamps aside).
    const text = (list) => list.slice(0, -1).map((e) => JSON.parse(e.slice(6)).choices[0]?.delta?.content ?? '').join('');
    const relayedAgain = events(closeDelimited.body);
    assert.equal(relayedAgain.length, relayed.length);
    assert.equal(relayedAgain.at(-1), 'data: [DONE]');
    assert.equal(text(relayedAgain), text(relayed));
    assert.ok(text(relayed).length > 40);
  });

  test('an HTTP/1.1 request without Host, or with two, is a 400', async (t) => {
    const gw = await startGateway();
    t.after(() => gw.stop());
    for (const hosts of ['', 'host: a\r\nhost: b\r\n']) {
      const res = await rawHttp(gw.port, `GET /health HTTP/1.1\r\n${hosts}\r\n`);
      assert.match(res.raw, /^HTTP\/1\.1 400 /, JSON.stringify(hosts));
    }
  });
});

describe('request bodies held at once', () => {
  test('beyond MAX_BUFFERED_REQUEST_BYTES a request gets 503 at its head; released bytes serve again', async (t) => {
    const gw = await startGateway(['--max-buffered-request-bytes', '1048576']);
    t.after(() => gw.stop());
    const body = JSON.stringify(chatBody('echo', 'x'.repeat(800_000)));
    const head = `POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n`;
    // A holds 800 kB of the 1 MiB: it sends its head with `Expect: 100-continue` and waits; the
    // interim 100 says its share is reserved (B must not race A's head to the reservation).
    const holder = net.connect({ host: '127.0.0.1', port: gw.port });
    t.after(() => holder.destroy());
    let held = '';
    holder.setEncoding('latin1');
    holder.on('data', (c) => (held += c));
    await new Promise((resolve) => holder.once('connect', resolve));
    holder.write(head.replace('\r\n\r\n', '\r\nexpect: 100-continue\r\n\r\n'));
    await waitFor(() => held.startsWith('HTTP/1.1 100 Continue\r\n\r\n'), { message: "A's 100 Continue" });
    // B's 800 kB do not fit beside A's: refused at its head.
    const refused = await rawHttp(gw.port, head + body);
    assert.equal(refused.status, 503, refused.raw.slice(0, 300));
    assert.match(refused.raw, /retry-after: 1/i);
    holder.write(body);
    await waitFor(() => held.includes('chat.completion'), { message: 'A is answered' });
    assert.match(held, /^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 /);
    // A's share is released just after its last byte is written (on whichever I/O thread served
    // it), so the next request may still race it: retried until served, never refused for long.
    await waitFor(async () => (await rawHttp(gw.port, head + body)).status === 200,
      { message: 'B is served once A has finished' });
  });
});

describe('deeply nested requests', () => {
  test('a tool schema 40 objects deep reaches a translated provider (Anthropic, Ollama)', async (t) => {
    const mock = await startMock();
    t.after(() => mock.stop());
    const gw = await startGateway([], { ANTHROPIC_BASE_URL: mock.url, ANTHROPIC_API_KEY: 'k', OLLAMA_HOST: mock.url });
    t.after(() => gw.stop());
    let schema = { type: 'string' };
    for (let i = 0; i < 40; i++) schema = { type: 'object', properties: { inner: schema } };
    const tools = [{ type: 'function', function: { name: 'deep', parameters: schema } }];
    for (const model of ['anthropic/claude-mock', 'ollama/mock-model']) {
      const res = await postChat(gw, chatBody(model, 'hi', { tools }));
      assert.equal(res.status, 200, `${model}: ${await res.clone().text()}`);
    }
    // Deeper than the translators take: a 400 that says so.
    let bottomless = [];
    for (let i = 0; i < 600; i++) bottomless = [bottomless];
    const res = await postChat(gw, chatBody('anthropic/claude-mock', 'hi', { metadata: { x: bottomless } }));
    const body = await res.json();
    assert.equal(res.status, 400, JSON.stringify(body).slice(0, 300));
    assert.match(body.error.message, /nests deeper than/);
  });
});

describe('client text in logs and errors', () => {
  test('a model name with newlines and NULs cannot forge access-log lines', async (t) => {
    const gw = await startGateway();
    t.after(() => gw.stop());
    const model = 'x\n2030-01-01T00:00:00.000Z info FORGED\u0000line';
    const res = await postChat(gw, chatBody(model, 'hi'));
    assert.equal(res.status, 404);
    await gw.waitForOutput(/POST \/v1\/chat\/completions 404 .*model=x\\n2030/);
    assert.ok(!/^2030-01-01T00:00:00\.000Z info FORGED/m.test(gw.output()), gw.output());
    assert.ok(!gw.output().includes('\u0000'), 'no raw NUL in the log');
  });

  test('an 8 MB model name is refused with a short error, not echoed', async (t) => {
    const gw = await startGateway();
    t.after(() => gw.stop());
    const res = await postChat(gw, chatBody('m'.repeat(8 << 20), 'hi'));
    const text = await res.text();
    assert.equal(res.status, 400);
    assert.ok(text.length < 1000, `short error body (${text.length} bytes)`);
    assert.ok(gw.output().length < 100_000, 'no huge log line');
  });

  test('duplicate "model" or "stream" keys are a 400, not a guess', async (t) => {
    const gw = await startGateway();
    t.after(() => gw.stop());
    for (const body of [
      '{"model":"echo","model":"other","messages":[{"role":"user","content":"hi"}]}',
      '{"model":"echo","stream":false,"stream":true,"messages":[{"role":"user","content":"hi"}]}',
    ]) {
      const res = await fetch(`${gw.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      const error = (await res.json()).error;
      assert.equal(res.status, 400, JSON.stringify(error));
      assert.match(error.message, /more than once/);
    }
  });
});
