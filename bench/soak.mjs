// Soak run (not part of CI): mixed traffic against a controller, two workers and a single-process
// gateway for a configurable time, with one worker restarted every minute; samples requests,
// errors, RSS and descriptors, and checks that nothing was lost: every request got a complete
// answer or the error it asked for.
//
//   node bench/soak.mjs [--minutes 30] [--clients 8] [--out FILE]
//
// Traffic, per client in a loop (equal shares): a plain completion and a stream through the
// controller; a stream through the gateway (OpenAI pass-through and Anthropic translation); a
// stream the client abandons after its first event; a malformed body (400 expected) and an
// unknown model (404 expected). Anything else is a loss: a 5xx, a stream without its terminator,
// a connection error. A worker is restarted (SIGTERM, then started again under the same id) every
// 60 s: its streams must finish, its new requests go to the other worker.

import fs from 'node:fs';
import {
  startController, startGateway, startMock, startWorker, waitForWorkers, chatBody, postChat, readSse,
} from '../tests/lib/harness.mjs';

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const at = args.indexOf(name);
  return at >= 0 ? args[at + 1] : fallback;
};
const minutes = Number(option('--minutes', '30'));
const clients = Number(option('--clients', '8'));
const outFile = option('--out', null);
const SAMPLE_MS = 10_000;

function rssMiB(pid) {
  const line = fs.readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:'));
  return Number(line.split(/\s+/)[1]) / 1024;
}
const fds = (pid) => fs.readdirSync(`/proc/${pid}/fd`).length;

const tally = {};
const count = (kind, outcome) => {
  tally[kind] ??= {};
  tally[kind][outcome] = (tally[kind][outcome] ?? 0) + 1;
};
const losses = [];

async function streamed(target, model, kind, { abandon = false } = {}) {
  const res = await postChat(target, chatBody(model, 'soak stream of words', { stream: true }));
  if (res.status !== 200) {
    losses.push(`${kind}: HTTP ${res.status} ${await res.text()}`);
    return count(kind, `http ${res.status}`);
  }
  if (abandon) {
    const reader = res.body.getReader();
    await reader.read();
    await reader.cancel();
    return count(kind, 'abandoned');
  }
  const events = await readSse(res);
  if (events.at(-1) !== '[DONE]') {
    losses.push(`${kind}: stream ended with ${events.at(-1)}`);
    return count(kind, 'no terminator');
  }
  count(kind, 'ok');
}

async function plain(target, model, kind, body, expected = 200) {
  const res = await postChat(target, body ?? chatBody(model, 'soak plain'));
  await res.arrayBuffer();
  if (res.status !== expected) losses.push(`${kind}: HTTP ${res.status}, expected ${expected}`);
  count(kind, res.status === expected ? 'ok' : `http ${res.status}`);
}

async function main() {
  const mock = await startMock(['--models', 'llama3,mock-model', '--tokens', '16', '--token-delay-ms', '10']);
  const controller = await startController(['--threads', '2', '--drain-timeout', '30']);
  const gateway = await startGateway(['--threads', '2'], {
    OPENAI_BASE_URL: `${mock.url}/v1`, OPENAI_API_KEY: 'k', ANTHROPIC_BASE_URL: mock.url, ANTHROPIC_API_KEY: 'k',
    ACCESS_LOG: '0',
  });
  const worker = (id) => startWorker({ id, model: 'llama3', backend: mock, controller, flags: ['--threads', '1', '--drain-timeout', '30'], env: { ACCESS_LOG: '0' } });
  const workers = [await worker('w0'), await worker('w1')];
  await waitForWorkers(controller, (ws) => ws.length === 2, { message: 'workers registered' });

  const started = Date.now();
  const endAt = started + minutes * 60_000;
  const samples = [];
  const sample = () => {
    const s = {
      minute: ((Date.now() - started) / 60_000).toFixed(1),
      requests: Object.values(tally).reduce((n, o) => n + Object.values(o).reduce((a, b) => a + b, 0), 0),
      losses: losses.length,
      controllerRss: rssMiB(controller.proc.pid), controllerFds: fds(controller.proc.pid),
      gatewayRss: rssMiB(gateway.proc.pid), gatewayFds: fds(gateway.proc.pid),
    };
    samples.push(s);
    console.log(JSON.stringify(s));
  };
  sample();
  const sampler = setInterval(sample, SAMPLE_MS);

  let restarts = 0;
  const restarter = (async () => {
    while (Date.now() + 60_000 < endAt) {
      await new Promise((resolve) => setTimeout(resolve, 60_000));
      const i = restarts++ % 2;
      const old = workers[i];
      await old.stop(40_000);  // SIGTERM: deregisters, finishes its streams, exits 0
      workers[i] = await worker(`w${i}`);
      await waitForWorkers(controller, (ws) => ws.length === 2, { timeout: 10_000, message: 'worker back' });
    }
  })();

  const steps = [
    () => plain(controller, 'llama3', 'controller plain'),
    () => streamed(controller, 'llama3', 'controller stream'),
    () => streamed(gateway, 'openai/mock-model', 'gateway stream'),
    () => streamed(gateway, 'anthropic/mock-model', 'gateway anthropic stream'),
    () => streamed(controller, 'llama3', 'abandoned stream', { abandon: true }),
    () => plain(gateway, null, 'malformed body', '{"model":', 400),
    () => plain(controller, null, 'unknown model', chatBody('no-such-model', 'x'), 404),
  ];
  await Promise.all(Array.from({ length: clients }, async (_, c) => {
    for (let i = c; Date.now() < endAt; i++) {
      try {
        await steps[i % steps.length]();
      } catch (err) {
        losses.push(`client ${c}: ${err.message}`);
        count('connection', 'error');
      }
    }
  }));
  await restarter;
  clearInterval(sampler);
  sample();
  await Promise.all([controller.stop(40_000), gateway.stop(40_000), ...workers.map((w) => w.stop(40_000)), mock.stop()]);

  const first = samples[1] ?? samples[0];
  const last = samples.at(-1);
  const lines = [
    `Soak: ${minutes} min, ${clients} clients, ${restarts} worker restarts, ${last.requests} requests, ${losses.length} lost.`,
    '',
    '| traffic | outcomes |',
    '|---|---|',
    ...Object.entries(tally).map(([kind, o]) => `| ${kind} | ${Object.entries(o).map(([k, v]) => `${k} ${v}`).join(', ')} |`),
    '',
    '| process | RSS at 10 s → end (MiB) | max | descriptors at 10 s → end |',
    '|---|---|---|---|',
    `| controller | ${first.controllerRss.toFixed(1)} → ${last.controllerRss.toFixed(1)} | ${Math.max(...samples.map((s) => s.controllerRss)).toFixed(1)} | ${first.controllerFds} → ${last.controllerFds} |`,
    `| gateway | ${first.gatewayRss.toFixed(1)} → ${last.gatewayRss.toFixed(1)} | ${Math.max(...samples.map((s) => s.gatewayRss)).toFixed(1)} | ${first.gatewayFds} → ${last.gatewayFds} |`,
    '',
    losses.length ? `Lost:\n${losses.slice(0, 50).map((l) => `- ${l}`).join('\n')}` : 'Nothing lost.',
  ];
  const report = lines.join('\n');
  console.log(`\n${report}`);
  if (outFile) fs.writeFileSync(outFile, `${report}\n\nSamples (every ${SAMPLE_MS / 1000} s):\n${samples.map((s) => JSON.stringify(s)).join('\n')}\n`);
  return losses.length === 0;
}

main().then((ok) => process.exit(ok ? 0 : 1), (err) => {
  console.error(err);
  process.exit(2);
});
