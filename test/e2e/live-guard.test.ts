/**
 * The guard on real traffic: the live demo's stack (src/demo/stack.ts) with a stable v1 and a
 * canary v2 that fails 5% of its live requests. Real services instrumented with prom-client,
 * a real nginx configured for the nginx router, a real Prometheus scraping every second, a
 * steady load through nginx, and the built `rollgate run` on config/demo/live.yaml.
 *
 * v2 goes dark first (every request mirrored to it; the copies never fail), passes, becomes a
 * 10% canary, starts failing, and the guard rolls it back while the load keeps flowing. The
 * journal, the controller's decision log, its /metrics, nginx's include file, Prometheus and
 * the responses the load generator received all tell the same story.
 */
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { measureBreachToRollback, runAct } from '../../src/demo/acts.js';
import { startLiveStack, type LiveStack } from '../../src/demo/stack.js';
import { socketRequest } from '../../src/routers/nginx.js';
import { CONTROL_PATH, controlAnswerSchema, splitOf } from '../../src/routers/nginx-lua-config.js';
import { parseMetrics, sleep, waitFor } from './run-helpers.js';

let stack: LiveStack | undefined;

afterAll(async () => {
  await stack?.stop();
});

function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  return parseMetrics(text).find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
}

async function promScalar(url: string, query: string): Promise<number | null> {
  const res = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(query)}`);
  const body = (await res.json()) as { data: { result: Array<{ value: [number, string] }> } };
  const first = body.data.result[0];
  return first ? Number(first.value[1]) : null;
}

describe('live: a canary that fails 5% of its live requests, under 80 requests per second through nginx', () => {
  it('looks healthy while dark, then the guard rolls it back; journal, logs, /metrics, nginx, Prometheus and the traffic agree', async () => {
    stack = await startLiveStack({ services: [{ version: 'v1' }, { version: 'v2', failRate: 0.05 }], rate: 80 });
    const s = stack;
    const act = await runAct(s, { revision: 'checkout-v2', stable: 'v1', canary: 'v2' }, 60_000);
    const journal = s.journal();
    const detail = () => `journal:\n${readFileSync(journal.file, 'utf8')}\nrollgate run stderr (tail):\n${s.controller().stderr().slice(-4000)}`;

    // --- the journal: dark passed on mirrored copies, the canary was rolled back by the guard.
    expect(act.outcome, detail()).toBe('rolled back');
    // Before Prometheus has scraped the first mirrored copies, the dark checkpoint has no data:
    // it holds (inconclusive, never a pass) and is judged again a retryInterval later.
    const holds = act.records.filter((r) => r.decision === 'hold');
    for (const h of holds) {
      expect(h, detail()).toMatchObject({ kind: 'checkpoint', phase: 'dark', weight: { to: 0 }, mirror: { to: 100 } });
      expect(h.metrics?.some((m) => m.verdict === 'nodata') && h.metrics.every((m) => m.verdict !== 'fail'), detail()).toBe(true);
    }
    const judged = act.records.filter((r) => r.decision !== 'hold');
    expect(judged.map((r) => [r.kind, r.decision, r.phase, r.weight.to, r.mirror.to]), detail()).toEqual([
      ['lifecycle', 'start', 'dark', 0, 100],
      ['checkpoint', 'advance', 'dark', 10, 0],
      ['guard', 'rollback', 'canary', 0, 0],
    ]);
    const [, dark, rollback] = judged;
    expect(dark!.metrics?.map((m) => [m.name, m.verdict])).toEqual([
      ['mirror-error-rate', 'pass'],
      ['p99-latency', 'pass'],
    ]);
    expect(rollback).toMatchObject({ weight: { from: 10, to: 0 }, mirror: { from: 0, to: 0 }, actor: 'controller' });
    expect(rollback!.reason).toMatch(/^guard: error-rate: .* > max 0\.01 in 2 consecutive evaluations \(interval 1s, window 5s\)$/);
    const errorRate = rollback!.metrics?.find((m) => m.name === 'error-rate');
    expect(errorRate).toMatchObject({ verdict: 'fail', critical: true, max: 0.01 });
    expect(errorRate!.value).toBeGreaterThan(0.01);
    expect(errorRate!.query).toContain('version="v2",mirror="false",code=~"5.."}[5s]');
    // Each split change has its applied mark, with what nginx serves.
    expect(journal.marks().map((m) => [m.applied, m.weight, m.mirror])).toEqual([
      [1, 0, 100],
      [dark!.seq, 10, 0],
      [rollback!.seq, 0, 0],
    ]);

    // --- the traffic: v2 got mirrored copies while dark (all answered), then live requests,
    // some of which failed; after the rollback it serves no one while v1 keeps answering.
    const v2 = s.services.get('v2')!.counts();
    expect(v2.mirrored).toBeGreaterThan(100);
    expect(v2.failed).toBeGreaterThan(0);
    const breach = await measureBreachToRollback(s, 'v2', act);
    expect(breach.lastCanaryAt).toBeGreaterThan(breach.firstFailureAt);
    const quietFrom = Date.now();
    await sleep(1_000);
    expect(s.load.lastServedBy('v2')).toBe(breach.lastCanaryAt);
    const after = s.load.tally(quietFrom);
    expect([...after.keys()]).toEqual(['v1']);
    expect(after.get('v1')!.failed).toBe(0);
    expect(after.get('v1')!.total).toBeGreaterThan(40);
    // The load generator saw exactly the failures v2 counted (each failed live request is a
    // response the load generator received).
    const seenFailed = s.load.responses().filter((r) => r.version === 'v2' && r.status >= 500).length;
    expect(seenFailed).toBe(v2.failed);

    // --- nginx (the router's lua mode): its shared dict routes nothing to the canary any more.
    const control = await socketRequest(`${s.dir}/nginx/checkout.conf.sock`, 'GET', CONTROL_PATH, 2_000);
    const answer = controlAnswerSchema.parse(JSON.parse(control.body));
    expect(answer.set).toBe(true);
    expect(splitOf(answer)).toEqual({ weight: 0, mirror: 0 });

    // --- Prometheus scraped the same counts the service served.
    await waitFor(
      async () => (await promScalar(s.prometheus.url, 'sum(http_requests_total{version="v2",mirror="false",code="500"})')) === v2.failed,
      { what: `Prometheus to show v2's ${v2.failed} failed live requests`, timeoutMs: 10_000 },
    );

    // --- the decision log: one line for the rollback, with the journal's values.
    const logged = s.controller().logLines().filter((l) => l.event === 'decision' && l.seq === rollback!.seq);
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatchObject({
      level: 'warn', // the rollout is going backwards
      rollout: 'demo/checkout',
      revision: 'checkout-v2',
      kind: 'guard',
      decision: 'rollback',
      phase: 'canary',
      reason: rollback!.reason,
      weight: rollback!.weight,
      mirror: rollback!.mirror,
      metrics: [{ name: 'error-rate', value: errorRate!.value, max: 0.01, verdict: 'fail', critical: true }],
    });
    expect(logged[0]!.msg).toContain(`error-rate=`);

    // --- /metrics: the same decision, split and value.
    const text = await (await fetch(`${await s.controller().url()}/metrics`)).text();
    const rollout = { rollout: 'demo/checkout' };
    expect(sample(text, 'rollgate_decisions_total', { ...rollout, kind: 'guard', decision: 'rollback' })).toBe(1);
    expect(sample(text, 'rollgate_rollout_canary_weight', rollout)).toBe(0);
    expect(sample(text, 'rollgate_rollout_mirror_weight', rollout)).toBe(0);
    expect(sample(text, 'rollgate_rollout_status', { ...rollout, status: 'rolled-back' })).toBe(1);
    expect(sample(text, 'rollgate_metric_value', { ...rollout, metric: 'error-rate' })).toBe(errorRate!.value);
    expect(sample(text, 'rollgate_guard_evaluations_total', { ...rollout, result: 'fail' })).toBeGreaterThanOrEqual(2);
    expect(sample(text, 'rollgate_router_apply_errors_total', { router: 'nginx' })).toBe(0);

    // --- and `rollgate run` stops cleanly.
    const exit = await s.controller().stop();
    expect(exit, detail()).toEqual({ code: 0, signal: null });
  }, 120_000);
});
