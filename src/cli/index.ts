/**
 * The `rollgate` command line. Each command lives in its own module exporting
 * `register(program)`; this file only lists them. Commander errors (unknown command or
 * option, missing argument) are usage errors: entry.ts turns them into exit status 2. The
 * program's name is what help and usage lines say: `rollgate`, or `kubectl rollgate` for
 * the kubectl plugin.
 */
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { register as registerValidate } from './validate.js';
import { register as registerPlan } from './plan-command.js';
import { register as registerRun } from './run.js';
import { register as registerSimulate } from './simulate.js';
import { register as registerStatus } from './status.js';
import { register as registerHistory } from './history.js';
import { register as registerManual } from './manual.js';
import { register as registerController } from './controller.js';
import { register as registerSchema } from './schema.js';
import { register as registerReport } from './report.js';
import { register as registerConvert } from './convert.js';
import { register as registerHelp } from './help.js';

function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

/** Throw on errors and --help instead of exiting, at every level of commands. */
function throwInsteadOfExit(cmd: Command): void {
  cmd.exitOverride();
  for (const sub of cmd.commands) throwInsteadOfExit(sub);
}

/** The command line; `name`: the program as the user types it (`kubectl rollgate` for the plugin). */
export function buildProgram(name = 'rollgate'): Command {
  const program = new Command(name)
    .description('Progressive-delivery rollout controller: phases, Prometheus checkpoints, guarded rollback, a decision journal')
    .version(packageVersion(), '-V, --version')
    .showSuggestionAfterError(true)
    // Commander puts its "(Did you mean status?)" on a line of its own; one line reads (and
    // greps) as one error: `error: unknown command 'stauts' (Did you mean status?)`.
    .configureOutput({ outputError: (text, write) => write(text.replace('\n(Did you mean', ' (Did you mean')) })
    .exitOverride();

  registerValidate(program);
  registerPlan(program);
  registerRun(program);
  registerSimulate(program);
  registerStatus(program);
  registerHistory(program);
  registerReport(program);
  registerManual(program);
  registerController(program);
  registerSchema(program);
  registerConvert(program);
  registerHelp(program, () => buildProgram(name));

  throwInsteadOfExit(program);
  return program;
}
