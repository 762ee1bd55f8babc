/**
 * Defect 8 of issue 7: a resume gives the pending checkpoint a full window of evidence after
 * the resume. It is never judged a moment after the resume (a span too short to hold a sample
 * reads as "no data"), and no evidence is skipped: the span still starts at the last pass.
 */
import { describe, expect, it } from 'vitest';
import { decisions, demoPlan, engine, MIN, T0 } from '../helpers/engine.js';

const iso = (t: number) => new Date(t).toISOString();
const SEC = 1_000;

const plan = demoPlan(`
  metrics:
    - { name: error-rate, query: 'errors[{{window}}]', max: 0.01, critical: true }
  guard: { metrics: [] }
  analysis: { retryInterval: 1m, inconclusiveLimit: 1 }
  phases:
    - { name: canary, weight: 10, checkpoints: [10m, 20m] }
    - { name: full, weight: 100, checkpoints: [10m] }`);

/**
 * The canary's data as Prometheus has it: nothing while the rollout is paused (say the canary
 * was scaled down to investigate), so a query evaluated within a scrape or two of the resume
 * is empty.
 */
function pausedCanary(paused: () => { from: number; to: number } | null) {
  return (_q: string, at: number) => {
    const p = paused();
    if (p && at >= p.from && at < p.to + 30 * SEC) return null;
    return 0.001;
  };
}

describe('resume', () => {
  it('a resume just before a checkpoint is due: judged a full checkpoint window after the resume, over the span since the last pass', async () => {
    let paused: { from: number; to: number } | null = null;
    const e = await engine(plan, pausedCanary(() => paused));
    await e.runUntil(T0 + 15 * MIN);
    expect(decisions(e.records)).toEqual(['lifecycle:start@canary', 'checkpoint:continue@canary']);
    await e.runner.manual('pause', 'bob', 'canary scaled down to investigate');
    const pausedAt = e.clock.now();
    await e.clock.sleepUntil(T0 + 20 * MIN - 330); // resumed 0.33 s before checkpoint 2/2 is due
    paused = { from: pausedAt, to: e.clock.now() };
    await e.runner.manual('resume', 'bob');
    const resumedAt = e.clock.now();
    const resume = e.records.at(-1)!;
    expect(resume).toMatchObject({ decision: 'resume', next: { what: 'checkpoint 2/2 of canary', at: iso(resumedAt + 10 * MIN) } });

    await e.runUntil(T0 + 3 * 60 * MIN);
    expect(decisions(e.records)).toEqual([
      'lifecycle:start@canary',
      'checkpoint:continue@canary',
      'manual:pause@canary',
      'manual:resume@canary',
      'checkpoint:advance@canary',
      'checkpoint:complete@full',
    ]);
    const judged = e.records[4]!;
    expect(judged.at).toBe(iso(resumedAt + 10 * MIN));
    expect(judged.checkpoint).toMatchObject({ index: 2, from: iso(T0 + 10 * MIN), due: iso(resumedAt + 10 * MIN), lateSeconds: 0 });
    expect(judged.metrics![0]).toMatchObject({ verdict: 'pass', value: 0.001, query: `errors[${judged.checkpoint!.window}]` });
  });

  it('a resume long after the checkpoint was due: also a full window after the resume, never at once', async () => {
    const e = await engine(plan, () => 0.001);
    await e.runUntil(T0 + 5 * MIN);
    await e.runner.manual('pause', 'bob');
    await e.clock.sleepUntil(T0 + 2 * 60 * MIN);
    await e.runner.manual('resume', 'bob');
    await e.runUntil(T0 + 5 * 60 * MIN);
    const first = e.records.find((r) => r.kind === 'checkpoint')!;
    // Checkpoint 1/2 (10m) is judged 10m after the resume, over everything since the window opened.
    expect(first.checkpoint).toMatchObject({ index: 1, from: iso(T0), due: iso(T0 + 130 * MIN), window: '2h10m' });
  });

  it('a resume after an inconclusive pause: judged a full window later, at least retryInterval', async () => {
    let down = true;
    const e = await engine(plan, () => (down ? null : 0.001));
    await e.runUntil(T0 + 60 * MIN);
    expect(decisions(e.records)).toEqual(['lifecycle:start@canary', 'checkpoint:hold@canary', 'checkpoint:pause@canary']);
    down = false;
    await e.runner.manual('resume', 'alice', 'prometheus is back');
    const resumedAt = e.clock.now();
    await e.runUntil(T0 + 5 * 60 * MIN);
    const next = e.records[4]!;
    expect(next).toMatchObject({ kind: 'checkpoint', decision: 'continue' });
    expect(next.at).toBe(iso(resumedAt + 10 * MIN));
    expect(next.checkpoint).toMatchObject({ index: 1, from: iso(T0) });
  });
});
