/**
 * Reason texts and `next` of the records say what happens: no `next next rollback step`, no
 * "... no longer holds" after an approval, no checkpoint announced by a start that cannot
 * begin or by a promote that leaves the phase, window times in the plan's time zone next to
 * UTC, and no milliseconds.
 */
import { describe, expect, it } from 'vitest';
import { demoPlan, HOUR, MIN, T0 } from '../helpers/engine.js';
import { ctxOf, decide, started } from '../helpers/decide.js';
import { decideDue, decideManual, decideStart } from '../../src/engine/decide.js';
import { isDecisionRecord, type DecisionRecord, type JournalEntry } from '../../src/core/record.js';
import { initialState } from '../../src/core/state.js';
import { formatDecisionText } from '../../src/observe/decision-text.js';

const records = (entries: JournalEntry[]): DecisionRecord[] => entries.filter(isDecisionRecord);

const metrics = `
  metrics:
    - { name: error-rate, query: 'errors[{{window}}]', max: 0.01, critical: true }`;

// T0 is Monday 2025-11-03T10:00Z = 11:00 in Berlin: outside a 14:00-17:00 Berlin window.
const windowPlan = ctxOf(
  demoPlan(`${metrics}
  windows: [{ days: [mon, tue, wed, thu, fri], start: "14:00", end: "17:00", timezone: Europe/Berlin }]
  phases:
    - { name: dark, weight: 0, mirror: 100, checkpoints: [10m, 20m] }
    - { name: full, weight: 100, checkpoints: [1h] }`),
);

describe('reason texts', () => {
  it('a start waiting for its window announces when the phase may begin, not a checkpoint, in the window time zone next to UTC', () => {
    const out = decide(windowPlan, initialState('default/demo'), T0, (b) => decideStart(b));
    const [start, wait] = records(out.entries);
    expect(start!.decision).toBe('start');
    expect(start!.next).toEqual({ what: 'phase dark may begin', at: '2025-11-03T13:00:00.000Z' });
    expect(wait!.reason).toContain('next allowed at 2025-11-03 14:00 Europe/Berlin (13:00Z)');
    expect(wait!.reason).not.toMatch(/\.000Z/);
    for (const r of records(out.entries)) expect(formatDecisionText(r)).not.toContain('checkpoint 1/2 of dark');
  });

  it('a phase approved by hand begins with "its approval was granted", never "... no longer holds"', () => {
    const plan = ctxOf(
      demoPlan(`${metrics}
  phases:
    - { name: canary, weight: 10, checkpoints: [30m] }
    - { name: ramp-50, weight: 50, approval: true, checkpoints: [1h] }`),
    );
    const s = started(plan);
    const waiting = { ...s, status: 'waiting' as const, phaseIndex: 1, phaseName: 'ramp-50', waitingFor: 'approval' as const, waitReason: 'phase ramp-50 needs approval: rollgate promote demo' };
    const out = decide(plan, waiting, T0 + HOUR, (b) => decideManual(b, 'promote', undefined));
    const advance = records(out.entries).find((r) => r.decision === 'advance')!;
    expect(advance.reason).toBe('phase ramp-50 begins: its approval was granted');
  });

  it('a promote that skips the rest of a phase announces no checkpoint of the phase it leaves', () => {
    const plan = ctxOf(
      demoPlan(`${metrics}
  phases:
    - { name: ramp-50, weight: 50, checkpoints: [10m, 20m, 30m] }
    - { name: full, weight: 100, checkpoints: [1h] }`),
    );
    const out = decide(plan, started(plan), T0 + 5 * MIN, (b) => decideManual(b, 'promote', undefined));
    const [promote, advance] = records(out.entries);
    expect(promote!.decision).toBe('promote');
    expect(promote!.next).toBeUndefined();
    expect(advance!.decision).toBe('advance');
    expect(advance!.next?.what).toBe('checkpoint 1/1 of full');
    for (const r of records(out.entries)) expect(formatDecisionText(r)).not.toContain('of ramp-50 at');
  });

  it('a gradual rollback names the weight of its next step, and the text says "next" once', () => {
    const plan = ctxOf(
      demoPlan(`${metrics}
  rollback: { strategy: gradual, steps: [25, 0], stepInterval: 1m }
  phases:
    - { name: ramp, weight: 50, checkpoints: [1h] }`),
    );
    const out = decide(plan, started(plan), T0 + 5 * MIN, (b) => decideManual(b, 'abort', undefined));
    const rollback = records(out.entries).find((r) => r.decision === 'rollback')!;
    expect(rollback.next?.what).toBe('rollback step to 0%');
    expect(formatDecisionText(rollback)).toContain('next rollback step to 0% at');
    expect(formatDecisionText(rollback)).not.toContain('next next');
    const step = decide(plan, out.state, T0 + 6 * MIN, (b) => decideDue(b, { what: 'rollback-step', at: T0 + 6 * MIN }));
    expect(records(step.entries)[0]!.next).toBeUndefined();
  });
});
