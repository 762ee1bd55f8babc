/**
 * Cross-field checks of the judges (analysis.md; docs/plan-reference.md "Judging against the
 * baseline"): which fields each judge takes, what each needs, and the plans that can only
 * mislead. A metric is judged by one of
 *
 * - a fixed threshold: `query` or `alerts` with min/max (optionally a `samples` floor);
 * - a relative bound: `query` + `baseline` with `tolerance` and/or `slack` (absolute bounds too);
 * - the sequential test: `counts` (with `test: sequential` or no test);
 * - Mann-Whitney: `test: mann-whitney` with `query` and `baseline`.
 *
 * A field another judge owns is an error that says what this judge uses instead.
 */
import { error, warning, type PathSegment, type PlanIssue } from './diagnostic.js';
import { formatDuration } from './duration.js';
import { checkpointSpecs } from './checkpoints.js';
import { PLAN_LIMITS } from './limits.js';
import { promqlSyntaxError } from './promql.js';
import { templateValues } from './queries.js';
import { renderTemplate, TemplateError } from './template.js';
import { THRESHOLD_FIELDS } from './thresholds.js';
import { baselineCanBeZero } from './zero-baseline.js';
import type { Metric, Phase, Plan } from './schema.js';

/** Mann-Whitney's defaults (analysis.md section 4). */
export const MANN_WHITNEY_DEFAULTS = { step: 30_000, minSamples: 20 } as const;

export type Judge = 'threshold' | 'relative' | 'sequential' | 'mann-whitney';

/** The judge of a metric: `counts` is judged by the sequential test whatever else it says. */
export function judgeOf(m: Metric): Judge {
  if (m.counts !== undefined || m.test === 'sequential') return 'sequential';
  if (m.test === 'mann-whitney') return 'mann-whitney';
  return m.baseline !== undefined ? 'relative' : 'threshold';
}

type Field = keyof Metric;
const metricPath = (i: number, ...rest: PathSegment[]): PathSegment[] => ['spec', 'metrics', i, ...rest];
const present = (m: Metric, fields: readonly Field[]) => fields.filter((f) => m[f] !== undefined);
const ABSOLUTE: readonly Field[] = THRESHOLD_FIELDS;

/** One error per field of `fields` the metric has, each saying `why`. */
function refuse(m: Metric, i: number, fields: readonly Field[], why: (f: Field) => string): PlanIssue[] {
  return present(m, fields).map((f) => error(metricPath(i, f), why(f)));
}

function sequentialIssues(m: Metric, i: number): PlanIssue[] {
  if (m.counts === undefined) {
    if (m.test === 'mann-whitney') return [];
    return [
      error(
        metricPath(i, 'test'),
        'test: sequential needs counts: the canary\'s and the baseline\'s bad and total queries (counts: {canary: {bad, total}, baseline: {bad, total}})',
      ),
    ];
  }
  if (m.test === 'mann-whitney') {
    return [error(metricPath(i, 'test'), 'a counts metric is judged by the sequential test: write test: sequential or leave test out (mann-whitney judges query and baseline series)')];
  }
  const out: PlanIssue[] = [
    ...refuse(m, i, ['baseline'], () => 'a counts metric has no baseline query: the sequential test compares with counts.baseline (bad and total)'),
    ...refuse(m, i, ['samples'], () => "a counts metric has no samples query: its traffic floor is minSamples, counted on counts.canary.total (default 100)"),
    ...refuse(m, i, ABSOLUTE, (f) => `a counts metric has no ${f}: the sequential test fails on evidence of a regression beyond tolerance (e >= 1/alpha), not on a value`),
    ...refuse(m, i, ['slack'], () => "the sequential test's margin is tolerance (relative to the baseline's error rate), not slack"),
    ...refuse(m, i, ['confidence', 'step'], (f) => `${f} is for test: mann-whitney; the sequential test's error bound is alpha`),
  ];
  if (m.worse === 'lower') out.push(error(metricPath(i, 'worse'), 'the sequential test judges error counts: a higher canary error rate is worse, so worse: lower has no meaning here'));
  return out;
}

function mannWhitneyIssues(m: Metric, i: number): PlanIssue[] {
  const missing = (['query', 'baseline'] as const).filter((f) => m[f] === undefined);
  const out: PlanIssue[] = [];
  if (missing.length > 0) {
    const got = m.alerts !== undefined ? ' (alerts cannot be range-queried as a series)' : '';
    out.push(error(metricPath(i, 'test'), `test: mann-whitney needs ${missing.join(' and ')}: it compares the canary's series (query) with the baseline's (baseline)${got}`));
  }
  out.push(
    ...refuse(m, i, ['alpha', 'require'], (f) => `${f} is for the sequential test (counts); mann-whitney's error bound is confidence`),
    ...refuse(m, i, ['samples'], () => "mann-whitney has no samples query: its floor is minSamples points per side (default 20)"),
    ...refuse(m, i, ABSOLUTE, (f) => `mann-whitney has no ${f}: it fails on the interval of the shift (canary - baseline); judge an absolute bound in a metric of its own`),
    ...refuse(m, i, ['slack'], () => "mann-whitney's effect floor is tolerance (relative to the baseline's median), not slack"),
  );
  if (m.step !== undefined && m.step < 1000) out.push(error(metricPath(i, 'step'), `expected at least 1s, got ${formatDuration(m.step)}`));
  return out;
}

function baselineRenders(plan: Plan, m: Metric): string | null {
  try {
    const scope = { phase: plan.spec.phases[0]!.name, weight: plan.spec.phases[0]!.weight };
    return renderTemplate(m.baseline!, templateValues(plan, scope, 60_000));
  } catch (err) {
    if (err instanceof TemplateError) return null; // reported by templateVariables
    throw err;
  }
}

function boundIssues(plan: Plan, m: Metric, i: number): PlanIssue[] {
  const out: PlanIssue[] = [
    ...refuse(m, i, ['confidence', 'step'], (f) => `${f} is only for test: mann-whitney`),
    ...refuse(m, i, ['alpha', 'require'], (f) => `${f} is only for the sequential test (counts with test: sequential)`),
  ];
  if (m.samples !== undefined && m.minSamples === undefined) {
    out.push(error(metricPath(i, 'samples'), 'samples needs minSamples: the least evidence that is judged (e.g. minSamples: 500); below it the verdict is nodata'));
  }
  if (m.minSamples !== undefined && m.samples === undefined) {
    out.push(error(metricPath(i, 'minSamples'), 'minSamples needs samples: the query that counts the evidence in the window (e.g. the canary\'s requests)'));
  }
  if (m.baseline === undefined) {
    out.push(...refuse(m, i, ['tolerance', 'slack', 'worse'], (f) => `${f} needs baseline: it bounds the canary relative to the baseline's value (or use a test)`));
    return out;
  }
  if (m.alerts !== undefined) {
    out.push(error(metricPath(i, 'baseline'), 'alerts cannot be compared with a baseline: the number of firing alerts is judged by min/max'));
    return out;
  }
  if (m.tolerance === undefined && m.slack === undefined) {
    out.push(error(metricPath(i, 'baseline'), 'a baseline needs tolerance (relative, e.g. 20%) or slack (absolute, in the metric\'s unit): the bound is baseline x (1 + tolerance) or baseline + slack, the looser'));
  }
  if (m.tolerance !== undefined && m.slack === undefined) {
    const text = baselineRenders(plan, m);
    if (text !== null && promqlSyntaxError(text) === null && baselineCanBeZero(text)) {
      out.push(
        warning(
          metricPath(i, 'tolerance'),
          'the baseline can be 0 (an error or count ratio), and then tolerance alone allows nothing above 0: one canary error fails; add slack (e.g. slack: 0.001) for an absolute allowance',
        ),
      );
    }
  }
  return out;
}

/** A checkpoint window's length, or null when it is unknown before the phase runs (the first instant). */
function checkpointWindows(phase: Phase): number[] {
  const out: number[] = [];
  let prev: number | null = 0;
  for (const c of checkpointSpecs(phase)) {
    const at = 'offset' in c ? c.offset : c.instant;
    if ('instant' in c && prev === 0) prev = null;
    if (prev !== null) out.push(at - prev);
    prev = at;
  }
  return out;
}

const judges = (phase: Phase, m: Metric) => phase.metrics === undefined || phase.metrics.includes(m.name);

/** Mann-Whitney's points per checkpoint window at `step`: too few can only be nodata, too many are refused. */
function windowIssues(plan: Plan, m: Metric, i: number): PlanIssue[] {
  const step = m.step ?? MANN_WHITNEY_DEFAULTS.step;
  if (step < 1000) return [];
  const min = m.minSamples ?? MANN_WHITNEY_DEFAULTS.minSamples;
  const at = metricPath(i, m.step !== undefined ? 'step' : 'test');
  const out: PlanIssue[] = [];
  plan.spec.phases.forEach((phase) => {
    if (!judges(phase, m)) return;
    const windows = checkpointWindows(phase);
    const intervals = (w: number) => Math.floor(w / step);
    const short = windows.filter((w) => intervals(w) + 1 < min);
    const long = windows.filter((w) => intervals(w) > PLAN_LIMITS.rangePointsPerSide);
    if (short.length > 0) {
      const w = Math.min(...short);
      out.push(
        warning(
          at,
          `in phase "${phase.name}", ${short.length} of ${windows.length} checkpoint windows (the shortest ${formatDuration(w)}) hold at most ${intervals(w) + 1} points at step ${formatDuration(step)}, fewer than minSamples ${min}: those checkpoints can only be nodata (a shorter step or checkpoints further apart)`,
        ),
      );
    }
    if (long.length > 0) {
      const w = Math.max(...long);
      const least = Math.ceil(w / PLAN_LIMITS.rangePointsPerSide / 1000) * 1000;
      out.push(
        error(
          at,
          `in phase "${phase.name}", a checkpoint window of ${formatDuration(w)} holds ${intervals(w).toLocaleString('en-US')} points at step ${formatDuration(step)}, more than the limit of ${PLAN_LIMITS.rangePointsPerSide.toLocaleString('en-US')} per side: a step of at least ${formatDuration(least)} or checkpoints closer together`,
        ),
      );
    }
  });
  return out;
}

/** A tolerance written as a number above 1 (`20`) means x21, which is rarely what was meant. */
function toleranceWritten(m: Metric, i: number, written: unknown): PlanIssue[] {
  const metrics = (written as { spec?: { metrics?: unknown } } | null)?.spec?.metrics;
  const raw = Array.isArray(metrics) ? (metrics[i] as { tolerance?: unknown } | undefined)?.tolerance : m.tolerance;
  if (typeof raw !== 'number' || raw <= 1) return [];
  return [
    warning(metricPath(i, 'tolerance'), `tolerance ${raw} is the fraction ${raw}: the canary may be x${1 + raw} the baseline; for ${raw}% write tolerance: ${raw}% (a fraction such as 0.2 is 20%)`),
  ];
}

/** The judges' rules for each metric; `written` is the document as written (checks.ts, PlanCheck). */
export function checkJudges(plan: Plan, _opts: unknown, written: unknown): PlanIssue[] {
  return plan.spec.metrics.flatMap((m, i) => {
    const judge = judgeOf(m);
    const own =
      judge === 'sequential' ? sequentialIssues(m, i) : judge === 'mann-whitney' ? [...mannWhitneyIssues(m, i), ...windowIssues(plan, m, i)] : boundIssues(plan, m, i);
    return [...own, ...toleranceWritten(m, i, written)];
  });
}

/** A phase's `thresholds` entry for a metric judged by a test: it has no bounds to override. */
export function testThresholds(plan: Plan): PlanIssue[] {
  return plan.spec.phases.flatMap((phase, p) =>
    Object.keys(phase.thresholds ?? {}).flatMap((name) => {
      const m = plan.spec.metrics.find((x) => x.name === name);
      const judge = m ? judgeOf(m) : 'threshold';
      if (judge !== 'sequential' && judge !== 'mann-whitney') return [];
      const uses = judge === 'sequential' ? 'tolerance and alpha' : 'tolerance and confidence';
      return [error(['spec', 'phases', p, 'thresholds', name], `metric "${name}" is judged by the ${judge === 'sequential' ? 'sequential test' : 'mann-whitney test'}, which has no thresholds to override (it uses ${uses})`, { atKey: true })];
    }),
  );
}

/** The guard runs only what is anytime-valid: never Mann-Whitney. */
export function guardJudges(plan: Plan): PlanIssue[] {
  const { guard, metrics } = plan.spec;
  const out: PlanIssue[] = [];
  (guard.metrics ?? []).forEach((name, j) => {
    const m = metrics.find((x) => x.name === name);
    if (m && judgeOf(m) === 'mann-whitney') {
      out.push(error(['spec', 'guard', 'metrics', j], `the guard does not run mann-whitney metrics ("${name}"): a test judged at every tick is not anytime-valid; it is judged at checkpoints`));
    }
  });
  if (guard.metrics === undefined) {
    metrics.forEach((m, i) => {
      if (m.critical && judgeOf(m) === 'mann-whitney') {
        out.push(warning(metricPath(i, 'critical'), `the guard does not watch mann-whitney metrics: "${m.name}" is critical at checkpoints only (a fail there rolls back)`));
      }
    });
  }
  return out;
}
