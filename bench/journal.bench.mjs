// Journal benchmark: durable appends (write + fdatasync per record) and replay of a large journal.
//   npm run build && node bench/journal.bench.mjs [--appends N] [--replay N] [--dir D]
// Replays run in child processes so that each peak RSS is its own.
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync, mkdirSync, createWriteStream, statSync } from 'node:fs';
import { tmpdir, cpus, totalmem, release, loadavg } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const dist = new URL('../dist/journal/file-journal.js', import.meta.url);
const { FileJournal, scanJournalFile } = await import(dist.href);

const ROLLOUT = 'bench/analyzer';

function record(seq) {
  return {
    seq,
    rollout: ROLLOUT,
    revision: '2025.11.1',
    planHash: 'sha256:4f1c0d9a6b7e2c3d4f1c0d9a6b7e2c3d4f1c0d9a6b7e2c3d4f1c0d9a6b7e2c3d',
    kind: 'checkpoint',
    phase: 'ramp',
    phaseIndex: 2,
    checkpoint: { index: (seq % 6) + 1, of: 6, due: '2025-11-01T15:00:00Z', window: '30m' },
    at: new Date(Date.UTC(2025, 10, 1) + seq * 1000).toISOString(),
    decision: 'continue',
    reason: '3/3 metrics pass',
    score: 100,
    metrics: [
      { name: 'error-rate', query: 'sum(rate(http_requests_total{app="analyzer",track="canary",code=~"5.."}[30m]))/sum(rate(http_requests_total{app="analyzer",track="canary"}[30m]))', value: 0.0012, max: 0.005, verdict: 'pass', critical: true },
      { name: 'p99-latency', query: 'histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{app="analyzer",track="canary"}[30m])))', value: 0.31, max: 0.5, verdict: 'pass', critical: false },
      { name: 'alerts', query: 'count(ALERTS{alertstate="firing",severity="critical",app="analyzer"})', value: 0, max: 0, verdict: 'pass', critical: true },
    ],
    weight: { from: 10, to: 10 },
    mirror: { from: 0, to: 0 },
    actor: 'controller',
  };
}

const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : dflt;
};

if (args[0] === '--child') {
  // Child: replay one journal file, report time and peak RSS.
  const [, mode, stateDir] = args;
  const t0 = performance.now();
  let n = 0;
  if (mode === 'stream') {
    await scanJournalFile(join(stateDir, 'journal', 'bench', 'analyzer.jsonl'), () => n++, { rollout: ROLLOUT });
  } else {
    n = (await new FileJournal(stateDir, { readOnly: true }).read(ROLLOUT)).length;
  }
  const ms = performance.now() - t0;
  process.send({ n, ms, maxRssMiB: process.resourceUsage().maxRSS / 1024 });
  process.exit(0);
}

const appends = Number(opt('--appends', 10_000));
const replayN = Number(opt('--replay', 100_000));
const base = mkdtempSync(join(opt('--dir', tmpdir()), 'rollgate-bench-'));
const disk = (() => {
  try {
    return execFileSync('df', ['-h', base], { encoding: 'utf8' }).trim().split('\n').pop();
  } catch {
    return 'unknown';
  }
})();

try {
  // 1. Durable appends, one at a time as the engine does.
  const journal = new FileJournal(join(base, 'append'));
  const lat = new Float64Array(appends);
  const t0 = performance.now();
  for (let i = 1; i <= appends; i++) {
    const a = performance.now();
    await journal.append(ROLLOUT, record(i));
    lat[i - 1] = performance.now() - a;
  }
  const appendMs = performance.now() - t0;
  await journal.close();
  const sorted = Array.from(lat).sort((x, y) => x - y);

  // 2. A large journal, written in bulk (no fsync per line: we measure reading it).
  const replayDir = join(base, 'replay');
  mkdirSync(join(replayDir, 'journal', 'bench'), { recursive: true });
  const file = join(replayDir, 'journal', 'bench', 'analyzer.jsonl');
  const out = createWriteStream(file);
  for (let i = 1; i <= replayN; i++) {
    if (!out.write(`${JSON.stringify(record(i))}\n`)) await once(out, 'drain');
    if (i % 10 === 0 && !out.write(`${JSON.stringify({ applied: i, rollout: ROLLOUT, weight: 10, mirror: 0, at: '2025-11-01T15:00:01Z' })}\n`)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
  const fileMiB = statSync(file).size / 2 ** 20;

  const child = async (mode) => {
    const p = fork(fileURLToPath(import.meta.url), ['--child', mode, replayDir], { stdio: 'inherit' });
    const [msg] = await once(p, 'message');
    return msg;
  };
  const stream = await child('stream');
  const array = await child('array');

  const r = (x, d = 1) => Number(x.toFixed(d));
  const result = {
    machine: { loadavg1m: r(loadavg()[0], 2), cpus: cpus().length, cpu: cpus()[0]?.model, memGiB: r(totalmem() / 2 ** 30), kernel: release(), node: process.version, disk },
    append: { records: appends, seconds: r(appendMs / 1000, 2), perSecond: Math.round(appends / (appendMs / 1000)), p50ms: r(pct(sorted, 50), 3), p99ms: r(pct(sorted, 99), 3), maxMs: r(sorted[sorted.length - 1], 3) },
    replay: {
      records: replayN,
      entries: stream.n,
      fileMiB: r(fileMiB),
      stream: { seconds: r(stream.ms / 1000, 2), perSecond: Math.round(stream.n / (stream.ms / 1000)), peakRssMiB: r(stream.maxRssMiB) },
      readArray: { seconds: r(array.ms / 1000, 2), peakRssMiB: r(array.maxRssMiB) },
    },
  };
  console.log(`machine: ${result.machine.cpus} cores (${result.machine.cpu}), ${result.machine.memGiB} GiB, Linux ${result.machine.kernel}, Node ${result.machine.node}`);
  console.log(`disk:    ${disk}`);
  console.log(`load:    ${result.machine.loadavg1m} (1-minute load average at the end of the run)`);
  console.log(`append:  ${appends} records with fdatasync in ${result.append.seconds} s = ${result.append.perSecond} records/s; latency p50 ${result.append.p50ms} ms, p99 ${result.append.p99ms} ms, max ${result.append.maxMs} ms`);
  console.log(`replay:  ${replayN} records + ${stream.n - replayN} applied marks (${result.replay.fileMiB} MiB), validated:`);
  console.log(`         streaming scan ${result.replay.stream.seconds} s (${result.replay.stream.perSecond} entries/s), peak RSS ${result.replay.stream.peakRssMiB} MiB`);
  console.log(`         read() into an array ${result.replay.readArray.seconds} s, peak RSS ${result.replay.readArray.peakRssMiB} MiB`);
  console.log(JSON.stringify(result));
} finally {
  rmSync(base, { recursive: true, force: true });
}
