// Benchmark: one `rollgate run` (dist/main.js, a child process) with N rollouts, measured from
// outside. Each rollout has its own plan file and file-router target, 3 metrics, a guard every
// 10 s on 2 of them (window 45 s), 4 phases of 2 checkpoints spaced 1-3 min apart (varying by
// rollout). Prometheus is an instant fake on loopback (bench/fake-prometheus.mjs, its own
// process), or with `--prometheus real` a real local Prometheus scraping a small app that
// exposes every rollout's series, behind the same process as a counting proxy.
//
//   npm run build && node bench/scale.bench.mjs --rollouts 1000 --minutes 5
//
// Options: --rollouts N (1000), --minutes M (5), --prometheus fake|real (fake), --dir D (where
// the temporary workspace goes; default the OS temp dir), --keep (leave it there),
// --node-args "ARGS" (node options for the controller, e.g. "--heapsnapshot-signal=SIGUSR2"),
// --scrape-every S (15: seconds between /metrics scrapes).
//
// Reports (figures and method: bench/README.md, "Scale"): RSS max, open fds max, checkpoint
// lateness (journal `at` minus `checkpoint.due`), guard-tick lateness (the fake's view), the
// controller's CPU time, the time until every rollout has its `start` record, EMFILE lines in the log, `hold` records
// from router failures, Prometheus timeouts the controller logged, the /metrics answer time
// and size, the event-loop block during a scrape, and SIGTERM to exit. One JSON line, then a
// table.
import { execFileSync, fork, spawn } from 'node:child_process';
import { createReadStream, mkdirSync, mkdtempSync, openSync, closeSync, readdirSync, readFileSync, readlinkSync, readSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, get } from 'node:http';
import { tmpdir, loadavg } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { freePort } from '../dist/devtools/ports.js';
import { startPrometheus } from '../dist/devtools/local-prometheus.js';
import { GUARD_INTERVAL_S, GUARD_WINDOW, NAMESPACE, planYaml, rolloutName } from './scale-plans.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');
const arg = (name, fallback) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : fallback;
};
const N = Number(arg('--rollouts', '1000'));
const MINUTES = Number(arg('--minutes', '5'));
const PROMETHEUS = arg('--prometheus', 'fake');
const KEEP = process.argv.includes('--keep');
const NODE_ARGS = (arg('--node-args', '') ?? '').split(' ').filter(Boolean);
const SCRAPE_EVERY_MS = Number(arg('--scrape-every', '15')) * 1000;
if (!(N > 0) || !(MINUTES > 0) || !['fake', 'real'].includes(PROMETHEUS)) {
  console.error('usage: node bench/scale.bench.mjs [--rollouts N] [--minutes M] [--prometheus fake|real] [--dir D] [--keep] [--node-args "..."] [--scrape-every S]');
  process.exit(2);
}

const SIGTERM_LIMIT_MS = 60_000;
const name = rolloutName;

/** The app a real Prometheus scrapes: every rollout's series, counters growing at fixed rates. */
function startMetricsApp() {
  const t0 = Date.now();
  const server = createServer((req, res) => {
    const t = (Date.now() - t0) / 1000;
    const lines = ['# TYPE bench_requests_total counter', '# TYPE bench_latency_p99_seconds gauge', '# TYPE bench_ready gauge'];
    for (let i = 1; i <= N; i++) {
      const r = name(i);
      lines.push(
        `bench_requests_total{rollout="${r}",code="200"} ${(100 * t).toFixed(3)}`,
        `bench_requests_total{rollout="${r}",code="500"} ${(0.1 * t).toFixed(3)}`,
        `bench_latency_p99_seconds{rollout="${r}"} 0.12`,
        `bench_ready{rollout="${r}"} 1`,
      );
    }
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
    res.end(`${lines.join('\n')}\n`);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, target: `127.0.0.1:${server.address().port}` })));
}

function startQueryServer(args) {
  const child = fork(path.join(here, 'fake-prometheus.mjs'), ['--guard-interval', String(GUARD_INTERVAL_S), '--guard-window', GUARD_WINDOW, ...args], { stdio: 'inherit' });
  const pending = [];
  child.on('message', (m) => pending.shift()?.(m));
  const next = () => new Promise((resolve) => pending.push(resolve));
  return next().then(({ url }) => ({
    url,
    stats: () => {
      const p = next();
      child.send({ cmd: 'stats' });
      return p.then((m) => m.stats);
    },
    stop: () => child.kill('SIGTERM'),
  }));
}

function httpGet(url) {
  return new Promise((resolve, reject) => {
    const t = performance.now();
    get(url, { agent: false }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString('utf8'), ms: performance.now() - t }));
    }).on('error', reject);
  });
}

async function waitFor(probe, what, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

const percentile = (sorted, p) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] : null);

/** What the open fds are: sockets, pipes, journals, router files, plan files, other files by directory. */
function fdKinds(pid, fds) {
  const kinds = {};
  for (const fd of fds) {
    let target;
    try {
      target = readlinkSync(`/proc/${pid}/fd/${fd}`);
    } catch {
      continue; // closed meanwhile
    }
    const kind = target.startsWith('socket:')
      ? 'socket'
      : target.startsWith('pipe:')
        ? 'pipe'
        : target.startsWith('anon_inode:')
          ? 'anon_inode'
          : target.includes(`${path.sep}journal${path.sep}`)
            ? 'journal'
            : target.includes(`${path.sep}routes${path.sep}`)
              ? 'router file'
              : target.includes(`${path.sep}plans${path.sep}`)
                ? 'plan file'
                : `other in ${path.dirname(target)}`;
    kinds[kind] = (kinds[kind] ?? 0) + 1;
  }
  return kinds;
}

const TICKS_PER_SECOND = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }));

/** RSS (VmRSS, VmHWM), open fds and CPU seconds of the controller, from /proc. */
function procSample(pid, acc) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (field) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0);
    const rss = kb('VmRSS');
    if (rss > acc.rssSampledMaxKb) {
      acc.rssSampledMaxKb = rss;
      acc.rssSampledMaxAt = Date.now();
    }
    acc.rssMaxKb = Math.max(acc.rssMaxKb, rss, kb('VmHWM'));
    if (kb("VmRSS") > 0) acc.rssLastKb = kb("VmRSS");
    const fds = readdirSync(`/proc/${pid}/fd`);
    if (fds.length > acc.fdMax) {
      acc.fdMax = fds.length;
      acc.fdMaxAt = Date.now();
      acc.fdKindsAtMax = fdKinds(pid, fds);
    }
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    acc.cpuSeconds = (Number(stat[11]) + Number(stat[12])) / TICKS_PER_SECOND; // utime, stime (fields 14, 15)
  } catch {
    /* the process is gone */
  }
}

/** Whether the journal of a rollout starts with its `start` record (its first 4 KiB). */
function hasStart(file) {
  let fd;
  try {
    fd = openSync(file, 'r');
    const buf = Buffer.alloc(4096);
    const n = readSync(fd, buf, 0, buf.length, 0);
    return buf.toString('utf8', 0, n).includes('"decision":"start"');
  } catch {
    return false;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** One scrape of /metrics, with /healthz asked back to back while it runs (the loop's block seen from outside). */
async function scrape(base) {
  let done = false;
  let healthMaxMs = 0;
  const probes = (async () => {
    while (!done) {
      const r = await httpGet(`${base}/healthz`).catch(() => null);
      if (r && !done) healthMaxMs = Math.max(healthMaxMs, r.ms);
    }
  })();
  const r = await httpGet(`${base}/metrics`).finally(() => (done = true));
  await probes;
  const lines = r.body.split('\n');
  const series = lines.filter((l) => l && !l.startsWith('#')).length;
  const lag = lines.find((l) => l.startsWith('nodejs_eventloop_lag_max_seconds'));
  return { ms: r.ms, bytes: Buffer.byteLength(r.body), series, healthMaxMs, lagMaxS: lag ? Number(lag.split(' ').pop()) : null };
}

async function scanLog(file) {
  const out = { lines: 0, emfile: 0, prometheusTimeouts: 0, errors: 0, warnings: 0, stepFailures: 0 };
  const rl = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
  for await (const line of rl) {
    out.lines++;
    if (line.includes('EMFILE')) out.emfile++;
    if (line.includes('"kind":"timeout"') || /did not answer/.test(line)) out.prometheusTimeouts++;
    if (line.includes('"level":50')) out.errors++;
    if (line.includes('"level":40')) out.warnings++;
    if (line.includes('rollout step failed')) out.stepFailures++;
  }
  return out;
}

function analyseJournals(stateDir, stoppedAt) {
  const late = [];
  const decisions = {};
  let routerHolds = 0;
  let overdueAtStop = 0;
  let journals = 0;
  const dir = path.join(stateDir, 'journal', NAMESPACE);
  for (const f of readdirSync(dir)) {
    if (!f.endsWith('.jsonl')) continue;
    journals++;
    let last = null;
    for (const line of readFileSync(path.join(dir, f), 'utf8').split('\n')) {
      if (!line.startsWith('{')) continue;
      let e;
      try {
        e = JSON.parse(line);
      } catch {
        continue; // a line cut by the stop
      }
      if (typeof e.seq !== 'number' || typeof e.decision !== 'string') continue;
      last = e;
      decisions[e.decision] = (decisions[e.decision] ?? 0) + 1;
      if (e.kind === 'checkpoint' && e.checkpoint?.due) late.push(Date.parse(e.at) - Date.parse(e.checkpoint.due));
      if (e.kind === 'lifecycle' && e.decision === 'hold' && e.reason.startsWith('router ')) routerHolds++;
    }
    if (last?.next && Date.parse(last.next.at) < stoppedAt - 1000) overdueAtStop++;
  }
  late.sort((a, b) => a - b);
  return {
    journals,
    decisions,
    routerHolds,
    overdueAtStop,
    checkpoints: late.length,
    latenessMs: { p50: percentile(late, 50), p99: percentile(late, 99), max: late.at(-1) ?? null },
  };
}

// ---------------------------------------------------------------------------------------------

const base = arg('--dir', tmpdir());
const dir = mkdtempSync(path.join(base, 'rollgate-scale-'));
const plansDir = path.join(dir, 'plans');
const stateDir = path.join(dir, 'state');
mkdirSync(plansDir);
mkdirSync(path.join(dir, 'routes'));
const logFile = path.join(dir, 'run.log');
const cleanups = [];
const loadBefore = loadavg();

try {
  let query;
  if (PROMETHEUS === 'real') {
    const app = await startMetricsApp();
    cleanups.push(() => app.server.close());
    const prom = await startPrometheus({ scrapeTargets: [app.target], scrapeInterval: '5s' });
    cleanups.push(() => prom.stop());
    query = await startQueryServer(['--upstream', prom.url]);
    // Every rollout's series, with enough samples for a rate over the guard's 45 s window.
    await waitFor(
      async () => {
        const r = await httpGet(`${prom.url}/api/v1/query?query=${encodeURIComponent('count(count_over_time(bench_ready[45s]) >= 3)')}`).catch(() => null);
        return r && JSON.parse(r.body).data?.result?.[0]?.value?.[1] === String(N);
      },
      `Prometheus to have scraped ${N} rollouts' series 3 times`,
      120_000,
    );
  } else {
    query = await startQueryServer([]);
  }
  cleanups.push(() => query.stop());

  for (let i = 1; i <= N; i++) writeFileSync(path.join(plansDir, `${name(i)}.yaml`), planYaml(i, { routesDir: path.join(dir, 'routes'), prometheus: query.url }));
  const port = await freePort();
  const metricsBase = `http://127.0.0.1:${port}`;
  const logFd = openSync(logFile, 'w');
  const startedAt = Date.now();
  const child = spawn(process.execPath, [...NODE_ARGS, path.join(root, 'dist/main.js'), 'run', plansDir, '--state-dir', stateDir, '--listen', `127.0.0.1:${port}`], {
    stdio: ['ignore', logFd, logFd],
  });
  closeSync(logFd);
  let exit = null;
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve((exit = { code, signal, at: Date.now() }))));
  cleanups.push(() => exit || child.kill('SIGKILL'));

  const proc = { rssMaxKb: 0, rssLastKb: 0, rssSampledMaxKb: 0, rssSampledMaxAt: 0, fdMax: 0, fdKindsAtMax: {}, fdMaxAt: 0, cpuSeconds: 0 };
  const sampler = setInterval(() => procSample(child.pid, proc), 1000);
  cleanups.push(() => clearInterval(sampler));

  // Start-up: every rollout's `start` record.
  const pending = new Set(Array.from({ length: N }, (_, k) => name(k + 1)));
  let allStartedMs = null;
  const journal = (r) => path.join(stateDir, 'journal', NAMESPACE, `${r}.jsonl`);
  const startWatch = setInterval(() => {
    for (const r of pending) if (hasStart(journal(r))) pending.delete(r);
    if (pending.size === 0 && allStartedMs === null) {
      allStartedMs = Date.now() - startedAt;
      clearInterval(startWatch);
    }
  }, 1000);
  cleanups.push(() => clearInterval(startWatch));

  // /metrics, as a Prometheus would scrape it.
  const scrapes = [];
  const endAt = startedAt + MINUTES * 60_000;
  const ready = await waitFor(async () => exit || (await httpGet(`${metricsBase}/healthz`).then((r) => r.status === 200).catch(() => false)), 'the HTTP server', 120_000);
  if (ready === exit) throw new Error(`rollgate run exited early: ${JSON.stringify(exit)}; see ${logFile}`);
  while (Date.now() + SCRAPE_EVERY_MS < endAt && !exit) {
    await new Promise((r) => setTimeout(r, SCRAPE_EVERY_MS));
    scrapes.push(await scrape(metricsBase).catch((err) => ({ error: err.message })));
  }
  await new Promise((r) => setTimeout(r, Math.max(0, endAt - Date.now())));
  const loadDuring = loadavg();
  if (exit) throw new Error(`rollgate run exited during the run: ${JSON.stringify(exit)}; see ${logFile}`);

  const stoppedAt = Date.now();
  child.kill('SIGTERM');
  const killTimer = setTimeout(() => child.kill('SIGKILL'), SIGTERM_LIMIT_MS);
  await exited;
  clearTimeout(killTimer);
  const sigtermMs = exit.signal === 'SIGKILL' ? null : exit.at - stoppedAt;
  const fake = await query.stats();

  const journals = analyseJournals(stateDir, stoppedAt);
  const log = await scanLog(logFile);
  const ok = scrapes.filter((s) => !s.error);
  const scrapeMs = ok.map((s) => s.ms).sort((a, b) => a - b);
  const result = {
    bench: 'scale',
    date: new Date(startedAt).toISOString(),
    rollouts: N,
    minutes: MINUTES,
    prometheus: PROMETHEUS,
    loadavg: { before: loadBefore.map((x) => +x.toFixed(2)), end: loadDuring.map((x) => +x.toFixed(2)) },
    rssMaxMiB: +(proc.rssMaxKb / 1024).toFixed(1),
    rssEndMiB: +(proc.rssLastKb / 1024).toFixed(1),
    rssSampledMaxAtSeconds: +((proc.rssSampledMaxAt - startedAt) / 1000).toFixed(0),
    fdMaxAtSeconds: +((proc.fdMaxAt - startedAt) / 1000).toFixed(0),
    fdMax: proc.fdMax,
    fdKindsAtMax: proc.fdKindsAtMax,
    cpuSeconds: +proc.cpuSeconds.toFixed(1),
    cpuShareOfOneCore: +(proc.cpuSeconds / ((exit.at - startedAt) / 1000)).toFixed(3),
    allStartedSeconds: allStartedMs === null ? null : +(allStartedMs / 1000).toFixed(1),
    notStarted: pending.size,
    checkpoints: journals.checkpoints,
    checkpointLatenessMs: journals.latenessMs,
    overdueAtStop: journals.overdueAtStop,
    guardLatenessMs: fake.guardLateness,
    routerHolds: journals.routerHolds,
    decisions: journals.decisions,
    emfile: log.emfile,
    prometheusTimeouts: log.prometheusTimeouts,
    logErrors: log.errors,
    stepFailures: log.stepFailures,
    prometheusRequests: fake.requests,
    prometheusConnections: { accepted: fake.connections, maxOpen: fake.maxOpenConnections, maxInFlight: fake.maxInFlight },
    metricsScrape: {
      scrapes: ok.length,
      failed: scrapes.length - ok.length,
      p50Ms: scrapeMs.length ? +percentile(scrapeMs, 50).toFixed(1) : null,
      maxMs: scrapeMs.length ? +scrapeMs.at(-1).toFixed(1) : null,
      bytes: ok.at(-1)?.bytes ?? null,
      series: ok.at(-1)?.series ?? null,
      healthzDuringScrapeMaxMs: ok.length ? +Math.max(...ok.map((s) => s.healthMaxMs)).toFixed(1) : null,
      eventLoopLagMaxMs: ok.length ? +(Math.max(...ok.map((s) => s.lagMaxS ?? 0)) * 1000).toFixed(1) : null,
    },
    sigtermToExitMs: sigtermMs,
    exit: { code: exit.code, signal: exit.signal },
  };
  console.log(JSON.stringify(result));
  const ms = (v) => (v === null || v === undefined ? 'n/a' : `${Math.round(v).toLocaleString('en-US')} ms`);
  const rows = [
    ['rollouts, minutes, Prometheus', `${N}, ${MINUTES}, ${PROMETHEUS}`],
    ['load average (1/5/15 min) at the end', result.loadavg.end.join(' / ')],
    ['RSS max', `${result.rssMaxMiB} MiB (largest sample ${result.rssSampledMaxAtSeconds} s after spawn; at the end ${result.rssEndMiB} MiB)`],
    ['open fds max', `${result.fdMax}, ${result.fdMaxAtSeconds} s after spawn (${Object.entries(proc.fdKindsAtMax).map(([k, n]) => `${n} ${k}`).join(', ')})`],
    ['CPU of the controller', `${result.cpuSeconds} s (${(100 * result.cpuShareOfOneCore).toFixed(0)} % of one core from spawn to exit)`],
    ['all rollouts started', result.allStartedSeconds === null ? `no: ${pending.size} without a start record` : `${result.allStartedSeconds} s after spawn`],
    ['checkpoints judged', `${journals.checkpoints} (rollouts overdue at SIGTERM: ${journals.overdueAtStop})`],
    ['checkpoint lateness p50 / p99 / max', `${ms(journals.latenessMs.p50)} / ${ms(journals.latenessMs.p99)} / ${ms(journals.latenessMs.max)}`],
    [
      'guard-tick lateness p50 / p99 / max',
      `${ms(fake.guardLateness.p50Ms)} / ${ms(fake.guardLateness.p99Ms)} / ${ms(fake.guardLateness.maxMs)}; within 1 s: ${fake.guardLateness.withinOneSecond === null ? 'n/a' : `${(100 * fake.guardLateness.withinOneSecond).toFixed(2)} %`} of ${fake.guardLateness.ticks}`,
    ],
    ['EMFILE lines in the log', String(log.emfile)],
    ['hold records from router failures', String(journals.routerHolds)],
    ['Prometheus timeouts logged', String(log.prometheusTimeouts)],
    ['failed steps logged', String(log.stepFailures)],
    ['Prometheus requests / connections (max open)', `${fake.requests.query} / ${fake.connections} (${fake.maxOpenConnections})`],
    [
      '/metrics p50 / max, size',
      `${ms(result.metricsScrape.p50Ms)} / ${ms(result.metricsScrape.maxMs)}, ${result.metricsScrape.series} series, ${result.metricsScrape.bytes} bytes`,
    ],
    ['loop block during a scrape (/healthz) / lag max', `${ms(result.metricsScrape.healthzDuringScrapeMaxMs)} / ${ms(result.metricsScrape.eventLoopLagMaxMs)}`],
    ['SIGTERM to exit', sigtermMs === null ? `not honoured within ${SIGTERM_LIMIT_MS / 1000} s (SIGKILLed)` : `${ms(sigtermMs)} (exit code ${exit.code})`],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  for (const [k, v] of rows) console.log(`${k.padEnd(width)}  ${v}`);
  if (KEEP) console.log(`workspace kept: ${dir}`);
} finally {
  for (const c of cleanups.reverse()) await c();
  if (!KEEP) rmSync(dir, { recursive: true, force: true });
}
