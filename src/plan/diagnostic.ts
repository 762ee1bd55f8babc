/**
 * Problems found in plan files. Every problem carries a position and the path of the field,
 * printed as `FILE:LINE:COL: path.to.field: message`. Warnings are printed the same way with
 * `warning: ` in front of the message, so the first three colon-separated parts always parse.
 */

export type Severity = 'error' | 'warning';
export type PathSegment = string | number;

export interface Diagnostic {
  file: string;
  /** 1-based; 0 when the problem concerns the whole file (e.g. it cannot be read). */
  line: number;
  /** 1-based; 0 together with line 0. */
  col: number;
  /** The field, e.g. `spec.metrics[1].max`; `(yaml)` for syntax errors, `(document)` for the document as a whole. */
  path: string;
  message: string;
  severity: Severity;
}

/** A problem located by its path in the document; the loader turns it into a Diagnostic. */
export interface PlanIssue {
  path: PathSegment[];
  message: string;
  severity: Severity;
  /** Point at the key of the last path segment rather than at its value (unknown fields). */
  atKey?: boolean;
  /** Text to look for inside the node's source, for a precise column (e.g. `{{foo}}`). */
  needle?: string;
  /** An offset inside the field's string value `text`, for a precise line and column. */
  within?: { text: string; offset: number };
}

export const error = (path: PathSegment[], message: string, extra: Partial<PlanIssue> = {}): PlanIssue => ({
  path,
  message,
  severity: 'error',
  ...extra,
});

export const warning = (path: PathSegment[], message: string, extra: Partial<PlanIssue> = {}): PlanIssue => ({
  path,
  message,
  severity: 'warning',
  ...extra,
});

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$-]*$/;

/** `['spec', 'metrics', 1, 'max']` -> `spec.metrics[1].max`; odd keys are quoted. */
export function formatPath(path: readonly PathSegment[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (IDENTIFIER.test(seg)) out += out === '' ? seg : `.${seg}`;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out === '' ? '(document)' : out;
}

/**
 * `FILE:LINE:COL: path: message`, or `FILE:LINE:COL: path: warning: message`; a problem
 * without a position (an unreadable file, an object from the Kubernetes API) is
 * `FILE: path: message`, the path left out when it is only `(file)`.
 */
export function formatDiagnostic(d: Diagnostic): string {
  const prefix = d.severity === 'warning' ? 'warning: ' : '';
  if (d.line === 0) return `${d.file}: ${d.path && d.path !== '(file)' ? `${d.path}: ` : ''}${prefix}${d.message}`;
  return `${d.file}:${d.line}:${d.col}: ${d.path}: ${prefix}${d.message}`;
}

export const hasErrors = (ds: readonly Diagnostic[]): boolean => ds.some((d) => d.severity === 'error');

/** A short description of a value found in a plan, for "expected X, got Y" messages. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') {
    const shown = value.length > 60 ? `${value.slice(0, 57)}...` : value;
    return JSON.stringify(shown);
  }
  return `${typeof value} ${String(value)}`;
}

/** The value at `path` inside plain data, or undefined. */
export function valueAt(data: unknown, path: readonly PathSegment[]): unknown {
  let cur: unknown = data;
  for (const seg of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string | number, unknown>)[seg];
  }
  return cur;
}

/** Levenshtein distance, for "did you mean" suggestions. */
export function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return row[b.length]!;
}

/** The closest candidate to `word`, if it is close enough to be a likely typo. */
export function suggest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDist = Infinity;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestDist) {
      best = c;
      bestDist = d;
    }
  }
  return best !== undefined && bestDist <= Math.max(1, Math.floor(best.length / 3)) ? best : undefined;
}
