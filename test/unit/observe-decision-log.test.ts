import { describe, expect, it } from 'vitest';
import type { DecisionRecord } from '../../src/core/record.js';
import { createLogger } from '../../src/support/log.js';
import { decisionLevel, formatDecisionText, logDecision } from '../../src/observe/decision-log.js';

function capture(level = 'debug') {
  const lines: string[] = [];
  const log = createLogger({ level, destination: { write: (s: string) => void lines.push(s) } });
  return { log, lines, parsed: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

function checkpointRecord(over: Partial<DecisionRecord> = {}): DecisionRecord {
  return {
    seq: 17,
    rollout: 'learning/analyzer',
    revision: '2025.11.1',
    planHash: 'sha256:4f1c',
    kind: 'checkpoint',
    phase: 'ramp',
    phaseIndex: 1,
    checkpoint: { index: 2, of: 6, due: '2025-11-01T15:00:00Z', window: '30m' },
    at: '2025-11-01T15:00:00.412Z',
    decision: 'continue',
    reason: '3/3 metrics pass',
    score: 100,
    metrics: [
      { name: 'error-rate', query: 'sum(rate(errors[30m]))', value: 0.0012, max: 0.005, rollbackAbove: 0.02, verdict: 'pass', critical: true },
      { name: 'latency-p99', query: 'histogram_quantile(0.99, ...)', value: 0.21, max: 0.3, verdict: 'pass', critical: false },
      { name: 'success', query: 'sum(rate(ok[30m]))', value: 0.9991, min: 0.99, rollbackBelow: 0.95, verdict: 'pass', critical: true },
    ],
    weight: { from: 10, to: 10 },
    mirror: { from: 0, to: 0 },
    actor: 'controller',
    ...over,
  };
}

describe('logDecision', () => {
  it('writes exactly one line per decision with every value, threshold and verdict', () => {
    const { log, lines, parsed } = capture();
    logDecision(log, checkpointRecord());
    expect(lines).toHaveLength(1);
    const [line] = parsed();
    expect(line).toMatchObject({
      level: 'info',
      event: 'decision',
      seq: 17,
      rollout: 'learning/analyzer',
      revision: '2025.11.1',
      phase: 'ramp',
      checkpoint: { index: 2, of: 6, due: '2025-11-01T15:00:00Z', window: '30m' },
      decision: 'continue',
      reason: '3/3 metrics pass',
      score: 100,
      weight: { from: 10, to: 10 },
      mirror: { from: 0, to: 0 },
      actor: 'controller',
      metrics: [
        { name: 'error-rate', value: 0.0012, max: 0.005, rollbackAbove: 0.02, verdict: 'pass' },
        { name: 'latency-p99', value: 0.21, max: 0.3, verdict: 'pass' },
        { name: 'success', value: 0.9991, min: 0.99, rollbackBelow: 0.95, verdict: 'pass' },
      ],
    });
    expect(line?.msg).toBe(
      'learning/analyzer: checkpoint 2/6 of ramp: continue (3/3 metrics pass) ' +
        'error-rate=0.0012 (max 0.005, rollbackAbove 0.02) pass, ' +
        'latency-p99=0.21 (max 0.3) pass, ' +
        'success=0.9991 (min 0.99, rollbackBelow 0.95) pass; weight 10, score 100',
    );
  });

  it('a rollback is logged at warn with the split change and the failing metric', () => {
    const { log, parsed } = capture();
    logDecision(
      log,
      checkpointRecord({
        kind: 'guard',
        checkpoint: undefined,
        decision: 'rollback',
        reason: 'error-rate above rollbackAbove',
        score: null,
        metrics: [{ name: 'error-rate', query: 'q', value: 0.031, rollbackAbove: 0.02, verdict: 'fail', critical: true }],
        weight: { from: 10, to: 0 },
        mirror: { from: 5, to: 0 },
      }),
    );
    const [line] = parsed();
    expect(line?.level).toBe('warn');
    expect(line?.msg).toBe(
      'learning/analyzer: guard at ramp: rollback (error-rate above rollbackAbove) error-rate=0.031 (rollbackAbove 0.02) fail; weight 10→0, mirror 5→0',
    );
  });

  it('nodata metrics show their reason and a null value', () => {
    const { log, parsed } = capture();
    logDecision(
      log,
      checkpointRecord({
        decision: 'hold',
        reason: 'inconclusive',
        metrics: [{ name: 'p99', query: 'q', value: null, max: 0.3, verdict: 'nodata', critical: false, reason: 'empty result' }],
      }),
    );
    const [line] = parsed();
    expect(line?.level).toBe('info');
    expect(line?.metrics).toEqual([{ name: 'p99', value: null, max: 0.3, verdict: 'nodata', critical: false, reason: 'empty result' }]);
    expect(line?.msg).toContain('p99=nodata (max 0.3, empty result) nodata');
  });

  it('never rounds a value into looking equal to its threshold', () => {
    const { log, parsed } = capture();
    logDecision(log, checkpointRecord({ metrics: [{ name: 'e', query: 'q', value: 0.0050000001, max: 0.005, verdict: 'fail', critical: true }] }));
    expect(parsed()[0]?.msg).toContain('e=0.0050000001 (max 0.005) fail');
  });

  it("a judged metric's numbers are structured fields of the line, and the message names them", () => {
    const { log, lines, parsed } = capture();
    const sequential = {
      name: 'errors-vs-stable', query: 'sum(increase(http_requests_total{track="canary",code=~"5.."}[20m]))', value: 41 / 1950, verdict: 'fail' as const, critical: true,
      test: 'sequential' as const, x: 41, n_c: 1950, y: 380, n_b: 38100, canaryRate: 41 / 1950, baselineRate: 380 / 38100, ratio: 2.108,
      e: 143.2, logE: Math.log(143.2), threshold: 100, alpha: 0.01, interval: { lower: 1.42, upper: 3.05 }, samples: 1950, minSamples: 1000,
    };
    const relative = {
      name: 'p99', query: 'histogram_quantile(0.99, ...)', value: 0.31, verdict: 'pass' as const, critical: false,
      baseline: 0.3, bound: 0.36, ratio: 1.0333, tolerance: 0.2, slack: 0.005,
    };
    logDecision(
      log,
      checkpointRecord({
        kind: 'guard',
        checkpoint: undefined,
        decision: 'rollback',
        reason: 'guard: errors-vs-stable: e 143 >= 100 (anytime-valid: one evaluation is enough)',
        score: null,
        metrics: [sequential, relative],
        weight: { from: 10, to: 0 },
      }),
    );
    const [line] = parsed();
    const { query: _q1, ...sequentialFields } = sequential;
    const { query: _q2, ...relativeFields } = relative;
    expect(line?.metrics).toEqual([sequentialFields, relativeFields]);
    expect(lines[0]).not.toContain('increase(');
    expect(line?.msg).toBe(
      'learning/analyzer: guard at ramp: rollback (guard: errors-vs-stable: e 143 >= 100 (anytime-valid: one evaluation is enough)) ' +
        'errors-vs-stable fail: e 143 >= 100, canary 2.1% (41/1,950) vs baseline 0.997% (380/38,100), x2.11 [1.42, 3.05], ' +
        'p99 pass: 0.31 < bound 0.36 (baseline 0.3 x1.03, tolerance 20%, slack 0.005); weight 10→0',
    );
  });

  it('a Mann-Whitney judgement: points, medians, estimate, interval, U, p and level in the fields', () => {
    const { log, parsed } = capture();
    const mw = {
      name: 'latency-shift', query: 'q', value: 0.31, verdict: 'fail' as const, critical: true, test: 'mann-whitney' as const,
      points: { canary: 38, baseline: 40 }, dropped: { canary: 2, baseline: 0 }, canaryMedian: 0.31, baselineMedian: 0.27,
      estimate: 0.042, interval: { lower: 0.031, upper: 0.055 }, u: 1400, pValue: 3e-9, level: 0.995, effectFloor: 0.012, minSamples: 20, tolerance: 0.1,
    };
    logDecision(log, checkpointRecord({ decision: 'rollback', reason: 'critical metric failed', metrics: [mw], weight: { from: 10, to: 0 } }));
    const [line] = parsed();
    const { query: _q, ...fields } = mw;
    expect(line?.metrics).toEqual([fields]);
    expect(line?.msg).toContain('latency-shift fail: shift +0.042 [0.031, 0.055] > floor 0.012, p 3e-9, points 38/40 (2 NaN dropped), level 0.995');
  });

  it('rollback, abort and pause are warnings; holds and waits are routine', () => {
    expect(decisionLevel('rollback')).toBe('warn');
    expect(decisionLevel('abort')).toBe('warn');
    expect(decisionLevel('pause')).toBe('warn');
    expect(decisionLevel('hold')).toBe('info');
    expect(decisionLevel('wait')).toBe('info');
    expect(decisionLevel('complete')).toBe('info');
  });

  it('manual decisions name their actor', () => {
    const { log, parsed } = capture();
    logDecision(log, checkpointRecord({ kind: 'manual', checkpoint: undefined, decision: 'pause', reason: 'incident 4711', metrics: undefined, score: undefined, actor: 'alice' }));
    expect(parsed()[0]?.msg).toBe('learning/analyzer: manual at ramp: pause (incident 4711); weight 10, by alice');
  });
});

describe('formatDecisionText', () => {
  it('a checkpoint is a headline and one line of metrics', () => {
    const text = formatDecisionText(checkpointRecord());
    expect(text.split('\n')).toEqual([
      '2025-11-01T15:00:00.412Z learning/analyzer #17 checkpoint 2/6 of ramp: continue — 3/3 metrics pass; weight 10, score 100',
      '  error-rate=0.0012 (max 0.005, rollbackAbove 0.02) pass, latency-p99=0.21 (max 0.3) pass, success=0.9991 (min 0.99, rollbackBelow 0.95) pass',
    ]);
  });

  it('a decision without metrics is a single line', () => {
    const text = formatDecisionText(
      checkpointRecord({ kind: 'wait', checkpoint: undefined, decision: 'wait', reason: 'approval required', metrics: undefined, score: undefined, waitingFor: 'approval' }),
    );
    expect(text).toBe('2025-11-01T15:00:00.412Z learning/analyzer #17 wait at ramp: wait — approval required; weight 10');
  });
});

describe('log redaction', () => {
  const slack = 'https://hooks.slack.com/services/T000/B000/XXXXSECRETXXXX';
  const plan = {
    apiVersion: 'rollgate.dev/v1',
    kind: 'RolloutPlan',
    metadata: { name: 'analyzer', namespace: 'learning' },
    spec: {
      prometheus: {
        address: 'http://scraper:hunter2@prometheus:9090',
        headers: { Authorization: 'Bearer sekrit-token' },
        basicAuth: { username: 'u', passwordFile: '/etc/pw' },
      },
      notify: [{ webhook: slack, on: ['rollback'] }],
    },
  };

  it('secrets anywhere in a logged plan are redacted', () => {
    const { log, lines } = capture();
    log.info({ plan }, 'plan loaded');
    log.child({ plan }).info('child bindings too');
    log.child({ component: 'x' }).child({ plan }).info('grandchild bindings too');
    log.info({ spec: plan.spec }, 'spec');
    log.info(plan, 'plan as the fields');
    expect(lines).toHaveLength(5);
    for (const line of lines) {
      expect(line).not.toContain('XXXXSECRETXXXX');
      expect(line).not.toContain('/services/');
      expect(line).not.toContain('sekrit-token');
      expect(line).not.toContain('hunter2');
      expect(line).toContain('[redacted]');
    }
    const first = JSON.parse(lines[0]!) as { plan: typeof plan };
    expect(first.plan.spec.notify[0]?.webhook).toBe('[redacted]');
    expect(first.plan.spec.prometheus.address).toBe('http://[redacted]@prometheus:9090');
    expect(first.plan.metadata.name).toBe('analyzer');
  });

  it('errors go through the err serializer, request secrets they carry redacted', () => {
    const { log, lines, parsed } = capture();
    const clientError = Object.assign(new Error('boom'), {
      config: { url: 'http://scraper:hunter2@prometheus:9090/api/v1/query', headers: { Authorization: 'Bearer sekrit-token' } },
    });
    log.error({ err: clientError }, 'failed');
    expect(parsed()[0]).toMatchObject({
      err: { type: 'Error', message: 'boom', config: { url: 'http://[redacted]@prometheus:9090/api/v1/query', headers: '[redacted]' } },
    });
    expect(lines[0]).not.toContain('sekrit-token');
    expect(lines[0]).not.toContain('hunter2');
  });
});
