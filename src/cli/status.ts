/**
 * `rollgate status [NAME] [--state-dir D] [--watch] [--output json|text]`: where each rollout
 * stands, from the journals (state dir) or the RolloutPlans' status (cluster mode), and
 * whether anything is acting on it. status-summary.ts builds the data (the JSON of
 * `--output json`), status-text.ts prints it, status-watch.ts redraws it (`--watch`),
 * status-cluster.ts reads the cluster.
 *
 * State-dir mode: each rollout also carries `controller` (whether a `rollgate run` owns the
 * state dir and runs: the lock and its holder's pid; when none does, the text starts with a
 * WARNING line) and what its plan note says (statedir/plan-note.ts: the plan's time zone, the
 * guard's size, a plan edit that was not applied). A next action whose due time passed by
 * more than `--overdue-after` (default 1m) is overdue.
 *
 * Cluster mode (`-n NS`, `-A/--all-namespaces`, `--kubeconfig`, `--context`, `--cluster`):
 * the same from the RolloutPlans' `.status` (written by the leading `rollgate controller`), with
 * `leader` (a live Lease, or none) and a spec generation the controller did not apply; a
 * RolloutPlan with no status yet is "not yet seen by a controller".
 *
 * Exit status: 0 when the status is shown (also when it warns: no controller, overdue, a plan
 * edit not applied; status reports, it does not judge), 1 unknown rollout, missing state dir
 * or a failed cluster read, 2 usage.
 */
import type { Command } from 'commander';
import type { FileJournal } from '../journal/file-journal.js';
import type { KubeClient } from '../kube/client.js';
import { type RolloutPlanObject } from '../cluster/rolloutplans.js';
import { objectKey } from '../kube/objects.js';
import { CliError, DEFAULT_STATE_DIR } from './options.js';
import { parseDuration } from '../plan/duration.js';
import { stateDirOwner } from '../statedir/lock.js';
import { readPlanNote } from '../statedir/plan-note.js';
import { findRollout, lastJudgement, openJournal, readRollout } from './journal-reader.js';
import { defaultNamespace, getRolloutPlan, clusterMode, kubeClientFor, kubeFailure, KubeReadError, listRolloutPlans, splitName, type ClusterFlags, clusterOptions } from './kube-reader.js';
import { DEFAULT_OVERDUE_MS, statusSummary, type OverdueClock, type StatusSummary } from './status-summary.js';
import { formatStatusText } from './status-text.js';
import { watch, type Frame } from './status-watch.js';
import { clusterSummaries } from './status-cluster.js';

export { statusSummary, planStatusSummary, type StatusSummary } from './status-summary.js';

interface StatusFlags extends ClusterFlags {
  stateDir: string;
  watch?: boolean;
  output: string;
  interval: string;
  overdueAfter?: string;
}

/** What one render shows: the summaries, and how to print them. */
interface Shown {
  summaries: StatusSummary[];
  banner?: string;
  none: string;
  now: number;
}

/** The frame of a render: JSON lines, or the text cut to a width. */
function frameOf(shown: Shown, output: string): Frame {
  // The key leaves out what only the passing of time changes.
  const timeless = (s: StatusSummary) => ({
    ...s,
    nextAction: s.nextAction ? { ...s.nextAction, inSeconds: 0 } : null,
    overdue: s.overdue ? { ...s.overdue, bySeconds: 0 } : null,
    leader: s.leader ? { state: s.leader.state, lease: s.leader.lease, holder: s.leader.holder } : null,
  });
  // The banner is made of `controller` (state dir) or the leaders (cluster): in the summaries.
  const key = JSON.stringify(shown.summaries.map(timeless));
  return {
    key,
    lines: (width) =>
      output === 'json'
        ? shown.summaries.map((s) => JSON.stringify(s))
        : formatStatusText(shown.summaries, { now: shown.now, none: shown.none, width, ...(shown.banner ? { banner: shown.banner } : {}) }),
  };
}

async function stateDirSummaries(journal: FileJournal, clock: OverdueClock, name?: string): Promise<StatusSummary[]> {
  const ids = name ? [await findRollout(journal, name)] : await journal.rollouts();
  return Promise.all(
    ids.map(async (id) => {
      const [view, note] = await Promise.all([readRollout(journal, id), readPlanNote(journal.stateDir, id)]);
      const last = view.state.last;
      // The last record when it judged metrics (statusSummary takes it), else the latest that did.
      const judged = last?.metrics && last.metrics.length > 0 ? null : await lastJudgement(journal, id);
      return statusSummary({ ...view, judged, note }, clock);
    }),
  );
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
async function render(journal: FileJournal, flags: StatusFlags, now: () => number, name?: string): Promise<Shown> {
  const clock = overdueClock(flags, now);
  const [summaries, owner] = await Promise.all([stateDirSummaries(journal, clock, name), stateDirOwner(journal.stateDir)]);
  const banner = owner.state === 'running' ? undefined : owner.state === 'none' ? `WARNING: ${owner.detail}` : `NOTE: ${owner.detail}`;
  return { summaries: summaries.map((s) => ({ ...s, controller: owner })), none: `no rollouts in ${journal.stateDir}`, now: clock.now, ...(banner ? { banner } : {}) };
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

async function renderCluster(client: KubeClient, flags: StatusFlags, now: () => number, name?: string): Promise<Shown> {
  const plans = await clusterPlans(client, flags, name);
  const none = flags.allNamespaces ? 'no RolloutPlans in any namespace' : `no RolloutPlans in namespace ${defaultNamespace(client, flags)}`;
  const clock = overdueClock(flags, now);
  const summaries = await clusterSummaries(client, plans, clock);
  const leaderless = summaries.filter((s) => s.leader?.state === 'none');
  const banner = leaderless.length > 0 ? `WARNING: no live leader writes the status of ${leaderless.length === summaries.length ? 'these rollouts' : leaderless.map((s) => s.rollout).join(', ')}: ${leaderless[0]!.leader!.detail}` : undefined;
  return { summaries, none, now: clock.now, ...(banner ? { banner } : {}) };
}

/** Prints the render once, or with --watch until SIGINT/SIGTERM; `retry` errors are reported and retried. */
async function show(render: () => Promise<Shown>, flags: StatusFlags, retry: (err: unknown) => boolean): Promise<number> {
  const out = process.stdout;
  if (!flags.watch) {
    // On a terminal lines are cut to its width (never wrapped); piped, they are whole.
    const width = out.isTTY && flags.output !== 'json' ? (out.columns ?? null) : null;
    out.write(`${frameOf(await render(), flags.output).lines(width).join('\n')}\n`);
    return 0;
  }
  const intervalMs = Math.max(200, Number(flags.interval) * 1000 || 2000);
  return watch({
    out,
    intervalMs,
    render: async () => frameOf(await render(), flags.output),
    retry,
    onError: (message) => process.stderr.write(`rollgate: ${message}\n`),
  });
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
  const cmd = program
    .command('status')
    .description('where each rollout stands: phase, split, what it waits for, the next action (in how long, or how overdue), the last decision, the metrics of the last judgement against their thresholds, the guard\'s strikes, a plan edit not applied, and whether a controller acts on it')
    .argument('[name]', 'rollout name or namespace/name')
    .option('--state-dir <dir>', 'state dir of rollgate run', DEFAULT_STATE_DIR)
    .option('-w, --watch', 'redraw until Ctrl-C (on a terminal: in place, fitted to its width; piped: a block each time something changed)')
    .option('--interval <seconds>', 'refresh interval with --watch', '2')
    .option('--output <format>', 'text or json', 'text')
    .option('--overdue-after <duration>', 'call a next action overdue once its due time passed by more than this (default 1m)');
  clusterOptions(cmd, 'the RolloutPlans of this namespace', (c) => c.option('-A, --all-namespaces', 'cluster mode: the RolloutPlans of every namespace'))
    .addHelpText('after', '\nExit status: 0 status shown (also with warnings: no controller, overdue, a plan edit not applied), 1 unknown rollout, missing state dir or failed cluster read, 2 usage.')
    .action(async (name: string | undefined, flags: StatusFlags) => {
      process.exitCode = await statusCommand(name, flags);
    });
}
