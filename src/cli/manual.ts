/**
 * `rollgate pause|resume|promote|abort|retry NAME [--reason TEXT]`: manual decisions, handed
 * to the running controller of the state dir, recorded with actor and reason. Exit status 0
 * when accepted, 1 when refused (the reason is printed) or when no controller answers.
 */
import type { Command } from 'commander';
import { InboxError, submitManualRequest, MANUAL_ACTIONS, type ManualAction } from '../journal/inbox.js';
import { CliError, DEFAULT_STATE_DIR } from './options.js';

interface ManualFlags {
  stateDir: string;
  reason?: string;
  actor?: string;
  timeout: string;
}

const HELP: Record<ManualAction, string> = {
  pause: 'hold the current split; checkpoints stop, the guard keeps watching',
  resume: 'continue a paused rollout',
  promote: 'approve the waiting phase, or skip the rest of the current phase',
  abort: 'roll back now (gradually if the plan says so; abort again to go to 0% at once)',
  retry: 'start a rolled-back rollout again from its first phase',
};

export async function manualCommand(action: ManualAction, name: string, flags: ManualFlags): Promise<number> {
  try {
    const res = await submitManualRequest(
      flags.stateDir,
      { rollout: name, action, ...(flags.reason ? { reason: flags.reason } : {}), ...(flags.actor ? { actor: flags.actor } : {}) },
      { timeoutMs: Math.max(1, Number(flags.timeout)) * 1000 },
    );
    if (res.accepted) {
      process.stdout.write(`${res.message}${res.seq ? ` (decision #${res.seq})` : ''}\n`);
      return 0;
    }
    process.stderr.write(`refused: ${res.message}\n`);
    return 1;
  } catch (err) {
    if (err instanceof InboxError) throw new CliError(err.message, 1);
    throw err;
  }
}

export function register(program: Command): void {
  for (const action of MANUAL_ACTIONS) {
    program
      .command(action)
      .description(HELP[action])
      .argument('<name>', 'rollout name or namespace/name')
      .option('--reason <text>', 'why (recorded in the journal)')
      .option('--actor <name>', 'who acts (default: user@host)')
      .option('--state-dir <dir>', 'state dir of rollgate run', DEFAULT_STATE_DIR)
      .option('--timeout <seconds>', 'how long to wait for the controller', '30')
      .action(async (name: string, flags: ManualFlags) => {
        process.exitCode = await manualCommand(action, name, flags);
      });
  }
}
