/**
 * `rollgate controller --shards 3` with three replicas in one process (three KubeControllers,
 * each with its own identity and its own bearer token, so the fake API knows who sent each
 * request), 30 RolloutPlans checkpointed every 2 s: each plan is driven by the one replica
 * holding its shard; a replica that is gone (every connection refused, its Leases never
 * released) has its shards taken over within the lease duration plus the retry period; a
 * replica cut off from its Leases stops writing before another replica takes its shards over;
 * and the journals stay gapless with no decision written twice.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import nock from 'nock';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KubeController, KubeControllerOptions } from '../../src/cluster/host.js';
import { submitKubeRequest } from '../../src/cluster/requests.js';
import { JOURNAL_KEY } from '../../src/cluster/kube-journal.js';
import { shardOf } from '../../src/cluster/shards.js';
import { fileSpec, kubeClient, rolloutPlan } from '../unit/kube-fixtures.js';
import { FakeKube, startTestController, type Recorded } from './kube-helpers.js';
import { until } from '../helpers/until.js';

const SHARDS = 3;
const PLANS = '/apis/rollgate.dev/v1alpha1/namespaces/learning/rolloutplans';
const LEASES = '/apis/coordination.k8s.io/v1/namespaces/rollgate-system/leases';
const CONFIGMAPS = '/api/v1/namespaces/learning/configmaps';
const NAMES = Array.from({ length: 30 }, (_, i) => `svc-${String(i).padStart(2, '0')}`);
// Short, with margins for a loaded machine: a renew deadline missed by a slow event loop makes
// a replica let go of a shard (and take it again), which the assertions below must not mistake.
const LEASE = { durationSeconds: 4, renewEveryMs: 200, renewDeadlineMs: 3000, retryEveryMs: 200 };
/** A shard whose holder is gone is free once its Lease expires; the next try (one retry period later) takes it. */
const TAKEOVER_MS = LEASE.durationSeconds * 1000 + 2 * LEASE.retryEveryMs;

const key = (name: string) => `learning/${name}`;
const shardLease = (shard: number) => `${LEASES}/rollgate-controller-shard-${shard}`;

// Generous: the waits above are upper bounds for a loaded machine, not sleeps.
describe('rollgate controller --shards 3 with three replicas', { timeout: 120_000 }, () => {
  let api: FakeKube;
  let dir: string;
  const replicas: KubeController[] = [];
  beforeEach(async () => {
    nock.disableNetConnect();
    nock.enableNetConnect('127.0.0.1');
    api = new FakeKube();
    dir = await mkdtemp(join(tmpdir(), 'rollgate-shards-'));
  });
  afterEach(async () => {
    await Promise.allSettled(replicas.splice(0).map((c) => c.stop()));
    api.close();
    nock.enableNetConnect();
    await rm(dir, { recursive: true, force: true });
  });

  const start = (identity: string, over: Partial<KubeControllerOptions> = {}): Promise<KubeController> =>
    startTestController(replicas, {
      client: kubeClient(identity, identity),
      identity,
      listen: null,
      shards: SHARDS,
      // Two replicas have room for all three shards: the loss of any one is covered.
      maxShardsPerReplica: 2,
      lease: LEASE,
      ...over,
    });

  /** 30 plans, each checkpointed every 2 s (a journal write per plan every 2 s). */
  function createPlans(): void {
    for (const name of NAMES) {
      api.create(`${PLANS}/${name}`, rolloutPlan(name, fileSpec(join(dir, `${name}.json`), { phases: [{ name: 'canary', weight: 10, checkpoints: { every: '2s', until: '1h' } }, { name: 'full', weight: 100, checkpoints: ['1h'] }] })));
    }
  }

  const holderOf = (shard: number): string | null => api.get(shardLease(shard))?.spec.holderIdentity ?? null;
  const journal = (name: string): any[] =>
    (api.get(`${CONFIGMAPS}/rollgate-journal-${name}`)?.data?.[JOURNAL_KEY] ?? '')
      .split('\n')
      .filter(Boolean)
      .map((l: string) => JSON.parse(l));
  const seqs = (name: string): number[] => journal(name).filter((e) => 'seq' in e).map((e) => e.seq);

  /** Every journal write the API server accepted: who wrote which entry, in order. */
  function journalWrites(): { name: string; user: string; index: number; entry: any }[] {
    return api.requests.flatMap((r: Recorded, index) => {
      if (!(r.path.startsWith(CONFIGMAPS) && (r.method === 'PUT' || r.method === 'POST') && r.code !== undefined && r.code >= 200 && r.code < 300)) return [];
      const lines = String(r.body.data[JOURNAL_KEY]).split('\n').filter(Boolean);
      return [{ name: r.body.metadata.labels['rollgate.dev/rollout'] as string, user: r.user!, index, entry: JSON.parse(lines.at(-1)!) }];
    });
  }

  /** Gapless seqs from 1 in every journal, and each decision written once (by one replica). */
  function expectNoDoubleDecision(): void {
    for (const name of NAMES) {
      const s = seqs(name);
      expect(s, name).toEqual(s.map((_, i) => i + 1));
    }
    const written = new Map<string, string>();
    for (const w of journalWrites()) {
      if (!('seq' in w.entry)) continue;
      const id = `${w.name}#${w.entry.seq}`;
      expect(written.get(id), `${id} written twice`).toBeUndefined();
      written.set(id, w.user);
    }
  }

  it('each plan is driven by the replica holding its shard; a replica that is gone has its shards taken over within the lease duration', async () => {
    createPlans();
    const all = await Promise.all(['rollgate-0', 'rollgate-1', 'rollgate-2'].map((id) => start(id)));
    await until(() => [0, 1, 2].every((s) => holderOf(s) !== null), 20_000, 'every shard Lease held');
    await until(() => NAMES.every((n) => seqs(n).length >= 3), 30_000, 'every plan started and judged twice');

    // Nobody holds more than its cap; each plan runs in exactly one replica, the holder of its shard.
    await until(() => all.flatMap((c) => c.heldShards()).sort().join() === '0,1,2', 20_000, 'each shard held by one replica');
    for (const c of all) expect(c.heldShards().length).toBeLessThanOrEqual(2);
    for (const name of NAMES) {
      const owner = holderOf(shardOf(key(name), SHARDS));
      expect(all.filter((c) => c.runner(key(name)) !== undefined).map((c) => c.identity), name).toEqual([owner]);
      expect(new Set(journalWrites().filter((w) => w.name === name).map((w) => w.user)), name).toEqual(new Set([owner]));
    }

    // The holder of shard 0 is gone: no request of it reaches the API any more, its Leases stay as they were.
    const gone = holderOf(0)!;
    const goneShards = [0, 1, 2].filter((s) => holderOf(s) === gone);
    const victims = NAMES.filter((n) => goneShards.includes(shardOf(key(n), SHARDS)));
    expect(victims.length).toBeGreaterThan(0);
    api.unreachable.add(gone);
    const before = new Map(victims.map((n) => [n, seqs(n).length]));
    await until(() => goneShards.every((s) => holderOf(s) !== null && holderOf(s) !== gone), TAKEOVER_MS + 5000, `shards ${goneShards} taken over`);
    await until(() => victims.every((n) => seqs(n).length >= before.get(n)! + 2), 30_000, 'the plans of the lost shards go on');

    const survivors = all.filter((c) => c.identity !== gone);
    for (const name of victims) {
      const owner = holderOf(shardOf(key(name), SHARDS))!;
      expect(survivors.filter((c) => c.runner(key(name)) !== undefined).map((c) => c.identity), name).toEqual([owner]);
      // Not started again: the new owner went on from the journal.
      expect(journal(name).filter((e) => e.decision === 'start'), name).toHaveLength(1);
    }
    await until(() => survivors.flatMap((c) => c.heldShards()).sort().join() === '0,1,2', 20_000, 'the survivors hold every shard');
    expectNoDoubleDecision();
  });

  it('a manual request is answered by the replica holding the plan\'s shard', async () => {
    createPlans();
    const all = await Promise.all(['rollgate-0', 'rollgate-1', 'rollgate-2'].map((id) => start(id)));
    await until(() => [0, 1, 2].every((s) => holderOf(s) !== null), 20_000, 'every shard Lease held');
    // One plan of each shard.
    const picks = [0, 1, 2].map((s) => NAMES.find((n) => shardOf(key(n), SHARDS) === s)!);
    await until(() => picks.every((n) => seqs(n).length >= 1), 20_000, 'the picked plans started');
    for (const name of picks) {
      const answer = await submitKubeRequest(kubeClient(), { namespace: 'learning', name, action: 'pause', reason: 'drill' }, { timeoutMs: 20_000, pollMs: 20 });
      expect(answer, name).toMatchObject({ accepted: true });
      const owner = holderOf(shardOf(key(name), SHARDS));
      const pause = journalWrites().find((w) => w.name === name && w.entry.decision === 'pause')!;
      expect(pause.entry).toMatchObject({ kind: 'manual', actor: 'alice', reason: 'paused by hand: drill' });
      expect(pause.user, name).toBe(owner);
      // Status and the Event of the decision come from the same replica.
      const statusWriters = new Set(api.requests.filter((r) => r.method === 'PATCH' && r.path === `${PLANS}/${name}/status` && r.code === 200).map((r) => r.user));
      expect(statusWriters, name).toEqual(new Set([owner]));
      expect(all.find((c) => c.identity === owner)!.runner(key(name))!.state.status).toBe('paused');
    }
  });

  it('a replica cut off from its Leases stops writing before another replica takes its shards over', async () => {
    createPlans();
    const all = await Promise.all(['rollgate-0', 'rollgate-1', 'rollgate-2'].map((id) => start(id)));
    await until(() => [0, 1, 2].every((s) => holderOf(s) !== null), 20_000, 'every shard Lease held');
    await until(() => NAMES.every((n) => seqs(n).length >= 2), 30_000, 'every plan started and judged once');

    const cut = holderOf(0)!;
    const cutShards = [0, 1, 2].filter((s) => holderOf(s) === cut);
    const replica = all.find((c) => c.identity === cut)!;
    // Its renewals fail; everything else it sends still reaches the API (the journal, status, Events).
    api.faults.push({ method: 'GET', path: /\/leases\//, code: 503, reason: 'ServiceUnavailable', times: 1_000_000, user: cut });
    api.faults.push({ method: 'PUT', path: /\/leases\//, code: 503, reason: 'ServiceUnavailable', times: 1_000_000, user: cut });
    await until(() => cutShards.every((s) => holderOf(s) !== cut), TAKEOVER_MS + LEASE.renewDeadlineMs + 5000, `shards ${cutShards} taken over`);
    expect(replica.heldShards()).toEqual([]);
    const victims = NAMES.filter((n) => cutShards.includes(shardOf(key(n), SHARDS)));
    const before = new Map(victims.map((n) => [n, seqs(n).length]));
    await until(() => victims.every((n) => seqs(n).length >= before.get(n)! + 2), 30_000, 'the plans of the lost shards go on');

    // The first Lease write of another replica on one of its shards is the takeover: every
    // journal write of the cut-off replica came before it.
    const takeover = api.requests.findIndex((r) => r.method === 'PUT' && cutShards.some((s) => r.path === shardLease(s)) && r.user !== cut && r.code === 200);
    expect(takeover).toBeGreaterThan(0);
    const late = journalWrites().filter((w) => w.user === cut && w.index > takeover);
    expect(late).toEqual([]);
    // Nor did it try: no journal write of it after the takeover even reached the API.
    expect(api.requests.slice(takeover).filter((r) => r.user === cut && r.path.startsWith(CONFIGMAPS) && r.method !== 'GET')).toEqual([]);
    expectNoDoubleDecision();
  });
});
