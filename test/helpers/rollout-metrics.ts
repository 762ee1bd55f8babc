/**
 * ControllerMetrics as a controller of many rollouts fills it: per rollout a start, checkpoint
 * `continue`s on three gate metrics (a lateness each) and passing guard ticks; and helpers to
 * read the exposition text back.
 */
import type { ControllerMetrics } from '../../src/observe/metrics.js';
import { record } from './records.js';

export const GATES = ['error-rate', 'latency-p99', 'saturation'];

export function rolloutName(i: number): string {
  return `team-${i % 100}/service-${i}`;
}

/** Rollouts `rolloutName(0..n-1)`, each with a start, `checkpoints` checkpoints and guard ticks. */
export function observeRollouts(metrics: ControllerMetrics, n: number, checkpoints = 3): void {
  for (let i = 0; i < n; i++) {
    const rollout = rolloutName(i);
    metrics.observeDecision(record(1, { rollout }));
    for (let c = 2; c < 2 + checkpoints; c++) {
      metrics.observeDecision(
        record(c, {
          rollout,
          checkpoint: { index: c - 1, of: 6, due: '2025-11-01T14:00:00Z', window: '1m', lateSeconds: (i % 10) / 10 },
          metrics: GATES.map((name) => ({ name, query: `q-${name}`, value: 0.01, max: 1, verdict: 'pass' as const, critical: true })),
          next: { what: 'checkpoint', at: '2025-11-01T14:10:00Z' },
        }),
      );
      metrics.observeGuard(rollout, 'pass');
    }
  }
}

/** The sample lines (no comments, no blank lines). */
export function sampleLines(text: string): string[] {
  return text.split('\n').filter((l) => l !== '' && !l.startsWith('#'));
}

/** The sample lines labelled with this rollout. */
export function seriesOfRollout(text: string, rollout: string): string[] {
  const label = `rollout="${rollout}"`;
  return sampleLines(text).filter((l) => l.includes(`{${label},`) || l.includes(`{${label}}`) || l.includes(`,${label}`));
}
