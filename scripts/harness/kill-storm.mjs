#!/usr/bin/env node
/**
 * `npm run harness:kill-storm [-- --kills N --parallel P --seed S --nginx-share F --main FILE]`: the full
 * kill storm (default 220 SIGKILLs) against the build in dist/, with a real Prometheus. Prints
 * one line per trial and a JSON summary as the last line; exits 1 on any invariant violation.
 * See src/devtools/kill-storm.ts for what is checked, docs/reliability.md for the figures.
 */
import { parseArgs } from 'node:util';
import { cpus } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { killStorm } from '../../dist/devtools/kill-storm.js';
import { startPrometheus } from '../../dist/devtools/local-prometheus.js';

const { values } = parseArgs({
  options: {
    kills: { type: 'string', default: '220' },
    parallel: { type: 'string', default: '3' },
    seed: { type: 'string', default: String(Date.now() % 100000) },
    'nginx-share': { type: 'string', default: '0.25' },
    // The CLI under test; default dist/main.js of this checkout.
    main: { type: 'string' },
  },
});
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const prom = await startPrometheus();
let report;
try {
  report = await killStorm({
    kills: Number(values.kills),
    parallel: Number(values.parallel),
    seed: Number(values.seed),
    nginxShare: Number(values['nginx-share']),
    mainJs: values.main ? path.resolve(values.main) : path.join(root, 'dist/main.js'),
    prometheus: prom.url,
    log: (line) => console.log(line),
  });
} finally {
  await prom.stop();
}
for (const v of report.violations) console.log(`VIOLATION ${v}`);
console.log(
  JSON.stringify({
    harness: 'kill-storm',
    date: new Date().toISOString(),
    machine: `${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}`,
    seed: Number(values.seed),
    trials: report.trials.length,
    nginxTrials: report.trials.filter((t) => t.router !== 'file').length,
    kills: report.kills,
    killsByMode: report.killsByMode,
    killsDuringRollback: report.killsDuringRollback,
    killsBeforeApply: report.killsBeforeApply,
    restarts: report.restarts,
    checks: report.checks,
    violations: report.violations.length,
    seconds: Math.round(report.durationMs / 1000),
  }),
);
process.exitCode = report.violations.length === 0 ? 0 : 1;
