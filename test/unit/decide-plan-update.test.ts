/**
 * Plan updates as a pure function (src/engine/decide.ts decidePlanUpdate): the state the
 * journal replays to, the changed plan -> records (and a guard mark when the strikes go).
 */
import { describe, expect, it } from 'vitest';
import { demoPlan, T0 } from '../helpers/engine.js';
import { ctxOf, decide, started } from '../helpers/decide.js';
import { decidePlanUpdate, type PlanContext } from '../../src/engine/decide.js';
import { isDecisionRecord, type JournalEntry } from '../../src/core/record.js';
import { initialState, type RolloutState } from '../../src/core/state.js';

const HOUR = 3_600_000;

function plan(phases: string, opts: { revision?: string; threshold?: number; critical?: boolean } = {}): PlanContext {
  return ctxOf(
    demoPlan(
      `
  metrics:
    - { name: error-rate, query: 'errors[{{window}}]', max: ${opts.threshold ?? 0.01}, critical: ${opts.critical ?? true} }
  phases:
${phases}`,
      { revision: opts.revision ?? 'r1' },
    ),
  );
}

const canaryFull = `
    - { name: canary, weight: 10, checkpoints: [30m] }
    - { name: full, weight: 100, checkpoints: [1h] }`;
const before = plan(canaryFull);
const summary = (entries: JournalEntry[]) => entries.map((e) => (isDecisionRecord(e) ? `${e.kind}:${e.decision}` : 'strikes' in e ? `strikes=${e.strikes}` : 'applied'));

/** The rollout at canary (started on `before`), as the journal replays it; `patch` on top. */
const atCanary = (patch: Partial<RolloutState> = {}): RolloutState => ({ ...started(before), ...patch });

describe('decidePlanUpdate', () => {
  const cases: Array<[string, RolloutState, PlanContext, string[], Partial<RolloutState>]> = [
    ['a rollout that has not started: nothing', initialState('default/demo'), plan(canaryFull, { threshold: 0.02 }), [], { seq: 0 }],
    ['the same plan: nothing', atCanary(), before, [], { seq: 1 }],
    ['new thresholds, same revision: plan-updated, the position kept', atCanary(), plan(canaryFull, { threshold: 0.02 }), ['lifecycle:plan-updated'], { status: 'progressing', phaseIndex: 0, weight: 10 }],
    [
      'a phase inserted before the current one: plan-updated moves the index',
      atCanary(),
      plan(`
    - { name: dark, weight: 0, mirror: 100, checkpoints: [30m] }${canaryFull}`),
      ['lifecycle:plan-updated'],
      { status: 'progressing', phaseIndex: 1, phaseName: 'canary', weight: 10 },
    ],
    [
      'the current phase is gone: plan-updated, then a pause for a person',
      atCanary(),
      plan(`
    - { name: full, weight: 100, checkpoints: [1h] }`),
      ['lifecycle:plan-updated', 'lifecycle:pause'],
      { status: 'paused', pausedFrom: 'progressing', weight: 10 },
    ],
    [
      'the current phase is gone while paused: plan-updated only',
      atCanary({ status: 'paused', pausedFrom: 'progressing' }),
      plan(`
    - { name: full, weight: 100, checkpoints: [1h] }`),
      ['lifecycle:plan-updated'],
      { status: 'paused' },
    ],
    ['a new revision starts over with the first phase', atCanary({ phaseIndex: 1, phaseName: 'full', weight: 100 }), plan(canaryFull, { revision: 'r2' }), ['lifecycle:start'], { revision: 'r2', phaseIndex: 0, weight: 10 }],
    ['strikes stay while the new plan still guards', atCanary({ guardStrikes: 2 }), plan(canaryFull, { threshold: 0.02 }), ['lifecycle:plan-updated'], { guardStrikes: 2 }],
    ['strikes go when the new plan guards no metric: a guard mark with 0', atCanary({ guardStrikes: 2 }), plan(canaryFull, { critical: false }), ['lifecycle:plan-updated', 'strikes=0'], { guardStrikes: 0 }],
  ];

  it.each(cases)('%s', (_what, state, ctx, records, after) => {
    const out = decide(ctx, state, T0 + HOUR, (b) => decidePlanUpdate(b));
    expect(summary(out.entries)).toEqual(records);
    expect(out.state).toMatchObject(after);
  });

  it('the plan-updated record names both hashes and what applies from now on', () => {
    const changed = plan(canaryFull, { threshold: 0.02 });
    const { entries } = decide(changed, atCanary(), T0 + HOUR, (b) => decidePlanUpdate(b));
    expect(entries[0]).toMatchObject({
      reason: `plan changed (${before.planHash.slice(0, 19)} -> ${changed.planHash.slice(0, 19)}); new thresholds, checkpoints and guard apply from the next judgement`,
      planHash: changed.planHash,
      weight: { from: 10, to: 10 },
    });
    expect(entries[0]).not.toHaveProperty('enters');
  });

  it('a new revision: the start record says what it replaces and applies the first split', () => {
    const { entries } = decide(plan(canaryFull, { revision: 'r2' }), atCanary({ phaseIndex: 1, phaseName: 'full', weight: 100 }), T0 + HOUR, (b) => decidePlanUpdate(b));
    expect(entries[0]).toMatchObject({ reason: 'revision r2 replaces r1; starts with phase canary', weight: { from: 100, to: 10 }, enters: { phase: 'canary', index: 0 } });
  });
});
