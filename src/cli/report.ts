/**
 * `rollgate report NAME [-o FILE] [--format html|json] [--state-dir D] [--plan FILE]
 * [--prometheus URL]`: a rollout's page as one self-contained HTML file (the dashboard's
 * rollout page with its data embedded; nothing is fetched when it is opened), from the
 * rollout's journal and, when Prometheus answers, range queries of each metric over the
 * rollout's span (docs/dashboard.md, "Reports"). `--format json` writes the RolloutPage
 * instead. Exit status 0, 1 for an unknown rollout, 2 for a usage error.
 *
 * State-dir mode reads the JSONL journal (the plan, for phases, guard and Prometheus settings,
 * from `--plan FILE`; without it the phases are those the records show). Cluster mode (`-n NS`,
 * `--kubeconfig`, `--context`, `--cluster`) reads the journal ConfigMap and the RolloutPlan,
 * with GET only.
 */
import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import type { RolloutState } from '../core/state.js';
import { renderPage } from '../dashboard/page.js';
import { LatestRecords, latestFileRecords, type RecordsRead } from '../dashboard/records.js';
import { buildReport, REPORT_RECORDS } from '../dashboard/report.js';
import type { RolloutPage } from '../dashboard/view.js';
import type { KubeClient } from '../kube/client.js';
import { formatDiagnostic } from '../plan/diagnostic.js';
import { loadPlanFile, loadPlanObject } from '../plan/load.js';
import { rolloutId, type Plan } from '../plan/schema.js';
import { createLogger } from '../support/log.js';
import { findRollout, openJournal } from './journal-reader.js';
import { clusterMode, getRolloutPlan, kubeClientFor, readKubeHistory, type ClusterFlags, clusterOptions, clusterTarget } from './kube-reader.js';
import { CliError, DEFAULT_STATE_DIR } from './options.js';

interface ReportFlags extends ClusterFlags {
  stateDir: string;
  output?: string;
  format: string;
  plan?: string;
  prometheus?: string;
}

interface Journalled {
  id: string;
  state: RolloutState;
  records: RecordsRead;
  plan: Plan | null;
}

/** The plan of rollout `id` in `--plan FILE`: a usage error when the file is invalid or has no plan of it. */
async function planFromFile(file: string, id: string): Promise<Plan> {
  const { plans, diagnostics } = await loadPlanFile(file, { envMode: 'lenient' });
  const errors = diagnostics.filter((d) => d.severity === 'error');
  if (errors.length > 0) throw new CliError(`--plan: ${file} is not a valid plan:\n${errors.map(formatDiagnostic).join('\n')}`, 2);
  const plan = plans.find((p) => rolloutId(p.plan) === id)?.plan;
  if (!plan) throw new CliError(`--plan: ${file} has no plan of rollout ${id} (it has: ${plans.map((p) => rolloutId(p.plan)).join(', ') || 'none'})`, 2);
  return plan;
}

async function fromStateDir(name: string, flags: ReportFlags): Promise<Journalled> {
  const journal = openJournal(flags.stateDir);
  try {
    const id = await findRollout(journal, name);
    const plan = flags.plan ? await planFromFile(flags.plan, id) : null;
    return { id, state: await journal.replay(id), records: await latestFileRecords(journal, id, REPORT_RECORDS), plan };
  } finally {
    await journal.close();
  }
}

async function fromCluster(client: KubeClient, name: string, flags: ReportFlags): Promise<Journalled> {
  if (flags.plan) throw new CliError('--plan: only with a state dir; in cluster mode the plan is the RolloutPlan', 2);
  const { namespace, name: rollout } = clusterTarget(client, name, flags);
  const history = await readKubeHistory(client, namespace, rollout);
  const latest = new LatestRecords(REPORT_RECORDS);
  for (const r of history.records) latest.push(r);
  const kept = latest.result();
  const records = { records: kept.records, omitted: kept.omitted + (history.compacted?.records ?? 0) };
  const obj = await getRolloutPlan(client, namespace, rollout);
  // A RolloutPlan deleted (its journal not yet collected) or now invalid: the report has no plan.
  const plan = obj ? (loadPlanObject(obj, `rolloutplan ${history.id}`, { envMode: 'lenient' }).loaded?.plan ?? null) : null;
  return { id: history.id, state: history.state, records, plan };
}

/** `opts.client`: the Kubernetes client to use in cluster mode (tests); else from the flags. */
export async function reportCommand(name: string, flags: ReportFlags, opts: { client?: KubeClient } = {}): Promise<number> {
  if (flags.format !== 'html' && flags.format !== 'json') throw new CliError(`--format: expected html or json, got "${flags.format}"`, 2);
  const log = createLogger({ level: 'warn' });
  const j = opts.client || clusterMode(flags) ? await fromCluster(opts.client ?? kubeClientFor(flags), name, flags) : await fromStateDir(name, flags);
  const page: RolloutPage = await buildReport({ ...j, ...(flags.prometheus ? { prometheus: flags.prometheus } : {}), log, now: Date.now() });
  const text = flags.format === 'json' ? `${JSON.stringify(page)}\n` : renderPage({ view: 'report', data: page });
  if (flags.output && flags.output !== '-') {
    await writeFile(flags.output, text);
    process.stderr.write(`report of ${j.id} written to ${flags.output}${page.rangesNote ? ` (${page.rangesNote})` : ''}\n`);
  } else {
    process.stdout.write(text);
    if (page.rangesNote) process.stderr.write(`note: ${page.rangesNote}\n`);
  }
  return 0;
}

export function register(program: Command): void {
  const cmd = program
    .command('report')
    .description('write a rollout\'s page as one self-contained HTML file (journal + Prometheus ranges)')
    .addHelpText('after', '\nExit status: 0 written, 1 unknown rollout (no state dir or journal), 2 usage.')
    .argument('<name>', 'rollout name or namespace/name')
    .option('-o, --output <file>', 'write to this file (default: stdout)')
    .option('--format <format>', 'html (the page, data embedded, works offline) or json (the RolloutPage)', 'html')
    .option('--state-dir <dir>', 'state dir of rollgate run', DEFAULT_STATE_DIR)
    .option('--plan <file>', 'state-dir mode: the plan file of the rollout (phases, guard, Prometheus address and credentials)')
    .option('--prometheus <url>', 'Prometheus for the metric ranges (default: the plan\'s prometheus.address)');
  clusterOptions(cmd, 'namespace of the RolloutPlan (its journal ConfigMap)')
    .action(async (name: string, flags: ReportFlags) => {
      process.exitCode = await reportCommand(name, flags);
    });
}
