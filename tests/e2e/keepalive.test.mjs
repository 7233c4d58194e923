// End-to-end: streams whose upstream goes silent (a model thinking before its first token, or
// between two) stay alive: the gateway sends SSE comments (`: keep-alive`) every
// STREAM_KEEPALIVE_INTERVAL, committing the response head when the first event is that late, and
// the official SDKs (OpenAI's chat and Responses streams, Anthropic's Messages stream) still
// assemble the answer, in server mode and through controller -> worker.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';

import {
  mockProviderEnv, startController, startGateway, startMock, startWorker, waitForWorkers,
} from '../lib/harness.mjs';
import { outputText } from '../lib/responses.mjs';

// The mock answers its head at once, then is silent 500 ms before its first event and 300 ms
// between tokens: with a 100 ms interval, keep-alive comments fill every silence.
const SILENT_MOCK = ['--first-event-delay-ms', '500', '--token-delay-ms', '300'];
const KEEPALIVE = ['--stream-keepalive', '0.1'];

function sdk(gateway) {
  return new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'k', maxRetries: 0, timeout: 10_000 });
}

function postStream(gateway, path, body) {
  return fetch(`${gateway.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ ...body, stream: true }),
  });
}

/** The stream's blocks (events and comments, split at blank lines) as the client received them. */
async function blocksOf(res) {
  return (await res.text()).split('\n\n').filter((block) => block !== '');
}

/** Checks that keep-alive comments came first (before any event) and between two data events. */
function checkKeptAlive(blocks) {
  assert.equal(blocks[0], ': keep-alive', 'the head was committed with a comment, before the first event');
  const firstData = blocks.findIndex((block) => !block.startsWith(':'));
  const lastData = blocks.findLastIndex((block) => !block.startsWith(':'));
  assert.ok(blocks.slice(firstData, lastData).includes(': keep-alive'), 'a comment between two events');
}

async function chatText(stream) {
  let text = '';
  for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
  return text;
}

describe('keep-alive comments on silent streams (server)', () => {
  let mock;
  let gw;
  before(async () => {
    mock = await startMock(SILENT_MOCK);
    gw = await startGateway(KEEPALIVE, mockProviderEnv(mock, { PROVIDER_LOCAL_BASE_URL: `${mock.url}/v1` }));
  });
  after(() => Promise.all([gw?.stop(), mock?.stop()]));

  test('a chat stream: comments before the first event and between tokens; the SDK assembles it', async () => {
    const res = await postStream(gw, '/v1/chat/completions',
      { model: 'openai/mock-model', messages: [{ role: 'user', content: 'one two three' }] });
    assert.equal(res.status, 200);
    const blocks = await blocksOf(res);
    checkKeptAlive(blocks);
    assert.equal(blocks.at(-1), 'data: [DONE]');

    const stream = await sdk(gw).chat.completions.create({
      model: 'openai/mock-model', stream: true, messages: [{ role: 'user', content: 'one two three' }],
    });
    assert.equal(await chatText(stream), 'one two three');
  });

  test('a Responses stream translated from chat: the SDK assembles it', async () => {
    // local/ has no Responses API of its own: the request is translated to chat.
    const res = await postStream(gw, '/v1/responses', { model: 'local/mock-model', input: 'four five' });
    assert.equal(res.status, 200);
    checkKeptAlive(await blocksOf(res));

    const stream = sdk(gw).responses.stream({ model: 'local/mock-model', input: 'four five' });
    const response = await stream.finalResponse();
    assert.equal(outputText(response), 'four five');
    assert.equal(response.status, 'completed');
  });

  test('a stream that fails after its head was committed ends with an error event', async (t) => {
    const cutting = await startMock([...SILENT_MOCK, '--cut-after', '2']);
    t.after(() => cutting.stop());
    const gateway = await startGateway(KEEPALIVE, mockProviderEnv(cutting));
    t.after(() => gateway.stop());
    const res = await postStream(gateway, '/v1/chat/completions',
      { model: 'openai/mock-model', messages: [{ role: 'user', content: 'one two three' }] });
    assert.equal(res.status, 200, 'committed before the failure');
    const blocks = await blocksOf(res);
    assert.equal(blocks[0], ': keep-alive');
    const last = JSON.parse(blocks.at(-1).replace(/^data: /, ''));
    assert.equal(last.error.code, 'upstream_error', blocks.at(-1));
  });

  test('STREAM_KEEPALIVE_INTERVAL=0 sends none', async (t) => {
    const gateway = await startGateway([], mockProviderEnv(mock, { STREAM_KEEPALIVE_INTERVAL: '0' }));
    t.after(() => gateway.stop());
    const res = await postStream(gateway, '/v1/chat/completions',
      { model: 'openai/mock-model', messages: [{ role: 'user', content: 'one two' }] });
    assert.equal(res.status, 200);
    const blocks = await blocksOf(res);
    assert.ok(blocks.every((block) => block.startsWith('data: ')), blocks.join('|'));
  });
});

describe('keep-alive comments before the upstream\'s response head', () => {
  // The mock answers nothing, not even its head, for 500 ms (a server that queues the request, a
  // model that thinks before it answers).
  const LATE_HEAD = ['--ttft-ms', '500'];
  let mock;
  let gw;
  before(async () => {
    mock = await startMock(LATE_HEAD);
    gw = await startGateway(KEEPALIVE, mockProviderEnv(mock));
  });
  after(() => Promise.all([gw?.stop(), mock?.stop()]));

  test('a chat stream gets its head and comments while the upstream\'s head is awaited; the SDK assembles it', async () => {
    const res = await postStream(gw, '/v1/chat/completions',
      { model: 'openai/mock-model', messages: [{ role: 'user', content: 'one two three' }] });
    assert.equal(res.status, 200);
    const blocks = await blocksOf(res);
    const firstData = blocks.findIndex((block) => !block.startsWith(':'));
    assert.ok(firstData >= 2, `several comments before the first event: ${blocks.join('|')}`);
    assert.ok(blocks.slice(0, firstData).every((block) => block === ': keep-alive'));
    assert.equal(blocks.at(-1), 'data: [DONE]');

    const stream = await sdk(gw).chat.completions.create({
      model: 'openai/mock-model', stream: true, messages: [{ role: 'user', content: 'one two three' }],
    });
    assert.equal(await chatText(stream), 'one two three');
  });

  test('an Anthropic Messages stream (translated): the SDK assembles it', async () => {
    const anthropic = new Anthropic({ baseURL: gw.url, apiKey: 'k', maxRetries: 0 });
    const stream = anthropic.messages.stream({
      model: 'openai/mock-model', max_tokens: 50, messages: [{ role: 'user', content: 'four five' }],
    });
    const message = await stream.finalMessage();
    assert.equal(message.content[0].text, 'four five');
  });

  test('an upstream that refuses after the head was committed: the stream\'s final error event', async (t) => {
    // A raw upstream that answers 503 after 500 ms (the mock refuses at once).
    const failing = net.createServer((socket) => {
      socket.on('error', () => {});
      socket.once('data', () => setTimeout(() => socket.end(
        'HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\ncontent-length: 57\r\n\r\n' +
        '{"error":{"message":"overloaded, try later","type":"x"}}\n'), 500));
    });
    await new Promise((resolve) => failing.listen(0, '127.0.0.1', resolve));
    t.after(() => new Promise((resolve) => failing.close(resolve)));
    const gateway = await startGateway(KEEPALIVE, {
      OPENAI_BASE_URL: `http://127.0.0.1:${failing.address().port}/v1`, OPENAI_API_KEY: 'k',
    });
    t.after(() => gateway.stop());
    const res = await postStream(gateway, '/v1/chat/completions',
      { model: 'openai/mock-model', messages: [{ role: 'user', content: 'one' }] });
    assert.equal(res.status, 200, 'committed before the refusal');
    const blocks = await blocksOf(res);
    assert.equal(blocks[0], ': keep-alive');
    const last = JSON.parse(blocks.at(-1).replace(/^data: /, ''));
    assert.match(last.error.message, /overloaded, try later/, blocks.at(-1));
  });

  test('a request that is not a stream waits for its answer as before', async () => {
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'openai/mock-model', messages: [{ role: 'user', content: 'six' }] }),
    });
    assert.equal(res.status, 200);
    assert.equal((await res.json()).choices[0].message.content, 'six');
  });
});

describe('keep-alive comments through controller -> worker', () => {
  let mock;
  let controller;
  const workers = [];
  before(async () => {
    mock = await startMock(SILENT_MOCK);
    controller = await startController(KEEPALIVE);
    workers.push(await startWorker({
      id: 'w-silent', model: 'thinker', backend: mock, controller,
      flags: ['--backend-model', 'mock-model', ...KEEPALIVE],
    }));
    workers.push(await startWorker({
      id: 'w-claude', model: 'claude-thinker', backend: mock, controller,
      flags: ['--backend-type', 'anthropic', '--backend-model', 'claude-mock', ...KEEPALIVE],
    }));
    await waitForWorkers(controller, (ws) => ws.length === 2 && ws.every((w) => w.health === 'healthy'));
  });
  after(() => Promise.all([...workers.map((w) => w.stop()), controller?.stop(), mock?.stop()]));

  test("the worker's comments cross the hop; the SDK assembles the answer", async () => {
    const res = await postStream(controller, '/v1/chat/completions',
      { model: 'thinker', messages: [{ role: 'user', content: 'six seven' }] });
    assert.equal(res.status, 200);
    checkKeptAlive(await blocksOf(res));

    const stream = await sdk(controller).chat.completions.create({
      model: 'thinker', stream: true, messages: [{ role: 'user', content: 'six seven' }],
    });
    assert.equal(await chatText(stream), 'six seven');
  });

  test("Anthropic's own stream, passed through the worker, keeps alive; the SDK assembles it", async () => {
    const anthropic = new Anthropic({ baseURL: controller.url, apiKey: 'k', maxRetries: 0, timeout: 10_000 });
    const res = await fetch(`${controller.url}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
      body: JSON.stringify({ model: 'claude-thinker', max_tokens: 64, stream: true,
        messages: [{ role: 'user', content: 'eight nine' }] }),
    });
    assert.equal(res.status, 200);
    const blocks = await blocksOf(res);
    assert.equal(blocks[0], ': keep-alive');
    assert.ok(blocks.includes(': keep-alive') && blocks.at(-1).startsWith('event: message_stop'), blocks.join('|'));

    const final = await anthropic.messages.stream({
      model: 'claude-thinker', max_tokens: 64, messages: [{ role: 'user', content: 'eight nine' }],
    }).finalMessage();
    assert.deepEqual(final.content, [{ type: 'text', text: 'eight nine' }]);
  });
});
