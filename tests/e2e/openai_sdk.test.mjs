// End-to-end: the official OpenAI Node SDK talking to the gateway (echo model and the mock
// backend behind it), including how gateway errors surface as SDK error classes.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { startGateway, startMock, mockStats, mockProviderEnv, waitForModel } from '../lib/harness.mjs';

function client(gateway, apiKey = 'k') {
  return new OpenAI({
    baseURL: `${gateway.url}/v1`,
    apiKey,
    organization: null,
    project: null,
    maxRetries: 0,
    timeout: 10_000,
  });
}

const HEX32 = /^[0-9a-f]{32}$/;

/** Consumes an SDK stream; returns {text, chunks}. */
async function consume(stream) {
  const chunks = [];
  for await (const chunk of stream) chunks.push(chunk);
  const text = chunks.map((c) => c.choices.map((ch) => ch.delta?.content ?? '').join('')).join('');
  return { text, chunks };
}

describe('echo model through the SDK', () => {
  let gw;
  let openai;
  before(async () => {
    gw = await startGateway();
    openai = client(gw);
  });
  after(() => gw?.stop());

  test('chat.completions.create (non-streaming)', async () => {
    const { data: completion, response, request_id } = await openai.chat.completions
      .create({ model: 'echo', messages: [{ role: 'user', content: 'Hello from the SDK' }] })
      .withResponse();
    assert.equal(response.status, 200);
    assert.match(request_id ?? '', HEX32);
    assert.equal(completion.object, 'chat.completion');
    assert.equal(completion.model, 'echo');
    assert.equal(completion.choices[0].message.role, 'assistant');
    assert.equal(completion.choices[0].message.content, 'Hello from the SDK');
    assert.equal(completion.choices[0].finish_reason, 'stop');
  });

  test('chat.completions.create (streaming, with usage)', async () => {
    const stream = await openai.chat.completions.create({
      model: 'echo',
      messages: [
        { role: 'system', content: 'ignored' },
        { role: 'user', content: 'Stream these words please' },
      ],
      stream: true,
      stream_options: { include_usage: true },
    });
    const { text, chunks } = await consume(stream);
    assert.equal(text, 'Stream these words please');
    assert.equal(chunks[0].choices[0].delta.role, 'assistant');
    const finish = chunks.filter((c) => c.choices[0]?.finish_reason);
    assert.equal(finish.length, 1);
    assert.equal(finish[0].choices[0].finish_reason, 'stop');
    const last = chunks.at(-1);
    assert.deepEqual(last.choices, []);
    assert.equal(last.usage.completion_tokens, 4);
    assert.equal(last.usage.total_tokens, last.usage.prompt_tokens + last.usage.completion_tokens);
  });

  test('models.list and models.retrieve', async () => {
    const ids = [];
    for await (const m of openai.models.list()) ids.push(m.id);
    assert.deepEqual(ids, ['echo']);
    const echo = await openai.models.retrieve('echo');
    assert.equal(echo.id, 'echo');
    assert.equal(echo.owned_by, 'llm-gateway');
  });

  test('an unknown model → OpenAI.NotFoundError (404, model_not_found)', async () => {
    await assert.rejects(
      openai.chat.completions.create({ model: 'definitely-not-a-model', messages: [{ role: 'user', content: 'x' }] }),
      (err) => {
        assert.ok(err instanceof OpenAI.NotFoundError, `got ${err?.constructor?.name}: ${err}`);
        assert.equal(err.status, 404);
        assert.equal(err.code, 'model_not_found');
        assert.match(err.requestID ?? '', HEX32);
        return true;
      },
    );
    await assert.rejects(openai.models.retrieve('definitely-not-a-model'), OpenAI.NotFoundError);
  });

  test('a request without messages → OpenAI.BadRequestError (400, param messages)', async () => {
    await assert.rejects(openai.chat.completions.create({ model: 'echo', messages: [] }), (err) => {
      assert.ok(err instanceof OpenAI.BadRequestError, `got ${err?.constructor?.name}: ${err}`);
      assert.equal(err.status, 400);
      assert.equal(err.param, 'messages');
      return true;
    });
  });
});

describe('the mock backend through the SDK', () => {
  let mock;
  let gw;
  let openai;
  before(async () => {
    mock = await startMock(['--api-key', 'sk-test-key']);
    gw = await startGateway([], mockProviderEnv(mock, { ENABLE_ECHO_MODEL: '1' }));
    openai = client(gw);
  });
  after(() => Promise.all([gw?.stop(), mock?.stop()]));

  test('prefixed model, non-streaming and streaming', async () => {
    const completion = await openai.chat.completions.create({
      model: 'openai/mock-model',
      messages: [{ role: 'user', content: 'through the mock' }],
    });
    assert.equal(completion.choices[0].message.content, 'through the mock');

    const stream = await openai.chat.completions.create({
      model: 'openai/mock-model',
      messages: [{ role: 'user', content: 'streamed through the mock' }],
      stream: true,
    });
    const { text, chunks } = await consume(stream);
    assert.equal(text, 'streamed through the mock');
    assert.equal(chunks.at(-1).choices[0].finish_reason, 'stop');
    const { last_request: req } = await mockStats(mock);
    assert.equal(JSON.parse(req.body).model, 'mock-model');
    assert.equal(req.headers.authorization, 'Bearer sk-test-key');
  });

  test('models.list contains echo and mock-model; unprefixed name works', async () => {
    await waitForModel(gw, 'mock-model');
    const ids = [];
    for await (const m of openai.models.list()) ids.push(m.id);
    assert.ok(ids.includes('echo'), JSON.stringify(ids));
    assert.ok(ids.includes('mock-model'), JSON.stringify(ids));

    const completion = await openai.chat.completions.create({
      model: 'mock-model',
      messages: [{ role: 'user', content: 'unprefixed via sdk' }],
    });
    assert.equal(completion.choices[0].message.content, 'unprefixed via sdk');
    const stream = await openai.chat.completions.create({
      model: 'mock-model',
      messages: [{ role: 'user', content: 'unprefixed stream via sdk' }],
      stream: true,
    });
    assert.equal((await consume(stream)).text, 'unprefixed stream via sdk');
  });
});

describe('legacy completions through the SDK', () => {
  let mock;
  let gw;
  before(async () => {
    mock = await startMock(['--api-key', 'sk-test-key', '--models', 'instruct']);
    gw = await startGateway([], mockProviderEnv(mock, { OLLAMA_HOST: mock.url }));
  });
  after(() => Promise.all([gw?.stop(), mock?.stop()]));

  // OpenAI: passed through; Ollama: translated to /api/generate.
  for (const model of ['openai/instruct', 'ollama/instruct']) {
    test(`completions.create, plain and streamed → ${model}`, async () => {
      const openai = client(gw);
      const completion = await openai.completions.create({ model, prompt: 'once upon a time' });
      assert.equal(completion.object, 'text_completion');
      assert.equal(completion.choices[0].text, 'once upon a time');
      assert.equal(completion.choices[0].finish_reason, 'stop');
      assert.equal(completion.usage.completion_tokens, 4);

      const stream = await openai.completions.create({
        model, prompt: 'the end', stream: true, stream_options: { include_usage: true },
      });
      let text = '';
      let usage;
      for await (const chunk of stream) {
        text += chunk.choices.map((c) => c.text).join('');
        usage = chunk.usage ?? usage;
      }
      assert.equal(text, 'the end');
      assert.equal(usage.total_tokens, 4);
    });
  }
});

describe('errors through the SDK', () => {
  test('upstream 429 → OpenAI.RateLimitError with Retry-After', async (t) => {
    const mock = await startMock(['--fail-status', '429', '--retry-after', '1']);
    t.after(() => mock.stop());
    const gw = await startGateway([], mockProviderEnv(mock));
    t.after(() => gw.stop());
    const openai = client(gw);
    await assert.rejects(
      openai.chat.completions.create({ model: 'openai/mock-model', messages: [{ role: 'user', content: 'x' }] }),
      (err) => {
        assert.ok(err instanceof OpenAI.RateLimitError, `got ${err?.constructor?.name}: ${err}`);
        assert.equal(err.status, 429);
        assert.equal(err.headers.get('retry-after'), '1');
        assert.match(err.message, /mock-backend failure injected/);
        return true;
      },
    );
    await assert.rejects(
      openai.chat.completions.create({ model: 'openai/mock-model', messages: [{ role: 'user', content: 'x' }], stream: true }),
      OpenAI.RateLimitError,
    );
    assert.equal((await mockStats(mock)).requests, 2, 'maxRetries 0: one upstream request per call');
  });

  test('GATEWAY_API_KEYS with a wrong key → OpenAI.AuthenticationError; the right key works', async (t) => {
    const gw = await startGateway([], { GATEWAY_API_KEYS: 'right-key' });
    t.after(() => gw.stop());
    const req = { model: 'echo', messages: [{ role: 'user', content: 'who am i' }] };
    await assert.rejects(client(gw, 'wrong-key').chat.completions.create(req), (err) => {
      assert.ok(err instanceof OpenAI.AuthenticationError, `got ${err?.constructor?.name}: ${err}`);
      assert.equal(err.status, 401);
      return true;
    });
    await assert.rejects(client(gw, 'wrong-key').models.list(), OpenAI.AuthenticationError);
    const ok = await client(gw, 'right-key').chat.completions.create(req);
    assert.equal(ok.choices[0].message.content, 'who am i');
  });

  test('upstream 500 → OpenAI.InternalServerError with status 502', async (t) => {
    const mock = await startMock(['--fail-status', '500']);
    t.after(() => mock.stop());
    const gw = await startGateway([], mockProviderEnv(mock));
    t.after(() => gw.stop());
    await assert.rejects(
      client(gw).chat.completions.create({ model: 'openai/mock-model', messages: [{ role: 'user', content: 'x' }] }),
      (err) => {
        assert.ok(err instanceof OpenAI.InternalServerError, `got ${err?.constructor?.name}: ${err}`);
        assert.equal(err.status, 502);
        return true;
      },
    );
  });

  test('a stream cut by the upstream surfaces as an OpenAI.APIError while iterating', async (t) => {
    const mock = await startMock(['--cut-after', '2']);
    t.after(() => mock.stop());
    const gw = await startGateway([], mockProviderEnv(mock));
    t.after(() => gw.stop());
    const stream = await client(gw).chat.completions.create({
      model: 'openai/mock-model',
      messages: [{ role: 'user', content: 'one two three four' }],
      stream: true,
    });
    const seen = [];
    await assert.rejects(
      (async () => {
        for await (const chunk of stream) seen.push(chunk);
      })(),
      (err) => {
        assert.ok(err instanceof OpenAI.APIError, `got ${err?.constructor?.name}: ${err}`);
        return true;
      },
    );
    assert.equal(seen.length, 2, 'the chunks before the cut were delivered');
    assert.equal(seen.map((c) => c.choices[0].delta.content ?? '').join(''), 'one');
  });
});
