/**
 * loadKubeConfig's last source: the pod's service account (src/kube/kubeconfig.ts). Files under
 * a temporary root stand in for /var/run/secrets/kubernetes.io/serviceaccount (the
 * `serviceAccountRoot` option, as @kubernetes/client-node's loadFromCluster takes it); no
 * request is sent.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KubeConfigError, loadKubeConfig, SERVICE_ACCOUNT_TOKEN } from '../../src/kube/kubeconfig.js';

const saved = { ...process.env };
let root: string;

beforeEach(() => {
  root = mkdtempSync(path.join(tmpdir(), 'rollgate-sa-'));
  const home = path.join(root, 'home');
  mkdirSync(home);
  process.env.HOME = home; // no ~/.kube/config
  delete process.env.KUBECONFIG;
  delete process.env.KUBERNETES_SERVICE_HOST;
  delete process.env.KUBERNETES_SERVICE_PORT;
});

afterEach(() => {
  for (const key of ['HOME', 'KUBECONFIG', 'KUBERNETES_SERVICE_HOST', 'KUBERNETES_SERVICE_PORT']) {
    if (saved[key] === undefined) delete process.env[key];
    else process.env[key] = saved[key];
  }
  rmSync(root, { recursive: true, force: true });
});

function serviceAccount(): void {
  const dir = path.join(root, path.dirname(SERVICE_ACCOUNT_TOKEN));
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(root, SERVICE_ACCOUNT_TOKEN), 'token-of-the-pod');
  writeFileSync(path.join(dir, 'ca.crt'), '');
  writeFileSync(path.join(dir, 'namespace'), 'rollgate-system');
}

describe('the in-cluster service account', () => {
  it('is used when there is no --kubeconfig, KUBECONFIG or ~/.kube/config: the API server from KUBERNETES_SERVICE_HOST/PORT, the pod\'s CA', () => {
    serviceAccount();
    process.env.KUBERNETES_SERVICE_HOST = '127.0.0.1';
    process.env.KUBERNETES_SERVICE_PORT = '6443';
    const kc = loadKubeConfig({ serviceAccountRoot: root });
    expect(kc.getCurrentCluster()?.server).toBe('https://127.0.0.1:6443');
    expect(kc.getCurrentCluster()?.caFile).toBe(path.join(root, path.dirname(SERVICE_ACCOUNT_TOKEN), 'ca.crt'));
    expect(kc.getCurrentContext()).toBeTruthy();
  });

  it('a token without KUBERNETES_SERVICE_HOST (not in a pod) is a clear error, not a guess', () => {
    serviceAccount();
    expect(() => loadKubeConfig({ serviceAccountRoot: root })).toThrow(KubeConfigError);
    expect(() => loadKubeConfig({ serviceAccountRoot: root })).toThrow(/service account token is at .* but KUBERNETES_SERVICE_HOST is not set .*pass --kubeconfig FILE/);
  });

  it('no source at all names every place it looked', () => {
    expect(() => loadKubeConfig({ serviceAccountRoot: root })).toThrow(
      new RegExp(`no Kubernetes configuration found: not in a cluster \\(no service account token at ${root}.*\\), KUBECONFIG is not set and .*home/\\.kube/config does not exist; pass --kubeconfig FILE`),
    );
  });
});
