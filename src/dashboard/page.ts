/**
 * The dashboard's page: one whole HTML document with everything inlined (uPlot's script and
 * CSS from node_modules, the app's script and CSS from `dashboard/` at the package root), so
 * it needs no CDN and a report works opened from a file:// URL offline. The app script
 * (dashboard/app.js) renders from the shapes of view.ts: fetched from `/api/...` in live mode,
 * or embedded as JSON in `<script type="application/json" id="rollgate-data">` in a report.
 *
 * A Content-Security-Policy meta allows exactly the two inline scripts and two inline styles
 * (by hash), and network access only to the page's own origin in live mode (none in a report).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { RolloutPage } from './view.js';

export type PageRequest = { view: 'overview' } | { view: 'rollout'; rollout: string } | { view: 'report'; data: RolloutPage };

interface Assets {
  uplotJs: string;
  uplotCss: string;
  appJs: string;
  appCss: string;
  /** The policy's source lists for the four inline blocks. */
  scriptHashes: string;
  styleHashes: string;
}

let assets: Assets | null = null;

/** The assets, read once per process. */
function loadAssets(): Assets {
  if (assets) return assets;
  const require = createRequire(import.meta.url);
  // src/dashboard/page.ts (vitest) and dist/dashboard/page.js (the bin, the image) are both
  // two levels below the package root, where `dashboard/` is.
  const root = new URL('../../dashboard/', import.meta.url);
  const read = (file: string) => readFileSync(file, 'utf8');
  const uplotJs = read(require.resolve('uplot/dist/uPlot.iife.min.js'));
  const uplotCss = read(require.resolve('uplot/dist/uPlot.min.css'));
  const appJs = read(fileURLToPath(new URL('app.js', root)));
  const appCss = read(fileURLToPath(new URL('app.css', root)));
  for (const [name, text] of [['uPlot.iife.min.js', uplotJs], ['app.js', appJs]] as const) {
    if (/<\/script|<!--/i.test(text)) throw new Error(`dashboard asset ${name} contains "</script" or "<!--" and cannot be inlined`);
  }
  for (const [name, text] of [['uPlot.min.css', uplotCss], ['app.css', appCss]] as const) {
    if (/<\/style/i.test(text)) throw new Error(`dashboard asset ${name} contains "</style" and cannot be inlined`);
  }
  const hash = (text: string) => `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;
  assets = {
    uplotJs,
    uplotCss,
    appJs,
    appCss,
    scriptHashes: `${hash(uplotJs)} ${hash(appJs)}`,
    styleHashes: `${hash(uplotCss)} ${hash(appCss)}`,
  };
  return assets;
}

/**
 * JSON for a `<script type="application/json">` element: `<`, `>` and `&` escaped so no text
 * in it can close the element or open a comment, U+2028/U+2029 so it stays one line of script.
 */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** The page of `p` as one self-contained HTML document. */
export function renderPage(p: PageRequest): string {
  const a = loadAssets();
  const live = p.view !== 'report';
  const csp = [
    "default-src 'none'",
    `script-src ${a.scriptHashes}`,
    `style-src ${a.styleHashes}`,
    // uPlot draws on canvases; the page loads no images, fonts or frames.
    `connect-src ${live ? "'self'" : "'none'"}`,
    "img-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; ');
  const config = p.view === 'rollout' ? { view: 'rollout', rollout: p.rollout } : { view: p.view };
  const title = p.view === 'overview' ? 'rollgate: rollouts' : `rollgate: ${p.view === 'rollout' ? p.rollout : p.data.summary.rollout}`;
  const data = p.view === 'report' ? `\n<script type="application/json" id="rollgate-data">${scriptJson(p.data)}</script>` : '';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="referrer" content="no-referrer">
<title>${escapeHtml(title)}</title>
<style>${a.uplotCss}</style>
<style>${a.appCss}</style>
</head>
<body>
<noscript>This page needs JavaScript to show the rollouts.</noscript>
<div id="app"></div>
<script type="application/json" id="rollgate-page">${scriptJson(config)}</script>${data}
<script>${a.uplotJs}</script>
<script>${a.appJs}</script>
</body>
</html>
`;
}

/** Text for HTML: `& < > " '` escaped. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
