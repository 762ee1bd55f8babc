/**
 * The guard's decisions as a pure function (src/engine/decide-guard.ts): strikes counted from
 * the replayed state, the rollback at `consecutive` with its reason, the pause on a refused
 * query, and the guard marks that carry the strikes through a restart.
 */
import { describe, expect, it } from 'vitest';
import { demoPlan, T0 } from '../helpers/engine.js';
import { ctxOf, decide, guardEvidence, replayed, started, type Value } from '../helpers/decide.js';
import { decideGuard } from '../../src/engine/decide-guard.js';
import { isDecisionRecord, type JournalEntry } from '../../src/core/record.js';
import { applyEntry, type RolloutState } from '../../src/core/state.js';

const SEC = 1000;
const ctx = ctxOf(
  demoPlan(`
  metrics:
    - { name: error-rate, query: 'errors[{{window}}]', max: 0.01, rollbackAbove: 0.05, critical: true }
    - { name: latency, query: 'latency[{{window}}]', max: 0.5, critical: true }
  guard: { interval: 10s, consecutive: 3 }
  rollback: { strategy: immediate }
  phases:
    - { name: canary, weight: 10, checkpoints: [30m] }
    - { name: full, weight: 100, checkpoints: [1h] }`),
);

const ok = { 'error-rate': 0.001, latency: 0.1 };
const breach = { 'error-rate': 0.2, latency: 0.1 };
const nodata = { 'error-rate': null, latency: null };
const refused: Record<string, Value> = { 'error-rate': 0.001, latency: { value: null, reason: 'bad query (HTTP 400): parse error', problem: 'bad-query' } };

/** Guard ticks 10 s apart from `state`: every entry, the state after, each tick's result. */
function ticks(state: RolloutState, values: Array<Record<string, Value>>, from = T0 + 10 * SEC) {
  const entries: JournalEntry[] = [];
  const results: string[] = [];
  values.forEach((v, i) => {
    const now = from + i * 10 * SEC;
    const out = decide(ctx, state, now, (b) => {
      const t = decideGuard(b, guardEvidence(ctx, state, now, v));
      results.push(`${t.result}:${t.strikes}`);
    });
    entries.push(...out.entries);
    state = out.state;
  });
  return { entries, state, results };
}

const summary = (entries: JournalEntry[]) => entries.map((e) => (isDecisionRecord(e) ? `${e.kind}:${e.decision}` : 'strikes' in e ? `strikes=${e.strikes}` : 'applied'));

describe('decideGuard', () => {
  it.each([
    ['one failing tick: a strike, journalled as a guard mark', [breach], ['fail:1'], ['strikes=1'], 1],
    ['a passing tick with no strikes: nothing', [ok], ['pass:0'], [], 0],
    ['a pass clears the strikes (a mark with 0)', [breach, breach, ok], ['fail:1', 'fail:2', 'pass:0'], ['strikes=1', 'strikes=2', 'strikes=0'], 0],
    ['nodata neither counts nor clears: no mark', [breach, nodata, nodata], ['fail:1', 'nodata:1', 'nodata:1'], ['strikes=1'], 1],
    ['consecutive strikes roll back (kind guard), no mark for the last one', [breach, breach, breach], ['fail:1', 'fail:2', 'fail:3'], ['strikes=1', 'strikes=2', 'guard:rollback'], 0],
    ['strikes around a nodata are consecutive', [breach, nodata, breach, breach], ['fail:1', 'nodata:1', 'fail:2', 'fail:3'], ['strikes=1', 'strikes=2', 'guard:rollback'], 0],
    ['a value between max and rollbackAbove is no strike', [{ 'error-rate': 0.03, latency: 0.1 }], ['pass:0'], [], 0],
    ['a refused query below the count pauses the rollout', [refused], ['pass:0'], ['guard:pause'], 0],
    ['a refused query next to a breach: the strike and the pause', [{ ...refused, 'error-rate': 0.2 }], ['fail:1'], ['strikes=1', 'guard:pause'], 1],
  ])('%s', (_what, values, results, entries, strikes) => {
    const out = ticks(started(ctx), values);
    expect(out.results).toEqual(results);
    expect(summary(out.entries)).toEqual(entries);
    expect(out.state.guardStrikes).toBe(strikes);
  });

  it('the rollback names the failing metrics, the count, interval and window, and carries the evidence', () => {
    const { entries, state } = ticks(started(ctx), [breach, breach, { 'error-rate': 0.3, latency: 0.9 }]);
    const rb = entries.at(-1)!;
    expect(rb).toMatchObject({ kind: 'guard', decision: 'rollback', weight: { from: 10, to: 0 }, at: new Date(T0 + 30 * SEC).toISOString() });
    expect(isDecisionRecord(rb) && rb.reason).toBe('guard: error-rate: 0.3 > rollbackAbove 0.05, latency: 0.9 > max 0.5 in 3 consecutive evaluations (interval 10s, window 1m)');
    expect(isDecisionRecord(rb) && rb.metrics!.map((m) => [m.name, m.query, m.value, m.verdict])).toEqual([
      ['error-rate', 'errors[1m]', 0.3, 'fail'],
      ['latency', 'latency[1m]', 0.9, 'fail'],
    ]);
    expect(state.status).toBe('rolled-back');
  });

  it('the guard marks replay to the same strikes: a restarted controller goes on counting', () => {
    const first = ticks(started(ctx), [breach, breach]);
    const journal: JournalEntry[] = [...startEntries(), ...first.entries];
    const restarted = replayed(ctx, journal);
    expect(restarted.guardStrikes).toBe(2);
    // One more failing tick after the restart is the third: the rollback, not a first strike.
    const after = ticks(restarted, [breach], T0 + 5 * 60 * SEC);
    expect(summary(after.entries)).toEqual(['guard:rollback']);
    expect(after.results).toEqual(['fail:3']);
  });

  it('strikes are cleared once the guard stops watching: a manual rollback, or no traffic on the canary', () => {
    const { state } = ticks(started(ctx), [breach, breach]);
    const rolledBack = applyEntry(state, { ...record(state, 'rollback'), weight: { from: 10, to: 0 } });
    expect(rolledBack.guardStrikes).toBe(0);
    const paused = applyEntry(state, record(state, 'pause'));
    expect(paused.guardStrikes).toBe(2); // the guard keeps watching a paused rollout
  });
});

/** The start record and its applied mark, as `started` made them. */
function startEntries(): JournalEntry[] {
  const s = started(ctx);
  return [s.last!, { applied: 1, rollout: s.rollout, weight: 10, mirror: 0, at: new Date(T0).toISOString() }];
}

function record(s: RolloutState, decision: 'rollback' | 'pause') {
  return { ...s.last!, seq: s.seq + 1, kind: 'manual' as const, decision, reason: 'by hand', weight: { from: s.weight, to: s.weight } };
}
