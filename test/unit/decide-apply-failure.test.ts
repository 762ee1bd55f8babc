/**
 * The hold after a router failure as a pure function (src/engine/decide.ts decideApplyFailure)
 * and the backoff of its retries (src/engine/schedule.ts applyRetryDelay).
 */
import { describe, expect, it } from 'vitest';
import { demoPlan, MIN, T0 } from '../helpers/engine.js';
import { ctxOf, decide, started } from '../helpers/decide.js';
import { decideApplyFailure, decideManual, type ApplyFailure } from '../../src/engine/decide.js';
import { applyRetryDelay } from '../../src/engine/schedule.js';
import { splitConfirmed } from '../../src/core/state.js';

const iso = (t: number) => new Date(t).toISOString();
const ctx = ctxOf(
  demoPlan(`
  metrics:
    - { name: error-rate, query: 'errors[{{window}}]', max: 0.01, critical: true }
  phases:
    - { name: canary, weight: 10, mirror: 0, checkpoints: [10m] }
    - { name: full, weight: 100, checkpoints: [10m] }`),
);

const failure = (attempt: number, retryAt = T0 + 10 * MIN + 2_000): ApplyFailure => ({ router: 'haproxy', target: '/run/haproxy.sock', error: 'connection refused', attempt, retryAt });

describe('decideApplyFailure', () => {
  // An abort decided 0% (seq 2 aborts, seq 3 rolls back) that the router has not applied.
  const decided = decide(ctx, started(ctx), T0 + 10 * MIN, (b) => decideManual(b, 'abort', undefined)).state;

  it('the first failure: one lifecycle hold naming the router, the split, its record, the live split and the retry', () => {
    expect(splitConfirmed(decided)).toBe(false);
    const { entries, state } = decide(ctx, decided, T0 + 10 * MIN, (b) => decideApplyFailure(b, failure(1)));
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({
      seq: 4,
      kind: 'lifecycle',
      decision: 'hold',
      reason: 'router haproxy (/run/haproxy.sock) could not apply 0% decided in #3: connection refused; 10% stays in effect, checkpoints wait, retrying with backoff',
      weight: { from: 0, to: 0 },
      next: { what: 'router apply retried', at: iso(T0 + 10 * MIN + 2_000) },
    });
    // The hold changes nothing else: the rollout is still rolled back, the split still pending.
    expect(state).toMatchObject({ status: 'rolled-back', splitSeq: 3 });
    expect(splitConfirmed(state)).toBe(false);
  });

  it.each([2, 3, 10])('failure %i of the same apply adds nothing', (attempt) => {
    expect(decide(ctx, decided, T0 + 11 * MIN, (b) => decideApplyFailure(b, failure(attempt))).entries).toEqual([]);
  });

  it('names the mirror and "nothing" when no split was ever applied', () => {
    const mirrored = ctxOf(
      demoPlan(`
  metrics:
    - { name: error-rate, query: 'errors[{{window}}]', max: 0.01, critical: true }
  phases:
    - { name: dark, weight: 0, mirror: 100, checkpoints: [10m] }`),
    );
    const s = { ...started(mirrored), applied: null };
    const { entries } = decide(mirrored, s, T0, (b) => decideApplyFailure(b, failure(1, T0 + 2_000)));
    expect(entries[0]).toMatchObject({ reason: 'router haproxy (/run/haproxy.sock) could not apply 0% +100% mirror decided in #1: connection refused; nothing stays in effect, checkpoints wait, retrying with backoff' });
  });
});

describe('applyRetryDelay', () => {
  it.each([
    [1, 2_000],
    [2, 4_000],
    [3, 8_000],
    [5, 32_000],
    [6, 60_000],
    [20, 60_000],
  ])('after %i failures in a row: %i ms', (failures, ms) => {
    expect(applyRetryDelay(failures)).toBe(ms);
  });
});
