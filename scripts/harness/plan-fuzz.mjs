#!/usr/bin/env node
/**
 * `npm run harness:fuzz [-- --trials N --seed S --cli-every K]`: plan fuzzing (default 10,000
 * generated and mutated plans) through `validate`, every K-th also through the CLI. Prints
 * progress and a JSON summary as the last line (trials, violations, slowest); exits 1 on any
 * violation. See src/devtools/plan-fuzz.ts; figures in docs/reliability.md.
 */
import { parseArgs } from 'node:util';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { fuzzPlans, seedFiles } from '../../dist/devtools/plan-fuzz.js';

const { values } = parseArgs({
  options: {
    trials: { type: 'string', default: '10000' },
    seed: { type: 'string', default: String(Date.now() % 100000) },
    'cli-every': { type: 'string', default: '100' },
  },
});
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const started = Date.now();
const report = await fuzzPlans({
  trials: Number(values.trials),
  seed: Number(values.seed),
  seeds: seedFiles(root),
  cliEvery: Number(values['cli-every']),
  mainJs: path.join(root, 'dist/main.js'),
  log: (line) => console.log(line),
});
for (const v of report.violations) console.log(`VIOLATION ${v}`);
console.log(
  JSON.stringify({
    harness: 'plan-fuzz',
    trials: report.trials,
    cliTrials: report.cliTrials,
    violations: report.violations.length,
    slowestMs: report.slowest.ms,
    slowestKind: report.slowest.kind,
    seed: report.seed,
    seconds: Math.round((Date.now() - started) / 1000),
    byKind: report.byKind,
  }),
);
process.exitCode = report.violations.length > 0 ? 1 : 0;
