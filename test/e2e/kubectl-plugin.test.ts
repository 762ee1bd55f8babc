/**
 * The kubectl plugin as a user runs it: the real `kubectl` finds `kubectl-rollgate` on PATH (a
 * link to the built dist/kubectl-rollgate.js, made executable as npm does for a "bin" entry) and
 * runs it with its arguments; the plugin talks to the fake Kubernetes API
 * (test/integration/kube-helpers.ts, behind nock in this process) through a loopback HTTP
 * bridge named by a kubeconfig in KUBECONFIG, since the plugin is another process.
 */
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubectlPluginArgs } from '../../src/cli/kubectl-plugin.js';
import { JOURNAL_KEY } from '../../src/cluster/kube-journal.js';
import type { RolloutPlanStatus } from '../../src/cluster/rolloutplans.js';
import { FakeKube } from '../integration/kube-helpers.js';
import { fileSpec, mark, progressingStatus, record, rolloutPlan, SERVER } from '../unit/kube-fixtures.js';
import { until } from '../helpers/until.js';

const ROOT = path.resolve(__dirname, '../..');
const PLUGIN = path.join(ROOT, 'dist/kubectl-rollgate.js');
const KUBECTL = process.env.ROLLGATE_KUBECTL_BIN ?? '/usr/bin/kubectl';
const PLAN_PATH = '/apis/rollgate.dev/v1alpha1/namespaces/learning/rolloutplans/analyzer';
const CM_PATH = '/api/v1/namespaces/learning/configmaps/rollgate-journal-analyzer';

const r1 = record(1, { enters: { phase: 'canary', index: 0 } });
const r2 = record(2, { checkpoint: { index: 1, of: 2, due: '2025-11-03T10:30:00Z', window: '30m' } });

const analyzerStatus = (): RolloutPlanStatus => progressingStatus([r1, r2], null);

let kube: FakeKube;
let bridge: http.Server;
let dir: string;
let env: NodeJS.ProcessEnv;

/** Runs `kubectl ARGS` with the plugin on PATH; resolves with its exit status and output. */
function kubectl(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(KUBECTL, args, { cwd: dir, env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

beforeAll(async () => {
  expect(existsSync(PLUGIN), 'run `npm run build` first').toBe(true);
  kube = new FakeKube();
  // Requests from the plugin arrive here and go on to the fake API server (nock answers them).
  bridge = http.createServer((req, res) => {
    const body: Buffer[] = [];
    req.on('data', (c: Buffer) => body.push(c));
    req.on('end', () => {
      const upstream = https.request(`${SERVER}${req.url}`, { method: req.method, headers: { ...req.headers, host: new URL(SERVER).host } }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      });
      upstream.on('error', (err) => res.writeHead(502).end(err.message));
      upstream.end(Buffer.concat(body));
    });
  });
  await new Promise<void>((resolve) => bridge.listen(0, '127.0.0.1', resolve));
  const port = (bridge.address() as AddressInfo).port;

  dir = mkdtempSync(path.join(tmpdir(), 'rollgate-kubectl-'));
  const bin = path.join(dir, 'bin');
  mkdirSync(bin);
  symlinkSync(PLUGIN, path.join(bin, 'kubectl-rollgate'));
  chmodSync(PLUGIN, 0o755); // npm does this to every "bin" target when it installs the package
  writeFileSync(
    path.join(dir, 'kubeconfig'),
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'fake', cluster: { server: `http://127.0.0.1:${port}`, 'insecure-skip-tls-verify': true } }],
      users: [{ name: 'alice', user: { token: 't' } }],
      contexts: [{ name: 'fake', context: { cluster: 'fake', user: 'alice', namespace: 'learning' } }],
      'current-context': 'fake',
    }),
  );
  env = { PATH: `${bin}${path.delimiter}${process.env.PATH}`, HOME: dir, KUBECONFIG: path.join(dir, 'kubeconfig') };

  kube.create(PLAN_PATH, { ...rolloutPlan('analyzer', fileSpec('/tmp/x')), status: analyzerStatus() } as never);
  kube.create(CM_PATH, {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'rollgate-journal-analyzer', namespace: 'learning', labels: { 'app.kubernetes.io/managed-by': 'rollgate', 'rollgate.dev/rollout': 'analyzer' } },
    data: { [JOURNAL_KEY]: [r1, mark(1), r2].map((e) => `${JSON.stringify(e)}\n`).join('') },
  });
});

afterAll(async () => {
  kube?.close();
  await new Promise<void>((resolve) => (bridge ? bridge.close(() => resolve()) : resolve()));
});

describe('kubectlPluginArgs', () => {
  it('adds --cluster after status, history, report and the manual commands only', () => {
    expect(kubectlPluginArgs(['report', 'analyzer', '-o', 'r.html'])).toEqual(['report', '--cluster', 'analyzer', '-o', 'r.html']);
    expect(kubectlPluginArgs(['status', '-A'])).toEqual(['status', '--cluster', '-A']);
    expect(kubectlPluginArgs(['history', 'learning/analyzer', '--output', 'json'])).toEqual(['history', '--cluster', 'learning/analyzer', '--output', 'json']);
    expect(kubectlPluginArgs(['promote', 'analyzer', '-n', 'learning'])).toEqual(['promote', '--cluster', 'analyzer', '-n', 'learning']);
    expect(kubectlPluginArgs(['validate', 'plan.yaml'])).toEqual(['validate', 'plan.yaml']);
    expect(kubectlPluginArgs(['schema'])).toEqual(['schema']);
    expect(kubectlPluginArgs(['--help'])).toEqual(['--help']);
    expect(kubectlPluginArgs([])).toEqual([]);
  });
});

// Each test starts kubectl and node; on a loaded machine that alone can take a minute.
describe('kubectl rollgate', { timeout: 300_000 }, () => {
  it('kubectl finds the plugin on PATH', async () => {
    const r = await kubectl(['plugin', 'list']);
    expect(r.stdout).toContain(path.join(dir, 'bin', 'kubectl-rollgate'));
    expect(r.code).toBe(0);
  });

  it('status -A lists the RolloutPlans of every namespace', async () => {
    const r = await kubectl(['rollgate', 'status', '-A']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/learning\/analyzer/);
    expect(r.stdout).toMatch(/canary/);
    expect(kube.requests.some((q) => q.method === 'GET' && q.path === '/apis/rollgate.dev/v1alpha1/rolloutplans')).toBe(true);
  });

  it('status without -n reads the current context\'s namespace, as kubectl does', async () => {
    const before = kube.requests.length;
    const r = await kubectl(['rollgate', 'status', '--output', 'json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('learning/analyzer');
    expect(kube.requests.slice(before).some((q) => q.path === '/apis/rollgate.dev/v1alpha1/namespaces/learning/rolloutplans')).toBe(true);
  });

  it('history NS/NAME prints the records of the journal ConfigMap', async () => {
    const r = await kubectl(['rollgate', 'history', 'learning/analyzer', '--output', 'json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trimEnd().split('\n').map((l) => JSON.parse(l))).toEqual([r1, r2]);
  });

  it('promote NAME -n NS writes the request as the kubeconfig user and prints the controller\'s answer', async () => {
    const running = kubectl(['rollgate', 'promote', 'analyzer', '-n', 'learning', '--reason', 'looks good', '--timeout', '240']);
    // The leading controller's part: answer the request in status.lastRequest.
    let request: { id: string; action: string; actor: string; reason: string } | undefined;
    await until(() => {
      const text = kube.get(PLAN_PATH)?.metadata.annotations?.['rollgate.dev/request'];
      if (text) request = JSON.parse(text);
      return request !== undefined;
    }, 240_000, 'the promote request annotation');
    expect(request).toMatchObject({ action: 'promote', actor: 'alice', reason: 'looks good' });
    kube.update(PLAN_PATH, (o) => ({ ...o, status: { ...o.status, lastRequest: { id: request!.id, accepted: true, message: 'promoted analyzer', seq: 3 } } }));
    const r = await running;
    expect(r.stdout).toBe('promoted analyzer (decision #3)\n');
    expect(r.code).toBe(0);
  });

  it('help and usage lines name the plugin as typed: kubectl rollgate', async () => {
    const top = await kubectl(['rollgate', '--help']);
    expect(top.code, top.stderr).toBe(0);
    expect(top.stdout).toMatch(/^Usage: kubectl rollgate \[options\] \[command\]\n/);
    const status = await kubectl(['rollgate', 'status', '--help']);
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toMatch(/^Usage: kubectl rollgate status \[options\] \[name\]\n/);
    const history = await kubectl(['rollgate', 'help', 'history']);
    expect(history.code, history.stderr).toBe(0);
    expect(history.stdout).toMatch(/^Usage: kubectl rollgate history \[options\] <name>\n/);
  });

  it('a flag before the plugin name is kubectl\'s error, not the plugin\'s', async () => {
    const r = await kubectl(['-n', 'learning', 'rollgate', 'status']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/flags cannot be placed before plugin name/);
  });
});
