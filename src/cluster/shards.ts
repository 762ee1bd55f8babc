/**
 * Which shard a RolloutPlan belongs to, when `rollgate controller --shards S` splits the
 * RolloutPlans over S shard Leases.
 *
 * shardOf(`namespace/name`, S) = jump consistent hash (Lamping & Veach, 2014) of a 64-bit key,
 * the first 8 bytes (big-endian) of the SHA-256 of the UTF-8 text `namespace/name`, into S
 * buckets. It is stable (the same name lands on the same shard in every replica and every
 * version), spreads names evenly, and when S grows to S+1 only about 1/(S+1) of the plans move
 * (each to the new shard). test/unit/cluster-shards.test.ts pins it.
 */
import { createHash } from 'node:crypto';

const MASK64 = 0xffff_ffff_ffff_ffffn;
const LCG = 2862933555777941757n;

/** The 64-bit key of a rollout id: the first 8 bytes of SHA-256(`namespace/name`), big-endian. */
export function shardKey(rollout: string): bigint {
  return createHash('sha256').update(rollout, 'utf8').digest().readBigUInt64BE(0);
}

/** Jump consistent hash: the bucket in [0, buckets) of a 64-bit key. */
export function jumpHash(key: bigint, buckets: number): number {
  if (!Number.isInteger(buckets) || buckets < 1) throw new RangeError(`buckets must be a positive integer, not ${buckets}`);
  let b = -1;
  let j = 0;
  let k = key & MASK64;
  while (j < buckets) {
    b = j;
    k = (k * LCG + 1n) & MASK64;
    j = Math.floor((b + 1) * (2 ** 31 / (Number(k >> 33n) + 1)));
  }
  return b;
}

/** The shard of the rollout `namespace/name` among `shards`. */
export function shardOf(rollout: string, shards: number): number {
  return shards === 1 ? 0 : jumpHash(shardKey(rollout), shards);
}
