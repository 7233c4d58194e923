// llm-gateway benchmark: the gateway against the direct backend (its own mock-backend) and nginx
// as a plain reverse proxy, in one run, alternating targets over several rounds, reported as
// ratios. Not a test: it never fails on a figure (only on a broken setup).
//
//   node bench/bench.mjs [--quick] [--out docs/benchmarks.md]
//
// wrk is closed-loop: at concurrency 1 it measures latency, at 64 throughput; it cannot see time
// to first token or hold thousands of streams: the project's own C++ stream-client (built with
// the gateway) times streams, and hold_streams.mjs holds thousands open.

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { openStreams } from './hold_streams.mjs';
import { instructionsPerRequest, selfSignedCertificate, startNginx, wrk } from './lib.mjs';
import {
  startController, startGateway, startMock, startWorker, waitForWorkers,
} from '../tests/lib/harness.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const quick = args.includes('--quick');
const outIndex = args.indexOf('--out');
const outFile = outIndex >= 0 ? args[outIndex + 1] : quick ? null : path.join(here, '..', 'docs', 'benchmarks.md');

const cfg = quick
  ? { rounds: 1, seconds: 1, quads: 1, streamRequests: 20, ttftRequests: 10, concurrentStreams: 300, memoryRequests: 20_000, callgrindSeconds: 1 }
  : { rounds: 9, seconds: 4, quads: 13, streamRequests: 300, ttftRequests: 200, concurrentStreams: 10_000, memoryRequests: 1_000_000, callgrindSeconds: 4 };

const STREAM_CLIENT = process.env.STREAM_CLIENT_BIN || path.resolve(here, '..', 'build', 'bench', 'stream-client');

/** Times `count` streams one after another: TTFT and total percentiles (seconds), events seen. */
function streamTimings(url, model, count) {
  const { hostname, port } = new URL(url);
  const out = execFileSync(STREAM_CLIENT, [hostname, port, model, String(count)]).toString();
  return JSON.parse(out);
}

const TICK = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim());

// A gateway holds two descriptors per stream (client and upstream): the hard limit on open files
// caps how many streams one process can hold on this machine.
const FD_LIMIT = Number(execFileSync('sh', ['-c', 'ulimit -Hn']).toString().trim()) || 1024;
const streamCap = Math.floor((FD_LIMIT - 200) / 2);
if (cfg.concurrentStreams > streamCap) {
  console.error(`note: open-file limit ${FD_LIMIT}: holding ${streamCap} streams instead of ${cfg.concurrentStreams}`);
  cfg.concurrentStreams = streamCap;
}

function cpuSeconds(pid) {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICK;  // utime + stime
}

function rssMiB(pid) {
  const line = fs.readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:'));
  return Number(line.split(/\s+/)[1]) / 1024;
}

// CPU per request is read twice at c=64: with every process free to run on either core (as
// deployed), and with the target alone on core 1 and the load generator and upstream(s) on core 0.
// Sharing, the target's CPU per request also pays for contention with the load generator (cache,
// wake-ups on a busy core), which varies with how fast the target is; isolated, it is the
// target's own cost. Both proxies get the same treatment in both modes.
const CORES = os.cpus().length;
const hasTaskset = (() => {
  try {
    execFileSync('taskset', ['-p', String(process.pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
const ISOLATE = CORES >= 2 && hasTaskset;
const ALL_CORES = `0-${CORES - 1}`;

function setAffinity(pids, cores) {
  for (const pid of pids) execFileSync('taskset', ['-a', '-cp', cores, String(pid)], { stdio: 'ignore' });
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (x, digits = 1) => (Number.isFinite(x) ? x.toFixed(digits) : 'n/a');
// A paired ratio against its limit, on both placements (own core only where it was measured).
const pairedVerdict = (r, limit) => (r.shared <= limit && (!ISOLATE || r.iso <= limit) ? 'yes' : 'no');

// A controller with `count` workers in front of `mock`. `capacity`: each worker's concurrent
// requests (beyond them the controller queues).
async function startCluster(mock, common, capacity, count = 2) {
  // The commands' default heartbeat and probe periods (the test harness's are much shorter): less
  // background wake-ups to disturb the measurements.
  const controller = await startController(['--heartbeat-timeout', '60', '--heartbeat-check-interval', '10'], common);
  const workers = [];
  for (let i = 1; i <= count; ++i) {
    workers.push(await startWorker({
      id: `w${i}`,
      model: 'mock-model', backend: mock, controller, env: common,
      flags: ['--heartbeat-interval', '10', ...(capacity ? ['--capacity', String(capacity)] : [])],
    }));
  }
  await waitForWorkers(controller, (ws) => ws.length === count);
  const pids = workers.map((w) => w.proc.pid);
  return {
    workers,
    target: { url: controller.url, pid: controller.proc.pid, model: 'mock-model', also: pids, upstream: [mock.proc.pid, ...pids] },
    stop: () => Promise.all([controller.stop(), ...workers.map((w) => w.stop())]),
  };
}

// direct, nginx, gateway (pass-through and Anthropic translation) and a controller with two
// workers, all in front of `mock`. The workers take as many requests as wrk's 64 connections
// (their default capacity is 10): the controller relays every request at once, as the gateway
// does, so the two compare hop for hop; its wait queue is measured apart (queueingCluster).
async function startTargets(mock, common) {
  // `chatonly/`: the same mock as an OpenAI-compatible server without the Responses API, to which
  // the gateway translates Responses requests.
  const gateway = await startGateway([], {
    ...common, OPENAI_BASE_URL: `${mock.url}/v1`, ANTHROPIC_BASE_URL: mock.url, ANTHROPIC_API_KEY: 'k',
    PROVIDER_CHATONLY_BASE_URL: `${mock.url}/v1`,
  });
  const nginx = await startNginx(mock.port);
  const cluster = await startCluster(mock, common, 64);
  return {
    gateway,
    targets: {
      direct: { url: mock.url, pid: mock.proc.pid, model: 'mock-model', upstream: [] },
      nginx: { url: nginx.url, pid: nginx.pid, model: 'mock-model', upstream: [mock.proc.pid] },
      gateway: { url: gateway.url, pid: gateway.proc.pid, model: 'openai/mock-model', upstream: [mock.proc.pid] },
      'gateway (anthropic translation)': { url: gateway.url, pid: gateway.proc.pid, model: 'anthropic/mock-model', upstream: [mock.proc.pid] },
      cluster: cluster.target,
    },
    stop: async () => {
      await Promise.all([gateway.stop(), cluster.stop()]);
      nginx.stop();
    },
  };
}

async function main() {
  const mock = await startMock(['--threads', '1', '--models', 'mock-model']);
  // Time to first token is measured on streams whose tokens come 5 ms apart, as a model's do: the
  // first token travels alone. (On an unpaced stream the mock's burst keeps both cores busy, and
  // the client waits for a core rather than for the proxy.)
  const ttftMock = await startMock(['--threads', '1', '--models', 'mock-model', '--token-delay-ms', '5', '--tokens', '4']);
  const paced = await startMock(['--threads', '1', '--models', 'mock-model', '--token-delay-ms', '20', '--tokens', '64']);
  const slow = await startMock(['--threads', '1', '--models', 'mock-model', '--token-delay-ms', '1000', '--tokens', '30']);
  // Streams as a fast local server sends them: every event in one write (6 tokens: 9 events).
  const wholeMock = await startMock(['--threads', '1', '--models', 'mock-model', '--whole-stream', '1', '--tokens', '6']);
  const common = { ACCESS_LOG: '0', MAX_CONNECTIONS: '30000' };
  const main = await startTargets(mock, common);
  const gateway = main.gateway;
  const idleRss = rssMiB(gateway.proc.pid);
  const forTtft = await startTargets(ttftMock, common);
  const forSse = await startTargets(wholeMock, common);
  const targets = main.targets;
  const results = Object.fromEntries(Object.keys(targets).map((k) => [k, { p50: [], p99: [], rps: [], cpu: [], alsoCpu: [], rpsIso: [], cpuIso: [], alsoCpuIso: [], ttft50: [], ttft99: [], burst50: [], eventCpu: [], sseRps: [], sseCpu: [], responsesSseCpu: [], messagesCpu: [], messagesSseCpu: [] }]));
  const cpuOf = (pids) => pids.reduce((sum, pid) => sum + cpuSeconds(pid), 0);
  // wrk at c=64: throughput and CPU per request of target `t` (and of its `also` processes), into
  // `r`; sharing the cores, then (ISOLATE) on a core of its own.
  const saturate = (t, r) => {
    const cpuBefore = cpuSeconds(t.pid);
    const alsoBefore = cpuOf(t.also ?? []);
    const many = wrk(t.url, { connections: 64, seconds: cfg.seconds, model: t.model });
    r.rps.push(many.rps);
    r.cpu.push(((cpuSeconds(t.pid) - cpuBefore) * 1e6) / many.requests);
    r.alsoCpu.push(((cpuOf(t.also ?? []) - alsoBefore) * 1e6) / many.requests);
    if (ISOLATE) {
      setAffinity([t.pid], '1');
      setAffinity(t.upstream, '0');
      try {
        const isoBefore = cpuSeconds(t.pid);
        const isoAlsoBefore = cpuOf(t.also ?? []);
        const iso = wrk(t.url, { connections: 64, seconds: cfg.seconds, model: t.model, core: '0' });
        r.rpsIso.push(iso.rps);
        r.cpuIso.push(((cpuSeconds(t.pid) - isoBefore) * 1e6) / iso.requests);
        r.alsoCpuIso.push(((cpuOf(t.also ?? []) - isoAlsoBefore) * 1e6) / iso.requests);
      } finally {
        setAffinity([t.pid, ...t.upstream], ALL_CORES);
      }
    }
  };
  // The controller's wait queue at work: workers of the default capacity (10 each), 64
  // connections: most requests wait for a slot.
  const queueing = await startCluster(mock, common);
  const newSamples = () => ({ rps: [], cpu: [], alsoCpu: [], rpsIso: [], cpuIso: [], alsoCpuIso: [] });
  const queued = newSamples();
  // Hop for hop: the controller and the gateway each in front of the same worker, so that the
  // process measured is the only difference. (In front of the mock, the gateway relays a faster
  // upstream than the controller's worker: on a saturated core it then handles more requests per
  // wake-up, and an event loop's CPU per request falls as its batches grow.)
  const hop = await startCluster(mock, common, 64, 1);
  const hopWorker = hop.workers[0];
  const hopGateway = await startGateway([], { ...common, OPENAI_BASE_URL: `${hopWorker.url}/v1` });
  const hopUpstream = [mock.proc.pid, hopWorker.proc.pid];
  const hopTargets = {
    controller: { ...hop.target, also: [] },
    gateway: { url: hopGateway.url, pid: hopGateway.proc.pid, model: 'openai/mock-model', upstream: hopUpstream },
  };
  const hopped = { controller: newSamples(), gateway: newSamples() };

  for (let round = 0; round < cfg.rounds; ++round) {
    for (const [name, t] of Object.entries(targets)) {
      const r = results[name];
      const one = wrk(t.url, { connections: 1, seconds: cfg.seconds, model: t.model });
      r.p50.push(one.p50 * 1000);
      r.p99.push(one.p99 * 1000);
      saturate(t, r);
      if (name === 'cluster') {
        saturate(queueing.target, queued);  // the same load, queued by workers of capacity 10
        // In turn first, as the targets are: the second of a pair runs on a machine the first
        // warmed (or slowed).
        for (const k of round % 2 === 0 ? ['controller', 'gateway'] : ['gateway', 'controller']) {
          saturate(hopTargets[k], hopped[k]);
        }
      }
      const eventsBefore = cpuSeconds(t.pid);
      const burst = streamTimings(t.url, t.model, cfg.streamRequests);
      r.burst50.push(burst.ttft50 * 1e6);
      r.eventCpu.push(((cpuSeconds(t.pid) - eventsBefore) * 1e6) / burst.events);
      const st = forSse.targets[name];
      const sseBefore = cpuSeconds(st.pid);
      const sse = wrk(st.url, { connections: 64, seconds: cfg.seconds, model: st.model, stream: true });
      r.sseRps.push(sse.rps);
      r.sseCpu.push(((cpuSeconds(st.pid) - sseBefore) * 1e6) / sse.requests);
      if (name === 'gateway') {
        // The same streams asked for through the Responses API, translated from the chat stream.
        const responsesBefore = cpuSeconds(st.pid);
        const responses = wrk(st.url, {
          connections: 64, seconds: cfg.seconds, model: 'chatonly/mock-model', stream: true, api: 'responses',
        });
        r.responsesSseCpu.push(((cpuSeconds(st.pid) - responsesBefore) * 1e6) / responses.requests);
        // And through Anthropic's Messages API, translated to chat and back: plain, then streamed.
        const messagesBefore = cpuSeconds(t.pid);
        const messages = wrk(t.url, { connections: 64, seconds: cfg.seconds, model: t.model, api: 'messages' });
        r.messagesCpu.push(((cpuSeconds(t.pid) - messagesBefore) * 1e6) / messages.requests);
        const messagesSseBefore = cpuSeconds(st.pid);
        const messagesSse = wrk(st.url, { connections: 64, seconds: cfg.seconds, model: st.model, stream: true, api: 'messages' });
        r.messagesSseCpu.push(((cpuSeconds(st.pid) - messagesSseBefore) * 1e6) / messagesSse.requests);
      }
      const tt = forTtft.targets[name];
      const s = streamTimings(tt.url, tt.model, cfg.ttftRequests);
      r.ttft50.push(s.ttft50 * 1e6);
      r.ttft99.push(s.ttft99 * 1e6);
    }
  }

  // The issue #15 comparisons once more, in adjacent one-second slices: `a`, `b`, `b`, `a` (ABBA,
  // so that a drift within the quad cancels), `cfg.quads` times (odd: the median is one quad's);
  // the median of the quads' ratios. The rounds above sample gateway and nginx about 20 s apart,
  // the hop's two targets about 8 s apart, and on these machines the speed can move by a fifth
  // within seconds (other tenants): their per-round ratios swing by ±15 % from run to run. Slices
  // a second apart see nearly the same machine.
  const slice = (t, { stream, isolate }) => {
    try {
      if (isolate) {
        setAffinity([t.pid], '1');
        setAffinity(t.upstream, '0');
      }
      const before = cpuSeconds(t.pid);
      const run = wrk(t.url, { connections: 64, seconds: 1, model: t.model, stream, ...(isolate ? { core: '0' } : {}) });
      return ((cpuSeconds(t.pid) - before) * 1e6) / run.requests;
    } finally {
      if (isolate) setAffinity([t.pid, ...t.upstream], ALL_CORES);
    }
  };
  const pairedRatio = (a, b, options) => {
    const ratios = [];
    for (let i = 0; i < cfg.quads; ++i) {
      const a1 = slice(a, options);
      const b1 = slice(b, options);
      const b2 = slice(b, options);
      const a2 = slice(a, options);
      ratios.push((a1 + a2) / (b1 + b2));
    }
    return median(ratios);
  };
  const pairs = {
    plain: [targets.gateway, targets.nginx, false],
    sse: [forSse.targets.gateway, forSse.targets.nginx, true],
    hop: [hopTargets.controller, hopTargets.gateway, false],
  };
  const paired = Object.fromEntries(Object.entries(pairs).map(([k, [a, b, stream]]) => [k, {
    iso: ISOLATE ? pairedRatio(a, b, { stream, isolate: true }) : NaN,
    shared: pairedRatio(a, b, { stream, isolate: false }),
  }]));

  // Paced streams: events are relayed as they arrive, so the stream takes as long as direct.
  const pacedGateway = await startGateway([], { ...common, OPENAI_BASE_URL: `${paced.url}/v1` });
  const pacedDirect = streamTimings(paced.url, 'mock-model', 3);
  const pacedRelayed = streamTimings(pacedGateway.url, 'openai/mock-model', 3);

  // Many slow streams held open at once by one gateway process.
  const holdGateway = await startGateway([], { ...common, OPENAI_BASE_URL: `${slow.url}/v1` });
  const holdIdle = rssMiB(holdGateway.proc.pid);
  const held = await openStreams(holdGateway.url, 'openai/mock-model', cfg.concurrentStreams);
  const holdRss = rssMiB(holdGateway.proc.pid);
  await held.close();
  if (held.failed > 0) {
    console.error(`held streams: ${held.failed} failed (statuses ${JSON.stringify(held.statuses)})`);
  }

  // Memory after many requests on the first gateway.
  const before = rssMiB(gateway.proc.pid);
  let done = 0;
  while (done < cfg.memoryRequests) {
    if (gateway.proc.exitCode !== null || gateway.proc.signalCode !== null) {
      throw new Error(`the gateway died:\n${gateway.output()}`);
    }
    done += wrk(gateway.url, { connections: 64, seconds: Math.max(1, Math.min(20, cfg.seconds * 2)), model: 'openai/mock-model' }).requests;
  }
  const after = rssMiB(gateway.proc.pid);

  // Instructions per request, each target alone under callgrind in front of the same mock.
  const asTarget = (p) => ({ url: p.url, pid: p.proc.pid, stop: () => p.stop(20000) });
  const gatewayEnv = { ...common, OPENAI_BASE_URL: `${mock.url}/v1`, ANTHROPIC_BASE_URL: mock.url, ANTHROPIC_API_KEY: 'k' };
  const [nginxIr] = await instructionsPerRequest((wrapper) => startNginx(mock.port, { wrapper }), ['mock-model'], { seconds: cfg.callgrindSeconds });
  const [gatewayIr, translationIr, messagesIr] = await instructionsPerRequest(
    async (wrapper) => asTarget(await startGateway([], gatewayEnv, { wrapper })),
    ['openai/mock-model', 'anthropic/mock-model', { model: 'openai/mock-model', api: 'messages' }],
    { seconds: cfg.callgrindSeconds });
  const [controllerIr] = await instructionsPerRequest(async (wrapper) => {
    const controller = await startController(['--heartbeat-timeout', '60', '--heartbeat-check-interval', '10'], common, { wrapper });
    const workers = [];
    for (const id of ['w1', 'w2']) {
      workers.push(await startWorker({ id, model: 'mock-model', backend: mock, controller, env: common, flags: ['--heartbeat-interval', '10'] }));
    }
    await waitForWorkers(controller, (ws) => ws.length === 2, { timeout: 20000 });
    return { ...asTarget(controller), stop: () => Promise.all([controller.stop(20000), ...workers.map((w) => w.stop())]) };
  }, ['mock-model'], { seconds: cfg.callgrindSeconds });
  // The same two proxies terminating TLS (keep-alive: a handshake per connection, not per request).
  const [nginxTlsIr] = await instructionsPerRequest((wrapper) => startNginx(mock.port, { wrapper, tls: true }), ['mock-model'], { seconds: cfg.callgrindSeconds });
  const { cert, key } = selfSignedCertificate();
  const [gatewayTlsIr] = await instructionsPerRequest(
    async (wrapper) => asTarget(await startGateway(['--tls-cert', cert, '--tls-key', key], gatewayEnv, { wrapper })),
    ['openai/mock-model'], { seconds: cfg.callgrindSeconds });

  await Promise.all([main.stop(), forTtft.stop(), forSse.stop(), queueing.stop(), hop.stop(), hopGateway.stop(), pacedGateway.stop(), holdGateway.stop(),
    mock.stop(), ttftMock.stop(), paced.stop(), slow.stop(), wholeMock.stop()]);

  // Ratios of one round's figures, then their median: the machine's speed drifts between rounds
  // (other tenants), and a ratio within a round cancels most of that.
  const perRound = (a, b, field) => median(results[a][field].map((x, i) => x / results[b][field][i]));
  const cpuRatio = perRound('gateway', 'nginx', 'cpu');
  const sseCpuRatio = perRound('gateway', 'nginx', 'sseCpu');
  const sseTranslationRatio = perRound('gateway (anthropic translation)', 'gateway', 'sseCpu');
  const responsesStreamRatio = median(results.gateway.responsesSseCpu.map((x, i) => x / results.gateway.sseCpu[i]));
  const messagesRatio = median(results.gateway.messagesCpu.map((x, i) => x / results.gateway.cpu[i]));
  const messagesStreamRatio = median(results.gateway.messagesSseCpu.map((x, i) => x / results.gateway.sseCpu[i]));
  const rpsRatio = perRound('gateway', 'nginx', 'rps');
  const translationRatio = perRound('gateway (anthropic translation)', 'gateway', 'cpu');
  const clusterCpuRatio = perRound('cluster', 'gateway', 'cpu');
  const cpuIsoRatio = perRound('gateway', 'nginx', 'cpuIso');
  const rpsIsoRatio = perRound('gateway', 'nginx', 'rpsIso');
  const translationIsoRatio = perRound('gateway (anthropic translation)', 'gateway', 'cpuIso');
  const clusterCpuIsoRatio = perRound('cluster', 'gateway', 'cpuIso');
  const queueingRatio = median(queued.cpu.map((x, i) => x / results.cluster.cpu[i]));
  const queueingIsoRatio = median(queued.cpuIso.map((x, i) => x / results.cluster.cpuIso[i]));
  const hopRatio = median(hopped.controller.cpu.map((x, i) => x / hopped.gateway.cpu[i]));
  const hopIsoRatio = median(hopped.controller.cpuIso.map((x, i) => x / hopped.gateway.cpuIso[i]));
  const m = Object.fromEntries(Object.entries(results).map(([k, r]) => [k, Object.fromEntries(Object.entries(r).map(([f, xs]) => [f, median(xs)]))]));
  const d = m.direct;
  const g = m.gateway;
  const n = m.nginx;
  const a = m['gateway (anthropic translation)'];
  const c = m.cluster;
  const rows = [
    ['c=1 latency p50 (µs)', d.p50, n.p50, g.p50, a.p50, c.p50],
    ['c=1 latency p99 (µs)', d.p99, n.p99, g.p99, a.p99, c.p99],
    ['c=64 throughput (req/s)', d.rps, n.rps, g.rps, a.rps, c.rps],
    ['CPU per request (µs, target process)', d.cpu, n.cpu, g.cpu, a.cpu, c.cpu],
    ['c=64 throughput, target on its own core (req/s)', d.rpsIso, n.rpsIso, g.rpsIso, a.rpsIso, c.rpsIso],
    ['CPU per request, target on its own core (µs)', d.cpuIso, n.cpuIso, g.cpuIso, a.cpuIso, c.cpuIso],
    ['stream TTFT p50 (µs, tokens 5 ms apart)', d.ttft50, n.ttft50, g.ttft50, a.ttft50, c.ttft50],
    ['stream TTFT p99 (µs, tokens 5 ms apart)', d.ttft99, n.ttft99, g.ttft99, a.ttft99, c.ttft99],
    ['stream TTFT p50 (µs, 64 unpaced deltas: CPU-bound burst)', d.burst50, n.burst50, g.burst50, a.burst50, c.burst50],
    ['CPU per relayed stream event (µs)', d.eventCpu, n.eventCpu, g.eventCpu, a.eventCpu, c.eventCpu],
    ['stream of 9 events in one upstream write, c=64 (req/s)', d.sseRps, n.sseRps, g.sseRps, a.sseRps, c.sseRps],
    ['CPU per request, a stream of 9 events in one upstream write (µs)', d.sseCpu, n.sseCpu, g.sseCpu, a.sseCpu, c.sseCpu],
  ];
  const lines = [];
  lines.push(`| measure | direct | nginx | gateway | gateway (Anthropic translation) | controller → worker |`);
  lines.push(`|---|---|---|---|---|---|`);
  for (const [label, ...v] of rows) lines.push(`| ${label} | ${v.map((x) => fmt(x)).join(' | ')} |`);
  const ratios = [
    ['added p50 latency vs direct (µs): nginx / gateway', `${fmt(n.p50 - d.p50)} / ${fmt(g.p50 - d.p50)}`],
    ['added p99 latency vs direct (µs): nginx / gateway', `${fmt(n.p99 - d.p99)} / ${fmt(g.p99 - d.p99)}`],
    ['gateway ÷ nginx: CPU per request (median of per-round ratios): own core / shared cores', `${fmt(cpuIsoRatio, 2)} / ${fmt(cpuRatio, 2)}`],
    ['gateway ÷ nginx: throughput at c=64 (median of per-round ratios): own core / shared cores', `${fmt(rpsIsoRatio, 2)} / ${fmt(rpsRatio, 2)}`],
    ['gateway ÷ direct: throughput at c=64', fmt(g.rps / d.rps, 2)],
    ['gateway ÷ nginx: CPU per stream request (9 events, one upstream write; median of per-round ratios)', fmt(sseCpuRatio, 2)],
    ['translation ÷ pass-through: CPU per stream request (the same streams)', fmt(sseTranslationRatio, 2)],
    ['Responses translated from chat ÷ chat pass-through: CPU per stream request (the same streams; median of per-round ratios)', `${fmt(responsesStreamRatio, 2)} (${fmt(m.gateway.responsesSseCpu)} µs)`],
    ['Messages API in, OpenAI out ÷ chat pass-through: CPU per request, plain / stream (median of per-round ratios)', `${fmt(messagesRatio, 2)} (${fmt(m.gateway.messagesCpu)} µs) / ${fmt(messagesStreamRatio, 2)} (${fmt(m.gateway.messagesSseCpu)} µs)`],
    ['Messages API in, OpenAI out ÷ chat pass-through: user-space instructions per request (plain)', fmt(messagesIr / gatewayIr, 2)],
    ['user-space instructions per request (callgrind, thousands): nginx / gateway / translation / controller', `${fmt(nginxIr / 1000)} / ${fmt(gatewayIr / 1000)} / ${fmt(translationIr / 1000)} / ${fmt(controllerIr / 1000)}`],
    ['gateway ÷ nginx: user-space instructions per request', fmt(gatewayIr / nginxIr, 2)],
    ['HTTPS (TLS on the listening port): user-space instructions per request (thousands), nginx / gateway; gateway ÷ nginx', `${fmt(nginxTlsIr / 1000)} / ${fmt(gatewayTlsIr / 1000)}; ${fmt(gatewayTlsIr / nginxTlsIr, 2)}`],
    ['TLS cost per request (HTTPS − HTTP, user-space instructions, thousands): nginx / gateway', `${fmt((nginxTlsIr - nginxIr) / 1000)} / ${fmt((gatewayTlsIr - gatewayIr) / 1000)}`],
    ['added TTFT p50 vs direct (µs): nginx / gateway / controller → worker', `${fmt(n.ttft50 - d.ttft50)} / ${fmt(g.ttft50 - d.ttft50)} / ${fmt(c.ttft50 - d.ttft50)}`],
    ['added TTFT p99 vs direct (µs): nginx / gateway / controller → worker', `${fmt(n.ttft99 - d.ttft99)} / ${fmt(g.ttft99 - d.ttft99)} / ${fmt(c.ttft99 - d.ttft99)}`],
    ['translation ÷ pass-through: CPU per request (median of per-round ratios): own core / shared cores', `${fmt(translationIsoRatio, 2)} / ${fmt(translationRatio, 2)}`],
    ['distributed: added p50 latency per hop vs gateway (µs): (cluster − direct) ÷ 2 / gateway − direct', `${fmt((c.p50 - d.p50) / 2)} / ${fmt(g.p50 - d.p50)}`],
    ['distributed: CPU per request, controller / both workers / gateway (µs)', `${fmt(c.cpu)} / ${fmt(c.alsoCpu)} / ${fmt(g.cpu)}`],
    ['distributed: CPU per request with the target on its own core, controller / both workers (µs)', `${fmt(c.cpuIso)} / ${fmt(c.alsoCpuIso)}`],
    ['distributed: controller ÷ gateway CPU per request (median of per-round ratios): own core / shared cores', `${fmt(clusterCpuIsoRatio, 2)} / ${fmt(clusterCpuRatio, 2)}`],
    ['hop for hop, each in front of the same worker: CPU per request (µs), controller / gateway, own core; shared cores', `${fmt(median(hopped.controller.cpuIso))} / ${fmt(median(hopped.gateway.cpuIso))}; ${fmt(median(hopped.controller.cpu))} / ${fmt(median(hopped.gateway.cpu))}`],
    ['hop for hop: controller ÷ gateway CPU per request (median of per-round ratios): own core / shared cores', `${fmt(hopIsoRatio, 2)} / ${fmt(hopRatio, 2)}`],
    [`paired slices (ABBA, 1 s each; median of ${cfg.quads} quads), own core / shared cores: gateway ÷ nginx plain; gateway ÷ nginx streams (9 events, one upstream write); controller ÷ gateway hop for hop`,
      ['plain', 'sse', 'hop'].map((k) => `${fmt(paired[k].iso, 2)} / ${fmt(paired[k].shared, 2)}`).join('; ')],
    ['distributed, workers of capacity 10 (most of the 64 requests wait in the controller\'s queue): controller CPU per request (µs) own core / shared cores; ÷ the controller whose workers take all 64', `${fmt(median(queued.cpuIso))} / ${fmt(median(queued.cpu))}; ${fmt(queueingIsoRatio, 2)} / ${fmt(queueingRatio, 2)}`],
    ['paced stream (64 × 20 ms) duration p50, direct / gateway (ms)', `${fmt(pacedDirect.total50 * 1000)} / ${fmt(pacedRelayed.total50 * 1000)}`],
    [`${cfg.concurrentStreams} concurrent streams (open-file limit ${FD_LIMIT}): gateway RSS (MiB), per stream (KiB), failed`, `${fmt(holdRss)} (idle ${fmt(holdIdle)}), ${fmt(((holdRss - holdIdle) * 1024) / cfg.concurrentStreams)}, ${held.failed}`],
    ['gateway idle RSS (MiB)', fmt(idleRss)],
    [`gateway RSS before / after ${done} more requests (MiB)`, `${fmt(before)} / ${fmt(after)}`],
  ];
  lines.push('');
  lines.push('| derived | value |');
  lines.push('|---|---|');
  for (const [label, v] of ratios) lines.push(`| ${label} | ${v} |`);
  const table = lines.join('\n');
  console.log(table);

  // Every figure measured (the smoke run checks that the benchmark still measures what it says,
  // not how fast: no timing threshold), and nothing failed along the way.
  const measured = rows.flatMap(([label, ...v]) => v.map((x, i) => [`${label} [${i}]`, x]))
    .concat([['instructions nginx', nginxIr], ['instructions gateway', gatewayIr], ['CPU queueing controller', median(queued.cpu)],
      ['CPU hop controller', median(hopped.controller.cpu)], ['CPU hop gateway', median(hopped.gateway.cpu)],
      ['instructions translation', translationIr], ['instructions controller', controllerIr],
      ['held-stream RSS', holdRss], ['idle RSS', idleRss],
      ['CPU per Responses stream request', m.gateway.responsesSseCpu],
      ['CPU per Messages request', m.gateway.messagesCpu], ['CPU per Messages stream request', m.gateway.messagesSseCpu],
      ['instructions Messages', messagesIr], ['instructions nginx HTTPS', nginxTlsIr],
      ['instructions gateway HTTPS', gatewayTlsIr]])
    .concat(Object.entries(paired).flatMap(([k, r]) => [[`paired ${k} shared`, r.shared], ...(ISOLATE ? [[`paired ${k} own core`, r.iso]] : [])]));
  // CPU times come in clock ticks (10 ms): a quick run's may round to 0, never below.
  const missing = measured
    .filter(([label, x]) => !(Number.isFinite(x) && (x > 0 || (x === 0 && label.startsWith('CPU')))))
    .map(([label, x]) => `${label} = ${x}`);
  if (missing.length > 0) throw new Error(`figures not measured:\n${missing.join('\n')}`);
  if (held.failed !== 0) throw new Error(`${held.failed} of ${cfg.concurrentStreams} held streams failed`);

  if (outFile) {
    const cpu = os.cpus()[0]?.model ?? 'unknown';
    const doc = `# Benchmarks

Produced by \`bench/run.sh\` (${new Date().toISOString().slice(0, 10)}; ${cfg.rounds} rounds, medians, targets alternated
within each round). Machine: ${os.cpus().length} × ${cpu}, ${fmt(os.totalmem() / 2 ** 30, 0)} GiB,
Linux ${os.release()}. Everything on loopback; the load generator (wrk, or bench/stream-client),
the mock backend and the target share the same 2 cores, so absolute figures are noisy and the
ratios are what to read. The c=64 run is made twice per target and round: once with every
process free to run on either core, and once with the target alone on core 1 and wrk (one
thread), the mock and (for the controller) the workers on core 0 ("own core"). Sharing, the
target's CPU per request includes contention with the load generator on a busy core, which grows
as the target gets slower; on its own core it is the target's own cost. nginx and the gateway get
the same treatment in both.

- **direct**: \`llm-gateway mock-backend\` (1 thread) answering OpenAI chat completions.
- **nginx**: nginx ${execFileSync('sh', ['-c', 'nginx -v 2>&1']).toString().trim().replace('nginx version: ', '')} reverse proxy (1 worker, keep-alive upstream,
  \`proxy_buffering off\`, no access log) in front of the same mock.
- **gateway**: \`llm-gateway server --threads 1\` (access log off) in front of the same mock,
  pass-through (\`openai/mock-model\`) and Anthropic translation (\`anthropic/mock-model\`: the mock
  speaks the Messages API too).
- **controller → worker**: \`llm-gateway controller\` with two \`llm-gateway worker\`s (one thread
  each, access logs off, \`--capacity 64\`: every request of wrk's 64 connections is relayed at
  once, as the gateway relays them) in front of the same mock: two hops. CPU per request is the
  controller's; the workers' is shown apart. A second such cluster with the workers' default
  capacity (10 each) measures the controller's wait queue: there most requests wait for a slot.
  Hop for hop, a controller and a gateway (pass-through) each in front of the same single worker
  compare the two with nothing else different.
- Latency/throughput: \`wrk\` POSTing a small chat request (c=1: latency; c=64: saturation), CPU per
  request from the target process's own utime+stime over the run.
- Instructions: each proxy alone under \`valgrind --tool=callgrind\` (\`wrk -c4\`, ${cfg.callgrindSeconds} s after a
  1 s warm-up, counters zeroed in between): user-space instructions per request, its libraries
  included. The kernel's work is not in it (the system calls at c=64: about 5.2 per request for
  nginx, 6.0 for the gateway, whose reads of the client's socket look before they wait: one of
  them per request finds nothing yet; 4.9 for the controller, which reuses its connections to a
  worker without the pool's liveness probe), but the count does not change with the machine's
  speed as the CPU times do.
- Streams: \`bench/stream-client\` (C++, blocking sockets, one stream at a time on one keep-alive
  connection) measures time to first token (request sent → first content delta received) on
  ${cfg.ttftRequests} streams whose 4 tokens come 5 ms apart (a second set of the same targets in front of a
  paced mock), and CPU per relayed event over ${cfg.streamRequests} streams of 64 unpaced deltas (whose TTFT
  is shown too: there the mock's burst keeps both cores busy and the client waits for a core).
  Held streams: 30 deltas 1 s apart, opened at once by \`hold_streams.mjs\`.
- Whole streams: a third set of the same targets in front of a mock started with
  \`--whole-stream\` (a stream's 9 events in one write after the head, as a fast local server
  sends them), loaded by \`wrk -c64\` with \`"stream":true\` requests; CPU per request as above.
- Paired slices: after the rounds, the three comparisons of issue #15 (gateway ÷ nginx, plain and
  whole streams; controller ÷ gateway hop for hop) again, in adjacent one-second \`wrk -c64\`
  slices A B B A, ${cfg.quads} times per placement (own core, shared cores); the median of the
  quads' ratios. A round samples gateway and nginx about 20 s apart (the hop's two targets about
  8 s), and this machine's speed can change by a fifth within seconds; slices a second apart see
  nearly the same machine.

Command: \`bench/run.sh\` (or \`node bench/bench.mjs\` after a Release build).

${table}

## Against the targets of issue #6

| target | figure | met |
|---|---|---|
| CPU per request ≤ 1.2 × nginx | own core ${fmt(cpuIsoRatio, 2)} ×; shared cores ${fmt(cpuRatio, 2)} ×; user-space instructions ${fmt(gatewayIr / nginxIr, 2)} × | own core: ${!ISOLATE ? 'n/a' : cpuIsoRatio <= 1.2 ? 'yes' : 'no'}; shared: ${cpuRatio <= 1.2 ? 'yes' : 'no'} |
| throughput at c=64 ≥ 0.8 × nginx | shared cores ${fmt(rpsRatio, 2)} × (own core ${fmt(rpsIsoRatio, 2)} ×; there the target's core was busy ${fmt((g.cpuIso * g.rpsIso) / 1e4, 0)}% for the gateway and ${fmt((n.cpuIso * n.rpsIso) / 1e4, 0)}% for nginx, and a target short of 100% ran at the pace of core 0 (wrk and the mock), so that ratio is no saturation comparison) | ${rpsRatio >= 0.8 ? 'yes' : 'no'} |
| added p99 latency at c=1 ≤ 100 µs | ${fmt(g.p99 - d.p99)} µs | ${g.p99 - d.p99 <= 100 ? 'yes' : 'no'} |
| added TTFT p99 ≤ 150 µs | ${fmt(g.ttft99 - d.ttft99)} µs (p50: ${fmt(g.ttft50 - d.ttft50)} µs) | ${g.ttft99 - d.ttft99 <= 150 ? 'yes' : 'no'} |
| translation CPU ≤ 2 × pass-through | own core ${fmt(translationIsoRatio, 2)} ×; shared cores ${fmt(translationRatio, 2)} ×; instructions ${fmt(translationIr / gatewayIr, 2)} × | ${translationRatio <= 2 && (!ISOLATE || translationIsoRatio <= 2) ? 'yes' : 'no'} |
| controller adds no more per hop than the gateway | latency per hop ${fmt((c.p50 - d.p50) / 2)} vs ${fmt(g.p50 - d.p50)} µs (p50); controller CPU ${fmt(clusterCpuRatio, 2)} × the gateway's, instructions ${fmt(controllerIr / gatewayIr, 2)} × | latency: ${(c.p50 - d.p50) / 2 <= (g.p50 - d.p50) * 1.1 ? 'yes' : 'no'}; CPU: ${clusterCpuRatio <= 1.1 ? 'yes' : 'no'} |
| 10,000 streams, RSS < 300 MB | ${cfg.concurrentStreams} streams (open-file limit ${FD_LIMIT}), ${fmt(holdRss)} MiB, ${held.failed} failed | ${holdRss < 286 && held.failed === 0 ? (cfg.concurrentStreams >= 10000 ? 'yes' : 'yes at this count') : 'no'} |
| idle RSS < 20 MB | ${fmt(idleRss)} MiB | ${idleRss < 19 ? 'yes' : 'no'} |
| flat RSS over a million requests | ${fmt(before)} → ${fmt(after)} MiB over ${done} requests | ${after - before < 2 ? 'yes' : 'no'} |

## Against the targets of issue #15

| target | figure | met |
|---|---|---|
| SSE pass-through CPU per request ≤ 1.2 × nginx (9 events, one upstream write) | rounds ${fmt(sseCpuRatio, 2)} ×; paired slices: own core ${fmt(paired.sse.iso, 2)} ×, shared cores ${fmt(paired.sse.shared, 2)} × | rounds: ${sseCpuRatio <= 1.2 ? 'yes' : 'no'}; paired: ${pairedVerdict(paired.sse, 1.2)} |
| plain JSON CPU per request ≤ 1.2 × nginx | rounds: own core ${fmt(cpuIsoRatio, 2)} ×, shared cores ${fmt(cpuRatio, 2)} ×; paired slices: own core ${fmt(paired.plain.iso, 2)} ×, shared cores ${fmt(paired.plain.shared, 2)} × | rounds: ${cpuRatio <= 1.2 ? 'yes' : 'no'}; paired: ${pairedVerdict(paired.plain, 1.2)} |
| Anthropic translation ≤ 1.5 × the pass-through's CPU per request (and instructions) | plain: own core ${fmt(translationIsoRatio, 2)} ×, shared ${fmt(translationRatio, 2)} ×, instructions ${fmt(translationIr / gatewayIr, 2)} ×; streams: ${fmt(sseTranslationRatio, 2)} × | ${translationRatio <= 1.5 && sseTranslationRatio <= 1.5 && translationIr / gatewayIr <= 1.5 ? 'yes' : 'no'} |
| controller → worker per hop no more than the gateway | hop for hop (each in front of the same worker), controller ÷ gateway CPU per request: rounds: own core ${fmt(hopIsoRatio, 2)} ×, shared cores ${fmt(hopRatio, 2)} ×; paired slices: own core ${fmt(paired.hop.iso, 2)} ×, shared cores ${fmt(paired.hop.shared, 2)} ×; instructions ${fmt(controllerIr / gatewayIr, 2)} ×. (Against the gateway in front of the mock: ${fmt(clusterCpuIsoRatio, 2)} / ${fmt(clusterCpuRatio, 2)} ×. The wait queue, when most requests wait, is a cost of its own: ${fmt(queueingIsoRatio, 2)} / ${fmt(queueingRatio, 2)} × the relaying controller's.) | rounds: ${hopRatio <= 1 && (!ISOLATE || hopIsoRatio <= 1) ? 'yes' : hopRatio <= 1.02 && (!ISOLATE || hopIsoRatio <= 1.02) ? 'equal within 2%' : 'no'}; paired: ${pairedVerdict(paired.hop, 1)} |

## Against the targets of issue #16

| target | figure | met |
|---|---|---|
| a Responses stream translated from a chat upstream ≤ 1.5 × the CPU of a chat-completions pass-through stream of the same tokens | ${fmt(responsesStreamRatio, 2)} × (${fmt(m.gateway.responsesSseCpu)} vs ${fmt(g.sseCpu)} µs per request: \`POST /v1/responses\` with \`"stream": true\` to \`chatonly/mock-model\`, an OpenAI-compatible provider without the Responses API, against chat streams to \`openai/mock-model\`, both from the whole-stream mock) | ${responsesStreamRatio <= 1.5 ? 'yes' : 'no'} |

## Against the targets of issue #17

| target | figure | met |
|---|---|---|
| Messages inbound → OpenAI-compatible upstream ≤ 1.5 × the CPU of a chat-completions pass-through of the same tokens | plain ${fmt(messagesRatio, 2)} × (${fmt(m.gateway.messagesCpu)} vs ${fmt(g.cpu)} µs per request), instructions ${fmt(messagesIr / gatewayIr, 2)} ×; streams ${fmt(messagesStreamRatio, 2)} × (${fmt(m.gateway.messagesSseCpu)} vs ${fmt(g.sseCpu)} µs: \`POST /v1/messages\` to \`openai/mock-model\`, translated to chat and back, against chat requests to the same model, both from the same mocks) | ${messagesRatio <= 1.5 && messagesStreamRatio <= 1.5 ? 'yes' : 'no'} |

Stream instruction counts (callgrind) are measured by \`node bench/instructions.mjs\` (bench/README.md).
`;
    fs.writeFileSync(outFile, doc);
    console.log(`\nwritten to ${outFile}`);
  }
}

main().then(() => process.exit(0), (err) => {
  console.error(err);
  process.exit(1);
});
