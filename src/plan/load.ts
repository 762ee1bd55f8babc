/**
 * Loading plan files: YAML (several documents per file), `${NAME}` expansion, the schema,
 * then the cross-field checks. Every problem becomes a Diagnostic with a line and column.
 * A document with any error yields no plan; warnings do not block.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { isCollection, isMap, isScalar, LineCounter, parseAllDocuments, visit, type Document, type Node } from 'yaml';
import { checkPlan } from './checks.js';
import { describeValue, error, formatPath, hasErrors, valueAt, type Diagnostic, type PathSegment, type PlanIssue } from './diagnostic.js';
import { expandEnv, type EnvMode } from './env.js';
import { fileSizeProblem, PLAN_LIMITS, preParseProblem, YAML_PARSE_OPTIONS } from './limits.js';
import { locate } from './positions.js';
import { KIND, planSchema, planSchemaFor, rolloutId, type Plan } from './schema.js';
import type { RouterDescriptor } from '../routers/descriptor.js';
import { zodIssuesToPlanIssues } from './zod-issues.js';
import { yamlErrorMessage } from './yaml-hints.js';

export interface LoadedPlan {
  plan: Plan;
  file: string;
  /** `sha256:` + hex of the canonical JSON (sorted keys) of the document as written, after env expansion. */
  hash: string;
  /** Index of the document in its file (0-based, counting empty documents too). */
  document: number;
}

export interface LoadResult {
  plans: LoadedPlan[];
  diagnostics: Diagnostic[];
}

export interface LoadOptions {
  env?: NodeJS.ProcessEnv;
  envMode: EnvMode;
  /** The controller's `--prometheus`; silences the missing prometheus.address warning. */
  prometheus?: string;
  /**
   * Sections the caller never reads (`simulate`: spec.notify and spec.traffic): `${NAME}` in
   * them is neither expanded nor reported, so their secrets are not needed (env.ts).
   */
  unread?: readonly (readonly PathSegment[])[];
  /** The routers plans may name (schema and checks); default: the registry's list (src/routers/registry.ts). */
  routers?: readonly RouterDescriptor[];
}

/** JSON with object keys sorted at every level. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return v;
    const obj = v as Record<string, unknown>;
    return Object.fromEntries(Object.keys(obj).sort().map((k) => [k, obj[k]]));
  });
}

export function planHash(data: unknown): string {
  return `sha256:${createHash('sha256').update(canonicalJson(data)).digest('hex')}`;
}

function isEmptyDocument(doc: Document.Parsed): boolean {
  return doc.contents === null || (isScalar(doc.contents) && doc.contents.value === null);
}

/** Validates the data of one document; lenient unresolved `${NAME}` values cannot fail it. */
function validate(data: unknown, unresolved: Set<string>, opts: LoadOptions): { plan?: Plan; issues: PlanIssue[] } {
  // A plan naming a router of another list has that list's traffic block: typed as Plan all the same.
  const schema = opts.routers ? (planSchemaFor(opts.routers) as unknown as typeof planSchema) : planSchema;
  const parsed = schema.safeParse(data);
  if (parsed.success) return { plan: parsed.data, issues: checkPlan(parsed.data, opts, data) };
  const issues = zodIssuesToPlanIssues(schema, parsed.error.issues, data);
  const tainted = (i: PlanIssue) => unresolved.has(JSON.stringify(i.path));
  if (unresolved.size === 0 || !issues.every(tainted)) return { issues: issues.filter((i) => !tainted(i)) };
  // Every error is about a value still holding an unset ${NAME} (lenient mode): its real
  // value is unknown here, so check the rest of the plan without it.
  const copy = structuredClone(data) as Record<string, unknown>;
  for (const i of issues) {
    const parent = valueAt(copy, i.path.slice(0, -1));
    if (parent && typeof parent === 'object') delete (parent as Record<string | number, unknown>)[i.path[i.path.length - 1]!];
  }
  const retry = schema.safeParse(copy);
  if (!retry.success) return { issues };
  // Checks must not complain about the values taken out (e.g. "no prometheus.address").
  const removed = issues.map((i) => i.path);
  const about = (i: PlanIssue) => removed.some((r) => i.path.length <= r.length && i.path.every((seg, k) => seg === r[k]));
  return { plan: retry.data, issues: checkPlan(retry.data, opts, copy).filter((i) => !about(i)) };
}

interface StructureProblem {
  offset: number;
  message: string;
}

/**
 * What the parser accepts but a plan cannot hold, found before the document is turned into
 * data: an alias without its anchor, more aliases than the limit, and a mapping key that is
 * itself a list or mapping (a plan's keys are names).
 */
function structureProblems(doc: Document.Parsed): StructureProblem[] {
  const out: StructureProblem[] = [];
  let aliases = 0;
  visit(doc, {
    Alias(_key, node) {
      aliases += 1;
      const offset = node.range?.[0] ?? 0;
      if (aliases === PLAN_LIMITS.aliases + 1) out.push({ offset, message: `more than ${PLAN_LIMITS.aliases} aliases in one document` });
      if (!node.resolve(doc)) out.push({ offset, message: `unresolved alias *${node.source}: no anchor &${node.source} before it in this document` });
      return out.length >= 10 ? visit.BREAK : undefined;
    },
    Pair(_key, pair) {
      if (isCollection(pair.key)) {
        const kind = isMap(pair.key) ? 'a mapping' : 'a list';
        out.push({ offset: pair.key.range?.[0] ?? 0, message: `expected a name as mapping key, got ${kind}` });
      }
      return out.length >= 10 ? visit.BREAK : undefined;
    },
  });
  return out;
}

function firstAliasOffset(doc: Document.Parsed): number {
  let offset = 0;
  visit(doc, {
    Alias(_key, node) {
      offset = node.range?.[0] ?? 0;
      return visit.BREAK;
    },
  });
  return offset;
}

/**
 * A copy of `plan` that shares no memory with the text it was parsed from, for as long as the
 * rollout runs. The YAML parser's strings are slices of the file's text, and V8 keeps a whole
 * string alive while any slice of it lives: every running rollout would hold its plan file's
 * text. JSON.parse also shares repeated short strings (metric, phase and field names) between
 * plans. The copy equals the plan in everything the schema checks (it refuses NaN and infinite
 * numbers); a key it passes through unread (a metadata label, say) holding `.inf` would read
 * as null.
 */
function detachedFromText(plan: Plan): Plan {
  return JSON.parse(JSON.stringify(plan)) as Plan;
}

/** Loads every document of `text`, reported as `file`. */
export function loadPlanText(text: string, file: string, opts: LoadOptions): LoadResult {
  const result: LoadResult = { plans: [], diagnostics: [] };
  const problem = preParseProblem(text);
  if (problem) return { plans: [], diagnostics: [{ file, ...problem, severity: 'error' }] };
  const lineCounter = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter, ...YAML_PARSE_OPTIONS });
  if (!Array.isArray(docs)) return result; // an empty stream
  const env = opts.env ?? process.env;
  const ids = new Map<string, number>();

  docs.forEach((doc, index) => {
    const root = doc.contents as Node | null;
    const diagnostics: Diagnostic[] = [];
    const toDiagnostic = (issue: PlanIssue): Diagnostic => ({
      file,
      ...locate(root, issue.path, text, lineCounter, issue),
      path: formatPath(issue.path),
      message: issue.message,
      severity: issue.severity,
    });
    // Only the first syntax error of a document: the ones after it are mostly its echoes.
    for (const e of [...doc.errors.slice(0, 1), ...doc.warnings]) {
      const { line, col } = lineCounter.linePos(e.pos[0]);
      const severity = doc.errors.includes(e) ? 'error' : 'warning';
      diagnostics.push({ file, line, col, path: '(yaml)', message: yamlErrorMessage(e, text), severity });
    }
    result.diagnostics.push(...diagnostics);
    if (hasErrors(diagnostics) || isEmptyDocument(doc)) return;

    const structure = structureProblems(doc);
    if (structure.length > 0) {
      for (const { offset, message } of structure) result.diagnostics.push({ file, ...lineCounter.linePos(offset), path: '(yaml)', message, severity: 'error' });
      return;
    }
    let raw: unknown;
    try {
      raw = doc.toJS({ maxAliasCount: PLAN_LIMITS.aliasExpansion });
    } catch (err) {
      // yaml refuses an alias expansion past maxAliasCount (a "billion laughs" document).
      const { line, col } = lineCounter.linePos(firstAliasOffset(doc));
      result.diagnostics.push({ file, line, col, path: '(yaml)', message: `aliases expand to too many nodes (${(err as Error).message})`, severity: 'error' });
      return;
    }
    if (!isMap(root) || raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
      result.diagnostics.push(toDiagnostic(error([], `expected a ${KIND} mapping, got ${describeValue(raw)}`)));
      return;
    }
    const kind = (raw as Record<string, unknown>).kind;
    if (kind !== KIND) {
      const found = kind === undefined ? 'no kind' : describeValue(kind);
      result.diagnostics.push(toDiagnostic(error(['kind'], `expected kind ${KIND}, got ${found}`)));
      return;
    }
    const expanded = expandEnv(raw, env, opts.envMode, opts.unread);
    const { plan, issues } = validate(expanded.value, expanded.unresolved, opts);
    const all = [...expanded.issues, ...issues].map(toDiagnostic).sort((a, b) => a.line - b.line || a.col - b.col);
    if (plan) {
      const id = rolloutId(plan);
      const prev = ids.get(id);
      if (prev !== undefined) {
        all.push(toDiagnostic(error(['metadata', 'name'], `duplicate rollout ${id}: document ${prev + 1} of this file has the same namespace/name`)));
      }
      ids.set(id, index);
    }
    result.diagnostics.push(...all);
    if (plan && !hasErrors(all)) result.plans.push({ plan: detachedFromText(plan), file, hash: planHash(expanded.value), document: index });
  });
  return result;
}

function readError(file: string, err: unknown): Diagnostic {
  const e = err as NodeJS.ErrnoException;
  const why =
    e.code === 'ENOENT' ? 'no such file or directory' : e.code === 'EACCES' ? 'permission denied' : e.code === 'EISDIR' ? 'is a directory' : (e.message ?? String(err));
  return { file, line: 0, col: 0, path: '(file)', message: `cannot read file: ${why}`, severity: 'error' };
}

/**
 * The text of a YAML input file (a plan, or a file `convert` reads), not read at all past the
 * size limit; a file too big or unreadable is one error diagnostic naming it.
 */
export async function readInputFile(file: string): Promise<{ text: string } | { diagnostic: Diagnostic }> {
  try {
    const tooBig = fileSizeProblem((await stat(file)).size);
    if (tooBig) return { diagnostic: { file, line: 1, col: 1, path: '(file)', message: tooBig, severity: 'error' } };
    return { text: await readFile(file, 'utf8') };
  } catch (err) {
    return { diagnostic: readError(file, err) };
  }
}

/** Loads one file; an unreadable file is one error diagnostic (line 0) naming it. */
export async function loadPlanFile(file: string, opts: LoadOptions): Promise<LoadResult> {
  const read = await readInputFile(file);
  if ('diagnostic' in read) return { plans: [], diagnostics: [read.diagnostic] };
  return loadPlanText(read.text, file, opts);
}

const PLAN_EXTENSIONS = new Set(['.yaml', '.yml']);

/** The plan files named by `paths`: files as given, directories' *.yaml / *.yml (not recursive), sorted. */
export async function planFiles(paths: readonly string[]): Promise<{ files: string[]; diagnostics: Diagnostic[] }> {
  const files: string[] = [];
  const diagnostics: Diagnostic[] = [];
  for (const p of paths) {
    try {
      if ((await stat(p)).isDirectory()) {
        const entries = await readdir(p, { withFileTypes: true });
        const names = entries.filter((e) => e.isFile() && PLAN_EXTENSIONS.has(path.extname(e.name))).map((e) => e.name);
        files.push(...names.sort().map((n) => path.join(p, n)));
      } else {
        files.push(p);
      }
    } catch (err) {
      diagnostics.push(readError(p, err));
    }
  }
  return { files, diagnostics };
}

/**
 * Loads files and directories (for `run`). Two plans with the same rollout identity
 * (namespace/name) across files are an error on the second.
 */
export async function loadPlans(paths: readonly string[], opts: LoadOptions): Promise<LoadResult> {
  const { files, diagnostics } = await planFiles(paths);
  const result: LoadResult = { plans: [], diagnostics };
  const ids = new Map<string, LoadedPlan>();
  for (const file of files) {
    const loaded = await loadPlanFile(file, opts);
    result.diagnostics.push(...loaded.diagnostics);
    for (const lp of loaded.plans) {
      const id = rolloutId(lp.plan);
      const prev = ids.get(id);
      if (prev) {
        result.diagnostics.push({
          file,
          line: 1,
          col: 1,
          path: 'metadata.name',
          message: `duplicate rollout ${id}: already defined in ${prev.file} (document ${prev.document + 1})`,
          severity: 'error',
        });
        continue;
      }
      ids.set(id, lp);
      result.plans.push(lp);
    }
  }
  return result;
}

/** A plan read from the Kubernetes API (a RolloutPlan object), with its problems. */
export interface LoadedObject {
  /** The plan when it has no error; `file` is the `source` given. */
  loaded: LoadedPlan | null;
  /** Problems, line and column 0 (an API object has no source text); `path` is the field. */
  diagnostics: Diagnostic[];
}

/**
 * Loads a RolloutPlan object as served by the API server (`source` names it in diagnostics,
 * e.g. `rolloutplan learning/analyzer`). Only apiVersion, kind, metadata.name/namespace and
 * spec count: the server's bookkeeping (resourceVersion, generation, managedFields, status,
 * annotations) neither fails validation nor changes the plan hash.
 */
export function loadPlanObject(obj: unknown, source: string, opts: Omit<LoadOptions, 'envMode'> & { envMode?: EnvMode } = {}): LoadedObject {
  const diag = (issue: PlanIssue): Diagnostic => ({ file: source, line: 0, col: 0, path: formatPath(issue.path), message: issue.message, severity: issue.severity });
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) {
    return { loaded: null, diagnostics: [diag(error([], `expected a ${KIND} object, got ${describeValue(obj)}`))] };
  }
  const o = obj as Record<string, unknown>;
  const meta = (o.metadata ?? {}) as Record<string, unknown>;
  const data: Record<string, unknown> = {
    apiVersion: o.apiVersion,
    kind: o.kind,
    metadata: { name: meta.name, ...(meta.namespace !== undefined ? { namespace: meta.namespace } : {}) },
    spec: o.spec,
  };
  const full: LoadOptions = { envMode: opts.envMode ?? 'strict', ...(opts.env ? { env: opts.env } : {}), ...(opts.prometheus ? { prometheus: opts.prometheus } : {}) };
  const expanded = expandEnv(data, full.env ?? process.env, full.envMode);
  const { plan, issues } = validate(expanded.value, expanded.unresolved, full);
  const diagnostics = [...expanded.issues, ...issues].map(diag);
  if (!plan || hasErrors(diagnostics)) return { loaded: null, diagnostics };
  return { loaded: { plan, file: source, hash: planHash(expanded.value), document: 0 }, diagnostics };
}

/**
 * Where `path` stands in document `document` of `text`: for problems found after a plan
 * loaded (e.g. by running its queries), reported at the same positions as the loader's.
 */
export function positionInText(text: string, document: number, path: PathSegment[]): { line: number; col: number } {
  const lineCounter = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter, prettyErrors: false, logLevel: 'silent' });
  const doc = Array.isArray(docs) ? docs[document] : undefined;
  if (!doc) return { line: 1, col: 1 };
  return locate(doc.contents as Node | null, path, text, lineCounter);
}
