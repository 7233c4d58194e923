import fs from 'node:fs';
import { execFileSync } from 'node:child_process';
import { startController, startGateway, startMock, startWorker, waitForWorkers } from '../tests/lib/harness.mjs';
import { wrk } from './lib.mjs';
const common = { ACCESS_LOG: '0' };
const mock = await startMock(['--models', 'mock-model']);
const controller = await startController(['--heartbeat-timeout', '60', '--heartbeat-check-interval', '10'], common);
const worker = await startWorker({ id: 'w1', model: 'mock-model', backend: mock, controller, env: common, flags: ['--heartbeat-interval', '10', '--capacity', '64'] });
await waitForWorkers(controller, (ws) => ws.length === 1);
const gateway = await startGateway([], { ...common, OPENAI_BASE_URL: `${worker.url}/v1` });
const stat = (pid) => {
  let ut = 0, st = 0, vcs = 0, ivcs = 0, minflt = 0;
  for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
    const f = fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8').split(') ')[1].split(' ');
    ut += Number(f[11]); st += Number(f[12]); minflt += Number(f[7]);
    const s = fs.readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8');
    vcs += Number(/voluntary_ctxt_switches:\s+(\d+)/.exec(s)[1]);
    ivcs += Number(/nonvoluntary_ctxt_switches:\s+(\d+)/.exec(s)[1]);
  }
  return { ut, st, vcs, ivcs, minflt };
};
const aff = (pids, c) => { for (const p of pids) execFileSync('taskset', ['-a', '-cp', c, String(p)], { stdio: 'ignore' }); };
const targets = {
  controller: { url: controller.url, pid: controller.proc.pid, model: 'mock-model' },
  gateway: { url: gateway.url, pid: gateway.proc.pid, model: 'openai/mock-model' },
};
for (const [k, t] of Object.entries(targets)) console.log(k, 'threads', fs.readdirSync(`/proc/${t.pid}/task`).length);
const rounds = Number(process.argv[2] ?? 6);
const acc = { controller: [], gateway: [] };
for (let r = 0; r < rounds; ++r) {
  for (const k of r % 2 === 0 ? ['controller', 'gateway'] : ['gateway', 'controller']) {
    const t = targets[k];
    aff([t.pid], '1'); aff([mock.proc.pid, worker.proc.pid], '0');
    const b = stat(t.pid);
    const w = wrk(t.url, { connections: 64, seconds: 3, model: t.model, core: '0' });
    const a = stat(t.pid);
    aff([t.pid, mock.proc.pid, worker.proc.pid], '0-1');
    const n = w.requests;
    acc[k].push({ rps: w.rps, user: (a.ut - b.ut) * 1e4 / n, sys: (a.st - b.st) * 1e4 / n, vcs: (a.vcs - b.vcs) / n, ivcs: (a.ivcs - b.ivcs) / n, minflt: (a.minflt - b.minflt) / n });
  }
}
const med = (xs) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
for (const k of Object.keys(acc)) {
  const f = (key) => med(acc[k].map((x) => x[key])).toFixed(3);
  console.log(k, 'rps', f('rps'), 'user µs', f('user'), 'sys µs', f('sys'), 'vcs/req', f('vcs'), 'ivcs/req', f('ivcs'), 'minflt/req', f('minflt'));
}
await Promise.all([controller.stop(), worker.stop(), gateway.stop(), mock.stop()]);
process.exit(0);
