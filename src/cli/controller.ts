/**
 * `rollgate controller`: the in-cluster controller. Watches RolloutPlans (all namespaces, or
 * `--namespaces a,b`), campaigns for the Lease `rollgate-controller` in `--lease-namespace`
 * (with `--shards S`: the shard Leases `rollgate-controller-shard-<i>`, at most
 * `--max-shards-per-replica` of them), runs the rollouts of what it holds, and serves
 * /metrics, /healthz and /readyz (`--listen`) and the read-only dashboard of the rollouts it
 * runs on a separate address (`--dashboard`, loopback by default). Runs until
 * SIGTERM or SIGINT, then stops cleanly (steps under way finish, the Lease is released) and
 * exits 0.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { startInCluster } from '../wiring/compose.js';
import { kubeClientFor } from './kube-reader.js';
import { createLogger } from '../support/log.js';
import { CliError, LOG_FORMAT_HELP, parseLogFormat, parseListen, parseMaxQueries } from './options.js';

interface ControllerFlags {
  namespaces?: string;
  leaseNamespace?: string;
  shards: string;
  maxShardsPerReplica?: string;
  listen: string;
  dashboard: string;
  prometheus?: string;
  kubeconfig?: string;
  context?: string;
  maxQueries?: string;
  logLevel?: string;
  logFormat?: string;
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

/** A flag that must be a positive integer (at most 1024: one Lease each). */
export function parseCount(flag: string, text: string): number {
  const n = /^[0-9]+$/.test(text.trim()) ? Number(text.trim()) : NaN;
  if (!Number.isInteger(n) || n < 1 || n > 1024) throw new CliError(`${flag}: "${text}" is not a whole number from 1 to 1024`, 2);
  return n;
}

export async function controllerCommand(flags: ControllerFlags): Promise<number> {
  const log = createLogger({ format: parseLogFormat(flags.logFormat), ...(flags.logLevel ? { level: flags.logLevel } : {}) });
  const namespaces = parseNamespaces(flags.namespaces);
  const shards = parseCount('--shards', flags.shards);
  const maxShardsPerReplica = flags.maxShardsPerReplica === undefined ? shards : parseCount('--max-shards-per-replica', flags.maxShardsPerReplica);
  const listen = parseListen(flags.listen);
  const dashboard = parseListen(flags.dashboard, '--dashboard', '127.0.0.1:9465');
  const maxQueries = flags.maxQueries !== undefined ? parseMaxQueries(flags.maxQueries) : undefined;
  const client = kubeClientFor(flags);
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
    shards,
    maxShardsPerReplica,
    listen,
    dashboard,
    ...(flags.prometheus ? { prometheus: flags.prometheus } : {}),
    ...(maxQueries !== undefined ? { maxQueries } : {}),
  });
  const leases = shards === 1 ? `${lease}/rollgate-controller` : `${lease}/rollgate-controller-shard-{0..${shards - 1}}`;
  log.info({ server: client.server, namespaces: namespaces.length ? namespaces : 'all', lease: leases, shards, maxShardsPerReplica: Math.min(maxShardsPerReplica, shards), identity: controller.identity }, 'rollgate controller started');
  await stopped;
  await controller.stop();
  log.info('rollgate controller stopped cleanly');
  return 0;
}

export function register(program: Command): void {
  program
    .command('controller')
    .description('run the in-cluster controller: RolloutPlan resources, Lease leader election, Events')
    .addHelpText('after', '\nExit status: 0 after a clean stop (SIGTERM or SIGINT), 1 no usable Kubernetes configuration or another\nfailure to start, 2 usage.')
    .option('--namespaces <a,b>', 'watch only these namespaces (default: all)')
    .option('--lease-namespace <ns>', 'namespace of the Leases (default: POD_NAMESPACE or the service account namespace)')
    .option('--shards <n>', 'split the RolloutPlans over n shard Leases rollgate-controller-shard-<i> (1: the one Lease rollgate-controller)', '1')
    .option('--max-shards-per-replica <n>', 'shard Leases one replica holds at most (default: all)')
    .option('--listen <host:port>', '/metrics, /healthz and /readyz address, or off', '0.0.0.0:9464')
    .option('--dashboard <host:port>', 'read-only dashboard address, or off; keep it on loopback and reach it with kubectl port-forward (docs/dashboard.md)', '127.0.0.1:9465')
    .option('--prometheus <url>', 'Prometheus for plans without prometheus.address')
    .option('--max-queries <n>', 'Prometheus queries in flight at once, for all rollouts (default 32)')
    .option('--kubeconfig <file>', 'kubeconfig file (default: KUBECONFIG, else ~/.kube/config, else the in-cluster service account; none of them: exit 1)')
    .option('--context <name>', 'kubeconfig context')
    .option('--log-level <level>', 'trace, debug, info, warn, error')
    .option('--log-format <format>', LOG_FORMAT_HELP)
    .action(async (flags: ControllerFlags) => {
      process.exitCode = await controllerCommand(flags);
    });
}
