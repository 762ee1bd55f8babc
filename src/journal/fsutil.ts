/**
 * Durable file-system primitives shared by the journal, the state-dir lock, the inbox and the
 * file router: fsync of a directory (so a created or renamed entry survives a crash) and the
 * atomic replace (temp file in the same directory, fsync, rename, fsync directory).
 */
import { open, rename, unlink } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';

/** Whether `err` is a Node system error with this `code` (ENOENT, EEXIST...). */
export function isErrno(err: unknown, code: string): boolean {
  return typeof err === 'object' && err !== null && (err as NodeJS.ErrnoException).code === code;
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

/**
 * Replaces `file` with `data` atomically: a reader sees the old content or the new one, never
 * a mix, and after a crash the file holds one of them. The directory must exist.
 */
export async function writeFileAtomic(file: string, data: string | Uint8Array): Promise<void> {
  const tmp = tempPathFor(file);
  try {
    const fh = await open(tmp, 'wx');
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, file);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
  await fsyncDir(dirname(file));
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
