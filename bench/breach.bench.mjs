// Benchmark: breach to rollback on the live stack of `npm run demo` (src/demo/stack.ts):
// real services, nginx with the nginx router, Prometheus scraping every 1 s, 80 requests/s
// through nginx, `rollgate run` on config/demo/live.yaml (guard: interval 1 s, window 5 s,
// 2 consecutive failing evaluations). Each run starts a fresh stack with a stable v1 and a
// canary that fails 5% of its live requests, lets it go dark and then canary 10%, and
// measures, from the load generator's own responses, the time from the canary's first failed
// live response to the last live response it served. Also splits it into: detection (first
// failure -> the guard's rollback decision), apply (decision -> nginx confirmed the new
// split, the journal's applied mark) and drain (applied mark -> last canary response; negative
// when the canary's last response came before the router finished confirming).
//
//   npm run build && node bench/breach.bench.mjs [--runs 10] [--rate 80] [--fail-rate 0.05]
import { measureBreachToRollback, runAct } from '../dist/demo/acts.js';
import { startLiveStack } from '../dist/demo/stack.js';

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}
const runs = arg('runs', 10);
const rate = arg('rate', 80);
const failRate = arg('fail-rate', 0.05);

function quantile(sorted, q) {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i];
}
const s3 = (x) => x.toFixed(3);

let current = null;
const stopCurrent = async () => {
  const s = current;
  current = null;
  await s?.stop().catch((e) => console.error(e.message));
};
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.once(sig, () => {
    console.error(`\n${sig}: stopping the stack ...`);
    void stopCurrent().then(() => process.exit(130));
  });
}

const results = [];
console.log(`breach to rollback: ${runs} runs, ${rate} requests/s through nginx, canary 10% failing ${failRate * 100}% of live requests`);
console.log('run  total_s  detect_s  apply_s  drain_s  guard_value  canary_after_mark');
for (let i = 1; i <= runs; i++) {
  const canary = `v${i + 1}`;
  current = await startLiveStack({ services: [{ version: 'v1' }, { version: canary, failRate }], rate });
  try {
    const act = await runAct(current, { revision: `bench-${i}`, stable: 'v1', canary }, 60_000);
    if (act.outcome !== 'rolled back' || act.final.kind !== 'guard') {
      throw new Error(`run ${i}: expected a guard rollback, got ${act.outcome} by ${act.final.kind}: ${act.final.reason}`);
    }
    const m = await measureBreachToRollback(current, canary, act);
    const mark = current.journal().marks().find((x) => x.applied === act.final.seq);
    const decidedAt = Date.parse(act.final.at);
    const appliedAt = Date.parse(mark.at);
    const r = {
      total: m.seconds,
      detect: (decidedAt - m.firstFailureAt) / 1000,
      apply: (appliedAt - decidedAt) / 1000,
      drain: (m.lastCanaryAt - appliedAt) / 1000,
      value: act.final.metrics.find((x) => x.name === 'error-rate')?.value ?? null,
      after: m.afterApplied,
    };
    results.push(r);
    console.log(`${String(i).padStart(3)}  ${s3(r.total).padStart(7)}  ${s3(r.detect).padStart(8)}  ${s3(r.apply).padStart(7)}  ${s3(r.drain).padStart(7)}  ${String(r.value?.toFixed(4)).padStart(11)}  ${r.after}`);
  } finally {
    await stopCurrent();
  }
}

const summary = {};
for (const key of ['total', 'detect', 'apply', 'drain']) {
  const v = results.map((r) => r[key]).sort((a, b) => a - b);
  summary[key] = { p50: quantile(v, 0.5), p95: quantile(v, 0.95), max: v[v.length - 1], min: v[0] };
}
console.log('');
for (const [k, v] of Object.entries(summary)) console.log(`${k.padEnd(7)} min ${s3(v.min)}  p50 ${s3(v.p50)}  p95 ${s3(v.p95)}  max ${s3(v.max)} s`);
console.log(JSON.stringify({ bench: 'breach-to-rollback', runs: results.length, rate, failRate, seconds: summary.total }));
if (summary.total.p95 >= 5) {
  console.error(`p95 ${s3(summary.total.p95)} s misses the 5 s target`);
  process.exitCode = 1;
}
