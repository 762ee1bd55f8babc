/**
 * Plan fuzzing: generated and mutated plan files through `validateFiles` (the function behind
 * `rollgate validate`), and a sample through the real CLI. Used by `npm run harness:fuzz`
 * (scripts/harness/plan-fuzz.mjs, 10,000 plans) and its CI variant
 * (test/harness/plan-fuzz.test.ts, 1,000 plans).
 *
 * Inputs (fast-check recipes, so a seed reproduces a run): the shared examples and the test
 * fixtures (the judges' too) mutated field by field (deleted fields, wrong types, huge numbers,
 * unicode, deep nesting, anchors and aliases, unresolved aliases) and byte by byte; arbitrary
 * YAML; binary garbage; alias bombs ("billion laughs"); flow and block nesting bombs; 20 MB
 * files; `{every, until}` checkpoint bombs; and metrics made of any combination of the judges'
 * fields (analysis.md), valid and invalid values alike, added to a seed plan whose first phase
 * may have thousands of short checkpoints (Mann-Whitney's windows are checked one by one).
 *
 * Violations: an exception out of validateFiles (a crash); a process warning; a run over
 * 10 s; an output line that is neither a diagnostic (`FILE:LINE:COL: path: message`, or
 * `FILE: path: message` for a whole-file problem) nor the file's summary line; an exit status
 * other than 0 or 1, or anything on stderr, from the CLI.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { parse, stringify } from 'yaml';
import { validateFiles } from '../cli/validate.js';

export interface FuzzOptions {
  trials: number;
  seed: number;
  /** Plan files to mutate (the shared examples, the test fixture). */
  seeds: string[];
  /** Every n-th trial also runs through the CLI (`node mainJs validate FILE`). */
  cliEvery?: number;
  mainJs?: string;
  /** Weight of the heavy cases (20 MB files, nesting bombs); 1 = as in the full harness. */
  heavyWeight?: number;
  log?: (line: string) => void;
}

export interface FuzzReport {
  trials: number;
  cliTrials: number;
  violations: string[];
  slowest: { ms: number; kind: string; trial: number };
  byKind: Record<string, number>;
  /** Trials of each kind that validated (exit 0): the generators make valid plans too. */
  validByKind: Record<string, number>;
  seed: number;
}

export const SLOW_MS = 10_000;

type Mutation =
  | { op: 'delete'; pick: number }
  | { op: 'set'; pick: number; value: unknown }
  | { op: 'nest'; pick: number; depth: number }
  | { op: 'alias'; pick: number }
  | { op: 'unresolved-alias'; pick: number }
  | { op: 'text-insert'; at: number; text: string }
  | { op: 'text-delete'; at: number; length: number }
  | { op: 'text-duplicate'; at: number; length: number };

type Recipe =
  | { kind: 'mutated'; seed: number; mutations: Mutation[] }
  | { kind: 'yaml'; value: unknown }
  | { kind: 'garbage'; bytes: Uint8Array }
  | { kind: 'laughs'; levels: number }
  | { kind: 'flow-nesting'; depth: number }
  | { kind: 'block-nesting'; depth: number }
  | { kind: 'huge'; megabytes: number }
  | { kind: 'checkpoint-bomb'; seed: number; every: string; until: string }
  | { kind: 'judge-metric'; seed: number; metric: Record<string, unknown>; checkpoints: unknown };

const value = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.constantFrom(1e308, -1e308, Number.MAX_SAFE_INTEGER, 2 ** 64, -0, 0.5, 101, -1),
  fc.string({ maxLength: 30 }),
  fc.string({ unit: 'binary', maxLength: 30 }),
  fc.constantFrom('15m', '0s', '1ms', '10y', '99999999999999999999y', '2025-11-02T16:15:00Z', '', '${UNSET_X}', '{{window}}', '{{ nope }}', 'sum(', '"} or vector(1) or {x="', '`', '\u0000', 'NaN'),
  fc.constantFrom('20%', '20 %', '1e999%', '-5%', 'sequential', 'mann-whitney', 'proof', 'no-regression', 'higher', 'lower', 0.01, 0.98, 11_001, 1e-300),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.oneof(fc.integer(), fc.string({ maxLength: 5 })), { maxLength: 4 }),
  fc.dictionary(fc.string({ maxLength: 8 }), fc.integer(), { maxKeys: 3 }),
  fc.record({ every: fc.constantFrom('1s', '1ms', '0s', '1h'), until: fc.constantFrom('10y', '1h', '1ms', '52w') }),
);

/** A PromQL template of the judges' kind, or one that is wrong in some way. */
const judgeQuery = fc.constantFrom(
  'sum(increase(http_requests_total{track="canary"}[{{window}}]))',
  'sum(rate(http_requests_total{track="stable",code=~"5.."}[{{window}}])) / sum(rate(http_requests_total{track="stable"}[{{window}}]))',
  'histogram_quantile(0.9, sum by (le) (rate(http_request_duration_seconds_bucket[1m])))',
  'sum(increase(errors_total[1h]))',
  'sum(',
  '{{ nope }}',
  '',
  42,
);
const counts = fc.oneof(
  fc.record({ canary: fc.record({ bad: judgeQuery, total: judgeQuery }), baseline: fc.record({ bad: judgeQuery, total: judgeQuery }) }),
  fc.record({ canary: fc.record({ bad: judgeQuery }, { requiredKeys: [] }) }, { requiredKeys: [] }),
  fc.constantFrom('sum(x)', null, [], 0),
);
const probability = fc.constantFrom(0.01, 0.98, 0, 1, -0.5, 2, 1e-300, 'x');

/** A metric with any combination of the judges' fields (plus a few of the others), valid or not. */
const anyJudgeMetric: fc.Arbitrary<Record<string, unknown>> = fc.record(
  {
    name: fc.constantFrom('judged', 'error-rate', 'latency', 'bad name'),
    query: judgeQuery,
    alerts: fc.constantFrom('severity="critical"', ''),
    baseline: judgeQuery,
    samples: judgeQuery,
    minSamples: fc.constantFrom(0, 20, 1000, 11_001, -1, 1e308, 0.5, 'many'),
    counts,
    test: fc.constantFrom('sequential', 'mann-whitney', 'bayesian', null),
    alpha: probability,
    require: fc.constantFrom('no-regression', 'proof', 'maybe'),
    confidence: probability,
    step: fc.constantFrom('30s', '1s', '500ms', '1ms', '10y', '0s', 'fast', 30),
    worse: fc.constantFrom('higher', 'lower', 'sideways'),
    tolerance: fc.constantFrom('20%', '0%', '150%', 0.2, 20, 0, -1, '20', '20 %', '1e999%', 'x%'),
    slack: fc.constantFrom(0, 0.005, -1, 1e308, 'little'),
    min: fc.constantFrom(0, 1, -1e308),
    max: fc.constantFrom(0, 0.5, 1e308),
    rollbackAbove: fc.constantFrom(0.6, 1),
    critical: fc.boolean(),
  },
  { requiredKeys: ['name'] },
);
const REQUESTS = 'sum(increase(http_requests_total{track="canary"}[{{window}}]))';
const LATENCY = (track: string) => `histogram_quantile(0.9, sum by (le) (rate(http_request_duration_seconds_bucket{track="${track}"}[1m])))`;
const COUNT = (track: string, bad: boolean) => `sum(increase(http_requests_total{track="${track}"${bad ? ',code=~"5.."' : ''}}[{{window}}]))`;
const VALID_COUNTS = { canary: { bad: COUNT('canary', true), total: COUNT('canary', false) }, baseline: { bad: COUNT('stable', true), total: COUNT('stable', false) } };
const tolerance = fc.constantFrom('20%', '5%', 0.2, 0);

/** A metric each judge accepts, with its optional fields drawn from valid values. */
const validJudgeMetric: fc.Arbitrary<Record<string, unknown>> = fc.oneof(
  fc.record({ name: fc.constant('judged'), query: fc.constant(REQUESTS), max: fc.constantFrom(0, 1e6), samples: fc.constant(REQUESTS), minSamples: fc.constantFrom(0, 20, 1000) }),
  fc.record(
    { name: fc.constant('judged'), query: fc.constant(LATENCY('canary')), baseline: fc.constant(LATENCY('stable')), tolerance, slack: fc.constantFrom(0, 0.005), worse: fc.constantFrom('higher', 'lower'), max: fc.constant(1) },
    { requiredKeys: ['name', 'query', 'baseline', 'slack'] },
  ),
  fc.record(
    { name: fc.constant('judged'), counts: fc.constant(VALID_COUNTS), test: fc.constant('sequential'), alpha: fc.constantFrom(0.01, 0.05), tolerance, minSamples: fc.constantFrom(0, 100, 1e6), require: fc.constantFrom('no-regression', 'proof'), critical: fc.boolean() },
    { requiredKeys: ['name', 'counts'] },
  ),
  fc.record(
    { name: fc.constant('judged'), query: fc.constant(LATENCY('canary')), baseline: fc.constant(LATENCY('stable')), test: fc.constant('mann-whitney'), confidence: fc.constantFrom(0.9, 0.98), tolerance, step: fc.constantFrom('10s', '30s'), minSamples: fc.constantFrom(5, 20), worse: fc.constantFrom('higher', 'lower') },
    { requiredKeys: ['name', 'query', 'baseline', 'test'] },
  ),
);

const judgeMetric = fc.oneof(anyJudgeMetric, validJudgeMetric);

/** The first phase's checkpoints beside a judged metric: Mann-Whitney's windows are checked one by one. */
const judgeCheckpoints = fc.constantFrom(undefined, ['15m', '30m', '1h'], { every: '1s', until: '2h' }, { every: '1ms', until: '10s' }, { every: '1m', until: '10y' }, ['1s', '4h']);

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant('delete' as const), pick: fc.nat() }),
  fc.record({ op: fc.constant('set' as const), pick: fc.nat(), value }),
  fc.record({ op: fc.constant('nest' as const), pick: fc.nat(), depth: fc.integer({ min: 1, max: 200 }) }),
  fc.record({ op: fc.constant('alias' as const), pick: fc.nat() }),
  fc.record({ op: fc.constant('unresolved-alias' as const), pick: fc.nat() }),
  fc.record({ op: fc.constant('text-insert' as const), at: fc.nat(), text: fc.oneof(fc.string({ maxLength: 8 }), fc.constantFrom(':', '- ', '&a ', '*a', '? [a]\n: b\n', '{', '[', '"', "'", '|', '>', '\t', '\n  ', '---\n', '%YAML 1.1\n', '!!binary ')) }),
  fc.record({ op: fc.constant('text-delete' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 40 }) }),
  fc.record({ op: fc.constant('text-duplicate' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 200 }) }),
);

function recipe(seeds: number, heavyWeight: number): fc.Arbitrary<Recipe> {
  const seed = fc.nat({ max: seeds - 1 });
  // Weights in tenths (fast-check wants integers); a heavy case is never left out entirely.
  const heavy = (w: number) => Math.max(1, Math.round(w * 10 * heavyWeight));
  return fc.oneof(
    { weight: 800, arbitrary: fc.record({ kind: fc.constant('mutated' as const), seed, mutations: fc.array(mutation, { minLength: 1, maxLength: 6 }) }) },
    { weight: 40, arbitrary: fc.record({ kind: fc.constant('yaml' as const), value: fc.anything({ maxDepth: 4 }) }) },
    { weight: 40, arbitrary: fc.record({ kind: fc.constant('garbage' as const), bytes: fc.uint8Array({ maxLength: 4096 }) }) },
    { weight: 20, arbitrary: fc.record({ kind: fc.constant('laughs' as const), levels: fc.integer({ min: 3, max: 12 }) }) },
    { weight: heavy(2), arbitrary: fc.record({ kind: fc.constant('flow-nesting' as const), depth: fc.integer({ min: 10, max: 500_000 }) }) },
    { weight: heavy(2), arbitrary: fc.record({ kind: fc.constant('block-nesting' as const), depth: fc.integer({ min: 10, max: 3_000 }) }) },
    { weight: heavy(1), arbitrary: fc.record({ kind: fc.constant('huge' as const), megabytes: fc.integer({ min: 1, max: 20 }) }) },
    {
      weight: 40,
      arbitrary: fc.record({ kind: fc.constant('checkpoint-bomb' as const), seed, every: fc.constantFrom('1ms', '1s', '1m'), until: fc.constantFrom('10y', '3650d', '1000000h', '9999999999999999999999s') }),
    },
    { weight: 200, arbitrary: fc.record({ kind: fc.constant('judge-metric' as const), seed, metric: judgeMetric, checkpoints: judgeCheckpoints }) },
  );
}

/** Every path to a value of `data`, in document order. */
function paths(data: unknown, prefix: Array<string | number> = [], out: Array<Array<string | number>> = []): Array<Array<string | number>> {
  out.push(prefix);
  if (data !== null && typeof data === 'object') {
    for (const [k, v] of Object.entries(data)) paths(v, [...prefix, Array.isArray(data) ? Number(k) : k], out);
  }
  return out;
}

function setAt(root: unknown, p: Array<string | number>, v: unknown, remove = false): unknown {
  if (p.length === 0) return remove ? null : v;
  let cur = root as Record<string | number, unknown>;
  for (const seg of p.slice(0, -1)) cur = cur[seg] as Record<string | number, unknown>;
  const last = p[p.length - 1]!;
  if (remove) {
    if (Array.isArray(cur)) cur.splice(Number(last), 1);
    else delete cur[last];
  } else cur[last] = v;
  return root;
}

function valueAt(root: unknown, p: Array<string | number>): unknown {
  return p.reduce<unknown>((cur, seg) => (cur as Record<string | number, unknown>)[seg], root);
}

function mutate(text: string, mutations: Mutation[]): string {
  let data: unknown = parse(text);
  let out: string | null = null;
  const textOps: Mutation[] = [];
  const anchors: string[] = [];
  for (const m of mutations) {
    const all = paths(data);
    const p = 'pick' in m ? all[m.pick % all.length]! : [];
    switch (m.op) {
      case 'delete':
        data = setAt(data, p, undefined, true);
        break;
      case 'set':
        data = setAt(data, p, m.value);
        break;
      case 'nest': {
        let v: unknown = valueAt(data, p);
        for (let i = 0; i < m.depth; i++) v = i % 2 ? [v] : { n: v };
        data = setAt(data, p, v);
        break;
      }
      case 'alias':
        // A real anchor on the picked value, and an alias to it at the top level.
        anchors.push(JSON.stringify(p));
        break;
      default:
        textOps.push(m);
    }
  }
  out = stringify(data, { aliasDuplicateObjects: false });
  if (anchors.length > 0 && data !== null && typeof data === 'object' && !Array.isArray(data)) {
    const withAlias = { ...(data as object), 'x-copy': valueAt(data, JSON.parse(anchors[0]!) as Array<string | number>) };
    out = stringify(withAlias, { aliasDuplicateObjects: true });
  }
  for (const m of textOps) {
    const at: number = 'at' in m ? m.at % (out.length + 1) : 0;
    if (m.op === 'unresolved-alias') out = `${out}x-alias: *nope${m.pick % 100}\n`;
    else if (m.op === 'text-insert') out = out.slice(0, at) + m.text + out.slice(at);
    else if (m.op === 'text-delete') out = out.slice(0, at) + out.slice(at + m.length);
    else if (m.op === 'text-duplicate') out = out.slice(0, at) + out.slice(at, at + m.length) + out.slice(at);
  }
  return out;
}

function laughs(levels: number): string {
  let text = 'apiVersion: rollgate.dev/v1alpha1\nkind: RolloutPlan\nmetadata: {name: lol}\nx-lol:\n  l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n';
  for (let i = 1; i < levels; i++) text += `  l${i}: &l${i} [${Array.from({ length: 9 }, () => `*l${i - 1}`).join(', ')}]\n`;
  return text;
}

/** `text` (a seed plan) with `metric` added to its metrics, guarded, and its first phase's checkpoints replaced. */
function withJudgeMetric(text: string, metric: Record<string, unknown>, checkpoints: unknown): string {
  const data = parse(text) as { spec?: { metrics?: unknown[]; guard?: Record<string, unknown>; phases?: Array<Record<string, unknown>> } };
  const spec = data.spec!;
  spec.metrics = [...(spec.metrics ?? []), metric];
  if (metric.critical === false && metric.test !== 'mann-whitney') spec.guard = { ...spec.guard, metrics: [metric.name] };
  if (checkpoints !== undefined && spec.phases?.[0]) spec.phases[0].checkpoints = checkpoints;
  return stringify(data);
}

/** The text (or bytes) of one recipe. */
export function render(r: Recipe, seedTexts: string[]): string | Uint8Array {
  switch (r.kind) {
    case 'mutated':
      return mutate(seedTexts[r.seed]!, r.mutations);
    case 'yaml':
      return (stringify(r.value) as string | undefined) ?? ''; // undefined stringifies to nothing
    case 'garbage':
      return r.bytes;
    case 'laughs':
      return laughs(r.levels);
    case 'flow-nesting':
      return `${seedTexts[0]}x-deep: ${'['.repeat(r.depth)}${']'.repeat(r.depth)}\n`;
    case 'block-nesting': {
      const lines: string[] = [];
      for (let i = 0; i < r.depth; i++) lines.push(`${' '.repeat(i)}k${i}:`);
      return `${seedTexts[0]}x-deep:\n${lines.map((l) => ` ${l}`).join('\n')} 1\n`;
    }
    case 'huge':
      return `${seedTexts[0]}x-pad: "${'x'.repeat(r.megabytes * 1024 * 1024)}"\n`;
    case 'checkpoint-bomb':
      return seedTexts[r.seed]!.replace(/checkpoints:.*\n/, `checkpoints: [{every: ${r.every}, until: ${r.until}}]\n`);
    case 'judge-metric':
      return withJudgeMetric(seedTexts[r.seed]!, r.metric, r.checkpoints);
  }
}

/** A diagnostic (`F:L:C: path: message`, `F: path: message`) or the summary line of `file`. */
export function isPositioned(line: string, file: string): boolean {
  if (!line.startsWith(`${file}:`)) return false;
  const rest = line.slice(file.length + 1);
  return /^\d+:\d+: \S[^\n]*: \S/.test(rest) || /^ (invalid: |\d+ plans? valid)/.test(rest) || /^ [^\s:][^\n]*: \S/.test(rest);
}

export async function fuzzPlans(opts: FuzzOptions): Promise<FuzzReport> {
  const log = opts.log ?? (() => {});
  const seedTexts = opts.seeds.map((f) => readFileSync(f, 'utf8'));
  const recipes = fc.sample(recipe(seedTexts.length, opts.heavyWeight ?? 1), { numRuns: opts.trials, seed: opts.seed });
  const dir = mkdtempSync(path.join(tmpdir(), 'rollgate-fuzz-'));
  const report: FuzzReport = { trials: 0, cliTrials: 0, violations: [], slowest: { ms: 0, kind: '', trial: -1 }, byKind: {}, validByKind: {}, seed: opts.seed };
  const warnings: string[] = [];
  const onWarning = (w: Error) => warnings.push(`${w.name}: ${w.message}`);
  process.on('warning', onWarning);
  try {
    for (const [i, r] of recipes.entries()) {
      const file = path.join(dir, `t${i}.yaml`);
      const violation = (what: string) => report.violations.push(`trial ${i} (${r.kind}, seed ${opts.seed}): ${what}`);
      let content: string | Uint8Array;
      try {
        content = render(r, seedTexts);
      } catch {
        content = seedTexts[0]!; // a mutation the generator itself cannot write: fuzz the seed
      }
      writeFileSync(file, content);
      report.byKind[r.kind] = (report.byKind[r.kind] ?? 0) + 1;
      const lines: string[] = [];
      const started = performance.now();
      try {
        const code = await validateFiles([file], {}, (l) => lines.push(l));
        if (code !== 0 && code !== 1) violation(`exit status ${code}`);
        if (code === 0) report.validByKind[r.kind] = (report.validByKind[r.kind] ?? 0) + 1;
      } catch (err) {
        violation(`crash: ${(err as Error).stack ?? String(err)}`);
      }
      const ms = performance.now() - started;
      if (ms > report.slowest.ms) report.slowest = { ms: Math.round(ms), kind: r.kind, trial: i };
      if (ms > SLOW_MS) violation(`took ${Math.round(ms)} ms`);
      for (const l of lines) if (!isPositioned(l, file)) violation(`unpositioned output: ${l.slice(0, 300)}`);
      if (warnings.length > 0) violation(`process warning: ${warnings.splice(0).join('; ')}`);
      if (opts.cliEvery && opts.mainJs && i % opts.cliEvery === 0) {
        report.cliTrials += 1;
        const cli = spawnSync(process.execPath, [opts.mainJs, 'validate', file], { encoding: 'utf8', timeout: 60_000 });
        if (cli.status !== 0 && cli.status !== 1) violation(`CLI exit ${cli.status} ${cli.signal ?? ''}: ${cli.stderr.slice(0, 300)}`);
        if (cli.stderr !== '') violation(`CLI stderr: ${cli.stderr.slice(0, 300)}`);
        for (const l of cli.stdout.split('\n').filter(Boolean)) if (!isPositioned(l, file)) violation(`CLI unpositioned output: ${l.slice(0, 300)}`);
      }
      rmSync(file, { force: true });
      report.trials += 1;
      if ((i + 1) % 1000 === 0) log(`${i + 1} trials, ${report.violations.length} violations, slowest ${report.slowest.ms} ms (${report.slowest.kind})`);
    }
  } finally {
    process.off('warning', onWarning);
    rmSync(dir, { recursive: true, force: true });
  }
  return report;
}

/** The plan files the fuzzer mutates: the shared examples and the test fixtures (valid.yaml, the judges'). */
export function seedFiles(root: string): string[] {
  const examples = path.resolve(root, '../shared/examples');
  const shared = readdirSync(examples).filter((f) => f.endsWith('.yaml')).map((f) => path.join(examples, f));
  const fixtures = path.join(root, 'test/fixtures/plans');
  const judges = readdirSync(fixtures).filter((f) => f.startsWith('judge')).map((f) => path.join(fixtures, f));
  return [...shared.sort(), path.join(fixtures, 'valid.yaml'), ...judges.sort()];
}
