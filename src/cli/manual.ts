/**
 * `rollgate pause|resume|promote|abort|retry NAME [--reason TEXT]`: manual decisions,
 * recorded with actor and reason. Exit status 0 when accepted, 1 when refused (the reason is
 * printed) or when no controller answers.
 *
 * - state-dir mode (default): handed to the `rollgate run` owning `--state-dir` (the inbox).
 * - cluster mode (`-n/--namespace`, `--kubeconfig`, `--context` or `--cluster`): written as
 *   the `rollgate.dev/request` annotation on the RolloutPlan, answered by the leading
 *   `rollgate controller` in its status; the actor is the kubeconfig user.
 */
import type { Command } from 'commander';
import { InboxError, submitManualRequest, MANUAL_ACTIONS, type ManualAction } from '../statedir/inbox.js';
import { clusterMode, kubeClientFor, clusterOptions, clusterTarget } from './kube-reader.js';
import { KubeRequestError, submitKubeRequest } from '../cluster/requests.js';
import { CliError, DEFAULT_STATE_DIR } from './options.js';

interface ManualFlags {
  stateDir: string;
  reason?: string;
  actor?: string;
  timeout: string;
  namespace?: string;
  kubeconfig?: string;
  context?: string;
  cluster?: boolean;
}

const HELP: Record<ManualAction, string> = {
  pause: 'hold the current split; checkpoints stop, the guard keeps watching',
  resume: 'continue a paused rollout',
  promote: 'approve the waiting phase, or skip the rest of the current phase',
  abort: 'roll back now (gradually if the plan says so; abort again to go to 0% at once)',
  retry: 'start a rolled-back rollout again from its first phase',
};

function print(res: { accepted: boolean; message: string; seq?: number | null | undefined }): number {
  if (res.accepted) {
    process.stdout.write(`${res.message}${res.seq ? ` (decision #${res.seq})` : ''}\n`);
    return 0;
  }
  process.stderr.write(`refused: ${res.message}\n`);
  return 1;
}

/** Cluster mode: NAME or NAMESPACE/NAME; the namespace from -n, else the context's, else default. */
async function kubeManual(action: ManualAction, name: string, flags: ManualFlags): Promise<number> {
  if (flags.actor) throw new CliError('--actor: in cluster mode the actor is the kubeconfig user; leave --actor out', 2);
  const client = kubeClientFor(flags);
  const { namespace, name: rollout } = clusterTarget(client, name, flags);
  try {
    const res = await submitKubeRequest(
      client,
      { namespace, name: rollout, action, ...(flags.reason ? { reason: flags.reason } : {}) },
      { timeoutMs: Math.max(1, Number(flags.timeout)) * 1000 },
    );
    return print(res);
  } catch (err) {
    if (err instanceof KubeRequestError) throw new CliError(err.message, 1);
    throw err;
  }
}

export async function manualCommand(action: ManualAction, name: string, flags: ManualFlags): Promise<number> {
  if (clusterMode(flags)) return kubeManual(action, name, flags);
  try {
    const res = await submitManualRequest(
      flags.stateDir,
      { rollout: name, action, ...(flags.reason ? { reason: flags.reason } : {}), ...(flags.actor ? { actor: flags.actor } : {}) },
      { timeoutMs: Math.max(1, Number(flags.timeout)) * 1000 },
    );
    return print(res);
  } catch (err) {
    if (err instanceof InboxError) throw new CliError(err.message, 1);
    throw err;
  }
}

export function register(program: Command): void {
  for (const action of MANUAL_ACTIONS) {
    const cmd = program
      .command(action)
      .description(HELP[action])
      .addHelpText('after', '\nExit status: 0 accepted, 1 refused (the reason on stderr) or no controller answered within --timeout, 2 usage.')
      .argument('<name>', 'rollout name or namespace/name')
      .option('--reason <text>', 'why (recorded in the journal)')
      .option('--actor <name>', 'who acts (default: user@host; state-dir mode only)')
      .option('--state-dir <dir>', 'state dir of rollgate run', DEFAULT_STATE_DIR)
      .option('--timeout <seconds>', 'how long to wait for the controller', '30');
    clusterOptions(cmd, 'namespace of the RolloutPlan')
      .action(async (name: string, flags: ManualFlags) => {
        process.exitCode = await manualCommand(action, name, flags);
      });
  }
}
