/**
 * Failures of the Prometheus HTTP API, classified once so that the retry policy, the Sample
 * reasons and the logs agree. Every message here is built by rollgate from safe parts (status,
 * Prometheus' own error text, the query, a credential-free URL), never from an HTTP client's
 * error object, which carries the request configuration and therefore the credentials.
 */

export type PrometheusErrorKind =
  /** Connection refused, reset, DNS failure: retried. */
  | 'network'
  /** The per-query timeout elapsed: retried. */
  | 'timeout'
  /** HTTP 5xx: retried. */
  | 'server'
  /** HTTP 429: retried after Retry-After (bounded) or the backoff. */
  | 'rate-limited'
  /** HTTP 400/422: the query is wrong or cannot be evaluated; a plan problem, not retried. */
  | 'bad-query'
  /** HTTP 401/403 or an unreadable credentials file: configuration, not retried. */
  | 'credentials'
  /** Any other 4xx (404: wrong address or path): configuration, not retried. */
  | 'client'
  /** A 2xx answer that is not a Prometheus API response: retried (proxies, truncation). */
  | 'response'
  /** A guard query still waiting in rollgate's query pool when its budget ran out: never sent, not retried. */
  | 'not-sent';

const RETRYABLE: ReadonlySet<PrometheusErrorKind> = new Set(['network', 'timeout', 'server', 'rate-limited', 'response']);

export interface PrometheusErrorInit {
  kind: PrometheusErrorKind;
  status?: number;
  /** Milliseconds the server asked us to wait (Retry-After), already parsed. */
  retryAfterMs?: number;
}

/** A failure of a Prometheus query whose `message` is safe to print and to journal. */
export class PrometheusError extends Error {
  override readonly name = 'PrometheusError';
  readonly kind: PrometheusErrorKind;
  readonly status: number | undefined;
  readonly retryAfterMs: number | undefined;

  constructor(message: string, init: PrometheusErrorInit) {
    super(message);
    this.kind = init.kind;
    this.status = init.status;
    this.retryAfterMs = init.retryAfterMs;
  }

  /** Whether another attempt may succeed (network, timeout, 5xx, 429, garbled answer). */
  get retryable(): boolean {
    return RETRYABLE.has(this.kind);
  }
}
