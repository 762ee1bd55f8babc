/**
 * The RolloutHost both modes run, on a virtual clock with an in-memory journal and the
 * simulated router: a plan changed while no controller ran is announced, then plan-updated, with
 * the replayed split in /metrics; a host stopped while a journal is replayed takes no rollout;
 * the drift check runs at the interval it is given and is off by default in virtual time; the
 * guard's evaluations reach /metrics (a sequential metric's e-value between checkpoints); a
 * router's failures are counted under the router that failed, also after a plan update changed it.
 */
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../src/core/clock.js';
import type { Journal } from '../../src/core/journal.js';
import { isAppliedMark, isDecisionRecord, type JournalEntry } from '../../src/core/record.js';
import { RolloutHost } from '../../src/host/rollout-host.js';
import { MemoryJournal } from '../../src/journal/memory-journal.js';
import { ControllerMetrics } from '../../src/observe/metrics.js';
import { SimulatedRouter } from '../../src/routers/simulated.js';
import { silentLogger } from '../../src/support/log.js';
import { demoPlan, MIN, T0 } from '../helpers/engine.js';
import { parse as parseYaml } from 'yaml';
import { parseDuration } from '../../src/plan/duration.js';
import { planHash, type LoadedPlan } from '../../src/plan/load.js';
import { planSchema } from '../../src/plan/schema.js';
import { ScriptedProvider } from '../helpers/scripted-provider.js';
import { RouterError, type TrafficRouter } from '../../src/core/router.js';

const ID = 'default/demo';
const plan = (max: number) =>
  demoPlan(`
  metrics:
    - { name: error-rate, query: 'errors[{{window}}]', max: ${max}, critical: true }
  guard: { metrics: [] }
  phases:
    - { name: canary, weight: 10, checkpoints: [1h] }
    - { name: full, weight: 100, checkpoints: [1h] }
`);

function host(
  journal: Journal,
  opts: { from?: number; router?: SimulatedRouter; driftCheckMs?: number; metrics?: ControllerMetrics; events?: string[]; provider?: ScriptedProvider } = {},
) {
  const clock = new VirtualClock(opts.from ?? T0);
  const router = opts.router ?? new SimulatedRouter();
  const metrics = opts.metrics ?? new ControllerMetrics({ defaultMetrics: false });
  const h = new RolloutHost<string>({
    log: silentLogger(),
    clock,
    journal,
    metrics,
    routerFor: () => router,
    providerFor: () => opts.provider ?? new ScriptedProvider(() => 0.001),
    ...(opts.driftCheckMs ? { driftCheckMs: opts.driftCheckMs } : {}),
    onDecision: (id, r, _s, meta) => opts.events?.push(`${meta} ${id} #${r.seq} ${r.decision}`),
  });
  return { host: h, clock, router, metrics };
}

const decisions = (entries: JournalEntry[]) => entries.filter(isDecisionRecord).map((r) => r.decision);
const marks = (entries: JournalEntry[]) => entries.filter(isAppliedMark);

describe('RolloutHost', () => {
  it('a plan changed while no controller ran: scheduled and announced, then plan-updated; the replayed split is in /metrics', async () => {
    const journal = new MemoryJournal();
    const first = host(journal);
    await first.host.manage(plan(0.01), 'file-a');
    await first.host.runUntil(T0 + MIN, () => first.host.runner(ID)!.state.seq > 0);
    first.host.stop();
    await first.host.drain();
    await first.host.close();
    expect(decisions(await journal.read(ID))).toEqual(['start']);

    const events: string[] = [];
    const second = host(journal, { from: T0 + 10 * MIN, events });
    const managed = await second.host.manage(plan(0.02), 'file-b', {
      onOpened: ({ runner, meta }) => events.push(`opened ${meta} ${runner.id} at #${runner.state.seq}`),
    });
    expect(managed?.updated).toBe(true);
    expect(events).toEqual(['opened file-b default/demo at #1', 'file-b default/demo #2 plan-updated']);
    expect(decisions(await journal.read(ID))).toEqual(['start', 'plan-updated']);
    expect(second.host.get(ID)?.meta).toBe('file-b');
    expect(await second.metrics.metrics()).toContain('rollgate_rollout_canary_weight{rollout="default/demo"} 10');

    // The same plan again is not an update.
    const third = host(journal, { from: T0 + 20 * MIN });
    expect((await third.host.manage(plan(0.02), 'file-c'))?.updated).toBe(false);
  });

  it('a host stopped while a journal is replayed takes no rollout', async () => {
    const inner = new MemoryJournal();
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    const slow: Journal = {
      read: (rollout) => inner.read(rollout),
      replay: async (rollout) => {
        await gate;
        return inner.replay(rollout);
      },
      append: (rollout, entry) => inner.append(rollout, entry),
      rollouts: () => inner.rollouts(),
      close: () => inner.close(),
    };
    const { host: h, metrics } = host(slow);
    const opening = h.manage(plan(0.01), 'file-a');
    h.stop();
    release();
    expect(await opening).toBeNull();
    expect(h.get(ID)).toBeUndefined();
    expect(h.runner(ID)).toBeUndefined();
    expect(await metrics.metrics()).not.toContain('rollout="default/demo"');
  });

  it('with driftCheckMs, a router that lost its split gets it back at the next check: a new applied mark, no decision', async () => {
    const journal = new MemoryJournal();
    const { host: h, router } = host(journal, { driftCheckMs: 30_000 });
    await h.manage(plan(0.01), 'file-a');
    await h.runUntil(T0 + MIN, () => h.runner(ID)!.state.seq > 0);
    expect(await router.read()).toEqual({ weight: 10, mirror: 0 });

    await router.apply({ weight: 0, mirror: 0 }); // the split was reset behind rollgate's back
    await h.runUntil(T0 + 2 * MIN);
    expect(await router.read()).toEqual({ weight: 10, mirror: 0 });
    const entries = await journal.read(ID);
    expect(decisions(entries)).toEqual(['start']);
    expect(marks(entries).map((m) => [m.applied, m.weight])).toEqual([
      [1, 10],
      [1, 10],
    ]);
  });

  it('in virtual time the drift check is off unless asked for', async () => {
    const journal = new MemoryJournal();
    const { host: h, router } = host(journal);
    await h.manage(plan(0.01), 'file-a');
    await h.runUntil(T0 + MIN, () => h.runner(ID)!.state.seq > 0);
    await router.apply({ weight: 0, mirror: 0 });
    await h.runUntil(T0 + 30 * MIN);
    expect(await router.read()).toEqual({ weight: 0, mirror: 0 });
    expect(marks(await journal.read(ID))).toHaveLength(1);
  });

  it("the guard's evaluations move a sequential metric's e-value on /metrics between checkpoints (no decision needed)", async () => {
    // The schema alone (the plan checks of counts metrics are another part of this step).
    const raw: unknown = parseYaml(`
apiVersion: rollgate.dev/v1alpha1
kind: RolloutPlan
metadata: { name: demo }
spec:
  revision: r1
  traffic: { router: file, file: { path: /tmp/unused.json } }
  metrics:
    - name: errors
      counts: { canary: { bad: 'canary_bad[{{window}}]', total: 'canary_total[{{window}}]' }, baseline: { bad: 'stable_bad[{{window}}]', total: 'stable_total[{{window}}]' } }
      test: sequential
      critical: true
  guard: { interval: 1m }
  phases:
    - { name: canary, weight: 10, checkpoints: [1h] }
    - { name: full, weight: 100, checkpoints: [1h] }
`);
    const counts: LoadedPlan = { plan: planSchema.parse(raw), file: 'test.yaml', hash: planHash(raw), document: 0 };
    // 10 canary and 90 stable requests per second, failing at 1.2% and 1%: evidence builds up slowly.
    const provider = new ScriptedProvider((query) => {
      const [, name, window] = /^(\w+)\[(\w+)\]$/.exec(query)!;
      const seconds = parseDuration(window!)! / 1000;
      return { canary_total: 10 * seconds, canary_bad: 0.12 * seconds, stable_total: 90 * seconds, stable_bad: 0.9 * seconds }[name!]!;
    });
    const journal = new MemoryJournal();
    const { host: h, metrics } = host(journal, { provider });
    await h.manage(counts, 'file-a');
    const E = /^rollgate_metric_e_value\{rollout="default\/demo",metric="errors"\} (\S+)$/m;
    const seen: number[] = [];
    for (const minutes of [5, 10, 20]) {
      await h.runUntil(T0 + minutes * MIN);
      seen.push(Number(E.exec(await metrics.metrics())![1]));
    }
    h.stop();
    await h.drain();
    expect(decisions(await journal.read(ID))).toEqual(['start']);
    expect(new Set(seen).size).toBe(3);
    expect(seen.every((e) => e > 0 && e < 100)).toBe(true);
    expect(await metrics.metrics()).toContain('rollgate_metric_e_value_threshold{rollout="default/demo",metric="errors"} 100');
  });

  it('a failed apply is counted under the router that failed: the new one after a plan update replaced it', async () => {
    const journal = new MemoryJournal();
    const h = host(journal);
    await h.host.manage(plan(0.01), 'file-a');
    await h.host.runUntil(T0 + MIN, () => h.host.runner(ID)!.state.applied !== null);
    let failures = 0;
    const broken: TrafficRouter = {
      name: 'haproxy',
      target: 'backend web',
      apply: async () => {
        failures++;
        throw new RouterError('haproxy', 'backend web', 'connection refused');
      },
      read: async () => null,
    };
    await h.host.update(ID, plan(0.02), { router: broken, provider: new ScriptedProvider(() => 0.001) });
    expect((await h.host.manual(ID, 'promote', 'oncall')).accepted).toBe(true); // a new split to apply
    await h.host.runUntil(T0 + 5 * MIN, () => failures > 0);
    expect(failures).toBe(1);
    const text = await h.metrics.metrics();
    expect(text).toContain('rollgate_router_apply_errors_total{router="haproxy"} 1');
    expect(text).toContain('rollgate_router_apply_errors_total{router="simulated"} 0');
  });
});
