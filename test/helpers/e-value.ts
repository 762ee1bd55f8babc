/**
 * The sequential test's e-value (analysis.md section 3) computed independently of the judge:
 * the mixture likelihood ratio integrated numerically (Simpson's rule around the likelihood's
 * peak) instead of through the regularized incomplete beta function, so a scenario can check the
 * `e` of a record against the counts Prometheus holds.
 *
 *   E = [ integral over (q0, 1) of q^x (1 - q)^y dq / (1 - q0) ] / [ q0^x (1 - q0)^y ]
 *   q0 = n_c (1 + tolerance) / (n_c (1 + tolerance) + n_b)
 */

/** q0 of the null "canary rate <= (1 + tolerance) x baseline rate". */
export function nullShare(n_c: number, n_b: number, tolerance: number): number {
  return (n_c * (1 + tolerance)) / (n_c * (1 + tolerance) + n_b);
}

/** ln E for cumulative counts x of n_c (canary) and y of n_b (baseline). */
export function logEByIntegral(c: { x: number; n_c: number; y: number; n_b: number }, tolerance: number): number {
  const q0 = nullShare(c.n_c, c.n_b, tolerance);
  const logLik = (q: number) => (c.x === 0 ? 0 : c.x * Math.log(q)) + (c.y === 0 ? 0 : c.y * Math.log1p(-q));
  const atNull = logLik(q0);
  const mode = c.x + c.y === 0 ? 1 : Math.max(q0, c.x / (c.x + c.y));
  const peak = logLik(mode);
  // The integrand exp(logLik - peak) is negligible more than ~40 of its widths from the mode
  // (the width of a Beta(x+1, y+1) density, kept from vanishing when the mode is at 1).
  const k = c.x + c.y + 2;
  const sd = Math.sqrt((mode * (1 - mode) + 1 / k) / k);
  const lo = Math.max(q0, mode - 40 * sd);
  const hi = Math.min(1, mode + 40 * sd);
  const steps = 20_000;
  const h = (hi - lo) / steps;
  let sum = 0;
  for (let i = 0; i <= steps; i++) {
    const f = Math.exp(logLik(Math.min(lo + i * h, 1)) - peak);
    sum += f * (i === 0 || i === steps ? 1 : i % 2 === 1 ? 4 : 2);
  }
  const integral = (sum * h) / 3;
  return peak + Math.log(integral) - Math.log1p(-q0) - atNull;
}
