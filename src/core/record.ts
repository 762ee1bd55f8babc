/**
 * The decision record: the contract of docs/decision-record.md. One JSON object per line in
 * the journal and in `--output json`. Fields may be added, never renamed or dropped.
 */
import { z } from 'zod';

export const RECORD_KINDS = ['lifecycle', 'checkpoint', 'guard', 'manual', 'wait'] as const;
export const DECISIONS = [
  'start',
  'continue',
  'advance',
  'complete',
  'hold',
  'pause',
  'resume',
  'rollback',
  'abort',
  'promote',
  'wait',
  'plan-updated',
] as const;
export const VERDICTS = ['pass', 'hold', 'fail', 'nodata'] as const;

export type RecordKind = (typeof RECORD_KINDS)[number];
export type Decision = (typeof DECISIONS)[number];
export type Verdict = (typeof VERDICTS)[number];

export const metricResultSchema = z.object({
  name: z.string(),
  query: z.string(),
  value: z.number().nullable(),
  min: z.number().optional(),
  max: z.number().optional(),
  rollbackBelow: z.number().optional(),
  rollbackAbove: z.number().optional(),
  verdict: z.enum(VERDICTS),
  critical: z.boolean(),
  weight: z.number().optional(),
  /** Why a value is missing (empty result, NaN, several samples, Prometheus error...). */
  reason: z.string().optional(),
  /** Missing data that needs a person: `bad-query` (Prometheus refused the query, HTTP 400/422). */
  problem: z.enum(['bad-query']).optional(),
  // The judgement's own numbers (docs/decision-record.md, "Judges"); each only where it applies.
  /** The statistical test that judged the metric, when one did. */
  test: z.enum(['sequential', 'mann-whitney']).optional(),
  /** Traffic floor: the evidence the window holds (the samples query, or the canary's total) ... */
  samples: z.number().nullable().optional(),
  /** ... and the floor it was held to. */
  minSamples: z.number().optional(),
  /** Relative bounds: the baseline's value over the same window. */
  baseline: z.number().nullable().optional(),
  /** Relative bounds: the bound that applied, from tolerance and slack. */
  bound: z.number().optional(),
  /** canary / baseline (relative bounds: the values; sequential: the rates); null when the baseline is 0. */
  ratio: z.number().nullable().optional(),
  tolerance: z.number().optional(),
  slack: z.number().optional(),
  /** Sequential: cumulative counts over the phase (canary bad, canary total, baseline bad, baseline total). */
  x: z.number().int().optional(),
  n_c: z.number().int().optional(),
  y: z.number().int().optional(),
  n_b: z.number().int().optional(),
  canaryRate: z.number().nullable().optional(),
  baselineRate: z.number().nullable().optional(),
  /** Sequential: the e-value against "no regression beyond tolerance" (capped at Number.MAX_VALUE) and its natural log. */
  e: z.number().optional(),
  logE: z.number().optional(),
  /** Sequential, `require: proof`: the mirror-image e-value against "a regression". */
  eProof: z.number().optional(),
  /** Sequential: 1 / alpha, the e-value that proves a regression. */
  threshold: z.number().optional(),
  alpha: z.number().optional(),
  /** Sequential: the anytime-valid interval of the rate ratio; Mann-Whitney: of the shift. null = unbounded. */
  interval: z.object({ lower: z.number().nullable(), upper: z.number().nullable() }).optional(),
  /** Mann-Whitney: points judged per side, and NaN/missing points dropped per side. */
  points: z.object({ canary: z.number().int(), baseline: z.number().int() }).optional(),
  dropped: z.object({ canary: z.number().int(), baseline: z.number().int() }).optional(),
  canaryMedian: z.number().nullable().optional(),
  baselineMedian: z.number().nullable().optional(),
  /** Mann-Whitney: the Hodges-Lehmann estimate of the shift canary - baseline. */
  estimate: z.number().nullable().optional(),
  u: z.number().optional(),
  pValue: z.number().optional(),
  /** Mann-Whitney: the confidence this checkpoint was judged at (Bonferroni share of the phase's). */
  level: z.number().optional(),
  /** Mann-Whitney: the least shift that fails, tolerance x |median(baseline)|. */
  effectFloor: z.number().optional(),
});
export type MetricResult = z.infer<typeof metricResultSchema>;

const split = z.object({ from: z.number(), to: z.number() });

export const decisionRecordSchema = z.object({
  seq: z.number().int().positive(),
  rollout: z.string(),
  revision: z.string(),
  planHash: z.string(),
  kind: z.enum(RECORD_KINDS),
  phase: z.string().nullable(),
  /** Index of `phase` in the plan (0-based); the engine rebuilds its state from it. */
  phaseIndex: z.number().int(),
  checkpoint: z
    .object({
      index: z.number().int(),
      of: z.number().int(),
      due: z.string(),
      window: z.string(),
      /** Start of the evidence span judged (the window covers [from, due]). */
      from: z.string().optional(),
      /** Seconds between due and actual judgement; > 0 when judged late (controller down). */
      lateSeconds: z.number().optional(),
      /** Consecutive inconclusive judgements of this checkpoint, this one included. */
      attempt: z.number().int().optional(),
    })
    .optional(),
  at: z.string(),
  decision: z.enum(DECISIONS),
  reason: z.string(),
  score: z.number().nullable().optional(),
  /** GO / GO WITH CAUTION / NO-GO when the plan has a score. */
  outcome: z.string().optional(),
  metrics: z.array(metricResultSchema).optional(),
  weight: split,
  mirror: split,
  actor: z.string(),
  /** What the rollout waits for after a `wait` decision: approval, window, blackout, startAt. */
  waitingFor: z.enum(['approval', 'window', 'blackout', 'startAt']).optional(),
  /**
   * The phase this decision begins or queues (start, advance, a wait for the next phase,
   * plan-updated when the phase moved): the engine rebuilds its position from it.
   */
  enters: z.object({ phase: z.string(), index: z.number().int() }).optional(),
  /** When the controller next acts on its own for this rollout, if known. */
  next: z.object({ what: z.string(), at: z.string() }).optional(),
});
export type DecisionRecord = z.infer<typeof decisionRecordSchema>;

/** A journal line that confirms a router applied the split decided by record `seq`. */
export const appliedMarkSchema = z.object({
  applied: z.number().int().positive(),
  rollout: z.string(),
  weight: z.number(),
  mirror: z.number(),
  at: z.string(),
  /** What the router reports as actually in effect (e.g. HAProxy's rounding to integer weights). */
  effective: z.object({ weight: z.number(), mirror: z.number() }).optional(),
});
export type AppliedMark = z.infer<typeof appliedMarkSchema>;

/**
 * A journal line that carries the guard's strikes (its count of consecutive failing
 * evaluations) when a guard evaluation changed it without taking a decision: a strike below
 * `guard.consecutive`, or a pass that clears earlier strikes. A restarted controller replays
 * it, so it goes on counting where it stopped. `after` is the seq of the last record before it.
 */
export const guardMarkSchema = z.object({
  strikes: z.number().int().nonnegative(),
  rollout: z.string(),
  after: z.number().int().positive(),
  at: z.string(),
});
export type GuardMark = z.infer<typeof guardMarkSchema>;

export type JournalEntry = DecisionRecord | AppliedMark | GuardMark;

export function isAppliedMark(e: JournalEntry): e is AppliedMark {
  return 'applied' in e;
}

export function isGuardMark(e: JournalEntry): e is GuardMark {
  return 'strikes' in e;
}

/** A decision record, not a mark. */
export function isDecisionRecord(e: JournalEntry): e is DecisionRecord {
  return 'seq' in e;
}
