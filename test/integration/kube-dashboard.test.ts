/**
 * The dashboard of `rollgate controller` against the in-memory Kubernetes API: served on its
 * own address (`dashboard`), apart from /metrics; it shows the rollouts the leader runs, with
 * their records from the journal ConfigMap, and a new decision arrives as a live `record`
 * event; a controller without `dashboard` serves none. The CLI flag: `--dashboard` defaults
 * to 127.0.0.1:9465 and a malformed address is a usage error. `rollgate report -n` reads the
 * journal ConfigMap and the RolloutPlan (its phases; its Prometheus, here unreachable).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import nock from 'nock';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KubeController, KubeControllerOptions } from '../../src/cluster/host.js';
import { submitKubeRequest } from '../../src/cluster/requests.js';
import type { RolloutPage, RolloutSummary } from '../../src/dashboard/view.js';
import { fileSpec, kubeClient, rolloutPlan } from '../unit/kube-fixtures.js';
import { FakeKube, startTestController } from './kube-helpers.js';
import { until } from '../helpers/until.js';
import { rollgate } from '../e2e/run-helpers.js';
import { reportCommand } from '../../src/cli/report.js';
import { readFile } from 'node:fs/promises';

const PLAN = '/apis/rollgate.dev/v1alpha1/namespaces/learning/rolloutplans/analyzer';

describe('rollgate controller: dashboard', () => {
  let api: FakeKube;
  let dir: string;
  const controllers: KubeController[] = [];
  beforeEach(async () => {
    nock.disableNetConnect();
    nock.enableNetConnect('127.0.0.1');
    api = new FakeKube();
    dir = await mkdtemp(join(tmpdir(), 'rollgate-kube-dash-'));
  });
  afterEach(async () => {
    await Promise.allSettled(controllers.splice(0).map((c) => c.stop()));
    api.close();
    nock.enableNetConnect();
    await rm(dir, { recursive: true, force: true });
  });

  const start = (over: Partial<KubeControllerOptions> = {}) => startTestController(controllers, over);

  it('serves the rollouts it runs on its own address, with records from the ConfigMap and live events', async () => {
    api.create(PLAN, rolloutPlan('analyzer', fileSpec(join(dir, 'split.json'))));
    const c = await start({ dashboard: { host: '127.0.0.1', port: 0 } });
    expect(c.dashboardUrl).not.toBeNull();
    expect(c.dashboardUrl).not.toBe(c.url);
    const url = c.dashboardUrl!;
    await until(() => api.get(PLAN)?.status?.seq === 1, 5000, 'start journalled');

    const list = (await (await fetch(`${url}/api/rollouts`)).json()) as { rollouts: RolloutSummary[] };
    expect(list.rollouts.map((r) => r.rollout)).toEqual(['learning/analyzer']);
    expect(list.rollouts[0]).toMatchObject({ status: 'progressing', phase: 'canary', weight: 10, last: { seq: 1, decision: 'start' } });
    const page = (await (await fetch(`${url}/api/rollouts/learning/analyzer`)).json()) as RolloutPage;
    expect(page.records.map((r) => r.decision)).toEqual(['start']);
    expect(page.recordsOmitted).toBe(0);
    // The dashboard's address serves no /metrics; the metrics address no dashboard.
    expect((await fetch(`${url}/metrics`)).status).toBe(404);
    expect((await fetch(`${c.url}/api/rollouts`)).status).toBe(404);

    const ctl = new AbortController();
    const res = await fetch(`${url}/api/events?rollout=analyzer`, { signal: ctl.signal });
    let text = '';
    void (async () => {
      try {
        for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) text += Buffer.from(chunk).toString('utf8');
      } catch {
        /* aborted */
      }
    })();
    await until(() => text.includes('retry:'), 5000, 'the stream to open');
    await submitKubeRequest(kubeClient(), { namespace: 'learning', name: 'analyzer', action: 'pause', reason: 'look' }, { timeoutMs: 10_000, pollMs: 20 });
    await until(() => /event: record\ndata: .*"decision":"pause"/.test(text), 10_000, 'a live record event of the pause');
    ctl.abort();

    // The report of the same rollout, from the cluster: journal ConfigMap + RolloutPlan.
    const out = join(dir, 'report.json');
    const code = await reportCommand('analyzer', { namespace: 'learning', format: 'json', output: out, stateDir: '' }, { client: kubeClient() });
    expect(code).toBe(0);
    const report = JSON.parse(await readFile(out, 'utf8')) as RolloutPage;
    expect(report.source).toBe('report');
    expect(report.records.map((r) => r.decision)).toEqual(['start', 'pause']);
    expect(report.phases.map((p) => p.name)).toEqual(['canary', 'full']);
    expect(report.summary).toMatchObject({ rollout: 'learning/analyzer', status: 'paused' });
    // Start and pause judge no metric: nothing to range (no query is sent).
    expect(report.rangesNote).toBe('no metric was judged in the records shown: nothing to chart');
  });

  it('without a dashboard address there is no dashboard', async () => {
    const c = await start();
    expect(c.dashboardUrl).toBeNull();
    expect((await fetch(`${c.url}/api/rollouts`)).status).toBe(404);
  });

  it('--dashboard: the default is loopback port 9465; a malformed address is a usage error', async () => {
    const help = await rollgate(['controller', '--help']);
    expect(help.stdout).toMatch(/--dashboard <host:port>[\s\S]*default: "127\.0\.0\.1:9465"/);
    const bad = await rollgate(['controller', '--dashboard', 'nowhere']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--dashboard: expected host:port (e.g. 127.0.0.1:9465) or off, got "nowhere"');
  });
});
