// POST /v1/messages (Anthropic's Messages API inbound): passed through to Anthropic, translated to
// chat for an OpenAI-compatible upstream, in server mode and through controller -> worker, with
// Anthropic-shaped errors for everything the gateway itself refuses.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';

import {
  mockProviderEnv, mockStats, rawHttp, readSse, scrapeSettled, startController, startGateway, startMock,
  startWorker, waitFor, waitForModel, waitForWorkers,
} from '../lib/harness.mjs';

const PROVIDER_KEY = 'sk-ant-provider';
const GATEWAY_KEY = 'gw-client-key';

function postMessages(gateway, body, headers = {}, path = '/v1/messages', signal = undefined) {
  return fetch(`${gateway.url}${path}`, {
    method: 'POST',
    signal,
    headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

function messagesBody(model, text, extra = {}) {
  return { model, max_tokens: 64, messages: [{ role: 'user', content: text }], ...extra };
}

/** An Anthropic error response: its status and body shape checked, the error object returned. */
async function anthropicError(res, status, type) {
  const text = await res.text();
  assert.equal(res.status, status, text);
  const body = JSON.parse(text);
  assert.equal(body.type, 'error', text);
  assert.equal(body.error.type, type, text);
  assert.equal(typeof body.error.message, 'string');
  return body.error;
}

/** The SSE stream's events as [type, data] pairs, both from each event's own lines. */
async function messageEvents(res) {
  const text = await res.text();
  return text.split('\n\n').filter((block) => block.trim()).map((block) => {
    const type = block.split('\n').find((line) => line.startsWith('event: '))?.slice(7);
    const data = JSON.parse(block.split('\n').find((line) => line.startsWith('data: ')).slice(6));
    assert.equal(type, data.type, 'the event line names the data type');
    return [type, data];
  });
}

function checkMessageStream(events, text) {
  const types = events.map(([type]) => type);
  assert.equal(types[0], 'message_start');
  assert.equal(types.at(-1), 'message_stop');
  assert.ok(types.includes('message_delta'));
  const deltas = events.filter(([type]) => type === 'content_block_delta')
    .map(([, data]) => data.delta.text).join('');
  assert.equal(deltas, text);
}

describe('messages passed through to anthropic (server)', () => {
  let mock;
  let gw;
  before(async () => {
    mock = await startMock(['--api-key', PROVIDER_KEY, '--models', 'claude-mock']);
    gw = await startGateway([], {
      ANTHROPIC_BASE_URL: mock.url,
      ANTHROPIC_API_KEY: PROVIDER_KEY,
      GATEWAY_API_KEYS: GATEWAY_KEY,
      ...mockProviderEnv(mock),
      PROVIDER_LOCAL_BASE_URL: `${mock.url}/v1`,
      MAX_REQUEST_BYTES: '65536',
    });
  });
  after(() => Promise.all([gw?.stop(), mock?.stop()]));

  test('a message: the body spliced, the provider key and the client version used upstream', async () => {
    const res = await postMessages(gw, messagesBody('anthropic/claude-mock', 'Hello there', {
      system: 'Be brief', stop_sequences: ['END'],
    }), { 'x-api-key': GATEWAY_KEY, 'anthropic-beta': 'tools-2024-05-16', 'x-request-id': 'msg-rid-1' });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('request-id'), /^req_mock_/, "Anthropic's request id is relayed");
    const body = await res.json();
    assert.equal(body.type, 'message');
    assert.equal(body.role, 'assistant');
    assert.deepEqual(body.content, [{ type: 'text', text: 'Hello there' }]);
    assert.equal(body.stop_reason, 'end_turn');
    assert.ok(body.usage.input_tokens > 0);

    const { last_request: sent } = await mockStats(mock);
    assert.equal(sent.path, '/v1/messages');
    assert.equal(sent.headers['x-api-key'], PROVIDER_KEY, "the gateway's provider key, never the client's");
    assert.equal(sent.headers['anthropic-version'], '2023-06-01');
    assert.equal(sent.headers['anthropic-beta'], 'tools-2024-05-16');
    assert.equal(sent.headers['x-request-id'], 'msg-rid-1');
    assert.deepEqual(JSON.parse(sent.body), {
      model: 'claude-mock', max_tokens: 64, messages: [{ role: 'user', content: 'Hello there' }],
      system: 'Be brief', stop_sequences: ['END'],
    });
  });

  test('anthropic-beta on several lines reaches Anthropic as one list', async () => {
    const body = JSON.stringify(messagesBody('anthropic/claude-mock', 'betas'));
    const res = await rawHttp(gw.port, 'POST /v1/messages HTTP/1.1\r\nhost: x\r\nconnection: close\r\n' +
      `content-type: application/json\r\nx-api-key: ${GATEWAY_KEY}\r\nanthropic-version: 2023-06-01\r\n` +
      'anthropic-beta: beta-a\r\nanthropic-beta: beta-b,beta-c\r\n' +
      `content-length: ${body.length}\r\n\r\n${body}`);
    assert.equal(res.status, 200, res.raw);
    const { last_request: sent } = await mockStats(mock);
    assert.equal(sent.headers['anthropic-beta'], 'beta-a,beta-b,beta-c');
  });

  test('a stream is relayed event by event, with its usage counted', async () => {
    const before = await scrapeSettled(gw);
    const res = await postMessages(gw, messagesBody('anthropic/claude-mock', 'one two three', { stream: true }),
      { authorization: `Bearer ${GATEWAY_KEY}` });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type'), /^text\/event-stream/);
    const events = await messageEvents(res);
    checkMessageStream(events, 'one two three');
    const [, start] = events[0];
    const metrics = await scrapeSettled(gw);
    const labels = { model: 'anthropic/claude-mock', provider: 'anthropic' };
    const counted = (m, kind) => (m.value(`llm_gateway_${kind}_tokens_total`, labels) ?? 0);
    assert.equal(counted(metrics, 'prompt') - counted(before, 'prompt'), start.message.usage.input_tokens);
    const [, delta] = events.find(([type]) => type === 'message_delta');
    assert.equal(counted(metrics, 'completion') - counted(before, 'completion'), delta.usage.output_tokens);
    const served = (m) => m.value('llm_gateway_requests_total', { endpoint: '/v1/messages', status: '200', ...labels });
    assert.equal(served(metrics) - served(before), 1);
  });

  test('count_tokens is passed through to Anthropic; providers without a count answer an Anthropic-shaped 400', async () => {
    const auth = { 'x-api-key': GATEWAY_KEY };
    const body = { model: 'anthropic/claude-mock', messages: [{ role: 'user', content: 'count these four words' }] };
    const res = await postMessages(gw, body, auth, '/v1/messages/count_tokens');
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { input_tokens: 4 });
    const { last_request: sent } = await mockStats(mock);
    assert.equal(sent.path, '/v1/messages/count_tokens');
    assert.equal(sent.headers['x-api-key'], PROVIDER_KEY);
    assert.deepEqual(JSON.parse(sent.body), { ...body, model: 'claude-mock' });
    const other = await anthropicError(await postMessages(gw, { ...body, model: 'local/mock-gpt' }, auth,
      '/v1/messages/count_tokens'), 400, 'invalid_request_error');
    assert.match(other.message, /token-counting/);
    await anthropicError(await postMessages(gw, { model: 'anthropic/claude-mock' }, auth, '/v1/messages/count_tokens'),
      400, 'invalid_request_error');
  });

  test("the gateway's own refusals are Anthropic-shaped", async () => {
    await anthropicError(await postMessages(gw, messagesBody('anthropic/claude-mock', 'hi')), 401, 'authentication_error');
    await anthropicError(await postMessages(gw, messagesBody('anthropic/claude-mock', 'hi'), { 'x-api-key': 'wrong' }),
      401, 'authentication_error');
    const auth = { 'x-api-key': GATEWAY_KEY };
    const missing = await anthropicError(
      await postMessages(gw, { model: 'anthropic/claude-mock', messages: [] }, auth), 400, 'invalid_request_error');
    assert.match(missing.message, /max_tokens/);
    await anthropicError(await postMessages(gw, '{"model":', auth), 400, 'invalid_request_error');
    await anthropicError(await postMessages(gw, messagesBody('no-such-model', 'hi'), auth), 404, 'not_found_error');
    const big = messagesBody('anthropic/claude-mock', 'x'.repeat(70_000));
    await anthropicError(await postMessages(gw, big, auth), 413, 'request_too_large');
    // Chat completions keep OpenAI's shape.
    const chat = await fetch(`${gw.url}/v1/chat/completions`, { method: 'POST', body: '{}', headers: auth });
    assert.equal((await chat.json()).error.type, 'invalid_request_error');
  });
});

describe('anthropic failures through /v1/messages', () => {
  const started = [];
  after(() => Promise.all(started.map((p) => p.stop())));

  async function setup(flags) {
    const mock = await startMock(['--api-key', PROVIDER_KEY, ...flags]);
    const gw = await startGateway([], { ANTHROPIC_BASE_URL: mock.url, ANTHROPIC_API_KEY: PROVIDER_KEY });
    started.push(mock, gw);
    return gw;
  }

  test("an upstream error keeps Anthropic's type", async () => {
    const gw = await setup(['--fail-status', '529', '--retry-after', '2']);
    const res = await postMessages(gw, messagesBody('anthropic/claude-x', 'hi'));
    assert.equal(res.headers.get('retry-after'), '2');
    await anthropicError(res, 503, 'overloaded_error');
  });

  test('a stream cut mid-way ends with one Anthropic error event', async () => {
    const gw = await setup(['--cut-after', '4']);
    const res = await postMessages(gw, messagesBody('anthropic/claude-x', 'one two three four five', { stream: true }));
    assert.equal(res.status, 200);
    const events = await messageEvents(res);
    const types = events.map(([type]) => type);
    assert.equal(types.at(-1), 'error', types.join(' '));
    assert.equal(types.filter((type) => type === 'error').length, 1);
    assert.ok(!types.includes('message_stop'));
    assert.equal(events.at(-1)[1].error.type, 'api_error');
  });
});

describe('messages translated for an OpenAI-compatible upstream (server)', () => {
  let mock;
  let gw;
  before(async () => {
    mock = await startMock(['--models', 'gpt-x']);
    gw = await startGateway([], mockProviderEnv(mock));
  });
  after(() => Promise.all([gw?.stop(), mock?.stop()]));

  test('the request reaches the upstream as the equivalent chat request', async () => {
    const res = await postMessages(gw, {
      model: 'openai/gpt-x', max_tokens: 50, system: [{ type: 'text', text: 'Be brief', cache_control: { type: 'ephemeral' } }],
      stop_sequences: ['END'], temperature: 0.2, metadata: { user_id: 'u-7' },
      thinking: { type: 'enabled', budget_tokens: 2000 },
      tools: [{ name: 'search', input_schema: { type: 'object' } }],
      tool_choice: { type: 'auto', disable_parallel_tool_use: true },
      messages: [
        { role: 'user', content: [{ type: 'text', text: 'find it' }] },
        { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 'search', input: { q: 'it' } }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: 'found' }] },
      ],
    });
    const body = await res.json();
    assert.equal(res.status, 200, JSON.stringify(body));
    assert.equal(body.type, 'message');
    assert.match(body.id, /^msg_/);
    assert.deepEqual(body.content, [{ type: 'text', text: 'Tool said: found' }]);
    assert.equal(body.stop_reason, 'end_turn');
    const { last_request: sent } = await mockStats(mock);
    assert.equal(sent.path, '/v1/chat/completions');
    assert.equal(sent.headers.authorization, 'Bearer sk-test-key');
    assert.deepEqual(JSON.parse(sent.body), {
      model: 'gpt-x',
      messages: [
        { role: 'system', content: 'Be brief' },
        { role: 'user', content: 'find it' },
        { role: 'assistant', content: null, tool_calls: [{ id: 'toolu_1', type: 'function', function: { name: 'search', arguments: '{"q":"it"}' } }] },
        { role: 'tool', tool_call_id: 'toolu_1', content: 'found' },
      ],
      tools: [{ type: 'function', function: { name: 'search', parameters: { type: 'object' } } }],
      max_completion_tokens: 50, stop: ['END'], temperature: 0.2, user: 'u-7', reasoning_effort: 'low',
      tool_choice: 'auto', parallel_tool_calls: false,
    });
  });

  test('a stream: the Messages events, usage counted once in metrics', async () => {
    const before = await scrapeSettled(gw);
    const res = await postMessages(gw, messagesBody('openai/gpt-x', 'one two three', { stream: true }));
    assert.equal(res.status, 200);
    const events = await messageEvents(res);
    checkMessageStream(events, 'one two three');
    const types = events.map(([type]) => type);
    assert.deepEqual(types.slice(0, 3), ['message_start', 'ping', 'content_block_start']);
    const [, delta] = events.find(([type]) => type === 'message_delta');
    assert.equal(delta.delta.stop_reason, 'end_turn');
    assert.ok(delta.usage.input_tokens > 0 && delta.usage.output_tokens === 3, JSON.stringify(delta));
    const metrics = await scrapeSettled(gw);
    const labels = { model: 'openai/gpt-x', provider: 'openai' };
    const counted = (m, kind) => (m.value(`llm_gateway_${kind}_tokens_total`, labels) ?? 0);
    assert.equal(counted(metrics, 'prompt') - counted(before, 'prompt'), delta.usage.input_tokens);
    assert.equal(counted(metrics, 'completion') - counted(before, 'completion'), 3);
    const { last_request: sent } = await mockStats(mock);
    assert.deepEqual(JSON.parse(sent.body).stream_options, { include_usage: true });
  });

  test('what chat cannot express is an Anthropic-shaped 400 naming the field; upstream errors keep their type', async () => {
    const pdf = { type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: 'JVBERi0=' } };
    const refused = await anthropicError(await postMessages(gw, {
      model: 'openai/gpt-x', max_tokens: 8, messages: [{ role: 'user', content: [pdf] }],
    }), 400, 'invalid_request_error');
    assert.match(refused.message, /messages\[0\]\.content\[0\]\.type|document/);
    const server = await anthropicError(await postMessages(gw, messagesBody('openai/gpt-x', 'hi', {
      tools: [{ type: 'web_search_20250305', name: 'web_search' }],
    })), 400, 'invalid_request_error');
    assert.match(server.message, /tools\[0\]\.type/);
    await fetch(`${mock.url}/mock/fail-status`, { method: 'POST', body: '429' });
    try {
      await anthropicError(await postMessages(gw, messagesBody('openai/gpt-x', 'hi')), 429, 'rate_limit_error');
    } finally {
      await fetch(`${mock.url}/mock/fail-status`, { method: 'POST', body: '0' });
    }
  });
});

describe('count_tokens counted by OpenAI (POST /responses/input_tokens)', () => {
  let mock;
  let gw;
  before(async () => {
    mock = await startMock(['--api-key', 'sk-test-key', '--models', 'gpt-x']);
    gw = await startGateway([], { ...mockProviderEnv(mock), PROVIDER_LOCAL_BASE_URL: `${mock.url}/v1` });
  });
  after(() => Promise.all([gw?.stop(), mock?.stop()]));

  test('a tooled conversation is counted by the Responses endpoint, answered in Anthropic\'s shape', async () => {
    const body = {
      model: 'openai/gpt-x',
      system: 'Answer in one word',
      messages: [
        { role: 'user', content: 'Weather in Paris?' },
        { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 'weather', input: { city: 'Paris' } }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: 'sunny and warm' }] },
      ],
      tools: [{ name: 'weather', input_schema: { type: 'object', properties: { city: { type: 'string' } } } }],
    };
    const res = await postMessages(gw, body, {}, '/v1/messages/count_tokens');
    const text = await res.text();
    assert.equal(res.status, 200, text);
    // The mock counts words: 4 of the system prompt, 3 of the question, 3 of the tool's output.
    assert.deepEqual(JSON.parse(text), { input_tokens: 10 });
    const { last_request: sent } = await mockStats(mock);
    assert.equal(sent.path, '/v1/responses/input_tokens');
    assert.equal(sent.headers.authorization, 'Bearer sk-test-key');
    const upstream = JSON.parse(sent.body);
    assert.equal(upstream.model, 'gpt-x');
    assert.equal(upstream.instructions, 'Answer in one word');
    assert.deepEqual(upstream.input.map((item) => item.type), ['message', 'function_call', 'function_call_output']);
  });

  test("the upstream's refusal and a server without the Responses API are Anthropic-shaped errors", async () => {
    const body = { model: 'openai/gpt-x', messages: [{ role: 'user', content: 'hi' }] };
    // The gateway's provider key is wrong for this mock: the upstream's 401 comes back as Anthropic's.
    const wrongKey = await startGateway([], mockProviderEnv(mock, { OPENAI_API_KEY: 'sk-wrong' }));
    try {
      await anthropicError(await postMessages(wrongKey, body, {}, '/v1/messages/count_tokens'), 401, 'authentication_error');
    } finally {
      await wrongKey.stop();
    }
    const other = await anthropicError(await postMessages(gw, { ...body, model: 'local/gpt-x' }, {},
      '/v1/messages/count_tokens'), 400, 'invalid_request_error');
    assert.match(other.message, /RESPONSES_API_PROVIDERS/);
  });
});

describe("GET /v1/models for Anthropic's clients", () => {
  let mock;
  let gw;
  before(async () => {
    mock = await startMock(['--models', 'gpt-x,gpt-y,gpt-z']);
    gw = await startGateway([], mockProviderEnv(mock));
    await waitForModel(gw, 'gpt-z');
  });
  after(() => Promise.all([gw?.stop(), mock?.stop()]));

  const get = (path, headers = { 'anthropic-version': '2023-06-01' }) => fetch(`${gw.url}${path}`, { headers });

  test("with anthropic-version: Anthropic's list shape and pages; without: OpenAI's", async () => {
    const all = (await (await get('/v1/models', {})).json()).data.map((m) => m.id);
    assert.ok(all.length >= 3, JSON.stringify(all));
    const first = await (await get('/v1/models?limit=2')).json();
    assert.deepEqual(Object.keys(first).sort(), ['data', 'first_id', 'has_more', 'last_id']);
    assert.deepEqual(first.data.map((m) => m.id), all.slice(0, 2));
    assert.deepEqual(first.data[0], {
      type: 'model', id: all[0], display_name: all[0], created_at: first.data[0].created_at,
    });
    assert.equal(first.has_more, true);
    assert.equal(first.first_id, all[0]);
    assert.equal(first.last_id, all[1]);
    const next = await (await get(`/v1/models?limit=2&after_id=${encodeURIComponent(first.last_id)}`)).json();
    assert.deepEqual(next.data.map((m) => m.id), all.slice(2, 4));
    const back = await (await get(`/v1/models?limit=1&before_id=${encodeURIComponent(all[2])}`)).json();
    assert.deepEqual(back.data.map((m) => m.id), [all[1]]);
    assert.equal(back.has_more, true);
    const one = await (await get('/v1/models/gpt-y')).json();
    assert.equal(one.type, 'model');
    assert.equal(one.id, 'gpt-y');
  });

  test('its errors are Anthropic-shaped', async () => {
    await anthropicError(await get('/v1/models/no-such-model'), 404, 'not_found_error');
    await anthropicError(await get('/v1/models?limit=0'), 400, 'invalid_request_error');
    const openai = await get('/v1/models/no-such-model', {});
    assert.equal(openai.status, 404);
    assert.equal((await openai.json()).error.code, 'model_not_found');
  });
});

describe('a translated stream that breaks', () => {
  let mock;
  let gw;
  before(async () => {
    mock = await startMock(['--cut-after', '3']);
    gw = await startGateway([], mockProviderEnv(mock));
  });
  after(() => Promise.all([gw?.stop(), mock?.stop()]));

  test('ends with one Anthropic error event, never silently', async () => {
    const res = await postMessages(gw, messagesBody('openai/gpt-x', 'one two three four five six', { stream: true }));
    assert.equal(res.status, 200);
    const events = await messageEvents(res);
    const types = events.map(([type]) => type);
    assert.equal(types.at(-1), 'error', types.join(' '));
    assert.equal(types.filter((type) => type === 'error').length, 1);
    assert.ok(!types.includes('message_stop'));
    assert.equal(events.at(-1)[1].error.type, 'api_error');
  });
});

describe('a translated stream the upstream leaves silent', () => {
  let mock;
  let stalling;
  let gw;
  before(async () => {
    [mock, stalling] = await Promise.all([
      startMock(['--token-delay-ms', '500']),
      startMock(['--stall-after', '2']),
    ]);
    // 1.5 s of idle timeout against 0.5 s between tokens: a margin a slow sanitizer build keeps.
    gw = await startGateway(['--stream-keepalive', '0.1', '--idle-timeout', '2'], {
      ...mockProviderEnv(mock),
      PROVIDER_STALLING_BASE_URL: `${stalling.url}/v1`,
    });
  });
  after(() => Promise.all([gw?.stop(), mock?.stop(), stalling?.stop()]));

  /** How many pings came between the first and the last content delta. */
  function pingsBetweenDeltas(types) {
    const first = types.indexOf('content_block_delta');
    const last = types.lastIndexOf('content_block_delta');
    return types.slice(first, last).filter((type) => type === 'ping').length;
  }

  test('gets ping events while it waits, and every token still arrives in order', async () => {
    const res = await postMessages(gw, messagesBody('openai/gpt-x', 'one two three', { stream: true }));
    assert.equal(res.status, 200);
    const events = await messageEvents(res);
    checkMessageStream(events, 'one two three');
    const types = events.map(([type]) => type);
    assert.ok(pingsBetweenDeltas(types) >= 2, `pings during the two silences: ${types.join(' ')}`);
    // The mock counts its request finished just after its last write: the client may be faster.
    await waitFor(async () => (await mockStats(mock)).in_flight === 0, { message: 'the upstream request to end' });
  });

  test('pings do not hide a stalled upstream: the idle timeout still ends the stream', async () => {
    const res = await postMessages(gw, messagesBody('stalling/gpt-x', 'one two three', { stream: true }));
    assert.equal(res.status, 200);
    const events = await messageEvents(res);
    const types = events.map(([type]) => type);
    assert.equal(types.at(-1), 'error', types.join(' '));
    assert.equal(events.at(-1)[1].error.type, 'timeout_error');
    const afterDelta = types.slice(types.lastIndexOf('content_block_delta'));
    assert.ok(afterDelta.filter((type) => type === 'ping').length >= 2, types.join(' '));
  });

  test('a client that leaves during a silence cancels the upstream request', async () => {
    const before = (await mockStats(mock)).cancelled;
    const controller = new AbortController();
    const res = await postMessages(gw, messagesBody('openai/gpt-x', 'one two three four five six', { stream: true }),
      {}, '/v1/messages', controller.signal);
    const reader = res.body.getReader();
    let seen = '';
    // Until a ping that came after a token: the client leaves while the upstream is silent.
    while (!seen.includes('content_block_delta') ||
           !seen.includes('event: ping', seen.indexOf('content_block_delta'))) {
      const { value } = await reader.read();
      seen += new TextDecoder().decode(value);
    }
    controller.abort();
    await waitFor(async () => {
      const stats = await mockStats(mock);
      return stats.cancelled === before + 1 && stats.in_flight === 0;
    }, { timeout: 5000, message: 'the upstream request to be cancelled' });
  });
});

describe('a silent translated stream through controller -> worker', () => {
  let mock;
  let controller;
  let worker;
  before(async () => {
    mock = await startMock(['--token-delay-ms', '400']);
    controller = await startController();
    worker = await startWorker({
      id: 'w-gpt', model: 'claude-on-gpt', backend: mock, controller,
      flags: ['--backend-type', 'openai', '--backend-model', 'gpt-x', '--stream-keepalive', '0.1'],
    });
    await waitForWorkers(controller, (ws) => ws.length === 1 && ws[0].health === 'healthy');
  });
  after(() => Promise.all([worker?.stop(), controller?.stop(), mock?.stop()]));

  test("the worker's pings reach the client across the hop", async () => {
    const res = await postMessages(controller, messagesBody('claude-on-gpt', 'one two', { stream: true }));
    assert.equal(res.status, 200);
    const events = await messageEvents(res);
    checkMessageStream(events, 'one two');
    const types = events.map(([type]) => type);
    const between = types.slice(types.indexOf('content_block_delta'), types.lastIndexOf('content_block_delta'));
    assert.ok(between.includes('ping'), types.join(' '));
  });

  test("count_tokens is counted by the worker's OpenAI backend", async () => {
    const res = await postMessages(controller, { model: 'claude-on-gpt', messages: [{ role: 'user', content: 'a b c' }] },
      {}, '/v1/messages/count_tokens');
    const text = await res.text();
    assert.equal(res.status, 200, text);
    assert.deepEqual(JSON.parse(text), { input_tokens: 3 });
    const { last_request: sent } = await mockStats(mock);
    assert.equal(sent.path, '/v1/responses/input_tokens');
    assert.equal(JSON.parse(sent.body).model, 'gpt-x');
  });
});

describe('messages through controller -> worker', () => {
  let mock;
  let controller;
  let worker;
  before(async () => {
    mock = await startMock(['--api-key', PROVIDER_KEY]);
    controller = await startController();
    worker = await startWorker({
      id: 'w-claude', model: 'claude-sonnet', backend: mock, controller,
      flags: ['--backend-type', 'anthropic', '--backend-model', 'claude-mock', '--backend-api-key', PROVIDER_KEY],
    });
    await waitForWorkers(controller, (ws) => ws.length === 1 && ws[0].health === 'healthy');
  });
  after(() => Promise.all([worker?.stop(), controller?.stop(), mock?.stop()]));

  test('a message and a stream reach Anthropic through the worker', async () => {
    const res = await postMessages(controller, messagesBody('claude-sonnet', 'via the cluster'),
      { 'anthropic-version': '2023-01-01', 'anthropic-beta': 'beta-a,beta-b' });
    assert.equal(res.status, 200);
    const body = await res.json();
    assert.deepEqual(body.content, [{ type: 'text', text: 'via the cluster' }]);
    const { last_request: sent } = await mockStats(mock);
    assert.equal(JSON.parse(sent.body).model, 'claude-mock');
    assert.equal(sent.headers['x-api-key'], PROVIDER_KEY);
    assert.equal(sent.headers['anthropic-version'], '2023-01-01', 'the client version, across both hops');
    assert.equal(sent.headers['anthropic-beta'], 'beta-a,beta-b');

    const streamed = await postMessages(controller, messagesBody('claude-sonnet', 'a b c d', { stream: true }));
    assert.equal(streamed.status, 200);
    checkMessageStream(await messageEvents(streamed), 'a b c d');
    const metrics = await scrapeSettled(controller);
    assert.equal(metrics.value('llm_gateway_requests_total',
      { endpoint: '/v1/messages', status: '200', model: 'claude-sonnet', provider: 'w-claude' }), 2);
  });

  test('count_tokens reaches Anthropic through the worker', async () => {
    const res = await postMessages(controller, { model: 'claude-sonnet', messages: [{ role: 'user', content: 'a b c' }] },
      {}, '/v1/messages/count_tokens');
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { input_tokens: 3 });
    assert.equal((await mockStats(mock)).last_request.path, '/v1/messages/count_tokens');
  });

  test('errors stay Anthropic-shaped across the hop', async () => {
    await anthropicError(await postMessages(controller, messagesBody('no-such-model', 'hi')), 404, 'not_found_error');
    const missing = await anthropicError(
      await postMessages(controller, { model: 'claude-sonnet', messages: [] }), 400, 'invalid_request_error');
    assert.match(missing.message, /max_tokens/);
  });
});
