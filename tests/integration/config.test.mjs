// Configuration sources: `.env` in the working directory, --env-file, and the precedence
// flag > environment > .env > default, observed through the gateway's behaviour.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {
  startGateway,
  startMock,
  mockStats,
  postChat,
  chatBody,
  runCli,
  tmpDir,
  waitFor,
} from '../lib/harness.mjs';

let mock;
before(async () => {
  mock = await startMock();
});
after(() => mock?.stop());

/** 'json' when every log line is a JSON object, 'text' when none is, else 'mixed'. */
function logFormat(output) {
  const lines = output.split('\n').filter((l) => l.trim() !== '');
  assert.ok(lines.length > 0, 'the gateway printed something');
  const json = lines.filter((l) => {
    try {
      const v = JSON.parse(l);
      return v !== null && typeof v === 'object' && typeof v.msg === 'string' && typeof v.level === 'string';
    } catch {
      return false;
    }
  });
  if (json.length === lines.length) return 'json';
  if (json.length === 0) return 'text';
  return 'mixed';
}

function dirWithDotenv(content) {
  const dir = tmpDir();
  fs.writeFileSync(path.join(dir, '.env'), content);
  return dir;
}

async function modelIds(gateway, headers = {}) {
  const res = await fetch(`${gateway.url}/v1/models`, { headers });
  assert.equal(res.status, 200);
  return (await res.json()).data.map((m) => m.id);
}

test('defaults: text logs and the built-in echo model when nothing is configured', async (t) => {
  const gw = await startGateway();
  t.after(() => gw.stop());
  assert.equal(logFormat(gw.output()), 'text');
  assert.deepEqual(await modelIds(gw), ['echo']);
});

test('.env in the working directory is read (export prefix, comments, blank lines, quotes)', async (t) => {
  const cwd = dirWithDotenv(
    [
      '# gateway settings for this test',
      '',
      `export OPENAI_BASE_URL="${mock.url}/v1"`,
      "OPENAI_API_KEY='sk-from-dotenv'",
      '   ',
      '# GATEWAY_API_KEYS=commented-out',
      'GATEWAY_API_KEYS="client-key-1,client-key-2"',
      'LOG_FORMAT=json',
      '',
    ].join('\n'),
  );
  const gw = await startGateway([], {}, { cwd });
  t.after(() => gw.stop());

  assert.equal(logFormat(gw.output()), 'json', gw.output());

  // GATEWAY_API_KEYS from .env (double quotes stripped): no key → 401, second key → accepted.
  const anon = await fetch(`${gw.url}/v1/models`);
  assert.equal(anon.status, 401);
  const auth = { authorization: 'Bearer client-key-2' };

  // OPENAI_BASE_URL from .env: the mock is the provider.
  const res = await postChat(gw, chatBody('openai/mock-model', 'configured by dotenv'), { headers: auth });
  assert.equal(res.status, 200);
  const body = await res.json();
  assert.equal(body.choices[0].message.content, 'configured by dotenv');

  // OPENAI_API_KEY from .env (single quotes stripped) reaches the upstream.
  const stats = await mockStats(mock);
  assert.equal(stats.last_request.headers.authorization, 'Bearer sk-from-dotenv');
  assert.equal(stats.last_request.headers['x-request-id'], res.headers.get('x-request-id'));

  // With a provider configured the echo model is not served.
  assert.ok(!(await modelIds(gw, auth)).includes('echo'));
});

test('the JSON access log carries the request id', async (t) => {
  const cwd = dirWithDotenv('LOG_FORMAT=json\n');
  const gw = await startGateway([], {}, { cwd });
  t.after(() => gw.stop());
  const res = await fetch(`${gw.url}/health`, { headers: { 'x-request-id': 'cfg-json-log-1' } });
  assert.equal(res.status, 200);
  await waitFor(
    () =>
      gw
        .output()
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l))
        .some((entry) => entry.request_id === 'cfg-json-log-1'),
    { message: 'a JSON access log entry with request_id cfg-json-log-1' },
  ).catch((err) => {
    throw new Error(`${err.message}\n${gw.output()}`);
  });
});

test('LOG_FORMAT: .env alone applies', async (t) => {
  const gw = await startGateway([], {}, { cwd: dirWithDotenv('LOG_FORMAT=json\n') });
  t.after(() => gw.stop());
  assert.equal(logFormat(gw.output()), 'json');
});

test('LOG_FORMAT: the environment beats .env', async (t) => {
  const gw = await startGateway([], { LOG_FORMAT: 'text' }, { cwd: dirWithDotenv('LOG_FORMAT=json\n') });
  t.after(() => gw.stop());
  assert.equal(logFormat(gw.output()), 'text');
});

test('LOG_FORMAT: the flag beats the environment and .env', async (t) => {
  const gw = await startGateway(['--log-format', 'json'], { LOG_FORMAT: 'text' }, { cwd: dirWithDotenv('LOG_FORMAT=text\n') });
  t.after(() => gw.stop());
  assert.equal(logFormat(gw.output()), 'json');
});

test('LOG_FORMAT: the flag beats the environment (text over json)', async (t) => {
  const gw = await startGateway(['--log-format', 'text'], { LOG_FORMAT: 'json' });
  t.after(() => gw.stop());
  assert.equal(logFormat(gw.output()), 'text');
});

test('an invalid value in .env is reported (proving .env is read) → exit 2', async () => {
  const cwd = dirWithDotenv('LOG_LEVEL=loud\n');
  const r = await runCli(['server', '--host', '127.0.0.1', '--port', '0', '--threads', '1'], {}, { cwd });
  assert.equal(r.code, 2, r.output);
  assert.match(r.stderr, /LOG_LEVEL/);
  assert.match(r.stderr, /loud/);
});

test('.env never overrides a variable set in the environment', async (t) => {
  // An invalid LOG_LEVEL in .env is ignored when the environment sets a valid one.
  const cwd = dirWithDotenv(
    [`OPENAI_BASE_URL=${mock.url}/v1`, 'OPENAI_API_KEY=sk-from-dotenv', 'LOG_LEVEL=loud', 'LOG_FORMAT=json'].join('\n'),
  );
  const gw = await startGateway([], { OPENAI_API_KEY: 'sk-from-env', LOG_LEVEL: 'info', LOG_FORMAT: 'text' }, { cwd });
  t.after(() => gw.stop());
  assert.equal(logFormat(gw.output()), 'text');
  const res = await postChat(gw, chatBody('openai/mock-model', 'env wins'));
  assert.equal(res.status, 200);
  assert.equal((await res.json()).choices[0].message.content, 'env wins');
  const stats = await mockStats(mock);
  assert.equal(stats.last_request.headers.authorization, 'Bearer sk-from-env');
});

test('an empty environment value still counts as set (not overridden by .env)', async (t) => {
  // OPENAI_API_KEY set to empty in the environment: the .env key must not be used.
  const cwd = dirWithDotenv([`OPENAI_BASE_URL=${mock.url}/v1`, 'OPENAI_API_KEY=sk-from-dotenv'].join('\n'));
  const gw = await startGateway([], { OPENAI_API_KEY: '' }, { cwd });
  t.after(() => gw.stop());
  const res = await postChat(gw, chatBody('openai/mock-model', 'empty key'));
  assert.equal(res.status, 200);
  await res.arrayBuffer();
  const stats = await mockStats(mock);
  assert.notEqual(stats.last_request.headers.authorization, 'Bearer sk-from-dotenv');
});

test('a flag beats an invalid value in the environment and in .env (PORT)', async (t) => {
  const gw = await startGateway([], { PORT: 'abc' }, { cwd: dirWithDotenv('PORT=also-bad\n') });
  t.after(() => gw.stop());
  const res = await fetch(`${gw.url}/health`);
  assert.equal(res.status, 200);
});

test('HOST and PORT from the environment apply when no flag is given', async (t) => {
  const gw = await startGateway([], { HOST: '127.0.0.1', PORT: '0' }, { listenFlags: false });
  t.after(() => gw.stop());
  assert.match(gw.output(), /listening on http:\/\/127\.0\.0\.1:\d+/);
  assert.notEqual(gw.port, 0);
  assert.notEqual(gw.port, 8000);
  assert.equal((await fetch(`${gw.url}/health`)).status, 200);
});

test('HOST and PORT from .env apply when neither flag nor environment sets them', async (t) => {
  const gw = await startGateway([], {}, { cwd: dirWithDotenv('HOST=127.0.0.1\nPORT=0\n'), listenFlags: false });
  t.after(() => gw.stop());
  assert.match(gw.output(), /listening on http:\/\/127\.0\.0\.1:\d+/);
  assert.notEqual(gw.port, 8000);
  assert.equal((await fetch(`${gw.url}/health`)).status, 200);
});

test('--env-file is read instead of ./.env', async (t) => {
  const cwd = dirWithDotenv('LOG_FORMAT=json\nGATEWAY_API_KEYS=from-cwd-dotenv\n');
  const file = path.join(tmpDir(), 'gateway.env');
  fs.writeFileSync(file, `OPENAI_BASE_URL=${mock.url}/v1\nOPENAI_API_KEY="sk-from-env-file"\n`);
  const gw = await startGateway(['--env-file', file], {}, { cwd });
  t.after(() => gw.stop());

  assert.equal(logFormat(gw.output()), 'text', './.env (LOG_FORMAT=json) must not be read');
  const res = await postChat(gw, chatBody('openai/mock-model', 'from the env file'));
  assert.equal(res.status, 200, './.env (GATEWAY_API_KEYS) must not be read');
  assert.equal((await res.json()).choices[0].message.content, 'from the env file');
  const stats = await mockStats(mock);
  assert.equal(stats.last_request.headers.authorization, 'Bearer sk-from-env-file');
});

test('--env-file never overrides the environment', async (t) => {
  const file = path.join(tmpDir(), 'gateway.env');
  fs.writeFileSync(file, `OPENAI_BASE_URL=${mock.url}/v1\nOPENAI_API_KEY=sk-from-env-file\nLOG_FORMAT=json\n`);
  const gw = await startGateway(['--env-file', file], { OPENAI_API_KEY: 'sk-from-env', LOG_FORMAT: 'text' });
  t.after(() => gw.stop());
  assert.equal(logFormat(gw.output()), 'text');
  const res = await postChat(gw, chatBody('openai/mock-model', 'x'));
  assert.equal(res.status, 200);
  await res.arrayBuffer();
  const stats = await mockStats(mock);
  assert.equal(stats.last_request.headers.authorization, 'Bearer sk-from-env');
});

test('ACCESS_LOG=0 turns the access log off (and the variable is read)', async (t) => {
  const gw = await startGateway([], { ACCESS_LOG: '0' });
  const res = await fetch(`${gw.url}/health`, { headers: { 'x-request-id': 'access-log-off-1' } });
  assert.equal(res.status, 200);
  await res.arrayBuffer();
  await gw.stop();  // everything it would have logged is out once it has exited
  assert.match(gw.output(), /stopped/);
  assert.doesNotMatch(gw.output(), /access-log-off-1/);
});

test('ACCESS_LOG: the flag beats the environment', async (t) => {
  const gw = await startGateway(['--access-log', '1'], { ACCESS_LOG: '0' });
  t.after(() => gw.stop());
  const res = await fetch(`${gw.url}/health`, { headers: { 'x-request-id': 'access-log-flag-1' } });
  assert.equal(res.status, 200);
  await gw.waitForOutput(/request_id=access-log-flag-1/);
});

test('.env: CRLF line endings, inline comments, # inside quotes, spaces around =', async (t) => {
  const cwd = dirWithDotenv(
    [
      `OPENAI_BASE_URL = ${mock.url}/v1   # the mock`,
      "OPENAI_API_KEY='sk-#-in-single-quotes'",
      'GATEWAY_API_KEYS="key#1,key 2" # two keys',
      'LOG_FORMAT=json',
      '',
    ].join('\r\n'),
  );
  const gw = await startGateway([], {}, { cwd });
  t.after(() => gw.stop());
  assert.equal(logFormat(gw.output()), 'json', gw.output());
  const res = await postChat(gw, chatBody('openai/mock-model', 'crlf ok'), { headers: { authorization: 'Bearer key#1' } });
  assert.equal(res.status, 200, await res.clone().text());
  assert.equal((await res.json()).choices[0].message.content, 'crlf ok');
  const stats = await mockStats(mock);
  assert.equal(stats.last_request.headers.authorization, 'Bearer sk-#-in-single-quotes');
});

for (const [what, content, mention] of [
  ['a line that is not an assignment', 'LOG_FORMAT=json\nthis is not an assignment\n', /line 2/],
  ['an unterminated quote', 'OPENAI_API_KEY="open\n', /unterminated/],
]) {
  test(`a malformed .env (${what}) → exit 2 before listening`, async () => {
    const r = await runCli(['server', '--host', '127.0.0.1', '--port', '0', '--threads', '1'], {}, { cwd: dirWithDotenv(content) });
    assert.equal(r.code, 2, r.output);
    assert.match(r.stderr, /\.env/);
    assert.match(r.stderr, mention);
    assert.equal(r.listening, false);
  });
}
