import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import nock from 'nock';
import { buildStatus, StatusWriter } from '../../src/cluster/status.js';
import { EventRecorder, EVENT_REASONS, MAX_MESSAGE_BYTES } from '../../src/cluster/events.js';
import { replay } from '../../src/core/state.js';
import { silentLogger } from '../../src/support/log.js';
import { planFrom } from '../helpers/engine.js';
import { kubeClient, mark, record, rolloutPlan, ROLLOUT, SERVER, statusError } from './kube-fixtures.js';
import { DECISIONS, type MetricResult } from '../../src/core/record.js';

const PLAN = '/apis/rollgate.dev/v1alpha1/namespaces/learning/rolloutplans/analyzer';
const loaded = planFrom(`
apiVersion: rollgate.dev/v1alpha1
kind: RolloutPlan
metadata: { name: analyzer, namespace: learning }
spec:
  revision: "1.0.0"
  prometheus: { address: "http://127.0.0.1:9" }
  traffic: { router: file, file: { path: /tmp/x.json } }
  metrics: [{ name: error-rate, query: "x", max: 0.01 }]
  phases:
    - { name: canary, weight: 10, checkpoints: [15m, 30m, 1h] }
    - { name: full, weight: 100, checkpoints: [1h] }
`);

describe('RolloutPlan status', () => {
  beforeEach(() => nock.disableNetConnect());
  afterEach(() => {
    nock.cleanAll();
    nock.enableNetConnect();
  });

  it('says where the rollout stands: phase, split, checkpoint as passed/of, last decision, last 10 records, counts', () => {
    const entries = [record(1), mark(1), ...Array.from({ length: 11 }, (_, i) => record(i + 2, i < 2 ? {} : { decision: 'hold', kind: 'checkpoint' }))];
    const state = replay(ROLLOUT, entries);
    const records = entries.filter((e) => 'seq' in e) as ReturnType<typeof record>[];
    const status = buildStatus({ generation: 3, plan: loaded.plan, planHash: loaded.hash, state, records, counts: { start: 1, continue: 2, hold: 9 } });
    expect(status).toMatchObject({
      observedGeneration: 3,
      revision: '1.0.0',
      planHash: loaded.hash,
      status: 'progressing',
      phase: 'canary',
      weight: 10,
      mirror: 0,
      checkpoint: '2/3',
      lastDecision: 'hold',
      lastDecisionAt: records.at(-1)!.at,
      nextAt: null,
      seq: 12,
      counts: { start: 1, continue: 2, hold: 9 },
    });
    expect(status.records!.map((r) => r.seq)).toEqual([3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
  });

  it('is written with a merge patch on /status carrying the resourceVersion; 409 re-reads the object and retries', async () => {
    const patches: Array<{ body: any; type: string }> = [];
    nock(SERVER)
      .patch(`${PLAN}/status`, (b) => (patches.push({ body: b, type: '' }), true))
      .matchHeader('content-type', 'application/merge-patch+json')
      .reply(409, statusError(409, 'Conflict', 'the object has been modified'))
      .get(PLAN)
      .reply(200, rolloutPlan('analyzer', {}, { resourceVersion: '205' }))
      .patch(`${PLAN}/status`, (b) => (patches.push({ body: b, type: '' }), true))
      .matchHeader('content-type', 'application/merge-patch+json')
      .reply(200, rolloutPlan('analyzer', {}, { resourceVersion: '206' }));
    const w = new StatusWriter({ client: kubeClient(), log: silentLogger() });
    w.observe(rolloutPlan('analyzer', {}, { resourceVersion: '200' }));
    await w.write('learning', 'analyzer', () => ({ status: 'progressing', weight: 10, lastRequest: { id: 'r1', accepted: true, message: 'ok', seq: null } }));
    expect(patches.map((p) => p.body.metadata.resourceVersion)).toEqual(['200', '205']);
    expect(patches[1]!.body.status).toEqual({ status: 'progressing', weight: 10, lastRequest: { id: 'r1', accepted: true, message: 'ok', seq: null } });
    expect(w.conflicts).toBe(1);
    expect(nock.isDone()).toBe(true);
  });

  it('writes queued while one is under way collapse into one write of the newest status', async () => {
    const sent: number[] = [];
    nock(SERVER)
      .persist()
      .patch(`${PLAN}/status`)
      .delay(30)
      .reply(200, (_u, b: any) => (sent.push((typeof b === 'string' ? JSON.parse(b) : b).status.seq), rolloutPlan('analyzer', {}, { resourceVersion: String(300 + sent.length) })));
    const w = new StatusWriter({ client: kubeClient(), log: silentLogger() });
    let seq = 1;
    const first = w.write('learning', 'analyzer', () => ({ seq }));
    await new Promise((r) => setTimeout(r, 5));
    seq = 2;
    void w.write('learning', 'analyzer', () => ({ seq }));
    seq = 3;
    const last = w.write('learning', 'analyzer', () => ({ seq }));
    await Promise.all([first, last]);
    expect(sent).toEqual([1, 3]);
  });

  it('is not written by a replica that is no longer the leader', async () => {
    const w = new StatusWriter({ client: kubeClient(), log: silentLogger(), allowed: () => false });
    await w.write('learning', 'analyzer', () => ({ seq: 1 })); // nock would refuse any request
    expect(w.patches).toBe(0);
  });
});

describe('decision Events', () => {
  it('every decision has a reason; rollback, abort and pause are Warnings with the values in the message', () => {
    expect(Object.keys(EVENT_REASONS).sort()).toEqual([...DECISIONS].sort());
    const rec = new EventRecorder({ client: kubeClient(), log: silentLogger(), instance: 'rollgate-0', now: () => Date.parse('2025-11-03T10:00:05Z') });
    const obj = rolloutPlan('analyzer', {}, { resourceVersion: '42' });
    const r = record(7, {
      kind: 'guard',
      decision: 'rollback',
      reason: 'guard: error-rate=0.09 > 0.05 in 2 consecutive evaluations',
      metrics: [{ name: 'error-rate', query: 'q', value: 0.09, max: 0.01, rollbackAbove: 0.05, verdict: 'fail', critical: true }],
      weight: { from: 10, to: 0 },
    });
    const e = rec.decisionEvent(obj, r);
    expect(e).toMatchObject({
      involvedObject: { apiVersion: 'rollgate.dev/v1alpha1', kind: 'RolloutPlan', name: 'analyzer', namespace: 'learning', uid: 'uid-analyzer', resourceVersion: '42' },
      reason: 'RolledBack',
      type: 'Warning',
      action: 'rollback',
      firstTimestamp: '2025-11-03T10:00:05.000Z',
      lastTimestamp: '2025-11-03T10:00:05.000Z',
      source: { component: 'rollgate' },
      reportingComponent: 'rollgate',
    });
    expect(e.metadata.name).toMatch(/^analyzer\.[0-9a-f]+$/);
    expect(e.message).toContain('error-rate=0.09 (max 0.01, rollbackAbove 0.05) fail');
    expect(e.message).toContain('weight 10→0');
    expect(rec.decisionEvent(obj, record(8, { decision: 'continue' })).type).toBe('Normal');
  });

  const sequential: MetricResult = {
    name: 'errors-vs-stable', query: 'sum(increase(x[20m]))', value: 41 / 1950, verdict: 'fail', critical: true,
    test: 'sequential', x: 41, n_c: 1950, y: 380, n_b: 38100, canaryRate: 41 / 1950, baselineRate: 380 / 38100, ratio: 2.108,
    e: 143.2, logE: Math.log(143.2), threshold: 100, alpha: 0.01, interval: { lower: 1.42, upper: 3.05 }, samples: 1950, minSamples: 1000,
  };
  const sequentialText = 'errors-vs-stable fail: e 143 >= 100, canary 2.1% (41/1,950) vs baseline 0.997% (380/38,100), x2.11 [1.42, 3.05]';
  const rec = () => new EventRecorder({ client: kubeClient(), log: silentLogger(), instance: 'rollgate-0', now: () => Date.parse('2025-11-03T10:00:05Z') });

  it("a guard rollback on a sequential metric names the test's numbers", () => {
    const r = record(9, { kind: 'guard', decision: 'rollback', reason: 'guard: errors-vs-stable: e 143 >= 100', metrics: [sequential], weight: { from: 10, to: 0 } });
    const e = rec().decisionEvent(rolloutPlan('analyzer', {}), r);
    expect(e.type).toBe('Warning');
    expect(e.message).toBe(`#9 guard at canary: rollback (guard: errors-vs-stable: e 143 >= 100) ${sequentialText}; weight 10→0`);
  });

  it('a message over the note limit keeps the numbers of the metrics that did not pass and the split; passing ones are counted', () => {
    const passing: MetricResult[] = Array.from({ length: 12 }, (_, i) => ({
      name: `latency-p99-of-endpoint-number-${i}`, query: 'q', value: 0.31, verdict: 'pass', critical: false,
      baseline: 0.3, bound: 0.36, ratio: 1.0333, tolerance: 0.2, slack: 0.005,
    }));
    const held: MetricResult = {
      name: 'latency-shift', query: 'q', value: null, verdict: 'nodata', critical: true, test: 'mann-whitney',
      points: { canary: 12, baseline: 40 }, dropped: { canary: 3, baseline: 0 }, estimate: null, minSamples: 20,
    };
    const r = record(11, { kind: 'checkpoint', decision: 'rollback', reason: 'critical metric failed', metrics: [...passing, held, sequential], weight: { from: 10, to: 0 } });
    const e = rec().decisionEvent(rolloutPlan('analyzer', {}), r);
    expect(Buffer.byteLength(e.message, 'utf8')).toBeLessThanOrEqual(MAX_MESSAGE_BYTES);
    expect(e.message).toBe(
      `#11 checkpoint at canary: rollback (critical metric failed) latency-shift nodata: points 12/40 (3 NaN dropped), 20 needed per side, ${sequentialText}, ` +
        '12 passing (see the journal, #11); weight 10→0',
    );
  });

  it('any message is cut to the note limit in UTF-8 bytes, never inside a character', () => {
    const r = record(12, { decision: 'hold', reason: '→'.repeat(600), metrics: [] });
    const e = rec().decisionEvent(rolloutPlan('analyzer', {}), r);
    expect(Buffer.byteLength(e.message, 'utf8')).toBeLessThanOrEqual(MAX_MESSAGE_BYTES);
    expect(e.message.endsWith('→…')).toBe(true);
  });
});
