/**
 * renderPage (src/dashboard/page.ts): one self-contained document whose Content-Security-Policy
 * allows exactly its inline scripts and styles, whose embedded JSON no record text can break
 * out of; and the page script (dashboard/app.js) type-checks against the shapes of view.ts.
 * The page's behaviour in a browser: test/browser/dashboard-page.test.ts.
 */
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { renderPage, scriptJson } from '../../src/dashboard/page.js';
import type { RolloutPage } from '../../src/dashboard/view.js';
import { record } from '../helpers/records.js';

const sha = (text: string) => `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;

function policyOf(html: string): Map<string, string[]> {
  const csp = /<meta http-equiv="Content-Security-Policy" content="([^"]*)">/.exec(html)?.[1];
  if (!csp) throw new Error('no Content-Security-Policy meta');
  return new Map(csp.split('; ').map((d) => { const [k, ...v] = d.split(' '); return [k!, v]; }));
}

/** The inline blocks of `tag` without a `type` attribute (the executed ones), and the typed ones. */
function blocks(html: string, tag: 'script' | 'style'): { plain: string[]; typed: Array<{ type: string; id: string; text: string }> } {
  const plain: string[] = [];
  const typed: Array<{ type: string; id: string; text: string }> = [];
  for (const m of html.matchAll(new RegExp(`<${tag}([^>]*)>([\\s\\S]*?)</${tag}>`, 'g'))) {
    const type = /type="([^"]*)"/.exec(m[1]!)?.[1];
    if (type) typed.push({ type, id: /id="([^"]*)"/.exec(m[1]!)?.[1] ?? '', text: m[2]! });
    else plain.push(m[2]!);
  }
  return { plain, typed };
}

function reportData(reason: string): RolloutPage {
  return {
    summary: {
      rollout: 'default/demo',
      revision: 'r1',
      status: 'progressing',
      health: 'healthy',
      phase: 'canary',
      phaseIndex: 0,
      phases: 1,
      weight: 10,
      mirror: 0,
      applied: null,
      waitingFor: null,
      guard: null,
      last: null,
      next: null,
      timeZone: null,
    },
    phases: [{ name: 'canary', weight: 10, mirror: 0, checkpoints: 1, durationSeconds: 600 }],
    records: [record(1, { reason })],
    recordsOmitted: 0,
    guard: [],
    ranges: [],
    rangesNote: null,
    generatedAt: '2025-11-01T15:00:00.000Z',
    source: 'report',
  };
}

describe('renderPage', () => {
  it('inlines uPlot and the app (no external script, style or link) and allows only them by hash', () => {
    for (const html of [renderPage({ view: 'overview' }), renderPage({ view: 'rollout', rollout: 'default/demo' }), renderPage({ view: 'report', data: reportData('ok') })]) {
      expect(html).toMatch(/^<!doctype html>/);
      expect(html).not.toMatch(/<script[^>]*\ssrc=|<link\b|@import/);
      // The only URL in the page is in uPlot's license header.
      expect(html.match(/https?:\/\/[^\s"')]*/g)).toEqual(['https://github.com/leeoniya/uPlot']);
      const policy = policyOf(html);
      const scripts = blocks(html, 'script');
      const styles = blocks(html, 'style');
      expect(scripts.plain).toHaveLength(2);
      expect(styles.plain).toHaveLength(2);
      expect(policy.get('default-src')).toEqual(["'none'"]);
      expect(policy.get('script-src')!.sort()).toEqual(scripts.plain.map(sha).sort());
      expect(policy.get('style-src')!.sort()).toEqual(styles.plain.map(sha).sort());
      expect(scripts.plain.some((s) => s.includes('uPlot'))).toBe(true);
      expect(scripts.plain.some((s) => s.startsWith('// @ts-check'))).toBe(true);
    }
  });

  it('lets a live page reach its own origin only, and a report no network at all', () => {
    expect(policyOf(renderPage({ view: 'overview' })).get('connect-src')).toEqual(["'self'"]);
    expect(policyOf(renderPage({ view: 'report', data: reportData('ok') })).get('connect-src')).toEqual(["'none'"]);
  });

  it('embeds the page config and a report\'s data as JSON that no text can break out of', () => {
    const evil = '</script><script>alert(1)</script><!-- & \u2028\u2029 >';
    const html = renderPage({ view: 'report', data: reportData(evil) });
    const { typed } = blocks(html, 'script');
    expect(typed.map((t) => [t.type, t.id])).toEqual([
      ['application/json', 'rollgate-page'],
      ['application/json', 'rollgate-data'],
    ]);
    const data = typed[1]!.text;
    expect(data).not.toMatch(/[<>&\u2028\u2029]/);
    expect((JSON.parse(data) as RolloutPage).records[0]!.reason).toBe(evil);
    expect(JSON.parse(typed[0]!.text)).toEqual({ view: 'report' });

    const rollout = renderPage({ view: 'rollout', rollout: 'ns/</script>' });
    const config = blocks(rollout, 'script').typed[0]!;
    expect(JSON.parse(config.text)).toEqual({ view: 'rollout', rollout: 'ns/</script>' });
    expect(rollout).toContain('<title>rollgate: ns/&#60;/script&#62;</title>');
    expect(scriptJson('\u2028<')).toBe('"\\u2028\\u003c"');
  });

  it('dashboard/app.js type-checks against view.ts and uPlot (tsc -p dashboard)', () => {
    execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'dashboard', '--noEmit'], { stdio: 'pipe' });
  }, 180_000);
});
