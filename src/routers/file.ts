/**
 * The `file` router: writes the split as `{"stable":90,"canary":10,"mirror":0}` to
 * `traffic.file.path`, atomically (temp file in the same directory, fsync, rename, fsync
 * directory), for custom integrations and tests. A reader never sees a half-written file.
 * Temp files left by a writer killed mid-write are removed at the router's first use.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import { nonEmpty } from '../support/zod-fields.js';
import { isErrno, removeStaleTempFiles, writeFileAtomic } from '../support/fsutil.js';
import { RouterError, type Split, type TrafficRouter } from '../core/router.js';
import type { RouterDescriptor } from './descriptor.js';
import { round6, round6Split } from './precision.js';

const share = z.number().min(0).max(100);
const fileSplitSchema = z.object({ stable: share, canary: share, mirror: share.default(0) });

/** The file's content for a split. */
export function renderFileSplit(split: Split): string {
  const canary = round6(split.weight);
  return `${JSON.stringify({ stable: round6(100 - canary), canary, mirror: round6(split.mirror) })}\n`;
}

export class FileRouter implements TrafficRouter {
  readonly name = 'file';
  private swept: Promise<string[]> | null = null;
  constructor(readonly target: string) {}

  /** Removes the temp files of writers that died mid-write (once, at the first read or apply). */
  sweepStaleTempFiles(): Promise<string[]> {
    this.swept ??= removeStaleTempFiles(this.target);
    return this.swept;
  }

  async apply(split: Split): Promise<Split> {
    await this.sweepStaleTempFiles();
    try {
      await mkdir(dirname(this.target), { recursive: true });
      await writeFileAtomic(this.target, renderFileSplit(split));
    } catch (err) {
      throw new RouterError(this.name, this.target, `cannot write: ${(err as Error).message}`, { cause: err });
    }
    const applied = await this.read();
    if (!applied) throw new RouterError(this.name, this.target, 'the file vanished right after it was written');
    return applied;
  }

  async read(): Promise<Split | null> {
    await this.sweepStaleTempFiles();
    let raw: string;
    try {
      raw = await readFile(this.target, 'utf8');
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return null;
      throw new RouterError(this.name, this.target, `cannot read: ${(err as Error).message}`, { cause: err });
    }
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch (err) {
      throw new RouterError(this.name, this.target, `not JSON: ${(err as Error).message}`, { cause: err });
    }
    const parsed = fileSplitSchema.safeParse(value);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new RouterError(
        this.name,
        this.target,
        `expected {"stable":N,"canary":N,"mirror":N} with percentages 0-100: ${issue ? `${issue.path.join('.') || '(root)'}: ${issue.message}` : 'bad shape'}`,
      );
    }
    return { weight: parsed.data.canary, mirror: parsed.data.mirror };
  }
}

const config = z.strictObject({ path: nonEmpty('a file path') });

export const fileRouter: RouterDescriptor<'file', typeof config> = {
  name: 'file',
  config,
  mirrors: true,
  needsKube: false,
  expressible: round6Split,
  // Relative paths are relative to the controller's working directory.
  create: (cfg) => new FileRouter(resolve(cfg.path)),
};
