/**
 * A short rollout through the real engine (RolloutRunner + Scheduler, virtual time, scripted
 * metrics) driving the gateway-api router against the nock-simulated API server: every
 * decided split lands in the HTTPRoute, an API outage holds the rollout until the split is
 * applied, and a restart re-applies the journalled split to a route someone reset.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../src/core/clock.js';
import { RolloutRunner } from '../../src/engine/rollout.js';
import { Scheduler } from '../../src/engine/scheduler.js';
import { isTerminal } from '../../src/core/state.js';
import { MemoryJournal } from '../../src/journal/memory-journal.js';
import { isAppliedMark, type AppliedMark, type DecisionRecord } from '../../src/core/record.js';
import { silentLogger } from '../../src/support/log.js';
import { createRouter } from '../../src/routers/registry.js';
import { GatewayApiRouter } from '../../src/routers/gateway-api.js';
import { decisions, HOUR, MIN, planFrom, T0 } from '../helpers/engine.js';
import { ScriptedProvider } from '../helpers/scripted-provider.js';
import { FakeKubeApi, type KubeObj } from '../helpers/fake-kube-api.js';

const G = 'gateway.networking.k8s.io';

const loaded = planFrom(`
apiVersion: rollgate.dev/v1alpha1
kind: RolloutPlan
metadata: { name: cohort-analyzer, namespace: learning }
spec:
  revision: "r7"
  traffic:
    router: gateway-api
    gateway-api: { httpRoute: cohort-analyzer, stableBackend: analyzer-stable, canaryBackend: analyzer-canary }
  metrics:
    - { name: error-rate, query: 'errors[{{window}}]', max: 0.01, critical: true }
  guard: { metrics: [] }
  phases:
    - { name: shadow, weight: 0, mirror: 20, checkpoints: [10m] }
    - { name: canary, weight: 5, checkpoints: [10m, 20m] }
    - { name: full, weight: 100, checkpoints: [10m] }
`);

function httpRoute() {
  return {
    apiVersion: `${G}/v1`,
    kind: 'HTTPRoute',
    metadata: { name: 'cohort-analyzer', namespace: 'learning' },
    spec: {
      parentRefs: [{ name: 'public', namespace: 'gateways' }],
      rules: [
        {
          backendRefs: [
            { name: 'analyzer-stable', port: 8080, weight: 1 },
            { name: 'analyzer-canary', port: 8080, weight: 0 },
          ],
        },
      ],
    },
  };
}

let api: FakeKubeApi;
beforeEach(() => {
  api = new FakeKubeApi();
  api.serveGroup(G, ['v1']);
  api.create(httpRoute(), 'httproutes');
});
afterEach(() => api.close());

const weights = (o: KubeObj) => ((o.spec as { rules: Array<{ backendRefs: Array<{ weight: number }> }> }).rules[0]!.backendRefs.map((b) => b.weight));
const route = () => api.object(G, 'httproutes', 'learning', 'cohort-analyzer');

/** Fast API retries in the outage test (real-time backoff); the registry's defaults otherwise. */
const fastRetry = { retries: 1, minTimeoutMs: 1, maxTimeoutMs: 2, conflictRetries: 3 };

async function start(journal: MemoryJournal, clock: VirtualClock, records: DecisionRecord[], applied: AppliedMark[], fast = false) {
  const cfg = { namespace: 'learning', httpRoute: 'cohort-analyzer', rule: 0, stableBackend: 'analyzer-stable', canaryBackend: 'analyzer-canary' };
  const router = fast ? new GatewayApiRouter(api.client(), cfg, silentLogger(), fastRetry) : createRouter(loaded.plan, { log: silentLogger(), kube: api.client() });
  const runner = await RolloutRunner.open(
    { plan: loaded.plan, planHash: loaded.hash },
    {
      journal,
      router,
      provider: new ScriptedProvider(() => 0.001),
      clock,
      log: silentLogger(),
      observer: { onRecord: (r) => records.push(r), onApplied: (m) => applied.push(m) },
    },
  );
  const scheduler = new Scheduler(clock, silentLogger());
  scheduler.add(runner);
  return { runner, run: (until: number) => scheduler.run({ until, done: () => isTerminal(runner.state) }) };
}

describe('a rollout through the gateway-api router', () => {
  it('moves the HTTPRoute through shadow (mirror only), 5 % and 100 %, each split confirmed in the journal', async () => {
    const clock = new VirtualClock(T0);
    const journal = new MemoryJournal();
    const records: DecisionRecord[] = [];
    const applied: AppliedMark[] = [];
    const { runner, run } = await start(journal, clock, records, applied);
    await run(T0 + 2 * HOUR);
    expect(runner.state.status).toBe('complete');
    expect(decisions(records)).toEqual([
      'lifecycle:start@shadow',
      'checkpoint:advance@shadow',
      'checkpoint:continue@canary',
      'checkpoint:advance@canary',
      'checkpoint:complete@full',
    ]);
    expect(applied.map((m) => m.effective)).toEqual([
      { weight: 0, mirror: 20 },
      { weight: 5, mirror: 0 },
      { weight: 100, mirror: 0 },
    ]);
    expect(weights(route())).toEqual([0, 100]);
    expect((route().spec as { rules: Array<{ filters?: unknown[] }> }).rules[0]!.filters).toEqual([]);
    // Every split the engine decided was written once: shadow, canary and full.
    expect(api.patches()).toHaveLength(3);
    const entries = await journal.read(runner.id);
    expect(entries.filter(isAppliedMark)).toHaveLength(3);
  });

  it('an API outage holds the rollout at the journalled split until the route has it', async () => {
    const clock = new VirtualClock(T0);
    const records: DecisionRecord[] = [];
    const applied: AppliedMark[] = [];
    const { runner, run } = await start(new MemoryJournal(), clock, records, applied, true);
    await run(T0 + 11 * MIN); // shadow passed: 5 % applied
    expect(weights(route())).toEqual([95, 5]);
    api.failNext('PATCH', 503, 1000);
    await run(T0 + 35 * MIN); // the 100 % decision is taken but cannot be applied
    expect(runner.state.weight).toBe(100);
    const attempts = api.patches().length;
    expect(attempts).toBeGreaterThan(2 * 2); // the engine retried the apply, each time with API retries
    expect(weights(route())).toEqual([95, 5]);
    expect(runner.state.status).not.toBe('complete');
    api.clearFaults();
    await run(T0 + 3 * HOUR);
    expect(runner.state.status).toBe('complete');
    expect(weights(route())).toEqual([0, 100]);
    expect(applied.at(-1)!.effective).toEqual({ weight: 100, mirror: 0 });
  });

  it('after a restart, a route reset by someone else gets the journalled split back', async () => {
    const clock = new VirtualClock(T0);
    const journal = new MemoryJournal();
    const first = await start(journal, clock, [], []);
    await first.run(T0 + 11 * MIN);
    expect(weights(route())).toEqual([95, 5]);
    api.edit(G, 'httproutes', 'learning', 'cohort-analyzer', (o) => {
      const refs = (o.spec as { rules: Array<{ backendRefs: Array<{ weight: number }> }> }).rules[0]!.backendRefs;
      refs[0]!.weight = 1;
      refs[1]!.weight = 0;
    });
    const before = api.patches().length;
    await start(journal, clock, [], []);
    expect(weights(route())).toEqual([95, 5]);
    expect(api.patches()).toHaveLength(before + 1);
  });
});
