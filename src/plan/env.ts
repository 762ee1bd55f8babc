/**
 * `${NAME}` references to environment variables, expanded in every string value of a parsed
 * plan before schema validation. NAME is `[A-Za-z_][A-Za-z0-9_]*`; nothing else is special
 * (no `$NAME`, no defaults, no escapes). Keys are never expanded.
 *
 * - lenient (`validate`, `plan`): an unset variable is a warning and its literal stays, since
 *   the plan may be meant for another machine.
 * - strict (`run`, `controller`, `simulate`): an unset variable is an error naming it.
 *
 * Sections a command never reads can be left alone (`simulate`: `spec.notify`, whose webhook
 * URLs are secrets, and `spec.traffic`, as no router is touched): their references are neither
 * expanded nor reported.
 */
import { error, warning, type PathSegment, type PlanIssue } from './diagnostic.js';

export type EnvMode = 'lenient' | 'strict';

/** An environment variable's name in a `${NAME}` reference, as regular-expression text. */
export const ENV_NAME_PATTERN = '[A-Za-z_][A-Za-z0-9_]*';

const REFERENCE = new RegExp(`\\$\\{(${ENV_NAME_PATTERN})\\}`, 'g');

/** A `${NAME}` reference as regular-expression text, for schemas whose patterns must also accept one. */
export const ENV_REFERENCE_PATTERN = `\\$\\{${ENV_NAME_PATTERN}\\}`;

/** The variable names referenced by `text`, in order, without duplicates. */
export function envReferences(text: string): string[] {
  return [...new Set([...text.matchAll(REFERENCE)].map((m) => m[1]!))];
}

export interface ExpandResult<T> {
  value: T;
  issues: PlanIssue[];
  /** Paths (as JSON) of string values that still hold an unset reference (lenient mode). */
  unresolved: Set<string>;
}

/** Expands `${NAME}` in one string; `missing` receives the names that are not set. */
export function expandString(text: string, env: NodeJS.ProcessEnv, missing: string[] = []): string {
  return text.replace(REFERENCE, (raw: string, name: string) => {
    const value = env[name];
    if (value === undefined) {
      if (!missing.includes(name)) missing.push(name);
      return raw;
    }
    return value;
  });
}

const under = (path: readonly PathSegment[], prefix: readonly PathSegment[]) =>
  path.length >= prefix.length && prefix.every((seg, i) => seg === path[i]);

/**
 * Expands every string value of `data` (a tree of plain objects, arrays and scalars), except
 * below the paths of `unread`: their values stay as written, a reference in them unreported
 * (and counted as unresolved, so that the schema does not judge its literal text).
 */
export function expandEnv<T>(data: T, env: NodeJS.ProcessEnv, mode: EnvMode, unread: readonly (readonly PathSegment[])[] = []): ExpandResult<T> {
  const issues: PlanIssue[] = [];
  const unresolved = new Set<string>();

  const walk = (node: unknown, path: PathSegment[]): unknown => {
    if (typeof node === 'string' && unread.some((prefix) => under(path, prefix))) {
      if (envReferences(node).length > 0) unresolved.add(JSON.stringify(path));
      return node;
    }
    if (typeof node === 'string') {
      const missing: string[] = [];
      const out = expandString(node, env, missing);
      for (const name of missing) {
        const extra = { needle: `\${${name}}` };
        if (mode === 'strict') {
          issues.push(error(path, `environment variable ${name} is not set (referenced as \${${name}})`, extra));
        } else {
          issues.push(
            warning(path, `environment variable ${name} is not set; \${${name}} stays as written here and must be set where the plan runs`, extra),
          );
        }
      }
      if (missing.length > 0) unresolved.add(JSON.stringify(path));
      return out;
    }
    if (Array.isArray(node)) return node.map((item, i) => walk(item, [...path, i]));
    if (node !== null && typeof node === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(node)) out[k] = walk(v, [...path, k]);
      return out;
    }
    return node;
  };

  return { value: walk(data, []) as T, issues, unresolved };
}
