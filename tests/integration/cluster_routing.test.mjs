// The controller's routing: least-loaded choice, capacity (the worker's own 429, the controller's
// bounded wait queue, then 429), relaying streams, request ids across the hops, client disconnect.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import {
  startController,
  startWorker,
  startMock,
  mockStats,
  listWorkers,
  waitForWorkers,
  workerById,
  postChat,
  chatBody,
  readSse,
  parseEvents,
  assembleContent,
  sseReader,
  waitFor,
  scrape,
  scrapeSettled,
} from '../lib/harness.mjs';

/** A controller and one worker per mock (ids w0, w1, ...), all registered. */
async function cluster(t, { mocks, model = 'llama3', controllerFlags = [], workerFlags = [] }) {
  const controller = await startController(controllerFlags);
  t.after(() => controller.stop());
  const workers = [];
  for (const [i, mock] of mocks.entries()) {
    const worker = await startWorker({ id: `w${i}`, model, backend: mock, controller, flags: workerFlags });
    t.after(() => worker.stop());
    workers.push(worker);
  }
  await waitForWorkers(controller, (ws) => ws.length === mocks.length, { message: 'all workers registered' });
  return { controller, workers };
}

async function startMocks(t, count, flags = []) {
  const mocks = [];
  for (let i = 0; i < count; i++) {
    const mock = await startMock(['--models', 'llama3', ...flags]);
    t.after(() => mock.stop());
    mocks.push(mock);
  }
  return mocks;
}

const stream = (content = 'hi') => chatBody('llama3', content, { stream: true });

describe('least-loaded routing', () => {
  test('concurrent slow streams split evenly across two workers', async (t) => {
    const mocks = await startMocks(t, 2, ['--tokens', '20', '--token-delay-ms', '100']);
    const { controller } = await cluster(t, { mocks });
    const responses = await Promise.all([0, 1, 2, 3].map(() => postChat(controller, stream())));
    for (const res of responses) assert.equal(res.status, 200);
    const workers = await listWorkers(controller);
    assert.deepEqual(workers.map((w) => w.in_flight), [2, 2], JSON.stringify(workers));
    for (const res of responses) {
      const events = await readSse(res);
      assert.equal(events.at(-1), '[DONE]');
      assert.equal(assembleContent(parseEvents(events.slice(0, -1))), 'hi'.repeat(20));
    }
    // The mocks count a stream completed just after its last write, which the client may beat.
    await waitFor(async () => (await Promise.all(mocks.map(mockStats))).every((s) => s.completed === 2),
      { message: 'each mock completed two streams' });
    await waitFor(async () => (await listWorkers(controller)).every((w) => w.in_flight === 0), { message: 'loads back to 0' });
  });

  test('a worker busy with a stream is not chosen while the other is idle', async (t) => {
    // The held stream lasts 10 s (cancelled once checked): far longer than the short requests,
    // even under a sanitizer. Heartbeats are rare here, so the choice rests on the controller's
    // own count.
    const mocks = await startMocks(t, 2, ['--tokens', '200', '--token-delay-ms', '50']);
    const { controller } = await cluster(t, { mocks, workerFlags: ['--heartbeat-interval', '30'] });
    const held = await postChat(controller, stream());
    assert.equal(held.status, 200);
    const busy = (await mockStats(mocks[0])).in_flight === 1 ? 0 : 1;
    for (let i = 0; i < 10; i++) {
      const res = await postChat(controller, chatBody('llama3', `short ${i}`));
      assert.equal(res.status, 200);
      await res.json();
      // The controller releases a request's worker just after its last byte: the next request
      // (on another connection, maybe another thread) must not see the idle worker still busy.
      await waitFor(async () => workerById(await listWorkers(controller), `w${1 - busy}`).in_flight === 0,
        { message: 'the short request released' });
    }
    // The short requests all went to the idle worker's backend (the mocks answer them at once).
    assert.equal((await mockStats(mocks[busy])).requests, 1);
    assert.equal((await mockStats(mocks[1 - busy])).requests, 10);
    await held.body.cancel();
  });
});

describe('capacity', () => {
  test('a worker above CAPACITY answers 429 at once', async (t) => {
    const [mock] = await startMocks(t, 1, ['--tokens', '30', '--token-delay-ms', '100']);
    const controller = await startController();
    t.after(() => controller.stop());
    const worker = await startWorker({ id: 'w', model: 'llama3', backend: mock, controller, flags: ['--capacity', '1'] });
    t.after(() => worker.stop());
    const held = await postChat(worker, stream());
    assert.equal(held.status, 200);
    const res = await postChat(worker, chatBody('llama3', 'one more'));
    assert.equal(res.status, 429);
    assert.equal(res.headers.get('retry-after'), '1');
    assert.equal(res.headers.get('x-llm-gateway-worker-full'), '1', 'the worker says the 429 is its own');
    assert.equal((await res.json()).error.type, 'rate_limit_error');
    await readSse(held);
    const health = await (await fetch(`${worker.url}/health`)).json();
    assert.equal(health.current_load, 0, 'no load leaks');
    assert.equal(health.backend, 'ok');
  });

  test('beyond the total capacity requests wait, then get 429 with Retry-After', async (t) => {
    const mocks = await startMocks(t, 2, ['--tokens', '30', '--token-delay-ms', '100']);
    const { controller } = await cluster(t, {
      mocks,
      controllerFlags: ['--queue-timeout', '0.3'],
      workerFlags: ['--capacity', '1'],
    });
    const held = await Promise.all([postChat(controller, stream()), postChat(controller, stream())]);
    for (const res of held) assert.equal(res.status, 200);
    const started = Date.now();
    const res = await postChat(controller, chatBody('llama3', 'no room'));
    assert.equal(res.status, 429);
    assert.ok(Date.now() - started >= 250, 'it waited in the queue first');
    assert.ok(Number(res.headers.get('retry-after')) >= 1);
    const body = await res.json();
    assert.equal(body.error.type, 'rate_limit_error');
    const metrics = await scrape(controller);
    assert.equal(metrics.value('llm_gateway_queue_rejections_total', { model: 'llama3' }), 1);
    assert.equal(metrics.value('llm_gateway_queue_wait_seconds_count', { model: 'llama3' }), 1);
    assert.ok(metrics.value('llm_gateway_queue_wait_seconds_sum', { model: 'llama3' }) >= 0.25);
    for (const h of held) h.body.cancel();
  });

  test('a worker full by its own count while the controller counts room: the request waits for the slot', async (t) => {
    // A request sent to the worker directly fills it without the controller knowing, as a stream
    // whose client left does while the worker has yet to notice.
    const [mock] = await startMocks(t, 1, ['--tokens', '20', '--token-delay-ms', '100']);
    const { controller, workers } = await cluster(t, {
      mocks: [mock],
      controllerFlags: ['--queue-timeout', '20'],
      workerFlags: ['--capacity', '1'],
    });
    const direct = await postChat(workers[0], stream('direct'));
    assert.equal(direct.status, 200);
    const viaController = postChat(controller, chatBody('llama3', 'waited'));
    await waitFor(async () => (await scrape(workers[0])).value('llm_gateway_requests_total', { status: '429' }) >= 1,
      { message: 'the worker refused the forwarded request as full' });
    // The worker counts its 429 before the controller has read it and queued the request.
    await waitFor(async () => (await scrape(controller)).value('llm_gateway_queued_requests') === 1,
      { message: 'the request waits in the controller queue' });
    await readSse(direct);
    const res = await viaController;
    assert.equal(res.status, 200, await res.clone().text());
    assert.equal((await res.json()).choices[0].message.content, 'waited'.repeat(20));
    const metrics = await scrape(controller);
    assert.equal(metrics.value('llm_gateway_upstream_errors_total', { provider: 'w0', kind: 'status' }), 0, 'not a failure');
    assert.equal(metrics.value('llm_gateway_failovers_total', { model: 'llama3' }), 0);
    assert.equal(metrics.value('llm_gateway_queue_rejections_total', { model: 'llama3' }), 0);
    assert.equal(metrics.value('llm_gateway_worker_circuit_state', { worker: 'w0' }), 0);
    assert.equal(metrics.value('llm_gateway_worker_capacity', { worker: 'w0' }), 1, 'the series exists');
  });

  test('... and gets the 429 when the slot stays taken past the queue timeout', async (t) => {
    const [mock] = await startMocks(t, 1, ['--tokens', '40', '--token-delay-ms', '100']);
    const { controller, workers } = await cluster(t, {
      mocks: [mock],
      controllerFlags: ['--queue-timeout', '0.5'],
      workerFlags: ['--capacity', '1'],
    });
    const direct = await postChat(workers[0], stream('direct'));
    const started = Date.now();
    const res = await postChat(controller, chatBody('llama3', 'no room'));
    assert.equal(res.status, 429);
    assert.ok(Date.now() - started >= 450, 'it waited for the queue timeout');
    assert.equal((await res.json()).error.type, 'rate_limit_error');
    const metrics = await scrape(controller);
    assert.equal(metrics.value('llm_gateway_queue_rejections_total', { model: 'llama3' }), 1);
    assert.ok(metrics.value('llm_gateway_queue_wait_seconds_count', { model: 'llama3' }) >= 1);
    assert.equal(metrics.value('llm_gateway_queued_requests'), 0);
    direct.body.cancel();
  });

  test('a queued request is served as soon as a worker frees a slot', async (t) => {
    const mocks = await startMocks(t, 2, ['--tokens', '4', '--token-delay-ms', '100']);
    const { controller } = await cluster(t, {
      mocks,
      controllerFlags: ['--queue-timeout', '20'],
      workerFlags: ['--capacity', '1'],
    });
    const held = await Promise.all([postChat(controller, stream()), postChat(controller, stream())]);
    const queued = postChat(controller, chatBody('llama3', 'waited'));
    await waitFor(async () => (await mockStats(mocks[0])).requests + (await mockStats(mocks[1])).requests === 2);
    for (const res of held) await readSse(res);
    const res = await queued;
    assert.equal(res.status, 200);
    assert.equal((await res.json()).choices[0].message.content, 'waited'.repeat(4));
  });

  test('a long queue drains one freed slot at a time, and a client leaving it takes nobody\'s turn', async (t) => {
    // Heartbeats rarely, and no worker late with one (probed): a lower reported load or a probe's
    // answer wakes every waiter, which would hide a lost wake.
    const [mock] = await startMocks(t, 1, ['--tokens', '10', '--token-delay-ms', '40']);
    const { controller } = await cluster(t, {
      mocks: [mock],
      controllerFlags: ['--queue-timeout', '30', '--heartbeat-timeout', '120'],
      workerFlags: ['--capacity', '1', '--heartbeat-interval', '30'],
    });
    const started = Date.now();
    // The first holds the only slot before the others are sent: sent together, any of them (the
    // one that leaves too) could reach a controller thread first and be served.
    const queued = [postChat(controller, stream('q0'))];
    await waitFor(async () => (await mockStats(mock)).requests === 1, { message: 'the first is served' });
    for (let i = 1; i < 6; i++) queued.push(postChat(controller, stream(`q${i}`)));
    const leaving = new AbortController();
    const gone = postChat(controller, stream('gone'), { signal: leaving.signal }).catch((e) => e);
    // The youngest leaves while the first is served and the others wait (each takes 0.4 s).
    await waitFor(async () => (await scrape(controller)).value('llm_gateway_queued_requests') >= 5,
      { message: 'requests wait in the queue' });
    leaving.abort();
    assert.equal((await gone).name, 'AbortError');
    for (const [i, res] of queued.entries()) {
      const r = await res;
      assert.equal(r.status, 200);
      assert.equal(assembleContent(parseEvents(await readSse(r))), `q${i}`.repeat(10));
    }
    // Served one after another, none left asleep until its queue timeout (30 s) by a slot freed
    // while no waiter was woken for it.
    assert.ok(Date.now() - started < 15000, `took ${Date.now() - started} ms`);
    const metrics = await scrape(controller);
    assert.equal(metrics.value('llm_gateway_queued_requests'), 0);
    assert.equal(metrics.value('llm_gateway_queue_rejections_total', { model: 'llama3' }), 0);
    assert.equal((await mockStats(mock)).requests, 6, 'the client that left was never forwarded');
  });

  test('a model whose workers are all gone answers 503 with Retry-After; an unknown one 404', async (t) => {
    const [mock] = await startMocks(t, 1);
    const { controller, workers } = await cluster(t, { mocks: [mock] });
    workers[0].proc.kill('SIGKILL');
    await workers[0].exited;
    await waitForWorkers(controller, (ws) => ws[0].health === 'lost', { message: 'worker lost' });
    const res = await postChat(controller, chatBody('llama3', 'anyone?'));
    assert.equal(res.status, 503);
    assert.ok(Number(res.headers.get('retry-after')) >= 1);
    assert.equal((await res.json()).error.type, 'server_error');
    const models = await (await fetch(`${controller.url}/v1/models`)).json();
    assert.deepEqual(models.data, [], 'a model with no healthy worker is not listed');
    const unknown = await postChat(controller, chatBody('gpt-5', 'hi'));
    assert.equal(unknown.status, 404);
    assert.equal((await unknown.json()).error.code, 'model_not_found');
  });
});

describe('relaying', () => {
  test('request id, trace context and errors travel controller -> worker -> backend', async (t) => {
    const [mock] = await startMocks(t, 1);
    const { controller } = await cluster(t, { mocks: [mock] });
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const res = await postChat(controller, chatBody('llama3', 'trace me'), {
      headers: { 'x-request-id': 'req-cluster-1', traceparent },
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-request-id'), 'req-cluster-1');
    const { last_request } = await mockStats(mock);
    assert.equal(last_request.headers['x-request-id'], 'req-cluster-1');
    // A client error from the backend passes through unchanged and is not retried.
    const bad = await postChat(controller, '{"model":"llama3","messages":"not an array"}');
    assert.equal(bad.status, 400);
    assert.equal((await bad.json()).error.type, 'invalid_request_error');
    assert.equal((await mockStats(mock)).requests, 1, 'the worker rejected it before the backend');
  });

  test('a backend\'s 4xx is passed on as it is and never tried on another worker', async (t) => {
    // Two workers whose backends both refuse: a retry would show as a second backend request.
    const mocks = await startMocks(t, 2, ['--fail-status', '400']);
    const { controller } = await cluster(t, { mocks });
    for (const stream of [false, true]) {
      const res = await postChat(controller, chatBody('llama3', 'refused', { stream }));
      assert.equal(res.status, 400);
      assert.match((await res.json()).error.message, /failure injected/);
    }
    const requests = (await Promise.all(mocks.map(mockStats))).map((s) => s.requests);
    assert.equal(requests[0] + requests[1], 2, `one backend request per client request: ${requests}`);
  });

  test('a stream cut by the backend ends with exactly one error event', async (t) => {
    const [mock] = await startMocks(t, 1, ['--cut-after', '2']);
    const { controller } = await cluster(t, { mocks: [mock] });
    const res = await postChat(controller, stream('one two three four'));
    assert.equal(res.status, 200);
    const events = await readSse(res);
    const parsed = parseEvents(events);
    assert.equal(parsed.filter((e) => e.error).length, 1, JSON.stringify(events));
    assert.ok(parsed.at(-1).error, 'the error is the last event');
    assert.ok(!events.includes('[DONE]'));
  });

  test('a client that disconnects cancels the request on the worker and its backend', async (t) => {
    const [mock] = await startMocks(t, 1, ['--tokens', '100', '--token-delay-ms', '50']);
    const { controller, workers } = await cluster(t, { mocks: [mock] });
    const abort = new AbortController();
    const res = await postChat(controller, stream(), { signal: abort.signal });
    const reader = sseReader(res);
    await reader.next();
    abort.abort();
    await waitFor(async () => (await mockStats(mock)).cancelled === 1, { message: 'backend request cancelled' });
    await waitFor(async () => (await listWorkers(controller))[0].in_flight === 0, { message: 'controller load 0' });
    const health = await (await fetch(`${workers[0].url}/health`)).json();
    assert.equal(health.current_load, 0);
    assert.equal(workerById(await listWorkers(controller), 'w0').circuit_state, 'closed', 'a client leaving is no failure');
  });
});

describe('a plain completion the worker checked', () => {
  const CHECKED = 'x-llm-gateway-checked-usage';
  const post = (url, body, headers = {}) => fetch(`${url}/v1/chat/completions`, {
    method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body),
  });

  test('a worker asked by its controller says the usage it read; no one else is told', async (t) => {
    const [mock] = await startMocks(t, 1);
    const { controller, workers } = await cluster(t, { mocks: [mock] });
    const asked = await post(workers[0].url, chatBody('llama3', 'hi'), { [CHECKED]: '1' });
    assert.equal(asked.status, 200);
    const { usage } = await asked.json();
    assert.ok(usage.prompt_tokens > 0 && usage.completion_tokens > 0, JSON.stringify(usage));
    assert.equal(asked.headers.get(CHECKED), `${usage.prompt_tokens} ${usage.completion_tokens}`);
    const unasked = await post(workers[0].url, chatBody('llama3', 'hi'));
    assert.equal(unasked.status, 200);
    assert.equal(unasked.headers.get(CHECKED), null);
    const relayed = await postChat(controller, chatBody('llama3', 'hi'));
    assert.equal(relayed.status, 200);
    assert.equal(relayed.headers.get(CHECKED), null, 'the controller keeps it from its client');
    assert.deepEqual((await relayed.json()).usage, usage);
  });

  test('the controller relays it unparsed and counts the worker\'s usage; without it, checks the body', async (t) => {
    // A stand-in worker: it answers as the header says (usage 7 and 11, the body's own 1 and 2).
    const seen = [];
    const streamUsage = [];
    const bodies = [];
    let answer;
    const server = http.createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (piece) => { body += piece; });
      req.on('end', () => {
        seen.push(req.headers[CHECKED]);
        streamUsage.push(req.headers['x-llm-gateway-stream-usage']);
        bodies.push(body);
        res.writeHead(200, { 'content-type': 'application/json', ...answer.headers });
        res.end(answer.body);
      });
    });
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
    t.after(() => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(resolve);
    }));
    const controller = await startController();
    t.after(() => controller.stop());
    const registered = await fetch(`${controller.url}/internal/workers/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ worker_id: 'stand-in', model_id: 'm', url: `http://127.0.0.1:${server.address().port}` }),
    });
    assert.equal(registered.status, 200);
    const completion = JSON.stringify({
      id: 'c', object: 'chat.completion', created: 1, model: 'm',
      choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }],
      usage: { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 },
    });

    answer = { headers: { [CHECKED]: '7 11' }, body: completion };
    const vouched = await postChat(controller, chatBody('m', 'hi'));
    assert.equal(vouched.status, 200);
    assert.equal(await vouched.text(), completion, 'byte for byte');
    let metrics = await scrapeSettled(controller);
    assert.equal(metrics.value('llm_gateway_prompt_tokens_total', { model: 'm' }), 7);
    assert.equal(metrics.value('llm_gateway_completion_tokens_total', { model: 'm' }), 11);

    // Not vouched for (no header, or one that does not parse): the body is checked as any
    // upstream's, its usage read, a broken one refused.
    for (const headers of [{}, { [CHECKED]: 'seven 11' }, { [CHECKED]: '-1 2' }]) {
      answer = { headers, body: completion };
      const checked = await postChat(controller, chatBody('m', 'hi'));
      assert.equal(checked.status, 200, JSON.stringify(headers));
      assert.deepEqual(JSON.parse(await checked.text()), JSON.parse(completion));
      answer = { headers, body: completion.slice(0, -10) };
      const broken = await postChat(controller, chatBody('m', 'hi'));
      assert.equal(broken.status, 502, JSON.stringify(headers));
      assert.equal((await broken.json()).error.code, 'upstream_error');
    }
    metrics = await scrapeSettled(controller);
    assert.equal(metrics.value('llm_gateway_prompt_tokens_total', { model: 'm' }), 7 + 3 * 1);
    assert.equal(metrics.value('llm_gateway_completion_tokens_total', { model: 'm' }), 11 + 3 * 2);

    // Streams are not asked for it; they are asked for their usage chunk in a header instead,
    // the client's body passing unchanged (its own wish for usage, or none, with it).
    answer = { headers: {}, body: completion };
    seen.length = 0;
    streamUsage.length = 0;
    bodies.length = 0;
    await (await postChat(controller, chatBody('m', 'hi'))).text();
    const streamed = [chatBody('m', 'hi', { stream: true }),
      chatBody('m', 'hi', { stream: true, stream_options: { include_usage: true } })];
    for (const body of streamed) {
      await (await postChat(controller, body)).text();
    }
    assert.deepEqual(seen, ['1', undefined, undefined]);
    assert.deepEqual(streamUsage, [undefined, '1', '1']);
    assert.deepEqual(bodies.slice(1).map((b) => JSON.parse(b)), streamed);
  });
});

describe('a stream\'s usage across the hop', () => {
  const usageChunks = async (res) =>
    parseEvents((await readSse(res)).filter((e) => e !== '[DONE]')).filter((c) => c.usage);

  test('a worker asked by its controller sends the usage chunk; the controller counts it and keeps it from a client that did not ask', async (t) => {
    const [mock] = await startMocks(t, 1);
    const { controller, workers } = await cluster(t, { mocks: [mock] });
    const post = (headers) => fetch(`${workers[0].url}/v1/chat/completions`, {
      method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(stream('one two')),
    });
    const asked = await usageChunks(await post({ 'x-llm-gateway-stream-usage': '1' }));
    assert.equal(asked.length, 1);
    assert.ok(asked[0].usage.completion_tokens > 0, JSON.stringify(asked[0]));
    assert.equal((await usageChunks(await post({}))).length, 0, 'not asked: the client\'s body decides');

    assert.equal((await usageChunks(await postChat(controller, stream('one two')))).length, 0);
    const wanted = chatBody('llama3', 'one two', { stream: true, stream_options: { include_usage: true } });
    const relayed = await usageChunks(await postChat(controller, wanted));
    assert.deepEqual(relayed.map((c) => c.usage), asked.map((c) => c.usage));
    const metrics = await scrapeSettled(controller);
    assert.equal(metrics.value('llm_gateway_completion_tokens_total', { model: 'llama3' }),
      2 * asked[0].usage.completion_tokens, 'both streams counted');
  });
});
