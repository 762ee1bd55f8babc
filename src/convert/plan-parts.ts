/**
 * Pieces of a converted plan that both converters build the same way: durations, names,
 * placeholders for values the source does not hold, the phases and the router fallback.
 */
import { formatDuration } from '../plan/duration.js';
import { API_VERSION, KIND } from '../plan/schema.js';
import { ROUTER_DESCRIPTORS } from '../routers/registry.js';
import type { Fields } from './source.js';

/** A phase's only checkpoint when the source judges nothing at that weight (documented in the migration guides). */
export const DEFAULT_CHECKPOINT_MS = 60_000;

const GO_UNITS: Record<string, number> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** A Go duration (`1m30s`, `1.5h`, `500ms`), as milliseconds; null when it is not one. */
export function goDurationMs(text: string): number | null {
  const m = /^(?:\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h))+$/.exec(text);
  if (!m) return text === '0' ? 0 : null;
  let ms = 0;
  for (const part of text.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)) ms += Number(part[1]) * GO_UNITS[part[2]!]!;
  return Math.round(ms);
}

/** A duration field written as a Go duration, or as a number of seconds when `seconds` allows it. */
export function durationAt(f: Fields, sub: Array<string | number>, opts: { seconds?: boolean } = {}): number | undefined {
  const v = f.raw(...sub);
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'number' && opts.seconds && Number.isInteger(v) && v >= 0) return v * 1000;
  if (typeof v === 'string') {
    const ms = goDurationMs(v);
    if (ms !== null) return ms;
    if (opts.seconds && /^\d+$/.test(v)) return Number(v) * 1000;
  }
  return f.fail(sub, `expected a duration such as 30s, 5m or 1h${opts.seconds ? ' (or a number of seconds)' : ''}, got ${JSON.stringify(v)}`);
}

export const fmt = (ms: number): string => formatDuration(ms);

/** A metric name rollgate accepts (letters, digits, `_`, `.`, `-`), from any source name. */
export function metricName(raw: string): string {
  const cleaned = raw.replace(/[^A-Za-z0-9_.-]+/g, '-').replace(/^[^A-Za-z0-9]+/, '').replace(/-+$/, '');
  return cleaned === '' ? 'metric' : cleaned;
}

/** `base`, or `base-2`, `base-3`, ... : the first not yet in `taken` (which it joins). */
export function uniqueName(taken: Set<string>, base: string): string {
  let name = base;
  for (let i = 2; taken.has(name); i++) name = `${base}-${i}`;
  taken.add(name);
  return name;
}

/** `${NAME}`: a value the user must provide (validate warns while it is unset; run refuses to start without it). */
export function envPlaceholder(hint: string): string {
  return `\${${hint.toUpperCase().replace(/[^A-Z0-9]+/g, '_').replace(/^_+|_+$/g, '')}}`;
}

/** One phase of the plan being built. */
export interface PhaseDraft {
  name: string;
  weight: number;
  approval: boolean;
  settle?: number;
  checkpoints: Array<string | { every: string; until: string }>;
  /** Metric names judged in this phase (empty: every metric). */
  metrics: Set<string>;
  /** Some checkpoints are timed waits of the source (Argo's pause), not judgements. */
  paused: boolean;
  notes: string[];
}

export function newPhase(taken: Set<string>, base: string, weight: number, approval: boolean): PhaseDraft {
  return { name: uniqueName(taken, base), weight, approval, checkpoints: [], metrics: new Set(), paused: false, notes: [] };
}

/** The plan's phase entry (metrics listed only when the phase judges fewer than all). */
export function phaseData(p: PhaseDraft, allMetrics: readonly string[]): Record<string, unknown> {
  const judged = allMetrics.filter((m) => p.metrics.has(m));
  return {
    name: p.name,
    weight: p.weight,
    ...(p.approval ? { approval: true } : {}),
    ...(p.settle ? { settle: fmt(p.settle) } : {}),
    checkpoints: p.checkpoints,
    ...(judged.length > 0 && judged.length < allMetrics.length ? { metrics: judged } : {}),
  };
}

/**
 * The `file` router, for sources whose traffic manager rollgate has no router for: the split
 * is written to a file for the user's own integration (the note says so).
 */
export function fileRouter(name: string): Record<string, unknown> {
  return { router: 'file', file: { path: `/var/lib/rollgate/${name}-split.json` } };
}

/** The note on a fileRouter: `why` there is no router for the source's traffic manager, and the routers there are. */
export function fileRouterNote(why: string): string {
  const routers = ROUTER_DESCRIPTORS.map((r) => r.name).join(', ');
  return `traffic: ${why}, so this plan writes the split to a file (router: file) for your own integration. Routers: ${routers} (docs/routers.md).`;
}

/** The plan's skeleton, its keys in reading order. */
export function planSkeleton(name: string, namespace: string | undefined): Record<string, unknown> {
  return { apiVersion: API_VERSION, kind: KIND, metadata: { name, ...(namespace ? { namespace } : {}) }, spec: {} };
}
