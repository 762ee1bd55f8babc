/**
 * The istio router against a nock-simulated API server: VirtualService http route destination
 * weights (integers summing to 100), mirror + mirrorPercentage, JSON patch testing the route.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { IstioRouter, istioRouter } from '../../src/routers/istio.js';
import type { TrafficRouter } from '../../src/core/router.js';
import { guardSplits } from '../../src/routers/split-guard.js';
import { createRouter } from '../../src/routers/registry.js';
import { silentLogger } from '../../src/support/log.js';
import type { Plan } from '../../src/plan/schema.js';
import { FakeKubeApi, type Json } from '../helpers/fake-kube-api.js';

const I = 'networking.istio.io';
const retry = { retries: 2, minTimeoutMs: 1, maxTimeoutMs: 2, conflictRetries: 3 };
const target = {
  namespace: 'learning',
  virtualService: 'analyzer',
  route: 'primary',
  stable: { host: 'analyzer.learning.svc.cluster.local', subset: 'stable' },
  canary: { host: 'analyzer.learning.svc.cluster.local', subset: 'canary' },
};

type Http = { name?: string; route: Array<{ destination: { host: string; subset?: string }; weight?: number }>; mirror?: Json; mirrorPercentage?: Json; [k: string]: Json | undefined };

function virtualService() {
  return {
    apiVersion: `${I}/v1`,
    kind: 'VirtualService',
    metadata: { name: 'analyzer', namespace: 'learning' },
    spec: {
      hosts: ['analyzer.learning.svc.cluster.local'],
      http: [
        { name: 'debug', match: [{ headers: { 'x-debug': { exact: '1' } } }], route: [{ destination: { host: 'analyzer.learning.svc.cluster.local', subset: 'canary' } }] },
        {
          name: 'primary',
          retries: { attempts: 3, perTryTimeout: '2s' },
          route: [
            { destination: { host: 'analyzer.learning.svc.cluster.local', subset: 'stable', port: { number: 8080 } }, weight: 100 },
            { destination: { host: 'analyzer.learning.svc.cluster.local', subset: 'canary', port: { number: 8080 } }, weight: 0 },
          ],
        },
      ],
    },
  };
}

let api: FakeKubeApi;
let router: TrafficRouter;
const http = (i = 1) => (api.object(I, 'virtualservices', 'learning', 'analyzer').spec as { http: Http[] }).http[i]!;

beforeEach(() => {
  api = new FakeKubeApi();
  api.serveGroup(I, ['v1', 'v1beta1', 'v1alpha3']);
  api.create(virtualService(), 'virtualservices');
  router = guardSplits(new IstioRouter(api.client(), target, silentLogger(), retry), istioRouter);
});
afterEach(() => api.close());

describe('istio router', () => {
  it('reads the split from the named http route', async () => {
    expect(router.target).toBe('VirtualService learning/analyzer');
    expect(await router.read()).toEqual({ weight: 0, mirror: 0 });
    expect(api.requests[1]!.path).toBe(`/apis/${I}/v1/namespaces/learning/virtualservices/analyzer`);
  });

  it('applies weights and a mirror with a JSON patch that tests the route and touches only it', async () => {
    const before = http();
    expect(await router.apply({ weight: 10, mirror: 2.5 })).toEqual({ weight: 10, mirror: 2.5 });
    const [patch] = api.patches();
    expect(patch!.contentType).toBe('application/json-patch+json');
    expect(patch!.body).toEqual([
      { op: 'test', path: '/spec/http/1', value: before },
      { op: 'add', path: '/spec/http/1/route/0/weight', value: 90 },
      { op: 'add', path: '/spec/http/1/route/1/weight', value: 10 },
      { op: 'add', path: '/spec/http/1/mirror', value: { host: 'analyzer.learning.svc.cluster.local', subset: 'canary' } },
      { op: 'add', path: '/spec/http/1/mirrorPercentage', value: { value: 2.5 } },
    ]);
    expect(http(0)).toEqual(virtualService().spec.http[0]); // the other route is untouched
    expect(http().retries).toEqual({ attempts: 3, perTryTimeout: '2s' });
    expect(http().route[1]!.destination).toEqual({ host: 'analyzer.learning.svc.cluster.local', subset: 'canary', port: { number: 8080 } });
    expect(await router.read()).toEqual({ weight: 10, mirror: 2.5 });
  });

  it('rounds to the integer weights Istio takes and returns the effective split', async () => {
    expect(await router.apply({ weight: 0.4, mirror: 0 })).toEqual({ weight: 0, mirror: 0 });
    expect(api.patches()).toHaveLength(0); // 0 % is already in effect
    expect(await router.apply({ weight: 12.6, mirror: 0 })).toEqual({ weight: 13, mirror: 0 });
    expect(http().route.map((r) => r.weight)).toEqual([87, 13]);
  });

  it('removes its mirror at 0, and never replaces a mirror to another destination', async () => {
    await router.apply({ weight: 10, mirror: 5 });
    await router.apply({ weight: 20, mirror: 0 });
    expect(http().mirror).toBeUndefined();
    expect(http().mirrorPercentage).toBeUndefined();
    api.edit(I, 'virtualservices', 'learning', 'analyzer', (o) => {
      (o.spec as { http: Http[] }).http[1]!.mirror = { host: 'recorder.learning.svc.cluster.local' };
    });
    expect(await router.read()).toEqual({ weight: 20, mirror: 0 });
    await expect(router.apply({ weight: 20, mirror: 5 })).rejects.toThrow('already mirrors to recorder.learning.svc.cluster.local; rollgate will not replace another mirror');
    expect(api.patches()).toHaveLength(2);
  });

  it('is idempotent: no PATCH when the route already carries the split', async () => {
    await router.apply({ weight: 50, mirror: 10 });
    await router.apply({ weight: 50, mirror: 10 });
    expect(api.patches()).toHaveLength(1);
  });

  it('uses the first http route when no route is named', async () => {
    api.edit(I, 'virtualservices', 'learning', 'analyzer', (o) => {
      (o.spec as { http: Http[] }).http.reverse();
    });
    const first = new IstioRouter(api.client(), { ...target, route: undefined }, silentLogger(), retry);
    await first.apply({ weight: 40, mirror: 0 });
    expect(http(0).route.map((r) => r.weight)).toEqual([60, 40]);
  });

  it('a missing VirtualService, route or destination is a clear error', async () => {
    const gone = new IstioRouter(api.client(), { ...target, virtualService: 'nope' }, silentLogger(), retry);
    await expect(gone.read()).rejects.toThrow('VirtualService learning/nope not found');
    const noRoute = new IstioRouter(api.client(), { ...target, route: 'canary-route' }, silentLogger(), retry);
    await expect(noRoute.read()).rejects.toThrow('VirtualService learning/analyzer has no http route named canary-route (http routes: debug, primary)');
    const noDest = new IstioRouter(api.client(), { ...target, canary: { host: 'analyzer.learning.svc.cluster.local', subset: 'v2' } }, silentLogger(), retry);
    await expect(noDest.apply({ weight: 10, mirror: 0 })).rejects.toThrow(
      'http route primary of VirtualService learning/analyzer has no destination for the canary analyzer.learning.svc.cluster.local subset v2 (destinations: analyzer.learning.svc.cluster.local subset stable, analyzer.learning.svc.cluster.local subset canary)',
    );
  });

  it('a concurrent edit of the route fails the test op; the router re-reads and keeps both edits', async () => {
    let edits = 0;
    api.onPatch = () => {
      if (edits++ > 0) return;
      api.edit(I, 'virtualservices', 'learning', 'analyzer', (o) => {
        (o.spec as { http: Http[] }).http[1]!.timeout = '5s';
      });
    };
    expect(await router.apply({ weight: 30, mirror: 0 })).toEqual({ weight: 30, mirror: 0 });
    expect(api.patches()).toHaveLength(2);
    expect(http().timeout).toBe('5s');
  });

  it('a 409 Conflict → re-read → retry succeeds', async () => {
    api.failNext('PATCH', 409, 2);
    expect(await router.apply({ weight: 30, mirror: 0 })).toEqual({ weight: 30, mirror: 0 });
    expect(api.patches()).toHaveLength(3);
  });

  it('a persistent 503 is retried, then thrown; the route keeps its split', async () => {
    api.failNext('PATCH', 503, 3);
    await expect(router.apply({ weight: 30, mirror: 0 })).rejects.toThrow(/503 ServiceUnavailable \(gave up after 3 attempts\)/);
    expect(api.patches()).toHaveLength(3);
    expect(await router.read()).toEqual({ weight: 0, mirror: 0 });
  });

  it('the registry builds it', () => {
    const plan = { metadata: { name: 'a', namespace: 'learning' }, spec: { traffic: { router: 'istio', istio: target } } } as unknown as Plan;
    expect(createRouter(plan, { log: silentLogger(), kube: api.client() }).target).toBe('VirtualService learning/analyzer');
  });
});
