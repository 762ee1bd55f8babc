/**
 * The host of many rollouts, one for both modes: `rollgate run` (plan files, FileJournal, a
 * state dir) and `rollgate controller` (RolloutPlans, ConfigMapJournal, one host per term of
 * leadership). Its mode feeds it plans as they appear (manage), change (update) and go
 * (unmanage); the host owns everything between a plan and its RolloutRunner: the router and
 * metrics provider of the plan, the observer wiring (decision log lines, ControllerMetrics,
 * notifications, and the mode's own sink: Events and status in a cluster), the metrics of a
 * replayed rollout, the notifier swap on a plan change, a plan changed while no controller
 * ran, drift correction, the Scheduler and the stop.
 */
import { setTimeout as delay } from 'node:timers/promises';
import type { Clock } from '../core/clock.js';
import type { Journal } from '../core/journal.js';
import type { MetricsProvider } from '../core/metrics-provider.js';
import type { DecisionRecord, JournalEntry, MetricResult } from '../core/record.js';
import { resolveRollout } from '../core/resolve.js';
import type { TrafficRouter } from '../core/router.js';
import type { RolloutState } from '../core/state.js';
import type { ManualAction } from '../engine/decide.js';
import type { GuardResult } from '../engine/decide-guard.js';
import { RolloutRunner } from '../engine/rollout.js';
import { Scheduler } from '../engine/scheduler.js';
import { providerForPlan } from '../metrics/prometheus.js';
import { QueryPool } from '../metrics/query-pool.js';
import { logDecision } from '../observe/decision-log.js';
import { logApplied } from '../observe/rollout-log.js';
import type { ControllerMetrics } from '../observe/metrics.js';
import { Notifier } from '../observe/notify.js';
import type { LoadedPlan } from '../plan/load.js';
import { rolloutId } from '../plan/schema.js';
import { rolloutLogger, type Logger } from '../support/log.js';

/** How often each router is read back and a split that drifted re-applied (real time). */
const DRIFT_CHECK_MS = 30_000;

/** What both modes (`run` and `controller`) are configured with. */
export interface ControllerOptions {
  log: Logger;
  /** Default Prometheus address for plans without one (`--prometheus`). */
  prometheus?: string;
  /** Where /metrics, /healthz and /readyz listen; null: no HTTP server. */
  listen?: { host: string; port: number } | null;
  clock?: Clock;
  env?: NodeJS.ProcessEnv;
  /** Builds the router of a plan: the composition root (src/wiring/) gives the registry's. */
  routerFor: (loaded: LoadedPlan) => TrafficRouter;
  /** Builds the metrics provider of a plan; default: the plan's Prometheus. */
  providerFor?: (loaded: LoadedPlan) => MetricsProvider;
  /**
   * The one pool of Prometheus queries of the process, shared by the default providers of every
   * plan (the composition root builds it from `--max-queries`); default: one per host.
   */
  queryPool?: QueryPool;
  /**
   * How often each router is read back and the journalled split re-applied where it drifted:
   * default DRIFT_CHECK_MS in real time, off in virtual time.
   */
  driftCheckMs?: number;
}

export interface RolloutHostOptions<Meta> extends Pick<ControllerOptions, 'log' | 'prometheus' | 'routerFor' | 'providerFor' | 'queryPool' | 'driftCheckMs'> {
  clock: Clock;
  /** The journal store; every append is timed for /metrics. */
  journal: Journal;
  metrics: ControllerMetrics;
  /** The mode's sink of each decision, after the log line, the metrics and the notification. */
  onDecision?: (id: string, record: DecisionRecord, state: RolloutState, meta: Meta) => void;
  /** The mode's sink of a changed count of guard strikes (the guard mark is journalled): cluster mode writes it into the status. */
  onGuardStrikes?: (id: string, strikes: number, meta: Meta) => void;
  /** Told of each rollout's decisions, applied splits and guard evaluations (the dashboard). */
  listener?: HostListener;
}

/**
 * Told what happens to every rollout of a host, after the log line, metrics and notification
 * (the dashboard's live events). Called synchronously; must not throw.
 */
export interface HostListener {
  /** The host took the rollout (its journal replayed). */
  onManaged?(id: string): void;
  /** The host let it go (plan removed, shard lost, stop of a term). */
  onUnmanaged?(id: string): void;
  onRecord?(id: string, record: DecisionRecord): void;
  /** A router confirmed the decided split (the applied mark is journalled). */
  onApplied?(id: string): void;
  /** One guard evaluation, at `at` (epoch ms): its result, the strikes after it, each metric's judgement. */
  onGuard?(id: string, at: number, result: GuardResult, strikes: number, metrics: readonly MetricResult[]): void;
}

/** A rollout the host runs, with what its mode keeps about it (`meta`). */
export interface HostedRollout<Meta> {
  loaded: LoadedPlan;
  runner: RolloutRunner;
  notifier: Notifier;
  meta: Meta;
}

export interface RolloutIo {
  router: TrafficRouter;
  provider: MetricsProvider;
}

/** Times journal appends for /metrics (an append that throws is not timed). */
class TimedJournal implements Journal {
  constructor(
    private readonly inner: Journal,
    private readonly metrics: ControllerMetrics,
  ) {}
  read(rollout: string) {
    return this.inner.read(rollout);
  }
  replay(rollout: string) {
    return this.inner.replay(rollout);
  }
  async append(rollout: string, entry: JournalEntry) {
    const t = performance.now();
    await this.inner.append(rollout, entry);
    this.metrics.observeJournalAppend(performance.now() - t);
  }
  rollouts() {
    return this.inner.rollouts();
  }
  close() {
    return this.inner.close();
  }
}

/** Delivers what a notifier has queued (at most `ms`), then closes it. */
function retire(notifier: Notifier, ms: number): Promise<void> {
  return notifier.flush(ms).then(() => notifier.close());
}

export class RolloutHost<Meta = undefined> {
  readonly scheduler: Scheduler;
  private readonly journal: Journal;
  private readonly hosted = new Map<string, HostedRollout<Meta>>();
  private readonly driftCheckMs: number | undefined;
  private readonly queryPool: QueryPool;
  private loop: Promise<void> | null = null;
  private stopped = false;

  constructor(private readonly opts: RolloutHostOptions<Meta>) {
    this.scheduler = new Scheduler(opts.clock, opts.log);
    this.journal = new TimedJournal(opts.journal, opts.metrics);
    this.driftCheckMs = opts.driftCheckMs ?? (opts.clock.virtual ? undefined : DRIFT_CHECK_MS);
    this.queryPool = opts.queryPool ?? new QueryPool();
    opts.metrics.watchQueryPool(this.queryPool);
  }

  get(id: string): HostedRollout<Meta> | undefined {
    return this.hosted.get(id);
  }

  ids(): string[] {
    return [...this.hosted.keys()];
  }

  all(): HostedRollout<Meta>[] {
    return [...this.hosted.values()];
  }

  /** The runner of a rollout by id, or by name when that names one rollout. */
  runner(nameOrId: string): RolloutRunner | undefined {
    const id = resolveRollout(nameOrId, this.ids());
    return id ? this.hosted.get(id)?.runner : undefined;
  }

  /** The router and metrics provider of a plan; throws when its router cannot be built. */
  io(loaded: LoadedPlan): RolloutIo {
    const { opts } = this;
    const router = opts.routerFor(loaded);
    const provider = opts.providerFor
      ? opts.providerFor(loaded)
      : providerForPlan(loaded.plan.spec.prometheus, {
          log: rolloutLogger(opts.log, rolloutId(loaded.plan)),
          fallbackAddress: opts.prometheus,
          onQuery: (q) => opts.metrics.observeQuery(q.durationMs, q.ok, q.errorKind),
          pool: this.queryPool,
          rollout: rolloutId(loaded.plan),
        });
    return { router, provider };
  }

  /**
   * Replays the journal of a new rollout, reconciles its router and schedules it; a plan that
   * changed while no controller ran it is a plan update (or a new revision), decided after
   * `onOpened` (the mode's "managing" log line). Null when the host was stopped before or
   * while the journal was replayed (the rollout is not taken).
   */
  async manage(
    loaded: LoadedPlan,
    meta: Meta,
    { io = this.io(loaded), onOpened }: { io?: RolloutIo; onOpened?: (rollout: HostedRollout<Meta>) => void } = {},
  ): Promise<{ rollout: HostedRollout<Meta>; updated: boolean } | null> {
    const { opts } = this;
    if (this.stopped) return null;
    const id = rolloutId(loaded.plan);
    const runner = await RolloutRunner.open(
      { plan: loaded.plan, planHash: loaded.hash },
      {
        journal: this.journal,
        router: io.router,
        provider: io.provider,
        clock: opts.clock,
        log: opts.log,
        ...(this.driftCheckMs ? { driftCheckMs: this.driftCheckMs } : {}),
        observer: {
          onRecord: (r, state) => {
            logDecision(opts.log, r);
            opts.metrics.observeDecision(r, state.status);
            this.hosted.get(id)?.notifier.notify(r);
            opts.onDecision?.(id, r, state, meta);
            opts.listener?.onRecord?.(id, r);
          },
          onApplied: (m, ms, router) => {
            logApplied(opts.log, m, router, ms);
            opts.metrics.observeRouterApply(router.name, ms, true);
            opts.listener?.onApplied?.(id);
          },
          onApplyError: (_id, _e, ms, router) => opts.metrics.observeRouterApply(router.name, ms, false),
          onGuard: (_id, result, strikes, metrics) => {
            opts.metrics.observeGuard(id, result, metrics);
            opts.listener?.onGuard?.(id, opts.clock.now(), result, strikes, metrics);
          },
          onGuardStrikes: (_id, strikes) => {
            const hosted = this.hosted.get(id);
            if (hosted) opts.onGuardStrikes?.(id, strikes, hosted.meta);
          },
          onQueryProblem: (_id, metric, problem) => opts.metrics.observeQueryProblem(id, metric, problem),
        },
      },
    );
    if (this.stopped) return null;
    const rollout: HostedRollout<Meta> = { loaded, runner, notifier: this.notifier(loaded), meta };
    this.hosted.set(id, rollout);
    const s = runner.state;
    if (s.seq > 0) {
      const next = s.last?.next ? Date.parse(s.last.next.at) : null;
      opts.metrics.restoreRollout({ rollout: id, revision: s.revision, phase: s.phaseName, phaseIndex: s.phaseIndex, status: s.status, weight: s.weight, mirror: s.mirror, nextAt: next });
    }
    this.scheduler.add(runner);
    opts.listener?.onManaged?.(id);
    onOpened?.(rollout);
    const updated = s.seq > 0 && (s.planHash !== loaded.hash || s.revision !== loaded.plan.spec.revision);
    if (updated) await runner.updatePlan({ plan: loaded.plan, planHash: loaded.hash });
    return { rollout, updated };
  }

  /**
   * A changed plan of a managed rollout: new router and provider, a new notifier (the old one
   * still delivers what it has queued), and the plan update decided by the engine.
   */
  async update(id: string, loaded: LoadedPlan, io: RolloutIo = this.io(loaded)): Promise<void> {
    const m = this.hosted.get(id);
    if (!m) throw new Error(`rollout ${id} is not managed`);
    m.runner.replaceIo(io);
    void retire(m.notifier, 10_000);
    m.notifier = this.notifier(loaded);
    m.loaded = loaded;
    await m.runner.updatePlan({ plan: loaded.plan, planHash: loaded.hash });
  }

  /** Lets a rollout go: no decision, its journal and split stay as they are. */
  unmanage(id: string): void {
    const m = this.hosted.get(id);
    if (!m) return;
    this.scheduler.remove(id);
    this.opts.metrics.removeRollout(id);
    void retire(m.notifier, 5_000);
    this.hosted.delete(id);
    this.opts.listener?.onUnmanaged?.(id);
  }

  /** A person's decision on a managed rollout, decided by the engine (the runner tells the scheduler). */
  manual(id: string, action: ManualAction, actor: string, reason?: string) {
    return this.hosted.get(id)!.runner.manual(action, actor, reason);
  }

  /** Runs the rollouts until stop(). */
  run(): Promise<void> {
    this.loop = this.scheduler.run().catch((err: unknown) => {
      this.opts.log.fatal({ err: (err as Error).message }, 'scheduler stopped');
      throw err;
    });
    return this.loop;
  }

  /** Virtual time (tests): runs until `until` or until `done`. */
  runUntil(until: number, done?: () => boolean): Promise<void> {
    return this.scheduler.run({ until, ...(done ? { done } : {}) });
  }

  /** No new step starts and no new rollout is taken; steps under way end after what they are doing (see drain). */
  stop(): void {
    this.stopped = true;
    this.scheduler.stop();
  }

  /**
   * Waits for the steps under way (a decision is journalled before its split changes, so
   * cutting one short is safe): at most `timeoutMs` when given. False when they did not finish.
   */
  async drain(timeoutMs?: number): Promise<boolean> {
    const drained = this.scheduler.drain().then(() => true);
    const finished = timeoutMs === undefined ? await drained : await Promise.race([drained, delay(timeoutMs, false, { ref: false })]);
    await this.loop?.catch(() => undefined);
    return finished;
  }

  /** Delivers the queued notifications of every rollout (at most 5 s) and closes the notifiers. */
  async close(): Promise<void> {
    await Promise.all(this.all().map((m) => retire(m.notifier, 5_000)));
  }

  private notifier(loaded: LoadedPlan): Notifier {
    return new Notifier(loaded.plan.spec.notify, { log: rolloutLogger(this.opts.log, rolloutId(loaded.plan)), onFailure: () => this.opts.metrics.observeNotifyFailure() });
  }
}
