/**
 * The traffic router interface: every adapter sets the canary's share of live traffic and of
 * mirrored copies, and reports what is actually in effect. The adapters live in src/routers/.
 */

/** A traffic split: the canary's share of live requests and of mirrored copies, 0-100. */
export interface Split {
  weight: number;
  mirror: number;
}

/** Tolerance when comparing splits: shares are percentages with at most 6 decimals. */
const SPLIT_EPSILON = 1e-6;

/** Whether two splits are the same share of live and mirrored traffic. */
export function sameSplit(a: Split, b: Split): boolean {
  return Math.abs(a.weight - b.weight) < SPLIT_EPSILON && Math.abs(a.mirror - b.mirror) < SPLIT_EPSILON;
}

export interface TrafficRouter {
  /** The router's name as in `traffic.router`. */
  readonly name: string;
  /** Where it acts, for errors and logs (a path, a socket, an object name); never a secret. */
  readonly target: string;
  /**
   * Applies the split and returns what is in effect afterwards (a router may round, e.g.
   * HAProxy's integer weights). Throws RouterError when the split could not be applied; the
   * previous split must then still be in effect.
   */
  apply(split: Split): Promise<Split>;
  /** What is in effect now, or null when the router has never been set. */
  read(): Promise<Split | null>;
}

export class RouterError extends Error {
  constructor(
    readonly router: string,
    readonly target: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`router ${router} (${target}): ${message}`, options);
    this.name = 'RouterError';
  }
}
