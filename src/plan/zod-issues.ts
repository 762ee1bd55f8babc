/**
 * Turns zod issues into plan issues whose messages say what was expected and what was found:
 * unions are resolved to the branch that matches the value's shape, unknown fields get a
 * "did you mean", and missing fields are called missing.
 */
import type { z } from 'zod';
import { describeValue, error, suggest, valueAt, type PathSegment, type PlanIssue } from './diagnostic.js';

type Issue = z.core.$ZodIssue;
type AnySchema = z.core.$ZodType;

const GENERIC_TYPE_MESSAGE = /^Invalid input: expected (\w+), received \w+$/;

/** The schema that validates the value at `path` below `schema`, if it can be found. */
function schemaAt(schema: AnySchema, path: readonly PathSegment[]): AnySchema | null {
  const def = schema._zod.def as unknown as Record<string, unknown> & { type: string };
  switch (def.type) {
    case 'optional':
    case 'default':
    case 'prefault':
    case 'nullable':
    case 'readonly':
      return schemaAt(def.innerType as AnySchema, path);
    case 'pipe':
      return schemaAt(def.in as AnySchema, path);
    case 'union':
      for (const option of def.options as AnySchema[]) {
        const found = schemaAt(option, path);
        if (found && (path.length > 0 || objectKeys(found))) return found;
      }
      return null;
    default:
  }
  if (path.length === 0) return schema;
  const [head, ...rest] = path;
  if (def.type === 'object' && typeof head === 'string') {
    const child = (def.shape as Record<string, AnySchema>)[head];
    return child ? schemaAt(child, rest) : null;
  }
  if (def.type === 'array' && typeof head === 'number') return schemaAt(def.element as AnySchema, rest);
  if (def.type === 'record' && typeof head === 'string') return schemaAt(def.valueType as AnySchema, rest);
  return null;
}

function objectKeys(schema: AnySchema): string[] | null {
  const def = schema._zod.def as unknown as { type: string; shape?: Record<string, unknown> };
  return def.type === 'object' && def.shape ? Object.keys(def.shape) : null;
}

/** Chooses the union branch whose errors show that the value had that branch's shape. */
function resolveUnion(iss: Extract<Issue, { code: 'invalid_union' }>): Issue[] | null {
  const matching = iss.errors.filter(
    (branch) => branch.length > 0 && !branch.some((e) => e.path.length === 0 && e.code === 'invalid_type'),
  );
  if (matching.length === 0) return null;
  // Prefer the branch that got furthest into the value.
  const depth = (branch: Issue[]) => Math.max(...branch.map((e) => e.path.length));
  return matching.reduce((best, b) => (depth(b) > depth(best) ? b : best));
}

function flatten(issues: readonly Issue[], base: readonly PathSegment[]): Array<{ issue: Issue; path: PathSegment[] }> {
  const out: Array<{ issue: Issue; path: PathSegment[] }> = [];
  for (const issue of issues) {
    const path = [...base, ...(issue.path as PathSegment[])];
    if (issue.code === 'invalid_union') {
      const branch = resolveUnion(issue);
      if (branch) {
        out.push(...flatten(branch, path));
        continue;
      }
    }
    out.push({ issue, path });
  }
  return out;
}

const NUMBER_TEXT = /^\s*([+-]?\d+(?:\.\d+)?)\s*(%?)\s*$/;

/**
 * A number written as text where a number is expected: `"0.01"` needs no quotes; `"0.5%"` is
 * the fraction 0.005 (plan numbers are plain), except where the field is a percentage itself
 * (`weight: "10%"` is 10).
 */
function numberAsTextHint(issue: Issue, found: unknown): string {
  if (issue.code !== 'invalid_type' || issue.expected !== 'number' || typeof found !== 'string') return '';
  const m = NUMBER_TEXT.exec(found);
  if (!m) return '';
  const written = m[1]!;
  if (m[2] === '') return `: write the number without quotes: ${written}`;
  if (/percentage/.test(issue.message)) return `: write the percentage as a plain number, without % and quotes: ${written}`;
  const fraction = Number((Number(written) / 100).toPrecision(12));
  return `: write the fraction ${fraction} (plan numbers are plain: ${written}% is ${fraction})`;
}

function typeMessage(issue: Issue, found: unknown): string {
  const generic = GENERIC_TYPE_MESSAGE.exec(issue.message);
  const expected = generic ? `expected ${generic[1]}` : issue.message;
  return (/\bgot\b/.test(expected) ? expected : `${expected}, got ${describeValue(found)}`) + numberAsTextHint(issue, found);
}

function unknownKeyIssues(root: AnySchema, path: PathSegment[], keys: readonly string[]): PlanIssue[] {
  const parent = schemaAt(root, path);
  const known = parent ? (objectKeys(parent) ?? []) : [];
  return keys.map((key) => {
    const hint = suggest(key, known);
    const list = known.length > 0 ? `; expected one of: ${known.join(', ')}` : '';
    const message = hint ? `unknown field "${key}" (did you mean "${hint}"?)` : `unknown field "${key}"${list}`;
    return error([...path, key], message, { atKey: true });
  });
}

/** Plan issues for the zod issues of validating `data` against `root`. */
export function zodIssuesToPlanIssues(root: AnySchema, issues: readonly Issue[], data: unknown): PlanIssue[] {
  const out: PlanIssue[] = [];
  const seen = new Set<string>();
  for (const { issue, path } of flatten(issues, [])) {
    if (issue.code === 'unrecognized_keys') {
      out.push(...unknownKeyIssues(root, path, issue.keys));
      continue;
    }
    const found = valueAt(data, path);
    let message: string;
    if (found === undefined && path.length > 0) {
      const field = path[path.length - 1]!;
      const expected = GENERIC_TYPE_MESSAGE.test(issue.message) ? '' : ` (${issue.message})`;
      message = `missing required field "${String(field)}"${expected}`;
    } else if (issue.code === 'invalid_type' || issue.code === 'invalid_union') {
      message = typeMessage(issue, found);
    } else if (issue.code === 'invalid_value') {
      const allowed = issue.values.map((v) => JSON.stringify(v)).join(', ');
      const base = issue.message.startsWith('Invalid') ? `expected one of ${allowed}` : issue.message;
      message = /\bgot\b/.test(base) ? base : `${base}, got ${describeValue(found)}`;
    } else {
      message = /\bgot\b/.test(issue.message) ? issue.message : `${issue.message}, got ${describeValue(found)}`;
    }
    const key = `${JSON.stringify(path)}\u0000${message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(error(path, message));
  }
  return out;
}
