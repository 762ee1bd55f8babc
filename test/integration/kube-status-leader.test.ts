/**
 * `rollgate status -n NS NAME` against a real `rollgate controller` on the fake Kubernetes API:
 * the status names the Lease of its writer, and status tells a live leader from none (the
 * Lease released by a stopped controller, or left behind by a killed one: renewTime older than
 * leaseDurationSeconds); a spec edit the controller rejected shows as NOT APPLIED with the
 * InvalidPlan Event's message and the generation still running; the guard's strikes the
 * controller wrote into the status show as they do in standalone mode.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import nock from 'nock';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KubeController } from '../../src/cluster/host.js';
import { statusCommand, type StatusSummary } from '../../src/cli/status.js';
import { ScriptedProvider } from '../helpers/scripted-provider.js';
import { fileSpec, kubeClient, rolloutPlan } from '../unit/kube-fixtures.js';
import { FakeKube, startTestController } from './kube-helpers.js';
import { until } from '../helpers/until.js';

const PLAN = '/apis/rollgate.dev/v1alpha1/namespaces/learning/rolloutplans/analyzer';
const LEASE = '/apis/coordination.k8s.io/v1/namespaces/rollgate-system/leases/rollgate-controller';
const flags = { stateDir: '/nonexistent', interval: '1', namespace: 'learning' };

describe('rollgate status in a cluster: a live leader or none', () => {
  let api: FakeKube;
  let dir: string;
  let out = '';
  const controllers: KubeController[] = [];
  beforeEach(async () => {
    nock.disableNetConnect();
    nock.enableNetConnect('127.0.0.1');
    api = new FakeKube();
    dir = await mkdtemp(join(tmpdir(), 'rollgate-kube-status-'));
  });
  afterEach(async () => {
    await Promise.allSettled(controllers.splice(0).map((c) => c.stop()));
    api.close();
    nock.enableNetConnect();
    vi.restoreAllMocks();
    await rm(dir, { recursive: true, force: true });
  });

  async function status(output: 'json' | 'text'): Promise<string> {
    out = '';
    const write = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => ((out += String(chunk)), true));
    try {
      expect(await statusCommand('analyzer', { ...flags, output }, { client: kubeClient() })).toBe(0);
    } finally {
      write.mockRestore();
    }
    return out;
  }
  const json = async () => JSON.parse(await status('json')) as StatusSummary;

  const start = (value: () => number = () => 0.001) => startTestController(controllers, { providerFor: () => new ScriptedProvider(() => value()) });

  it('live while the controller leads; none once it stopped (Lease released) or was killed (Lease not renewed)', async () => {
    api.create(PLAN, rolloutPlan('analyzer', fileSpec(join(dir, 'split.json'))));
    const c = await start();
    await until(() => api.get(PLAN)?.status?.seq === 1, 10_000, 'the status written');
    expect(api.get(PLAN)!.status.controller).toEqual({ identity: 'rollgate-0', lease: 'rollgate-system/rollgate-controller' });

    const live = await json();
    expect(live.leader).toMatchObject({ state: 'live', lease: 'rollgate-system/rollgate-controller', holder: 'rollgate-0' });
    expect((await status('text')).split('\n')[0]).toMatch(/^ROLLOUT\s+/); // no warning

    // A clean stop releases the Lease: nobody leads.
    await c.stop();
    controllers.splice(0);
    const stopped = await json();
    expect(stopped.leader).toMatchObject({ state: 'none', holder: null });
    expect((await status('text')).split('\n')[0]).toBe(
      'WARNING: no live leader writes the status of these rollouts: Lease rollgate-system/rollgate-controller has no holder: no controller leads; this status is as rollgate-0 left it',
    );

    // A killed controller leaves its Lease held but no longer renewed.
    const renewed = new Date(Date.now() - 5 * 60_000).toISOString().replace('Z', '000Z');
    api.update(LEASE, (o) => ({ ...o, spec: { ...o.spec, holderIdentity: 'rollgate-0', renewTime: renewed } }));
    const killed = await json();
    expect(killed.leader?.state).toBe('none');
    expect(killed.leader?.detail).toMatch(/^no live leader: Lease rollgate-system\/rollgate-controller of rollgate-0 last renewed 5m\d* ?s? ago \(lease \d+ s\); this status is as rollgate-0 left it$/);
  }, 60_000);

  it('a spec edit the controller rejected: NOT APPLIED, with the InvalidPlan Event and the generation running', async () => {
    const target = join(dir, 'split.json');
    api.create(PLAN, rolloutPlan('analyzer', fileSpec(target)));
    await start();
    await until(() => api.get(PLAN)?.status?.seq === 1, 10_000, 'the status written');
    expect((await json()).planEdit).toBeNull();

    api.update(PLAN, (o) => ({ ...o, spec: fileSpec(target, { metrics: [{ name: 'error-rate', query: 'x', max: 'low' }] }) }));
    await until(() => api.requests.some((r) => r.method === 'POST' && r.body?.reason === 'InvalidPlan'), 10_000, 'the InvalidPlan Event');
    const s = await json();
    expect(s.planEdit).toMatchObject({ generation: 2, observedGeneration: 1, runningRevision: '1.0.0' });
    expect(s.planEdit!.errors).toHaveLength(1);
    expect(s.planEdit!.errors[0]).toMatch(/^invalid spec, .*spec\.metrics\[0\]\.max: /);
    const line = (await status('text')).split('\n').find((l) => l.startsWith('  plan edit  '));
    expect(line).toBe(`  plan edit  NOT APPLIED (${s.planEdit!.errors[0]}); running revision 1.0.0 (${s.planEdit!.runningPlanHash!.slice(0, 19)})`);
  }, 60_000);

  it("the guard's strikes: written into the status as they change, shown by status as in standalone mode", async () => {
    let errorRate = 0.5; // over max 0.01: every guard evaluation fails
    api.create(PLAN, rolloutPlan('analyzer', fileSpec(join(dir, 'split.json'), { guard: { interval: '1s', consecutive: 1000 } })));
    await start(() => errorRate);
    await until(() => (api.get(PLAN)?.status?.guard?.strikes ?? 0) >= 2, 20_000, 'two strikes in the status');
    const struck = await json();
    expect(struck.guard).toMatchObject({ consecutive: 1000, interval: '1s' });
    expect(struck.guard!.strikes).toBeGreaterThanOrEqual(2);
    const line = (await status('text')).split('\n').find((l) => l.startsWith('  guard  '));
    expect(line).toMatch(/^  guard +\d+ of 1000 strikes \(a rollback at 1000 failing evaluations in a row, every 1s\)$/);
    expect(Number(line!.match(/guard +(\d+) of/)![1])).toBeGreaterThanOrEqual(2);

    // A passing evaluation clears them, and the status says so.
    errorRate = 0.001;
    await until(() => api.get(PLAN)?.status?.guard?.strikes === 0, 20_000, 'the strikes cleared in the status');
    expect((await json()).guard).toEqual({ strikes: 0, consecutive: 1000, interval: '1s' });
    expect(api.get(PLAN)!.status.seq).toBe(1); // strikes are no decision: only the start was recorded
  }, 60_000);
});
