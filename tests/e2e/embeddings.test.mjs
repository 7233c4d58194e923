// End-to-end: embeddings through the gateway with the official OpenAI SDK (which asks for base64
// by default and decodes it) and the Vercel AI SDK's OpenAI provider (embed, embedMany), against
// every provider type that has embeddings, in server mode and through controller → worker.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { createOpenAI } from '@ai-sdk/openai';
import { embed, embedMany } from 'ai';

import {
  mockStats, startController, startGateway, startMock, startWorker, waitForModel, waitForWorkers,
} from '../lib/harness.mjs';

/** The mock's deterministic vector (src/gw/mock/embeddings.hpp) for a text input. */
function expectedVector(text, dimensions = 8) {
  const sum = [...Buffer.from(text, 'utf8')].reduce((a, b) => a + b, 0);
  return Array.from({ length: dimensions }, (_, j) => ((sum + 31 * j) % 1000) / 1000 - 0.5);
}

const asFloat32 = (values) => values.map((v) => Math.fround(v));

function sdk(gateway) {
  return new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'k', maxRetries: 0, timeout: 10_000 });
}

function aiProvider(gateway) {
  return createOpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'k' });
}

describe('embeddings with the SDKs through server', () => {
  let mock;
  let gw;
  before(async () => {
    mock = await startMock(['--models', 'embed-small,nomic-embed-text']);
    gw = await startGateway([], {
      OPENAI_BASE_URL: `${mock.url}/v1`, OPENAI_API_KEY: 'sk-test-key', OLLAMA_HOST: mock.url,
      AZURE_OPENAI_ENDPOINT: mock.url, AZURE_OPENAI_DEPLOYMENTS: 'embed-small',
    });
    await waitForModel(gw, 'nomic-embed-text:latest');  // Ollama's listing has arrived
  });
  after(() => Promise.all([gw?.stop(), mock?.stop()]));

  for (const model of ['openai/embed-small', 'azure/embed-small', 'ollama/nomic-embed-text']) {
    test(`openai SDK embeddings.create (base64 by default) → ${model}`, async () => {
      const result = await sdk(gw).embeddings.create({ model, input: ['one fish', 'two fish'] });
      assert.equal(result.object, 'list');
      assert.equal(result.data.length, 2);
      assert.deepEqual(result.data[0].embedding, asFloat32(expectedVector('one fish')));
      assert.deepEqual(result.data[1].embedding, asFloat32(expectedVector('two fish')));
      assert.equal(result.usage.prompt_tokens, 4);
      const sent = JSON.parse((await mockStats(mock)).last_request.body);
      // OpenAI dialects get the SDK's base64 request; Ollama gets floats, encoded by the gateway.
      assert.equal(sent.encoding_format, model.startsWith('ollama/') ? undefined : 'base64');
    });
  }

  test('openai SDK with encoding_format float and dimensions → ollama', async () => {
    const result = await sdk(gw).embeddings.create({
      model: 'ollama/nomic-embed-text', input: 'short', encoding_format: 'float', dimensions: 3,
    });
    assert.deepEqual(result.data[0].embedding, expectedVector('short', 3));
  });

  test('Vercel AI SDK embed and embedMany → ollama and openai', async () => {
    const openai = aiProvider(gw);
    const one = await embed({ model: openai.embedding('ollama/nomic-embed-text'), value: 'sunny day', maxRetries: 0 });
    assert.deepEqual(one.embedding, expectedVector('sunny day'));
    assert.equal(one.usage.tokens, 2);
    const many = await embedMany({
      model: openai.embedding('openai/embed-small'), values: ['a', 'b c', 'd'], maxRetries: 0,
    });
    assert.deepEqual(many.embeddings, ['a', 'b c', 'd'].map((v) => expectedVector(v)));
    assert.equal(many.usage.tokens, 4);
  });

  test('Anthropic has no embeddings: the SDK raises a BadRequestError that says so', async () => {
    const gwWithAnthropic = await startGateway([], { ANTHROPIC_BASE_URL: mock.url, ANTHROPIC_API_KEY: 'x' });
    try {
      await assert.rejects(
        sdk(gwWithAnthropic).embeddings.create({ model: 'anthropic/claude-x', input: 'hi' }),
        (error) => error instanceof OpenAI.BadRequestError && /no embeddings API/.test(error.message),
      );
    } finally {
      await gwWithAnthropic.stop();
    }
  });
});

describe('embeddings with the SDKs through controller → worker', () => {
  let mock;
  let controller;
  let worker;
  before(async () => {
    mock = await startMock(['--models', 'nomic-embed-text']);
    controller = await startController();
    worker = await startWorker({
      id: 'embed-w', model: 'embedder', backend: mock, controller,
      flags: ['--backend-type', 'ollama', '--backend-model', 'nomic-embed-text'],
    });
    await waitForWorkers(controller, (list) => list.some((w) => w.health === 'healthy'));
  });
  after(() => Promise.all([controller?.stop(), worker?.stop(), mock?.stop()]));

  test('openai SDK and Vercel AI SDK reach the Ollama-backed worker', async () => {
    const result = await sdk(controller).embeddings.create({ model: 'embedder', input: 'via cluster' });
    assert.deepEqual(result.data[0].embedding, asFloat32(expectedVector('via cluster')));
    const many = await embedMany({
      model: aiProvider(controller).embedding('embedder'), values: ['x', 'y'], maxRetries: 0,
    });
    assert.deepEqual(many.embeddings, [expectedVector('x'), expectedVector('y')]);
  });
});
