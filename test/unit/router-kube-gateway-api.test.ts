/**
 * The gateway-api router against a nock-simulated API server (test/helpers/fake-kube-api.ts):
 * HTTPRoute backendRef weights of one rule, RequestMirror filter, JSON patch with a `test` op.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GatewayApiRouter, gatewayApiRouter } from '../../src/routers/gateway-api.js';
import { guardSplits } from '../../src/routers/split-guard.js';
import { createRouter } from '../../src/routers/registry.js';
import { RouterError, type TrafficRouter } from '../../src/core/router.js';
import { silentLogger } from '../../src/support/log.js';
import type { Plan } from '../../src/plan/schema.js';
import { FakeKubeApi, type Json, type KubeObj } from '../helpers/fake-kube-api.js';

const G = 'gateway.networking.k8s.io';
const retry = { retries: 2, minTimeoutMs: 1, maxTimeoutMs: 2, conflictRetries: 3 };
const target = { namespace: 'learning', httpRoute: 'cohort-analyzer', rule: 0, stableBackend: 'analyzer-stable', canaryBackend: 'analyzer-canary' };

const headerFilter = { type: 'RequestHeaderModifier', requestHeaderModifier: { set: [{ name: 'x-route', value: 'api' }] } };
function httpRoute(rule0: Record<string, Json> = {}) {
  return {
    apiVersion: `${G}/v1`,
    kind: 'HTTPRoute',
    metadata: { name: 'cohort-analyzer', namespace: 'learning', labels: { app: 'cohort-analyzer' } },
    spec: {
      parentRefs: [{ group: G, kind: 'Gateway', name: 'public', namespace: 'gateways' }],
      hostnames: ['analyzer.example.com'],
      rules: [
        {
          matches: [{ path: { type: 'PathPrefix', value: '/api' } }],
          filters: [headerFilter],
          backendRefs: [
            { group: '', kind: 'Service', name: 'analyzer-stable', port: 8080, weight: 100 },
            { group: '', kind: 'Service', name: 'analyzer-canary', port: 8080, weight: 0 },
          ],
          ...rule0,
        },
        { matches: [{ path: { type: 'PathPrefix', value: '/' } }], backendRefs: [{ group: '', kind: 'Service', name: 'web', port: 80, weight: 1 }] },
      ],
    },
    status: { parents: [{ parentRef: { name: 'public', namespace: 'gateways' }, controllerName: 'example.net/gateway', conditions: [{ type: 'Accepted', status: 'True', reason: 'Accepted' }] }] },
  };
}

let api: FakeKubeApi;
let router: TrafficRouter;
const stored = () => api.object(G, 'httproutes', 'learning', 'cohort-analyzer');
const rule = (o: KubeObj, i = 0) => (o.spec as { rules: Array<Record<string, Json>> }).rules[i]!;

beforeEach(() => {
  api = new FakeKubeApi();
  api.serveGroup(G, ['v1', 'v1beta1']);
  api.create(httpRoute(), 'httproutes');
  router = guardSplits(new GatewayApiRouter(api.client(), target, silentLogger(), retry), gatewayApiRouter);
});
afterEach(() => api.close());

describe('gateway-api router', () => {
  it('reads the split from the live HTTPRoute rule (v1 discovered from the API group)', async () => {
    expect(router.target).toBe('HTTPRoute learning/cohort-analyzer');
    expect(await router.read()).toEqual({ weight: 0, mirror: 0 });
    expect(api.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      `GET /apis/${G}`,
      `GET /apis/${G}/v1/namespaces/learning/httproutes/cohort-analyzer`,
    ]);
  });

  it('applies 10% with a 5% mirror by a JSON patch that tests the rule and touches only its weights and one filter', async () => {
    const before = stored();
    expect(await router.apply({ weight: 10, mirror: 5 })).toEqual({ weight: 10, mirror: 5 });
    const [patch] = api.patches();
    expect(patch!.contentType).toBe('application/json-patch+json');
    expect(patch!.body).toEqual([
      { op: 'test', path: '/spec/rules/0', value: rule(before) },
      { op: 'add', path: '/spec/rules/0/backendRefs/0/weight', value: 90 },
      { op: 'add', path: '/spec/rules/0/backendRefs/1/weight', value: 10 },
      { op: 'add', path: '/spec/rules/0/filters/-', value: { type: 'RequestMirror', requestMirror: { backendRef: { name: 'analyzer-canary', port: 8080 }, percent: 5 } } },
    ]);
    const after = stored();
    expect(rule(after, 1)).toEqual(rule(before, 1)); // the other rule is untouched
    expect(rule(after).filters).toEqual([headerFilter, { type: 'RequestMirror', requestMirror: { backendRef: { name: 'analyzer-canary', port: 8080 }, percent: 5 } }]);
    expect(rule(after).matches).toEqual(rule(before).matches);
    expect(after.status).toEqual(before.status);
    expect(Number(after.metadata.resourceVersion)).toBeGreaterThan(Number(before.metadata.resourceVersion));
    expect(await router.read()).toEqual({ weight: 10, mirror: 5 });
  });

  it('expresses fractional shares exactly with weights over 10000 and a mirror fraction', async () => {
    expect(await router.apply({ weight: 0.5, mirror: 0.25 })).toEqual({ weight: 0.5, mirror: 0.25 });
    const refs = rule(stored()).backendRefs as Array<{ weight: number }>;
    expect(refs.map((r) => r.weight)).toEqual([9950, 50]);
    expect((rule(stored()).filters as Json[])[1]).toEqual({ type: 'RequestMirror', requestMirror: { backendRef: { name: 'analyzer-canary', port: 8080 }, fraction: { numerator: 25, denominator: 10000 } } });
    // Rounded to the 0.01 % the weights can express, and says so.
    expect(await router.apply({ weight: 33.333, mirror: 0 })).toEqual({ weight: 33.33, mirror: 0 });
  });

  it('is idempotent: no PATCH when the rule already carries the split, even on another weight scale', async () => {
    api.edit(G, 'httproutes', 'learning', 'cohort-analyzer', (o) => {
      const refs = rule(o).backendRefs as Array<{ weight: number }>;
      refs[0]!.weight = 1800;
      refs[1]!.weight = 200;
    });
    expect(await router.apply({ weight: 10, mirror: 0 })).toEqual({ weight: 10, mirror: 0 });
    expect(api.patches()).toHaveLength(0);
    await router.apply({ weight: 25, mirror: 0 });
    await router.apply({ weight: 25, mirror: 0 });
    expect(api.patches()).toHaveLength(1);
  });

  it('removes only its own mirror filter when the mirror goes back to 0', async () => {
    await router.apply({ weight: 10, mirror: 5 });
    expect(await router.apply({ weight: 20, mirror: 0 })).toEqual({ weight: 20, mirror: 0 });
    expect(api.patches()[1]!.body).toContainEqual({ op: 'remove', path: '/spec/rules/0/filters/1' });
    expect(rule(stored()).filters).toEqual([headerFilter]);
  });

  it('adds a filters list to a rule that has none, and reads a filter without percent as 100%', async () => {
    api.edit(G, 'httproutes', 'learning', 'cohort-analyzer', (o) => {
      delete rule(o).filters;
    });
    await router.apply({ weight: 10, mirror: 50 });
    expect(api.patches()[0]!.body).toContainEqual({ op: 'add', path: '/spec/rules/0/filters', value: [{ type: 'RequestMirror', requestMirror: { backendRef: { name: 'analyzer-canary', port: 8080 }, percent: 50 } }] });
    api.edit(G, 'httproutes', 'learning', 'cohort-analyzer', (o) => {
      delete (rule(o).filters as Array<{ requestMirror: Record<string, Json> }>)[0]!.requestMirror.percent;
    });
    expect(await router.read()).toEqual({ weight: 10, mirror: 100 });
  });

  it('an HTTPRoute that does not exist is a RouterError naming it', async () => {
    const missing = new GatewayApiRouter(api.client(), { ...target, httpRoute: 'nope' }, silentLogger(), retry);
    await expect(missing.apply({ weight: 10, mirror: 0 })).rejects.toThrow(RouterError);
    await expect(missing.read()).rejects.toThrow('router gateway-api (HTTPRoute learning/nope): HTTPRoute learning/nope not found');
  });

  it('a cluster without the Gateway API CRDs is told so', async () => {
    api.close();
    api = new FakeKubeApi(); // serves no API groups
    const r = new GatewayApiRouter(api.client(), target, silentLogger(), retry);
    await expect(r.read()).rejects.toThrow(`the API group ${G} is not served by this cluster: is the HTTPRoute CRD installed?`);
  });

  it('a missing rule, a missing backendRef or a third weighted backend is a clear error, and nothing is written', async () => {
    const r3 = new GatewayApiRouter(api.client(), { ...target, rule: 3 }, silentLogger(), retry);
    await expect(r3.apply({ weight: 10, mirror: 0 })).rejects.toThrow('HTTPRoute learning/cohort-analyzer has no rule at index 3 (it has 2 rules)');
    const wrong = new GatewayApiRouter(api.client(), { ...target, canaryBackend: 'analyzer-next' }, silentLogger(), retry);
    await expect(wrong.apply({ weight: 10, mirror: 0 })).rejects.toThrow(
      'rule 0 of HTTPRoute learning/cohort-analyzer has no backendRef to the canary Service analyzer-next (backendRefs: analyzer-stable, analyzer-canary)',
    );
    api.edit(G, 'httproutes', 'learning', 'cohort-analyzer', (o) => {
      (rule(o).backendRefs as Json[]).push({ name: 'legacy', port: 8080 }); // weight omitted = 1
    });
    await expect(router.apply({ weight: 10, mirror: 0 })).rejects.toThrow('also sends traffic to legacy (weight 1)');
    expect(api.patches()).toHaveLength(0);
  });

  it('a concurrent edit of the rule fails the test op (422); the router re-reads and keeps both edits', async () => {
    let edits = 0;
    api.onPatch = () => {
      if (edits++ > 0) return;
      api.edit(G, 'httproutes', 'learning', 'cohort-analyzer', (o) => {
        (rule(o).filters as Json[]).push({ type: 'ResponseHeaderModifier', responseHeaderModifier: { add: [{ name: 'x-edited', value: 'yes' }] } });
      });
    };
    expect(await router.apply({ weight: 10, mirror: 5 })).toEqual({ weight: 10, mirror: 5 });
    expect(api.patches()).toHaveLength(2);
    const filters = rule(stored()).filters as Array<{ type: string }>;
    expect(filters.map((f) => f.type)).toEqual(['RequestHeaderModifier', 'ResponseHeaderModifier', 'RequestMirror']);
  });

  it('a 409 Conflict → re-read → retry succeeds', async () => {
    api.failNext('PATCH', 409);
    expect(await router.apply({ weight: 10, mirror: 0 })).toEqual({ weight: 10, mirror: 0 });
    expect(api.requests.map((r) => r.method)).toEqual(['GET', 'GET', 'PATCH', 'GET', 'PATCH']);
  });

  it('gives up after a bounded number of conflicts, naming the object', async () => {
    api.failNext('PATCH', 409, 10);
    await expect(router.apply({ weight: 10, mirror: 0 })).rejects.toThrow('HTTPRoute learning/cohort-analyzer changed under rollgate 4 times in a row');
    expect(api.patches()).toHaveLength(4);
  });

  it('5xx, 429 and network faults are retried with backoff', async () => {
    api.failNext('GET', 500, 1);
    api.failNext('GET', 0, 1); // connection reset
    api.failNext('PATCH', 429, 1);
    expect(await router.apply({ weight: 10, mirror: 0 })).toEqual({ weight: 10, mirror: 0 });
    expect((rule(stored()).backendRefs as Array<{ weight: number }>).map((r) => r.weight)).toEqual([90, 10]);
  });

  it('a persistent 500 is thrown after the retries and the route keeps its previous split (the engine holds)', async () => {
    await router.apply({ weight: 10, mirror: 0 });
    api.failNext('PATCH', 500, 100);
    const err = await router.apply({ weight: 50, mirror: 0 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RouterError);
    expect((err as Error).message).toMatch(/^router gateway-api \(HTTPRoute learning\/cohort-analyzer\): Kubernetes API PATCH .*: 500 InternalError \(gave up after 3 attempts\)/);
    expect(api.patches()).toHaveLength(1 + 3);
    expect(await router.read()).toEqual({ weight: 10, mirror: 0 });
  });

  it('falls back to v1beta1 when that is all the cluster serves', async () => {
    api.close();
    api = new FakeKubeApi();
    api.serveGroup(G, ['v1beta1']);
    api.create({ ...httpRoute(), apiVersion: `${G}/v1beta1` }, 'httproutes');
    const r = new GatewayApiRouter(api.client(), target, silentLogger(), retry);
    expect(await r.apply({ weight: 1, mirror: 0 })).toEqual({ weight: 1, mirror: 0 });
    expect(api.patches()[0]!.path).toBe(`/apis/${G}/v1beta1/namespaces/learning/httproutes/cohort-analyzer`);
  });

  it('the registry builds it from the plan (namespace from the plan) and refuses without a Kubernetes API', () => {
    const plan = {
      metadata: { name: 'cohort-analyzer', namespace: 'learning' },
      spec: { traffic: { router: 'gateway-api', 'gateway-api': { httpRoute: 'cohort-analyzer', rule: 0, stableBackend: 'a', canaryBackend: 'b' } } },
    } as unknown as Plan;
    const r = createRouter(plan, { log: silentLogger(), kube: api.client() });
    expect(r.name).toBe('gateway-api');
    expect(r.target).toBe('HTTPRoute learning/cohort-analyzer');
    expect(() => createRouter(plan, { log: silentLogger() })).toThrow(
      'router gateway-api needs a Kubernetes API: run rollgate controller, or rollgate run with a kubeconfig',
    );
  });
});
