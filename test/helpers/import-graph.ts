/**
 * The import graph of src/, read with the TypeScript scanner (static imports, `export ... from`,
 * `import()` and `import type` alike), and the layer order written in docs/architecture.md.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

export const ROOT = path.resolve(import.meta.dirname, '../..');
export const SRC = path.join(ROOT, 'src');

export interface ImportEdge {
  /** Importing file, relative to src/ (`engine/rollout.ts`). */
  from: string;
  /** Imported file, relative to src/ (`core/router.ts`); outside src/ it starts with `../`. */
  to: string;
}

export function sourceFiles(dir = SRC): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) out.push(...sourceFiles(p));
    else if (name.endsWith('.ts')) out.push(p);
  }
  return out.sort();
}

/** Every relative import of every file under `src`, as files relative to `src`. */
export function importEdges(src = SRC): ImportEdge[] {
  const edges: ImportEdge[] = [];
  for (const file of sourceFiles(src)) {
    const info = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
    for (const ref of info.importedFiles) {
      if (!ref.fileName.startsWith('.')) continue;
      const target = path.resolve(path.dirname(file), ref.fileName).replace(/\.js$/, '.ts');
      edges.push({ from: path.relative(src, file), to: path.relative(src, target) });
    }
  }
  return edges;
}

/** The layer of a file: its top folder under src/, or `.` for files at src/'s root. */
export function layerOf(file: string): string {
  const parts = file.split(path.sep);
  return parts.length > 1 ? parts[0]! : '.';
}

/**
 * The layer order from the `## Layers` table of docs/architecture.md: rows `| rank | folder/ |`,
 * lowest rank first. Folders of one rank are peers.
 */
export function layerRanks(doc = path.join(ROOT, 'docs/architecture.md')): Map<string, number> {
  const text = readFileSync(doc, 'utf8');
  const section = text.split(/^## Layers\b/m)[1]?.split(/^## /m)[0];
  if (!section) throw new Error(`${doc}: no "## Layers" section`);
  const ranks = new Map<string, number>();
  for (const line of section.split('\n')) {
    const m = /^\|\s*(\d+)\s*\|([^|]+)\|/.exec(line);
    if (!m) continue;
    for (const cell of m[2]!.split(',')) {
      const name = cell.trim().replace(/`/g, '').replace(/\/$/, '');
      const folder = name === 'main.ts' ? '.' : name;
      ranks.set(folder, Number(m[1]));
    }
  }
  return ranks;
}

/** Import cycles between files, each as the list of files around it (Tarjan's SCCs of size > 1). */
export function importCycles(edges: readonly ImportEdge[]): string[][] {
  const next = new Map<string, string[]>();
  for (const e of edges) next.set(e.from, [...(next.get(e.from) ?? []), e.to]);
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string): void => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    on.add(v);
    for (const w of next.get(v) ?? []) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        on.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1) out.push(scc.sort());
    }
  };
  for (const v of next.keys()) if (!idx.has(v)) visit(v);
  return out;
}
