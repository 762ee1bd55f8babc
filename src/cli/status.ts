/**
 * `rollgate status [NAME] [--state-dir D] [--watch] [--output json|text]`: current phase,
 * split, next action and last decision of each rollout, from the journals; under the table,
 * the last judgement of the rollouts whose metrics a floor, a baseline or a test judged, with
 * the judge's numbers (a sequential metric's e-value against its threshold).
 *
 * In state-dir mode each rollout also carries `controller`: whether a `rollgate run` owns the
 * state dir and runs (the lock and its holder's pid); when none does, the text output starts
 * with a WARNING line. A next action whose due time passed by more than `--overdue-after`
 * (default 1m) is marked overdue (`overdue` in JSON, `(OVERDUE by ...)` in text).
 *
 * Cluster mode (`-n NS`, `-A/--all-namespaces`, `--kubeconfig`, `--context`, `--cluster`):
 * the same table and JSON from the RolloutPlans' `.status` (written by the leading
 * `rollgate controller`); a RolloutPlan with no status yet is "not yet seen by a controller".
 */
import type { Command } from 'commander';
import type { FileJournal } from '../journal/file-journal.js';
import type { DecisionRecord, MetricResult } from '../core/record.js';
import type { KubeClient } from '../kube/client.js';
import { type RolloutPlanObject } from '../cluster/rolloutplans.js';
import { objectKey } from '../kube/objects.js';
import { formatMetric } from '../observe/decision-text.js';
import { isJudged } from '../observe/judgement-text.js';
import { CliError, DEFAULT_STATE_DIR } from './options.js';
import { formatDuration, parseDuration } from '../plan/duration.js';
import { stateDirOwner } from '../statedir/lock.js';
import { findRollout, openJournal, readRollout, type RolloutView } from './journal-reader.js';
import { defaultNamespace, getRolloutPlan, clusterMode, kubeClientFor, kubeFailure, KubeReadError, listRolloutPlans, splitName, type ClusterFlags } from './kube-reader.js';

interface StatusFlags extends ClusterFlags {
  stateDir: string;
  watch?: boolean;
  output: string;
  interval: string;
  overdueAfter?: string;
}

export const NOT_SEEN = 'not yet seen by a controller';

/** One rollout's line of `status` (the JSON object of `--output json`). */
export interface StatusSummary {
  rollout: string;
  revision: string;
  status: string | null;
  phase: string;
  weight: number | null;
  mirror: number | null;
  applied: { weight: number; mirror: number; at: string } | null;
  waitingFor: string | null;
  next: string;
  /**
   * The last decision; `metrics`: its judgement of each metric, with the judge's numbers
   * (present when that decision judged metrics: a checkpoint or guard record).
   */
  lastDecision: {
    seq: number;
    decision: string;
    kind: string | null;
    at: string | null;
    reason: string | null;
    actor: string | null;
    metrics?: MetricResult[];
  } | null;
  /**
   * The next action's due time passed more than the overdue margin ago (`--overdue-after`,
   * default 1m) with nothing journalled since: no controller is acting on it, or it is stuck.
   */
  overdue: { what: string; due: string; bySeconds: number } | null;
  /** Cluster mode only, when the RolloutPlan has no status yet. */
  note?: string;
}

/** How late a due action may be before `status` calls it overdue (a slow Prometheus, retries). */
export const DEFAULT_OVERDUE_MS = 60_000;

export interface OverdueClock {
  now: number;
  marginMs: number;
}

function overdueOf(status: string | null, waitingFor: string | null, due: { what: string; at: string } | null | undefined, clock: OverdueClock): StatusSummary['overdue'] {
  if (!due || status === null || status === 'complete' || status === 'rolled-back' || status === 'paused' || waitingFor === 'approval') return null;
  const at = Date.parse(due.at);
  if (!Number.isFinite(at) || clock.now - at <= clock.marginMs) return null;
  return { what: due.what, due: new Date(at).toISOString(), bySeconds: Math.round((clock.now - at) / 1000) };
}

const defaultClock = (): OverdueClock => ({ now: Date.now(), marginMs: DEFAULT_OVERDUE_MS });

function lastDecisionOf(r: DecisionRecord): NonNullable<StatusSummary['lastDecision']> {
  const judged = r.metrics && r.metrics.length > 0 ? { metrics: r.metrics } : {};
  return { seq: r.seq, decision: r.decision, kind: r.kind, at: r.at, reason: r.reason, actor: r.actor, ...judged };
}

function next(status: string, waitingFor: string | null, last: DecisionRecord | undefined, nextAt?: string | null): string {
  if (status === 'complete' || status === 'rolled-back') return '-';
  if (status === 'paused') return 'a person (resume, promote, abort)';
  if (waitingFor === 'approval') return 'approval (rollgate promote)';
  const n = last?.next;
  if (n) return `${n.what} at ${n.at}`;
  return nextAt ? `next action at ${nextAt}` : '-';
}

export function statusSummary(v: RolloutView, clock: OverdueClock = defaultClock()): StatusSummary {
  const s = v.state;
  const last = s.last;
  return {
    rollout: v.id,
    revision: s.revision,
    status: s.status,
    phase: s.phaseName,
    weight: s.weight,
    mirror: s.mirror,
    applied: s.applied ? { weight: s.applied.weight, mirror: s.applied.mirror, at: new Date(s.applied.at).toISOString() } : null,
    waitingFor: s.waitingFor,
    next: next(s.status, s.waitingFor, last ?? undefined),
    lastDecision: last ? lastDecisionOf(last) : null,
    overdue: overdueOf(s.status, s.waitingFor, last?.next, clock),
  };
}

/**
 * The summary of a RolloutPlan from its `.status`. The status carries no applied split
 * (`applied` is null); `waitingFor` comes from the latest record that began or queued a phase
 * among the status's last records.
 */
export function planStatusSummary(plan: RolloutPlanObject, clock: OverdueClock = defaultClock()): StatusSummary {
  const st = plan.status;
  const spec = plan.spec as { revision?: unknown } | undefined;
  const specRevision = typeof spec?.revision === 'string' ? spec.revision : '';
  if (!st || typeof st.status !== 'string') {
    return {
      rollout: objectKey(plan),
      revision: specRevision,
      status: null,
      phase: '',
      weight: null,
      mirror: null,
      applied: null,
      waitingFor: null,
      next: '-',
      lastDecision: null,
      overdue: null,
      note: NOT_SEEN,
    };
  }
  const records = st.records ?? [];
  const last = records.at(-1);
  const latest = last && last.seq === st.seq ? last : undefined;
  let waitingFor: string | null = null;
  for (let i = records.length - 1; i >= 0; i--) {
    const r = records[i]!;
    if (r.decision === 'wait') waitingFor = r.waitingFor ?? null;
    if (r.decision === 'wait' || r.decision === 'start' || r.decision === 'advance') break;
  }
  if (st.status !== 'waiting' && st.status !== 'paused') waitingFor = null;
  let lastDecision: StatusSummary['lastDecision'] = null;
  if (latest) lastDecision = lastDecisionOf(latest);
  else if (st.lastDecision) lastDecision = { seq: st.seq ?? 0, decision: st.lastDecision, kind: null, at: st.lastDecisionAt ?? null, reason: null, actor: null };
  return {
    rollout: objectKey(plan),
    revision: st.revision ?? specRevision,
    status: st.status,
    phase: st.phase ?? '',
    weight: st.weight ?? 0,
    mirror: st.mirror ?? 0,
    applied: null,
    waitingFor,
    next: next(st.status, waitingFor, latest, st.nextAt),
    lastDecision,
    overdue: overdueOf(st.status, waitingFor, latest?.next ?? (st.nextAt ? { what: 'next action', at: st.nextAt } : null), clock),
  };
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')).join('\n');
}

function split(s: StatusSummary): string {
  if (s.weight === null) return '-';
  return `${s.weight}%${s.mirror ? ` +${s.mirror}% mirror` : ''}`;
}

function lastText(s: StatusSummary): string {
  const l = s.lastDecision;
  if (!l) return '-';
  return `#${l.seq} ${l.decision}${l.at ? ` at ${l.at}` : ''}${l.reason !== null ? `: ${l.reason}` : ''}`;
}

function nextText(s: StatusSummary): string {
  return s.overdue ? `${s.next} (OVERDUE by ${formatDuration(s.overdue.bySeconds * 1000)})` : s.next;
}

/**
 * Under the table, the last judgement of each rollout whose metrics a judge beyond the
 * absolute thresholds judged (a floor, a baseline, a test), one metric a line with the judge's
 * numbers: the sequential test's e-value against its threshold, a Mann-Whitney shift...
 *
 *     default/shop: last judgement #17 (checkpoint)
 *       errors-vs-stable pass: e 3.2 < 100, canary 0.9% (12/1,330) vs baseline 1% (250/25,000), x0.90 [0, 2.71]
 */
function judgements(summaries: StatusSummary[]): string {
  const blocks: string[] = [];
  for (const s of summaries) {
    const l = s.lastDecision;
    if (!l?.metrics?.some(isJudged)) continue;
    blocks.push([`${s.rollout}: last judgement #${l.seq}${l.kind ? ` (${l.kind})` : ''}`, ...l.metrics.map((m) => `  ${formatMetric(m)}`)].join('\n'));
  }
  return blocks.length > 0 ? `\n\n${blocks.join('\n')}` : '';
}

function format(summaries: StatusSummary[], output: string, none: string, banner?: string): string {
  if (output === 'json') return summaries.map((s) => JSON.stringify(s)).join('\n');
  const head = banner ? `${banner}\n` : '';
  if (summaries.length === 0) return `${head}${none}`;
  const rows = [['ROLLOUT', 'REVISION', 'STATUS', 'PHASE', 'SPLIT', 'NEXT', 'LAST DECISION']];
  for (const s of summaries) rows.push([s.rollout, s.revision, s.status ?? s.note ?? '-', s.phase || '-', split(s), nextText(s), lastText(s)]);
  return `${head}${table(rows)}${judgements(summaries)}`;
}

async function views(journal: FileJournal, name?: string): Promise<RolloutView[]> {
  const ids = name ? [await findRollout(journal, name)] : await journal.rollouts();
  return Promise.all(ids.map((id) => readRollout(journal, id)));
}

/** The overdue margin of `--overdue-after`. */
function overdueClock(flags: StatusFlags, now: () => number): OverdueClock {
  if (flags.overdueAfter === undefined) return { now: now(), marginMs: DEFAULT_OVERDUE_MS };
  const ms = parseDuration(flags.overdueAfter);
  if (ms === null) throw new CliError(`--overdue-after: expected a duration such as 30s or 2m, got "${flags.overdueAfter}"`, 2);
  return { now: now(), marginMs: ms };
}

/**
 * State-dir mode: each rollout's summary with `controller` (who owns the state dir, and whether
 * it runs); in text, a first line says so when no controller is acting on these rollouts.
 */
async function render(journal: FileJournal, flags: StatusFlags, now: () => number, name?: string): Promise<string> {
  const [vs, owner] = await Promise.all([views(journal, name), stateDirOwner(journal.stateDir)]);
  const clock = overdueClock(flags, now);
  const summaries = vs.map((v) => ({ ...statusSummary(v, clock), controller: owner }));
  const banner = owner.state === 'running' ? undefined : owner.state === 'none' ? `WARNING: ${owner.detail}` : `NOTE: ${owner.detail}`;
  return format(summaries, flags.output, `no rollouts in ${journal.stateDir}`, banner);
}

/** The RolloutPlans `status` shows in cluster mode: one (NAME) or every one of the namespace(s). */
async function clusterPlans(client: KubeClient, flags: StatusFlags, name?: string): Promise<RolloutPlanObject[]> {
  if (!name) return listRolloutPlans(client, flags.allNamespaces ? undefined : defaultNamespace(client, flags));
  const target = splitName(name, flags);
  if (target.namespace === undefined && flags.allNamespaces) {
    const found = (await listRolloutPlans(client, undefined)).filter((p) => p.metadata.name === target.name);
    if (found.length === 1) return found;
    if (found.length === 0) throw new CliError(`unknown rollout ${target.name}: no RolloutPlan ${target.name} in any namespace`, 1);
    throw new CliError(`rollout ${target.name} is ambiguous: ${found.map(objectKey).join(', ')}; use namespace/name`, 1);
  }
  const namespace = target.namespace ?? defaultNamespace(client, flags);
  const plan = await getRolloutPlan(client, namespace, target.name);
  if (!plan) throw new CliError(`unknown rollout ${namespace}/${target.name}: no RolloutPlan ${target.name} in namespace ${namespace}`, 1);
  return [plan];
}

async function renderCluster(client: KubeClient, flags: StatusFlags, now: () => number, name?: string): Promise<string> {
  const plans = await clusterPlans(client, flags, name);
  const none = flags.allNamespaces ? 'no RolloutPlans in any namespace' : `no RolloutPlans in namespace ${defaultNamespace(client, flags)}`;
  const clock = overdueClock(flags, now);
  return format(plans.map((p) => planStatusSummary(p, clock)), flags.output, none);
}

/** Prints `render()` once, or with --watch until SIGINT/SIGTERM; `retry` errors are reported and retried. */
async function show(render: () => Promise<string>, flags: StatusFlags, retry: (err: unknown) => boolean): Promise<number> {
  if (!flags.watch) {
    process.stdout.write(`${await render()}\n`);
    return 0;
  }
  const interval = Math.max(200, Number(flags.interval) * 1000 || 2000);
  const tty = process.stdout.isTTY;
  let stop = false;
  const onSignal = () => (stop = true);
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    let previous = '';
    while (!stop) {
      let text: string;
      try {
        text = await render();
      } catch (err) {
        if (!retry(err)) throw err;
        process.stderr.write(`rollgate: ${(err as Error).message} (retrying)\n`);
        await new Promise((r) => setTimeout(r, interval));
        continue;
      }
      if (tty) process.stdout.write(`\x1b[2J\x1b[H${new Date().toISOString()}\n${text}\n`);
      else if (text !== previous) process.stdout.write(`${text}\n`);
      previous = text;
      await new Promise((r) => setTimeout(r, interval));
    }
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  }
  return 0;
}

/** A failed read worth retrying under --watch: unreachable API server, throttling, server errors. */
const transient = (err: unknown) => err instanceof KubeReadError && err.transient;

/** `opts.client`: the Kubernetes client to use in cluster mode (tests); else from the flags. `opts.now`: the clock overdue is judged by. */
export async function statusCommand(name: string | undefined, flags: StatusFlags, opts: { client?: KubeClient; now?: () => number } = {}): Promise<number> {
  if (flags.output !== 'json' && flags.output !== 'text') throw new CliError(`--output: expected json or text, got "${flags.output}"`, 2);
  if (flags.allNamespaces && flags.namespace) throw new CliError('-A/--all-namespaces and -n/--namespace exclude each other', 2);
  const now = opts.now ?? Date.now;
  if (opts.client || clusterMode(flags)) {
    const client = opts.client ?? kubeClientFor(flags);
    const once = async () => {
      try {
        return await renderCluster(client, flags, now, name);
      } catch (err) {
        throw kubeFailure(err, 'cannot read RolloutPlans', client);
      }
    };
    return show(once, flags, transient);
  }
  const journal = openJournal(flags.stateDir);
  return show(() => render(journal, flags, now, name), flags, () => false);
}

export function register(program: Command): void {
  program
    .command('status')
    .description('current phase, split, next action and last decision of each rollout')
    .argument('[name]', 'rollout name or namespace/name')
    .option('--state-dir <dir>', 'state dir of rollgate run', DEFAULT_STATE_DIR)
    .option('-w, --watch', 'refresh until interrupted')
    .option('--interval <seconds>', 'refresh interval with --watch', '2')
    .option('--output <format>', 'text or json', 'text')
    .option('--overdue-after <duration>', 'call a next action overdue once its due time passed by more than this (default 1m)')
    .option('-n, --namespace <ns>', 'cluster mode: the RolloutPlans of this namespace')
    .option('-A, --all-namespaces', 'cluster mode: the RolloutPlans of every namespace')
    .option('--kubeconfig <file>', 'cluster mode: kubeconfig file')
    .option('--context <name>', 'cluster mode: kubeconfig context')
    .option('--cluster', 'cluster mode with the current kubeconfig context')
    .action(async (name: string | undefined, flags: StatusFlags) => {
      process.exitCode = await statusCommand(name, flags);
    });
}
