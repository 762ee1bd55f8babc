/**
 * `rollgate validate FILE...`: checks plan files (directories: their *.yaml / *.yml).
 * Prints every problem on stdout as `FILE:LINE:COL: path.to.field: message` (warnings with
 * `warning: ` before the message), then one summary line per file.
 * Exit status: 0 all valid (warnings allowed), 1 any invalid or unreadable, 2 usage.
 * `${NAME}` references to unset variables are warnings here (lenient mode).
 */
import type { Command } from 'commander';
import { formatDiagnostic, hasErrors, type Diagnostic } from '../plan/diagnostic.js';
import { loadPlanFile, planFiles } from '../plan/load.js';

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

function summary(file: string, plans: number, diagnostics: Diagnostic[]): string {
  const errors = diagnostics.filter((d) => d.severity === 'error').length;
  const warnings = diagnostics.length - errors;
  const w = warnings > 0 ? ` (${plural(warnings, 'warning')})` : '';
  if (errors > 0) return `${file}: invalid: ${plural(errors, 'error')}${warnings > 0 ? `, ${plural(warnings, 'warning')}` : ''}`;
  if (plans === 0) return `${file}: invalid: no ${'RolloutPlan'} document found${w}`;
  return `${file}: ${plural(plans, 'plan')} valid${w}`;
}

export interface ValidateOptions {
  prometheus?: string;
}

/** Validates `paths`, writing to `out`; returns the exit status. */
export async function validateFiles(paths: string[], opts: ValidateOptions, out: (line: string) => void): Promise<number> {
  const { files, diagnostics: unreadable } = await planFiles(paths);
  let ok = unreadable.length === 0;
  for (const d of unreadable) out(formatDiagnostic(d));
  for (const file of files) {
    const { plans, diagnostics } = await loadPlanFile(file, { envMode: 'lenient', prometheus: opts.prometheus });
    for (const d of diagnostics) out(formatDiagnostic(d));
    if (hasErrors(diagnostics) || plans.length === 0) ok = false;
    out(summary(file, plans.length, diagnostics));
  }
  return ok ? 0 : 1;
}

export function register(program: Command): void {
  program
    .command('validate')
    .description('check plan files; each problem is printed as FILE:LINE:COL: path.to.field: message')
    .argument('<file...>', 'plan files or directories (their *.yaml and *.yml)')
    .option('--prometheus <url>', "the Prometheus address the controller will be given (silences the missing prometheus.address warning)")
    .addHelpText('after', '\nExit status: 0 valid (warnings allowed), 1 invalid, 2 usage.')
    .action(async (files: string[], opts: ValidateOptions) => {
      process.exitCode = await validateFiles(files, opts, (line) => process.stdout.write(`${line}\n`));
    });
}
