// The deployment files in deploy/ say only what the binary accepts: the Kubernetes manifests'
// commands, variables, ports and probe paths, the Dockerfile's user, port and health check, the
// model table in the server's ConfigMap (loaded by a real gateway), and the metrics that the
// Prometheus alert rules (promtool) and the Grafana dashboard query.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { binary, startGateway, startMock, tmpDir } from '../lib/harness.mjs';

const repo = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
const deploy = (...parts) => path.join(repo, 'deploy', ...parts);
const readme = fs.readFileSync(path.join(repo, 'README.md'), 'utf8');
const COMMANDS = ['server', 'controller', 'worker'];
const PORT_VARIABLE = { server: 'PORT', controller: 'CONTROLLER_PORT', worker: 'LISTEN_PORT' };

const help = Object.fromEntries(COMMANDS.map((c) => [c, execFileSync(binary(), [c, '--help'], { encoding: 'utf8' })]));
// A setting of `command`: an option's variable in its --help, or one the README's tables name.
const isSetting = (command, name) => help[command].includes(`env ${name},`) || readme.includes(`\`${name}\``);
const defaultOf = (command, name) => new RegExp(`env ${name}, default: (\\w+)`).exec(help[command])?.[1];

function manifests() {
  const docs = [];
  for (const file of fs.readdirSync(deploy('kubernetes')).filter((f) => f.endsWith('.yaml'))) {
    for (const doc of parseAllDocuments(fs.readFileSync(deploy('kubernetes', file), 'utf8'))) {
      assert.deepEqual(doc.errors, [], file);
      docs.push({ file, ...doc.toJS() });
    }
  }
  return docs;
}

test('Kubernetes: every container runs a command with its own settings, ports and probes', () => {
  const docs = manifests();
  const deployments = docs.filter((d) => d.kind === 'Deployment');
  assert.deepEqual(deployments.map((d) => d.spec.template.spec.containers[0].args[0]).sort(), [...COMMANDS].sort());
  for (const d of deployments) {
    const where = `${d.file}: ${d.metadata.name}`;
    assert.deepEqual(d.spec.selector.matchLabels, Object.fromEntries(Object.entries(d.spec.template.metadata.labels)
      .filter(([k]) => k in d.spec.selector.matchLabels)), `${where}: the selector matches the pods`);
    const pod = d.spec.template.spec;
    assert.equal(pod.securityContext.runAsNonRoot, true, where);
    const [container] = pod.containers;
    const command = container.args[0];
    const env = Object.fromEntries(container.env.map((e) => [e.name, e.value]));
    // Variables only there to be expanded into others ($(POD_IP)) are not settings.
    const expanded = new Set(container.env.flatMap((e) => [...String(e.value ?? '').matchAll(/\$\((\w+)\)/g)].map((m) => m[1])));
    for (const name of Object.keys(env)) {
      if (!expanded.has(name)) assert.ok(isSetting(command, name), `${where}: ${name} is not a ${command} setting`);
    }
    const port = Number(env[PORT_VARIABLE[command]] ?? defaultOf(command, PORT_VARIABLE[command]));
    assert.deepEqual(container.ports.map((p) => p.containerPort), [port], `${where}: listens where it says`);
    const named = Object.fromEntries(container.ports.map((p) => [p.name, p.containerPort]));
    assert.equal(container.readinessProbe.httpGet.path, '/health', where);
    for (const probe of [container.readinessProbe, container.livenessProbe]) {
      const target = (probe.httpGet ?? probe.tcpSocket).port;
      assert.equal(named[target] ?? target, port, `${where}: probe port`);
    }
    assert.equal(d.spec.template.metadata.annotations['prometheus.io/port'], String(port), where);
    assert.equal(d.spec.template.metadata.annotations['prometheus.io/path'], '/metrics', where);
    // Every Service that selects these pods sends to a port they listen on.
    for (const s of docs.filter((x) => x.kind === 'Service')) {
      const selects = Object.entries(s.spec.selector).every(([k, v]) => d.spec.template.metadata.labels[k] === v);
      if (!selects) continue;
      for (const p of s.spec.ports) assert.equal(named[p.targetPort] ?? p.targetPort, port, `${s.metadata.name} -> ${where}`);
    }
  }
  // Workers reach every controller through the headless Service, on its port.
  const headless = docs.find((x) => x.kind === 'Service' && x.spec.clusterIP === 'None');
  assert.ok(headless, 'a headless Service for the controllers');
  const worker = deployments.find((d) => d.spec.template.spec.containers[0].args[0] === 'worker').spec.template.spec.containers[0];
  const controllerUrl = worker.env.find((e) => e.name === 'CONTROLLER_URL').value;
  assert.equal(controllerUrl, `http://${headless.metadata.name}:${headless.spec.ports[0].port}`);
  assert.equal(deployments.find((d) => d.spec.template.spec.containers[0].args[0] === 'controller').spec.replicas, 2);
});

test("Kubernetes: the server's model table is one the gateway loads", async (t) => {
  const docs = manifests();
  const configMap = docs.find((d) => d.kind === 'ConfigMap');
  const server = docs.find((d) => d.kind === 'Deployment' && d.spec.template.spec.containers[0].args[0] === 'server').spec.template.spec;
  const container = server.containers[0];
  const configPath = container.env.find((e) => e.name === 'GATEWAY_CONFIG').value;
  const mount = container.volumeMounts.find((m) => m.mountPath === configPath);
  assert.ok(mount, 'GATEWAY_CONFIG is where the ConfigMap is mounted');
  assert.equal(server.volumes.find((v) => v.name === mount.name).configMap.name, configMap.metadata.name);
  const file = path.join(tmpDir(), 'models.yaml');
  fs.writeFileSync(file, configMap.data[mount.subPath]);
  const mock = await startMock(['--models', 'gpt-4o,claude-sonnet-4-5']);
  t.after(() => mock.stop());
  const gw = await startGateway(['--config', file], {
    OPENAI_API_KEY: 'k', OPENAI_BASE_URL: `${mock.url}/v1`, ANTHROPIC_API_KEY: 'k', ANTHROPIC_BASE_URL: mock.url,
  });
  t.after(() => gw.stop());
  const models = (await (await fetch(`${gw.url}/v1/models`)).json()).data.map((m) => m.id);
  for (const name of ['gpt-4o', 'claude-sonnet']) assert.ok(models.includes(name), `${name} in ${models}`);
});

test('Dockerfile: Debian bookworm, the package installed, a non-root user, a health check on /health', () => {
  const text = fs.readFileSync(deploy('Dockerfile'), 'utf8');
  const from = [...text.matchAll(/^FROM (\S+)/gm)].map((m) => m[1]);
  assert.deepEqual(from, ['debian:bookworm', 'debian:bookworm-slim'], 'multi-stage, bookworm');
  assert.match(text, /--target package/);
  assert.match(text, /^USER llm-gateway$/m);
  assert.match(text, /^HEALTHCHECK .*\n?.*\/health/m);
  assert.match(text, /^ENTRYPOINT \["\/usr\/bin\/llm-gateway"\]$/m);
  assert.match(text, /^CMD \["server"\]$/m);
  assert.match(text, new RegExp(`^EXPOSE ${defaultOf('server', 'PORT')}$`, 'm'));
  for (const option of [...text.matchAll(/-D(GW_\w+)=/g)].map((m) => m[1])) {
    assert.match(fs.readFileSync(path.join(repo, 'CMakeLists.txt'), 'utf8'), new RegExp(`option\\(${option}\\b`), option);
  }
  for (const variable of ['PORT', 'CONTROLLER_PORT', 'LISTEN_PORT']) assert.ok(text.includes(`\${${variable}`), variable);
});

// The metric families the README documents (histograms' series add _bucket, _sum, _count).
const documented = new Set([...readme.matchAll(/`(llm_gateway_\w+)`/g)].map((m) => m[1]));
const family = (name) => name.replace(/_(bucket|sum|count)$/, '');

test('Prometheus: the alert rules pass promtool and query documented metrics', () => {
  const check = spawnSync('promtool', ['check', 'rules', deploy('prometheus', 'alerts.yml')], { encoding: 'utf8' });
  assert.equal(check.status, 0, check.stdout + check.stderr);
  const rules = fs.readFileSync(deploy('prometheus', 'alerts.yml'), 'utf8');
  const used = [...rules.matchAll(/\b(llm_gateway_\w+)/g)].map((m) => family(m[1]));
  assert.ok(used.length > 5);
  for (const name of used) assert.ok(documented.has(name), `${name} is not a documented metric`);
});

test('Grafana: the dashboard parses and queries documented metrics', () => {
  const dashboard = JSON.parse(fs.readFileSync(deploy('grafana', 'llm-gateway.json'), 'utf8'));
  assert.equal(dashboard.uid, 'llm-gateway');
  assert.ok(dashboard.templating.list.some((v) => v.type === 'datasource'), 'data source chosen on import');
  const exprs = dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr));
  assert.ok(exprs.length >= 15);
  for (const expr of exprs) {
    const names = [...expr.matchAll(/\b(llm_gateway_\w+)/g)].map((m) => family(m[1]));
    assert.ok(names.length > 0, expr);
    for (const name of names) assert.ok(documented.has(name), `${name} is not a documented metric`);
  }
});
