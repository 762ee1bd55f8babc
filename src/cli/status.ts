/**
 * `rollgate status [NAME] [--state-dir D] [--watch] [--output json|text]`: current phase,
 * split, next action and last decision of each rollout, from the journals.
 */
import type { Command } from 'commander';
import type { FileJournal } from '../journal/file-journal.js';
import { CliError, DEFAULT_STATE_DIR } from './options.js';
import { findRollout, openJournal, readRollout, type RolloutView } from './journal-reader.js';

interface StatusFlags {
  stateDir: string;
  watch?: boolean;
  output: string;
  interval: string;
}

function split(v: RolloutView): string {
  const s = v.state;
  return `${s.weight}%${s.mirror > 0 ? ` +${s.mirror}% mirror` : ''}`;
}

function next(v: RolloutView): string {
  const s = v.state;
  if (s.status === 'complete' || s.status === 'rolled-back') return '-';
  if (s.status === 'paused') return 'a person (resume, promote, abort)';
  if (s.waitingFor === 'approval') return 'approval (rollgate promote)';
  const n = v.records.at(-1)?.next;
  return n ? `${n.what} at ${n.at}` : '-';
}

export function statusSummary(v: RolloutView) {
  const s = v.state;
  const last = s.last;
  return {
    rollout: v.id,
    revision: s.revision,
    status: s.status,
    phase: s.phaseName,
    weight: s.weight,
    mirror: s.mirror,
    applied: s.applied ? { weight: s.applied.weight, mirror: s.applied.mirror, at: new Date(s.applied.at).toISOString() } : null,
    waitingFor: s.waitingFor,
    next: next(v),
    lastDecision: last ? { seq: last.seq, decision: last.decision, kind: last.kind, at: last.at, reason: last.reason, actor: last.actor } : null,
  };
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')).join('\n');
}

async function views(journal: FileJournal, name?: string): Promise<RolloutView[]> {
  const ids = name ? [await findRollout(journal, name)] : await journal.rollouts();
  return Promise.all(ids.map((id) => readRollout(journal, id)));
}

async function render(journal: FileJournal, flags: StatusFlags, name?: string): Promise<string> {
  const vs = await views(journal, name);
  if (flags.output === 'json') return vs.map((v) => JSON.stringify(statusSummary(v))).join('\n');
  if (vs.length === 0) return `no rollouts in ${journal.stateDir}`;
  const rows = [['ROLLOUT', 'REVISION', 'STATUS', 'PHASE', 'SPLIT', 'NEXT', 'LAST DECISION']];
  for (const v of vs) {
    const last = v.state.last;
    rows.push([
      v.id,
      v.state.revision,
      v.state.status,
      v.state.phaseName || '-',
      split(v),
      next(v),
      last ? `#${last.seq} ${last.decision} at ${last.at}: ${last.reason}` : '-',
    ]);
  }
  return table(rows);
}

export async function statusCommand(name: string | undefined, flags: StatusFlags): Promise<number> {
  if (flags.output !== 'json' && flags.output !== 'text') throw new CliError(`--output: expected json or text, got "${flags.output}"`, 2);
  const journal = openJournal(flags.stateDir);
  if (!flags.watch) {
    process.stdout.write(`${await render(journal, flags, name)}\n`);
    return 0;
  }
  const interval = Math.max(200, Number(flags.interval) * 1000 || 2000);
  const tty = process.stdout.isTTY;
  let stop = false;
  process.once('SIGINT', () => (stop = true));
  process.once('SIGTERM', () => (stop = true));
  let previous = '';
  while (!stop) {
    const text = await render(journal, flags, name);
    if (tty) process.stdout.write(`\x1b[2J\x1b[H${new Date().toISOString()}\n${text}\n`);
    else if (text !== previous) process.stdout.write(`${text}\n`);
    previous = text;
    await new Promise((r) => setTimeout(r, interval));
  }
  return 0;
}

export function register(program: Command): void {
  program
    .command('status')
    .description('current phase, split, next action and last decision of each rollout')
    .argument('[name]', 'rollout name or namespace/name')
    .option('--state-dir <dir>', 'state dir of rollgate run', DEFAULT_STATE_DIR)
    .option('-w, --watch', 'refresh until interrupted')
    .option('--interval <seconds>', 'refresh interval with --watch', '2')
    .option('--output <format>', 'text or json', 'text')
    .action(async (name: string | undefined, flags: StatusFlags) => {
      process.exitCode = await statusCommand(name, flags);
    });
}
