/**
 * Two-track histories for the judges' scenarios: a canary and a stable track of one app, each
 * with its own request rate, error rate and (optionally) latency over time, written into an
 * OpenMetricsHistory as
 *
 *   http_requests_total{app, track="canary"|"stable", code="200"|"500"}   (counters)
 *   http_request_duration_seconds_bucket{app, track, le}                  (classic histogram)
 *
 * Request counts are drawn, not averaged: at each sample the track gets N ~ Poisson(rate x step)
 * requests of which E ~ Binomial(N, errorRate) fail, from a PRNG seeded by `seed` and the
 * series' labels (the judges benchmark's sfc32 and exact Poisson sampler, judge-histories.ts), so the same seed gives the same history and the sequential test sees the
 * integer counts it would see in production. Latency means get seeded multiplicative noise per
 * sample (the histogram's counts are the expected ones), so the p90 series of two identical
 * tracks differ point by point as real ones do.
 *
 * The returned TwoTrackLedger knows every sample it wrote and computes `increase(...)` over a
 * window the way Prometheus 2.42 does (extrapolation included), so a test can state the counts a
 * judge must have seen without asking Prometheus.
 *
 *   const h = new OpenMetricsHistory({ start, end, step: 30 });
 *   const ledger = twoTrackTraffic(h, { app: 'api', seed: 7,
 *     canary: { rate: 20, errorRate: between(t1, t2, 0.05, 0.01) },
 *     stable: { rate: 180, errorRate: between(t1, t2, 0.05, 0.01) } });
 *   ledger.increase('canary', 'bad', atMs, windowMs);  // what sum(increase(...{code=~"5.."}[w])) answers
 */
import { poisson, seededRandom, seedOf } from '../../src/devtools/judge-histories.js';
import { exponentialLatency, type OpenMetricsHistory, type Rate, type TimeFn } from './openmetrics.js';

export type Track = 'canary' | 'stable';

export interface TrackProfile {
  /** Requests per second over the step ending at t (epoch seconds). */
  rate: Rate;
  /** Share of those requests that fail (code 500). */
  errorRate: Rate;
  /** Mean latency in seconds (exponentially distributed requests); no histogram without it. */
  latencyMean?: Rate;
}

export interface TwoTrackOptions {
  /** The `app` label of every series, so that several apps share one Prometheus. */
  app: string;
  seed: number;
  canary: TrackProfile;
  stable: TrackProfile;
  /** Relative standard deviation of each sample's latency mean. Default 0.05. */
  latencyNoise?: number;
  /** Histogram buckets (seconds). Default: 25 ms apart up to 0.5 s, then coarser. */
  buckets?: number[];
}

export const LATENCY_BUCKETS = [0.025, 0.05, 0.075, 0.1, 0.125, 0.15, 0.175, 0.2, 0.225, 0.25, 0.275, 0.3, 0.325, 0.35, 0.375, 0.4, 0.45, 0.5, 0.75, 1, 2.5];

/** The cumulative counts written for one track, one entry per sample instant. */
interface TrackCounts {
  bad: number[];
  ok: number[];
}

export class TwoTrackLedger {
  constructor(
    /** Sample instants, epoch seconds. */
    readonly times: readonly number[],
    private readonly counts: Record<Track, TrackCounts>,
  ) {}

  /** The cumulative count of `track`'s failed (`bad`) or all (`total`) requests at sample instant `t` (epoch seconds). */
  cumulative(track: Track, what: 'bad' | 'total', t: number): number {
    const i = this.times.indexOf(t);
    if (i < 0) throw new Error(`${t} is not a sample instant`);
    const c = this.counts[track];
    return what === 'bad' ? c.bad[i]! : c.bad[i]! + c.ok[i]!;
  }

  /**
   * What `sum(increase(http_requests_total{track=..., code=~"5.."}[w]))` (`bad`) or
   * `sum(increase(http_requests_total{track=...}[w]))` (`total`) answers at `atMs`: the sum
   * over the series of Prometheus 2.42's increase (see `increaseOf`). null when a series has
   * fewer than 2 samples in the window.
   */
  increase(track: Track, what: 'bad' | 'total', atMs: number, windowMs: number): number | null {
    const c = this.counts[track];
    const series = what === 'bad' ? [c.bad] : [c.ok, c.bad];
    const parts = series.map((s) => increaseOf(this.times, s, atMs / 1000, windowMs / 1000));
    return parts.some((p) => p === null) ? null : parts.reduce<number>((a, p) => a + p!, 0);
  }
}

/**
 * `increase(series[w])` at `at` (seconds) as Prometheus 2.42 computes it: the samples in
 * [at - w, at], their delta extrapolated towards the window's edges (by at most half the
 * average sample interval where an edge is further than 110% of it, and never to before the
 * counter's zero). null with fewer than 2 samples.
 */
function increaseOf(times: readonly number[], series: number[], at: number, w: number): number | null {
  const from = at - w;
  const idx = times.flatMap((t, i) => (t >= from && t <= at ? [i] : []));
  if (idx.length < 2) return null;
  const first = idx[0]!;
  const last = idx.at(-1)!;
  const delta = series[last]! - series[first]!;
  const sampled = times[last]! - times[first]!;
  const average = sampled / (idx.length - 1);
  let toStart = times[first]! - from;
  const toEnd = at - times[last]!;
  if (delta > 0 && series[first]! >= 0) toStart = Math.min(toStart, sampled * (series[first]! / delta));
  const threshold = average * 1.1;
  let interval = sampled;
  interval += toStart < threshold ? toStart : average / 2;
  interval += toEnd < threshold ? toEnd : average / 2;
  return delta * (interval / sampled);
}

/** Adds both tracks' series of `opts.app` to `h` and returns what was written. */
export function twoTrackTraffic(h: OpenMetricsHistory, opts: TwoTrackOptions): TwoTrackLedger {
  const times = h.times();
  const counts = { canary: drawCounts(times, h.step, opts.canary, prng(opts.seed, `${opts.app}/canary`)), stable: drawCounts(times, h.step, opts.stable, prng(opts.seed, `${opts.app}/stable`)) };
  for (const track of ['canary', 'stable'] as const) {
    const c = counts[track];
    const at = (series: number[]) => (t: number) => series[(t - h.start) / h.step]!;
    h.counterValues('http_requests_total', { app: opts.app, track, code: '200' }, at(c.ok)).counterValues('http_requests_total', { app: opts.app, track, code: '500' }, at(c.bad));
  }
  for (const track of ['canary', 'stable'] as const) {
    const profile = opts[track];
    if (profile.latencyMean === undefined) continue;
    const mean = asFn(profile.latencyMean);
    const random = prng(opts.seed, `${opts.app}/${track}/latency`);
    const sd = opts.latencyNoise ?? 0.05;
    const noise = new Map(times.map((t) => [t, Math.max(0.2, 1 + sd * normal(random))]));
    h.histogram(
      'http_request_duration_seconds',
      { app: opts.app, track },
      { rate: profile.rate, latency: exponentialLatency((t) => mean(t) * (noise.get(t) ?? 1)), buckets: opts.buckets ?? LATENCY_BUCKETS },
    );
  }
  return new TwoTrackLedger(times, counts);
}

function drawCounts(times: number[], step: number, profile: TrackProfile, random: () => number): TrackCounts {
  const rate = asFn(profile.rate);
  const errorRate = asFn(profile.errorRate);
  const bad: number[] = [];
  const ok: number[] = [];
  let b = 0;
  let o = 0;
  times.forEach((t, i) => {
    if (i > 0) {
      const requests = poisson(rate(t) * step, random);
      const failed = binomial(requests, errorRate(t), random);
      b += failed;
      o += requests - failed;
    }
    bad.push(b);
    ok.push(o);
  });
  return { bad, ok };
}

function asFn(r: Rate): TimeFn {
  return typeof r === 'number' ? () => r : r;
}

/** One stream per series: the judges benchmark's PRNG, seeded by the seed and the series' name. */
function prng(seed: number, name: string): () => number {
  return seededRandom(seedOf(`${seed}/${name}`));
}

/** A standard normal draw (Box-Muller). */
function normal(random: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

/** Binomial(n, p): n Bernoulli draws up to 1000 trials, the Poisson or normal approximation beyond. */
function binomial(n: number, p: number, random: () => number): number {
  if (!(p > 0) || n === 0) return 0;
  if (p >= 1) return n;
  if (n <= 1000) {
    let k = 0;
    for (let i = 0; i < n; i++) if (random() < p) k++;
    return k;
  }
  const mean = n * p;
  const k = mean < 30 ? poisson(mean, random) : Math.round(mean + Math.sqrt(mean * (1 - p)) * normal(random));
  return Math.min(n, Math.max(0, k));
}
