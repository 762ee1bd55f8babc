/**
 * `rollgate history` and `rollgate status` on a state dir whose journal holds judged records
 * (traffic floor, relative bound, sequential test, Mann-Whitney): the text shows each judge's
 * numbers, `--output json` carries every field of the metric entries. The commands run
 * in-process with stdout captured, on a FileJournal in a temporary state dir.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { DecisionRecord, MetricResult } from '../../src/core/record.js';
import { FileJournal } from '../../src/journal/file-journal.js';
import { historyCommand } from '../../src/cli/history.js';
import { statusCommand } from '../../src/cli/status.js';
import { record, ROLLOUT } from '../helpers/records.js';

const sequential: MetricResult = {
  name: 'errors-vs-stable', query: 'sum(increase(http_requests_total{track="canary",code=~"5.."}[20m]))', value: 12 / 1330, verdict: 'pass', critical: true,
  test: 'sequential', x: 12, n_c: 1330, y: 250, n_b: 25000, canaryRate: 12 / 1330, baselineRate: 0.01, ratio: 0.902,
  e: 0.31, logE: Math.log(0.31), threshold: 100, alpha: 0.01, tolerance: 0.1, interval: { lower: null, upper: 2.71 }, samples: 1330, minSamples: 1000,
};
const shift: MetricResult = {
  name: 'latency-shift', query: 'histogram_quantile(0.9, ...)', value: 0.27, verdict: 'pass', critical: false, test: 'mann-whitney',
  points: { canary: 40, baseline: 40 }, dropped: { canary: 0, baseline: 0 }, canaryMedian: 0.27, baselineMedian: 0.268,
  estimate: 0.002, interval: { lower: -0.01, upper: 0.013 }, u: 850, pValue: 0.41, level: 0.995, effectFloor: 0.0268, tolerance: 0.1, minSamples: 20,
};
const relative: MetricResult = { name: 'p99', query: 'q', value: 0.31, verdict: 'pass', critical: false, baseline: 0.3, bound: 0.36, ratio: 1.0333, tolerance: 0.2, slack: 0.005 };
const floor: MetricResult = { name: 'error-rate', query: 'q', value: 0.0012, max: 0.005, verdict: 'pass', critical: true, samples: 5120, minSamples: 500 };

const SEQ_TEXT = 'errors-vs-stable pass: e 0.31 < 100, canary 0.902% (12/1,330) vs baseline 1% (250/25,000), x0.902 [0, 2.71], tolerance 10%';
const MW_TEXT = 'latency-shift pass: shift +0.002 [-0.01, 0.013], floor 0.0268, p 0.41, points 40/40, level 0.995';
const REL_TEXT = 'p99 pass: 0.31 < bound 0.36 (baseline 0.3 x1.03, tolerance 20%, slack 0.005)';
const FLOOR_TEXT = 'error-rate pass: 0.0012 (max 0.005), 5,120 samples (floor 500)';

const judged: DecisionRecord = record(2, {
  checkpoint: { index: 1, of: 2, due: '2025-11-01T14:20:00.000Z', window: '20m' },
  reason: '4/4 metrics pass',
  metrics: [sequential, shift, relative, floor],
  weight: { from: 10, to: 10 },
  next: { what: 'checkpoint 2/2 of canary', at: '2025-11-01T14:40:00.000Z' },
});

let stateDir: string;
let out = '';

beforeAll(async () => {
  stateDir = mkdtempSync(join(tmpdir(), 'rollgate-judgements-'));
  const journal = new FileJournal(stateDir);
  await journal.append(ROLLOUT, record(1));
  await journal.append(ROLLOUT, { applied: 1, rollout: ROLLOUT, weight: 10, mirror: 0, at: '2025-11-01T14:00:01.500Z' });
  await journal.append(ROLLOUT, judged);
  await journal.close();
});
afterAll(() => rmSync(stateDir, { recursive: true, force: true }));
beforeEach(() => {
  out = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => ((out += String(chunk)), true));
});
afterEach(() => vi.restoreAllMocks());

const NOW = () => Date.parse('2025-11-01T14:20:05Z');

describe('rollgate history', () => {
  it("text: each judged metric with its judge's numbers", async () => {
    expect(await historyCommand('analyzer', { stateDir, output: 'text' })).toBe(0);
    const lines = out.trimEnd().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[1]).toBe(`2025-11-01T14:00:02.000Z ${ROLLOUT} #2 checkpoint 1/2 of canary: continue — 4/4 metrics pass; weight 10, next checkpoint 2/2 of canary at 2025-11-01T14:40Z`);
    expect(lines[2]).toBe(`  ${SEQ_TEXT}, ${MW_TEXT}, ${REL_TEXT}, ${FLOOR_TEXT}`);
  });

  it('--output json: the records as journalled, every judge field included', async () => {
    expect(await historyCommand('analyzer', { stateDir, output: 'json' })).toBe(0);
    const records = out.trimEnd().split('\n').map((l) => JSON.parse(l) as DecisionRecord);
    expect(records).toHaveLength(2);
    expect(records[1]).toEqual(judged);
    expect(records[1]!.metrics![0]).toMatchObject({ test: 'sequential', x: 12, n_c: 1330, y: 250, n_b: 25000, e: 0.31, threshold: 100, interval: { lower: null, upper: 2.71 } });
    expect(records[1]!.metrics![1]).toMatchObject({ test: 'mann-whitney', points: { canary: 40, baseline: 40 }, estimate: 0.002, u: 850, pValue: 0.41, level: 0.995 });
  });
});

describe('rollgate status', () => {
  it("text: in the rollout's block, the last judgement with each judge's numbers (the e-value against its threshold)", async () => {
    expect(await statusCommand(undefined, { stateDir, output: 'text', interval: '2' }, { now: NOW })).toBe(0);
    const lines = out.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^WARNING: no rollgate run owns state dir/);
    expect(lines[1]).toMatch(/^ROLLOUT\s+REVISION\s+STATUS\s+PHASE\s+SPLIT\s+NEXT\s+LAST DECISION$/);
    // Times relative to the CLI's clock in the table; the judgement in the rollout's block.
    expect(lines[2]).toMatch(/^learning\/analyzer\s+2025\.11\.1\s+progressing\s+canary\s+10%\s+checkpoint 2\/2 of canary in 19m55s\s+#2 continue 20m3s ago: 4\/4 metrics pass$/);
    expect(lines.slice(3)).toEqual([
      '',
      ROLLOUT,
      '  next       checkpoint 2/2 of canary in 19m55s, at 2025-11-01T14:40Z',
      '  judged     #2 checkpoint 1/2 of canary 20m3s ago (2025-11-01T14:00:02Z):',
      `    ${SEQ_TEXT}`,
      `    ${MW_TEXT}`,
      `    ${REL_TEXT}`,
      `    ${FLOOR_TEXT}`,
    ]);
  });

  it('--output json: the last decision carries its metric entries with the judge fields', async () => {
    expect(await statusCommand(undefined, { stateDir, output: 'json', interval: '2' }, { now: NOW })).toBe(0);
    const s = JSON.parse(out) as { lastDecision: { seq: number; metrics: MetricResult[] } };
    expect(s.lastDecision).toMatchObject({ seq: 2, decision: 'continue', kind: 'checkpoint' });
    expect(s.lastDecision.metrics).toEqual(judged.metrics);
  });
});
