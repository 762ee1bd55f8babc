#!/usr/bin/env node
// Writes schema/rolloutplan.schema.json (the JSON Schema of RolloutPlan files, for editors) from
// the compiled generator (dist/plan/json-schema.js), which renders the plan's zod schema. Run it
// as `npm run gen:schema` (build first) after any change to src/plan/schema.ts or to a router's
// config block (src/routers/); test/unit/plan-json-schema.test.ts fails until it is regenerated.
// `--check` writes nothing and exits 1 when the committed file differs.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const target = `${root}schema/rolloutplan.schema.json`;
const { planJsonSchemaText } = await import(new URL('../dist/plan/json-schema.js', import.meta.url).href);
const text = planJsonSchemaText();

let current = null;
try {
  current = readFileSync(target, 'utf8');
} catch {
  // first generation
}

if (process.argv.includes('--check')) {
  if (current !== text) {
    console.error('schema/rolloutplan.schema.json is out of date with src/plan/schema.ts: run `npm run gen:schema`');
    process.exit(1);
  }
  console.log('schema/rolloutplan.schema.json is up to date');
} else if (current === text) {
  console.log('schema/rolloutplan.schema.json is up to date');
} else {
  mkdirSync(`${root}schema`, { recursive: true });
  writeFileSync(target, text);
  console.log(`wrote schema/rolloutplan.schema.json (${Buffer.byteLength(text)} bytes)`);
}
