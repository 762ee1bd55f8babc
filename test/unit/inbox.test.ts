import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../../src/support/log.js';
import { acquireStateDirLock, type StateDirLock } from '../../src/statedir/lock.js';
import {
  classifyInboxName,
  defaultActor,
  InboxError,
  submitManualRequest,
  watchInbox,
  type InboxWatcher,
  type ManualRequest,
} from '../../src/statedir/inbox.js';

let dir: string;
let lock: StateDirLock | null;
let watcher: InboxWatcher | null;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rollgate-inbox-'));
  lock = await acquireStateDirLock(dir, { owner: 'rollgate run' });
  watcher = null;
});
afterEach(async () => {
  await watcher?.stop();
  await lock?.release();
  await rm(dir, { recursive: true, force: true });
});

const inbox = () => readdir(join(dir, 'inbox')).catch(() => [] as string[]);

describe('manual requests through the inbox', () => {
  it('a pause reaches a live handler and its answer comes back (round trip)', async () => {
    const seen: ManualRequest[] = [];
    watcher = watchInbox(dir, async (req) => {
      seen.push(req);
      return { accepted: true, message: `paused ${req.rollout}`, seq: 7 };
    }, silentLogger());
    const res = await submitManualRequest(dir, { rollout: 'learning/analyzer', action: 'pause', reason: 'looks odd' }, { timeoutMs: 5000 });
    expect(res).toMatchObject({ accepted: true, message: 'paused learning/analyzer', seq: 7 });
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ rollout: 'learning/analyzer', action: 'pause', reason: 'looks odd', actor: defaultActor(), id: res.id });
    expect(defaultActor()).toBe(`${userInfo().username}@${hostname()}`);
    expect(await inbox()).toEqual([]); // request, claim and answer all cleaned up
  });

  it('a refusal and a handler failure come back as accepted: false with the reason', async () => {
    watcher = watchInbox(dir, async (req) => {
      if (req.action === 'promote') return { accepted: false, message: 'nothing waits for approval' };
      throw new Error('router file (/x): cannot write');
    }, silentLogger());
    expect(await submitManualRequest(dir, { rollout: 'a/b', action: 'promote' }, { timeoutMs: 5000 })).toMatchObject({
      accepted: false,
      message: 'nothing waits for approval',
    });
    expect(await submitManualRequest(dir, { rollout: 'a/b', action: 'abort' }, { timeoutMs: 5000 })).toMatchObject({
      accepted: false,
      message: 'failed: router file (/x): cannot write',
    });
  });

  it('concurrent requests are each handled exactly once, one at a time', async () => {
    let active = 0;
    let maxActive = 0;
    const ids: string[] = [];
    watcher = watchInbox(dir, async (req) => {
      active++;
      maxActive = Math.max(maxActive, active);
      await new Promise((r) => setTimeout(r, 5));
      ids.push(req.id);
      active--;
      return { accepted: true, message: 'ok' };
    }, silentLogger(), { pollMs: 20 });
    const results = await Promise.all(Array.from({ length: 10 }, () => submitManualRequest(dir, { rollout: 'a/b', action: 'pause' }, { timeoutMs: 10_000 })));
    expect(new Set(ids).size).toBe(10);
    expect(ids.sort()).toEqual(results.map((r) => r.id).sort());
    expect(maxActive).toBe(1);
  });

  it('without a running controller the CLI says so, naming the state dir', async () => {
    await lock!.release();
    lock = null;
    await expect(submitManualRequest(dir, { rollout: 'a/b', action: 'pause' })).rejects.toThrow(
      new RegExp(`^no rollgate run owns state dir ${dir}: no lock file`),
    );
    await writeFile(join(dir, 'lock'), JSON.stringify({ pid: 2 ** 22 + 17, hostname: hostname(), startedAt: '2025-01-01T00:00:00Z', owner: 'rollgate run' }));
    await expect(submitManualRequest(dir, { rollout: 'a/b', action: 'pause' })).rejects.toThrow(/which is not running/);
  });

  it('on timeout the request is withdrawn and never executed late', async () => {
    const err = await submitManualRequest(dir, { rollout: 'a/b', action: 'abort' }, { timeoutMs: 300 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InboxError);
    expect((err as Error).message).toMatch(/no answer .* within 0.3 s; the abort request was withdrawn and will not be executed/);
    expect(await inbox()).toEqual([]);
    let called = false;
    watcher = watchInbox(dir, async () => {
      called = true;
      return { accepted: true, message: 'ok' };
    }, silentLogger());
    await watcher.scan();
    expect(called).toBe(false);
  });

  it('a request older than 5 minutes is answered "expired" and not executed', async () => {
    await rm(join(dir, 'inbox'), { recursive: true, force: true });
    let called = false;
    const start = Date.now();
    let now = start;
    watcher = watchInbox(dir, async () => {
      called = true;
      return { accepted: true, message: 'ok' };
    }, silentLogger(), { now: () => now, pollMs: 20 });
    await watcher.scan();
    const old = { id: '0000000000001-aa', rollout: 'a/b', action: 'promote', actor: 'alice@laptop', at: new Date(start - 60_000).toISOString() };
    now = start + 5 * 60_000; // 6 minutes after the request
    await writeFile(join(dir, 'inbox', `${old.id}.json`), JSON.stringify(old));
    await watcher.scan();
    const files = await inbox();
    expect(files).toEqual([`${old.id}.response.json`]);
    const { readFile } = await import('node:fs/promises');
    const answer = JSON.parse(await readFile(join(dir, 'inbox', files[0]!), 'utf8'));
    expect(answer).toMatchObject({ id: old.id, accepted: false });
    expect(answer.message).toMatch(/^expired: promote a\/b requested by alice@laptop at .* is older than 5m; not executed$/);
    expect(called).toBe(false);
  });

  it('across a restart: an answered request is skipped, an interrupted one is not re-run', async () => {
    await rm(join(dir, 'inbox'), { recursive: true, force: true });
    const { mkdir, readFile } = await import('node:fs/promises');
    await mkdir(join(dir, 'inbox'));
    const at = new Date().toISOString();
    const answered = { id: '0000000000001-aa', rollout: 'a/b', action: 'pause', actor: 'a', at };
    const interrupted = { id: '0000000000002-bb', rollout: 'a/b', action: 'promote', actor: 'a', at };
    await writeFile(join(dir, 'inbox', `${answered.id}.json`), JSON.stringify(answered));
    await writeFile(join(dir, 'inbox', `${answered.id}.response.json`), JSON.stringify({ id: answered.id, accepted: true, message: 'done' }));
    await writeFile(join(dir, 'inbox', `${interrupted.id}.claimed.json`), JSON.stringify(interrupted));
    const calls: string[] = [];
    watcher = watchInbox(dir, async (req) => {
      calls.push(req.id);
      return { accepted: true, message: 'ok' };
    }, silentLogger());
    await watcher.scan();
    expect(calls).toEqual([]);
    expect((await inbox()).sort()).toEqual([`${answered.id}.response.json`, `${interrupted.id}.response.json`]);
    const answer = JSON.parse(await readFile(join(dir, 'inbox', `${interrupted.id}.response.json`), 'utf8'));
    expect(answer).toMatchObject({ accepted: false });
    expect(answer.message).toMatch(/^interrupted: /);
  });

  it('stop waits for the request being handled and then handles no more', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let calls = 0;
    watcher = watchInbox(dir, async () => {
      calls++;
      await gate;
      return { accepted: true, message: 'ok' };
    }, silentLogger(), { pollMs: 20 });
    const pending = submitManualRequest(dir, { rollout: 'a/b', action: 'pause' }, { timeoutMs: 5000 });
    while (calls === 0) await new Promise((r) => setTimeout(r, 10));
    const stopped = watcher.stop();
    release();
    await stopped;
    expect(await pending).toMatchObject({ accepted: true });
    await expect(submitManualRequest(dir, { rollout: 'a/b', action: 'pause' }, { timeoutMs: 200 })).rejects.toThrow(/withdrawn/);
    expect(calls).toBe(1);
  });

  it('ignores temp files and foreign names', () => {
    expect(classifyInboxName('.x.json.tmp-1-ab')).toBeNull();
    expect(classifyInboxName('notes.txt')).toBeNull();
    expect(classifyInboxName('123-ab.json')).toEqual({ kind: 'request', id: '123-ab' });
    expect(classifyInboxName('123-ab.claimed.json')).toEqual({ kind: 'claimed', id: '123-ab' });
    expect(classifyInboxName('123-ab.response.json')).toEqual({ kind: 'response', id: '123-ab' });
  });
});
