// The promise of the gateway: a client speaking only OpenAI's API gets the same results from
// every provider dialect. The official SDK talks to one gateway that fronts the mock backend in
// each dialect (OpenAI, Anthropic, Ollama, Azure): plain, streaming, tool-call round trips
// (streamed tool calls assemble to the non-streamed ones), usage, and errors as SDK classes.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { createOpenAI } from '@ai-sdk/openai';
import { generateObject, generateText, jsonSchema, tool } from 'ai';

import { startGateway, startMock, waitForModel } from '../lib/harness.mjs';
import { TOOLS, assembleToolCalls } from '../lib/tools.mjs';

const KEY = 'sk-mock-key';

// model id through the gateway, and the gateway variables that point a provider at a mock.
export const DIALECTS = [
  {
    name: 'openai',
    model: 'openai/mock-model',
    env: (mock, key = KEY) => ({ OPENAI_BASE_URL: `${mock.url}/v1`, OPENAI_API_KEY: key }),
    auth: true,
  },
  {
    name: 'anthropic',
    model: 'anthropic/mock-model',
    env: (mock, key = KEY) => ({ ANTHROPIC_BASE_URL: mock.url, ANTHROPIC_API_KEY: key }),
    auth: true,
  },
  {
    name: 'ollama',
    model: 'ollama/mock-model',
    env: (mock) => ({ OLLAMA_HOST: mock.url }),
    auth: false,  // Ollama has no keys
  },
  {
    name: 'azure',
    model: 'azure/mock-model',
    env: (mock, key = KEY) => ({
      AZURE_OPENAI_ENDPOINT: mock.url, AZURE_OPENAI_API_KEY: key, AZURE_OPENAI_DEPLOYMENTS: 'mock-model',
    }),
    auth: true,
  },
];

function client(gateway) {
  return new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'unused', maxRetries: 0, timeout: 10_000 });
}

function envFor(mock, key) {
  return Object.assign({}, ...DIALECTS.map((d) => d.env(mock, key)));
}

describe('every provider dialect through the OpenAI SDK', () => {
  let mock;
  let gw;
  let openai;
  before(async () => {
    mock = await startMock(['--api-key', KEY, '--models', 'mock-model']);
    gw = await startGateway([], envFor(mock));
    openai = client(gw);
  });
  after(() => Promise.all([gw?.stop(), mock?.stop()]));

  for (const dialect of DIALECTS) {
    test(`${dialect.name}: plain completion with usage`, async () => {
      const completion = await openai.chat.completions.create({
        model: dialect.model,
        messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hello there world' }],
      });
      assert.equal(completion.object, 'chat.completion');
      const choice = completion.choices[0];
      assert.equal(choice.message.role, 'assistant');
      assert.equal(choice.message.content, 'Hello there world');
      assert.equal(choice.finish_reason, 'stop');
      assert.ok(completion.usage.prompt_tokens > 0, JSON.stringify(completion.usage));
      assert.equal(completion.usage.completion_tokens, 3);
      assert.equal(completion.usage.total_tokens,
                   completion.usage.prompt_tokens + completion.usage.completion_tokens);
    });

    test(`${dialect.name}: streaming assembles to the same text, usage chunk last`, async () => {
      const stream = await openai.chat.completions.create({
        model: dialect.model,
        messages: [{ role: 'user', content: 'Stream these four words' }],
        stream: true,
        stream_options: { include_usage: true },
      });
      const chunks = [];
      for await (const chunk of stream) chunks.push(chunk);
      assert.equal(chunks[0].choices[0].delta.role, 'assistant');
      const text = chunks.map((c) => c.choices.map((ch) => ch.delta?.content ?? '').join('')).join('');
      assert.equal(text, 'Stream these four words');
      const finish = chunks.flatMap((c) => c.choices).map((c) => c.finish_reason).filter(Boolean);
      assert.deepEqual(finish, ['stop']);
      const last = chunks.at(-1);
      assert.deepEqual(last.choices, []);
      assert.equal(last.usage.completion_tokens, 4);
      assert.equal(new Set(chunks.map((c) => c.id)).size, 1, 'one id across the stream');
    });

    test(`${dialect.name}: tool calls, streamed equal non-streamed, then the round trip`, async () => {
      const messages = [{ role: 'user', content: 'Paris weather' }];
      const plain = await openai.chat.completions.create({ model: dialect.model, messages, tools: TOOLS });
      const choice = plain.choices[0];
      assert.equal(choice.finish_reason, 'tool_calls');
      const expected = choice.message.tool_calls.map((c) => ({
        name: c.function.name, args: JSON.parse(c.function.arguments) }));
      assert.deepEqual(expected, [
        { name: 'get_weather', args: { query: 'Paris weather' } },
        { name: 'get_time', args: { query: 'Paris weather' } },
      ]);
      for (const call of choice.message.tool_calls) {
        assert.equal(call.type, 'function');
        assert.ok(call.id.length > 0);
      }

      const stream = await openai.chat.completions.create({ model: dialect.model, messages, tools: TOOLS, stream: true });
      const chunks = [];
      for await (const chunk of stream) chunks.push(chunk);
      const streamed = assembleToolCalls(chunks);
      assert.deepEqual(streamed.map((c) => ({ name: c.name, args: JSON.parse(c.arguments) })), expected);
      assert.ok(streamed.every((c) => c.id.length > 0));
      assert.deepEqual(chunks.flatMap((c) => c.choices).map((c) => c.finish_reason).filter(Boolean), ['tool_calls']);

      // Round trip: the assistant's calls and the tool's answer go back; the model answers.
      const followUp = await openai.chat.completions.create({
        model: dialect.model,
        tools: TOOLS,
        messages: [
          ...messages,
          { role: 'assistant', content: null, tool_calls: choice.message.tool_calls },
          ...choice.message.tool_calls.map((c) => ({ role: 'tool', tool_call_id: c.id, content: 'sunny' })),
        ],
      });
      assert.match(followUp.choices[0].message.content, /^Tool said: sunny/);
      assert.equal(followUp.choices[0].finish_reason, 'stop');
    });

    test(`${dialect.name}: one tool at a time when parallel_tool_calls is false`, async () => {
      const plain = await openai.chat.completions.create({
        model: dialect.model, tools: TOOLS, parallel_tool_calls: false,
        messages: [{ role: 'user', content: 'Rome' }],
      }).catch((err) => err);
      // docs/providers.md: passed on (OpenAI, Azure), translated to disable_parallel_tool_use
      // (Anthropic), the first call kept (Ollama, which cannot be told).
      assert.ok(!(plain instanceof Error), String(plain));
      assert.equal(plain.choices[0].message.tool_calls.length, 1);
      assert.equal(plain.choices[0].message.tool_calls[0].function.name, 'get_weather');
    });
  }

  test('ollama: tool_choice required and a named function are kept (output constrained to the call)', async () => {
    const messages = [{ role: 'user', content: 'Oslo' }];
    const required = await openai.chat.completions.create({ model: 'ollama/mock-model', messages, tools: TOOLS, tool_choice: 'required' });
    assert.deepEqual(required.choices[0].message.tool_calls.map((c) => c.function.name), ['get_weather']);
    assert.equal(required.choices[0].finish_reason, 'tool_calls');
    const named = await openai.chat.completions.create({
      model: 'ollama/mock-model', messages, tools: TOOLS, tool_choice: { type: 'function', function: { name: 'get_time' } },
    });
    const call = named.choices[0].message.tool_calls[0];
    assert.equal(call.function.name, 'get_time');
    assert.deepEqual(JSON.parse(call.function.arguments), { query: 'Oslo' });

    const stream = await openai.chat.completions.create({
      model: 'ollama/mock-model', messages, tools: TOOLS, tool_choice: { type: 'function', function: { name: 'get_time' } }, stream: true,
    });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    assert.deepEqual(assembleToolCalls(chunks).map((c) => [c.name, JSON.parse(c.arguments)]), [['get_time', { query: 'Oslo' }]]);

    // The AI SDK's toolChoice, through the chat API.
    const result = await generateText({
      model: createOpenAI({ baseURL: `${gw.url}/v1`, apiKey: 'k' }).chat('ollama/mock-model'),
      prompt: 'Oslo',
      tools: {
        get_weather: tool({ inputSchema: jsonSchema({ type: 'object', properties: { query: { type: 'string' } } }) }),
        get_time: tool({ inputSchema: jsonSchema({ type: 'object', properties: { query: { type: 'string' } } }) }),
      },
      toolChoice: { type: 'tool', toolName: 'get_time' },
    });
    assert.deepEqual(result.toolCalls.map((c) => [c.toolName, c.input]), [['get_time', { query: 'Oslo' }]]);
  });

  test('anthropic: structured output, as chat.completions.parse and the AI SDK\'s generateObject ask for it', async () => {
    const schema = {
      type: 'object', properties: { query: { type: 'string' } }, required: ['query'], additionalProperties: false,
    };
    const parsed = await openai.chat.completions.parse({
      model: 'anthropic/mock-model',
      messages: [{ role: 'user', content: 'Lyon weather' }],
      response_format: { type: 'json_schema', json_schema: { name: 'search', schema, strict: true } },
    });
    assert.deepEqual(parsed.choices[0].message.parsed, { query: 'Lyon weather' });
    assert.equal(parsed.choices[0].finish_reason, 'stop');

    const { object, finishReason } = await generateObject({
      model: createOpenAI({ baseURL: `${gw.url}/v1`, apiKey: 'k' }).chat('anthropic/mock-model'),
      schema: jsonSchema(schema),
      prompt: 'Nice weather',
    });
    assert.deepEqual(object, { query: 'Nice weather' });
    assert.equal(finishReason, 'stop');
  });

  test('anthropic: fields it cannot express are refused by name (BadRequestError)', async () => {
    for (const [field, extra] of [['n', { n: 2 }], ['seed', { seed: 7 }], ['logprobs', { logprobs: true }]]) {
      const err = await openai.chat.completions
        .create({ model: 'anthropic/mock-model', messages: [{ role: 'user', content: 'x' }], ...extra })
        .catch((e) => e);
      assert.ok(err instanceof OpenAI.BadRequestError, `${field}: ${err}`);
      assert.equal(err.status, 400);
      assert.equal(err.param, field);
    }
  });
});

describe('provider errors surface as the SDK error classes', () => {
  const started = [];
  after(() => Promise.all(started.map((p) => p.stop())));

  async function gatewayFailingWith(status) {
    const mock = await startMock(['--api-key', KEY, '--fail-status', String(status), '--retry-after', '1']);
    started.push(mock);
    const gw = await startGateway([], envFor(mock));
    started.push(gw);
    return client(gw);
  }

  for (const [status, errorClass, gatewayStatus] of [
    [429, OpenAI.RateLimitError, 429],
    [400, OpenAI.BadRequestError, 400],
    [500, OpenAI.InternalServerError, 502],
  ]) {
    test(`upstream ${status} → ${errorClass.name} for every dialect`, async () => {
      const openai = await gatewayFailingWith(status);
      for (const dialect of DIALECTS) {
        const err = await openai.chat.completions
          .create({ model: dialect.model, messages: [{ role: 'user', content: 'x' }] })
          .catch((e) => e);
        assert.ok(err instanceof errorClass, `${dialect.name}: ${err}`);
        assert.equal(err.status, gatewayStatus, dialect.name);
        if (dialect.name === 'azure' && status === 400) {
          // Azure's 400 is its content filter: kept in OpenAI's shape, code and param intact.
          assert.equal(err.code, 'content_filter');
          assert.equal(err.param, 'prompt');
        } else {
          assert.match(err.message, /mock-backend failure injected/, dialect.name);
        }
        if (status === 429) {
          assert.equal(err.headers.get('retry-after'), '1', dialect.name);
        }
      }
    });
  }

  test('a wrong provider key → AuthenticationError for every dialect that takes one', async () => {
    const mock = await startMock(['--api-key', KEY]);
    started.push(mock);
    const gw = await startGateway([], envFor(mock, 'wrong-key'));
    started.push(gw);
    const openai = client(gw);
    for (const dialect of DIALECTS.filter((d) => d.auth)) {
      const err = await openai.chat.completions
        .create({ model: dialect.model, messages: [{ role: 'user', content: 'x' }] })
        .catch((e) => e);
      assert.ok(err instanceof OpenAI.AuthenticationError, `${dialect.name}: ${err}`);
    }
  });
});
