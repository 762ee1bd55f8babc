/**
 * `rollgate history NAME [--state-dir D] [--output json|text]`: the decision records of a
 * rollout, oldest first. Exit status 0, or 1 for an unknown rollout.
 *
 * Cluster mode (`-n NS`, `--kubeconfig`, `--context`, `--cluster`): the records of the
 * journal ConfigMap `rollgate-journal-NAME` (read with GET only), printed the same way; a
 * compacted journal is said so on stderr (how many records were dropped).
 */
import type { Command } from 'commander';
import type { DecisionRecord } from '../core/record.js';
import type { KubeClient } from '../kube/client.js';
import { formatDecisionText } from '../observe/decision-log.js';
import { CliError, DEFAULT_STATE_DIR } from './options.js';
import { eachRecord, findRollout, openJournal } from './journal-reader.js';
import { compactionNote, defaultNamespace, clusterMode, kubeClientFor, readKubeHistory, splitName, type ClusterFlags } from './kube-reader.js';

interface HistoryFlags extends ClusterFlags {
  stateDir: string;
  output: string;
}

function printOne(r: DecisionRecord, output: string): void {
  process.stdout.write(`${output === 'json' ? JSON.stringify(r) : formatDecisionText(r)}\n`);
}

function print(records: DecisionRecord[], output: string): void {
  for (const r of records) printOne(r, output);
}

async function kubeHistory(client: KubeClient, name: string, flags: HistoryFlags): Promise<number> {
  const target = splitName(name, flags);
  const namespace = target.namespace ?? defaultNamespace(client, flags);
  const { records, compacted, where } = await readKubeHistory(client, namespace, target.name);
  if (compacted) process.stderr.write(`${compactionNote(where, compacted)}\n`);
  print(records, flags.output);
  return 0;
}

/** `opts.client`: the Kubernetes client to use in cluster mode (tests); else from the flags. */
export async function historyCommand(name: string, flags: HistoryFlags, opts: { client?: KubeClient } = {}): Promise<number> {
  if (flags.output !== 'json' && flags.output !== 'text') throw new CliError(`--output: expected json or text, got "${flags.output}"`, 2);
  if (opts.client || clusterMode(flags)) return kubeHistory(opts.client ?? kubeClientFor(flags), name, flags);
  const journal = openJournal(flags.stateDir);
  const id = await findRollout(journal, name);
  await eachRecord(journal, id, (r) => printOne(r, flags.output));
  return 0;
}

export function register(program: Command): void {
  program
    .command('history')
    .description('print the decision records of a rollout')
    .addHelpText('after', '\nExit status: 0, 1 unknown rollout or nothing to read (no state dir, cluster not reachable), 2 usage.')
    .argument('<name>', 'rollout name or namespace/name')
    .option('--state-dir <dir>', 'state dir of rollgate run', DEFAULT_STATE_DIR)
    .option('--output <format>', 'text or json (one record per line)', 'text')
    .option('-n, --namespace <ns>', 'cluster mode: namespace of the RolloutPlan (its journal ConfigMap)')
    .option('--kubeconfig <file>', 'cluster mode: kubeconfig file')
    .option('--context <name>', 'cluster mode: kubeconfig context')
    .option('--cluster', 'cluster mode with the current kubeconfig context')
    .action(async (name: string, flags: HistoryFlags) => {
      process.exitCode = await historyCommand(name, flags);
    });
}
