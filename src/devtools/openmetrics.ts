/**
 * Builders for metric history in OpenMetrics text, the input of
 * `promtool tsdb create-blocks-from openmetrics` (see local-prometheus.ts: `startPrometheus({ openMetrics })`).
 *
 * All times are epoch SECONDS. Every series gets one sample every `step` seconds from `start`
 * to `end` inclusive (minus its gaps). Rates are per second and may be functions of time, so a
 * test can put an error spike between t1 and t2:
 *
 *   const h = new OpenMetricsHistory({ start: now - 6 * 3600, end: now, step: 15 });
 *   h.counter('http_requests_total', { track: 'canary', code: '200' }, 10)
 *    .counter('http_requests_total', { track: 'canary', code: '500' }, between(t1, t2, 5, 0.01))
 *    .gauge('queue_depth', { app: 'analyzer' }, (t) => (t < t1 ? 3 : null))    // null = no sample
 *    .histogram('http_request_duration_seconds', { track: 'canary' },
 *               { rate: 10, latency: exponentialLatency(0.2) })
 *    .alert('HighErrorRate', { severity: 'critical' }, { pendingFrom: t1, firingFrom: t1 + 60, until: t2 });
 *   await startPrometheus({ openMetrics: h.text() });
 *
 * Output follows the OpenMetrics rules promtool enforces: one `# TYPE` line per family with all
 * its series together, each series' samples in increasing time, counter families declared
 * without the `_total` suffix, histogram points as ascending `le` buckets (with `+Inf`), then
 * `_count` and `_sum`, and a final `# EOF`. Checked with promtool in test/unit/metrics-openmetrics.test.ts.
 */

export type Labels = Record<string, string>;
/** A value as a function of time (epoch seconds). */
export type TimeFn = (t: number) => number;
export type Rate = number | TimeFn;
/** Spans [from, to) (epoch seconds) without samples: a scrape outage. */
export type Gaps = Array<[from: number, to: number]>;

/** Latency distribution of requests at time t: share of requests at or below `le` seconds, and the mean. */
export interface Latency {
  cdf(le: number, t: number): number;
  mean(t: number): number;
}

export interface HistoryOptions {
  start: number;
  end: number;
  /** Seconds between samples. Default 15. */
  step?: number;
}

/** `inside` while from < t <= to, else `outside`: a spike (rates count the interval ending at t). */
export function between(from: number, to: number, inside: number, outside: number): TimeFn {
  return (t) => (t > from && t <= to ? inside : outside);
}

/** Exponentially distributed latencies with the given mean (seconds), possibly varying in time. */
export function exponentialLatency(mean: number | TimeFn): Latency {
  const m = typeof mean === 'number' ? () => mean : mean;
  return { cdf: (le, t) => 1 - Math.exp(-le / m(t)), mean: m };
}

export const DEFAULT_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

type FamilyType = 'counter' | 'gauge' | 'histogram';

interface Family {
  type: FamilyType;
  /** Each entry is the full text of one series, samples in time order. */
  series: string[];
}

export class OpenMetricsHistory {
  private readonly families = new Map<string, Family>();
  readonly start: number;
  readonly end: number;
  readonly step: number;

  constructor(opts: HistoryOptions) {
    this.start = opts.start;
    this.end = opts.end;
    this.step = opts.step ?? 15;
    if (!(this.step > 0) || this.end < this.start) throw new RangeError('need start <= end and step > 0');
  }

  /** Sample instants (epoch seconds). */
  times(): number[] {
    const out: number[] = [];
    for (let t = this.start; t <= this.end; t += this.step) out.push(t);
    return out;
  }

  /** A counter named `..._total`, growing by `rate(t) * step` at each sample from `initial`. */
  counter(name: string, labels: Labels, rate: Rate, opts: { initial?: number; gaps?: Gaps } = {}): this {
    if (!name.endsWith('_total')) throw new Error(`counter ${name} must end in _total`);
    const r = asFn(rate);
    let value = opts.initial ?? 0;
    const lines: string[] = [];
    for (const t of this.times()) {
      if (t > this.start) value += r(t) * this.step;
      if (!inGaps(t, opts.gaps)) lines.push(sample(name, labels, value, t));
    }
    this.add(name.slice(0, -'_total'.length), 'counter', lines);
    return this;
  }

  /**
   * A counter named `..._total` whose value at each sample is `value(t)`, for counts drawn
   * outside (e.g. seeded random request counts, test/helpers/two-track-history.ts); the values
   * must not decrease, except where the counter resets.
   */
  counterValues(name: string, labels: Labels, value: TimeFn, opts: { gaps?: Gaps } = {}): this {
    if (!name.endsWith('_total')) throw new Error(`counter ${name} must end in _total`);
    const lines: string[] = [];
    for (const t of this.times()) if (!inGaps(t, opts.gaps)) lines.push(sample(name, labels, value(t), t));
    this.add(name.slice(0, -'_total'.length), 'counter', lines);
    return this;
  }

  /** A gauge; a function returning null leaves that instant without a sample. */
  gauge(name: string, labels: Labels, value: number | ((t: number) => number | null), opts: { gaps?: Gaps } = {}): this {
    const v = typeof value === 'number' ? () => value : value;
    const lines: string[] = [];
    for (const t of this.times()) {
      const x = v(t);
      if (x !== null && !inGaps(t, opts.gaps)) lines.push(sample(name, labels, x, t));
    }
    this.add(name, 'gauge', lines);
    return this;
  }

  /** A classic histogram of request latencies: `rate(t)` requests/s distributed by `latency`. */
  histogram(name: string, labels: Labels, opts: { rate: Rate; latency: Latency; buckets?: number[]; gaps?: Gaps }): this {
    const r = asFn(opts.rate);
    const bounds = [...(opts.buckets ?? DEFAULT_BUCKETS)].sort((a, b) => a - b);
    const counts = bounds.map(() => 0);
    let count = 0;
    let sum = 0;
    const lines: string[] = [];
    for (const t of this.times()) {
      if (t > this.start) {
        const n = r(t) * this.step;
        bounds.forEach((le, i) => (counts[i]! += n * opts.latency.cdf(le, t)));
        count += n;
        sum += n * opts.latency.mean(t);
      }
      if (inGaps(t, opts.gaps)) continue;
      bounds.forEach((le, i) => lines.push(sample(`${name}_bucket`, { ...labels, le: String(le) }, counts[i]!, t)));
      lines.push(sample(`${name}_bucket`, { ...labels, le: '+Inf' }, count, t));
      lines.push(sample(`${name}_count`, labels, count, t));
      lines.push(sample(`${name}_sum`, labels, sum, t));
    }
    this.add(name, 'histogram', lines);
    return this;
  }

  /**
   * An `ALERTS` series as Prometheus' rule evaluation writes it: value 1 with
   * `alertstate="pending"` during [pendingFrom, firingFrom) and `alertstate="firing"` during
   * [firingFrom, until). Sampled on the history's grid, so a firing span shorter than `step`
   * may get no sample.
   */
  alert(alertname: string, labels: Labels, span: { firingFrom: number; until: number; pendingFrom?: number }): this {
    const base = { alertname, ...labels };
    const pending: string[] = [];
    const firing: string[] = [];
    for (const t of this.times()) {
      if (span.pendingFrom !== undefined && t >= span.pendingFrom && t < span.firingFrom) {
        pending.push(sample('ALERTS', { ...base, alertstate: 'pending' }, 1, t));
      }
      if (t >= span.firingFrom && t < span.until) firing.push(sample('ALERTS', { ...base, alertstate: 'firing' }, 1, t));
    }
    if (pending.length > 0) this.add('ALERTS', 'gauge', pending);
    if (firing.length > 0) this.add('ALERTS', 'gauge', firing);
    return this;
  }

  /** The OpenMetrics document, ending with `# EOF`. */
  text(): string {
    const out: string[] = [];
    for (const [name, family] of this.families) {
      out.push(`# TYPE ${name} ${family.type}`);
      for (const s of family.series) if (s !== '') out.push(s);
    }
    out.push('# EOF', '');
    return out.join('\n');
  }

  private add(family: string, type: FamilyType, lines: string[]): void {
    const existing = this.families.get(family);
    if (existing && existing.type !== type) throw new Error(`metric family ${family} is already a ${existing.type}`);
    const f = existing ?? { type, series: [] };
    f.series.push(lines.join('\n'));
    this.families.set(family, f);
  }
}

function asFn(rate: Rate): TimeFn {
  return typeof rate === 'number' ? () => rate : rate;
}

function inGaps(t: number, gaps: Gaps | undefined): boolean {
  return gaps?.some(([from, to]) => t >= from && t < to) ?? false;
}

function sample(name: string, labels: Labels, value: number, t: number): string {
  const pairs = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`);
  const sel = pairs.length > 0 ? `{${pairs.join(',')}}` : '';
  return `${name}${sel} ${formatValue(value)} ${t}`;
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

/** promtool's block length: 2 h, aligned to multiples of 2 h since the epoch. */
export const BLOCK_SECONDS = 7200;

/**
 * Splits an OpenMetrics document into at most `parts` documents covering contiguous runs of
 * 2 h blocks, each valid on its own (family headers repeated, `# EOF` at the end). Used by
 * startPrometheus to run several promtool imports side by side: promtool 2.42 spends ~0.2 s
 * of mostly idle time per 2 h block, so a week of history is much faster imported in parallel.
 * Every sample must carry a timestamp.
 */
export function splitByBlocks(text: string, parts: number): string[] {
  const lines = text.split('\n');
  const buckets = lines.map((line) => (line === '' || line.startsWith('#') ? undefined : Math.floor(sampleTime(line) / BLOCK_SECONDS)));
  const distinct = [...new Set(buckets.filter((b): b is number => b !== undefined))].sort((a, b) => a - b);
  const n = Math.max(1, Math.min(parts, distinct.length));
  const groupOf = new Map(distinct.map((b, i) => [b, Math.floor((i * n) / distinct.length)]));
  const out: string[][] = Array.from({ length: n }, () => []);
  const headerShown: Array<string[] | undefined> = new Array(n).fill(undefined);
  let header: string[] = [];
  let headerFresh = false;
  lines.forEach((line, i) => {
    if (line === '' || line === '# EOF') return;
    if (line.startsWith('#')) {
      if (!headerFresh) header = [];
      header.push(line);
      headerFresh = true;
      return;
    }
    headerFresh = false;
    const g = groupOf.get(buckets[i]!)!;
    if (headerShown[g] !== header) {
      out[g]!.push(...header);
      headerShown[g] = header;
    }
    out[g]!.push(line);
  });
  return out.map((group) => `${group.join('\n')}\n# EOF\n`);
}

/** The timestamp (epoch seconds) of one sample line; throws when it has none. */
function sampleTime(line: string): number {
  let i = line.indexOf('{');
  const space = line.indexOf(' ');
  if (i >= 0 && (space < 0 || i < space)) {
    let quoted = false;
    for (i += 1; i < line.length; i++) {
      const c = line[i];
      if (quoted && c === '\\') i++;
      else if (c === '"') quoted = !quoted;
      else if (!quoted && c === '}') break;
    }
  } else i = space - 1;
  const [, ts] = line.slice(i + 1).trim().split(/\s+/);
  const t = Number(ts);
  if (ts === undefined || !Number.isFinite(t)) throw new Error(`OpenMetrics sample without a timestamp: ${line}`);
  return t;
}
