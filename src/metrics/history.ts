/**
 * Prometheus history for `simulate`. A simulation judges history that exists: when Prometheus
 * cannot be asked at all (refused, unreachable, timing out, 5xx, rate limiting after the
 * retries, credentials refused, a wrong address or path, answers that are not the Prometheus
 * API), the simulation has nothing to judge. That is not "no data" — which would hold the
 * checkpoints, pause, and keep asking a dead address at every guard tick of the simulated
 * span — but the end of the simulation, with `HistoryUnavailableError` (exit status 12).
 *
 * A bad query (HTTP 400/422) is a plan problem, not an unavailable history: it stays a
 * `nodata` sample (instant) or a PrometheusError (range) as in `rollgate run`.
 */
import { safeUrl } from '../support/log.js';
import { PrometheusError, type PrometheusProvider } from './prometheus.js';
import type { MetricsProvider, Sample } from '../core/metrics-provider.js';

/** `simulate`'s exit status when the Prometheus history cannot be read (decision-record.md). */
export const HISTORY_UNAVAILABLE_EXIT = 12;

/** The query of the reachability probe: answered by any Prometheus-compatible API. */
export const PROBE_QUERY = 'vector(1)';

/** Prometheus could not be asked: the simulation stops. Its message is safe to print. */
export class HistoryUnavailableError extends Error {
  override readonly name = 'HistoryUnavailableError';
  readonly exitCode = HISTORY_UNAVAILABLE_EXIT;

  constructor(
    readonly address: string,
    readonly what: string,
    readonly failure: PrometheusError,
  ) {
    super(`Prometheus history is not available: ${what}: ${failure.message}`);
  }
}

function unavailable(err: unknown): err is PrometheusError {
  return err instanceof PrometheusError && err.kind !== 'bad-query';
}

export interface PrometheusHistoryOptions {
  /** Answers the simulation's queries (with the plan's retries). */
  prometheus: PrometheusProvider;
  /** Answers the probe; give one with fewer retries so that a dead address fails fast. Default `prometheus`. */
  probe?: PrometheusProvider;
  /** For messages (credentials are never part of it). */
  address: string;
}

export class PrometheusHistory implements MetricsProvider {
  readonly address: string;
  private readonly prometheus: PrometheusProvider;
  private readonly prober: PrometheusProvider;

  constructor(opts: PrometheusHistoryOptions) {
    this.prometheus = opts.prometheus;
    this.prober = opts.probe ?? opts.prometheus;
    this.address = safeUrl(opts.address);
  }

  /**
   * One query of `vector(1)` at `at` (the simulated start): rejects with HistoryUnavailableError
   * when Prometheus cannot answer it, before any record is made.
   */
  async probe(at: number): Promise<void> {
    try {
      await this.prober.evaluate(PROBE_QUERY, at);
    } catch (err) {
      if (err instanceof PrometheusError) throw new HistoryUnavailableError(this.address, `probe query ${PROBE_QUERY} at ${new Date(at).toISOString()} failed`, err);
      throw err;
    }
  }

  async instant(query: string, at: number): Promise<Sample> {
    try {
      return await this.prometheus.evaluate(query, at);
    } catch (err) {
      if (unavailable(err)) throw new HistoryUnavailableError(this.address, `query at ${new Date(at).toISOString()} failed`, err);
      const problem = err instanceof PrometheusError && err.kind === 'bad-query' ? { problem: 'bad-query' as const } : {};
      return { value: null, reason: (err as Error).message, ...problem };
    }
  }

  async range(query: string, start: number, end: number, stepMs: number): Promise<Map<number, Sample>> {
    try {
      return await this.prometheus.range(query, start, end, stepMs);
    } catch (err) {
      if (unavailable(err)) {
        throw new HistoryUnavailableError(this.address, `range query ${new Date(start).toISOString()} .. ${new Date(end).toISOString()} failed`, err);
      }
      throw err;
    }
  }
}
