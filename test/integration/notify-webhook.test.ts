/**
 * The notifier against a real HTTP server on 127.0.0.1: what is posted, when, how failures
 * are retried and given up, and that the webhook's secret path never shows up anywhere.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { DecisionRecord } from '../../src/core/record.js';
import { createLogger } from '../../src/support/log.js';
import { Notifier, type NotifierOptions, type NotifyBody } from '../../src/observe/notify.js';
import type { Notify } from '../../src/plan/schema.js';

const SECRET_PATH = '/services/T0SECRET/B0SECRET/XXXXSECRETXXXX';
const SECRET_QUERY = 'sig=QUERYSECRET';

interface Received {
  path: string;
  contentType: string | undefined;
  body: NotifyBody;
}

/** A webhook receiver; `answer` decides each reply (call `res.end` later to hold it). */
async function startReceiver(answer: (n: number, res: ServerResponse) => void) {
  const received: Received[] = [];
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let data = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (data += c));
    req.on('end', () => {
      received.push({ path: req.url ?? '', contentType: req.headers['content-type'], body: JSON.parse(data) as NotifyBody });
      answer(received.length, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    received,
    port,
    url: `http://127.0.0.1:${port}${SECRET_PATH}?${SECRET_QUERY}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function reply(res: ServerResponse, status: number, headers: Record<string, string> = {}) {
  res.writeHead(status, { 'content-type': 'text/plain', ...headers });
  res.end(status < 300 ? 'ok' : 'nope');
}

function capture() {
  const lines: string[] = [];
  const log = createLogger({ level: 'debug', destination: { write: (s: string) => void lines.push(s) } });
  const parsed = () => lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  return { log, lines, parsed };
}

function record(seq: number, decision: DecisionRecord['decision'], over: Partial<DecisionRecord> = {}): DecisionRecord {
  return {
    seq,
    rollout: 'learning/analyzer',
    revision: '2025.11.1',
    planHash: 'sha256:1',
    kind: 'checkpoint',
    phase: 'ramp',
    phaseIndex: 1,
    checkpoint: { index: 3, of: 6, due: '2025-11-01T15:30:00Z', window: '30m' },
    at: '2025-11-01T15:30:00.200Z',
    decision,
    reason: decision === 'rollback' ? 'critical metric failed' : '1/1 metrics pass',
    score: null,
    metrics: [
      { name: 'error-rate', query: 'sum(rate(x[30m]))', value: decision === 'rollback' ? 0.012 : 0.001, max: 0.005, verdict: decision === 'rollback' ? 'fail' : 'pass', critical: true },
    ],
    weight: { from: 10, to: decision === 'rollback' ? 0 : 10 },
    mirror: { from: 0, to: 0 },
    actor: 'controller',
    ...over,
  };
}

/** Fast retries for tests; every option can be overridden. */
function notifier(entries: Notify[], log: NotifierOptions['log'], over: Partial<NotifierOptions> = {}) {
  return new Notifier(entries, { log, attempts: 3, minRetryDelayMs: 5, maxRetryDelayMs: 20, timeoutMs: 2_000, ...over });
}

function expectNoSecret(texts: string[]) {
  for (const t of texts) {
    expect(t).not.toContain('SECRET');
    expect(t).not.toContain('/services/');
    expect(t).not.toContain('sig=');
  }
}

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

async function setup(answer: (n: number, res: ServerResponse) => void, on: Notify['on'] = ['rollback', 'pause', 'complete'], over: Partial<NotifierOptions> = {}) {
  const receiver = await startReceiver(answer);
  const { log, lines, parsed } = capture();
  const n = notifier([{ webhook: receiver.url, on }], log, over);
  cleanups.push(receiver.close, () => n.close());
  return { receiver, n, lines, parsed };
}

describe('Notifier with a real webhook receiver', () => {
  it('posts a Slack-compatible body with the record, only for the decisions in `on`, in order', async () => {
    const { receiver, n, lines } = await setup((_, res) => reply(res, 200), ['rollback', 'complete']);
    n.notify(record(1, 'continue'));
    n.notify(record(2, 'rollback'));
    n.notify(record(3, 'complete', { reason: 'all phases passed', metrics: [] }));
    expect(await n.flush(5_000)).toBe(true);
    expect(receiver.received.map((r) => r.body.record.seq)).toEqual([2, 3]);
    const [first] = receiver.received;
    expect(first?.path).toBe(`${SECRET_PATH}?${SECRET_QUERY}`);
    expect(first?.contentType).toBe('application/json');
    expect(first?.body.text).toBe(':rotating_light: learning/analyzer rolled back at ramp: error-rate=0.012 > 0.005');
    expect(first?.body.record).toEqual(record(2, 'rollback'));
    expect(lines.filter((l) => l.includes('"level":"warn"') || l.includes('"level":"error"'))).toEqual([]);
  });

  it('never blocks: notify() returns before the server answers, flush() waits for it', async () => {
    let release: (() => void) | undefined;
    const { receiver, n } = await setup((_, res) => (release = () => reply(res, 200)));
    const started = performance.now();
    n.notify(record(1, 'rollback'));
    expect(performance.now() - started).toBeLessThan(50);
    expect(receiver.received).toHaveLength(0);
    expect(n.pending).toBe(1);
    await vi.waitFor(() => expect(receiver.received).toHaveLength(1));
    expect(await n.flush(50)).toBe(false);
    expect(n.pending).toBe(1);
    release?.();
    expect(await n.flush(5_000)).toBe(true);
    expect(n.pending).toBe(0);
  });

  it('retries after 500s and delivers', async () => {
    const failures = vi.fn();
    const { receiver, n, parsed } = await setup((i, res) => reply(res, i <= 2 ? 500 : 200), ['rollback'], { onFailure: failures });
    n.notify(record(4, 'rollback'));
    expect(await n.flush(5_000)).toBe(true);
    expect(receiver.received).toHaveLength(3);
    expect(receiver.received.every((r) => r.body.record.seq === 4)).toBe(true);
    expect(failures).not.toHaveBeenCalled();
    expect(parsed().filter((l) => l.event === 'notify-failed')).toEqual([]);
  });

  it('gives up after N tries with one warning that names the decision but not the URL', async () => {
    const receiver = await startReceiver((_, res) => reply(res, 503));
    const { log, lines, parsed } = capture();
    const failures = vi.fn();
    const n = notifier([{ webhook: receiver.url, on: ['rollback'] }], log, { attempts: 4, onFailure: failures });
    cleanups.push(receiver.close, () => n.close());
    let thrown: unknown;
    try {
      n.notify(record(7, 'rollback'));
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeUndefined();
    expect(await n.flush(5_000)).toBe(true);
    expect(receiver.received).toHaveLength(4);
    expect(failures).toHaveBeenCalledTimes(1);
    const gaveUp = parsed().filter((l) => l.event === 'notify-failed');
    expect(gaveUp).toHaveLength(1);
    expect(gaveUp[0]).toMatchObject({
      level: 'warn',
      rollout: 'learning/analyzer',
      seq: 7,
      decision: 'rollback',
      attempts: 4,
      status: 503,
      webhookIndex: 0,
      target: `http://127.0.0.1:${receiver.port}/…`,
    });
    expect(String(gaveUp[0]?.msg)).toContain('HTTP 503');
    expect(lines.length).toBeGreaterThan(1); // debug lines for the retries are checked too
    expectNoSecret(lines);
  });

  it('does not retry other 4xx', async () => {
    const { receiver, n, lines, parsed } = await setup((_, res) => reply(res, 404));
    n.notify(record(2, 'rollback'));
    expect(await n.flush(5_000)).toBe(true);
    expect(receiver.received).toHaveLength(1);
    expect(parsed().filter((l) => l.event === 'notify-failed')[0]).toMatchObject({ attempts: 1, status: 404 });
    expectNoSecret(lines);
  });

  it('retries 429, honouring Retry-After', async () => {
    const { receiver, n } = await setup((i, res) => (i === 1 ? reply(res, 429, { 'retry-after': '0' }) : reply(res, 200)));
    n.notify(record(2, 'rollback'));
    expect(await n.flush(5_000)).toBe(true);
    expect(receiver.received).toHaveLength(2);
  });

  it('a webhook that never answers times out per request', async () => {
    const { receiver, n, lines, parsed } = await setup(() => undefined, ['rollback'], { timeoutMs: 100, attempts: 2 });
    n.notify(record(3, 'rollback'));
    expect(await n.flush(5_000)).toBe(true);
    expect(receiver.received).toHaveLength(2);
    const gaveUp = parsed().find((l) => l.event === 'notify-failed');
    expect(String(gaveUp?.msg)).toContain('no answer within 0.1 s');
    expectNoSecret(lines);
  });

  it('past the queue bound the oldest deliveries are dropped with a warning', async () => {
    const holds: Array<() => void> = [];
    const { receiver, n, parsed } = await setup((_, res) => holds.push(() => reply(res, 200)), ['rollback'], { maxQueue: 2 });
    n.notify(record(1, 'rollback'));
    await vi.waitFor(() => expect(holds).toHaveLength(1));
    for (let seq = 2; seq <= 5; seq++) n.notify(record(seq, 'rollback'));
    expect(n.pending).toBe(3);
    // Seq 1 is in flight, 2..5 were queued with room for two: 2 and 3 are dropped.
    const drops = parsed().filter((l) => String(l.msg).includes('queue full'));
    expect(drops).toHaveLength(1);
    expect(drops[0]).toMatchObject({ level: 'warn', seq: 2, rollout: 'learning/analyzer' });
    const answerAll = setInterval(() => holds.splice(0).forEach((h) => h()), 5);
    cleanups.push(() => clearInterval(answerAll));
    expect(await n.flush(5_000)).toBe(true);
    expect(receiver.received.map((r) => r.body.record.seq)).toEqual([1, 4, 5]);
  });

  it('a dead webhook does not delay another one', async () => {
    const dead = await startReceiver(() => undefined);
    const alive = await startReceiver((_, res) => reply(res, 200));
    const { log } = capture();
    const n = notifier(
      [
        { webhook: dead.url, on: ['rollback'] },
        { webhook: alive.url, on: ['rollback'] },
      ],
      log,
    );
    cleanups.push(dead.close, alive.close, () => n.close());
    n.notify(record(1, 'rollback'));
    n.notify(record(2, 'rollback'));
    await vi.waitFor(() => expect(alive.received.map((r) => r.body.record.seq)).toEqual([1, 2]), { timeout: 1_000 });
    expect(n.pending).toBeGreaterThan(0);
  });

  it('close() stops deliveries in flight and queued, quietly', async () => {
    const { receiver, n, parsed } = await setup(() => undefined, ['rollback']);
    n.notify(record(1, 'rollback'));
    n.notify(record(2, 'rollback'));
    await vi.waitFor(() => expect(receiver.received).toHaveLength(1));
    n.close();
    expect(await n.flush(1_000)).toBe(true);
    expect(parsed().filter((l) => l.event === 'notify-failed')).toEqual([]);
    n.notify(record(3, 'rollback'));
    expect(n.pending).toBe(0);
  });

  it('a webhook that is not an http(s) URL is reported without its value and skipped', () => {
    const { log, lines } = capture();
    const n = notifier([{ webhook: 'ftp://files.example.com/XXXXSECRETXXXX', on: ['rollback'] }], log);
    n.notify(record(1, 'rollback'));
    expect(n.pending).toBe(0);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('ftp://files.example.com/…');
    expectNoSecret(lines);
  });
});
