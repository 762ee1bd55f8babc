import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import nock from 'nock';
import { LeaderElector, type Lease } from '../../src/kube/leader.js';
import { silentLogger } from '../../src/support/log.js';
import { kubeClient, SERVER, statusError } from './kube-fixtures.js';

const LEASES = '/apis/coordination.k8s.io/v1/namespaces/rollgate-system/leases';
const LEASE = `${LEASES}/rollgate-controller`;
const T0 = Date.parse('2025-11-03T10:00:00Z');

function lease(holder: string | null, rv: string, renewTime = '2025-11-03T09:59:58.000000Z', transitions = 0): Lease {
  return {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: { name: 'rollgate-controller', namespace: 'rollgate-system', resourceVersion: rv },
    spec: { holderIdentity: holder, leaseDurationSeconds: 15, acquireTime: '2025-11-03T09:00:00.000000Z', renewTime, leaseTransitions: transitions },
  };
}

describe('leader election on the Lease rollgate-controller', () => {
  let now = T0;
  const events: string[] = [];
  beforeEach(() => {
    now = T0;
    events.length = 0;
    nock.disableNetConnect();
  });
  afterEach(() => {
    nock.cleanAll();
    nock.enableNetConnect();
  });

  const elector = (identity = 'rollgate-0') =>
    new LeaderElector({
      client: kubeClient(),
      namespace: 'rollgate-system',
      identity,
      log: silentLogger(),
      now: () => now,
      onStartedLeading: () => events.push('started'),
      onStoppedLeading: (why) => events.push(`stopped: ${why}`),
    });

  it('acquires a missing Lease by creating it with this pod as holder, 15 s duration, MicroTime stamps', async () => {
    let created: any;
    nock(SERVER)
      .get(LEASE)
      .reply(404, statusError(404, 'NotFound', 'leases.coordination.k8s.io "rollgate-controller" not found'))
      .post(LEASES, (b) => ((created = b), true))
      .reply(201, (_u, b: any) => ({ ...b, metadata: { ...b.metadata, resourceVersion: '1' } }));
    const e = elector();
    await e.tick();
    expect(created).toEqual({
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: 'rollgate-controller', namespace: 'rollgate-system' },
      spec: { holderIdentity: 'rollgate-0', leaseDurationSeconds: 15, acquireTime: '2025-11-03T10:00:00.000000Z', renewTime: '2025-11-03T10:00:00.000000Z', leaseTransitions: 0 },
    });
    expect(e.isLeader()).toBe(true);
    expect(events).toEqual(['started']);
  });

  it('renews with a PUT guarded by the resourceVersion read, keeping acquireTime', async () => {
    let put: any;
    nock(SERVER)
      .get(LEASE)
      .reply(200, lease('rollgate-0', '7'))
      .put(LEASE, (b) => ((put = b), true))
      .reply(200, (_u, b: any) => ({ ...b, metadata: { ...b.metadata, resourceVersion: '8' } }));
    const e = elector();
    await e.tick();
    expect(put.metadata.resourceVersion).toBe('7');
    expect(put.spec).toMatchObject({ holderIdentity: 'rollgate-0', acquireTime: '2025-11-03T09:00:00.000000Z', renewTime: '2025-11-03T10:00:00.000000Z', leaseTransitions: 0 });
    expect(e.isLeader()).toBe(true);
  });

  it('a leader that cannot renew stops being leader after the 10 s renew deadline, before the 15 s lease expires', async () => {
    nock(SERVER).get(LEASE).reply(200, lease('rollgate-0', '7')).put(LEASE).reply(200, lease('rollgate-0', '8'));
    const e = elector();
    await e.tick();
    expect(e.isLeader()).toBe(true);
    nock(SERVER).persist().get(LEASE).reply(503, statusError(503, 'ServiceUnavailable', 'etcd unavailable'));
    now = T0 + 5_000;
    await e.tick();
    expect(e.isLeader()).toBe(true);
    now = T0 + 9_999;
    expect(e.isLeader()).toBe(true);
    now = T0 + 10_000;
    // Even before the next renew attempt runs, the replica no longer counts as leader.
    expect(e.isLeader()).toBe(false);
    await e.tick();
    expect(events).toEqual(['started', 'stopped: could not renew lease rollgate-system/rollgate-controller within 10 s']);
  });

  it('a renew that finds another holder loses leadership at once', async () => {
    nock(SERVER).get(LEASE).reply(200, lease('rollgate-0', '7')).put(LEASE).reply(200, lease('rollgate-0', '8'));
    const e = elector();
    await e.tick();
    nock(SERVER).get(LEASE).reply(200, lease('rollgate-1', '9', '2025-11-03T10:00:04.000000Z'));
    now = T0 + 5_000;
    await e.tick();
    expect(e.isLeader()).toBe(false);
    expect(events).toEqual(['started', 'stopped: lease rollgate-system/rollgate-controller is held by rollgate-1']);
  });

  it('a standby takes over only after the holder has not renewed for a whole lease duration (on its own clock)', async () => {
    const held = lease('rollgate-1', '9', '2025-11-03T09:59:59.000000Z', 2);
    nock(SERVER).persist().get(LEASE).reply(200, held);
    const e = elector('rollgate-0');
    await e.tick(); // first sight of this renewTime: the clock starts now
    now = T0 + 14_999;
    await e.tick();
    expect(e.isLeader()).toBe(false);
    nock.cleanAll();
    let put: any;
    nock(SERVER)
      .get(LEASE)
      .reply(200, held)
      .put(LEASE, (b) => ((put = b), true))
      .reply(200, (_u, b: any) => ({ ...b, metadata: { ...b.metadata, resourceVersion: '10' } }));
    now = T0 + 15_000;
    await e.tick();
    expect(e.isLeader()).toBe(true);
    expect(put.metadata.resourceVersion).toBe('9');
    expect(put.spec).toMatchObject({ holderIdentity: 'rollgate-0', leaseTransitions: 3, acquireTime: '2025-11-03T10:00:15.000000Z' });
  });

  it('two replicas racing for an expired Lease: the one whose PUT gets 409 stays standby', async () => {
    nock(SERVER).get(LEASE).reply(200, lease(null, '9')).put(LEASE).reply(409, statusError(409, 'Conflict', 'the object has been modified'));
    const e = elector();
    await e.tick();
    expect(e.isLeader()).toBe(false);
    expect(events).toEqual([]);
  });

  it('a clean stop releases the Lease (holderIdentity cleared) so a standby need not wait for expiry', async () => {
    nock(SERVER).get(LEASE).reply(200, lease('rollgate-0', '7')).put(LEASE).reply(200, lease('rollgate-0', '8'));
    const e = elector();
    await e.tick();
    let released: any;
    nock(SERVER)
      .put(LEASE, (b) => ((released = b), true))
      .reply(200, (_u, b: any) => b);
    await e.stop({ release: true });
    expect(released.metadata.resourceVersion).toBe('8');
    expect(released.spec.holderIdentity).toBeNull();
    expect(e.isLeader()).toBe(false);
  });
});
