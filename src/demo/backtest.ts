/**
 * `npm run demo:backtest` (`npm run demo` is the live demo, live.ts): a backtest. It generates
 * four hours of realistic history for two revisions of a service, loads it into a local Prometheus on a
 * free loopback port, and runs `rollgate simulate` on config/demo/backtest.yaml for each,
 * printing every decision. The good revision completes; the bad one is rolled back by the
 * guard. Everything it starts is stopped, and its last line is one JSON summary.
 */
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { OpenMetricsHistory, between, exponentialLatency } from '../devtools/openmetrics.js';
import { startPrometheus, type RunningPrometheus } from '../devtools/local-prometheus.js';
import { formatSpan } from '../support/human-time.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const PLAN = path.join(root, 'config/demo/backtest.yaml');
const MAIN = path.join(root, 'dist/main.js');

const HOUR = 3600;

function ensureTools(): void {
  const r = spawnSync(process.execPath, [path.join(root, 'scripts/ensure-tools.mjs'), 'prometheus'], { stdio: 'inherit' });
  if (r.status !== 0) process.exit(1);
}

/** Four hours of traffic ending 5 minutes ago, minute-aligned, for both revisions. */
function history(end: number) {
  const start = end - 4 * HOUR;
  const breach = start + HOUR + 7 * 60; // the bad revision starts failing 1h07m in
  const h = new OpenMetricsHistory({ start, end, step: 15 });
  for (const rev of ['good', 'bad']) {
    const labels = { job: 'checkout', revision: rev };
    const errorShare = rev === 'bad' ? between(breach, end + 1, 0.04, 0.0008) : () => 0.0008;
    h.counter('http_requests_total', { ...labels, code: '200' }, (t) => 40 * (1 - errorShare(t)));
    h.counter('http_requests_total', { ...labels, code: '503' }, (t) => 40 * errorShare(t));
    h.histogram('http_request_duration_seconds', labels, { rate: 40, latency: exponentialLatency(0.03) });
  }
  return { text: h.text(), start, breach };
}

function simulate(prom: RunningPrometheus, rollout: string, from: number, until: number): Promise<number> {
  const args = [MAIN, 'simulate', PLAN, '--rollout', rollout, '--prometheus', prom.url, '--from', new Date(from * 1000).toISOString(), '--until', new Date(until * 1000).toISOString()];
  console.log(`\n$ rollgate simulate config/demo/backtest.yaml --rollout ${rollout} --from ${new Date(from * 1000).toISOString()} --prometheus ${prom.url}`);
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { stdio: 'inherit', env: { ...process.env, ROLLGATE_LOG_LEVEL: 'error' } });
    child.on('exit', (code) => resolve(code ?? 1));
  });
}

async function main(): Promise<number> {
  ensureTools();
  const end = Math.floor(Date.now() / 60_000) * 60 - 5 * 60;
  const { text, start, breach } = history(end);
  console.log(`generating 4h of history for revisions "good" and "bad" (the bad one fails 4% of requests from ${new Date(breach * 1000).toISOString()}) ...`);
  const prom = await startPrometheus({ openMetrics: text });
  console.log(`local Prometheus ${prom.url} (history imported in ${formatSpan(prom.importMs)})`);
  try {
    const good = await simulate(prom, 'checkout-good', start, end);
    const bad = await simulate(prom, 'checkout-bad', start, end);
    const ok = good === 0 && bad === 10;
    console.log(JSON.stringify({ demo: ok ? 'done' : 'failed', good: good === 0 ? 'complete' : `exit ${good}`, bad: bad === 10 ? 'rolled back' : `exit ${bad}` }));
    return ok ? 0 : 1;
  } finally {
    await prom.stop();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`demo failed: ${(err as Error).message}`);
    process.exit(1);
  },
);
