/**
 * Decision notifications to the plan's `notify` webhooks. A notification never blocks or
 * fails a decision: `notify()` only queues; deliveries run in the background, one lane per
 * webhook (so a dead webhook delays no other, and one channel sees decisions in order), each
 * with retries and backoff, a per-request timeout and a bounded queue that drops the oldest.
 *
 * Webhook URLs are secrets (Slack's is in the path): logs and errors name a webhook only by
 * its index in `notify` and `scheme://host/…`.
 */
import pRetry from 'p-retry';
import type { Decision, DecisionRecord } from '../core/record.js';
import type { Notify } from '../plan/schema.js';
import type { Logger } from '../support/log.js';
import { redactWebhook } from '../support/redact.js';
import { notifySummary } from './notify-text.js';
import { postWebhook, WebhookError } from './webhook.js';
import { formatSpan } from '../support/human-time.js';

export interface NotifierOptions {
  log: Logger;
  /** Called once per delivery given up (e.g. ControllerMetrics.observeNotifyFailure). */
  onFailure?: () => void;
  /** Per-request timeout. Default 10 s. */
  timeoutMs?: number;
  /** Tries per delivery, the first included. Default 5. */
  attempts?: number;
  /** Backoff between tries: doubles from min to max, randomized. Defaults 1 s and 30 s. */
  minRetryDelayMs?: number;
  maxRetryDelayMs?: number;
  /** Deliveries waiting per webhook before the oldest is dropped. Default 1000. */
  maxQueue?: number;
}

/** The JSON body posted: Slack-compatible `text` plus the full decision record. */
export interface NotifyBody {
  text: string;
  record: DecisionRecord;
}

interface Delivery {
  record: DecisionRecord;
  body: string;
}

interface Lane {
  index: number;
  url: string;
  /** `scheme://host/…`, the only form of the URL that is ever printed. */
  target: string;
  on: ReadonlySet<Decision>;
  queue: Delivery[];
  /** A drain is scheduled or running. */
  busy: boolean;
  /** The delivery being attempted now, if any. */
  inFlight: Delivery | null;
  dropped: number;
}

export class Notifier {
  private readonly lanes: Lane[] = [];
  private readonly log: Logger;
  private readonly opts: Required<Omit<NotifierOptions, 'log' | 'onFailure'>>;
  private readonly onFailure: () => void;
  private readonly aborter = new AbortController();
  private idleWaiters: Array<() => void> = [];
  private closed = false;

  constructor(notify: readonly Notify[], options: NotifierOptions) {
    this.log = options.log.child({ component: 'notify' });
    this.onFailure = options.onFailure ?? (() => {});
    this.opts = {
      timeoutMs: options.timeoutMs ?? 10_000,
      attempts: Math.max(1, options.attempts ?? 5),
      minRetryDelayMs: options.minRetryDelayMs ?? 1_000,
      maxRetryDelayMs: options.maxRetryDelayMs ?? 30_000,
      maxQueue: Math.max(1, options.maxQueue ?? 1_000),
    };
    notify.forEach((entry, index) => {
      const target = redactWebhook(entry.webhook);
      if (!isHttpUrl(entry.webhook)) {
        this.log.error({ webhookIndex: index, target }, `notify[${index}]: webhook is not an http(s) URL; it will not be called`);
        return;
      }
      this.lanes.push({ index, url: entry.webhook, target, on: new Set(entry.on), queue: [], busy: false, inFlight: null, dropped: 0 });
    });
  }

  /** Queues the record for every webhook whose `on` lists its decision; returns at once. */
  notify(record: DecisionRecord): void {
    if (this.closed) return;
    let body: string | undefined;
    for (const lane of this.lanes) {
      if (!lane.on.has(record.decision)) continue;
      body ??= JSON.stringify({ text: notifySummary(record), record } satisfies NotifyBody);
      lane.queue.push({ record, body });
      if (lane.queue.length > this.opts.maxQueue) this.dropOldest(lane);
      if (!lane.busy) {
        lane.busy = true;
        setImmediate(() => void this.drain(lane));
      }
    }
  }

  /** Deliveries queued or in flight. */
  get pending(): number {
    return this.lanes.reduce((n, lane) => n + lane.queue.length + (lane.inFlight ? 1 : 0), 0);
  }

  /**
   * Waits until every queued delivery is done (delivered or given up), at most `timeoutMs`.
   * Resolves true when all are done, false on timeout (deliveries go on; `close()` stops them).
   */
  flush(timeoutMs: number): Promise<boolean> {
    if (this.isIdle()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (ok: boolean) => {
        clearTimeout(timer);
        this.idleWaiters = this.idleWaiters.filter((w) => w !== onIdle);
        resolve(ok);
      };
      const onIdle = () => done(true);
      const timer = setTimeout(() => {
        this.log.warn({ pending: this.pending }, `notify: ${this.pending} deliveries still pending after ${formatSpan(timeoutMs)}`);
        done(false);
      }, timeoutMs);
      this.idleWaiters.push(onIdle);
    });
  }

  /** Stops: drops queued deliveries, cancels those in flight, ignores later notify() calls. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    const dropped = this.lanes.reduce((n, lane) => n + lane.queue.length, 0);
    for (const lane of this.lanes) lane.queue.length = 0;
    if (dropped > 0) this.log.warn({ dropped }, `notify: closed with ${dropped} deliveries not sent`);
    this.aborter.abort(new WebhookError('notifier closed', false));
    this.notifyIfIdle();
  }

  private dropOldest(lane: Lane): void {
    const oldest = lane.queue.shift();
    lane.dropped += 1;
    // One warning for the first drop and then one per 100, not one per decision in a flood.
    if (oldest && (lane.dropped === 1 || lane.dropped % 100 === 0)) {
      this.log.warn(
        { webhookIndex: lane.index, target: lane.target, rollout: oldest.record.rollout, seq: oldest.record.seq, droppedTotal: lane.dropped },
        `notify[${lane.index}] ${lane.target}: queue full (${this.opts.maxQueue}), dropped the oldest delivery (${lane.dropped} so far)`,
      );
    }
  }

  private async drain(lane: Lane): Promise<void> {
    try {
      for (let next = lane.queue.shift(); next; next = lane.queue.shift()) {
        lane.inFlight = next;
        await this.deliver(lane, next);
        lane.inFlight = null;
      }
    } finally {
      lane.inFlight = null;
      lane.busy = false;
      this.notifyIfIdle();
    }
  }

  /** One delivery with retries; never throws. */
  private async deliver(lane: Lane, delivery: Delivery): Promise<void> {
    const { record } = delivery;
    const signal = this.aborter.signal;
    let attempts = 0;
    try {
      await pRetry(
        async () => {
          attempts += 1;
          await postWebhook(lane.url, delivery.body, { timeoutMs: this.opts.timeoutMs, signal });
        },
        {
          retries: this.opts.attempts - 1,
          factor: 2,
          minTimeout: this.opts.minRetryDelayMs,
          maxTimeout: this.opts.maxRetryDelayMs,
          randomize: true,
          signal,
          shouldRetry: ({ error }) => error instanceof WebhookError && error.retryable,
          onFailedAttempt: async ({ error, attemptNumber, retriesLeft }) => {
            if (!(error instanceof WebhookError) || !error.retryable || retriesLeft === 0) return;
            this.log.debug(
              { webhookIndex: lane.index, target: lane.target, rollout: record.rollout, seq: record.seq, attempt: attemptNumber },
              `notify[${lane.index}]: attempt ${attemptNumber} failed: ${error.message}`,
            );
            // Honour a server's Retry-After (429/503) on top of the backoff, within its cap.
            if (error.retryAfterMs) await sleep(Math.min(error.retryAfterMs, this.opts.maxRetryDelayMs), signal);
          },
        },
      );
    } catch (err) {
      if (signal.aborted) return;
      this.onFailure();
      const reason = err instanceof WebhookError ? err.message : 'unexpected error';
      this.log.warn(
        {
          event: 'notify-failed',
          webhookIndex: lane.index,
          target: lane.target,
          rollout: record.rollout,
          seq: record.seq,
          decision: record.decision,
          attempts,
          status: err instanceof WebhookError ? err.status : undefined,
        },
        `notify[${lane.index}] ${lane.target}: gave up on decision #${record.seq} (${record.decision}) after ${attempts} attempt(s): ${reason}`,
      );
    }
  }

  private isIdle(): boolean {
    return this.lanes.every((lane) => !lane.busy && lane.queue.length === 0);
  }

  private notifyIfIdle(): void {
    if (!this.isIdle()) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }
}

function isHttpUrl(url: string): boolean {
  try {
    const { protocol } = new URL(url);
    return protocol === 'http:' || protocol === 'https:';
  } catch {
    return false;
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
