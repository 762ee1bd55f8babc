/**
 * Network faults a real server cannot easily produce on demand, injected with nock: a
 * connection reset mid-request is retried, and when it persists the failure is logged with
 * the webhook redacted, even though the client's own error quotes the full URL.
 */
import nock from 'nock';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { DecisionRecord } from '../../src/core/record.js';
import { createLogger } from '../../src/support/log.js';
import { Notifier } from '../../src/observe/notify.js';
import { postWebhook, WebhookError } from '../../src/observe/webhook.js';

const HOST = 'https://hooks.slack.example';
const PATH = '/services/T0SECRET/B0SECRET/XXXXSECRETXXXX';
const WEBHOOK = `${HOST}${PATH}`;

function reset(): Error {
  // The client error quotes the URL, as real ones can; none of it may reach a log line.
  // (nock 14 only emits Error instances; a plain {code, message} object makes the request hang.)
  return Object.assign(new Error(`socket hang up while posting to ${WEBHOOK}`), { code: 'ECONNRESET' });
}

function rollback(seq: number): DecisionRecord {
  return {
    seq,
    rollout: 'learning/analyzer',
    revision: '2025.11.1',
    planHash: 'sha256:1',
    kind: 'guard',
    phase: 'ramp',
    phaseIndex: 1,
    at: '2025-11-01T15:31:00Z',
    decision: 'rollback',
    reason: 'error-rate above rollbackAbove',
    metrics: [{ name: 'error-rate', query: 'q', value: 0.03, rollbackAbove: 0.02, verdict: 'fail', critical: true }],
    weight: { from: 10, to: 0 },
    mirror: { from: 0, to: 0 },
    actor: 'controller',
  };
}

function setup() {
  const lines: string[] = [];
  const log = createLogger({ level: 'debug', destination: { write: (s: string) => void lines.push(s) } });
  const failures = vi.fn();
  const notifier = new Notifier([{ webhook: WEBHOOK, on: ['rollback'] }], {
    log,
    attempts: 3,
    minRetryDelayMs: 5,
    maxRetryDelayMs: 20,
    timeoutMs: 1_000,
    onFailure: failures,
  });
  return { notifier, lines, failures };
}

beforeAll(() => nock.disableNetConnect());
afterEach(() => nock.cleanAll());
afterAll(() => {
  nock.enableNetConnect();
  nock.restore();
});

describe('Notifier under connection resets', () => {
  it('a reset connection is retried and the decision delivered', async () => {
    const scope = nock(HOST)
      .post(PATH)
      .replyWithError(reset())
      .post(PATH)
      .replyWithError(reset())
      .post(PATH, (body: { text: string; record: { seq: number } }) => body.record.seq === 11)
      .reply(200, 'ok');
    const { notifier, failures } = setup();
    notifier.notify(rollback(11));
    expect(await notifier.flush(5_000)).toBe(true);
    expect(scope.isDone()).toBe(true);
    expect(failures).not.toHaveBeenCalled();
  });

  it('resets on every try: gives up, logs the code and a redacted webhook only', async () => {
    nock(HOST).post(PATH).times(3).replyWithError(reset());
    const { notifier, lines, failures } = setup();
    notifier.notify(rollback(12));
    expect(await notifier.flush(5_000)).toBe(true);
    expect(failures).toHaveBeenCalledTimes(1);
    const gaveUp = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.event === 'notify-failed');
    expect(gaveUp).toMatchObject({ seq: 12, rollout: 'learning/analyzer', attempts: 3, target: 'https://hooks.slack.example/…' });
    expect(String(gaveUp?.msg)).toContain('network error ECONNRESET');
    for (const line of lines) {
      expect(line).not.toContain('SECRET');
      expect(line).not.toContain('/services/');
    }
  });

  it('the error thrown by one post carries neither the path nor the client error', async () => {
    nock(HOST).post(PATH).query({ sig: 'QUERYSECRET' }).replyWithError(reset());
    const err: unknown = await postWebhook(`${WEBHOOK}?sig=QUERYSECRET`, '{}', { timeoutMs: 1_000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WebhookError);
    const e = err as WebhookError;
    expect(e.retryable).toBe(true);
    expect(e.message).toBe('webhook https://hooks.slack.example/…: network error ECONNRESET');
    for (const text of [e.message, String(e), e.stack ?? '', JSON.stringify(e), JSON.stringify(Object.entries(e))]) {
      expect(text).not.toContain('SECRET');
      expect(text).not.toContain('/services/');
    }
  });
});
