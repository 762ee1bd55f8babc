/**
 * `rollgate report --prometheus` drawn in Chromium: a real Prometheus holding two hours of a
 * gauge's history (imported with promtool), a rollout's journal made by `rollgate simulate`
 * of a plan over that history (the records the engine decides against that Prometheus), the
 * report written by the built CLI (dist/main.js) with range queries against it, then the HTML
 * file opened from a file:// URL with the network off. The chart must draw the range: as many
 * points as Prometheus answered to the same range query, each value what Prometheus holds
 * (read back from the chart's legend under the cursor), pixels of the range's colour, no
 * console error; a screenshot is kept in .test-results/screenshots/. The history has a scrape
 * outage: the range has no value there (null at each step of it) and the chart draws no line
 * across it.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import type { DecisionRecord } from '../../src/core/record.js';
import type { RolloutPage } from '../../src/dashboard/view.js';
import { OpenMetricsHistory } from '../helpers/openmetrics.js';
import { startPrometheus, type RunningPrometheus } from '../helpers/prometheus.js';
import { removeTempDirs, rollgate, tempDir } from '../e2e/run-helpers.js';
import { until } from '../helpers/until.js';
import { launchBrowser, open, pixelsBetween, pixelsOf, shot, type OpenPage } from './browser.js';

const MIN = 60;
/** The history: two hours of 15 s samples, ending on a quarter hour at least 30 minutes ago (epoch seconds). */
const END = Math.floor(Date.now() / 900_000) * 900 - 30 * MIN;
const START = END - 120 * MIN;
const STEP = 15;
/** The rollout starts 20 minutes into the history; its checkpoints span 50 minutes. */
const ROLLOUT_START = START + 20 * MIN;
/** The gauge: a whole number of milliseconds that differs from one sample to the next (a saw of period 200 samples). */
const latency = (t: number) => 100 + (((t - START) / STEP) % 200);
/** A scrape outage of 15 minutes between the second and the third checkpoint: no sample in [from, to). */
const GAP: [number, number] = [START + 45 * MIN, START + 60 * MIN];
/** How long Prometheus still answers with the last sample before the outage (its default lookback). */
const LOOKBACK = 5 * MIN;
const QUERY = 'max(checkout_latency_ms{track="canary"})';
const iso = (s: number) => new Date(s * 1000).toISOString();
/** The Prometheus series' stroke in dashboard/app.js (#54aeff). */
const RANGE_RGB: [number, number, number] = [0x54, 0xae, 0xff];
const CHART = '[data-chart="metric:latency"]';

let prom: RunningPrometheus;
let browser: Browser;
const opened: OpenPage[] = [];

beforeAll(async () => {
  const h = new OpenMetricsHistory({ start: START, end: END, step: STEP }).gauge('checkout_latency_ms', { track: 'canary' }, latency, { gaps: [GAP] });
  prom = await startPrometheus({ openMetrics: h.text() });
  browser = await launchBrowser();
}, 120_000);

afterAll(async () => {
  for (const o of opened) await o.context.close();
  await browser?.close();
  await prom?.stop();
  removeTempDirs();
});

/** Pixels of the range's colour at half coverage or more (its 1 px line is antialiased). */
const rangePixels = (o: OpenPage) => pixelsOf(o.page, CHART, RANGE_RGB, { minAlpha: 128 });

/** Pixels of the range's colour in the chart's columns of the instants [from, to]. */
const rangePixelsBetween = (o: OpenPage, first: number, last: number, from: number, to: number) =>
  pixelsBetween(o.page, CHART, RANGE_RGB, { first, last }, from, to, { minAlpha: 128 });

/** Prometheus' own answer to a range query: [unix seconds, value] pairs. */
async function queryRange(query: string, start: number, end: number, step: number): Promise<Array<[number, number]>> {
  const url = `${prom.url}/api/v1/query_range?${new URLSearchParams({ query, start: String(start), end: String(end), step: String(step) })}`;
  const body = (await (await fetch(url)).json()) as { status: string; data: { result: Array<{ values: Array<[number, string]> }> } };
  expect(body.status).toBe('success');
  expect(body.data.result).toHaveLength(1);
  return body.data.result[0]!.values.map(([t, v]) => [t, Number(v)]);
}

describe('rollgate report --prometheus in Chromium', () => {
  it('the metric chart draws the Prometheus range: its points, its values, its pixels', { timeout: 300_000 }, async () => {
    const dir = tempDir('rollgate-report-browser-');
    const planFile = path.join(dir, 'plan.yaml');
    writeFileSync(
      planFile,
      `apiVersion: rollgate.dev/v1alpha1
kind: RolloutPlan
metadata: { name: checkout, namespace: shop }
spec:
  revision: "3.1.0"
  startAt: "${iso(ROLLOUT_START)}"
  prometheus: { address: http://127.0.0.1:1 }
  traffic: { router: file, file: { path: ${dir}/never-written.json } }
  metrics:
    - { name: latency, query: '${QUERY}', max: 400, critical: true }
  phases:
    - { name: canary, weight: 10, checkpoints: [10m, 20m] }
    - { name: full, weight: 100, checkpoints: [30m] }
`,
    );

    // The journal: what the engine decides against this Prometheus over the history.
    const sim = await rollgate(['simulate', planFile, '--prometheus', prom.url, '--from', iso(ROLLOUT_START), '--until', iso(END), '--output', 'json'], { timeoutMs: 120_000 });
    expect(sim.code, sim.stderr).toBe(0);
    const records = sim.stdout.trim().split('\n').map((l) => JSON.parse(l) as DecisionRecord);
    expect(records.map((r) => r.decision)).toEqual(['start', 'continue', 'advance', 'complete']);
    const judged = records.filter((r) => r.metrics?.length);
    expect(judged).toHaveLength(3);
    for (const r of judged) expect(r.metrics![0]).toMatchObject({ name: 'latency', query: QUERY, verdict: 'pass' });
    const stateDir = path.join(dir, 'state');
    mkdirSync(path.join(stateDir, 'journal', 'shop'), { recursive: true });
    writeFileSync(path.join(stateDir, 'journal', 'shop', 'checkout.jsonl'), records.map((r) => `${JSON.stringify(r)}\n`).join(''));

    // The report, with range queries against the real Prometheus.
    const out = path.join(dir, 'report.html');
    const res = await rollgate(['report', 'shop/checkout', '--state-dir', stateDir, '--plan', planFile, '--prometheus', prom.url, '-o', out], { timeoutMs: 60_000 });
    expect(res.code, res.stderr).toBe(0);
    expect(res.stderr).not.toContain('note:');
    const html = readFileSync(out, 'utf8');
    const data = JSON.parse(/<script type="application\/json" id="rollgate-data">(.*?)<\/script>/s.exec(html)![1]!) as RolloutPage;
    expect(data.rangesNote).toBeNull();
    expect(data.ranges).toHaveLength(1);
    const range = data.ranges[0]!;

    // The range is Prometheus' own answer to the query the engine sent, over the rollout's span.
    const first = Date.parse(records[0]!.at) / 1000;
    const last = Date.parse(records.at(-1)!.at) / 1000;
    expect(last - first).toBe(50 * MIN);
    expect(range).toMatchObject({ metric: 'latency', query: QUERY, step: Math.ceil((last - first) / 999) });
    const answer = await queryRange(QUERY, first, last, range.step);
    expect(answer.length).toBeLessThanOrEqual(1000);
    // ... which is the history: at each instant, the latest sample at or before it, none in the outage.
    const sampledAt = (t: number) => {
      const at = START + Math.floor((t - START) / STEP) * STEP;
      return at >= GAP[0] && at < GAP[1] ? GAP[0] - STEP : at;
    };
    for (const [t, v] of answer) expect(v, `value at ${iso(t)}`).toBe(latency(sampledAt(t)));
    // Every step of the span is a point: Prometheus' value, or null where it had none (the outage).
    const grid = Array.from({ length: Math.floor((last - first) / range.step) + 1 }, (_, k) => first + k * range.step);
    const answered = new Map(answer);
    expect(range.points).toEqual(grid.map((t) => [t, answered.get(t) ?? null]));
    const missing = grid.filter((t) => !answered.has(t));
    expect(missing.length).toBeGreaterThan(100);
    expect(missing.every((t) => t > GAP[0] + LOOKBACK - STEP && t < GAP[1])).toBe(true);

    // The page, offline from the file.
    const url = pathToFileURL(out).href;
    const o = await open(browser, url, { offline: true });
    opened.push(o);
    await o.page.waitForSelector(`${CHART} canvas`);
    await shot(o.page, 'report-prometheus-range');
    expect(await o.page.$$eval(`${CHART} .u-legend .u-series .u-label`, (ls) => ls.map((l) => l.textContent ?? ''))).toEqual(['time (UTC)', 'checkpoint', 'Prometheus', 'max']);
    expect(await o.page.textContent(`${CHART} summary`)).toBe(`Values (3 judgements, ${answer.length} range points)`);
    // No line across the outage: no pixel of the range's colour in the columns inside it.
    const outage = await rangePixelsBetween(o, first, last, GAP[0] + LOOKBACK + 2 * range.step, GAP[1] - 2 * range.step);
    const before = await rangePixelsBetween(o, first, last, first, GAP[0]);
    expect(before).toBeGreaterThan(100);
    expect(outage).toBe(0);
    expect(await o.page.textContent(`${CHART} .query`)).toBe(QUERY);
    // The range's pixels; hiding the series (a click on its legend) takes them away.
    const drawn = await rangePixels(o);
    expect(drawn).toBeGreaterThan(300);
    await o.page.locator(`${CHART} .u-legend .u-series`, { hasText: 'Prometheus' }).click();
    await until(async () => (await rangePixels(o)) < drawn / 20, 10_000, 'the range hidden');
    await o.page.locator(`${CHART} .u-legend .u-series`, { hasText: 'Prometheus' }).click();
    await until(async () => (await rangePixels(o)) === drawn, 10_000, 'the range drawn again');

    // Under the cursor the legend shows the range's value at that instant: what Prometheus holds.
    const over = (await o.page.locator(`${CHART} .u-over`).boundingBox())!;
    const byTime = new Map(range.points);
    const read: Array<[number, number | null]> = [];
    for (let i = 1; i <= 19; i++) {
      await o.page.mouse.move(over.x + (over.width * i) / 20, over.y + over.height / 2);
      const values = await o.page.$$eval(`${CHART} .u-legend .u-series .u-value`, (vs) => vs.map((v) => v.textContent ?? ''));
      const time = /^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d) UTC$/.exec(values[0]!);
      expect(time, `legend time ${values[0]}`).not.toBeNull();
      const t = Date.parse(`${time![1]}T${time![2]}Z`) / 1000;
      expect(byTime.has(t), `${values[0]} is an instant of the range`).toBe(true);
      const held = byTime.get(t)!;
      // uPlot's legend shows nothing for a null.
      expect(values[2], `Prometheus at ${values[0]}`).toBe(held === null ? '' : String(held));
      read.push([t, held]);
    }
    expect(read.filter(([, v]) => v === null).length).toBeGreaterThan(0);
    expect(read.filter(([, v]) => v !== null).length).toBeGreaterThan(10);
    // The cursor went across the chart: different instants, increasing, values as the history has them.
    expect(new Set(read.map(([t]) => t)).size).toBe(19);
    expect(read.map(([t]) => t)).toEqual([...read.map(([t]) => t)].sort((a, b) => a - b));
    expect(read[0]![0] - first).toBeLessThan(0.1 * (last - first));
    expect(last - read.at(-1)![0]).toBeLessThan(0.1 * (last - first));

    expect(o.requests).toEqual([url]);
    expect(o.errors).toEqual([]);
  });
});
