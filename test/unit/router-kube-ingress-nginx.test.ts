/**
 * The ingress-nginx router against a nock-simulated API server: canary annotations on the
 * canary Ingress, merge patch guarded by metadata.resourceVersion.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CANARY, CANARY_WEIGHT, CANARY_WEIGHT_TOTAL, IngressNginxRouter, ingressNginxRouter } from '../../src/routers/ingress-nginx.js';
import { guardSplits } from '../../src/routers/split-guard.js';
import { createRouter } from '../../src/routers/registry.js';
import { RouterError, type TrafficRouter } from '../../src/core/router.js';
import { silentLogger } from '../../src/support/log.js';
import type { Plan } from '../../src/plan/schema.js';
import { FakeKubeApi } from '../helpers/fake-kube-api.js';

const N = 'networking.k8s.io';
const retry = { retries: 2, minTimeoutMs: 1, maxTimeoutMs: 2, conflictRetries: 3 };

function canaryIngress(annotations: Record<string, string> = {}) {
  return {
    apiVersion: `${N}/v1`,
    kind: 'Ingress',
    metadata: { name: 'analyzer-canary', namespace: 'learning', annotations: { 'nginx.ingress.kubernetes.io/proxy-body-size': '8m', ...annotations } },
    spec: {
      ingressClassName: 'nginx',
      rules: [{ host: 'analyzer.example.com', http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'analyzer-canary', port: { number: 8080 } } } }] } }],
    },
    status: { loadBalancer: { ingress: [{ ip: '203.0.113.10' }] } },
  };
}

let api: FakeKubeApi;
let router: TrafficRouter;
const stored = () => api.object(N, 'ingresses', 'learning', 'analyzer-canary');
const annotations = () => stored().metadata.annotations as Record<string, string>;

beforeEach(() => {
  api = new FakeKubeApi();
  api.create(canaryIngress(), 'ingresses');
  router = guardSplits(new IngressNginxRouter(api.client(), { namespace: 'learning', canaryIngress: 'analyzer-canary' }, silentLogger(), retry), ingressNginxRouter);
});
afterEach(() => api.close());

describe('ingress-nginx router', () => {
  it('reads no split from an Ingress not yet marked canary, and the share from its annotations', async () => {
    expect(router.target).toBe('Ingress learning/analyzer-canary');
    expect(await router.read()).toBeNull();
    api.edit(N, 'ingresses', 'learning', 'analyzer-canary', (o) => {
      Object.assign(o.metadata.annotations as object, { [CANARY]: 'true', [CANARY_WEIGHT]: '30' });
    });
    expect(await router.read()).toEqual({ weight: 30, mirror: 0 });
    expect(api.requests[0]!.path).toBe('/apis/networking.k8s.io/v1/namespaces/learning/ingresses/analyzer-canary');
  });

  it('applies 10% as a merge patch of its three annotations with the resourceVersion it read', async () => {
    const before = stored();
    expect(await router.apply({ weight: 10, mirror: 0 })).toEqual({ weight: 10, mirror: 0 });
    const [patch] = api.patches();
    expect(patch!.contentType).toBe('application/merge-patch+json');
    expect(patch!.body).toEqual({
      metadata: { resourceVersion: before.metadata.resourceVersion, annotations: { [CANARY]: 'true', [CANARY_WEIGHT]: '10', [CANARY_WEIGHT_TOTAL]: '100' } },
    });
    const after = stored();
    expect(annotations()['nginx.ingress.kubernetes.io/proxy-body-size']).toBe('8m');
    expect(after.spec).toEqual(before.spec);
    expect(after.status).toEqual(before.status);
  });

  it('expresses 0.5% as 50 of a canary-weight-total of 10000, and back to a total of 100', async () => {
    expect(await router.apply({ weight: 0.5, mirror: 0 })).toEqual({ weight: 0.5, mirror: 0 });
    expect(annotations()).toMatchObject({ [CANARY_WEIGHT]: '50', [CANARY_WEIGHT_TOTAL]: '10000' });
    expect(await router.apply({ weight: 100, mirror: 0 })).toEqual({ weight: 100, mirror: 0 });
    expect(annotations()).toMatchObject({ [CANARY_WEIGHT]: '100', [CANARY_WEIGHT_TOTAL]: '100' });
  });

  it('reads a canary-weight-total of 100 or less as 100, as ingress-nginx does', async () => {
    api.edit(N, 'ingresses', 'learning', 'analyzer-canary', (o) => {
      Object.assign(o.metadata.annotations as object, { [CANARY]: 'true', [CANARY_WEIGHT]: '20', [CANARY_WEIGHT_TOTAL]: '50' });
    });
    expect(await router.read()).toEqual({ weight: 20, mirror: 0 });
  });

  it('is idempotent: no PATCH when the annotations already say so', async () => {
    await router.apply({ weight: 10, mirror: 0 });
    await router.apply({ weight: 10, mirror: 0 });
    api.edit(N, 'ingresses', 'learning', 'analyzer-canary', (o) => {
      Object.assign(o.metadata.annotations as object, { [CANARY_WEIGHT]: '1000', [CANARY_WEIGHT_TOTAL]: '10000' });
    });
    await router.apply({ weight: 10, mirror: 0 });
    expect(api.patches()).toHaveLength(1);
  });

  it('refuses a mirror, which ingress-nginx cannot do, without writing', async () => {
    await expect(router.apply({ weight: 10, mirror: 5 })).rejects.toThrow('ingress-nginx cannot mirror requests (mirror 5% requested)');
    expect(api.requests).toHaveLength(0);
  });

  it('a canary Ingress that does not exist is a RouterError naming it', async () => {
    const r = new IngressNginxRouter(api.client(), { namespace: 'learning', canaryIngress: 'gone' }, silentLogger(), retry);
    await expect(r.apply({ weight: 10, mirror: 0 })).rejects.toThrow(RouterError);
    await expect(r.apply({ weight: 10, mirror: 0 })).rejects.toThrow('router ingress-nginx (Ingress learning/gone): Ingress learning/gone not found');
  });

  it('a garbled canary-weight annotation is named', async () => {
    api.edit(N, 'ingresses', 'learning', 'analyzer-canary', (o) => {
      Object.assign(o.metadata.annotations as object, { [CANARY]: 'true', [CANARY_WEIGHT]: 'ten' });
    });
    await expect(router.read()).rejects.toThrow(`annotation ${CANARY_WEIGHT} is "ten", expected a non-negative integer`);
  });

  it('a concurrent edit makes the stale resourceVersion a 409; the router re-reads and keeps the other edit', async () => {
    let edits = 0;
    api.onPatch = () => {
      if (edits++ > 0) return;
      api.edit(N, 'ingresses', 'learning', 'analyzer-canary', (o) => {
        Object.assign(o.metadata.annotations as object, { 'team.example.com/owner': 'learning' });
      });
    };
    expect(await router.apply({ weight: 25, mirror: 0 })).toEqual({ weight: 25, mirror: 0 });
    expect(api.patches()).toHaveLength(2);
    expect(annotations()).toMatchObject({ 'team.example.com/owner': 'learning', [CANARY_WEIGHT]: '25' });
  });

  it('a persistent 500 is retried, then thrown; the Ingress keeps its previous split', async () => {
    await router.apply({ weight: 10, mirror: 0 });
    api.failNext('PATCH', 500, 3);
    await expect(router.apply({ weight: 50, mirror: 0 })).rejects.toThrow(/500 InternalError \(gave up after 3 attempts\)/);
    expect(api.patches()).toHaveLength(1 + 3);
    expect(await router.read()).toEqual({ weight: 10, mirror: 0 });
    api.failNext('GET', 503, 2);
    expect(await router.apply({ weight: 50, mirror: 0 })).toEqual({ weight: 50, mirror: 0 });
  });

  it('verifies the patch response: a webhook that rewrites the weight is an error', async () => {
    api.admission = (o) => {
      (o.metadata.annotations as Record<string, string>)[CANARY_WEIGHT] = '0';
    };
    await expect(router.apply({ weight: 10, mirror: 0 })).rejects.toThrow(
      'the API accepted the patch but Ingress learning/analyzer-canary now carries 0%/0% mirror instead of 10%/0% mirror',
    );
  });

  it('forbidden by RBAC is said with the permission it needs', async () => {
    api.failNext('GET', 403);
    await expect(router.read()).rejects.toThrow('forbidden to get Ingress learning/analyzer-canary: rollgate needs get and patch on ingresses.networking.k8s.io (RBAC)');
  });

  it('the registry builds it with the namespace defaulting to the plan, then default', () => {
    const plan = (ns?: string) =>
      ({ metadata: { name: 'a', ...(ns ? { namespace: ns } : {}) }, spec: { traffic: { router: 'ingress-nginx', 'ingress-nginx': { canaryIngress: 'analyzer-canary' } } } }) as unknown as Plan;
    expect(createRouter(plan('learning'), { log: silentLogger(), kube: api.client() }).target).toBe('Ingress learning/analyzer-canary');
    expect(createRouter(plan(), { log: silentLogger(), kube: api.client() }).target).toBe('Ingress default/analyzer-canary');
    expect(() => createRouter(plan(), { log: silentLogger() })).toThrow('router ingress-nginx needs a Kubernetes API');
  });
});
