// End-to-end: the Responses API through the gateway with the official OpenAI SDK
// (responses.create plain and streamed, the responses.stream() helper, which checks the event
// sequence strictly, and a function-call round trip) and with the Vercel AI SDK's default OpenAI
// provider, `openai(model)`, which speaks the Responses API (generateText, streamText, a tool
// call), against every provider type, in server mode and through controller → worker.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { createOpenAI } from '@ai-sdk/openai';
import { generateObject, generateText, jsonSchema, stepCountIs, streamText, tool } from 'ai';

import {
  mockStats, startController, startGateway, startMock, startWorker, waitForModel, waitForWorkers,
} from '../lib/harness.mjs';
import { outputText } from '../lib/responses.mjs';

function sdk(gateway) {
  return new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'k', maxRetries: 0, timeout: 10_000 });
}

function aiModel(gateway, model) {
  // createOpenAI(...)(model) is the Responses API in @ai-sdk/openai 2 and later.
  return createOpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'k' })(model);
}

const searchTool = {
  type: 'function',
  name: 'search',
  description: 'Search the web',
  parameters: { type: 'object', properties: { query: { type: 'string' } }, required: ['query'] },
  strict: false,
};

/** The openai SDK's own round trip: a function call, its output sent back, the final text. */
async function functionCallRoundTrip(client, model) {
  const first = await client.responses.create({ model, input: 'weather in Paris', tools: [searchTool] });
  const call = first.output.find((item) => item.type === 'function_call');
  assert.ok(call, JSON.stringify(first.output));
  assert.equal(call.name, 'search');
  assert.deepEqual(JSON.parse(call.arguments), { query: 'weather in Paris' });
  const second = await client.responses.create({
    model,
    tools: [searchTool],
    input: [
      { role: 'user', content: 'weather in Paris' },
      call,  // the output item as the SDK returned it (with its id and status)
      { type: 'function_call_output', call_id: call.call_id, output: 'sunny, 21 C' },
    ],
  });
  assert.equal(second.output_text, 'Tool said: sunny, 21 C');
}

/** The AI SDK's tool loop: the model calls `search`, the SDK runs it and sends its result back. */
async function aiToolLoop(model) {
  const seen = [];
  const result = await generateText({
    model,
    prompt: 'weather in Rome',
    tools: {
      search: tool({
        description: 'Search the web',
        inputSchema: jsonSchema({ type: 'object', properties: { query: { type: 'string' } }, required: ['query'] }),
        execute: async ({ query }) => {
          seen.push(query);
          return `cloudy for ${query}`;
        },
      }),
    },
    stopWhen: stepCountIs(3),
  });
  assert.deepEqual(seen, ['weather in Rome']);
  assert.equal(result.steps.length, 2);
  assert.equal(result.steps[0].finishReason, 'tool-calls');
  assert.match(result.text, /^Tool said: .*cloudy for weather in Rome/);
}

const models = {
  'openai/gpt-x': '/v1/responses',
  'azure/gpt-x': '/openai/v1/responses',
  'anthropic/gpt-x': '/v1/messages',
  'ollama/gpt-x': '/api/chat',
  'vllm/gpt-x': '/v1/chat/completions',
};

describe('Responses API with the SDKs through server', () => {
  let mock;
  let gw;
  before(async () => {
    mock = await startMock(['--models', 'gpt-x']);
    gw = await startGateway([], {
      OPENAI_BASE_URL: `${mock.url}/v1`, OPENAI_API_KEY: 'sk-test-key',
      AZURE_OPENAI_ENDPOINT: mock.url, AZURE_OPENAI_DEPLOYMENTS: 'gpt-x',
      ANTHROPIC_BASE_URL: mock.url, ANTHROPIC_API_KEY: 'sk-test-key',
      OLLAMA_HOST: mock.url, PROVIDER_VLLM_BASE_URL: `${mock.url}/v1`,
    });
    await waitForModel(gw, 'gpt-x:latest');  // Ollama's listing has arrived
    await waitForModel(gw, 'anthropic/gpt-x');
  });
  after(() => Promise.all([gw?.stop(), mock?.stop()]));

  for (const [model, path] of Object.entries(models)) {
    test(`openai SDK responses.create, plain and streamed → ${model}`, async () => {
      const client = sdk(gw);
      const response = await client.responses.create({ model, input: 'hello from the sdk', instructions: 'Echo.' });
      assert.equal(response.output_text, 'hello from the sdk');
      assert.equal(response.status, 'completed');
      assert.equal(response.usage.output_tokens, 4);
      assert.equal((await mockStats(mock)).last_request.path, path);

      const stream = await client.responses.create({ model, input: 'streamed from the sdk', stream: true });
      const types = [];
      let text = '';
      let completed;
      for await (const event of stream) {
        types.push(event.type);
        if (event.type === 'response.output_text.delta') text += event.delta;
        if (event.type === 'response.completed') completed = event.response;
      }
      assert.equal(text, 'streamed from the sdk');
      assert.equal(types[0], 'response.created');
      assert.equal(types.at(-1), 'response.completed');
      assert.equal(completed.usage.output_tokens, 4);
    });

    test(`openai SDK responses.stream() helper (strict event checks) → ${model}`, async () => {
      const runner = sdk(gw).responses.stream({ model, input: 'helper checks events' });
      const deltas = [];
      runner.on('response.output_text.delta', (event) => deltas.push(event.delta));
      const final = await runner.finalResponse();
      assert.equal(outputText(final), 'helper checks events');
      assert.equal(deltas.join(''), 'helper checks events');
    });

    test(`openai SDK function-call round trip → ${model}`, async () => {
      await functionCallRoundTrip(sdk(gw), model);
    });

    test(`AI SDK openai(model): generateText, streamText and a tool loop → ${model}`, async () => {
      const generated = await generateText({ model: aiModel(gw, model), prompt: 'ai sdk says hi' });
      assert.equal(generated.text, 'ai sdk says hi');
      assert.equal(generated.finishReason, 'stop');
      assert.equal(generated.usage.outputTokens, 4);
      assert.equal((await mockStats(mock)).last_request.path, path);

      const streamed = streamText({ model: aiModel(gw, model), prompt: 'ai sdk streams this' });
      let text = '';
      for await (const part of streamed.textStream) text += part;
      assert.equal(text, 'ai sdk streams this');
      assert.equal(await streamed.finishReason, 'stop');
      assert.equal((await streamed.usage).outputTokens, 4);

      await aiToolLoop(aiModel(gw, model));
    });
  }

  test('the AI SDK\'s generateObject through the Responses API (text.format json_schema) → anthropic', async () => {
    const { object } = await generateObject({
      model: aiModel(gw, 'anthropic/gpt-x'),
      schema: jsonSchema({ type: 'object', properties: { query: { type: 'string' } }, required: ['query'], additionalProperties: false }),
      prompt: 'structured please',
    });
    assert.deepEqual(object, { query: 'structured please' });
    const sent = JSON.parse((await mockStats(mock)).last_request.body);
    assert.equal(sent.tool_choice.name, 'json_response');
  });

  test('the AI SDK\'s token limit arrives as finishReason length (translated)', async () => {
    const result = await generateText({
      model: aiModel(gw, 'anthropic/gpt-x'), prompt: 'one two three four five', maxOutputTokens: 2,
    });
    assert.equal(result.text, 'one two');
    assert.equal(result.finishReason, 'length');
  });
});

describe('Responses API with the SDKs through controller → worker', () => {
  let mock;
  let controller;
  let workers;
  before(async () => {
    mock = await startMock(['--models', 'claude-x,gpt-x']);
    controller = await startController();
    workers = await Promise.all([
      startWorker({ id: 'w-claude', model: 'claude-x', backend: mock.url, controller, env: { BACKEND_TYPE: 'anthropic', BACKEND_API_KEY: 'k' } }),
      startWorker({ id: 'w-gpt', model: 'gpt-x', backend: `${mock.url}/v1`, controller, env: { BACKEND_TYPE: 'openai' } }),
    ]);
    await waitForWorkers(controller, (list) => list.filter((w) => w.health === 'healthy').length === 2);
  });
  after(() => Promise.all([controller?.stop(), ...(workers ?? []).map((w) => w.stop()), mock?.stop()]));

  for (const model of ['claude-x', 'gpt-x']) {
    test(`openai SDK and AI SDK → ${model}`, async () => {
      const client = sdk(controller);
      assert.equal((await client.responses.create({ model, input: 'through the cluster' })).output_text, 'through the cluster');
      const final = await client.responses.stream({ model, input: 'cluster stream' }).finalResponse();
      assert.equal(outputText(final), 'cluster stream');
      await functionCallRoundTrip(client, model);
      const streamed = streamText({ model: aiModel(controller, model), prompt: 'ai through cluster' });
      let text = '';
      for await (const part of streamed.textStream) text += part;
      assert.equal(text, 'ai through cluster');
      await aiToolLoop(aiModel(controller, model));
    });
  }
});
