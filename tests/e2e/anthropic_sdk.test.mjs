// End-to-end: Anthropic's Messages API through the gateway with the official @anthropic-ai/sdk as
// the client (messages.create, the messages.stream() helper, a tool round trip, countTokens, typed
// errors), in server mode and through controller -> worker, in front of Anthropic (the mock, in its
// wire format).

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import Anthropic from '@anthropic-ai/sdk';

import {
  mockStats, startController, startGateway, startMock, startWorker, waitForModel, waitForWorkers,
} from '../lib/harness.mjs';

const PROVIDER_KEY = 'sk-ant-provider';
const GATEWAY_KEY = 'gw-client-key';

function client(gateway, apiKey = GATEWAY_KEY) {
  return new Anthropic({ baseURL: gateway.url, apiKey, maxRetries: 0, timeout: 10_000 });
}

const searchTool = {
  name: 'search',
  description: 'Search the web',
  input_schema: { type: 'object', properties: { query: { type: 'string' } }, required: ['query'] },
};

const textOf = (message) => message.content.filter((b) => b.type === 'text').map((b) => b.text).join('');

/**
 * What every mode must do for `model`: a message, a stream, a system prompt, stop sequences, a tool
 * round trip, a token count (Anthropic's own, or OpenAI's input-token count; the others have no
 * count and say so). `beforeCount` runs after the messages, before the count.
 */
async function checkMessagesApi(anthropic, model, { countsTokens = true, beforeCount = async () => {} } = {}) {
  const message = await anthropic.messages.create({
    model, max_tokens: 64, system: 'Be brief', stop_sequences: ['END'],
    messages: [{ role: 'user', content: 'hello from the sdk' }],
  });
  assert.equal(message.type, 'message');
  assert.equal(textOf(message), 'hello from the sdk');
  assert.equal(message.stop_reason, 'end_turn');
  assert.ok(message.usage.input_tokens > 0 && message.usage.output_tokens > 0);

  const stream = anthropic.messages.stream({
    model, max_tokens: 64, messages: [{ role: 'user', content: 'one two three four' }],
  });
  let streamed = '';
  stream.on('text', (text) => { streamed += text; });
  const final = await stream.finalMessage();
  assert.equal(streamed, 'one two three four');
  assert.equal(textOf(final), 'one two three four');
  assert.ok(final.usage.output_tokens > 0);

  const first = await anthropic.messages.create({
    model, max_tokens: 64, tools: [searchTool], messages: [{ role: 'user', content: 'weather in Paris' }],
  });
  assert.equal(first.stop_reason, 'tool_use');
  const call = first.content.find((b) => b.type === 'tool_use');
  assert.equal(call.name, 'search');
  assert.equal(typeof call.input, 'object');
  const second = await anthropic.messages.create({
    model, max_tokens: 64, tools: [searchTool],
    messages: [
      { role: 'user', content: 'weather in Paris' },
      { role: 'assistant', content: first.content },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: call.id, content: 'sunny' }] },
    ],
  });
  assert.equal(textOf(second), 'Tool said: sunny');
  await beforeCount();

  const count = anthropic.messages.countTokens({
    model, messages: [{ role: 'user', content: 'five words to count here' }],
  });
  if (countsTokens) {
    assert.equal((await count).input_tokens, 5);
  } else {
    await assert.rejects(count, (err) => err instanceof Anthropic.BadRequestError && /token-counting/.test(err.message));
  }
}

/** Two parallel tool calls streamed (the mock calls once per tool), assembled by messages.stream(). */
async function checkParallelToolStream(anthropic, model) {
  const weather = { ...searchTool, name: 'weather' };
  const stream = anthropic.messages.stream({
    model, max_tokens: 64, tools: [searchTool, weather], messages: [{ role: 'user', content: 'Rome' }],
  });
  const final = await stream.finalMessage();
  assert.equal(final.stop_reason, 'tool_use');
  const calls = final.content.filter((b) => b.type === 'tool_use');
  assert.deepEqual(calls.map((b) => b.name), ['search', 'weather'], JSON.stringify(final.content));
  for (const call of calls) assert.deepEqual(call.input, { query: 'Rome' });
  assert.equal(new Set(calls.map((b) => b.id)).size, 2);
}

describe('@anthropic-ai/sdk against the gateway (server)', () => {
  let mock;
  let gw;
  before(async () => {
    mock = await startMock(['--api-key', PROVIDER_KEY]);
    gw = await startGateway([], {
      ANTHROPIC_BASE_URL: mock.url, ANTHROPIC_API_KEY: PROVIDER_KEY, GATEWAY_API_KEYS: GATEWAY_KEY,
    });
  });
  after(() => Promise.all([gw?.stop(), mock?.stop()]));

  test('messages, streams, a system prompt, stop sequences and a tool round trip', async () => {
    await checkMessagesApi(client(gw), 'anthropic/claude-mock');
  });

  test('typed errors: NotFoundError, AuthenticationError, RateLimitError, BadRequestError', async () => {
    const anthropic = client(gw);
    const ask = (model, api = anthropic) => api.messages.create({
      model, max_tokens: 16, messages: [{ role: 'user', content: 'hi' }],
    });
    await assert.rejects(ask('no-such-model'), Anthropic.NotFoundError);
    await assert.rejects(ask('anthropic/claude-mock', client(gw, 'wrong-key')), Anthropic.AuthenticationError);
    await assert.rejects(anthropic.messages.create({ model: 'anthropic/claude-mock', messages: [] }),
      (err) => err instanceof Anthropic.BadRequestError && /max_tokens/.test(err.message));
    await fetch(`${mock.url}/mock/fail-status`, { method: 'POST', body: '429' });
    try {
      await assert.rejects(ask('anthropic/claude-mock'), Anthropic.RateLimitError);
    } finally {
      await fetch(`${mock.url}/mock/fail-status`, { method: 'POST', body: '0' });
    }
  });
});

// The other provider types: the Messages request translated to their chat dialect, the answer
// translated back (the upstream path says which dialect the mock was spoken to in).
// Where each provider's messages go, and whether it counts tokens (OpenAI's Responses API does).
const translated = {
  'openai/gpt-x': { path: /^\/v1\/chat\/completions$/, counts: true },
  'azure/gpt-x': { path: /^\/openai\/deployments\/gpt-x\/chat\/completions\?api-version=/, counts: false },
  'ollama/gpt-x': { path: /^\/api\/chat$/, counts: false },
  'vllm/gpt-x': { path: /^\/v1\/chat\/completions$/, counts: false },
};

describe('@anthropic-ai/sdk in front of every other provider (server)', () => {
  let mock;
  let gw;
  before(async () => {
    mock = await startMock(['--models', 'gpt-x']);
    gw = await startGateway([], {
      OPENAI_BASE_URL: `${mock.url}/v1`, OPENAI_API_KEY: 'sk-test-key',
      AZURE_OPENAI_ENDPOINT: mock.url, AZURE_OPENAI_DEPLOYMENTS: 'gpt-x',
      OLLAMA_HOST: mock.url, PROVIDER_VLLM_BASE_URL: `${mock.url}/v1`,
    });
    await waitForModel(gw, 'gpt-x:latest');  // Ollama's listing has arrived
    await waitForModel(gw, 'vllm/gpt-x');  // and vLLM's, listed last
  });
  after(() => Promise.all([gw?.stop(), mock?.stop()]));

  test("models.list() pages through Anthropic's list shape; models.retrieve() finds one", async () => {
    const anthropic = client(gw, 'k');
    const listed = [];
    for await (const model of anthropic.models.list({ limit: 2 })) {
      assert.equal(model.type, 'model');
      assert.match(model.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      listed.push(model.id);
    }
    const openai = await (await fetch(`${gw.url}/v1/models`)).json();
    assert.deepEqual(listed, openai.data.map((m) => m.id), 'every model, once, in order, across pages');
    assert.ok(listed.length > 2, 'more than one page');
    const one = await anthropic.models.retrieve('openai/gpt-x');
    assert.equal(one.id, 'openai/gpt-x');
    await assert.rejects(anthropic.models.retrieve('no-such-model'), Anthropic.NotFoundError);
  });

  for (const [model, { path, counts }] of Object.entries(translated)) {
    test(`messages, streams, a system prompt, stop sequences, a tool round trip and a count → ${model}`, async () => {
      await checkMessagesApi(client(gw, 'k'), model, {
        countsTokens: counts,
        beforeCount: async () => assert.match((await mockStats(mock)).last_request.path, path),
      });
      if (counts) assert.equal((await mockStats(mock)).last_request.path, '/v1/responses/input_tokens');
    });

    test(`two parallel tool calls streamed → ${model}`, async () => {
      await checkParallelToolStream(client(gw, 'k'), model);
    });
  }

  test('typed errors from a translated provider: RateLimitError, NotFoundError, BadRequestError', async () => {
    const anthropic = client(gw, 'k');
    const ask = (model, extra = {}) => anthropic.messages.create({
      model, max_tokens: 16, messages: [{ role: 'user', content: 'hi' }], ...extra,
    });
    const failing = async (status, check) => {
      await fetch(`${mock.url}/mock/fail-status`, { method: 'POST', body: String(status) });
      try {
        await check();
      } finally {
        await fetch(`${mock.url}/mock/fail-status`, { method: 'POST', body: '0' });
      }
    };
    await failing(429, async () => {
      await assert.rejects(ask('openai/gpt-x'), Anthropic.RateLimitError);
      await assert.rejects(ask('ollama/gpt-x'), Anthropic.RateLimitError);
    });
    await failing(404, () => assert.rejects(ask('vllm/gpt-x'), Anthropic.NotFoundError));
    await assert.rejects(ask('openai/gpt-x', { mcp_servers: [] }),
      (err) => err instanceof Anthropic.BadRequestError && /mcp_servers/.test(err.message));
  });
});

describe('@anthropic-ai/sdk through controller -> worker', () => {
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

  test('messages, streams, a system prompt, stop sequences and a tool round trip', async () => {
    await checkMessagesApi(client(controller, 'unused'), 'claude-sonnet');
  });

  test('an unknown model is a NotFoundError', async () => {
    await assert.rejects(client(controller, 'unused').messages.create({
      model: 'no-such-model', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }],
    }), Anthropic.NotFoundError);
  });
});

describe('@anthropic-ai/sdk through controller -> workers of other providers', () => {
  let mock;
  let controller;
  const workers = [];
  before(async () => {
    mock = await startMock([]);
    controller = await startController();
    for (const type of ['openai', 'ollama']) {
      workers.push(await startWorker({
        id: `w-${type}`, model: `${type}-model`, backend: mock, controller,
        flags: ['--backend-type', type, '--backend-model', 'mock-model'],
      }));
    }
    await waitForWorkers(controller, (ws) => ws.length === 2 && ws.every((w) => w.health === 'healthy'));
  });
  after(() => Promise.all([...workers.map((w) => w.stop()), controller?.stop(), mock?.stop()]));

  test("models.list() answers in Anthropic's shape", async () => {
    const page = await client(controller, 'unused').models.list();
    assert.deepEqual(page.data.map((m) => m.id).sort(), ['ollama-model', 'openai-model']);
    assert.equal(page.has_more, false);
  });

  for (const model of ['openai-model', 'ollama-model']) {
    test(`messages, streams, tools and parallel tool calls → ${model}`, async () => {
      await checkMessagesApi(client(controller, 'unused'), model, { countsTokens: model === 'openai-model' });
      await checkParallelToolStream(client(controller, 'unused'), model);
    });
  }
});
