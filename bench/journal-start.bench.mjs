// Start benchmark: a rollout resuming on a journal of 1,000,000 records (three metrics each,
// an applied mark every 10 records), once with state snapshots as `rollgate run` writes them
// (one every 1,000 entries) and once without any (a journal written before snapshots).
//   npm run build && node bench/journal-start.bench.mjs [--records N] [--dir D]
// Each resume runs in a fresh child process: `FileJournal.replay`, what `RolloutRunner.open`
// calls, timed from the call, and the child's peak RSS and wall time from its spawn.
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync, mkdirSync, createWriteStream, statSync } from 'node:fs';
import { tmpdir, cpus, totalmem, release, loadavg } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

const { FileJournal } = await import(new URL('../dist/journal/file-journal.js', import.meta.url).href);
const { applyEntry, initialState } = await import(new URL('../dist/core/state.js', import.meta.url).href);
const { snapshotLine } = await import(new URL('../dist/core/snapshot.js', import.meta.url).href);

const ROLLOUT = 'bench/analyzer';
const SNAPSHOT_EVERY = 1000; // FileJournal's default
const T0 = Date.UTC(2025, 10, 1);
const iso = (ms) => new Date(ms).toISOString();

function record(seq) {
  const first = seq === 1;
  return {
    seq,
    rollout: ROLLOUT,
    revision: '2025.11.1',
    planHash: 'sha256:4f1c0d9a6b7e2c3d4f1c0d9a6b7e2c3d4f1c0d9a6b7e2c3d4f1c0d9a6b7e2c3d',
    kind: first ? 'lifecycle' : 'checkpoint',
    phase: 'ramp',
    phaseIndex: 0,
    ...(first ? { enters: { phase: 'ramp', index: 0 } } : { checkpoint: { index: seq - 1, of: 2_000_000, due: iso(T0 + seq * 1000), window: '30m' } }),
    at: iso(T0 + seq * 1000),
    decision: first ? 'start' : 'continue',
    reason: first ? 'revision 2025.11.1 starts with phase ramp' : '3/3 metrics pass',
    score: 100,
    metrics: first
      ? undefined
      : [
          { name: 'error-rate', query: 'sum(rate(http_requests_total{app="analyzer",track="canary",code=~"5.."}[30m]))/sum(rate(http_requests_total{app="analyzer",track="canary"}[30m]))', value: 0.0012, max: 0.005, verdict: 'pass', critical: true },
          { name: 'p99-latency', query: 'histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{app="analyzer",track="canary"}[30m])))', value: 0.31, max: 0.5, verdict: 'pass', critical: false },
          { name: 'alerts', query: 'count(ALERTS{alertstate="firing",severity="critical",app="analyzer"})', value: 0, max: 0, verdict: 'pass', critical: true },
        ],
    weight: { from: first ? 0 : 10, to: 10 },
    mirror: { from: 0, to: 0 },
    actor: 'controller',
  };
}

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : dflt;
};

if (args[0] === '--child') {
  const t0 = performance.now();
  const journal = new FileJournal(args[1], { readOnly: true });
  const state = await journal.replay(ROLLOUT);
  const ms = performance.now() - t0;
  process.send({ seq: state.seq, checkpointIndex: state.checkpointIndex, ms, maxRssMiB: process.resourceUsage().maxRSS / 1024, uptimeMs: process.uptime() * 1000 });
  process.exit(0);
}

const n = Number(opt('--records', 1_000_000));
const base = mkdtempSync(join(opt('--dir', tmpdir()), 'rollgate-start-bench-'));

async function write(stream, line) {
  if (!stream.write(line)) await once(stream, 'drain');
}

try {
  // Both journals in one pass: the same entries, one with the snapshots the engine writes.
  const dirs = { snapshots: join(base, 'snapshots'), plain: join(base, 'plain') };
  const files = {};
  const out = {};
  for (const [k, d] of Object.entries(dirs)) {
    mkdirSync(join(d, 'journal', 'bench'), { recursive: true });
    files[k] = join(d, 'journal', 'bench', 'analyzer.jsonl');
    out[k] = createWriteStream(files[k]);
  }
  let state = initialState(ROLLOUT);
  let since = 0;
  let snapshots = 0;
  const tWrite = performance.now();
  const append = async (entry) => {
    const line = `${JSON.stringify(entry)}\n`;
    await write(out.plain, line);
    await write(out.snapshots, line);
    state = applyEntry(state, entry);
    if (++since >= SNAPSHOT_EVERY) {
      await write(out.snapshots, `${snapshotLine(state, iso(T0))}\n`);
      since = 0;
      snapshots++;
    }
  };
  for (let seq = 1; seq <= n; seq++) {
    await append(record(seq));
    if (seq === 1 || seq % 10 === 0) await append({ applied: seq, rollout: ROLLOUT, weight: 10, mirror: 0, at: iso(T0 + seq * 1000 + 500) });
  }
  for (const s of Object.values(out)) s.end();
  await Promise.all(Object.values(out).map((s) => once(s, 'finish')));
  const writeS = (performance.now() - tWrite) / 1000;

  const child = async (dir) => {
    const t = performance.now();
    const p = fork(fileURLToPath(import.meta.url), ['--child', dir], { stdio: 'inherit' });
    const [msg] = await once(p, 'message');
    await once(p, 'exit');
    return { ...msg, wallMs: performance.now() - t };
  };
  const withSnapshots = await child(dirs.snapshots);
  const without = await child(dirs.plain);
  for (const r of [withSnapshots, without]) if (r.seq !== n) throw new Error(`replayed seq ${r.seq}, expected ${n}`);

  const r1 = (x, d = 1) => Number(x.toFixed(d));
  const mib = (f) => r1(statSync(f).size / 2 ** 20);
  const result = {
    machine: { loadavg: loadavg().map((x) => r1(x, 2)), cpus: cpus().length, cpu: cpus()[0]?.model, memGiB: r1(totalmem() / 2 ** 30), kernel: release(), node: process.version },
    records: n,
    snapshotEvery: SNAPSHOT_EVERY,
    written: { seconds: r1(writeS) },
    withSnapshots: { fileMiB: mib(files.snapshots), snapshots, replaySeconds: r1(withSnapshots.ms / 1000, 3), processSeconds: r1(withSnapshots.wallMs / 1000, 2), peakRssMiB: r1(withSnapshots.maxRssMiB) },
    withoutSnapshots: { fileMiB: mib(files.plain), replaySeconds: r1(without.ms / 1000, 2), processSeconds: r1(without.wallMs / 1000, 2), peakRssMiB: r1(without.maxRssMiB) },
  };
  console.log(`machine: ${result.machine.cpus} cores (${result.machine.cpu}), ${result.machine.memGiB} GiB, Linux ${result.machine.kernel}, Node ${result.machine.node}`);
  console.log(`load:    ${result.machine.loadavg.join(' ')} (1/5/15-minute load average at the end of the run)`);
  console.log(`journal: ${n} records + applied marks, written in ${result.written.seconds} s`);
  console.log(`with snapshots (${snapshots}, ${result.withSnapshots.fileMiB} MiB): replay ${result.withSnapshots.replaySeconds} s, child process ${result.withSnapshots.processSeconds} s, peak RSS ${result.withSnapshots.peakRssMiB} MiB`);
  console.log(`without snapshots (${result.withoutSnapshots.fileMiB} MiB): replay ${result.withoutSnapshots.replaySeconds} s, child process ${result.withoutSnapshots.processSeconds} s, peak RSS ${result.withoutSnapshots.peakRssMiB} MiB`);
  console.log(JSON.stringify(result));
} finally {
  rmSync(base, { recursive: true, force: true });
}
