import { describe, expect, it } from 'vitest';
import { VERDICTS, type DecisionRecord } from '../../src/core/record.js';
import { ControllerMetrics } from '../../src/observe/metrics.js';
import { record } from '../helpers/records.js';
import { GATES, observeRollouts, rolloutName, sampleLines, seriesOfRollout } from '../helpers/rollout-metrics.js';

const ID = 'shop/checkout';

/**
 * One round of everything a rollout can go through: checkpoints with every verdict and a
 * missing value, guard ticks of every result, a bad query, a pause and resume, a rollback.
 */
function liveThrough(m: ControllerMetrics, seq: number): number {
  const at = (d: Partial<DecisionRecord>) => m.observeDecision(record(seq++, { rollout: ID, ...d }));
  at({ kind: 'lifecycle', decision: 'start', phase: 'canary', phaseIndex: 0 });
  for (const [i, verdict] of VERDICTS.entries()) {
    at({
      checkpoint: { index: i + 1, of: 4, due: '2025-11-01T14:00:00Z', window: '1m', lateSeconds: 30 * i },
      decision: verdict === 'pass' ? 'continue' : verdict === 'fail' ? 'rollback' : 'hold',
      metrics: GATES.map((name) => ({ name, query: 'q', value: verdict === 'nodata' ? null : i, max: 1, verdict, critical: true })),
      next: { what: 'checkpoint', at: '2025-11-01T14:10:00Z' },
    });
  }
  for (const result of ['pass', 'fail', 'nodata', 'error']) m.observeGuard(ID, result);
  m.observeQueryProblem(ID, 'error-rate', 'bad-query');
  at({ kind: 'manual', decision: 'pause', actor: 'sre' });
  at({ kind: 'manual', decision: 'resume', actor: 'sre', phase: 'ramp', phaseIndex: 1, weight: { from: 10, to: 50 } });
  at({ kind: 'guard', decision: 'rollback', weight: { from: 50, to: 0 }, next: undefined });
  return seq;
}

describe('ControllerMetrics at scale', () => {
  it('no histogram carries a rollout label', async () => {
    const m = new ControllerMetrics();
    liveThrough(m, 1);
    const text = await m.metrics();
    const histograms = [...text.matchAll(/^# TYPE (\S+) histogram$/gm)].map((h) => h[1]!);
    expect(histograms).toContain('rollgate_checkpoint_lateness_seconds');
    const labelled = sampleLines(text).filter((l) => histograms.some((h) => l.startsWith(`${h}_`)) && l.includes('rollout='));
    expect(labelled).toEqual([]);
    expect(text).toContain(`rollgate_checkpoint_lateness_seconds_count ${VERDICTS.length}`);
  });

  it("a rollout's series are bounded: one per gauge whatever it went through, and no more after many decisions", async () => {
    const m = new ControllerMetrics({ defaultMetrics: false });
    let seq = liveThrough(m, 1);
    const once = seriesOfRollout(await m.metrics(), ID);
    for (let round = 0; round < 50; round++) seq = liveThrough(m, seq);
    const text = await m.metrics();
    const after = seriesOfRollout(text, ID);
    expect(after.length).toBe(once.length);

    const perFamily = (name: string) => after.filter((l) => l.startsWith(`${name}{`)).length;
    for (const gauge of ['rollgate_rollout_info', 'rollgate_rollout_status', 'rollgate_rollout_phase_index', 'rollgate_rollout_canary_weight', 'rollgate_rollout_mirror_weight']) {
      expect(perFamily(gauge), gauge).toBe(1);
    }
    expect(text).toContain(`rollgate_rollout_status{rollout="${ID}",status="rolled-back"} 1`);
    // Bounded by the plan's gate metrics and the enums of the labels.
    expect(perFamily('rollgate_metric_value')).toBeLessThanOrEqual(GATES.length);
    expect(perFamily('rollgate_metric_verdicts_total')).toBe(GATES.length * VERDICTS.length);
    expect(perFamily('rollgate_guard_evaluations_total')).toBe(4);
    // 5 gauges, verdicts, 4 guard results, 1 query problem, 7 (kind, decision) pairs; the value
    // and next-checkpoint series are gone (no data at the last checkpoint, rolled back).
    expect(after.length).toBe(5 + GATES.length * VERDICTS.length + 4 + 1 + 7);

    m.removeRollout(ID);
    expect(seriesOfRollout(await m.metrics(), ID)).toEqual([]);
  });

  it('concurrent scrapes share one render; the next scrape renders again', async () => {
    const m = new ControllerMetrics({ defaultMetrics: false });
    observeRollouts(m, 2_000);
    const [a, b, c] = await Promise.all([m.exposition(), m.exposition(), m.exposition()]);
    expect(b).toBe(a);
    expect(c).toBe(a);

    m.observeGuard(rolloutName(0), 'fail');
    const next = await m.exposition();
    expect(next).not.toBe(a);
    expect(Buffer.concat(next).toString()).toContain(`rollgate_guard_evaluations_total{rollout="${rolloutName(0)}",result="fail"} 1`);
  });

  it('a render of 10,000 rollouts yields to the event loop while it runs', async () => {
    const m = new ControllerMetrics();
    observeRollouts(m, 10_000);
    // Between two turns of the loop, the CPU time this process used: the work that held the
    // loop, without the time a loaded machine kept the process waiting for a core.
    let ticks = 0;
    let maxGapCpuMs = 0;
    let last = process.cpuUsage();
    let rendering = true;
    const tick = () => {
      const now = process.cpuUsage();
      maxGapCpuMs = Math.max(maxGapCpuMs, (now.user + now.system - last.user - last.system) / 1000);
      last = now;
      ticks++;
      if (rendering) setImmediate(tick);
    };
    setImmediate(tick);
    const pieces = await m.exposition();
    rendering = false;

    const text = Buffer.concat(pieces).toString();
    expect(text.match(/^rollgate_rollout_info\{/gm)).toHaveLength(10_000);
    // It yielded (a render that never yields lets the ticker run once, after it); how many times
    // depends on the machine's speed, so the bound on each gap below is what holds the loop free.
    expect(ticks).toBeGreaterThan(1);
    // Generous: a slice runs about 5 ms (garbage collection threads add to the CPU time).
    expect(maxGapCpuMs).toBeLessThan(100);
  }, 60_000);
});
