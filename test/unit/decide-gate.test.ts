/**
 * A waiting rollout as pure functions: what is due (src/engine/schedule.ts dueDecision, the
 * one place that says whether a gate opens and which checkpoint is pending) and what is
 * decided (src/engine/decide.ts decideGate, with simulate's approvals).
 */
import { describe, expect, it } from 'vitest';
import { demoPlan, HOUR, MIN, T0 } from '../helpers/engine.js';
import { applied, ctxOf, decide, samplesOf, started } from '../helpers/decide.js';
import { checkpointSpan, judgeSamples } from '../../src/engine/judge.js';
import { decideCheckpoint, decideDue, decideGate, decideManual } from '../../src/engine/decide.js';
import { dueDecision } from '../../src/engine/schedule.js';
import { isDecisionRecord, type JournalEntry } from '../../src/core/record.js';
import { initialState, type RolloutState } from '../../src/core/state.js';

const iso = (t: number) => new Date(t).toISOString();

const approvalPlan = ctxOf(
  demoPlan(`
  metrics:
    - { name: error-rate, query: 'errors[{{window}}]', max: 0.01, critical: true }
  phases:
    - { name: canary, weight: 10, checkpoints: [30m] }
    - { name: full, weight: 100, approval: true, checkpoints: [1h] }`),
);

/** The canary's last checkpoint passed: the rollout now waits for the approval of `full`. */
function waitingForApproval(): { state: RolloutState; entries: JournalEntry[] } {
  const s = started(approvalPlan);
  const due = dueDecision(approvalPlan.plan, s, T0);
  expect(due).toMatchObject({ what: 'checkpoint', at: T0 + 30 * MIN, checkpoint: { index: 0, of: 1, due: T0 + 30 * MIN, from: T0 } });
  if (due?.what !== 'checkpoint') throw new Error('no checkpoint due');
  const span = checkpointSpan(approvalPlan.plan, s, due.checkpoint);
  const evidence = judgeSamples(approvalPlan.plan, span.phase, samplesOf(approvalPlan, span, { 'error-rate': 0.001 }), 'checkpoint');
  return decide(approvalPlan, s, due.at, (b) => decideCheckpoint(b, due.checkpoint, evidence));
}

const summary = (entries: JournalEntry[]) => entries.filter(isDecisionRecord).map((r) => `${r.kind}:${r.decision}:${r.actor}`);

describe('approvals', () => {
  it('a phase that needs approval: the checkpoint record carries the wait; nothing is due without a person', () => {
    const { state, entries } = waitingForApproval();
    expect(summary(entries)).toEqual(['checkpoint:wait:controller']);
    expect(state).toMatchObject({ status: 'waiting', waitingFor: 'approval', phaseIndex: 1 });
    expect(dueDecision(approvalPlan.plan, state, T0 + HOUR)).toBeNull();
  });

  it('simulate approves at once: due now; a promote by the simulate actor, then the advance', () => {
    const { state } = waitingForApproval();
    const now = T0 + 30 * MIN;
    expect(dueDecision(approvalPlan.plan, state, now, { autoApprove: true })).toEqual({ what: 'gate', at: now });
    const out = decide(approvalPlan, state, now, (b) => decideGate(b, 'simulate'));
    expect(summary(out.entries)).toEqual(['manual:promote:simulate', 'wait:advance:controller']);
    expect(out.entries[0]).toMatchObject({ reason: 'approval of phase full granted by simulate', enters: { phase: 'full', index: 1 }, weight: { from: 10, to: 10 } });
    expect(out.entries[1]).toMatchObject({ weight: { from: 10, to: 100 }, enters: { phase: 'full', index: 1 } });
    expect(out.state).toMatchObject({ status: 'progressing', phaseIndex: 1, approvedPhase: 1 });
  });

  it('without an auto-approver the same gate records nothing new (the wait is already journalled)', () => {
    const { state } = waitingForApproval();
    expect(decide(approvalPlan, state, T0 + HOUR, (b) => decideGate(b)).entries).toEqual([]);
  });

  it('an auto-approval of a phase whose wait is not yet recorded records the wait first', () => {
    const { state } = waitingForApproval();
    const unrecorded: RolloutState = { ...state, waitingFor: null, waitReason: null };
    const out = decide(approvalPlan, unrecorded, T0 + HOUR, (b) => decideGate(b, 'simulate'));
    expect(summary(out.entries)).toEqual(['wait:wait:controller', 'manual:promote:simulate', 'wait:advance:controller']);
  });

  it('a person approves the same way through decideManual (actor kept)', () => {
    const { state } = waitingForApproval();
    const out = decide(approvalPlan, state, T0 + HOUR, (b) => decideManual(b, 'promote', 'looks fine'));
    expect(summary(out.entries)).toEqual(['manual:promote:controller', 'wait:advance:controller']);
  });
});

describe('dueDecision', () => {
  const windowPlan = ctxOf(
    demoPlan(`
  metrics:
    - { name: error-rate, query: 'errors[{{window}}]', max: 0.01, critical: true }
  startAt: "${iso(T0 + 2 * HOUR)}"
  rollback: { strategy: gradual, steps: [5], stepInterval: 1m }
  analysis: { retryInterval: 5m }
  phases:
    - { name: canary, weight: 10, settle: 5m, checkpoints: [30m, 1h] }`),
  );

  it('before the first record: the start is due now', () => {
    expect(dueDecision(windowPlan.plan, initialState('default/demo'), T0)).toEqual({ what: 'start', at: T0 });
  });

  it('a startAt gate: due when it opens; then the phase begins and its first checkpoint is pending', () => {
    const s0 = decide(windowPlan, initialState('default/demo'), T0, (b) => decideDue(b, { what: 'start', at: T0 }));
    expect(summary(s0.entries)).toEqual(['lifecycle:start:controller', 'wait:wait:controller']);
    expect(dueDecision(windowPlan.plan, s0.state, T0)).toEqual({ what: 'gate', at: T0 + 2 * HOUR });
    const opened = decide(windowPlan, s0.state, T0 + 2 * HOUR, (b) => decideDue(b, { what: 'gate', at: T0 + 2 * HOUR }));
    expect(summary(opened.entries)).toEqual(['wait:advance:controller']);
    // Not applied yet: nothing is due (checkpoints count from the applied split).
    expect(dueDecision(windowPlan.plan, opened.state, T0 + 2 * HOUR)).toBeNull();
    const t = T0 + 2 * HOUR + 1_000;
    const live = applied(opened.state, t);
    // settle 5m, then the 30m checkpoint, judged over [window opening, due].
    expect(dueDecision(windowPlan.plan, live, t)).toEqual({ what: 'checkpoint', at: t + 35 * MIN, checkpoint: { index: 0, of: 2, due: t + 35 * MIN, from: t + 5 * MIN } });
    // The record that began the phase announced that checkpoint.
    expect(opened.entries[0]).toMatchObject({ next: { what: 'checkpoint 1/2 of canary' } });
  });

  it('a gradual rollback: each step is due at its record’s next', () => {
    const s = started(windowPlan, T0 + 2 * HOUR);
    const out = decide(windowPlan, s, T0 + 3 * HOUR, (b) => decideManual(b, 'abort', undefined));
    expect(out.entries.filter(isDecisionRecord).map((r) => r.weight)).toEqual([{ from: 10, to: 10 }, { from: 10, to: 5 }]);
    expect(dueDecision(windowPlan.plan, out.state, T0 + 3 * HOUR)).toEqual({ what: 'rollback-step', at: T0 + 3 * HOUR + MIN });
    const step = decide(windowPlan, out.state, T0 + 3 * HOUR + MIN, (b) => decideDue(b, { what: 'rollback-step', at: T0 + 3 * HOUR + MIN }));
    expect(step.entries.filter(isDecisionRecord).map((r) => [r.decision, r.kind, r.weight.to])).toEqual([['rollback', 'manual', 0]]);
    expect(dueDecision(windowPlan.plan, step.state, T0 + 4 * HOUR)).toBeNull();
  });

  it('paused, complete and rolled back rollouts have nothing due', () => {
    const s = started(windowPlan, T0 + 2 * HOUR);
    for (const status of ['paused', 'complete', 'rolled-back'] as const) {
      expect(dueDecision(windowPlan.plan, { ...s, status }, T0 + 3 * HOUR)).toBeNull();
    }
  });

});
