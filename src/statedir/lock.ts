/**
 * The state-dir lock: only one controller owns a state dir. `<stateDir>/lock` is created
 * exclusively (`open(..., 'wx')`) and holds {pid, hostname, startedAt, owner, token}.
 *
 * A lock whose pid is alive on this host (`process.kill(pid, 0)`) or that was written on
 * another host is refused. A lock whose pid is dead (the owner was SIGKILLed, the machine
 * rebooted, or a restarted container got the same pid as its previous incarnation) is taken
 * over at once. Pids are recycled, so the lock also records the holder's `process` identity
 * (boot id and start time, process-identity.ts): a live pid whose identity differs is another
 * process that got the pid later, and the lock is dead. The lock is taken over: under a short takeover guard the lock is re-read, and if unchanged a fresh
 * temp lock is renamed over it.
 *
 * Why not proper-lockfile: it decides staleness by mtime (a lock refreshed by a timer is stale
 * after `stale` ms, 10 s by default), so after a SIGKILL a restart must wait for that, and a
 * busy event loop can make a live lock look stale; it records no pid/host/owner to tell the
 * user who holds the lock. A pid check is exact and immediate on one host.
 */
import { hostname as osHostname } from 'node:os';
import { open, readFile, stat, unlink, mkdir } from 'node:fs/promises';
import { readFileSync, unlinkSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { z } from 'zod';
import { silentLogger, type Logger } from '../support/log.js';
import { fsyncDir, isErrno, naming, pidRuns, sleep, writeFileAtomic } from '../support/fsutil.js';
import { processIdentity } from './process-identity.js';

export const LOCK_FILE = 'lock';

export const lockInfoSchema = z.object({
  pid: z.number().int().positive(),
  hostname: z.string(),
  startedAt: z.string(),
  owner: z.string(),
  /** Distinguishes this acquisition from any other with the same pid. */
  token: z.string().optional(),
  /** `<boot id>:<start ticks>` of the holder (Linux); absent where /proc is not available. */
  process: z.string().optional(),
});
export type LockInfo = z.infer<typeof lockInfoSchema>;

export interface StateDirLock {
  readonly stateDir: string;
  readonly file: string;
  readonly info: LockInfo;
  /** Removes the lock file if it is still ours (idempotent). */
  release(): Promise<void>;
}

export interface AcquireOptions {
  /** Who holds it, for the refusal message: e.g. `rollgate run`. */
  owner: string;
  log?: Logger;
}

export class StateDirLockedError extends Error {
  constructor(
    readonly stateDir: string,
    readonly holder: LockInfo,
    hint = 'stop it first or use another --state-dir',
  ) {
    super(
      `state dir ${stateDir} is owned by ${holder.owner || 'rollgate'} pid ${holder.pid} on ${holder.hostname} since ${holder.startedAt}; ${hint}`,
    );
    this.name = 'StateDirLockedError';
  }
}

/** Tokens of the locks this process holds. */
const heldHere = new Set<string>();

export type Liveness = 'alive' | 'dead' | 'unknown';

/** Whether the holder of a lock is running: exact on this host, `unknown` for another host. */
export function holderLiveness(info: LockInfo): Liveness {
  if (info.hostname !== osHostname()) return 'unknown';
  if (info.pid === process.pid) {
    // Ours, or written by a previous incarnation that had our pid (a restarted container).
    return info.token !== undefined && heldHere.has(info.token) ? 'alive' : 'dead';
  }
  try {
    process.kill(info.pid, 0);
  } catch (err) {
    return isErrno(err, 'ESRCH') ? 'dead' : 'alive'; // EPERM: alive, another user's
  }
  // The pid runs; is it still the process that wrote the lock, or one that got the pid later?
  if (info.process !== undefined) {
    const now = processIdentity(info.pid);
    if (now !== null && now !== info.process) return 'dead';
  }
  return 'alive';
}

interface LockContent {
  raw: string;
  info: LockInfo | null;
  mtimeMs: number;
}

async function readLockContent(file: string): Promise<LockContent | null> {
  try {
    const [raw, st] = await Promise.all([readFile(file, 'utf8'), stat(file)]);
    let info: LockInfo | null = null;
    try {
      const parsed = lockInfoSchema.safeParse(JSON.parse(raw));
      if (parsed.success) info = parsed.data;
    } catch {
      /* unparsable */
    }
    return { raw, info, mtimeMs: st.mtimeMs };
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return null;
    throw err;
  }
}

/** The lock of a state dir, or null when none (for `rollgate pause` etc. to find the controller). */
export async function readStateDirLock(stateDir: string): Promise<LockInfo | null> {
  return (await readLockContent(join(stateDir, LOCK_FILE)))?.info ?? null;
}

/** Who owns a state dir, as `status` reports it. */
export interface StateDirOwner {
  /** running: a live controller holds the lock; none: no lock, or its holder is gone; unknown: another host. */
  state: 'running' | 'none' | 'unknown';
  pid: number | null;
  hostname: string | null;
  since: string | null;
  /** One sentence for people. */
  detail: string;
}

/** Whether a controller owns `stateDir` (the lock and its holder's liveness); reads only. */
export async function stateDirOwner(stateDir: string): Promise<StateDirOwner> {
  const file = join(stateDir, LOCK_FILE);
  const content = await readLockContent(file);
  const info = content?.info ?? null;
  if (!info) {
    const why = content ? `its lock file ${file} is unreadable` : 'no lock file there';
    return { state: 'none', pid: null, hostname: null, since: null, detail: `no rollgate run owns state dir ${stateDir}: ${why}; nothing is acting on these rollouts` };
  }
  const who = `${info.owner || 'rollgate'} pid ${info.pid} on ${info.hostname} (since ${info.startedAt})`;
  const base = { pid: info.pid, hostname: info.hostname, since: info.startedAt };
  switch (holderLiveness(info)) {
    case 'alive':
      return { ...base, state: 'running', detail: `state dir ${stateDir} is owned by ${who}` };
    case 'dead':
      return { ...base, state: 'none', detail: `no rollgate run owns state dir ${stateDir}: its lock names ${who}, which is not running; nothing is acting on these rollouts` };
    default:
      return { ...base, state: 'unknown', detail: `state dir ${stateDir} is locked by ${who}, which cannot be checked from ${osHostname()}` };
  }
}

/** A lock file still empty or unparsable this long after its creation was abandoned mid-write. */
const UNPARSABLE_GRACE_MS = 2000;

export async function acquireStateDirLock(stateDir: string, opts: AcquireOptions): Promise<StateDirLock> {
  // Our token counts as held from before our lock can be seen: another acquisition in this
  // process must never read it as the lock of a dead earlier incarnation with our pid.
  const token = randomUUID();
  heldHere.add(token);
  try {
    return await acquire(stateDir, opts, token);
  } catch (err) {
    heldHere.delete(token);
    throw err;
  }
}

async function acquire(stateDir: string, opts: AcquireOptions, token: string): Promise<StateDirLock> {
  const log = opts.log ?? silentLogger();
  const file = join(stateDir, LOCK_FILE);
  const mine: LockInfo = {
    pid: process.pid,
    hostname: osHostname(),
    startedAt: new Date().toISOString(),
    owner: opts.owner,
    token,
  };
  const identity = processIdentity(process.pid);
  if (identity !== null) mine.process = identity;
  const content = `${JSON.stringify(mine)}\n`;
  await mkdir(stateDir, { recursive: true });

  for (let attempt = 0; attempt < 50; attempt++) {
    if (await createExclusive(file, content)) {
      try {
        await naming('fsync the state dir of', file, () => fsyncDir(stateDir));
      } catch (err) {
        await unlink(file).catch(() => undefined);
        throw err;
      }
      return holdLock(stateDir, file, mine, log);
    }
    const current = await readLockContent(file);
    if (!current) continue; // released meanwhile
    if (current.info) {
      const liveness = holderLiveness(current.info);
      if (liveness === 'alive') throw new StateDirLockedError(stateDir, current.info);
      if (liveness === 'unknown') {
        throw new StateDirLockedError(
          stateDir,
          current.info,
          `it cannot be checked from ${osHostname()}: stop it first, or remove ${file} if that process is gone, or use another --state-dir`,
        );
      }
    } else if (Date.now() - current.mtimeMs < UNPARSABLE_GRACE_MS) {
      await sleep(100); // being written by another process right now
      continue;
    }
    const takenOver = await takeOver(file, current.raw, content);
    if (takenOver) {
      log.warn(
        { stateDir, previous: current.info ?? current.raw },
        current.info
          ? `took over state dir lock ${file} from pid ${current.info.pid} (${current.info.owner}, since ${current.info.startedAt}), which is no longer running`
          : `took over abandoned, unreadable state dir lock ${file}`,
      );
      return holdLock(stateDir, file, mine, log);
    }
    await sleep(20 + Math.random() * 50);
  }
  throw new Error(`could not acquire ${file}: it keeps changing (several controllers starting at once?)`);
}

/**
 * Creates `file` with `content` if it does not exist (false if it does). A failure after the
 * file was created (a full disk) removes it again, so that no empty lock or takeover guard is
 * left behind, and is reported naming the file and the action.
 */
async function createExclusive(file: string, content: string): Promise<boolean> {
  let fh;
  try {
    fh = await open(file, 'wx');
  } catch (err) {
    if (isErrno(err, 'EEXIST')) return false;
    throw await naming('create', file, () => Promise.reject(err));
  }
  try {
    try {
      await naming('write', file, () => fh.writeFile(content));
      await naming('fsync', file, () => fh.sync());
    } finally {
      await fh.close();
    }
  } catch (err) {
    await unlink(file).catch(() => undefined);
    throw err;
  }
  return true;
}

/**
 * Replaces a dead owner's lock, if it is still exactly `staleRaw`, by ours. A guard file
 * serializes concurrent takeovers so two starting controllers cannot both win.
 */
async function takeOver(file: string, staleRaw: string, content: string): Promise<boolean> {
  const guard = `${file}.takeover`;
  if (!(await createExclusive(guard, `${process.pid}\n`))) {
    const g = await readFile(guard, 'utf8').catch(() => '');
    const pid = Number.parseInt(g, 10);
    const st = await stat(guard).catch(() => null);
    const age = st ? Date.now() - st.mtimeMs : 0;
    // An empty guard is being written by a contender right now: dead only once it stays empty.
    const written = Number.isInteger(pid) && pid > 0;
    const guardDead = (written && !pidRuns(pid)) || (!written && age > UNPARSABLE_GRACE_MS) || age > 10_000;
    if (guardDead) await unlink(guard).catch(() => undefined);
    return false;
  }
  try {
    const now = await readFile(file, 'utf8').catch((err: unknown) => {
      if (isErrno(err, 'ENOENT')) return null;
      throw err;
    });
    if (now !== staleRaw) return false; // changed or released meanwhile: start over
    await writeFileAtomic(file, content);
    return true;
  } finally {
    await unlink(guard).catch(() => undefined);
  }
}

function holdLock(stateDir: string, file: string, info: LockInfo, log: Logger): StateDirLock {
  const token = info.token!;
  heldHere.add(token);
  let released = false;
  // Best effort on a normal exit without release(); a SIGKILL leaves the lock to be taken over.
  const onExit = () => {
    try {
      if (JSON.parse(readFileSync(file, 'utf8')).token === token) unlinkSync(file);
    } catch {
      /* gone or not ours */
    }
  };
  process.once('exit', onExit);
  return {
    stateDir,
    file,
    info,
    async release() {
      if (released) return;
      released = true;
      process.off('exit', onExit);
      heldHere.delete(token);
      const current = await readLockContent(file);
      if (current?.info?.token !== token) {
        log.warn({ file, holder: current?.info ?? null }, `state dir lock ${file} is no longer ours; leaving it`);
        return;
      }
      await unlink(file);
      await fsyncDir(stateDir);
    },
  };
}
