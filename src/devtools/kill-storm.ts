/**
 * The kill storm: real rollouts under `rollgate run` (the built CLI), SIGKILLed from outside at
 * random moments and right after journal appends (the journal file is watched and the process
 * is killed as soon as a new line lands), including during gradual rollbacks, then restarted on
 * the same state dir. Used by `npm run harness:kill-storm` (scripts/harness/kill-storm.mjs, 200+
 * kills) and by its CI variant (test/harness/kill-storm.test.ts, 20 kills).
 *
 * Invariants, checked after every kill, after every restart's reconcile and at the end:
 * - `seq` is 1..N: no gap, no duplicate; every complete journal line parses;
 * - no checkpoint judged twice: one checkpoint (phase, index, due) has at most one non-hold record;
 * - the split never moves without a durable record: with the controller dead, the router shows the
 *   split of the last applied decision or of a later journalled one (never an older or unknown one);
 * - after a restart is ready (/readyz 200, i.e. journal replayed and router reconciled), the router
 *   shows the journal's last decided split (or a split decided after it);
 * - the final outcome (how it ended, the weights it went through, the final split) equals that of
 *   an uninterrupted run of the same plan against the same Prometheus.
 *
 * Metrics come from a real Prometheus: the queries are PromQL of `{{weight}}`, so a plan's
 * evidence depends only on the phase it is in, and an interrupted run sees the same evidence as
 * an uninterrupted one.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sameSplit, type Split } from '../core/router.js';
import { nginxNames, probeSocketFor, renderInclude } from '../routers/nginx-config.js';
import { NginxRouter } from '../routers/nginx.js';
import { nginxSiteConfig, startNginx, type RunningNginx } from './local-nginx.js';
import { sleep } from './local-process.js';
import { startBackends, type TestBackends } from './test-backends.js';

export type Scenario = 'healthy' | 'guard-rollback' | 'checkpoint-rollback';
/** The file router, or the nginx router in one of its two modes (docs/routers.md). */
export type RouterKind = 'file' | 'nginx-lua' | 'nginx-reload';
export type KillMode = 'random' | 'after-append' | 'during-rollback';

export interface KillStormOptions {
  /** SIGKILLs to deliver while rollouts are under way (kills after a rollout ended do not count). */
  kills: number;
  /** `dist/main.js` of the build under test. */
  mainJs: string;
  /** A real Prometheus (`http://127.0.0.1:PORT`). */
  prometheus: string;
  /** Share of trials on the nginx router, its lua and reload modes in turn (the rest use the file router). Default 0.25. */
  nginxShare?: number;
  /** Kills per trial, inclusive range. Default [4, 7]. */
  killsPerTrial?: [number, number];
  /** Trials run side by side. Default 2. */
  parallel?: number;
  /** PRNG seed (the run is reproducible in its choices, not in its timing). Default 1. */
  seed?: number;
  /** Progress lines. */
  log?: (line: string) => void;
}

export interface Outcome {
  end: 'complete' | 'rolled back' | 'unfinished';
  /** The weights the rollout went through, in order (split-changing decisions). */
  weights: number[];
  final: Split;
}

export interface TrialReport {
  id: string;
  scenario: Scenario;
  router: RouterKind;
  kills: number;
  killsByMode: Record<KillMode, number>;
  /** Kills that landed while a rollback was under way (a rollback record, the rollout not yet at 0). */
  killsDuringRollback: number;
  /** Kills that left the router behind the journal (a decided split not yet applied): the restart had to re-apply it. */
  killsBeforeApply: number;
  restarts: number;
  records: number;
  outcome: Outcome;
  expected: Outcome;
  violations: string[];
}

export interface KillStormReport {
  trials: TrialReport[];
  kills: number;
  killsByMode: Record<KillMode, number>;
  killsDuringRollback: number;
  killsBeforeApply: number;
  restarts: number;
  /** Invariant checks done (after each kill, after each restart, at the end of each trial). */
  checks: number;
  violations: string[];
  baselines: Array<{ scenario: Scenario; router: RouterKind; outcome: Outcome }>;
  durationMs: number;
}

// ---------------------------------------------------------------------------------------------
// plans

interface Entry {
  seq?: number;
  applied?: number;
  kind?: string;
  decision?: string;
  phaseIndex?: number;
  checkpoint?: { index: number; due: string };
  weight?: { from: number; to: number };
  mirror?: { from: number; to: number };
}

interface RouterRig {
  kind: RouterKind;
  /** YAML of spec.traffic. */
  traffic: string;
  /** The split the router is applying now; null when it cannot be read. */
  read(): Promise<Split | null>;
  stop(): Promise<void>;
}

/**
 * The plan of a scenario. All phases are seconds long. The query's value is weight/1000: 0.01
 * at the canary's 10% passes `max: 0.03`; 0.05 at 50% breaches it, so the rollback scenarios roll
 * back gradually (50 → 40 → 25 → 10 → 0, one step a second) from the ramp phase, by the guard
 * or (guard off) by the ramp's checkpoint.
 */
export function scenarioPlan(scenario: Scenario, name: string, traffic: string): string {
  const query = scenario === 'healthy' ? 'sum(vector(0.001))' : 'sum(vector({{weight}})) / 1000';
  const guard = scenario === 'checkpoint-rollback' ? '{ interval: 1s, metrics: [] }' : '{ interval: 1s, consecutive: 2, window: 1m }';
  return `apiVersion: rollgate.dev/v1alpha1
kind: RolloutPlan
metadata:
  name: ${name}
spec:
  revision: "1"
${traffic}
  metrics:
    - name: error-rate
      query: ${query}
      max: 0.03
      critical: true
  guard: ${guard}
  analysis: { retryInterval: 1s }
  rollback: { strategy: gradual, steps: [40, 25, 10, 0], stepInterval: 1s }
  phases:
    - { name: canary, weight: 10, checkpoints: [1s, 2s, 3s] }
    - { name: ramp, weight: 50, checkpoints: [1s, 2s, 3s] }
    - { name: full, weight: 100, checkpoints: [1s] }
`;
}

async function fileRig(dir: string): Promise<RouterRig> {
  const file = join(dir, 'split.json');
  return {
    kind: 'file',
    traffic: `  traffic:\n    router: file\n    file:\n      path: ${file}`,
    async read() {
      if (!existsSync(file)) return { weight: 0, mirror: 0 }; // nothing applied yet: all traffic on stable
      try {
        const s = JSON.parse(readFileSync(file, 'utf8')) as { canary: number; mirror: number };
        return { weight: s.canary, mirror: s.mirror };
      } catch {
        return null; // a torn or foreign file: a violation
      }
    },
    stop: async () => undefined,
  };
}

async function nginxRig(name: string, mode: 'lua' | 'reload'): Promise<RouterRig> {
  const backends: TestBackends<'stable' | 'canary'> = await startBackends(['stable', 'canary'] as const);
  let nginx: RunningNginx;
  const includeIn = (dir: string) => join(dir, 'rollgate', `${name}.conf`);
  try {
    nginx = await startNginx({
      workerProcesses: 1,
      lua: mode === 'lua',
      files: ({ dir }) => ({
        [`rollgate/${name}.conf`]: renderInclude({
          rollout: name,
          names: nginxNames(name),
          stable: [backends.stable.address],
          canary: [backends.canary.address],
          probeSocket: probeSocketFor(includeIn(dir)),
          split: { weight: 0, mirror: 0 },
        }).text,
      }),
      http: ({ port, dir }) => nginxSiteConfig({ port, include: includeIn(dir), rollout: name }),
    });
  } catch (err) {
    await backends.close();
    throw err;
  }
  const include = includeIn(nginx.dir);
  const list = (argv: string[]) => `[${argv.map((a) => JSON.stringify(a)).join(', ')}]`;
  // The router's own read: for lua mode the split in nginx's shared dict (and its generation
  // checked against the file), for reload mode the include nginx was last reloaded with.
  const router = new NginxRouter({ rollout: name, configFile: include, stable: [backends.stable.address], canary: [backends.canary.address], mode, test: nginx.testArgv, reload: nginx.reloadArgv });
  return {
    kind: mode === 'lua' ? 'nginx-lua' : 'nginx-reload',
    traffic: [
      '  traffic:',
      '    router: nginx',
      '    nginx:',
      `      configFile: ${include}`,
      `      stable: [${backends.stable.address}]`,
      `      canary: [${backends.canary.address}]`,
      `      mode: ${mode}`,
      `      test: ${list(nginx.testArgv)}`,
      `      reload: ${list(nginx.reloadArgv)}`,
    ].join('\n'),
    async read() {
      try {
        return await router.read();
      } catch {
        return null;
      }
    },
    stop: async () => {
      await nginx.stop();
      await backends.close();
    },
  };
}

// ---------------------------------------------------------------------------------------------
// the journal and its invariants

interface JournalRead {
  entries: Entry[];
  /** Complete lines that did not parse. */
  corrupt: number;
}

export function readJournalFile(file: string): JournalRead {
  let raw = '';
  try {
    raw = readFileSync(file, 'utf8');
  } catch {
    return { entries: [], corrupt: 0 };
  }
  const lines = raw.split('\n');
  lines.pop(); // '' after the last newline, or a torn line (the restart truncates it)
  const entries: Entry[] = [];
  let corrupt = 0;
  for (const line of lines) {
    try {
      entries.push(JSON.parse(line) as Entry);
    } catch {
      corrupt++;
    }
  }
  return { entries, corrupt };
}

const records = (entries: Entry[]) => entries.filter((e) => e.seq !== undefined);
const changesSplit = (r: Entry) => r.weight !== undefined && (r.weight.from !== r.weight.to || r.mirror?.from !== r.mirror?.to);
const splitOf = (r: Entry): Split => ({ weight: r.weight!.to, mirror: r.mirror?.to ?? 0 });
const sameSplitAs = (a: Split | null, b: Split) => a !== null && sameSplit(a, b);
const fmt = (s: Split | null) => (s ? `${s.weight}%${s.mirror ? `+${s.mirror}m` : ''}` : 'unreadable');

/** Violations of the journal's own invariants: parseable lines, gapless unique seq, no checkpoint judged twice. */
export function journalViolations(j: JournalRead): string[] {
  const out: string[] = [];
  if (j.corrupt > 0) out.push(`${j.corrupt} complete journal line(s) do not parse`);
  const recs = records(j.entries);
  recs.forEach((r, i) => {
    if (r.seq !== i + 1) out.push(`seq ${r.seq} at position ${i + 1} (gap or duplicate)`);
  });
  const judged = new Map<string, number>();
  for (const r of recs) {
    if (r.kind !== 'checkpoint' || !r.checkpoint || r.decision === 'hold') continue;
    const key = `phase ${r.phaseIndex} checkpoint ${r.checkpoint.index} due ${r.checkpoint.due}`;
    judged.set(key, (judged.get(key) ?? 0) + 1);
  }
  for (const [key, n] of judged) if (n > 1) out.push(`${key} judged ${n} times`);
  return out;
}

/**
 * The splits a router may show while the controller is dead: the last applied decision's split,
 * or that of a split-changing decision journalled after it (its apply may have been under way).
 * Before any applied mark: 0% (the router's initial state) or any journalled split.
 */
export function splitsWhileDead(entries: Entry[]): Split[] {
  const recs = records(entries).filter(changesSplit);
  const applied = new Set(entries.filter((e) => e.applied !== undefined).map((e) => e.applied!));
  let from = -1;
  recs.forEach((r, i) => {
    if (applied.has(r.seq!)) from = i;
  });
  const allowed = from < 0 ? [{ weight: 0, mirror: 0 }] : [];
  for (const r of recs.slice(Math.max(0, from))) allowed.push(splitOf(r));
  return allowed;
}

/**
 * The splits a router may show once a restart is ready (journal replayed, router reconciled):
 * the last split decided in `before` (the journal read when it was ready), or a split decided
 * after it (read in `after`, once the router was read), never an older one.
 */
export function splitsAfterReconcile(before: Entry[], after: Entry[]): Split[] {
  const last = records(before).filter(changesSplit).at(-1);
  const since = records(after).filter((r) => changesSplit(r) && r.seq! >= (last?.seq ?? 0));
  // Killed before any split was decided: still 0%, or a split the restart decided since.
  return [...(last ? [] : [{ weight: 0, mirror: 0 }]), ...since.map(splitOf)];
}

/** The last decided split (0% before any). */
export function lastDecidedSplit(entries: Entry[]): Split {
  const last = records(entries).filter(changesSplit).at(-1);
  return last ? splitOf(last) : { weight: 0, mirror: 0 };
}

export function outcomeOf(entries: Entry[]): Outcome {
  const recs = records(entries);
  const changes = recs.filter(changesSplit);
  const weights: number[] = [];
  for (const r of changes) if (weights.at(-1) !== r.weight!.to) weights.push(r.weight!.to);
  const last = changes.at(-1);
  const final = last ? splitOf(last) : { weight: 0, mirror: 0 };
  const applied = last !== undefined && entries.some((e) => e.applied === last.seq);
  let end: Outcome['end'] = 'unfinished';
  if (applied && recs.some((r) => r.decision === 'complete')) end = 'complete';
  else if (applied && last.decision === 'rollback' && final.weight === 0 && final.mirror === 0) end = 'rolled back';
  return { end, weights, final };
}

const sameOutcome = (a: Outcome, b: Outcome) => a.end === b.end && a.weights.join(',') === b.weights.join(',') && sameSplitAs(a.final, b.final);
const fmtOutcome = (o: Outcome) => `${o.end} via ${o.weights.join('→')} at ${fmt(o.final)}`;

// ---------------------------------------------------------------------------------------------
// processes

interface RunProcess {
  child: ChildProcess;
  exited: Promise<void>;
  gone(): boolean;
  stderr(): string;
}

const STDERR_KEEP = 64 * 1024;

function startRun(mainJs: string, plan: string, stateDir: string, prometheus: string, cwd: string): RunProcess {
  const env = { ...process.env };
  const child = spawn(process.execPath, [mainJs, 'run', plan, '--state-dir', stateDir, '--listen', '127.0.0.1:0', '--prometheus', prometheus, '--log-format', 'json'], {
    cwd,
    env,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    err += d;
    if (err.length > 2 * STDERR_KEEP) err = err.slice(-STDERR_KEEP);
  });
  let gone = false;
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => {
      gone = true;
      resolve();
    });
    child.once('error', () => {
      gone = true;
      resolve();
    });
  });
  return { child, exited, gone: () => gone, stderr: () => err };
}

const everyChild = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of everyChild) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

async function waitUntil<T>(probe: () => T | undefined | Promise<T | undefined>, timeoutMs: number, intervalMs = 20): Promise<T | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) return undefined;
    await sleep(intervalMs);
  }
}

async function readyz(p: RunProcess, timeoutMs: number): Promise<boolean> {
  const ok = await waitUntil(async () => {
    if (p.gone()) return false;
    const m = /"url":"(http:\/\/[^"]+)"/.exec(p.stderr());
    if (!m) return undefined;
    try {
      const res = await fetch(`${m[1]}/readyz`, { signal: AbortSignal.timeout(1_000) });
      return res.status === 200 ? true : undefined;
    } catch {
      return undefined;
    }
  }, timeoutMs);
  return ok === true;
}

/** Resolves once the file has grown by `appends` complete lines since `fromSize` (polled every ms). */
async function afterAppends(file: string, fromSize: number, appends: number, p: RunProcess, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  let size = fromSize;
  let seen = 0;
  while (!p.gone() && Date.now() < deadline) {
    let now = size;
    try {
      now = statSync(file).size;
    } catch {
      /* not created yet */
    }
    if (now > size) {
      seen++;
      size = now;
      if (seen >= appends) return true;
    }
    await new Promise((r) => setTimeout(r, 1));
  }
  return false;
}

// ---------------------------------------------------------------------------------------------
// trials

/** A small seeded PRNG (mulberry32), so a storm's choices can be replayed from its seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface TrialSpec {
  id: string;
  scenario: Scenario;
  router: RouterKind;
  /** Kill quota; 0 runs the plan uninterrupted (a baseline). */
  kills: number;
  random: () => number;
}

interface TrialResult {
  report: Omit<TrialReport, 'expected'>;
  checks: number;
}

const ROLLOUT_DEADLINE_MS = 90_000;

async function runTrial(spec: TrialSpec, opts: KillStormOptions, root: string): Promise<TrialResult> {
  const dir = mkdtempSync(join(root, `${spec.id}-`));
  const name = spec.id;
  const stateDir = join(dir, 'state');
  const journal = join(stateDir, 'journal', 'default', `${name}.jsonl`);
  const plan = join(dir, 'plan.yaml');
  const rig = spec.router === 'file' ? await fileRig(dir) : await nginxRig(name, spec.router === 'nginx-lua' ? 'lua' : 'reload');
  const violations: string[] = [];
  const killsByMode: Record<KillMode, number> = { random: 0, 'after-append': 0, 'during-rollback': 0 };
  let kills = 0;
  let killsDuringRollback = 0;
  let killsBeforeApply = 0;
  let restarts = 0;
  let checks = 0;
  const violate = (what: string, p?: RunProcess) => {
    violations.push(`${spec.id} (${spec.scenario}, ${spec.router}): ${what}${p ? `\n  stderr tail: ${p.stderr().slice(-1500)}` : ''}`);
  };
  /**
   * Without `atKill`: the controller is not running. With it (the journal when it was killed):
   * a restart is running and was ready, so it reconciled the router with that journal.
   */
  const check = async (when: string, atKill?: Entry[]) => {
    checks++;
    const j = readJournalFile(journal);
    for (const v of journalViolations(j)) violate(`${when}: ${v}`);
    const split = await rig.read();
    // Running: re-read the journal after the router, the controller may have decided more meanwhile.
    const allowed = atKill ? splitsAfterReconcile(atKill, readJournalFile(journal).entries) : splitsWhileDead(j.entries);
    if (!allowed.some((s) => sameSplitAs(split, s))) {
      violate(`${when}: router shows ${fmt(split)}, journal allows ${allowed.map(fmt).join(' or ')}`);
    }
  };

  writeFileSync(plan, scenarioPlan(spec.scenario, name, rig.traffic));
  let proc: RunProcess | undefined;
  try {
    const start = () => {
      const p = startRun(opts.mainJs, plan, stateDir, opts.prometheus, dir);
      everyChild.add(p.child);
      void p.exited.then(() => everyChild.delete(p.child));
      return p;
    };
    proc = start();
    const done = () => outcomeOf(readJournalFile(journal).entries).end !== 'unfinished';
    while (kills < spec.kills && !done()) {
      const r = spec.random();
      const inRollback = records(readJournalFile(journal).entries).some((e) => e.decision === 'rollback');
      const mode: KillMode = inRollback && r < 0.3 ? 'during-rollback' : r < 0.6 ? 'after-append' : 'random';
      let size = 0;
      try {
        size = statSync(journal).size;
      } catch {
        /* none yet */
      }
      if (mode === 'after-append') {
        const landed = await afterAppends(journal, size, 1 + Math.floor(spec.random() * 3), proc, 15_000);
        if (!landed && proc.gone()) break;
      } else {
        await sleep(Math.floor(spec.random() * (mode === 'random' ? 1500 : 900)));
      }
      if (proc.gone()) {
        violate(`rollgate run exited on its own (code ${proc.child.exitCode})`, proc);
        break;
      }
      const before = readJournalFile(journal).entries;
      const ended = outcomeOf(before).end !== 'unfinished';
      proc.child.kill('SIGKILL');
      await proc.exited;
      if (ended) break; // the rollout had finished: not a kill under way
      kills++;
      killsByMode[mode]++;
      const recs = records(before);
      if (recs.some((e) => e.decision === 'rollback')) killsDuringRollback++;
      await check(`after kill ${kills} (${mode})`);
      const atKill = readJournalFile(journal).entries;
      if (!sameSplitAs(await rig.read(), lastDecidedSplit(atKill))) killsBeforeApply++;
      const restartedAt = Date.now();
      proc = start();
      restarts++;
      if (!(await readyz(proc, 120_000))) {
        violate(`restart ${restarts} never became ready`, proc);
        break;
      }
      opts.log?.(`${spec.id}: kill ${kills} (${mode}), restart ready in ${Date.now() - restartedAt} ms`);
      await check(`after restart ${restarts}'s reconcile`, atKill);
    }
    // Let it finish uninterrupted.
    const finished = await waitUntil(() => (done() ? true : proc!.gone() ? false : undefined), ROLLOUT_DEADLINE_MS, 50);
    if (finished !== true) violate(proc.gone() ? 'rollgate run exited before the rollout finished' : `the rollout did not finish within ${ROLLOUT_DEADLINE_MS / 1000} s of the last restart`, proc);
    if (!proc.gone()) {
      proc.child.kill('SIGTERM');
      const stopped = await waitUntil(() => (proc!.gone() ? true : undefined), 20_000, 20);
      if (!stopped) {
        violate('rollgate run did not stop within 20 s of SIGTERM', proc);
        proc.child.kill('SIGKILL');
        await proc.exited;
      }
    }
    await check('at the end');
    const entries = readJournalFile(journal).entries;
    const outcome = outcomeOf(entries);
    const finalSplit = await rig.read();
    if (outcome.end !== 'unfinished' && !sameSplitAs(finalSplit, outcome.final)) violate(`at the end the router shows ${fmt(finalSplit)}, the journal ${fmt(outcome.final)}`);
    return {
      report: { id: spec.id, scenario: spec.scenario, router: spec.router, kills, killsByMode, killsDuringRollback, killsBeforeApply, restarts, records: records(entries).length, outcome, violations },
      checks,
    };
  } finally {
    if (proc && !proc.gone()) {
      proc.child.kill('SIGKILL');
      await proc.exited;
    }
    await rig.stop();
    if (violations.length === 0) rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs `tasks` with at most `n` at a time, in order of start. */
async function pool<T>(n: number, next: () => (() => Promise<T>) | undefined): Promise<T[]> {
  const out: T[] = [];
  const worker = async () => {
    for (let task = next(); task; task = next()) out.push(await task());
  };
  await Promise.all(Array.from({ length: n }, worker));
  return out;
}

const SCENARIOS: Scenario[] = ['healthy', 'guard-rollback', 'checkpoint-rollback'];

export async function killStorm(opts: KillStormOptions): Promise<KillStormReport> {
  const started = Date.now();
  const log = opts.log ?? (() => undefined);
  const random = prng(opts.seed ?? 1);
  const [minKills, maxKills] = opts.killsPerTrial ?? [4, 7];
  const nginxShare = opts.nginxShare ?? 0.25;
  const parallel = opts.parallel ?? 2;
  if (!existsSync(opts.mainJs)) throw new Error(`${opts.mainJs} not found: run npm run build first`);
  const root = mkdtempSync(join(tmpdir(), 'rollgate-kill-storm-'));
  let keep = false;
  try {
    // Trials: scenarios in turn, every k-th on nginx, until the kill quota is planned.
    const specs: TrialSpec[] = [];
    let planned = 0;
    let nginxDue = 0;
    let nginxTrials = 0;
    for (let i = 0; planned < opts.kills; i++) {
      nginxDue += nginxShare;
      let router: RouterKind = 'file';
      if (nginxDue >= 1) {
        router = nginxTrials++ % 2 === 0 ? 'nginx-lua' : 'nginx-reload';
        nginxDue -= 1;
      }
      const kills = Math.min(opts.kills - planned, minKills + Math.floor(random() * (maxKills - minKills + 1)));
      const seed = Math.floor(random() * 2 ** 32);
      specs.push({ id: `t${String(i + 1).padStart(3, '0')}`, scenario: SCENARIOS[i % SCENARIOS.length]!, router, kills, random: prng(seed) });
      planned += kills;
    }
    // Baselines: each (scenario, router) used, run once without kills, in the same pool as
    // the trials (a trial's outcome is compared with its baseline once both are done).
    const combos = [...new Set(specs.map((s) => `${s.scenario}|${s.router}`))].map((k) => k.split('|') as [Scenario, RouterKind]);
    const queue: TrialSpec[] = combos.map(([scenario, router], i) => ({ id: `base${i + 1}`, scenario, router, kills: 0, random: prng(i) }));
    queue.push(...specs);
    const baselines: KillStormReport['baselines'] = [];
    const trials: Array<Omit<TrialReport, 'expected'>> = [];
    const violations: string[] = [];
    let checks = 0;
    // Extra trials are added while kills fall short (a rollout that finished before its quota).
    let delivered = 0;
    let running = 0;
    let extra = 0;
    const next = (): (() => Promise<void>) | undefined => {
      let spec = queue.shift();
      if (!spec && delivered + running < opts.kills && extra < specs.length) {
        extra++;
        const i = specs.length + extra;
        const like = specs[extra % specs.length]!;
        spec = { id: `t${String(i).padStart(3, '0')}`, scenario: like.scenario, router: like.router, kills: Math.min(maxKills, opts.kills - delivered - running), random: prng(i * 7919) };
      }
      if (!spec) return undefined;
      const s = spec;
      running += s.kills;
      return async () => {
        const r = await runTrial(s, opts, root);
        running -= s.kills;
        delivered += r.report.kills;
        checks += r.checks;
        violations.push(...r.report.violations);
        if (s.kills === 0) {
          baselines.push({ scenario: s.scenario, router: s.router, outcome: r.report.outcome });
          log(`baseline ${s.scenario} on ${s.router}: ${fmtOutcome(r.report.outcome)}, ${r.report.violations.length} violations`);
          return;
        }
        trials.push(r.report);
        log(`${s.id} ${s.scenario} on ${s.router}: ${r.report.kills} kills (${r.report.killsDuringRollback} during rollback, ${r.report.killsBeforeApply} before the router applied), ${r.report.records} records, ${fmtOutcome(r.report.outcome)}, ${r.report.violations.length} violations [total ${delivered}/${opts.kills} kills]`);
      };
    };
    await pool(parallel, next);
    const compared: TrialReport[] = trials.map((t) => {
      const base = baselines.find((b) => b.scenario === t.scenario && b.router === t.router)?.outcome;
      const expected = base ?? { end: 'unfinished' as const, weights: [], final: { weight: 0, mirror: 0 } };
      const v = !base ? `${t.id}: no baseline for ${t.scenario} on ${t.router}` : !sameOutcome(t.outcome, base) ? `${t.id} (${t.scenario}, ${t.router}): outcome ${fmtOutcome(t.outcome)}, uninterrupted run: ${fmtOutcome(base)}` : undefined;
      if (v) {
        t.violations.push(v);
        violations.push(v);
      }
      return { ...t, expected };
    });
    keep = violations.length > 0;
    if (keep) log(`trial dirs of the violations kept in ${root}`);
    const sum = (f: (t: TrialReport) => number) => compared.reduce((n, t) => n + f(t), 0);
    return {
      trials: compared,
      kills: sum((t) => t.kills),
      killsByMode: {
        random: sum((t) => t.killsByMode.random),
        'after-append': sum((t) => t.killsByMode['after-append']),
        'during-rollback': sum((t) => t.killsByMode['during-rollback']),
      },
      killsDuringRollback: sum((t) => t.killsDuringRollback),
      killsBeforeApply: sum((t) => t.killsBeforeApply),
      restarts: sum((t) => t.restarts),
      checks,
      violations,
      baselines,
      durationMs: Date.now() - started,
    };
  } finally {
    if (!keep) rmSync(root, { recursive: true, force: true });
  }
}
