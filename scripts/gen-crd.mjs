#!/usr/bin/env node
// Writes deploy/base/crd.yaml from the compiled CRD generator (dist/cluster/crd.js), which builds
// it from the plan's zod schema. Run it as `npm run gen:crd` (build first) after any change to
// src/plan/schema.ts or to a router's config block (src/routers/); test/unit/kube-crd.test.ts
// fails until the file is regenerated.
// `--check` writes nothing and exits 1 when the committed file differs.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const target = `${root}deploy/base/crd.yaml`;
const { crdYaml } = await import(new URL('../dist/cluster/crd.js', import.meta.url).href);
const text = crdYaml();

let current = null;
try {
  current = readFileSync(target, 'utf8');
} catch {
  // first generation
}

if (process.argv.includes('--check')) {
  if (current !== text) {
    console.error('deploy/base/crd.yaml is out of date with src/plan/schema.ts: run `npm run gen:crd`');
    process.exit(1);
  }
  console.log('deploy/base/crd.yaml is up to date');
} else if (current === text) {
  console.log('deploy/base/crd.yaml is up to date');
} else {
  writeFileSync(target, text);
  console.log(`wrote deploy/base/crd.yaml (${Buffer.byteLength(text)} bytes)`);
}
