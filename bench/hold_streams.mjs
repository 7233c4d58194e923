// Holds thousands of SSE streams open at once (what wrk cannot do), for the benchmark's memory
// row. Plain node:http, one connection per stream. Timing is stream-client's (C++) job.

import http from 'node:http';

function post(url, model, { onFirst, onEnd, agent }) {
  const body = JSON.stringify({
    model,
    stream: true,
    messages: [{ role: 'user', content: Array.from({ length: 64 }, (_, i) => `w${i}`).join(' ') }],
  });
  const { hostname, port } = new URL(url);
  const req = http.request({
    host: hostname, port, path: '/v1/chat/completions', method: 'POST', agent,
    headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
  }, (res) => {
    res.once('data', onFirst);
    res.on('end', () => onEnd(res.statusCode));
    res.on('error', () => onEnd(0));
  });
  req.on('error', () => onEnd(0));
  req.end(body);
  return req;
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
        agent: many,
        onFirst: () => { started = true; settle(); },
        onEnd: (status) => {
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
