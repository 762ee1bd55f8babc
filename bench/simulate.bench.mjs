// Benchmark: `rollgate simulate` of a plan shaped like ../shared/examples/ramp-and-rollout.yaml
// (3 phases, 17 checkpoints over 40 hours, guard every 5 s on two metrics) against 42 hours of
// generated history in a local Prometheus. Measures the wall time of the whole CLI command
// (process start included) and the HTTP requests it makes, over several runs.
//
//   npm run build && node bench/simulate.bench.mjs [--runs 5]
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createServer, request } from 'node:http';
import { OpenMetricsHistory, exponentialLatency } from '../dist/devtools/openmetrics.js';
import { startPrometheus } from '../dist/devtools/local-prometheus.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const runs = Number(process.argv[process.argv.indexOf('--runs') + 1]) || 5;
const HOUR = 3600;
const iso = (s) => new Date(s * 1000).toISOString();

const end = Math.floor(Date.now() / 60_000) * 60 - 5 * 60;
const from = end - 42 * HOUR;
const rolloutAt = from + 26 * HOUR;

function plan(address) {
  const rollout = [0.25, 0.5, 1, 2, 8, 12, 13, 13.9].map((h) => `"${iso(rolloutAt + h * HOUR)}"`);
  return `apiVersion: rollgate.dev/v1alpha1
kind: RolloutPlan
metadata: { name: bench-analyzer, namespace: bench }
spec:
  revision: "bench-1"
  startAt: "${iso(from)}"
  prometheus: { address: ${address} }
  traffic: { router: file, file: { path: /tmp/rollgate-bench-unused.json } }
  vars: { app: analyzer }
  metrics:
    - name: error-rate
      query: |
        sum(rate(http_requests_total{app="{{app}}",track="canary",code=~"5.."}[{{window}}]))
          / sum(rate(http_requests_total{app="{{app}}",track="canary"}[{{window}}]))
      max: 0.005
      critical: true
    - name: p99-latency
      query: |
        histogram_quantile(0.99, sum by (le) (
          rate(http_request_duration_seconds_bucket{app="{{app}}",track="canary"}[{{window}}])))
      max: 0.200
      critical: true
    - name: availability
      query: avg_over_time(up{app="{{app}}",track="canary"}[{{window}}])
      min: 0.9995
    - name: critical-incidents
      alerts: 'severity="critical",app="analyzer"'
      critical: true
  guard: { interval: 5s, window: 1m, consecutive: 3, metrics: [error-rate, p99-latency] }
  phases:
    - { name: canary, weight: 1, checkpoints: [15m, 30m, 1h] }
    - { name: ramp, weight: 10, checkpoints: [15m, 30m, 1h, 2h, 3h, 4h] }
    - name: rollout
      weight: 100
      startAt: "${iso(rolloutAt)}"
      checkpoints: [${rollout.join(', ')}]
      thresholds: { error-rate: { max: 0.001 }, p99-latency: { max: 0.05 }, availability: { min: 0.9999 } }
`;
}

function history() {
  const h = new OpenMetricsHistory({ start: from - 10 * 60, end, step: 30 });
  const labels = { app: 'analyzer', track: 'canary' };
  h.counter('http_requests_total', { ...labels, code: '200' }, 50);
  h.counter('http_requests_total', { ...labels, code: '500' }, 0.02);
  h.histogram('http_request_duration_seconds', labels, {
    rate: 50,
    latency: exponentialLatency(0.004),
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5],
  });
  h.gauge('up', labels, 1);
  return h.text();
}

/** Counts the requests simulate sends, by API path. */
function countingProxy(target) {
  const counts = { query: 0, query_range: 0 };
  const server = createServer((req, res) => {
    if (req.url.includes('query_range')) counts.query_range++;
    else if (req.url.includes('/api/v1/query')) counts.query++;
    const t = new URL(target);
    const up = request({ host: t.hostname, port: t.port, path: req.url, method: req.method, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    req.pipe(up);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, counts, url: `http://127.0.0.1:${server.address().port}` })));
}

/**
 * CPU seconds (user + system) of this process's waited-for children so far, from
 * /proc/self/stat (cutime + cstime); null where there is no /proc. Taken around each run, it
 * is the simulate process's own CPU time: much less sensitive than wall time to other work on
 * a shared machine (Prometheus's share of the work is not in it).
 */
const ticksPerSecond = existsSync('/proc/self/stat') ? Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' })) : 0;
function childrenCpuSeconds() {
  if (!ticksPerSecond) return null;
  const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ');
  return (Number(fields[13]) + Number(fields[14])) / ticksPerSecond; // cutime, cstime (fields 16, 17)
}

function run(cmd, args) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('exit', (status) => resolve({ status, stdout, stderr }));
  });
}

const prom = await startPrometheus({ openMetrics: history() });
const dir = mkdtempSync(path.join(tmpdir(), 'rollgate-bench-'));
try {
  console.log(`history: 42 h imported in ${(prom.importMs / 1000).toFixed(1)} s; Prometheus ready in ${prom.startupMs} ms`);
  const proxy = await countingProxy(prom.url);
  const file = path.join(dir, 'plan.yaml');
  writeFileSync(file, plan(proxy.url));
  const times = [];
  const cpu = [];
  let last;
  for (let i = 0; i < runs; i++) {
    proxy.counts.query = 0;
    proxy.counts.query_range = 0;
    const t = performance.now();
    const c = childrenCpuSeconds();
    // Asynchronous: the counting proxy lives in this process and must keep answering.
    last = await run(process.execPath, [path.join(root, 'dist/main.js'), 'simulate', file, '--output', 'json', '--until', iso(end)]);
    times.push(performance.now() - t);
    if (c !== null) cpu.push(childrenCpuSeconds() - c);
    if (last.status !== 0) {
      console.error(last.stdout, last.stderr);
      throw new Error(`simulate exited ${last.status}, expected 0 (complete)`);
    }
  }
  const records = last.stdout.trim().split('\n').map((l) => JSON.parse(l));
  const ticks = Math.round((40 * HOUR) / 5);
  times.sort((a, b) => a - b);
  console.log(`records: ${records.length} (${records.filter((r) => r.kind === 'checkpoint').length} checkpoints), final: ${records.at(-1).decision}`);
  console.log(`HTTP requests per run: ${proxy.counts.query} instant + ${proxy.counts.query_range} range, for ~${ticks} guard ticks x 2 metrics`);
  console.log(`wall time over ${runs} runs: min ${(times[0] / 1000).toFixed(2)} s, median ${(times[Math.floor(runs / 2)] / 1000).toFixed(2)} s, max ${(times.at(-1) / 1000).toFixed(2)} s`);
  if (cpu.length) {
    cpu.sort((a, b) => a - b);
    console.log(`CPU time of simulate (user + system) over ${runs} runs: min ${cpu[0].toFixed(2)} s, median ${cpu[Math.floor(runs / 2)].toFixed(2)} s, max ${cpu.at(-1).toFixed(2)} s`);
  }
  proxy.server.close();
} finally {
  await prom.stop();
  rmSync(dir, { recursive: true, force: true });
}
