/**
 * The secrets check (src/devtools/secrets-check.ts; full run: `npm run harness:secrets`):
 * bearer token file, secret header, basic auth against a real Prometheus with
 * --web.config.file, a webhook URL with tokens, proxies echoing request headers in their
 * errors; every output of run (its logs as JSON and pretty), status, history, simulate (its logs
 * pretty, at debug), validate, plan, /metrics, the journals and the webhook bodies is searched
 * for every secret: 0 leaks.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { findLeaks, secretForms, secretsCheck } from '../../src/devtools/secrets-check.js';

const MAIN = path.resolve(__dirname, '../../dist/main.js');

describe('secrets check', () => {
  it('finds a secret in any output, also base64(user:password)', () => {
    const secrets = secretForms();
    const leaks = findLeaks({ a: `Authorization: Basic ${secrets['base64(user:password)']}`, b: 'nothing here', c: `x ${secrets['bearer token']} y ${secrets['bearer token']}` }, secrets);
    expect(leaks.map((l) => [l.output, l.secret])).toEqual([
      ['a', 'base64(user:password)'],
      ['c', 'bearer token'],
      ['c', 'bearer token'],
    ]);
    expect(leaks[0]!.context).toBe('Authorization: Basic <base64(user:password)>');
  });

  it('leaks no secret through any output of a rollout with credentials, echoing errors and a webhook', { timeout: 600_000 }, async () => {
    const report = await secretsCheck({ mainJs: MAIN });
    expect(report.leaks).toEqual([]);
    // The check had something to find: the rollouts ran through the echoing proxies (their
    // errors reached the journal), completed, and posted to the webhook (one post failed).
    expect(report.ended).toEqual({ 'sec-bearer': 'complete', 'sec-basic': 'complete' });
    expect(report.echoedErrors).toBeGreaterThan(0);
    expect(report.errorRecords).toBeGreaterThan(0);
    expect(report.webhookPosts).toBeGreaterThanOrEqual(2);
    const searched = Object.keys(report.outputs);
    for (const what of ['run stderr', 'run stderr (pretty)', 'simulate sec-bearer --log-format pretty (echoing proxy, debug)', '/metrics', 'status', 'history sec-basic --output json', 'simulate sec-bearer --output text (echoing proxy)', 'journal default/sec-bearer.jsonl', 'webhook body 1', 'dashboard /', 'dashboard /api/rollouts/default/sec-bearer', 'dashboard /api/events', 'report sec-basic --format html (echoing proxy)', 'report sec-bearer --format json']) {
      expect(searched).toContain(what);
    }
  });
});
