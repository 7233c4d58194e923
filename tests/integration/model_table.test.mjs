// The model table (--config): several deployments per model balanced and failed over, cooldowns
// from Retry-After, fallbacks to other models, one end-to-end deadline, hot reload on SIGHUP.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import {
  startController,
  startWorker,
  waitForWorkers,
  startGateway,
  startMock,
  mockStats,
  postChat,
  chatBody,
  readSse,
  parseEvents,
  assembleContent,
  waitFor,
  scrape,
  scrapeSettled,
  occupiedPort,
  runCli,
  tmpDir,
} from '../lib/harness.mjs';

/** Writes `yaml` to a fresh models.yaml and returns its path. */
function writeTable(yaml, dir = tmpDir()) {
  const file = path.join(dir, 'models.yaml');
  fs.writeFileSync(file, yaml);
  return file;
}

/** A deployment entry (YAML flow mapping) for an OpenAI-compatible mock. */
function deployment(mock, { name, weight, model = 'mock-model' } = {}) {
  const extra = [name ? `name: ${name}` : '', weight ? `weight: ${weight}` : ''].filter(Boolean);
  return `{provider: openai, model: ${model}, base_url: "${mock.url}/v1", api_key: k${extra.length ? `, ${extra.join(', ')}` : ''}}`;
}

async function mocks(t, flagsList) {
  const started = [];
  for (const flags of flagsList) {
    const mock = await startMock(flags);
    t.after(() => mock.stop());
    started.push(mock);
  }
  return started;
}

async function gateway(t, table, flags = [], env = {}) {
  const gw = await startGateway(['--config', table, ...flags], env);
  t.after(() => gw.stop());
  return gw;
}

async function chat(gw, model, extra = {}) {
  const res = await postChat(gw, chatBody(model, 'hello', extra));
  const text = await res.text();
  return { res, text, body: res.headers.get('content-type')?.includes('json') ? JSON.parse(text) : null };
}

/**
 * Sends requests for model `m` (each must succeed: a failed attempt is retried on the other
 * deployment) until `failing` has been tried twice, which opens its circuit with
 * --circuit-failures 2. Picks are random among idle deployments: no fixed count would do.
 */
async function circuitOpens(gw, failing) {
  await waitFor(async () => {
    const { res, text } = await chat(gw, 'm');
    assert.equal(res.status, 200, text);
    return (await mockStats(failing)).requests === 2;
  }, { message: 'two failures of the failing deployment' });
}

describe('model table', () => {
  test('table models are listed by /v1/models, first, and answer through their deployment', async (t) => {
    const [mock] = await mocks(t, [['--models', 'mock-model']]);
    const table = writeTable(`models:\n  - name: team-model\n    deployments:\n      - ${deployment(mock, { name: 'east' })}\n`);
    const gw = await gateway(t, table);
    const list = await (await fetch(`${gw.url}/v1/models`)).json();
    assert.equal(list.data[0].id, 'team-model');
    assert.equal(list.data[0].owned_by, 'llm-gateway');
    const { res, body } = await chat(gw, 'team-model');
    assert.equal(res.status, 200);
    assert.equal(body.choices[0].message.role, 'assistant');
    assert.equal(res.headers.get('x-gateway-model'), 'team-model');
    assert.equal(res.headers.get('x-gateway-deployment'), 'east');
    assert.equal(res.headers.get('x-gateway-attempts'), '1');
    // The upstream got its own model name, not the table's.
    assert.match(JSON.stringify((await mockStats(mock)).last_request), /mock-model/);
  });

  test('two deployments, one answering 500: every request succeeds through the other, and the bad one\'s circuit opens', async (t) => {
    const [bad, good] = await mocks(t, [['--fail-status', '500'], []]);
    const table = writeTable(`models:\n  - name: m\n    deployments:\n      - ${deployment(bad, { name: 'bad' })}\n      - ${deployment(good, { name: 'good' })}\n`);
    const gw = await gateway(t, table, ['--circuit-failures', '2', '--circuit-cooldown', '60']);
    await circuitOpens(gw, bad);
    // Open: no more traffic to it, every request served by the other.
    for (let i = 0; i < 10; ++i) {
      const { res, text } = await chat(gw, 'm', i % 2 ? { stream: true } : {});
      assert.equal(res.status, 200, text);
      assert.equal(res.headers.get('x-gateway-deployment'), 'good');
    }
    assert.equal((await mockStats(bad)).requests, 2);
    const served = (await mockStats(good)).requests;
    const metrics = await scrapeSettled(gw);
    assert.equal(metrics.value('llm_gateway_deployment_attempts_total', { deployment: 'bad', result: 'failed' }), 2);
    assert.equal(metrics.value('llm_gateway_deployment_attempts_total', { deployment: 'good', result: 'ok' }), served);
    assert.equal(metrics.value('llm_gateway_failovers_total', { model: 'm' }), 2);
    // The deployments' state, as routing sees it: the bad one's circuit open, none in flight.
    assert.equal(metrics.value('llm_gateway_deployment_circuit_state', { model: 'm', deployment: 'bad' }), 2);
    assert.equal(metrics.value('llm_gateway_deployment_circuit_state', { model: 'm', deployment: 'good' }), 0);
    assert.equal(metrics.value('llm_gateway_deployment_in_flight', { model: 'm', deployment: 'good' }), 0);
    assert.equal(metrics.value('llm_gateway_deployment_cooldown_seconds', { model: 'm', deployment: 'good' }), 0);
  });

  test('a deployment whose key is refused (401) is failed over and its circuit opens: the request was not at fault', async (t) => {
    const [revoked, good] = await mocks(t, [['--fail-status', '401'], []]);
    const table = writeTable(`models:\n  - name: m\n    deployments:\n      - ${deployment(revoked, { name: 'revoked' })}\n      - ${deployment(good, { name: 'good' })}\n`);
    const gw = await gateway(t, table, ['--circuit-failures', '2', '--circuit-cooldown', '60']);
    await circuitOpens(gw, revoked);
    for (let i = 0; i < 8; ++i) assert.equal((await chat(gw, 'm')).res.status, 200);
    assert.equal((await mockStats(revoked)).requests, 2);
  });

  test('a 429 with Retry-After: 2 cools its deployment down for 2 s, and the next 429 cools it again', async (t) => {
    const [limited, other] = await mocks(t, [['--fail-status', '429', '--retry-after', '2'], []]);
    const table = writeTable(`models:\n  - name: m\n    deployments:\n      - ${deployment(limited, { name: 'limited' })}\n      - ${deployment(other, { name: 'other' })}\n`);
    const gw = await gateway(t, table);
    // Until the limited one has been tried once, then a burst well inside its 2 s.
    await waitFor(async () => {
      const { res } = await chat(gw, 'm');
      assert.equal(res.status, 200);
      return (await mockStats(limited)).requests === 1;
    }, { message: 'the limited deployment tried once' });
    const cooledAt = Date.now();
    for (let i = 0; i < 10; ++i) assert.equal((await chat(gw, 'm')).res.status, 200);
    if (Date.now() - cooledAt < 1500) assert.equal((await mockStats(limited)).requests, 1, "no request during the cooldown");
    const cooling = (await scrape(gw)).value('llm_gateway_deployment_cooldown_seconds', { model: 'm', deployment: 'limited' });
    if (Date.now() - cooledAt < 1500) assert.ok(cooling > 0 && cooling <= 2, `cooling down for ${cooling} s`);
    // Once it has cooled off it is tried again, answers 429 again, and is cooled down again.
    await waitFor(async () => {
      assert.equal((await chat(gw, 'm')).res.status, 200);
      return (await mockStats(limited)).requests === 2;
    }, { timeout: 6000, message: 'the limited deployment tried again after its cooldown' });
    assert.ok(Date.now() - cooledAt >= 1500, "not before its Retry-After");
    const recooledAt = Date.now();
    for (let i = 0; i < 5; ++i) assert.equal((await chat(gw, 'm')).res.status, 200);
    if (Date.now() - recooledAt < 1500) assert.equal((await mockStats(limited)).requests, 2);
    const metrics = await scrapeSettled(gw);
    assert.equal(metrics.value('llm_gateway_deployment_cooldowns_total', { deployment: 'limited' }), 2);
  });

  test('a model whose only deployment is rate limited answers 429 with its Retry-After', async (t) => {
    const [limited] = await mocks(t, [['--fail-status', '429', '--retry-after', '30']]);
    const table = writeTable(`models:\n  - name: solo\n    deployments:\n      - ${deployment(limited)}\n`);
    const gw = await gateway(t, table);
    const first = await chat(gw, 'solo');
    assert.equal(first.res.status, 429);
    assert.equal(first.res.headers.get('retry-after'), '30');
    // Cooling down: refused at once, without asking the upstream, with the time left.
    const second = await chat(gw, 'solo');
    assert.equal(second.res.status, 429);
    assert.match(second.body.error.message, /rate limited/);
    assert.ok(Number(second.res.headers.get('retry-after')) >= 28);
    assert.equal((await mockStats(limited)).requests, 1);
  });

  test('a model whose deployments all fail falls back to the next model, and the headers say so', async (t) => {
    const [down1, down2, backup] = await mocks(t, [['--fail-status', '503'], ['--fail-status', '502'], []]);
    const table = writeTable([
      'models:',
      '  - name: primary',
      '    deployments:',
      `      - ${deployment(down1, { name: 'd1' })}`,
      `      - ${deployment(down2, { name: 'd2' })}`,
      '    fallbacks: [backup]',
      '  - name: backup',
      '    deployments:',
      `      - ${deployment(backup, { name: 'b' })}`,
      '',
    ].join('\n'));
    const gw = await gateway(t, table);
    const { res, body } = await chat(gw, 'primary');
    assert.equal(res.status, 200);
    assert.equal(body.choices[0].message.role, 'assistant');
    assert.equal(res.headers.get('x-gateway-model'), 'backup');
    assert.equal(res.headers.get('x-gateway-deployment'), 'b');
    assert.equal(res.headers.get('x-gateway-attempts'), '3');
    // A stream through the fallback too: one clean stream for the client.
    const streamed = await postChat(gw, chatBody('primary', 'hello', { stream: true }));
    assert.equal(streamed.status, 200);
    assert.equal(streamed.headers.get('x-gateway-model'), 'backup');
    const events = await readSse(streamed);
    assert.equal(events.at(-1), '[DONE]');
    assert.ok(assembleContent(parseEvents(events)).length > 0);
    const metrics = await scrapeSettled(gw);
    assert.equal(metrics.value('llm_gateway_fallbacks_total', { model: 'primary', fallback: 'backup' }), 2);
  });

  test('OpenAI falling back to Anthropic: chat and Messages requests, each translated for the deployment that serves it', async (t) => {
    const [down, claude] = await mocks(t, [['--fail-status', '503'], ['--models', 'claude-mock']]);
    const table = writeTable([
      'models:',
      '  - name: gpt-4o',
      '    deployments:',
      `      - ${deployment(down)}`,
      '    fallbacks: [claude-sonnet]',
      '  - name: claude-sonnet',
      '    deployments:',
      `      - {provider: anthropic, model: claude-mock, base_url: "${claude.url}", api_key: k}`,
      '',
    ].join('\n'));
    const gw = await gateway(t, table);
    const { res, body } = await chat(gw, 'gpt-4o');
    assert.equal(res.status, 200);
    assert.equal(body.object, 'chat.completion');
    assert.equal(res.headers.get('x-gateway-model'), 'claude-sonnet');
    assert.equal(res.headers.get('x-gateway-attempts'), '3');
    assert.match(JSON.stringify((await mockStats(claude)).last_request), /\/v1\/messages/);
    // A Messages request for the same table model: OpenAI's deployment gets it translated to chat
    // (and refuses), Anthropic's as it is.
    const messages = await fetch(`${gw.url}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
      body: JSON.stringify({ model: 'gpt-4o', max_tokens: 50, messages: [{ role: 'user', content: 'hello' }] }),
    });
    const message = await messages.json();
    assert.equal(messages.status, 200, JSON.stringify(message));
    assert.equal(message.type, 'message');
    // The only deployment of gpt-4o is tried twice (once more after a short pause), then Claude.
    assert.equal(messages.headers.get('x-gateway-attempts'), '3');
    assert.equal((await mockStats(down)).requests, 4);
  });

  // on_stream_failure: continue. The Anthropic deployment cuts every stream after its first
  // tokens; its model's only deployment is tried twice, then the OpenAI fallback finishes the
  // answer. Each attempt gets the conversation plus everything the client has received so far.
  function continuingTable(cut, steady) {
    return writeTable([
      'models:',
      '  - name: flaky',
      '    deployments:',
      `      - {provider: anthropic, model: claude-mock, base_url: "${cut.url}", api_key: k}`,
      '    fallbacks: [steady]',
      '    on_stream_failure: continue',
      '    continuation_instruction: "please continue"',
      '  - name: steady',
      '    deployments:',
      `      - ${deployment(steady)}`,
      '',
    ].join('\n'));
  }
  const words = (text) => text.split(/\s+/).filter(Boolean).length;
  // A message's text: OpenAI's string content, or Anthropic's text blocks.
  const textOf = (content) => (typeof content === 'string' ? content : content.map((b) => b.text).join(''));

  test('a stream cut mid-answer is continued by the next attempts as one seamless stream, usage added up', async (t) => {
    // Anthropic's stream: message_start, ping, content_block_start, then a token per event.
    const [cut, steady] = await mocks(t, [['--models', 'claude-mock', '--cut-after', '6'], []]);
    const gw = await gateway(t, continuingTable(cut, steady));
    const prompt = 'alpha beta gamma delta epsilon zeta eta theta';
    const res = await postChat(gw, chatBody('flaky', prompt, { stream: true, stream_options: { include_usage: true } }));
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-gateway-model'), 'flaky');  // the head went out with the first attempt
    const events = await readSse(res);
    assert.equal(events.at(-1), '[DONE]');
    const chunks = parseEvents(events).filter((c) => c !== '[DONE]');
    assert.ok(chunks.every((c) => !c.error), events.join('\n'));
    assert.equal(chunks.filter((c) => c.choices[0]?.delta?.role !== undefined).length, 1, 'one role chunk');
    assert.equal(new Set(chunks.map((c) => c.id)).size, 1, 'one completion id');
    assert.equal(new Set(chunks.map((c) => c.model)).size, 1, 'one model');
    assert.equal(chunks.filter((c) => c.choices[0]?.finish_reason === 'stop').length, 1);

    // The fallback got the client's messages, the partial answer and the instruction.
    const finalRequest = JSON.parse((await mockStats(steady)).last_request.body);
    assert.equal(finalRequest.messages.length, 3);
    assert.deepEqual(finalRequest.messages[0], { role: 'user', content: prompt });
    assert.equal(finalRequest.messages[1].role, 'assistant');
    assert.deepEqual(finalRequest.messages[2], { role: 'user', content: 'please continue' });
    const partial = finalRequest.messages[1].content;
    assert.ok(partial.startsWith('alpha beta gamma'), partial);
    // What the client read is the partial answer, then the fallback's answer (the mock echoes
    // the last user message).
    assert.equal(assembleContent(chunks), `${partial}please continue`);
    // The second attempt (the lone deployment once more) continued the first's partial answer.
    const secondRequest = JSON.parse((await mockStats(cut)).last_request.body);
    assert.equal(secondRequest.messages.at(-2).role, 'assistant');
    assert.ok(partial.startsWith(textOf(secondRequest.messages.at(-2).content)));
    assert.equal((await mockStats(cut)).requests, 2);

    // Usage adds what the broken attempts reported (Anthropic's message_start: the input tokens,
    // the mock's words, and one output token) to the fallback's own.
    const usage = chunks.at(-1).usage;
    const promptWords = (messages) => messages.reduce((n, m) => n + words(textOf(m.content)), 0);
    assert.equal(usage.prompt_tokens,
      words(prompt) + promptWords(secondRequest.messages) + promptWords(finalRequest.messages));
    assert.equal(usage.completion_tokens, 1 + 1 + words('please continue'));
    assert.equal(usage.total_tokens, usage.prompt_tokens + usage.completion_tokens);
    // The access log counts the same tokens and the attempts.
    await gw.waitForOutput(new RegExp(
      `model=flaky provider=\\S+ outcome=completed .*tokens=${usage.prompt_tokens}/${usage.completion_tokens} client=\\S+ attempts=3`));
  });

  test('a continued stream that no attempt can finish ends with the last break\'s final error event', async (t) => {
    const [cut, down] = await mocks(t, [['--models', 'claude-mock', '--cut-after', '6'], ['--fail-status', '503']]);
    const gw = await gateway(t, continuingTable(cut, down));
    const res = await postChat(gw, chatBody('flaky', 'alpha beta gamma delta', { stream: true }));
    assert.equal(res.status, 200);
    const events = await readSse(res);
    const chunks = parseEvents(events);
    assert.ok(chunks.at(-1).error, events.join('\n'));
    assert.equal(chunks.filter((c) => c.error).length, 1);
    assert.ok(assembleContent(chunks.slice(0, -1)).startsWith('alpha beta gamma'));
    const metrics = await scrapeSettled(gw);
    assert.equal(metrics.value('llm_gateway_fallbacks_total', { model: 'flaky', fallback: 'steady' }), 1);
  });

  test('a stream whose head went out with keep-alives before a refusal goes on at the fallback: chat and Responses', async (t) => {
    // The first deployment answers 503 after 600 ms of silence: the head is committed with
    // keep-alive comments before it comes. The client has nothing to keep yet, so the fallback's
    // stream goes out on the open response (any model, any API: no `continue` needed).
    const [slow, backup] = await mocks(t, [['--fail-status', '503', '--ttft-ms', '600'], []]);
    const table = writeTable([
      'models:',
      '  - name: primary',
      '    deployments:',
      `      - ${deployment(slow, { name: 'slow' })}`,
      '    fallbacks: [backup]',
      '  - name: backup',
      '    deployments:',
      `      - ${deployment(backup, { name: 'b' })}`,
      '',
    ].join('\n'));
    const gw = await gateway(t, table, ['--stream-keepalive', '0.2']);
    const res = await postChat(gw, chatBody('primary', 'hello there', { stream: true }));
    assert.equal(res.status, 200);
    const blocks = (await res.text()).split('\n\n').filter(Boolean);
    assert.equal(blocks[0], ': keep-alive', 'the head went out with a keep-alive');
    const events = blocks.filter((b) => b.startsWith('data: ')).map((b) => b.slice(6));
    assert.equal(events.at(-1), '[DONE]', blocks.join('\n'));
    const chunks = parseEvents(events).filter((c) => c !== '[DONE]');
    assert.ok(chunks.every((c) => !c.error), blocks.join('\n'));
    assert.equal(chunks.filter((c) => c.choices[0]?.delta?.role !== undefined).length, 1, 'one role chunk');
    assert.equal(assembleContent(chunks), 'hello there');
    assert.equal((await mockStats(slow)).requests, 2, 'the slow deployment was tried twice');
    assert.equal((await mockStats(backup)).requests, 1);

    const responses = await fetch(`${gw.url}/v1/responses`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'primary', input: 'hello there', stream: true }),
    });
    assert.equal(responses.status, 200);
    const text = await responses.text();
    assert.ok(text.startsWith(': keep-alive\n\n'), text);
    const data = text.split('\n\n').filter((b) => b.includes('data: '))
      .map((b) => JSON.parse(b.slice(b.indexOf('data: ') + 6)));
    assert.deepEqual(data.map((e) => e.sequence_number), data.map((_, i) => i), 'numbered from 0, no gap');
    assert.equal(data.at(-1).type, 'response.completed', text);
    assert.equal((await mockStats(slow)).requests, 4);
  });

  test('a verdict on the request itself (400) is answered at once, not retried or fallen back on', async (t) => {
    const [refusing, other] = await mocks(t, [['--fail-status', '400'], []]);
    const table = writeTable([
      'models:',
      '  - name: m',
      '    deployments:',
      `      - ${deployment(refusing)}`,
      '    fallbacks: [other]',
      '  - name: other',
      '    deployments:',
      `      - ${deployment(other)}`,
      '',
    ].join('\n'));
    const gw = await gateway(t, table);
    const { res, body } = await chat(gw, 'm');
    assert.equal(res.status, 400);
    assert.equal(body.error.type, 'invalid_request_error');
    assert.equal(res.headers.get('x-gateway-attempts'), '1');
    assert.equal((await mockStats(other)).requests, 0);
  });

  test('an answer whose body breaks off after its 2xx head is never replayed elsewhere', async (t) => {
    // A raw upstream: 200 with a content-length it does not keep, then the connection closed.
    const server = net.createServer((socket) => {
      socket.on('error', () => {});
      socket.once('data', () => {
        socket.end('HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{"id":"x"');
      });
    });
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
    t.after(() => new Promise((resolve) => server.close(resolve)));
    const [backup] = await mocks(t, [[]]);
    const table = writeTable([
      'models:',
      '  - name: m',
      '    deployments:',
      `      - ${deployment({ url: `http://127.0.0.1:${server.address().port}` })}`,
      '    fallbacks: [backup]',
      '  - name: backup',
      '    deployments:',
      `      - ${deployment(backup)}`,
      '',
    ].join('\n'));
    const gw = await gateway(t, table);
    const { res } = await chat(gw, 'm');
    assert.equal(res.status, 502);
    assert.equal(res.headers.get('x-gateway-attempts'), '1');
    assert.equal((await mockStats(backup)).requests, 0, 'the generation ran once, upstream');
  });

  test('the end-to-end deadline holds with three slow deployments', async (t) => {
    const silent = [];
    for (let i = 0; i < 3; ++i) {
      const port = await occupiedPort();
      t.after(() => port.close());
      silent.push({ url: `http://127.0.0.1:${port.port}` });
    }
    const table = writeTable(`models:\n  - name: slow\n    deployments:\n${silent.map((s) => `      - ${deployment(s)}`).join('\n')}\n`);
    // Each attempt alone may take 2 s; the request as a whole 3 s: not 3 × 2.
    const gw = await gateway(t, table, ['--first-byte-timeout', '2', '--request-timeout', '3']);
    const started = Date.now();
    const { res, body } = await chat(gw, 'slow');
    const elapsed = Date.now() - started;
    assert.equal(res.status, 504);
    assert.equal(body.error.code, 'upstream_timeout');
    assert.equal(res.headers.get('x-gateway-attempts'), '2');
    assert.ok(elapsed < 5000, `answered after ${elapsed} ms`);
  });
});

describe('model table files', () => {
  test('an invalid file stops start-up with a message naming the file, line and key', async () => {
    const table = writeTable('models:\n  - name: m\n    deployments:\n      - {provider: openai, model: x, weigth: 2}\n');
    const result = await runCli(['server', '--port', '0', '--config', table]);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /models\.yaml:4:38: models\[0\]\.deployments\[0\]\.weigth: unknown key/);
  });

  test('a key given as ${VAR} is read from the environment and never logged', async (t) => {
    const [mock] = await mocks(t, [['--api-key', 'sk-table-secret']]);
    const table = writeTable(`models:\n  - name: m\n    deployments:\n      - {provider: openai, model: mock-model, base_url: "${mock.url}/v1", api_key: "\${TABLE_KEY}"}\n`);
    const gw = await gateway(t, table, [], { TABLE_KEY: 'sk-table-secret' });
    assert.equal((await chat(gw, 'm')).res.status, 200);
    assert.ok(!gw.output().includes('sk-table-secret'));
  });

  test('SIGHUP: a changed file changes /v1/models and routing, while a stream started before it completes', async (t) => {
    const [slow, fresh] = await mocks(t, [['--tokens', '20', '--token-delay-ms', '50'], []]);
    const dir = tmpDir();
    const table = writeTable(`models:\n  - name: before\n    deployments:\n      - ${deployment(slow)}\n`, dir);
    const gw = await gateway(t, table);
    const stream = await postChat(gw, chatBody('before', 'hello', { stream: true }));
    assert.equal(stream.status, 200);
    writeTable(`models:\n  - name: after\n    deployments:\n      - ${deployment(fresh)}\n`, dir);
    gw.proc.kill('SIGHUP');
    await gw.waitForOutput(/model table reloaded/);
    const ids = (await (await fetch(`${gw.url}/v1/models`)).json()).data.map((m) => m.id);
    assert.ok(ids.includes('after') && !ids.includes('before'), ids.join(','));
    assert.equal((await chat(gw, 'after')).res.status, 200);
    assert.equal((await mockStats(fresh)).requests, 1);
    // The stream that began on the old table ends whole.
    const events = await readSse(stream);
    assert.equal(events.at(-1), '[DONE]');
    const chunks = parseEvents(events);
    assert.ok(chunks.some((c) => c.choices?.[0]?.finish_reason === 'stop'));
    assert.equal(chunks.filter((c) => c.choices?.[0]?.delta?.content).length, 20, 'every token');

    // An invalid file on reload: refused, logged, and the table in use stays.
    writeTable('models:\n  - name: broken\n    deployments: []\n', dir);
    gw.proc.kill('SIGHUP');
    await gw.waitForOutput(/model table not reloaded, the previous one stays in use: .*models\.yaml:3/);
    assert.equal((await chat(gw, 'after')).res.status, 200);
  });
});

describe('model table edits', () => {
  test('an edited file is reloaded without a signal', async (t) => {
    const [mock] = await mocks(t, [[]]);
    const dir = tmpDir();
    const table = writeTable(`models:\n  - name: first\n    deployments:\n      - ${deployment(mock)}\n`, dir);
    const gw = await gateway(t, table);
    writeTable(`models:\n  - name: second\n    deployments:\n      - ${deployment(mock)}\n`, dir);
    await waitFor(async () => {
      const ids = (await (await fetch(`${gw.url}/v1/models`)).json()).data.map((m) => m.id);
      return ids.includes('second') && !ids.includes('first');
    }, { timeout: 10_000, message: 'the edited table in use' });
    assert.equal((await chat(gw, 'second')).res.status, 200);
  });
});

describe('the controller\'s model table', () => {
  test('aliases and fallbacks between the workers\' models', async (t) => {
    const [failing, good] = await mocks(t, [['--fail-status', '503', '--models', 'llama3'], ['--models', 'mistral']]);
    const table = writeTable([
      'models:',
      '  - name: llama3',
      '    fallbacks: [mistral]',
      '  - name: mistral',
      '  - name: fast',
      '    deployments: [{provider: workers, model: mistral}]',
      '  - name: nobody-serves',
      '    fallbacks: [fast]',
      '',
    ].join('\n'));
    const controller = await startController(['--config', table]);
    t.after(() => controller.stop());
    for (const [id, model, backend] of [['w1', 'llama3', failing], ['w2', 'mistral', good]]) {
      const worker = await startWorker({ id, model, backend, controller });
      t.after(() => worker.stop());
    }
    await waitForWorkers(controller, (ws) => ws.length === 2, { message: 'workers registered' });
    const ids = (await (await fetch(`${controller.url}/v1/models`)).json()).data.map((m) => m.id);
    assert.deepEqual(ids.slice(0, 4), ['llama3', 'mistral', 'fast', 'nobody-serves']);
    // llama3's only worker answers 503: mistral's serves, the client never knows.
    const fallen = await chat(controller, 'llama3');
    assert.equal(fallen.res.status, 200, fallen.text);
    // The headers say which table model and worker answered, after how many attempts.
    assert.equal(fallen.res.headers.get('x-gateway-model'), 'mistral');
    assert.equal(fallen.res.headers.get('x-gateway-deployment'), 'w2');
    assert.equal(fallen.res.headers.get('x-gateway-attempts'), '2');
    assert.equal((await mockStats(failing)).requests, 1);
    assert.equal((await mockStats(good)).requests, 1);
    // An alias, and a model no worker serves that falls back to it.
    const alias = await chat(controller, 'fast');
    assert.equal(alias.res.status, 200);
    assert.equal(alias.res.headers.get('x-gateway-model'), 'fast');
    assert.equal(alias.res.headers.get('x-gateway-attempts'), '1');
    const streamed = await postChat(controller, chatBody('nobody-serves', 'hello', { stream: true }));
    assert.equal(streamed.status, 200);
    assert.equal(streamed.headers.get('x-gateway-model'), 'fast');
    assert.equal(streamed.headers.get('x-gateway-deployment'), 'w2');
    assert.equal((await readSse(streamed)).at(-1), '[DONE]');
    assert.equal((await mockStats(good)).requests, 3);
    const metrics = await scrapeSettled(controller);
    assert.equal(metrics.value('llm_gateway_fallbacks_total', { model: 'llama3', fallback: 'mistral' }), 1);
    // A model outside the table is routed as before: not found, and no table headers.
    const unknown = await chat(controller, 'unknown');
    assert.equal(unknown.res.status, 404);
    assert.equal(unknown.res.headers.get('x-gateway-model'), null);
  });

  test('a file with an upstream deployment is refused: the controller\'s deployments are its workers', async () => {
    const table = writeTable('models:\n  - name: m\n    deployments: [{provider: openai, model: x}]\n');
    const result = await runCli(['controller', '--port', '0', '--config', table]);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /models\.yaml:3:.*provider: workers/);
  });
});
