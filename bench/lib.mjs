// What bench.mjs and instructions.mjs share: nginx as the reference proxy, wrk as the load, and
// callgrind's instruction count per request.

import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';

import { tmpDir } from '../tests/lib/harness.mjs';

export function freePort() {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

// One self-signed P-256 certificate for 127.0.0.1, made by openssl: nginx and the gateway
// terminate TLS with the same key, so the cost of TLS compares like for like.
let certificate;
export function selfSignedCertificate() {
  if (!certificate) {
    const dir = tmpDir('bench-tls-');
    certificate = { cert: path.join(dir, 'cert.pem'), key: path.join(dir, 'key.pem') };
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
      '-keyout', certificate.key, '-out', certificate.cert], { stdio: ['ignore', 'ignore', 'pipe'] });
  }
  return certificate;
}

// `wrapper`: a command line that runs nginx (valgrind); nginx then serves from its first process
// (no master), whose pid is the one returned. `tls`: HTTPS with selfSignedCertificate() (TLS 1.2
// and 1.3, nginx's default ciphers), as the gateway's --tls-cert/--tls-key offers it.
export async function startNginx(upstreamPort, { wrapper = [], tls = false } = {}) {
  const dir = tmpDir('bench-nginx-');
  const port = await freePort();
  const { cert, key } = tls ? selfSignedCertificate() : {};
  const listen = tls
    ? `listen 127.0.0.1:${port} ssl;
    ssl_certificate ${cert};
    ssl_certificate_key ${key};
    ssl_protocols TLSv1.2 TLSv1.3;`
    : `listen 127.0.0.1:${port};`;
  const conf = `worker_processes 1;
${wrapper.length > 0 ? 'master_process off;' : ''}
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 30000; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  upstream backend { server 127.0.0.1:${upstreamPort}; keepalive 256; }
  server {
    ${listen}
    location / {
      proxy_pass http://backend;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffering off;
    }
  }
}
`;
  fs.writeFileSync(path.join(dir, 'nginx.conf'), conf);
  const command = [...wrapper, 'nginx', '-c', path.join(dir, 'nginx.conf'), '-p', dir];
  const proc = spawn(command[0], command.slice(1), { stdio: 'ignore' });
  // Whatever way the run ends, nginx goes with it (SIGTERM: the master stops its worker).
  process.on('exit', () => proc.kill('SIGTERM'));
  const deadline = Date.now() + 5000;
  for (;;) {
    const up = await new Promise((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => { s.destroy(); resolve(true); });
      s.on('error', () => resolve(false));
    });
    if (up) break;
    if (Date.now() > deadline + (wrapper.length > 0 ? 10000 : 0)) throw new Error('nginx did not start');
    await new Promise((r) => setTimeout(r, 20));
  }
  // The worker serves; the master only supervises.
  const workerPid = wrapper.length > 0 ? proc.pid
    : Number(execFileSync('pgrep', ['-P', String(proc.pid)]).toString().trim().split('\n')[0]);
  return { url: `${tls ? 'https' : 'http'}://127.0.0.1:${port}`, pid: workerPid, stop: () => proc.kill('SIGQUIT') };
}

// `stream`: the request asks for a stream (the answer is read whole; wrk counts the request when
// the chunked body has ended).
// `api`: 'chat' (POST /v1/chat/completions), 'responses' (POST /v1/responses, the same prompt as
// `input`) or 'messages' (POST /v1/messages, Anthropic's Messages API: the same message, and the
// max_tokens it requires).
const API_PATHS = { chat: 'chat/completions', responses: 'responses', messages: 'messages' };
export function wrk(url, { connections, seconds, model, core, stream = false, api = 'chat' }) {
  const script = path.join(tmpDir('bench-wrk-'), 'post.lua');
  const prompt = 'Hello there world, how are you today?';
  const messages = `"messages":[{"role":"user","content":"${prompt}"}]`;
  const content = { chat: messages, responses: `"input":"${prompt}"`, messages: `"max_tokens":256,${messages}` }[api];
  fs.writeFileSync(script, `wrk.method = "POST"
wrk.body = '{"model":"${model}",${content}${stream ? ',"stream":true' : ''}}'
wrk.headers["Content-Type"] = "application/json"
`);
  const threads = connections > 1 && core === undefined ? '2' : '1';
  const command = [...(core !== undefined ? ['taskset', '-c', core] : []), 'wrk', '-t', threads, '-c', String(connections),
    '-d', `${seconds}s`, '--latency', '-s', script, `${url}/v1/${API_PATHS[api]}`];
  const out = execFileSync(command[0], command.slice(1)).toString();
  const ms = (re) => {
    const m = /([\d.]+)(us|ms|s|m)\b/.exec(re.exec(out)?.[1] ?? '');
    return m ? Number(m[1]) * { us: 0.001, ms: 1, s: 1000, m: 60000 }[m[2]] : NaN;
  };
  // Anchored: the +/- Stdev column can end in "50%" or "99%" too (e.g. "99.50%").
  const p50 = ms(/^\s+50%\s+(\S+)/m);
  const p99 = ms(/^\s+99%\s+(\S+)/m);
  const requests = Number(/(\d+) requests in/.exec(out)[1]);
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)[1]);
  const bad = /Non-2xx or 3xx responses: (\d+)/.exec(out);
  if (bad) throw new Error(`wrk saw ${bad[1]} error responses from ${url}:\n${out}`);
  return { p50, p99, requests, rps };
}

// User-space instructions per proxied request, counted by callgrind. The kernel's part (the
// system calls, as many for nginx as for the gateway) is left out, but unlike CPU time the count
// is the same on every run, however busy or slow the machine is. `start(wrapper)` starts the
// target under valgrind and returns {url, pid, stop()}; one count per model.
//
// `loads`: one window per entry, each {model, stream, api} (or a model name), counted after a 1 s
// warm-up, for `seconds`.
export async function instructionsPerRequest(start, loads, { seconds = 4 } = {}) {
  const dir = tmpDir('bench-callgrind-');
  const target = await start(['valgrind', '--tool=callgrind', `--callgrind-out-file=${path.join(dir, 'out')}`]);
  try {
    const counts = [];
    for (const load of loads) {
      const { model, stream = false, api = 'chat' } = typeof load === 'string' ? { model: load } : load;
      wrk(target.url, { connections: 4, seconds: 1, model, stream, api });  // warm-up: pools, caches, first allocations
      execFileSync('callgrind_control', ['-z', String(target.pid)], { stdio: 'ignore', timeout: 30000 });
      const { requests } = wrk(target.url, { connections: 4, seconds, model, stream, api });
      execFileSync('callgrind_control', ['-d', String(target.pid)], { stdio: 'ignore', timeout: 30000 });
      // callgrind_control returns once the dump is written: out.1, out.2, ... (one per dump).
      const dump = path.join(dir, `out.${counts.length + 1}`);
      const summary = /^summary: (\d+)$/m.exec(fs.readFileSync(dump, 'utf8'));
      if (!summary) throw new Error(`no instruction count in ${dump}`);
      counts.push(Number(summary[1]) / requests);
    }
    return counts;
  } finally {
    await target.stop();
  }
}

