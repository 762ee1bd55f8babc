/**
 * A metrics provider answers PromQL at a given instant. Every failure is data-shaped: a value
 * is a finite number or it is missing with a reason; missing data never passes a gate.
 */
export type Sample = { value: number } | { value: null; reason: string; problem?: SampleProblem };

/**
 * Missing data that no retry or wait can fix and that needs a person: `bad-query` is a query
 * Prometheus refused (HTTP 400/422), i.e. a plan problem. The engine pauses on it at once.
 */
export type SampleProblem = 'bad-query';

export interface MetricsProvider {
  /** Instant query evaluated at `at` (epoch ms), the query API's `time=`. */
  instant(query: string, at: number): Promise<Sample>;
  /**
   * Range query from `start` to `end` (epoch ms, inclusive) every `stepMs`: one Sample per
   * step timestamp, with the same single-number rules as `instant`. Used where many instants
   * of one query are needed (guard ticks in simulation) so they cost one request per chunk.
   */
  range(query: string, start: number, end: number, stepMs: number): Promise<Map<number, Sample>>;
  /**
   * The same provider for queries whose answer is worthless after `budgetMs` (guard ticks: the
   * next tick asks again): timeouts and retries bounded so that one `instant` never outlasts
   * the budget. Providers without retries or timeouts need not implement it.
   */
  within?(budgetMs: number): MetricsProvider;
}
