/**
 * Durable file-system primitives shared by the journal, the state-dir lock, the inbox and the
 * file router: fsync of a directory (so a created or renamed entry survives a crash) and the
 * atomic replace (temp file in the same directory, fsync, rename, fsync directory).
 */
import { open, readdir, rename, stat, unlink } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';

/** Whether `err` is a Node system error with this `code` (ENOENT, EEXIST...). */
export function isErrno(err: unknown, code: string): boolean {
  return typeof err === 'object' && err !== null && (err as NodeJS.ErrnoException).code === code;
}

/**
 * A file-system failure as an error that names the action and the file (Node's messages for
 * `write`/`fsync` name neither: `ENOSPC: no space left on device, write`). Keeps `code`.
 */
export class FileSystemError extends Error {
  override readonly name = 'FileSystemError';
  readonly code: string | undefined;
  constructor(
    readonly action: string,
    readonly file: string,
    cause: unknown,
  ) {
    super(`cannot ${action} ${file}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.code = (cause as NodeJS.ErrnoException | undefined)?.code;
  }
}

/** Runs `op`; a failure becomes a FileSystemError naming `action` and `file` (once: never wrapped twice). */
export async function naming<T>(action: string, file: string, op: () => Promise<T>): Promise<T> {
  try {
    return await op();
  } catch (err) {
    throw err instanceof FileSystemError ? err : new FileSystemError(action, file, err);
  }
}

/**
 * Makes a directory's entries durable (a file created, renamed or removed in it). Platforms
 * that cannot fsync a directory (EISDIR/EINVAL/EPERM on some file systems) are tolerated.
 */
export async function fsyncDir(dir: string): Promise<void> {
  let fh;
  try {
    fh = await open(dir, 'r');
    await fh.sync();
  } catch (err) {
    if (!isErrno(err, 'EISDIR') && !isErrno(err, 'EINVAL') && !isErrno(err, 'EPERM')) throw err;
  } finally {
    await fh?.close();
  }
}

/** A temp name in the same directory (same file system, so rename is atomic); dot-prefixed. */
export function tempPathFor(file: string): string {
  return join(dirname(file), `.${basename(file)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
}

/** Temp files this process is writing right now (never stale). */
const writing = new Set<string>();

/** A temp file of a live writer older than this was abandoned (its pid was recycled): writes take milliseconds. */
export const ABANDONED_TEMP_MS = 10 * 60_000;

/** Whether a process with this pid exists (a pid in use, even another user's, counts). */
export function pidRuns(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return !isErrno(err, 'ESRCH');
  }
}

/** Directory listings under way: sweeps of many files in one directory at once share one readdir. */
const listings = new Map<string, Promise<string[]>>();

/**
 * The names in `dir`, from one readdir shared by every caller that asks while it is under way
 * (10,000 file routers opened 32 at a time in one directory would otherwise list it 10,000 times).
 */
function listDirectory(dir: string): Promise<string[]> {
  let listing = listings.get(dir);
  if (!listing) {
    listing = readdir(dir).finally(() => listings.delete(dir));
    listings.set(dir, listing);
  }
  return listing;
}

/**
 * Removes the temp files of `file` that writers killed mid-write (SIGKILL, power loss) left
 * behind: only names of our own pattern (`.<name>.tmp-<pid>-<8 hex>` beside `file`), and only
 * those whose writer is gone — a dead pid, our own pid from an earlier incarnation (a
 * restarted container), or any pid when the file is older than ABANDONED_TEMP_MS. Returns the
 * paths removed. Best effort: a directory that cannot be listed removes nothing.
 */
export async function removeStaleTempFiles(file: string, now = Date.now()): Promise<string[]> {
  const dir = dirname(file);
  const prefix = `.${basename(file)}.tmp-`;
  let names: string[];
  try {
    names = await listDirectory(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const m = /^(\d+)-[0-9a-f]{8}$/.exec(name.slice(prefix.length));
    if (!m) continue;
    const path = join(dir, name);
    if (writing.has(path)) continue;
    const pid = Number(m[1]);
    let stale = pid === process.pid || !pidRuns(pid);
    if (!stale) {
      const st = await stat(path).catch(() => null);
      stale = st !== null && now - st.mtimeMs > ABANDONED_TEMP_MS;
    }
    if (stale && (await unlink(path).then(() => true, () => false))) removed.push(path);
  }
  if (removed.length > 0) await fsyncDir(dir).catch(() => undefined);
  return removed;
}

/**
 * Replaces `file` with `data` atomically: a reader sees the old content or the new one, never
 * a mix, and after a crash the file holds one of them. The directory must exist.
 * `durable: false` skips the two fsyncs: for a view rewritten at every start, never a record,
 * a crash may then leave the old content (or none) but never a mix.
 */
export async function writeFileAtomic(file: string, data: string | Uint8Array, { durable = true }: { durable?: boolean } = {}): Promise<void> {
  const tmp = tempPathFor(file);
  writing.add(tmp);
  try {
    const fh = await naming('create', tmp, () => open(tmp, 'wx'));
    try {
      await naming('write', tmp, () => fh.writeFile(data));
      if (durable) await naming('fsync', tmp, () => fh.sync());
    } finally {
      await fh.close();
    }
    await naming(`rename ${tmp} to`, file, () => rename(tmp, file));
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  } finally {
    writing.delete(tmp);
  }
  if (durable) await naming('fsync the directory of', file, () => fsyncDir(dirname(file)));
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
