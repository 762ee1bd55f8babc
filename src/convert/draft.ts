/**
 * The plan a converter builds, and its YAML: plain data in the order a person reads a plan,
 * plus notes, each a `#` comment placed above the field it is about (the yaml package's
 * Document API), for everything that has no exact equivalent in rollgate.
 */
import { Document, isMap, isScalar, isSeq, Scalar, type Node } from 'yaml';
import type { PathSegment } from '../plan/diagnostic.js';

export interface Note {
  /** The field the note is about; `[]` is the document itself (its header). */
  path: PathSegment[];
  text: string;
}

export class PlanDraft {
  readonly notes: Note[] = [];

  constructor(
    /** What was converted, for the header comment and the command's summary. */
    readonly origin: string,
    readonly plan: Record<string, unknown>,
  ) {}

  /** A comment above the field at `path` (a mapping key or a list item). Said once. */
  note(path: PathSegment[], text: string): void {
    if (!this.notes.some((n) => n.text === text && samePath(n.path, path))) this.notes.push({ path, text });
  }
}

const samePath = (a: readonly PathSegment[], b: readonly PathSegment[]) => a.length === b.length && a.every((s, i) => s === b[i]);

const COMMENT_WIDTH = 96;

/** `text` as comment lines of at most COMMENT_WIDTH characters, each with the space after `#`. */
function commentLines(text: string): string[] {
  const out: string[] = [];
  for (const para of text.split('\n')) {
    let line = '';
    for (const word of para.split(' ')) {
      if (line && line.length + 1 + word.length > COMMENT_WIDTH) {
        out.push(line);
        line = word;
      } else line = line ? `${line} ${word}` : word;
    }
    out.push(line);
  }
  return out.map((l) => ` ${l}`);
}

function addComment(node: Node | Scalar, lines: string[]): void {
  const text = lines.join('\n');
  node.commentBefore = node.commentBefore ? `${node.commentBefore}\n${text}` : text;
}

/** Lists of plain values (checkpoints, metric names) and `{every, until}` blocks in flow style; multi-line text as `|` blocks. */
function styleNodes(node: unknown): void {
  if (isSeq(node)) {
    if (node.items.length > 0 && node.items.every((i) => isScalar(i))) node.flow = true;
    // `{every, until}` blocks of a checkpoint list, one line each.
    for (const item of node.items) {
      if (isMap(item) && item.items.length === 2 && item.items.every((p) => isScalar(p.key) && (p.key.value === 'every' || p.key.value === 'until'))) item.flow = true;
    }
    node.items.forEach(styleNodes);
  } else if (isMap(node)) {
    for (const pair of node.items) styleNodes(pair.value);
  } else if (isScalar(node) && typeof node.value === 'string' && node.value.includes('\n')) {
    node.type = Scalar.BLOCK_LITERAL;
  }
}

/** The schema file name the modeline names (written by `rollgate schema > rolloutplan.schema.json`). */
const SCHEMA_FILE = 'rolloutplan.schema.json';

/** One draft as a YAML document with its notes as comments. */
export function renderDraft(draft: PlanDraft): string {
  const doc = new Document(draft.plan);
  styleNodes(doc.contents);
  const header = [`Converted by rollgate convert from ${draft.origin}.`, 'Each # comment below marks something without an exact equivalent in rollgate: read them before use.'];
  // The editor modeline first (docs/plan-reference.md, "Editor support"): `rollgate schema > rolloutplan.schema.json` beside the plan.
  doc.commentBefore = [` yaml-language-server: $schema=./${SCHEMA_FILE}`, ...commentLines(header.join('\n'))].join('\n');
  for (const note of draft.notes) {
    const lines = commentLines(note.text);
    if (note.path.length === 0) {
      doc.commentBefore = `${doc.commentBefore}\n${lines.join('\n')}`;
      continue;
    }
    const parent = doc.getIn(note.path.slice(0, -1), true);
    const last = note.path[note.path.length - 1]!;
    if (isMap(parent)) {
      const pair = parent.items.find((p) => isScalar(p.key) && p.key.value === last);
      if (pair && isScalar(pair.key)) addComment(pair.key, lines);
      else throw new Error(`note at a missing field ${note.path.join('.')}`);
    } else if (isSeq(parent) && typeof last === 'number' && parent.items[last]) {
      addComment(parent.items[last] as Node, lines);
    } else {
      throw new Error(`note at a missing field ${note.path.join('.')}`);
    }
  }
  return doc.toString({ lineWidth: 0, flowCollectionPadding: false });
}

/** Several drafts as one multi-document YAML text. */
export function renderDrafts(drafts: readonly PlanDraft[]): string {
  return drafts.map(renderDraft).join('---\n');
}
