/**
 * An in-memory MetricsProvider over a generated History (judge-histories.ts), for the judges
 * benchmark: it answers the few PromQL shapes of the benchmark's plan from the history's
 * counters, as Prometheus would with exact increases (no extrapolation):
 *
 *     sum(rate(http_requests_total{track="canary",code=~"5.."}[1m]))
 *     sum(increase(http_requests_total{track="stable"}[15m]))
 *     <one of those> / <one of those>
 *
 * `increase` over [at - window, at] is the counter at `at` minus the counter at the window's
 * start (both at the 5 s step at or before them; before the phase the counters are 0); `rate`
 * divides it by the window in seconds; 0/0 is NaN and x/0 is +Inf, both nodata as the real
 * provider reports them. Any other query is a mistake in the benchmark's plan: it throws.
 */
import type { MetricsProvider, Sample } from '../core/metrics-provider.js';
import { parseDuration } from '../plan/duration.js';
import { STEP_MS, type History } from './judge-histories.js';

interface Term {
  fn: 'rate' | 'increase';
  track: 'canary' | 'stable';
  bad: boolean;
  windowMs: number;
}

interface Expression {
  terms: [Term] | [Term, Term];
}

const TERM = String.raw`sum\((rate|increase)\(http_requests_total\{track="(canary|stable)"(,code=~"5\.\.")?\}\[([0-9a-z]+)\]\)\)`;
const EXPRESSION = new RegExp(String.raw`^${TERM}(?: / ${TERM})?$`);

/** Parsed queries, shared by every provider (the texts repeat across runs). */
const parsed = new Map<string, Expression>();

export function parseBenchQuery(query: string): Expression {
  let e = parsed.get(query);
  if (e) return e;
  const m = EXPRESSION.exec(query);
  if (!m) throw new Error(`the history provider does not know the query ${query}`);
  const term = (o: number): Term => {
    const windowMs = parseDuration(m[o + 4]!);
    if (windowMs === null) throw new Error(`bad window in ${query}`);
    return { fn: m[o + 1] as Term['fn'], track: m[o + 2] as Term['track'], bad: m[o + 3] !== undefined, windowMs };
  };
  e = { terms: m[5] === undefined ? [term(0)] : [term(0), term(4)] };
  parsed.set(query, e);
  return e;
}

export class HistoryProvider implements MetricsProvider {
  constructor(
    private readonly history: History,
    /** Epoch ms of the phase start (history index 0). */
    private readonly phaseStart: number,
  ) {}

  async instant(query: string, at: number): Promise<Sample> {
    return this.evaluate(query, at);
  }

  async range(query: string, start: number, end: number, stepMs: number): Promise<Map<number, Sample>> {
    const out = new Map<number, Sample>();
    for (let t = start; t <= end; t += stepMs) out.set(t, this.evaluate(query, t));
    return out;
  }

  evaluate(query: string, at: number): Sample {
    const { terms } = parseBenchQuery(query);
    const first = this.term(terms[0], at);
    const value = terms.length === 1 ? first : first / this.term(terms[1], at);
    if (Number.isNaN(value)) return { value: null, reason: 'NaN' };
    if (!Number.isFinite(value)) return { value: null, reason: value > 0 ? '+Inf' : '-Inf' };
    return { value };
  }

  private term(t: Term, at: number): number {
    const h = this.history;
    const series = t.track === 'canary' ? (t.bad ? h.canaryBad : h.canaryTotal) : t.bad ? h.stableBad : h.stableTotal;
    const increase = series[this.index(at)]! - series[this.index(at - t.windowMs)]!;
    return t.fn === 'increase' ? increase : increase / (t.windowMs / 1000);
  }

  /** The step at or before `at`, within the history. */
  private index(at: number): number {
    return Math.min(this.history.steps, Math.max(0, Math.floor((at - this.phaseStart) / STEP_MS)));
  }
}
