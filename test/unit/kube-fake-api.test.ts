/**
 * The fake Kubernetes APIs of the tests behave as kube-apiserver does for a resource with a
 * status subresource: a PATCH or PUT of the main resource ignores `.status` (and keeps it),
 * a PATCH of `/status` ignores everything but `.status`, and only a spec change moves
 * metadata.generation.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import nock from 'nock';
import { PATCH } from '../../src/kube/client.js';
import { FakeKube } from '../integration/kube-helpers.js';
import { FakeKubeApi } from '../helpers/fake-kube-api.js';
import { kubeClient, rolloutPlan } from './kube-fixtures.js';

const PLAN = '/apis/rollgate.dev/v1alpha1/namespaces/learning/rolloutplans/analyzer';
const STATUS = { status: 'progressing', seq: 3, lastRequest: { id: 'r1', accepted: true, message: 'ok' } };

describe('FakeKube (controller integration tests)', () => {
  let api: FakeKube;
  beforeEach(() => {
    nock.disableNetConnect();
    api = new FakeKube();
    api.create(PLAN, { ...rolloutPlan('analyzer', { revision: '1' }), status: STATUS } as any);
  });
  afterEach(() => {
    api.close();
    nock.enableNetConnect();
  });

  it('a merge patch of the main resource keeps the status and ignores status changes', async () => {
    const c = kubeClient();
    await c.patch(PLAN, { metadata: { annotations: { 'rollgate.dev/request': '{}' } } }, PATCH.merge);
    expect(api.get(PLAN)!.status).toEqual(STATUS);
    expect(api.get(PLAN)!.metadata.generation).toBe(1);
    await c.patch(PLAN, { status: { seq: 99 }, spec: { revision: '2' } }, PATCH.merge);
    expect(api.get(PLAN)!.status).toEqual(STATUS);
    expect(api.get(PLAN)!.spec).toEqual({ revision: '2' });
    expect(api.get(PLAN)!.metadata.generation).toBe(2);
  });

  it('a JSON patch or a PUT of the main resource keeps the status', async () => {
    const c = kubeClient();
    await c.patch(PLAN, [{ op: 'replace', path: '/status/seq', value: 7 }, { op: 'add', path: '/metadata/labels', value: { a: 'b' } }], PATCH.json);
    expect(api.get(PLAN)!.status).toEqual(STATUS);
    expect(api.get(PLAN)!.metadata.labels).toEqual({ a: 'b' });
    const current = await c.get<any>(PLAN);
    await c.put(PLAN, { ...current, status: { seq: 1 } });
    expect(api.get(PLAN)!.status).toEqual(STATUS);
  });

  it('a patch of /status changes the status only', async () => {
    const c = kubeClient();
    await c.patch(`${PLAN}/status`, { metadata: { annotations: { x: 'y' } }, spec: { revision: '9' }, status: { seq: 4 } }, PATCH.merge);
    const o = api.get(PLAN)!;
    expect(o.status).toEqual({ ...STATUS, seq: 4 });
    expect(o.spec).toEqual({ revision: '1' });
    expect(o.metadata.annotations).toBeUndefined();
    expect(o.metadata.generation).toBe(1);
  });
});

describe('FakeKubeApi (router tests)', () => {
  let api: FakeKubeApi;
  const ROUTE = '/apis/gateway.networking.k8s.io/v1/namespaces/shop/httproutes/checkout';
  const routeStatus = { parents: [{ controllerName: 'example.net/gateway' }] };
  beforeEach(() => {
    nock.disableNetConnect();
    api = new FakeKubeApi();
    api.serveGroup('gateway.networking.k8s.io', ['v1']);
    api.create({ apiVersion: 'gateway.networking.k8s.io/v1', kind: 'HTTPRoute', metadata: { name: 'checkout', namespace: 'shop' }, spec: { rules: [] }, status: routeStatus }, 'httproutes');
  });
  afterEach(() => {
    api.close();
    nock.enableNetConnect();
  });

  it('a patch of the main resource ignores status; a patch of /status changes the status only', async () => {
    const c = api.client();
    await c.patch(ROUTE, { spec: { rules: [{}] }, status: { parents: [] } }, PATCH.merge);
    let o = api.object('gateway.networking.k8s.io', 'httproutes', 'shop', 'checkout');
    expect(o.status).toEqual(routeStatus);
    expect(o.spec).toEqual({ rules: [{}] });
    await c.patch(ROUTE, [{ op: 'remove', path: '/status' }], PATCH.json);
    expect(api.object('gateway.networking.k8s.io', 'httproutes', 'shop', 'checkout').status).toEqual(routeStatus);

    await c.patch(`${ROUTE}/status`, { spec: { rules: [] }, status: { parents: [] } }, PATCH.merge);
    o = api.object('gateway.networking.k8s.io', 'httproutes', 'shop', 'checkout');
    expect(o.status).toEqual({ parents: [] });
    expect(o.spec).toEqual({ rules: [{}] });
  });
});
