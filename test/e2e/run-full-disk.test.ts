/**
 * `rollgate run` starting on a full disk (a real 64 KiB tmpfs): the error names the file and
 * the action, and nothing is left behind — no empty lock, no `lock.takeover` guard, no temp
 * file — whether the state dir was free or held a dead controller's lock.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { mountTmpfs, type Tmpfs } from '../helpers/tmpfs.js';
import { hasStackTrace, planYaml, startRun, useRunEnvironment, waitExit, workspace } from './run-helpers.js';

const env = useRunEnvironment();
const mounted = mountTmpfs('64k');
const skip = 'skip' in mounted ? mounted.skip : undefined;
const fs = mounted as Tmpfs;

afterAll(() => {
  if (!skip) fs.unmount();
});

describe.skipIf(skip !== undefined)(`rollgate run on a full disk${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let n = 0;
  function setup(): { plan: string; stateDir: string } {
    const ws = workspace();
    writeFileSync(ws.plan, planYaml({ routerFile: ws.routerFile, phases: [{ name: 'canary', weight: 10, checkpoints: '[1s]' }] }));
    const stateDir = path.join(fs.dir, `state-${++n}`);
    mkdirSync(stateDir);
    return { plan: ws.plan, stateDir };
  }

  beforeAll(() => undefined);

  it('with a free state dir: exits 1 naming the lock file and the write, and leaves no lock', async () => {
    const { plan, stateDir } = setup();
    fs.fill();
    try {
      const p = startRun([plan], { stateDir, prometheus: env.prom.url });
      const exit = await waitExit(p);
      expect(exit.code, p.stderr()).toBe(1);
      expect(p.stderr()).toContain(`rollgate: cannot write ${path.join(stateDir, 'lock')}: ENOSPC: no space left on device`);
      expect(hasStackTrace(p.stderr())).toBe(false);
      expect(readdirSync(stateDir)).toEqual([]);
    } finally {
      fs.free();
    }
  });

  it("with a dead controller's lock: exits 1 naming the takeover guard, leaves the old lock as it was and no guard", async () => {
    const { plan, stateDir } = setup();
    const stale = JSON.stringify({ pid: 2 ** 22 + 17, hostname: hostname(), startedAt: '2025-01-01T00:00:00Z', owner: 'rollgate run', token: 'old' });
    writeFileSync(path.join(stateDir, 'lock'), stale);
    fs.fill();
    try {
      const p = startRun([plan], { stateDir, prometheus: env.prom.url });
      const exit = await waitExit(p);
      expect(exit.code, p.stderr()).toBe(1);
      expect(p.stderr()).toContain(`rollgate: cannot write ${path.join(stateDir, 'lock.takeover')}: ENOSPC: no space left on device`);
      expect(readdirSync(stateDir)).toEqual(['lock']);
      expect(readFileSync(path.join(stateDir, 'lock'), 'utf8')).toBe(stale);
    } finally {
      fs.free();
    }
  });
});
