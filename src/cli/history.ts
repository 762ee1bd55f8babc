/**
 * `rollgate history NAME [--state-dir D] [--output json|text]`: the decision records of a
 * rollout, oldest first. Exit status 0, or 1 for an unknown rollout.
 */
import type { Command } from 'commander';
import { formatDecisionText } from '../observe/decision-log.js';
import { CliError, DEFAULT_STATE_DIR } from './options.js';
import { findRollout, openJournal, readRollout } from './journal-reader.js';

interface HistoryFlags {
  stateDir: string;
  output: string;
}

export async function historyCommand(name: string, flags: HistoryFlags): Promise<number> {
  if (flags.output !== 'json' && flags.output !== 'text') throw new CliError(`--output: expected json or text, got "${flags.output}"`, 2);
  const journal = openJournal(flags.stateDir);
  const id = await findRollout(journal, name);
  const { records } = await readRollout(journal, id);
  for (const r of records) process.stdout.write(`${flags.output === 'json' ? JSON.stringify(r) : formatDecisionText(r)}\n`);
  return 0;
}

export function register(program: Command): void {
  program
    .command('history')
    .description('print the decision records of a rollout')
    .argument('<name>', 'rollout name or namespace/name')
    .option('--state-dir <dir>', 'state dir of rollgate run', DEFAULT_STATE_DIR)
    .option('--output <format>', 'text or json (one record per line)', 'text')
    .action(async (name: string, flags: HistoryFlags) => {
      process.exitCode = await historyCommand(name, flags);
    });
}
