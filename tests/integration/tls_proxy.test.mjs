// Upstream HTTPS (certificate verification against SSL_CERT_FILE, host name checks) and upstream
// proxies (HTTPS_PROXY with CONNECT, HTTP_PROXY with absolute-form requests, NO_PROXY).

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import path from 'node:path';

import { chatBody, postChat, startGateway, startMock, tmpDir } from '../lib/harness.mjs';

function makeCert(dir, name, san) {
  const key = path.join(dir, `${name}.key`);
  const cert = path.join(dir, `${name}.pem`);
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1',
    '-subj', `/CN=${name}`, '-addext', `subjectAltName=${san}`,
  ], { stdio: 'ignore' });
  return { key, cert };
}

// A minimal OpenAI-compatible upstream over TLS.
function startTlsUpstream(files) {
  const server = https.createServer(
    { key: fs.readFileSync(files.key), cert: fs.readFileSync(files.cert) },
    (req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        res.setHeader('content-type', 'application/json');
        if (req.url === '/v1/models') {
          res.end(JSON.stringify({ object: 'list', data: [{ id: 'tls-model', object: 'model' }] }));
          return;
        }
        const { model, stream } = JSON.parse(body);
        if (stream) {
          // The head at once, then two chunks and the end, each after 300 ms of silence.
          res.writeHead(200, { 'content-type': 'text/event-stream' });
          res.flushHeaders();
          const chunk = (delta) => `data: ${JSON.stringify({ id: 'chatcmpl-tls', object: 'chat.completion.chunk',
            created: 1, model, choices: [{ index: 0, delta, finish_reason: null }] })}\n\n`;
          const events = [chunk({ role: 'assistant', content: 'tls' }), chunk({ content: ' stream' }), 'data: [DONE]\n\n'];
          const next = () => {
            const event = events.shift();
            if (event === undefined) return res.end();
            res.write(event);
            setTimeout(next, 300);
          };
          setTimeout(next, 300);
          return;
        }
        res.end(JSON.stringify({
          id: 'chatcmpl-tls', object: 'chat.completion', created: 1, model,
          choices: [{ index: 0, message: { role: 'assistant', content: `tls ok ${model}` },
                      finish_reason: 'stop' }],
          usage: { prompt_tokens: 1, completion_tokens: 3, total_tokens: 4 },
        }));
      });
    },
  );
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

// An HTTP proxy that records what it was asked: CONNECT tunnels and absolute-form requests.
function startProxy() {
  const seen = [];
  const server = http.createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    const target = new URL(req.url);
    const upstream = http.request(
      { host: target.hostname, port: target.port, path: target.pathname + target.search,
        method: req.method, headers: req.headers },
      (up) => {
        res.writeHead(up.statusCode, up.headers);
        up.pipe(res);
      },
    );
    req.pipe(upstream);
  });
  server.on('connect', (req, socket, head) => {
    seen.push(`CONNECT ${req.url}`);
    const [host, port] = req.url.split(':');
    const upstream = net.connect(Number(port), host, () => {
      socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      upstream.write(head);
      upstream.pipe(socket);
      socket.pipe(upstream);
    });
    upstream.on('error', () => socket.destroy());
    socket.on('error', () => upstream.destroy());
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve({ server, seen, port: server.address().port })));
}

describe('upstream TLS and proxies', () => {
  let dir;
  let good;
  let wrongName;
  let upstream;
  let upstreamPort;
  let proxy;
  const started = [];

  before(async () => {
    dir = tmpDir();
    good = makeCert(dir, 'good', 'IP:127.0.0.1,DNS:localhost');
    wrongName = makeCert(dir, 'wrong', 'DNS:other.example');
    upstream = await startTlsUpstream(good);
    upstreamPort = upstream.address().port;
    proxy = await startProxy();
  });

  after(async () => {
    await Promise.all(started.map((p) => p.stop()));
    upstream.close();
    proxy.server.close();
    upstream.closeAllConnections?.();
    proxy.server.closeAllConnections?.();
  });

  async function gateway(env) {
    const gw = await startGateway([], { OPENAI_API_KEY: 'sk-test', ...env });
    started.push(gw);
    return gw;
  }

  test('HTTPS upstream verified against SSL_CERT_FILE, by IP and by host name', async () => {
    for (const host of ['127.0.0.1', 'localhost']) {
      const gw = await gateway({
        OPENAI_BASE_URL: `https://${host}:${upstreamPort}/v1`,
        SSL_CERT_FILE: good.cert,
      });
      const res = await postChat(gw, chatBody('openai/gpt-x', 'hi'));
      assert.equal(res.status, 200, await res.clone().text());
      const body = await res.json();
      assert.equal(body.choices[0].message.content, 'tls ok gpt-x');
    }
  });

  test('a silent HTTPS stream gets keep-alive comments (the TLS read is never cancelled)', async () => {
    const gw = await startGateway(['--stream-keepalive', '0.1'], {
      OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: `https://127.0.0.1:${upstreamPort}/v1`, SSL_CERT_FILE: good.cert,
    });
    started.push(gw);
    const res = await postChat(gw, chatBody('openai/gpt-x', 'hi', { stream: true }));
    assert.equal(res.status, 200);
    const blocks = (await res.text()).split('\n\n').filter((block) => block !== '');
    assert.equal(blocks[0], ': keep-alive', 'the head committed with a comment before the first event');
    const data = blocks.filter((block) => block.startsWith('data: '));
    assert.equal(data.at(-1), 'data: [DONE]');
    const text = data.slice(0, -1).map((block) => JSON.parse(block.slice(6)).choices[0]?.delta?.content ?? '').join('');
    assert.equal(text, 'tls stream');
    const between = blocks.slice(blocks.indexOf(data[0]), blocks.indexOf(data.at(-1)));
    assert.ok(between.includes(': keep-alive'), blocks.join('|'));
  });

  test('an untrusted certificate is a 502, never a silent success', async () => {
    const gw = await gateway({ OPENAI_BASE_URL: `https://127.0.0.1:${upstreamPort}/v1` });
    const res = await postChat(gw, chatBody('openai/gpt-x', 'hi'));
    assert.equal(res.status, 502);
    const body = await res.json();
    assert.match(body.error.message, /TLS handshake/);
    assert.equal(body.error.code, 'upstream_unreachable');
  });

  test('a certificate for another host name is a 502', async () => {
    const server = await startTlsUpstream(wrongName);
    try {
      const gw = await gateway({
        OPENAI_BASE_URL: `https://127.0.0.1:${server.address().port}/v1`,
        SSL_CERT_FILE: wrongName.cert,
      });
      const res = await postChat(gw, chatBody('openai/gpt-x', 'hi'));
      assert.equal(res.status, 502);
      assert.match((await res.json()).error.message, /TLS handshake/);
    } finally {
      server.close();
      server.closeAllConnections?.();
    }
  });

  test('HTTPS_PROXY tunnels with CONNECT; NO_PROXY bypasses it', async () => {
    proxy.seen.length = 0;
    const via = await gateway({
      OPENAI_BASE_URL: `https://127.0.0.1:${upstreamPort}/v1`,
      SSL_CERT_FILE: good.cert,
      HTTPS_PROXY: `http://127.0.0.1:${proxy.port}`,
    });
    const res = await postChat(via, chatBody('openai/gpt-x', 'hi'));
    assert.equal(res.status, 200, await res.clone().text());
    assert.equal((await res.json()).choices[0].message.content, 'tls ok gpt-x');
    assert.ok(proxy.seen.includes(`CONNECT 127.0.0.1:${upstreamPort}`), proxy.seen.join('\n'));

    proxy.seen.length = 0;
    const direct = await gateway({
      OPENAI_BASE_URL: `https://127.0.0.1:${upstreamPort}/v1`,
      SSL_CERT_FILE: good.cert,
      HTTPS_PROXY: `http://127.0.0.1:${proxy.port}`,
      NO_PROXY: 'localhost,127.0.0.1',
    });
    const res2 = await postChat(direct, chatBody('openai/gpt-x', 'hi'));
    assert.equal(res2.status, 200);
    await res2.arrayBuffer();
    assert.deepEqual(proxy.seen, []);
  });

  test('a proxy that refuses the CONNECT, or answers it with garbage: 502 naming the proxy', async () => {
    const answers = [
      'HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n',
      'this is not HTTP\r\n\r\n',
    ];
    for (const answer of answers) {
      const refusing = net.createServer((socket) => {
        socket.once('data', () => socket.end(answer));
        socket.on('error', () => {});
      });
      await new Promise((resolve) => refusing.listen(0, '127.0.0.1', resolve));
      try {
        const gw = await gateway({
          OPENAI_BASE_URL: `https://127.0.0.1:${upstreamPort}/v1`,
          SSL_CERT_FILE: good.cert,
          HTTPS_PROXY: `http://127.0.0.1:${refusing.address().port}`,
        });
        const res = await postChat(gw, chatBody('openai/gpt-x', 'hi'));
        assert.equal(res.status, 502, answer);
        const message = (await res.json()).error.message;
        assert.match(message, answer.includes('407') ? /refused CONNECT .*status 407/ : /proxy CONNECT/, message);
      } finally {
        refusing.close();
      }
    }
  });

  test('a proxy that accepts but never answers the CONNECT: 504 after the connect timeout', async () => {
    const held = new Set();
    const silent = net.createServer((socket) => {
      held.add(socket);  // reads the CONNECT, answers nothing
      socket.on('error', () => {});
    });
    await new Promise((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const gw = await gateway({
        OPENAI_BASE_URL: `https://127.0.0.1:${upstreamPort}/v1`,
        SSL_CERT_FILE: good.cert,
        HTTPS_PROXY: `http://127.0.0.1:${silent.address().port}`,
        UPSTREAM_CONNECT_TIMEOUT: '1',
      });
      const started = Date.now();
      const res = await postChat(gw, chatBody('openai/gpt-x', 'hi'));
      assert.equal(res.status, 504);
      assert.match((await res.json()).error.message, /timed out proxy CONNECT/);
      assert.ok(Date.now() - started < 10_000, 'bounded by the connect timeout');
    } finally {
      for (const socket of held) socket.destroy();
      silent.close();
    }
  });

  test('HTTP_PROXY receives absolute-form requests for http upstreams', async () => {
    const mock = await startMock();
    started.push(mock);
    proxy.seen.length = 0;
    const gw = await gateway({
      OPENAI_BASE_URL: `${mock.url}/v1`,
      HTTP_PROXY: `http://127.0.0.1:${proxy.port}`,
    });
    const res = await postChat(gw, chatBody('openai/mock-model', 'through the proxy'));
    assert.equal(res.status, 200);
    assert.equal((await res.json()).choices[0].message.content, 'through the proxy');
    assert.ok(proxy.seen.includes(`POST ${mock.url}/v1/chat/completions`), proxy.seen.join('\n'));
  });
});
