/**
 * The plan source of `rollgate run`: the plan files and directories it was given, loaded
 * strictly (every `${VAR}` set), with one rollout per id across files, and a fingerprint that
 * tells when a file changed, appeared or went without parsing them all.
 */
import { stat } from 'node:fs/promises';
import { formatDiagnostic } from '../plan/diagnostic.js';
import { loadPlans, planFiles, type LoadedPlan } from '../plan/load.js';
import { rolloutId } from '../plan/schema.js';
import type { Logger } from '../support/log.js';

export interface PlanFilesOptions {
  log: Logger;
  env?: NodeJS.ProcessEnv;
  /** Default Prometheus address for plans without one (`--prometheus`). */
  prometheus?: string;
}

/** A plan file's error, as one line (`FILE:LINE:COL: path: message`). */
export interface PlanFileError {
  file: string;
  text: string;
}

export class PlanFiles {
  private fingerprint = '';

  constructor(
    private readonly paths: string[],
    private readonly opts: PlanFilesOptions,
  ) {}

  /** The valid plans, and one line per error (`FILE:LINE:COL: path: message`) with its file; warnings are logged. */
  async load(): Promise<{ plans: LoadedPlan[]; errors: PlanFileError[] }> {
    this.fingerprint = await this.currentFingerprint();
    const res = await loadPlans(this.paths, {
      envMode: 'strict',
      env: this.opts.env ?? process.env,
      ...(this.opts.prometheus ? { prometheus: this.opts.prometheus } : {}),
    });
    const errors: PlanFileError[] = res.diagnostics.filter((d) => d.severity === 'error').map((d) => ({ file: d.file, text: formatDiagnostic(d) }));
    for (const d of res.diagnostics.filter((d) => d.severity === 'warning')) this.opts.log.warn(formatDiagnostic(d));
    const seen = new Map<string, string>();
    const plans: LoadedPlan[] = [];
    for (const p of res.plans) {
      const id = rolloutId(p.plan);
      const other = seen.get(id);
      if (other) {
        errors.push({ file: p.file, text: `${p.file}: rollout ${id} is also defined in ${other}` });
        continue;
      }
      seen.set(id, p.file);
      plans.push(p);
    }
    return { plans, errors };
  }

  /** Whether a plan file changed, appeared or went since the last load(). */
  async changed(): Promise<boolean> {
    return (await this.currentFingerprint()) !== this.fingerprint;
  }

  /** Name, inode, size and modification time of every plan file. */
  private async currentFingerprint(): Promise<string> {
    const { files, diagnostics } = await planFiles(this.paths);
    const parts = await Promise.all(
      files.map(async (f) => {
        try {
          const st = await stat(f);
          return `${f}:${st.ino}:${st.size}:${st.mtimeMs}`;
        } catch {
          return `${f}:gone`;
        }
      }),
    );
    return `${parts.join('|')}|${diagnostics.map((d) => d.file).join('|')}`;
  }
}
