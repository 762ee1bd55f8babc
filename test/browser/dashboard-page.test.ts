/**
 * The dashboard's page in a real browser (Debian's Chromium, headless, playwright-core):
 * `renderPage` served by a small node:http server that answers the API of
 * src/dashboard/view.ts with data built from real decision records (three plans run through
 * the engine; the pages of /api/rollouts cut by rollout-list.ts as the controller cuts
 * them), reports opened from a file:// URL with the network off, and an overview of 10,000
 * rollouts served by the controller's own routes and live dashboard. Every page must render
 * without a console error (a Content-Security-Policy violation is one) and leaves a
 * screenshot in .test-results/screenshots/.
 */
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { renderPage } from '../../src/dashboard/page.js';
import { listPage, parseListQuery, RolloutListError, summaryText, type ListQuery } from '../../src/dashboard/rollout-list.js';
import type { DashboardEvent, RolloutList, RolloutPage, RolloutSummary } from '../../src/dashboard/view.js';
import type { DecisionRecord } from '../../src/core/record.js';
import { until } from '../helpers/until.js';
import { LiveDashboard, type LiveRollout } from '../../src/dashboard/live.js';
import { DashboardRoutes } from '../../src/dashboard/routes.js';
import { startHttpServer } from '../../src/observe/server.js';
import { silentLogger } from '../../src/support/log.js';
import { launchBrowser, open, pixelsBetween, pixelsOf, shot, type OpenPage } from './browser.js';
import { pageOf, summaryOf, threeRollouts, type RolloutRun } from './rollout-data.js';

/** The API of docs/dashboard.md ("Routes") over `summaries` and `pages`; `push` sends a server-sent event. */
class ApiServer {
  /** The open event streams, with the rollout each asked for (null: all). */
  readonly clients = new Set<{ res: ServerResponse; rollout: string | null }>();
  private server: Server;
  url = '';
  /** The query strings of the /api/rollouts requests, in order. */
  readonly listed: string[] = [];
  constructor(
    public summaries: RolloutSummary[],
    public pages: Map<string, RolloutPage>,
  ) {
    this.server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      const p = url.pathname;
      const html = (body: string) => res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(body);
      const json = (status: number, body: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      if (p === '/') return html(renderPage({ view: 'overview' }));
      if (p.startsWith('/rollouts/')) return html(renderPage({ view: 'rollout', rollout: decodeURIComponent(p.slice('/rollouts/'.length)) }));
      if (p === '/api/rollouts') {
        this.listed.push(url.search);
        try {
          return json(200, this.list(parseListQuery(url.searchParams)));
        } catch (err) {
          if (err instanceof RolloutListError) return json(400, { error: err.message, parameter: err.parameter });
          throw err;
        }
      }
      if (p.startsWith('/api/rollouts/')) {
        const page = this.pages.get(decodeURIComponent(p.slice('/api/rollouts/'.length)));
        return page ? json(200, page) : json(404, { error: 'no such rollout' });
      }
      if (p === '/api/events') {
        res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store' });
        res.write(': hello\n\n');
        const client = { res, rollout: url.searchParams.get('rollout') };
        this.clients.add(client);
        res.on('close', () => this.clients.delete(client));
        return;
      }
      res.writeHead(404).end();
    });
  }
  /** A page of the list, cut as the controller cuts it (src/dashboard/rollout-list.ts). */
  list(q: ListQuery): RolloutList {
    const byId = new Map(this.summaries.map((s) => [s.rollout, s]));
    const ids = [...byId.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    return listPage({ ids, summary: (id) => byId.get(id) ?? null, text: (id) => summaryText(byId.get(id)!), health: (id) => byId.get(id)?.health ?? null }, q);
  }
  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }
  push(e: DashboardEvent): void {
    for (const c of this.clients) if (c.rollout === null || c.rollout === e.data.rollout) c.res.write(`event: ${e.event}\ndata: ${JSON.stringify(e.data)}\n\n`);
  }
  async close(): Promise<void> {
    for (const c of this.clients) c.res.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** What a metric's chart should hold: one value row per checkpoint judgement and guard evaluation (of `verdict`, when given). */
function judgements(page: RolloutPage, metric: string, verdict?: string): number {
  const keys = new Set<string>();
  const counts = (m: { name: string; verdict: string }) => m.name === metric && (verdict === undefined || m.verdict === verdict);
  for (const r of page.records) if (r.metrics?.some(counts)) keys.add(`${r.kind === 'guard' ? 'guard' : 'checkpoint'}@${Date.parse(r.at)}`);
  for (const g of page.guard) if (g.metrics.some(counts)) keys.add(`guard@${Date.parse(g.at)}`);
  return keys.size;
}

const legendOf = (o: OpenPage, chart: string) => o.page.$$eval(`[data-chart="${chart}"] .u-legend .u-series .u-label`, (ls) => ls.map((l) => l.textContent ?? ''));
const rowsOf = (o: OpenPage, chart: string) => o.page.$$eval(`[data-chart="${chart}"] details tbody tr`, (rs) => rs.length);
const ROLLOUT_ROWS = 'table[aria-label="rollouts"] tbody tr';
/** Waits until `selector` matches `n` elements (live updates arrive within a throttle of 250 ms). */
const rowCount = (o: OpenPage, selector: string, n: number) => until(async () => (await o.page.locator(selector).count()) === n, 30_000, `${n} x ${selector}`);
/** Waits until the page's event stream is open. */
const isLive = (o: OpenPage) => until(async () => (await o.page.locator('.conn').textContent()) === 'live', 30_000, 'the live event stream');
const BLUE: [number, number, number] = [9, 105, 218];
const RED: [number, number, number] = [207, 34, 46];
/** The Prometheus range's stroke (#54aeff). */
const RANGE: [number, number, number] = [0x54, 0xae, 0xff];

describe('dashboard page in Chromium', () => {
  let browser: Browser;
  let runs: RolloutRun[];
  let api: ApiServer;
  let pages: Map<string, RolloutPage>;
  const opened: OpenPage[] = [];
  const openPage = async (url: string, opts?: Parameters<typeof open>[2]) => {
    const o = await open(browser, url, opts);
    opened.push(o);
    return o;
  };

  beforeAll(async () => {
    runs = await threeRollouts();
    pages = new Map(runs.map((r) => [r.state.rollout, pageOf(r, 'live')]));
    api = new ApiServer(runs.map(summaryOf), pages);
    await api.start();
    browser = await launchBrowser();
  }, 120_000);

  afterAll(async () => {
    for (const o of opened) await o.context.close();
    await browser?.close();
    await api?.close();
  });

  it('the runs behind the pages are what the tests expect: completed, rolled back by the guard, in progress', () => {
    expect(runs.map((r) => [r.state.rollout, r.state.status])).toEqual([
      ['default/checkout', 'complete'],
      ['payments/ledger', 'rolled-back'],
      ['default/search', 'progressing'],
    ]);
    expect(runs[1]!.records.some((r) => r.kind === 'guard' && r.decision === 'rollback')).toBe(true);
  });

  it('the overview lists every rollout with its status, phase and split, and the filter narrows it', async () => {
    const o = await openPage(api.url + '/');
    await o.page.waitForSelector('table[aria-label="rollouts"] tbody tr a');
    const rows = await o.page.$$eval('table[aria-label="rollouts"] tbody tr', (trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent ?? '')));
    expect(rows).toHaveLength(3);
    // Failing first, then by health, then by name.
    expect(rows.map((r) => r[0])).toEqual(['payments/ledger2.4.0', 'default/search2.4.0', 'default/checkout2.4.0']);
    expect(rows[0]![1]).toBe('rolled-back');
    expect(rows[2]![1]).toBe('complete');
    const search = runs[2]!.state;
    expect(rows[1]![2]).toBe(`${search.phaseName} (${search.phaseIndex + 1}/3)`);
    expect(rows[1]![3]).toBe(`${search.weight}%`);
    // The in-progress rollout's next checkpoint is in the future, said relatively.
    expect(rows[1]![7]).toMatch(/^in \d+m\d\ds/);
    expect(await o.page.getAttribute('table[aria-label="rollouts"] tbody tr:first-child a', 'href')).toBe('/rollouts/payments/ledger');
    await shot(o.page, 'overview');
    await o.page.fill('#filter', 'checkout');
    await rowCount(o, ROLLOUT_ROWS, 1);
    expect(await o.page.textContent('.counts')).toBe('1 match, 1 complete');
    // The filter is the server's: the page asked for the matches.
    expect(api.listed).toContain('?limit=300&order=health&q=checkout');
    await o.page.fill('#filter', '');
    await rowCount(o, ROLLOUT_ROWS, 3);
    expect(await o.page.textContent('.counts')).toBe('3 rollouts, 1 failing, 1 healthy, 1 complete');
    expect(o.errors).toEqual([]);
  });

  it('the overview follows summary events live, without a reload', async () => {
    const o = await openPage(api.url + '/');
    await o.page.waitForSelector('table[aria-label="rollouts"] tbody tr a');
    await isLive(o);
    const search = summaryOf(runs[2]!);
    api.push({ event: 'summary', data: { ...search, status: 'paused', health: 'paused' } });
    await rowCount(o, `${ROLLOUT_ROWS} td:nth-child(2) .h-paused`, 1);
    expect(await o.page.locator(`${ROLLOUT_ROWS} .h-paused`).textContent()).toBe('paused');
    api.push({ event: 'removed', data: { rollout: 'default/checkout' } });
    await rowCount(o, ROLLOUT_ROWS, 2);
    expect(o.errors).toEqual([]);
  });

  it('the rollout page draws a chart per metric with its judgements and threshold lines, the evidence of the sequential metric, and every decision', async () => {
    const name = 'payments/ledger';
    const page = pages.get(name)!;
    const o = await openPage(`${api.url}/rollouts/payments/ledger`);
    await o.page.waitForSelector('[data-chart="metric:latency-p90"] canvas');
    await o.page.waitForSelector('table[aria-label="decisions, newest first"] tbody tr[data-seq]');
    expect(await o.page.textContent('h1')).toBe(name);

    // latency: checkpoints and guard evaluations (the failed ones marked), against max and rollbackAbove.
    expect(await legendOf(o, 'metric:latency-p90')).toEqual(['time (UTC)', 'checkpoint', 'guard', 'failed', 'max', 'rollback above']);
    expect(await rowsOf(o, 'metric:latency-p90')).toBe(judgements(page, 'latency-p90'));
    expect(judgements(page, 'latency-p90')).toBeGreaterThan(5);
    expect(await o.page.locator('[data-chart="metric:latency-p90"] details tbody tr.verdict-fail').count()).toBe(judgements(page, 'latency-p90', 'fail'));
    expect(judgements(page, 'latency-p90', 'fail')).toBeGreaterThanOrEqual(2);
    expect(await pixelsOf(o.page, '[data-chart="metric:latency-p90"]', BLUE)).toBeGreaterThan(50);
    expect(await pixelsOf(o.page, '[data-chart="metric:latency-p90"]', RED)).toBeGreaterThan(50);
    // success rate: checkpoints only (the guard watches latency), against min.
    expect(await legendOf(o, 'metric:success-rate')).toEqual(['time (UTC)', 'checkpoint', 'min']);
    expect(await rowsOf(o, 'metric:success-rate')).toBe(judgements(page, 'success-rate'));
    // errors: the sequential test's log(e) against log(1/alpha).
    expect(await legendOf(o, 'evidence:errors')).toEqual(['time (UTC)', 'log(e)', 'log(1/alpha)']);
    const seqPoints = page.records.filter((r) => r.metrics?.some((m) => m.name === 'errors' && m.logE !== undefined)).length;
    expect(seqPoints).toBeGreaterThan(1);
    expect(await rowsOf(o, 'evidence:errors')).toBe(seqPoints);
    expect(await pixelsOf(o.page, '[data-chart="evidence:errors"]', BLUE)).toBeGreaterThan(20);

    // The split over time, from the records.
    expect(await o.page.$$eval('#split-chart .u-legend .u-series .u-label', (ls) => ls.map((l) => l.textContent))).toEqual(['time (UTC)', 'canary weight %']);
    expect(await pixelsOf(o.page, '#split-chart', BLUE)).toBeGreaterThan(50);
    expect(await o.page.$$eval('ol.phases li', (lis) => lis.map((li) => li.className))).toEqual(['phase done', 'phase current', 'phase todo']);

    // Every decision, newest first, with the guard's rollback and its reason.
    const seqs = await o.page.$$eval('table[aria-label="decisions, newest first"] tbody tr', (trs) => trs.map((tr) => Number(tr.getAttribute('data-seq'))));
    expect(seqs).toEqual(page.records.map((r) => r.seq).reverse());
    const rollback = page.records.find((r) => r.decision === 'rollback')!;
    const cells = await o.page.$$eval(`tr[data-seq="${rollback.seq}"] td`, (tds) => tds.map((td) => td.textContent ?? ''));
    expect(cells[2]).toBe('guard');
    expect(cells[3]).toMatch(/^rollback/);
    expect(cells[4]).toContain(rollback.reason);
    expect(cells[4]).toContain('latency-p90 = 0.8');
    expect(cells[5]).toBe(rollback.actor);
    await shot(o.page, 'rollout-ledger');
    expect(o.errors).toEqual([]);
  });

  it('a new decision appears on the open rollout page without a reload, and its chart grows', async () => {
    const run = runs[2]!;
    const page = pages.get(run.state.rollout)!;
    const o = await openPage(`${api.url}/rollouts/default/search`);
    await o.page.waitForSelector('[data-chart="metric:latency-p90"] canvas');
    await isLive(o);
    const before = await rowsOf(o, 'metric:latency-p90');
    const last = page.records[page.records.length - 1]!;
    const lastCheckpoint = [...page.records].reverse().find((r) => r.kind === 'checkpoint' && r.metrics)!;
    const next: DecisionRecord = {
      ...lastCheckpoint,
      seq: last.seq + 1,
      at: new Date(Date.parse(last.at) + 60_000).toISOString(),
      decision: 'hold',
      reason: 'a live decision pushed by the test',
      weight: { from: last.weight.to, to: last.weight.to },
    };
    api.push({ event: 'record', data: { rollout: run.state.rollout, record: next } });
    await o.page.waitForSelector(`tr[data-seq="${next.seq}"]`, { timeout: 30_000 });
    expect(await o.page.textContent(`tr[data-seq="${next.seq}"] td:nth-child(5)`)).toContain('a live decision pushed by the test');
    await rowCount(o, '[data-chart="metric:latency-p90"] details tbody tr', before + 1);
    expect(o.errors).toEqual([]);
  });

  it('at a narrow window the rollout page still renders its charts and table', async () => {
    const o = await openPage(`${api.url}/rollouts/default/checkout`, { width: 420, height: 900 });
    await o.page.waitForSelector('[data-chart="metric:latency-p90"] canvas');
    // The plan's window is in Europe/Berlin: times are shown there.
    expect(await legendOf(o, 'metric:latency-p90')).toContain('time (Europe/Berlin)');
    expect(await o.page.textContent('table[aria-label="decisions, newest first"] tbody tr td:nth-child(2) .sub')).toMatch(/ Europe\/Berlin$/);
    const width = await o.page.$eval('[data-chart="metric:latency-p90"] canvas', (c) => c.getBoundingClientRect().width);
    expect(width).toBeLessThanOrEqual(420);
    // The page itself does not scroll sideways (wide tables scroll in their own box).
    expect(await o.page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(420);
    await shot(o.page, 'rollout-checkout-narrow');
    expect(o.errors).toEqual([]);
  });

  it('a report opened from a file:// URL with the network off shows the same page from its embedded data', async () => {
    const run = runs[1]!;
    const data = pageOf(run, 'report');
    // Text that tries to break out of the embedded JSON stays text.
    data.records = data.records.map((r, i) => (i === 0 ? { ...r, reason: '</script><script>alert(1)</script> \u2028 & <!--' } : r));
    const dir = mkdtempSync(path.join(tmpdir(), 'rollgate-report-'));
    try {
      const file = path.join(dir, 'ledger.html');
      writeFileSync(file, renderPage({ view: 'report', data }));
      const url = pathToFileURL(file).href;
      const o = await openPage(url, { offline: true });
      await o.page.waitForSelector('[data-chart="metric:latency-p90"] canvas');
      expect(await o.page.$$eval('table[aria-label="decisions, newest first"] tbody tr[data-seq]', (trs) => trs.length)).toBe(data.records.length);
      expect(await o.page.textContent(`tr[data-seq="${data.records[0]!.seq}"] td:nth-child(5)`)).toBe('</script><script>alert(1)</script> \u2028 & <!--');
      expect(await legendOf(o, 'metric:latency-p90')).toEqual(['time (UTC)', 'checkpoint', 'guard', 'failed', 'max', 'rollback above']);
      // A report has no guard ring: the guard's points are its journalled rollback only.
      expect(await rowsOf(o, 'metric:latency-p90')).toBe(judgements(data, 'latency-p90'));
      expect(await o.page.textContent('.conn')).toMatch(/^report generated /);
      expect(await o.page.textContent('main')).toContain('Prometheus ranges: no Prometheus address given');
      expect(o.requests).toEqual([url]);
      await shot(o.page, 'report-ledger');
      expect(o.errors).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("a report's Prometheus range is one line through the judgements between its steps, broken only where Prometheus had no value", async () => {
    const run = runs[0]!; // complete: its span is its records'
    const data = pageOf(run, 'report');
    const judged = data.records.filter((r) => r.metrics?.some((m) => m.name === 'latency-p90'));
    const first = Date.parse(data.records[0]!.at) / 1000;
    const last = Date.parse(data.records.at(-1)!.at) / 1000;
    // A coarse range (12 steps) at 0.1, under every judgement (about 0.2): the judgements fall between its steps.
    const step = Math.ceil((last - first) / 12);
    const grid = Array.from({ length: Math.floor((last - first) / step) + 1 }, (_, k) => first + k * step);
    const missing = grid[6]!; // no value at one step: the line breaks around it
    data.ranges = [{ metric: 'latency-p90', query: 'latency_p90{track="canary"}', step, points: grid.map((t) => [t, t === missing ? null : 0.1]) }];
    data.rangesNote = null;
    const between = judged.map((r) => Date.parse(r.at) / 1000).filter((t) => !grid.includes(t) && Math.abs(t - missing) > 2 * step);
    expect(between.length).toBeGreaterThanOrEqual(2);
    const dir = mkdtempSync(path.join(tmpdir(), 'rollgate-report-'));
    try {
      const file = path.join(dir, 'range.html');
      writeFileSync(file, renderPage({ view: 'report', data }));
      const o = await openPage(pathToFileURL(file).href, { offline: true });
      await o.page.waitForSelector('[data-chart="metric:latency-p90"] canvas');
      expect(await legendOf(o, 'metric:latency-p90')).toEqual(['time (Europe/Berlin)', 'checkpoint', 'Prometheus', 'max', 'rollback above']);
      expect(await o.page.textContent('[data-chart="metric:latency-p90"] summary')).toBe(`Values (${judgements(data, 'latency-p90')} judgements, ${grid.length - 1} range points)`);
      const axis = { first, last };
      const range = (from: number, to: number) => pixelsBetween(o.page, '[data-chart="metric:latency-p90"]', RANGE, axis, from, to, { minAlpha: 128 });
      // Around each judgement between two steps, the range's line goes on.
      for (const t of between) expect(await range(t - step / 4, t + step / 4), `the range's line at ${new Date(t * 1000).toISOString()}`).toBeGreaterThan(2);
      // Around the step without a value, it is broken.
      expect(await range(missing - step / 2, missing + step / 2)).toBe(0);
      await shot(o.page, 'report-range-between-judgements');
      expect(o.errors).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('an overview of 10,000 rollouts (the real routes) loads one page, failing first, filters on the server, and follows changes', async () => {
    // The controller's own routes and live dashboard over 10,000 rollouts held in memory.
    const run = runs[2]!;
    const byId = new Map<string, LiveRollout>();
    for (let i = 0; i < 10_000; i++) {
      const id = `team-${i % 50}/svc-${i}`;
      byId.set(id, { id, plan: run.plan, state: run.state });
    }
    const live = new LiveDashboard({ rollouts: () => byId.values(), get: (id) => byId.get(id), records: async () => ({ records: [], omitted: 0 }) }, { log: silentLogger(), now: () => Date.now() });
    const big = await startHttpServer({ host: '127.0.0.1', port: 0, routes: [new DashboardRoutes(live)], log: silentLogger() });
    try {
      const o = await openPage(big.url + '/');
      const listed: string[] = [];
      o.page.on('response', (r) => {
        const u = new URL(r.url());
        if (u.pathname === '/api/rollouts') listed.push(`${u.search} ${r.status()} ${r.headers()['content-length']}`);
      });
      await o.page.waitForSelector('table[aria-label="rollouts"] tbody tr a');
      expect(await o.page.$$eval('table[aria-label="rollouts"] tbody tr', (trs) => trs.length)).toBe(300);
      expect(await o.page.textContent('.more')).toBe('9700 more - filter to narrow');
      expect(await o.page.textContent('.counts')).toBe('10000 rollouts');
      // One page was asked for, not every rollout.
      expect(o.requests.filter((u) => new URL(u).pathname === '/api/rollouts').map((u) => new URL(u).search)).toEqual(['?limit=300&order=health']);

      // A rollout of the page changes: its row follows the summary event.
      await isLive(o);
      const first = 'team-0/svc-0';
      byId.set(first, { ...byId.get(first)!, state: { ...run.state, status: 'paused' } });
      live.onApplied(first);
      await rowCount(o, `${ROLLOUT_ROWS} .h-paused`, 1);
      expect(await o.page.locator(`${ROLLOUT_ROWS}:has(.h-paused) a`).textContent()).toBe(first);
      // A new rollout the page does not hold: the page is loaded again and it is counted.
      byId.set('team-0/a-new', { id: 'team-0/a-new', plan: run.plan, state: run.state });
      live.onManaged('team-0/a-new');
      await until(async () => (await o.page.textContent('.counts')) === '10001 rollouts', 30_000, 'the new rollout counted');
      expect(await o.page.locator(`${ROLLOUT_ROWS} a`, { hasText: 'team-0/a-new' }).count()).toBe(1);
      expect(await o.page.textContent('.more')).toBe('9701 more - filter to narrow');
      // A rollout far down the list (by name) rolls back: the page is loaded again, failing first.
      const far = 'team-49/svc-9999';
      byId.set(far, { ...byId.get(far)!, state: { ...run.state, status: 'rolled-back' } });
      live.onApplied(far);
      await until(async () => (await o.page.textContent(`${ROLLOUT_ROWS} a`)) === far, 30_000, 'the failing rollout on the first row');
      expect(await o.page.locator(`${ROLLOUT_ROWS}:first-child`).getAttribute('class')).toBe('row-failing');

      // The filter is the server's: one answer of the matches.
      await o.page.fill('#filter', 'svc-4242');
      await rowCount(o, ROLLOUT_ROWS, 1);
      expect(await o.page.textContent(`${ROLLOUT_ROWS} a`)).toBe('team-42/svc-4242');
      expect(await o.page.textContent('.counts')).toBe('1 match, 1 healthy');
      expect(await o.page.textContent('.more')).toBe('');
      expect(listed.at(-1)).toMatch(/^\?limit=300&order=health&q=svc-4242 200 \d+$/);
      await o.page.fill('#filter', 'paused');
      await until(async () => (await o.page.textContent('.counts')) === '1 match, 1 paused', 30_000, 'the paused rollout alone');
      expect(await o.page.textContent(`${ROLLOUT_ROWS} a`)).toBe(first);
      await shot(o.page, 'overview-10000');
      expect(o.errors).toEqual([]);
    } finally {
      await big.close();
    }
  });
});
