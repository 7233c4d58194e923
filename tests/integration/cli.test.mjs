// Command line: version/help, unimplemented subcommands, configuration validation (exit code 2
// before listening), port conflicts and a missing --env-file.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runCli as run, occupiedPort, startGateway, tmpDir } from '../lib/harness.mjs';
import path from 'node:path';

/** runCli, also failing on a sanitizer report (sanitizer builds). */
async function runCli(...args) {
  const r = await run(...args);
  assert.equal(r.sanitizer, null, `sanitizer report:\n${r.sanitizer}`);
  return r;
}

const LISTEN = ['--host', '127.0.0.1', '--port', '0', '--threads', '1'];

test('--version prints the name and version', async () => {
  const r = await runCli(['--version']);
  assert.equal(r.code, 0, r.output);
  assert.equal(r.output.trim(), 'llm-gateway 0.1.0');
});

test('--help lists the subcommands and exits 0', async () => {
  const r = await runCli(['--help']);
  assert.equal(r.code, 0, r.output);
  for (const sub of ['server', 'mock-backend', 'controller', 'worker']) {
    assert.match(r.output, new RegExp(`\\b${sub}\\b`), `--help mentions ${sub}`);
  }
});

test('server --help documents the flags and exits 0', async () => {
  const r = await runCli(['server', '--help']);
  assert.equal(r.code, 0, r.output);
  for (const flag of ['--port', '--host', '--max-request-bytes', '--first-byte-timeout', '--env-file']) {
    assert.ok(r.output.includes(flag), `server --help mentions ${flag}:\n${r.output}`);
  }
  assert.doesNotMatch(r.output, /listening on/);
});

test('mock-backend --help documents the flags and exits 0', async () => {
  const r = await runCli(['mock-backend', '--help']);
  assert.equal(r.code, 0, r.output);
  for (const flag of ['--models', '--fail-status', '--cut-after', '--stall-after']) {
    assert.ok(r.output.includes(flag), `mock-backend --help mentions ${flag}:\n${r.output}`);
  }
});

const COMMAND_FLAGS = {
  controller: ['--port', '--heartbeat-timeout', '--heartbeat-check-interval', '--circuit-failures',
    '--circuit-cooldown', '--queue-timeout', '--max-attempts', '--env-file'],
  worker: ['--worker-id', '--model-id', '--backend-url', '--backend-type', '--backend-model',
    '--backend-api-key', '--controller-url', '--advertise-url', '--capacity', '--heartbeat-interval',
    '--registry-retry-count', '--registry-retry-delay', '--env-file'],
};
for (const [sub, flags] of Object.entries(COMMAND_FLAGS)) {
  test(`${sub} --help documents the flags and their variables, and exits 0`, async () => {
    const r = await runCli([sub, '--help']);
    assert.equal(r.code, 0, r.output);
    for (const flag of flags) assert.ok(r.output.includes(flag), `${sub} --help mentions ${flag}:\n${r.output}`);
    assert.match(r.output, sub === 'worker' ? /WORKER_ID/ : /HEARTBEAT_TIMEOUT/);
  });
}

test('an unknown subcommand or flag is rejected', async () => {
  const r = await runCli(['server', ...LISTEN, '--no-such-flag']);
  assert.notEqual(r.code, 0, r.output);
  assert.doesNotMatch(r.output, /listening on/);
});

// [description, args after `server`, env, text the message must contain]
const invalid = [
  ['PORT=abc (env)', ['--host', '127.0.0.1', '--threads', '1'], { PORT: 'abc' }, ['PORT', 'abc']],
  ['--port 70000', ['--host', '127.0.0.1', '--threads', '1', '--port', '70000'], {}, ['--port', '70000']],
  ['LOG_LEVEL=loud (env)', LISTEN, { LOG_LEVEL: 'loud' }, ['LOG_LEVEL', 'loud']],
  ['--log-level loud', [...LISTEN, '--log-level', 'loud'], {}, ['--log-level', 'loud']],
  ['OPENAI_BASE_URL=notaurl (env)', LISTEN, { OPENAI_BASE_URL: 'notaurl' }, ['OPENAI_BASE_URL', 'notaurl']],
  ['--connect-timeout -1', [...LISTEN, '--connect-timeout', '-1'], {}, ['--connect-timeout', '-1']],
  ['--first-byte-timeout abc', [...LISTEN, '--first-byte-timeout', 'abc'], {}, ['--first-byte-timeout', 'abc']],
  ['UPSTREAM_IDLE_TIMEOUT=soon (env)', LISTEN, { UPSTREAM_IDLE_TIMEOUT: 'soon' }, ['UPSTREAM_IDLE_TIMEOUT', 'soon']],
  ['--log-format xml', [...LISTEN, '--log-format', 'xml'], {}, ['--log-format', 'xml']],
  ['LOG_FORMAT=yaml (env)', LISTEN, { LOG_FORMAT: 'yaml' }, ['LOG_FORMAT', 'yaml']],
  ['--max-request-bytes lots', [...LISTEN, '--max-request-bytes', 'lots'], {}, ['--max-request-bytes', 'lots']],
  ['MAX_HEADER_BYTES=-5 (env)', LISTEN, { MAX_HEADER_BYTES: '-5' }, ['MAX_HEADER_BYTES', '-5']],
  ['GATEWAY_THREADS=many (env)', ['--host', '127.0.0.1', '--port', '0'], { GATEWAY_THREADS: 'many' }, ['GATEWAY_THREADS', 'many']],
  ['--port -1', ['--host', '127.0.0.1', '--threads', '1', '--port', '-1'], {}, ['--port', '-1']],
];

for (const [what, args, env, mentions] of invalid) {
  test(`invalid ${what} → exit 2 naming it, never listening`, async () => {
    const r = await runCli(['server', ...args], env, { timeout: 8000 });
    assert.equal(r.code, 2, `exit code for ${what}:\n${r.output}`);
    for (const text of mentions) {
      assert.ok(r.stderr.includes(text), `stderr mentions ${JSON.stringify(text)}:\n${r.stderr}`);
    }
    assert.doesNotMatch(r.output, /listening on/);
  });
}

test('a port already in use → exit 1 with "cannot listen"', async (t) => {
  const holder = await occupiedPort();
  t.after(() => holder.close());
  const r = await runCli(['server', '--host', '127.0.0.1', '--port', String(holder.port), '--threads', '1']);
  assert.equal(r.code, 1, r.output);  // the README: a port in use exits 1
  assert.equal(r.signal, null, 'exits by itself, not by a signal');
  assert.match(r.output, /cannot listen/);
  assert.doesNotMatch(r.output, /listening on/);
});

test('a port held by another gateway → exit 1 with "cannot listen"', async (t) => {
  const first = await startGateway();
  t.after(() => first.stop());
  const r = await runCli(['server', '--host', '127.0.0.1', '--port', String(first.port), '--threads', '1']);
  assert.equal(r.listening, false, `a second gateway must not start listening on port ${first.port}, already in use:\n${r.output}`);
  assert.equal(r.code, 1, r.output);
  assert.match(r.output, /cannot listen/);
  // The first gateway is unaffected.
  const res = await fetch(`${first.url}/health`);
  assert.equal(res.status, 200);
});

test('a missing --env-file → exit 2 naming the file', async () => {
  const missing = path.join(tmpDir(), 'does-not-exist.env');
  const r = await runCli(['server', ...LISTEN, '--env-file', missing]);
  assert.equal(r.code, 2, r.output);
  assert.ok(r.stderr.includes(missing), `stderr names the file:\n${r.stderr}`);
  assert.doesNotMatch(r.output, /listening on/);
});
