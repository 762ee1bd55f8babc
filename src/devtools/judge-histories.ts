/**
 * Generated request histories with a known truth, for the judges benchmark
 * (bench/judges.bench.mjs, docs/choosing-a-judge.md): one phase of a canary, per 5 s step,
 * Poisson request counts per track (the canary gets `canaryRps`, the stable track the rest of
 * the traffic at the phase's split) and Poisson error counts at each track's error rate
 * (Poisson thinning: errors and successes drawn independently is the same as binomial errors
 * among Poisson requests). Everything comes from a seeded PRNG, so a (scenario, seed) pair is
 * one exact history.
 */

export const STEP_MS = 5_000;

/** What happens during the phase; only `regression` makes the canary worse than stable. */
export type Hardship =
  | { kind: 'none' }
  /** The canary's error rate is multiplied by `factor` from a random instant of the phase's first half. */
  | { kind: 'regression'; factor: number }
  /** Both tracks' error rates x`factor` for `durationMs`, starting at a random instant. */
  | { kind: 'incident'; factor: number; durationMs: number }
  /** Traffic and error rate of both tracks swing together by x`factor` (a raised cosine over the phase, random phase). */
  | { kind: 'diurnal'; factor: number }
  /** The canary gets no requests for `durationMs` from a random instant (the stable track is unchanged). */
  | { kind: 'canary-stop'; durationMs: number };

export interface Scenario {
  /** Error rate of both tracks before any hardship (e.g. 0.01). */
  baseRate: number;
  /** The canary's requests per second. */
  canaryRps: number;
  /** The canary's share of the traffic, percent (the plan's phase weight). */
  split: number;
  phaseMs: number;
  hardship: Hardship;
}

/**
 * Cumulative counters at each step boundary: index i is the count over the first i steps
 * (index 0 = the phase start, 0 everywhere), like a counter scraped every 5 s.
 */
export interface History {
  steps: number;
  canaryTotal: Float64Array;
  canaryBad: Float64Array;
  stableTotal: Float64Array;
  stableBad: Float64Array;
  /** Offset from the phase start (ms) where the regression begins, or null when there is none. */
  onsetMs: number | null;
}

/** sfc32, seeded through splitmix32: a small, fast PRNG with good statistical quality. */
export function seededRandom(seed: number): () => number {
  let s = seed >>> 0;
  const split = () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
  let a = split();
  let b = split();
  let c = split();
  let d = split();
  return () => {
    const t = (((a + b) >>> 0) + d) >>> 0;
    d = (d + 1) >>> 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) >>> 0;
    c = ((c << 21) | (c >>> 11)) >>> 0;
    c = (c + t) >>> 0;
    return t / 4294967296;
  };
}

/** A 32-bit seed from text (FNV-1a), so a cell's name and a run index give its seed. */
export function seedOf(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** ln(k!) for the Poisson sampler: a table up to 255, Stirling's series beyond. */
const LOG_FACTORIAL = (() => {
  const t = new Float64Array(256);
  for (let k = 2; k < 256; k++) t[k] = t[k - 1]! + Math.log(k);
  return t;
})();

function logFactorial(k: number): number {
  if (k < 256) return LOG_FACTORIAL[k]!;
  const x = k + 1;
  return (x - 0.5) * Math.log(x) - x + 0.5 * Math.log(2 * Math.PI) + 1 / (12 * x) - 1 / (360 * x ** 3);
}

/**
 * A Poisson variate of mean `mean`: multiplication (Knuth) below 10, Hörmann's transformed
 * rejection with squeeze (PTRS, 1993) from 10 on; both exact.
 */
export function poisson(mean: number, random: () => number): number {
  if (mean <= 0) return 0;
  if (mean < 10) {
    const limit = Math.exp(-mean);
    let k = 0;
    let p = random();
    while (p > limit) {
      k++;
      p *= random();
    }
    return k;
  }
  const slam = Math.sqrt(mean);
  const loglam = Math.log(mean);
  const b = 0.931 + 2.53 * slam;
  const a = -0.059 + 0.02483 * b;
  const invalpha = 1.1239 + 1.1328 / (b - 3.4);
  const vr = 0.9277 - 3.6224 / (b - 2);
  for (;;) {
    const u = random() - 0.5;
    const v = random();
    const us = 0.5 - Math.abs(u);
    const k = Math.floor(((2 * a) / us + b) * u + mean + 0.43);
    if (us >= 0.07 && v <= vr) return k;
    if (k < 0 || (us < 0.013 && v > us)) continue;
    if (Math.log(v) + Math.log(invalpha) - Math.log(a / (us * us) + b) <= -mean + k * loglam - logFactorial(k)) return k;
  }
}

/** The history of one run of `scenario` with PRNG seed `seed`. */
export function generateHistory(scenario: Scenario, seed: number): History {
  const random = seededRandom(seed);
  const steps = Math.round(scenario.phaseMs / STEP_MS);
  const h = scenario.hardship;
  const stableRps = (scenario.canaryRps * (100 - scenario.split)) / scenario.split;
  // The random instant of the hardship, drawn first so it does not depend on the counts.
  const at = random();
  const onsetMs = h.kind === 'regression' ? Math.floor((at * scenario.phaseMs) / 2 / STEP_MS) * STEP_MS : null;
  const eventStart = h.kind === 'incident' || h.kind === 'canary-stop' ? Math.floor((at * (scenario.phaseMs - h.durationMs)) / STEP_MS) * STEP_MS : 0;
  const swingPhase = at;

  const history: History = {
    steps,
    canaryTotal: new Float64Array(steps + 1),
    canaryBad: new Float64Array(steps + 1),
    stableTotal: new Float64Array(steps + 1),
    stableBad: new Float64Array(steps + 1),
    onsetMs,
  };
  const seconds = STEP_MS / 1000;
  for (let i = 1; i <= steps; i++) {
    // The step (t - 5 s, t]; its rates are those at its start.
    const t = (i - 1) * STEP_MS;
    let load = 1;
    let rate = scenario.baseRate;
    let canaryShare = 1;
    let canaryWorse = 1;
    switch (h.kind) {
      case 'regression':
        if (t >= onsetMs!) canaryWorse = h.factor;
        break;
      case 'incident':
        if (t >= eventStart && t < eventStart + h.durationMs) rate *= h.factor;
        break;
      case 'diurnal': {
        const swing = 1 + ((h.factor - 1) * (1 - Math.cos(2 * Math.PI * (t / scenario.phaseMs + swingPhase)))) / 2;
        load = swing;
        rate *= swing;
        break;
      }
      case 'canary-stop':
        if (t >= eventStart && t < eventStart + h.durationMs) canaryShare = 0;
        break;
      case 'none':
        break;
    }
    const canaryRate = Math.min(1, rate * canaryWorse);
    const stableRate = Math.min(1, rate);
    const canaryRequests = scenario.canaryRps * load * canaryShare * seconds;
    const stableRequests = stableRps * load * seconds;
    const cBad = poisson(canaryRequests * canaryRate, random);
    const cGood = poisson(canaryRequests * (1 - canaryRate), random);
    const sBad = poisson(stableRequests * stableRate, random);
    const sGood = poisson(stableRequests * (1 - stableRate), random);
    history.canaryBad[i] = history.canaryBad[i - 1]! + cBad;
    history.canaryTotal[i] = history.canaryTotal[i - 1]! + cBad + cGood;
    history.stableBad[i] = history.stableBad[i - 1]! + sBad;
    history.stableTotal[i] = history.stableTotal[i - 1]! + sBad + sGood;
  }
  return history;
}
