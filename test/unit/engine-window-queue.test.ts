/**
 * Defect 5 of issue 7: a rollout queued outside its deployment window has decided no split
 * yet (seq 0 of the split), so there is nothing to re-apply: the drift check and the start-up
 * reconcile must not "apply" it, journal a false router hold, or point status at a router retry.
 */
import { mkdtempSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decisions, demoPlan, engine, HOUR, MIN, T0 } from '../helpers/engine.js';
import { FileRouter } from '../../src/routers/file.js';
import { MemoryJournal } from '../../src/journal/memory-journal.js';

const dir = mkdtempSync(path.join(tmpdir(), 'rollgate-window-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// T0 is Monday 10:00 UTC; the only window is on Saturdays.
const plan = demoPlan(`
  metrics:
    - { name: error-rate, query: 'errors[{{window}}]', max: 0.01, critical: true }
  windows: [{ days: [sat], start: "09:00", end: "17:00", timezone: UTC }]
  phases:
    - { name: canary, weight: 10, checkpoints: [10m] }`);

describe('a rollout queued outside its window', () => {
  it('waits with no router error while the drift check runs, and its status points at the window', async () => {
    const router = new FileRouter(path.join(dir, 'split.json'));
    const e = await engine(plan, () => 0.001, { router, driftCheckMs: 30_000 });
    await e.runUntil(T0 + 10 * MIN, false);
    expect(decisions(e.records)).toEqual(['lifecycle:start@canary', 'wait:wait@canary']);
    expect(e.records.at(-1)).toMatchObject({ waitingFor: 'window', next: { what: 'phase canary may begin', at: '2025-11-08T09:00:00.000Z' } });
    expect(e.runner.state.status).toBe('waiting');
    // Nothing was written: no split was ever decided.
    expect(await router.read()).toBeNull();
    const marks = (await e.journal.read(e.runner.id)).filter((x) => 'applied' in x);
    expect(marks).toEqual([]);
  });

  it('a restart while queued reconciles nothing and still waits for the window', async () => {
    const journal = new MemoryJournal();
    const router = new FileRouter(path.join(dir, 'split-restart.json'));
    const first = await engine(plan, () => 0.001, { router, journal, driftCheckMs: 30_000 });
    await first.runUntil(T0 + 10_000, false); // stopped before its first drift check
    const second = await engine(plan, () => 0.001, { router, journal, from: T0 + 2 * MIN, driftCheckMs: 30_000 });
    await second.runUntil(T0 + HOUR, false);
    expect(second.records).toEqual([]);
    expect(second.runner.state).toMatchObject({ status: 'waiting', waitingFor: 'window' });
  });

  it('the window opens: the first split is applied then, and drift is checked from then on', async () => {
    const router = new FileRouter(path.join(dir, 'split-open.json'));
    const saturday = Date.parse('2025-11-08T08:50:00Z');
    const e = await engine(plan, () => 0.001, { router, driftCheckMs: 30_000, from: saturday });
    await e.runUntil(saturday + 5 * MIN, false);
    expect(decisions(e.records)).toEqual(['lifecycle:start@canary', 'wait:wait@canary']);
    await e.runUntil(saturday + 15 * MIN, false);
    expect(decisions(e.records)).toEqual(['lifecycle:start@canary', 'wait:wait@canary', 'wait:advance@canary']);
    expect(await router.read()).toEqual({ weight: 10, mirror: 0 });
    // From now on a split is decided: a router that lost it gets it back at the next drift check.
    unlinkSync(router.target);
    await e.runUntil(saturday + 16 * MIN, false);
    expect(await router.read()).toEqual({ weight: 10, mirror: 0 });
    const marks = (await e.journal.read(e.runner.id)).filter((x) => 'applied' in x);
    expect(marks.map((m) => ('applied' in m ? m.applied : 0))).toEqual([3, 3]);
  });
});
