/**
 * Without a Kubernetes configuration, the cluster commands fail at once with one line saying
 * what was looked for (src/kube/kubeconfig.ts) instead of trying http://localhost:8080:
 * `node dist/main.js` with HOME an empty directory and no KUBECONFIG. Also a kubeconfig without
 * a current context, an unknown --context, and a KUBECONFIG naming a missing file.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { SERVICE_ACCOUNT_TOKEN } from '../../src/kube/kubeconfig.js';

const MAIN = path.resolve(__dirname, '../../dist/main.js');

function emptyHome(): string {
  return mkdtempSync(path.join(tmpdir(), 'rollgate-nokube-'));
}

function rollgate(args: string[], env: NodeJS.ProcessEnv) {
  const r = spawnSync(process.execPath, [MAIN, ...args], { cwd: env.HOME, encoding: 'utf8', env: { PATH: process.env.PATH, ...env } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A kubeconfig with one context `x` (cluster `c`), and `current` as its current context. */
function kubeconfig(current: string | null): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'c', cluster: { server: 'https://k8s.test:6443' } }],
    users: [{ name: 'alice', user: { token: 't' } }],
    contexts: [{ name: 'x', context: { cluster: 'c', user: 'alice' } }],
    ...(current ? { 'current-context': current } : {}),
  });
}

// On a machine that is itself a pod, the service account is a configuration: nothing to test there.
// Each test starts node once; on a loaded machine that alone can take a minute.
describe.skipIf(existsSync(SERVICE_ACCOUNT_TOKEN))('no Kubernetes configuration at all', { timeout: 300_000 }, () => {
  const expected = (home: string) =>
    `rollgate: no Kubernetes configuration found: not in a cluster (no service account token at ${SERVICE_ACCOUNT_TOKEN}), KUBECONFIG is not set and ${home}/.kube/config does not exist; pass --kubeconfig FILE\n`;

  it.each([
    ['status -A', ['status', '-A']],
    ['status NAME -n NS', ['status', 'checkout', '-n', 'shop']],
    ['history NS/NAME --cluster', ['history', 'shop/checkout', '--cluster']],
    ['promote NAME -n NS', ['promote', 'checkout', '-n', 'shop']],
  ])('%s exits 1 with one line saying what was looked for', (_what, args) => {
    const home = emptyHome();
    const r = rollgate(args, { HOME: home });
    expect(r.stderr).toBe(expected(home));
    expect(r.stdout).toBe('');
    expect(r.code).toBe(1);
  });

  it('controller exits 1 at start with the same line, never trying localhost:8080', async () => {
    const home = emptyHome();
    const child = spawn(process.execPath, [MAIN, 'controller', '--listen', 'off'], { cwd: home, env: { PATH: process.env.PATH, HOME: home } });
    let stderr = '';
    let stdout = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code).toBe(1);
    expect(stderr).toContain(expected(home).trimEnd());
    expect(stdout + stderr).not.toContain('localhost:8080');
  });
});

describe('a kubeconfig that cannot be used', { timeout: 300_000 }, () => {
  it('without a current context: exit 1, naming the file and its contexts', () => {
    const home = emptyHome();
    mkdirSync(path.join(home, '.kube'));
    writeFileSync(path.join(home, '.kube', 'config'), kubeconfig(null));
    const r = rollgate(['status', '-A'], { HOME: home });
    expect(r.stderr).toBe(
      `rollgate: kubeconfig ${home}/.kube/config: it has no current context (contexts: x); pass --context NAME or run kubectl config use-context NAME\n`,
    );
    expect(r.code).toBe(1);
  });

  it('an unknown --context: exit 1, naming the contexts there are', () => {
    const home = emptyHome();
    writeFileSync(path.join(home, 'kc.json'), kubeconfig('x'));
    const r = rollgate(['history', 'shop/checkout', '--kubeconfig', 'kc.json', '--context', 'prod'], { HOME: home });
    expect(r.stderr).toBe('rollgate: --context prod: kubeconfig kc.json has no such context (contexts: x)\n');
    expect(r.code).toBe(1);
  });

  it('KUBECONFIG naming a file that does not exist: exit 1, naming it', () => {
    const home = emptyHome();
    const r = rollgate(['status', '-A'], { HOME: home, KUBECONFIG: path.join(home, 'missing.yaml') });
    expect(r.stderr).toMatch(new RegExp(`^rollgate: cannot read kubeconfig ${home}/missing\\.yaml: ENOENT`));
    expect(r.code).toBe(1);
  });
});
