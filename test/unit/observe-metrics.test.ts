import { describe, expect, it } from 'vitest';
import { register as globalRegistry } from 'prom-client';
import type { DecisionRecord, MetricResult } from '../../src/core/record.js';
import { ControllerMetrics, statusOf } from '../../src/observe/metrics.js';

function record(over: Partial<DecisionRecord> = {}): DecisionRecord {
  return {
    seq: 5,
    rollout: 'learning/analyzer',
    revision: '2025.11.1',
    planHash: 'sha256:1',
    kind: 'checkpoint',
    phase: 'ramp',
    phaseIndex: 1,
    checkpoint: { index: 2, of: 6, due: '2025-11-01T15:00:00Z', window: '30m', lateSeconds: 0.4 },
    at: '2025-11-01T15:00:00.400Z',
    decision: 'continue',
    reason: '2/2 metrics pass',
    score: 100,
    metrics: [
      { name: 'error-rate', query: 'q1', value: 0.0012, max: 0.005, verdict: 'pass', critical: true },
      { name: 'latency-p99', query: 'q2', value: 0.21, max: 0.3, verdict: 'pass', critical: false },
    ],
    weight: { from: 10, to: 10 },
    mirror: { from: 0, to: 5 },
    actor: 'controller',
    next: { what: 'checkpoint 3/6', at: '2025-11-01T15:30:00Z' },
    ...over,
  };
}

const R = 'rollout="learning/analyzer"';

describe('ControllerMetrics', () => {
  it('exposes the rollout series after a checkpoint decision', async () => {
    const m = new ControllerMetrics({ defaultMetrics: false });
    m.observeDecision(record(), 'progressing');
    const text = await m.metrics();
    expect(text).toContain(`rollgate_rollout_info{${R},revision="2025.11.1",phase="ramp",status="progressing"} 1`);
    expect(text).toContain(`rollgate_rollout_phase_index{${R}} 1`);
    expect(text).toContain(`rollgate_rollout_canary_weight{${R}} 10`);
    expect(text).toContain(`rollgate_rollout_mirror_weight{${R}} 5`);
    expect(text).toContain(`rollgate_rollout_status{${R},status="progressing"} 1`);
    expect(text).toContain(`rollgate_decisions_total{${R},kind="checkpoint",decision="continue"} 1`);
    expect(text).toContain(`rollgate_metric_value{${R},metric="error-rate"} 0.0012`);
    expect(text).toContain(`rollgate_metric_verdicts_total{${R},metric="latency-p99",verdict="pass"} 1`);
    expect(text).toContain('rollgate_checkpoint_lateness_seconds_bucket{le="0.5"} 1');
    expect(text).toContain(`rollgate_next_checkpoint_timestamp_seconds{${R}} ${Date.parse('2025-11-01T15:30:00Z') / 1000}`);
    expect(text).toContain('rollgate_leader 0');
    expect(text).toContain('rollgate_notify_failures_total 0');
    expect(m.contentType).toMatch(/^text\/plain; version=0\.0\.4/);
  });

  it('a nodata metric has no value series, and its verdict is counted', async () => {
    const m = new ControllerMetrics({ defaultMetrics: false });
    m.observeDecision(record());
    m.observeDecision(
      record({
        seq: 6,
        decision: 'hold',
        metrics: [{ name: 'error-rate', query: 'q1', value: null, max: 0.005, verdict: 'nodata', critical: true, reason: 'empty result' }],
      }),
    );
    const text = await m.metrics();
    expect(text).not.toContain('rollgate_metric_value{rollout="learning/analyzer",metric="error-rate"}');
    expect(text).toContain(`rollgate_metric_verdicts_total{${R},metric="error-rate",verdict="nodata"} 1`);
    expect(text).toContain(`rollgate_metric_verdicts_total{${R},metric="error-rate",verdict="pass"} 1`);
  });

  it('status moves: one series, the current status; rollout_info keeps one series', async () => {
    const m = new ControllerMetrics({ defaultMetrics: false });
    m.observeDecision(record());
    m.observeDecision(record({ seq: 6, kind: 'guard', checkpoint: undefined, decision: 'rollback', weight: { from: 10, to: 0 }, mirror: { from: 5, to: 0 }, next: undefined }));
    const text = await m.metrics();
    expect(text.match(/^rollgate_rollout_status\{/gm)).toHaveLength(1);
    expect(text).toContain(`rollgate_rollout_status{${R},status="rolled-back"} 1`);
    expect(text.match(/^rollgate_rollout_info\{/gm)).toHaveLength(1);
    expect(text).toContain(`rollgate_rollout_info{${R},revision="2025.11.1",phase="ramp",status="rolled-back"} 1`);
    expect(text).not.toContain('rollgate_next_checkpoint_timestamp_seconds{');
    expect(text).toContain(`rollgate_rollout_canary_weight{${R}} 0`);
  });

  it('a deleted rollout loses all its series, others keep theirs', async () => {
    const m = new ControllerMetrics({ defaultMetrics: false });
    m.observeDecision(record());
    m.observeDecision(record({ rollout: 'default/web' }));
    m.observeGuard('learning/analyzer', 'pass');
    m.removeRollout('learning/analyzer');
    const text = await m.metrics();
    expect(text).not.toContain('learning/analyzer');
    expect(text).toContain('rollgate_rollout_canary_weight{rollout="default/web"} 10');
  });

  it('counts queries, router applies, journal appends, notify failures and leadership', async () => {
    const m = new ControllerMetrics({ defaultMetrics: false });
    m.observeQuery(120, true);
    m.observeQuery(5000, false, 'Timeout after 5s');
    m.observeRouterApply('nginx', 30, true);
    m.observeRouterApply('haproxy', 40, false);
    m.observeJournalAppend(3);
    m.observeNotifyFailure();
    m.observeGuard('learning/analyzer', 'fail');
    m.setLeader(true);
    const text = await m.metrics();
    expect(text).toContain('rollgate_prometheus_query_duration_seconds_count 2');
    expect(text).toContain('rollgate_prometheus_query_errors_total{reason="timeout-after-5s"} 1');
    expect(text).toContain('rollgate_router_apply_duration_seconds_count{router="nginx"} 1');
    expect(text).toContain('rollgate_router_apply_errors_total{router="nginx"} 0');
    expect(text).toContain('rollgate_router_apply_errors_total{router="haproxy"} 1');
    expect(text).toContain('rollgate_journal_append_duration_seconds_count 1');
    expect(text).toContain('rollgate_notify_failures_total 1');
    expect(text).toContain(`rollgate_guard_evaluations_total{${R},result="fail"} 1`);
    expect(text).toContain('rollgate_leader 1');
  });

  it("a sequential metric's e-value and threshold follow every checkpoint and every guard evaluation; other metrics get none", async () => {
    const m = new ControllerMetrics({ defaultMetrics: false });
    const sequential = (e: number | undefined, value = 0.02): MetricResult => ({
      name: 'errors-vs-stable', query: 'q3', value, verdict: e !== undefined && e >= 100 ? 'fail' : 'pass', critical: true,
      test: 'sequential', x: 20, n_c: 1000, y: 100, n_b: 10000, canaryRate: 0.02, baselineRate: 0.01, ratio: 2,
      ...(e !== undefined ? { e, logE: Math.log(e), threshold: 100, alpha: 0.01 } : {}),
    });
    const E = `rollgate_metric_e_value{${R},metric="errors-vs-stable"}`;
    const T = `rollgate_metric_e_value_threshold{${R},metric="errors-vs-stable"}`;
    m.observeDecision(record({ metrics: [...record().metrics!, sequential(3.5)] }));
    let text = await m.metrics();
    expect(text).toContain('# TYPE rollgate_metric_e_value gauge');
    expect(text).toContain(`${E} 3.5\n`);
    expect(text).toContain(`${T} 100\n`);
    expect(text).not.toContain('rollgate_metric_e_value{rollout="learning/analyzer",metric="error-rate"}');
    expect(text.match(/^rollgate_metric_e_value(_threshold)?\{/gm)).toHaveLength(2);

    // Guard ticks between checkpoints draw the evidence building up; the value gauge stays the decision's.
    m.observeGuard('learning/analyzer', 'pass', [{ name: 'error-rate', query: 'q1', value: 0.004, max: 0.005, verdict: 'pass', critical: true }, sequential(42, 0.03)]);
    text = await m.metrics();
    expect(text).toContain(`${E} 42\n`);
    expect(text).toContain(`rollgate_metric_value{${R},metric="errors-vs-stable"} 0.02\n`);
    expect(text).toContain(`rollgate_metric_value{${R},metric="error-rate"} 0.0012\n`);
    m.observeGuard('learning/analyzer', 'fail', [sequential(Number.MAX_VALUE)]);
    expect(await m.metrics()).toContain(`${E} ${Number.MAX_VALUE}\n`);

    // No data (a query failed): absent, like a metric value without data.
    m.observeGuard('learning/analyzer', 'nodata', [{ ...sequential(undefined, 0), value: null, verdict: 'nodata', reason: 'canary total: empty result' }]);
    text = await m.metrics();
    expect(text).not.toContain(E);
    expect(text).not.toContain(T);

    m.observeGuard('learning/analyzer', 'pass', [sequential(7)]);
    expect(await m.metrics()).toContain(`${E} 7\n`);
    m.removeRollout('learning/analyzer');
    expect(await m.metrics()).not.toContain('errors-vs-stable');
  });

  it('uses its own registry, with default process metrics, and leaves the global one alone', async () => {
    const a = new ControllerMetrics();
    const b = new ControllerMetrics();
    a.setLeader(true);
    expect(await a.metrics()).toContain('process_cpu_user_seconds_total');
    expect(await b.metrics()).toContain('rollgate_leader 0');
    expect(await globalRegistry.metrics()).not.toContain('rollgate_');
  });

  it('derives a status from the decision when the engine gives none', () => {
    expect(statusOf(record({ decision: 'complete' }))).toBe('complete');
    expect(statusOf(record({ decision: 'rollback', weight: { from: 50, to: 25 } }))).toBe('rolling-back');
    expect(statusOf(record({ decision: 'rollback', weight: { from: 25, to: 0 }, mirror: { from: 0, to: 0 } }))).toBe('rolled-back');
    expect(statusOf(record({ decision: 'pause' }))).toBe('paused');
    expect(statusOf(record({ decision: 'wait' }))).toBe('waiting');
  });
});
