/**
 * Where the Kubernetes configuration comes from, in kubectl's order: `--kubeconfig FILE`, else
 * the `KUBECONFIG` files, else `~/.kube/config`, else the pod's service account (in cluster).
 * @kubernetes/client-node falls back to `http://localhost:8080` when there is none of them;
 * rollgate refuses instead, with a KubeConfigError that says what was looked for, as it does
 * for a configuration without a current context or naming an unknown one.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';

/** The service account token a pod gets (where @kubernetes/client-node looks for it). */
export const SERVICE_ACCOUNT_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';

/** No usable Kubernetes configuration: the message says what was looked for and what to pass. */
export class KubeConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KubeConfigError';
  }
}

export interface KubeConfigOptions {
  /** `--kubeconfig`: this file only. */
  kubeconfig?: string;
  /** `--context`: this context instead of the configuration's current one. */
  context?: string;
  /** A prefix of the service account's paths (as @kubernetes/client-node's loadFromCluster takes); default none. */
  serviceAccountRoot?: string;
}

/** Loads the configuration (see the module comment); a KubeConfigError when there is none usable. */
export function loadKubeConfig(opts: KubeConfigOptions = {}): KubeConfig {
  const kc = new KubeConfig();
  const source = loadSource(kc, opts, process.env);
  if (opts.context) {
    if (!kc.getContextObject(opts.context)) throw new KubeConfigError(`--context ${opts.context}: ${source} has no such context (${contextList(kc)})`);
    kc.setCurrentContext(opts.context);
  }
  const current = kc.getCurrentContext();
  if (!current || !kc.getContextObject(current)) {
    const why = current ? `its current context ${current} is not among its contexts` : 'it has no current context';
    throw new KubeConfigError(`${source}: ${why} (${contextList(kc)}); pass --context NAME or run kubectl config use-context NAME`);
  }
  if (!kc.getCurrentCluster()) throw new KubeConfigError(`${source}: context ${current} names no cluster that the configuration defines`);
  return kc;
}

/** Loads the first source there is into `kc` and names it for messages. */
function loadSource(kc: KubeConfig, opts: KubeConfigOptions, env: NodeJS.ProcessEnv): string {
  if (opts.kubeconfig) {
    readFiles(kc, [opts.kubeconfig]);
    return `kubeconfig ${opts.kubeconfig}`;
  }
  const listed = (env.KUBECONFIG ?? '').split(path.delimiter).filter(Boolean);
  if (listed.length > 0) {
    readFiles(kc, listed);
    return `KUBECONFIG (${listed.join(path.delimiter)})`;
  }
  const home = env.HOME ? path.join(env.HOME, '.kube', 'config') : null;
  if (home && existsSync(home)) {
    readFiles(kc, [home]);
    return `kubeconfig ${home}`;
  }
  const token = `${opts.serviceAccountRoot ?? ''}${SERVICE_ACCOUNT_TOKEN}`;
  if (existsSync(token)) {
    if (!env.KUBERNETES_SERVICE_HOST) throw new KubeConfigError(`a service account token is at ${token} but KUBERNETES_SERVICE_HOST is not set (not in a pod?); pass --kubeconfig FILE`);
    kc.loadFromCluster(opts.serviceAccountRoot ?? '');
    return 'the in-cluster service account';
  }
  throw new KubeConfigError(
    `no Kubernetes configuration found: not in a cluster (no service account token at ${token}), KUBECONFIG is not set and ${home ?? '~/.kube/config (HOME is not set)'} does not exist; pass --kubeconfig FILE`,
  );
}

/** Reads the first file and merges the others into it, as kubectl does with KUBECONFIG. */
function readFiles(kc: KubeConfig, files: string[]): void {
  files.forEach((file, i) => {
    const target = i === 0 ? kc : new KubeConfig();
    try {
      target.loadFromFile(file);
    } catch (err) {
      throw new KubeConfigError(`cannot read kubeconfig ${file}: ${(err as Error).message}`);
    }
    if (target !== kc) kc.mergeConfig(target);
  });
}

function contextList(kc: KubeConfig): string {
  const names = kc.getContexts().map((c) => c.name);
  return names.length ? `contexts: ${names.join(', ')}` : 'no contexts';
}
