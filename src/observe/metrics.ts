/**
 * The controller's own Prometheus metrics. The controller-wide ones (histograms included) live on
 * a private prom-client Registry (never the global one, so several controllers or tests in one
 * process do not collide); the per-rollout ones in RolloutSeries, a bounded set per rollout
 * rendered in slices. The host calls the `observe*` methods; `removeRollout` drops every series
 * of a deleted rollout.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { DecisionRecord, MetricResult } from '../core/record.js';
import { RolloutSeries } from './rollout-series.js';

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

/** Where a rollout stands, derived from its last decision when the engine does not say. */
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

/** What /metrics shows of the Prometheus query pool. */
export interface QueryPoolLoad {
  readonly queued: number;
  readonly inFlight: number;
}

export class ControllerMetrics {
  private readonly registry = new Registry();
  private readonly rollouts = new RolloutSeries();
  /** The render a scrape waits for; concurrent scrapes share it. */
  private rendering: Promise<Buffer[]> | null = null;

  private readonly lateness = this.histogram('checkpoint_lateness_seconds', 'Delay between a checkpoint being due and being judged (all rollouts)', [], LATENESS_BUCKETS);
  private readonly queryDuration = this.histogram('prometheus_query_duration_seconds', 'Duration of Prometheus queries', [], CALL_BUCKETS);
  private readonly queryErrors = this.counter('prometheus_query_errors_total', 'Failed Prometheus queries by reason', ['reason']);
  private readonly routerDuration = this.histogram('router_apply_duration_seconds', 'Duration of traffic router applies', ['router'], CALL_BUCKETS);
  private readonly routerErrors = this.counter('router_apply_errors_total', 'Failed traffic router applies', ['router']);
  private readonly journalDuration = this.histogram('journal_append_duration_seconds', 'Duration of journal appends (write and sync)', [], CALL_BUCKETS);
  private readonly notifyFailures = this.counter('notify_failures_total', 'Webhook notifications given up after retries', []);
  private readonly leader = this.gauge('leader', '1 when this process is the active controller', []);
  /** The query pool the two pool gauges read at each scrape (watchQueryPool). */
  private queryPool: QueryPoolLoad | null = null;

  constructor(opts: ControllerMetricsOptions = {}) {
    if (opts.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry });
    this.leader.set(0);
    this.notifyFailures.inc(0);
  }

  /** Content-Type of `metrics()`: Prometheus text exposition format. */
  get contentType(): string {
    return this.registry.contentType;
  }

  /**
   * The exposition text for `/metrics` in pieces, to be written out in order: the
   * controller-wide metrics, then the per-rollout ones, rendered without holding the event loop
   * more than a few ms at a time. A scrape that arrives while a render is under way gets that
   * render's pieces.
   */
  exposition(): Promise<readonly Buffer[]> {
    this.rendering ??= this.render().finally(() => {
      this.rendering = null;
    });
    return this.rendering;
  }

  /** The whole exposition text as one string (in-process readers; /metrics writes the pieces). */
  async metrics(): Promise<string> {
    return Buffer.concat(await this.exposition()).toString('utf8');
  }

  /** Everything one decision says: split, phase, status, verdicts, values, e-values, lateness, next. */
  observeDecision(r: DecisionRecord, status: string = statusOf(r)): void {
    const rollout = r.rollout;
    this.rollouts.position(rollout, { revision: r.revision, phase: r.phase ?? '', status, phaseIndex: r.phaseIndex, weight: r.weight.to, mirror: r.mirror.to });
    this.rollouts.decision(rollout, r.kind, r.decision);
    for (const m of r.metrics ?? []) {
      this.rollouts.verdict(rollout, m.name, m.verdict);
      this.rollouts.value(rollout, m.name, m.value !== null && Number.isFinite(m.value) ? m.value : null);
      this.observeEvidence(rollout, m);
    }
    if (r.kind === 'checkpoint' && r.checkpoint) {
      const late = r.checkpoint.lateSeconds ?? (Date.parse(r.at) - Date.parse(r.checkpoint.due)) / 1000;
      if (Number.isFinite(late)) this.lateness.observe(Math.max(0, late));
    }
    if (r.next) this.setNextCheckpoint(rollout, Date.parse(r.next.at));
    else if (TERMINAL.has(status)) this.setNextCheckpoint(rollout, null);
  }

  /**
   * Where a rollout stands after a restart (replayed from its journal), without counting any
   * decision again: so /metrics shows settled, paused and finished rollouts at once.
   */
  restoreRollout(s: RolloutSnapshot): void {
    this.rollouts.position(s.rollout, s);
    this.setNextCheckpoint(s.rollout, s.nextAt);
  }

  /** When the controller next acts for the rollout (epoch ms), or null for nothing planned. */
  setNextCheckpoint(rollout: string, atMs: number | null): void {
    this.rollouts.next(rollout, atMs === null || !Number.isFinite(atMs) ? null : atMs / 1000);
  }

  /**
   * One guard tick: `pass`, `fail`, `nodata`, ..., and each metric's judgement of it. Only the
   * e-values of sequential metrics follow the guard: their counts span the phase at checkpoints
   * and guard ticks alike, while `rollgate_metric_value` stays the value of the last decision
   * (a guard's window differs from a checkpoint's, so the two would not draw one line).
   */
  observeGuard(rollout: string, result: string, metrics: readonly MetricResult[] = []): void {
    this.rollouts.guard(rollout, result);
    for (const m of metrics) this.observeEvidence(rollout, m);
  }

  /** A sequential metric's e-value against its threshold; absent while it has none (no data). */
  private observeEvidence(rollout: string, m: MetricResult): void {
    if (m.test !== 'sequential') return;
    const { e, threshold } = m;
    const known = e !== undefined && threshold !== undefined && Number.isFinite(e) && Number.isFinite(threshold);
    this.rollouts.evidence(rollout, m.name, known ? { e, threshold } : null);
  }

  /** A gate metric's query that needs a person (`bad-query`). */
  observeQueryProblem(rollout: string, metric: string, kind: string): void {
    this.rollouts.queryError(rollout, metric, kind);
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
    this.rollouts.remove(rollout);
  }

  private async render(): Promise<Buffer[]> {
    const controllerWide = Buffer.from(`${await this.registry.metrics()}\n`);
    return [controllerWide, ...(await this.rollouts.render())];
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

/** A bounded, label-safe form of a free-text reason (`HTTP 503` → `http-503`). */
function labelValue(reason: string): string {
  const clean = reason.toLowerCase().replace(/[^a-z0-9_.-]+/g, '-').replace(/^-+|-+$/g, '');
  return clean.slice(0, 40) || 'error';
}
