// The dashboard at /ui in a real browser (headless Chromium through puppeteer-core): the page's
// numbers agree with its JSON API and with /metrics, the admin key's login form, a controller's
// worker actions (drain, resume, register, remove), a worker's controllers. Screenshots of each go
// to GW_TEST_ARTIFACTS for a look by eye.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import puppeteer from 'puppeteer-core';
import {
  startGateway,
  startController,
  startWorker,
  startMock,
  mockProviderEnv,
  waitForModel,
  waitForWorkers,
  listWorkers,
  workerById,
  postChat,
  chatBody,
  readSse,
  scrapeSettled,
  closedPort,
  waitFor,
} from '../lib/harness.mjs';

const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const ARTIFACTS = process.env.GW_TEST_ARTIFACTS || path.join(os.tmpdir(), 'llm-gateway-test-artifacts');
const MODEL = 'mock-model';
const VIEWPORT = { width: 1400, height: 900 };
// What the page waits on: its first poll is immediate, the next ones every 2 s.
const PAGE_TIMEOUT = 8000;

let browser;

before(async () => {
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(`no Chromium at ${CHROMIUM}: scripts/deps.sh installs it (Debian's chromium package), or set CHROMIUM_PATH`);
  }
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
  });
});

after(() => browser?.close());

/**
 * Cleanups run last in, first out, in one after hook: the page closes before the processes it
 * polls stop (t.after hooks would run in the order they were added).
 */
function cleanups(t) {
  const stack = [];
  t.after(async () => {
    let failure;
    while (stack.length > 0) {
      try {
        await stack.pop()();
      } catch (err) {
        failure ??= err;
      }
    }
    if (failure) throw failure;
  });
  return (fn) => stack.push(fn);
}

/**
 * A fresh page at 1400x900 that records console errors and uncaught exceptions in `problems`,
 * and accepts every confirm() (recording its message in `dialogs`).
 */
async function openPage(defer) {
  const page = await browser.newPage();
  defer(() => page.close());
  await page.setViewport(VIEWPORT);
  page.setDefaultTimeout(PAGE_TIMEOUT);
  const problems = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error') problems.push(`console: ${msg.text()}`);
  });
  page.on('pageerror', (err) => problems.push(`exception: ${err.message}`));
  const dialogs = [];
  page.on('dialog', (dialog) => {
    dialogs.push(dialog.message());
    return dialog.accept();
  });
  return { page, problems, dialogs };
}

/** The text of the first element matching `selector`, or null. */
function textOf(page, selector) {
  return page.evaluate((s) => document.querySelector(s)?.textContent ?? null, selector);
}

/** Waits until the element matching `selector` reads `expected`; the failure says what it read. */
async function waitForText(page, selector, expected) {
  try {
    await page.waitForFunction((s, e) => document.querySelector(s)?.textContent === e, {}, selector, expected);
  } catch (err) {
    throw new Error(`${selector} should read ${JSON.stringify(expected)} but reads ${JSON.stringify(await textOf(page, selector))}: ${err.message}`);
  }
}

async function screenshot(page, name, opts = {}) {
  await page.screenshot({ path: path.join(ARTIFACTS, name), ...opts });
}

async function getJson(url, headers = {}) {
  const res = await fetch(url, { headers });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

/** Sums the samples of `name` for `model` whose labels satisfy `filter`. */
function sumOf(metrics, name, model, filter = () => true) {
  return metrics.samples
    .filter((s) => s.name === name && s.labels.model === model && filter(s.labels))
    .reduce((sum, s) => sum + s.value, 0);
}

const modelRow = (id) => `#models tr.model-row[data-model="${id}"]`;
const backendRow = (model, name) => `#models tr.backend-row[data-model="${model}"][data-backend="${name}"]`;

describe('dashboard', () => {
  test('server: totals match the API and /metrics; charts and recent requests show the traffic', async (t) => {
    const defer = cleanups(t);
    const mock = await startMock();
    defer(() => mock.stop());
    const gw = await startGateway([], mockProviderEnv(mock));
    defer(() => gw.stop());
    await waitForModel(gw, MODEL);

    // Three plain answers, two streams (one asking for usage), an upstream failure (a 502 of the
    // model) and a malformed body (refused before any model is chosen).
    const ids = [];
    const send = async (body) => {
      const res = await postChat(gw, body);
      ids.push(res.headers.get('x-request-id'));
      return res;
    };
    for (const content of ['one', 'one two', 'one two three']) {
      const res = await send(chatBody(MODEL, content));
      assert.equal(res.status, 200);
      await res.json();
    }
    const streamed = await send(chatBody(MODEL, 'a stream', { stream: true }));
    assert.equal((await readSse(streamed)).at(-1), '[DONE]');
    const streamId = ids.at(-1);
    await readSse(await send(chatBody(MODEL, 'another stream', { stream: true, stream_options: { include_usage: true } })));
    assert.equal((await fetch(`${mock.url}/mock/fail-status`, { method: 'POST', body: '500' })).status, 200);
    const failed = await send(chatBody(MODEL, 'fails upstream'));
    assert.equal(failed.status, 502);
    await failed.text();
    const malformed = await send('{"model": "mock-model", "messages": "not an array"}');
    assert.equal(malformed.status, 400);
    await malformed.text();

    const metrics = await scrapeSettled(gw);
    const expected = {
      requests: sumOf(metrics, 'llm_gateway_requests_total', MODEL),
      errors: sumOf(metrics, 'llm_gateway_requests_total', MODEL, (l) => Number(l.status) >= 400),
      prompt_tokens: sumOf(metrics, 'llm_gateway_prompt_tokens_total', MODEL),
      completion_tokens: sumOf(metrics, 'llm_gateway_completion_tokens_total', MODEL),
    };
    assert.equal(expected.requests, 6, metrics.text);
    assert.equal(expected.errors, 1, metrics.text);
    assert.ok(expected.prompt_tokens > 0 && expected.completion_tokens > 0, metrics.text);

    const summary = await getJson(`${gw.url}/ui/api/summary`);
    assert.equal(summary.status, 200, JSON.stringify(summary.body));
    assert.equal(summary.body.role, 'server');
    const model = summary.body.models.find((m) => m.id === MODEL);
    assert.ok(model, JSON.stringify(summary.body));
    assert.deepEqual(model.totals, expected);
    const history = await getJson(`${gw.url}/ui/api/history?seconds=3600`);
    const points = history.body.models.find((m) => m.id === MODEL)?.points ?? [];
    assert.equal(points.reduce((sum, p) => sum + p.requests, 0), expected.requests, JSON.stringify(history.body));
    const recent = await getJson(`${gw.url}/ui/api/requests?limit=200`);
    const recentIds = recent.body.data.map((r) => r.request_id);
    // Ours first, newest first; then the /v1/models calls that waited for the model list.
    assert.deepEqual(recentIds.slice(0, ids.length), [...ids].reverse());

    const { page, problems } = await openPage(defer);
    await page.goto(`${gw.url}/ui`);
    await waitForText(page, `${modelRow(MODEL)} [data-total="requests"]`, String(expected.requests));
    await page.waitForSelector('body[data-role="server"]');
    const shown = await page.$eval(modelRow(MODEL), (row) =>
      Object.fromEntries([...row.querySelectorAll('[data-total]')].map((cell) => [cell.dataset.total, Number(cell.textContent)])));
    assert.deepEqual(shown, expected);
    assert.equal(await textOf(page, '#total-requests'), String(expected.requests));
    assert.equal(await textOf(page, '#in-flight'), '0');
    assert.equal(await textOf(page, '#role'), 'server');
    assert.equal(await textOf(page, `${backendRow(MODEL, 'openai')} [data-field="kind"]`), 'provider');

    // The charts show the busiest model: ours, with a point for each 5-second slot it was busy in.
    const chart = await page.waitForSelector(`svg[data-chart="requests"][data-model="${MODEL}"]`);
    const drawn = await chart.evaluate((svg) => ({
      points: Number(svg.dataset.points),
      circles: svg.querySelectorAll('circle').length,
      polylines: svg.querySelectorAll('polyline').length,
    }));
    assert.ok(drawn.points >= 1 && drawn.points <= points.length, JSON.stringify(drawn));
    assert.equal(drawn.circles, drawn.points, 'a marker per point while there are few');
    assert.ok(drawn.polylines >= 1, JSON.stringify(drawn));
    for (const id of ['errors', 'latency', 'ttft', 'tokens']) {
      assert.ok(await page.$(`svg[data-chart="${id}"][data-model="${MODEL}"]`), `a ${id} chart`);
    }
    assert.equal(await page.$('svg[data-chart="queue"]'), null, 'no queue chart outside a controller');

    await page.waitForFunction((n) => document.querySelectorAll('#requests tbody tr[data-request-id]').length === n, {}, recentIds.length);
    const rowIds = await page.$$eval('#requests tbody tr[data-request-id]', (rows) => rows.map((r) => r.dataset.requestId));
    assert.deepEqual(rowIds, recentIds);
    const streamRow = `#requests tr[data-request-id="${streamId}"]`;
    assert.equal(await textOf(page, `${streamRow} [data-field="stream_outcome"]`), 'completed');
    assert.equal(await textOf(page, `${streamRow} [data-field="status"]`), '200');
    assert.equal(await textOf(page, `#requests tr[data-request-id="${ids.at(-2)}"] [data-field="status"]`), '502');

    await screenshot(page, 'dashboard-server.png', { fullPage: true });
    assert.deepEqual(problems, []);
  });

  test('with ADMIN_API_KEY the API needs the key, and the page asks for it', async (t) => {
    const key = 'admin-key-for-the-dashboard';
    const defer = cleanups(t);
    const gw = await startGateway([], { ADMIN_API_KEY: key });
    defer(() => gw.stop());

    const refused = await getJson(`${gw.url}/ui/api/summary`);
    assert.equal(refused.status, 401);
    assert.equal(typeof refused.body.error.message, 'string');
    for (const field of ['type', 'param', 'code']) assert.ok(field in refused.body.error, JSON.stringify(refused.body));
    assert.equal((await getJson(`${gw.url}/ui/api/summary`, { authorization: 'Bearer wrong' })).status, 401);
    assert.equal((await getJson(`${gw.url}/ui/api/summary`, { authorization: `Bearer ${key}` })).status, 200);
    const summary = await getJson(`${gw.url}/ui/api/summary`, { 'x-admin-api-key': key });
    assert.equal(summary.status, 200);
    assert.ok(summary.body.models.length >= 1, JSON.stringify(summary.body));
    // The page itself holds no data: anyone may load it.
    const html = await fetch(`${gw.url}/ui`);
    assert.equal(html.status, 200);
    assert.match(html.headers.get('content-type'), /^text\/html/);
    assert.ok(!(await html.text()).includes(key));

    const { page, problems } = await openPage(defer);
    await page.goto(`${gw.url}/ui`);
    await page.waitForSelector('#login:not([hidden])');
    assert.equal(await page.$eval('#dashboard', (e) => e.hidden), true, 'no dashboard before the key');
    await screenshot(page, 'dashboard-login.png');

    await page.type('#login input[type="password"]', 'not-the-key');
    await page.click('#login button[type="submit"]');
    await page.waitForSelector('#login-error:not([hidden])');

    await page.type('#login input[type="password"]', key);
    await page.click('#login button[type="submit"]');
    await page.waitForSelector('body[data-role="server"]');
    await page.waitForSelector(modelRow(summary.body.models[0].id));
    assert.equal(await page.$eval('#login', (e) => e.hidden), true);
    assert.equal(await page.evaluate(() => sessionStorage.getItem('llmGatewayAdminKey')), key);

    await page.click('#logout');
    await page.waitForSelector('#login:not([hidden])');
    assert.equal(await page.evaluate(() => sessionStorage.getItem('llmGatewayAdminKey')), null);
    // The refused calls are the only errors the browser logs.
    assert.deepEqual(problems.filter((p) => !/status of 401/.test(p)), []);
  });

  test('controller: both workers listed; drain, resume, register and remove from the page', async (t) => {
    const defer = cleanups(t);
    const controller = await startController();
    defer(() => controller.stop());
    for (const id of ['w0', 'w1']) {
      const mock = await startMock(['--models', 'llama3']);
      defer(() => mock.stop());
      const worker = await startWorker({ id, model: 'llama3', backend: mock, controller });
      defer(() => worker.stop());
    }
    await waitForWorkers(controller, (ws) => ws.length === 2, { message: 'both workers registered' });
    for (let i = 0; i < 4; i++) {
      const res = await postChat(controller, chatBody('llama3', `hello ${i}`));
      assert.equal(res.status, 200);
      await res.json();
    }

    const { page, problems, dialogs } = await openPage(defer);
    await page.goto(`${controller.url}/ui`);
    await page.waitForSelector('body[data-role="controller"]');
    await page.waitForSelector(modelRow('llama3'));
    for (const id of ['w0', 'w1']) {
      await waitForText(page, `${backendRow('llama3', id)} [data-field="kind"]`, 'worker');
      await waitForText(page, `${backendRow('llama3', id)} [data-field="draining"]`, 'no');
    }
    await waitForText(page, `${modelRow('llama3')} [data-total="requests"]`, '4');
    await page.waitForSelector('svg[data-chart="queue"][data-model="llama3"]');

    const draining = async (id) => workerById(await listWorkers(controller), id).draining;
    await page.click(`${backendRow('llama3', 'w0')} button[data-action="drain"]`);
    await waitForText(page, `${backendRow('llama3', 'w0')} [data-field="draining"]`, 'yes');
    await waitFor(async () => (await draining('w0')) === true, { message: 'w0 draining' });
    assert.equal(await draining('w1'), false);
    assert.equal(await textOf(page, `${backendRow('llama3', 'w1')} [data-field="draining"]`), 'no');
    await screenshot(page, 'dashboard-controller.png');

    await page.click(`${backendRow('llama3', 'w0')} button[data-action="resume"]`);
    await waitForText(page, `${backendRow('llama3', 'w0')} [data-field="draining"]`, 'no');
    await waitFor(async () => (await draining('w0')) === false, { message: 'w0 resumed' });

    // A worker registered by hand (nothing listens at its URL, so it never heartbeats and nothing
    // registers it again once removed). First with a URL the controller refuses: the page shows
    // the API's own message.
    const body = { worker_id: 'w-extra', model_id: 'llama3', url: 'ftp://127.0.0.1/x', capacity: 3 };
    const refusal = await fetch(`${controller.url}/ui/api/workers`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    assert.equal(refusal.status, 400);
    const { message } = (await refusal.json()).error;
    await page.type('#register-worker [name="worker_id"]', body.worker_id);
    await page.type('#register-worker [name="model_id"]', body.model_id);
    await page.type('#register-worker [name="url"]', body.url);
    await page.$eval('#register-worker [name="capacity"]', (input, value) => (input.value = value), String(body.capacity));
    await page.click('#register-worker button[type="submit"]');
    await page.waitForSelector('#notice.error:not([hidden])');
    assert.ok((await textOf(page, '#notice')).includes(message), `${await textOf(page, '#notice')} shows ${message}`);

    const url = `http://127.0.0.1:${await closedPort()}`;
    await page.$eval('#register-worker [name="url"]', (input, value) => (input.value = value), url);
    await page.click('#register-worker button[type="submit"]');
    await page.waitForSelector(backendRow('llama3', 'w-extra'));
    const extra = workerById(await listWorkers(controller), 'w-extra');
    assert.equal(extra?.url, url);
    assert.equal(extra.capacity, 3);

    await page.click(`${backendRow('llama3', 'w-extra')} button[data-action="remove"]`);
    await page.waitForFunction((s) => !document.querySelector(s), {}, backendRow('llama3', 'w-extra'));
    assert.equal(dialogs.length, 1);
    assert.match(dialogs[0], /w-extra/);
    assert.deepEqual((await listWorkers(controller)).map((w) => w.worker_id).sort(), ['w0', 'w1']);
    // The refused registration is the only error the browser logs.
    assert.deepEqual(problems.filter((p) => !/status of 400/.test(p)), []);
  });

  test('worker: its model and its controller, registered', async (t) => {
    const defer = cleanups(t);
    const controller = await startController();
    defer(() => controller.stop());
    const mock = await startMock(['--models', 'llama3']);
    defer(() => mock.stop());
    const worker = await startWorker({ id: 'w0', model: 'llama3', backend: mock, controller });
    defer(() => worker.stop());
    await waitForWorkers(controller, (ws) => ws.length === 1, { message: 'the worker registered' });
    const summary = await waitFor(async () => {
      const { body } = await getJson(`${worker.url}/ui/api/summary`);
      return body.controllers?.every((c) => c.registered) ? body : false;
    }, { message: 'the worker reporting its registration' });
    assert.equal(summary.role, 'worker');
    assert.deepEqual(summary.models.map((m) => m.id), ['llama3']);
    assert.deepEqual(summary.controllers, [{ url: controller.url, registered: true }]);

    const { page, problems } = await openPage(defer);
    await page.goto(`${worker.url}/ui`);
    await page.waitForSelector('body[data-role="worker"]');
    await page.waitForSelector(modelRow('llama3'));
    await waitForText(page, `#controllers tr[data-controller-url="${controller.url}"] [data-field="registered"]`, 'yes');
    assert.equal(await page.$eval('#controllers-panel', (e) => e.hidden), false);
    assert.equal(await page.$$eval('#models tr.backend-row', (rows) => rows.length), summary.models[0].backends.length);
    assert.equal(await page.$eval('#register-worker', (e) => getComputedStyle(e).display), 'none', 'worker actions on a controller only');
    await screenshot(page, 'dashboard-worker.png');
    assert.deepEqual(problems, []);
  });
});
