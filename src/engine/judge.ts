/**
 * Judgement of metrics in two halves: `fetchSamples` renders each metric's queries for a span
 * and asks the metrics provider (the only I/O); `judgeSamples` turns the answers into verdicts
 * (checkpoint or guard rules), purely. Per kind of metric (analysis.md):
 * - a plain metric: its query (or alerts), its `baseline` and `samples` queries where set, at
 *   the span's end over its window; absolute bounds, the relative bound, the traffic floor;
 * - `counts`: the four counts over the phase since its split was applied; the sequential test;
 * - `test: mann-whitney`: the canary's and the baseline's series over the span at `step`,
 *   judged at the checkpoint's share of the phase's confidence. Never at the guard.
 */
import type { MetricResult, Verdict } from '../core/record.js';
import type { Counts, Metric, NoDataPolicy, Phase, Plan } from '../plan/schema.js';
import type { Thresholds } from '../plan/schema.js';
import { metricTemplate, queryText, renderMetricQuery, templateValues, type TemplateScope } from '../plan/queries.js';
import type { MetricsProvider, Sample, SampleProblem } from '../core/metrics-provider.js';
import { effectiveThresholds } from '../plan/thresholds.js';
import { checkpointVerdict, explainVerdict, guardVerdict, worseVerdict } from '../gates/verdict.js';
import { relativeJudgement } from '../gates/relative.js';
import { mannWhitneyJudgement } from '../gates/mann-whitney.js';
import { ratioInterval, sequentialJudgement } from '../gates/sequential.js';
import { checkpointSpecs } from '../plan/checkpoints.js';
import { formatDuration } from '../plan/duration.js';
import { PrometheusError } from '../metrics/errors.js';
import { checkpointOutcome, type CheckpointOutcome, type JudgedMetric } from '../gates/outcome.js';
import { splitConfirmed, type RolloutState } from '../core/state.js';
import type { PendingCheckpoint } from './schedule.js';

export interface Evidence {
  metrics: MetricResult[];
  judged: JudgedMetric[];
}

/** A rendered query and what the provider answered. */
export interface Answer {
  query: string;
  sample: Sample;
}

/**
 * A plain metric's answers (`query` or `alerts`): its sample, and the answers of its
 * `baseline` and `samples` queries where the metric has them.
 */
export interface FetchedValue {
  metric: Metric;
  query: string;
  sample: Sample;
  baseline?: Answer;
  samples?: Answer;
}

/** A series answered by a range query, or why there is none (the range query failed). */
export type Series = { query: string; points: Array<number | null> } | { query: string; reason: string; problem?: SampleProblem };

/** A `test: mann-whitney` metric's answers: both series over the checkpoint's window. */
export interface FetchedSeries {
  metric: Metric;
  query: string;
  series: { canary: Series; baseline: Series };
}

/** The four counts of a `counts` metric, cumulative over the phase. */
export interface CountAnswers {
  canary: { bad: Answer; total: Answer };
  baseline: { bad: Answer; total: Answer };
}

/** A `counts` metric's answers, or why they were not asked (the phase's split is not applied yet). */
export interface FetchedCounts {
  metric: Metric;
  /** The canary's `bad` query. */
  query: string;
  counts: CountAnswers | { unasked: string };
}

/** What `fetchSamples` got for one metric, the input of `judgeSamples`. */
export type FetchedSample = FetchedValue | FetchedCounts | FetchedSeries;

export function renderQuery(plan: Plan, metric: Metric, scope: TemplateScope, windowMs: number): string {
  return renderMetricQuery(plan, metric, scope, windowMs).text;
}

/** The metrics a phase judges at its checkpoints. */
export function phaseMetrics(plan: Plan, phase: Phase): Metric[] {
  const names = phase.metrics;
  return names ? plan.spec.metrics.filter((m) => names.includes(m.name)) : plan.spec.metrics;
}

/** guardMetrics of each plan: asked at every guard tick and every scheduling of a rollout. */
const guardMetricsOf = new WeakMap<Plan, readonly Metric[]>();

/**
 * The metrics the guard watches: guard.metrics, else every critical metric (computed once per
 * plan); never a mann-whitney metric (its test is not anytime-valid).
 */
export function guardMetrics(plan: Plan): readonly Metric[] {
  let metrics = guardMetricsOf.get(plan);
  if (metrics === undefined) {
    const names = plan.spec.guard.metrics;
    metrics = plan.spec.metrics.filter((m) => (names ? names.includes(m.name) : m.critical) && m.test !== 'mann-whitney');
    guardMetricsOf.set(plan, metrics);
  }
  return metrics;
}

/**
 * The guard's size as people read it: the failing evaluations in a row that roll back and its
 * interval as a duration (`30s`); null when it watches no metric. Shown by `status` in both modes.
 */
export function guardSize(plan: Plan): { consecutive: number; interval: string } | null {
  return guardMetrics(plan).length > 0 ? { consecutive: plan.spec.guard.consecutive, interval: formatDuration(plan.spec.guard.interval) } : null;
}

/**
 * What one judgement asks: `metrics` over the span of `windowMs` that ends at `at`, under the
 * thresholds of `phase` (`scope` fills the query templates). A `counts` metric's window is
 * the phase's own since `splitAppliedAt`, when the judged phase's split was applied (null:
 * not applied yet).
 */
export interface QuerySpan {
  phase: Phase;
  metrics: readonly Metric[];
  scope: TemplateScope;
  at: number;
  windowMs: number;
  splitAppliedAt: number | null;
}

/** The span a pending checkpoint judges: the phase's metrics over [from, due]. */
export function checkpointSpan(plan: Plan, s: RolloutState, c: PendingCheckpoint): QuerySpan {
  const phase = plan.spec.phases[s.phaseIndex]!;
  return { phase, metrics: phaseMetrics(plan, phase), scope: { phase: phase.name, weight: s.weight }, at: c.due, windowMs: c.due - c.from, splitAppliedAt: s.phaseStartedAt };
}

/**
 * The span of a guard tick at `now`: the guard's metrics over its window, under the thresholds
 * of the phase whose split is live (the previous one while the rollout waits to begin a phase).
 */
export function guardSpan(plan: Plan, s: RolloutState, now: number): QuerySpan {
  const live = s.status === 'waiting' || s.phaseStartedAt === null ? Math.max(0, s.phaseIndex - 1) : s.phaseIndex;
  const phase = plan.spec.phases[live] ?? plan.spec.phases[0]!;
  // The live phase's own start while it is the one judged; while the rollout waits to begin
  // the next phase, the moment the live split was first confirmed (the previous phase's split).
  const splitAppliedAt = !splitConfirmed(s) ? null : live === s.phaseIndex ? s.phaseStartedAt : s.splitAppliedAt;
  return { phase, metrics: guardMetrics(plan), scope: { phase: phase.name, weight: s.weight }, at: now, windowMs: guardWindow(plan), splitAppliedAt };
}

/** Asks the provider for each metric's queries over the span (the only I/O of a judgement). */
export function fetchSamples(provider: MetricsProvider, plan: Plan, span: QuerySpan): Promise<FetchedSample[]> {
  // The template values of the span's window, shared by its metrics (`counts` have their own window).
  const values = templateValues(plan, span.scope, span.windowMs);
  return Promise.all(
    span.metrics.map((metric): Promise<FetchedSample> => {
      if (metric.counts) return fetchCounts(provider, plan, span, metric, metric.counts);
      if (metric.test === 'mann-whitney') return fetchSeries(provider, plan, span, values, metric);
      return fetchValue(provider, plan, span, values, metric);
    }),
  );
}

/**
 * The four counts of a `counts` metric at the span's end, `{{window}}` being the phase since
 * its split was applied (whole seconds, at least 1 s): cumulative, at checkpoints and guard
 * ticks alike.
 */
async function fetchCounts(provider: MetricsProvider, plan: Plan, span: QuerySpan, metric: Metric, counts: Counts): Promise<FetchedCounts> {
  if (span.splitAppliedAt === null) return { metric, query: metricTemplate(metric), counts: { unasked: "the phase's split is not applied yet" } };
  const values = templateValues(plan, span.scope, span.at - span.splitAppliedAt);
  const ask = (template: string) => answer(provider, plan, span, template, values);
  const [canaryBad, canaryTotal, baselineBad, baselineTotal] = await Promise.all([counts.canary.bad, counts.canary.total, counts.baseline.bad, counts.baseline.total].map(ask));
  return { metric, query: canaryBad!.query, counts: { canary: { bad: canaryBad!, total: canaryTotal! }, baseline: { bad: baselineBad!, total: baselineTotal! } } };
}

/** Mann-Whitney's range-query resolution when the metric sets no `step`. */
const DEFAULT_STEP_MS = 30_000;

/** Both series of a mann-whitney metric over the span's window [at - windowMs, at] at `step`. */
async function fetchSeries(provider: MetricsProvider, plan: Plan, span: QuerySpan, values: Readonly<Record<string, string>>, metric: Metric): Promise<FetchedSeries> {
  const step = metric.step ?? DEFAULT_STEP_MS;
  // The validator requires a baseline of a mann-whitney metric.
  const [canary, baseline] = await Promise.all([metricTemplate(metric), metric.baseline!].map((t) => seriesOf(provider, span, queryText(plan, t, values), step)));
  return { metric, query: canary!.query, series: { canary: canary!, baseline: baseline! } };
}

/** One range query; a failure Prometheus reports is a series missing with its reason, anything else propagates. */
async function seriesOf(provider: MetricsProvider, span: QuerySpan, query: string, step: number): Promise<Series> {
  try {
    const samples = await provider.range(query, span.at - span.windowMs, span.at, step);
    return { query, points: [...samples.entries()].sort(([a], [b]) => a - b).map(([, s]) => s.value) };
  } catch (err) {
    // simulate's HistoryUnavailableError (the history is gone: the simulation ends) and bugs propagate.
    if (!(err instanceof PrometheusError)) throw err;
    return { query, reason: err.message, ...(err.kind === 'bad-query' ? { problem: 'bad-query' as const } : {}) };
  }
}

/** A plain metric: its query, and its `baseline` and `samples` queries where set, at the same instant over the same window. */
async function fetchValue(provider: MetricsProvider, plan: Plan, span: QuerySpan, values: Readonly<Record<string, string>>, metric: Metric): Promise<FetchedValue> {
  const ask = (template: string) => answer(provider, plan, span, template, values);
  const [main, baseline, samples] = await Promise.all([
    ask(metricTemplate(metric)),
    metric.baseline !== undefined ? ask(metric.baseline) : undefined,
    metric.samples !== undefined ? ask(metric.samples) : undefined,
  ]);
  return { metric, query: main.query, sample: main.sample, ...(baseline ? { baseline } : {}), ...(samples ? { samples } : {}) };
}

/** One template rendered with `values` (its window's) and asked at the span's instant. */
async function answer(provider: MetricsProvider, plan: Plan, span: QuerySpan, template: string, values: Readonly<Record<string, string>>): Promise<Answer> {
  const query = queryText(plan, template, values);
  return { query, sample: await provider.instant(query, span.at) };
}

/**
 * One metric's record entry and the line the checkpoint outcome and the guard read. `why` is
 * built when read: only metrics that do not pass are explained, and most guard evaluations pass.
 */
interface Judgement {
  result: MetricResult;
  why: () => string;
}

/** A metric's verdict for the outcome and the guard; its `why` is built once, when first read. */
class Judged implements JudgedMetric {
  private text: string | undefined;
  constructor(
    readonly name: string,
    readonly verdict: Verdict,
    readonly critical: boolean,
    readonly weight: number,
    readonly noData: NoDataPolicy,
    private readonly explain: () => string,
  ) {}

  get why(): string {
    return (this.text ??= this.explain());
  }
}

/**
 * The verdict of each metric under `phase`'s thresholds: checkpoint rules, or the guard's. A
 * guard evaluation leaves out the interval of a sequential metric that passes (and its `why`
 * does not show one): most guard evaluations pass and are not recorded, and the interval is
 * most of the test's cost. `recordedMetrics` adds it to the metrics a record carries.
 */
export function judgeSamples(plan: Plan, phase: Phase, samples: FetchedSample[], mode: 'checkpoint' | 'guard'): Evidence {
  const results: MetricResult[] = [];
  const judged: JudgedMetric[] = [];
  for (const f of samples) {
    const m = f.metric;
    const { result, why } = 'counts' in f ? judgeCounts(f, mode) : 'series' in f ? judgeSeries(f, phase) : judgeValue(f, effectiveThresholds(m, phase), mode);
    results.push(result);
    judged.push(new Judged(m.name, result.verdict, m.critical, m.weight, m.noData ?? plan.spec.analysis.noData, why));
  }
  return { metrics: results, judged };
}

/**
 * A plain metric: below its traffic floor, or with its value or its baseline missing, it is
 * nodata; otherwise its absolute bounds and its bound relative to the baseline must all hold
 * (the worse verdict wins; the relative bound fails, it never holds).
 */
function judgeValue(f: FetchedValue, t: Thresholds, mode: 'checkpoint' | 'guard'): Judgement {
  const m = f.metric;
  const value = f.sample.value;
  const floor = f.samples ? trafficFloor(f.samples.sample, m.minSamples ?? 0) : null;
  const baseline = f.baseline?.sample.value;
  const rule = { worse: m.worse ?? 'higher', tolerance: m.tolerance ?? 0, slack: m.slack ?? 0 };
  const relative = value !== null && baseline !== undefined && baseline !== null ? relativeJudgement(value, baseline, rule) : null;
  const result: MetricResult = {
    name: m.name,
    query: f.query,
    value,
    ...t,
    verdict: 'nodata',
    critical: m.critical,
    weight: m.weight,
    ...(floor ? { samples: floor.samples, minSamples: floor.minSamples } : {}),
    ...(f.baseline ? { baseline: baseline ?? null } : {}),
    ...(relative ? { bound: relative.bound, ratio: relative.ratio } : {}),
    ...(m.tolerance !== undefined && f.baseline ? { tolerance: m.tolerance } : {}),
    ...(m.slack !== undefined && f.baseline ? { slack: m.slack } : {}),
  };
  const missing = firstMissing([
    floor?.missing,
    f.sample.value === null ? f.sample : undefined,
    f.baseline && f.baseline.sample.value === null ? { reason: `baseline: ${f.baseline.sample.reason}`, problem: f.baseline.sample.problem } : undefined,
  ]);
  if (missing) return nodata(result, missing);
  const absolute = mode === 'guard' ? guardVerdict(value, t) : checkpointVerdict(value, t);
  const absoluteWhy = () => explainVerdict(value, t, absolute, mode === 'guard');
  if (!relative) return { result: { ...result, verdict: absolute }, why: absoluteWhy };
  const verdict = worseVerdict(absolute, relative.verdict);
  const why = () => {
    const whys = hasBounds(t) && (absolute !== 'pass' || relative.verdict === 'pass') ? [absoluteWhy()] : [];
    if (relative.verdict === 'fail' || absolute === 'pass') whys.push(relative.why);
    return whys.join('; ');
  };
  return { result: { ...result, verdict }, why };
}

/**
 * A `counts` metric through the sequential test: nodata while any count is missing (named),
 * below `minSamples` canary requests, or before the phase's split is applied. At the guard
 * there is no hold: the `proof` it waits for is a checkpoint's business, a guard only fails on
 * a proven regression.
 */
function judgeCounts(f: FetchedCounts, mode: 'checkpoint' | 'guard'): Judgement {
  const m = f.metric;
  const settings = { alpha: m.alpha ?? DEFAULT_ALPHA, tolerance: m.tolerance ?? 0, require: m.require ?? 'no-regression', minSamples: m.minSamples ?? DEFAULT_REQUESTS };
  const result: MetricResult = {
    name: m.name,
    query: f.query,
    value: null,
    verdict: 'nodata',
    critical: m.critical,
    weight: m.weight,
    test: 'sequential',
    alpha: settings.alpha,
    threshold: 1 / settings.alpha,
    tolerance: settings.tolerance,
    minSamples: settings.minSamples,
  };
  if ('unasked' in f.counts) return nodata(result, { reason: f.counts.unasked });
  const { canary, baseline } = f.counts;
  const named: Array<[string, Answer]> = [['canary bad', canary.bad], ['canary total', canary.total], ['baseline bad', baseline.bad], ['baseline total', baseline.total]];
  const missing = named.flatMap(([name, { sample }]) => (sample.value === null ? [{ reason: `${name}: ${sample.reason}`, problem: sample.problem }] : []));
  if (missing.length > 0) return nodata(result, { reason: missing.map((m) => m.reason).join(', '), problem: missing.find((m) => m.problem)?.problem });
  const [x, n_c, y, n_b] = named.map(([, a]) => a.sample.value as number);
  const j = sequentialJudgement({ x: x!, n_c: n_c!, y: y!, n_b: n_b! }, settings, { intervalWhenPassing: mode === 'checkpoint' });
  const verdict = mode === 'guard' && j.verdict === 'hold' ? 'pass' : j.verdict;
  // `result`'s fields written out rather than spread (in the same order): a spread followed by
  // a dozen fields builds slowly, and this runs at every guard tick of every rollout.
  const judged: MetricResult = {
    name: result.name,
    query: result.query,
    value: j.canaryRate,
    verdict,
    critical: result.critical,
    weight: result.weight,
    test: 'sequential',
    alpha: settings.alpha,
    threshold: j.threshold,
    tolerance: settings.tolerance,
    minSamples: settings.minSamples,
    samples: j.n_c,
    x: j.x,
    n_c: j.n_c,
    y: j.y,
    n_b: j.n_b,
    canaryRate: j.canaryRate,
    baselineRate: j.baselineRate,
    ratio: j.ratio,
    e: j.e,
    logE: j.logE,
  };
  if (j.eProof !== undefined) judged.eProof = j.eProof;
  if (j.interval) judged.interval = j.interval;
  return verdict === 'nodata' ? nodata(judged, { reason: j.why }) : { result: judged, why: () => j.why };
}

/**
 * The metrics of a guard evaluation as a record carries them: each sequential metric with the
 * interval its guard judgement left out (judgeSamples), computed from the same counts.
 */
export function recordedMetrics(metrics: readonly MetricResult[]): MetricResult[] {
  return metrics.map((m) => {
    if (m.test !== 'sequential' || m.verdict === 'nodata' || m.interval !== undefined) return m;
    const { x, n_c, y, n_b, alpha } = m;
    if (x === undefined || n_c === undefined || y === undefined || n_b === undefined || alpha === undefined || n_c === 0 || n_b === 0) return m;
    const interval = ratioInterval(x, n_c, y, n_b, alpha);
    return interval ? { ...m, interval } : m;
  });
}

/** The sequential test's false-rollback probability when the metric sets no `alpha`. */
const DEFAULT_ALPHA = 0.01;
/** Canary requests in the phase the sequential test needs when the metric sets no `minSamples`. */
const DEFAULT_REQUESTS = 100;

/**
 * A mann-whitney metric at a checkpoint: both series through the Mann-Whitney judge at the
 * checkpoint's level 1 - (1 - confidence) / K, K the phase's checkpoints (Bonferroni: the
 * phase as a whole keeps `confidence`).
 */
function judgeSeries(f: FetchedSeries, phase: Phase): Judgement {
  const m = f.metric;
  const level = checkpointLevel(m.confidence ?? DEFAULT_CONFIDENCE, checkpointSpecs(phase).length);
  const settings = { worse: m.worse ?? 'higher', level, tolerance: m.tolerance ?? 0, minSamples: m.minSamples ?? DEFAULT_POINTS };
  const result: MetricResult = { name: m.name, query: f.query, value: null, verdict: 'nodata', critical: m.critical, weight: m.weight, test: 'mann-whitney', tolerance: settings.tolerance, minSamples: settings.minSamples, level };
  const { canary, baseline } = f.series;
  if ('reason' in canary) return nodata(result, { reason: `canary: ${canary.reason}`, problem: canary.problem });
  if ('reason' in baseline) return nodata(result, { reason: `baseline: ${baseline.reason}`, problem: baseline.problem });
  const j = mannWhitneyJudgement(canary.points, baseline.points, settings);
  const judged: MetricResult = {
    ...result,
    value: j.canaryMedian,
    verdict: j.verdict,
    samples: Math.min(j.points.canary, j.points.baseline),
    points: j.points,
    dropped: j.dropped,
    canaryMedian: j.canaryMedian,
    baselineMedian: j.baselineMedian,
    estimate: j.estimate,
    ...(j.interval ? { interval: j.interval } : {}),
    ...(j.u !== undefined ? { u: j.u } : {}),
    ...(j.pValue !== undefined ? { pValue: j.pValue } : {}),
    level: j.level,
    ...(j.effectFloor !== undefined ? { effectFloor: j.effectFloor } : {}),
  };
  return j.verdict === 'nodata' ? nodata(judged, { reason: j.why }) : { result: judged, why: () => j.why };
}

/** Mann-Whitney's confidence per phase when the metric sets none. */
const DEFAULT_CONFIDENCE = 0.98;
/** Mann-Whitney's points per side when the metric sets no `minSamples`. */
const DEFAULT_POINTS = 20;

/** The level of one of a phase's `checkpoints` checkpoints: its Bonferroni share of `confidence`. */
export function checkpointLevel(confidence: number, checkpoints: number): number {
  return 1 - (1 - confidence) / Math.max(1, checkpoints);
}

/** Why a metric has no verdict, and whether a person must fix the plan. */
interface Missing {
  reason: string;
  problem?: SampleProblem | undefined;
}

function firstMissing(candidates: ReadonlyArray<Missing | undefined>): Missing | undefined {
  return candidates.find((c) => c !== undefined);
}

function nodata(result: MetricResult, missing: Missing): Judgement {
  return { result: { ...result, verdict: 'nodata', reason: missing.reason, ...(missing.problem ? { problem: missing.problem } : {}) }, why: () => missing.reason };
}

/** The traffic floor of a `samples` query: the evidence the window holds, and why it is not enough. */
function trafficFloor(sample: Sample, minSamples: number): { samples: number | null; minSamples: number; missing?: Missing } {
  if (sample.value === null) return { samples: null, minSamples, missing: { reason: `samples: ${sample.reason}`, problem: sample.problem } };
  if (sample.value < minSamples) return { samples: sample.value, minSamples, missing: belowFloor(sample.value, minSamples, 'samples in the window') };
  return { samples: sample.value, minSamples };
}

/** `412 samples in the window, 500 needed` (the count rounded down: 499.6 is not 500). */
function belowFloor(have: number, need: number, what: string): Missing {
  return { reason: `${Math.floor(have)} ${what}, ${need} needed` };
}

function hasBounds(t: Thresholds): boolean {
  return t.min !== undefined || t.max !== undefined || t.rollbackAbove !== undefined || t.rollbackBelow !== undefined;
}

/** A metric judged nodata because its window holds less evidence than its `minSamples`. */
export function belowTrafficFloor(m: MetricResult): boolean {
  return m.verdict === 'nodata' && typeof m.samples === 'number' && m.minSamples !== undefined && m.samples < m.minSamples;
}

/** The metrics whose query Prometheus refused (HTTP 400/422): a plan problem. */
export function badQueries(metrics: MetricResult[]): MetricResult[] {
  return metrics.filter((m) => m.problem === 'bad-query');
}

/** A checkpoint's outcome from its judged metrics (score, critical metrics, caution). */
export function outcomeOf(plan: Plan, e: Evidence): CheckpointOutcome {
  return checkpointOutcome(e.judged, plan.spec.analysis);
}

/** The guard's window: guard.window, else max(interval, 1m). */
export function guardWindow(plan: Plan): number {
  return plan.spec.guard.window ?? Math.max(plan.spec.guard.interval, 60_000);
}
