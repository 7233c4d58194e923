// The Debian package (CPack, deploy/packaging.cmake): what it installs, its control data, its
// systemd units (checked by systemd-analyze) and its settings files (every variable one the binary
// or the README names). Built from the same build tree as the binary under test.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { binary, tmpDir } from '../lib/harness.mjs';

const buildDir = path.resolve(path.dirname(binary()), '../..');
const repo = path.resolve(import.meta.dirname ?? path.dirname(new URL(import.meta.url).pathname), '../..');
const UNITS = {
  'llm-gateway-server.service': { command: 'server', env: '/etc/llm-gateway/server.env' },
  'llm-gateway-controller.service': { command: 'controller', env: '/etc/llm-gateway/controller.env' },
  'llm-gateway-worker@.service': { command: 'worker', env: '/etc/llm-gateway/worker-%i.env' },
};
const ENV_FILES = { 'server.env': 'server', 'controller.env': 'controller', 'worker.env.example': 'worker' };

const run = (command, args, opts = {}) => execFileSync(command, args, { encoding: 'utf8', timeout: 120_000, ...opts });

// Built once: every test below reads the same package.
const out = tmpDir('package-');
run('cpack', ['-G', 'DEB', '-B', out, '--config', path.join(buildDir, 'CPackConfig.cmake')], { cwd: buildDir });
const deb = fs.readdirSync(out).filter((f) => f.endsWith('.deb')).map((f) => path.join(out, f))[0];
const root = path.join(out, 'root');
run('dpkg-deb', ['-x', deb, root]);

test('the package: its name, version, dependencies and files', () => {
  assert.ok(deb, `a .deb in ${out}`);
  const field = (name) => run('dpkg-deb', ['-f', deb, name]).trim();
  assert.equal(field('Package'), 'llm-gateway');
  const version = run(binary(), ['--version']).trim().split(' ').pop();
  assert.equal(field('Version'), version);
  assert.match(field('Depends'), /\badduser\b/);
  assert.match(field('Depends'), /libssl3/, 'shared-library dependencies computed');
  const files = run('dpkg-deb', ['-c', deb]).split('\n').map((line) => line.split(/\s+/).pop());
  for (const file of ['./usr/bin/llm-gateway', './usr/share/man/man1/llm-gateway.1.gz',
    ...Object.keys(UNITS).map((u) => `./usr/lib/systemd/system/${u}`),
    ...Object.keys(ENV_FILES).map((f) => `./etc/llm-gateway/${f}`)]) {
    assert.ok(files.includes(file), `${file} in the package`);
  }
  assert.equal(run(path.join(root, 'usr/bin/llm-gateway'), ['--version']).trim(), `llm-gateway ${version}`);
  const control = tmpDir('package-control-');
  run('dpkg-deb', ['-e', deb, control]);
  assert.deepEqual(fs.readFileSync(path.join(control, 'conffiles'), 'utf8').trim().split('\n').sort(),
    Object.keys(ENV_FILES).map((f) => `/etc/llm-gateway/${f}`).sort());
  const postinst = fs.readFileSync(path.join(control, 'postinst'), 'utf8');
  assert.match(postinst, /adduser --system --group [\s\S]* llm-gateway\n/, 'a dedicated system user');
  assert.ok(fs.statSync(path.join(control, 'postinst')).mode & 0o111, 'postinst is executable');
});

test('the systemd units pass systemd-analyze verify, run as the dedicated user, hardened', () => {
  const units = tmpDir('package-units-');
  for (const [unit, { command, env }] of Object.entries(UNITS)) {
    const text = fs.readFileSync(path.join(root, 'usr/lib/systemd/system', unit), 'utf8');
    assert.match(text, new RegExp(`^ExecStart=/usr/bin/llm-gateway ${command}$`, 'm'), unit);
    assert.match(text, new RegExp(`^EnvironmentFile=${env}$`, 'm'), unit);
    for (const line of ['User=llm-gateway', 'NoNewPrivileges=yes', 'ProtectSystem=strict', 'ProtectHome=yes',
      'PrivateTmp=yes', 'CapabilityBoundingSet=', 'Restart=on-failure']) {
      assert.match(text, new RegExp(`^${line}$`, 'm'), `${unit}: ${line}`);
    }
    // The binary as the package installs it, here where it was extracted.
    fs.writeFileSync(path.join(units, unit), text.replaceAll('/usr/bin/llm-gateway', path.join(root, 'usr/bin/llm-gateway')));
  }
  const verify = spawnSync('systemd-analyze', ['verify', '--man=no', ...Object.keys(UNITS)], { cwd: units, encoding: 'utf8' });
  assert.equal(verify.status, 0, verify.stderr);
  assert.equal(`${verify.stdout}${verify.stderr}`.trim(), '', 'no warning from systemd-analyze verify');
  for (const unit of Object.keys(UNITS)) {
    const security = run('systemd-analyze', ['security', '--offline=yes', `./${unit}`], { cwd: units });
    const exposure = Number(/Overall exposure level for .*: ([\d.]+)/.exec(security)?.[1]);
    // systemd's scale: 0 (fully confined) to 10; below 3 it rates "OK".
    assert.ok(exposure < 3, `${unit}: exposure ${exposure}`);
  }
});

test('every variable in the packaged settings files is one the binary or the README names', () => {
  const readme = fs.readFileSync(path.join(repo, 'README.md'), 'utf8');
  for (const [file, command] of Object.entries(ENV_FILES)) {
    const help = run(binary(), [command, '--help']);
    const text = fs.readFileSync(path.join(root, 'etc/llm-gateway', file), 'utf8');
    const names = [...text.matchAll(/^#?([A-Z][A-Z0-9_]+)=/gm)].map((m) => m[1]);
    assert.ok(names.length > 3, file);
    for (const name of names) {
      assert.ok(help.includes(`env ${name},`) || readme.includes(`\`${name}\``), `${file}: ${name} is not a setting`);
    }
  }
});

test('the manual page is generated from --help and covers every command', () => {
  const page = zlib.gunzipSync(fs.readFileSync(path.join(root, 'usr/share/man/man1/llm-gateway.1.gz'))).toString('utf8');
  assert.match(page, /^\.TH LLM-GATEWAY "1"/m);
  for (const section of ['SERVER', 'CONTROLLER', 'WORKER', '"MOCK BACKEND"', 'FILES']) {
    assert.match(page, new RegExp(`^\\.SH ${section}$`, 'm'), section);
  }
  for (const name of ['GATEWAY_CONFIG', 'CONTROLLER_URL', 'HEARTBEAT_TIMEOUT']) assert.ok(page.includes(name), name);
});
