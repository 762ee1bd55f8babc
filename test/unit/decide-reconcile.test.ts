/**
 * Reading the router back as a pure function (src/engine/reconcile.ts): the journal's state
 * and the router's split -> nothing, re-apply, or confirm with the missing applied mark.
 */
import { describe, expect, it } from 'vitest';
import { demoPlan, T0 } from '../helpers/engine.js';
import { applied, ctxOf, decide } from '../helpers/decide.js';
import { decideStart } from '../../src/engine/decide.js';
import { reconcileRouter, routerTouched } from '../../src/engine/reconcile.js';
import { applyEntry, initialState, type RolloutState } from '../../src/core/state.js';
import { isoTime } from '../../src/plan/duration.js';

const ctx = ctxOf(
  demoPlan(`
  metrics:
    - { name: error-rate, query: 'errors[{{window}}]', max: 0.01, critical: true }
  phases:
    - { name: canary, weight: 12.345, checkpoints: [30m] }`),
);

const decided = decide(ctx, initialState('default/demo'), T0, (b) => decideStart(b)).state; // 12.345% decided, not applied
const live = applied(decided, T0);
/** Applied, and the router reported the closest split it could express. */
const rounded: RolloutState = applyEntry(decided, { applied: 1, rollout: 'default/demo', weight: 12.345, mirror: 0, at: isoTime(T0), effective: { weight: 12, mirror: 0 } });

describe('reconcileRouter', () => {
  it.each([
    ['applied, and the router has it', live, { weight: 12.345, mirror: 0 }, 'in-sync'],
    ['applied, within 1e-6', live, { weight: 12.3450000001, mirror: 0 }, 'in-sync'],
    ['applied, and the router has something else (drift)', live, { weight: 0, mirror: 0 }, 'reapply'],
    ['applied, but the mirror differs', live, { weight: 12.345, mirror: 100 }, 'reapply'],
    ['applied, router unreadable', live, null, 'reapply'],
    ['rounded by the router: its effective split agrees', rounded, { weight: 12, mirror: 0 }, 'in-sync'],
    ['rounded by the router: the decided split agrees too', rounded, { weight: 12.345, mirror: 0 }, 'in-sync'],
    ['decided, not applied, the router already has it: confirm', decided, { weight: 12.345, mirror: 0 }, 'confirm'],
    ['decided, not applied, the router has the old split', decided, { weight: 0, mirror: 0 }, 'reapply'],
    ['decided, not applied, router unreadable', decided, null, 'reapply'],
    ['nothing decided yet: never touched', initialState('default/demo'), { weight: 50, mirror: 0 }, 'in-sync'],
  ] as const)('%s: %s', (_what, state, actual, want) => {
    expect(reconcileRouter(state, actual)).toBe(want);
  });

  it('a rollout queued before its first split has not touched its router', () => {
    const queued = decide(ctxOf(demoPlan(`
  metrics:
    - { name: error-rate, query: 'errors[{{window}}]', max: 0.01, critical: true }
  startAt: "${isoTime(T0 + 3_600_000)}"
  phases:
    - { name: canary, weight: 10, checkpoints: [30m] }`)), initialState('default/demo'), T0, (b) => decideStart(b)).state;
    expect(queued.status).toBe('waiting');
    expect(routerTouched(queued)).toBe(false);
    expect(reconcileRouter(queued, { weight: 30, mirror: 0 })).toBe('in-sync');
    expect(routerTouched(live)).toBe(true);
  });
});
