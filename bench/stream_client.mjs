// A small load client for what wrk cannot measure: time to first token of SSE streams, and
// thousands of streams held open at once. Plain node:http, no keep-alive surprises.

import http from 'node:http';

const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

function post(url, model, { stream = true, onFirst, onEnd, agentToUse = agent } = {}) {
  const body = JSON.stringify({
    model,
    stream,
    messages: [{ role: 'user', content: Array.from({ length: 64 }, (_, i) => `w${i}`).join(' ') }],
  });
  const { hostname, port } = new URL(url);
  const req = http.request({
    host: hostname, port, path: '/v1/chat/completions', method: 'POST', agent: agentToUse,
    headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
  }, (res) => {
    let first = true;
    let events = 0;
    res.on('data', (chunk) => {
      if (first) {
        first = false;
        onFirst?.();
      }
      events += chunk.toString().split('\n\n').length - 1;
    });
    res.on('end', () => onEnd?.(events, res.statusCode));
    res.on('error', () => onEnd?.(events, 0));
  });
  req.on('error', () => onEnd?.(0, 0));
  req.end(body);
  return req;
}

const pct = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))];

/** Sequential streams: TTFT and total duration percentiles (seconds), and events seen. */
export async function streamTimings(url, model, count) {
  const ttft = [];
  const total = [];
  let events = 0;
  for (let i = 0; i < count; ++i) {
    await new Promise((resolve, reject) => {
      const start = process.hrtime.bigint();
      post(url, model, {
        onFirst: () => ttft.push(Number(process.hrtime.bigint() - start) / 1e9),
        onEnd: (n, status) => {
          if (status !== 200) {
            reject(new Error(`stream to ${url} answered ${status}`));
            return;
          }
          events += n;
          total.push(Number(process.hrtime.bigint() - start) / 1e9);
          resolve();
        },
      });
    });
  }
  return { ttft50: pct(ttft, 0.5), ttft99: pct(ttft, 0.99), total50: pct(total, 0.5), events };
}

/** Opens `count` streams at once; resolves when every one has its first bytes or has failed. */
export async function openStreams(url, model, count) {
  const many = new http.Agent({ keepAlive: false, maxSockets: Infinity });
  const requests = [];
  let settled = 0;
  let failed = 0;
  const statuses = {};
  await new Promise((resolve) => {
    const settle = () => {
      settled += 1;
      if (settled === count) resolve();
    };
    for (let i = 0; i < count; ++i) {
      let started = false;
      requests.push(post(url, model, {
        agentToUse: many,
        onFirst: () => { started = true; settle(); },
        onEnd: (n, status) => {
          if (!started) {
            failed += 1;
            statuses[status] = (statuses[status] ?? 0) + 1;
            started = true;
            settle();
          }
        },
      }));
    }
  });
  return {
    failed,
    statuses,
    close: async () => { for (const r of requests) r.destroy(); many.destroy(); },
  };
}
