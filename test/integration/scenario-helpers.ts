/**
 * Shared builders for the scenario tests: rollouts driven against a real Prometheus loaded with
 * generated history, through `simulate` (virtual time, range-prefetched guard) and through the
 * standalone controller (`rollgate run`: file journal, file router, lock, inbox) on a
 * VirtualClock.
 *
 * Time: every history ends on a quarter hour 15-30 minutes before the real now, so that neither
 * Prometheus nor the prefetcher (which never caches the last 60 s) sees unsettled data. Histories
 * use coarse steps and few series, so that promtool imports them in about a second.
 */
import { expect } from 'vitest';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadPlanText, type LoadedPlan } from '../../src/plan/load.js';
import { simulate, type SimulationResult } from '../../src/host/simulate.js';
import { openStandalone } from '../../src/wiring/compose.js';
import { VirtualClock } from '../../src/core/clock.js';
import { isTerminal, replay, type RolloutState } from '../../src/core/state.js';
import { FileJournal } from '../../src/journal/file-journal.js';
import { PrometheusProvider, type QueryInfo } from '../../src/metrics/prometheus.js';
import type { AppliedMark, DecisionRecord, JournalEntry } from '../../src/core/record.js';
import { silentLogger } from '../../src/support/log.js';
import { startPrometheus, type RunningPrometheus } from '../helpers/prometheus.js';
import type { OpenMetricsHistory } from '../helpers/openmetrics.js';

export const SEC = 1000;
export const MIN = 60 * SEC;
export const HOUR = 60 * MIN;
/** Epoch ms as RFC 3339, the way records spell instants. */
export const iso = (ms: number) => new Date(ms).toISOString();

/** End of generated history (epoch SECONDS): a quarter hour 15-30 min before the real now. */
export function historyEnd(nowMs = Date.now()): number {
  return Math.floor(nowMs / 1000 / 900) * 900 - 900;
}

/** Starts Prometheus with `history` imported; logs the import and startup cost. */
export async function startWithHistory(label: string, history: OpenMetricsHistory): Promise<RunningPrometheus> {
  const prom = await startPrometheus({ openMetrics: history.text() });
  console.info(`[${label}] prometheus: import ${prom.importMs.toFixed(0)} ms, ready ${prom.startupMs.toFixed(0)} ms`);
  return prom;
}

export function provider(prom: RunningPrometheus, onQuery?: (q: QueryInfo) => void): PrometheusProvider {
  return new PrometheusProvider({ address: prom.url, log: silentLogger(), retries: 1, backoff: { minMs: 50, maxMs: 100 }, ...(onQuery ? { onQuery } : {}) });
}

/**
 * A full RolloutPlan document: `spec` is the YAML under `spec:` (indented by two spaces) without
 * `revision`, `prometheus` and `traffic`, which are filled in here.
 */
export function planYaml(name: string, spec: string, io: { prometheus?: string; splitFile?: string } = {}): string {
  return `apiVersion: rollgate.dev/v1alpha1
kind: RolloutPlan
metadata:
  name: ${name}
spec:
  revision: "r1"
  prometheus:
    address: ${io.prometheus ?? 'http://127.0.0.1:9'}
  traffic:
    router: file
    file:
      path: ${io.splitFile ?? '/nonexistent/rollgate-simulate-touches-no-traffic.json'}
${spec.replace(/^\n/, '')}`;
}

export function loadPlan(yaml: string): LoadedPlan {
  const res = loadPlanText(yaml, 'scenario.yaml', { envMode: 'strict', env: {} });
  const errors = res.diagnostics.filter((d) => d.severity === 'error');
  if (errors.length > 0 || !res.plans[0]) throw new Error(`bad scenario plan:\n${errors.map((e) => `${e.line}:${e.col} ${e.path}: ${e.message}`).join('\n')}`);
  return res.plans[0];
}

/** `simulate` of `name`/`spec` against `prom` from `from` until `until` (epoch ms). */
export function simulateOn(prom: RunningPrometheus, name: string, spec: string, from: number, until: number, onQuery?: (q: QueryInfo) => void): Promise<SimulationResult> {
  return simulate(loadPlan(planYaml(name, spec)), { from, until, provider: provider(prom, onQuery), log: silentLogger() });
}

export interface StandaloneRun {
  /** Decision records read back from the JSONL journal on disk. */
  records: DecisionRecord[];
  /** The router confirmations (`applied` lines) of the journal. */
  applied: AppliedMark[];
  /** The file router's final content, e.g. `{ stable: 100, canary: 0, mirror: 0 }`. */
  split: { stable: number; canary: number; mirror: number } | null;
  state: RolloutState;
  journalFile: string;
}

/**
 * `rollgate run` on a VirtualClock: writes the plan to a temp dir, runs the standalone
 * controller (file journal, file router, lock, inbox; no HTTP server) from `from` until `until`
 * or until the rollout is complete, rolled back or paused, then reads the journal and the split
 * file from disk. Everything is removed afterwards.
 */
export async function runStandalone(prom: RunningPrometheus, name: string, spec: string, from: number, until: number): Promise<StandaloneRun> {
  const session = await StandaloneSession.create(prom, name, spec);
  try {
    await session.run(from, until);
    return await session.read();
  } finally {
    await session.remove();
  }
}

/**
 * One state dir, plan file and split file used by successive controllers: each `run` opens a
 * StandaloneController on a fresh VirtualClock (a restart), runs it, and closes it.
 */
export class StandaloneSession {
  private state: RolloutState | null = null;
  private constructor(
    readonly dir: string,
    readonly name: string,
    readonly planFile: string,
    readonly splitFile: string,
    readonly stateDir: string,
  ) {}

  static async create(prom: RunningPrometheus, name: string, spec: string): Promise<StandaloneSession> {
    const dir = await mkdtemp(join(tmpdir(), 'rollgate-scenario-'));
    const session = new StandaloneSession(dir, name, join(dir, `${name}.yaml`), join(dir, 'traffic', 'split.json'), join(dir, 'state'));
    await writeFile(session.planFile, planYaml(name, spec, { prometheus: prom.url, splitFile: session.splitFile }));
    return session;
  }

  get journalFile(): string {
    return join(this.stateDir, 'journal', 'default', `${this.name}.jsonl`);
  }

  /** Opens a controller at `from`, runs until `until` (or done/paused, unless `stopWhenDone` is false), closes it. */
  async run(from: number, until: number, stopWhenDone = true): Promise<RolloutState> {
    const controller = await openStandalone({ paths: [this.planFile], stateDir: this.stateDir, log: silentLogger(), listen: null, clock: new VirtualClock(from), env: {} });
    try {
      const runner = controller.runner(this.name);
      if (!runner) throw new Error(`controller does not manage ${this.name}`);
      await controller.runUntil(until, () => stopWhenDone && (isTerminal(runner.state) || runner.state.status === 'paused'));
      this.state = runner.state;
      return runner.state;
    } finally {
      await controller.close();
    }
  }

  async read(): Promise<StandaloneRun> {
    const lines = (await readFile(this.journalFile, 'utf8'))
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as JournalEntry | { snapshot: number; state: RolloutState });
    const entries = lines.filter((e): e is JournalEntry => !('snapshot' in e));
    await expectSnapshotsReplay(`default/${this.name}`, lines, this.stateDir);
    const split = await readFile(this.splitFile, 'utf8').then(
      (t) => JSON.parse(t) as StandaloneRun['split'],
      () => null,
    );
    if (!this.state) throw new Error('run() first');
    return {
      records: entries.filter((e): e is DecisionRecord => 'seq' in e),
      applied: entries.filter((e): e is AppliedMark => 'applied' in e),
      split,
      state: this.state,
      journalFile: this.journalFile,
    };
  }

  remove(): Promise<void> {
    return rm(this.dir, { recursive: true, force: true });
  }
}

/**
 * What state snapshots rest on, checked on every journal `rollgate run` wrote: each snapshot
 * line holds the state replayed through the lines before it; a JSON round trip of the state at
 * any point, replayed on with the rest, is the state of the whole journal; and a start (which
 * replays from the last snapshot) gets that state.
 */
async function expectSnapshotsReplay(rollout: string, lines: Array<JournalEntry | { snapshot: number; state: RolloutState }>, stateDir: string): Promise<void> {
  const entries: JournalEntry[] = [];
  for (const l of lines) {
    if ('snapshot' in l) expect(l.state).toEqual(JSON.parse(JSON.stringify(replay(rollout, entries))));
    else entries.push(l);
  }
  const whole = replay(rollout, entries);
  for (let k = 0; k <= entries.length; k++) {
    const base = JSON.parse(JSON.stringify(replay(rollout, entries.slice(0, k)))) as RolloutState;
    expect(replay(rollout, entries.slice(k), base)).toEqual(whole);
  }
  const journal = new FileJournal(stateDir, { readOnly: true });
  expect(await journal.replay(rollout)).toEqual(whole);
}

/** `kind:decision@phase` per record, for compact expectations. */
export function decisions(records: DecisionRecord[]): string[] {
  return records.map((r) => `${r.kind}:${r.decision}@${r.phase ?? '-'}`);
}

/** seq is 1..N without gaps or duplicates. */
export function expectGaplessSeq(records: DecisionRecord[]): void {
  expect(records.map((r) => r.seq)).toEqual(records.map((_, i) => i + 1));
}

/**
 * The checkpoint windows of each phase cover it without gaps: the first opens when the phase's
 * split was applied (+ settle), each next one opens where the previous one ended, `window` is
 * the span's length, and the phase ends at its last checkpoint's due time.
 */
export function expectCheckpointsCoverPhases(records: DecisionRecord[], settleMs = 0): void {
  let phaseStart: number | null = null;
  let cursor: number | null = null;
  for (const r of records) {
    if (r.checkpoint) {
      expect(cursor, `checkpoint seq ${r.seq} outside a phase`).not.toBeNull();
      const from = Date.parse(r.checkpoint.from!);
      const due = Date.parse(r.checkpoint.due);
      expect(from, `seq ${r.seq}: window opens where the previous one ended`).toBe(cursor);
      expect(r.checkpoint.window, `seq ${r.seq}`).toBe(formatSpan(due - from));
      if (r.decision !== 'hold') cursor = due;
    }
    const entersPhase = r.decision === 'start' || r.decision === 'advance';
    if (entersPhase && (r.weight.to !== r.weight.from || r.mirror.to !== r.mirror.from || r.decision === 'advance')) {
      if (r.checkpoint) expect(Date.parse(r.at)).toBe(Date.parse(r.checkpoint.due)); // phase ends at its last checkpoint
      phaseStart = Date.parse(r.at) + settleMs;
      cursor = phaseStart;
    }
  }
}

/** `30m`, `1h15m`: the record's spelling of a span. */
export function formatSpan(ms: number): string {
  let rest = Math.round(ms / 1000);
  let out = '';
  for (const [unit, size] of [['d', 86400], ['h', 3600], ['m', 60], ['s', 1]] as const) {
    const n = Math.floor(rest / size);
    if (n > 0) {
      out += `${n}${unit}`;
      rest -= n * size;
    }
  }
  return out || '0s';
}

/** The record's metric result by name. */
export function metric(r: DecisionRecord | undefined, name: string) {
  const m = r?.metrics?.find((x) => x.name === name);
  if (!m) throw new Error(`record ${r?.seq} has no metric ${name}`);
  return m;
}

/** Decision records compared across runs: everything but `planHash` (the hash covers the traffic/prometheus blocks, which differ). */
export function comparable(records: DecisionRecord[]): Array<Omit<DecisionRecord, 'planHash'>> {
  return records.map(({ planHash: _, ...rest }) => rest);
}
