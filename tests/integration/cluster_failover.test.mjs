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
  scrape,
  backgroundTraffic,
} from '../lib/harness.mjs';

const HEARTBEAT_TIMEOUT_S = 1.5;

async function setup(t, { count = 2, controllerFlags = [], mockFlags = [], heartbeatTimeout = HEARTBEAT_TIMEOUT_S } = {}) {
  const controller = await startController(['--heartbeat-timeout', String(heartbeatTimeout), ...controllerFlags]);
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
    const afterKill = await scrape(controller);
    const w0Errors = afterKill.samples.filter((m) => m.name === 'llm_gateway_upstream_errors_total' && m.labels.provider === 'w0');
    assert.ok(w0Errors.reduce((sum, m) => sum + m.value, 0) >= 2, `w0's failed calls counted: ${JSON.stringify(w0Errors)}`);
    assert.ok(w0Errors.every((m) => m.labels.kind !== 'status'), 'a dead worker gives no HTTP status');
    assert.ok(afterKill.value('llm_gateway_failovers_total', { model: 'llama3' }) >= 2);
    assert.ok(!/^llm_gateway_background_task_failures_total\{/m.test(afterKill.text), 'a dead worker is not a task failure');

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
    const opened = await scrape(controller);
    assert.ok(opened.value('llm_gateway_worker_circuit_state', { worker: 'w0' }) >= 1, 'open (2) or already half-open (1)');
    assert.ok(opened.value('llm_gateway_worker_circuit_transitions_total', { worker: 'w0' }) >= 1);
    assert.equal(opened.value('llm_gateway_worker_circuit_state', { worker: 'w1' }), 0);
    assert.equal(opened.value('llm_gateway_worker_circuit_transitions_total', { worker: 'w1' }), 0);
    assert.equal(opened.value('llm_gateway_workers_registered', { model: 'llama3' }), 2);

    await fetch(`${mocks[0].url}/mock/fail-status`, { method: 'POST', body: '0' });
    await trafficUntil(controller, (ws) => workerById(ws, 'w0').circuit_state === 'closed', 'w0 circuit closed again');
    const recovered = (await mockStats(mocks[0])).completed;
    assert.ok(recovered >= 1, 'the trial request succeeded on w0');
    const closed = await scrape(controller);
    assert.equal(closed.value('llm_gateway_worker_circuit_state', { worker: 'w0' }), 0);
    assert.ok(closed.value('llm_gateway_worker_circuit_transitions_total', { worker: 'w0' }) >= 3,
      'closed -> open -> half-open -> closed');
    assert.ok(closed.value('llm_gateway_upstream_errors_total', { provider: 'w0', kind: 'status' }) >= 2);
    await waitFor(async () => (await scrape(controller)).value('llm_gateway_workers_healthy', { model: 'llama3' }) === 2,
      { message: 'both healthy again' });
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

describe('a worker frozen with SIGSTOP', () => {
  test('requests keep succeeding (a frozen worker costs one first-byte timeout), it leaves routing, and returns after SIGCONT', async (t) => {
    const { controller, mocks, workers } = await setup(t, {
      controllerFlags: ['--first-byte-timeout', '1', '--circuit-failures', '2'],
    });
    const traffic = backgroundTraffic(controller);
    await waitFor(() => traffic.tally.ok >= 20, { message: 'traffic flowing' });
    const frozenAt = Date.now();
    workers[0].proc.kill('SIGSTOP');
    try {
      await waitForWorkers(controller, (ws) => workerById(ws, 'w0')?.health === 'lost', {
        timeout: (HEARTBEAT_TIMEOUT_S + 3) * 1000,
        message: 'w0 lost after its heartbeats stopped',
      });
      const leftAfter = Date.now() - frozenAt;
      const okAtLoss = traffic.tally.ok;
      await waitFor(() => traffic.tally.ok >= okAtLoss + 20, { timeout: 10_000, message: 'traffic after the loss' });
      await traffic.stop();
      t.diagnostic(`frozen worker left routing after ${leftAfter} ms; ${JSON.stringify(traffic.tally)}`);
      // What is lost: the requests the frozen worker held when it stopped (at most one per
      // client), each a 504 at the first-byte timeout: the controller does not give up on an
      // attempt when its worker is found lost, and a timed-out attempt ends the request (no
      // stacked timeouts). Nothing else fails.
      assert.ok(traffic.tally.failed <= 4, JSON.stringify(traffic.tally));
      assert.equal(traffic.tally.failed, traffic.tally.statuses[504] ?? 0, JSON.stringify(traffic.tally));
      const before = (await mockStats(mocks[0])).requests;
      for (let i = 0; i < 5; i++) await chatOk(controller);
      assert.equal((await mockStats(mocks[0])).requests, before, 'a lost worker gets no traffic');
    } finally {
      workers[0].proc.kill('SIGCONT');
    }
    // Thawed, it heartbeats again (registering anew if the controller forgot it), and gets
    // traffic again: at once if it was forgotten, else through its half-open circuit's trial.
    await waitForWorkers(controller, (ws) => ['healthy', 'suspect'].includes(workerById(ws, 'w0')?.health),
      { timeout: 5000, message: 'w0 back' });
    const before = (await mockStats(mocks[0])).requests;
    await waitFor(
      async () => {
        await chatOk(controller);
        return (await mockStats(mocks[0])).requests > before;
      },
      { interval: 0, message: 'traffic reaches the thawed worker' },
    );
  });
});

describe('a worker that serves but no longer heartbeats', () => {
  test('the controller\'s own probes keep it in routing, and no request fails', async (t) => {
    // A longer heartbeat timeout than the other tests': a probe goes controller -> worker -> mock, and
    // four traffic loops load the machine meanwhile; the margin must hold on a sanitizer build.
    const timeoutS = 3;
    const { controller, mocks } = await setup(t, { count: 1, heartbeatTimeout: timeoutS });
    const silentMock = await startMock(['--models', 'llama3']);
    t.after(() => silentMock.stop());
    // Registered once, then silent: its next heartbeat would be an hour away.
    const silent = await startWorker({ id: 'silent', model: 'llama3', backend: silentMock, controller, flags: ['--heartbeat-interval', '3600'] });
    t.after(() => silent.stop());
    await waitForWorkers(controller, (ws) => ws.length === 2, { message: 'both registered' });
    const traffic = backgroundTraffic(controller);
    // Past two heartbeat timeouts without a heartbeat, its probes (GET /health) answered.
    const silentSince = Date.now();
    const seen = new Set();
    await waitFor(async () => {
      seen.add(workerById(await listWorkers(controller), 'silent').health);
      return Date.now() - silentSince > timeoutS * 2000;
    }, { timeout: timeoutS * 4000, interval: 100, message: 'two heartbeat timeouts' });
    const served = (await mockStats(silentMock)).requests;
    const okNow = traffic.tally.ok;
    await waitFor(() => traffic.tally.ok >= okNow + 20, { message: 'more traffic' });
    await traffic.stop();
    t.diagnostic(`silent worker's health over ${timeoutS * 2} s: ${[...seen].join(', ')}; ${JSON.stringify(traffic.tally)}`);
    assert.equal(traffic.tally.failed, 0, JSON.stringify(traffic.tally));
    assert.ok(!seen.has('lost'), [...seen].join(', '));
    assert.ok((await mockStats(silentMock)).requests > served, 'still routed to');
    assert.ok((await mockStats(mocks[0])).requests > 0);
    const metrics = await scrape(controller);
    // An answered probe counts as a heartbeat: the silent worker's age stays below the timeout.
    for (const worker of ['silent', 'w0']) {
      const age = metrics.value('llm_gateway_worker_heartbeat_age_seconds', { worker });
      assert.ok(age > 0 && age < timeoutS, `${worker}: ${age}`);
    }
  });
});

describe('the controller restarted under load', () => {
  test('workers register with the new controller by themselves and traffic resumes', async (t) => {
    const { controller } = await setup(t);
    const port = controller.port;
    const traffic = backgroundTraffic(controller);
    await waitFor(() => traffic.tally.ok >= 20, { message: 'traffic flowing' });
    controller.proc.kill('SIGKILL');
    await controller.exited;
    const downAt = Date.now();
    const restarted = await startController(['--heartbeat-timeout', String(HEARTBEAT_TIMEOUT_S)], {}, { port });
    t.after(() => restarted.stop());
    // The workers' next heartbeats get 404 (unknown worker): they register again.
    await waitForWorkers(restarted, (ws) => ws.length === 2 && ws.every((w) => w.health === 'healthy'),
      { timeout: 5000, message: 'both workers registered with the new controller' });
    const recoveredAt = Date.now();
    const okAtRecovery = traffic.tally.ok;
    await waitFor(() => traffic.tally.ok >= okAtRecovery + 40, { timeout: 10_000, message: 'traffic after the restart' });
    await traffic.stop();
    t.diagnostic(`workers back ${recoveredAt - downAt} ms after the kill; ${JSON.stringify(traffic.tally)}`);
    assert.ok(traffic.tally.lastFailedSentAt < recoveredAt,
      `no request sent once the workers were back failed: ${JSON.stringify(traffic.tally)}`);
  });
});
