/**
 * The Prometheus fault matrix, CI variant (src/devtools/prom-faults.ts; the same matrix is
 * `npm run harness:prom-faults`): one `rollgate run` with one rollout per fault, guard on. For
 * every fault: holds (or, for a bad query, an immediate pause) and then a pause, never a
 * continue/advance; a warn/error log line; the split unchanged; and completion once the fault
 * ends (resumed where it paused).
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ALL_CASES, faultMatrix } from '../../src/devtools/prom-faults.js';

const MAIN = path.resolve(__dirname, '../../dist/main.js');

const CASES = ALL_CASES;

describe('Prometheus fault matrix', () => {
  it('never advances on a faulty Prometheus answer, says so, and recovers when the fault ends', { timeout: 600_000 }, async () => {
    const report = await faultMatrix({ mainJs: MAIN, cases: CASES });
    expect(report.cases.map((c) => c.case)).toEqual(CASES);
    expect(report.violations).toEqual([]);
    for (const c of report.cases) {
      expect(c.splitDuringFault, c.case).toBe(10);
      expect(c.recovered, c.case).toBe(true);
      expect(c.logLine, c.case).toMatch(/"level":"(warn|error)"/);
      if (c.case === 'killed-restarted') expect(c.holds, c.case).toBeGreaterThan(0);
      else expect(c.paused, c.case).toBe(true);
    }
    // The reasons name the fault.
    const reason = (c: string) => report.cases.find((x) => x.case === c)?.duringFault.join('\n') ?? '';
    expect(reason('down')).toMatch(/ECONNREFUSED/);
    expect(reason('hang')).toMatch(/did not answer within 1s/);
    expect(reason('http-429')).toMatch(/HTTP 429/);
    expect(reason('empty-string-value')).toMatch(/value ""/);
    expect(reason('null-value')).toMatch(/value null/);
    expect(reason('nan')).toMatch(/NaN/);
    expect(reason('inf')).toMatch(/\+Inf/);
    expect(reason('empty')).toMatch(/empty result/);
    expect(reason('several')).toMatch(/2 samples/);
    expect(reason('matrix')).toMatch(/matrix/);
    expect(reason('bad-query-400')).toMatch(/expected type instant vector/);
    expect(reason('exec-error-422')).toMatch(/same labelset/);
  });
});
