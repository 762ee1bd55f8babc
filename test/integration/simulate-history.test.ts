/**
 * `simulate` against a real Prometheus that goes away during the simulation: the first query
 * that cannot be answered ends the simulation with HistoryUnavailableError (exit 12 in the CLI)
 * instead of journalling holds for a dead address at every guard tick; a bad query is still
 * judged (a plan problem, not unavailable history).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startPrometheus, type RunningPrometheus } from '../helpers/prometheus.js';
import { loadPlanText } from '../../src/plan/load.js';
import { PrometheusProvider } from '../../src/metrics/prometheus.js';
import { HistoryUnavailableError, PrometheusHistory } from '../../src/metrics/history.js';
import { simulate } from '../../src/host/simulate.js';
import { silentLogger } from '../../src/support/log.js';
import type { DecisionRecord } from '../../src/core/record.js';

const HOUR = 3_600_000;
let prom: RunningPrometheus | undefined;

afterEach(async () => {
  await prom?.stop();
  prom = undefined;
});

function loaded(query: string) {
  const text = `apiVersion: rollgate.dev/v1alpha1
kind: RolloutPlan
metadata: { name: sim }
spec:
  revision: "1"
  traffic: { router: file, file: { path: /nonexistent/split.json } }
  metrics:
    - { name: error-rate, query: '${query}', max: 0.01, critical: true }
  guard: { interval: 30s }
  phases:
    - { name: canary, weight: 10, checkpoints: [30m, 1h] }
    - { name: full, weight: 100, checkpoints: [1h] }
`;
  const r = loadPlanText(text, 'sim.yaml', { envMode: 'strict' });
  expect(r.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  return r.plans[0]!;
}

function history(address: string): PrometheusHistory {
  const log = silentLogger();
  const opts = { address, log, retries: 1, backoff: { minMs: 10, maxMs: 10 }, timeoutMs: 5_000 };
  return new PrometheusHistory({ prometheus: new PrometheusProvider(opts), address });
}

describe('simulate with Prometheus history that becomes unavailable', () => {
  it('the probe passes, Prometheus stops, and the next query ends the simulation instead of holding', async () => {
    prom = await startPrometheus();
    const provider = history(prom.url);
    const from = Date.now() - 3 * HOUR;
    await provider.probe(from);
    await prom.stop();
    prom = undefined;
    const records: DecisionRecord[] = [];
    const run = simulate(loaded('sum(vector(0.001))'), { from, until: from + 3 * HOUR, provider, log: silentLogger(), onRecord: (r) => records.push(r) });
    const err = await run.then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(HistoryUnavailableError);
    expect((err as Error).message).toMatch(/^Prometheus history is not available: .* failed: cannot reach Prometheus at http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\)/);
    // Nothing was judged on the missing history.
    expect(records.map((r) => r.decision)).toEqual(['start']);
  }, 60_000);

  it('a query Prometheus refuses (HTTP 422) is judged as a plan problem, not as unavailable history', async () => {
    prom = await startPrometheus();
    const provider = history(prom.url);
    const from = Date.now() - 3 * HOUR;
    // Valid syntax (validate accepts it); two series on the "one" side fail at evaluation.
    const failsAtEvaluation = 'vector(1) * on() group_left() (label_replace(vector(1), "a", "1", "", "") or label_replace(vector(1), "a", "2", "", ""))';
    const result = await simulate(loaded(failsAtEvaluation), { from, until: from + 3 * HOUR, provider, log: silentLogger() });
    expect(result.records.length).toBeGreaterThan(1);
    expect(result.exitCode).not.toBe(0);
    expect(JSON.stringify(result.records)).toContain('bad query');
  }, 60_000);
});
