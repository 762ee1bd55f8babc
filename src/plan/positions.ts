/**
 * Maps a field path (`['spec', 'metrics', 1, 'max']`) to a line and column of the YAML source,
 * so that every problem found in the parsed data points back into the file.
 */
import { isMap, isNode, isPair, isScalar, isSeq, type LineCounter, type Node } from 'yaml';
import type { PathSegment } from './diagnostic.js';

export interface Position {
  line: number;
  col: number;
}

interface Step {
  node: Node;
  /** The key node under which `node` is the value, if any. */
  key: Node | null;
}

function keyMatches(key: unknown, seg: PathSegment): boolean {
  if (isScalar(key)) return String(key.value) === String(seg);
  return false;
}

/** The chain of nodes along `path`, as far as the document has them. */
function walk(root: Node, path: readonly PathSegment[]): { steps: Step[]; complete: boolean } {
  const steps: Step[] = [{ node: root, key: null }];
  let cur: Node = root;
  for (const seg of path) {
    let next: Step | null = null;
    if (isMap(cur)) {
      const pair = cur.items.find((p) => isPair(p) && keyMatches(p.key, seg));
      if (pair) {
        const key = isNode(pair.key) ? pair.key : null;
        // `key:` with nothing after it has no value node: point at the key.
        next = isNode(pair.value) ? { node: pair.value, key } : key ? { node: key, key } : null;
      }
    } else if (isSeq(cur) && typeof seg === 'number') {
      const item = cur.items[seg];
      if (isNode(item)) next = { node: item, key: null };
    }
    if (!next) return { steps, complete: false };
    steps.push(next);
    cur = next.node;
  }
  return { steps, complete: true };
}

export interface LocateOptions {
  atKey?: boolean;
  needle?: string;
  /** An offset inside the node's string value `text` (e.g. where a query fails to parse). */
  within?: { text: string; offset: number };
}

/**
 * The source offset of character `offset` of a scalar's value `text` whose source is
 * `source[start, end)`: each line of the value is looked for, in order, in the source (a
 * block scalar, or a plain or quoted one-line value without escapes, holds its lines
 * verbatim). Null when the line holding `offset` is not there as written (folded lines,
 * escapes, `${NAME}` expanded).
 */
export function valueOffsetInSource(source: string, start: number, end: number, text: string, offset: number): number | null {
  let cursor = start;
  let lineStart = 0;
  for (const line of text.split('\n')) {
    const lineEnd = lineStart + line.length;
    const found = line === '' ? -1 : source.indexOf(line, cursor);
    const inside = found >= 0 && found + line.length <= end;
    if (offset >= lineStart && offset <= lineEnd) return inside ? found + (offset - lineStart) : null;
    if (inside) cursor = found + line.length;
    lineStart = lineEnd + 1;
  }
  return null;
}

/**
 * The source offset for `path`. A path that leads to a missing key points at the parent
 * mapping (at its own key when it has one, so `traffic:` rather than its first entry).
 * With `needle`, the first occurrence of that text inside the node's source, if any.
 */
export function locateOffset(root: Node | null, path: readonly PathSegment[], source: string, opts: LocateOptions = {}): number {
  if (!root) return 0;
  const { steps, complete } = walk(root, path);
  const last = steps[steps.length - 1]!;
  if (!complete) return (last.key ?? last.node).range?.[0] ?? 0;
  if (opts.atKey && last.key) return last.key.range?.[0] ?? 0;
  const range = last.node.range;
  if (!range) return 0;
  if (opts.within) {
    const at = valueOffsetInSource(source, range[0], range[1], opts.within.text, opts.within.offset);
    if (at !== null) return at;
  }
  if (opts.needle) {
    const found = source.slice(range[0], range[1]).indexOf(opts.needle);
    if (found >= 0) return range[0] + found;
  }
  return range[0];
}

export function locate(
  root: Node | null,
  path: readonly PathSegment[],
  source: string,
  lineCounter: LineCounter,
  opts: LocateOptions = {},
): Position {
  const { line, col } = lineCounter.linePos(locateOffset(root, path, source, opts));
  return { line, col };
}
