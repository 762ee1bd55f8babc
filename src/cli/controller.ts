/**
 * `rollgate controller`: the in-cluster controller. Watches RolloutPlans (all namespaces, or
 * `--namespaces a,b`), campaigns for the Lease `rollgate-controller` in `--lease-namespace`,
 * runs the rollouts while it leads, and serves /metrics, /healthz and /readyz. Runs until
 * SIGTERM or SIGINT, then stops cleanly (steps under way finish, the Lease is released) and
 * exits 0.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { KubeClient } from '../kube/client.js';
import { kubeClient, startInCluster } from '../wiring/compose.js';
import { createLogger } from '../support/log.js';
import { CliError, parseListen, parseMaxQueries } from './options.js';

interface ControllerFlags {
  namespaces?: string;
  leaseNamespace?: string;
  listen: string;
  prometheus?: string;
  kubeconfig?: string;
  context?: string;
  maxQueries?: string;
  logLevel?: string;
}

const SERVICE_ACCOUNT_NAMESPACE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

/** --lease-namespace, else POD_NAMESPACE, else the pod's service account namespace, else the kubeconfig context's. */
function leaseNamespace(flags: ControllerFlags, contextNamespace: string | undefined): string {
  if (flags.leaseNamespace) return flags.leaseNamespace;
  if (process.env.POD_NAMESPACE) return process.env.POD_NAMESPACE;
  try {
    return readFileSync(SERVICE_ACCOUNT_NAMESPACE, 'utf8').trim();
  } catch {
    return contextNamespace ?? 'default';
  }
}

export function parseNamespaces(text: string | undefined): string[] {
  if (!text) return [];
  const list = text.split(',').map((s) => s.trim()).filter(Boolean);
  for (const ns of list) {
    if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(ns) || ns.length > 63) throw new CliError(`--namespaces: "${ns}" is not a namespace name (DNS-1123 label)`, 2);
  }
  return [...new Set(list)];
}

export async function controllerCommand(flags: ControllerFlags): Promise<number> {
  const log = createLogger({ ...(flags.logLevel ? { level: flags.logLevel } : {}) });
  const namespaces = parseNamespaces(flags.namespaces);
  const listen = parseListen(flags.listen);
  const maxQueries = flags.maxQueries !== undefined ? parseMaxQueries(flags.maxQueries) : undefined;
  let client: KubeClient;
  try {
    client = kubeClient({ ...(flags.kubeconfig ? { kubeconfig: flags.kubeconfig } : {}), ...(flags.context ? { context: flags.context } : {}) });
  } catch (err) {
    throw new CliError(`cannot load the Kubernetes configuration: ${(err as Error).message}`, 1);
  }
  const lease = leaseNamespace(flags, client.kc.getContextObject(client.kc.getCurrentContext())?.namespace);
  // Listening for SIGTERM/SIGINT before start-up, as `rollgate run` does: a signal while the
  // controller starts stops it cleanly once started (the Lease released), not by the default kill.
  const stopped = new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      log.info({ signal }, 'stopping');
      resolve();
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  const controller = await startInCluster({
    client,
    log,
    namespaces,
    leaseNamespace: lease,
    listen,
    ...(flags.prometheus ? { prometheus: flags.prometheus } : {}),
    ...(maxQueries !== undefined ? { maxQueries } : {}),
  });
  log.info({ server: client.server, namespaces: namespaces.length ? namespaces : 'all', lease: `${lease}/rollgate-controller`, identity: controller.elector.identity }, 'rollgate controller started');
  await stopped;
  await controller.stop();
  log.info('rollgate controller stopped cleanly');
  return 0;
}

export function register(program: Command): void {
  program
    .command('controller')
    .description('run the in-cluster controller: RolloutPlan resources, Lease leader election, Events')
    .option('--namespaces <a,b>', 'watch only these namespaces (default: all)')
    .option('--lease-namespace <ns>', 'namespace of the Lease rollgate-controller (default: POD_NAMESPACE or the service account namespace)')
    .option('--listen <host:port>', '/metrics, /healthz and /readyz address, or off', '0.0.0.0:9464')
    .option('--prometheus <url>', 'Prometheus for plans without prometheus.address')
    .option('--max-queries <n>', 'Prometheus queries in flight at once, for all rollouts (default 32)')
    .option('--kubeconfig <file>', 'kubeconfig file (default: in-cluster service account, else KUBECONFIG or ~/.kube/config)')
    .option('--context <name>', 'kubeconfig context')
    .option('--log-level <level>', 'trace, debug, info, warn, error')
    .action(async (flags: ControllerFlags) => {
      process.exitCode = await controllerCommand(flags);
    });
}
