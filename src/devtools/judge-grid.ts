/**
 * The judges benchmark (analysis.md section 5; bench/judges.bench.mjs, its CI subset
 * test/integration/judges-bench.test.ts, docs/choosing-a-judge.md): a grid of cells (base
 * error rate x canary traffic x split x what happens), each judged in many seeded runs by four
 * judges, each a metric of one plan loaded by the real plan loader:
 *
 * - `fixed`: an absolute threshold, max 2x the base error rate over the guard's window (and
 *   each checkpoint's), `consecutive: 2`: what a user sets today;
 * - `relative`: the canary's error ratio against the stable track's, `tolerance: 20%` with
 *   `slack` of half the base rate (the looser applies: about x1.5 at the base rate), behind a
 *   traffic floor of 100 canary requests in the window;
 * - `sequential`: `counts` + `test: sequential`, `alpha: 0.01`, `tolerance` (10% unless told);
 * - `mann-whitney`: per-30 s error-ratio series of both tracks (window = step, so the points do
 *   not overlap), `confidence: 0.98` over the phase's 4 checkpoints, `tolerance: 10%`,
 *   `minSamples: 20` points per side; checkpoints only, the guard does not run it.
 *
 * The rollout's phase is 1 h at the cell's split with a checkpoint every 15 minutes; the guard
 * evaluates every 5 s (window 1m) the metrics it may watch (all but mann-whitney).
 */
import { loadPlanText } from '../plan/load.js';
import type { PlanContext } from '../engine/decide.js';
import { generateHistory, seedOf, type Hardship, type Scenario } from './judge-histories.js';
import { HistoryProvider } from './history-provider.js';
import { runJudges } from './judge-run.js';

export const JUDGES = ['fixed', 'relative', 'sequential', 'mann-whitney'] as const;
export type JudgeName = (typeof JUDGES)[number];

export const PHASE_MS = 3_600_000;
/** The instant the phase's split is applied in every run (any instant would do). */
export const PHASE_START = Date.parse('2026-01-05T10:00:00Z');

export interface JudgeSettings {
  judges: readonly JudgeName[];
  /** The sequential test's tolerance (fraction). */
  sequentialTolerance: number;
}

export const DEFAULT_SETTINGS: JudgeSettings = { judges: JUDGES, sequentialTolerance: 0.1 };

export interface Cell {
  /** e.g. `1% 10rps 5% x2`, `1% 10rps 5% incident`. */
  id: string;
  scenario: Scenario;
}

export const pct = (fraction: number) => `${+(fraction * 100).toPrecision(3)}%`;

function hardshipName(h: Hardship): string {
  switch (h.kind) {
    case 'none':
      return 'x1';
    case 'regression':
      return `x${h.factor}`;
    case 'incident':
      return 'incident';
    case 'diurnal':
      return 'diurnal';
    case 'canary-stop':
      return 'canary-stop';
  }
}

export function cellId(s: Scenario): string {
  return `${pct(s.baseRate)} ${s.canaryRps}rps ${s.split}% ${hardshipName(s.hardship)}`;
}

export const BASE_RATES = [0.01, 0.001];
export const CANARY_RPS = [1, 10, 100];
export const SPLITS = [5, 25, 50];
export const REGRESSIONS = [1, 1.25, 1.5, 2, 5];
/** Zero-heavy errors: most 5 s steps (and many 1 m windows) have none. */
export const ZERO_HEAVY_RATE = 0.0001;

/** The hard cases with no regression. */
export const HARD_CASES: Hardship[] = [
  { kind: 'incident', factor: 5, durationMs: 600_000 },
  { kind: 'diurnal', factor: 3 },
  { kind: 'canary-stop', durationMs: 1_200_000 },
];

/** Every cell of the grid: regressions and hard cases at each base rate, traffic and split; zero-heavy errors. */
export function judgeGrid(): Cell[] {
  const cells: Cell[] = [];
  const add = (baseRate: number, canaryRps: number, split: number, hardship: Hardship) => {
    const scenario: Scenario = { baseRate, canaryRps, split, phaseMs: PHASE_MS, hardship };
    cells.push({ id: cellId(scenario), scenario });
  };
  for (const base of BASE_RATES) {
    for (const rps of CANARY_RPS) {
      for (const split of SPLITS) {
        for (const factor of REGRESSIONS) add(base, rps, split, factor === 1 ? { kind: 'none' } : { kind: 'regression', factor });
        for (const h of HARD_CASES) add(base, rps, split, h);
      }
    }
  }
  for (const rps of CANARY_RPS) for (const split of SPLITS) add(ZERO_HEAVY_RATE, rps, split, { kind: 'none' });
  return cells;
}

const errorRatio = (track: string, window: string) =>
  `sum(rate(http_requests_total{track="${track}",code=~"5.."}[${window}])) / sum(rate(http_requests_total{track="${track}"}[${window}]))`;
const increase = (track: string, bad: boolean, window: string) =>
  `sum(increase(http_requests_total{track="${track}"${bad ? ',code=~"5.."' : ''}}[${window}]))`;
/** One point per 30 s step: the step's own errors over its own requests. */
const stepErrorRatio = (track: string) => `${increase(track, true, '30s')} / ${increase(track, false, '30s')}`;

const quote = (q: string) => `'${q}'`;

/** The benchmark's plan for a base error rate and a split, with the chosen judges. */
export function judgesPlanYaml(baseRate: number, split: number, settings: JudgeSettings): string {
  const metric: Record<JudgeName, string> = {
    fixed: `
    - name: fixed
      query: ${quote(errorRatio('canary', '{{window}}'))}
      max: ${2 * baseRate}
      critical: true`,
    relative: `
    - name: relative
      query: ${quote(errorRatio('canary', '{{window}}'))}
      baseline: ${quote(errorRatio('stable', '{{window}}'))}
      tolerance: 20%
      slack: ${baseRate / 2}
      samples: ${quote(increase('canary', false, '{{window}}'))}
      minSamples: 100
      critical: true`,
    sequential: `
    - name: sequential
      counts:
        canary: { bad: ${quote(increase('canary', true, '{{window}}'))}, total: ${quote(increase('canary', false, '{{window}}'))} }
        baseline: { bad: ${quote(increase('stable', true, '{{window}}'))}, total: ${quote(increase('stable', false, '{{window}}'))} }
      test: sequential
      alpha: 0.01
      tolerance: ${settings.sequentialTolerance}
      critical: true`,
    'mann-whitney': `
    - name: mann-whitney
      query: ${quote(stepErrorRatio('canary'))}
      baseline: ${quote(stepErrorRatio('stable'))}
      test: mann-whitney
      worse: higher
      confidence: 0.98
      tolerance: 10%
      step: 30s
      minSamples: 20
      critical: true`,
  };
  const guarded = settings.judges.filter((j) => j !== 'mann-whitney');
  return `apiVersion: rollgate.dev/v1alpha1
kind: RolloutPlan
metadata: { name: judges, namespace: bench }
spec:
  revision: "bench"
  prometheus: { address: "http://prometheus.invalid:9090" }
  traffic: { router: file, file: { path: /nonexistent/judges-bench-routes.json } }
  metrics:${settings.judges.map((j) => metric[j]).join('')}
  guard: { interval: 5s, window: 1m, consecutive: 2${guarded.length > 0 ? `, metrics: [${guarded.join(', ')}]` : ', metrics: []'} }
  phases:
    - { name: canary, weight: ${split}, checkpoints: { every: 15m, until: 1h } }
    - { name: full, weight: 100, checkpoints: [15m] }
`;
}

const contexts = new Map<string, PlanContext>();

/** The loaded plan of a base rate and split (loaded once per worker). */
export function judgesPlan(baseRate: number, split: number, settings: JudgeSettings): PlanContext {
  const key = `${baseRate} ${split} ${settings.sequentialTolerance} ${settings.judges.join(',')}`;
  let ctx = contexts.get(key);
  if (!ctx) {
    const res = loadPlanText(judgesPlanYaml(baseRate, split, settings), 'judges-bench.yaml', { envMode: 'strict', env: {} });
    const errors = res.diagnostics.filter((d) => d.severity === 'error');
    if (errors.length > 0 || res.plans.length !== 1) throw new Error(`the benchmark's plan does not load: ${errors.map((d) => `${d.path}: ${d.message}`).join('; ')}`);
    ctx = { plan: res.plans[0]!.plan, planHash: res.plans[0]!.hash };
    contexts.set(key, ctx);
  }
  return ctx;
}

/** One judge's figures over a cell's runs. */
export interface JudgeTally {
  /** Rollbacks at or after the regression's onset (regression cells only). */
  detected: number;
  /** Rollbacks with no regression, or before its onset. */
  falseRollbacks: number;
  /** Onset to rollback of each detection, ms, ascending. */
  delaysMs: number[];
}

export interface CellResult {
  id: string;
  baseRate: number;
  canaryRps: number;
  split: number;
  /** `x1` (no regression), `x1.25` ... `x5`, `incident`, `diurnal`, `canary-stop`. */
  case: string;
  runs: number;
  regression: boolean;
  judges: Partial<Record<JudgeName, JudgeTally>>;
}

/** Runs `runs` seeded histories of `cell` (run r's seed comes from the cell's id and r). */
export async function runCell(cell: Cell, runs: number, settings: JudgeSettings = DEFAULT_SETTINGS): Promise<CellResult> {
  const s = cell.scenario;
  const ctx = judgesPlan(s.baseRate, s.split, settings);
  const tallies: Partial<Record<JudgeName, JudgeTally>> = {};
  for (const j of settings.judges) tallies[j] = { detected: 0, falseRollbacks: 0, delaysMs: [] };
  for (let r = 0; r < runs; r++) {
    const history = generateHistory(s, seedOf(`${cell.id}#${r}`));
    const outcomes = await runJudges(ctx, new HistoryProvider(history, PHASE_START), PHASE_START, s.phaseMs);
    for (const j of settings.judges) {
      const at = outcomes.get(j)!.rollbackMs;
      if (at === null) continue;
      const t = tallies[j]!;
      if (history.onsetMs !== null && at >= history.onsetMs) {
        t.detected++;
        t.delaysMs.push(at - history.onsetMs);
      } else {
        t.falseRollbacks++;
      }
    }
  }
  for (const t of Object.values(tallies)) t.delaysMs.sort((a, b) => a - b);
  return {
    id: cell.id,
    baseRate: s.baseRate,
    canaryRps: s.canaryRps,
    split: s.split,
    case: hardshipName(s.hardship),
    runs,
    regression: s.hardship.kind === 'regression',
    judges: tallies,
  };
}
