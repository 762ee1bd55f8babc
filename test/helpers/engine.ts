/**
 * Runs the real engine (RolloutRunner + Scheduler) on a virtual clock with an in-memory
 * journal, for table-driven tests of plan semantics.
 */
import { loadPlanText } from '../../src/plan/load.js';
import type { LoadedPlan } from '../../src/plan/load.js';
import { MemoryJournal } from '../../src/journal/memory-journal.js';
import { SimulatedRouter } from '../../src/routers/simulated.js';
import type { TrafficRouter } from '../../src/core/router.js';
import { VirtualClock } from '../../src/core/clock.js';
import { RolloutRunner, type RolloutObserver } from '../../src/engine/rollout.js';
import { Scheduler } from '../../src/engine/scheduler.js';
import { isTerminal, splitConfirmed } from '../../src/core/state.js';
import type { DecisionRecord } from '../../src/core/record.js';
import type { MetricsProvider } from '../../src/core/metrics-provider.js';
import { silentLogger, type Logger } from '../../src/support/log.js';
import { ScriptedProvider, type Script } from './scripted-provider.js';

export const T0 = Date.parse('2025-11-03T10:00:00Z'); // a Monday

export function planFrom(yaml: string): LoadedPlan {
  const res = loadPlanText(yaml, 'test.yaml', { envMode: 'strict', env: {} });
  const errors = res.diagnostics.filter((d) => d.severity === 'error');
  if (errors.length || !res.plans[0]) throw new Error(`bad test plan: ${JSON.stringify(errors)}`);
  return res.plans[0];
}

/**
 * A test plan: the fixed head (apiVersion, kind, metadata, revision, a `file` router that is
 * never written in these tests) and `body`, the rest of `spec` indented by two spaces.
 */
export function demoPlan(body: string, opts: { metadata?: string; revision?: string } = {}): LoadedPlan {
  return planFrom(`
apiVersion: rollgate.dev/v1alpha1
kind: RolloutPlan
metadata: ${opts.metadata ?? '{ name: demo }'}
spec:
  revision: "${opts.revision ?? 'r1'}"
  traffic: { router: file, file: { path: /tmp/unused.json } }
${body}`);
}

export interface Engine {
  clock: VirtualClock;
  journal: MemoryJournal;
  router: TrafficRouter;
  provider: ScriptedProvider;
  runner: RolloutRunner;
  scheduler: Scheduler;
  records: DecisionRecord[];
  /** Runs until `until` (epoch ms) or until the rollout is done or paused. */
  runUntil(until: number, stopWhenPaused?: boolean): Promise<void>;
}

export async function engine(
  loaded: LoadedPlan,
  script: Script,
  opts: {
    from?: number;
    autoApprove?: boolean;
    journal?: MemoryJournal;
    router?: TrafficRouter;
    driftCheckMs?: number;
    /** A real provider (e.g. a PrometheusProvider) instead of the scripted one. */
    metrics?: MetricsProvider;
    log?: Logger;
    /** More observer hooks (records are always collected in `records`). */
    observer?: RolloutObserver;
  } = {},
): Promise<Engine> {
  const clock = new VirtualClock(opts.from ?? T0);
  const journal = opts.journal ?? new MemoryJournal();
  const router = opts.router ?? new SimulatedRouter();
  const provider = new ScriptedProvider(script);
  const records: DecisionRecord[] = [];
  const runner = await RolloutRunner.open(
    { plan: loaded.plan, planHash: loaded.hash },
    {
      journal,
      router,
      provider: opts.metrics ?? provider,
      clock,
      log: opts.log ?? silentLogger(),
      ...(opts.autoApprove ? { autoApproveActor: 'simulate' } : {}),
      ...(opts.driftCheckMs ? { driftCheckMs: opts.driftCheckMs } : {}),
      observer: {
        ...opts.observer,
        onRecord: (r, s) => {
          records.push(r);
          opts.observer?.onRecord?.(r, s);
        },
      },
    },
  );
  const scheduler = new Scheduler(clock, silentLogger());
  scheduler.add(runner);
  return {
    clock,
    journal,
    router,
    provider,
    runner,
    scheduler,
    records,
    runUntil: (until, stopWhenPaused = true) =>
      scheduler.run({ until, done: () => (isTerminal(runner.state) && splitConfirmed(runner.state)) || (stopWhenPaused && runner.state.status === 'paused') }),
  };
}

/** `decision@phase` summaries, for compact expectations. */
export function decisions(records: DecisionRecord[]): string[] {
  return records.map((r) => `${r.kind}:${r.decision}${r.phase ? `@${r.phase}` : ''}`);
}

export const MIN = 60_000;
export const HOUR = 3_600_000;
