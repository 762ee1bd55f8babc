/**
 * `rollgate history NAME [--state-dir D] [--output json|text]`: the decision records of a
 * rollout, oldest first. Exit status 0, or 1 for an unknown rollout.
 *
 * Text shows each record's time as `status` shows times: in the plan's time zone (its
 * deployment windows') next to UTC, `2026-12-02 09:00 Europe/Berlin (08:00Z)`; a UTC plan's
 * records keep their RFC 3339 `at`. The time zone comes from the plan note in state-dir mode
 * (statedir/plan-note.ts) and from the RolloutPlan's spec in cluster mode; without either
 * (no note, the RolloutPlan deleted or not readable) times are UTC. `--output json` prints the
 * records as journalled.
 *
 * Cluster mode (`-n NS`, `--kubeconfig`, `--context`, `--cluster`): the records of the
 * journal ConfigMap `rollgate-journal-NAME` (read with GET only; text output also GETs the
 * RolloutPlan for its time zone), printed the same way; a compacted journal is said so on
 * stderr (how many records were dropped).
 */
import type { Command } from 'commander';
import type { DecisionRecord } from '../core/record.js';
import type { KubeClient } from '../kube/client.js';
import { formatDecisionText } from '../observe/decision-log.js';
import { readPlanNote } from '../statedir/plan-note.js';
import { CliError, DEFAULT_STATE_DIR } from './options.js';
import { eachRecord, findRollout, openJournal } from './journal-reader.js';
import { compactionNote, clusterMode, getRolloutPlan, kubeClientFor, readKubeHistory, type ClusterFlags, clusterOptions, clusterTarget } from './kube-reader.js';
import { specTimeZone } from './status-summary.js';

interface HistoryFlags extends ClusterFlags {
  stateDir: string;
  output: string;
}

/** One record as a line (JSON) or as text with its times in `timeZone` (null: UTC). */
function printOne(r: DecisionRecord, output: string, timeZone: string | null): void {
  process.stdout.write(`${output === 'json' ? JSON.stringify(r) : formatDecisionText(r, timeZone)}\n`);
}

/**
 * The time zone of a RolloutPlan's spec for the text, null when it has none; a RolloutPlan
 * that cannot be read (deleted, forbidden, the API failing) leaves the times in UTC with a
 * note on stderr, since the records themselves were read.
 */
async function clusterTimeZone(client: KubeClient, namespace: string, name: string): Promise<string | null> {
  try {
    const plan = await getRolloutPlan(client, namespace, name);
    return plan ? specTimeZone(plan.spec) : null;
  } catch (err) {
    process.stderr.write(`note: times in UTC: ${(err as Error).message}\n`);
    return null;
  }
}

async function kubeHistory(client: KubeClient, name: string, flags: HistoryFlags): Promise<number> {
  const target = clusterTarget(client, name, flags);
  const { records, compacted, where } = await readKubeHistory(client, target.namespace, target.name);
  if (compacted) process.stderr.write(`${compactionNote(where, compacted)}\n`);
  const timeZone = flags.output === 'text' ? await clusterTimeZone(client, target.namespace, target.name) : null;
  for (const r of records) printOne(r, flags.output, timeZone);
  return 0;
}

/** `opts.client`: the Kubernetes client to use in cluster mode (tests); else from the flags. */
export async function historyCommand(name: string, flags: HistoryFlags, opts: { client?: KubeClient } = {}): Promise<number> {
  if (flags.output !== 'json' && flags.output !== 'text') throw new CliError(`--output: expected json or text, got "${flags.output}"`, 2);
  if (opts.client || clusterMode(flags)) return kubeHistory(opts.client ?? kubeClientFor(flags), name, flags);
  const journal = openJournal(flags.stateDir);
  const id = await findRollout(journal, name);
  const timeZone = flags.output === 'text' ? ((await readPlanNote(journal.stateDir, id))?.timeZone ?? null) : null;
  await eachRecord(journal, id, (r) => printOne(r, flags.output, timeZone));
  return 0;
}

export function register(program: Command): void {
  const cmd = program
    .command('history')
    .description('print the decision records of a rollout')
    .addHelpText('after', '\nExit status: 0, 1 unknown rollout or nothing to read (no state dir, cluster not reachable), 2 usage.')
    .argument('<name>', 'rollout name or namespace/name')
    .option('--state-dir <dir>', 'state dir of rollgate run', DEFAULT_STATE_DIR)
    .option('--output <format>', 'text or json (one record per line)', 'text');
  clusterOptions(cmd, 'namespace of the RolloutPlan (its journal ConfigMap)')
    .action(async (name: string, flags: HistoryFlags) => {
      process.exitCode = await historyCommand(name, flags);
    });
}
