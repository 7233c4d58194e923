// POST /v1/completions (legacy text completions): passed through to OpenAI-compatible servers and
// Azure, plain and streamed, with the same usage accounting as chat; a plain 400 for providers
// without that API; routed by the controller to a worker.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';

import {
  collectSse, mockStats, scrapeSettled, startController, startGateway, startMock, startWorker,
  waitForModel, waitForWorkers,
} from '../lib/harness.mjs';

function postCompletions(gateway, body) {
  return fetch(`${gateway.url}/v1/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

const textOf = (chunks) => chunks.map((c) => c.choices.map((ch) => ch.text).join('')).join('');

/** The chunks of a stream, which must have ended with [DONE]. */
async function streamChunks(res) {
  const { events, error } = await collectSse(res);
  assert.equal(error, null);
  assert.equal(events.at(-1), '[DONE]', 'the stream ends with [DONE]');
  return events.slice(0, -1).map((e) => JSON.parse(e));
}

describe('legacy completions through server', () => {
  let mock;
  let gw;
  before(async () => {
    mock = await startMock(['--models', 'instruct,instruct-prod']);
    gw = await startGateway([], {
      OPENAI_BASE_URL: `${mock.url}/v1`, OPENAI_API_KEY: 'sk-test-key',
      AZURE_OPENAI_ENDPOINT: mock.url, AZURE_OPENAI_DEPLOYMENTS: 'instruct-prod',
      AZURE_OPENAI_API_VERSION: '2024-10-21',
      ANTHROPIC_BASE_URL: mock.url, ANTHROPIC_API_KEY: 'x', OLLAMA_HOST: mock.url,
    });
    await waitForModel(gw, 'azure/instruct-prod');
  });
  after(() => Promise.all([gw?.stop(), mock?.stop()]));

  test('plain: the body passes with only the model changed; the answer and usage come back', async () => {
    const request = { model: 'openai/instruct', prompt: 'say this please', max_tokens: 2, echo: false, suffix: '' };
    const res = await postCompletions(gw, request);
    const body = await res.json();
    assert.equal(res.status, 200, JSON.stringify(body));
    assert.equal(body.object, 'text_completion');
    assert.equal(body.choices[0].text, 'say this');
    assert.equal(body.choices[0].finish_reason, 'length');
    assert.deepEqual(body.usage, { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 });
    const { last_request: sent } = await mockStats(mock);
    assert.equal(sent.path, '/v1/completions');
    assert.deepEqual(JSON.parse(sent.body), { ...request, model: 'instruct' });
  });

  test('streamed: chunks in order, [DONE]; usage asked for by the gateway is counted, not relayed', async () => {
    const res = await postCompletions(gw, { model: 'openai/instruct', prompt: 'one two three', stream: true });
    assert.equal(res.status, 200);
    const chunks = await streamChunks(res);
    assert.equal(textOf(chunks), 'one two three');
    assert.ok(chunks.every((c) => c.choices.length === 1), 'no usage-only chunk the client did not ask for');
    const sent = JSON.parse((await mockStats(mock)).last_request.body);
    assert.deepEqual(sent.stream_options, { include_usage: true });
    const metrics = await scrapeSettled(gw);
    assert.ok(metrics.value('llm_gateway_completion_tokens_total', { provider: 'openai', model: 'openai/instruct' }) >= 5);
    assert.ok(metrics.value('llm_gateway_requests_total', {
      endpoint: '/v1/completions', provider: 'openai', model: 'openai/instruct', status: '200',
    }) >= 2);
  });

  test('streamed with usage asked for: the usage chunk reaches the client', async () => {
    const res = await postCompletions(gw, {
      model: 'openai/instruct', prompt: 'a b', stream: true, stream_options: { include_usage: true },
    });
    const last = (await streamChunks(res)).at(-1);
    assert.deepEqual(last.choices, []);
    assert.deepEqual(last.usage, { prompt_tokens: 2, completion_tokens: 2, total_tokens: 4 });
  });

  test('Azure: the deployment URL with api-version', async () => {
    const res = await postCompletions(gw, { model: 'azure/instruct-prod', prompt: 'hi there' });
    const body = await res.json();
    assert.equal(res.status, 200, JSON.stringify(body));
    assert.equal(body.choices[0].text, 'hi there');
    assert.equal(body.model, 'instruct-prod');
    const { last_request: sent } = await mockStats(mock);
    assert.equal(sent.path, '/openai/deployments/instruct-prod/completions?api-version=2024-10-21');
  });

  test('Ollama: translated to /api/generate (raw), plain and streamed, with its usage', async () => {
    const res = await postCompletions(gw, {
      model: 'ollama/instruct', prompt: ['say this please'], max_tokens: 2, temperature: 0.3, stop: 'x', echo: false,
    });
    const body = await res.json();
    assert.equal(res.status, 200, JSON.stringify(body));
    assert.equal(body.object, 'text_completion');
    assert.equal(body.choices[0].text, 'say this');
    assert.equal(body.choices[0].finish_reason, 'length');
    assert.deepEqual(body.usage, { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 });
    const { last_request: sent } = await mockStats(mock);
    assert.equal(sent.path, '/api/generate');
    assert.deepEqual(JSON.parse(sent.body), {
      model: 'instruct', raw: true, stream: false, prompt: 'say this please',
      options: { num_predict: 2, temperature: 0.3, stop: ['x'] },
    });
    const streamed = await postCompletions(gw, { model: 'ollama/instruct', prompt: 'one two three', stream: true });
    const chunks = await streamChunks(streamed);
    assert.equal(textOf(chunks), 'one two three');
    assert.equal(chunks.at(-1).choices[0].finish_reason, 'stop');
    assert.ok(chunks.every((c) => c.object === 'text_completion' && c.choices.length === 1));
    const metrics = await scrapeSettled(gw);
    assert.ok(metrics.value('llm_gateway_completion_tokens_total', { provider: 'ollama', model: 'ollama/instruct' }) >= 5);
    for (const [extra, param] of [[{ prompt: ['a', 'b'] }, 'prompt'], [{ prompt: 'a', n: 2 }, 'n'], [{ prompt: 'a', echo: true }, 'echo']]) {
      const refused = await postCompletions(gw, { model: 'ollama/instruct', ...extra });
      assert.equal(refused.status, 400, JSON.stringify(extra));
      assert.equal((await refused.json()).error.param, param);
    }
  });

  test('providers without the API and invalid bodies are 400s naming the field', async () => {
    for (const model of ['anthropic/claude-x']) {
      const res = await postCompletions(gw, { model, prompt: 'x' });
      const body = await res.json();
      assert.equal(res.status, 400, `${model}: ${JSON.stringify(body)}`);
      assert.match(body.error.message, /no legacy completions API/);
    }
    const cases = [[{ prompt: 'x' }, 'model'], [{ model: 'openai/instruct' }, 'prompt'],
      [{ model: 'openai/instruct', prompt: 7 }, 'prompt'], [{ model: 'openai/instruct', prompt: 'x', stream: 'y' }, 'stream']];
    for (const [body, param] of cases) {
      const res = await postCompletions(gw, body);
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.equal((await res.json()).error.param, param);
    }
    assert.equal((await fetch(`${gw.url}/v1/completions`)).status, 405);
  });
});

describe('legacy completions through controller → worker', () => {
  let mock;
  let controller;
  let worker;
  before(async () => {
    mock = await startMock(['--models', 'instruct']);
    controller = await startController();
    worker = await startWorker({ id: 'w-instruct', model: 'instruct', backend: `${mock.url}/v1`, controller });
    await waitForWorkers(controller, (list) => list.some((w) => w.health === 'healthy'));
  });
  after(() => Promise.all([controller?.stop(), worker?.stop(), mock?.stop()]));

  test('plain and streamed, with the usage chunk kept from a client that did not ask', async () => {
    const plain = await (await postCompletions(controller, { model: 'instruct', prompt: 'x y' })).json();
    assert.equal(plain.choices[0].text, 'x y');
    const res = await postCompletions(controller, { model: 'instruct', prompt: 'p q r', stream: true });
    const chunks = await streamChunks(res);
    assert.equal(textOf(chunks), 'p q r');
    assert.ok(chunks.every((c) => c.choices.length === 1));
    const metrics = await scrapeSettled(controller);
    assert.ok(metrics.value('llm_gateway_completion_tokens_total', { provider: 'w-instruct', model: 'instruct' }) >= 5);
  });
});
