/**
 * `simulate`: the real engine in virtual time against Prometheus history. Every checkpoint and
 * guard tick is evaluated with queries at the simulated instant (`time=`), so the same plan
 * and the same history always give the same records. No traffic is touched, nothing is
 * written; approvals are granted at once and recorded as such.
 */
import type { DecisionRecord } from '../core/record.js';
import { MemoryJournal } from '../journal/memory-journal.js';
import type { LoadedPlan } from '../plan/load.js';
import type { MetricsProvider } from '../core/metrics-provider.js';
import { RangePrefetchProvider, type PrefetchStats } from '../metrics/prefetch.js';
import { SimulatedRouter } from '../routers/simulated.js';
import type { Logger } from '../support/log.js';
import { VirtualClock } from '../core/clock.js';
import { RolloutRunner } from '../engine/rollout.js';
import { Scheduler } from '../engine/scheduler.js';
import { isTerminal, type RolloutState } from '../core/state.js';

export const SIMULATE_ACTOR = 'simulate';

export interface SimulateOptions {
  from: number;
  until: number;
  provider: MetricsProvider;
  log: Logger;
  onRecord?: (r: DecisionRecord) => void;
  /** Wall clock of the Prometheus data, for the prefetcher (tests). */
  dataNow?: () => number;
}

export interface SimulationResult {
  records: DecisionRecord[];
  state: RolloutState;
  /** 0 complete, 10 rolled back, 11 paused or unfinished (decision-record.md). */
  exitCode: 0 | 10 | 11;
  prefetch: PrefetchStats;
}

export function exitCodeOf(state: RolloutState): 0 | 10 | 11 {
  if (state.status === 'complete') return 0;
  if (state.status === 'rolled-back') return 10;
  return 11;
}

export async function simulate(loaded: LoadedPlan, opts: SimulateOptions): Promise<SimulationResult> {
  const clock = new VirtualClock(opts.from);
  const records: DecisionRecord[] = [];
  const guardProvider = new RangePrefetchProvider(opts.provider, {
    stepMs: loaded.plan.spec.guard.interval,
    ...(opts.dataNow ? { now: opts.dataNow } : {}),
  });
  const runner = await RolloutRunner.open(
    { plan: loaded.plan, planHash: loaded.hash },
    {
      journal: new MemoryJournal(),
      router: new SimulatedRouter(),
      provider: opts.provider,
      guardProvider,
      clock,
      log: opts.log,
      autoApproveActor: SIMULATE_ACTOR,
      observer: {
        onRecord: (r) => {
          records.push(r);
          opts.onRecord?.(r);
        },
      },
    },
  );
  const scheduler = new Scheduler(clock, opts.log);
  scheduler.add(runner);
  await scheduler.run({
    until: opts.until,
    done: () => isTerminal(runner.state) || runner.state.status === 'paused',
  });
  return { records, state: runner.state, exitCode: exitCodeOf(runner.state), prefetch: guardProvider.stats };
}
