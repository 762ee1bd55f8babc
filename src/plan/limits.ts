/**
 * The documented limits of a plan (docs/plan-reference.md, "Limits"). They bound what one
 * plan can cost the controller that runs it next to every other rollout: the file is read,
 * parsed and expanded only within them, and `{every, until}` blocks are counted by arithmetic
 * before anything expands them, so no plan can make `validate`, `plan`, `simulate`, `run` or
 * the schedule grow with `until / every`.
 */
import { error, type PlanIssue } from './diagnostic.js';
import { formatDuration, parseDuration } from './duration.js';
import type { Phase, Plan } from './schema.js';

export const PLAN_LIMITS = {
  /** Bytes of one plan file (every document in it). */
  fileBytes: 1024 * 1024,
  /** Nested flow collections (`[` / `{`) in the YAML text. */
  flowDepth: 64,
  /** Alias nodes (`*name`) in one document. */
  aliases: 100,
  /** yaml's `maxAliasCount`: bounds the nodes aliases expand to. */
  aliasExpansion: 1000,
  phases: 100,
  metrics: 100,
  /** Checkpoints of one phase, `{every, until}` blocks counted as the checkpoints they make. */
  checkpointsPerPhase: 10_000,
  /** Checkpoints of all phases together. */
  checkpointsPerPlan: 20_000,
  /** Checkpoint offsets, `until` and `settle`. */
  maxOffsetMs: 10 * 365 * 86_400_000,
  /**
   * Points per side of a Mann-Whitney judgement (one checkpoint window at `step`): Prometheus'
   * own limit for a range query, and it bounds the Hodges-Lehmann estimate's pairwise
   * differences (checked in checks-judges.ts, where the windows are known).
   */
  rangePointsPerSide: 11_000,
} as const;

const MIB = 1024 * 1024;
const size = (bytes: number) => (bytes >= MIB ? `${(bytes / MIB).toFixed(1)} MiB` : `${Math.ceil(bytes / 1024)} KiB`);

/** The file-size error, or null. */
export function fileSizeProblem(bytes: number): string | null {
  return bytes > PLAN_LIMITS.fileBytes ? `plan file is ${size(bytes)}, more than the limit of ${size(PLAN_LIMITS.fileBytes)}` : null;
}

/**
 * The offset at which flow collections (`[`, `{`) nest deeper than the limit, or -1. A quick
 * scan before parsing (quotes, comments and block scalars' brackets are followed well enough:
 * a query's brackets balance, and the parser still judges the real structure).
 */
export function tooDeepAt(text: string, limit: number = PLAN_LIMITS.flowDepth): number {
  let depth = 0;
  let quote: string | null = null;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote) {
      if (quote === '"' && c === '\\') i++;
      else if (c === quote || c === '\n') quote = null;
      continue;
    }
    const prev = i === 0 ? '\n' : text[i - 1]!;
    const boundary = /[\s[{,:]/.test(prev);
    if (c === '#' && /\s/.test(prev)) {
      const nl = text.indexOf('\n', i);
      if (nl < 0) break;
      i = nl;
    } else if ((c === '"' || c === "'") && boundary) quote = c;
    else if (c === '[' || c === '{') {
      if (++depth > limit) return i;
    } else if ((c === ']' || c === '}') && depth > 0) depth--;
  }
  return -1;
}

/** The options a YAML input (a plan, or a file `convert` reads) is parsed with. */
export const YAML_PARSE_OPTIONS = { prettyErrors: false, uniqueKeys: true, logLevel: 'error' } as const;

/**
 * What is wrong with a YAML input's text before it is parsed (the parser's time grows fast
 * with nesting): too big (at 1:1, path `(file)`), or flow collections nested too deep (at the
 * bracket, path `(yaml)`); null when neither.
 */
export function preParseProblem(text: string): { line: number; col: number; path: string; message: string } | null {
  const tooBig = fileSizeProblem(Buffer.byteLength(text, 'utf8'));
  if (tooBig) return { line: 1, col: 1, path: '(file)', message: tooBig };
  const deep = tooDeepAt(text);
  if (deep < 0) return null;
  const before = text.slice(0, deep).split('\n');
  const message = `flow collections ([ or {) nested more than ${PLAN_LIMITS.flowDepth} levels deep`;
  return { line: before.length, col: before[before.length - 1]!.length + 1, path: '(yaml)', message };
}

/** How many checkpoints a phase has, by arithmetic: `{every, until}` blocks are not expanded. */
export function checkpointCount(phase: Pick<Phase, 'checkpoints'>): number {
  const items = Array.isArray(phase.checkpoints) ? phase.checkpoints : [phase.checkpoints];
  let count = 0;
  let blockStart = 0;
  for (const item of items) {
    if (typeof item === 'string') {
      count += 1;
      const offset = parseDuration(item);
      if (offset !== null) blockStart = offset;
      continue;
    }
    if (item.every <= 0) continue;
    if (item.until >= blockStart + item.every) count += Math.floor((item.until - blockStart) / item.every);
    blockStart = Math.max(blockStart, item.until);
  }
  return Number.isFinite(count) ? count : Infinity;
}

function phaseIssues(phase: Phase, p: number): PlanIssue[] {
  const base = ['spec', 'phases', p];
  const out: PlanIssue[] = [];
  const long = (ms: number) => !(ms <= PLAN_LIMITS.maxOffsetMs);
  const limit = formatDuration(PLAN_LIMITS.maxOffsetMs);
  if (long(phase.settle)) out.push(error([...base, 'settle'], `expected at most ${limit}, got ${formatDuration(phase.settle)}`));
  const items = Array.isArray(phase.checkpoints) ? phase.checkpoints : [phase.checkpoints];
  items.forEach((item, j) => {
    const at = Array.isArray(phase.checkpoints) ? [...base, 'checkpoints', j] : [...base, 'checkpoints'];
    if (typeof item === 'string') {
      const offset = parseDuration(item);
      if (offset !== null && long(offset)) out.push(error(at, `expected an offset of at most ${limit}, got ${item}`));
    } else if (long(item.until)) out.push(error([...at, 'until'], `expected at most ${limit}, got ${formatDuration(item.until)}`));
  });
  const n = checkpointCount(phase);
  if (n > PLAN_LIMITS.checkpointsPerPhase) {
    const what = Number.isFinite(n) ? n.toLocaleString('en-US') : 'too many';
    out.push(error([...base, 'checkpoints'], `${what} checkpoints, more than the limit of ${PLAN_LIMITS.checkpointsPerPhase.toLocaleString('en-US')} per phase: make every longer or until shorter`));
  }
  return out;
}

/** Every limit a schema-valid plan exceeds; the other checks run only on a plan within them. */
export function checkLimits(plan: Plan): PlanIssue[] {
  const { phases, metrics } = plan.spec;
  const out: PlanIssue[] = [];
  if (phases.length > PLAN_LIMITS.phases) out.push(error(['spec', 'phases'], `${phases.length} phases, more than the limit of ${PLAN_LIMITS.phases}`));
  if (metrics.length > PLAN_LIMITS.metrics) out.push(error(['spec', 'metrics'], `${metrics.length} metrics, more than the limit of ${PLAN_LIMITS.metrics}`));
  if (out.length > 0) return out;
  let total = 0;
  phases.forEach((phase, p) => {
    out.push(...phaseIssues(phase, p));
    total += checkpointCount(phase);
  });
  if (out.length === 0 && total > PLAN_LIMITS.checkpointsPerPlan) {
    out.push(error(['spec', 'phases'], `${total.toLocaleString('en-US')} checkpoints in all phases, more than the limit of ${PLAN_LIMITS.checkpointsPerPlan.toLocaleString('en-US')} per plan`));
  }
  return out;
}
