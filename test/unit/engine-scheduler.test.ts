/**
 * The scheduler over real runners (in-memory journal, simulated routers, scripted metrics):
 * due order, re-keying after a plan update or a manual action, removal, determinism in
 * virtual time, a real-time loop woken by a manual action, and the cost per event (each
 * step asks one rollout for its next due instant, never all of them).
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { demoPlan, HOUR, MIN, T0 } from '../helpers/engine.js';
import { ScriptedProvider } from '../helpers/scripted-provider.js';
import { MemoryJournal } from '../../src/journal/memory-journal.js';
import { SimulatedRouter } from '../../src/routers/simulated.js';
import { RealClock, VirtualClock, type Clock } from '../../src/core/clock.js';
import { RolloutRunner } from '../../src/engine/rollout.js';
import { Scheduler } from '../../src/engine/scheduler.js';
import { silentLogger } from '../../src/support/log.js';
import type { LoadedPlan } from '../../src/plan/load.js';
import type { Split, TrafficRouter } from '../../src/core/router.js';

/** A router whose applies wait until `open()`; counts the applies begun. */
class GatedRouter implements TrafficRouter {
  readonly name = 'gated';
  readonly target = 'test';
  static begun = 0;
  static release: () => void = () => undefined;
  private static gate = new Promise<void>((r) => (GatedRouter.release = r));
  async apply(split: Split): Promise<Split> {
    GatedRouter.begun++;
    await GatedRouter.gate;
    return split;
  }
  async read(): Promise<Split | null> {
    return null;
  }
}

const iso = (t: number) => new Date(t).toISOString();

/** A rollout named `name` whose canary begins at `startAt`, then a guard tick every `guard`. */
function plan(name: string, opts: { startAt?: number; guard?: string; revision?: string } = {}): LoadedPlan {
  return demoPlan(
    `
  metrics:
    - { name: error-rate, query: 'errors[{{window}}]', max: 0.01, critical: true }
  guard: { interval: ${opts.guard ?? '1m'} }
${opts.startAt !== undefined ? `  startAt: "${iso(opts.startAt)}"` : ''}
  phases:
    - { name: canary, weight: 10, checkpoints: [30m] }
    - { name: full, weight: 100, checkpoints: [1h] }`,
    { metadata: `{ name: ${name} }`, ...(opts.revision ? { revision: opts.revision } : {}) },
  );
}

interface Fleet {
  clock: Clock;
  journal: MemoryJournal;
  scheduler: Scheduler;
  runners: RolloutRunner[];
  /** `instant rollout` of every guard tick, in the order they ran. */
  ticks: Array<{ at: number; rollout: string }>;
}

async function fleet(
  plans: LoadedPlan[],
  clock: Clock = new VirtualClock(T0),
  opts: { maxSteps?: number; router?: () => TrafficRouter } = {},
): Promise<Fleet> {
  const journal = new MemoryJournal();
  const scheduler = new Scheduler(clock, silentLogger(), opts.maxSteps !== undefined ? { maxSteps: opts.maxSteps } : {});
  const ticks: Fleet['ticks'] = [];
  const runners: RolloutRunner[] = [];
  for (const loaded of plans) {
    const runner = await RolloutRunner.open(
      { plan: loaded.plan, planHash: loaded.hash },
      {
        journal,
        router: opts.router?.() ?? new SimulatedRouter(),
        provider: new ScriptedProvider(() => 0.001),
        clock,
        log: silentLogger(),
        observer: { onGuard: (rollout) => ticks.push({ at: clock.now(), rollout }) },
      },
    );
    scheduler.add(runner);
    runners.push(runner);
  }
  return { clock, journal, scheduler, runners, ticks };
}

async function journalText(f: Fleet): Promise<string> {
  const lines: string[] = [];
  for (const id of await f.journal.rollouts()) for (const e of await f.journal.read(id)) lines.push(JSON.stringify(e));
  return lines.join('\n');
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('Scheduler', () => {
  it('steps rollouts in time order, ties in the order they were added', async () => {
    // c begins first, a and b together a minute later: ticks of a come before b's at each instant.
    const f = await fleet([plan('a', { startAt: T0 + 2 * MIN }), plan('b', { startAt: T0 + 2 * MIN }), plan('c', { startAt: T0 + MIN, guard: '90s' })]);
    await f.scheduler.run({ until: T0 + 20 * MIN });
    expect(f.ticks.length).toBeGreaterThan(30);
    const rank = (id: string) => ['default/a', 'default/b', 'default/c'].indexOf(id);
    const sorted = [...f.ticks].sort((x, y) => x.at - y.at || rank(x.rollout) - rank(y.rollout));
    expect(f.ticks).toEqual(sorted);
    expect(f.ticks[0]).toEqual({ at: T0 + MIN + 90_000, rollout: 'default/c' });
    expect(f.ticks.filter((t) => t.at === T0 + 3 * MIN).map((t) => t.rollout)).toEqual(['default/a', 'default/b']);
  });

  it('virtual time is deterministic: the same fleet gives the same journals byte for byte', async () => {
    const plans = () => Array.from({ length: 8 }, (_, i) => plan(`r${i}`, { startAt: T0 + (i % 4) * 20_000, guard: `${30 + (i % 3) * 15}s` }));
    const first = await fleet(plans());
    await first.scheduler.run({ until: T0 + 2 * HOUR });
    const second = await fleet(plans());
    await second.scheduler.run({ until: T0 + 2 * HOUR });
    const text = await journalText(first);
    expect(text).toContain('"decision":"complete"');
    expect(await journalText(second)).toBe(text);
    expect(second.ticks).toEqual(first.ticks);
  });

  it('a plan update re-keys the rollout: a new revision without startAt begins at once, not at the old instant', async () => {
    const f = await fleet([plan('a', { startAt: T0 + 5 * HOUR }), plan('b')]);
    await f.scheduler.run({ until: T0 + 10 * MIN });
    const a = f.runners[0]!;
    expect(a.state.status).toBe('waiting');
    const next = plan('a', { revision: 'r2' });
    await a.updatePlan({ plan: next.plan, planHash: next.hash });
    await f.scheduler.run({ until: T0 + 20 * MIN });
    expect(a.state).toMatchObject({ revision: 'r2', status: 'progressing', weight: 10 });
    expect(f.ticks.find((t) => t.rollout === 'default/a')?.at).toBe(T0 + 11 * MIN);
  });

  it('a removed rollout is not stepped any more; the others go on', async () => {
    const f = await fleet([plan('a'), plan('b')]);
    await f.scheduler.run({ until: T0 + 5 * MIN });
    f.scheduler.remove('default/a');
    expect(f.scheduler.get('default/a')).toBeUndefined();
    const before = f.ticks.filter((t) => t.rollout === 'default/a').length;
    await f.scheduler.run({ until: T0 + 15 * MIN });
    expect(f.ticks.filter((t) => t.rollout === 'default/a').length).toBe(before);
    expect(f.ticks.filter((t) => t.rollout === 'default/b' && t.at > T0 + 5 * MIN).length).toBe(10);
  });

  it('each step asks only its own rollout for the next due instant: O(events), not O(events x rollouts)', async () => {
    const rollouts = 60;
    const nextDueAt = vi.spyOn(RolloutRunner.prototype, 'nextDueAt');
    const step = vi.spyOn(RolloutRunner.prototype, 'step');
    // Every rollout due at its own instant: one event per wake.
    const f = await fleet(Array.from({ length: rollouts }, (_, i) => plan(`r${i}`, { startAt: T0 + i * 1_000 })));
    await f.scheduler.run({ until: T0 + 10 * MIN });
    const steps = step.mock.calls.length;
    expect(steps).toBeGreaterThan(rollouts * 8);
    // One ask when added, one after each step (a full scan per wake would be ~rollouts x steps).
    expect(nextDueAt.mock.calls.length).toBeLessThanOrEqual(rollouts + steps);
  });

  it('real time: a manual action that makes a rollout due earlier wakes the sleeping loop', async () => {
    const clock = new RealClock();
    // The canary begins in 2 hours; the loop sleeps (at most a minute while idle).
    const f = await fleet([plan('a', { startAt: clock.now() + 2 * HOUR, guard: '1s' })], clock);
    const loop = f.scheduler.run();
    const a = f.runners[0]!;
    await vi.waitFor(() => expect(a.state.status).toBe('waiting'));
    expect(f.ticks).toEqual([]);
    // Promoted: the canary gets 10% now, and the first guard tick is due a second later.
    expect(await a.manual('promote', 'alice')).toMatchObject({ accepted: true });
    await vi.waitFor(() => expect(f.ticks.length).toBeGreaterThan(0), { timeout: 15_000, interval: 50 });
    f.scheduler.stop();
    await loop;
    await f.scheduler.drain();
  });

  it('real time: at most maxSteps steps under way; after stop() no step begins and drain waits only for those under way', async () => {
    const clock = new RealClock();
    const f = await fleet(
      Array.from({ length: 20 }, (_, i) => plan(`r${i}`)),
      clock,
      { maxSteps: 4, router: () => new GatedRouter() },
    );
    const loop = f.scheduler.run();
    // Every rollout is due (its start); four begin, and their router applies wait.
    await vi.waitFor(() => expect(GatedRouter.begun).toBe(4));
    const started = async () => (await f.journal.rollouts()).length;
    expect(await started()).toBe(4);
    f.scheduler.stop();
    await loop;
    GatedRouter.release();
    await f.scheduler.drain();
    // The four finished their step (start and applied mark); the sixteen others never began.
    expect(GatedRouter.begun).toBe(4);
    expect(await started()).toBe(4);
    expect(f.runners.filter((r) => r.state.seq > 0 && r.state.applied !== null)).toHaveLength(4);
  });
});
