// No single point of failure in the distributed mode: workers register and heartbeat with every
// controller they are given (CONTROLLER_URL, comma-separated), so losing one controller leaves the
// others serving, and a restarted one learns every worker again from the next heartbeats.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {
  backgroundTraffic,
  chatBody,
  listWorkers,
  postChat,
  startController,
  startMock,
  startWorker,
  tmpDir,
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

  test('on SIGTERM a worker deregisters from every controller at once: one that hangs does not hold up the others', async (t) => {
    const { controllers: [hung, answering] } = await cluster(t, { workers: 1 });
    // Stopped, the hung controller's port still accepts connections (the kernel's backlog) but
    // nothing answers: the worker's call waits for the control client's timeout (5 s).
    hung.proc.kill('SIGSTOP');
    try {
      await deregisterWhileOneHangs(t, hung, answering);
    } finally {
      hung.proc.kill('SIGCONT');  // before the hooks stop it
    }
  });

  async function deregisterWhileOneHangs(t, hung, answering) {
    const worker = await startWorker({
      id: 'leaving', model: 'llama3', backend: 'http://127.0.0.1:1', controller: `${hung.url},${answering.url}`,
      flags: ['--heartbeat-interval', String(HEARTBEAT_S)],
    }).catch((e) => e);
    // (It cannot register with the hung one, but the answering one takes it.)
    assert.ok(!(worker instanceof Error), String(worker));
    t.after(() => worker.stop());
    await waitForWorkers(answering, (ws) => ws.some((w) => w.worker_id === 'leaving'), { message: 'registered' });
    worker.proc.kill('SIGTERM');
    await waitForWorkers(answering, (ws) => !ws.some((w) => w.worker_id === 'leaving'),
      { message: 'deregistered from the answering controller' });
    assert.equal(worker.proc.exitCode, null, 'still waiting for the hung controller: deregistration was not one after another');
    const { code } = await worker.exited;
    assert.equal(code, 0);
  }

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

  test('a controller host name with two addresses is two controllers, resolved again as they change', async (t) => {
    // The worker runs in a mount namespace of its own with its own /etc/hosts (as root, with
    // unshare): there `controllers.test` stands for 127.0.0.1 and 127.0.0.2, as a Kubernetes
    // headless Service stands for its pods.
    if (spawnSync('unshare', ['-m', 'true']).status !== 0) {
      t.skip('no mount namespace here (unshare -m needs root)');
      return;
    }
    const first = await startController();
    t.after(() => first.stop());
    const port = first.port;
    const secondProcess = await startController([], {}, { host: '127.0.0.2', port });
    t.after(() => secondProcess.stop());
    const second = { ...secondProcess, url: `http://127.0.0.2:${port}` };
    const mock = await startMock(['--models', 'llama3']);
    t.after(() => mock.stop());
    const hosts = path.join(tmpDir(), 'hosts');
    fs.writeFileSync(hosts, '127.0.0.1 controllers.test\n127.0.0.2 controllers.test\n');
    const worker = await startWorker({
      id: 'dns', model: 'llama3', backend: mock, controller: `http://controllers.test:${port}`,
      flags: ['--heartbeat-interval', '0.3'],
      wrapper: ['unshare', '-m', 'sh', '-c', `mount --bind ${hosts} /etc/hosts && exec "$0" "$@"`],
    });
    t.after(() => worker.stop());
    for (const c of [first, second]) {
      await waitForWorkers(c, (ws) => ws.length === 1 && ws[0].worker_id === 'dns', { message: `registered with ${c.url}` });
      const res = await postChat(c, chatBody('llama3', 'hi'));
      assert.equal(res.status, 200, await res.text());
    }
    // The name loses an address (written in place: the bind mount shows the same file).
    fs.writeFileSync(hosts, '127.0.0.1 controllers.test\n');
    await worker.waitForOutput(/\(127\.0\.0\.2\): no longer a controller to register with/);
    // One address left: the name is one controller again, reached by name.
    await worker.waitForOutput(new RegExp(`registered with the controller at http://controllers\\.test:${port} as dns`));
    await worker.stop();
    assert.match(worker.output(), new RegExp(`deregistered from the controller at http://controllers\\.test:${port}\n`));
    assert.doesNotMatch(worker.output(), /deregistered from the controller at .*127\.0\.0\.2/, 'a retired address is not called');
    await waitForWorkers(first, (ws) => ws.length === 0, { message: 'deregistered from the first' });
  });
});
