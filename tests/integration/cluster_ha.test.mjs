// No single point of failure in the distributed mode: workers register and heartbeat with every
// controller they are given (CONTROLLER_URL, comma-separated), so losing one controller leaves the
// others serving, and a restarted one learns every worker again from the next heartbeats.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  backgroundTraffic,
  chatBody,
  listWorkers,
  postChat,
  startController,
  startMock,
  startWorker,
  waitFor,
  waitForWorkers,
} from '../lib/harness.mjs';

const HEARTBEAT_S = 1;

async function cluster(t, { workers = 3 } = {}) {
  const controllers = [await startController(), await startController()];
  for (const c of controllers) t.after(() => c.stop());
  const mock = await startMock(['--models', 'llama3']);
  t.after(() => mock.stop());
  const controllerList = controllers.map((c) => c.url).join(',');
  for (let i = 0; i < workers; i++) {
    const worker = await startWorker({
      id: `w${i}`, model: 'llama3', backend: mock, controller: controllerList,
      flags: ['--heartbeat-interval', String(HEARTBEAT_S)],
    });
    t.after(() => worker.stop());
  }
  for (const c of controllers) {
    await waitForWorkers(c, (ws) => ws.length === workers && ws.every((w) => w.health === 'healthy'),
      { message: `every worker registered with ${c.url}` });
  }
  return { controllers, mock };
}

describe('two controllers, three workers', () => {
  test('each controller knows every worker and serves', async (t) => {
    const { controllers } = await cluster(t);
    for (const c of controllers) {
      const ids = (await listWorkers(c)).map((w) => w.worker_id).sort();
      assert.deepEqual(ids, ['w0', 'w1', 'w2']);
      const res = await postChat(c, chatBody('llama3', 'hello'));
      assert.equal(res.status, 200, await res.text());
    }
  });

  test('SIGKILL of one controller: the other keeps serving; restarted, it knows every worker within two heartbeats', async (t) => {
    const { controllers: [killed, survivor] } = await cluster(t);
    const port = killed.port;
    const throughKilled = backgroundTraffic(killed, { clients: 2 });
    const throughSurvivor = backgroundTraffic(survivor, { clients: 2 });
    await waitFor(() => throughKilled.tally.ok >= 20 && throughSurvivor.tally.ok >= 20, { message: 'traffic through both' });
    killed.proc.kill('SIGKILL');
    await killed.exited;
    await throughKilled.stop();
    const okAtKill = throughSurvivor.tally.ok;
    await waitFor(() => throughSurvivor.tally.ok >= okAtKill + 40, { message: 'traffic through the survivor' });

    const restarted = await startController([], {}, { port });
    t.after(() => restarted.stop());
    const listeningAt = Date.now();
    // The workers' next heartbeat to it is answered 404 (unknown worker): each registers again.
    await waitForWorkers(restarted, (ws) => ws.length === 3 && ws.every((w) => w.health === 'healthy'),
      { timeout: 2 * HEARTBEAT_S * 1000, message: 'every worker back within two heartbeat intervals' });
    t.diagnostic(`workers back ${Date.now() - listeningAt} ms after the restart`);
    const res = await postChat(restarted, chatBody('llama3', 'after the restart'));
    assert.equal(res.status, 200, await res.text());
    await throughSurvivor.stop();
    assert.equal(throughSurvivor.tally.failed, 0, JSON.stringify(throughSurvivor.tally));
  });

  test('a worker whose second controller never answers serves through the first, and registers once it starts', async (t) => {
    const first = await startController();
    t.after(() => first.stop());
    // A port nothing listens on yet: the second controller starts later on it.
    const later = await startController();
    const laterPort = later.port;
    await later.stop();
    const mock = await startMock(['--models', 'llama3']);
    t.after(() => mock.stop());
    const worker = await startWorker({
      id: 'solo', model: 'llama3', backend: mock,
      controller: `${first.url},http://127.0.0.1:${laterPort}`,
      flags: ['--heartbeat-interval', String(HEARTBEAT_S), '--registry-retry-count', '1'],
    });
    t.after(() => worker.stop());
    await waitForWorkers(first, (ws) => ws.length === 1, { message: 'registered with the first' });
    await worker.waitForOutput(/still cannot be reached; trying every heartbeat/);
    const res = await postChat(first, chatBody('llama3', 'hi'));
    assert.equal(res.status, 200, await res.text());
    const second = await startController([], {}, { port: laterPort });
    t.after(() => second.stop());
    await waitForWorkers(second, (ws) => ws.length === 1, { timeout: 4 * HEARTBEAT_S * 1000, message: 'registered with the second once it started' });
    assert.equal(worker.proc.exitCode, null, 'the worker kept running');
  });

  test('a CONTROLLER_URL list with a bad or repeated URL stops the worker at start-up', async () => {
    for (const [list, message] of [
      ['http://127.0.0.1:1,ftp://x', /--controller-url: 'ftp:\/\/x': the scheme must be http or https/],
      ['http://127.0.0.1:1,http://127.0.0.1:1/', /'http:\/\/127\.0\.0\.1:1' is listed twice/],
      [' , ', /expected one URL or more/],
    ]) {
      const worker = await startWorker({ id: 'bad', model: 'llama3', backend: 'http://127.0.0.1:1', controller: list }).catch((e) => e);
      assert.ok(worker instanceof Error, `${list}: should not start`);
      assert.match(String(worker.message), message, list);
      assert.match(String(worker.message), /exited \(code 2/, list);
    }
  });
});
