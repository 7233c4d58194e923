// POST /v1/embeddings: passed through to OpenAI-dialect upstreams (OpenAI, OpenAI-compatible,
// Azure's deployment URL), translated to Ollama's /api/embed (floats copied, or base64 made by
// the gateway), refused plainly for Anthropic, and routed by the controller to a worker.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';

import {
  mockStats, scrapeSettled, startController, startGateway, startMock, startWorker, waitForModel,
  waitForWorkers,
} from '../lib/harness.mjs';

/** The mock's deterministic vector (src/gw/mock/embeddings.hpp) for a text input. */
function expectedVector(text, dimensions = 8) {
  const sum = [...Buffer.from(text, 'utf8')].reduce((a, b) => a + b, 0);
  return Array.from({ length: dimensions }, (_, j) => ((sum + 31 * j) % 1000) / 1000 - 0.5);
}

/** OpenAI's base64 embedding: little-endian float32. */
function decodeBase64(text) {
  const bytes = Buffer.from(text, 'base64');
  return Array.from({ length: bytes.length / 4 }, (_, i) => bytes.readFloatLE(4 * i));
}

function postEmbeddings(gateway, body, headers = {}) {
  return fetch(`${gateway.url}/v1/embeddings`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

async function okJson(res) {
  const text = await res.text();
  assert.equal(res.status, 200, text);
  return JSON.parse(text);
}

function assertFloat32Close(actual, expected) {
  assert.equal(actual.length, expected.length);
  actual.forEach((value, i) => assert.equal(value, Math.fround(expected[i]), `element ${i}`));
}

describe('embeddings through server', () => {
  let mock;
  let gw;
  before(async () => {
    mock = await startMock(['--api-key', 'sk-test-key', '--models', 'embed-small,nomic-embed-text:latest']);
    gw = await startGateway([], {
      OPENAI_BASE_URL: `${mock.url}/v1`, OPENAI_API_KEY: 'sk-test-key',
      OLLAMA_HOST: mock.url,
      ANTHROPIC_BASE_URL: mock.url, ANTHROPIC_API_KEY: 'sk-test-key',
      AZURE_OPENAI_ENDPOINT: mock.url, AZURE_OPENAI_API_KEY: 'sk-test-key',
      AZURE_OPENAI_DEPLOYMENTS: 'embed-small', AZURE_OPENAI_API_VERSION: '2024-10-21',
    });
    await waitForModel(gw, 'anthropic/embed-small');
    await waitForModel(gw, 'ollama/nomic-embed-text:latest');
  });
  after(() => Promise.all([gw?.stop(), mock?.stop()]));

  test('OpenAI: the body passes with only the model changed; floats, usage and model come back', async () => {
    const request = { model: 'openai/embed-small', input: ['hello world', 'bye'], dimensions: 4, user: 'u-1' };
    const body = await okJson(await postEmbeddings(gw, request, { 'x-request-id': 'emb-1' }));
    assert.equal(body.object, 'list');
    assert.deepEqual(body.data.map((d) => [d.object, d.index]), [['embedding', 0], ['embedding', 1]]);
    assert.deepEqual(body.data[0].embedding, expectedVector('hello world', 4));
    assert.deepEqual(body.data[1].embedding, expectedVector('bye', 4));
    assert.deepEqual(body.usage, { prompt_tokens: 3, total_tokens: 3 });
    const { last_request: sent } = await mockStats(mock);
    assert.equal(sent.path, '/v1/embeddings');
    assert.equal(sent.headers.authorization, 'Bearer sk-test-key');
    assert.equal(sent.headers['x-request-id'], 'emb-1');
    assert.deepEqual(JSON.parse(sent.body), { ...request, model: 'embed-small' });
  });

  test('OpenAI: base64 is relayed as the upstream encoded it; token-id inputs pass', async () => {
    const body = await okJson(await postEmbeddings(gw, {
      model: 'openai/embed-small', input: 'hello', encoding_format: 'base64',
    }));
    assertFloat32Close(decodeBase64(body.data[0].embedding), expectedVector('hello'));
    const tokens = await okJson(await postEmbeddings(gw, { model: 'openai/embed-small', input: [[1, 2], [3]] }));
    assert.equal(tokens.data.length, 2);
    assert.deepEqual(tokens.usage, { prompt_tokens: 3, total_tokens: 3 });
  });

  test('Azure: the deployment URL and api-version; the deployment answers', async () => {
    const body = await okJson(await postEmbeddings(gw, { model: 'azure/embed-small', input: 'hi there' }));
    assert.deepEqual(body.data[0].embedding, expectedVector('hi there'));
    assert.equal(body.model, 'embed-small');
    const { last_request: sent } = await mockStats(mock);
    assert.equal(sent.path, '/openai/deployments/embed-small/embeddings?api-version=2024-10-21');
    assert.equal(sent.headers['api-key'], 'sk-test-key');
  });

  test('Ollama: translated to /api/embed; vectors in input order, usage from prompt_eval_count', async () => {
    const inputs = ['first text', 'second', 'third one here'];
    const body = await okJson(await postEmbeddings(gw, {
      model: 'ollama/nomic-embed-text', input: inputs, dimensions: 5, encoding_format: 'float', user: 'u',
    }));
    assert.equal(body.object, 'list');
    assert.equal(body.model, 'nomic-embed-text');  // Ollama's own answer: the name it was sent
    assert.deepEqual(body.data.map((d) => d.index), [0, 1, 2]);
    inputs.forEach((text, i) => assert.deepEqual(body.data[i].embedding, expectedVector(text, 5)));
    assert.deepEqual(body.usage, { prompt_tokens: 6, total_tokens: 6 });
    const { last_request: sent } = await mockStats(mock);
    assert.equal(sent.path, '/api/embed');
    assert.deepEqual(JSON.parse(sent.body), {
      model: 'nomic-embed-text', truncate: false, dimensions: 5, input: inputs,
    });
  });

  test('Ollama: base64 made by the gateway (little-endian float32), as the SDKs ask by default', async () => {
    const body = await okJson(await postEmbeddings(gw, {
      model: 'ollama/nomic-embed-text', input: 'encode me', encoding_format: 'base64',
    }));
    assert.equal(typeof body.data[0].embedding, 'string');
    assertFloat32Close(decodeBase64(body.data[0].embedding), expectedVector('encode me'));
  });

  test('Ollama: token ids cannot be sent; Anthropic has no embeddings API: plain 400s', async () => {
    const tokens = await postEmbeddings(gw, { model: 'ollama/nomic-embed-text', input: [1, 2, 3] });
    assert.equal(tokens.status, 400);
    assert.equal((await tokens.json()).error.param, 'input');
    const anthropic = await postEmbeddings(gw, { model: 'anthropic/claude-x', input: 'hi' });
    assert.equal(anthropic.status, 400);
    const error = (await anthropic.json()).error;
    assert.equal(error.type, 'invalid_request_error');
    assert.match(error.message, /no embeddings API/);
  });

  test('invalid bodies are 400s naming the field; GET is 405', async () => {
    const cases = [
      [{ input: 'x' }, 'model'],
      [{ model: 'openai/embed-small' }, 'input'],
      [{ model: 'openai/embed-small', input: [] }, 'input'],
      [{ model: 'openai/embed-small', input: [1, 'a'] }, 'input'],
      [{ model: 'openai/embed-small', input: 'x', encoding_format: 'hex' }, 'encoding_format'],
      [{ model: 'openai/embed-small', input: 'x', dimensions: 0 }, 'dimensions'],
      [{ model: 'openai/embed-small', input: 'x', user: 7 }, 'user'],
    ];
    for (const [body, param] of cases) {
      const res = await postEmbeddings(gw, body);
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.equal((await res.json()).error.param, param, JSON.stringify(body));
    }
    assert.equal((await postEmbeddings(gw, '{"model":')).status, 400);
    assert.equal((await fetch(`${gw.url}/v1/embeddings`)).status, 405);
  });

  test('an upstream failure keeps its status; metrics count the endpoint and prompt tokens', async () => {
    await fetch(`${mock.url}/mock/fail-status`, { method: 'POST', body: '503' });
    try {
      const res = await postEmbeddings(gw, { model: 'openai/embed-small', input: 'x' });
      assert.equal(res.status, 502);
      const ollama = await postEmbeddings(gw, { model: 'ollama/nomic-embed-text', input: 'x' });
      assert.equal(ollama.status, 502);
    } finally {
      await fetch(`${mock.url}/mock/fail-status`, { method: 'POST', body: '0' });
    }
    const metrics = await scrapeSettled(gw);
    const requests = metrics.value('llm_gateway_requests_total', {
      endpoint: '/v1/embeddings', provider: 'openai', model: 'openai/embed-small', status: '200',
    });
    assert.ok(requests >= 3, `requests ${requests}`);
    assert.ok(metrics.value('llm_gateway_prompt_tokens_total', {
      provider: 'ollama', model: 'ollama/nomic-embed-text',
    }) >= 6);
  });
});

describe('embeddings through controller → worker', () => {
  let mock;
  let controller;
  const workers = [];
  before(async () => {
    mock = await startMock(['--models', 'nomic-embed-text']);
    controller = await startController();
    workers.push(await startWorker({
      id: 'ollama-w', model: 'embedder', backend: mock, controller,
      flags: ['--backend-type', 'ollama', '--backend-model', 'nomic-embed-text'],
    }));
    workers.push(await startWorker({ id: 'openai-w', model: 'openai-embedder', backend: `${mock.url}/v1`, controller }));
    await waitForWorkers(controller, (list) => list.filter((w) => w.health === 'healthy').length === 2);
  });
  after(() => Promise.all([controller?.stop(), mock?.stop(), ...workers.map((w) => w.stop())]));

  test('routed to the model\'s worker; translated there; base64 kept through the hop', async () => {
    const body = await okJson(await postEmbeddings(controller, {
      model: 'embedder', input: ['a b', 'c'], encoding_format: 'base64',
    }));
    assert.equal(body.data.length, 2);
    assertFloat32Close(decodeBase64(body.data[1].embedding), expectedVector('c'));
    assert.deepEqual(body.usage, { prompt_tokens: 3, total_tokens: 3 });
    const { last_request: sent } = await mockStats(mock);
    assert.equal(sent.path, '/api/embed');
    assert.equal(JSON.parse(sent.body).model, 'nomic-embed-text');

    const plain = await okJson(await postEmbeddings(controller, { model: 'openai-embedder', input: 'zz' }));
    assert.deepEqual(plain.data[0].embedding, expectedVector('zz'));
    assert.equal(JSON.parse((await mockStats(mock)).last_request.body).model, 'openai-embedder');
    const metrics = await scrapeSettled(controller);
    assert.ok(metrics.value('llm_gateway_requests_total', {
      endpoint: '/v1/embeddings', provider: 'ollama-w', model: 'embedder', status: '200',
    }) >= 1);
  });

  test('an unknown model is a 404; a bad body a 400 before any worker is tried', async () => {
    const unknown = await postEmbeddings(controller, { model: 'nope', input: 'x' });
    assert.equal(unknown.status, 404);
    const bad = await postEmbeddings(controller, { model: 'embedder', input: {} });
    assert.equal(bad.status, 400);
    assert.equal((await bad.json()).error.param, 'input');
  });
});
