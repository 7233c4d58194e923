// Connection-level behaviour: client read deadlines (--header-timeout, --body-timeout),
// keep-alive (--keepalive-timeout), --max-connections, and graceful shutdown on SIGTERM
// (--drain-timeout).

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import {
  startGateway,
  startMock,
  mockStats,
  mockProviderEnv,
  postChat,
  chatBody,
  rawConnect,
  sseReader,
  waitFor,
} from '../lib/harness.mjs';

const HEALTH = 'GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n';
const RESPONSE_END = /\{"status":"ok"\}$/;

describe('client read deadlines and keep-alive', () => {
  let gw;
  before(async () => {
    gw = await startGateway(['--header-timeout', '0.4', '--body-timeout', '0.4', '--keepalive-timeout', '0.4']);
  });
  after(() => gw?.stop());

  test('incomplete headers: the connection is closed after --header-timeout', async (t) => {
    const conn = await rawConnect(gw.port);
    t.after(() => conn.destroy());
    const started = Date.now();
    conn.write('GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n');
    await conn.waitClosed({ timeout: 3000 });
    const elapsed = conn.closedAt() - started;
    assert.ok(elapsed >= 350, `not closed before the deadline (${elapsed} ms)`);
    assert.doesNotMatch(conn.data(), /^HTTP\/1\.1 200/);
  });

  test('headers trickled line by line: the deadline covers the whole header block', async (t) => {
    const conn = await rawConnect(gw.port);
    t.after(() => conn.destroy());
    const started = Date.now();
    conn.write('GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n');
    // Client behaviour: a slow sender adding a header line every 50 ms, forever.
    const trickle = setInterval(() => {
      if (!conn.closed()) conn.write('X-Slow: 1\r\n');
    }, 50);
    t.after(() => clearInterval(trickle));
    await conn.waitClosed({ timeout: 3000 });
    const elapsed = conn.closedAt() - started;
    assert.ok(elapsed >= 350 && elapsed < 2500, `closed at the header deadline (${elapsed} ms)`);
  });

  test('incomplete body: the connection is closed after --body-timeout', async (t) => {
    const conn = await rawConnect(gw.port);
    t.after(() => conn.destroy());
    const started = Date.now();
    conn.write('POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{"model":');
    await conn.waitClosed({ timeout: 3000 });
    const elapsed = conn.closedAt() - started;
    assert.ok(elapsed >= 350, `not closed before the deadline (${elapsed} ms)`);
    assert.doesNotMatch(conn.data(), /^HTTP\/1\.1 200/);
  });

  test('body trickled: the deadline covers the whole body', async (t) => {
    const conn = await rawConnect(gw.port);
    t.after(() => conn.destroy());
    const started = Date.now();
    conn.write('POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n');
    const trickle = setInterval(() => {
      if (!conn.closed()) conn.write('    ');
    }, 50);
    t.after(() => clearInterval(trickle));
    await conn.waitClosed({ timeout: 3000 });
    const elapsed = conn.closedAt() - started;
    assert.ok(elapsed >= 350 && elapsed < 2500, `closed at the body deadline (${elapsed} ms)`);
  });

  test('keep-alive: two requests on one connection, then closed after --keepalive-timeout', async (t) => {
    const conn = await rawConnect(gw.port);
    t.after(() => conn.destroy());
    conn.write(HEALTH);
    await conn.waitData(RESPONSE_END);
    conn.write(HEALTH);
    await conn.waitData(/\{"status":"ok"\}[\s\S]*\{"status":"ok"\}$/);
    assert.equal(conn.data().match(/HTTP\/1\.1 200/g)?.length, 2, conn.data());
    const idleFrom = Date.now();
    await conn.waitClosed({ timeout: 3000 });
    const elapsed = conn.closedAt() - idleFrom;
    assert.ok(elapsed >= 300, `the idle connection was kept for the keep-alive timeout (${elapsed} ms)`);
  });

  test('Connection: close is honoured', async (t) => {
    const conn = await rawConnect(gw.port);
    t.after(() => conn.destroy());
    const started = Date.now();
    conn.write('GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n');
    await conn.waitClosed({ timeout: 3000 });
    assert.match(conn.data(), /^HTTP\/1\.1 200/);
    assert.ok(conn.closedAt() - started < 300, 'closed right after the response, not at the keep-alive timeout');
  });
});

describe('--max-connections', () => {
  test('connections over the limit are refused; a freed slot is reused', async (t) => {
    const gw = await startGateway(['--max-connections', '2']);
    t.after(() => gw.stop());
    const held = [];
    t.after(() => held.forEach((c) => c.destroy()));
    for (let i = 0; i < 2; i++) {
      const c = await rawConnect(gw.port);
      held.push(c);
      c.write(HEALTH);
      await c.waitData(RESPONSE_END); // served: the gateway has accepted and counts it
    }
    const third = await rawConnect(gw.port);
    t.after(() => third.destroy());
    third.write(HEALTH);
    await third.waitClosed({ timeout: 3000 });
    assert.doesNotMatch(third.data(), /^HTTP\/1\.1 200/, 'the third connection is not served');

    held.shift().destroy();
    await waitFor(
      async () => {
        const c = await rawConnect(gw.port);
        try {
          c.write('GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n');
          await c.waitClosed({ timeout: 2000 });
          return /^HTTP\/1\.1 200/.test(c.data());
        } finally {
          c.destroy();
        }
      },
      { timeout: 3000, message: 'a new connection to be served once a slot is free' },
    );
  });
});

describe('graceful shutdown', () => {
  test('SIGTERM lets an in-flight stream finish, then the process exits 0', async (t) => {
    const mock = await startMock(['--token-delay-ms', '30', '--tokens', '15']);
    t.after(() => mock.stop());
    const gw = await startGateway(['--drain-timeout', '5'], mockProviderEnv(mock));
    t.after(() => gw.stop());
    const res = await postChat(gw, chatBody('openai/mock-model', 'drain', { stream: true }));
    assert.equal(res.status, 200);
    const events = sseReader(res);
    assert.notEqual(await events.next(), null, 'the stream has started');
    gw.proc.kill('SIGTERM');
    const rest = [];
    for (let e = await events.next(); e !== null; e = await events.next()) rest.push(e);
    assert.equal(rest.at(-1), '[DONE]', `the stream completed: ${JSON.stringify(rest.slice(-3))}`);
    assert.ok(!rest.some((e) => e.includes('"error"')), 'no error event');
    await waitFor(() => gw.proc.exitCode !== null || gw.proc.signalCode !== null, {
      timeout: 5000,
      message: 'the gateway to exit',
    });
    const { code, signal } = await gw.exited;
    assert.equal(signal, null);
    assert.equal(code, 0, gw.output());
    const s = await mockStats(mock);
    assert.equal(s.completed, 1);
    assert.equal(s.cancelled, 0);
  });

  test('SIGTERM right after the readiness line → graceful exit 0', async () => {
    const gw = await startGateway(['--drain-timeout', '5']);
    const started = Date.now();
    const { code, signal } = await gw.stop(4000);
    assert.equal(signal, null, 'exited by itself, not killed');
    assert.equal(code, 0, gw.output());
    assert.ok(Date.now() - started < 3000, `prompt exit (${Date.now() - started} ms)`);
  });

  test('a stream longer than --drain-timeout is cut off and the process still exits', async (t) => {
    const mock = await startMock(['--token-delay-ms', '100', '--tokens', '100']);
    t.after(() => mock.stop());
    const gw = await startGateway(['--drain-timeout', '0.3'], mockProviderEnv(mock));
    t.after(() => gw.stop());
    const res = await postChat(gw, chatBody('openai/mock-model', 'long', { stream: true }));
    assert.equal(res.status, 200);
    const events = sseReader(res);
    assert.notEqual(await events.next(), null);
    const killedAt = Date.now();
    gw.proc.kill('SIGTERM');
    await waitFor(() => gw.proc.exitCode !== null || gw.proc.signalCode !== null, {
      timeout: 4000,
      message: 'the gateway to exit after the drain timeout',
    });
    const { signal } = await gw.exited;
    assert.equal(signal, null, 'exited by itself, not killed');
    assert.ok(Date.now() - killedAt < 4000);
    // The client's stream ends (it does not complete: 100 tokens at 100 ms take 10 s).
    let last;
    try {
      for (let e = await events.next({ timeout: 3000 }); e !== null; e = await events.next({ timeout: 3000 })) last = e;
    } catch (err) {
      assert.doesNotMatch(err.message, /no SSE event within/, 'the stream must not hang after the gateway exited');
    }
    assert.notEqual(last, '[DONE]');
    await waitFor(async () => (await mockStats(mock)).in_flight === 0, { timeout: 3000, message: 'upstream request ended' });
  });
});

/**
 * A minimal HTTP/1.1 upstream on a raw socket, for connection behaviour the mock does not have:
 * `closeAfterResponse` closes each connection right after its response without saying so (no
 * `connection: close`); `idleTimeout` (ms) closes a connection left idle that long;
 * `chunkedWithTrailer` sends chat answers chunked, with a rate-limit header and a trailer field.
 */
function startRawUpstream({ closeAfterResponse = false, idleTimeout = 0, chunkedWithTrailer = false } = {}) {
  const stats = { connections: 0, models: 0, chats: 0, responses: 0, idleClosed: 0, closedAfterResponse: 0 };
  const sockets = new Set();
  const server = net.createServer((socket) => {
    stats.connections += 1;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    let pending = Buffer.alloc(0);
    let idleTimer = null;
    const armIdle = () => {
      if (idleTimeout > 0) {
        clearTimeout(idleTimer);
        idleTimer = setTimeout(() => {
          // Counted once the FIN is sent (end()'s callback), not when it is asked for: a test that
          // waits for the count must not race the shutdown.
          socket.end(() => { stats.idleClosed += 1; });
        }, idleTimeout);
      }
    };
    armIdle();
    socket.on('data', (chunk) => {
      pending = Buffer.concat([pending, chunk]);
      const headEnd = pending.indexOf('\r\n\r\n');
      if (headEnd < 0) return;
      const head = pending.subarray(0, headEnd).toString();
      const length = Number(/content-length:\s*(\d+)/i.exec(head)?.[1] ?? 0);
      if (pending.length < headEnd + 4 + length) return;
      pending = pending.subarray(headEnd + 4 + length);
      clearTimeout(idleTimer);
      let body;
      if (head.startsWith('GET /v1/models')) {
        stats.models += 1;
        body = JSON.stringify({ object: 'list', data: [{ id: 'raw-model', object: 'model', created: 0, owned_by: 'test' }] });
      } else {
        stats.chats += 1;
        body = JSON.stringify({
          id: `chatcmpl-${stats.chats}`, object: 'chat.completion', created: 0, model: 'raw-model',
          choices: [{ index: 0, message: { role: 'assistant', content: 'hi' }, finish_reason: 'stop' }],
          usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
        });
      }
      if (chunkedWithTrailer && !head.startsWith('GET')) {
        const half = Math.floor(body.length / 2);
        const chunk = (text) => `${Buffer.byteLength(text).toString(16)}\r\n${text}\r\n`;
        socket.write('HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nx-ratelimit-limit-requests: 7\r\n' +
          `transfer-encoding: chunked\r\ntrailer: x-checksum\r\n\r\n${chunk(body.slice(0, half))}${chunk(body.slice(half))}` +
          '0\r\nx-checksum: abc123\r\n\r\n');
      } else {
        socket.write(`HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
      }
      stats.responses += 1;
      // Counted once the FIN is sent, as idleClosed.
      if (closeAfterResponse) socket.end(() => { stats.closedAfterResponse += 1; });
      else armIdle();
    });
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => resolve({
      url: `http://127.0.0.1:${server.address().port}`,
      stats,
      close: () => new Promise((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
    }));
  });
}

describe('upstream keep-alive pool', () => {
  test('an upstream that closes (half-closes) right after each response without saying so: every POST succeeds, each run once', async (t) => {
    const upstream = await startRawUpstream({ closeAfterResponse: true });
    t.after(() => upstream.close());
    const gw = await startGateway([], { OPENAI_BASE_URL: `${upstream.url}/v1`, OPENAI_API_KEY: 'k' });
    t.after(() => gw.stop());
    const chatsBefore = upstream.stats.chats;
    for (let i = 0; i < 6; ++i) {
      // Each request only once the last close is on the wire (the first: model discovery's): sent
      // a moment before it, on the connection the gateway pooled, a POST would fail (it cannot
      // be replayed: the upstream may have run it), which no client can tell from a close a
      // moment later.
      await waitFor(() => upstream.stats.responses > 0 &&
        upstream.stats.closedAfterResponse === upstream.stats.responses,
      { message: 'the upstream closed after each response' });
      const res = await postChat(gw, chatBody('openai/raw-model', `hello ${i}`));
      const text = await res.text();
      assert.equal(res.status, 200, text);
      assert.equal(JSON.parse(text).choices[0].message.content, 'hi');
    }
    assert.equal(upstream.stats.chats - chatsBefore, 6, 'each request reached the upstream exactly once');
  });

  test('a chunked response with a trailer: body and headers relayed, the connection reused', async (t) => {
    const upstream = await startRawUpstream({ chunkedWithTrailer: true });
    t.after(() => upstream.close());
    // One I/O thread: each thread has its own pool, and the client's requests may arrive on
    // another connection (so another thread) when it opens one.
    const gw = await startGateway(['--threads', '1'], { OPENAI_BASE_URL: `${upstream.url}/v1`, OPENAI_API_KEY: 'k' });
    t.after(() => gw.stop());
    // Model discovery opens a connection of its own, maybe after the first request: counted before.
    await waitFor(() => upstream.stats.models > 0, { message: 'the models were listed' });
    let connectionsAfterFirst = 0;
    for (let i = 0; i < 3; ++i) {
      if (i === 1) connectionsAfterFirst = upstream.stats.connections;
      const res = await postChat(gw, chatBody('openai/raw-model', `hello ${i}`));
      const text = await res.text();
      assert.equal(res.status, 200, text);
      assert.equal(JSON.parse(text).choices[0].message.content, 'hi');
      assert.equal(res.headers.get('x-ratelimit-limit-requests'), '7');
      assert.equal(res.headers.get('x-checksum'), null, 'trailers are not relayed as headers');
    }
    assert.equal(upstream.stats.connections, connectionsAfterFirst, 'the connection is reused after a trailer');
  });

  test('a pooled connection the upstream closed for idleness is not reused', async (t) => {
    const upstream = await startRawUpstream({ idleTimeout: 150 });
    t.after(() => upstream.close());
    const gw = await startGateway([], { OPENAI_BASE_URL: `${upstream.url}/v1`, OPENAI_API_KEY: 'k' });
    t.after(() => gw.stop());
    const first = await postChat(gw, chatBody('openai/raw-model', 'one'));
    assert.equal(first.status, 200);
    await first.text();
    // Every connection, not just one: the gateway may hold more than one (model discovery opens
    // its own), and a connection still open when the next request goes out is not what this tests.
    await waitFor(() => upstream.stats.idleClosed === upstream.stats.connections,
      { message: 'the upstream closed every idle connection' });
    const second = await postChat(gw, chatBody('openai/raw-model', 'two'));
    const text = await second.text();
    assert.equal(second.status, 200, text);
    assert.equal(JSON.parse(text).choices[0].message.content, 'hi');
  });
});

describe('a client that reads slowly', () => {
  test('a response larger than the socket buffers arrives whole once the client reads again', async (t) => {
    // 6,000,000 tokens of "hi": a 12 MB completion, more than loopback's send and receive buffers
    // hold, so the gateway's write has to wait for the client.
    const mock = await startMock(['--tokens', '6000000']);
    t.after(() => mock.stop());
    const gw = await startGateway([], mockProviderEnv(mock));
    t.after(() => gw.stop());
    const body = JSON.stringify(chatBody('openai/mock-model', 'hi'));
    const socket = net.connect({ host: '127.0.0.1', port: gw.port });
    t.after(() => socket.destroy());
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.pause();
    socket.write(`POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
    // The mock has answered in full: the gateway now has the whole completion and is writing it
    // to a client that is not reading.
    await waitFor(async () => (await mockStats(mock)).completed === 1, { message: 'the mock answered', timeout: 20_000 });
    const chunks = [];
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.resume();
    const raw = await waitFor(() => {
      const all = Buffer.concat(chunks);
      const headEnd = all.indexOf('\r\n\r\n');
      if (headEnd < 0) return null;
      const length = Number(/content-length: (\d+)/i.exec(all.subarray(0, headEnd).toString())?.[1]);
      return all.length >= headEnd + 4 + length ? { head: all.subarray(0, headEnd).toString(), body: all.subarray(headEnd + 4) } : null;
    }, { message: 'the whole response', timeout: 20_000 });
    assert.match(raw.head, /^HTTP\/1\.1 200/);
    const completion = JSON.parse(raw.body.toString());
    assert.ok(completion.choices[0].message.content === 'hi'.repeat(6_000_000), 'every token arrived, in order');
    assert.equal(completion.usage.completion_tokens, 6_000_000);
  });
});
