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
    const res = await postChat(gw, chatBody('anthropic/claude-x', 'hi', { response_format: { type: 'json_object' } }));
    assert.equal(res.status, 400);
    assert.equal((await res.json()).error.param, 'response_format');
    assert.equal((await mockStats(gw.mock)).requests, 0);
  });
});
