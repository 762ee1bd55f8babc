/**
 * ShardLeases (src/kube/shard-leases.ts) against the in-memory API: the Lease names, the cap on
 * shards one replica holds, a free shard taken by a replica under its cap, release on stop.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import nock from 'nock';
import { ShardLeases, shardLeaseName } from '../../src/kube/shard-leases.js';
import { silentLogger } from '../../src/support/log.js';
import { FakeKube } from '../integration/kube-helpers.js';
import { kubeClient } from './kube-fixtures.js';
import { until } from '../helpers/until.js';

const LEASES = '/apis/coordination.k8s.io/v1/namespaces/rollgate-system/leases';

describe('shard Leases', () => {
  let api: FakeKube;
  const running: ShardLeases[] = [];
  beforeEach(() => {
    nock.disableNetConnect();
    api = new FakeKube();
  });
  afterEach(async () => {
    await Promise.allSettled(running.splice(0).map((l) => l.stop({ release: false })));
    api.close();
    nock.enableNetConnect();
  });

  const start = (identity: string, shards: number, maxPerReplica?: number) => {
    const events: string[] = [];
    const l = new ShardLeases({
      client: kubeClient(identity, identity),
      namespace: 'rollgate-system',
      identity,
      log: silentLogger(),
      shards,
      ...(maxPerReplica ? { maxPerReplica } : {}),
      leaseDurationSeconds: 1,
      renewEveryMs: 50,
      renewDeadlineMs: 800,
      retryEveryMs: 50,
      onAcquired: (s) => events.push(`+${s}`),
      onLost: (s) => events.push(`-${s}`),
    });
    running.push(l);
    l.start();
    return { l, events };
  };
  const holder = (name: string) => api.get(`${LEASES}/${name}`)?.spec.holderIdentity ?? null;

  it('one shard is the Lease rollgate-controller; several are rollgate-controller-shard-<i>', () => {
    expect(shardLeaseName(0, 1)).toBe('rollgate-controller');
    expect([0, 1, 2].map((i) => shardLeaseName(i, 3))).toEqual(['rollgate-controller-shard-0', 'rollgate-controller-shard-1', 'rollgate-controller-shard-2']);
  });

  it('a replica alone takes every shard by default', async () => {
    const { l } = start('rollgate-0', 4);
    await until(() => l.held().length === 4, 5000, 'all four held');
    expect([0, 1, 2, 3].map((i) => holder(`rollgate-controller-shard-${i}`))).toEqual(['rollgate-0', 'rollgate-0', 'rollgate-0', 'rollgate-0']);
  });

  it('holds at most maxPerReplica, leaving free shards to the next replica', async () => {
    const a = start('rollgate-0', 4, 2);
    await until(() => a.l.held().length === 2, 5000, 'two held');
    // Free Leases stay free for a while: the cap holds across many tries.
    const tries = api.requests.length;
    await until(() => api.requests.length > tries + 40, 5000, 'renewals go on');
    expect(a.l.held()).toHaveLength(2);
    expect([0, 1, 2, 3].filter((i) => holder(`rollgate-controller-shard-${i}`) === 'rollgate-0')).toHaveLength(2);

    const b = start('rollgate-1', 4, 2);
    await until(() => b.l.held().length === 2, 5000, 'the other two held by the second replica');
    expect([...a.l.held(), ...b.l.held()].sort()).toEqual([0, 1, 2, 3]);
  });

  it('a clean stop releases the Leases it holds; a replica under its cap takes them at once', async () => {
    const a = start('rollgate-0', 2, 1);
    await until(() => a.l.held().length === 1, 5000, 'one held');
    const b = start('rollgate-1', 2, 2);
    await until(() => b.l.held().length === 1, 5000, 'the other held');
    const mine = a.l.held()[0]!;
    await a.l.stop({ release: true });
    expect(holder(shardLeaseName(mine, 2))).toBeNull();
    expect(a.events).toEqual([`+${mine}`, `-${mine}`]);
    await until(() => b.l.held().length === 2, 800, 'taken over before the lease could have expired');
  });
});
