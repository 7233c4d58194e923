// Provider adapters at the wire level: what reaches the upstream in its own dialect, and how its
// answers, failures and model lists come back in OpenAI's format.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';

import {
  chatBody, collectSse, mockStats, parseEvents, postChat, startGateway, startMock, waitForModel,
} from '../lib/harness.mjs';

const KEY = 'sk-ant-test';

describe('anthropic adapter against the mock', () => {
  let mock;
  let gw;
  before(async () => {
    mock = await startMock(['--api-key', KEY, '--models', 'claude-mock,claude-other']);
    gw = await startGateway([], {
      ANTHROPIC_BASE_URL: mock.url, ANTHROPIC_API_KEY: KEY, ANTHROPIC_MAX_TOKENS: '321',
    });
  });
  after(() => Promise.all([gw?.stop(), mock?.stop()]));

  test('the request reaches /v1/messages translated, with x-api-key and anthropic-version', async () => {
    const res = await postChat(gw, {
      model: 'anthropic/claude-mock',
      messages: [
        { role: 'system', content: 'cache-me please' },
        { role: 'user', content: 'Hello there' },
      ],
      stop: 'END',
      user: 'user-7',
    }, { headers: { 'x-request-id': 'anthropic-rid-1' } });
    assert.equal(res.status, 200, await res.clone().text());
    const body = await res.json();
    assert.equal(body.choices[0].message.content, 'Hello there');
    // The mock reports cached prompt tokens when the system prompt says cache-me.
    assert.equal(body.usage.prompt_tokens_details.cached_tokens, 3);
    assert.equal(body.usage.prompt_tokens, body.usage.total_tokens - body.usage.completion_tokens);

    const { last_request: sent } = await mockStats(mock);
    assert.equal(sent.path, '/v1/messages');
    assert.equal(sent.headers['x-api-key'], KEY);
    assert.equal(sent.headers['anthropic-version'], '2023-06-01');
    assert.equal(sent.headers['x-request-id'], 'anthropic-rid-1');
    assert.equal(sent.headers.authorization, undefined);
    assert.deepEqual(JSON.parse(sent.body), {
      model: 'claude-mock',
      stop_sequences: ['END'],
      metadata: { user_id: 'user-7' },
      max_tokens: 321,
      system: [{ type: 'text', text: 'cache-me please' }],
      messages: [{ role: 'user', content: [{ type: 'text', text: 'Hello there' }] }],
    });
  });

  test('max_tokens reached → finish_reason length', async () => {
    const res = await postChat(gw, chatBody('anthropic/claude-mock', 'one two three four', { max_tokens: 2 }));
    const body = await res.json();
    assert.equal(body.choices[0].message.content, 'one two');
    assert.equal(body.choices[0].finish_reason, 'length');
  });

  test('models listed by the provider are routable unprefixed', async () => {
    await waitForModel(gw, 'claude-other');
    const list = await (await fetch(`${gw.url}/v1/models`)).json();
    const entry = list.data.find((m) => m.id === 'claude-other');
    assert.equal(entry.owned_by, 'anthropic');
    assert.equal(entry.created, Date.UTC(2024, 9, 22) / 1000);
    const res = await postChat(gw, chatBody('claude-other', 'unprefixed works'));
    assert.equal((await res.json()).choices[0].message.content, 'unprefixed works');
  });

  test('streams translate event by event into OpenAI chunks', async () => {
    const res = await postChat(gw, chatBody('anthropic/claude-mock', 'a b c', { stream: true }));
    assert.equal(res.headers.get('content-type'), 'text/event-stream');
    const { events, error } = await collectSse(res);
    assert.equal(error, null);
    assert.equal(events.at(-1), '[DONE]');
    const chunks = parseEvents(events.slice(0, -1));
    assert.deepEqual(chunks.map((c) => c.choices[0].delta), [
      { role: 'assistant', content: '' }, { content: 'a' }, { content: ' b' }, { content: ' c' }, {},
    ]);
    assert.equal(chunks.at(-1).choices[0].finish_reason, 'stop');
  });
});

describe('anthropic failures', () => {
  const started = [];
  after(() => Promise.all(started.map((p) => p.stop())));

  async function setup(flags) {
    const mock = await startMock(['--api-key', KEY, ...flags]);
    const gw = await startGateway([], { ANTHROPIC_BASE_URL: mock.url, ANTHROPIC_API_KEY: KEY });
    started.push(mock, gw);
    gw.mock = mock;
    return gw;
  }

  test('overloaded (529) → 503 with the error type kept', async () => {
    const gw = await setup(['--fail-status', '529', '--retry-after', '2']);
    const res = await postChat(gw, chatBody('anthropic/claude-x', 'hi'));
    assert.equal(res.status, 503);
    assert.equal(res.headers.get('retry-after'), '2');
    const body = await res.json();
    assert.equal(body.error.type, 'overloaded_error');
    assert.match(body.error.message, /mock-backend failure injected/);
  });

  test('a stream cut mid-way ends with one error event', async () => {
    const gw = await setup(['--cut-after', '4']);
    const res = await postChat(gw, chatBody('anthropic/claude-x', 'one two three four five', { stream: true }));
    assert.equal(res.status, 200);
    const { events } = await collectSse(res);
    const last = JSON.parse(events.at(-1));
    assert.ok(last.error, events.join('\n'));
    assert.ok(!events.includes('[DONE]'));
  });

  test('a field anthropic cannot express is a 400 naming it, and nothing is sent', async () => {
    const gw = await setup([]);
    const res = await postChat(gw, chatBody('anthropic/claude-x', 'hi', { seed: 3 }));
    assert.equal(res.status, 400);
    assert.equal((await res.json()).error.param, 'seed');
    assert.equal((await mockStats(gw.mock)).requests, 0);
  });

  test('response_format json_schema: a forced tool upstream, its input as the content, plain and streamed', async () => {
    const gw = await setup([]);
    const schema = { type: 'object', properties: { query: { type: 'string' } }, required: ['query'] };
    const responseFormat = { type: 'json_schema', json_schema: { name: 'search', schema, strict: true } };
    const res = await postChat(gw, chatBody('anthropic/claude-x', 'find cats', { response_format: responseFormat }));
    const body = await res.json();
    assert.equal(res.status, 200, JSON.stringify(body));
    assert.deepEqual(JSON.parse(body.choices[0].message.content), { query: 'find cats' });
    assert.equal(body.choices[0].message.tool_calls, undefined);
    assert.equal(body.choices[0].finish_reason, 'stop');
    const sent = JSON.parse((await mockStats(gw.mock)).last_request.body);
    assert.deepEqual(sent.tools.map((t) => [t.name, t.input_schema]), [['json_response', schema]]);
    assert.deepEqual(sent.tool_choice, { type: 'tool', name: 'json_response', disable_parallel_tool_use: true });

    const streamed = await postChat(gw, chatBody('anthropic/claude-x', 'find dogs', { response_format: { type: 'json_object' }, stream: true }));
    const { events } = await collectSse(streamed);
    assert.equal(events.at(-1), '[DONE]');
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e));
    assert.ok(chunks.every((c) => c.choices[0].delta.tool_calls === undefined));
    assert.deepEqual(JSON.parse(chunks.map((c) => c.choices[0].delta.content ?? '').join('')), { query: 'find dogs' });
    assert.equal(chunks.at(-1).choices[0].finish_reason, 'stop');

    const conflict = await postChat(gw, chatBody('anthropic/claude-x', 'x', {
      response_format: { type: 'json_object' }, tools: [{ type: 'function', function: { name: 'f' } }],
    }));
    assert.equal(conflict.status, 400);
    assert.equal((await conflict.json()).error.param, 'response_format');
  });
});

describe('ollama native adapter against the mock', () => {
  let mock;
  let gw;
  before(async () => {
    mock = await startMock(['--models', 'mock-model,qwen2:7b']);
    gw = await startGateway([], { OLLAMA_HOST: mock.url });
  });
  after(() => Promise.all([gw?.stop(), mock?.stop()]));

  test('the request reaches /api/chat translated (options, format, stream false)', async () => {
    const res = await postChat(gw, chatBody('ollama/qwen2:7b', 'Hello there', {
      max_tokens: 50, temperature: 0.1, seed: 3, stop: ['x'], response_format: { type: 'json_object' },
    }));
    assert.equal(res.status, 200, await res.clone().text());
    const body = await res.json();
    assert.deepEqual(JSON.parse(body.choices[0].message.content), { echo: 'Hello there' });
    const { last_request: sent } = await mockStats(mock);
    assert.equal(sent.path, '/api/chat');
    assert.deepEqual(JSON.parse(sent.body), {
      model: 'qwen2:7b', format: 'json', stream: false,
      options: { num_predict: 50, temperature: 0.1, seed: 3, stop: ['x'] },
      messages: [{ role: 'user', content: 'Hello there' }],
    });
  });

  test('tags are listed and "name" answers for "name:latest"', async () => {
    await waitForModel(gw, 'mock-model:latest');
    const res = await postChat(gw, chatBody('mock-model', 'via the alias'));
    assert.equal((await res.json()).choices[0].message.content, 'via the alias');
    assert.equal(JSON.parse((await mockStats(mock)).last_request.body).model, 'mock-model:latest');
  });

  test('NDJSON streams become SSE chunks; num_predict reached → length', async () => {
    const res = await postChat(gw, chatBody('ollama/mock-model', 'one two three', { stream: true, max_tokens: 2 }));
    assert.equal(res.headers.get('content-type'), 'text/event-stream');
    const { events, error } = await collectSse(res);
    assert.equal(error, null);
    assert.equal(events.at(-1), '[DONE]');
    const chunks = parseEvents(events.slice(0, -1));
    assert.equal(chunks.map((c) => c.choices[0].delta.content ?? '').join(''), 'one two');
    assert.equal(chunks.at(-1).choices[0].finish_reason, 'length');
  });

  test('an unknown model is the upstream 404, message kept', async () => {
    const res = await postChat(gw, chatBody('ollama/nope', 'hi'));
    assert.equal(res.status, 404);
    assert.match((await res.json()).error.message, /not found, try pulling it first/);
  });
});

describe('azure adapter against the mock', () => {
  let mock;
  let gw;
  before(async () => {
    mock = await startMock(['--api-key', 'az-key', '--models', 'gpt4o-prod']);
    gw = await startGateway([], {
      AZURE_OPENAI_ENDPOINT: mock.url, AZURE_OPENAI_API_KEY: 'az-key',
      AZURE_OPENAI_DEPLOYMENTS: 'gpt4o-prod', AZURE_OPENAI_API_VERSION: '2024-06-01',
    });
  });
  after(() => Promise.all([gw?.stop(), mock?.stop()]));

  test('deployment URL, api-version and api-key; deployments listed as azure/<name>', async () => {
    const res = await postChat(gw, chatBody('azure/gpt4o-prod', 'Hello azure'));
    assert.equal(res.status, 200, await res.clone().text());
    assert.equal((await res.json()).choices[0].message.content, 'Hello azure');
    const { last_request: sent } = await mockStats(mock);
    assert.equal(sent.path, '/openai/deployments/gpt4o-prod/chat/completions?api-version=2024-06-01');
    assert.equal(sent.headers['api-key'], 'az-key');
    assert.equal(sent.headers.authorization, undefined);
    const models = await (await fetch(`${gw.url}/v1/models`)).json();
    assert.deepEqual(models.data.map((m) => [m.id, m.owned_by]), [['azure/gpt4o-prod', 'azure']]);
  });

  test("the stream starts as OpenAI's: role first, one id, filter results kept", async () => {
    const res = await postChat(gw, chatBody('azure/gpt4o-prod', 'a b', { stream: true }));
    const { events } = await collectSse(res);
    assert.equal(events.at(-1), '[DONE]');
    const chunks = parseEvents(events.slice(0, -1));
    assert.ok(chunks.every((c) => c.choices.length === 1), 'no choice-less chunk');
    assert.equal(chunks[0].choices[0].delta.role, 'assistant');
    assert.ok(Array.isArray(chunks[0].prompt_filter_results));
    assert.equal(new Set(chunks.map((c) => c.id)).size, 1);
    assert.equal(chunks.map((c) => c.choices[0].delta.content ?? '').join(''), 'a b');
  });
});

describe('OpenAI reasoning models behind a prefix', () => {
  let mock;
  let gw;
  before(async () => {
    mock = await startMock(['--models', 'o3-mini,gpt-4o-mini']);
    gw = await startGateway([], {
      OPENAI_BASE_URL: `${mock.url}/v1`, OPENAI_API_KEY: 'sk-test-key',
      PROVIDER_OTHER_BASE_URL: `${mock.url}/v1`,
      AZURE_OPENAI_ENDPOINT: mock.url, AZURE_OPENAI_DEPLOYMENTS: 'o3-mini',
    });
  });
  after(() => Promise.all([gw?.stop(), mock?.stop()]));

  async function sentBody(model, extra) {
    const res = await postChat(gw, chatBody(model, 'think', extra));
    assert.equal(res.status, 200, await res.clone().text());
    return JSON.parse((await mockStats(mock)).last_request.body);
  }

  test('max_tokens goes to o*/gpt-5 models of OpenAI and Azure as max_completion_tokens', async () => {
    for (const model of ['openai/o3-mini', 'azure/o3-mini']) {
      const sent = await sentBody(model, { max_tokens: 5, stream: true });
      assert.equal(sent.max_completion_tokens, 5, model);
      assert.equal(sent.max_tokens, undefined, model);
    }
  });

  test('other models and other OpenAI-compatible servers keep max_tokens', async () => {
    assert.equal((await sentBody('openai/gpt-4o-mini', { max_tokens: 5 })).max_tokens, 5);
    assert.equal((await sentBody('other/o3-mini', { max_tokens: 5 })).max_tokens, 5);
  });
});
