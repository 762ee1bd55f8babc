/**
 * A real browser for the dashboard's tests: Debian's Chromium driven by playwright-core,
 * headless. Every page opened through `open` collects its console errors, uncaught page
 * errors and the requests it made; `shot` keeps a screenshot under
 * .test-results/screenshots/ (the CI keeps .test-results as the test's artifact).
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

export const SCREENSHOTS = path.resolve('.test-results/screenshots');

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-background-networking'],
  });
}

export interface OpenPage {
  context: BrowserContext;
  page: Page;
  /** Console errors (CSP violations among them) and uncaught exceptions, as text. */
  errors: string[];
  /** Every URL the page requested. */
  requests: string[];
}

/** A fresh context and page at `url`, sized `width` x `height`; `offline` cuts the network. */
export async function open(browser: Browser, url: string, opts: { width?: number; height?: number; offline?: boolean } = {}): Promise<OpenPage> {
  const context = await browser.newContext({ viewport: { width: opts.width ?? 1280, height: opts.height ?? 800 } });
  if (opts.offline) await context.setOffline(true);
  const page = await context.newPage();
  const errors: string[] = [];
  const requests: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
  page.on('request', (r) => requests.push(r.url()));
  await page.goto(url);
  return { context, page, errors, requests };
}

/** A full-page screenshot kept as `.test-results/screenshots/NAME.png`. */
export async function shot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const file = path.join(SCREENSHOTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

/**
 * How many pixels of the chart canvases inside `selector` have the colour `rgb` (the
 * series' stroke): > 0 when uPlot drew that series. The canvases are transparent, so a pixel
 * a line only partly covers has a lower alpha: `minAlpha` (default 201) sets how much of it
 * must be covered (a 1 px line drawn at an angle is antialiased to about 190).
 */
export function pixelsOf(page: Page, selector: string, rgb: [number, number, number], opts: { minAlpha?: number } = {}): Promise<number> {
  return page.$eval(
    selector,
    (box, [r, g, b, minAlpha]) => {
      let n = 0;
      for (const canvas of box.querySelectorAll('canvas')) {
        const ctx = canvas.getContext('2d');
        if (!ctx || canvas.width === 0 || canvas.height === 0) continue;
        const d = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
        for (let i = 0; i < d.length; i += 4) if (Math.abs(d[i]! - r) < 8 && Math.abs(d[i + 1]! - g) < 8 && Math.abs(d[i + 2]! - b) < 8 && d[i + 3]! >= minAlpha) n++;
      }
      return n;
    },
    [...rgb, opts.minAlpha ?? 201] as const,
  );
}

/**
 * Like pixelsOf, in the canvas columns of the instants [from, to] (epoch seconds) of the
 * uPlot chart inside `selector`, whose x axis runs from `first` to `last` across its plotting
 * area (`.u-over`).
 */
export function pixelsBetween(
  page: Page,
  selector: string,
  rgb: [number, number, number],
  axis: { first: number; last: number },
  from: number,
  to: number,
  opts: { minAlpha?: number } = {},
): Promise<number> {
  return page.$eval(
    selector,
    (box, [r, g, b, minAlpha, first, last, from, to]) => {
      const canvas = box.querySelector('canvas')!;
      const over = box.querySelector('.u-over')!.getBoundingClientRect();
      const at = canvas.getBoundingClientRect();
      const scale = canvas.width / at.width;
      const x = (t: number) => Math.round((over.left - at.left + ((t - first) / (last - first)) * over.width) * scale);
      const x0 = x(from);
      const d = canvas.getContext('2d')!.getImageData(x0, 0, Math.max(1, x(to) - x0), canvas.height).data;
      let n = 0;
      for (let i = 0; i < d.length; i += 4) if (Math.abs(d[i]! - r) < 8 && Math.abs(d[i + 1]! - g) < 8 && Math.abs(d[i + 2]! - b) < 8 && d[i + 3]! >= minAlpha) n++;
      return n;
    },
    [...rgb, opts.minAlpha ?? 201, axis.first, axis.last, from, to] as const,
  );
}
