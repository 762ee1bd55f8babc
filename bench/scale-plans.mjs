// The plans of bench/scale.bench.mjs and bench/plan-memory.bench.mjs: rollout i (from 1) has
// the file router (its own file under `routesDir`), 3 metrics (each query names the rollout),
// a guard every 10 s over a 45 s window on 2 of them, and 4 phases of 2 checkpoints spaced 60
// to 180 s apart, varying by rollout. No checkpoint window is 45 s, so a query over `[45s]` is
// a guard tick (bench/fake-prometheus.mjs counts them so).
import path from 'node:path';

export const NAMESPACE = 'bench';
export const GUARD_INTERVAL_S = 10;
export const GUARD_WINDOW = '45s';

export const rolloutName = (i) => `svc-${String(i).padStart(5, '0')}`;

/** Checkpoint spacing of rollout i: 60 to 180 s, spread over the rollouts. */
const spacing = (i) => 60 + ((i * 7919) % 121);

const PHASES = [
  ['canary', 5],
  ['ramp', 25],
  ['half', 50],
  ['full', 100],
];

export function planYaml(i, { routesDir, prometheus }) {
  const s = spacing(i);
  return `apiVersion: rollgate.dev/v1alpha1
kind: RolloutPlan
metadata: { name: ${rolloutName(i)}, namespace: ${NAMESPACE} }
spec:
  revision: "bench-${i}"
  prometheus: { address: ${prometheus} }
  traffic: { router: file, file: { path: ${path.join(routesDir, `${rolloutName(i)}.json`)} } }
  metrics:
    - name: error-rate
      query: |
        sum(rate(bench_requests_total{rollout="{{rollout}}",code="500"}[{{window}}]))
          / sum(rate(bench_requests_total{rollout="{{rollout}}"}[{{window}}]))
      max: 0.01
      critical: true
    - name: p99-latency
      query: max(max_over_time(bench_latency_p99_seconds{rollout="{{rollout}}"}[{{window}}]))
      max: 0.5
      critical: true
    - name: ready
      query: min(min_over_time(bench_ready{rollout="{{rollout}}"}[{{window}}]))
      min: 0.99
  guard: { interval: ${GUARD_INTERVAL_S}s, window: ${GUARD_WINDOW}, consecutive: 2, metrics: [error-rate, p99-latency] }
  phases:
${PHASES.map(([p, w]) => `    - { name: ${p}, weight: ${w}, checkpoints: [${s}s, ${2 * s}s] }`).join('\n')}
`;
}
