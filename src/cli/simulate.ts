/**
 * `rollgate simulate FILE [--from T] [--until T] [--prometheus URL] [--output json|text]`:
 * runs the plan in virtual time against Prometheus history, touching no traffic.
 * With `--output json` stdout carries exactly one decision record per line and nothing else.
 * Exit status: 0 complete, 10 rolled back, 11 paused or unfinished, 12 Prometheus history not
 * available (unreachable, refusing, failing: probed before the run, and any such failure during
 * it ends the simulation), 1 invalid plan, 2 usage.
 * `${NAME}` references are expanded strictly except in spec.notify and spec.traffic, which a
 * simulation does not use (SIMULATION_UNREAD).
 */
import type { Command } from 'commander';
import { loadPlanFile } from '../plan/load.js';
import { formatDiagnostic, hasErrors, type PathSegment } from '../plan/diagnostic.js';
import { rolloutId } from '../plan/schema.js';
import { isoTime } from '../plan/duration.js';
import { PrometheusProvider, providerOptionsFromPlan } from '../metrics/prometheus.js';
import { HistoryUnavailableError, PrometheusHistory } from '../metrics/history.js';
import { simulate } from '../host/simulate.js';
import { formatDecisionText } from '../observe/decision-log.js';
import { planTimeZone } from '../plan/windows.js';
import { createLogger, rolloutLogger } from '../support/log.js';
import { CliError, LOG_FORMAT_HELP, parseLogFormat, parseTimeOption, TIME_FORMS } from './options.js';

/**
 * What a simulation never reads: it posts no webhook and touches no router, so `${NAME}` in
 * these sections needs no value (a webhook URL is a secret the simulating machine may not have).
 */
const SIMULATION_UNREAD: readonly PathSegment[][] = [
  ['spec', 'notify'],
  ['spec', 'traffic'],
];

/** Retries of the reachability probe: one, so that a dead address fails within seconds. */
const PROBE_RETRIES = 1;

interface SimulateFlags {
  from?: string;
  until?: string;
  prometheus?: string;
  output: string;
  rollout?: string;
  logFormat?: string;
}

export async function simulateCommand(file: string, flags: SimulateFlags): Promise<number> {
  if (flags.output !== 'json' && flags.output !== 'text') throw new CliError(`--output: expected json or text, got "${flags.output}"`, 2);
  const fromFlag = flags.from === undefined ? undefined : parseTimeOption(flags.from, '--from');
  const untilFlag = flags.until === undefined ? undefined : parseTimeOption(flags.until, '--until');
  const log = createLogger({ level: process.env.ROLLGATE_LOG_LEVEL ?? 'warn', format: parseLogFormat(flags.logFormat) });
  const { plans, diagnostics } = await loadPlanFile(file, {
    envMode: 'strict',
    unread: SIMULATION_UNREAD,
    ...(flags.prometheus ? { prometheus: flags.prometheus } : {}),
  });
  for (const d of diagnostics) process.stderr.write(`${formatDiagnostic(d)}\n`);
  if (hasErrors(diagnostics) || plans.length === 0) return 1;
  const chosen = flags.rollout ? plans.filter((p) => p.plan.metadata.name === flags.rollout || rolloutId(p.plan) === flags.rollout) : plans;
  if (chosen.length === 0) throw new CliError(`--rollout: no plan named ${flags.rollout} in ${file}`, 2);
  const out = (line: string) => process.stdout.write(`${line}\n`);
  const note = (line: string) => (flags.output === 'json' ? process.stderr : process.stdout).write(`${line}\n`);
  let worst = 0;
  for (const loaded of chosen) {
    const spec = loaded.plan.spec;
    const from = fromFlag ?? spec.startAt;
    if (from === undefined) throw new CliError(`--from is required: ${rolloutId(loaded.plan)} has no spec.startAt to start the simulation at`, 2);
    const until = untilFlag ?? Date.now();
    if (until <= from) throw new CliError(`--until (${isoTime(until)}) must be after --from (${isoTime(from)})`, 2);
    let provider: PrometheusHistory;
    try {
      const options = providerOptionsFromPlan(spec.prometheus, { log: rolloutLogger(log, rolloutId(loaded.plan)), ...(flags.prometheus ? { address: flags.prometheus } : {}) });
      provider = new PrometheusHistory({
        prometheus: new PrometheusProvider(options),
        probe: new PrometheusProvider({ ...options, retries: PROBE_RETRIES }),
        address: options.address,
      });
    } catch (err) {
      throw new CliError((err as Error).message, 2);
    }
    let result;
    try {
      await provider.probe(from);
      result = await simulate(loaded, {
        from,
        until,
        provider,
        log,
        onRecord: (r) => out(flags.output === 'json' ? JSON.stringify(r) : formatDecisionText(r, planTimeZone(spec))),
      });
    } catch (err) {
      if (err instanceof HistoryUnavailableError) {
        throw new CliError(`simulation of ${rolloutId(loaded.plan)} stopped: ${err.message}`, err.exitCode);
      }
      throw err;
    }
    const s = result.state;
    note(
      `simulated ${rolloutId(loaded.plan)} from ${isoTime(from)} to ${isoTime(until)}: ${s.status} at phase ${s.phaseName} (${s.weight}% canary), ` +
        `${result.records.length} decisions; guard queries: ${result.prefetch.rangeRequests} range + ${result.prefetch.instantFallbacks} instant requests`,
    );
    worst = Math.max(worst, result.exitCode);
  }
  return worst;
}

export function register(program: Command): void {
  program
    .command('simulate')
    .description('run a plan in virtual time against Prometheus history (no traffic is touched)')
    .addHelpText(
      'after',
      '\nExit status: 0 complete, 10 rolled back, 11 paused or unfinished, 12 Prometheus history not available\n' +
        '(unreachable or failing: probed before the run; such a failure during the run ends it), 1 invalid plan, 2 usage.',
    )
    .argument('<file>', 'plan file')
    .option('--from <time>', `simulated start (default: spec.startAt): ${TIME_FORMS}`)
    .option('--until <time>', 'simulated end, in the same forms (default: now)')
    .option('--prometheus <url>', 'Prometheus to query instead of the plan\'s prometheus.address')
    .option('--output <format>', 'json (one record per line) or text', 'text')
    .option('--rollout <name>', 'simulate only this plan of a multi-document file')
    .option('--log-format <format>', LOG_FORMAT_HELP)
    .action(async (file: string, flags: SimulateFlags) => {
      process.exitCode = await simulateCommand(file, flags);
    });
}
