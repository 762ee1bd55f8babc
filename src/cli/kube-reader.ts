/**
 * Cluster mode of `rollgate status` and `rollgate history`: reads RolloutPlans (their
 * `.status`, written by the leading `rollgate controller`) and the journal ConfigMaps, with
 * the controller's REST client and API paths. Read-only: every request is a GET.
 *
 * Cluster mode is chosen as for the manual commands (manual.ts `clusterMode`: `-n`,
 * `--kubeconfig`, `--context`, `--cluster`), plus `-A/--all-namespaces` for `status`.
 * API failures become one-line CliErrors (exit 1) naming what was being read.
 */
import type { Command } from 'commander';
import { KubeApiError, type KubeClient } from '../kube/client.js';
import { KubeConfigError } from '../kube/kubeconfig.js';
import { kubeClient } from '../wiring/compose.js';
import { ConfigMapJournal } from '../cluster/kube-journal.js';
import type { CompactedSummary } from '../cluster/journal-compaction.js';
import { JournalCorruptError, parseRolloutId } from '../core/journal.js';
import { rolloutPlanPath, rolloutPlansPath, type RolloutPlanObject } from '../cluster/rolloutplans.js';
import { objectKey, type KubeList } from '../kube/objects.js';
import type { RolloutView } from './journal-reader.js';
import { isDecisionRecord, type DecisionRecord } from '../core/record.js';
import { CliError } from './options.js';

export interface ClusterFlags {
  namespace?: string;
  kubeconfig?: string;
  context?: string;
  cluster?: boolean;
  allNamespaces?: boolean;
}

/** Whether the flags select cluster mode (the manual commands, status and history alike). */
export function clusterMode(flags: ClusterFlags): boolean {
  return Boolean(flags.cluster || flags.namespace || flags.kubeconfig || flags.context || flags.allNamespaces);
}


/**
 * The client for the kubeconfig (and context) of the flags; a CliError (exit 1) if there is
 * none, saying what was looked for (src/kube/kubeconfig.ts).
 */
export function kubeClientFor(flags: ClusterFlags): KubeClient {
  try {
    return kubeClient({ ...(flags.kubeconfig ? { kubeconfig: flags.kubeconfig } : {}), ...(flags.context ? { context: flags.context } : {}) });
  } catch (err) {
    const message = (err as Error).message;
    throw new CliError(err instanceof KubeConfigError ? message : `cannot load the Kubernetes configuration: ${message}`, 1);
  }
}

/** `-n`, else the kubeconfig context's namespace, else `default` (as the manual commands). */
export function defaultNamespace(client: KubeClient, flags: ClusterFlags): string {
  return flags.namespace ?? client.kc.getContextObject(client.kc.getCurrentContext())?.namespace ?? 'default';
}

/**
 * The options of cluster mode on `cmd`: `-n` (described by `namespaceHelp`), then `extra`
 * (such as status' `-A`), `--kubeconfig`, `--context`, `--cluster`.
 */
export function clusterOptions(cmd: Command, namespaceHelp: string, extra: (c: Command) => Command = (c) => c): Command {
  return extra(cmd.option('-n, --namespace <ns>', `cluster mode: ${namespaceHelp}`))
    .option('--kubeconfig <file>', 'cluster mode: kubeconfig file')
    .option('--context <name>', 'cluster mode: kubeconfig context')
    .option('--cluster', 'cluster mode with the current kubeconfig context');
}

/** The rollout NAME or NAMESPACE/NAME names in cluster mode: its namespace (`-n`, else the context's) and name. */
export function clusterTarget(client: KubeClient, name: string, flags: ClusterFlags): { namespace: string; name: string } {
  const target = splitName(name, flags);
  return { namespace: target.namespace ?? defaultNamespace(client, flags), name: target.name };
}

/** NAME or NAMESPACE/NAME against `-n`; null namespace: any (with -A and a bare NAME). */
export function splitName(name: string, flags: ClusterFlags): { namespace: string | undefined; name: string } {
  if (!name.includes('/')) return { namespace: flags.namespace, name };
  const [ns, n, ...rest] = name.split('/');
  if (rest.length > 0 || !ns || !n) throw new CliError(`${name}: expected NAME or NAMESPACE/NAME`, 2);
  if (flags.namespace && ns !== flags.namespace) throw new CliError(`${name}: namespace ${ns} disagrees with -n ${flags.namespace}`, 2);
  return { namespace: ns, name: n };
}

/** Checks `namespace/name` as a rollout id (both DNS-1123 labels): a usage error otherwise. */
export function rolloutId(namespace: string, name: string): string {
  const id = `${namespace}/${name}`;
  try {
    parseRolloutId(id);
  } catch (err) {
    throw new CliError((err as Error).message, 2);
  }
  return id;
}

/** A failed API read, as one line (exit 1); `transient` when worth retrying (--watch). */
export class KubeReadError extends CliError {
  constructor(
    message: string,
    readonly transient: boolean,
  ) {
    super(message, 1);
  }
}

/** One line for a failed read: what was being read, and why (no stack trace, no credentials). */
export function kubeFailure(err: unknown, what: string, client?: KubeClient): unknown {
  if (err instanceof CliError) return err;
  if (err instanceof JournalCorruptError) return new CliError(err.message, 1);
  if (!(err instanceof KubeApiError)) return err;
  const detail = err.status?.message ? `: ${err.status.message}` : '';
  let message: string;
  if (err.code === 0) message = `${what}: cannot reach the Kubernetes API server${client ? ` at ${client.server}` : ''} (${err.reason}${detail})`;
  else if (err.code === 401) message = `${what}: unauthorized (401): the API server refused the kubeconfig's credentials${detail}`;
  else if (err.code === 403) message = `${what}: forbidden (403)${detail}`;
  else message = `${what}: ${err.code} ${err.reason}${detail}`;
  return new KubeReadError(message, err.transient);
}

/** Every RolloutPlan of a namespace (or of all namespaces), following `continue`, sorted by namespace/name. */
export async function listRolloutPlans(client: KubeClient, namespace: string | undefined): Promise<RolloutPlanObject[]> {
  const where = namespace ? `in namespace ${namespace}` : 'in all namespaces';
  const items: RolloutPlanObject[] = [];
  let token: string | undefined;
  try {
    do {
      const page: KubeList<RolloutPlanObject> = await client.get(rolloutPlansPath(namespace), { limit: 500, ...(token ? { continue: token } : {}) });
      items.push(...(page.items ?? []));
      token = page.metadata?.continue || undefined;
    } while (token);
  } catch (err) {
    if (err instanceof KubeApiError && err.notFound) {
      throw new CliError(`cannot list RolloutPlans ${where}: the API server does not serve rolloutplans.rollgate.dev (is the CRD installed?)`, 1);
    }
    throw kubeFailure(err, `cannot list RolloutPlans ${where}`, client);
  }
  return items.sort((a, b) => objectKey(a).localeCompare(objectKey(b)));
}

/** One RolloutPlan, or null when the API answers 404. */
export async function getRolloutPlan(client: KubeClient, namespace: string, name: string): Promise<RolloutPlanObject | null> {
  try {
    return await client.get<RolloutPlanObject>(rolloutPlanPath(namespace, name));
  } catch (err) {
    if (err instanceof KubeApiError && err.notFound) return null;
    throw kubeFailure(err, `cannot read RolloutPlan ${namespace}/${name}`, client);
  }
}

export interface KubeHistory extends RolloutView {
  /** The decision records kept in the ConfigMap (compaction dropped the earlier ones). */
  records: DecisionRecord[];
  /** `configmap NS/rollgate-journal-NAME`, for messages. */
  where: string;
  compacted: CompactedSummary | null;
}

/**
 * The journal of a rollout from its ConfigMap (GET only). A rollout without one (no
 * ConfigMap, or no records in it) is a CliError (exit 1) saying whether its RolloutPlan
 * exists. A journal whose RolloutPlan was deleted is shown until garbage collection removes it with the plan.
 */
export async function readKubeHistory(client: KubeClient, namespace: string, name: string): Promise<KubeHistory> {
  const id = rolloutId(namespace, name);
  const journal = new ConfigMapJournal({ client });
  const where = journal.where(id);
  let view: RolloutView & { records: DecisionRecord[] };
  try {
    // One read of the ConfigMap: its entries, and the state replayed as of that read.
    const records = (await journal.read(id)).filter(isDecisionRecord);
    view = { id, state: journal.replayed(id), records };
  } catch (err) {
    throw kubeFailure(err, `cannot read the journal of ${id} (${where})`, client);
  }
  const compacted = journal.compacted(id);
  if (view.records.length === 0 && !compacted) {
    const plan = await getRolloutPlan(client, namespace, name);
    if (!plan) throw new CliError(`unknown rollout ${id}: no RolloutPlan ${name} in namespace ${namespace} and no journal (${where} not found)`, 1);
    throw new CliError(`rollout ${id} has no journal yet (${where} not found or empty): not yet seen by a controller`, 1);
  }
  return { ...view, where, compacted };
}

/** The stderr note for a compacted journal: how many records were dropped, and which. */
export function compactionNote(where: string, c: CompactedSummary): string {
  const counts = Object.entries(c.counts)
    .map(([d, n]) => `${d} ${n}`)
    .join(', ');
  const span = c.from && c.to ? `, ${c.from} to ${c.to}` : '';
  return (
    `note: ${where} was compacted (${c.compactions} time${c.compactions === 1 ? '' : 's'}, last at ${c.at}): ` +
    `${c.records} earlier decision record${c.records === 1 ? '' : 's'} (seq 1-${c.throughSeq}${span}${counts ? `; ${counts}` : ''}) ` +
    `and ${c.marks} applied mark${c.marks === 1 ? '' : 's'} were dropped; shown from seq ${c.throughSeq + 1}`
  );
}
