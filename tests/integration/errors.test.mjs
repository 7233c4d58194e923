// Error responses: request validation, size limits, routing, authentication, and upstream
// failures mapped to client statuses.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startGateway,
  startMock,
  mockStats,
  mockProviderEnv,
  postChat,
  chatBody,
  rawConnect,
  rawHttp,
  closedPort,
  occupiedPort,
  waitForModel,
  waitFor,
} from '../lib/harness.mjs';

/** Asserts an OpenAI-style error response and returns its `error` object. */
async function assertError(res, status, expected = {}) {
  const text = await res.text();
  assert.equal(res.status, status, `status (body: ${text})`);
  assert.match(res.headers.get('content-type') ?? '', /application\/json/);
  assert.ok(res.headers.get('x-request-id'), 'error responses carry x-request-id');
  const body = JSON.parse(text);
  assert.equal(typeof body.error, 'object', text);
  assert.equal(typeof body.error.message, 'string');
  assert.ok(body.error.message.length > 0);
  for (const key of ['type', 'param', 'code']) {
    assert.ok(key in body.error, `error.${key} is present: ${text}`);
  }
  for (const [key, value] of Object.entries(expected)) {
    assert.equal(body.error[key], value, `error.${key}: ${text}`);
  }
  return body.error;
}

function assertRawError(r, status) {
  assert.equal(r.status, status, r.raw);
  assert.match(r.headers['content-type'] ?? '', /application\/json/, r.raw);
  const body = JSON.parse(r.body);
  assert.equal(typeof body.error.message, 'string', r.raw);
  return body.error;
}

const user = [{ role: 'user', content: 'hi' }];

describe('request validation and routing', () => {
  let gw;
  before(async () => {
    gw = await startGateway(['--max-request-bytes', '1024', '--max-header-bytes', '2048']);
  });
  after(() => gw?.stop());

  test('malformed JSON → 400 invalid_request_error', async () => {
    await assertError(await postChat(gw, '{"model": "echo", "messages": ['), 400, { type: 'invalid_request_error' });
    await assertError(await postChat(gw, 'not json at all'), 400, { type: 'invalid_request_error' });
  });

  test('a JSON body that is not an object → 400', async () => {
    await assertError(await postChat(gw, '[1,2,3]'), 400, { type: 'invalid_request_error' });
  });

  test('an empty body → 400', async () => {
    await assertError(await postChat(gw, ''), 400, { type: 'invalid_request_error' });
  });

  test('missing model → 400 param "model"', async () => {
    await assertError(await postChat(gw, { messages: user }), 400, { type: 'invalid_request_error', param: 'model' });
  });

  test('model of the wrong type → 400 param "model"', async () => {
    await assertError(await postChat(gw, { model: 7, messages: user }), 400, { param: 'model' });
  });

  test('an empty model → 400 param "model"', async () => {
    await assertError(await postChat(gw, { model: '', messages: user }), 400, { param: 'model' });
  });

  test('messages that are not an array → 400 param "messages"', async () => {
    await assertError(await postChat(gw, { model: 'echo', messages: 'hi' }), 400, { param: 'messages' });
  });

  test('missing messages → 400 param "messages"', async () => {
    await assertError(await postChat(gw, { model: 'echo' }), 400, { type: 'invalid_request_error', param: 'messages' });
  });

  test('empty messages → 400 param "messages"', async () => {
    await assertError(await postChat(gw, { model: 'echo', messages: [] }), 400, { param: 'messages' });
  });

  test('malformed JSON on a streaming request is still a plain 400', async () => {
    const res = await postChat(gw, '{"model":"echo","stream":true,');
    await assertError(res, 400, { type: 'invalid_request_error' });
  });

  test('unknown model → 404 model_not_found', async () => {
    await assertError(await postChat(gw, chatBody('no-such-model', 'hi')), 404, { code: 'model_not_found' });
    await assertError(await postChat(gw, chatBody('no-such-model', 'hi', { stream: true })), 404, { code: 'model_not_found' });
  });

  test('anthropic/x with no anthropic provider → 404 model_not_found', async () => {
    await assertError(await postChat(gw, chatBody('anthropic/claude-x', 'hi')), 404, { code: 'model_not_found' });
  });

  test('openai/x with no openai provider → 404 model_not_found', async () => {
    await assertError(await postChat(gw, chatBody('openai/gpt-x', 'hi')), 404, { code: 'model_not_found' });
  });

  test('unknown path → 404', async () => {
    await assertError(await fetch(`${gw.url}/v1/nothing-here`), 404);
    await assertError(await fetch(`${gw.url}/`), 404);
    await assertError(await fetch(`${gw.url}/v2/chat/completions`, { method: 'POST', body: '{}' }), 404);
  });

  test('wrong method → 405', async () => {
    await assertError(await fetch(`${gw.url}/v1/chat/completions`), 405);
    await assertError(await fetch(`${gw.url}/v1/models`, { method: 'POST', body: '{}' }), 405);
    await assertError(await fetch(`${gw.url}/v1/chat/completions`, { method: 'DELETE' }), 405);
  });

  test('a body at the limit is accepted; one byte over → 413', async () => {
    const make = (size) => {
      const base = JSON.stringify({ model: 'echo', messages: [{ role: 'user', content: '' }] });
      const body = JSON.stringify({ model: 'echo', messages: [{ role: 'user', content: 'x'.repeat(size - base.length) }] });
      assert.equal(Buffer.byteLength(body), size);
      return body;
    };
    const ok = await postChat(gw, make(1024));
    assert.equal(ok.status, 200, await ok.clone().text());
    await ok.arrayBuffer();
    await assertError(await postChat(gw, make(1025)), 413);
  });

  test('a much larger body → 413 (fetch and raw)', async () => {
    const big = JSON.stringify(chatBody('echo', 'y'.repeat(200_000)));
    await assertError(await postChat(gw, big), 413);
    const r = await rawHttp(
      gw.port,
      `POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${big.length}\r\n\r\n${big}`,
    );
    assertRawError(r, 413);
  });

  test('a chunked body over the limit → 413', async () => {
    const big = JSON.stringify(chatBody('echo', 'z'.repeat(3000)));
    const chunks = [big.slice(0, 1000), big.slice(1000, 2000), big.slice(2000)]
      .map((c) => `${c.length.toString(16)}\r\n${c}\r\n`)
      .join('');
    const r = await rawHttp(
      gw.port,
      `POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n${chunks}0\r\n\r\n`,
    );
    assertRawError(r, 413);
  });

  test('a header block over --max-header-bytes → 431', async () => {
    const r = await rawHttp(gw.port, `GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Filler: ${'a'.repeat(4000)}\r\n\r\n`);
    assertRawError(r, 431);
    const many = Array.from({ length: 100 }, (_, i) => `X-H${i}: ${'b'.repeat(40)}\r\n`).join('');
    const r2 = await rawHttp(gw.port, `GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n${many}\r\n`);
    assertRawError(r2, 431);
    await assertError(await fetch(`${gw.url}/health`, { headers: { 'x-filler': 'c'.repeat(4000) } }), 431);
  });

  test('headers under the limit are fine', async () => {
    const r = await rawHttp(gw.port, `GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Filler: ${'a'.repeat(1000)}\r\nConnection: close\r\n\r\n`);
    assert.equal(r.status, 200, r.raw);
    assert.deepEqual(JSON.parse(r.body), { status: 'ok' });
  });

  test('a malformed request line → 400', async () => {
    const r = await rawHttp(gw.port, 'THIS IS NOT HTTP\r\n\r\n');
    assert.equal(r.status, 400, r.raw);
  });

  test('requests two parsers could frame differently get a 400 and the connection ends', async () => {
    // Each is followed by a request a lenient parser would find inside it or after it; only the
    // 400 may come back, then the close.
    const smuggled = 'GET /v1/models HTTP/1.1\r\nHost: x\r\n\r\n';
    const heads = [
      'Content-Length: 4\r\nTransfer-Encoding: chunked\r\n',
      'Transfer-Encoding: gzip, chunked\r\n',
      'Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n',
      'Content-Length: 4\r\nContent-Length: 40\r\n',
      'Content-Length : 4\r\n',
      'X-A: 1\r\n Transfer-Encoding: chunked\r\n',
    ];
    for (const extra of heads) {
      const conn = await rawConnect(gw.port);
      conn.write(`POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n${extra}\r\n0\r\n\r\n${smuggled}`);
      await conn.waitClosed();
      const received = conn.data();
      assert.match(received, /^HTTP\/1\.1 400 /, extra);
      assert.match(received, /\r\nconnection: close\r\n/i, extra);
      assert.equal(received.split('HTTP/1.1 ').length - 1, 1, `one response only for ${JSON.stringify(extra)}: ${received}`);
    }
  });

  test('a malformed chunked body that arrives after the head is answered 400 too', async () => {
    const conn = await rawConnect(gw.port);
    conn.write('POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nTransfer-Encoding: chunked\r\n\r\n');
    await conn.waitData(/HTTP\/1\.1 100 Continue\r\n\r\n/); // the head is parsed: the body comes on its own
    conn.write('zz\r\n');
    await conn.waitClosed();
    assert.match(conn.data(), /HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 400 /);
  });

  test("error responses echo the client's x-request-id, and the access log names it", async () => {
    const big = JSON.stringify(chatBody('echo', 'q'.repeat(2000)));
    const cases = [
      ['rid-400', () => postChat(gw, '{bad json', { headers: { 'x-request-id': 'rid-400' } }), 400],
      ['rid-404', () => fetch(`${gw.url}/v1/unknown`, { headers: { 'x-request-id': 'rid-404' } }), 404],
      ['rid-404-model', () => postChat(gw, chatBody('nope', 'x'), { headers: { 'x-request-id': 'rid-404-model' } }), 404],
      ['rid-405', () => fetch(`${gw.url}/v1/chat/completions`, { headers: { 'x-request-id': 'rid-405' } }), 405],
      ['rid-413', () => postChat(gw, big, { headers: { 'x-request-id': 'rid-413' } }), 413],
    ];
    const wrong = [];
    for (const [id, send, status] of cases) {
      const res = await send();
      await res.arrayBuffer();
      assert.equal(res.status, status);
      if (res.headers.get('x-request-id') !== id) wrong.push(`${status}: sent ${id}, got ${res.headers.get('x-request-id')}`);
    }
    assert.deepEqual(wrong, [], 'every error response echoes the client id');
    for (const [id] of cases) await gw.waitForOutput(new RegExp(`request_id=${id}\\b`));
  });

  test('rejected requests (413, 431, malformed) carry a generated x-request-id that the log names', async () => {
    const big = JSON.stringify(chatBody('echo', 'q'.repeat(2000)));
    const responses = [
      await rawHttp(gw.port, `POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: ${big.length}\r\n\r\n${big}`),
      await rawHttp(gw.port, `GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Filler: ${'a'.repeat(4000)}\r\n\r\n`),
      await rawHttp(gw.port, 'NOT HTTP AT ALL\r\n\r\n'),
    ];
    assert.deepEqual(responses.map((r) => r.status), [413, 431, 400]);
    for (const r of responses) {
      const id = r.headers['x-request-id'];
      assert.match(id ?? '', /^[0-9a-f]{32}$/, r.raw);
      await gw.waitForOutput(new RegExp(`request_id=${id}\\b`));
    }
  });

  test('the gateway keeps serving after all of the above', async () => {
    const res = await postChat(gw, chatBody('echo', 'still alive'));
    assert.equal(res.status, 200);
    assert.equal((await res.json()).choices[0].message.content, 'still alive');
  });
});

describe('client authentication (GATEWAY_API_KEYS)', () => {
  let gw;
  before(async () => {
    gw = await startGateway([], { GATEWAY_API_KEYS: 'key-one,key-two' });
  });
  after(() => gw?.stop());

  test('no Authorization → 401 on /v1/*', async () => {
    await assertError(await fetch(`${gw.url}/v1/models`), 401);
    await assertError(await fetch(`${gw.url}/v1/models/echo`), 401);
    await assertError(await postChat(gw, chatBody('echo', 'hi')), 401);
    await assertError(await postChat(gw, chatBody('echo', 'hi', { stream: true })), 401);
  });

  test('a wrong key or scheme → 401', async () => {
    for (const authorization of ['Bearer key-three', 'Bearer key-one-and-more', 'Bearer ', 'key-one', 'Basic a2V5LW9uZTo=', 'Bearer key-one,key-two']) {
      await assertError(await postChat(gw, chatBody('echo', 'hi'), { headers: { authorization } }), 401);
    }
  });

  test('each configured key is accepted', async () => {
    for (const key of ['key-one', 'key-two']) {
      const res = await postChat(gw, chatBody('echo', `with ${key}`), { headers: { authorization: `Bearer ${key}` } });
      assert.equal(res.status, 200);
      assert.equal((await res.json()).choices[0].message.content, `with ${key}`);
      const models = await fetch(`${gw.url}/v1/models`, { headers: { authorization: `Bearer ${key}` } });
      assert.equal(models.status, 200);
      await models.arrayBuffer();
    }
  });

  test('/health stays open', async () => {
    const res = await fetch(`${gw.url}/health`);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { status: 'ok' });
  });
});

describe('authentication off', () => {
  test('without GATEWAY_API_KEYS any client is served, with or without a key', async (t) => {
    const gw = await startGateway();
    t.after(() => gw.stop());
    for (const headers of [{}, { authorization: 'Bearer anything' }]) {
      const res = await postChat(gw, chatBody('echo', 'open'), { headers });
      assert.equal(res.status, 200);
      assert.equal((await res.json()).choices[0].message.content, 'open');
    }
  });
});

/** Starts a failing mock and a gateway in front of it (both stopped after the test). */
async function failing(t, mockFlags, gwFlags = [], env = {}) {
  const mock = await startMock(mockFlags);
  t.after(() => mock.stop());
  const gw = await startGateway(gwFlags, mockProviderEnv(mock, env));
  t.after(() => gw.stop());
  return { mock, gw };
}

describe('upstream failures', () => {
  for (const status of [400, 401, 403, 404, 422]) {
    test(`upstream ${status} → ${status} with the upstream message`, async (t) => {
      const { gw, mock } = await failing(t, ['--fail-status', String(status)]);
      const err = await assertError(await postChat(gw, chatBody('openai/mock-model', 'hi')), status);
      assert.match(err.message, /mock-backend failure injected/);
      assert.equal((await mockStats(mock)).requests, 1, 'the request reached the upstream once');
    });
  }

  test('upstream 401 for a wrong OPENAI_API_KEY → 401 with the upstream message', async (t) => {
    const { gw } = await failing(t, ['--api-key', 'sk-right'], [], { OPENAI_API_KEY: 'sk-wrong' });
    const err = await assertError(await postChat(gw, chatBody('openai/mock-model', 'hi')), 401);
    assert.match(err.message, /Incorrect API key provided/);
  });

  test('upstream 429 → 429 with Retry-After passed on (plain and streaming)', async (t) => {
    const { gw } = await failing(t, ['--fail-status', '429', '--retry-after', '7']);
    const res = await postChat(gw, chatBody('openai/mock-model', 'hi'));
    assert.equal(res.headers.get('retry-after'), '7');
    const err = await assertError(res, 429);
    assert.match(err.message, /mock-backend failure injected/);

    const stream = await postChat(gw, chatBody('openai/mock-model', 'hi', { stream: true }));
    assert.equal(stream.headers.get('retry-after'), '7');
    await assertError(stream, 429);
  });

  for (const status of [500, 503]) {
    test(`upstream ${status} → 502 (plain and streaming)`, async (t) => {
      const { gw } = await failing(t, ['--fail-status', String(status)]);
      await assertError(await postChat(gw, chatBody('openai/mock-model', 'hi')), 502);
      await assertError(await postChat(gw, chatBody('openai/mock-model', 'hi', { stream: true })), 502);
    });
  }

  test('upstream unreachable → 502 (plain and streaming)', async (t) => {
    const port = await closedPort();
    const gw = await startGateway([], { OPENAI_BASE_URL: `http://127.0.0.1:${port}/v1`, OPENAI_API_KEY: 'sk-x' });
    t.after(() => gw.stop());
    await assertError(await postChat(gw, chatBody('openai/mock-model', 'hi')), 502);
    await assertError(await postChat(gw, chatBody('openai/mock-model', 'hi', { stream: true })), 502);
    // The gateway itself stays healthy.
    assert.equal((await fetch(`${gw.url}/health`)).status, 200);
  });

  test('upstream slower than --first-byte-timeout → 504 (plain and streaming)', async (t) => {
    const { gw, mock } = await failing(t, ['--ttft-ms', '3000'], ['--first-byte-timeout', '0.3']);
    const started = Date.now();
    await assertError(await postChat(gw, chatBody('openai/mock-model', 'hi')), 504);
    await assertError(await postChat(gw, chatBody('openai/mock-model', 'hi', { stream: true })), 504);
    assert.ok(Date.now() - started < 2500, `both timed out well before the mock answered (${Date.now() - started} ms)`);
    assert.equal((await mockStats(mock)).requests, 2);
    // The abandoned upstream requests are cancelled (connections closed), not left running.
    await waitFor(async () => {
      const s = await mockStats(mock);
      return s.cancelled === 2 && s.in_flight === 0;
    }, { timeout: 2000, message: 'the mock to see both timed-out requests cancelled' });
  });

  test('an upstream that accepts but never answers → 504 after --first-byte-timeout', async (t) => {
    const silent = await occupiedPort();
    t.after(() => silent.close());
    const gw = await startGateway(['--first-byte-timeout', '0.3'], {
      OPENAI_BASE_URL: `http://127.0.0.1:${silent.port}/v1`,
      OPENAI_API_KEY: 'sk-x',
    });
    t.after(() => gw.stop());
    await assertError(await postChat(gw, chatBody('openai/mock-model', 'hi')), 504);
  });

  test('an unlisted unprefixed model with a provider configured → 404 model_not_found', async (t) => {
    const { gw, mock } = await failing(t, ['--models', 'listed-model']);
    await waitForModel(gw, 'listed-model');
    await assertError(await postChat(gw, chatBody('not-listed-model', 'hi')), 404, { code: 'model_not_found' });
    assert.equal((await mockStats(mock)).requests, 0, 'nothing was sent upstream');
  });
});
