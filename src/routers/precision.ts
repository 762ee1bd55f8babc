/**
 * Rounding of canary shares to what a router can express (a descriptor's `expressible`).
 */
import type { Split } from '../core/router.js';

/** Rounds to 6 decimals, so that 100 - 10.1 is 89.9, not 89.9999999999. */
export function round6(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}

/** Rounds a share to the 0.01 % the integer-weight routers can express. */
export function toHundredths(percent: number): number {
  return Math.round(percent * 100) / 100;
}

/** Weight and mirror rounded to 6 decimals: the precision of routers that write the shares as they are. */
export function round6Split(split: Split): Split {
  return { weight: round6(split.weight), mirror: round6(split.mirror) };
}
