/**
 * The shard of a RolloutPlan (src/cluster/shards.ts): jump consistent hash of the first 8 bytes
 * of SHA-256(`namespace/name`). Pinned, because every replica (and every version) must put a
 * plan on the same shard: a change here moves rollouts between replicas.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { jumpHash, shardKey, shardOf } from '../../src/cluster/shards.js';

const names = Array.from({ length: 10_000 }, (_, i) => `team-${i % 37}/service-${i}`);

describe('shardOf: jump consistent hash of SHA-256(namespace/name)', () => {
  it('jumpHash gives the published test vectors of the algorithm', () => {
    // The vectors of github.com/dgryski/go-jump (jump_test.go), a reference implementation of Lamping & Veach.
    expect(jumpHash(1n, 1)).toBe(0);
    expect(jumpHash(42n, 57)).toBe(43);
    expect(jumpHash(0xdead10ccn, 1)).toBe(0);
    expect(jumpHash(0xdead10ccn, 666)).toBe(361);
    expect(jumpHash(256n, 1024)).toBe(520);
  });

  it('the key is the first 8 bytes of SHA-256, big-endian', () => {
    expect(shardKey('learning/analyzer')).toBe(BigInt(`0x${createHash('sha256').update('learning/analyzer').digest('hex').slice(0, 16)}`));
    expect(shardKey('learning/analyzer')).toBe(0xcbc2dbdb4daaf292n);
  });

  it('is stable: pinned assignments', () => {
    expect(['learning/analyzer', 'shop/checkout', 'default/a', 'team-7/service-42'].map((n) => [2, 3, 5, 10].map((s) => shardOf(n, s)))).toEqual([
      [0, 0, 0, 0],
      [1, 1, 1, 1],
      [0, 0, 0, 7],
      [0, 0, 3, 3],
    ]);
  });

  it('one shard: every plan on shard 0', () => {
    expect(new Set(names.map((n) => shardOf(n, 1)))).toEqual(new Set([0]));
  });

  it('balance: 10,000 names over 5 shards, each within ±20% of 2,000', () => {
    const counts = [0, 0, 0, 0, 0];
    for (const n of names) counts[shardOf(n, 5)]!++;
    for (const c of counts) expect(c).toBeGreaterThanOrEqual(1600), expect(c).toBeLessThanOrEqual(2400);
  });

  it('minimal movement: from 5 to 6 shards only about a sixth of the plans move, all to the new shard', () => {
    const moved = names.filter((n) => shardOf(n, 5) !== shardOf(n, 6));
    expect(moved.every((n) => shardOf(n, 6) === 5)).toBe(true);
    expect(moved.length).toBeGreaterThan(10_000 / 6 - 400);
    expect(moved.length).toBeLessThan(10_000 / 6 + 400);
  });

  it('refuses a shard count that is not a positive integer', () => {
    expect(() => jumpHash(1n, 0)).toThrow(RangeError);
    expect(() => jumpHash(1n, 1.5)).toThrow(RangeError);
  });
});
