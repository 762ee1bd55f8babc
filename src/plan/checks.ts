/**
 * Cross-field checks of a plan that passed the schema. Each check is small, named, and
 * returns issues located by field path; the loader maps them to lines and columns.
 */
import { error, warning, type PathSegment, type PlanIssue } from './diagnostic.js';
import { formatDuration, isoTime as isoMs } from './duration.js';
import { checkPhases } from './checks-phases.js';
import { checkRollbackSteps } from './checks-rollback.js';
import { checkQueries } from './check-queries.js';
import { checkJudges, guardJudges, judgeOf, testThresholds } from './checks-judges.js';
import { checkLimits } from './limits.js';
import { metricQueryFields } from './query-fields.js';
import { BUILTIN_TEMPLATE_NAMES, templateRefs } from './template.js';
import { metricThresholds, THRESHOLD_FIELDS } from './thresholds.js';
import type { Plan, Thresholds } from './schema.js';
import { routerDescriptor } from '../routers/registry.js';
import type { RouterDescriptor } from '../routers/descriptor.js';

export interface CheckOptions {
  /** The controller's `--prometheus`, which stands in for a missing `prometheus.address`. */
  prometheus?: string;
  /** The routers plans may name, as given to planSchemaFor; default: the registry's list. */
  routers?: readonly RouterDescriptor[];
}

/**
 * A check of a schema-valid plan; `written` is the document as written (after `${NAME}`
 * expansion), for what the schema's transforms lose (a tolerance written as `20`, not `20%`).
 */
export type PlanCheck = (plan: Plan, opts: CheckOptions, written: unknown) => PlanIssue[];

const isoTime = (ms: number): string => isoMs(ms).replace('.000Z', 'Z');
const SPEC: PathSegment[] = ['spec'];
const fmt = (n: number) => String(n);

export const uniqueMetricNames: PlanCheck = (plan) => duplicates(plan.spec.metrics.map((m) => m.name), 'metrics', 'metric');

function duplicates(names: string[], list: 'metrics' | 'phases', what: string): PlanIssue[] {
  const first = new Map<string, number>();
  const out: PlanIssue[] = [];
  names.forEach((name, i) => {
    const prev = first.get(name);
    if (prev === undefined) first.set(name, i);
    else out.push(error([...SPEC, list, i, 'name'], `duplicate ${what} name "${name}" (already used by ${list}[${prev}])`));
  });
  return out;
}

export const uniquePhaseNames: PlanCheck = (plan) => duplicates(plan.spec.phases.map((p) => p.name), 'phases', 'phase');

const SOURCES = ['query', 'alerts', 'counts'] as const;

/** A metric has exactly one source: query, alerts or counts (a test says what it misses itself). */
export const metricSource: PlanCheck = (plan) =>
  plan.spec.metrics.flatMap((m, i) => {
    const path = [...SPEC, 'metrics', i];
    const found = SOURCES.filter((f) => m[f] !== undefined);
    if (found.length > 1) {
      const uses = m.counts !== undefined ? ': a counts metric is judged by the sequential test on its bad and total queries' : '';
      // Beside counts, the other source is the one without meaning: point at it.
      const at = m.counts !== undefined ? found.find((f) => f !== 'counts')! : found[1]!;
      return [error([...path, at], `expected exactly one of query, alerts or counts, found ${found.join(' and ')}${uses}`)];
    }
    if (found.length === 0 && m.test === undefined) {
      return [error(path, `metric "${m.name}" needs a query, alerts or counts, found none`)];
    }
    return [];
  });

/** min/max/rollbackBelow/rollbackAbove make sense together; `at` says where each field comes from. */
function thresholdIssues(t: Thresholds, at: (f: keyof Thresholds) => PathSegment[], context: string): PlanIssue[] {
  const out: PlanIssue[] = [];
  const { min, max, rollbackBelow, rollbackAbove } = t;
  // Of two conflicting fields, point at the more specific one (a phase's override), else the first.
  const pick = (...fields: Array<keyof Thresholds>) => fields.map(at).reduce((a, b) => (b.length > a.length ? b : a));
  if (min !== undefined && max !== undefined && min > max) {
    out.push(error(pick('max', 'min'), `min (${fmt(min)}) must not exceed max (${fmt(max)})${context}`));
  }
  if (rollbackAbove !== undefined) {
    if (max === undefined) out.push(warning(at('rollbackAbove'), `rollbackAbove (${fmt(rollbackAbove)}) without max: it separates hold from fail above max, so set max too${context}`));
    else if (rollbackAbove < max) out.push(error(pick('rollbackAbove', 'max'), `rollbackAbove (${fmt(rollbackAbove)}) must be >= max (${fmt(max)})${context}`));
  }
  if (rollbackBelow !== undefined) {
    if (min === undefined) out.push(warning(at('rollbackBelow'), `rollbackBelow (${fmt(rollbackBelow)}) without min: it separates hold from fail below min, so set min too${context}`));
    else if (rollbackBelow > min) out.push(error(pick('rollbackBelow', 'min'), `rollbackBelow (${fmt(rollbackBelow)}) must be <= min (${fmt(min)})${context}`));
  }
  return out;
}

export const metricThresholdsConsistent: PlanCheck = (plan) =>
  plan.spec.metrics.flatMap((m, i) => {
    const path = [...SPEC, 'metrics', i];
    const judge = judgeOf(m);
    if (judge === 'sequential' || judge === 'mann-whitney') return []; // their bounds are refused by checkJudges
    const t = metricThresholds(m);
    // A relative bound is a pass condition of its own: min and max are optional beside it.
    if (t.min === undefined && t.max === undefined && judge === 'threshold') {
      return [error(path, `metric "${m.name}" needs min or max (its pass condition), found neither`)];
    }
    return thresholdIssues(t, (f) => [...path, f], '');
  });

export const phaseThresholdsConsistent: PlanCheck = (plan) =>
  plan.spec.phases.flatMap((phase, p) =>
    Object.entries(phase.thresholds ?? {}).flatMap(([name, override]) => {
      const i = plan.spec.metrics.findIndex((m) => m.name === name);
      const metric = plan.spec.metrics[i];
      if (!metric) return []; // reported by thresholdMetricsExist
      if (judgeOf(metric) === 'sequential' || judgeOf(metric) === 'mann-whitney') return []; // reported by testThresholds
      const merged: Thresholds = { ...metricThresholds(metric) };
      for (const f of THRESHOLD_FIELDS) if (override[f] !== undefined) merged[f] = override[f];
      const at = (f: keyof Thresholds): PathSegment[] =>
        override[f] !== undefined ? [...SPEC, 'phases', p, 'thresholds', name, f] : [...SPEC, 'phases', p, 'thresholds', name];
      return thresholdIssues(merged, at, ` (phase "${phase.name}" merged with metric "${name}")`);
    }),
  );

function unknownNames(names: readonly string[] | undefined, known: Set<string>, path: PathSegment[], what: string): PlanIssue[] {
  const list = [...known].join(', ');
  return (names ?? []).flatMap((name, i) =>
    known.has(name) ? [] : [error([...path, i], `unknown ${what} "${name}" (metrics: ${list})`)],
  );
}

export const thresholdMetricsExist: PlanCheck = (plan) => {
  const known = new Set(plan.spec.metrics.map((m) => m.name));
  return plan.spec.phases.flatMap((phase, p) =>
    Object.keys(phase.thresholds ?? {}).flatMap((name) =>
      known.has(name)
        ? []
        : [error([...SPEC, 'phases', p, 'thresholds', name], `thresholds for unknown metric "${name}" (metrics: ${[...known].join(', ')})`, { atKey: true })],
    ),
  );
};

export const phaseMetricsExist: PlanCheck = (plan) => {
  const known = new Set(plan.spec.metrics.map((m) => m.name));
  return plan.spec.phases.flatMap((phase, p) => {
    const path = [...SPEC, 'phases', p, 'metrics'];
    if (phase.metrics && phase.metrics.length === 0) return [error(path, 'expected at least one metric name, got an empty list (omit the field to judge all metrics)')];
    return unknownNames(phase.metrics, known, path, 'metric');
  });
};

export const guardMetrics: PlanCheck = (plan) => {
  const { guard, metrics } = plan.spec;
  const known = new Set(metrics.map((m) => m.name));
  const path = [...SPEC, 'guard', 'metrics'];
  const out = unknownNames(guard.metrics, known, path, 'guard metric');
  // The guard never runs Mann-Whitney (checks-judges.ts, guardJudges).
  const watchable = metrics.filter((m) => judgeOf(m) !== 'mann-whitney');
  const watched = guard.metrics?.filter((n) => watchable.some((m) => m.name === n)) ?? watchable.filter((m) => m.critical).map((m) => m.name);
  if (watched.length === 0) {
    out.push(warning(guard.metrics ? path : [...SPEC, 'guard'], 'the guard watches no metric: mark a metric critical or list guard.metrics'));
  }
  return out;
};

export const guardTiming: PlanCheck = (plan) => {
  const { guard } = plan.spec;
  const out: PlanIssue[] = [];
  if (guard.interval < 1000) out.push(error([...SPEC, 'guard', 'interval'], `expected at least 1s, got ${formatDuration(guard.interval)}`));
  if (guard.window !== undefined && guard.window < 1000) out.push(error([...SPEC, 'guard', 'window'], `expected at least 1s, got ${formatDuration(guard.window)}`));
  return out;
};

export const analysisSettings: PlanCheck = (plan) => {
  const { analysis } = plan.spec;
  const out: PlanIssue[] = [];
  if (analysis.score && analysis.score.caution > analysis.score.pass) {
    out.push(error([...SPEC, 'analysis', 'score', 'caution'], `caution (${analysis.score.caution}) must be <= pass (${analysis.score.pass})`));
  }
  if (analysis.retryInterval < 1000) {
    out.push(error([...SPEC, 'analysis', 'retryInterval'], `expected at least 1s, got ${formatDuration(analysis.retryInterval)}`));
  }
  return out;
};

/** Names a template may use: the plan's vars and the built-ins. */
export const templateVariables: PlanCheck = (plan) => {
  const vars = Object.keys(plan.spec.vars);
  const builtins: readonly string[] = BUILTIN_TEMPLATE_NAMES;
  const known = new Set([...vars, ...builtins]);
  const out: PlanIssue[] = vars
    .filter((v) => builtins.includes(v))
    .map((v) => error([...SPEC, 'vars', v], `"${v}" is a built-in template name ({{${v}}}); choose another name`, { atKey: true }));
  const knownList = `vars: ${vars.join(', ') || 'none'}; built-ins: ${builtins.join(', ')}`;
  plan.spec.metrics.forEach((m, i) => {
    const fields: Array<{ path: PathSegment[]; name: string; text: string }> = [...metricQueryFields(m)];
    if (m.alerts !== undefined) fields.push({ path: ['alerts'], name: 'alerts', text: m.alerts });
    for (const { path: at, name: field, text } of fields) {
      for (const ref of templateRefs(text)) {
        const path = [...SPEC, 'metrics', i, ...at];
        if (!ref.valid) out.push(error(path, `malformed template ${ref.raw} in ${field}: expected {{name}}`, { needle: ref.raw }));
        else if (!known.has(ref.name)) out.push(error(path, `unknown template variable {{${ref.name}}} in ${field} (${knownList})`, { needle: ref.raw }));
      }
    }
  });
  return out;
};

export const routerBlock: PlanCheck = (plan) => {
  const { traffic } = plan.spec;
  const out: PlanIssue[] = [];
  if (traffic[traffic.router] === undefined) {
    out.push(error([...SPEC, 'traffic', traffic.router], `router is ${traffic.router} but the traffic.${traffic.router} block is missing`));
  }
  for (const key of Object.keys(traffic)) {
    if (key !== 'router' && key !== traffic.router) {
      out.push(warning([...SPEC, 'traffic', key], `ignored: the router is ${traffic.router}, not ${key}`, { atKey: true }));
    }
  }
  return out;
};

export const mirrorSupported: PlanCheck = (plan, opts) => {
  const router = plan.spec.traffic.router;
  if (routerDescriptor(router, opts.routers)?.mirrors) return [];
  return plan.spec.phases.flatMap((phase, p) =>
    phase.mirror > 0
      ? [error([...SPEC, 'phases', p, 'mirror'], `the ${router} router cannot mirror traffic: expected mirror 0, got ${phase.mirror}`)]
      : [],
  );
};

export function isValidTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

export const deploymentWindows: PlanCheck = (plan) =>
  plan.spec.windows.flatMap((w, i) => {
    const path = [...SPEC, 'windows', i];
    const out: PlanIssue[] = [];
    if (!isValidTimeZone(w.timezone)) {
      out.push(error([...path, 'timezone'], `expected an IANA time zone such as Europe/Berlin or UTC, got "${w.timezone}"`));
    }
    if (w.start === w.end) out.push(error([...path, 'end'], `end must differ from start (both are ${w.start})`));
    return out;
  });

export const blackoutSpans: PlanCheck = (plan) =>
  plan.spec.blackouts.flatMap((b, i) =>
    b.from < b.to ? [] : [error([...SPEC, 'blackouts', i, 'to'], `to (${isoTime(b.to)}) must be after from (${isoTime(b.from)})`)],
  );

export const lastPhaseWeight: PlanCheck = (plan) => {
  const p = plan.spec.phases.length - 1;
  const last = plan.spec.phases[p]!;
  return last.weight < 100
    ? [warning([...SPEC, 'phases', p, 'weight'], `the last phase leaves the canary at ${last.weight}%: the rollout completes without sending it all traffic`)]
    : [];
};

export const prometheusAddress: PlanCheck = (plan, opts) =>
  plan.spec.prometheus.address === undefined && !opts.prometheus
    ? [warning([...SPEC, 'prometheus'], "no prometheus.address: the controller's --prometheus must then be set")]
    : [];

export const PLAN_CHECKS: readonly PlanCheck[] = [
  uniqueMetricNames,
  uniquePhaseNames,
  metricSource,
  metricThresholdsConsistent,
  phaseThresholdsConsistent,
  thresholdMetricsExist,
  phaseMetricsExist,
  guardMetrics,
  guardTiming,
  analysisSettings,
  templateVariables,
  routerBlock,
  mirrorSupported,
  deploymentWindows,
  blackoutSpans,
  lastPhaseWeight,
  prometheusAddress,
  checkPhases,
  checkRollbackSteps,
  checkQueries,
  checkJudges,
  testThresholds,
  guardJudges,
];

/**
 * Every cross-field problem of a schema-valid plan; only its limits when it exceeds them.
 * `written`: the document the plan was parsed from (default: the plan itself).
 */
export function checkPlan(plan: Plan, opts: CheckOptions = {}, written: unknown = plan): PlanIssue[] {
  const limits = checkLimits(plan);
  if (limits.length > 0) return limits;
  return PLAN_CHECKS.flatMap((check) => check(plan, opts, written));
}
