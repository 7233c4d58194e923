// The distributed mode keeps serving while workers die, fail and leave: failover before the first
// byte, circuit breakers with half-open recovery, heartbeat loss, re-registration, graceful drain.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
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
  waitFor,
} from '../lib/harness.mjs';

const HEARTBEAT_TIMEOUT_S = 1.5;

async function setup(t, { count = 2, controllerFlags = [], mockFlags = [] } = {}) {
  const controller = await startController(['--heartbeat-timeout', String(HEARTBEAT_TIMEOUT_S), ...controllerFlags]);
  t.after(() => controller.stop());
  const mocks = [];
  const workers = [];
  for (let i = 0; i < count; i++) {
    const mock = await startMock(['--models', 'llama3', ...mockFlags]);
    t.after(() => mock.stop());
    mocks.push(mock);
    workers.push(await spawnWorker(t, `w${i}`, mock, controller));
  }
  await waitForWorkers(controller, (ws) => ws.length === count, { message: 'workers registered' });
  return { controller, mocks, workers };
}

async function spawnWorker(t, id, mock, controller) {
  const worker = await startWorker({ id, model: 'llama3', backend: mock, controller });
  t.after(() => worker.stop());
  return worker;
}

async function chatOk(controller, content = 'ping') {
  const res = await postChat(controller, chatBody('llama3', content));
  const body = await res.json();
  assert.equal(res.status, 200, `a request failed: ${JSON.stringify(body)}`);
  return body;
}

/** Sends requests (each must succeed) until `condition(workers)` holds on the controller. */
async function trafficUntil(controller, condition, message) {
  let sent = 0;
  await waitFor(
    async () => {
      await chatOk(controller, `request ${sent++}`);
      return condition(await listWorkers(controller));
    },
    { timeout: 10_000, interval: 0, message },
  );
  return sent;
}

describe('a worker killed with SIGKILL', () => {
  test('requests keep succeeding, the dead worker leaves routing, and comes back when restarted', async (t) => {
    const { controller, mocks, workers } = await setup(t, { controllerFlags: ['--circuit-failures', '2'] });
    // Traffic from 4 concurrent clients while w0 dies.
    let stop = false;
    let served = 0;
    const clients = [0, 1, 2, 3].map(async () => {
      while (!stop) {
        await chatOk(controller);
        served++;
      }
    });
    await waitFor(() => served >= 20, { message: 'traffic flowing' });
    workers[0].proc.kill('SIGKILL');
    await workers[0].exited;
    const killedAt = served;
    await waitFor(() => served >= killedAt + 40, { timeout: 10_000, message: 'traffic after the kill' });
    // Every request succeeded (chatOk asserts), those sent to w0 after its death included: its
    // circuit opened after 2 failures, well before the heartbeat timeout.
    const listed = workerById(await listWorkers(controller), 'w0');
    assert.equal(listed.circuit_state, 'open', JSON.stringify(listed));
    stop = true;
    await Promise.all(clients);

    await waitForWorkers(controller, (ws) => workerById(ws, 'w0')?.health === 'lost', {
      timeout: (HEARTBEAT_TIMEOUT_S + 2) * 1000,
      message: 'w0 lost within one heartbeat timeout',
    });
    const before = (await mockStats(mocks[0])).requests;
    for (let i = 0; i < 5; i++) await chatOk(controller);
    assert.equal((await mockStats(mocks[0])).requests, before, 'a lost worker gets no traffic');

    // Restarted under the same id (on a new port), it registers again and gets traffic again.
    await spawnWorker(t, 'w0', mocks[0], controller);
    await waitForWorkers(
      controller,
      (ws) => workerById(ws, 'w0')?.health === 'healthy' && workerById(ws, 'w0').circuit_state === 'closed',
      { message: 'w0 back' },
    );
    await waitFor(
      async () => {
        await chatOk(controller);
        return (await mockStats(mocks[0])).requests > before;
      },
      { interval: 0, message: 'traffic reaches the restarted worker' },
    );
    assert.equal((await mockStats(mocks[1])).requests > 0, true);
  });
});

describe('circuit breaker', () => {
  test('a backend answering 500 opens its worker circuit; half-open recovery closes it', async (t) => {
    const { controller, mocks } = await setup(t, {
      controllerFlags: ['--circuit-failures', '2', '--circuit-cooldown', '0.5'],
    });
    await fetch(`${mocks[0].url}/mock/fail-status`, { method: 'POST', body: '500' });
    // Clients never see the failures: each is retried on w1.
    await trafficUntil(controller, (ws) => workerById(ws, 'w0').circuit_state === 'open', 'w0 circuit open');
    const failed = (await mockStats(mocks[0])).requests;
    assert.ok(failed >= 2);
    const listed = workerById(await listWorkers(controller), 'w0');
    assert.equal(listed.health, 'suspect', 'an open circuit makes the worker suspect (and probed)');

    await fetch(`${mocks[0].url}/mock/fail-status`, { method: 'POST', body: '0' });
    await trafficUntil(controller, (ws) => workerById(ws, 'w0').circuit_state === 'closed', 'w0 circuit closed again');
    const recovered = (await mockStats(mocks[0])).completed;
    assert.ok(recovered >= 1, 'the trial request succeeded on w0');
  });

  test('when every worker fails, the client gets the last error in the OpenAI format', async (t) => {
    const { controller, mocks } = await setup(t, { controllerFlags: ['--max-attempts', '2'] });
    for (const mock of mocks) await fetch(`${mock.url}/mock/fail-status`, { method: 'POST', body: '503' });
    const res = await postChat(controller, chatBody('llama3', 'doomed'));
    assert.equal(res.status, 502);
    const body = await res.json();
    assert.equal(body.error.type, 'server_error');
    assert.match(body.error.message, /HTTP 503|mock-backend failure/);
    const total = (await mockStats(mocks[0])).requests + (await mockStats(mocks[1])).requests;
    assert.equal(total, 2, 'each worker tried once');
  });
});

describe('graceful worker shutdown', () => {
  test('SIGTERM deregisters the worker and lets its streams finish without errors', async (t) => {
    const { controller, mocks, workers } = await setup(t, {
      count: 1,
      mockFlags: ['--tokens', '12', '--token-delay-ms', '100'],
    });
    const streams = await Promise.all(
      [0, 1].map(() => postChat(controller, chatBody('llama3', 'drain me', { stream: true }))),
    );
    for (const res of streams) assert.equal(res.status, 200);
    await waitFor(async () => (await mockStats(mocks[0])).in_flight === 2, { message: 'streams running' });
    workers[0].proc.kill('SIGTERM');
    await waitForWorkers(controller, (ws) => ws.length === 0, { message: 'deregistered at once' });
    for (const res of streams) {
      const events = await readSse(res);
      assert.equal(events.at(-1), '[DONE]');
      assert.ok(!events.some((e) => e.includes('"error"')), JSON.stringify(events));
    }
    const { code } = await workers[0].exited;
    assert.equal(code, 0);
    assert.match(workers[0].output(), /deregistered from the controller/);
    assert.equal((await mockStats(mocks[0])).completed, 2);
  });
});
