import { execFileSync } from 'node:child_process';
import { startController, startGateway, startMock, startWorker, waitForWorkers } from '../tests/lib/harness.mjs';
import { wrk } from './lib.mjs';
const which = process.argv[2];
const common = { ACCESS_LOG: '0' };
const mock = await startMock(['--threads', '1', '--models', 'mock-model', '--whole-stream', '1', '--tokens', '6']);
const out = `/tmp/prof/cs-${which}.out`;
const wrapper = ['valgrind', '--tool=callgrind', '--cache-sim=yes', '--branch-sim=yes', `--callgrind-out-file=${out}`];
let target, stop, model;
if (which === 'gateway') {
  const w = await startMock(['--threads', '1', '--models', 'mock-model', '--whole-stream', '1', '--tokens', '6']);
  const g = await startGateway([], { ...common, OPENAI_BASE_URL: `${mock.url}/v1` }, { wrapper });
  target = g; model = 'openai/mock-model'; stop = () => g.stop(20000);
} else if (which === 'gwworker') {
  // gateway in front of a worker (hop for hop)
  const c0 = await startController(['--heartbeat-timeout', '60'], common);
  const wk = await startWorker({ id: 'w1', model: 'mock-model', backend: mock, controller: c0, env: common, flags: ['--heartbeat-interval', '10', '--capacity', '64'] });
  const g = await startGateway([], { ...common, OPENAI_BASE_URL: `${wk.url}/v1` }, { wrapper });
  target = g; model = 'openai/mock-model'; stop = () => Promise.all([g.stop(20000), wk.stop(), c0.stop()]);
} else {
  const c = await startController(['--heartbeat-timeout', '60', '--heartbeat-check-interval', '10'], common, { wrapper });
  const wk = await startWorker({ id: 'w1', model: 'mock-model', backend: mock, controller: c, env: common, flags: ['--heartbeat-interval', '10', '--capacity', '64'] });
  await waitForWorkers(c, (ws) => ws.length === 1, { timeout: 20000 });
  target = c; model = 'mock-model'; stop = () => Promise.all([c.stop(20000), wk.stop()]);
}
const stream = process.argv[3] === 'stream';
wrk(target.url, { connections: 4, seconds: 1, model, stream });
execFileSync('callgrind_control', ['-z', String(target.proc.pid)], { stdio: 'ignore' });
const { requests } = wrk(target.url, { connections: 4, seconds: 3, model, stream });
execFileSync('callgrind_control', ['-d', String(target.proc.pid)], { stdio: 'ignore' });
console.log(which, 'requests', requests);
await stop();
await mock.stop();
process.exit(0);
