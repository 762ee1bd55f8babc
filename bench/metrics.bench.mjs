// Benchmark: /metrics at scale. Fills one ControllerMetrics with N rollouts' worth of series
// through its public API (what the host calls: observeDecision, observeGuard, observeQuery...),
// shaped like the scale benchmark of issue 9: 3 gate metrics per rollout, a guard on 2 of them,
// a start and a few checkpoints judged per rollout, some rollouts paused or rolled back. Then
// scrapes it through the real HTTP server (src/observe/server.ts) from a client in another
// process, started once (so neither the client's work nor a fork is counted), and reports:
//   - series (sample lines) in all and per rollout, bytes of the text;
//   - time to answer one scrape (request sent to last byte received), and 3 concurrent scrapes;
//   - the longest event-loop block while scrapes are answered, two ways: the largest gap between
//     consecutive setImmediate ticks of a ping loop, and perf_hooks.monitorEventLoopDelay's max;
//     with the CPU time this process used within that gap (on a loaded machine the gap also
//     holds the time the process waited for a core).
// In-process and cheap (no controller, no Prometheus).
//
//   npm run build && node bench/metrics.bench.mjs [--rollouts 10000] [--scrapes 5]
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { ControllerMetrics } from '../dist/observe/metrics.js';
import { startHttpServer } from '../dist/observe/server.js';
import { silentLogger } from '../dist/support/log.js';

const arg = (name, dflt) => {
  const i = process.argv.indexOf(name);
  return i === -1 ? dflt : Number(process.argv[i + 1]);
};
const ROLLOUTS = arg('--rollouts', 10_000);
const SCRAPES = arg('--scrapes', 5);

const T0 = Date.parse('2026-12-01T00:00:00Z');
const iso = (ms) => new Date(ms).toISOString();

function record(rollout, seq, over) {
  return {
    seq,
    rollout,
    revision: 'v2',
    planHash: 'sha256:bench',
    kind: 'checkpoint',
    phase: 'ramp',
    phaseIndex: 1,
    at: iso(T0 + seq * 60_000 + 200),
    decision: 'continue',
    reason: '3/3 metrics pass',
    weight: { from: 10, to: 10 },
    mirror: { from: 0, to: 0 },
    actor: 'controller',
    next: { what: 'checkpoint', at: iso(T0 + (seq + 1) * 60_000) },
    ...over,
  };
}

const gate = (verdict = 'pass') => [
  { name: 'error-rate', query: 'q1', value: 0.001, max: 0.01, verdict, critical: true },
  { name: 'latency-p99', query: 'q2', value: 0.21, max: 0.3, verdict: 'pass', critical: true },
  { name: 'saturation', query: 'q3', value: 0.4, max: 0.8, verdict: 'pass', critical: false },
];

function fill(metrics, n) {
  metrics.setLeader(true);
  for (let i = 0; i < n; i++) {
    const rollout = `team-${i % 100}/service-${i}`;
    metrics.observeDecision(record(rollout, 1, { kind: 'lifecycle', decision: 'start', phase: 'canary', phaseIndex: 0, weight: { from: 0, to: 1 } }));
    for (let c = 0; c < 3; c++) {
      const due = T0 + (2 + c) * 60_000;
      metrics.observeDecision(record(rollout, 2 + c, { metrics: gate(), checkpoint: { index: c + 1, of: 6, due: iso(due), window: '1m', lateSeconds: ((i + c) % 50) / 10 } }));
    }
    for (let g = 0; g < 5; g++) metrics.observeGuard(rollout, g === 4 && i % 7 === 0 ? 'nodata' : 'pass');
    if (i % 10 === 0) metrics.observeDecision(record(rollout, 5, { kind: 'manual', decision: 'pause', actor: 'sre', next: undefined }));
    if (i % 25 === 0) {
      metrics.observeDecision(record(rollout, 6, { kind: 'guard', decision: 'rollback', metrics: gate('fail'), weight: { from: 10, to: 0 }, next: undefined }));
    }
  }
  for (let q = 0; q < 1000; q++) metrics.observeQuery(5 + (q % 40), q % 100 !== 0, 'timeout');
  for (let a = 0; a < 100; a++) metrics.observeRouterApply('file', 2, true);
  for (let j = 0; j < 1000; j++) metrics.observeJournalAppend(1);
}

/**
 * The scraping client, in its own process: reads `N URL` lines, sends N concurrent GETs and
 * answers a JSON line with the bytes and milliseconds of each.
 */
const CLIENT = `
const { request } = require('node:http');
const get = (url) => new Promise((resolve, reject) => {
  const t = performance.now();
  const req = request(url, { agent: false }, (res) => {
    let bytes = 0;
    res.on('data', (c) => { bytes += c.length; });
    res.on('end', () => resolve({ status: res.statusCode, bytes, ms: performance.now() - t }));
  });
  req.on('error', reject);
  req.end();
});
require('node:readline').createInterface({ input: process.stdin }).on('line', async (line) => {
  const [n, url] = line.split(' ');
  const all = await Promise.all(Array.from({ length: Number(n) }, () => get(url)));
  process.stdout.write(JSON.stringify(all) + '\\n');
});
`;
const client = spawn(process.execPath, ['-e', CLIENT], { stdio: ['pipe', 'pipe', 'inherit'] });
const answers = createInterface({ input: client.stdout })[Symbol.asyncIterator]();

/** N concurrent scrapes from the client process; their bytes and times. */
async function scrape(url, n = 1) {
  client.stdin.write(`${n} ${url}/metrics\n`);
  const all = JSON.parse((await answers.next()).value);
  for (const a of all) if (a.status !== 200) throw new Error(`scrape answered ${a.status}`);
  return all;
}

/** Runs `work` while a setImmediate ping measures the longest gap between two loop turns. */
async function withLoopWatch(work) {
  const h = monitorEventLoopDelay({ resolution: 1 });
  let maxGap = 0;
  let maxGapCpu = 0;
  let last = performance.now();
  let lastCpu = process.cpuUsage();
  let running = true;
  const ping = () => {
    const now = performance.now();
    const cpu = process.cpuUsage();
    if (now - last > maxGap) {
      maxGap = now - last;
      maxGapCpu = (cpu.user + cpu.system - lastCpu.user - lastCpu.system) / 1000;
    }
    last = now;
    lastCpu = cpu;
    if (running) setImmediate(ping);
  };
  h.enable();
  setImmediate(ping);
  const t = performance.now();
  const result = await work();
  const ms = performance.now() - t;
  running = false;
  h.disable();
  return { result, ms, maxGapMs: maxGap, maxGapCpuMs: maxGapCpu, delayMaxMs: h.max / 1e6 };
}

const q = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))];
const fmt = (x) => x.toFixed(1);

const metrics = new ControllerMetrics();
let t = performance.now();
fill(metrics, ROLLOUTS);
const fillMs = performance.now() - t;
const server = await startHttpServer({ host: '127.0.0.1', port: 0, metrics, ready: () => ({ ok: true }), log: silentLogger() });

const text = await metrics.metrics();
const samples = text.split('\n').filter((l) => l && !l.startsWith('#'));
const seriesOf = (i) => samples.filter((l) => l.includes(`rollout="team-${i % 100}/service-${i}"`)).length;
const withRollout = samples.filter((l) => l.includes('rollout="')).length;

const single = [];
for (let s = 0; s < SCRAPES; s++) single.push(await withLoopWatch(() => scrape(server.url)));
const concurrent = await withLoopWatch(() => scrape(server.url, 3));
client.stdin.end();
await server.close();
const longest = single.reduce((a, b) => (b.maxGapMs > a.maxGapMs ? b : a));

const out = {
  rollouts: ROLLOUTS,
  fillMs: Math.round(fillMs),
  series: samples.length,
  seriesWithRolloutLabel: withRollout,
  seriesOtherwise: samples.length - withRollout,
  // rollout 1 progresses; 10 was paused; 0 was paused, then rolled back by its guard.
  seriesPerRollout: { progressing: seriesOf(1), paused: seriesOf(10), rolledBack: seriesOf(0) },
  bytes: Buffer.byteLength(text),
  bytesReceived: single[0].result[0].bytes,
  scrapeMs: { p50: fmt(q(single.map((s) => s.result[0].ms), 0.5)), max: fmt(Math.max(...single.map((s) => s.result[0].ms))) },
  longestLoopBlockMs: {
    setImmediateGap: fmt(longest.maxGapMs),
    cpuInThatGap: fmt(longest.maxGapCpuMs),
    monitorEventLoopDelayMax: fmt(Math.max(...single.map((s) => s.delayMaxMs))),
  },
  threeConcurrentScrapes: {
    ms: fmt(Math.max(...concurrent.result.map((r) => r.ms))),
    longestLoopBlockMs: fmt(concurrent.maxGapMs),
    cpuInThatGap: fmt(concurrent.maxGapCpuMs),
  },
  rssMiB: Math.round(process.memoryUsage().rss / 2 ** 20),
};
console.log(JSON.stringify(out, null, 2));
