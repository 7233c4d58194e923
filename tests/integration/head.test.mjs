// A HEAD request gets the head of the response and no body, so a keep-alive connection stays in
// step: the next response on it parses cleanly.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';

import { startGateway, waitFor } from '../lib/harness.mjs';

let gw;
before(async () => {
  gw = await startGateway();
});
after(() => gw?.stop());

test('HEAD on a GET route answers like GET without a body; the connection stays usable', async () => {
  const socket = net.connect({ host: '127.0.0.1', port: gw.port });
  let received = '';
  socket.setEncoding('latin1');
  socket.on('data', (chunk) => (received += chunk));
  await new Promise((resolve) => socket.once('connect', resolve));
  socket.write('HEAD /health HTTP/1.1\r\nhost: x\r\n\r\nGET /health HTTP/1.1\r\nhost: x\r\n\r\n');
  await waitFor(() => received.includes('{"status":"ok"}'), { message: 'the GET answer' });
  socket.destroy();
  const responses = received.split(/(?=HTTP\/1\.1 )/);
  assert.equal(responses.length, 2, received);
  // HEAD is answered like GET, with the GET's content-length and no body.
  assert.match(responses[0], /^HTTP\/1\.1 200 /);
  assert.match(responses[0], /content-length: 15\r\n/i);
  assert.ok(responses[0].endsWith('\r\n\r\n'), `the HEAD answer has a body: ${JSON.stringify(responses[0])}`);
  assert.match(responses[1], /^HTTP\/1\.1 200 /);
  assert.ok(responses[1].endsWith('{"status":"ok"}'));
});
