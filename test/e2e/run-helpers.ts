/**
 * Shared helpers for the end-to-end tests of `rollgate run` (test/e2e/run-*.test.ts): they run
 * the built CLI (`node dist/main.js`) as a user does, each with its own temp state dir, plan
 * files and file-router target, against a real local Prometheus answering constant PromQL.
 *
 * Every spawned process is tracked: `killAll()` (call it in afterEach/afterAll) SIGKILLs what
 * is still running, and an `exit` hook does the same if the test process goes away first.
 * Waits poll files (journal, router file) or process output with generous deadlines instead of
 * sleeping for fixed times.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { startPrometheus, type RunningPrometheus } from '../helpers/prometheus.js';
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

export const MAIN = path.resolve(__dirname, '../../dist/main.js');

/** Deadline of every wait: generous for slow CI; a passing run never waits this long. */
export const WAIT_MS = 20_000;

// ---------------------------------------------------------------------------------------------
// processes

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface Proc {
  child: ChildProcess;
  pid: number;
  stdout(): string;
  stderr(): string;
  /** Resolves when the process has exited (never rejects). */
  exited: Promise<Exit>;
  /** Null while running. */
  exit(): Exit | null;
}

const live = new Set<ChildProcess>();

function killChild(child: ChildProcess): void {
  if (child.exitCode !== null || child.signalCode !== null) return;
  try {
    child.kill('SIGKILL');
  } catch {
    /* gone */
  }
}

process.on('exit', () => {
  for (const c of live) killChild(c);
});

/** SIGKILLs every process these helpers started that still runs, and waits for them. */
export async function killAll(): Promise<void> {
  const waits: Promise<unknown>[] = [];
  for (const c of live) {
    if (c.exitCode === null && c.signalCode === null) {
      waits.push(new Promise((r) => c.once('exit', r)));
      killChild(c);
    }
  }
  await Promise.all(waits);
  live.clear();
}

/** The environment of spawned commands: ours, without debug, log-level or log-format settings unless asked for. */
function childEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.ROLLGATE_DEBUG;
  delete env.ROLLGATE_LOG_LEVEL;
  delete env.ROLLGATE_LOG_FORMAT;
  return { ...env, ...extra };
}

/**
 * Node options that make `rollgate run` SIGKILL itself as soon as decision SEQ is journalled,
 * before the router applies it: the preload test/e2e/kill-after-journal.mjs.
 */
export function killAfterJournalled(seq: number): string[] {
  const url = pathToFileURL(path.resolve(__dirname, 'kill-after-journal.mjs'));
  url.searchParams.set('seq', String(seq));
  return ['--import', url.href];
}

/**
 * Starts `node [NODE_ARGS] dist/main.js ARGS` and tracks it; with `maxOpenFiles`, under that
 * limit of open files (`ulimit -n`, soft and hard: node cannot raise it), as the same process.
 */
export function spawnRollgate(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; nodeArgs?: string[]; maxOpenFiles?: number } = {}): Proc {
  const command = [process.execPath, ...(opts.nodeArgs ?? []), MAIN, ...args];
  const [file, ...argv] = opts.maxOpenFiles === undefined ? command : ['/bin/sh', '-c', `ulimit -n ${opts.maxOpenFiles} && exec "$@"`, 'sh', ...command];
  const child = spawn(file!, argv, {
    cwd: opts.cwd ?? tmpdir(),
    env: childEnv(opts.env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(child);
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  let exit: Exit | null = null;
  const exited = new Promise<Exit>((resolve) => {
    // 'close': the process is gone and its output fully read.
    child.once('close', (code, signal) => {
      exit = { code, signal };
      live.delete(child);
      resolve(exit);
    });
    child.once('error', () => {
      exit = { code: null, signal: null };
      live.delete(child);
      resolve(exit);
    });
  });
  if (child.pid === undefined) throw new Error(`could not start ${MAIN}`);
  return { child, pid: child.pid, stdout: () => out, stderr: () => err, exited, exit: () => exit };
}

export interface Result extends Exit {
  stdout: string;
  stderr: string;
}

/** Runs a short command (status, history, pause, ...) to completion. */
export async function rollgate(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<Result> {
  const p = spawnRollgate(args, opts);
  const timer = setTimeout(() => killChild(p.child), opts.timeoutMs ?? 30_000);
  const exit = await p.exited;
  clearTimeout(timer);
  return { ...exit, stdout: p.stdout(), stderr: p.stderr() };
}

/** Waits for a process to exit, failing after `ms`. */
export async function waitExit(p: Proc, ms = WAIT_MS): Promise<Exit> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`pid ${p.pid} did not exit within ${ms} ms\nstderr:\n${p.stderr().slice(-3000)}`)), ms);
  });
  try {
    return await Promise.race([p.exited, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

// ---------------------------------------------------------------------------------------------
// rollgate run

export interface RunOptions {
  stateDir: string;
  prometheus?: string;
  /** Default `127.0.0.1:0` (a free port; the URL is read from the log). */
  listen?: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  extraArgs?: string[];
  /** Options for node itself, before dist/main.js (a preload: `['--import', url]`). */
  nodeArgs?: string[];
  /** The limit of open files (`ulimit -n`) it runs under; default the test process's. */
  maxOpenFiles?: number;
}

export interface RunProc extends Proc {
  /** Base URL of /metrics, /healthz, /readyz (waits for the log line). */
  url(): Promise<string>;
}

export function startRun(paths: string[], opts: RunOptions): RunProc {
  const args = [
    'run',
    ...paths,
    '--state-dir',
    opts.stateDir,
    '--listen',
    opts.listen ?? '127.0.0.1:0',
    ...(opts.prometheus ? ['--prometheus', opts.prometheus] : []),
    ...(opts.extraArgs ?? []),
  ];
  const p = spawnRollgate(args, { ...(opts.cwd ? { cwd: opts.cwd } : {}), ...(opts.env ? { env: opts.env } : {}), ...(opts.nodeArgs ? { nodeArgs: opts.nodeArgs } : {}), ...(opts.maxOpenFiles ? { maxOpenFiles: opts.maxOpenFiles } : {}) });
  return {
    ...p,
    url: () =>
      waitFor(
        () => {
          const m = /"url":"(http:\/\/[^"]+)"/.exec(p.stderr());
          if (m) return m[1]!;
          if (p.exit()) throw new Error(`rollgate run exited (${JSON.stringify(p.exit())}) before serving HTTP:\n${p.stderr()}`);
          return undefined;
        },
        { what: 'rollgate run to log its HTTP address' },
      ),
  };
}

/** Stops a `rollgate run` with SIGTERM and returns how it exited (and how long it took). */
export async function stopRun(p: Proc, ms = 20_000): Promise<Exit & { ms: number }> {
  const t = Date.now();
  p.child.kill('SIGTERM');
  const exit = await waitExit(p, ms);
  return { ...exit, ms: Date.now() - t };
}

// ---------------------------------------------------------------------------------------------
// waiting

export async function sleep(ms: number): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
}

/**
 * Polls `probe` until it returns something other than undefined/false (returned), throwing
 * the last probe error or a timeout naming `what`.
 */
export async function waitFor<T>(
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  opts: { what: string; timeoutMs?: number; intervalMs?: number; detail?: () => string },
): Promise<T> {
  const deadline = Date.now() + (opts.timeoutMs ?? WAIT_MS);
  let lastErr: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined && v !== false) return v;
      lastErr = undefined;
    } catch (err) {
      lastErr = err;
      // A process that died is not waited for.
      if (err instanceof Error && /exited/.test(err.message)) throw err;
    }
    if (Date.now() >= deadline) {
      const why = lastErr instanceof Error ? `: ${lastErr.message}` : '';
      throw new Error(`timed out after ${opts.timeoutMs ?? WAIT_MS} ms waiting for ${opts.what}${why}${opts.detail ? `\n${opts.detail()}` : ''}`);
    }
    await sleep(opts.intervalMs ?? 50);
  }
}

// ---------------------------------------------------------------------------------------------
// journal

export interface DecisionRecord {
  seq: number;
  rollout: string;
  revision: string;
  planHash: string;
  kind: string;
  phase: string | null;
  phaseIndex: number;
  checkpoint?: { index: number; of: number; due: string; window: string; attempt?: number; lateSeconds?: number };
  at: string;
  decision: string;
  reason: string;
  weight: { from: number; to: number };
  mirror: { from: number; to: number };
  actor: string;
  waitingFor?: string;
  enters?: { phase: string; index: number };
  [k: string]: unknown;
}

export interface AppliedMark {
  applied: number;
  rollout: string;
  weight: number;
  mirror: number;
  at: string;
}

export interface JournalView {
  lines: string[];
  entries: Array<DecisionRecord | AppliedMark>;
  records: DecisionRecord[];
  marks: AppliedMark[];
}

export function journalFile(stateDir: string, rollout: string): string {
  const [ns, name] = rollout.includes('/') ? rollout.split('/') : ['default', rollout];
  return path.join(stateDir, 'journal', ns!, `${name}.jsonl`);
}

/** The complete lines of a rollout's journal (a line being written is ignored). */
export function readJournal(stateDir: string, rollout = 'default/shop'): JournalView {
  const file = journalFile(stateDir, rollout);
  let raw = '';
  try {
    raw = readFileSync(file, 'utf8');
  } catch {
    /* not yet */
  }
  const lines = raw.split('\n');
  lines.pop(); // '' after the last newline, or a line still being written
  const entries = lines.map((l) => JSON.parse(l) as DecisionRecord | AppliedMark);
  const marks = entries.filter((e): e is AppliedMark => 'applied' in e);
  const records = entries.filter((e): e is DecisionRecord => 'seq' in e); // guard marks are neither
  return { lines, entries, records, marks };
}

/** Waits for a record matching `pred` in the journal and returns it. */
export async function waitForRecord(
  stateDir: string,
  pred: (r: DecisionRecord) => boolean,
  what: string,
  opts: { rollout?: string; proc?: Proc; timeoutMs?: number } = {},
): Promise<DecisionRecord> {
  return waitFor(
    () => {
      const r = readJournal(stateDir, opts.rollout).records.find(pred);
      if (r) return r;
      const exit = opts.proc?.exit();
      if (exit) throw new Error(`rollgate run exited (${JSON.stringify(exit)}) before ${what}`);
      return undefined;
    },
    {
      what,
      ...(opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : {}),
      detail: () =>
        `journal:\n${readJournal(stateDir, opts.rollout).lines.join('\n')}${opts.proc ? `\nrun stderr (tail):\n${opts.proc.stderr().slice(-4000)}` : ''}`,
    },
  );
}

/** Waits until the applied mark of decision `seq` is in the journal. */
export async function waitForMark(stateDir: string, seq: number, opts: { rollout?: string; proc?: Proc } = {}): Promise<AppliedMark> {
  return waitFor(
    () => {
      const m = readJournal(stateDir, opts.rollout).marks.find((x) => x.applied === seq);
      if (m) return m;
      const exit = opts.proc?.exit();
      if (exit) throw new Error(`rollgate run exited (${JSON.stringify(exit)}) before applying decision ${seq}`);
      return undefined;
    },
    { what: `the applied mark of decision ${seq}`, detail: () => readJournal(stateDir, opts.rollout).lines.join('\n') },
  );
}

// ---------------------------------------------------------------------------------------------
// router file

export interface FileSplit {
  stable: number;
  canary: number;
  mirror: number;
}

export function readSplit(file: string): FileSplit | null {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as FileSplit;
  } catch {
    return null;
  }
}

export async function waitForCanary(file: string, canary: number): Promise<FileSplit> {
  return waitFor(
    () => {
      const s = readSplit(file);
      return s && s.canary === canary ? s : undefined;
    },
    { what: `${file} to show canary ${canary}`, detail: () => `router file: ${JSON.stringify(readSplit(file))}` },
  );
}

// ---------------------------------------------------------------------------------------------
// plans and temp dirs

export interface PhaseSpec {
  name: string;
  weight: number;
  /** YAML flow text, e.g. `[1s, 2s]`. */
  checkpoints: string;
  approval?: boolean;
}

export interface PlanSpec {
  name?: string;
  revision?: string;
  routerFile: string;
  /** Constant PromQL; default a healthy `sum(vector(0.001))`. */
  query?: string;
  max?: number;
  critical?: boolean;
  /** YAML flow text for spec.guard, default `{ interval: 1s }`. */
  guard?: string;
  phases: PhaseSpec[];
}

/** A small plan with the file router and one constant-query metric (no prometheus.address). */
export function planYaml(p: PlanSpec): string {
  const phases = p.phases
    .map((ph) => `    - name: ${ph.name}\n      weight: ${ph.weight}\n${ph.approval ? '      approval: true\n' : ''}      checkpoints: ${ph.checkpoints}\n`)
    .join('');
  return `apiVersion: rollgate.dev/v1alpha1
kind: RolloutPlan
metadata:
  name: ${p.name ?? 'shop'}
spec:
  revision: "${p.revision ?? '1'}"
  traffic:
    router: file
    file:
      path: ${p.routerFile}
  metrics:
    - name: error-rate
      query: ${p.query ?? 'sum(vector(0.001))'}
      max: ${p.max ?? 0.01}
      critical: ${p.critical ?? true}
  guard: ${p.guard ?? '{ interval: 1s }'}
  analysis: { retryInterval: 1s }
  phases:
${phases}`;
}

/** Writes a file atomically (temp + rename), so a polling reader never sees half of it. */
export function writeAtomic(file: string, text: string): void {
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, text);
  renameSync(tmp, file);
}

const dirs: string[] = [];

export function tempDir(prefix = 'rollgate-run-'): string {
  const d = mkdtempSync(path.join(tmpdir(), prefix));
  dirs.push(d);
  return d;
}

export function removeTempDirs(): void {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
}

/** A fresh workspace: a dir with plan.yaml, the router file path and the state dir path. */
export function workspace(): { dir: string; plan: string; routerFile: string; stateDir: string } {
  const dir = tempDir();
  return { dir, plan: path.join(dir, 'plan.yaml'), routerFile: path.join(dir, 'split.json'), stateDir: path.join(dir, 'state') };
}

export function lockFile(stateDir: string): string {
  return path.join(stateDir, 'lock');
}

export function exists(file: string): boolean {
  return existsSync(file);
}

// ---------------------------------------------------------------------------------------------
// journal invariants

/** seq 1..N, no gap, no duplicate. */
export function seqs(records: DecisionRecord[]): number[] {
  return records.map((r) => r.seq);
}

export function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i + 1);
}

/** Records that changed the split (weight or mirror). */
export function splitChanging(records: DecisionRecord[]): DecisionRecord[] {
  return records.filter((r) => r.weight.from !== r.weight.to || r.mirror.from !== r.mirror.to);
}

/** Parses the Prometheus text format into samples. */
export function parseMetrics(text: string): Array<{ name: string; labels: Record<string, string>; value: number }> {
  const out: Array<{ name: string; labels: Record<string, string>; value: number }> = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    out.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return out;
}

/** No JavaScript stack trace in a command's output. */
export function hasStackTrace(text: string): boolean {
  return /^\s+at .+\(.*:\d+:\d+\)$/m.test(text) || /^\s+at file:\/\//m.test(text);
}

/**
 * The hooks of a `rollgate run` e2e file: one real Prometheus for the file (`env.prom` once
 * `beforeAll` ran), every child killed after each test, everything stopped and removed at the end.
 */
export function useRunEnvironment(): { prom: RunningPrometheus } {
  const env = {} as { prom: RunningPrometheus };
  beforeAll(async () => {
    env.prom = await startPrometheus();
  });
  afterEach(async () => {
    await killAll();
  });
  afterAll(async () => {
    await killAll();
    await env.prom?.stop();
    removeTempDirs();
  });
  return env;
}
