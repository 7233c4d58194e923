// Chat completions (echo model and pass-through to the mock backend), streaming, model listing,
// request ids.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startGateway,
  startMock,
  mockStats,
  mockProviderEnv,
  postChat,
  chatBody,
  readSse,
  parseEvents,
  assembleContent,
  waitForModel,
  waitFor,
  rawHttp,
  rawConnect,
} from '../lib/harness.mjs';

const HEX32 = /^[0-9a-f]{32}$/;

/** Checks the common shape of a non-streaming completion and returns its content. */
function assertCompletion(body) {
  assert.equal(body.object, 'chat.completion');
  assert.equal(typeof body.id, 'string');
  assert.ok(body.id.length > 0);
  assert.equal(typeof body.created, 'number');
  assert.equal(body.choices.length, 1);
  assert.equal(body.choices[0].index, 0);
  assert.equal(body.choices[0].message.role, 'assistant');
  assert.equal(body.choices[0].finish_reason, 'stop');
  return body.choices[0].message.content;
}

/**
 * Checks an OpenAI chat stream: role chunk first, content deltas, one finish chunk, optional usage
 * chunk, [DONE] last, one id throughout. Returns {chunks, content, deltas, usage}.
 */
function assertStream(events, { usage = false } = {}) {
  assert.ok(events.length >= 3, `at least role, finish and [DONE]: ${JSON.stringify(events)}`);
  assert.equal(events.at(-1), '[DONE]', 'the stream ends with [DONE]');
  assert.equal(events.filter((e) => e === '[DONE]').length, 1, 'exactly one [DONE]');
  const chunks = parseEvents(events.slice(0, -1));
  for (const c of chunks) {
    assert.equal(c.error, undefined, `no error event: ${JSON.stringify(c)}`);
    assert.equal(c.object, 'chat.completion.chunk');
    assert.equal(c.id, chunks[0].id, 'one id for the whole stream');
  }
  assert.equal(chunks[0].choices[0].delta.role, 'assistant', 'the first chunk carries the role');
  const withChoices = chunks.filter((c) => c.choices.length > 0);
  const finishIdx = withChoices.findIndex((c) => c.choices[0].finish_reason !== null && c.choices[0].finish_reason !== undefined);
  assert.notEqual(finishIdx, -1, 'a finish chunk');
  assert.equal(withChoices[finishIdx].choices[0].finish_reason, 'stop');
  assert.equal(finishIdx, withChoices.length - 1, 'the finish chunk is the last chunk with choices');
  const deltas = withChoices
    .slice(0, finishIdx)
    .map((c) => c.choices[0].delta.content)
    .filter((d) => d !== undefined && d !== '');
  const usageChunks = chunks.filter((c) => c.usage);
  let usageValue;
  if (usage) {
    assert.equal(usageChunks.length, 1, 'one usage chunk');
    const u = usageChunks[0];
    assert.equal(u, chunks.at(-1), 'the usage chunk comes last, after the finish chunk');
    assert.deepEqual(u.choices, []);
    assert.equal(u.usage.total_tokens, u.usage.prompt_tokens + u.usage.completion_tokens);
    assert.ok(u.usage.completion_tokens > 0);
    usageValue = u.usage;
  } else {
    assert.equal(usageChunks.filter((c) => c.choices.length === 0).length, 0, 'no usage chunk unless asked');
  }
  return { chunks, content: assembleContent(chunks), deltas, usage: usageValue };
}

function assertSseHeaders(res) {
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type'), /^text\/event-stream/);
  assert.match(res.headers.get('cache-control') ?? '', /no-cache/);
}

describe('echo model (no provider configured)', () => {
  let gw;
  before(async () => {
    gw = await startGateway();
  });
  after(() => gw?.stop());

  test('GET /health', async () => {
    const res = await fetch(`${gw.url}/health`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type'), /application\/json/);
    assert.deepEqual(await res.json(), { status: 'ok' });
  });

  test('non-streaming echo answers with the last user message', async () => {
    const res = await postChat(gw, {
      model: 'echo',
      messages: [
        { role: 'system', content: 'You are terse.' },
        { role: 'user', content: 'first question' },
        { role: 'assistant', content: 'first answer' },
        { role: 'user', content: 'Hello there world' },
      ],
    });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type'), /application\/json/);
    const body = await res.json();
    assert.equal(assertCompletion(body), 'Hello there world');
    assert.equal(body.model, 'echo');
  });

  test('non-streaming echo preserves non-ASCII text', async () => {
    const text = 'héllo wörld 👋 你好';
    const res = await postChat(gw, chatBody('echo', text));
    assert.equal(res.status, 200);
    assert.equal(assertCompletion(await res.json()), text);
  });

  test('streaming echo: role first, word deltas, finish, [DONE]', async () => {
    const res = await postChat(gw, chatBody('echo', 'Hello there world', { stream: true }));
    assertSseHeaders(res);
    const { content, deltas, chunks } = assertStream(await readSse(res));
    assert.deepEqual(deltas, ['Hello', ' there', ' world']);
    assert.equal(content, 'Hello there world');
    assert.equal(chunks[0].model, 'echo');
  });

  test('streaming echo with include_usage ends with a usage chunk', async () => {
    const res = await postChat(
      gw,
      chatBody('echo', 'Hello there world', { stream: true, stream_options: { include_usage: true } }),
    );
    assertSseHeaders(res);
    const { content, usage } = assertStream(await readSse(res), { usage: true });
    assert.equal(content, 'Hello there world');
    assert.equal(usage.completion_tokens, 3);
  });

  test('streaming with include_usage false has no usage chunk', async () => {
    const res = await postChat(
      gw,
      chatBody('echo', 'one two', { stream: true, stream_options: { include_usage: false } }),
    );
    assertSseHeaders(res);
    assert.equal(assertStream(await readSse(res)).content, 'one two');
  });

  test('a chunked request body is accepted', async () => {
    const body = JSON.stringify(chatBody('echo', 'sent in chunks'));
    const parts = [body.slice(0, 10), body.slice(10, 30), body.slice(30)];
    const chunked = parts.map((p) => `${Buffer.byteLength(p).toString(16)}\r\n${p}\r\n`).join('') + '0\r\n\r\n';
    const r = await rawHttp(
      gw.port,
      `POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n${chunked}`,
    );
    assert.equal(r.status, 200, r.raw);
    assert.equal(assertCompletion(JSON.parse(r.body)), 'sent in chunks');
  });

  test('Expect: 100-continue gets "100 Continue" before the body is sent, then the answer', async () => {
    const body = JSON.stringify(chatBody('echo', 'after continue'));
    const conn = await rawConnect(gw.port);
    try {
      conn.write(`POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nExpect: 100-continue\r\nX-Request-Id: continue-1\r\n\r\n`);
      await conn.waitData(/^HTTP\/1\.1 100 Continue\r\n\r\n/);
      assert.doesNotMatch(conn.data(), /200 OK/);
      conn.write(body);
      const m = await conn.waitData(/HTTP\/1\.1 200 OK\r\n[\s\S]*?\r\n\r\n([\s\S]*"after continue"[\s\S]*\})$/);
      assert.match(conn.data(), /x-request-id: continue-1\r\n/i);
      assert.equal(assertCompletion(JSON.parse(m[1])), 'after continue');
    } finally {
      conn.destroy();
    }
  });

  test('"stream": false is a plain JSON response', async () => {
    const res = await postChat(gw, chatBody('echo', 'not streamed', { stream: false }));
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type'), /application\/json/);
    assert.equal(assertCompletion(await res.json()), 'not streamed');
  });

  test('GET /v1/models lists echo', async () => {
    const res = await fetch(`${gw.url}/v1/models`);
    assert.equal(res.status, 200);
    const body = await res.json();
    assert.equal(body.object, 'list');
    assert.equal(body.data.length, 1);
    const [m] = body.data;
    assert.equal(m.id, 'echo');
    assert.equal(m.object, 'model');
    assert.equal(typeof m.created, 'number');
    assert.equal(m.owned_by, 'llm-gateway');
  });

  test('GET /v1/models/echo returns the model; an unknown id is 404', async () => {
    const hit = await fetch(`${gw.url}/v1/models/echo`);
    assert.equal(hit.status, 200);
    const m = await hit.json();
    assert.equal(m.id, 'echo');
    assert.equal(m.object, 'model');
    assert.equal(m.owned_by, 'llm-gateway');

    const miss = await fetch(`${gw.url}/v1/models/no-such-model`);
    assert.equal(miss.status, 404);
    const err = await miss.json();
    assert.equal(typeof err.error.message, 'string');
  });

  test('x-request-id: generated (32 hex, unique) when absent', async () => {
    const a = await fetch(`${gw.url}/health`);
    const b = await postChat(gw, chatBody('echo', 'hi'));
    const c = await fetch(`${gw.url}/nope`);
    await Promise.all([a.arrayBuffer(), b.arrayBuffer(), c.arrayBuffer()]);
    const ids = [a, b, c].map((r) => r.headers.get('x-request-id'));
    for (const id of ids) assert.match(id ?? '', HEX32);
    assert.equal(new Set(ids).size, 3, 'ids are unique');
  });

  test("x-request-id: the client's id is echoed back and logged", async () => {
    const id = 'client-supplied-id-42';
    const res = await postChat(gw, chatBody('echo', 'hi'), { headers: { 'x-request-id': id } });
    assert.equal(res.status, 200);
    await res.arrayBuffer();
    assert.equal(res.headers.get('x-request-id'), id);
    const stream = await postChat(gw, chatBody('echo', 'hi', { stream: true }), { headers: { 'x-request-id': 'stream-id-43' } });
    assert.equal(stream.headers.get('x-request-id'), 'stream-id-43');
    await readSse(stream);
    await gw.waitForOutput(/request_id=client-supplied-id-42\b/);
    await gw.waitForOutput(/request_id=stream-id-43\b/);
  });
});

describe('pass-through to an OpenAI-compatible upstream (mock backend)', () => {
  let mock;
  let gw;
  before(async () => {
    mock = await startMock(['--models', 'mock-model,mock-2', '--api-key', 'sk-test-key']);
    gw = await startGateway([], mockProviderEnv(mock, { ENABLE_ECHO_MODEL: '1' }));
  });
  after(() => Promise.all([gw?.stop(), mock?.stop()]));

  test('prefixed model works immediately (non-streaming)', async () => {
    const res = await postChat(gw, chatBody('openai/mock-model', 'Hello there world'));
    assert.equal(res.status, 200, await res.clone().text());
    assert.equal(assertCompletion(await res.json()), 'Hello there world');
  });

  test("the upstream's rate-limit headers are relayed (plain and streaming)", async () => {
    for (const stream of [false, true]) {
      const res = await postChat(gw, chatBody('openai/mock-model', 'hi', { stream }));
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('x-ratelimit-remaining-requests'), '9999');
      assert.equal(res.headers.get('openai-processing-ms'), '1');
      // Framing headers are the gateway's own, never copied from upstream.
      assert.equal(res.headers.get('content-type').split(';')[0],
                   stream ? 'text/event-stream' : 'application/json');
      await res.arrayBuffer();
    }
  });

  test('the body is forwarded byte-for-byte except the model value', async () => {
    const raw =
      '{ "messages" : [ {"role":"user","content":"Keep  my   spacing"} ],\n' +
      '  "model":"openai/mock-model", "foo_bar": {"x":1}, "temperature": 0.25, "n":1 }';
    const res = await postChat(gw, raw, { headers: { 'x-request-id': 'forward-check-1' } });
    assert.equal(res.status, 200, await res.clone().text());
    assert.equal(res.headers.get('x-request-id'), 'forward-check-1');
    assert.equal(assertCompletion(await res.json()), 'Keep  my   spacing');

    const { last_request: req } = await mockStats(mock);
    assert.equal(req.path, '/v1/chat/completions');
    const sent = JSON.parse(req.body);
    assert.equal(sent.model, 'mock-model');
    assert.deepEqual(sent.foo_bar, { x: 1 });
    assert.equal(sent.temperature, 0.25);
    assert.equal(req.body, raw.replace('"openai/mock-model"', '"mock-model"'));
    assert.equal(req.headers['x-request-id'], 'forward-check-1');
    assert.equal(req.headers.authorization, 'Bearer sk-test-key');
  });

  test('only the top-level model value is rewritten', async () => {
    const cases = [
      // the model string also appears inside a message and in a nested object before the real one
      '{"metadata":{"model":"openai/mock-model"},"messages":[{"role":"user","content":"say \\"model\\":\\"openai/mock-model\\" now"}],"model":"openai/mock-model","model_hint":"openai/mock-model"}',
      // JSON-escaped slash in the model value
      '{"model":"openai\\/mock-model","messages":[{"role":"user","content":"escaped"}]}',
    ];
    const expected = [
      '{"metadata":{"model":"openai/mock-model"},"messages":[{"role":"user","content":"say \\"model\\":\\"openai/mock-model\\" now"}],"model":"mock-model","model_hint":"openai/mock-model"}',
      '{"model":"mock-model","messages":[{"role":"user","content":"escaped"}]}',
    ];
    for (let i = 0; i < cases.length; i++) {
      const res = await postChat(gw, cases[i]);
      assert.equal(res.status, 200, await res.clone().text());
      const content = assertCompletion(await res.json());
      assert.equal(content, JSON.parse(cases[i]).messages[0].content);
      const { last_request: req } = await mockStats(mock);
      assert.equal(req.body, expected[i]);
    }
  });

  test('streaming requests are forwarded the same way, asking for usage (unknown fields, request id)', async () => {
    const raw = '{"model":"openai/mock-model","stream":true,"foo_bar":{"x":1},"messages":[{"role":"user","content":"s t"}]}';
    const res = await postChat(gw, raw, { headers: { 'x-request-id': 'stream-forward-1' } });
    assertSseHeaders(res);
    assert.equal(res.headers.get('x-request-id'), 'stream-forward-1');
    const events = await readSse(res);
    assert.equal(assertStream(events).content, 's t');
    assert.ok(!events.some((e) => e.includes('"usage"')), 'the client did not ask for usage: none relayed');
    const { last_request: req } = await mockStats(mock);
    // Byte for byte but for the model and the usage request the gateway adds to count tokens.
    assert.equal(
      req.body,
      raw.replace('"openai/mock-model"', '"mock-model","stream_options":{"include_usage":true}'),
    );
    assert.equal(req.headers['x-request-id'], 'stream-forward-1');
  });

  test('a 1 MiB request body reaches the upstream intact', async () => {
    const text = Array.from({ length: 1 << 17 }, (_, i) => `w${i % 1000}`.padEnd(7, '.')).join(' ');
    const raw = JSON.stringify({ model: 'openai/mock-model', messages: [{ role: 'user', content: text }] });
    const res = await postChat(gw, raw);
    assert.equal(res.status, 200, await res.clone().text());
    assert.equal(assertCompletion(await res.json()), text);
    const { last_request: req } = await mockStats(mock);
    assert.equal(req.body.length, raw.length - 'openai/'.length);
    assert.equal(req.body, raw.replace('"openai/mock-model"', '"mock-model"'));
  });
  test('a generated request id is forwarded upstream too', async () => {
    const res = await postChat(gw, chatBody('openai/mock-model', 'id please'));
    assert.equal(res.status, 200);
    await res.arrayBuffer();
    const id = res.headers.get('x-request-id');
    assert.match(id ?? '', HEX32);
    const { last_request: req } = await mockStats(mock);
    assert.equal(req.headers['x-request-id'], id);
  });

  test("the client's Authorization is not forwarded: the upstream gets OPENAI_API_KEY", async () => {
    const res = await postChat(gw, chatBody('openai/mock-model', 'auth'), {
      headers: { authorization: 'Bearer client-side-secret' },
    });
    assert.equal(res.status, 200);
    await res.arrayBuffer();
    const { last_request: req } = await mockStats(mock);
    assert.equal(req.headers.authorization, 'Bearer sk-test-key');
  });

  test('prefixed model, streaming', async () => {
    const res = await postChat(
      gw,
      chatBody('openai/mock-model', 'Hello there streaming world', { stream: true, stream_options: { include_usage: true } }),
    );
    assertSseHeaders(res);
    const { content, deltas } = assertStream(await readSse(res), { usage: true });
    assert.equal(content, 'Hello there streaming world');
    assert.deepEqual(deltas, ['Hello', ' there', ' streaming', ' world']);
    const { last_request: req } = await mockStats(mock);
    const sent = JSON.parse(req.body);
    assert.equal(sent.model, 'mock-model');
    assert.equal(sent.stream, true);
  });

  test('/v1/models is the union of echo and the upstream models', async () => {
    await waitForModel(gw, 'mock-2');
    const res = await fetch(`${gw.url}/v1/models`);
    assert.equal(res.status, 200);
    const body = await res.json();
    assert.equal(body.object, 'list');
    const byId = Object.fromEntries(body.data.map((m) => [m.id, m]));
    assert.deepEqual(Object.keys(byId).sort(), ['echo', 'mock-2', 'mock-model']);
    assert.equal(byId.echo.owned_by, 'llm-gateway');
    assert.equal(byId['mock-model'].owned_by, 'openai');
    assert.equal(byId['mock-2'].owned_by, 'openai');
    for (const m of body.data) {
      assert.equal(m.object, 'model');
      assert.equal(typeof m.created, 'number');
    }
  });

  test('GET /v1/models/{id} for an upstream model', async () => {
    await waitForModel(gw, 'mock-model');
    const res = await fetch(`${gw.url}/v1/models/mock-model`);
    assert.equal(res.status, 200);
    const m = await res.json();
    assert.equal(m.id, 'mock-model');
    assert.equal(m.object, 'model');
    assert.equal(m.owned_by, 'openai');
    const miss = await fetch(`${gw.url}/v1/models/mock-3`);
    assert.equal(miss.status, 404);
    await miss.arrayBuffer();
  });

  test('unprefixed upstream model once listed (non-streaming and streaming)', async () => {
    await waitForModel(gw, 'mock-2');
    const res = await postChat(gw, chatBody('mock-2', 'plain unprefixed'));
    assert.equal(res.status, 200, await res.clone().text());
    assert.equal(assertCompletion(await res.json()), 'plain unprefixed');
    let { last_request: req } = await mockStats(mock);
    assert.equal(JSON.parse(req.body).model, 'mock-2');

    const stream = await postChat(gw, chatBody('mock-model', 'streamed unprefixed', { stream: true }));
    assertSseHeaders(stream);
    assert.equal(assertStream(await readSse(stream)).content, 'streamed unprefixed');
    ({ last_request: req } = await mockStats(mock));
    assert.equal(JSON.parse(req.body).model, 'mock-model');
  });

  test('echo is still served next to the provider with ENABLE_ECHO_MODEL=1', async () => {
    const before = (await mockStats(mock)).requests;
    const res = await postChat(gw, chatBody('echo', 'local answer'));
    assert.equal(res.status, 200);
    assert.equal(assertCompletion(await res.json()), 'local answer');
    assert.equal((await mockStats(mock)).requests, before, 'echo does not reach the upstream');
  });

  test('concurrent requests all complete with their own content', async () => {
    const n = 8;
    const results = await Promise.all(
      Array.from({ length: n }, async (_, i) => {
        const res = await postChat(gw, chatBody('openai/mock-model', `request number ${i}`, { stream: i % 2 === 0 }));
        assert.equal(res.status, 200);
        if (i % 2 === 0) return assertStream(await readSse(res)).content;
        return assertCompletion(await res.json());
      }),
    );
    assert.deepEqual(results, Array.from({ length: n }, (_, i) => `request number ${i}`));
    await waitFor(async () => (await mockStats(mock)).in_flight === 0, { message: 'mock idle' });
  });
});

describe('large payloads through the gateway', () => {
  let mock;
  let gw;
  before(async () => {
    mock = await startMock(['--tokens', '3000']);
    gw = await startGateway([], mockProviderEnv(mock));
  });
  after(() => Promise.all([gw?.stop(), mock?.stop()]));

  test('a 3000-chunk stream is relayed completely and in order', async () => {
    const res = await postChat(
      gw,
      chatBody('openai/mock-model', 'w0 w1 w2 w3 w4 w5 w6 w7 w8 w9', { stream: true, stream_options: { include_usage: true } }),
    );
    assertSseHeaders(res);
    const { deltas, usage, content } = assertStream(await readSse(res), { usage: true });
    assert.equal(deltas.length, 3000);
    assert.equal(usage.completion_tokens, 3000);
    // The mock cycles through the words of the message: the sequence must come through in order.
    const words = deltas.map((d) => d.trim());
    for (let i = 0; i < words.length; i++) assert.equal(words[i], `w${i % 10}`, `delta ${i}`);
    const plain = await postChat(gw, chatBody('openai/mock-model', 'w0 w1 w2 w3 w4 w5 w6 w7 w8 w9'));
    assert.equal(plain.status, 200);
    assert.equal(assertCompletion(await plain.json()), content);
  });
});

describe('OPENAI_API_KEY and a key-protected mock', () => {
  test('the configured key reaches the mock as a Bearer token and is accepted', async (t) => {
    const mock = await startMock(['--api-key', 'sk-secret-123']);
    t.after(() => mock.stop());
    const gw = await startGateway([], mockProviderEnv(mock, { OPENAI_API_KEY: 'sk-secret-123' }));
    t.after(() => gw.stop());
    // The background model-list fetch uses the key too: the unprefixed name resolves.
    await waitForModel(gw, 'mock-model');
    const res = await postChat(gw, chatBody('mock-model', 'authorised'));
    assert.equal(res.status, 200, await res.clone().text());
    assert.equal(assertCompletion(await res.json()), 'authorised');
    const { last_request: req } = await mockStats(mock);
    assert.equal(req.headers.authorization, 'Bearer sk-secret-123');
  });
});
