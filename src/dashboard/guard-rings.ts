/**
 * The recent guard evaluations of every rollout, for the rollout page's charts (guard passes
 * are not journalled, so only the live process has them). Bounded whatever the number of
 * rollouts: each rollout keeps at most `perRollout` points, and all rollouts together at most
 * `total`: with n rollouts each keeps min(perRollout, floor(total / n)) of its latest points
 * (none once n > total). When a rollout is added and that share shrinks, every ring is cut to it.
 */
import type { GuardPoint } from './view.js';

/** Guard points kept per rollout: an hour at the default 30 s guard interval, 4 min at 1 s. */
export const GUARD_POINTS_PER_ROLLOUT = 240;
/** Guard points kept for all rollouts together: 10,000 rollouts keep 2 points each. */
export const GUARD_POINTS_TOTAL = 20_000;

export class GuardRings {
  private readonly rings = new Map<string, GuardPoint[]>();
  private share: number;

  constructor(
    private readonly perRollout = GUARD_POINTS_PER_ROLLOUT,
    private readonly total = GUARD_POINTS_TOTAL,
  ) {
    this.share = perRollout;
  }

  /** Points each rollout keeps now. */
  get capacity(): number {
    return this.share;
  }

  /** Points kept in all. */
  size(): number {
    let n = 0;
    for (const r of this.rings.values()) n += r.length;
    return n;
  }

  /** A rollout to keep points for (idempotent). */
  add(id: string): void {
    if (this.rings.has(id)) return;
    this.rings.set(id, []);
    this.reshare();
  }

  remove(id: string): void {
    if (this.rings.delete(id)) this.reshare();
  }

  /** Keeps `point` as the latest of `id` (added if it was not), dropping its oldest beyond the share. */
  push(id: string, point: GuardPoint): void {
    this.add(id);
    const ring = this.rings.get(id)!;
    if (this.share === 0) return;
    ring.push(point);
    if (ring.length > this.share) ring.splice(0, ring.length - this.share);
  }

  /** The points of `id`, oldest first (a copy). */
  points(id: string): GuardPoint[] {
    return [...(this.rings.get(id) ?? [])];
  }

  /** The latest point of `id`, if any. */
  last(id: string): GuardPoint | undefined {
    return this.rings.get(id)?.at(-1);
  }

  private reshare(): void {
    const n = this.rings.size;
    const share = n === 0 ? this.perRollout : Math.min(this.perRollout, Math.floor(this.total / n));
    if (share < this.share) for (const ring of this.rings.values()) if (ring.length > share) ring.splice(0, ring.length - share);
    this.share = share;
  }
}
