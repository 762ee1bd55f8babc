/**
 * `rollgate run FILE_OR_DIR... [--state-dir D] [--listen H:P] [--dashboard on|off]`: the
 * standalone controller; its HTTP address serves /metrics, /healthz, /readyz and the read-only
 * dashboard (docs/dashboard.md). Runs until SIGTERM or SIGINT, then stops cleanly (steps under way finish, notifications flush, the state dir is
 * released) and exits 0.
 */
import type { Command } from 'commander';
import { PlanLoadError, type StandaloneController } from '../standalone/host.js';
import { openStandalone } from '../wiring/compose.js';
import { StateDirLockedError } from '../statedir/lock.js';
import { createLogger } from '../support/log.js';
import { CliError, LOG_FORMAT_HELP, parseLogFormat, DEFAULT_STATE_DIR, parseListen, parseMaxQueries } from './options.js';

interface RunFlags {
  stateDir: string;
  prometheus?: string;
  listen: string;
  dashboard: string;
  maxQueries?: string;
  logLevel?: string;
  logFormat?: string;
}

/** `--dashboard on|off`. */
export function parseDashboardSwitch(text: string): boolean {
  if (text === 'on') return true;
  if (text === 'off') return false;
  throw new CliError(`--dashboard: expected on or off, got "${text}"`, 2);
}

export async function runCommand(paths: string[], flags: RunFlags): Promise<number> {
  const dashboard = parseDashboardSwitch(flags.dashboard);
  const log = createLogger({ format: parseLogFormat(flags.logFormat), ...(flags.logLevel ? { level: flags.logLevel } : {}) });
  // Listening for SIGTERM/SIGINT before anything is opened: a signal during start-up (journal
  // replay, the HTTP server already answering) opens no more rollouts and stops cleanly once
  // those being opened are, instead of killing the process with the state-dir lock held.
  let stopSignal: string | null = null;
  const startUp = new AbortController();
  const stopped = new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      stopSignal = signal;
      log.info({ signal }, 'stopping');
      startUp.abort();
      resolve();
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  let controller: StandaloneController;
  try {
    controller = await openStandalone({
      paths,
      stateDir: flags.stateDir,
      log,
      listen: parseListen(flags.listen),
      dashboard,
      signal: startUp.signal,
      ...(flags.prometheus ? { prometheus: flags.prometheus } : {}),
      ...(flags.maxQueries !== undefined ? { maxQueries: parseMaxQueries(flags.maxQueries) } : {}),
    });
  } catch (err) {
    if (err instanceof PlanLoadError || err instanceof StateDirLockedError) throw new CliError(err.message, 1);
    throw err;
  }
  log.info({ stateDir: flags.stateDir, rollouts: controller.runners().map((r) => r.id) }, 'rollgate run started');
  if (stopSignal === null) await Promise.race([stopped, controller.start()]);
  await controller.close();
  log.info('rollgate run stopped cleanly');
  return 0;
}

export function register(program: Command): void {
  program
    .command('run')
    .description('run every rollout of the plan files (standalone controller)')
    .addHelpText('after', '\nExit status: 0 after a clean stop (SIGTERM or SIGINT), 1 invalid plans at start, the state dir owned by another\ncontroller or another failure to start, 2 usage.')
    .argument('<paths...>', 'plan files or directories of *.yaml')
    .option('--state-dir <dir>', 'journal and lock directory', DEFAULT_STATE_DIR)
    .option('--prometheus <url>', 'Prometheus for plans without prometheus.address')
    .option('--listen <host:port>', '/metrics, /healthz, /readyz and dashboard address, or off', '127.0.0.1:9464')
    .option('--dashboard <on|off>', 'serve the read-only dashboard on the --listen address (docs/dashboard.md)', 'on')
    .option('--max-queries <n>', 'Prometheus queries in flight at once, for all rollouts (default 32)')
    .option('--log-level <level>', 'trace, debug, info, warn, error')
    .option('--log-format <format>', LOG_FORMAT_HELP)
    .action(async (paths: string[], flags: RunFlags) => {
      process.exitCode = await runCommand(paths, flags);
      // Stopped cleanly: a step cut short by the drain bound may still wait on Prometheus; it is
      // abandoned (its decision, if any, is journalled), not waited for.
      process.exit();
    });
}
