/**
 * `rollgate validate FILE...`: checks plan files (directories: their *.yaml / *.yml).
 * Prints every problem on stdout as `FILE:LINE:COL: path.to.field: message` (warnings with
 * `warning: ` before the message), then one summary line per file.
 * Exit status: 0 all valid (warnings allowed), 1 any invalid or unreadable, 2 usage.
 * `${NAME}` references to unset variables are warnings here (lenient mode).
 * With `--prometheus URL`, every query of a valid plan is also run once at now against URL
 * (validate-prometheus.ts): refused queries, an unreachable Prometheus and several series are
 * errors, empty results and NaN warnings, and the values are listed.
 */
import type { Command } from 'commander';
import { formatDiagnostic, hasErrors, type Diagnostic } from '../plan/diagnostic.js';
import { readFile } from 'node:fs/promises';
import { loadPlanFile, planFiles } from '../plan/load.js';
import { runQueriesOnce } from './validate-prometheus.js';

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
  /** Now, for the queries run with `prometheus` (epoch ms). Default: the wall clock. */
  now?: number;
}

/** Validates `paths`, writing to `out`; returns the exit status. */
export async function validateFiles(paths: string[], opts: ValidateOptions, out: (line: string) => void): Promise<number> {
  const { files, diagnostics: unreadable } = await planFiles(paths);
  let ok = unreadable.length === 0;
  for (const d of unreadable) out(formatDiagnostic(d));
  for (const file of files) {
    const { plans, diagnostics } = await loadPlanFile(file, { envMode: 'lenient', prometheus: opts.prometheus });
    const answered: string[] = [];
    if (opts.prometheus && plans.length > 0 && !hasErrors(diagnostics)) {
      const text = await readFile(file, 'utf8');
      for (const loaded of plans) {
        for (const r of await runQueriesOnce(loaded, text, opts.prometheus, opts.now ?? Date.now())) {
          if (r.diagnostic) diagnostics.push(r.diagnostic);
          else answered.push(`${r.metric} = ${r.value}`);
        }
      }
      diagnostics.sort((a, b) => a.line - b.line || a.col - b.col);
    }
    for (const d of diagnostics) out(formatDiagnostic(d));
    if (hasErrors(diagnostics) || plans.length === 0) ok = false;
    out(summary(file, plans.length, diagnostics));
    if (answered.length > 0) out(`${file}: answered at now by ${opts.prometheus}: ${answered.join(', ')}`);
  }
  return ok ? 0 : 1;
}

export function register(program: Command): void {
  program
    .command('validate')
    .description('check plan files; each problem is printed as FILE:LINE:COL: path.to.field: message')
    .argument('<file...>', 'plan files or directories (their *.yaml and *.yml)')
    .option(
      '--prometheus <url>',
      'also run every query once at now against this Prometheus (with the plan\'s credentials): refused queries, an unreachable Prometheus and several series are errors, empty results warnings; silences the missing prometheus.address warning',
    )
    .addHelpText('after', '\nExit status: 0 valid (warnings allowed), 1 invalid (with --prometheus: also a query that cannot run or returns several series), 2 usage.')
    .action(async (files: string[], opts: ValidateOptions) => {
      process.exitCode = await validateFiles(files, opts, (line) => process.stdout.write(`${line}\n`));
    });
}
