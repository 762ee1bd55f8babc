/**
 * The sequential test of error counts (`counts` + `test: sequential`, analysis.md section 3):
 * is the canary's error rate r_c above (1 + tolerance) x the baseline's r_b?
 *
 * The e-process. Given the phase's cumulative counts (x canary bad of n_c, y baseline bad of
 * n_b), each of the k = x + y bad events is the canary's with probability
 * q = n_c r_c / (n_c r_c + n_b r_b). "No regression beyond the tolerance" is q <= q0 with
 * q0 = n_c (1 + tolerance) / (n_c (1 + tolerance) + n_b). The e-value is the likelihood ratio of
 * the events, mixed over a uniform prior on the alternative (q0, 1), against q0:
 *
 *     E = [ integral_q0^1 q^x (1-q)^y dq / (1 - q0) ] / [ q0^x (1-q0)^y ]
 *       = B(x+1, y+1) (1 - I_q0(x+1, y+1)) / ((1 - q0) q0^x (1-q0)^y)
 *
 * computed in logs (log-beta and the regularized incomplete beta of @stdlib; where the tail of
 * I underflows, deep in it, its continued fraction is evaluated in logs instead).
 *
 * Why it is anytime-valid. Under any q <= q0 each event multiplies the likelihood ratio of a
 * fixed alternative q' > q0 by a factor whose expectation is at most 1, so the ratio, and the
 * mixture of ratios E, is a nonnegative supermartingale starting at 1. Ville's inequality bounds
 * the probability that it EVER reaches 1/alpha by alpha: the test may be evaluated after every
 * request, at every guard tick, and its false-rollback probability per phase stays <= alpha.
 * Unequal splits (5/95) do not break this: the split enters only through q0 (the share of bad
 * events a healthy canary is entitled to), not through the validity argument. Conditioning on the
 * bad events also makes the test indifferent to the base rate (a global incident that raises both
 * tracks' rates leaves q unchanged). The method class is Lindon & Malek, "Anytime-valid
 * inference for multinomial count data" (NeurIPS 2022), as used for Netflix's canary counts.
 *
 * `require: proof` uses the mirror image: the null r_c >= (1 + tolerance) r_b (q >= q0), the
 * prior uniform on (0, q0): Eproof = B(x+1, y+1) I_q0(x+1, y+1) / (q0 q0^x (1-q0)^y). It
 * reaching 1/alpha proves "not worse than the tolerance"; until then the verdict is hold.
 *
 * The interval of the rate ratio rho = r_c / r_b inverts the two one-sided tests over the
 * tolerance, each at alpha/2: with q0(rho) = n_c rho / (n_c rho + n_b), the lower limit is the
 * smallest rho whose regression test (tolerance rho - 1) does not reject, the upper limit the
 * largest rho whose mirror test does not reject. Both confidence sequences hold at every look
 * with probability 1 - alpha/2 each, so the interval covers rho at every look with probability
 * 1 - alpha. E falls as q0 rises (substituting q = q0 + (1 - q0) u, E is the mean over u in (0,1)
 * of (1 + u (1/q0 - 1))^x (1 - u)^y) and Eproof rises with q0 (q = q0 u: the mean of
 * u^x (1 + q0 (1 - u) / (1 - q0))^y), so each limit is the one crossing of a monotone function
 * of log(rho), found by Newton steps (the derivatives are closed forms of E) from the normal
 * approximation, safeguarded by bisection. A limit that does not exist (the lower one without
 * canary errors: 0; the upper one without baseline errors: unbounded, null) is not searched.
 * Cost: an e-value takes 1-3 microseconds, the interval about 35 (4-5 e-values per limit), with
 * a load average of 15 on 2 cores; so the guard, which judges every few seconds and records
 * only what does not pass, asks for the interval of a failing (or nodata) judgement only
 * (`intervalWhenPassing: false`) and adds it with `ratioInterval` to a passing one it records.
 */
import betainc from '@stdlib/math-base-special-betainc';
import betaln from '@stdlib/math-base-special-betaln';
import type { Verdict } from '../core/record.js';

/** The phase's cumulative counts: canary bad and total, baseline bad and total. */
export interface SequentialCounts {
  x: number;
  n_c: number;
  y: number;
  n_b: number;
}

export interface SequentialSettings {
  alpha: number;
  /** A regression is a canary error rate above (1 + tolerance) x the baseline's (a fraction). */
  tolerance: number;
  require: 'no-regression' | 'proof';
  /** Canary requests in the phase below this: nodata. */
  minSamples: number;
}

/** A ratio's interval; null = unbounded on that side. */
export interface RatioInterval {
  lower: number | null;
  upper: number | null;
}

export interface SequentialJudgement {
  verdict: Verdict;
  /** The short human reason, e.g. `e 143 >= 100: canary errors 2.1% (41/1,950) vs ...`. */
  why: string;
  /** The integer counts judged (rounded, clamped to their totals). */
  x: number;
  n_c: number;
  y: number;
  n_b: number;
  canaryRate: number | null;
  baselineRate: number | null;
  /** canaryRate / baselineRate; null when either rate is missing or the baseline's is 0. */
  ratio: number | null;
  /** The e-value against "no regression" (1 when there is nothing to compare), capped at Number.MAX_VALUE. */
  e: number;
  logE: number;
  /** `require: proof` only: the e-value against "a regression". */
  eProof?: number;
  /** 1 / alpha. */
  threshold: number;
  /** The null's share of bad events for the canary; null without traffic on either track. */
  q0: number | null;
  /**
   * The anytime-valid 1 - alpha interval of r_c / r_b; null when it cannot be computed (no
   * errors); undefined when it was not asked for (a passing or holding judgement under
   * `intervalWhenPassing: false`: `ratioInterval` of the counts gives it).
   */
  interval?: RatioInterval | null;
}

export interface SequentialOptions {
  /**
   * False: a judgement that passes or holds leaves out its interval (`interval` undefined, its
   * `why` without it). The interval is most of the test's cost and only a record shows it: the
   * guard's passing evaluations are not recorded. Default true.
   */
  intervalWhenPassing?: boolean;
}

export function sequentialJudgement(counts: SequentialCounts, s: SequentialSettings, options: SequentialOptions = {}): SequentialJudgement {
  const n_c = asCount(counts.n_c);
  const n_b = asCount(counts.n_b);
  const x = Math.min(asCount(counts.x), n_c);
  const y = Math.min(asCount(counts.y), n_b);
  const canaryRate = n_c > 0 ? x / n_c : null;
  const baselineRate = n_b > 0 ? y / n_b : null;
  const ratio = canaryRate !== null && baselineRate !== null && baselineRate > 0 ? canaryRate / baselineRate : null;
  const proof = s.require === 'proof';
  // Without bad events, or without traffic on a track to compare, there is no evidence: E = 1.
  let logE = 0;
  let logEProof = 0;
  let q0: number | null = null;
  if (n_c > 0 && n_b > 0) {
    const scaled = n_c * (1 + s.tolerance);
    q0 = scaled / (scaled + n_b);
    if (x + y > 0) {
      const p0 = n_b / (scaled + n_b);
      logE = logRegressionE(x, y, q0, p0);
      if (proof) logEProof = logProofE(x, y, q0, p0);
    }
  }
  const verdict = verdictOf({ x, n_c, y, n_b }, s, logE, logEProof);
  const passing = verdict === 'pass' || verdict === 'hold';
  const asked = options.intervalWhenPassing !== false || !passing;
  // Without bad events, or without traffic on a track, there is no interval to compute.
  const interval = asked ? (n_c > 0 && n_b > 0 ? ratioInterval(x, n_c, y, n_b, s.alpha) : null) : undefined;
  const judgement: SequentialJudgement = {
    verdict,
    why: reasonOf(verdict, { x, n_c, y, n_b }, s, logE, logEProof, ratio, interval ?? null),
    x,
    n_c,
    y,
    n_b,
    canaryRate,
    baselineRate,
    ratio,
    e: cappedExp(logE),
    logE,
    threshold: 1 / s.alpha,
    q0,
  };
  if (interval !== undefined) judgement.interval = interval;
  if (proof) judgement.eProof = cappedExp(logEProof);
  return judgement;
}

/** The verdict of the counts (integers) and their e-values. */
function verdictOf({ x, n_c, y, n_b }: SequentialCounts, s: SequentialSettings, logE: number, logEProof: number): Verdict {
  if (n_c < s.minSamples || n_c === 0 || n_b === 0) return 'nodata';
  const proof = s.require === 'proof';
  if (x + y === 0) return proof ? 'hold' : 'pass';
  const logThreshold = -Math.log(s.alpha);
  if (logE >= logThreshold) return 'fail';
  if (!proof) return 'pass';
  return logEProof >= logThreshold ? 'pass' : 'hold';
}

/** Why the counts got `verdict` (the interval shown where there is one). */
function reasonOf(
  verdict: Verdict,
  { x, n_c, y, n_b }: SequentialCounts,
  s: SequentialSettings,
  logE: number,
  logEProof: number,
  ratio: number | null,
  interval: RatioInterval | null,
): string {
  if (n_c < s.minSamples) return `${n_c} canary requests in the phase, ${s.minSamples} needed`;
  if (n_c === 0) return 'no canary requests in the phase';
  if (n_b === 0) return 'no baseline requests in the phase to compare with';
  const logThreshold = -Math.log(s.alpha);
  if (x + y === 0) {
    const counted = `${thousands(x)}/${thousands(n_c)} vs ${thousands(y)}/${thousands(n_b)}`;
    if (verdict === 'pass') return `no errors on either track (${counted}): e 1 < ${eText(logThreshold)}`;
    return `hold: no errors on either track yet (${counted}): without errors nothing can prove the canary ${withinText(s.tolerance)}, proof e 1 < ${eText(logThreshold)}`;
  }
  const evidence = `${ratesText(x, n_c, y, n_b)}${ratioText(ratio, interval)}`;
  if (verdict === 'fail') return `e ${eText(logE)} >= ${eText(logThreshold)}: ${evidence}`;
  if (s.require !== 'proof') return `e ${eText(logE)} < ${eText(logThreshold)}: regression not proven: ${evidence}`;
  if (verdict === 'pass') return `proof e ${eText(logEProof)} >= ${eText(logThreshold)}: ${notWorseText(s.tolerance)}: ${evidence}`;
  return `hold: not yet proven ${withinText(s.tolerance)} (proof e ${eText(logEProof)} < ${eText(logThreshold)}): ${evidence}`;
}

/** log E against "no regression" (q <= q0), for x canary and y baseline bad events. */
export function logRegressionEValue(x: number, y: number, q0: number): number {
  return logRegressionE(x, y, q0, 1 - q0);
}

/** log Eproof against "a regression" (q >= q0), the mirror image of logRegressionEValue. */
export function logProofEValue(x: number, y: number, q0: number): number {
  return logProofE(x, y, q0, 1 - q0);
}

/**
 * The anytime-valid 1 - alpha interval of the rate ratio r_c / r_b (see the module comment),
 * for integer counts with n_c, n_b > 0; null without bad events on either track.
 */
export function ratioInterval(x: number, n_c: number, y: number, n_b: number, alpha: number): RatioInterval | null {
  if (x + y === 0) return null;
  const logLimit = Math.log(2 / alpha);
  const shift = Math.log(n_c / n_b);
  // q0(rho) and 1 - q0(rho) as the logistic of log(rho) + log(n_c / n_b), both kept exact.
  const q0At = (t: number): number => 1 / (1 + Math.exp(-(t + shift)));
  const p0At = (t: number): number => 1 / (1 + Math.exp(t + shift));
  // Start each search at its normal approximation: the (smoothed) point estimate of log(rho)
  // -/+ sqrt(2 log(2/alpha)) standard errors.
  const estimate = Math.log((x + 0.5) / (y + 0.5)) - shift;
  const spread = Math.sqrt(2 * logLimit * (1 / (x + 0.5) + 1 / (y + 0.5)));
  // d log E / d t = q0 (1 + y - 1/E) - x (1 - q0), and 1/E <= y + 1 (E falls to 1/(y+1)).
  const lower =
    x === 0
      ? 0
      : Math.exp(
          increasingRoot((t) => {
            const q0 = q0At(t);
            const p0 = p0At(t);
            const logE = logRegressionE(x, y, q0, p0);
            return [logLimit - logE, x * p0 - q0 * (1 + y - Math.exp(-logE))];
          }, estimate - spread),
        );
  // d log Eproof / d t = (1 - q0) (1/Eproof - 1 - x) + y q0, and 1/Eproof <= x + 1.
  const upper =
    y === 0
      ? null
      : Math.exp(
          increasingRoot((t) => {
            const q0 = q0At(t);
            const p0 = p0At(t);
            const logEProof = logProofE(x, y, q0, p0);
            return [logEProof - logLimit, p0 * (Math.exp(-logEProof) - 1 - x) + y * q0];
          }, estimate + spread),
        );
  return { lower, upper };
}

/** log(rho) bracket of the interval search: rho in e^-600 .. e^600 keeps q0 and 1 - q0 above 0. */
const LOG_RATIO_RANGE = 600;
/** The search stops when its last step in log(rho) is this small (a relative error of 1e-9 in rho). */
const LOG_RATIO_PRECISION = 1e-9;
const ROOT_MAX_STEPS = 200;

/**
 * The root of an increasing function of t (negative at -LOG_RATIO_RANGE, positive at
 * +LOG_RATIO_RANGE) given with its derivative: Newton steps from `start`, a bisection of the
 * bracket known so far whenever a Newton step would leave it or not halve the step before it.
 */
function increasingRoot(valueAndSlope: (t: number) => [number, number], start: number): number {
  let below = -LOG_RATIO_RANGE;
  let above = LOG_RATIO_RANGE;
  let t = Math.min(Math.max(start, below), above);
  let step = above - below;
  let previousStep = step;
  for (let i = 0; i < ROOT_MAX_STEPS; i++) {
    const [value, slope] = valueAndSlope(t);
    if (value === 0) return t;
    if (value < 0) below = t;
    else above = t;
    const newton = t - value / slope;
    previousStep = step;
    if (slope > 0 && newton > below && newton < above && Math.abs(2 * value) <= Math.abs(previousStep * slope)) {
      step = t - newton;
      t = newton;
    } else {
      step = (above - below) / 2;
      t = below + step;
    }
    if (Math.abs(step) < LOG_RATIO_PRECISION) break;
  }
  return t;
}

// p0 = 1 - q0, passed separately so that a q0 within rounding of 1 keeps an exact 1 - q0.
function logRegressionE(x: number, y: number, q0: number, p0: number): number {
  return betaln(x + 1, y + 1) + logIncompleteBeta(q0, p0, x + 1, y + 1, true) - Math.log(p0) - x * Math.log(q0) - y * Math.log(p0);
}

function logProofE(x: number, y: number, q0: number, p0: number): number {
  return betaln(x + 1, y + 1) + logIncompleteBeta(q0, p0, x + 1, y + 1, false) - Math.log(q0) - x * Math.log(q0) - y * Math.log(p0);
}

/** Below this the incomplete beta's result loses precision (subnormal) or underflows to 0. */
const TAIL_UNDERFLOW = 1e-280;

/**
 * log I_q(a, b), or with `upper` log(1 - I_q(a, b)), for q in (0, 1) and p = 1 - q. @stdlib's
 * betainc is exact to double precision down to about 1e-300; deeper in a tail (e.g. x = 5000,
 * y = 10, q0 = 0.5), that tail is computed from its continued fraction in logs, using
 * 1 - I_q(a, b) = I_p(b, a) for the upper one.
 */
function logIncompleteBeta(q: number, p: number, a: number, b: number, upper: boolean): number {
  const tail = betainc(q, a, b, true, upper);
  if (tail > TAIL_UNDERFLOW) return Math.log(tail);
  return upper ? logLowerTail(p, q, b, a) : logLowerTail(q, p, a, b);
}

/** log I_q(a, b) = a log q + b log p - log B(a, b) - log a + log(continued fraction), p = 1 - q. */
function logLowerTail(q: number, p: number, a: number, b: number): number {
  return a * Math.log(q) + b * Math.log(p) - betaln(a, b) - Math.log(a) + Math.log(betaContinuedFraction(q, a, b));
}

const FRACTION_EPSILON = 1e-15;
const FRACTION_TINY = 1e-300;
const FRACTION_MAX_TERMS = 10_000;

/**
 * The continued fraction of I_q(a, b) (modified Lentz), which converges fast for
 * q < (a + 1) / (a + b + 2): always the case deep in the lower tail, where it is used.
 */
function betaContinuedFraction(q: number, a: number, b: number): number {
  const nonzero = (v: number): number => (Math.abs(v) < FRACTION_TINY ? FRACTION_TINY : v);
  let c = 1;
  let d = 1 / nonzero(1 - ((a + b) * q) / (a + 1));
  let h = d;
  for (let m = 1; m <= FRACTION_MAX_TERMS; m++) {
    const even = (m * (b - m) * q) / ((a + 2 * m - 1) * (a + 2 * m));
    d = 1 / nonzero(1 + even * d);
    c = nonzero(1 + even / c);
    h *= d * c;
    const odd = (-(a + m) * (a + b + m) * q) / ((a + 2 * m) * (a + 2 * m + 1));
    d = 1 / nonzero(1 + odd * d);
    c = nonzero(1 + odd / c);
    const step = d * c;
    h *= step;
    if (Math.abs(step - 1) < FRACTION_EPSILON) break;
  }
  return h;
}

/**
 * Prometheus' increase extrapolates: a count is the nearest integer >= 0. (Counts are finite:
 * a query without a number is the caller's nodata and never reaches the test.)
 */
function asCount(v: number): number {
  return v > 0 ? Math.round(v) : 0;
}

function cappedExp(logValue: number): number {
  return Math.min(Math.exp(logValue), Number.MAX_VALUE);
}

/** An e-value from its log: `0.41`, `3.2`, `143`, `12345`, `4.1e12` (also past Number.MAX_VALUE). */
function eText(logValue: number): string {
  const value = Math.exp(logValue);
  if (value < 1000) return String(Number(value.toPrecision(3)));
  if (value < 1e6) return String(Math.round(value));
  const exponent = Math.floor(logValue / Math.LN10);
  return `${Math.exp(logValue - exponent * Math.LN10).toFixed(1)}e${exponent}`;
}

function ratesText(x: number, n_c: number, y: number, n_b: number): string {
  return `canary errors ${percent(x / n_c)} (${thousands(x)}/${thousands(n_c)}) vs baseline ${percent(y / n_b)} (${thousands(y)}/${thousands(n_b)})`;
}

function ratioText(ratio: number | null, interval: RatioInterval | null): string {
  const parts: string[] = [];
  if (ratio !== null) parts.push(`x${significant(ratio)}`);
  if (interval !== null) parts.push(`[${significant(interval.lower ?? 0)}, ${interval.upper === null ? '∞' : significant(interval.upper)}]`);
  return parts.length > 0 ? `, ${parts.join(' ')}` : '';
}

function withinText(tolerance: number): string {
  return tolerance > 0 ? `within +${Number((tolerance * 100).toPrecision(4))}%` : "within the baseline's rate";
}

function notWorseText(tolerance: number): string {
  return tolerance > 0 ? `not worse than +${Number((tolerance * 100).toPrecision(4))}%` : 'not worse than the baseline';
}

function percent(rate: number): string {
  if (rate === 0) return '0%';
  const pct = rate * 100;
  return `${pct >= 10 ? pct.toFixed(0) : pct.toPrecision(2)}%`;
}

/** Three significant digits, without an exponent for ordinary magnitudes: 2.10, 0.500, 150, 12345. */
function significant(v: number): string {
  if (v >= 1000 && v < 1e15) return v.toFixed(0);
  return v.toPrecision(3);
}

function thousands(n: number): string {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}
