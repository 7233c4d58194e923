// Metrics, exact usage and logs: after a scripted mix of traffic every counter has its exact
// value, promtool accepts the exposition of each command, streams are counted whichever way they
// end, request ids travel controller -> worker -> backend, and no secret reaches a log.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  startGateway,
  startController,
  startWorker,
  startMock,
  mockStats,
  waitForWorkers,
  postChat,
  chatBody,
  readSse,
  collectSse,
  parseEvents,
  sseReader,
  scrape,
  scrapeSettled,
  promtoolCheck,
  waitFor,
} from '../lib/harness.mjs';

const CHAT = '/v1/chat/completions';
const KEY = 'sk-observability-secret-42';

async function assertPromtool(proc, opts) {
  const { text } = await scrape(proc, opts);
  const { code, output } = await promtoolCheck(text);
  assert.equal(code, 0, `promtool check metrics failed:\n${output}\n--- exposition ---\n${text}`);
}

/** Waits until the gateway's /v1/models has `count` entries (every provider listed). */
function modelsListed(gw, count) {
  return waitFor(async () => (await (await fetch(`${gw.url}/v1/models`)).json()).data.length === count, {
    message: `${count} models listed`,
  });
}

/** The usage of a non-streaming answer to the same request, as the reference for streams. */
async function usageOf(gw, model, content) {
  const res = await postChat(gw, chatBody(model, content));
  assert.equal(res.status, 200);
  return (await res.json()).usage;
}

describe('server metrics after a scripted mix of traffic', () => {
  test('every counter has its exact value, and promtool accepts the output', async (t) => {
    const mock = await startMock(['--api-key', KEY]);
    t.after(() => mock.stop());
    const failing = await startMock(['--fail-status', '500']);
    t.after(() => failing.stop());
    const cutting = await startMock(['--cut-after', '2']);
    t.after(() => cutting.stop());
    const slow = await startMock(['--tokens', '200', '--token-delay-ms', '30']);
    t.after(() => slow.stop());
    const gw = await startGateway([], {
      OPENAI_BASE_URL: `${mock.url}/v1`,
      OPENAI_API_KEY: KEY,
      PROVIDER_BAD_BASE_URL: `${failing.url}/v1`,
      PROVIDER_CUT_BASE_URL: `${cutting.url}/v1`,
      PROVIDER_SLOW_BASE_URL: `${slow.url}/v1`,
    });
    t.after(() => gw.stop());
    await modelsListed(gw, 4);
    const model = 'openai/mock-model';
    const content = 'one two three four five';
    const usage = await usageOf(gw, model, content);  // 1: plain
    assert.ok(usage.prompt_tokens > 0 && usage.completion_tokens === 5, JSON.stringify(usage));

    // 2: a stream that did not ask for usage: the gateway counts it, the client sees none.
    const plainStream = await readSse(await postChat(gw, chatBody(model, content, { stream: true })));
    assert.ok(!plainStream.some((e) => e.includes('"usage"')), JSON.stringify(plainStream));
    // 3: a stream that asked for it gets it.
    const withUsage = await readSse(
      await postChat(gw, chatBody(model, content, { stream: true, stream_options: { include_usage: true } })),
    );
    assert.deepEqual(parseEvents(withUsage.slice(0, -1)).at(-1).usage.completion_tokens, 5);
    // 4: unknown model (404), 5: upstream 500 (502), 6: a cut stream, 7: a client that leaves.
    assert.equal((await postChat(gw, chatBody('no-such-model', 'x'))).status, 404);
    assert.equal((await postChat(gw, chatBody('bad/mock-model', 'x'))).status, 502);
    const cut = await collectSse(await postChat(gw, chatBody('cut/mock-model', 'one two three four', { stream: true })));
    assert.ok(parseEvents(cut.events).at(-1).error);
    const abort = new AbortController();
    const leaving = await postChat(gw, chatBody('slow/mock-model', 'x', { stream: true }), { signal: abort.signal });
    await sseReader(leaving).next();
    abort.abort();
    await waitFor(async () => (await mockStats(slow)).cancelled === 1, { message: 'slow stream cancelled' });

    // Recorded when each request ended, however it ended.
    const m = await waitFor(async () => {
      const s = await scrape(gw);
      return s.value('llm_gateway_requests_in_flight', { endpoint: CHAT }) === 0 ? s : false;
    }, { message: 'no chat request in flight' });
    const ok = { endpoint: CHAT, model, provider: 'openai', status: '200' };
    assert.equal(m.value('llm_gateway_requests_total', ok), 3);
    assert.equal(m.value('llm_gateway_requests_total', { endpoint: CHAT, model: '', provider: '', status: '404' }), 1);
    assert.equal(m.value('llm_gateway_requests_total', { endpoint: CHAT, provider: 'bad', status: '502' }), 1);
    assert.equal(m.value('llm_gateway_prompt_tokens_total', { model, provider: 'openai' }), 3 * usage.prompt_tokens);
    assert.equal(m.value('llm_gateway_completion_tokens_total', { model, provider: 'openai' }), 15);
    assert.equal(m.value('llm_gateway_stream_outcomes_total', { model, provider: 'openai', outcome: 'completed' }), 2);
    // A connection dropped mid-stream: an upstream error of kind "reset".
    assert.equal(m.value('llm_gateway_stream_outcomes_total', { provider: 'cut', outcome: 'upstream_error' }), 1);
    assert.equal(m.value('llm_gateway_stream_outcomes_total', { provider: 'slow', outcome: 'client_cancelled' }), 1);
    // The upstream read the client's departure cancelled is no upstream failure.
    assert.equal(m.value('llm_gateway_upstream_errors_total', { provider: 'slow' }), 0);
    assert.equal(m.value('llm_gateway_upstream_errors_total', { provider: 'bad', kind: 'status' }), 1);
    assert.equal(m.value('llm_gateway_upstream_errors_total', { provider: 'cut', kind: 'reset' }), 1);
    const labels = { endpoint: CHAT, model, provider: 'openai' };
    assert.equal(m.value('llm_gateway_request_duration_seconds_count', labels), 3);
    assert.equal(m.value('llm_gateway_request_duration_seconds_bucket', { ...labels, le: '+Inf' }), 3);
    assert.equal(m.value('llm_gateway_time_to_first_token_seconds_count', { model, provider: 'openai' }), 2);
    assert.equal(m.value('llm_gateway_time_per_output_token_seconds_count', { model, provider: 'openai' }), 2);
    // Overhead is observed for the six requests that made an upstream call.
    assert.equal(m.value('llm_gateway_overhead_seconds_count', { endpoint: CHAT }), 6);
    // Labels stay bounded: the unknown model's name is not one.
    assert.ok(!m.text.includes('no-such-model'));
    await assertPromtool(gw);

    // The key is in no log line; the access log has the request id, tokens and outcome.
    assert.ok(!gw.output().includes(KEY), 'no API key in the logs');
    assert.match(gw.output(), /model=openai\/mock-model provider=openai outcome=completed ttft=[\d.]+ms tokens=\d+\/5/);
  });

  test('usage is counted exactly for every dialect, streams included, and cut streams keep what they saw', async (t) => {
    const mock = await startMock(['--api-key', KEY]);
    t.after(() => mock.stop());
    const cutting = await startMock(['--cut-after', '3']);
    t.after(() => cutting.stop());
    const gw = await startGateway([], {
      OPENAI_BASE_URL: `${mock.url}/v1`, OPENAI_API_KEY: KEY,
      ANTHROPIC_BASE_URL: mock.url, ANTHROPIC_API_KEY: KEY,
      OLLAMA_HOST: mock.url,
      AZURE_OPENAI_ENDPOINT: mock.url, AZURE_OPENAI_API_KEY: KEY, AZURE_OPENAI_DEPLOYMENTS: 'mock-model',
    });
    t.after(() => gw.stop());
    const content = 'six words in this prompt here';
    await modelsListed(gw, 4);
    for (const provider of ['openai', 'anthropic', 'ollama', 'azure']) {
      const model = `${provider}/mock-model`;
      const usage = await usageOf(gw, model, content);
      for (const stream_options of [undefined, { include_usage: true }]) {
        const events = await readSse(await postChat(gw, chatBody(model, content, { stream: true, stream_options })));
        const usageChunks = parseEvents(events.filter((e) => e !== '[DONE]')).filter((c) => c.usage);
        assert.equal(usageChunks.length, stream_options ? 1 : 0, `${provider}: usage chunk only when asked`);
      }
      const m = await scrapeSettled(gw);
      assert.equal(m.value('llm_gateway_prompt_tokens_total', { model, provider }), 3 * usage.prompt_tokens, provider);
      assert.equal(m.value('llm_gateway_completion_tokens_total', { model, provider }), 3 * usage.completion_tokens, provider);
    }
    // Anthropic reports the prompt's tokens at the start of a stream: a stream cut after that
    // still counts them.
    await gw.stop();
    const gw2 = await startGateway([], { ANTHROPIC_BASE_URL: cutting.url, ANTHROPIC_API_KEY: KEY });
    t.after(() => gw2.stop());
    await modelsListed(gw2, 1);
    // Cut before any content (message_start, ping, content_block_start): nothing was relayed, so
    // the client gets a 502 rather than a 200 and an error event.
    const cut = await postChat(gw2, chatBody('anthropic/mock-model', content, { stream: true }));
    assert.equal(cut.status, 502);
    assert.ok((await cut.json()).error, 'an OpenAI error body');
    const m = await scrapeSettled(gw2);
    assert.ok(m.value('llm_gateway_prompt_tokens_total', { model: 'anthropic/mock-model', provider: 'anthropic' }) > 0);
    assert.equal(m.value('llm_gateway_stream_outcomes_total', { provider: 'anthropic', outcome: 'upstream_error' }), 1);
  });

  test('an upstream that refuses stream_options is asked again without it, and not asked again', async (t) => {
    const strict = await startMock(['--strict', '1']);
    t.after(() => strict.stop());
    const gw = await startGateway([], { OPENAI_BASE_URL: `${strict.url}/v1` });
    t.after(() => gw.stop());
    await modelsListed(gw, 1);
    for (let i = 0; i < 2; i++) {
      const events = await readSse(await postChat(gw, chatBody('mock-model', 'a b', { stream: true })));
      assert.equal(events.at(-1), '[DONE]');
    }
    assert.equal((await mockStats(strict)).requests, 3, 'one refusal, then straight through');
    assert.match(gw.output(), /refuses stream_options/);
  });

  test('--metrics-port serves /metrics on a port of its own', async (t) => {
    const gw = await startGateway(['--metrics-port', '0']);
    t.after(() => gw.stop());
    const [, port] = await gw.waitForOutput(/metrics on http:\/\/[^:]+:(\d+)\/metrics/);
    assert.equal((await postChat(gw, chatBody('echo', 'hi'))).status, 200);
    // Served by the listener's own thread: the request may be recorded a moment after its answer.
    await waitFor(async () => (await scrape(gw, { port: Number(port) }))
      .value('llm_gateway_requests_total', { endpoint: CHAT, model: 'echo', status: '200' }) === 1,
    { message: 'the echo request counted on --metrics-port' });
    assert.equal((await fetch(`http://127.0.0.1:${port}/v1/models`)).status, 404);
  });
});

describe('cluster metrics and logs', () => {
  test('controller and worker metrics, request ids end to end, no secret in any log', async (t) => {
    const internal = 'internal-secret-77';
    const backendKey = 'sk-backend-secret-88';
    const good = await startMock(['--api-key', backendKey]);
    t.after(() => good.stop());
    const bad = await startMock(['--fail-status', '503']);
    t.after(() => bad.stop());
    const controller = await startController(['--max-attempts', '2'], { INTERNAL_API_KEY: internal, LOG_FORMAT: 'json' });
    t.after(() => controller.stop());
    const env = { INTERNAL_API_KEY: internal, BACKEND_API_KEY: backendKey, LOG_FORMAT: 'json' };
    const w1 = await startWorker({ id: 'w1', model: 'mock-model', backend: good, controller, env });
    t.after(() => w1.stop());
    const w2 = await startWorker({ id: 'w2', model: 'mock-model', backend: bad, controller, env: { ...env, BACKEND_API_KEY: undefined } });
    t.after(() => w2.stop());
    await waitForWorkers(controller, (ws) => ws.length === 2, { headers: { authorization: `Bearer ${internal}` } });

    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const ids = [];
    // Ties between the two idle workers are broken at random: keep going (within reason) until
    // the failing w2 has been tried, so the failover counters have something to show.
    for (let i = 0; i < 6 || ((await mockStats(bad)).requests === 0 && i < 40); i++) {
      const id = `req-e2e-${i}`;
      ids.push(id);
      const res = await postChat(controller, chatBody('mock-model', 'a b c', { stream: i % 2 === 1 }), {
        headers: { 'x-request-id': id, traceparent },
      });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('x-request-id'), id);
      await res.text();
    }
    const { last_request } = await mockStats(good);
    assert.equal(last_request.headers.traceparent, traceparent, 'trace context reaches the backend');
    assert.equal(last_request.headers['x-request-id'], ids.at(-1));

    const streams = ids.filter((_, i) => i % 2 === 1).length;
    // The controller ends a client's stream at the worker's last event, a moment before the worker
    // (another process) and the controller itself count and log the request.
    const c = await scrapeSettled(controller);
    await scrapeSettled(w1);
    for (const proc of [controller, w1]) await proc.waitForOutput(new RegExp(`"request_id":"${ids.at(-1)}"`));
    assert.equal(c.value('llm_gateway_requests_total', { endpoint: CHAT, model: 'mock-model', provider: 'w1', status: '200' }), ids.length);
    assert.equal(c.value('llm_gateway_workers_registered', { model: 'mock-model' }), 2);
    assert.equal(c.value('llm_gateway_worker_capacity', { worker: 'w1' }), 10);
    assert.equal(c.value('llm_gateway_worker_in_flight', { worker: 'w1' }), 0);
    const w2Failures = (await mockStats(bad)).requests;
    assert.ok(w2Failures >= 1, 'w2 was tried at least once');
    assert.equal(c.value('llm_gateway_failovers_total', { model: 'mock-model' }), w2Failures);
    assert.equal(c.value('llm_gateway_upstream_errors_total', { provider: 'w2', kind: 'status' }), w2Failures);
    assert.equal(c.value('llm_gateway_completion_tokens_total', { model: 'mock-model', provider: 'w1' }), 3 * ids.length);
    assert.equal(c.value('llm_gateway_stream_outcomes_total', { provider: 'w1', outcome: 'completed' }), streams);
    assert.equal(c.value('llm_gateway_request_duration_seconds_count', { endpoint: CHAT, model: 'mock-model', provider: 'w1' }), ids.length);
    assert.equal(c.value('llm_gateway_time_to_first_token_seconds_count', { model: 'mock-model', provider: 'w1' }), streams);
    assert.equal(c.value('llm_gateway_time_per_output_token_seconds_count', { model: 'mock-model', provider: 'w1' }), streams);
    assert.equal(c.value('llm_gateway_overhead_seconds_count', { endpoint: CHAT }), ids.length);
    const workerPrompt = (await scrapeSettled(w1)).value('llm_gateway_prompt_tokens_total', { provider: 'openai-compatible' });
    assert.ok(workerPrompt > 0);
    assert.equal(c.value('llm_gateway_prompt_tokens_total', { model: 'mock-model', provider: 'w1' }), workerPrompt);
    assert.ok(c.value('llm_gateway_workers_healthy', { model: 'mock-model' }) >= 1, 'w1 at least (w2 may be suspect)');
    assert.equal(c.value('llm_gateway_queued_requests'), 0);
    assert.equal(c.value('llm_gateway_requests_in_flight', { endpoint: CHAT }), 0);
    await assertPromtool(controller);

    const w = await scrapeSettled(w1);
    assert.equal(w.value('llm_gateway_requests_total', { endpoint: CHAT, model: 'mock-model', provider: 'openai-compatible', status: '200' }), ids.length);
    assert.equal(w.value('llm_gateway_completion_tokens_total', { provider: 'openai-compatible' }), 3 * ids.length);
    await assertPromtool(w1);

    // Every request id is in the controller's and the worker's JSON access logs.
    const lines = (proc) => proc.output().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
    for (const id of ids) {
      assert.ok(lines(controller).some((l) => l.request_id === id && l.status === 200), `controller log has ${id}`);
      assert.ok(lines(w1).some((l) => l.request_id === id && l.status === 200), `worker log has ${id}`);
    }
    for (const proc of [controller, w1, w2]) {
      for (const secret of [internal, backendKey]) {
        assert.ok(!proc.output().includes(secret), 'no secret in the logs');
      }
    }
  });
});
