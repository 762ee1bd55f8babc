/**
 * For table tests of the pure core (src/engine/decide*.ts): a plan context, states reached by
 * the core's own records, and samples judged by the real judge. No runner, no clock.
 */
import type { LoadedPlan } from '../../src/plan/load.js';
import type { JournalEntry } from '../../src/core/record.js';
import type { Sample } from '../../src/core/metrics-provider.js';
import { applyEntry, initialState, replay, type RolloutState } from '../../src/core/state.js';
import { rolloutId } from '../../src/plan/schema.js';
import { isoTime } from '../../src/plan/duration.js';
import { DecisionBuilder, decideStart, type PlanContext } from '../../src/engine/decide.js';
import { guardSpan, judgeSamples, renderQuery, type Evidence, type FetchedSample, type QuerySpan } from '../../src/engine/judge.js';
import { T0 } from './engine.js';

export const ctxOf = (loaded: LoadedPlan): PlanContext => ({ plan: loaded.plan, planHash: loaded.hash });

/** A builder at `now` on `state`. */
export const builder = (ctx: PlanContext, state: RolloutState, now = T0) => new DecisionBuilder(ctx, state, now);

/** The records and marks of `fn` run on a builder, and the state after them. */
export function decide(ctx: PlanContext, state: RolloutState, now: number, fn: (b: DecisionBuilder) => void): { entries: JournalEntry[]; state: RolloutState } {
  const b = builder(ctx, state, now);
  fn(b);
  return { entries: b.entries, state: b.state };
}

/** The state of a rollout started at `at` whose first split the router applied at once. */
export function started(ctx: PlanContext, at = T0): RolloutState {
  return applied(decide(ctx, initialState(rolloutId(ctx.plan)), at, (b) => decideStart(b)).state, at);
}

/** The state with the latest decided split confirmed by the router at `at`. */
export function applied(state: RolloutState, at: number): RolloutState {
  if (state.applied && state.applied.seq >= state.splitSeq) return state;
  return applyEntry(state, { applied: state.splitSeq, rollout: state.rollout, weight: state.weight, mirror: state.mirror, at: isoTime(at) });
}

/** Replays entries from the initial state, as a restarted controller does. */
export const replayed = (ctx: PlanContext, entries: JournalEntry[]) => replay(rolloutId(ctx.plan), entries);

/** A sample: a number, null (no data: an empty result), or a Sample as a provider gives it. */
export type Value = number | null | Sample;

const sampleOf = (v: Value): Sample => (v === null ? { value: null, reason: 'empty result' } : typeof v === 'number' ? { value: v } : v);

/** The samples of `span`'s metrics, each with the value given by metric name (missing: no data). */
export function samplesOf(ctx: PlanContext, span: QuerySpan, values: Record<string, Value>): FetchedSample[] {
  return span.metrics.map((metric) => ({ metric, query: renderQuery(ctx.plan, metric, span.scope, span.windowMs), sample: sampleOf(values[metric.name] ?? null) }));
}

/** The evidence of a guard tick at `now` where each guard metric has the value given by name. */
export function guardEvidence(ctx: PlanContext, state: RolloutState, now: number, values: Record<string, Value>): Evidence {
  const span = guardSpan(ctx.plan, state, now);
  return judgeSamples(ctx.plan, span.phase, samplesOf(ctx, span, values), 'guard');
}
