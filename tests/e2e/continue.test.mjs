// End-to-end: a model table with `on_stream_failure: continue`. An Anthropic deployment cuts its
// stream after a few tokens; the OpenAI fallback continues the answer. The official OpenAI SDK
// and the Vercel AI SDK read one stream and assemble one answer: the partial answer, then the
// rest, with no error, one role and one completion id.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import OpenAI from 'openai';
import { createOpenAI } from '@ai-sdk/openai';
import { streamText } from 'ai';

import { mockStats, startGateway, startMock, tmpDir } from '../lib/harness.mjs';

async function continuingGateway(t) {
  const cut = await startMock(['--models', 'claude-mock', '--cut-after', '6']);
  t.after(() => cut.stop());
  const steady = await startMock(['--models', 'mock-model']);
  t.after(() => steady.stop());
  const table = path.join(tmpDir(), 'models.yaml');
  fs.writeFileSync(table, [
    'models:',
    '  - name: flaky',
    '    deployments:',
    `      - {provider: anthropic, model: claude-mock, base_url: "${cut.url}", api_key: k}`,
    '    fallbacks: [steady]',
    '    on_stream_failure: continue',
    '    continuation_instruction: "please continue"',
    '  - name: steady',
    '    deployments:',
    `      - {provider: openai, model: mock-model, base_url: "${steady.url}/v1", api_key: k}`,
    '',
  ].join('\n'));
  const gw = await startGateway(['--config', table]);
  t.after(() => gw.stop());
  return { gw, steady };
}

/** What the fallback was given as the partial answer: the client's text must begin with it. */
async function partialAnswer(steady) {
  const request = JSON.parse((await mockStats(steady)).last_request.body);
  assert.equal(request.messages.at(-2).role, 'assistant');
  return request.messages.at(-2).content;
}

describe('a stream continued after a cut, read by the official SDKs', () => {
  test('openai SDK: chat.completions.stream assembles one answer', async (t) => {
    const { gw, steady } = await continuingGateway(t);
    const client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: 'k', maxRetries: 0, timeout: 10_000 });
    const stream = client.chat.completions.stream({
      model: 'flaky',
      messages: [{ role: 'user', content: 'alpha beta gamma delta epsilon zeta' }],
      stream_options: { include_usage: true },
    });
    const ids = new Set();
    stream.on('chunk', (chunk) => ids.add(chunk.id));
    const completion = await stream.finalChatCompletion();
    assert.equal(ids.size, 1, 'one completion id');
    const partial = await partialAnswer(steady);
    assert.ok(partial.startsWith('alpha beta gamma'), partial);
    assert.equal(completion.choices[0].message.role, 'assistant');
    assert.equal(completion.choices[0].message.content, `${partial}please continue`);
    assert.equal(completion.choices[0].finish_reason, 'stop');
    assert.ok(completion.usage.prompt_tokens > 0);
  });

  test('Vercel AI SDK: streamText gives the whole text, finished normally', async (t) => {
    const { gw, steady } = await continuingGateway(t);
    const provider = createOpenAI({ baseURL: `${gw.url}/v1`, apiKey: 'k' });
    const result = streamText({
      model: provider.chat('flaky'),
      prompt: 'alpha beta gamma delta epsilon zeta',
      maxRetries: 0,
    });
    let text = '';
    for await (const part of result.textStream) text += part;
    assert.equal(await result.finishReason, 'stop');
    assert.equal(text, `${await partialAnswer(steady)}please continue`);
  });
});
