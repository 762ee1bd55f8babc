/**
 * The Prometheus metrics provider: PromQL over the HTTP query API (Prometheus, Thanos, Mimir,
 * VictoriaMetrics), POSTed as a form so that long queries never hit URL limits.
 *
 * - `instant(query, at)` never throws: every failure is a `{ value: null, reason }` Sample.
 * - `range(query, start, end, step)` throws a `PrometheusError` (message safe to print) and
 *   splits spans longer than 10,000 points into several requests (Prometheus refuses 11,000).
 * - Transient failures (network, timeout, 5xx, 429, garbled answers) are retried with
 *   exponential backoff (p-retry); a Retry-After (429, 503) is honoured up to `maxRetryAfterMs`.
 *   A 4xx other than 429 is not retried: 400/422 is a bad query, i.e. a plan problem, and the
 *   reason says so with the query and Prometheus' error text.
 * - Credentials come from files (see credentials.ts); no secret ever reaches a reason, an
 *   error message or a log line: messages are built here from safe parts, never from the HTTP
 *   client's error (which carries the request headers), and are scrubbed once more.
 * - Every HTTP request goes through a `QueryPool` (query-pool.ts), the controller's one pool
 *   shared by the providers of all plans: a cap on requests in flight, turns by rollout,
 *   checkpoint queries before guard queries, single-flight of identical requests, and the
 *   keep-alive agents. Each attempt (a retry too) waits for its turn there, and its timeout
 *   starts when it leaves the pool.
 */
import { createHash } from 'node:crypto';
import axios, { type AxiosResponse } from 'axios';
import pRetry from 'p-retry';
import { safeUrl, type Logger } from '../support/log.js';
import { formatDuration } from '../plan/duration.js';
import type { PrometheusConfig } from '../plan/schema.js';
import { Credentials } from './credentials.js';
import { PrometheusError } from './errors.js';
import { QueryNotSentError, QueryPool } from './query-pool.js';
import { parseRetryAfter } from '../support/retry-after.js';
import type { MetricsProvider, Sample } from '../core/metrics-provider.js';
import { isApiEnvelope, judgeInstant, judgeRange, type Judged } from './result.js';
import { formatSpan } from '../support/human-time.js';

export { PrometheusError } from './errors.js';

/** Prometheus refuses range queries of more than 11,000 points per series; stay below. */
export const MAX_RANGE_POINTS = 10_000;

/**
 * What the `onQuery` hook learns about each HTTP request (one per attempt; a request shared by
 * several callers, single-flight, is reported once, by the provider that sent it).
 */
export interface QueryInfo {
  kind: 'instant' | 'range';
  /** 1 for the first try, 2 for the first retry, ... */
  attempt: number;
  durationMs: number;
  ok: boolean;
  /** HTTP status when an answer arrived. */
  status?: number;
  /** The PrometheusError kind when `ok` is false (`timeout`, `server`, `bad-query`, ...). */
  errorKind?: string;
  /** Safe message when `ok` is false. */
  error?: string;
}

export interface PrometheusProviderOptions {
  /** Base URL; a path prefix (`http://mimir/prometheus`) is kept. */
  address: string;
  /** Per-request timeout, also sent to Prometheus as `timeout=`. Default 10 s. */
  timeoutMs?: number;
  headers?: Record<string, string>;
  bearerTokenFile?: string;
  basicAuth?: { username: string; passwordFile: string };
  log: Logger;
  /** Retries after the first attempt for transient failures. Default 3. */
  retries?: number;
  /** Exponential backoff between retries: first delay and cap. Default 500 ms .. 8 s. */
  backoff?: { minMs?: number; maxMs?: number };
  /** Upper bound on a 429 Retry-After wait. Default 30 s. */
  maxRetryAfterMs?: number;
  /** How often credential files are re-read even when unchanged. Default 60 s. */
  credentialsRefreshMs?: number;
  /** Called after every HTTP request (for prom-client histograms); exceptions are ignored. */
  onQuery?(info: QueryInfo): void;
  /** The pool the requests go through, shared by every provider of a controller; default: one of its own. */
  pool?: QueryPool;
  /** The rollout whose queries these are: the pool's waiting requests take turns by rollout. */
  rollout?: string;
  /**
   * Set by `within`: the queries are guard queries (they wait behind checkpoint queries), and
   * one still waiting in the pool this long after the `instant` call is not sent.
   */
  guardBudgetMs?: number;
}

/** Maps the plan's `prometheus` block to provider options. */
export function providerOptionsFromPlan(
  cfg: PrometheusConfig,
  extra: { log: Logger; address?: string } & Partial<PrometheusProviderOptions>,
): PrometheusProviderOptions {
  const address = extra.address ?? cfg.address;
  if (!address) throw new Error('prometheus.address is not set (set it in the plan or pass --prometheus)');
  return {
    ...extra,
    address,
    timeoutMs: cfg.timeout,
    headers: cfg.headers,
    ...(cfg.bearerTokenFile ? { bearerTokenFile: cfg.bearerTokenFile } : {}),
    ...(cfg.basicAuth ? { basicAuth: cfg.basicAuth } : {}),
  };
}

/**
 * The provider a controller builds for a plan: its `prometheus` block, the controller's
 * `--prometheus` where the plan has no address, and a hook for query metrics.
 */
export function providerForPlan(
  cfg: PrometheusConfig,
  opts: { log: Logger; fallbackAddress?: string | undefined; onQuery?: (info: QueryInfo) => void; pool?: QueryPool | undefined; rollout?: string },
): PrometheusProvider {
  return new PrometheusProvider(
    providerOptionsFromPlan(cfg, {
      log: opts.log,
      ...(cfg.address || !opts.fallbackAddress ? {} : { address: opts.fallbackAddress }),
      ...(opts.onQuery ? { onQuery: opts.onQuery } : {}),
      ...(opts.pool ? { pool: opts.pool } : {}),
      ...(opts.rollout !== undefined ? { rollout: opts.rollout } : {}),
    }),
  );
}

const MAX_ERROR_TEXT = 500;

export class PrometheusProvider implements MetricsProvider {
  private readonly base: string;
  private readonly timeoutMs: number;
  private readonly retries: number;
  private readonly minBackoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly maxRetryAfterMs: number;
  private readonly credentials: Credentials;
  private readonly log: Logger;
  private readonly onQuery: ((info: QueryInfo) => void) | undefined;
  private readonly pool: QueryPool;
  /**
   * Who the requests are sent as: address and credentials (file paths, header values), hashed.
   * Part of the single-flight key, so only requests sent alike are shared.
   */
  private readonly identity: string;

  constructor(private readonly opts: PrometheusProviderOptions) {
    this.base = opts.address.replace(/\/+$/, '');
    this.timeoutMs = opts.timeoutMs ?? 10_000;
    this.retries = opts.retries ?? 3;
    this.minBackoffMs = opts.backoff?.minMs ?? 500;
    this.maxBackoffMs = opts.backoff?.maxMs ?? 8_000;
    this.maxRetryAfterMs = opts.maxRetryAfterMs ?? 30_000;
    this.credentials = new Credentials({
      ...(opts.headers ? { headers: opts.headers } : {}),
      ...(opts.bearerTokenFile ? { bearerTokenFile: opts.bearerTokenFile } : {}),
      ...(opts.basicAuth ? { basicAuth: opts.basicAuth } : {}),
      ...(opts.credentialsRefreshMs !== undefined ? { refreshMs: opts.credentialsRefreshMs } : {}),
    });
    this.log = opts.log.child({ component: 'prometheus', address: safeUrl(this.base) });
    this.onQuery = opts.onQuery;
    this.pool = opts.pool ?? new QueryPool();
    this.identity = createHash('sha256')
      .update(JSON.stringify([this.base, opts.headers ?? {}, opts.bearerTokenFile ?? null, opts.basicAuth ?? null]))
      .digest('base64url');
  }

  /**
   * A provider whose instant queries end within `budgetMs`: the timeout is at most the budget,
   * one retry is made only when two attempts and the first backoff fit in it, and a 429's
   * Retry-After is not waited for. Used for guard ticks, so that a failing Prometheus can
   * never make one tick outlast the guard interval. Its queries are guard queries in the pool
   * (same pool): behind checkpoint queries, and not sent once the budget has passed.
   */
  within(budgetMs: number): PrometheusProvider {
    const timeoutMs = Math.max(1, Math.min(this.timeoutMs, budgetMs));
    const retries = Math.min(this.retries, 2 * timeoutMs + this.minBackoffMs <= budgetMs ? 1 : 0);
    return new PrometheusProvider({ ...this.opts, timeoutMs, retries, maxRetryAfterMs: 0, pool: this.pool, guardBudgetMs: budgetMs });
  }

  async instant(query: string, at: number): Promise<Sample> {
    try {
      return await this.evaluate(query, at);
    } catch (err) {
      const problem = err instanceof PrometheusError && err.kind === 'bad-query' ? { problem: 'bad-query' as const } : {};
      return { value: null, reason: this.safeMessage(err), ...problem };
    }
  }

  /**
   * `instant`, except that a failure to get an answer (after the retries) rejects with a
   * PrometheusError instead of becoming a `nodata` Sample: for callers that must tell
   * "Prometheus is unreachable" from "the query has no data" (`simulate`).
   */
  async evaluate(query: string, at: number): Promise<Sample> {
    let judged: Judged;
    const budget = this.opts.guardBudgetMs;
    const deadline = budget === undefined ? undefined : performance.now() + budget;
    try {
      const data = await this.call('instant', query, { query, time: seconds(at) }, deadline);
      judged = judgeInstant(data);
    } catch (err) {
      if (err instanceof PrometheusError) throw new PrometheusError(this.safeMessage(err), { kind: err.kind, ...(err.status !== undefined ? { status: err.status } : {}) });
      return { value: null, reason: this.safeMessage(err) }; // a bug in reading the answer, not an unreachable Prometheus
    }
    if (judged.several) {
      this.log.error({ query, samples: judged.several, at: new Date(at).toISOString() }, `query returned ${judged.several} samples, expected one: aggregate it (sum, max, ...) so it yields a single number`);
    }
    return judged.sample;
  }

  async range(query: string, start: number, end: number, stepMs: number): Promise<Map<number, Sample>> {
    if (!(stepMs > 0) || !(end >= start)) throw new RangeError(`invalid range: start ${start}, end ${end}, step ${stepMs}`);
    const out = new Map<number, Sample>();
    const chunkMs = (MAX_RANGE_POINTS - 1) * stepMs;
    for (let from = start; from <= end; from += chunkMs + stepMs) {
      const to = Math.min(end, from + chunkMs);
      const steps: number[] = [];
      for (let t = from; t <= to; t += stepMs) steps.push(t);
      let data: unknown;
      try {
        data = await this.call('range', query, { query, start: seconds(from), end: seconds(to), step: seconds(stepMs) });
      } catch (err) {
        if (err instanceof PrometheusError) throw err;
        throw new PrometheusError(this.safeMessage(err), { kind: 'response' });
      }
      const judged = judgeRange(data, steps);
      if (judged.several > 0) {
        this.log.error({ query, steps: judged.several }, 'query returned several samples at some steps, expected one: aggregate it (sum, max, ...) so it yields a single number');
      }
      for (const [t, s] of judged.samples) out.set(t, s);
    }
    return out;
  }

  /**
   * One API call with retries; resolves to `data` or rejects with a PrometheusError. A guard
   * query (`deadline`, on performance.now()) still waiting in the pool at its deadline is not sent.
   */
  private async call(kind: 'instant' | 'range', query: string, params: Record<string, string>, deadline?: number): Promise<unknown> {
    const path = kind === 'instant' ? '/api/v1/query' : '/api/v1/query_range';
    const form = new URLSearchParams({ ...params, timeout: seconds(this.timeoutMs) });
    try {
      return await pRetry((attempt) => this.attempt(kind, path, form, query, attempt, deadline), {
        retries: this.retries,
        factor: 2,
        minTimeout: this.minBackoffMs,
        maxTimeout: this.maxBackoffMs,
        shouldRetry: ({ error }) => error instanceof PrometheusError && error.retryable,
        onFailedAttempt: (ctx) => this.beforeRetry(ctx, query),
      });
    } catch (err) {
      if (!(err instanceof PrometheusError)) throw err;
      if (!err.retryable || this.retries === 0) throw err;
      throw new PrometheusError(`${err.message} (gave up after ${this.retries + 1} attempts)`, {
        kind: err.kind,
        ...(err.status !== undefined ? { status: err.status } : {}),
      });
    }
  }

  /** Logs a failed attempt and, for a 429 with Retry-After, waits the part of it the backoff does not cover. */
  private async beforeRetry(
    ctx: { error: Error; attemptNumber: number; retriesLeft: number; retriesConsumed: number },
    query: string,
  ): Promise<void> {
    const err = ctx.error;
    if (!(err instanceof PrometheusError) || !err.retryable || ctx.retriesLeft <= 0) return;
    this.log.warn({ query, attempt: ctx.attemptNumber, retriesLeft: ctx.retriesLeft, kind: err.kind }, `prometheus query failed, retrying: ${err.message}`);
    if (err.retryAfterMs === undefined) return;
    const backoff = Math.min(this.minBackoffMs * 2 ** ctx.retriesConsumed, this.maxBackoffMs);
    const extra = Math.min(err.retryAfterMs, this.maxRetryAfterMs) - backoff;
    if (extra > 0) await new Promise((resolve) => setTimeout(resolve, extra));
  }

  /**
   * One attempt through the pool: it waits for its turn (or joins an identical request waiting
   * or in flight: single-flight on address, credentials, path and form), then `send`s. Callers
   * of a shared request get the same `data` (or the same PrometheusError, immutable); they only
   * read it, and each builds Samples of its own from it (result.ts), so no Sample is shared.
   */
  private async attempt(kind: 'instant' | 'range', path: string, form: URLSearchParams, query: string, attempt: number, deadline: number | undefined): Promise<unknown> {
    try {
      return await this.pool.run({
        rollout: this.opts.rollout ?? '',
        priority: deadline === undefined ? 'checkpoint' : 'guard',
        ...(deadline !== undefined ? { deadline } : {}),
        key: `${this.identity} ${path} ${form.toString()}`,
        send: () => this.send(kind, path, form, query, attempt),
      });
    } catch (err) {
      if (!(err instanceof QueryNotSentError)) throw err;
      throw new PrometheusError(
        `not sent: the guard query waited ${formatSpan(err.waitedMs)} for one of rollgate's ${this.pool.maxInFlight} Prometheus query slots (${err.inFlight} in flight, ${err.queued} waiting), past the guard budget of ${formatDuration(this.opts.guardBudgetMs ?? 0)}: the controller sends more queries than --max-queries lets through`,
        { kind: 'not-sent' },
      );
    }
  }

  /** One HTTP request; its timeout starts here, when the request has left the pool. */
  private async send(kind: 'instant' | 'range', path: string, form: URLSearchParams, query: string, attempt: number): Promise<unknown> {
    const started = performance.now();
    let status: number | undefined;
    try {
      const headers = await this.credentials.headers();
      const signal = AbortSignal.timeout(this.timeoutMs);
      let res: AxiosResponse<unknown>;
      try {
        res = await axios.post(this.base + path, form, {
          headers: { ...headers, 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' },
          signal,
          validateStatus: () => true,
          maxRedirects: 0,
          httpAgent: this.pool.agents.http,
          httpsAgent: this.pool.agents.https,
        });
      } catch (err) {
        throw this.transportError(err, signal.aborted);
      }
      status = res.status;
      const data = this.interpret(res, query);
      this.report({ kind, attempt, durationMs: performance.now() - started, ok: true, status });
      return data;
    } catch (err) {
      const e = err instanceof PrometheusError ? err : new PrometheusError(this.safeMessage(err), { kind: 'response' });
      this.report({ kind, attempt, durationMs: performance.now() - started, ok: false, errorKind: e.kind, error: e.message, ...(status !== undefined ? { status } : {}) });
      throw e;
    }
  }

  /** An HTTP answer to `data` or a classified PrometheusError. */
  private interpret(res: AxiosResponse<unknown>, query: string): unknown {
    const body = res.data;
    const where = `Prometheus at ${safeUrl(this.base)}`;
    const promError = isApiEnvelope(body) && typeof body.error === 'string' ? this.errorText(body.error) : undefined;
    if (res.status >= 200 && res.status < 300) {
      if (!isApiEnvelope(body) || body.status !== 'success' || !body.data) {
        throw new PrometheusError(`${where} answered HTTP ${res.status} without a Prometheus API response`, { kind: 'response', status: res.status });
      }
      const warnings = [...(Array.isArray(body.warnings) ? body.warnings : []), ...(Array.isArray(body.infos) ? body.infos : [])];
      if (warnings.length > 0) this.log.debug({ query, warnings: warnings.map((w) => this.errorText(String(w))) }, 'prometheus returned warnings');
      return body.data;
    }
    const said = promError ? `: ${promError}` : '';
    if (res.status === 400 || res.status === 422) {
      throw new PrometheusError(
        `bad query (a plan problem, not retried): Prometheus said: ${promError ?? `HTTP ${res.status}`}; query: ${query}`,
        { kind: 'bad-query', status: res.status },
      );
    }
    if (res.status === 401 || res.status === 403) {
      throw new PrometheusError(`${where} refused the credentials (HTTP ${res.status})${said}: check prometheus.bearerTokenFile / basicAuth / headers`, { kind: 'credentials', status: res.status });
    }
    if (res.status === 429) {
      const retryAfterMs = parseRetryAfter(res.headers['retry-after']);
      throw new PrometheusError(`${where} is rate limiting (HTTP 429)${said}`, { kind: 'rate-limited', status: 429, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) });
    }
    if (res.status >= 500) {
      const retryAfterMs = parseRetryAfter(res.headers['retry-after']);
      throw new PrometheusError(`${where} failed (HTTP ${res.status})${said}`, { kind: 'server', status: res.status, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) });
    }
    throw new PrometheusError(`${where} answered HTTP ${res.status}${said}: check prometheus.address`, { kind: 'client', status: res.status });
  }

  /** A transport failure (no HTTP answer) as a PrometheusError, built from the error code only. */
  private transportError(err: unknown, timedOut: boolean): PrometheusError {
    const where = `Prometheus at ${safeUrl(this.base)}`;
    if (timedOut) return new PrometheusError(`${where} did not answer within ${formatDuration(this.timeoutMs)} (timeout)`, { kind: 'timeout' });
    const code = axios.isAxiosError(err) ? err.code : (err as NodeJS.ErrnoException | undefined)?.code;
    if (code === 'ECONNABORTED' || code === 'ETIMEDOUT') {
      return new PrometheusError(`${where} did not answer in time (${code})`, { kind: 'timeout' });
    }
    return new PrometheusError(`cannot reach ${where} (${code ?? 'network error'})`, { kind: 'network' });
  }

  /** Prometheus' own error text, shortened and scrubbed. */
  private errorText(text: string): string {
    const short = text.length > MAX_ERROR_TEXT ? `${text.slice(0, MAX_ERROR_TEXT)}...` : text;
    return this.credentials.scrub(short);
  }

  /** A message safe to print for any thrown value. */
  private safeMessage(err: unknown): string {
    if (err instanceof PrometheusError) return this.credentials.scrub(err.message);
    // Not expected (a bug); axios errors never get here. Name and message only, scrubbed.
    const e = err instanceof Error ? err : new Error(String(err));
    return this.credentials.scrub(`internal error in the Prometheus provider: ${e.name}: ${e.message}`);
  }

  private report(info: QueryInfo): void {
    if (!this.onQuery) return;
    try {
      this.onQuery(info);
    } catch {
      // An observability hook must never break a query.
    }
  }
}

/** Epoch or duration milliseconds as the API's float seconds ("1700000000.5"). */
function seconds(ms: number): string {
  return String(ms / 1000);
}
