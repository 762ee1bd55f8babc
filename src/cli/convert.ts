/**
 * `rollgate convert FILE... [-o OUT]`: an Argo Rollouts Rollout or a Flagger Canary (and the
 * templates it uses, from the same or further files) as an equivalent RolloutPlan, with a `#`
 * comment on everything that has no exact equivalent. The plan is checked as `rollgate validate`
 * checks it; its problems are printed (never an invalid plan silently).
 * Exit status: 0 converted (the plan validates), 1 unreadable or unsupported input, or a plan
 * that needs filling in, 2 usage.
 */
import type { Command } from 'commander';
import { convertDocuments } from '../convert/convert.js';
import { renderDrafts } from '../convert/draft.js';
import { ConvertError, readSourceText, type SourceDocument } from '../convert/source.js';
import { formatDiagnostic, hasErrors } from '../plan/diagnostic.js';
import { loadPlanText, readInputFile } from '../plan/load.js';
import { writeFileAtomic } from '../support/fsutil.js';

export interface ConvertOptions {
  out?: string;
  /** The environment `${NAME}` references are checked against (default: the process's). */
  env?: NodeJS.ProcessEnv;
}

export interface ConvertIo {
  /** The plan text (stdout when no `out`). */
  stdout: (text: string) => void;
  /** Summary and problems, one line each. */
  stderr: (line: string) => void;
}

async function readSources(files: readonly string[]): Promise<SourceDocument[]> {
  const docs: SourceDocument[] = [];
  for (const file of files) {
    const read = await readInputFile(file);
    if ('diagnostic' in read) throw new ConvertError(read.diagnostic);
    docs.push(...readSourceText(read.text, file));
  }
  return docs;
}

/** Converts `files`; returns the exit status. */
export async function convertFiles(files: readonly string[], opts: ConvertOptions, io: ConvertIo): Promise<number> {
  let text: string;
  let drafts;
  try {
    drafts = convertDocuments(await readSources(files), files);
    text = renderDrafts(drafts);
  } catch (err) {
    if (!(err instanceof ConvertError)) throw err;
    io.stderr(formatDiagnostic(err.diagnostic));
    return 1;
  }
  const target = opts.out ?? '<stdout>';
  const { plans, diagnostics } = loadPlanText(text, target, { envMode: 'lenient', env: opts.env ?? process.env });
  if (opts.out) await writeFileAtomic(opts.out, text);
  else io.stdout(text);
  for (const d of drafts) io.stderr(`converted ${d.origin}: ${d.notes.length} ${d.notes.length === 1 ? 'note' : 'notes'} (# comments)`);
  for (const d of diagnostics) io.stderr(formatDiagnostic(d));
  if (hasErrors(diagnostics) || plans.length !== drafts.length) {
    io.stderr(`${target}: the converted plan does not pass rollgate validate yet: fill in or fix what the errors above name, then run rollgate validate`);
    return 1;
  }
  return 0;
}

export function register(program: Command): void {
  program
    .command('convert')
    .description(
      'convert an Argo Rollouts Rollout (canary steps, AnalysisTemplates with Prometheus) or a Flagger Canary (weights, builtin metrics, Prometheus MetricTemplates) into a RolloutPlan, with a # comment on each thing without an exact equivalent; the plan is checked as validate checks it',
    )
    .argument('<file...>', 'YAML files: the Rollouts or Canaries to convert, and the AnalysisTemplates, ClusterAnalysisTemplates, MetricTemplates, AlertProviders and Deployments they refer to')
    .option('-o, --out <file>', 'write the plan to this file instead of stdout')
    .addHelpText(
      'after',
      '\nThe plan goes to stdout (or --out); a summary line per converted resource and the plan\'s validation problems go to stderr, each as FILE:LINE:COL: path: message.\nExit status: 0 converted (the plan passes validate; warnings allowed), 1 unreadable or unsupported input (named by file, line and field) or a plan that needs filling in (its errors printed), 2 usage.',
    )
    .action(async (files: string[], opts: ConvertOptions) => {
      process.exitCode = await convertFiles(files, opts, {
        stdout: (t) => process.stdout.write(t),
        stderr: (l) => process.stderr.write(`${l}\n`),
      });
    });
}
