/**
 * The data of `rollgate report`: a rollout's RolloutPage (source `report`) from its journal
 * alone (the plan when there is one), with each metric's values over the rollout's span from
 * Prometheus range queries when Prometheus answers, and `rangesNote` saying why not otherwise.
 *
 * The queries are those the engine sent, as its records carry them (each metric's latest
 * rendered query, a checkpoint's before a guard's); the span runs from the first record shown
 * to the last (to now while the rollout is not done); the step is the least whole number of
 * seconds that keeps each metric at most MAX_POINTS_PER_METRIC points.
 */
import type { MetricsProvider, Sample } from '../core/metrics-provider.js';
import type { DecisionRecord } from '../core/record.js';
import { TERMINAL, type RolloutState } from '../core/state.js';
import { PrometheusProvider, providerOptionsFromPlan } from '../metrics/prometheus.js';
import type { Plan } from '../plan/schema.js';
import { safeUrl, type Logger } from '../support/log.js';
import { rolloutPage } from './model.js';
import type { RecordsRead } from './records.js';
import type { MetricRange, RolloutPage } from './view.js';

/** Decision records a report carries at most (the latest; `recordsOmitted` counts the rest). */
export const REPORT_RECORDS = 5_000;
/** Points per metric range at most. */
export const MAX_POINTS_PER_METRIC = 1_000;
/** The least span queried: a rollout of one record still gets a minute around it. */
const MIN_SPAN_MS = 60_000;

/** Each metric's latest query as sent, in the order the metrics first appear; checkpoint queries win over guard queries. */
export function metricQueries(records: readonly DecisionRecord[]): Array<{ metric: string; query: string }> {
  const checkpoint = new Map<string, string>();
  const guard = new Map<string, string>();
  const order: string[] = [];
  for (const r of records) {
    for (const m of r.metrics ?? []) {
      if (!checkpoint.has(m.name) && !guard.has(m.name)) order.push(m.name);
      (r.kind === 'guard' ? guard : checkpoint).set(m.name, m.query);
    }
  }
  return order.map((metric) => ({ metric, query: checkpoint.get(metric) ?? guard.get(metric)! }));
}

/** The span of the report (epoch ms): first record shown to last, or to `now` while the rollout runs; at least a minute. */
export function reportSpan(records: readonly DecisionRecord[], state: RolloutState, now: number): { start: number; end: number } | null {
  const first = records[0];
  const last = records[records.length - 1];
  if (!first || !last) return null;
  const end = TERMINAL.includes(state.status) ? Date.parse(last.at) : Math.max(now, Date.parse(last.at));
  return { start: Math.min(Date.parse(first.at), end - MIN_SPAN_MS), end };
}

/** The step (ms, whole seconds) that keeps a span at most MAX_POINTS_PER_METRIC points. */
export function rangeStep(span: { start: number; end: number }): number {
  return Math.max(1, Math.ceil((span.end - span.start) / 1000 / (MAX_POINTS_PER_METRIC - 1))) * 1000;
}

function points(samples: Map<number, Sample>): MetricRange['points'] {
  return [...samples.entries()].sort((a, b) => a[0] - b[0]).map(([t, s]) => [t / 1000, s.value]);
}

/**
 * Range queries of each metric over the span. A metric whose query fails is left out and named
 * in the note; once Prometheus does not answer at all (not a refused query), no further query
 * is sent.
 */
export async function metricRanges(
  provider: Pick<MetricsProvider, 'range'>,
  queries: ReadonlyArray<{ metric: string; query: string }>,
  span: { start: number; end: number },
  address: string,
): Promise<{ ranges: MetricRange[]; note: string | null }> {
  const step = rangeStep(span);
  const ranges: MetricRange[] = [];
  const problems: string[] = [];
  for (const { metric, query } of queries) {
    try {
      const samples = await provider.range(query, span.start, span.end, step);
      ranges.push({ metric, query, step: step / 1000, points: points(samples) });
    } catch (err) {
      const kind = (err as { kind?: string }).kind;
      const message = (err as Error).message;
      if (kind === 'bad-query') {
        problems.push(`${metric}: ${message}`);
        continue;
      }
      return { ranges: [], note: `Prometheus at ${safeUrl(address)} did not answer (${message}); the report has no metric ranges` };
    }
  }
  return { ranges, note: problems.length ? `not charted: ${problems.join('; ')}` : null };
}

export interface ReportInput {
  id: string;
  state: RolloutState;
  /** The rollout's plan, when known (its phases, guard, time zone, Prometheus credentials). */
  plan: Plan | null;
  records: RecordsRead;
  /** `--prometheus`: wins over the plan's address. */
  prometheus?: string;
  log: Logger;
  now: number;
  /** Builds the provider for an address (tests); default: the plan's Prometheus settings at that address. */
  providerFor?: (address: string) => Pick<MetricsProvider, 'range'>;
}

/** A rollout's report page: the journal's records and, when Prometheus answers, its metrics' ranges. */
export async function buildReport(input: ReportInput): Promise<RolloutPage> {
  const { plan, records } = input;
  const address = input.prometheus ?? plan?.spec.prometheus.address;
  const queries = metricQueries(records.records);
  const span = reportSpan(records.records, input.state, input.now);
  let ranges: MetricRange[] = [];
  let note: string | null;
  if (!span || queries.length === 0) note = 'no metric was judged in the records shown: nothing to chart';
  else if (!address) note = 'no Prometheus address (the plan has none; give --prometheus URL): the report has no metric ranges';
  else {
    const provider = input.providerFor ? input.providerFor(address) : reportProvider(address, plan, input.log);
    ({ ranges, note } = await metricRanges(provider, queries, span, address));
  }
  return rolloutPage({ id: input.id, state: input.state, plan, records: records.records, recordsOmitted: records.omitted, ranges, rangesNote: note, source: 'report', now: input.now });
}

/** The plan's Prometheus settings (timeout, headers, credential files) at `address`; one retry: a report waits little for a Prometheus that is down. */
function reportProvider(address: string, plan: Plan | null, log: Logger): PrometheusProvider {
  if (!plan) return new PrometheusProvider({ address, log, retries: 1 });
  return new PrometheusProvider(providerOptionsFromPlan(plan.spec.prometheus, { log, address, retries: 1 }));
}
