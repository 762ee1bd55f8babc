/**
 * The kill storm's CI variant: 20 SIGKILLs of `rollgate run` (file router, a quarter of the
 * trials on a real nginx) at random moments, right after journal appends and during gradual
 * rollbacks, each followed by a restart, with every invariant checked after each kill, after
 * each restart's reconcile and at the end (src/devtools/kill-storm.ts). The full storm (220
 * kills) is `npm run harness:kill-storm`; figures in docs/reliability.md.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  journalViolations,
  killStorm,
  outcomeOf,
  splitsAfterReconcile,
  splitsWhileDead,
} from '../../src/devtools/kill-storm.js';
import { startPrometheus, type RunningPrometheus } from '../helpers/prometheus.js';

const MAIN = path.resolve(__dirname, '../../dist/main.js');

const rec = (seq: number, decision: string, from: number, to: number, extra: object = {}) => ({
  seq,
  kind: 'checkpoint',
  decision,
  phaseIndex: 0,
  weight: { from, to },
  mirror: { from: 0, to: 0 },
  ...extra,
});

describe('kill storm invariants', () => {
  it('catch a gap, a duplicate, an unparseable line and a checkpoint judged twice', () => {
    const cp = { checkpoint: { index: 1, due: '2026-01-01T00:00:01.000Z' } };
    expect(journalViolations({ entries: [rec(1, 'start', 0, 10), rec(2, 'continue', 10, 10, cp)], corrupt: 0 })).toEqual([]);
    expect(journalViolations({ entries: [rec(1, 'start', 0, 10), rec(3, 'continue', 10, 10)], corrupt: 0 })).toEqual(['seq 3 at position 2 (gap or duplicate)']);
    expect(journalViolations({ entries: [rec(1, 'start', 0, 10), rec(1, 'start', 0, 10)], corrupt: 1 })).toHaveLength(2);
    expect(journalViolations({ entries: [rec(1, 'start', 0, 10), rec(2, 'continue', 10, 10, cp), rec(3, 'continue', 10, 10, cp)], corrupt: 0 })).toEqual([
      'phase 0 checkpoint 1 due 2026-01-01T00:00:01.000Z judged 2 times',
    ]);
    // A held checkpoint judged again is fine.
    expect(journalViolations({ entries: [rec(1, 'start', 0, 10), rec(2, 'hold', 10, 10, cp), rec(3, 'continue', 10, 10, cp)], corrupt: 0 })).toEqual([]);
  });

  it('allow the router only the last applied split or a later decided one, and after a restart only the last decided one', () => {
    const mark = (applied: number, _weight: number) => ({ applied });
    const journal = [rec(1, 'start', 0, 10), mark(1, 10), rec(2, 'advance', 10, 50)];
    expect(splitsWhileDead(journal)).toEqual([{ weight: 10, mirror: 0 }, { weight: 50, mirror: 0 }]);
    expect(splitsWhileDead([rec(1, 'start', 0, 10)])).toEqual([{ weight: 0, mirror: 0 }, { weight: 10, mirror: 0 }]);
    // After the restart's reconcile, 10% (applied before the kill) is no longer acceptable.
    expect(splitsAfterReconcile(journal, journal)).toEqual([{ weight: 50, mirror: 0 }]);
    const later = [...journal, mark(2, 50), rec(3, 'rollback', 50, 40)];
    expect(splitsAfterReconcile(journal, later)).toEqual([{ weight: 50, mirror: 0 }, { weight: 40, mirror: 0 }]);
    // Killed before the start record: 0%, or the start the restart decided and applied.
    expect(splitsAfterReconcile([], journal)).toEqual([{ weight: 0, mirror: 0 }, { weight: 10, mirror: 0 }, { weight: 50, mirror: 0 }]);
  });

  it('call a rollout finished only once its last split is applied', () => {
    const j = [rec(1, 'start', 0, 10), { applied: 1 }, rec(2, 'rollback', 10, 0)];
    expect(outcomeOf(j).end).toBe('unfinished');
    expect(outcomeOf([...j, { applied: 2 }])).toEqual({ end: 'rolled back', weights: [10, 0], final: { weight: 0, mirror: 0 } });
  });
});

describe('kill storm (CI variant: 20 kills)', () => {
  let prom: RunningPrometheus;
  beforeAll(async () => {
    prom = await startPrometheus();
  });
  afterAll(() => prom?.stop());

  it('keeps every invariant through 20 SIGKILLs and restarts, and ends as the uninterrupted runs do', { timeout: 300_000 }, async () => {
    const report = await killStorm({ kills: 20, killsPerTrial: [5, 7], parallel: 3, nginxShare: 0.25, seed: 7, mainJs: MAIN, prometheus: prom.url });
    expect(report.violations).toEqual([]);
    expect(report.kills).toBeGreaterThanOrEqual(20);
    expect(report.restarts).toBe(report.kills);
    // The storm really hit what it is for: appends, rollbacks, the journal-to-router gap, nginx.
    expect(report.killsByMode['after-append']).toBeGreaterThan(0);
    expect(report.killsDuringRollback).toBeGreaterThan(0);
    expect(report.trials.some((t) => t.router !== 'file' && t.kills > 0)).toBe(true);
    expect(report.baselines.map((b) => b.outcome.end).sort()).toContain('rolled back');
    for (const t of report.trials) expect(t.outcome, t.id).toEqual(t.expected);
  });
});
