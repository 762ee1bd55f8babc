/**
 * Shard Leases: `rollgate controller --shards S` splits the RolloutPlans over S Leases, one
 * LeaderElector each (leader.ts: acquire, renew, lose by itself past the renew deadline,
 * release on a clean stop). With S = 1 the one Lease is `rollgate-controller`, as without
 * sharding; with S > 1 they are `rollgate-controller-shard-0` … `-shard-<S-1>`.
 *
 * The rule: a replica campaigns for every shard Lease it does not hold, but holds (or tries to
 * acquire) at most `maxPerReplica` at a time; renewals are never held back. A shard whose
 * holder dies is free once its Lease expires, and any replica under its cap takes it at its
 * next try. So every shard is held as long as the live replicas have room for all of them
 * (live replicas × maxPerReplica ≥ S), and a cap below S spreads the shards over replicas.
 */
import type { KubeClient } from './client.js';
import { LEASE_NAME, LeaderElector } from './leader.js';
import type { Logger } from '../support/log.js';

export interface ShardLeasesOptions {
  client: KubeClient;
  namespace: string;
  identity: string;
  log: Logger;
  /** How many shards (Leases). */
  shards: number;
  /** Shard Leases one replica holds at most. Default: all of them. */
  maxPerReplica?: number;
  leaseDurationSeconds?: number;
  renewEveryMs?: number;
  renewDeadlineMs?: number;
  retryEveryMs?: number;
  now?: () => number;
  onAcquired: (shard: number) => void;
  onLost: (shard: number, why: string) => void;
}

/** The Lease of shard `shard` of `shards`: `rollgate-controller` when there is one shard. */
export function shardLeaseName(shard: number, shards: number): string {
  return shards === 1 ? LEASE_NAME : `${LEASE_NAME}-shard-${shard}`;
}

export class ShardLeases {
  readonly electors: readonly LeaderElector[];
  readonly maxPerReplica: number;

  constructor(opts: ShardLeasesOptions) {
    const { shards } = opts;
    if (!Number.isInteger(shards) || shards < 1) throw new RangeError(`shards must be a positive integer, not ${shards}`);
    this.maxPerReplica = Math.min(opts.maxPerReplica ?? shards, shards);
    if (!Number.isInteger(this.maxPerReplica) || this.maxPerReplica < 1) throw new RangeError(`maxPerReplica must be a positive integer, not ${opts.maxPerReplica}`);
    this.electors = Array.from(
      { length: shards },
      (_, shard) =>
        new LeaderElector({
          client: opts.client,
          namespace: opts.namespace,
          identity: opts.identity,
          log: opts.log,
          name: shardLeaseName(shard, shards),
          ...(opts.leaseDurationSeconds ? { leaseDurationSeconds: opts.leaseDurationSeconds } : {}),
          ...(opts.renewEveryMs ? { renewEveryMs: opts.renewEveryMs } : {}),
          ...(opts.renewDeadlineMs ? { renewDeadlineMs: opts.renewDeadlineMs } : {}),
          ...(opts.retryEveryMs ? { retryEveryMs: opts.retryEveryMs } : {}),
          ...(opts.now ? { now: opts.now } : {}),
          mayAcquire: () => this.electors.filter((e) => e.claims()).length < this.maxPerReplica,
          onStartedLeading: () => opts.onAcquired(shard),
          onStoppedLeading: (why) => opts.onLost(shard, why),
        }),
    );
  }

  get shards(): number {
    return this.electors.length;
  }

  /** This replica holds the Lease of `shard`, renewed within the renew deadline. */
  holds(shard: number): boolean {
    return this.electors[shard]?.isLeader() ?? false;
  }

  /** The shards this replica holds. */
  held(): number[] {
    return this.electors.flatMap((e, shard) => (e.isLeader() ? [shard] : []));
  }

  start(): void {
    for (const e of this.electors) e.start();
  }

  /** Stops every campaign; with release, clears the holder of each Lease held so others take over at once. */
  async stop(opts: { release?: boolean } = {}): Promise<void> {
    await Promise.all(this.electors.map((e) => e.stop(opts)));
  }
}
