/**
 * The smi router against a nock-simulated API server: TrafficSplit backend weights, JSON patch
 * testing spec.backends, version discovery (v1alpha4 → v1alpha2).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SmiRouter, smiRouter } from '../../src/routers/smi.js';
import { guardSplits } from '../../src/routers/split-guard.js';
import { createRouter } from '../../src/routers/registry.js';
import { RouterError, type TrafficRouter } from '../../src/core/router.js';
import { silentLogger } from '../../src/support/log.js';
import type { Plan } from '../../src/plan/schema.js';
import { FakeKubeApi, type Json } from '../helpers/fake-kube-api.js';

const S = 'split.smi-spec.io';
const retry = { retries: 2, minTimeoutMs: 1, maxTimeoutMs: 2, conflictRetries: 3 };
const target = { namespace: 'learning', trafficSplit: 'analyzer', stableBackend: 'analyzer-stable', canaryBackend: 'analyzer-canary' };

function trafficSplit(version = 'v1alpha2') {
  return {
    apiVersion: `${S}/${version}`,
    kind: 'TrafficSplit',
    metadata: { name: 'analyzer', namespace: 'learning' },
    spec: {
      service: 'analyzer',
      backends: [
        { service: 'analyzer-stable', weight: 100 },
        { service: 'analyzer-canary', weight: 0 },
      ],
    },
  };
}

let api: FakeKubeApi;
let router: TrafficRouter;
const backends = () => (api.object(S, 'trafficsplits', 'learning', 'analyzer').spec as { backends: Array<{ service: string; weight: number }> }).backends;

beforeEach(() => {
  api = new FakeKubeApi();
  api.serveGroup(S, ['v1alpha2', 'v1alpha1'], 'v1alpha2');
  api.create(trafficSplit(), 'trafficsplits');
  router = guardSplits(new SmiRouter(api.client(), target, silentLogger(), retry), smiRouter);
});
afterEach(() => api.close());

describe('smi router', () => {
  it('reads the split from the TrafficSplit the cluster serves (v1alpha2 here)', async () => {
    expect(router.target).toBe('TrafficSplit learning/analyzer');
    expect(await router.read()).toEqual({ weight: 0, mirror: 0 });
    expect(api.requests.map((r) => r.path)).toEqual([`/apis/${S}`, `/apis/${S}/v1alpha2/namespaces/learning/trafficsplits/analyzer`]);
  });

  it('applies a split with a JSON patch that tests spec.backends and replaces only the two weights', async () => {
    expect(await router.apply({ weight: 20, mirror: 0 })).toEqual({ weight: 20, mirror: 0 });
    const [patch] = api.patches();
    expect(patch!.contentType).toBe('application/json-patch+json');
    expect(patch!.body).toEqual([
      { op: 'test', path: '/spec/backends', value: [{ service: 'analyzer-stable', weight: 100 }, { service: 'analyzer-canary', weight: 0 }] },
      { op: 'replace', path: '/spec/backends/0/weight', value: 80 },
      { op: 'replace', path: '/spec/backends/1/weight', value: 20 },
    ]);
    expect(backends()).toEqual([{ service: 'analyzer-stable', weight: 80 }, { service: 'analyzer-canary', weight: 20 }]);
    expect(api.object(S, 'trafficsplits', 'learning', 'analyzer').spec).toMatchObject({ service: 'analyzer' });
    expect(await router.apply({ weight: 2.5, mirror: 0 })).toEqual({ weight: 2.5, mirror: 0 });
    expect(backends().map((b) => b.weight)).toEqual([9750, 250]);
  });

  it('prefers v1alpha4 when the cluster prefers it, and refuses a cluster serving only v1alpha1', async () => {
    api.close();
    api = new FakeKubeApi();
    api.serveGroup(S, ['v1alpha4', 'v1alpha3', 'v1alpha2'], 'v1alpha4');
    api.create(trafficSplit('v1alpha4'), 'trafficsplits');
    const r = new SmiRouter(api.client(), target, silentLogger(), retry);
    await r.apply({ weight: 5, mirror: 0 });
    expect(api.patches()[0]!.path).toBe(`/apis/${S}/v1alpha4/namespaces/learning/trafficsplits/analyzer`);

    api.close();
    api = new FakeKubeApi();
    api.serveGroup(S, ['v1alpha1']);
    const old = new SmiRouter(api.client(), target, silentLogger(), retry);
    await expect(old.read()).rejects.toThrow(`the cluster serves ${S} versions v1alpha1; rollgate understands v1alpha4, v1alpha3, v1alpha2`);
  });

  it('is idempotent: no PATCH when the weights already give the share', async () => {
    api.edit(S, 'trafficsplits', 'learning', 'analyzer', (o) => {
      (o.spec as { backends: Array<{ weight: number }> }).backends = [{ service: 'analyzer-stable', weight: 900 } as never, { service: 'analyzer-canary', weight: 100 } as never];
    });
    expect(await router.apply({ weight: 10, mirror: 0 })).toEqual({ weight: 10, mirror: 0 });
    expect(api.patches()).toHaveLength(0);
  });

  it('cannot mirror', async () => {
    await expect(router.apply({ weight: 10, mirror: 1 })).rejects.toThrow('smi cannot mirror requests');
  });

  it('a missing TrafficSplit, a missing backend and a third weighted backend are clear errors', async () => {
    const gone = new SmiRouter(api.client(), { ...target, trafficSplit: 'other' }, silentLogger(), retry);
    await expect(gone.read()).rejects.toThrow(new RouterError('smi', 'TrafficSplit learning/other', 'TrafficSplit learning/other not found'));
    const wrong = new SmiRouter(api.client(), { ...target, canaryBackend: 'analyzer-v2' }, silentLogger(), retry);
    await expect(wrong.apply({ weight: 10, mirror: 0 })).rejects.toThrow(
      'TrafficSplit learning/analyzer has no backend for the canary Service analyzer-v2 (backends: analyzer-stable, analyzer-canary)',
    );
    api.edit(S, 'trafficsplits', 'learning', 'analyzer', (o) => {
      (o.spec as { backends: Json[] }).backends.push({ service: 'analyzer-legacy', weight: 10 });
    });
    await expect(router.apply({ weight: 10, mirror: 0 })).rejects.toThrow('also sends traffic to analyzer-legacy (weight 10)');
    expect(api.patches()).toHaveLength(0);
  });

  it('a concurrent edit of the backends fails the test op; the router re-reads and retries', async () => {
    let edits = 0;
    api.onPatch = () => {
      if (edits++ > 0) return;
      api.edit(S, 'trafficsplits', 'learning', 'analyzer', (o) => {
        (o.spec as { backends: Json[] }).backends.push({ service: 'analyzer-shadow', weight: 0 });
      });
    };
    expect(await router.apply({ weight: 30, mirror: 0 })).toEqual({ weight: 30, mirror: 0 });
    expect(api.patches()).toHaveLength(2);
    expect(backends()).toEqual([{ service: 'analyzer-stable', weight: 70 }, { service: 'analyzer-canary', weight: 30 }, { service: 'analyzer-shadow', weight: 0 }]);
  });

  it('a 409 Conflict → re-read → retry succeeds', async () => {
    api.failNext('PATCH', 409);
    expect(await router.apply({ weight: 30, mirror: 0 })).toEqual({ weight: 30, mirror: 0 });
    expect(api.patches()).toHaveLength(2);
  });

  it('a persistent 500 on GET is retried, then thrown, and nothing is written', async () => {
    api.failNext('GET', 500, 3);
    await expect(router.apply({ weight: 30, mirror: 0 })).rejects.toThrow(/router smi \(TrafficSplit learning\/analyzer\): Kubernetes API GET .*500 InternalError \(gave up after 3 attempts\)/);
    expect(api.patches()).toHaveLength(0);
    expect(backends().map((b) => b.weight)).toEqual([100, 0]);
  });

  it('the registry builds it', () => {
    const plan = { metadata: { name: 'a', namespace: 'learning' }, spec: { traffic: { router: 'smi', smi: { trafficSplit: 'analyzer', stableBackend: 'x', canaryBackend: 'y' } } } } as unknown as Plan;
    expect(createRouter(plan, { log: silentLogger(), kube: api.client() }).target).toBe('TrafficSplit learning/analyzer');
  });
});
