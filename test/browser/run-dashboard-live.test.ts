/**
 * The dashboard of a real `rollgate run` (dist/main.js, the file router, a real Prometheus) in
 * Chromium: the overview lists the rollout, its page draws the metric's chart from the
 * journal, the guard's evaluations grow the chart, and a decision taken while the page is open
 * (a pause through the inbox) appears on it without a reload.
 */
import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { planYaml, readJournal, rollgate, startRun, stopRun, useRunEnvironment, waitForMark, waitForRecord, workspace } from '../e2e/run-helpers.js';
import { until } from '../helpers/until.js';
import { launchBrowser, open, pixelsOf, shot, type OpenPage } from './browser.js';

const env = useRunEnvironment();
const DECISIONS = 'table[aria-label="decisions, newest first"] tbody tr[data-seq]';
const GUARD_ROWS = '[data-chart="metric:error-rate"] details tbody tr';

describe('rollgate run: the dashboard in a browser', () => {
  let browser: Browser;
  const opened: OpenPage[] = [];
  beforeAll(async () => {
    browser = await launchBrowser();
  });
  afterAll(async () => {
    for (const o of opened) await o.context.close();
    await browser?.close();
  });

  it('shows the rollout from its journal and a live decision appears on the open page without a reload', async () => {
    const ws = workspace();
    writeFileSync(
      ws.plan,
      planYaml({
        routerFile: ws.routerFile,
        phases: [
          { name: 'canary', weight: 10, checkpoints: '[1s, 10m]' },
          { name: 'full', weight: 100, checkpoints: '[1s]' },
        ],
      }),
    );
    const run = startRun([ws.plan], { stateDir: ws.stateDir, prometheus: env.prom.url });
    const url = await run.url();
    await waitForRecord(ws.stateDir, (r) => r.decision === 'continue', 'checkpoint 1/2 of canary', { proc: run });
    await waitForMark(ws.stateDir, 1, { proc: run });

    const overview = await open(browser, `${url}/`);
    opened.push(overview);
    await overview.page.waitForSelector('table[aria-label="rollouts"] tbody tr a');
    expect(await overview.page.locator('table[aria-label="rollouts"] tbody tr a').textContent()).toBe('default/shop');
    expect(await overview.page.locator('table[aria-label="rollouts"] tbody tr td:nth-child(2)').textContent()).toBe('progressing');
    await shot(overview.page, 'run-overview');
    expect(overview.errors).toEqual([]);

    const o = await open(browser, `${url}/rollouts/default/shop`);
    opened.push(o);
    await o.page.waitForSelector('[data-chart="metric:error-rate"] canvas');
    await until(async () => (await o.page.locator('.conn').textContent()) === 'live', 30_000, 'the live event stream');
    const journalled = readJournal(ws.stateDir).records;
    await until(async () => (await o.page.locator(DECISIONS).count()) === journalled.length, 30_000, 'a row per journalled decision');
    expect(await pixelsOf(o.page, '[data-chart="metric:error-rate"]', [9, 105, 218])).toBeGreaterThan(0);

    // The guard evaluates every second: its points arrive as events and the chart grows.
    const before = await o.page.locator(GUARD_ROWS).count();
    await until(async () => (await o.page.locator(GUARD_ROWS).count()) >= before + 2, 30_000, 'guard evaluations added to the chart');

    const pause = await rollgate(['pause', 'shop', '--state-dir', ws.stateDir, '--reason', 'look at the dashboard', '--timeout', '20']);
    expect(pause.code, pause.stderr).toBe(0);
    const paused = readJournal(ws.stateDir).records.find((r) => r.decision === 'pause')!;
    await o.page.waitForSelector(`tr[data-seq="${paused.seq}"]`, { timeout: 30_000 });
    expect(await o.page.locator(`tr[data-seq="${paused.seq}"] td:nth-child(4)`).textContent()).toMatch(/^pause/);
    expect(await o.page.locator(`tr[data-seq="${paused.seq}"] td:nth-child(5)`).textContent()).toContain('look at the dashboard');
    await until(async () => (await o.page.locator('.fact .h-paused').count()) === 1, 30_000, 'the header saying paused');
    // The overview, open all along, follows too.
    await until(async () => (await overview.page.locator('table[aria-label="rollouts"] tbody tr td:nth-child(2)').textContent()) === 'paused', 30_000, 'the overview saying paused');
    await shot(o.page, 'run-rollout-live');
    expect(o.errors).toEqual([]);
    expect(overview.errors).toEqual([]);
    expect((await stopRun(run)).code).toBe(0);
  });
});
