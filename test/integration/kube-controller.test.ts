/**
 * The in-cluster controller end to end against an in-memory Kubernetes API (nock): RolloutPlans
 * appear, change and disappear; the leader journals to the ConfigMap, writes status and Events,
 * applies the split with the `file` router; manual requests go through the annotation; a
 * leader that loses its Lease stops acting; a standby takes over from the journal.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import nock from 'nock';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KubeController, KubeControllerOptions } from '../../src/cluster/host.js';
import { submitKubeRequest } from '../../src/cluster/requests.js';
import { ConfigMapJournal, JOURNAL_KEY } from '../../src/cluster/kube-journal.js';
import { loadPlanObject } from '../../src/plan/load.js';
import { replay } from '../../src/core/state.js';
import type { JournalEntry } from '../../src/core/record.js';
import { createLogger } from '../../src/support/log.js';
import { Writable } from 'node:stream';
import type { MetricsProvider, Sample } from '../../src/core/metrics-provider.js';
import { ScriptedProvider } from '../helpers/scripted-provider.js';
import { fileSpec, kubeClient, rolloutPlan } from '../unit/kube-fixtures.js';
import { FakeKube, startTestController } from './kube-helpers.js';
import { until } from '../helpers/until.js';

const PLANS = '/apis/rollgate.dev/v1alpha1/namespaces/learning/rolloutplans';
const PLAN = `${PLANS}/analyzer`;
const CM = '/api/v1/namespaces/learning/configmaps/rollgate-journal-analyzer';
const LEASE = '/apis/coordination.k8s.io/v1/namespaces/rollgate-system/leases/rollgate-controller';
const GATEWAY = '/apis/gateway.networking.k8s.io';
const ROUTE = `${GATEWAY}/v1/namespaces/learning/httproutes/analyzer`;

/** The entries of the journal ConfigMap (a compaction's state snapshot line left out). */
const journalOf = (api: FakeKube) =>
  (api.get(CM)?.data?.[JOURNAL_KEY] ?? '')
    .split('\n')
    .filter(Boolean)
    .map((l: string) => JSON.parse(l))
    .filter((e: any) => !('snapshot' in e));

describe('rollgate controller in a cluster', () => {
  let api: FakeKube;
  let dir: string;
  const controllers: KubeController[] = [];
  beforeEach(async () => {
    nock.disableNetConnect();
    nock.enableNetConnect('127.0.0.1');
    api = new FakeKube();
    dir = await mkdtemp(join(tmpdir(), 'rollgate-kube-'));
  });
  afterEach(async () => {
    await Promise.allSettled(controllers.splice(0).map((c) => c.stop()));
    api.close();
    nock.enableNetConnect();
    await rm(dir, { recursive: true, force: true });
  });

  const start = (over: Partial<KubeControllerOptions> = {}, provider: MetricsProvider = new ScriptedProvider(() => 0.001)) =>
    startTestController(controllers, { providerFor: () => provider, ...over });

  it('a RolloutPlan appears: the leader journals start to the ConfigMap, applies the split, writes status and an Event', async () => {
    const target = join(dir, 'split.json');
    api.create(PLAN, rolloutPlan('analyzer', fileSpec(target)));
    const c = await start();
    await until(() => api.get(PLAN)?.status?.seq === 1 && journalOf(api).length === 2, 5000, 'start journalled and status written');

    expect(api.get(LEASE)?.spec.holderIdentity).toBe('rollgate-0');
    const [start1, applied] = journalOf(api);
    expect(start1).toMatchObject({ seq: 1, rollout: 'learning/analyzer', decision: 'start', kind: 'lifecycle', weight: { from: 0, to: 10 }, actor: 'controller' });
    expect(applied).toMatchObject({ applied: 1, weight: 10, mirror: 0 });
    expect(api.get(CM)!.metadata.labels).toEqual({ 'app.kubernetes.io/managed-by': 'rollgate', 'rollgate.dev/rollout': 'analyzer' });
    expect(JSON.parse(await readFile(target, 'utf8'))).toEqual({ stable: 90, canary: 10, mirror: 0 });

    await until(() => api.get(PLAN)?.status?.records?.length === 1);
    expect(api.get(PLAN)!.status).toMatchObject({
      observedGeneration: 1,
      revision: '1.0.0',
      status: 'progressing',
      phase: 'canary',
      weight: 10,
      mirror: 0,
      checkpoint: '0/1',
      lastDecision: 'start',
      seq: 1,
      counts: { start: 1 },
    });
    const statusPatch = api.requests.find((r) => r.method === 'PATCH' && r.path === `${PLAN}/status`)!;
    expect(statusPatch.contentType).toBe('application/merge-patch+json');
    expect(statusPatch.body.metadata.resourceVersion).toMatch(/^\d+$/);

    await until(() => api.requests.some((r) => r.method === 'POST' && r.path === '/api/v1/namespaces/learning/events'));
    const event = api.requests.find((r) => r.method === 'POST' && r.path === '/api/v1/namespaces/learning/events')!.body;
    expect(event).toMatchObject({
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { namespace: 'learning' },
      involvedObject: { apiVersion: 'rollgate.dev/v1alpha1', kind: 'RolloutPlan', name: 'analyzer', namespace: 'learning', uid: 'uid-analyzer' },
      reason: 'Started',
      type: 'Normal',
      action: 'start',
      reportingComponent: 'rollgate',
      reportingInstance: 'rollgate-0',
      count: 1,
    });
    expect(event.involvedObject.resourceVersion).toMatch(/^\d+$/);
    expect(event.message).toMatch(/^#1 lifecycle at canary: start .*weight 0→10/);

    const metrics = await (await fetch(`${c.url}/metrics`)).text();
    expect(metrics).toContain('rollgate_leader 1');
    expect(metrics).toContain('rollgate_rollout_canary_weight{rollout="learning/analyzer"} 10');
    expect((await fetch(`${c.url}/readyz`)).status).toBe(200);
  });

  it('a hand-edited HTTPRoute weight is put back by the drift check: a warning, a new applied mark, no decision', async () => {
    api.create(GATEWAY, { apiVersion: 'v1', kind: 'APIGroup', metadata: { name: 'gateway.networking.k8s.io' }, name: 'gateway.networking.k8s.io', versions: [{ groupVersion: 'gateway.networking.k8s.io/v1', version: 'v1' }], preferredVersion: { groupVersion: 'gateway.networking.k8s.io/v1', version: 'v1' } });
    api.create(ROUTE, {
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'HTTPRoute',
      metadata: { name: 'analyzer', namespace: 'learning' },
      spec: { parentRefs: [{ name: 'public' }], rules: [{ backendRefs: [{ name: 'analyzer-stable', port: 8080, weight: 1 }, { name: 'analyzer-canary', port: 8080, weight: 0 }] }] },
    });
    const canaryShare = () => {
      const [stable, canary] = api.get(ROUTE)!.spec.rules[0].backendRefs.map((b: { weight: number }) => b.weight);
      return canary / (stable + canary);
    };
    const traffic = { router: 'gateway-api', 'gateway-api': { httpRoute: 'analyzer', stableBackend: 'analyzer-stable', canaryBackend: 'analyzer-canary' } };
    api.create(PLAN, rolloutPlan('analyzer', fileSpec(join(dir, 'unused.json'), { traffic })));
    let logs = '';
    const log = createLogger({ level: 'info', destination: new Writable({ write: (c, _e, cb) => ((logs += String(c)), cb()) }) as never });
    await start({ log, driftCheckMs: 50 });
    await until(() => journalOf(api).length === 2, 5000, 'start journalled and applied');
    expect(canaryShare()).toBeCloseTo(0.1);

    // Someone (a person, a GitOps tool) puts all traffic back on stable.
    api.update(ROUTE, (o) => {
      o.spec.rules[0].backendRefs[0].weight = 1;
      o.spec.rules[0].backendRefs[1].weight = 0;
      return o;
    });
    await until(() => canaryShare() > 0.09 && journalOf(api).length === 3, 5000, 'the split put back and a new applied mark');
    expect(canaryShare()).toBeCloseTo(0.1);
    const [start1, applied1, applied2] = journalOf(api);
    expect(start1).toMatchObject({ seq: 1, decision: 'start' });
    expect(applied1).toMatchObject({ applied: 1, weight: 10, mirror: 0 });
    expect(applied2).toMatchObject({ applied: 1, weight: 10, mirror: 0 });
    const warning = logs
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l))
      .find((l) => /router drifted from the journalled split/.test(l.msg));
    expect(warning).toMatchObject({ level: 'warn', rollout: 'learning/analyzer', journal: { weight: 10, mirror: 0 }, router: { weight: 0, mirror: 0 }, seq: 1 });
  });

  it('an invalid spec is an InvalidPlan Warning naming the field; nothing is journalled or applied', async () => {
    const target = join(dir, 'split.json');
    const spec = fileSpec(target, { metrics: [{ name: 'error-rate', query: 'x', max: 'low' }] });
    api.create(PLAN, rolloutPlan('analyzer', spec));
    await start();
    await until(() => api.requests.some((r) => r.method === 'POST' && r.body?.reason === 'InvalidPlan'));
    const event = api.requests.find((r) => r.body?.reason === 'InvalidPlan')!.body;
    expect(event.type).toBe('Warning');
    expect(event.message).toMatch(/spec\.metrics\[0\]\.max: /);
    await new Promise((r) => setTimeout(r, 200));
    expect(api.get(CM)).toBeUndefined();
    await expect(stat(target)).rejects.toThrow(/ENOENT/);
  });

  it('a manual request on a RolloutPlan with an invalid spec is refused at once, naming the field; it is not run once the spec is fixed', async () => {
    const target = join(dir, 'split.json');
    api.create(PLAN, rolloutPlan('analyzer', fileSpec(target, { metrics: [{ name: 'error-rate', query: 'x', max: 'low' }] })));
    await start();
    await until(() => api.requests.some((r) => r.method === 'POST' && r.body?.reason === 'InvalidPlan'));

    const answer = await submitKubeRequest(kubeClient(), { namespace: 'learning', name: 'analyzer', action: 'pause' }, { timeoutMs: 4000, pollMs: 20 });
    expect(answer.accepted).toBe(false);
    expect(answer.message).toMatch(/^rolloutplan learning\/analyzer has an invalid spec, so there is no rollout to pause: spec\.metrics\[0\]\.max: /);
    expect(answer.seq ?? null).toBeNull();
    expect(api.get(PLAN)!.metadata.annotations?.['rollgate.dev/request']).toBeUndefined();
    expect(api.get(CM)).toBeUndefined();

    api.update(PLAN, (o) => ({ ...o, spec: fileSpec(target) }));
    await until(() => journalOf(api).length === 2, 5000, 'started once the spec is valid');
    await until(() => api.get(PLAN)?.status?.seq === 1);
    expect(journalOf(api).filter((e: any) => 'seq' in e).map((e: any) => e.decision)).toEqual(['start']);
    expect(api.get(PLAN)!.status.lastRequest).toMatchObject({ id: answer.id, accepted: false });
  });

  it('a spec change with the same revision is plan-updated; a deleted RolloutPlan is let go without a decision', async () => {
    const target = join(dir, 'split.json');
    api.create(PLAN, rolloutPlan('analyzer', fileSpec(target)));
    const c = await start();
    await until(() => journalOf(api).length === 2);
    api.update(PLAN, (o) => ({ ...o, spec: fileSpec(target, { metrics: [{ name: 'error-rate', query: 'sum(rate(errors[{{window}}]))', max: 0.02, critical: true }] }) }));
    await until(() => journalOf(api).some((e: any) => e.decision === 'plan-updated'));
    await until(() => api.get(PLAN)?.status?.observedGeneration === 2 && api.get(PLAN)?.status?.lastDecision === 'plan-updated');

    const before = journalOf(api).length;
    api.remove(PLAN);
    await until(() => c.runner('learning/analyzer') === undefined);
    const metrics = await (await fetch(`${c.url}/metrics`)).text();
    expect(metrics).not.toContain('rollout="learning/analyzer"');
    expect(journalOf(api)).toHaveLength(before);
  });

  it('a RolloutPlan deleted and created again under the same name starts afresh: the old journal (not yet garbage-collected) is not replayed', async () => {
    const target = join(dir, 'split.json');
    api.create(PLAN, rolloutPlan('analyzer', fileSpec(target)));
    const c = await start();
    await until(() => journalOf(api).length === 2);
    await submitKubeRequest(kubeClient(), { namespace: 'learning', name: 'analyzer', action: 'pause' }, { timeoutMs: 5000, pollMs: 20 });
    expect(journalOf(api).filter((e: any) => 'seq' in e).map((e: any) => e.decision)).toEqual(['start', 'pause']);
    // The journal is owned by the RolloutPlan, so garbage collection deletes it with the plan.
    expect(api.get(CM)!.metadata.ownerReferences).toEqual([{ apiVersion: 'rollgate.dev/v1alpha1', kind: 'RolloutPlan', name: 'analyzer', uid: 'uid-analyzer', controller: true, blockOwnerDeletion: false }]);
    expect(api.get(CM)!.metadata.annotations).toMatchObject({ 'rollgate.dev/plan-uid': 'uid-analyzer' });

    api.remove(PLAN); // the ConfigMap stays until the garbage collector gets to it
    await until(() => c.runner('learning/analyzer') === undefined);
    api.create(PLAN, rolloutPlan('analyzer', fileSpec(target), { uid: 'uid-analyzer-2' }));
    await until(() => api.get(CM)?.metadata.annotations?.['rollgate.dev/plan-uid'] === 'uid-analyzer-2' && journalOf(api).length === 2, 5000, 'a new journal');
    expect(journalOf(api).filter((e: any) => 'seq' in e).map((e: any) => [e.seq, e.decision])).toEqual([[1, 'start']]);
    expect(api.get(CM)!.metadata.ownerReferences).toEqual([{ apiVersion: 'rollgate.dev/v1alpha1', kind: 'RolloutPlan', name: 'analyzer', uid: 'uid-analyzer-2', controller: true, blockOwnerDeletion: false }]);
    expect(api.get(CM)!.data['compacted.json']).toBeUndefined();
    await until(() => c.runner('learning/analyzer')?.state.seq === 1);
    expect(c.runner('learning/analyzer')!.state.status).toBe('progressing');

    // Deleted and created again while the deletion was not seen (a watch gap): the informer only
    // sees an object with a new uid. Still a new rollout.
    api.update(PLAN, (o) => ({ ...o, metadata: { ...o.metadata, uid: 'uid-analyzer-3', generation: 1 } }));
    await until(() => api.get(CM)?.metadata.annotations?.['rollgate.dev/plan-uid'] === 'uid-analyzer-3' && journalOf(api).length === 2, 5000, 'a third journal');
    expect(journalOf(api).filter((e: any) => 'seq' in e).map((e: any) => [e.seq, e.decision])).toEqual([[1, 'start']]);
  });

  it('a leader takes over a journal compacted inside a long phase: it replays from the snapshot and goes on at the same checkpoint', async () => {
    const target = join(dir, 'split.json');
    const obj = rolloutPlan('analyzer', fileSpec(target, { phases: [{ name: 'canary', weight: 10, checkpoints: { every: '1h', until: '100h' } }, { name: 'full', weight: 100, checkpoints: ['1h'] }] }));
    api.create(PLAN, obj);
    const { loaded } = loadPlanObject(obj, 'test', { env: {} });
    const hour = 3_600_000;
    const t0 = Date.now() - 39.5 * hour; // 39 checkpoints passed, the 40th due in half an hour
    const iso = (t: number) => new Date(t).toISOString();
    const base = { rollout: 'learning/analyzer', revision: '1.0.0', planHash: loaded!.hash, phase: 'canary', phaseIndex: 0, mirror: { from: 0, to: 0 }, actor: 'controller' };
    const entries: JournalEntry[] = [
      { ...base, seq: 1, kind: 'lifecycle', decision: 'start', at: iso(t0), reason: 'revision 1.0.0 starts with phase canary', weight: { from: 0, to: 10 }, enters: { phase: 'canary', index: 0 } },
      { applied: 1, rollout: 'learning/analyzer', weight: 10, mirror: 0, at: iso(t0) },
    ];
    for (let i = 0; i < 39; i++) {
      const due = iso(t0 + (i + 1) * hour);
      entries.push({ ...base, seq: i + 2, kind: 'checkpoint', decision: 'continue', at: due, reason: `1/1 metrics pass ${'.'.repeat(400)}`, weight: { from: 10, to: 10 }, checkpoint: { index: i, of: 100, due, window: '1h' } });
    }
    const writer = new ConfigMapJournal({ client: kubeClient(), maxBytes: 6000 });
    writer.own('learning/analyzer', { apiVersion: 'rollgate.dev/v1alpha1', kind: 'RolloutPlan', name: 'analyzer', uid: 'uid-analyzer' });
    for (const e of entries) await writer.append('learning/analyzer', e);
    // Cut inside the phase: the state at the cut is the snapshot line replay starts from.
    const snapshot = JSON.parse(api.get(CM)!.data[JOURNAL_KEY].split('\n')[0]);
    expect(snapshot.state).toMatchObject({ phaseStartSeq: 1, status: 'progressing' });
    expect(snapshot.snapshot).toBe(JSON.parse(api.get(CM)!.data['compacted.json']).throughSeq);
    expect(journalOf(api)[0].seq).toBeGreaterThan(2);
    await writeFile(target, JSON.stringify({ stable: 90, canary: 10, mirror: 0 }));

    const c = await start();
    await until(() => c.runner('learning/analyzer') !== undefined, 5000, 'managed');
    await c.settled();
    const state = c.runner('learning/analyzer')!.state;
    expect(state).toEqual(replay('learning/analyzer', entries));
    expect(state).toMatchObject({ seq: 40, checkpointIndex: 39, phaseName: 'canary', weight: 10, status: 'progressing' });
    expect(journalOf(api).filter((e: any) => e.decision === 'start')).toEqual([]); // not started again
  });

  it('a manual request: the CLI writes the annotation, the leader journals it with the kubeconfig user and answers in status', async () => {
    const target = join(dir, 'split.json');
    api.create(PLAN, rolloutPlan('analyzer', fileSpec(target)));
    await start();
    await until(() => journalOf(api).length === 2);

    const answer = await submitKubeRequest(kubeClient(), { namespace: 'learning', name: 'analyzer', action: 'pause', reason: 'error budget review' }, { timeoutMs: 5000, pollMs: 20 });
    expect(answer).toMatchObject({ accepted: true, message: 'analyzer paused at 10%', seq: 2 });
    const pause = journalOf(api).find((e: any) => e.decision === 'pause');
    expect(pause).toMatchObject({ seq: 2, kind: 'manual', actor: 'alice', reason: 'paused by hand: error budget review' });
    const annotate = api.requests.find((r) => r.method === 'PATCH' && r.path === PLAN && r.contentType === 'application/merge-patch+json')!;
    const request = JSON.parse(annotate.body.metadata.annotations['rollgate.dev/request']);
    expect(request).toMatchObject({ action: 'pause', actor: 'alice', reason: 'error budget review' });
    expect(api.get(PLAN)!.status.lastRequest).toEqual({ id: request.id, accepted: true, message: 'analyzer paused at 10%', seq: 2 });
    // Claimed: the annotation is gone, so neither this replica nor a successor runs it twice.
    expect(api.get(PLAN)!.metadata.annotations?.['rollgate.dev/request']).toBeUndefined();

    const refused = await submitKubeRequest(kubeClient(), { namespace: 'learning', name: 'analyzer', action: 'resume' }, { timeoutMs: 5000, pollMs: 20 });
    expect(refused.accepted).toBe(true);
    const again = await submitKubeRequest(kubeClient(), { namespace: 'learning', name: 'analyzer', action: 'resume' }, { timeoutMs: 5000, pollMs: 20 });
    expect(again).toMatchObject({ accepted: false, message: 'analyzer is progressing, not paused' });
  });

  it('a leader that cannot renew its Lease stops acting: a step under way writes neither journal nor router', async () => {
    const target = join(dir, 'split.json');
    // The checkpoint 1 s after the split waits on this provider until released.
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let queried = false;
    const provider: MetricsProvider = {
      instant: async (): Promise<Sample> => {
        queried = true;
        await gate;
        return { value: 0.001 };
      },
      range: async () => new Map(),
    };
    api.create(PLAN, rolloutPlan('analyzer', fileSpec(target, { phases: [{ name: 'canary', weight: 10, checkpoints: ['1s'] }, { name: 'full', weight: 100, checkpoints: ['1h'] }] })));
    const c = await start({ lease: { durationSeconds: 1, renewEveryMs: 50, renewDeadlineMs: 400, retryEveryMs: 50 } }, provider);
    await until(() => queried, 5000, 'checkpoint judged');
    const journalled = journalOf(api).length;
    const fileBefore = await readFile(target, 'utf8');

    api.faults.push({ method: 'GET', path: /leases/, code: 503, reason: 'ServiceUnavailable', times: 1000 });
    await until(() => !c.isLeader(), 2000, 'leadership lost');
    const writesAtLoss = api.writes(/leases|events/).length;
    release(); // the checkpoint passes now: the engine would advance to 100%
    await new Promise((r) => setTimeout(r, 300));

    expect(journalOf(api)).toHaveLength(journalled);
    expect(await readFile(target, 'utf8')).toBe(fileBefore);
    expect(api.writes(/leases|events/).slice(writesAtLoss)).toEqual([]);
    const metrics = await (await fetch(`${c.url}/metrics`)).text();
    expect(metrics).toContain('rollgate_leader 0');
    expect((await fetch(`${c.url}/readyz`)).status).toBe(200); // a standby is ready too
  });

  it('a clean stop releases the Lease; a standby takes over and continues from the journal', async () => {
    const target = join(dir, 'split.json');
    api.create(PLAN, rolloutPlan('analyzer', fileSpec(target)));
    const a = await start();
    await until(() => journalOf(api).length === 2);
    const b = await start({ identity: 'rollgate-1', listen: null, client: kubeClient('rollgate-1', 'rollgate-1') });
    // A standby: listed the plans and looked at the Lease, which stays the leader's.
    await until(() => b.synced() && api.requests.some((r) => r.user === 'rollgate-1' && r.path === LEASE && r.code === 200), 5000, 'the standby saw the Lease');
    expect(b.isLeader()).toBe(false);

    await a.stop();
    expect(api.get(LEASE)!.spec.holderIdentity ?? null).toBeNull();
    await until(() => b.isLeader(), 3000, 'standby took over');
    await until(() => b.runner('learning/analyzer') !== undefined);
    expect(b.runner('learning/analyzer')!.state.seq).toBe(1); // replayed, not started again
    await b.settled();
    const answer = await submitKubeRequest(kubeClient(), { namespace: 'learning', name: 'analyzer', action: 'abort', reason: 'drill' }, { timeoutMs: 5000, pollMs: 20 });
    expect(answer.accepted).toBe(true);
    await until(async () => JSON.parse(await readFile(target, 'utf8')).canary === 0);
    expect(journalOf(api).filter((e: any) => 'seq' in e).map((e: any) => e.decision)).toEqual(['start', 'abort', 'rollback']);
    expect(api.get(LEASE)!.spec.holderIdentity).toBe('rollgate-1');
  });
});
