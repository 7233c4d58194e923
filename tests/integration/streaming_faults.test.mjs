// Failures after the response has started: the upstream dropping or stalling a stream, and the
// client going away (the gateway must cancel the upstream request at once).

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  startGateway,
  startMock,
  mockStats,
  mockProviderEnv,
  postChat,
  chatBody,
  collectSse,
  parseEvents,
  assembleContent,
  waitFor,
  sseReader,
} from '../lib/harness.mjs';

async function pair(t, mockFlags, gwFlags = []) {
  const mock = await startMock(mockFlags);
  t.after(() => mock.stop());
  const gw = await startGateway(gwFlags, mockProviderEnv(mock));
  t.after(() => gw.stop());
  return { mock, gw };
}

/**
 * Asserts a stream that ended with exactly one final error event: `okCount` ordinary chunks, then
 * the error, no [DONE], and a cleanly ended body. Returns {chunks, error}.
 */
function assertErrorTerminated(result, okCount) {
  const { events, error } = result;
  assert.equal(error, null, `the response body ends cleanly: ${error?.message}`);
  assert.ok(!events.includes('[DONE]'), `no [DONE] after a failure: ${JSON.stringify(events)}`);
  assert.equal(events.length, okCount + 1, `${okCount} chunks then one error event: ${JSON.stringify(events)}`);
  const parsed = parseEvents(events);
  const chunks = parsed.slice(0, -1);
  for (const c of chunks) {
    assert.equal(c.object, 'chat.completion.chunk', JSON.stringify(c));
    assert.equal(c.error, undefined);
  }
  const last = parsed.at(-1);
  assert.equal(typeof last.error, 'object', `the final event is an error: ${JSON.stringify(last)}`);
  assert.equal(typeof last.error.message, 'string');
  assert.ok(last.error.message.length > 0);
  for (const key of ['type', 'param', 'code']) assert.ok(key in last.error, `error.${key}: ${JSON.stringify(last)}`);
  return { chunks, error: last.error };
}

describe('upstream drops the connection mid-stream', () => {
  test('cut after 2 events: the client gets those, one error event, and the end', async (t) => {
    const { gw, mock } = await pair(t, ['--cut-after', '2']);
    const res = await postChat(gw, chatBody('openai/mock-model', 'one two three four five', { stream: true }));
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type'), /^text\/event-stream/);
    const { chunks } = assertErrorTerminated(await collectSse(res, { timeout: 5000 }), 2);
    assert.equal(chunks[0].choices[0].delta.role, 'assistant');
    assert.equal(assembleContent(chunks), 'one');
    await waitFor(async () => (await mockStats(mock)).in_flight === 0, { message: 'mock idle' });
  });

  test('cut right after the role chunk (with include_usage)', async (t) => {
    const { gw } = await pair(t, ['--cut-after', '1']);
    const res = await postChat(
      gw,
      chatBody('openai/mock-model', 'alpha beta', { stream: true, stream_options: { include_usage: true } }),
    );
    assert.equal(res.status, 200);
    const { chunks } = assertErrorTerminated(await collectSse(res, { timeout: 5000 }), 1);
    assert.equal(chunks[0].choices[0].delta.role, 'assistant');
  });

  test('the gateway keeps working after a cut (non-streaming to the same upstream, and repeat cuts)', async (t) => {
    const { gw } = await pair(t, ['--cut-after', '3']);
    for (let i = 0; i < 3; i++) {
      const res = await postChat(gw, chatBody('openai/mock-model', 'a b c d e f', { stream: true }));
      assert.equal(res.status, 200);
      const { chunks } = assertErrorTerminated(await collectSse(res, { timeout: 5000 }), 3);
      assert.equal(assembleContent(chunks), 'a b');
    }
    // --cut-after only affects streams: a plain request through the same gateway succeeds.
    const plain = await postChat(gw, chatBody('openai/mock-model', 'a b c d e f'));
    assert.equal(plain.status, 200, await plain.clone().text());
    assert.equal((await plain.json()).choices[0].message.content, 'a b c d e f');
  });
});

describe('upstream stalls mid-stream', () => {
  test('stall after 2 events + --idle-timeout 0.5 → final error event, then the end', async (t) => {
    const { gw, mock } = await pair(t, ['--stall-after', '2'], ['--idle-timeout', '0.5']);
    const started = Date.now();
    const res = await postChat(gw, chatBody('openai/mock-model', 'one two three four five', { stream: true }));
    assert.equal(res.status, 200);
    const { chunks } = assertErrorTerminated(await collectSse(res, { timeout: 5000 }), 2);
    const elapsed = Date.now() - started;
    assert.equal(assembleContent(chunks), 'one');
    assert.ok(elapsed >= 450, `the error waits for the idle timeout (${elapsed} ms)`);
    assert.ok(elapsed < 4000, `the error arrives soon after the idle timeout (${elapsed} ms)`);
    // The stalled upstream request is abandoned (connection closed), not left running.
    await waitFor(
      async () => {
        const s = await mockStats(mock);
        return s.cancelled === 1 && s.in_flight === 0;
      },
      { timeout: 3000, message: 'the stalled upstream request to be cancelled' },
    );
  });

  test('stall right after the role chunk', async (t) => {
    const { gw } = await pair(t, ['--stall-after', '1'], ['--idle-timeout', '0.3']);
    const res = await postChat(gw, chatBody('openai/mock-model', 'x y z', { stream: true }));
    assert.equal(res.status, 200);
    assertErrorTerminated(await collectSse(res, { timeout: 5000 }), 1);
  });

  test('a slow but steady stream (token delay below the idle timeout) completes', async (t) => {
    const { gw } = await pair(t, ['--token-delay-ms', '100'], ['--idle-timeout', '0.5']);
    const res = await postChat(gw, chatBody('openai/mock-model', 'slow but steady words', { stream: true }));
    assert.equal(res.status, 200);
    const { events, error } = await collectSse(res, { timeout: 5000 });
    assert.equal(error, null);
    assert.equal(events.at(-1), '[DONE]');
    assert.equal(assembleContent(parseEvents(events.slice(0, -1))), 'slow but steady words');
  });
});

describe('client disconnect cancels the upstream request', () => {
  test('streaming: abort after the first content chunk', async (t) => {
    const { gw, mock } = await pair(t, ['--token-delay-ms', '50', '--tokens', '100']);
    const controller = new AbortController();
    const res = await postChat(gw, chatBody('openai/mock-model', 'tick', { stream: true }), { signal: controller.signal });
    assert.equal(res.status, 200);
    const events = sseReader(res);
    const role = JSON.parse(await events.next());
    assert.equal(role.choices[0].delta.role, 'assistant');
    const first = JSON.parse(await events.next());
    assert.ok(first.choices[0].delta.content, `a content chunk: ${JSON.stringify(first)}`);
    const s0 = await mockStats(mock);
    assert.equal(s0.in_flight, 1, 'the upstream request is running');
    controller.abort();
    const abortedAt = Date.now();
    await waitFor(
      async () => {
        const s = await mockStats(mock);
        return s.cancelled === 1 && s.in_flight === 0;
      },
      // 100 tokens at 50 ms would take 5 s: a cancel has to come from the disconnect.
      { timeout: 2000, message: 'the mock to see the request cancelled' },
    );
    const s = await mockStats(mock);
    assert.equal(s.completed, 0);
    assert.ok(Date.now() - abortedAt < 2000);
  });

  test('non-streaming: abort while the upstream has not answered yet', async (t) => {
    const { gw, mock } = await pair(t, ['--ttft-ms', '5000']);
    const controller = new AbortController();
    const pending = postChat(gw, chatBody('openai/mock-model', 'wait for it'), { signal: controller.signal });
    pending.catch(() => {});
    await waitFor(async () => (await mockStats(mock)).in_flight === 1, { message: 'the request to reach the mock' });
    controller.abort();
    await assert.rejects(pending, { name: 'AbortError' });
    await waitFor(
      async () => {
        const s = await mockStats(mock);
        return s.cancelled === 1 && s.in_flight === 0;
      },
      { timeout: 2000, message: 'the mock to see the request cancelled' },
    );
    assert.equal((await mockStats(mock)).completed, 0);
  });

  test('streaming: abort before the upstream sent anything', async (t) => {
    const { gw, mock } = await pair(t, ['--ttft-ms', '5000']);
    const controller = new AbortController();
    const pending = postChat(gw, chatBody('openai/mock-model', 'wait', { stream: true }), { signal: controller.signal });
    pending.catch(() => {});
    await waitFor(async () => (await mockStats(mock)).in_flight === 1, { message: 'the request to reach the mock' });
    controller.abort();
    await waitFor(
      async () => {
        const s = await mockStats(mock);
        return s.cancelled === 1 && s.in_flight === 0;
      },
      { timeout: 2000, message: 'the mock to see the request cancelled' },
    );
  });

  test('after disconnects the gateway still serves the same upstream', async (t) => {
    const { gw, mock } = await pair(t, ['--token-delay-ms', '20', '--tokens', '50']);
    for (let i = 0; i < 3; i++) {
      const controller = new AbortController();
      const res = await postChat(gw, chatBody('openai/mock-model', 'tok', { stream: true }), { signal: controller.signal });
      assert.equal(res.status, 200);
      const events = sseReader(res);
      assert.notEqual(await events.next(), null, 'the stream started');
      controller.abort();
      await waitFor(async () => (await mockStats(mock)).cancelled === i + 1, { timeout: 2000, message: `cancel #${i + 1}` });
    }
    const res = await postChat(gw, chatBody('openai/mock-model', 'done'));
    assert.equal(res.status, 200);
    const body = await res.json();
    assert.ok(body.choices[0].message.content.length > 0);
    assert.equal(body.usage.completion_tokens, 50, 'the whole 50-token answer came through');
    // The mock counts its request finished just after its last write: the client may be faster.
    await waitFor(async () => {
      const s = await mockStats(mock);
      return s.completed === 1 && s.in_flight === 0;
    }, { message: 'the mock to count one completed request and none in flight' });
  });
});
