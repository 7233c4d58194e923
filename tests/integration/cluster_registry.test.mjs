// The controller's internal API and the workers' side of it: registration, heartbeats, listing,
// deregistration, re-registration after a controller restart, the internal key, bad input.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  startController,
  startWorker,
  startMock,
  listWorkers,
  waitForWorkers,
  workerById,
  postChat,
  chatBody,
  runCli,
  waitFor,
} from '../lib/harness.mjs';

async function internal(controller, method, path, { body, headers = {} } = {}) {
  const res = await fetch(`${controller.url}${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : null };
}

function assertOpenAIError(response, status) {
  assert.equal(response.status, status, JSON.stringify(response.body));
  assert.equal(typeof response.body.error.message, 'string');
  for (const key of ['type', 'param', 'code']) assert.ok(key in response.body.error);
}

describe('registration through the internal API', () => {
  test('register, heartbeat, list, filter by model, deregister', async (t) => {
    const controller = await startController();
    t.after(() => controller.stop());
    const register = (worker_id, model_id, port, extra = {}) =>
      internal(controller, 'POST', '/internal/workers/register', {
        body: { worker_id, model_id, url: `http://127.0.0.1:${port}`, capacity: 4, current_load: 0, ...extra },
      });
    assert.equal((await register('a', 'llama3', 1, { gpu: 'unknown fields are ignored' })).status, 200);
    assert.equal((await register('b', 'llama3', 2)).status, 200);
    assert.equal((await register('c', 'mistral', 3)).status, 200);

    const all = await listWorkers(controller);
    assert.deepEqual(all.map((w) => w.worker_id).sort(), ['a', 'b', 'c']);
    const a = workerById(all, 'a');
    assert.equal(a.model_id, 'llama3');
    assert.equal(a.url, 'http://127.0.0.1:1');
    assert.equal(a.capacity, 4);
    assert.equal(a.in_flight, 0);
    assert.equal(a.health, 'healthy');
    assert.equal(a.circuit_state, 'closed');
    assert.equal(typeof a.last_heartbeat_age, 'number');
    assert.deepEqual((await listWorkers(controller, { model: 'llama3' })).map((w) => w.worker_id).sort(), ['a', 'b']);
    assert.deepEqual((await listWorkers(controller, { model: 'mistral' })).map((w) => w.worker_id), ['c']);
    assert.deepEqual(await listWorkers(controller, { model: 'none' }), []);

    const models = await (await fetch(`${controller.url}/v1/models`)).json();
    assert.deepEqual(models.data.map((m) => m.id).sort(), ['llama3', 'mistral']);

    const beat = await internal(controller, 'POST', '/internal/workers/heartbeat', {
      body: { worker_id: 'a', current_load: 3 },
    });
    assert.equal(beat.status, 200);
    assert.equal(workerById(await listWorkers(controller), 'a').current_load, 3);

    // Re-registering an id from its own URL replaces it.
    assert.equal((await register('a', 'qwen', 1)).status, 200);
    const replaced = workerById(await listWorkers(controller), 'a');
    assert.equal(replaced.model_id, 'qwen');
    assert.equal(replaced.current_load, 0);
    // From another URL, while the worker is healthy, it is refused: whoever knows a live worker's
    // id cannot take its traffic over.
    const stolen = await register('a', 'qwen', 9);
    assertOpenAIError(stolen, 409);
    assert.equal(stolen.body.error.param, 'worker_id');
    assert.equal(workerById(await listWorkers(controller), 'a').url, 'http://127.0.0.1:1');

    assert.equal((await internal(controller, 'DELETE', '/internal/workers/c')).status, 200);
    assertOpenAIError(await internal(controller, 'DELETE', '/internal/workers/c'), 404);
    assert.deepEqual((await listWorkers(controller)).map((w) => w.worker_id).sort(), ['a', 'b']);

    // An unknown worker's heartbeat is answered 404: the worker must register again.
    assertOpenAIError(
      await internal(controller, 'POST', '/internal/workers/heartbeat', { body: { worker_id: 'c', current_load: 0 } }),
      404,
    );
  });

  test('malformed registrations and heartbeats get 400 and store nothing', async (t) => {
    const controller = await startController();
    t.after(() => controller.stop());
    const good = { worker_id: 'w', model_id: 'm', url: 'http://127.0.0.1:1', capacity: 2 };
    const bad = [
      '{not json',
      '[]',
      { ...good, worker_id: undefined },
      { ...good, worker_id: '' },
      { ...good, model_id: undefined },
      { ...good, url: undefined },
      { ...good, url: 'not a url' },
      { ...good, url: 'ftp://host/x' },
      { ...good, capacity: 0 },
      { ...good, capacity: -3 },
      { ...good, capacity: 'ten' },
      { ...good, current_load: -1 },
    ];
    for (const body of bad) {
      const res = await internal(controller, 'POST', '/internal/workers/register', { body });
      assertOpenAIError(res, 400);
    }
    assert.deepEqual(await listWorkers(controller), []);
    for (const body of ['{', { current_load: 1 }, { worker_id: 'w', current_load: 'x' }]) {
      assertOpenAIError(await internal(controller, 'POST', '/internal/workers/heartbeat', { body }), 400);
    }
    assertOpenAIError(await internal(controller, 'GET', '/internal/workers/register'), 405);
    assertOpenAIError(await internal(controller, 'GET', '/internal/nothing'), 404);
  });

  test('INTERNAL_API_KEY guards every internal endpoint, not the public API', async (t) => {
    const key = 'internal-secret-123';
    const controller = await startController([], { INTERNAL_API_KEY: key });
    t.after(() => controller.stop());
    const body = { worker_id: 'w', model_id: 'm', url: 'http://127.0.0.1:1' };
    const attempts = [
      ['POST', '/internal/workers/register', body],
      ['POST', '/internal/workers/heartbeat', { worker_id: 'w', current_load: 0 }],
      ['GET', '/internal/workers', undefined],
      ['GET', '/internal/workers?model_id=m', undefined],
      ['DELETE', '/internal/workers/w', undefined],
    ];
    for (const headers of [{}, { authorization: 'Bearer wrong' }, { 'x-internal-api-key': 'wrong' }]) {
      for (const [method, path, payload] of attempts) {
        assertOpenAIError(await internal(controller, method, path, { body: payload, headers }), 401);
      }
    }
    // Nothing was stored by the refused registration.
    const listed = await internal(controller, 'GET', '/internal/workers', { headers: { authorization: `Bearer ${key}` } });
    assert.equal(listed.status, 200);
    assert.deepEqual(listed.body.data, []);

    assert.equal(
      (await internal(controller, 'POST', '/internal/workers/register', { body, headers: { authorization: `Bearer ${key}` } })).status,
      200,
    );
    assert.equal(
      (await internal(controller, 'POST', '/internal/workers/heartbeat', {
        body: { worker_id: 'w', current_load: 0 },
        headers: { 'x-internal-api-key': key },
      })).status,
      200,
    );
    // The public API needs no internal key.
    assert.equal((await fetch(`${controller.url}/v1/models`)).status, 200);
    assert.equal((await fetch(`${controller.url}/health`)).status, 200);
    assert.ok(!controller.output().includes(key), 'the key never appears in the logs');
  });
});

describe('workers', () => {
  test('a worker registers, heartbeats, serves, and re-registers after a controller restart', async (t) => {
    const mock = await startMock(['--models', 'llama3:8b']);
    t.after(() => mock.stop());
    let controller = await startController();
    const port = controller.port;
    t.after(() => controller.stop());
    const worker = await startWorker({
      id: 'llama3-gpu-001', model: 'llama3', backend: mock, controller,
      flags: ['--backend-model', 'llama3:8b', '--capacity', '7'],
    });
    t.after(() => worker.stop());

    const [listed] = await waitForWorkers(controller, (ws) => ws.length === 1, { message: 'worker registered' });
    assert.equal(listed.worker_id, 'llama3-gpu-001');
    assert.equal(listed.model_id, 'llama3');
    assert.equal(listed.url, `http://127.0.0.1:${worker.port}`);
    assert.equal(listed.capacity, 7);
    // Heartbeats keep it fresh.
    await waitFor(async () => (await listWorkers(controller))[0].last_heartbeat_age < 0.15, { message: 'a fresh heartbeat' });

    const res = await postChat(controller, chatBody('llama3', 'hello workers'));
    assert.equal(res.status, 200);
    const body = await res.json();
    assert.equal(body.choices[0].message.content, 'hello workers');
    const stats = await (await fetch(`${mock.url}/mock/stats`)).json();
    assert.equal(JSON.parse(stats.last_request.body).model, 'llama3:8b', 'the backend sees its own model name');

    // The controller restarts on the same port, knowing nothing: the next heartbeat gets 404
    // and the worker registers again.
    await controller.stop();
    controller = await startController([], {}, { port });
    await waitForWorkers(controller, (ws) => ws.length === 1 && ws[0].worker_id === 'llama3-gpu-001', {
      message: 'worker registered again',
    });
    assert.equal((await postChat(controller, chatBody('llama3', 'again'))).status, 200);
    await worker.waitForOutput(/registering again/);
  });

  test('a worker keeps serving while the controller is away, and retries registration at start', async (t) => {
    const mock = await startMock();
    t.after(() => mock.stop());
    const reserved = await startController();
    const port = reserved.port;
    await reserved.stop();
    // No controller yet: the worker starts, serves directly, and keeps retrying.
    const worker = await startWorker({
      id: 'w', model: 'mock-model', backend: mock, controller: `http://127.0.0.1:${port}`,
    });
    t.after(() => worker.stop());
    await worker.waitForOutput(/cannot register with the controller/);
    assert.equal((await postChat(worker, chatBody('mock-model', 'direct'))).status, 200);
    const controller = await startController([], {}, { port });
    t.after(() => controller.stop());
    await waitForWorkers(controller, (ws) => ws.length === 1, { message: 'registered after retries' });
    assert.equal((await postChat(controller, chatBody('mock-model', 'via controller'))).status, 200);
  });

  test('a worker gives up after REGISTRY_RETRY_COUNT failed attempts and exits 1', async () => {
    const reserved = await startController();
    const port = reserved.port;
    await reserved.stop();
    const worker = await startWorker({
      id: 'w', model: 'm', backend: 'http://127.0.0.1:9', controller: `http://127.0.0.1:${port}`,
      flags: ['--registry-retry-count', '2', '--registry-retry-delay', '0.05'],
    });
    const { code } = await worker.exited;
    assert.equal(code, 1);
    assert.match(worker.output(), /giving up after 3 registration attempts/);
  });

  test('a worker whose registration is refused (wrong internal key) exits 1 at once', async (t) => {
    const controller = await startController([], { INTERNAL_API_KEY: 'right' });
    t.after(() => controller.stop());
    const worker = await startWorker({
      id: 'w', model: 'm', backend: 'http://127.0.0.1:9', controller, env: { INTERNAL_API_KEY: 'wrong-key-31337' },
    });
    const { code } = await worker.exited;
    assert.equal(code, 1);
    assert.match(worker.output(), /refused the registration \(HTTP 401\)/);
    for (const proc of [worker, controller]) {
      assert.ok(!proc.output().includes('wrong-key-31337'), 'the presented key is in no log');
    }
  });

  test('worker configuration errors stop start-up with exit 2 and a clear message', async () => {
    const base = ['worker', '--port', '0', '--host', '127.0.0.1'];
    const cases = [
      [['--model-id', 'm', '--backend-url', 'http://127.0.0.1:1'], /--worker-id is required.*WORKER_ID/],
      [['--worker-id', 'w', '--backend-url', 'http://127.0.0.1:1'], /--model-id is required.*MODEL_ID/],
      [['--worker-id', 'w', '--model-id', 'm'], /--backend-url is required.*BACKEND_URL/],
      [['--worker-id', 'w', '--model-id', 'm', '--backend-url', 'localhost:1'], /--backend-url/],
      [['--worker-id', 'w', '--model-id', 'm', '--backend-url', 'http://x', '--backend-type', 'grpc'], /--backend-type/],
      [['--worker-id', 'w', '--model-id', 'm', '--backend-url', 'http://x', '--capacity', '0'], /--capacity/],
      [['--worker-id', 'w', '--model-id', 'm', '--backend-url', 'http://x', '--heartbeat-interval', '-1'], /--heartbeat-interval/],
      [['--worker-id', 'w', '--model-id', 'm', '--backend-url', 'http://x', '--controller-url', 'nope'], /--controller-url/],
    ];
    for (const [flags, message] of cases) {
      const result = await runCli([...base, ...flags]);
      assert.equal(result.code, 2, `${flags.join(' ')}: ${result.output}`);
      assert.match(result.stderr, message);
    }
    const env = await runCli(['worker', '--port', '0'], { WORKER_ID: 'w', MODEL_ID: 'm', BACKEND_URL: 'http://x', CAPACITY: 'lots' });
    assert.equal(env.code, 2);
    assert.match(env.stderr, /CAPACITY/);
    const controller = await runCli(['controller', '--port', '0', '--heartbeat-timeout', '0']);
    assert.equal(controller.code, 2);
    assert.match(controller.stderr, /--heartbeat-timeout/);
    const attempts = await runCli(['controller', '--port', '0'], { ROUTE_MAX_ATTEMPTS: '0' });
    assert.equal(attempts.code, 2);
    assert.match(attempts.stderr, /ROUTE_MAX_ATTEMPTS/);
  });
});
