// Behaviour the README and docs promise that no other suite exercised: each test here failed to
// exist while the claim stood untested (issue #14, "untested claims").

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import {
  startGateway,
  startController,
  startWorker,
  startMock,
  mockStats,
  postChat,
  chatBody,
  collectSse,
  parseEvents,
  waitFor,
  waitForWorkers,
  waitForModel,
  scrape,
  scrapeSettled,
  listWorkers,
  unansweredPort,
} from '../lib/harness.mjs';

describe('HTTP details', () => {
  test('a known path with the wrong method: 405 with Allow', async (t) => {
    const gw = await startGateway();
    t.after(() => gw.stop());
    const wrong = await fetch(`${gw.url}/v1/chat/completions`);
    assert.equal(wrong.status, 405);
    assert.equal(wrong.headers.get('allow'), 'POST');
    assert.equal((await wrong.json()).error.type, 'invalid_request_error');
    const health = await fetch(`${gw.url}/health`, { method: 'POST' });
    assert.equal(health.status, 405);
    assert.equal(health.headers.get('allow'), 'GET, HEAD');
  });

  test('an unusable x-request-id is replaced by a generated one, a good one is kept', async (t) => {
    const gw = await startGateway();
    t.after(() => gw.stop());
    for (const bad of ['has space', 'x'.repeat(129), 'quote"d']) {
      const res = await postChat(gw, chatBody('echo', 'hi'), { headers: { 'x-request-id': bad } });
      assert.equal(res.status, 200);
      const id = res.headers.get('x-request-id');
      assert.notEqual(id, bad);
      assert.match(id, /^[0-9a-f]{32}$/);
    }
    const good = await postChat(gw, chatBody('echo', 'hi'), { headers: { 'x-request-id': 'client-id_1.2' } });
    assert.equal(good.headers.get('x-request-id'), 'client-id_1.2');
  });
});

describe('a stream the upstream ends cleanly without its terminator', () => {
  test('a final error event, and the access log says truncated', async (t) => {
    const upstream = http.createServer((req, res) => {
      if (req.url.endsWith('/models')) {
        res.writeHead(200, { 'content-type': 'application/json' });
        return res.end(JSON.stringify({ object: 'list', data: [{ id: 'x', object: 'model' }] }));
      }
      req.resume();
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      // One event, then the chunked terminator: no [DONE], no reset.
      res.end(`data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', created: 1, model: 'x',
        choices: [{ index: 0, delta: { content: 'partial' }, finish_reason: null }] })}\n\n`);
    });
    await new Promise((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    t.after(() => upstream.close());
    const gw = await startGateway([], { PROVIDER_RAW_BASE_URL: `http://127.0.0.1:${upstream.address().port}/v1` });
    t.after(() => gw.stop());
    await waitForModel(gw, 'x');
    const res = await postChat(gw, chatBody('raw/x', 'hi', { stream: true }), { headers: { 'x-request-id': 'cut-clean' } });
    assert.equal(res.status, 200);
    const { events, error } = await collectSse(res);
    assert.equal(error, null, 'the body itself ends cleanly');
    const chunks = parseEvents(events);
    assert.equal(chunks[0].choices[0].delta.content, 'partial');
    assert.match(chunks.at(-1).error.message, /before its terminator/);
    await gw.waitForOutput(/request_id=cut-clean.*outcome=truncated|outcome=truncated.*request_id=cut-clean/);
  });
});

describe('an upstream that never completes the TCP handshake', () => {
  test('504 after UPSTREAM_CONNECT_TIMEOUT, streamed or not, and the next request works', async (t) => {
    const silent = await unansweredPort();
    t.after(() => silent.close());
    const mock = await startMock();
    t.after(() => mock.stop());
    const gw = await startGateway([], {
      PROVIDER_SILENT_BASE_URL: `http://127.0.0.1:${silent.port}/v1`,
      PROVIDER_SILENT_MODELS: 'x',
      OPENAI_BASE_URL: `${mock.url}/v1`,
      UPSTREAM_CONNECT_TIMEOUT: '1',
    });
    t.after(() => gw.stop());
    for (const stream of [false, true]) {
      const started = Date.now();
      const res = await postChat(gw, chatBody('silent/x', 'hi', { stream }));
      const waited = Date.now() - started;
      assert.equal(res.status, 504, `stream=${stream}`);
      const body = await res.json();
      assert.equal(body.error.type, 'server_error');
      assert.match(body.error.message, /timed out connecting to 127\.0\.0\.1/);
      // Bounded by the connect timeout, not by the kernel's SYN retries (over a minute).
      assert.ok(waited >= 900 && waited < 10_000, `answered after ${waited} ms`);
    }
    const ok = await postChat(gw, chatBody('openai/mock-model', 'hi'));
    assert.equal(ok.status, 200);
    await ok.arrayBuffer();
    const metrics = await scrapeSettled(gw);
    assert.equal(metrics.value('llm_gateway_upstream_errors_total', { provider: 'silent', kind: 'timeout' }), 2);
    assert.equal(metrics.value('llm_gateway_requests_total', { provider: 'silent', status: '504' }), 2);
    assert.equal(metrics.value('llm_gateway_requests_in_flight', { endpoint: '/v1/chat/completions' }), 0);
  });
});

describe('cluster settings', () => {
  test('QUEUE_MAX_SIZE: beyond the queue, 429 at once', async (t) => {
    const mock = await startMock(['--models', 'm', '--tokens', '40', '--token-delay-ms', '50']);
    t.after(() => mock.stop());
    const controller = await startController(['--queue-size', '1', '--queue-timeout', '30']);
    t.after(() => controller.stop());
    const worker = await startWorker({ id: 'w', model: 'm', backend: mock, controller, flags: ['--capacity', '1'] });
    t.after(() => worker.stop());
    await waitForWorkers(controller, (ws) => ws.length === 1, { message: 'worker registered' });
    const running = await postChat(controller, chatBody('m', 'hold', { stream: true }));
    assert.equal(running.status, 200);
    const queued = postChat(controller, chatBody('m', 'queued', { stream: true }));
    await waitFor(async () => (await scrape(controller)).value('llm_gateway_queued_requests') === 1,
      { message: 'one request queued' });
    const started = Date.now();
    const refused = await postChat(controller, chatBody('m', 'refused'));
    assert.equal(refused.status, 429, await refused.clone().text());
    assert.ok(Date.now() - started < 5000, 'refused at once, not after the queue timeout');
    assert.equal((await scrape(controller)).value('llm_gateway_queue_rejections_total', { model: 'm' }), 1);
    // The held stream's client leaves: the controller's count drops at once, the worker's only
    // when its next write fails, so the worker may still refuse the queued request as full
    // (429 with x-llm-gateway-worker-full): the controller must wait for the slot, not pass the
    // 429 on.
    await running.body.cancel();
    const served = await queued;
    assert.equal(served.status, 200);
    const { events, error } = await collectSse(served);
    assert.equal(error, null);
    assert.equal(events.at(-1), '[DONE]');
    await waitFor(async () => (await scrape(controller)).value('llm_gateway_queued_requests') === 0,
      { message: 'queue empty' });
    const metrics = await scrape(controller);
    assert.equal(metrics.value('llm_gateway_queue_rejections_total', { model: 'm' }), 1, 'the queued one was not refused');
    assert.ok(metrics.value('llm_gateway_queue_wait_seconds_count', { model: 'm' }) >= 1);
  });

  test('ADVERTISE_URL: the controller reaches the worker at the URL it advertised', async (t) => {
    // A TCP relay in front of the worker, started first: its port is what the worker advertises.
    let workerPort = 0;
    let relayed = 0;
    const relay = net.createServer((client) => {
      relayed++;
      const upstream = net.connect(workerPort, '127.0.0.1');
      client.pipe(upstream).pipe(client);
      client.on('error', () => upstream.destroy());
      upstream.on('error', () => client.destroy());
    });
    await new Promise((resolve) => relay.listen(0, '127.0.0.1', resolve));
    t.after(() => new Promise((resolve) => relay.close(resolve)));
    const advertised = `http://127.0.0.1:${relay.address().port}`;
    const mock = await startMock(['--models', 'm']);
    t.after(() => mock.stop());
    const controller = await startController();
    t.after(() => controller.stop());
    const worker = await startWorker({ id: 'w', model: 'm', backend: mock, controller, flags: ['--advertise-url', advertised] });
    t.after(() => worker.stop());
    workerPort = worker.port;
    await waitForWorkers(controller, (ws) => ws.length === 1, { message: 'worker registered' });
    assert.equal((await listWorkers(controller))[0].url, advertised);
    const res = await postChat(controller, chatBody('m', 'through the advertised URL'));
    assert.equal(res.status, 200);
    assert.ok(relayed >= 1, 'the request went through the advertised address');
  });

  test('BACKEND_TYPE=azure: a worker in front of an Azure OpenAI deployment', async (t) => {
    const mock = await startMock(['--models', 'gpt-4o-prod', '--api-key', 'az-key']);
    t.after(() => mock.stop());
    const controller = await startController();
    t.after(() => controller.stop());
    const worker = await startWorker({
      id: 'az', model: 'gpt-4o', backend: mock, controller,
      flags: ['--backend-type', 'azure', '--backend-model', 'gpt-4o-prod', '--backend-api-key', 'az-key'],
    });
    t.after(() => worker.stop());
    await waitForWorkers(controller, (ws) => ws.length === 1, { message: 'worker registered' });
    const res = await postChat(controller, chatBody('gpt-4o', 'via azure'));
    const body = await res.json();
    assert.equal(res.status, 200, JSON.stringify(body));
    assert.equal(body.choices[0].message.content, 'via azure');
    const { last_request } = await mockStats(mock);
    assert.match(last_request.path, /^\/openai\/deployments\/gpt-4o-prod\/chat\/completions\?api-version=/);
    assert.equal(last_request.headers['api-key'], 'az-key');
  });

  test('a worker with INTERNAL_API_KEY answers /v1/* only with that key; its controller sends it', async (t) => {
    const mock = await startMock(['--models', 'm']);
    t.after(() => mock.stop());
    const controller = await startController([], { INTERNAL_API_KEY: 'k-internal' });
    t.after(() => controller.stop());
    const worker = await startWorker({ id: 'w', model: 'm', backend: mock, controller, env: { INTERNAL_API_KEY: 'k-internal' } });
    t.after(() => worker.stop());
    await waitForWorkers(controller, (ws) => ws.length === 1, { message: 'worker registered', headers: { 'x-internal-api-key': 'k-internal' } });
    const direct = await postChat(worker, chatBody('m', 'around the controller'));
    assert.equal(direct.status, 401);
    const keyed = await postChat(worker, chatBody('m', 'with the key'), { headers: { authorization: 'Bearer k-internal' } });
    assert.equal(keyed.status, 200);
    const routed = await postChat(controller, chatBody('m', 'through the controller'));
    assert.equal(routed.status, 200);
  });
});
