import { execFileSync } from 'node:child_process';
import { startGateway, startMock } from '../tests/lib/harness.mjs';
import { wrk, selfSignedCertificate } from './lib.mjs';
const stream = process.argv.includes('--stream');
const tls = process.argv.includes('--tls');
const mock = await startMock(['--threads', '1', '--models', 'mock-model', '--whole-stream', '1', '--tokens', '6']);
const { cert, key } = selfSignedCertificate();
const flags = tls ? ['--tls-cert', cert, '--tls-key', key] : [];
const gw = await startGateway(flags, { ACCESS_LOG: '0', OPENAI_BASE_URL: `${mock.url}/v1` },
  { wrapper: ['valgrind', '--tool=callgrind', '--callgrind-out-file=/tmp/prof/out'] });
wrk(gw.url, { connections: 4, seconds: 1, model: 'openai/mock-model', stream });
execFileSync('callgrind_control', ['-z', String(gw.proc.pid)]);
const { requests } = wrk(gw.url, { connections: 4, seconds: 3, model: 'openai/mock-model', stream });
execFileSync('callgrind_control', ['-d', String(gw.proc.pid)]);
console.log('requests', requests);
await gw.stop(20000); await mock.stop();
