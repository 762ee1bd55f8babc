/**
 * Argo Rollouts' `successCondition` / `failureCondition` (expr expressions over `result`) as
 * rollgate bounds. Understood: comparisons of `result[0]` (or `result`) with a number, joined
 * by `&&` (success) or `||` (failure), and the no-data guards `isNaN(result[0])`,
 * `isInf(result[0])`, `len(result) == 0` joined by `||`.
 */

export type Op = '<' | '<=' | '>' | '>=' | '==';

export interface Comparison {
  op: Op;
  value: number;
}

export interface Condition {
  /** success: all must hold; failure: any fails. */
  comparisons: Comparison[];
  /** The condition holds when there is no data (a NaN/empty guard was joined with `||`). */
  onNoData: boolean;
}

const RESULT = String.raw`(?:asFloat\()?result(?:\[0\])?\)?`;
const NUMBER = String.raw`[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?`;
const LEFT = new RegExp(`^${RESULT}\\s*(<=|>=|==|<|>)\\s*(${NUMBER})$`);
const RIGHT = new RegExp(`^(${NUMBER})\\s*(<=|>=|==|<|>)\\s*${RESULT}$`);
const NO_DATA = new RegExp(`^(?:isNaN\\(${RESULT}\\)|isInf\\(${RESULT}\\)|len\\(result\\)\\s*==\\s*0)$`);
const FLIP: Record<Op, Op> = { '<': '>', '<=': '>=', '>': '<', '>=': '<=', '==': '==' };

function unwrap(text: string): string {
  let t = text.trim();
  while (t.startsWith('(') && t.endsWith(')') && balanced(t.slice(1, -1))) t = t.slice(1, -1).trim();
  return t;
}

function balanced(t: string): boolean {
  let depth = 0;
  for (const c of t) {
    if (c === '(') depth++;
    else if (c === ')' && --depth < 0) return false;
  }
  return depth === 0;
}

function comparison(text: string): Comparison | null {
  const t = unwrap(text);
  const l = LEFT.exec(t);
  if (l) return { op: l[1] as Op, value: Number(l[2]) };
  const r = RIGHT.exec(t);
  if (r) return { op: FLIP[r[2] as Op], value: Number(r[1]) };
  return null;
}

/**
 * The condition, or null when it is not of an understood form. `kind` decides how plain
 * comparisons may be joined: all of them (`&&`) for success, any of them (`||`) for failure.
 */
export function parseCondition(text: string, kind: 'success' | 'failure'): Condition | null {
  const alternatives = unwrap(text).split('||').map(unwrap);
  let onNoData = false;
  const comparisons: Comparison[] = [];
  const rest: string[] = [];
  for (const alt of alternatives) {
    if (NO_DATA.test(alt)) onNoData = true;
    else rest.push(alt);
  }
  if (kind === 'success') {
    if (rest.length !== 1) return null;
    for (const part of rest[0]!.split('&&')) {
      const c = comparison(part);
      if (!c) return null;
      comparisons.push(c);
    }
  } else {
    for (const part of rest) {
      const c = comparison(part);
      if (!c) return null;
      comparisons.push(c);
    }
  }
  return comparisons.length > 0 ? { comparisons, onNoData } : null;
}

export interface Bounds {
  min?: number;
  max?: number;
  rollbackBelow?: number;
  rollbackAbove?: number;
  /** Set when a strict comparison became an inclusive bound (they differ only at the bound). */
  boundaryDiffers: boolean;
}

/**
 * rollgate's pass bounds (min/max) and fail bounds (rollbackBelow/rollbackAbove) for Argo's
 * pair of conditions: a measurement passes when success holds and failure does not; without a
 * success condition it passes when failure does not hold; a failure condition beside a success
 * condition separates fail from inconclusive, as rollbackBelow/rollbackAbove separate fail
 * from hold. Null when the pair has no such form (e.g. `==` in a failure condition).
 */
export function boundsOf(success: Condition | null, failure: Condition | null): Bounds | null {
  const b: Bounds = { boundaryDiffers: false };
  for (const c of success?.comparisons ?? []) {
    if (c.op === '>' || c.op === '>=' || c.op === '==') b.min = Math.max(b.min ?? -Infinity, c.value);
    if (c.op === '<' || c.op === '<=' || c.op === '==') b.max = Math.min(b.max ?? Infinity, c.value);
    if (c.op === '<' || c.op === '>') b.boundaryDiffers = true;
  }
  for (const c of failure?.comparisons ?? []) {
    if (c.op === '==') return null;
    const above = c.op === '>' || c.op === '>=';
    // Without a success condition the failure bound is the pass bound: pass iff not failing.
    if (!success) {
      if (above) b.max = Math.min(b.max ?? Infinity, c.value);
      else b.min = Math.max(b.min ?? -Infinity, c.value);
      if (c.op === '>=' || c.op === '<=') b.boundaryDiffers = true;
    } else {
      if (above) b.rollbackAbove = Math.min(b.rollbackAbove ?? Infinity, c.value);
      else b.rollbackBelow = Math.max(b.rollbackBelow ?? -Infinity, c.value);
      if (c.op === '>=' || c.op === '<=') b.boundaryDiffers = true;
    }
  }
  return b.min === undefined && b.max === undefined ? null : b;
}
