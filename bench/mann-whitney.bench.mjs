// Benchmark: the time of one Mann-Whitney judgement (src/gates/mann-whitney.ts) as the
// controller runs it at a checkpoint: U with ties, the Hodges-Lehmann estimate and both
// interval bounds, selected without materializing the n x n pairwise differences. Sizes: a
// 30 s step over ~8 h (1,000 points per side) and the most one Prometheus range query returns
// (11,000 points per side), after 5 uncounted warm-up runs. Latency-like points with ties
// (rounded to 0.1 ms), canary shifted 5%. Prints wall and CPU time (the CPU time is the
// steadier figure on a loaded machine).
//
//   npm run build && node bench/mann-whitney.bench.mjs [--runs 20]
import { mannWhitneyJudgement } from '../dist/gates/mann-whitney.js';

const i = process.argv.indexOf('--runs');
const runs = i > 0 ? Number(process.argv[i + 1]) : 20;

let state = 12345;
function random() {
  state = (state + 0x6d2b79f5) >>> 0;
  let t = state;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const latency = (scale) => Math.round(scale * (0.1 - 0.03 * Math.log(1 - random())) * 1e4) / 1e4;

for (const size of [1_000, 11_000]) {
  const times = [];
  const cpuTimes = [];
  // The first 5 runs warm the JIT up and are not counted.
  for (let r = -5; r < runs; r++) {
    const canary = Array.from({ length: size }, () => latency(1.05));
    const baseline = Array.from({ length: size }, () => latency(1));
    const start = process.hrtime.bigint();
    const cpuStart = process.cpuUsage();
    mannWhitneyJudgement(canary, baseline, { worse: 'higher', level: 0.995, tolerance: 0.1, minSamples: 20 });
    const cpu = process.cpuUsage(cpuStart);
    if (r >= 0) {
      times.push(Number(process.hrtime.bigint() - start) / 1e6);
      cpuTimes.push((cpu.user + cpu.system) / 1e3);
    }
  }
  const at = (xs, q) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil(q * xs.length) - 1)].toFixed(1);
  console.log(
    `2 x ${size} points: wall median ${at(times, 0.5)} ms, p90 ${at(times, 0.9)} ms; ` +
      `CPU median ${at(cpuTimes, 0.5)} ms, p90 ${at(cpuTimes, 0.9)} ms; over ${runs} runs`,
  );
}
