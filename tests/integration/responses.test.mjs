// POST /v1/responses (OpenAI's Responses API): spliced and relayed to the providers that have it
// (OpenAI, Azure's /openai/v1/responses), translated to chat for the others (Anthropic, Ollama,
// OpenAI-compatible chat servers, workers) with the response object or the documented event
// stream built by the gateway; refused with a 400 naming the field where only OpenAI's stored
// state or hosted tools could serve it; routed by the controller to a worker.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';

import {
  mockStats, runCli, scrapeSettled, startController, startGateway, startMock, startWorker, waitFor,
  waitForModel, waitForWorkers,
} from '../lib/harness.mjs';
import { outputText } from '../lib/responses.mjs';

function postResponses(gateway, body) {
  return fetch(`${gateway.url}/v1/responses`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

async function okJson(res) {
  const text = await res.text();
  assert.equal(res.status, 200, text);
  return JSON.parse(text);
}

/**
 * A Responses stream's events, checked for the documented framing: each an `event:` line naming
 * the type its data repeats, sequence numbers counting up from 0, no [DONE].
 */
async function streamEvents(res) {
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type'), /^text\/event-stream/);
  const text = await res.text();
  assert.ok(text.endsWith('\n\n'), 'the stream ends at an event boundary');
  const events = text.slice(0, -2).split('\n\n').map((block) => {
    const [eventLine, dataLine, ...rest] = block.split('\n');
    assert.deepEqual(rest, [], block);
    assert.match(eventLine, /^event: /, block);
    assert.match(dataLine, /^data: /, block);
    const data = JSON.parse(dataLine.slice(6));
    assert.equal(data.type, eventLine.slice(7));
    return data;
  });
  events.forEach((event, i) => assert.equal(event.sequence_number, i, JSON.stringify(event)));
  return events;
}

/** Checks a finished translated stream against its own final response; returns the response. */
function checkTranslatedStream(events, status = 'completed') {
  const types = events.map((e) => e.type);
  assert.deepEqual(types.slice(0, 2), ['response.created', 'response.in_progress']);
  assert.equal(types.at(-1), status === 'completed' ? 'response.completed' : 'response.incomplete');
  const final = events.at(-1).response;
  assert.equal(final.status, status);
  assert.equal(final.id, events[0].response.id);
  // The deltas add up to the final text of each item, and every item was announced and closed.
  for (const [index, item] of final.output.entries()) {
    assert.equal(events.filter((e) => e.type === 'response.output_item.added' && e.output_index === index).length, 1);
    const done = events.find((e) => e.type === 'response.output_item.done' && e.output_index === index);
    assert.deepEqual(done.item, item);
    if (item.type === 'message') {
      const deltas = events.filter((e) => e.type === 'response.output_text.delta' && e.item_id === item.id);
      assert.equal(deltas.map((e) => e.delta).join(''), item.content[0].text);
    } else {
      const deltas = events.filter((e) => e.type === 'response.function_call_arguments.delta' && e.item_id === item.id);
      assert.equal(deltas.map((e) => e.delta).join(''), item.arguments);
    }
  }
  return final;
}

const tools = [
  { type: 'function', name: 'search', description: 'Search', parameters: { type: 'object', properties: { query: { type: 'string' } } } },
];

describe('responses through server', () => {
  let mock;
  let gw;
  before(async () => {
    mock = await startMock(['--models', 'gpt-x,claude-x,llama3:latest,dep-x', '--api-key', 'sk-test-key']);
    gw = await startGateway([], {
      OPENAI_BASE_URL: `${mock.url}/v1`, OPENAI_API_KEY: 'sk-test-key',
      AZURE_OPENAI_ENDPOINT: mock.url, AZURE_OPENAI_API_KEY: 'sk-test-key', AZURE_OPENAI_DEPLOYMENTS: 'dep-x',
      ANTHROPIC_BASE_URL: mock.url, ANTHROPIC_API_KEY: 'sk-test-key',
      OLLAMA_HOST: mock.url,
      PROVIDER_VLLM_BASE_URL: `${mock.url}/v1`, PROVIDER_VLLM_API_KEY: 'sk-test-key',
    });
    await waitForModel(gw, 'anthropic/claude-x');
    await waitForModel(gw, 'ollama/llama3:latest');
    await waitForModel(gw, 'vllm/gpt-x');
  });
  after(() => Promise.all([gw?.stop(), mock?.stop()]));

  test('OpenAI: the body passes with only the model changed; the answer comes back as sent', async () => {
    const request = {
      model: 'openai/gpt-x', input: [{ role: 'user', content: 'hello native world' }],
      instructions: 'Be brief.', previous_response_id: null, metadata: { k: 'v' },
    };
    const body = await okJson(await postResponses(gw, request));
    assert.equal(body.id, 'resp_mock', 'relayed, not rebuilt');
    assert.equal(outputText(body), 'hello native world');
    const { last_request: sent } = await mockStats(mock);
    assert.equal(sent.path, '/v1/responses');
    assert.deepEqual(JSON.parse(sent.body), { ...request, model: 'gpt-x' });
    const metrics = await scrapeSettled(gw);
    assert.ok(metrics.value('llm_gateway_requests_total', {
      endpoint: '/v1/responses', provider: 'openai', model: 'openai/gpt-x', status: '200',
    }) >= 1);
    assert.ok(metrics.value('llm_gateway_prompt_tokens_total', { provider: 'openai', model: 'openai/gpt-x' }) >= 3);
  });

  test('OpenAI streamed: the events pass unchanged and end at response.completed; usage is counted', async () => {
    const events = await streamEvents(await postResponses(gw, { model: 'openai/gpt-x', input: 'one two three', stream: true }));
    assert.equal(events.at(-1).type, 'response.completed');
    assert.equal(events.at(-1).response.id, 'resp_mock');
    assert.equal(outputText(events.at(-1).response), 'one two three');
    const metrics = await scrapeSettled(gw);
    assert.ok(metrics.value('llm_gateway_completion_tokens_total', { provider: 'openai', model: 'openai/gpt-x' }) >= 3);
    assert.ok(metrics.value('llm_gateway_stream_outcomes_total', {
      provider: 'openai', model: 'openai/gpt-x', outcome: 'completed',
    }) >= 1);
  });

  test('Azure: /openai/v1/responses with the deployment as the model and the api-key header', async () => {
    const body = await okJson(await postResponses(gw, { model: 'azure/dep-x', input: 'hi azure' }));
    assert.equal(body.model, 'dep-x');
    assert.equal(outputText(body), 'hi azure');
    const { last_request: sent } = await mockStats(mock);
    assert.equal(sent.path, '/openai/v1/responses');
    assert.equal(JSON.parse(sent.body).model, 'dep-x');
    assert.equal(sent.headers['api-key'], 'sk-test-key');
  });

  for (const [model, path] of [['anthropic/claude-x', '/v1/messages'], ['ollama/llama3:latest', '/api/chat'],
    ['vllm/gpt-x', '/v1/chat/completions']]) {
    test(`${model}: translated to ${path}, answered as a response object`, async () => {
      const body = await okJson(await postResponses(gw, {
        model, instructions: 'Answer.', input: [{ role: 'user', content: [{ type: 'input_text', text: 'translated hello' }] }],
        metadata: { trace: 't1' }, temperature: 0.2,
      }));
      assert.equal(body.object, 'response');
      assert.match(body.id, /^resp_/);
      assert.equal(body.status, 'completed');
      assert.equal(outputText(body), 'translated hello');
      assert.equal(body.output[0].role, 'assistant');
      assert.equal(body.instructions, 'Answer.');
      assert.deepEqual(body.metadata, { trace: 't1' });
      assert.equal(body.temperature, 0.2);
      assert.equal(body.usage.total_tokens, body.usage.input_tokens + body.usage.output_tokens);
      assert.equal(body.usage.output_tokens, 2);
      const { last_request: sent } = await mockStats(mock);
      assert.equal(sent.path, path);
      const metrics = await scrapeSettled(gw);
      assert.ok(metrics.value('llm_gateway_completion_tokens_total', { provider: model.split('/')[0], model }) >= 2);
    });

    test(`${model}: streamed as the documented event sequence`, async () => {
      const events = await streamEvents(await postResponses(gw, { model, input: 'streamed words here', stream: true }));
      const final = checkTranslatedStream(events);
      assert.equal(outputText(final), 'streamed words here');
      assert.equal(final.usage.output_tokens, 3);
      assert.deepEqual(events.filter((e) => e.type.startsWith('response.output_text.delta')).map((e) => e.delta),
        ['streamed', ' words', ' here']);
    });

    test(`${model}: a function call, then its output round trip`, async () => {
      const first = await okJson(await postResponses(gw, { model, input: 'find cats', tools }));
      const call = first.output.find((item) => item.type === 'function_call');
      assert.ok(call, JSON.stringify(first));
      assert.equal(call.name, 'search');
      assert.deepEqual(JSON.parse(call.arguments), { query: 'find cats' });
      assert.equal(call.status, 'completed');
      const streamed = checkTranslatedStream(await streamEvents(await postResponses(gw, { model, input: 'find cats', tools, stream: true })));
      assert.deepEqual(streamed.output.filter((i) => i.type === 'function_call').map((i) => [i.name, i.arguments]),
        [['search', call.arguments]]);
      const second = await okJson(await postResponses(gw, {
        model, tools,
        input: [
          { role: 'user', content: 'find cats' },
          { type: 'function_call', call_id: call.call_id, name: call.name, arguments: call.arguments },
          { type: 'function_call_output', call_id: call.call_id, output: 'three cats' },
        ],
      }));
      assert.equal(outputText(second), 'Tool said: three cats');
    });
  }

  for (const model of ['anthropic/claude-x', 'ollama/llama3:latest']) {
    test(`${model}: the token limit gives status incomplete, plain and streamed`, async () => {
      const request = { model, input: 'a b c d e', max_output_tokens: 2 };
      const body = await okJson(await postResponses(gw, request));
      assert.equal(body.status, 'incomplete');
      assert.deepEqual(body.incomplete_details, { reason: 'max_output_tokens' });
      assert.equal(body.max_output_tokens, 2);
      const final = checkTranslatedStream(await streamEvents(await postResponses(gw, { ...request, stream: true })), 'incomplete');
      assert.deepEqual(final.incomplete_details, { reason: 'max_output_tokens' });
    });
  }

  test('structured output (text.format json_schema) reaches the chat upstream as response_format', async () => {
    const format = { type: 'json_schema', name: 'out', schema: { type: 'object' }, strict: true };
    await okJson(await postResponses(gw, { model: 'vllm/gpt-x', input: 'x', text: { format } }));
    const sent = JSON.parse((await mockStats(mock)).last_request.body);
    assert.deepEqual(sent.response_format, { type: 'json_schema', json_schema: { name: 'out', schema: { type: 'object' }, strict: true } });
  });

  test('what needs OpenAI\'s stored state or hosted tools is a 400 naming the field on translated providers', async () => {
    const cases = [
      [{ previous_response_id: 'resp_1' }, 'previous_response_id'],
      [{ store: true }, 'store'],
      [{ background: true }, 'background'],
      [{ tools: [{ type: 'web_search' }] }, 'tools[0].type'],
      [{ input: [{ type: 'item_reference', id: 'msg_1' }] }, 'input[0].type'],
      [{ frobnicate: 1 }, 'frobnicate'],
    ];
    for (const [extra, param] of cases) {
      const res = await postResponses(gw, { model: 'anthropic/claude-x', input: 'x', ...extra });
      const body = await res.json();
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.equal(body.error.param, param);
      assert.equal(body.error.type, 'invalid_request_error');
    }
    // Native providers get them as they are (the mock knows previous_response_id).
    await okJson(await postResponses(gw, { model: 'openai/gpt-x', input: 'x', previous_response_id: 'resp_1' }));
    for (const [body, param] of [[{ input: 'x' }, 'model'], [{ model: 'openai/gpt-x', stream: 'y' }, 'stream']]) {
      const res = await postResponses(gw, body);
      assert.equal(res.status, 400);
      assert.equal((await res.json()).error.param, param);
    }
    assert.equal((await fetch(`${gw.url}/v1/responses`)).status, 405);
  });
});

describe('responses: failures', () => {
  test('a translated stream cut by its upstream ends with an error event and response.failed', async (t) => {
    const mock = await startMock(['--models', 'claude-x', '--cut-after', '5']);
    const gw = await startGateway([], { ANTHROPIC_BASE_URL: mock.url, ANTHROPIC_API_KEY: 'k' });
    t.after(() => Promise.all([gw.stop(), mock.stop()]));
    await waitForModel(gw, 'claude-x');  // listed without its prefix: no other provider has it
    const events = await streamEvents(await postResponses(gw, { model: 'anthropic/claude-x', input: 'a b c d e f', stream: true }));
    const types = events.map((e) => e.type);
    assert.equal(types[0], 'response.created');
    const error = events.find((e) => e.type === 'error');
    assert.ok(error, types.join());
    assert.match(error.error.message, /failed mid-response/);
    assert.equal(error.message, error.error.message);
    assert.equal(types.at(-1), 'response.failed');
    assert.equal(events.at(-1).response.status, 'failed');
    assert.equal(events.at(-1).response.error.message, error.message);
    const metrics = await scrapeSettled(gw);
    assert.equal(metrics.value('llm_gateway_stream_outcomes_total', {
      provider: 'anthropic', model: 'anthropic/claude-x', outcome: 'upstream_error',
    }), 1);
    assert.equal(metrics.value('llm_gateway_requests_in_flight', { endpoint: '/v1/responses' }), 0);
  });

  test('an upstream error before the stream starts keeps its status', async (t) => {
    const mock = await startMock(['--models', 'gpt-x', '--fail-status', '429', '--retry-after', '3']);
    const gw = await startGateway([], { PROVIDER_VLLM_BASE_URL: `${mock.url}/v1`, OPENAI_BASE_URL: `${mock.url}/v1` });
    t.after(() => Promise.all([gw.stop(), mock.stop()]));
    for (const model of ['vllm/gpt-x', 'openai/gpt-x']) {
      const res = await postResponses(gw, { model, input: 'x', stream: true });
      assert.equal(res.status, 429, model);
      assert.equal(res.headers.get('retry-after'), '3');
      assert.equal(typeof (await res.json()).error.message, 'string');
    }
  });

  test('RESPONSES_API_PROVIDERS picks the native providers; an unknown name is a start-up error', async (t) => {
    const mock = await startMock(['--models', 'gpt-x']);
    const gw = await startGateway([], {
      OPENAI_BASE_URL: `${mock.url}/v1`, PROVIDER_VLLM_BASE_URL: `${mock.url}/v1`, RESPONSES_API_PROVIDERS: 'vllm',
    });
    t.after(() => Promise.all([gw.stop(), mock.stop()]));
    await waitForModel(gw, 'vllm/gpt-x');
    await okJson(await postResponses(gw, { model: 'vllm/gpt-x', input: 'x' }));
    assert.equal((await mockStats(mock)).last_request.path, '/v1/responses');
    await okJson(await postResponses(gw, { model: 'openai/gpt-x', input: 'x' }));
    assert.equal((await mockStats(mock)).last_request.path, '/v1/chat/completions');
    const refused = await runCli(['server', '--port', '0'], { OPENAI_API_KEY: 'k', RESPONSES_API_PROVIDERS: 'openai,nope' });
    assert.equal(refused.code, 2);
    assert.match(refused.output, /RESPONSES_API_PROVIDERS.*'nope' is not a configured/);
  });
});

describe('responses through controller → worker', () => {
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

  test('a worker translating to Anthropic and a worker with the native API, plain and streamed', async () => {
    const translated = await okJson(await postResponses(controller, { model: 'claude-x', input: 'via worker' }));
    assert.equal(outputText(translated), 'via worker');
    assert.equal((await mockStats(mock)).last_request.path, '/v1/messages');
    const native = await okJson(await postResponses(controller, { model: 'gpt-x', input: 'native worker' }));
    assert.equal(native.id, 'resp_mock');
    assert.equal((await mockStats(mock)).last_request.path, '/v1/responses');
    for (const model of ['claude-x', 'gpt-x']) {
      const events = await streamEvents(await postResponses(controller, { model, input: 'p q r', stream: true }));
      assert.equal(events.at(-1).type, 'response.completed');
      assert.equal(outputText(events.at(-1).response), 'p q r');
    }
    const metrics = await scrapeSettled(controller);
    for (const [worker, model] of [['w-claude', 'claude-x'], ['w-gpt', 'gpt-x']]) {
      assert.ok(metrics.value('llm_gateway_completion_tokens_total', { provider: worker, model }) >= 5, worker);
      assert.ok(metrics.value('llm_gateway_requests_total', { endpoint: '/v1/responses', provider: worker, model, status: '200' }) >= 2);
    }
  });
});
