// Benchmark: the heap a loaded plan keeps, as `rollgate run` loads them (PlanFiles over a
// directory of plan files shaped as in bench/scale.bench.mjs). Loads the directory several
// times, keeping every result, and reports the growth of the used heap (after full GCs) per
// plan; the first load is reported apart (it also compiles the loader's code).
//
//   npm run build && node --expose-gc bench/plan-memory.bench.mjs --plans 2000
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PlanFiles } from '../dist/standalone/plan-files.js';
import { createLogger } from '../dist/support/log.js';
import { planYaml, rolloutName } from './scale-plans.mjs';

if (typeof globalThis.gc !== 'function') {
  console.error('run with node --expose-gc');
  process.exit(2);
}
const i = process.argv.indexOf('--plans');
const N = i >= 0 ? Number(process.argv[i + 1]) : 1000;
const LOADS = 5;

const dir = mkdtempSync(path.join(tmpdir(), 'rollgate-plan-memory-'));
try {
  const plans = path.join(dir, 'plans');
  mkdirSync(plans);
  for (let k = 1; k <= N; k++) writeFileSync(path.join(plans, `${rolloutName(k)}.yaml`), planYaml(k, { routesDir: path.join(dir, 'routes'), prometheus: 'http://127.0.0.1:9090' }));
  const heap = () => {
    globalThis.gc();
    globalThis.gc();
    return process.memoryUsage().heapUsed;
  };
  const source = new PlanFiles([plans], { log: createLogger({ level: 'error' }) });
  const kept = [];
  const growth = [];
  let before = heap();
  for (let k = 0; k <= LOADS; k++) {
    const loaded = await source.load();
    if (loaded.plans.length !== N) throw new Error(`loaded ${loaded.plans.length} of ${N} plans: ${loaded.errors.slice(0, 3).join('; ')}`);
    kept.push(loaded);
    const after = heap();
    growth.push((after - before) / N);
    before = after;
  }
  const steady = growth.slice(1).sort((a, b) => a - b);
  const median = steady[Math.floor(steady.length / 2)];
  console.log(JSON.stringify({ bench: 'plan-memory', plans: N, firstLoadBytesPerPlan: Math.round(growth[0]), bytesPerPlan: Math.round(median), loads: LOADS }));
  console.log(`${N} plans: ${Math.round(median).toLocaleString('en-US')} bytes of heap per loaded plan (median of ${LOADS} loads; the first load, with code compilation: ${Math.round(growth[0]).toLocaleString('en-US')})`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
