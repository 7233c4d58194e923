// End-to-end: Anthropic's Messages API through the gateway with the official @anthropic-ai/sdk as
// the client (messages.create, the messages.stream() helper, a tool round trip, countTokens, typed
// errors), in server mode and through controller -> worker, in front of Anthropic (the mock, in its
// wire format).

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import Anthropic from '@anthropic-ai/sdk';

import {
  startController, startGateway, startMock, startWorker, waitForWorkers,
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

/** What every mode must do for `model`: a message, a stream, a system prompt, stop sequences, tools, a count. */
async function checkMessagesApi(anthropic, model) {
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

  const counted = await anthropic.messages.countTokens({
    model, messages: [{ role: 'user', content: 'five words to count here' }],
  });
  assert.equal(counted.input_tokens, 5);
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
