/**
 * What the executables do (src/main.ts `rollgate`, src/kubectl-rollgate.ts the kubectl
 * plugin): build the command line under the name the user typed (`rollgate`, or
 * `kubectl rollgate`, which help and usage lines show), parse the arguments and turn the
 * outcome into an exit status. Usage errors exit 2; an error carrying a numeric `exitCode`
 * (the commands' CliError) prints one line and exits with it; any other error prints one
 * line (`rollgate: message`) and exits 1. Stack traces only with ROLLGATE_DEBUG=1.
 *
 * Standard output closed by its reader (`rollgate history NAME | head`) ends the command
 * quietly, with the status it has so far (0 when none), as a Unix tool killed by SIGPIPE would
 * stop: Node ignores SIGPIPE and would otherwise die of an unhandled EPIPE with a stack trace.
 */
import { CommanderError } from 'commander';
import { buildProgram } from './index.js';

function exitCodeOf(err: unknown): number {
  const code = (err as { exitCode?: unknown } | null)?.exitCode;
  return typeof code === 'number' && Number.isInteger(code) && code > 0 ? code : 1;
}

/** Runs the command line of `argv` (node's: the script at [1], the user's arguments after it) as `name`; sets process.exitCode. */
export async function runCli(argv: string[], name: string): Promise<void> {
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
    process.exit(process.exitCode ?? 0);
  });
  try {
    await buildProgram(name).parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // Commander has already printed the message (or the help).
      process.exitCode = err.exitCode === 0 ? 0 : 2;
      return;
    }
    const debug = process.env.ROLLGATE_DEBUG === '1';
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(debug && err instanceof Error && err.stack ? `${err.stack}\n` : `rollgate: ${message}\n`);
    process.exitCode = exitCodeOf(err);
  }
}
