// End-to-end: the official OpenAI Node SDK talking to a controller that routes to workers, which
// front mock backends through different adapters (OpenAI-compatible, Anthropic, Ollama native).

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { startController, startWorker, startMock, waitForWorkers } from '../lib/harness.mjs';
import { TOOLS, assembleToolCalls } from '../lib/tools.mjs';

describe('the OpenAI SDK through a controller and its workers', () => {
  const procs = [];
  let openai;
  before(async () => {
    const mock = await startMock(['--models', 'llama3:8b,mistral']);
    procs.push(mock);
    const controller = await startController([], { GATEWAY_API_KEYS: 'sk-client' });
    procs.push(controller);
    const workers = [
      { id: 'llama3-gpu-001', model: 'llama3', flags: ['--backend-model', 'llama3:8b'] },
      { id: 'llama3-gpu-002', model: 'llama3', flags: ['--backend-model', 'llama3:8b', '--backend-type', 'anthropic'] },
      { id: 'mistral-cpu-001', model: 'mistral', flags: ['--backend-type', 'ollama'] },
      // A model only an Anthropic-dialect worker serves: reached by name, not by a tie-break.
      { id: 'claude-gpu-001', model: 'llama3-anthropic', flags: ['--backend-model', 'llama3:8b', '--backend-type', 'anthropic'] },
    ];
    for (const w of workers) {
      procs.push(await startWorker({ id: w.id, model: w.model, backend: mock, controller, flags: w.flags }));
    }
    await waitForWorkers(controller, (ws) => ws.length === workers.length, { message: 'every worker' });
    openai = new OpenAI({ baseURL: `${controller.url}/v1`, apiKey: 'sk-client', maxRetries: 0, timeout: 10_000 });
  });
  after(() => Promise.all(procs.map((p) => p.stop())));

  test('models.list shows the models that have healthy workers', async () => {
    const ids = [];
    for await (const model of openai.models.list()) ids.push(model.id);
    assert.deepEqual(ids.sort(), ['llama3', 'llama3-anthropic', 'mistral']);
  });

  test('chat.completions.create, plain and streamed, on both models', async () => {
    for (const model of ['llama3', 'mistral']) {
      for (let i = 0; i < 4; i++) {  // both llama3 workers (two adapters) answer alike
        const completion = await openai.chat.completions.create({
          model, messages: [{ role: 'user', content: `Hello ${model}` }],
        });
        assert.equal(completion.choices[0].message.content, `Hello ${model}`);
        assert.equal(completion.choices[0].finish_reason, 'stop');
        const stream = await openai.chat.completions.create({
          model, messages: [{ role: 'user', content: 'Stream these four words' }], stream: true,
          stream_options: { include_usage: true },
        });
        const chunks = [];
        for await (const chunk of stream) chunks.push(chunk);
        const text = chunks.map((c) => c.choices.map((ch) => ch.delta?.content ?? '').join('')).join('');
        assert.equal(text, 'Stream these four words');
        assert.equal(chunks.at(-1).usage.completion_tokens, 4);
      }
    }
  });

  test('tool calls through each adapter: what the backend called, streamed and not', async () => {
    const messages = [{ role: 'user', content: 'Paris weather' }];
    // The mock backend calls every tool offered with {"query": <the user's message>}, in order
    // (tests/lib/tools.mjs): the expected calls do not come from the system under test.
    const expected = TOOLS.map((tool) => ({ name: tool.function.name, args: { query: 'Paris weather' } }));
    // OpenAI-compatible and Ollama workers by their own models; the Anthropic dialect by its own.
    for (const model of ['llama3', 'mistral', 'llama3-anthropic']) {
      const plain = await openai.chat.completions.create({ model, messages, tools: TOOLS });
      assert.equal(plain.choices[0].finish_reason, 'tool_calls', model);
      const calls = plain.choices[0].message.tool_calls;
      assert.deepEqual(calls.map((c) => ({ name: c.function.name, args: JSON.parse(c.function.arguments) })), expected, model);
      assert.ok(calls.every((c) => c.id && c.type === 'function'), model);
      const stream = await openai.chat.completions.create({ model, messages, tools: TOOLS, stream: true });
      const chunks = [];
      for await (const chunk of stream) chunks.push(chunk);
      assert.deepEqual(assembleToolCalls(chunks).map((c) => ({ name: c.name, args: JSON.parse(c.arguments) })), expected, model);
    }
  });

  test('errors surface as the SDK error classes', async () => {
    await assert.rejects(
      openai.chat.completions.create({ model: 'gpt-unknown', messages: [{ role: 'user', content: 'x' }] }),
      (err) => err instanceof OpenAI.NotFoundError && err.code === 'model_not_found',
    );
    const anonymous = new OpenAI({ baseURL: openai.baseURL, apiKey: 'wrong', maxRetries: 0 });
    await assert.rejects(
      anonymous.chat.completions.create({ model: 'llama3', messages: [{ role: 'user', content: 'x' }] }),
      (err) => err instanceof OpenAI.AuthenticationError,
    );
  });
});
