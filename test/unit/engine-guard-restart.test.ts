/**
 * Guard strikes survive a restart: they are part of the replayed state (guard marks in the
 * journal), so a controller restarted between two failing evaluations rolls back at
 * `guard.consecutive`, not `consecutive` evaluations after the restart.
 */
import { describe, expect, it } from 'vitest';
import { decisions, engine, demoPlan, T0, MIN } from '../helpers/engine.js';
import { MemoryJournal } from '../../src/journal/memory-journal.js';

const SEC = 1000;
const iso = (t: number) => new Date(t).toISOString();

const plan = demoPlan(`
  metrics:
    - { name: error-rate, query: 'errors[{{window}}]', max: 0.01, rollbackAbove: 0.05, critical: true }
  guard: { interval: 10s, consecutive: 3 }
  phases:
    - { name: canary, weight: 10, checkpoints: [1h] }
    - { name: full, weight: 100, checkpoints: [1h] }`);

describe('guard strikes across a restart', () => {
  it('two strikes, a restart, one more strike: the rollback comes at the third, at once', async () => {
    const breach = T0 + 5 * MIN;
    const errors = (_q: string, at: number) => (at >= breach ? 0.2 : 0.001);
    const journal = new MemoryJournal();
    const first = await engine(plan, errors, { journal });
    // Ticks every 10 s: strikes at breach + 0 s and + 10 s, then the controller stops.
    await first.runUntil(breach + 15 * SEC);
    expect(decisions(first.records)).toEqual(['lifecycle:start@canary']);
    expect(first.runner.state.guardStrikes).toBe(2);

    const second = await engine(plan, errors, { journal, from: breach + 15 * SEC });
    expect(second.runner.state.guardStrikes).toBe(2);
    await second.runUntil(breach + 10 * MIN);
    expect(decisions(second.records)).toEqual(['guard:rollback@canary']);
    const rb = second.records[0]!;
    expect(rb.at).toBe(iso(breach + 15 * SEC)); // the first tick after the restart
    expect(rb.reason).toMatch(/in 3 consecutive evaluations/);
  });

  it('a pass before the restart clears the strikes: the count starts over after it', async () => {
    const breach = T0 + 5 * MIN;
    const healed = breach + 15 * SEC; // fail, fail, then passes
    const journal = new MemoryJournal();
    const first = await engine(plan, (_q, at) => (at >= breach && at < healed ? 0.2 : 0.001), { journal });
    await first.runUntil(healed + 5 * SEC);
    expect(first.runner.state.guardStrikes).toBe(0);

    const restart = healed + 5 * SEC;
    const second = await engine(plan, () => 0.2, { journal, from: restart });
    await second.runUntil(restart + 10 * MIN);
    expect(decisions(second.records)).toEqual(['guard:rollback@canary']);
    expect(second.records[0]!.at).toBe(iso(restart + 20 * SEC)); // three new strikes: now, +10 s, +20 s
  });
});
