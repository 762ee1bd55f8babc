#!/usr/bin/env node
// Writes the files generated from the plan's zod schema (src/plan/schema.ts and the routers'
// config blocks in src/routers/), from the compiled generators in dist/ (build first):
//   crd     deploy/base/crd.yaml               (dist/cluster/crd.js)       npm run gen:crd
//   schema  schema/rolloutplan.schema.json     (dist/plan/json-schema.js)  npm run gen:schema
// Usage: node scripts/gen-files.mjs crd|schema [--check]. Run it after any change to the plan's
// schema; test/unit/kube-crd.test.ts and test/unit/plan-json-schema.test.ts fail until the files
// are regenerated. `--check` writes nothing and exits 1 when the committed file differs.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const targets = {
  crd: { file: 'deploy/base/crd.yaml', module: '../dist/cluster/crd.js', render: (m) => m.crdYaml() },
  schema: { file: 'schema/rolloutplan.schema.json', module: '../dist/plan/json-schema.js', render: (m) => m.planJsonSchemaText() },
};

const name = process.argv[2];
const target = targets[name];
if (!target) {
  console.error(`usage: node scripts/gen-files.mjs ${Object.keys(targets).join('|')} [--check]`);
  process.exit(2);
}
const root = fileURLToPath(new URL('..', import.meta.url));
const path = `${root}${target.file}`;
const text = target.render(await import(new URL(target.module, import.meta.url).href));

let current = null;
try {
  current = readFileSync(path, 'utf8');
} catch {
  // first generation
}

if (process.argv.includes('--check')) {
  if (current !== text) {
    console.error(`${target.file} is out of date with src/plan/schema.ts: run \`npm run gen:${name}\``);
    process.exit(1);
  }
  console.log(`${target.file} is up to date`);
} else if (current === text) {
  console.log(`${target.file} is up to date`);
} else {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
  console.log(`wrote ${target.file} (${Buffer.byteLength(text)} bytes)`);
}
