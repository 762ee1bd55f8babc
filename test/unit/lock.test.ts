import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { pino } from 'pino';
import { acquireStateDirLock, readStateDirLock, StateDirLockedError } from '../../src/statedir/lock.js';

let dir: string;
const children: ChildProcess[] = [];
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rollgate-lock-'));
});
afterEach(async () => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await rm(dir, { recursive: true, force: true });
});

/** Starts `node -e script` and resolves once it prints "locked". */
function holder(script: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--input-type=module', '-e', script, dir], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  return new Promise((res, rej) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('locked')) res(child);
    });
    child.on('exit', (code) => rej(new Error(`holder exited with ${code} before locking: ${out}`)));
  });
}

/** A process that writes a rollgate lock file the way rollgate does, then stays alive. */
const HAND_WRITTEN_HOLDER = `
  import { openSync, writeSync, closeSync } from 'node:fs';
  import { hostname } from 'node:os';
  const fd = openSync(process.argv[1] + '/lock', 'wx');
  writeSync(fd, JSON.stringify({ pid: process.pid, hostname: hostname(), startedAt: new Date().toISOString(), owner: 'rollgate run', token: 'child' }));
  closeSync(fd);
  console.log('locked');
  setInterval(() => {}, 1000);
`;

const DIST_LOCK = resolve('dist/statedir/lock.js');
/** A process holding the lock through rollgate's own (compiled) implementation. */
const REAL_HOLDER = `
  const { acquireStateDirLock } = await import(${JSON.stringify(pathToFileURL(DIST_LOCK).href)});
  await acquireStateDirLock(process.argv[1], { owner: 'rollgate run' });
  console.log('locked');
  setInterval(() => {}, 1000);
`;

function exited(child: ChildProcess): Promise<void> {
  return new Promise((res) => (child.exitCode !== null || child.signalCode !== null ? res() : child.once('exit', () => res())));
}

describe('state dir lock', () => {
  it('writes {pid, hostname, startedAt, owner} and release removes it', async () => {
    const lock = await acquireStateDirLock(dir, { owner: 'rollgate run' });
    const info = JSON.parse(await readFile(join(dir, 'lock'), 'utf8'));
    expect(info).toMatchObject({ pid: process.pid, hostname: hostname(), owner: 'rollgate run' });
    expect(Date.parse(info.startedAt)).not.toBeNaN();
    expect(await readStateDirLock(dir)).toEqual(lock.info);
    await lock.release();
    expect(existsSync(join(dir, 'lock'))).toBe(false);
    await lock.release(); // idempotent
  });

  it('refuses a second acquisition in the same process', async () => {
    const lock = await acquireStateDirLock(dir, { owner: 'rollgate run' });
    await expect(acquireStateDirLock(dir, { owner: 'rollgate run' })).rejects.toThrow(StateDirLockedError);
    await lock.release();
  });

  it('refuses a live owner with who, where and since when', async () => {
    const child = await holder(HAND_WRITTEN_HOLDER);
    const err = await acquireStateDirLock(dir, { owner: 'rollgate run' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StateDirLockedError);
    expect((err as Error).message).toMatch(
      new RegExp(`^state dir ${dir} is owned by rollgate run pid ${child.pid} on ${hostname()} since \\S+; stop it first or use another --state-dir$`),
    );
  });

  it('takes over at once after the owner is SIGKILLed, with a warning', async () => {
    const child = await holder(HAND_WRITTEN_HOLDER);
    child.kill('SIGKILL');
    await exited(child);
    const warnings: string[] = [];
    const log = pino({ level: 'warn' }, { write: (s: string) => warnings.push(JSON.parse(s).msg) });
    const lock = await acquireStateDirLock(dir, { owner: 'rollgate run', log });
    expect(lock.info.pid).toBe(process.pid);
    expect(JSON.parse(await readFile(join(dir, 'lock'), 'utf8')).token).toBe(lock.info.token);
    expect(warnings.join('\n')).toMatch(new RegExp(`took over state dir lock .*lock from pid ${child.pid} \\(rollgate run, since .*\\), which is no longer running`));
    await lock.release();
  });

  it.skipIf(!existsSync(DIST_LOCK))('works against rollgate itself in another process (dist build)', async () => {
    const child = await holder(REAL_HOLDER);
    await expect(acquireStateDirLock(dir, { owner: 'rollgate run' })).rejects.toThrow(`pid ${child.pid}`);
    child.kill('SIGKILL');
    await exited(child);
    const lock = await acquireStateDirLock(dir, { owner: 'rollgate run' });
    await lock.release();
  });

  it('takes over a lock left by a previous process with our own pid (restarted container)', async () => {
    await writeFile(join(dir, 'lock'), JSON.stringify({ pid: process.pid, hostname: hostname(), startedAt: '2025-01-01T00:00:00Z', owner: 'rollgate run', token: 'old' }));
    const lock = await acquireStateDirLock(dir, { owner: 'rollgate run' });
    expect(lock.info.token).not.toBe('old');
    await lock.release();
  });

  describe('a lock naming a recycled pid', () => {
    /** An unrelated live process: the test's own `sleep` child. */
    async function unrelated(): Promise<ChildProcess> {
      const child = spawn('sleep', ['60'], { stdio: 'ignore' });
      children.push(child);
      await new Promise((r) => child.once('spawn', r));
      return child;
    }
    const bootId = () => readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    const lockNaming = (pid: number, identity?: string) =>
      writeFile(join(dir, 'lock'), JSON.stringify({ pid, hostname: hostname(), startedAt: '2025-01-01T00:00:00Z', owner: 'rollgate run', token: 'old', ...(identity ? { process: identity } : {}) }));

    it.skipIf(!existsSync('/proc/self/stat'))('is taken over when the live pid started at another time than the holder', async () => {
      const child = await unrelated();
      // The holder that wrote this lock started at tick 1 of this boot; the pid is the sleep's now.
      await lockNaming(child.pid!, `${bootId()}:1`);
      const lock = await acquireStateDirLock(dir, { owner: 'rollgate run' });
      expect(lock.info.pid).toBe(process.pid);
      expect(lock.info.process).toMatch(new RegExp(`^${bootId()}:\\d+$`));
      expect(JSON.parse(await readFile(join(dir, 'lock'), 'utf8')).process).toBe(lock.info.process);
      await lock.release();
    });

    it.skipIf(!existsSync('/proc/self/stat'))('is refused while the pid is still the process that wrote it', async () => {
      const child = await unrelated();
      const stat = readFileSync(`/proc/${child.pid}/stat`, 'utf8');
      const start = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
      await lockNaming(child.pid!, `${bootId()}:${start}`);
      await expect(acquireStateDirLock(dir, { owner: 'rollgate run' })).rejects.toThrow(`pid ${child.pid}`);
    });

    it('is refused when the lock has no identity (written by an older rollgate): the pid alone decides', async () => {
      const child = await unrelated();
      await lockNaming(child.pid!);
      await expect(acquireStateDirLock(dir, { owner: 'rollgate run' })).rejects.toThrow(`pid ${child.pid}`);
    });
  });

  it('refuses a lock written on another host, telling how to clear it', async () => {
    await writeFile(join(dir, 'lock'), JSON.stringify({ pid: 1, hostname: 'elsewhere', startedAt: '2025-01-01T00:00:00Z', owner: 'rollgate run' }));
    await expect(acquireStateDirLock(dir, { owner: 'rollgate run' })).rejects.toThrow(/on elsewhere since .* cannot be checked from .*remove .*lock if that process is gone/);
  });

  it('only one of several concurrent contenders for a dead lock wins', async () => {
    await writeFile(join(dir, 'lock'), JSON.stringify({ pid: 2 ** 22 + 17, hostname: hostname(), startedAt: '2025-01-01T00:00:00Z', owner: 'rollgate run' }));
    const results = await Promise.allSettled(Array.from({ length: 5 }, () => acquireStateDirLock(dir, { owner: 'rollgate run' })));
    const won = results.filter((r) => r.status === 'fulfilled');
    expect(won).toHaveLength(1);
    for (const r of results) if (r.status === 'rejected') expect(String(r.reason)).toMatch(/is owned by rollgate run pid/);
    await (won[0] as PromiseFulfilledResult<Awaited<ReturnType<typeof acquireStateDirLock>>>).value.release();
  });

  it('release does not remove a lock that is no longer ours', async () => {
    const lock = await acquireStateDirLock(dir, { owner: 'rollgate run' });
    const other = JSON.stringify({ pid: process.pid, hostname: hostname(), startedAt: 'x', owner: 'someone', token: 'theirs' });
    await writeFile(join(dir, 'lock'), other);
    await lock.release();
    expect(await readFile(join(dir, 'lock'), 'utf8')).toBe(other);
  });
});
