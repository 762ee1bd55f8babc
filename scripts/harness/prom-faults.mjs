#!/usr/bin/env node
/**
 * `npm run harness:prom-faults [-- case ...]`: the Prometheus fault matrix against the build in
 * dist/ (src/devtools/prom-faults.ts). Prints per case the records during the fault, the log
 * line, the split and the recovery, then a JSON summary as the last line; exits 1 on any
 * violation.
 */
import { cpus } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { faultMatrix } from '../../dist/devtools/prom-faults.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const only = process.argv.slice(2);
const report = await faultMatrix({ mainJs: path.join(root, 'dist/main.js'), ...(only.length ? { cases: only } : {}), log: (l) => console.log(l) });
for (const c of report.cases) {
  console.log(`\n== ${c.case} (${c.source}): ${c.holds} holds, ${c.paused ? 'paused' : 'no pause'}, split ${c.splitDuringFault}% during the fault, ${c.recovered ? 'recovered' : 'NOT recovered'}`);
  for (const r of c.duringFault) console.log(`   record: ${r.slice(0, 300)}`);
  console.log(`   log: ${c.logLine.slice(0, 400)}`);
  for (const v of c.violations) console.log(`   VIOLATION ${v}`);
}
console.log(
  JSON.stringify({
    harness: 'prom-faults',
    date: new Date().toISOString(),
    machine: `${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}`,
    cases: report.cases.length,
    realPrometheus: report.cases.filter((c) => c.source === 'real Prometheus').length,
    advancedDuringFault: report.cases.filter((c) => c.violations.some((v) => v.startsWith('moved on evidence'))).length,
    recovered: report.cases.filter((c) => c.recovered).length,
    violations: report.violations.length,
    seconds: Math.round(report.durationMs / 1000),
  }),
);
process.exitCode = report.violations.length === 0 ? 0 : 1;
