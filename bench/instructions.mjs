// User-space instructions per request (callgrind) of nginx, the gateway (pass-through, Anthropic
// translation, Anthropic's Messages API in front of an OpenAI upstream, OpenAI's Responses API in
// front of a chat-only one, a model table's model with two deployments) and the controller (in
// front of two workers), for a plain completion and for a stream; then nginx and the gateway
// terminating TLS (HTTPS with keep-alive: the handshakes spread over thousands of requests), so
// the cost of TLS per request is read beside nginx's, against a mock that writes each stream whole after its head (as a fast local
// server does). The count is the same on every run, however busy the machine: the figure to
// watch while working on the data path. A few minutes; nothing is written.
//
//   node bench/instructions.mjs [--seconds N] [--tokens N]

import fs from 'node:fs';
import path from 'node:path';
import {
  startController, startGateway, startMock, startWorker, tmpDir, waitForWorkers,
} from '../tests/lib/harness.mjs';
import { instructionsPerRequest, selfSignedCertificate, startNginx } from './lib.mjs';

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const seconds = option('--seconds', 3);
const tokens = option('--tokens', 6);  // a stream of tokens + 2 events (role, finish) + [DONE]

const common = { ACCESS_LOG: '0' };
const mock = await startMock(['--threads', '1', '--models', 'mock-model', '--whole-stream', '1', '--tokens', String(tokens)]);
// `chatonly/`: the same mock as an OpenAI-compatible server without the Responses API.
const gatewayEnv = {
  ...common, OPENAI_BASE_URL: `${mock.url}/v1`, ANTHROPIC_BASE_URL: mock.url, ANTHROPIC_API_KEY: 'k',
  PROVIDER_CHATONLY_BASE_URL: `${mock.url}/v1`,
};
// `table-model`: the model table's route, two deployments of the same mock.
const table = path.join(tmpDir(), 'models.yaml');
const tableDeployment = (name) => `{provider: openai, model: mock-model, base_url: "${mock.url}/v1", name: ${name}}`;
fs.writeFileSync(table, `models:\n  - name: table-model\n    deployments:\n      - ${tableDeployment('a')}\n      - ${tableDeployment('b')}\n`);
const asTarget = (p) => ({ url: p.url, pid: p.proc.pid, stop: () => p.stop(20000) });
const both = (model) => [{ model }, { model, stream: true }];

try {
  const nginx = await instructionsPerRequest((wrapper) => startNginx(mock.port, { wrapper }), both('mock-model'), { seconds });
  const gateway = await instructionsPerRequest(
    async (wrapper) => asTarget(await startGateway(['--config', table], gatewayEnv, { wrapper })),
    [...both('openai/mock-model'), ...both('anthropic/mock-model'),
      ...both('openai/mock-model').map((load) => ({ ...load, api: 'messages' })),
      ...both('chatonly/mock-model').map((load) => ({ ...load, api: 'responses' })),
      ...both('table-model')], { seconds });
  const controller = await instructionsPerRequest(async (wrapper) => {
    const c = await startController(['--heartbeat-timeout', '60', '--heartbeat-check-interval', '10'], common, { wrapper });
    const workers = [];
    for (const id of ['w1', 'w2']) {
      workers.push(await startWorker({ id, model: 'mock-model', backend: mock, controller: c, env: common, flags: ['--heartbeat-interval', '10'] }));
    }
    await waitForWorkers(c, (ws) => ws.length === 2, { timeout: 20000 });
    return { ...asTarget(c), stop: () => Promise.all([c.stop(20000), ...workers.map((w) => w.stop())]) };
  }, both('mock-model'), { seconds });
  const nginxTls = await instructionsPerRequest((wrapper) => startNginx(mock.port, { wrapper, tls: true }), both('mock-model'), { seconds });
  const { cert, key } = selfSignedCertificate();
  const gatewayTls = await instructionsPerRequest(
    async (wrapper) => asTarget(await startGateway(['--config', table, '--tls-cert', cert, '--tls-key', key], gatewayEnv, { wrapper })),
    both('openai/mock-model'), { seconds });

  const k = (x) => (x / 1000).toFixed(1);
  const r = (a, b) => (a / b).toFixed(2);
  const rows = [
    ['nginx', nginx[0], nginx[1]],
    ['gateway (pass-through)', gateway[0], gateway[1]],
    ['gateway (Anthropic translation)', gateway[2], gateway[3]],
    ['gateway (Messages API in, OpenAI out)', gateway[4], gateway[5]],
    ['gateway (Responses API in, chat out)', gateway[6], gateway[7]],
    ['gateway (model table, two deployments)', gateway[8], gateway[9]],
    ['controller (one hop to a worker)', controller[0], controller[1]],
    ['nginx, HTTPS', nginxTls[0], nginxTls[1]],
    ['gateway (pass-through), HTTPS', gatewayTls[0], gatewayTls[1]],
  ];
  console.log(`User-space instructions per request (thousands), callgrind, wrk -c4, ${seconds} s windows; stream: ${tokens} tokens, one upstream write`);
  console.log('| target | plain | stream |\n|---|---|---|');
  for (const [name, plain, stream] of rows) console.log(`| ${name} | ${k(plain)} | ${k(stream)} |`);
  console.log('\n| ratio | plain | stream |\n|---|---|---|');
  console.log(`| gateway ÷ nginx | ${r(gateway[0], nginx[0])} | ${r(gateway[1], nginx[1])} |`);
  console.log(`| translation ÷ pass-through | ${r(gateway[2], gateway[0])} | ${r(gateway[3], gateway[1])} |`);
  console.log(`| Messages in ÷ chat pass-through | ${r(gateway[4], gateway[0])} | ${r(gateway[5], gateway[1])} |`);
  console.log(`| Responses in ÷ chat pass-through | ${r(gateway[6], gateway[0])} | ${r(gateway[7], gateway[1])} |`);
  console.log(`| model table ÷ pass-through | ${r(gateway[8], gateway[0])} | ${r(gateway[9], gateway[1])} |`);
  console.log(`| controller ÷ gateway | ${r(controller[0], gateway[0])} | ${r(controller[1], gateway[1])} |`);
  console.log(`| gateway ÷ nginx, HTTPS | ${r(gatewayTls[0], nginxTls[0])} | ${r(gatewayTls[1], nginxTls[1])} |`);
  console.log('\nTLS cost per request (HTTPS − HTTP, thousands): '
    + `nginx ${k(nginxTls[0] - nginx[0])} / ${k(nginxTls[1] - nginx[1])}, `
    + `gateway ${k(gatewayTls[0] - gateway[0])} / ${k(gatewayTls[1] - gateway[1])} (plain / stream)`);
} finally {
  await mock.stop();
}
