/**
 * The controller's own Prometheus metrics, on a private prom-client Registry (never the global
 * one, so several controllers or tests in one process do not collide). The engine calls the
 * `observe*` methods; `removeRollout` drops every series of a deleted rollout.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry, type Metric } from 'prom-client';
import type { DecisionRecord } from '../core/record.js';

const P = 'rollgate_';

/** What restoreRollout needs of a replayed rollout. */
export interface RolloutSnapshot {
  rollout: string;
  revision: string;
  phase: string;
  phaseIndex: number;
  status: string;
  weight: number;
  mirror: number;
  nextAt: number | null;
}

/**
 * Where a rollout stands, derived from its last decision when the engine does not say.
 * `rollout_status` exposes one series per status the rollout has been in: 1 now, 0 before.
 */
export function statusOf(r: DecisionRecord): string {
  switch (r.decision) {
    case 'complete':
      return 'complete';
    case 'pause':
      return 'paused';
    case 'wait':
      return 'waiting';
    case 'abort':
      return 'aborted';
    case 'rollback':
      return r.weight.to === 0 && r.mirror.to === 0 ? 'rolled-back' : 'rolling-back';
    default:
      return 'progressing';
  }
}

const TERMINAL = new Set(['complete', 'rolled-back', 'aborted']);

/** Seconds-scale buckets for network calls (Prometheus queries, router applies, journal fsync). */
const CALL_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
/** Checkpoint lateness: on time is < 1 s; minutes and hours mean the controller was down. */
const LATENESS_BUCKETS = [0.5, 1, 5, 15, 30, 60, 300, 900, 3600, 14400];

export interface ControllerMetricsOptions {
  /** prom-client's process and Node.js metrics (process_cpu_seconds_total, ...). Default true. */
  defaultMetrics?: boolean;
}

type Labels = Record<string, string>;

/** What /metrics shows of the Prometheus query pool. */
export interface QueryPoolLoad {
  readonly queued: number;
  readonly inFlight: number;
}

export class ControllerMetrics {
  readonly registry = new Registry();

  private readonly rolloutInfo = this.gauge('rollout_info', 'Current revision, phase and status of a rollout (always 1)', ['rollout', 'revision', 'phase', 'status']);
  private readonly phaseIndex = this.gauge('rollout_phase_index', 'Index (0-based) of the current phase in the plan', ['rollout']);
  private readonly canaryWeight = this.gauge('rollout_canary_weight', "Canary's decided share of live traffic, percent", ['rollout']);
  private readonly mirrorWeight = this.gauge('rollout_mirror_weight', "Canary's decided share of mirrored traffic, percent", ['rollout']);
  private readonly status = this.gauge('rollout_status', '1 for the current status of a rollout, 0 for statuses it was in before', ['rollout', 'status']);
  private readonly decisions = this.counter('decisions_total', 'Decisions recorded', ['rollout', 'kind', 'decision']);
  private readonly metricValue = this.gauge('metric_value', 'Last value of a gate metric (absent while it has no data)', ['rollout', 'metric']);
  private readonly verdicts = this.counter('metric_verdicts_total', 'Verdicts of gate metrics', ['rollout', 'metric', 'verdict']);
  private readonly lateness = this.histogram('checkpoint_lateness_seconds', 'Delay between a checkpoint being due and being judged', ['rollout'], LATENESS_BUCKETS);
  private readonly nextCheckpoint = this.gauge('next_checkpoint_timestamp_seconds', 'When the controller next acts on its own for a rollout (Unix seconds)', ['rollout']);
  private readonly queryProblems = this.counter(
    'metric_query_errors_total',
    'Gate metric queries that need a person, by kind (bad-query: Prometheus refused the query, HTTP 400/422: a plan problem)',
    ['rollout', 'metric', 'kind'],
  );
  private readonly guards = this.counter('guard_evaluations_total', 'Guard evaluations by result', ['rollout', 'result']);
  private readonly queryDuration = this.histogram('prometheus_query_duration_seconds', 'Duration of Prometheus queries', [], CALL_BUCKETS);
  private readonly queryErrors = this.counter('prometheus_query_errors_total', 'Failed Prometheus queries by reason', ['reason']);
  private readonly routerDuration = this.histogram('router_apply_duration_seconds', 'Duration of traffic router applies', ['router'], CALL_BUCKETS);
  private readonly routerErrors = this.counter('router_apply_errors_total', 'Failed traffic router applies', ['router']);
  private readonly journalDuration = this.histogram('journal_append_duration_seconds', 'Duration of journal appends (write and sync)', [], CALL_BUCKETS);
  private readonly notifyFailures = this.counter('notify_failures_total', 'Webhook notifications given up after retries', []);
  private readonly leader = this.gauge('leader', '1 when this process is the active controller', []);
  /** The query pool the two pool gauges read at each scrape (watchQueryPool). */
  private queryPool: QueryPoolLoad | null = null;

  /** Series labelled with a rollout, per rollout, so that removeRollout can drop them all. */
  private readonly series = new Map<string, Map<Metric<string>, Map<string, Labels>>>();
  private readonly infoLabels = new Map<string, Labels>();
  private readonly statuses = new Map<string, Set<string>>();

  constructor(opts: ControllerMetricsOptions = {}) {
    if (opts.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry });
    this.leader.set(0);
    this.notifyFailures.inc(0);
  }

  /** Content-Type of `metrics()`: Prometheus text exposition format. */
  get contentType(): string {
    return this.registry.contentType;
  }

  /** The exposition text for `/metrics`. */
  metrics(): Promise<string> {
    return this.registry.metrics();
  }

  /** Everything one decision says: split, phase, status, verdicts, values, lateness, next. */
  observeDecision(r: DecisionRecord, status: string = statusOf(r)): void {
    const rollout = r.rollout;
    this.setInfo(rollout, { rollout, revision: r.revision, phase: r.phase ?? '', status });
    this.setStatus(rollout, status);
    this.set(this.phaseIndex, { rollout }, r.phaseIndex);
    this.set(this.canaryWeight, { rollout }, r.weight.to);
    this.set(this.mirrorWeight, { rollout }, r.mirror.to);
    this.inc(this.decisions, { rollout, kind: r.kind, decision: r.decision });
    for (const m of r.metrics ?? []) {
      this.inc(this.verdicts, { rollout, metric: m.name, verdict: m.verdict });
      if (m.value === null || !Number.isFinite(m.value)) this.metricValue.remove({ rollout, metric: m.name });
      else this.set(this.metricValue, { rollout, metric: m.name }, m.value);
    }
    if (r.kind === 'checkpoint' && r.checkpoint) {
      const late = r.checkpoint.lateSeconds ?? (Date.parse(r.at) - Date.parse(r.checkpoint.due)) / 1000;
      if (Number.isFinite(late)) this.track(this.lateness, { rollout }).observe(Math.max(0, late));
    }
    if (r.next) this.setNextCheckpoint(rollout, Date.parse(r.next.at));
    else if (TERMINAL.has(status)) this.setNextCheckpoint(rollout, null);
  }

  /**
   * Where a rollout stands after a restart (replayed from its journal), without counting any
   * decision again: so /metrics shows settled, paused and finished rollouts at once.
   */
  restoreRollout(s: RolloutSnapshot): void {
    const rollout = s.rollout;
    this.setInfo(rollout, { rollout, revision: s.revision, phase: s.phase, status: s.status });
    this.setStatus(rollout, s.status);
    this.set(this.phaseIndex, { rollout }, s.phaseIndex);
    this.set(this.canaryWeight, { rollout }, s.weight);
    this.set(this.mirrorWeight, { rollout }, s.mirror);
    this.setNextCheckpoint(rollout, s.nextAt);
  }

  /** When the controller next acts for the rollout (epoch ms), or null for nothing planned. */
  setNextCheckpoint(rollout: string, atMs: number | null): void {
    if (atMs === null || !Number.isFinite(atMs)) this.nextCheckpoint.remove({ rollout });
    else this.set(this.nextCheckpoint, { rollout }, atMs / 1000);
  }

  /** One guard tick: `pass`, `fail`, `nodata`, ... */
  observeGuard(rollout: string, result: string): void {
    this.inc(this.guards, { rollout, result });
  }

  /** A gate metric's query that needs a person (`bad-query`). */
  observeQueryProblem(rollout: string, metric: string, kind: string): void {
    this.inc(this.queryProblems, { rollout, metric, kind });
  }

  /** One Prometheus query; `reason` (timeout, http-5xx, network, bad-response...) when it failed. */
  observeQuery(durationMs: number, ok: boolean, reason = 'error'): void {
    this.queryDuration.observe(durationMs / 1000);
    if (!ok) this.queryErrors.inc({ reason: labelValue(reason) });
  }

  /** One router apply. */
  observeRouterApply(router: string, durationMs: number, ok: boolean): void {
    this.routerDuration.observe({ router }, durationMs / 1000);
    if (ok) this.routerErrors.inc({ router }, 0);
    else this.routerErrors.inc({ router });
  }

  /** One journal append, write and sync included. */
  observeJournalAppend(durationMs: number): void {
    this.journalDuration.observe(durationMs / 1000);
  }

  observeNotifyFailure(): void {
    this.notifyFailures.inc();
  }

  /** Shows the Prometheus query pool's waiting and in-flight requests (controller-wide gauges, read at each scrape). */
  watchQueryPool(pool: QueryPoolLoad): void {
    if (!this.queryPool) {
      const read = (name: string, help: string, value: (p: QueryPoolLoad) => number) => {
        const gauge: Gauge = new Gauge({ name: P + name, help, registers: [this.registry], collect: () => gauge.set(this.queryPool ? value(this.queryPool) : 0) });
      };
      read('prometheus_queries_queued', 'Prometheus queries waiting for a slot of the query pool (--max-queries)', (p) => p.queued);
      read('prometheus_queries_in_flight', 'Prometheus queries sent and not yet answered', (p) => p.inFlight);
    }
    this.queryPool = pool;
  }

  setLeader(isLeader: boolean): void {
    this.leader.set(isLeader ? 1 : 0);
  }

  /** Drops every series of a rollout (deleted plan or resource), keeping cardinality bounded. */
  removeRollout(rollout: string): void {
    for (const [metric, labelSets] of this.series.get(rollout) ?? []) {
      for (const labels of labelSets.values()) (metric as Gauge<string>).remove(labels);
    }
    this.series.delete(rollout);
    this.infoLabels.delete(rollout);
    this.statuses.delete(rollout);
  }

  private setInfo(rollout: string, labels: Labels): void {
    const before = this.infoLabels.get(rollout);
    if (before && !sameLabels(before, labels)) this.untrack(this.rolloutInfo, before);
    this.infoLabels.set(rollout, labels);
    this.set(this.rolloutInfo, labels, 1);
  }

  private setStatus(rollout: string, status: string): void {
    const seen = this.statuses.get(rollout) ?? new Set<string>();
    seen.add(status);
    this.statuses.set(rollout, seen);
    for (const s of seen) this.set(this.status, { rollout, status: s }, s === status ? 1 : 0);
  }

  private set(metric: Gauge<string>, labels: Labels, value: number): void {
    this.track(metric, labels).set(value);
  }

  private inc(metric: Counter<string>, labels: Labels): void {
    this.track(metric, labels).inc();
  }

  /** Remembers a rollout-labelled series for removeRollout and returns the labelled child. */
  private track<M extends Gauge<string> | Counter<string> | Histogram<string>>(metric: M, labels: Labels): ReturnType<M['labels']> {
    const rollout = labels.rollout;
    if (rollout !== undefined) {
      let byMetric = this.series.get(rollout);
      if (!byMetric) this.series.set(rollout, (byMetric = new Map()));
      let labelSets = byMetric.get(metric);
      if (!labelSets) byMetric.set(metric, (labelSets = new Map()));
      labelSets.set(JSON.stringify(labels), labels);
    }
    return metric.labels(labels) as ReturnType<M['labels']>;
  }

  private untrack(metric: Gauge<string>, labels: Labels): void {
    metric.remove(labels);
    if (labels.rollout !== undefined) this.series.get(labels.rollout)?.get(metric)?.delete(JSON.stringify(labels));
  }

  private gauge(name: string, help: string, labelNames: string[]): Gauge<string> {
    return new Gauge({ name: P + name, help, labelNames, registers: [this.registry] });
  }

  private counter(name: string, help: string, labelNames: string[]): Counter<string> {
    return new Counter({ name: P + name, help, labelNames, registers: [this.registry] });
  }

  private histogram(name: string, help: string, labelNames: string[], buckets: number[]): Histogram<string> {
    return new Histogram({ name: P + name, help, labelNames, buckets, registers: [this.registry] });
  }
}

function sameLabels(a: Labels, b: Labels): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => a[k] === b[k]);
}

/** A bounded, label-safe form of a free-text reason (`HTTP 503` → `http-503`). */
function labelValue(reason: string): string {
  const clean = reason.toLowerCase().replace(/[^a-z0-9_.-]+/g, '-').replace(/^-+|-+$/g, '');
  return clean.slice(0, 40) || 'error';
}
