/**
 * The layer order of docs/architecture.md ("## Layers") holds in the code: every import in src/
 * goes to the same folder or to a folder of a lower rank, never outside src/, and files import
 * no cycle. A new folder must be given a rank in the doc before it can be imported at all.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { importCycles, importEdges, layerOf, layerRanks, ROOT, sourceFiles, SRC, type ImportEdge } from '../helpers/import-graph.js';

/** Imports against the order, as `from -> to`: the edges that break the rule. */
function violations(edges: readonly ImportEdge[], ranks: ReadonlyMap<string, number>): string[] {
  const out: string[] = [];
  for (const e of edges) {
    const from = layerOf(e.from);
    const to = layerOf(e.to);
    if (e.to.startsWith('..')) {
      out.push(`${e.from} -> ${e.to} (outside src/)`);
      continue;
    }
    if (from === to) continue;
    const rf = ranks.get(from);
    const rt = ranks.get(to);
    if (rf === undefined || rt === undefined) {
      out.push(`${e.from} -> ${e.to} (${rf === undefined ? from : to} has no rank in docs/architecture.md)`);
    } else if (rt >= rf) {
      out.push(`${e.from} -> ${e.to} (${from} is rank ${rf}, ${to} is rank ${rt})`);
    }
  }
  return out;
}

/**
 * Where the composition root's work is done outside it: a file that builds a `KubeClient` or a
 * router of the registry, as `file: what`. Only `wiring/` may (the CLI calls it).
 */
function compositionViolations(src = SRC): string[] {
  const builders: Array<[RegExp, string]> = [
    [/\bnew\s+KubeClient\s*\(/, 'new KubeClient('],
    [/(?<!function\s+)\bcreateRouter\s*\(/, 'createRouter('],
  ];
  const out: string[] = [];
  for (const file of sourceFiles(src)) {
    const rel = path.relative(src, file);
    if (layerOf(rel) === 'wiring') continue;
    const text = readFileSync(file, 'utf8');
    for (const [re, what] of builders) if (re.test(text)) out.push(`${rel}: ${what}`);
  }
  return out;
}

/** A temporary src/-like tree of the given files (path -> text), for testing the checks themselves. */
function toyTree(prefix: string, files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    writeFileSync(path.join(dir, file), text);
  }
  return dir;
}

describe('layers', () => {
  const ranks = layerRanks();
  const edges = importEdges();

  it('docs/architecture.md gives every folder of src/ a rank', () => {
    const folders = [...new Set(sourceFiles().map((f) => layerOf(path.relative(SRC, f))))].sort();
    expect(folders.filter((f) => !ranks.has(f))).toEqual([]);
    expect(ranks.get('core')).toBeLessThan(ranks.get('engine')!);
  });

  it('no import in src/ runs against the layer order', () => {
    expect(violations(edges, ranks)).toEqual([]);
  });

  it('only the composition root (src/wiring/) builds the KubeClient and the routers of the registry', () => {
    expect(compositionViolations()).toEqual([]);
  });

  it('the composition check catches a KubeClient or a router built outside wiring/', () => {
    const dir = toyTree('rollgate-wiring-', {
      'routers/registry.ts': 'export function createRouter(plan: unknown) {\n  return plan;\n}\n',
      'standalone/host.ts': "const kube = new KubeClient(loadKubeConfig());\n",
      'cluster/host.ts': "const router = createRouter(plan, { log });\n",
      'wiring/compose.ts': "const kube = new KubeClient(kc);\nconst router = createRouter (plan, { log, kube });\n",
    });
    expect(compositionViolations(dir)).toEqual(['cluster/host.ts: createRouter(', 'standalone/host.ts: new KubeClient(']);
  });

  it('no import cycle between files of src/', () => {
    expect(importCycles(edges)).toEqual([]);
  });

  it('the check catches an upward import, a peer import, an unranked folder and a cycle', () => {
    const dir = toyTree('rollgate-layers-', {
      'core/a.ts': "import { b } from '../engine/b.js';\nexport const a = 1;\n",
      'engine/b.ts': "import type { A } from '../core/a.js';\nexport const b = 2;\n",
      'standalone/c.ts': "export { d } from '../cluster/d.js';\n",
      'cluster/d.ts': "export const d = await import('../extra/e.js');\n",
      'extra/e.ts': "import '../../outside.js';\n",
    });
    const toy = new Map([
      ['core', 0],
      ['engine', 1],
      ['standalone', 2],
      ['cluster', 2],
    ]);
    const found = violations(importEdges(dir), toy);
    expect(found).toEqual([
      'cluster/d.ts -> extra/e.ts (extra has no rank in docs/architecture.md)',
      'core/a.ts -> engine/b.ts (core is rank 0, engine is rank 1)',
      'extra/e.ts -> ../outside.ts (outside src/)',
      'standalone/c.ts -> cluster/d.ts (standalone is rank 2, cluster is rank 2)',
    ]);
    expect(importCycles(importEdges(dir))).toEqual([['core/a.ts', 'engine/b.ts']]);
  });
});

/** Every file of the repository (relative, `/`-separated), without node_modules, dist/ and dot entries. */
function repositoryFiles(dir = ''): string[] {
  const out: string[] = [];
  for (const name of readdirSync(path.join(ROOT, dir))) {
    if (name === 'node_modules' || name === 'dist' || name.startsWith('.')) continue;
    const rel = dir ? `${dir}/${name}` : name;
    if (statSync(path.join(ROOT, rel)).isDirectory()) out.push(...repositoryFiles(rel));
    else out.push(rel);
  }
  return out;
}

const TOP_FOLDERS = ['src', 'test', 'scripts', 'bench', 'config', 'deploy', 'docs'];

/**
 * The source paths a document names that match no file, as `doc:line: path`. A path is a
 * `.ts`/`.mjs` file (`src/engine/decide.ts`, `engine/decide.ts` = under src/, `decide*.ts` as a
 * glob, a bare `decide.ts` anywhere) or a folder written `src/engine/`.
 */
function missingPaths(doc: string, text: string, files: readonly string[]): string[] {
  const out: string[] = [];
  const ref = /(?<![\w./-])((?:[\w.*-]+\/)*[\w.*-]+\.(?:ts|mjs)|src\/(?:[\w.-]+\/)*)(?![\w/-])/g;
  for (const m of text.matchAll(ref)) {
    const named = m[1]!;
    const top = named.split('/')[0]!;
    const rel = TOP_FOLDERS.includes(top) || !named.includes('/') ? named : `src/${named}`;
    const glob = rel.replace(/\./g, '\\.').replace(/\*/g, '[^/]*');
    // A folder must hold a file; a file with a folder is matched from the root, a bare name anywhere.
    const pattern = new RegExp(rel.endsWith('/') ? `^${glob}` : `(^|/)${glob}$`);
    if (!files.some((f) => pattern.test(f))) out.push(`${doc}:${text.slice(0, m.index).split('\n').length}: ${named}`);
  }
  return out;
}

describe('the documents name files that exist', () => {
  const docs = [...readdirSync(path.join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`), 'README.md', 'bench/README.md'];

  it('every source path in docs/*.md, README.md and bench/README.md exists', () => {
    const files = repositoryFiles();
    expect(docs.flatMap((doc) => missingPaths(doc, readFileSync(path.join(ROOT, doc), 'utf8'), files))).toEqual([]);
  });

  it('the check catches a moved file, a folder, a glob and a bare name', () => {
    const files = ['src/engine/decide.ts', 'src/engine/decide-guard.ts', 'src/core/record.ts', 'test/unit/x.test.ts'];
    const text = [
      'The engine (`src/engine/decide.ts`, engine/decide-guard.ts, `engine/decide*.ts`) writes `record.ts`;',
      'see test/unit/x.test.ts and src/core/ and `src/engine/`.',
      'Stale: `controller/decide.ts`, src/controller/, `judge.ts`, `src/engine/apply*.ts`.',
    ].join('\n');
    expect(missingPaths('d.md', text, files)).toEqual(['d.md:3: controller/decide.ts', 'd.md:3: src/controller/', 'd.md:3: judge.ts', 'd.md:3: src/engine/apply*.ts']);
  });
});
