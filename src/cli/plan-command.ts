/**
 * `rollgate plan FILE [--from T]`: the timeline of each plan in FILE if every checkpoint
 * passes, as a table on stdout: phases with their split and when it is applied, then each
 * checkpoint with its due time (ISO 8601, UTC) and the span it judges (`{{window}}`).
 * Problems go to stderr. Exit status: 0, 1 invalid plan or unreadable file, 2 usage.
 */
import type { Command } from 'commander';
import { formatDiagnostic, hasErrors } from '../plan/diagnostic.js';
import { formatDuration } from '../plan/duration.js';
import { loadPlanFile, type LoadedPlan } from '../plan/load.js';
import { rolloutId } from '../plan/schema.js';
import { timeline, type Timeline } from '../plan/timeline.js';
import { formatSpan } from '../support/human-time.js';
import { parseTimeOption, TIME_FORMS } from './options.js';

/** ISO 8601 UTC without zero milliseconds: 2025-11-01T14:00:00Z. */
export function utc(ms: number): string {
  return new Date(ms).toISOString().replace('.000Z', 'Z');
}

function table(rows: string[][]): string[] {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ').trimEnd());
}

const pct = (n: number) => `${n}%`;

/** The timeline as lines of text. */
export function formatTimeline(loaded: LoadedPlan, tl: Timeline): string[] {
  const { plan } = loaded;
  const lines = [
    `${rolloutId(plan)} revision ${plan.spec.revision} (${loaded.file}, ${loaded.hash.slice(0, 19)})`,
    `timeline from ${utc(tl.from)} if every checkpoint passes (approvals assumed granted at once)`,
    '',
  ];
  const rows: string[][] = [['PHASE', 'WEIGHT', 'MIRROR', 'SPLIT APPLIED AT', 'CHECKPOINT', 'DUE', 'WINDOW', 'NOTES']];
  for (const p of tl.phases) {
    const notes: string[] = [];
    if (p.approval) notes.push('approval needed');
    for (const w of p.waits) {
      if (w.until === null) notes.push(`never begins: ${w.reason}, and no window ahead`);
      else if (w.waitingFor === 'startAt') notes.push(`waits ${formatSpan(w.until - w.from)} for ${w.reason}`);
      else notes.push(`waits ${formatSpan(w.until - w.from)}: ${w.reason}`);
    }
    const phase = plan.spec.phases[p.index]!;
    if (phase.settle > 0) notes.push(`settle ${formatDuration(phase.settle)}`);
    const applied = p.appliedAt === null ? 'never' : utc(p.appliedAt);
    rows.push([p.name, pct(p.weight), pct(p.mirror), applied, '', '', '', notes.join('; ')]);
    for (const c of p.checkpoints) {
      rows.push(['', '', '', '', `${c.index}/${c.of}`, utc(c.due), c.window, c.late ? 'late: the instant passed before the phase began' : '']);
    }
  }
  lines.push(...table(rows), '');
  lines.push(tl.completeAt === null ? 'never completes: a phase cannot begin' : `complete at ${utc(tl.completeAt)}`);
  return lines;
}

export interface PlanCommandOptions {
  from: number;
}

/** Prints the timelines of `file`; returns the exit status. */
export async function planFile(file: string, opts: PlanCommandOptions, out: (line: string) => void, err: (line: string) => void): Promise<number> {
  const { plans, diagnostics } = await loadPlanFile(file, { envMode: 'lenient' });
  for (const d of diagnostics) err(formatDiagnostic(d));
  if (hasErrors(diagnostics)) return 1;
  if (plans.length === 0) {
    err(`${file}: no RolloutPlan document found`);
    return 1;
  }
  plans.forEach((loaded, i) => {
    if (i > 0) out('');
    for (const line of formatTimeline(loaded, timeline(loaded.plan, opts.from))) out(line);
  });
  return 0;
}

export function register(program: Command): void {
  program
    .command('plan')
    .description('print the timeline of a plan: every phase, split and checkpoint with absolute times, if every checkpoint passes')
    .argument('<file>', 'plan file')
    .option('--from <time>', `when the rollout would begin (default: now): ${TIME_FORMS}`)
    .addHelpText('after', '\nExit status: 0, 1 invalid plan, 2 usage.')
    .action(async (file: string, opts: { from?: string }) => {
      const write = (stream: NodeJS.WriteStream) => (line: string) => stream.write(`${line}\n`);
      const from = opts.from === undefined ? Date.now() : parseTimeOption(opts.from, '--from');
      process.exitCode = await planFile(file, { from }, write(process.stdout), write(process.stderr));
    });
}
