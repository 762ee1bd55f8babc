/**
 * A tiny tmpfs for real ENOSPC: `mount -t tmpfs -o size=64k` on a temp dir (root only). When
 * mounting is not permitted, `mountTmpfs` returns the reason and the caller skips with it.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export interface Tmpfs {
  dir: string;
  /** Fills the file system until a write fails with ENOSPC (the filler file stays). */
  fill(): void;
  /** Frees what fill() took. */
  free(): void;
  unmount(): void;
}

/** Mounts a tmpfs of `size` (e.g. `64k`) or returns why it cannot. */
export function mountTmpfs(size = '64k'): Tmpfs | { skip: string } {
  if (process.getuid?.() !== 0) return { skip: 'mounting a tmpfs needs root' };
  const dir = mkdtempSync(path.join(tmpdir(), 'rollgate-tmpfs-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { stdio: 'pipe' });
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    return { skip: `mount -t tmpfs is not permitted here: ${(err as Error).message.split('\n')[0]}` };
  }
  const filler = path.join(dir, 'filler');
  return {
    dir,
    fill() {
      const chunk = Buffer.alloc(4096, 120);
      for (let i = 0; ; i++) {
        try {
          writeFileSync(`${filler}-${i}`, chunk);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'ENOSPC') return;
          throw err;
        }
      }
    },
    free() {
      execFileSync('sh', ['-c', `rm -f '${filler}'-*`]);
    },
    unmount() {
      try {
        execFileSync('umount', [dir], { stdio: 'pipe' });
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
