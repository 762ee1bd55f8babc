/**
 * The imperative shell around one rollout: it asks the pure core what is due, fetches the
 * samples, journals each decision (durably) before it touches the router, then confirms the
 * applied split in the journal. Its state is always `replay(journal)`; every decision is taken
 * in the pure core: decide.ts, decide-guard.ts, schedule.ts (what is due), reconcile.ts (the
 * router read back).
 */
import type { Journal } from '../core/journal.js';
import { isDecisionRecord, type AppliedMark, type DecisionRecord, type MetricResult } from '../core/record.js';
import type { MetricsProvider, SampleProblem } from '../core/metrics-provider.js';
import type { TrafficRouter, Split } from '../core/router.js';
import { rolloutLogger, type Logger } from '../support/log.js';
import { isoTime } from '../plan/duration.js';
import { rolloutId } from '../plan/schema.js';
import type { Clock } from '../core/clock.js';
import { applyEntry, guardWatches, splitConfirmed, type RolloutState } from '../core/state.js';
import { DecisionBuilder, decideApplyFailure, decideCheckpoint, decideDue, decideManual, decidePlanUpdate, type ManualAction, type ManualResult, type PlanContext } from './decide.js';
import { decideGuard, type GuardResult } from './decide-guard.js';
import { applyRetryDelay, dueDecision, type DueDecision } from './schedule.js';
import { reconcileRouter, routerTouched } from './reconcile.js';
import { badQueries, checkpointSpan, fetchSamples, guardMetrics, guardSpan, judgeSamples, type Evidence } from './judge.js';

/** Hooks for logs, metrics, notifications and command output. All optional. */
export interface RolloutObserver {
  onRecord?(record: DecisionRecord, state: RolloutState): void;
  /** The router confirmed a decided split (`router`: the one that applied it). */
  onApplied?(mark: AppliedMark, durationMs: number, router: TrafficRouter): void;
  /** The router failed to apply a decided split (`router`: the one that failed). */
  onApplyError?(rollout: string, error: Error, durationMs: number, router: TrafficRouter): void;
  /**
   * One guard evaluation: its result, the strikes after it, and each metric's judgement (a
   * passing sequential metric without its interval: judgeSamples).
   */
  onGuard?(rollout: string, result: GuardResult, strikes: number, metrics: readonly MetricResult[]): void;
  /** A changed count of guard strikes was journalled (a guard mark; a rollback's record goes to onRecord instead). */
  onGuardStrikes?(rollout: string, strikes: number): void;
  /** A metric's query failed in a way that needs a person (Prometheus refused it). */
  onQueryProblem?(rollout: string, metric: string, problem: SampleProblem): void;
}

export interface RolloutDeps {
  journal: Journal;
  router: TrafficRouter;
  /** Answers checkpoint queries. */
  provider: MetricsProvider;
  /** Answers guard queries (a range-prefetching provider in simulation); default: provider. */
  guardProvider?: MetricsProvider;
  clock: Clock;
  /** The runner's lines go to rolloutLogger(log, id): each names the rollout. */
  log: Logger;
  observer?: RolloutObserver;
  /** simulate: approvals are granted at once and recorded with this actor. */
  autoApproveActor?: string;
  /**
   * How often the router is read back and the journalled split re-applied where it drifted
   * (an HAProxy restart resets runtime weights, a person edits a file). Off when unset.
   */
  driftCheckMs?: number;
}

const STEP_RETRY_MS = 5_000;

export class RolloutRunner {
  readonly id: string;
  state: RolloutState;
  private nextGuardAt: number | null = null;
  private applyRetryAt: number | null = null;
  private applyFailures = 0;
  private queue: Promise<unknown> = Promise.resolve();
  /** After a failed step (journal or provider fault), nothing is retried before this. */
  private backoffUntil: number | null = null;
  private nextDriftCheckAt: number | null = null;
  private dueChanged: (() => void) | null = null;
  /** After stop(), a step under way begins no further decision, tick or check. */
  private stopping = false;

  private constructor(
    public ctx: PlanContext,
    private deps: RolloutDeps,
    state: RolloutState,
  ) {
    this.id = rolloutId(ctx.plan);
    this.state = state;
  }

  /** Replays the journal and reconciles the router with the last decided split. */
  static async open(ctx: PlanContext, deps: RolloutDeps): Promise<RolloutRunner> {
    const id = rolloutId(ctx.plan);
    const state = await deps.journal.replay(id);
    const runner = new RolloutRunner(ctx, { ...deps, log: rolloutLogger(deps.log, id) }, state);
    if (state.seq > 0) await runner.serial(() => runner.reconcile());
    return runner;
  }

  get plan() {
    return this.ctx.plan;
  }

  /** Runs `fn` after every earlier operation on this rollout (one actor at a time). */
  serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.queue.then(fn, fn);
    this.queue = next.catch(() => undefined);
    return next;
  }

  /**
   * The next decision's instant only changes with the state, the plan, or when it passes;
   * computing it (window calendars) is not free, and the scheduler asks after every step.
   * Kept in one object, updated in place.
   */
  private readonly decisionDue: { seq: number; applied: number; hash: string; due: DueDecision | null } = { seq: -1, applied: -1, hash: '', due: null };

  private nextDecision(now: number): DueDecision | null {
    const c = this.decisionDue;
    const applied = this.state.applied?.seq ?? 0;
    if (c.seq === this.state.seq && c.applied === applied && c.hash === this.ctx.planHash && (c.due === null || c.due.at > now)) return c.due;
    const due = dueDecision(this.plan, this.state, now, { autoApprove: this.deps.autoApproveActor !== undefined });
    c.seq = this.state.seq;
    c.applied = applied;
    c.hash = this.ctx.planHash;
    c.due = due;
    return due;
  }

  /**
   * The next instant this rollout needs the controller, or null: the earliest of its own
   * decision, the next guard tick, a router apply retried and a drift check, not before the
   * retry of a failed step. The scheduler asks once after each change (a step, a manual
   * action, a plan update), never per wake.
   */
  nextDueAt(): number | null {
    const now = this.deps.clock.now();
    let at = Infinity;
    const decision = this.nextDecision(now);
    if (decision !== null) at = decision.at;
    if (this.guardActive()) at = Math.min(at, this.nextGuardAt ?? now);
    if (!splitConfirmed(this.state)) at = Math.min(at, this.applyRetryAt ?? now);
    if (this.driftCheckActive()) at = Math.min(at, (this.nextDriftCheckAt ??= now + this.deps.driftCheckMs!));
    if (at === Infinity) return null;
    return this.backoffUntil !== null && this.backoffUntil > at ? this.backoffUntil : at;
  }

  /**
   * Who is told when something other than a step may have moved the next due instant (a
   * manual action, a plan update): the scheduler, which then asks nextDueAt() again.
   */
  onDueChange(listener: (() => void) | null): void {
    this.dueChanged = listener;
  }

  /**
   * The controller stops: a step under way ends after what it is doing (a decision being
   * journalled and applied is finished), without beginning the next thing due.
   */
  stop(): void {
    this.stopping = true;
  }

  /** Does everything due at the clock's now; a failed step is retried after a pause. */
  step(): Promise<void> {
    return this.serial(async () => {
      try {
        await this.stepNow();
        this.backoffUntil = null;
      } catch (err) {
        this.backoffUntil = this.deps.clock.now() + STEP_RETRY_MS;
        throw err;
      }
    });
  }

  /**
   * What is due, in this order: the start, a pending router apply, the rollout's own decision
   * (a checkpoint, a gate, a rollback step), then a guard tick, then a drift check. A due
   * checkpoint is never starved by the guard: it goes first, and the next guard tick is
   * measured from the end of the previous one (and guard queries are bounded by the interval).
   */
  private async stepNow(): Promise<void> {
    const clock = this.deps.clock;
    for (let i = 0; i < 50; i++) {
      if (this.stopping) return;
      const now = clock.now();
      if (!splitConfirmed(this.state) && (this.applyRetryAt ?? now) <= now) await this.applySplit();
      const confirmed = splitConfirmed(this.state);
      if (confirmed) {
        const due = this.nextDecision(now);
        if (due !== null && due.at <= now) {
          await this.decideDue(due);
          continue;
        }
      }
      // The guard watches the live split, also while a decided one is not applied yet.
      if (this.guardActive() && (this.nextGuardAt ?? now) <= now) {
        await this.guardTick(now);
        continue;
      }
      if (!confirmed) return;
      if (this.driftCheckActive()) {
        this.nextDriftCheckAt ??= now + this.deps.driftCheckMs!;
        if (this.nextDriftCheckAt <= now) {
          this.nextDriftCheckAt = now + this.deps.driftCheckMs!;
          await this.reconcile('drift');
          continue;
        }
      }
      return;
    }
    this.deps.log.error('more than 50 decisions at one instant; deferring the rest');
  }

  /** Takes the due decision; a checkpoint first gets its samples. */
  private async decideDue(due: DueDecision): Promise<void> {
    if (due.what !== 'checkpoint') {
      await this.decide((b) => decideDue(b, due, this.deps.autoApproveActor));
      return;
    }
    const span = checkpointSpan(this.plan, this.state, due.checkpoint);
    const evidence = judgeSamples(this.plan, span.phase, await fetchSamples(this.deps.provider, this.plan, span), 'checkpoint');
    this.reportProblems(evidence, 'checkpoint');
    await this.decide((b) => decideCheckpoint(b, due.checkpoint, evidence));
  }

  /**
   * The router is read back once a split was decided and confirmed. A rollout that has decided
   * no split yet (queued outside its window, waiting for startAt or an approval) has nothing
   * to re-apply.
   */
  private driftCheckActive(): boolean {
    return this.deps.driftCheckMs !== undefined && routerTouched(this.state) && splitConfirmed(this.state);
  }

  /** The guard watches whenever the canary gets traffic (core/state.ts) and it has metrics. */
  private guardActive(): boolean {
    return guardWatches(this.state) && guardMetrics(this.plan).length > 0;
  }

  private async guardTick(now: number): Promise<void> {
    const plan = this.plan;
    const span = guardSpan(plan, this.state, now);
    const evidence = judgeSamples(plan, span.phase, await fetchSamples(this.guardQueries(), plan, span), 'guard');
    // From the end of this tick: a slow tick never makes the next one due at once.
    this.nextGuardAt = this.deps.clock.now() + plan.spec.guard.interval;
    const b = new DecisionBuilder(this.ctx, this.state, this.deps.clock.now());
    const before = this.state.guardStrikes;
    const tick = decideGuard(b, evidence);
    this.deps.observer?.onGuard?.(this.id, tick.result, tick.strikes, evidence.metrics);
    if (tick.result === 'nodata') {
      this.deps.log.debug({ metrics: evidence.metrics.map((m) => ({ name: m.name, reason: m.reason })) }, 'guard: no data (never a rollback)');
    }
    this.reportProblems(evidence, 'guard');
    // A guard mark alone decides nothing: no split to apply.
    if (b.records.length > 0) await this.commit(b);
    else {
      await this.journal(b);
      if (this.state.guardStrikes !== before) this.deps.observer?.onGuardStrikes?.(this.id, this.state.guardStrikes);
    }
  }

  /**
   * Logs (at error) and counts every query Prometheus refused: a plan problem that leaves the
   * metric unjudged until a person fixes the plan.
   */
  private reportProblems(evidence: Evidence, mode: 'checkpoint' | 'guard'): void {
    const refused = badQueries(evidence.metrics);
    for (const m of refused) {
      this.deps.observer?.onQueryProblem?.(this.id, m.name, 'bad-query');
      this.deps.log.error(
        { metric: m.name, query: m.query, reason: m.reason, mode },
        `${mode} metric ${m.name}: Prometheus refused its query (a plan problem): ${m.reason}; the rollout pauses until the plan is fixed`,
      );
    }
  }

  private guardProviderFor: { base: MetricsProvider; interval: number; provider: MetricsProvider } | null = null;

  /** The provider of guard ticks: deps.guardProvider, else the provider bounded by the interval. */
  private guardQueries(): MetricsProvider {
    if (this.deps.guardProvider) return this.deps.guardProvider;
    const base = this.deps.provider;
    const interval = this.plan.spec.guard.interval;
    const cached = this.guardProviderFor;
    if (cached && cached.base === base && cached.interval === interval) return cached.provider;
    const provider = base.within?.(interval) ?? base;
    this.guardProviderFor = { base, interval, provider };
    return provider;
  }

  /** A person's decision, recorded with actor and reason, or refused. */
  manual(action: ManualAction, actor: string, reason?: string): Promise<ManualResult & { seq?: number }> {
    return this.serial(async () => {
      const b = new DecisionBuilder(this.ctx, this.state, this.deps.clock.now(), actor);
      const result = decideManual(b, action, reason);
      if (!result.accepted) return result;
      try {
        await this.commit(b);
      } finally {
        this.dueChanged?.();
      }
      return { ...result, seq: this.state.seq };
    });
  }

  /** New router or provider after a plan change (same rollout). */
  replaceIo(io: Partial<Pick<RolloutDeps, 'router' | 'provider' | 'guardProvider'>>): void {
    Object.assign(this.deps, io);
  }

  /** A changed plan (same identity): records plan-updated, or starts the new revision. */
  updatePlan(ctx: PlanContext): Promise<void> {
    return this.serial(async () => {
      this.ctx = ctx;
      try {
        const b = new DecisionBuilder(ctx, this.state, this.deps.clock.now());
        decidePlanUpdate(b);
        await this.commit(b);
        if (!this.guardActive()) this.nextGuardAt = null;
      } finally {
        this.dueChanged?.();
      }
    });
  }

  private async decide(fn: (b: DecisionBuilder) => void): Promise<void> {
    const b = new DecisionBuilder(this.ctx, this.state, this.deps.clock.now());
    fn(b);
    await this.commit(b);
  }

  /** Journals each entry durably, then applies the decided split. */
  private async commit(b: DecisionBuilder): Promise<void> {
    const wasGuarding = this.guardActive();
    await this.journal(b);
    if (!splitConfirmed(this.state)) {
      this.applyFailures = 0;
      this.applyRetryAt = null;
      await this.applySplit();
    }
    if (!this.guardActive()) {
      this.nextGuardAt = null;
    } else if (!wasGuarding || this.nextGuardAt === null) {
      this.nextGuardAt = this.deps.clock.now() + this.plan.spec.guard.interval;
    }
  }

  /** Appends the builder's entries in order, folding each into the state; records are observed. */
  private async journal(b: DecisionBuilder): Promise<void> {
    for (const e of b.entries) {
      await this.deps.journal.append(this.id, e);
      this.state = applyEntry(this.state, e);
      if (isDecisionRecord(e)) this.deps.observer?.onRecord?.(e, this.state);
    }
  }

  private async applySplit(): Promise<void> {
    const { router, clock, log, journal } = this.deps;
    const seq = this.state.splitSeq;
    const want: Split = { weight: this.state.weight, mirror: this.state.mirror };
    const started = performance.now();
    try {
      const effective = await router.apply(want);
      const mark: AppliedMark = { applied: seq, rollout: this.id, weight: want.weight, mirror: want.mirror, at: isoTime(clock.now()), effective };
      await journal.append(this.id, mark);
      this.state = applyEntry(this.state, mark);
      this.applyFailures = 0;
      this.applyRetryAt = null;
      this.deps.observer?.onApplied?.(mark, performance.now() - started, router);
    } catch (err) {
      const error = err instanceof Error ? err : new Error(String(err));
      this.applyFailures++;
      const delay = applyRetryDelay(this.applyFailures);
      this.applyRetryAt = clock.now() + delay;
      this.deps.observer?.onApplyError?.(this.id, error, performance.now() - started, router);
      log.error(
        { router: router.name, target: router.target, seq, split: want, retryInSeconds: delay / 1000, err: error.message },
        `router ${router.name} failed to apply ${want.weight}%/${want.mirror}% for decision ${seq}; checkpoints wait until it is applied`,
      );
      const b = new DecisionBuilder(this.ctx, this.state, clock.now());
      decideApplyFailure(b, { router: router.name, target: router.target, error: error.message, attempt: this.applyFailures, retryAt: this.applyRetryAt });
      await this.journal(b);
    }
  }

  /** Reads the router back: re-applies the journalled split where it disagrees (reconcile.ts). */
  private async reconcile(why: 'start' | 'drift' = 'start'): Promise<void> {
    const { router, log } = this.deps;
    if (!routerTouched(this.state)) return;
    let actual: Split | null = null;
    try {
      actual = await router.read();
    } catch (err) {
      log.warn({ err: (err as Error).message }, 'cannot read the router; re-applying the journalled split');
    }
    const want = { weight: this.state.weight, mirror: this.state.mirror };
    switch (reconcileRouter(this.state, actual)) {
      case 'in-sync':
        return;
      case 'reapply': {
        const what = why === 'drift' ? 'router drifted from the journalled split' : 'router disagrees with the journal';
        log.warn({ journal: want, router: actual, seq: this.state.splitSeq }, `${what}; re-applying the last decided split`);
        await this.applySplit();
        return;
      }
      case 'confirm': {
        // The router already has the split, but its confirmation never reached the journal.
        const mark: AppliedMark = { applied: this.state.splitSeq, rollout: this.id, weight: want.weight, mirror: want.mirror, at: isoTime(this.deps.clock.now()), effective: actual! };
        await this.deps.journal.append(this.id, mark);
        this.state = applyEntry(this.state, mark);
      }
    }
  }
}
