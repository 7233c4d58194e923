// HTTPS on the listening port (TLS_CERT_FILE / TLS_KEY_FILE) of server, controller and worker:
// TLS 1.2+ with ALPN http/1.1, the certificate read again on SIGHUP without dropping a
// connection, bad files refused at start-up, and controller <-> worker over https verifying the
// peer against SSL_CERT_FILE. The CA and certificates are made with openssl in the test.

import { describe, test, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import tls from 'node:tls';
import {
  chatBody,
  runCli,
  startController,
  startGateway,
  startMock,
  startWorker,
  tmpDir,
  waitFor,
} from '../lib/harness.mjs';

let dir;
let ca;

function openssl(...args) {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A key and a certificate for 127.0.0.1 and localhost signed by the test CA, as `name`.{key,pem}. */
function issue(name, commonName) {
  openssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${commonName}`);
  fs.writeFileSync(path.join(dir, `${name}.ext`), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  openssl('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key',
    '-CAcreateserial', '-out', `${name}.pem`, '-days', '1', '-extfile', `${name}.ext`);
  return { cert: path.join(dir, `${name}.pem`), key: path.join(dir, `${name}.key`) };
}

before(() => {
  dir = tmpDir('llm-gateway-tls-');
  openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '1', '-subj', '/CN=llm-gateway test CA');
  ca = fs.readFileSync(path.join(dir, 'ca.pem'));
});

const tlsFlags = ({ cert, key }) => ['--tls-cert', cert, '--tls-key', key];

/** One HTTPS request trusting the test CA; resolves with {status, body, socket}. */
function request(url, { method = 'GET', body, agent } = {}) {
  return new Promise((resolve, reject) => {
    const req = https.request(url, {
      method, ca, agent, headers: body ? { 'content-type': 'application/json' } : {},
    }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode, body: text, socket: res.socket }));
    });
    req.on('error', reject);
    req.end(body ? JSON.stringify(body) : undefined);
  });
}

/** A TLS handshake alone; resolves with the connected socket's facts, or rejects. */
function handshake(port, options = {}) {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, ca, servername: 'localhost', ...options }, () => {
      const facts = {
        protocol: socket.getProtocol(),
        alpn: socket.alpnProtocol,
        subject: socket.getPeerCertificate().subject?.CN,
      };
      socket.end();
      resolve(facts);
    });
    socket.on('error', reject);
  });
}

/**
 * A kept-alive TLS connection: get(path) sends a request on it and resolves with the whole
 * response (head and its content-length body) as text.
 */
function heldConnection(port) {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, ca, servername: 'localhost' }, () => {
      let buffered = '';
      let waiting = null;
      socket.setEncoding('utf8');
      socket.on('data', (chunk) => {
        buffered += chunk;
        const end = buffered.indexOf('\r\n\r\n');
        const length = Number(/content-length: (\d+)/i.exec(buffered)?.[1] ?? 0);
        if (waiting && end >= 0 && buffered.length >= end + 4 + length) {
          const response = buffered.slice(0, end + 4 + length);
          buffered = buffered.slice(end + 4 + length);
          waiting.resolve(response);
          waiting = null;
        }
      });
      socket.on('close', () => waiting?.reject(new Error('the connection closed')));
      resolve({
        socket,
        get: (target) => new Promise((ok, fail) => {
          waiting = { resolve: ok, reject: fail };
          socket.write(`GET ${target} HTTP/1.1\r\nhost: localhost\r\n\r\n`);
        }),
      });
    });
    socket.on('error', reject);
  });
}

describe('TLS on the listening port', () => {
  test('server: HTTPS with TLS 1.2+, ALPN http/1.1; plain, streamed and refused below TLS 1.2', async (t) => {
    const gw = await startGateway(tlsFlags(issue('server', 'gateway')));
    t.after(() => gw.stop());
    assert.match(gw.url, /^https:/);
    const plain = await request(`${gw.url}/v1/chat/completions`, { method: 'POST', body: chatBody('echo', 'over tls') });
    assert.equal(plain.status, 200, plain.body);
    assert.equal(JSON.parse(plain.body).choices[0].message.content, 'over tls');
    const streamed = await request(`${gw.url}/v1/chat/completions`, { method: 'POST', body: chatBody('echo', 'streamed', { stream: true }) });
    assert.equal(streamed.status, 200);
    assert.match(streamed.body, /"content":"streamed"/);
    assert.match(streamed.body, /data: \[DONE\]/);

    const facts = await handshake(gw.port, { ALPNProtocols: ['h2', 'http/1.1'] });
    assert.equal(facts.alpn, 'http/1.1');
    assert.match(facts.protocol, /^TLSv1\.[23]$/);
    assert.equal((await handshake(gw.port, { maxVersion: 'TLSv1.2' })).protocol, 'TLSv1.2');
    await assert.rejects(handshake(gw.port, { maxVersion: 'TLSv1.1', minVersion: 'TLSv1' }));
    // An untrusted client (no CA) fails the handshake, and the server serves on.
    await assert.rejects(handshake(gw.port, { ca: undefined }), /self[- ]signed|unable to verify|certificate/i);
    assert.equal((await request(`${gw.url}/health`)).status, 200);
  });

  test('SIGHUP reads the certificate again: connections open stay, new ones get the new one; a bad file keeps the old', async (t) => {
    const files = issue('reloaded', 'first');
    const gw = await startGateway(tlsFlags(files));
    t.after(() => gw.stop());
    assert.equal((await handshake(gw.port)).subject, 'first');
    const held = await heldConnection(gw.port);
    t.after(() => held.socket.destroy());
    assert.match(await held.get('/health'), /^HTTP\/1\.1 200/);

    const next = issue('next', 'second');
    fs.copyFileSync(next.cert, files.cert);
    fs.copyFileSync(next.key, files.key);
    gw.proc.kill('SIGHUP');
    await gw.waitForOutput(/TLS certificate read again/);
    assert.match(await held.get('/health'), /^HTTP\/1\.1 200/, 'the connection opened before the reload still serves');
    assert.equal((await handshake(gw.port)).subject, 'second');

    fs.writeFileSync(files.key, 'not a key\n');
    gw.proc.kill('SIGHUP');
    await gw.waitForOutput(/TLS certificate not reloaded, the previous one stays in use: TLS_KEY_FILE/);
    assert.equal((await handshake(gw.port)).subject, 'second');
    assert.equal((await request(`${gw.url}/health`)).status, 200);
  });

  test('a SIGHUP with nothing to reload (no TLS, no model table) is logged and does not end the process', async (t) => {
    const gw = await startGateway();
    t.after(() => gw.stop());
    gw.proc.kill('SIGHUP');
    await gw.waitForOutput(/received SIGHUP: nothing to reload/);
    assert.equal(gw.proc.exitCode, null, 'still running');
    assert.equal(gw.proc.signalCode, null, 'not killed by the signal');
    assert.equal((await fetch(`${gw.url}/health`)).status, 200);
  });

  test('bad TLS files stop start-up with a message naming the file', async () => {
    const good = issue('good', 'good');
    const other = issue('other', 'other');
    const garbage = path.join(dir, 'garbage.pem');
    fs.writeFileSync(garbage, 'not a certificate\n');
    for (const [flags, message] of [
      [['--tls-cert', path.join(dir, 'missing.pem'), '--tls-key', good.key], /TLS_CERT_FILE '.*missing\.pem': not a readable PEM certificate chain/],
      [['--tls-cert', garbage, '--tls-key', good.key], /TLS_CERT_FILE '.*garbage\.pem'/],
      [['--tls-cert', good.cert, '--tls-key', garbage], /TLS_KEY_FILE '.*garbage\.pem': not a readable PEM private key/],
      [['--tls-cert', good.cert, '--tls-key', other.key], /TLS_KEY_FILE '.*other\.key' is not the key of TLS_CERT_FILE/],
      [['--tls-cert', good.cert], /--tls-cert: needs TLS_CERT_FILE and TLS_KEY_FILE together/],
    ]) {
      const result = await runCli(['server', '--host', '127.0.0.1', '--port', '0', ...flags]);
      assert.notEqual(result.code, 0, `${flags.join(' ')}: should not start`);
      assert.match(result.stdout + result.stderr, message, flags.join(' '));
    }
  });

  test('controller and worker over https verify each other against SSL_CERT_FILE; an unknown CA fails loudly', async (t) => {
    const trust = { SSL_CERT_FILE: path.join(dir, 'ca.pem') };
    const mock = await startMock(['--models', 'llama3']);
    t.after(() => mock.stop());
    const controller = await startController(tlsFlags(issue('controller', 'controller')), trust);
    t.after(() => controller.stop());
    assert.match(controller.url, /^https:/);
    const worker = await startWorker({
      id: 'secure', model: 'llama3', backend: mock, controller, env: trust,
      flags: tlsFlags(issue('worker', 'worker')),
    });
    t.after(() => worker.stop());
    // Worker -> controller over https: it registers.
    const workers = await waitFor(async () => {
      const listed = JSON.parse((await request(`${controller.url}/internal/workers`)).body).data;
      return listed.length === 1 ? listed : false;
    }, { message: 'the worker registered over https' });
    assert.match(workers[0].url, /^https:\/\/127\.0\.0\.1:/, 'the worker advertises https');
    // Controller -> worker over https: a request goes through both.
    const res = await request(`${controller.url}/v1/chat/completions`, { method: 'POST', body: chatBody('llama3', 'through both') });
    assert.equal(res.status, 200, res.body);
    assert.match(JSON.parse(res.body).choices[0].message.content, /through both/);

    // A controller that does not trust the test CA (no SSL_CERT_FILE: the system store only)
    // refuses the worker's certificate: 502, and its log says why.
    const blind = await startController();
    t.after(() => blind.stop());
    await registerByHand(blind, worker);
    const refused = await fetch(`${blind.url}/v1/chat/completions`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(chatBody('llama3', 'x')),
    });
    assert.equal(refused.status, 502, await refused.text());
    await blind.waitForOutput(/certificate verify failed/);
  });
});

/** Registers `worker` (its https URL) with a plain-HTTP controller through the internal API. */
async function registerByHand(controller, worker) {
  const res = await fetch(`${controller.url}/internal/workers/register`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ worker_id: 'by-hand', model_id: 'llama3', url: worker.url, capacity: 4 }),
  });
  assert.equal(res.status, 200, await res.text());
}
