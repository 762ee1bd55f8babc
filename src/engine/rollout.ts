/**
 * The imperative shell around one rollout: it asks the pure core what is due, gathers the
 * evidence, journals each decision (durably) before it touches the router, then confirms the
 * applied split in the journal. Its state is always `replay(journal)`.
 */
import type { Journal } from '../core/journal.js';
import type { AppliedMark, DecisionRecord } from '../core/record.js';
import type { MetricsProvider, SampleProblem } from '../core/metrics-provider.js';
import type { TrafficRouter, Split } from '../core/router.js';
import type { Logger } from '../support/log.js';
import { isoTime, formatWindow } from '../plan/duration.js';
import { rolloutId } from '../plan/schema.js';
import type { Clock } from '../core/clock.js';
import { applyEntry, liveSplit, replayJournal, splitConfirmed, type RolloutState } from '../core/state.js';
import {
  DecisionBuilder,
  decideCheckpoint,
  decideGuardPause,
  decideGuardRollback,
  decideManual,
  decidePlanUpdate,
  decideRollbackStep,
  decideStart,
  enterPhase,
  type ManualAction,
  type ManualResult,
  type PlanContext,
} from './decide.js';
import { nextDecisionAt, pendingCheckpoint } from './schedule.js';
import { phaseGate } from './phase-start.js';
import { badQueries, gatherEvidence, guardMetrics, guardWindow, outcomeOf, phaseMetrics, type Evidence } from './judge.js';

/** Hooks for logs, metrics, notifications and command output. All optional. */
export interface RolloutObserver {
  onRecord?(record: DecisionRecord, state: RolloutState): void;
  onApplied?(mark: AppliedMark, durationMs: number): void;
  onApplyError?(rollout: string, error: Error, durationMs: number): void;
  onGuard?(rollout: string, result: 'pass' | 'fail' | 'nodata', strikes: number): void;
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
  log: Logger;
  observer?: RolloutObserver;
  /** simulate: approvals are granted at once and recorded with this actor. */
  autoApproveActor?: string;
  /**
   * How often the router is read back and the journalled split re-applied where it drifted
   * (an HAProxy restart resets runtime weights, a person edits a file). Off when unset.
   */
  driftCheckMs?: number;
  /** Test fault injection: called after a split-changing record is journalled, before the router. */
  beforeApply?: (seq: number) => void;
}

const APPLY_RETRY_MIN_MS = 2_000;
const APPLY_RETRY_MAX_MS = 60_000;
const STEP_RETRY_MS = 5_000;

export class RolloutRunner {
  readonly id: string;
  state: RolloutState;
  private guardStrikes = 0;
  private nextGuardAt: number | null = null;
  private applyRetryAt: number | null = null;
  private applyFailures = 0;
  private queue: Promise<unknown> = Promise.resolve();
  /** After a failed step (journal or provider fault), nothing is retried before this. */
  private backoffUntil: number | null = null;
  private nextDriftCheckAt: number | null = null;

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
    const { state } = await replayJournal(deps.journal, id);
    const runner = new RolloutRunner(ctx, { ...deps }, state);
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
   * computing it (window calendars) is not free, and the scheduler asks often.
   */
  private decisionDue: { seq: number; applied: number; hash: string; at: number | null } | null = null;

  private nextDecision(now: number): number | null {
    const c = this.decisionDue;
    const applied = this.state.applied?.seq ?? 0;
    if (c && c.seq === this.state.seq && c.applied === applied && c.hash === this.ctx.planHash && (c.at === null || c.at > now)) return c.at;
    const at = nextDecisionAt(this.plan, this.state, now, { autoApprove: this.deps.autoApproveActor !== undefined });
    this.decisionDue = { seq: this.state.seq, applied, hash: this.ctx.planHash, at };
    return at;
  }

  /** The next instant this rollout needs the controller, or null. */
  nextDueAt(): number | null {
    const now = this.deps.clock.now();
    const times = [
      this.nextDecision(now),
      this.guardActive() ? (this.nextGuardAt ?? now) : null,
      splitConfirmed(this.state) ? null : (this.applyRetryAt ?? now),
      this.driftCheckActive() ? (this.nextDriftCheckAt ??= now + this.deps.driftCheckMs!) : null,
    ].filter((t): t is number => t !== null);
    if (!times.length) return null;
    return Math.max(Math.min(...times), this.backoffUntil ?? -Infinity);
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
      const now = clock.now();
      if (this.state.seq === 0) {
        await this.decide((b) => decideStart(b));
        continue;
      }
      if (!splitConfirmed(this.state) && (this.applyRetryAt ?? now) <= now) await this.applySplit();
      const confirmed = splitConfirmed(this.state);
      if (confirmed) {
        const due = this.nextDecision(now);
        if (due !== null && due <= now) {
          await this.decideDue(now);
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
    this.deps.log.error({ rollout: this.id }, 'more than 50 decisions at one instant; deferring the rest');
  }

  private async decideDue(now: number): Promise<void> {
    const s = this.state;
    switch (s.status) {
      case 'waiting': {
        const gate = phaseGate(this.plan, s, s.phaseIndex, now);
        if (gate?.waitingFor === 'approval' && this.deps.autoApproveActor) {
          const actor = this.deps.autoApproveActor;
          await this.decide((b) => {
            enterPhase(b, s.phaseIndex, null); // records the wait unless already recorded
            const approver = new DecisionBuilder(b.ctx, b.state, b.now, actor);
            approver.push({
              kind: 'manual',
              decision: 'promote',
              reason: `approval of phase ${this.plan.spec.phases[s.phaseIndex]!.name} granted by ${actor}`,
              enters: { phase: this.plan.spec.phases[s.phaseIndex]!.name, index: s.phaseIndex },
            });
            b.records.push(...approver.records);
            b.state = approver.state;
            enterPhase(b, s.phaseIndex, null);
          });
          return;
        }
        await this.decide((b) => enterPhase(b, s.phaseIndex, null));
        return;
      }
      case 'rolling-back':
        await this.decide((b) => decideRollbackStep(b));
        return;
      case 'progressing': {
        const pending = pendingCheckpoint(this.plan, s);
        if (!pending) return;
        const phase = this.plan.spec.phases[s.phaseIndex]!;
        const windowMs = pending.due - pending.from;
        const evidence = await gatherEvidence(
          this.deps.provider,
          this.plan,
          phase,
          phaseMetrics(this.plan, phase),
          { phase: phase.name, weight: s.weight },
          pending.due,
          windowMs,
          'checkpoint',
        );
        const outcome = outcomeOf(this.plan, evidence);
        this.reportProblems(evidence, 'checkpoint');
        await this.decide((b) =>
          decideCheckpoint(b, {
            index: pending.index,
            of: pending.of,
            due: pending.due,
            from: pending.from,
            window: formatWindow(windowMs),
            metrics: evidence.metrics,
            outcome,
          }),
        );
        return;
      }
      default:
        return;
    }
  }

  /**
   * The router is read back once a split was decided and confirmed. A rollout that has decided
   * no split yet (queued outside its window, waiting for startAt or an approval) has nothing
   * to re-apply.
   */
  private driftCheckActive(): boolean {
    return this.deps.driftCheckMs !== undefined && this.state.splitSeq > 0 && splitConfirmed(this.state);
  }

  /** The guard watches whenever the canary gets traffic (the live split, applied or not yet). */
  private guardActive(): boolean {
    const s = this.state;
    if (s.status !== 'progressing' && s.status !== 'waiting' && s.status !== 'paused') return false;
    const live = liveSplit(s);
    if (live.weight === 0 && live.mirror === 0) return false;
    return guardMetrics(this.plan).length > 0;
  }

  private async guardTick(now: number): Promise<void> {
    const plan = this.plan;
    const s = this.state;
    const live = s.status === 'waiting' || s.phaseStartedAt === null ? Math.max(0, s.phaseIndex - 1) : s.phaseIndex;
    const phase = plan.spec.phases[live] ?? plan.spec.phases[0]!;
    const evidence = await gatherEvidence(
      this.guardQueries(),
      plan,
      phase,
      guardMetrics(plan),
      { phase: phase.name, weight: s.weight },
      now,
      guardWindow(plan),
      'guard',
    );
    // From the end of this tick: a slow tick never makes the next one due at once.
    this.nextGuardAt = this.deps.clock.now() + plan.spec.guard.interval;
    const failed = evidence.metrics.filter((m) => m.verdict === 'fail');
    const allNoData = evidence.metrics.every((m) => m.verdict === 'nodata');
    if (failed.length > 0) this.guardStrikes++;
    else if (!allNoData) this.guardStrikes = 0;
    const result = failed.length > 0 ? 'fail' : allNoData ? 'nodata' : 'pass';
    this.deps.observer?.onGuard?.(this.id, result, this.guardStrikes);
    if (result === 'nodata') {
      this.deps.log.debug({ rollout: this.id, metrics: evidence.metrics.map((m) => ({ name: m.name, reason: m.reason })) }, 'guard: no data (never a rollback)');
    }
    const refused = this.reportProblems(evidence, 'guard');
    if (this.guardStrikes < plan.spec.guard.consecutive) {
      if (refused) await this.decide((b) => decideGuardPause(b, evidence.metrics));
      return;
    }
    const consecutive = this.guardStrikes;
    this.guardStrikes = 0;
    const detail = evidence.judged.filter((m) => m.verdict === 'fail').map((m) => `${m.name}: ${m.why}`).join(', ');
    await this.decide((b) =>
      decideGuardRollback(b, {
        reason: `guard: ${detail} in ${consecutive} consecutive evaluations (interval ${formatWindow(plan.spec.guard.interval)}, window ${formatWindow(guardWindow(plan))})`,
        metrics: evidence.metrics,
      }),
    );
  }

  /**
   * Logs (at error) and counts every query Prometheus refused: a plan problem that leaves the
   * metric unjudged until a person fixes the plan. True when there was one.
   */
  private reportProblems(evidence: Evidence, mode: 'checkpoint' | 'guard'): boolean {
    const refused = badQueries(evidence.metrics);
    for (const m of refused) {
      this.deps.observer?.onQueryProblem?.(this.id, m.name, 'bad-query');
      this.deps.log.error(
        { rollout: this.id, metric: m.name, query: m.query, reason: m.reason, mode },
        `${mode} metric ${m.name}: Prometheus refused its query (a plan problem): ${m.reason}; the rollout pauses until the plan is fixed`,
      );
    }
    return refused.length > 0;
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
      let result: ManualResult = { accepted: false, message: '' };
      const b = new DecisionBuilder(this.ctx, this.state, this.deps.clock.now(), actor);
      result = decideManual(b, action, reason);
      if (result.accepted) await this.commit(b);
      return { ...result, ...(result.accepted ? { seq: this.state.seq } : {}) };
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
      const b = new DecisionBuilder(ctx, this.state, this.deps.clock.now());
      decidePlanUpdate(b);
      await this.commit(b);
      if (!this.guardActive()) this.nextGuardAt = null;
    });
  }

  private async decide(fn: (b: DecisionBuilder) => void): Promise<void> {
    const b = new DecisionBuilder(this.ctx, this.state, this.deps.clock.now());
    fn(b);
    await this.commit(b);
  }

  /** Journals each record durably, then applies the decided split. */
  private async commit(b: DecisionBuilder): Promise<void> {
    const wasGuarding = this.guardActive();
    for (const r of b.records) {
      await this.deps.journal.append(this.id, r);
      this.state = applyEntry(this.state, r);
      this.deps.observer?.onRecord?.(r, this.state);
    }
    if (!splitConfirmed(this.state)) {
      this.applyFailures = 0;
      this.applyRetryAt = null;
      this.deps.beforeApply?.(this.state.splitSeq);
      await this.applySplit();
    }
    if (!this.guardActive()) {
      this.nextGuardAt = null;
      this.guardStrikes = 0;
    } else if (!wasGuarding || this.nextGuardAt === null) {
      this.nextGuardAt = this.deps.clock.now() + this.plan.spec.guard.interval;
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
      this.deps.observer?.onApplied?.(mark, performance.now() - started);
    } catch (err) {
      const error = err instanceof Error ? err : new Error(String(err));
      this.applyFailures++;
      const delay = Math.min(APPLY_RETRY_MAX_MS, APPLY_RETRY_MIN_MS * 2 ** (this.applyFailures - 1));
      this.applyRetryAt = clock.now() + delay;
      this.deps.observer?.onApplyError?.(this.id, error, performance.now() - started);
      log.error(
        { rollout: this.id, router: router.name, target: router.target, seq, split: want, retryInSeconds: delay / 1000, err: error.message },
        `router ${router.name} failed to apply ${want.weight}%/${want.mirror}% for decision ${seq}; checkpoints wait until it is applied`,
      );
      if (this.applyFailures === 1) await this.journalApplyFailure(seq, want, error, delay);
    }
  }

  /**
   * The first failure to apply a decided split is journalled as a `hold`: the previous split
   * stays in effect, checkpoints wait, the guard keeps watching, and the apply is retried with
   * backoff until the router takes it (its applied mark then says when).
   */
  private async journalApplyFailure(seq: number, want: Split, error: Error, delay: number): Promise<void> {
    const live = this.state.applied;
    const was = live ? `${live.weight}%${live.mirror ? ` +${live.mirror}% mirror` : ''}` : 'nothing';
    const b = new DecisionBuilder(this.ctx, this.state, this.deps.clock.now());
    b.push({
      kind: 'lifecycle',
      decision: 'hold',
      reason: `router ${this.deps.router.name} (${this.deps.router.target}) could not apply ${want.weight}%${want.mirror ? ` +${want.mirror}% mirror` : ''} decided in #${seq}: ${error.message}; ${was} stays in effect, checkpoints wait, retrying with backoff`,
      next: { what: 'router apply retried', at: isoTime(this.deps.clock.now() + delay) },
    });
    for (const r of b.records) {
      await this.deps.journal.append(this.id, r);
      this.state = applyEntry(this.state, r);
      this.deps.observer?.onRecord?.(r, this.state);
    }
  }

  /** On start: re-apply the last decided split where the router disagrees with the journal. */
  private async reconcile(why: 'start' | 'drift' = 'start'): Promise<void> {
    const { router, log } = this.deps;
    // No record has decided a split yet: rollgate has not touched the router, so there is
    // nothing to re-apply or confirm (an applied mark needs the seq of a deciding record).
    if (this.state.splitSeq === 0) return;
    let actual: Split | null = null;
    try {
      actual = await router.read();
    } catch (err) {
      log.warn({ rollout: this.id, err: (err as Error).message }, 'cannot read the router; re-applying the journalled split');
    }
    const want = { weight: this.state.weight, mirror: this.state.mirror };
    // A router that rounds (HAProxy's integer weights, nginx's 0.01%) reports what it applied:
    // compare with that, not with the decided split.
    const confirmed = splitConfirmed(this.state) ? this.state.applied?.effective : undefined;
    const expected = confirmed ?? want;
    const near = (a: number, b: number) => Math.abs(a - b) < 1e-6;
    const same = actual !== null && ((near(actual.weight, expected.weight) && near(actual.mirror, expected.mirror)) || (near(actual.weight, want.weight) && near(actual.mirror, want.mirror)));
    if (same && splitConfirmed(this.state)) return;
    if (!same) {
      const what = why === 'drift' ? 'router drifted from the journalled split' : 'router disagrees with the journal';
      log.warn({ rollout: this.id, journal: want, router: actual, seq: this.state.splitSeq }, `${what}; re-applying the last decided split`);
      await this.applySplit();
      return;
    }
    // The router already has the split, but its confirmation never reached the journal.
    const mark: AppliedMark = { applied: this.state.splitSeq, rollout: this.id, weight: want.weight, mirror: want.mirror, at: isoTime(this.deps.clock.now()), effective: actual! };
    await this.deps.journal.append(this.id, mark);
    this.state = applyEntry(this.state, mark);
  }
}
