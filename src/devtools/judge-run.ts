/**
 * One run of the judges benchmark: one phase of a rollout judged on a generated history,
 * through the controller's own path. Each judge (a metric of the benchmark's plan) is a
 * rollout of its own, with its own state: at every guard tick, `guardSpan` + `fetchSamples` +
 * `judgeSamples` (mode guard) + `decideGuard` (the engine's strike and rollback rule, so the
 * sequential test rolls back on one evaluation and the other metrics on `consecutive`); at
 * every checkpoint the engine's schedule says is due (`dueDecision`, holds and their retries
 * included), `checkpointSpan` + `fetchSamples` + `judgeSamples` (mode checkpoint) +
 * `decideCheckpoint`. The run ends at the end of the phase (the history's end), or for a judge
 * when its rollout rolls back or leaves the phase.
 */
import type { MetricsProvider } from '../core/metrics-provider.js';
import { applyEntry, guardWatches, initialState, type RolloutState } from '../core/state.js';
import { DecisionBuilder, decideCheckpoint, decideStart, type PlanContext } from '../engine/decide.js';
import { decideGuard } from '../engine/decide-guard.js';
import { checkpointSpan, fetchSamples, guardMetrics, guardSpan, judgeSamples, type Evidence } from '../engine/judge.js';
import { dueDecision } from '../engine/schedule.js';
import { isoTime } from '../plan/duration.js';
import { rolloutId, type Plan } from '../plan/schema.js';

/** How a judge's run ended: rolled back (when, from the phase start, and by what), or not. */
export interface JudgeOutcome {
  rollbackMs: number | null;
  by: 'guard' | 'checkpoint' | null;
}

interface JudgeRollout {
  name: string;
  state: RolloutState;
  watchedByGuard: boolean;
  outcome: JudgeOutcome;
  done: boolean;
  /** When its next checkpoint is due (its schedule changes only with its checkpoint decisions); Infinity: none. */
  nextCheckpointAt: number;
}

const rolledBack = (s: RolloutState) => s.status === 'rolling-back' || s.status === 'rolled-back';

/** A rollout that has just begun the plan's first phase, its split applied at `phaseStart`. */
export function startedState(ctx: PlanContext, phaseStart: number): RolloutState {
  const b = new DecisionBuilder(ctx, initialState(rolloutId(ctx.plan)), phaseStart);
  decideStart(b);
  const s = b.state;
  return applyEntry(s, { applied: s.seq, rollout: s.rollout, weight: s.weight, mirror: s.mirror, at: isoTime(phaseStart) });
}

/** Only `name`'s entries of the evidence. */
function evidenceOf(e: Evidence, name: string): Evidence {
  return { metrics: e.metrics.filter((m) => m.name === name), judged: e.judged.filter((m) => m.name === name) };
}

/**
 * Judges `phaseMs` of history from `phaseStart` with each of the plan's metrics on its own
 * (one rollout per metric, all starting in the plan's first phase). The guard ticks every
 * `guard.interval` from the phase start.
 */
export async function runJudges(ctx: PlanContext, provider: MetricsProvider, phaseStart: number, phaseMs: number): Promise<Map<string, JudgeOutcome>> {
  const plan: Plan = ctx.plan;
  const guarded = new Set(guardMetrics(plan).map((m) => m.name));
  const start = startedState(ctx, phaseStart);
  const judges: JudgeRollout[] = plan.spec.metrics.map((m) => ({
    name: m.name,
    state: start,
    watchedByGuard: guarded.has(m.name),
    outcome: { rollbackMs: null, by: null },
    done: false,
    nextCheckpointAt: phaseStart,
  }));
  const end = phaseStart + phaseMs;
  const interval = plan.spec.guard.interval;

  for (let now = phaseStart + interval; now <= end; now += interval) {
    for (const j of judges) if (!j.done && j.nextCheckpointAt <= now) await checkpointsDue(ctx, provider, j, now, phaseStart);
    const watching = judges.filter((j) => !j.done && j.watchedByGuard && guardWatches(j.state));
    if (watching.length === 0) {
      if (judges.every((j) => j.done)) break;
      continue;
    }
    const names = new Set(watching.map((j) => j.name));
    // Every judge is in the same phase with the same split: one span, one fetch.
    const span = guardSpan(plan, watching[0]!.state, now);
    const fetched = await fetchSamples(provider, plan, { ...span, metrics: span.metrics.filter((m) => names.has(m.name)) });
    const evidence = judgeSamples(plan, span.phase, fetched, 'guard');
    for (const j of watching) {
      const b = new DecisionBuilder(ctx, j.state, now);
      decideGuard(b, evidenceOf(evidence, j.name));
      j.state = b.state;
      if (rolledBack(j.state)) finish(j, now - phaseStart, 'guard');
    }
  }
  return new Map(judges.map((j) => [j.name, j.outcome]));
}

/** Takes the checkpoints of judge `j` that are due at or before `now`. */
async function checkpointsDue(ctx: PlanContext, provider: MetricsProvider, j: JudgeRollout, now: number, phaseStart: number): Promise<void> {
  const plan = ctx.plan;
  for (;;) {
    const due = dueDecision(plan, j.state, now);
    j.nextCheckpointAt = due?.what === 'checkpoint' ? due.at : Infinity;
    if (!due || due.what !== 'checkpoint' || due.at > now) return;
    const full = checkpointSpan(plan, j.state, due.checkpoint);
    const span = { ...full, metrics: full.metrics.filter((m) => m.name === j.name) };
    const evidence = judgeSamples(plan, span.phase, await fetchSamples(provider, plan, span), 'checkpoint');
    const b = new DecisionBuilder(ctx, j.state, due.at);
    decideCheckpoint(b, due.checkpoint, evidence);
    j.state = b.state;
    if (rolledBack(j.state)) return finish(j, due.at - phaseStart, 'checkpoint');
    // Past the phase (advanced, complete): nothing more to judge in it.
    if (j.state.phaseIndex !== 0 || j.state.status === 'complete') return void (j.done = true);
  }
}

function finish(j: JudgeRollout, rollbackMs: number, by: 'guard' | 'checkpoint'): void {
  j.outcome = { rollbackMs, by };
  j.done = true;
}
