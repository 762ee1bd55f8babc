// Benchmark: where each judge wins (analysis.md section 5, docs/choosing-a-judge.md). The grid
// of src/devtools/judge-grid.ts (base error rate x canary traffic x split x regression or hard
// case), each cell judged in seeded runs by a fixed threshold, a relative bound, the sequential
// test and Mann-Whitney, through the controller's own judging and decision code
// (src/devtools/judge-run.ts) on generated histories (src/devtools/judge-histories.ts) served
// by an in-memory metrics provider. Cells are handed to worker threads one at a time.
// Prints the per-cell table and the summary (Markdown), the targets of issue 10, the wall and
// CPU time. `--out FILE` appends each cell's result to FILE (JSON lines) as it is done, so a
// run cut short keeps its cells; `--tables FILE` prints the tables of such a file and exits.
//
//   npm run build && nice -n 10 node bench/judges.bench.mjs [--runs 200] [--workers 2]
//       [--cells REGEX] [--judges fixed,relative,sequential,mann-whitney]
//       [--sequential-tolerance 0.1] [--out FILE]
//   node bench/judges.bench.mjs --tables FILE
import { appendFileSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { DEFAULT_SETTINGS, judgeGrid, runCell } from '../dist/devtools/judge-grid.js';
import { resultsTable, summaryTable, targetsReport } from '../dist/devtools/judge-table.js';

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
}

function printTables(results, judges) {
  console.log(`## Per cell\n\n${resultsTable(results, judges)}\n`);
  console.log(`## Summary (cells of the same base rate, traffic and case, all splits together)\n\n${summaryTable(results, judges)}\n`);
  console.log(`## Targets\n\n${targetsReport(results)}\n`);
}

const recorded = isMainThread ? arg('tables', null) : null;
if (recorded) {
  const order = new Map(judgeGrid().map((c, i) => [c.id, i]));
  const results = readFileSync(recorded, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line));
  results.sort((a, b) => order.get(a.id) - order.get(b.id));
  printTables(results, Object.keys(results[0].judges));
} else if (isMainThread) {
  const runs = Number(arg('runs', '200'));
  const workers = Number(arg('workers', '2'));
  const filter = new RegExp(arg('cells', '.'));
  const settings = {
    judges: arg('judges', DEFAULT_SETTINGS.judges.join(',')).split(','),
    sequentialTolerance: Number(arg('sequential-tolerance', String(DEFAULT_SETTINGS.sequentialTolerance))),
  };
  const out = arg('out', null);
  const cells = judgeGrid().filter((c) => filter.test(c.id));
  const started = performance.now();
  const cpuBefore = process.cpuUsage();
  console.error(`${cells.length} cells x ${runs} runs, ${workers} workers, judges ${settings.judges.join(', ')}, sequential tolerance ${settings.sequentialTolerance}`);

  const results = new Array(cells.length);
  let next = 0;
  let done = 0;
  await Promise.all(
    Array.from({ length: Math.min(workers, cells.length) }, () => {
      const w = new Worker(new URL(import.meta.url), { workerData: { runs, settings } });
      return new Promise((resolve, reject) => {
        const hand = () => {
          if (next >= cells.length) return void w.terminate().then(resolve);
          const i = next++;
          w.postMessage({ i, cell: cells[i] });
        };
        w.on('message', ({ i, result }) => {
          results[i] = result;
          if (out) appendFileSync(out, `${JSON.stringify(result)}\n`);
          done++;
          const s = ((performance.now() - started) / 1000).toFixed(0);
          console.error(`[${s}s] ${done}/${cells.length} ${result.id}`);
          hand();
        });
        w.on('error', reject);
        hand();
      });
    }),
  );

  const wall = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  printTables(results, settings.judges);
  console.log(
    `${cells.length} cells x ${runs} runs in ${wall.toFixed(1)} s wall, ${((cpu.user + cpu.system) / 1e6).toFixed(1)} s CPU, ${workers} workers; ` +
      `node ${process.version}, ${os.cpus().length} cores, load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')} at the end`,
  );
} else {
  const { runs, settings } = workerData;
  parentPort.on('message', async ({ i, cell }) => {
    parentPort.postMessage({ i, result: await runCell(cell, runs, settings) });
  });
}
