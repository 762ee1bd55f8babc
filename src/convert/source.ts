/**
 * The input of `rollgate convert`: YAML files of Kubernetes objects (Argo Rollouts, Flagger
 * and the objects they refer to), read with positions, so that every problem names its file,
 * line, column and field. Field readers check types as they go and throw a ConvertError at the
 * field when the input is not what the source project accepts either.
 */
import { LineCounter, parseAllDocuments, type Node } from 'yaml';
import { describeValue, formatPath, valueAt, type Diagnostic, type PathSegment } from '../plan/diagnostic.js';
import { PLAN_LIMITS, preParseProblem, YAML_PARSE_OPTIONS } from '../plan/limits.js';
import { locate } from '../plan/positions.js';

/** One YAML document of an input file. */
export interface SourceDocument {
  file: string;
  /** 0-based index of the document in its file. */
  index: number;
  data: unknown;
  root: Node | null;
  text: string;
  lineCounter: LineCounter;
}

/** A problem of the input, at its position (exit status 1). */
export class ConvertError extends Error {
  constructor(readonly diagnostic: Diagnostic) {
    super(diagnostic.message);
    this.name = 'ConvertError';
  }
}

/** A ConvertError at `path` of `doc`. */
export function errorAt(doc: SourceDocument, path: readonly PathSegment[], message: string): ConvertError {
  const { line, col } = locate(doc.root, path, doc.text, doc.lineCounter);
  return new ConvertError({ file: doc.file, line, col, path: formatPath(path), message, severity: 'error' });
}

/** `file:line` of `path` in `doc`, for comments that point back into the input. */
export function placeOf(doc: SourceDocument, path: readonly PathSegment[]): string {
  return `${doc.file}:${locate(doc.root, path, doc.text, doc.lineCounter).line}`;
}

/**
 * The documents of one file's text. Bounded like plan files (docs/plan-reference.md,
 * "Limits"): at most 1 MiB, flow collections nested at most 64 deep, aliases expanding to at
 * most 1,000 nodes. YAML errors throw at their position.
 */
export function readSourceText(text: string, file: string): SourceDocument[] {
  const problem = preParseProblem(text);
  if (problem) throw new ConvertError({ file, ...problem, severity: 'error' });
  const lineCounter = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter, ...YAML_PARSE_OPTIONS });
  if (!Array.isArray(docs)) return [];
  return docs.map((doc, index) => {
    const first = doc.errors[0];
    if (first) throw new ConvertError({ file, ...lineCounter.linePos(first.pos[0]), path: '(yaml)', message: first.message, severity: 'error' });
    let data: unknown;
    try {
      data = doc.toJS({ maxAliasCount: PLAN_LIMITS.aliasExpansion });
    } catch (err) {
      throw new ConvertError({ file, line: 1, col: 1, path: '(yaml)', message: `aliases expand to too many nodes (${(err as Error).message})`, severity: 'error' });
    }
    return { file, index, data, root: doc.contents as Node | null, text, lineCounter };
  });
}

/** A typed view of one object of a document, reading fields by path. */
export class Fields {
  constructor(
    readonly doc: SourceDocument,
    readonly path: readonly PathSegment[] = [],
  ) {}

  /** The raw value at this view's path plus `sub`. */
  raw(...sub: PathSegment[]): unknown {
    return valueAt(this.doc.data, [...this.path, ...sub]);
  }

  at(...sub: PathSegment[]): Fields {
    return new Fields(this.doc, [...this.path, ...sub]);
  }

  has(...sub: PathSegment[]): boolean {
    const v = this.raw(...sub);
    return v !== undefined && v !== null;
  }

  fail(sub: PathSegment[], message: string): never {
    throw errorAt(this.doc, [...this.path, ...sub], message);
  }

  place(...sub: PathSegment[]): string {
    return placeOf(this.doc, [...this.path, ...sub]);
  }

  /** The keys of the mapping here (none when absent). */
  keys(...sub: PathSegment[]): string[] {
    const v = this.raw(...sub);
    if (v === undefined || v === null) return [];
    if (typeof v !== 'object' || Array.isArray(v)) this.fail(sub, `expected a mapping, got ${describeValue(v)}`);
    return Object.keys(v as object);
  }

  /** A mapping view, or undefined when absent. */
  map(...sub: PathSegment[]): Fields | undefined {
    const v = this.raw(...sub);
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'object' || Array.isArray(v)) this.fail(sub, `expected a mapping, got ${describeValue(v)}`);
    return this.at(...sub);
  }

  /** The items of a list as views (none when absent). */
  list(...sub: PathSegment[]): Fields[] {
    const v = this.raw(...sub);
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v)) this.fail(sub, `expected a list, got ${describeValue(v)}`);
    return v.map((_, i) => this.at(...sub, i));
  }

  str(...sub: PathSegment[]): string | undefined {
    const v = this.raw(...sub);
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'string') this.fail(sub, `expected a string, got ${describeValue(v)}`);
    return v;
  }

  requiredStr(...sub: PathSegment[]): string {
    const v = this.str(...sub);
    if (v === undefined || v === '') this.fail(sub, 'expected a non-empty string, got nothing');
    return v;
  }

  num(...sub: PathSegment[]): number | undefined {
    const v = this.raw(...sub);
    if (v === undefined || v === null) return undefined;
    if (typeof v === 'string' && /^\d+(\.\d+)?$/.test(v)) return Number(v);
    if (typeof v !== 'number' || !Number.isFinite(v)) this.fail(sub, `expected a number, got ${describeValue(v)}`);
    return v;
  }

  bool(...sub: PathSegment[]): boolean | undefined {
    const v = this.raw(...sub);
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'boolean') this.fail(sub, `expected true or false, got ${describeValue(v)}`);
    return v;
  }
}
