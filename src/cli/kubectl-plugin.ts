/**
 * The kubectl plugin's command line (src/kubectl-rollgate.ts): kubectl runs `kubectl-rollgate`
 * for `kubectl rollgate ARGS...` and passes ARGS as they are, `-n`, `-A`, `--context` and
 * `--kubeconfig` included. The commands that have a cluster mode (status, history, report and
 * the manual ones) get `--cluster`, so that `kubectl rollgate status` reads the RolloutPlans of the
 * kubeconfig's current context and namespace, as kubectl would, instead of a state dir; every
 * other command (validate, plan, simulate, schema, controller, ...) runs as `rollgate` runs it.
 */
import { MANUAL_ACTIONS } from '../statedir/inbox-protocol.js';

/** The commands that read or act on rollouts either in a state dir or in the cluster (those with kube-reader's clusterOptions). */
const CLUSTER_COMMANDS: readonly string[] = ['status', 'history', 'report', ...MANUAL_ACTIONS];

/** rollgate's arguments for the plugin's: `--cluster` right after a command that has a cluster mode. */
export function kubectlPluginArgs(args: readonly string[]): string[] {
  // rollgate's own options (--version, --help) take no value, so the command is the first word.
  const at = args.findIndex((a) => !a.startsWith('-'));
  if (at < 0 || !CLUSTER_COMMANDS.includes(args[at]!)) return [...args];
  return [...args.slice(0, at + 1), '--cluster', ...args.slice(at + 1)];
}
