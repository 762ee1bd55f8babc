/**
 * The judges benchmark's results as text (bench/judges.bench.mjs, bench/README.md "Judges"):
 * the per-cell table, the summary over splits, and the targets of issue 10.
 */
import { pct, type CellResult, type JudgeName, type JudgeTally } from './judge-grid.js';

export function median(sorted: readonly number[]): number | null {
  if (sorted.length === 0) return null;
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

const rate = (n: number, runs: number) => `${((100 * n) / runs).toFixed(1)}%`;
const minutes = (ms: number | null) => (ms === null ? '-' : `${(ms / 60_000).toFixed(1)}m`);

/** One judge's figures as table text: `det 97.5% (false 0.0%) 4.2m`, or `false 1.5%` without a regression. */
export function tallyText(t: JudgeTally, runs: number, regression: boolean): string {
  if (!regression) return `false ${rate(t.falseRollbacks, runs)}`;
  const early = t.falseRollbacks > 0 ? ` (false ${rate(t.falseRollbacks, runs)})` : '';
  return `det ${rate(t.detected, runs)}${early} ${minutes(median(t.delaysMs))}`;
}

function table(head: string[], rows: string[][]): string {
  return [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

/** A row per cell, a column per judge. */
export function resultsTable(results: readonly CellResult[], judges: readonly JudgeName[]): string {
  return table(
    ['base', 'canary rps', 'split', 'case', 'runs', ...judges],
    results.map((r) => [pct(r.baseRate), String(r.canaryRps), `${r.split}%`, r.case, String(r.runs), ...judges.map((j) => tallyText(r.judges[j]!, r.runs, r.regression))]),
  );
}

/** The cells of one base rate, traffic and case merged over their splits. */
export function mergeSplits(results: readonly CellResult[]): CellResult[] {
  const groups = new Map<string, CellResult>();
  for (const r of results) {
    const key = `${r.baseRate} ${r.canaryRps} ${r.case}`;
    const g = groups.get(key);
    if (!g) {
      groups.set(key, { ...r, id: key, split: NaN, judges: structuredClone(r.judges) });
      continue;
    }
    g.runs += r.runs;
    for (const [j, t] of Object.entries(r.judges) as [JudgeName, JudgeTally][]) {
      const m = g.judges[j]!;
      m.detected += t.detected;
      m.falseRollbacks += t.falseRollbacks;
      m.delaysMs = [...m.delaysMs, ...t.delaysMs].sort((a, b) => a - b);
    }
  }
  return [...groups.values()];
}

/** A row per base rate, traffic and case (all splits), a column per judge. */
export function summaryTable(results: readonly CellResult[], judges: readonly JudgeName[]): string {
  return table(
    ['base', 'canary rps', 'case', 'runs', ...judges],
    mergeSplits(results).map((r) => [pct(r.baseRate), String(r.canaryRps), r.case, String(r.runs), ...judges.map((j) => tallyText(r.judges[j]!, r.runs, r.regression))]),
  );
}

const falseRate = (r: CellResult, j: JudgeName) => r.judges[j]!.falseRollbacks / r.runs;
const detectRate = (r: CellResult, j: JudgeName) => r.judges[j]!.detected / r.runs;

/**
 * The issue's targets: the sequential test's false-rollback rate at most 1% in every cell
 * without a regression; its detection of a x2 regression at 1% and 10 canary requests/s
 * (>= 95%) with the median delay; and, for each judge, how many cells without a regression
 * it false-alarms in (> 1%) and how many regressions of x1.5 or more it misses (< 95%).
 */
export function targetsReport(results: readonly CellResult[]): string {
  const lines: string[] = [];
  const judges = Object.keys(results[0]?.judges ?? {}) as JudgeName[];
  const healthy = results.filter((r) => !r.regression);
  const big = results.filter((r) => r.regression && Number(r.case.slice(1)) >= 1.5);
  if (judges.includes('sequential') && healthy.length > 0) {
    const worst = healthy.reduce((a, b) => (falseRate(b, 'sequential') > falseRate(a, 'sequential') ? b : a));
    const over = healthy.filter((r) => falseRate(r, 'sequential') > 0.01);
    lines.push(
      `- sequential, false rollbacks in the ${healthy.length} cells without a regression: worst ${worst.id} ` +
        `${rate(worst.judges.sequential!.falseRollbacks, worst.runs)}; cells above 1%: ${over.length === 0 ? 'none' : over.map((r) => `${r.id} ${rate(r.judges.sequential!.falseRollbacks, r.runs)}`).join(', ')}`,
    );
    const x2 = results.filter((r) => r.baseRate === 0.01 && r.canaryRps === 10 && r.case === 'x2');
    for (const r of x2) {
      const t = r.judges.sequential!;
      lines.push(`- sequential, x2 at 1% and 10 canary rps, split ${r.split}%: rolled back in ${rate(t.detected, r.runs)} (target 95%), median delay ${minutes(median(t.delaysMs))}`);
    }
  }
  for (const j of judges) {
    const alarms = healthy.filter((r) => falseRate(r, j) > 0.01);
    const misses = big.filter((r) => detectRate(r, j) < 0.95);
    lines.push(`- ${j}: false rollbacks above 1% in ${alarms.length} of ${healthy.length} cells without a regression; detects under 95% of ${misses.length} of ${big.length} cells with a x1.5-x5 regression`);
  }
  return lines.join('\n');
}
